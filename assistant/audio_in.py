"""Where Steady's ears get their audio: a microphone, a WAV file, or a script.

Every :class:`AudioSource` hands out chunks of 16 kHz mono 16-bit PCM
(:data:`~assistant.audio_format.STT_FORMAT`), whatever the device or file delivers,
so the recognizer never sees another format.

``read()`` has three answers: bytes (the next chunk), ``b""`` (nothing arrived within
``timeout``; ask again) and ``None`` (the stream has ended or was closed).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from assistant.audio_format import STT_FORMAT, Audio, AudioFormat, convert, load_wav
from assistant.closing import Closing
from assistant.devices import (
    device_label,
    find_device,
    import_sounddevice,
    one_line,
)
from assistant.errors import AudioDeviceError

logger = logging.getLogger(__name__)

MICROPHONE_STOPPED = (
    "The microphone stopped delivering audio; check that it is still plugged in and try again."
)


class AudioSource(Closing, ABC):
    """A stream of 16 kHz mono int16 chunks (always :data:`STT_FORMAT`)."""

    fmt: AudioFormat = STT_FORMAT

    @abstractmethod
    def read(self, timeout: float | None = None) -> bytes | None:
        """The next chunk; ``b""`` if none arrived within ``timeout``; ``None`` at the end.

        ``timeout=None`` waits as long as it takes.
        """

    def close(self) -> None:
        """Release the device or file; later reads return ``None``."""

    def __iter__(self) -> Iterator[bytes]:
        """Chunks until the end of the stream (empty reads are skipped)."""
        while (chunk := self.read()) is not None:
            if chunk:
                yield chunk


class _PacedSource(AudioSource):
    """Shared machinery for sources that hand out prepared chunks at chosen times."""

    def __init__(self) -> None:
        self._closed = threading.Event()

    def _wait_until(self, due: float, timeout: float | None) -> bool:
        """Sleep until ``due`` (monotonic), at most ``timeout``; True if ``due`` was reached."""
        remaining = due - time.monotonic()
        if remaining <= 0:
            return True
        if timeout is not None and timeout < remaining:
            self._closed.wait(max(0.0, timeout))
            return False
        self._closed.wait(remaining)
        return not self._closed.is_set()

    def close(self) -> None:
        self._closed.set()


class WavFileSource(_PacedSource):
    """A WAV file (or an :class:`Audio` clip) played as if it came from a microphone.

    The audio is converted to :data:`STT_FORMAT` once, cut into ``block_seconds``
    blocks and followed by ``trailing_silence`` seconds of zeros, so end-of-utterance
    detection fires after the last word. With ``realtime=True`` each block becomes
    available only when a microphone would have finished recording it.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Audio,
        block_seconds: float = 0.1,
        realtime: bool = False,
        trailing_silence: float = 1.0,
    ) -> None:
        super().__init__()
        if block_seconds <= 0:
            raise ValueError("block_seconds must be positive")
        audio = convert(source, STT_FORMAT) if isinstance(source, Audio) else load_wav(source)
        self.name = "clip" if isinstance(source, Audio) else os.fspath(source)
        self.audio = audio
        """The converted clip, without the trailing silence."""
        self._pcm = audio.pcm + Audio.silence(trailing_silence, STT_FORMAT).pcm
        frame = STT_FORMAT.width * STT_FORMAT.channels
        self._block = max(1, round(block_seconds * STT_FORMAT.rate)) * frame
        self._pos = 0
        self._realtime = realtime
        self._start: float | None = None

    @property
    def duration(self) -> float:
        """Seconds of audio this source delivers, trailing silence included."""
        return len(self._pcm) / STT_FORMAT.bytes_per_second

    def read(self, timeout: float | None = None) -> bytes | None:
        if self._closed.is_set() or self._pos >= len(self._pcm):
            return None
        end = min(self._pos + self._block, len(self._pcm))
        if self._realtime:
            if self._start is None:
                self._start = time.monotonic()
            due = self._start + end / STT_FORMAT.bytes_per_second
            if not self._wait_until(due, timeout):
                return None if self._closed.is_set() else b""
        chunk = self._pcm[self._pos : end]
        self._pos = end
        return chunk


