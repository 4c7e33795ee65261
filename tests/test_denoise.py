"""The noise suppressor: clean audio passes unchanged, steady noise is turned down,
speech-like tones keep their level, and streaming in pieces changes nothing."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assistant.denoise import FRAME, HOP, NoiseSuppressor

RATE = 16000
DELAY = FRAME - HOP


def _run(samples: npt.NDArray[np.float64], piece: int = 1600) -> npt.NDArray[np.float64]:
    suppressor = NoiseSuppressor()
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    out = b"".join(
        suppressor.process(pcm[i : i + 2 * piece]) for i in range(0, len(pcm), 2 * piece)
    )
    return np.frombuffer(out, dtype="<i2").astype(np.float64)


def _tone(seconds: float, level: float = 8000.0) -> npt.NDArray[np.float64]:
    t = np.arange(int(seconds * RATE)) / RATE
    return level * np.sin(2 * np.pi * 440 * t)


def _db(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    return float(20 * np.log10(a.std() / b.std()))


def test_clean_audio_comes_out_unchanged_a_hop_late() -> None:
    clean = np.concatenate([np.zeros(RATE // 2), _tone(1.0)])
    out = _run(clean)
    # What comes out lags by DELAY; the last part of a hop waits for more input.
    assert len(clean) - FRAME <= len(out) <= len(clean)
    assert np.abs(out[DELAY:] - clean[: len(out) - DELAY]).max() <= 1


def test_steady_noise_is_turned_down_and_the_tone_kept() -> None:
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(3 * RATE) * 1000
    noisy = noise.copy()
    noisy[2 * RATE :] += _tone(1.0)
    out = _run(noisy)
    # Between 1 and 2 s there is only noise: at least 6 dB less of it.
    assert _db(out[RATE + DELAY : 2 * RATE + DELAY], noise[RATE : 2 * RATE]) < -6
    # The tone (18 dB over the noise) keeps its level within 1 dB.
    assert abs(_db(out[2 * RATE + DELAY :], _tone(1.0)[: -DELAY or None])) < 1


def test_piece_size_does_not_matter() -> None:
    rng = np.random.default_rng(1)
    audio = rng.standard_normal(RATE) * 800 + np.resize(_tone(0.5, 3000), RATE)
    whole = _run(audio, piece=RATE)
    bits = _run(audio, piece=97)
    assert np.array_equal(whole[: len(bits)], bits[: len(whole)])


def test_too_little_audio_waits_for_more() -> None:
    suppressor = NoiseSuppressor()
    assert suppressor.process(b"") == b""
    assert suppressor.process(b"\x00\x00" * (HOP - 1)) == b""
    assert len(suppressor.process(b"\x00\x00")) == 2 * HOP
