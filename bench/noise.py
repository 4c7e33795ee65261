"""Deterministic background noise and mixing at a chosen signal-to-noise ratio.

Every generator takes a seeded :class:`numpy.random.Generator`, so the same seed gives
the same noise on every machine and run. Noise comes back as float64 with unit RMS;
:func:`mix` scales it against the speech's *active* level (silent frames do not count),
so "10 dB" means the same thing for a short "yes" and a long sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assistant.audio_format import STT_FORMAT, Audio, convert

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

RATE = STT_FORMAT.rate
"""Mixing happens at the recognizer's rate."""
FRAME = 0.02
"""Seconds per frame when finding the active part of speech."""
ACTIVE_FLOOR_DB = -40.0
"""Frames quieter than this, relative to the loudest frame, are not speech."""
DEFAULT_PAD = 0.3
"""Seconds of noise before and after the speech in a mix."""
PEAK = 0.99
"""Mixes whose peak would exceed this (of full scale) are scaled down as a whole."""


def _unit_rms(x: FloatArray) -> FloatArray:
    rms = float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0
    return x / rms if rms > 0.0 else x


def white_noise(n: int, rng: np.random.Generator) -> FloatArray:
    """``n`` samples of Gaussian white noise with unit RMS."""
    return _unit_rms(rng.standard_normal(n))


def pink_noise(n: int, rng: np.random.Generator) -> FloatArray:
    """``n`` samples of pink (1/f power) noise with unit RMS.

    White Gaussian noise is shaped in the frequency domain by 1/sqrt(f); the DC bin
    is zeroed so the result has no offset.
    """
    if n <= 0:
        return np.zeros(0)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    scale = np.zeros_like(freqs)
    scale[1:] = 1.0 / np.sqrt(freqs[1:])
    shaped = np.fft.irfft(spectrum * scale, n)
    return _unit_rms(shaped)


def _as_float(clip: Audio | FloatArray) -> FloatArray:
    if isinstance(clip, Audio):
        return convert(clip, STT_FORMAT).to_float()
    return np.asarray(clip, dtype=np.float64)


def active_power(x: FloatArray, rate: int = RATE) -> float:
    """Mean power of the frames of ``x`` within 40 dB of its loudest frame (0 for silence)."""
    size = max(1, round(FRAME * rate))
    frames = x.size // size
    if frames == 0:
        return float(np.mean(np.square(x))) if x.size else 0.0
    power = np.mean(np.square(x[: frames * size].reshape(frames, size)), axis=1)
    loudest = float(power.max())
    if loudest <= 0.0:
        return 0.0
    active = power[power >= loudest * 10.0 ** (ACTIVE_FLOOR_DB / 10.0)]
    return float(active.mean())


def babble(n: int, rng: np.random.Generator, clips: Sequence[Audio | FloatArray]) -> FloatArray:
    """``n`` samples of babble with unit RMS: 4–6 speech clips talking over each other.

    Each talker is one clip from ``clips`` (chosen without repeats when there are
    enough), levelled to the same active power and looped from a random offset so the
    babble runs the whole length. Pass clips of *other* utterances than the one being
    mixed, so the target words are not in the background.
    """
    if not clips:
        raise ValueError("babble needs at least one speech clip")
    if n <= 0:
        return np.zeros(0)
    talkers = int(rng.integers(4, 7))
    replace = len(clips) < talkers
    chosen = rng.choice(len(clips), size=talkers, replace=replace)
    out = np.zeros(n)
    for index in chosen:
        voice = _as_float(clips[int(index)])
        power = active_power(voice)
        if voice.size == 0 or power <= 0.0:
            continue
        voice = voice / np.sqrt(power)
        start = int(rng.integers(0, voice.size))
        reps = -(-(n + start) // voice.size)  # ceil
        out += np.tile(voice, reps)[start : start + n]
    return _unit_rms(out)


def make_noise(
    kind: str, n: int, rng: np.random.Generator, clips: Sequence[Audio] = ()
) -> FloatArray:
    """Noise by name: ``white``, ``pink`` or ``babble`` (which needs ``clips``)."""
    if kind == "white":
        return white_noise(n, rng)
    if kind == "pink":
        return pink_noise(n, rng)
    if kind == "babble":
        return babble(n, rng, clips)
    raise ValueError(f"unknown noise {kind!r}; use white, pink or babble")


NOISE_KINDS = ("white", "pink", "babble")


def pad_silence(speech: Audio, pad: float = DEFAULT_PAD) -> Audio:
    """``speech`` (as 16 kHz mono) with ``pad`` seconds of digital silence either side.

    The clean counterpart of :func:`mix`: some synthesisers (espeak-ng) start speaking
    at the very first sample, which no microphone stream ever does, and the recognizer
    then tends to lose the first word.
    """
    voice = convert(speech, STT_FORMAT)
    edge = Audio.silence(pad, STT_FORMAT).pcm
    return Audio(edge + voice.pcm + edge, STT_FORMAT)


def mix(speech: Audio, noise: FloatArray, snr_db: float, pad: float = DEFAULT_PAD) -> Audio:
    """``speech`` over ``noise`` at ``snr_db``, with ``pad`` seconds of noise either side.

    The speech level is its active power (frames within 40 dB of the loudest); the
    noise level is its mean power over the mixed stretch. ``noise`` is looped if it is
    shorter than speech plus padding. Nothing is clipped: if the sum would peak above
    :data:`PEAK`, the whole mix is scaled down, which keeps the SNR. The result is
    16 kHz mono.
    """
    voice = _as_float(speech)
    power = active_power(voice)
    if power <= 0.0:
        raise ValueError("the speech clip is silent; there is nothing to set an SNR against")
    edge = max(0, round(pad * RATE))
    total = voice.size + 2 * edge
    bed = np.asarray(noise, dtype=np.float64)
    if bed.size == 0:
        raise ValueError("the noise is empty")
    if bed.size < total:
        bed = np.tile(bed, -(-total // bed.size))
    bed = bed[:total]
    noise_power = float(np.mean(np.square(bed)))
    if noise_power <= 0.0:
        raise ValueError("the noise is silent")
    gain = np.sqrt(power / (noise_power * 10.0 ** (snr_db / 10.0)))
    out = bed * gain
    out[edge : edge + voice.size] += voice
    peak = float(np.max(np.abs(out)))
    if peak > PEAK:
        out *= PEAK / peak
    return Audio.from_float(out, RATE)