class ScriptedSource(_PacedSource):
    """Replays given chunks, for logic tests; ``None`` after the last one.

    ``delay`` is how long to wait before each chunk: one number for all chunks or
    one per chunk. The chunks are passed through unchanged and are expected to be
    :data:`STT_FORMAT` already.
    """

    def __init__(self, chunks: Iterable[bytes], delay: float | Sequence[float] = 0.0) -> None:
        super().__init__()
        self._chunks = list(chunks)
        if isinstance(delay, (int, float)):
            self._delays = [float(delay)] * len(self._chunks)
        else:
            self._delays = [float(d) for d in delay]
            if len(self._delays) != len(self._chunks):
                raise ValueError("give one delay per chunk")
        self._next = 0
        self._due: float | None = None

    def read(self, timeout: float | None = None) -> bytes | None:
        if self._closed.is_set() or self._next >= len(self._chunks):
            return None
        if self._due is None:
            self._due = time.monotonic() + self._delays[self._next]
        if not self._wait_until(self._due, timeout):
            return None if self._closed.is_set() else b""
        chunk = self._chunks[self._next]
        self._next += 1
        self._due = None
        return chunk


MIC_BLOCK_SECONDS = 0.05
"""Seconds of audio per block the microphone hands over. The recognizer decodes in its
own pieces (``assistant.stt.PIECE``, also 50 ms) whatever the block size, so this only
sets how often audio arrives; the latency benchmarks stream recordings in it."""


class MicrophoneSource(AudioSource):
    """Live audio from a PortAudio input device.

    ``device`` is a device number, part of a device name, or ``None`` for the system
    default. The device is opened at 16 kHz when it supports that, otherwise at its
    default rate, and every block is converted to :data:`STT_FORMAT`. The PortAudio
    callback only enqueues bytes; everything else happens in :meth:`read`.
    """

    def __init__(
        self, device: str | int | None = None, block_seconds: float = MIC_BLOCK_SECONDS
    ) -> None:
        if block_seconds <= 0:
            raise ValueError("block_seconds must be positive")
        sd = import_sounddevice()
        index = find_device(device, "input")
        label = device_label(device, index, "input")
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._closed = False
        self._overflows = 0
        self._overflows_logged = 0
        try:
            rate = self._pick_rate(sd, index)
            self.device_format = AudioFormat(rate, 2, 1)
            """What the device delivers before conversion."""
            self._stream: Any = sd.RawInputStream(
                samplerate=rate,
                blocksize=max(1, round(block_seconds * rate)),
                device=index,
                channels=1,
                dtype="int16",
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            stream = getattr(self, "_stream", None)
            if stream is not None:
                stream.close(ignore_errors=True)
            raise AudioDeviceError(
                f"Could not open {label} ({one_line(exc)}); "
                "pick another with --device (see `steady devices`)."
            ) from None
        logger.debug("%s open at %d Hz", label, rate)

    @staticmethod
    def _pick_rate(sd: Any, index: int | None) -> int:
        """16 kHz if the device takes it, otherwise its default rate."""
        try:
            sd.check_input_settings(
                device=index, channels=1, dtype="int16", samplerate=STT_FORMAT.rate
            )
            return STT_FORMAT.rate
        except sd.PortAudioError:
            info: Any = sd.query_devices(index, kind="input")
            return int(info["default_samplerate"])

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Runs on PortAudio's thread: no logging, no conversion, just hand the bytes over.
        if status.input_overflow:
            self._overflows += 1
        self._queue.put(bytes(indata))

    def _finished(self) -> None:
        # The stream stopped (closed, or the device failed): wake a waiting read().
        self._queue.put(None)

    @property
    def overflows(self) -> int:
        """How many times the device dropped audio because Steady read too slowly."""
        return self._overflows

    def read(self, timeout: float | None = None) -> bytes | None:
        if self._closed:
            return None
        if self._overflows != self._overflows_logged:
            logger.debug("microphone input overflow (%d so far)", self._overflows)
            self._overflows_logged = self._overflows
        try:
            data = self._queue.get(timeout=timeout)
        except queue.Empty:
            if not self._closed and not self._stream.active:
                raise AudioDeviceError(MICROPHONE_STOPPED) from None
            return b""
        if data is None:
            if self._closed:
                return None
            raise AudioDeviceError(MICROPHONE_STOPPED)
        if self.device_format == STT_FORMAT:
            return data
        # Each block is converted on its own; the resampler's edge effect at block
        # boundaries is a few samples and does not matter for speech recognition.
        return convert(Audio(data, self.device_format), STT_FORMAT).pcm

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.close()
        except Exception as exc:  # closing must not raise; the device may be gone
            logger.debug("closing the microphone failed: %s", exc)
        self._queue.put(None)
