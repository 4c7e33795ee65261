"""Where Steady's voice goes: a speaker, a WAV file, or nowhere.

An :class:`AudioSink` plays one clip at a time. :meth:`AudioSink.play` blocks until
the clip has been heard (``True``) or until the caller's ``cancel`` event is set
(``False``), so barge-in can cut Steady off mid-sentence.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from assistant.audio_format import Audio, AudioFormat, convert, save_wav
from assistant.closing import Closing
from assistant.devices import device_label, find_device, import_sounddevice, one_line
from assistant.errors import AudioDeviceError

logger = logging.getLogger(__name__)


TIMELINE_FORMAT = AudioFormat(rate=22050, width=2, channels=1)
"""Default format of a :class:`WavFileSink` file (espeak-ng's native rate, mono)."""


def _cancelled(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _pause(cancel: threading.Event | None, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``cancel`` is set; True if it was cancelled."""
    if seconds <= 0:
        return _cancelled(cancel)
    if cancel is None:
        time.sleep(seconds)
        return False
    return cancel.wait(seconds)


class AudioSink(Closing, ABC):
    """Plays clips one after another."""

    on_first_sample: Callable[[float], None] | None = None
    """Called with ``time.monotonic()`` when a clip's first sample is handed over
    (used to measure response latency)."""

    @abstractmethod
    def play(self, audio: Audio, cancel: threading.Event | None = None) -> bool:
        """Play ``audio``; True once it has been played, False if ``cancel`` was set.

        Implementations stop within about 50 ms of ``cancel`` being set.
        """

    def close(self) -> None:
        """Release the device or finish the file."""

    def _first_sample(self) -> None:
        if self.on_first_sample is not None:
            self.on_first_sample(time.monotonic())


class SpeakerSink(AudioSink):
    """Plays through a PortAudio output device.

    The stream is opened on the first clip and kept open between clips (reopened only
    when a clip needs another rate or channel count), at the clip's own rate when the
    device takes it, otherwise at the device's default rate. Audio is written in
    ``block_seconds`` pieces, never more than the device buffer has room for, so a
    cancel is noticed within one block; the buffered rest is then dropped.
    """

    def __init__(self, device: str | int | None = None, block_seconds: float = 0.02) -> None:
        if block_seconds <= 0:
            raise ValueError("block_seconds must be positive")
        self._sd: Any = import_sounddevice()
        self._index = find_device(device, "output")
        self._label = device_label(device, self._index, "output")
        self._block_seconds = block_seconds
        self._stream: Any = None
        self._stream_fmt: AudioFormat | None = None
        self._capacity = 0
        self._formats: dict[AudioFormat, AudioFormat] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _error(self, exc: BaseException) -> AudioDeviceError:
        return AudioDeviceError(
            f"Could not play on {self._label} ({one_line(exc)}); pick another "
            "with --device (see `steady devices`) or use --out FILE.wav."
        )

    def device_format(self, fmt: AudioFormat) -> AudioFormat:
        """The format clips of ``fmt`` are played in on this device."""
        if fmt in self._formats:
            return self._formats[fmt]
        sd = self._sd
        info: Any = sd.query_devices(self._index, kind="output")
        rates = list(dict.fromkeys([fmt.rate, int(info["default_samplerate"])]))
        channel_options = list(dict.fromkeys([fmt.channels, 2, 1]))
        for rate in rates:
            for channels in channel_options:
                try:
                    sd.check_output_settings(
                        device=self._index, channels=channels, dtype="int16", samplerate=rate
                    )
                except sd.PortAudioError:
                    continue
                chosen = AudioFormat(rate, 2, channels)
                self._formats[fmt] = chosen
                if chosen != AudioFormat(fmt.rate, 2, fmt.channels):
                    logger.debug("%s: playing %s as %s", self._label, fmt, chosen)
                return chosen
        label = self._label[:1].upper() + self._label[1:]
        raise AudioDeviceError(
            f"{label} accepts neither {fmt.rate} Hz nor its default rate; "
            "pick another with --device (see `steady devices`) or use --out FILE.wav."
        )

    def _open(self, fmt: AudioFormat) -> Any:
        if self._stream is not None and self._stream_fmt == fmt:
            return self._stream
        self._drop_stream()
        self._stream = self._sd.RawOutputStream(
            samplerate=fmt.rate,
            channels=fmt.channels,
            dtype="int16",
            device=self._index,
            blocksize=max(1, round(self._block_seconds * fmt.rate)),
            latency="low",
        )
        self._stream_fmt = fmt
        logger.debug("%s open at %s", self._label, fmt)
        return self._stream

    def _drop_stream(self) -> None:
        stream, self._stream, self._stream_fmt = self._stream, None, None
        if stream is None:
            return
        try:
            stream.abort()
            stream.close()
        except Exception as exc:  # the device may already be gone
            logger.debug("closing the speaker stream failed: %s", exc)

    def play(self, audio: Audio, cancel: threading.Event | None = None) -> bool:
        if self._closed:
            raise RuntimeError("play() on a closed SpeakerSink")
        if _cancelled(cancel):
            return False
        try:
            fmt = self.device_format(audio.fmt)
        except self._sd.PortAudioError as exc:
            raise self._error(exc) from None
        pcm = convert(audio, fmt).pcm
        if not pcm:
            return True
        with self._lock:
            try:
                return self._play_pcm(pcm, fmt, cancel)
            except self._sd.PortAudioError as exc:
                self._drop_stream()
                raise self._error(exc) from None

    def _play_pcm(self, pcm: bytes, fmt: AudioFormat, cancel: threading.Event | None) -> bool:
        stream = self._open(fmt)
        if not stream.active:
            stream.start()
            self._capacity = stream.write_available  # the buffer is empty right after start
        frame = fmt.width * fmt.channels
        block = max(1, round(self._block_seconds * fmt.rate)) * frame
        pos = 0
        while pos < len(pcm):
            if _cancelled(cancel):
                stream.abort()  # drop what is still buffered
                return False
            room = stream.write_available * frame
            # Write whole blocks (or the last piece); a buffer smaller than a block is
            # filled half at a time.
            if room < min(block, len(pcm) - pos, max(frame, self._capacity * frame // 2)):
                _pause(cancel, min(0.005, self._block_seconds / 4))
                continue
            n = min(room, block, len(pcm) - pos)
            stream.write(pcm[pos : pos + n])
            if pos == 0:
                self._first_sample()
            pos += n
        # Everything is handed over; wait for the buffered tail to play out.
        buffered = max(0, self._capacity - stream.write_available)
        end = time.monotonic() + buffered / fmt.rate
        while (remaining := end - time.monotonic()) > 0:
            if _pause(cancel, min(remaining, 0.01)):
                stream.abort()
                return False
        stream.stop()  # drains whatever the sound server still holds
        return True

    def close(self) -> None:
        """Close the device (waits for a play() in progress; set its cancel first)."""
        with self._lock:
            self._closed = True
            self._drop_stream()


class WavFileSink(AudioSink):
    """Collects everything played into one timeline and writes it as a WAV on close().

    ``play`` appends at once (never waits for real time). :attr:`position` is the
    length of the timeline so far, and :meth:`pad_to` appends silence up to an
    absolute time, so cues can be placed at exact moments.
    """

    def __init__(self, path: str | os.PathLike[str], fmt: AudioFormat = TIMELINE_FORMAT) -> None:
        if fmt.width != 2:
            raise ValueError("WavFileSink writes 16-bit audio")
        self.path = os.fspath(path)
        self.fmt = fmt
        self._parts: list[bytes] = []
        self._frames = 0
        self._closed = False

    @property
    def position(self) -> float:
        """Seconds written so far."""
        return self._frames / self.fmt.rate

    def _append(self, pcm: bytes) -> None:
        self._parts.append(pcm)
        self._frames += len(pcm) // (self.fmt.width * self.fmt.channels)

    def play(self, audio: Audio, cancel: threading.Event | None = None) -> bool:
        if self._closed:
            raise RuntimeError("play() on a closed WavFileSink")
        if _cancelled(cancel):
            return False
        self._first_sample()
        self._append(convert(audio, self.fmt).pcm)
        return True

    def pad_to(self, seconds: float) -> None:
        """Append silence until the timeline is ``seconds`` long (no-op if already past)."""
        missing = round(seconds * self.fmt.rate) - self._frames
        if missing > 0:
            self._append(b"\x00" * (missing * self.fmt.width * self.fmt.channels))

    def audio(self) -> Audio:
        """The timeline so far."""
        return Audio(b"".join(self._parts), self.fmt)

    def close(self) -> None:
        """Write the file (once)."""
        if self._closed:
            return
        self._closed = True
        save_wav(self.path, self.audio())
        logger.debug("wrote %.2f s to %s", self.position, self.path)


class NullSink(AudioSink):
    """Discards audio. With ``realtime=True`` it takes as long as the clip would."""

    def __init__(self, realtime: bool = False) -> None:
        self.realtime = realtime

    def play(self, audio: Audio, cancel: threading.Event | None = None) -> bool:
        if _cancelled(cancel):
            return False
        self._first_sample()
        if self.realtime:
            return not _pause(cancel, audio.duration)
        return True
