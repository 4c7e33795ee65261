"""Audio as bytes plus an explicit format, and the one place formats are converted.

Everything inside Steady is 16-bit signed little-endian PCM. Speech recognition runs
at 16 kHz mono (:data:`STT_FORMAT`). WAV files of any rate, channel count and sample
width (8/16/24/32-bit integer) are accepted at the edge by :func:`load_wav`, which
converts them once with :func:`convert`.
"""

from __future__ import annotations

import io
import os
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.errors import AudioFileError


@dataclass(frozen=True)
class AudioFormat:
    """How PCM bytes are laid out."""

    rate: int
    """Samples per second per channel."""
    width: int = 2
    """Bytes per sample (Steady's internal audio is always 2: int16)."""
    channels: int = 1
    """Interleaved channels."""

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.width * self.channels


STT_FORMAT = AudioFormat(rate=16000, width=2, channels=1)
"""What the recognizer takes: 16 kHz, 16-bit, mono."""


@dataclass(frozen=True)
class Audio:
    """A clip of PCM audio with its format."""

    pcm: bytes
    """Interleaved little-endian signed samples."""
    fmt: AudioFormat
    """Layout of :attr:`pcm`."""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / self.fmt.bytes_per_second

    def samples(self) -> npt.NDArray[np.int16]:
        """The samples as int16, shape (frames, channels)."""
        if self.fmt.width != 2:
            raise ValueError("samples() needs 16-bit audio; convert() it first")
        return np.frombuffer(self.pcm, dtype="<i2").reshape(-1, self.fmt.channels)

    @classmethod
    def silence(cls, seconds: float, fmt: AudioFormat = STT_FORMAT) -> Audio:
        frames = max(0, round(seconds * fmt.rate))
        return cls(b"\x00" * (frames * fmt.width * fmt.channels), fmt)

    @classmethod
    def from_float(cls, data: npt.NDArray[np.floating], rate: int) -> Audio:
        """Mono float samples in [-1, 1] to 16-bit audio."""
        clipped = np.clip(np.asarray(data, dtype=np.float64), -1.0, 1.0)
        return cls((clipped * 32767.0).astype("<i2").tobytes(), AudioFormat(rate, 2, 1))

    def to_float(self) -> npt.NDArray[np.float64]:
        """Mono float samples in [-1, 1] (channels are averaged)."""
        mono = convert(self, AudioFormat(self.fmt.rate, 2, 1))
        return np.frombuffer(mono.pcm, dtype="<i2").astype(np.float64) / 32768.0


def _to_float_frames(pcm: bytes, fmt: AudioFormat) -> npt.NDArray[np.float64]:
    """Decode interleaved integer PCM to float frames of shape (frames, channels)."""
    w = fmt.width
    usable = len(pcm) - len(pcm) % (w * fmt.channels)
    raw = np.frombuffer(pcm[:usable], dtype=np.uint8)
    if w == 1:  # WAV 8-bit is unsigned
        data = (raw.astype(np.float64) - 128.0) / 128.0
    elif w == 2:
        data = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float64) / 32768.0
    elif w == 3:
        b = raw.reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints & 0x800000, ints - (1 << 24), ints)
        data = ints.astype(np.float64) / float(1 << 23)
    elif w == 4:
        data = np.frombuffer(pcm[:usable], dtype="<i4").astype(np.float64) / float(1 << 31)
    else:
        raise AudioFileError(f"{w * 8}-bit samples are not supported; use 8, 16, 24 or 32-bit PCM.")
    return data.reshape(-1, fmt.channels)


def _resample(mono: npt.NDArray[np.float64], src: int, dst: int) -> npt.NDArray[np.float64]:
    """Band-limited resampling by linear interpolation after a windowed-sinc low-pass."""
    if src == dst or mono.size == 0:
        return mono
    if dst < src:
        # Low-pass at the new Nyquist so downsampling does not alias.
        cutoff = 0.5 * dst / src
        taps = 63
        n = np.arange(taps) - (taps - 1) / 2
        kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
        kernel /= kernel.sum()
        mono = np.convolve(mono, kernel, mode="same")
    frames_out = round(mono.size * dst / src)
    positions = np.arange(frames_out) * (src / dst)
    out: npt.NDArray[np.float64] = np.interp(positions, np.arange(mono.size), mono)
    return out


def convert(audio: Audio, target: AudioFormat = STT_FORMAT) -> Audio:
    """Convert ``audio`` to ``target`` (16-bit output; channels mixed down or copied)."""
    if audio.fmt == target:
        return audio
    if target.width != 2:
        raise ValueError("Steady converts to 16-bit audio only")
    frames = _to_float_frames(audio.pcm, audio.fmt)
    mono = frames.mean(axis=1) if frames.shape[1] > 1 else frames[:, 0]
    if audio.fmt.channels == target.channels:
        channels = [frames[:, c] for c in range(target.channels)]
    else:
        channels = [mono] * target.channels
    channels = [_resample(c, audio.fmt.rate, target.rate) for c in channels]
    out = np.stack(channels, axis=1) if channels else np.zeros((0, target.channels))
    ints = np.clip(np.round(out * 32768.0), -32768, 32767).astype("<i2")
    return Audio(ints.tobytes(), target)


def load_wav(path: str | os.PathLike[str], target: AudioFormat | None = STT_FORMAT) -> Audio:
    """Read a WAV file of any common layout, converted to ``target`` (None: as stored)."""
    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"{p}: no such file.")
    if p.is_dir():
        raise AudioFileError(f"{p}: is a folder, not a WAV file.")
    data = p.read_bytes()
    if not data:
        raise AudioFileError(
            f"{p}: the file is empty; record or choose a WAV file with speech in it."
        )
    try:
        with wave.open(io.BytesIO(data)) as w:
            fmt = AudioFormat(w.getframerate(), w.getsampwidth(), w.getnchannels())
            pcm = w.readframes(w.getnframes())
    except (wave.Error, EOFError, ValueError, RuntimeError, struct.error) as exc:
        raise AudioFileError(
            f"{p}: not a readable WAV file ({exc}); convert it to 16-bit PCM WAV, "
            "for example with `sox in.mp3 out.wav`."
        ) from None
    if fmt.rate <= 0 or fmt.channels <= 0:
        raise AudioFileError(
            f"{p}: the WAV header is damaged (rate {fmt.rate}, {fmt.channels} channels)."
        )
    audio = Audio(pcm, fmt)
    return audio if target is None else convert(audio, target)


def save_wav(path: str | os.PathLike[str], audio: Audio) -> None:
    """Write ``audio`` as a PCM WAV file."""
    try:
        # The file is opened first: wave.open on a path it cannot create leaves a
        # half-built writer that complains again when it is garbage-collected.
        with open(path, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(audio.fmt.channels)
            w.setsampwidth(audio.fmt.width)
            w.setframerate(audio.fmt.rate)
            w.writeframes(audio.pcm)
    except OSError as exc:
        raise AudioFileError(f"{path}: could not write the WAV file ({exc.strerror}).") from None


def wav_bytes(audio: Audio) -> bytes:
    """``audio`` as the bytes of a PCM WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(audio.fmt.channels)
        w.setsampwidth(audio.fmt.width)
        w.setframerate(audio.fmt.rate)
        w.writeframes(audio.pcm)
    return buffer.getvalue()


def concat(clips: list[Audio], fmt: AudioFormat) -> Audio:
    """Join clips after converting each to ``fmt``."""
    return Audio(b"".join(convert(c, fmt).pcm for c in clips), fmt)


LEAD_FLOOR = 0.002
"""Level (about -54 dBFS) below which a clip's start counts as silence."""


def lead_trimmed(audio: Audio) -> Audio:
    """``audio`` without its leading silence, so a spoken cue is heard on its beat."""
    if audio.fmt.width != 2 or not audio.pcm:
        return audio
    frames = np.abs(audio.samples().astype(np.float64)).max(axis=1) / 32768.0
    first = int(np.argmax(frames > LEAD_FLOOR)) if bool((frames > LEAD_FLOOR).any()) else 0
    frame_bytes = audio.fmt.width * audio.fmt.channels
    return Audio(audio.pcm[first * frame_bytes :], audio.fmt)


def scaled(audio: Audio, gain: float) -> Audio:
    """``audio`` at ``gain`` times its loudness (16-bit audio)."""
    if gain >= 0.999 or audio.fmt.width != 2:
        return audio
    samples = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float64) * gain
    return Audio(np.round(samples).astype("<i2").tobytes(), audio.fmt)
