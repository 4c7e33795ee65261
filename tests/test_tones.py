"""Tests for audio.tones: the generated breathing cue tones."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not add the checkout
    sys.path.insert(0, str(ROOT))

from assistant.audio_format import AudioFormat, load_wav  # noqa: E402
from audio.tones import DEFAULT_RATE, TONE_KINDS, main, make_tone, write_tones  # noqa: E402

AUDIO_DIR = ROOT / "audio"
EXPECTED_SECONDS = {"inhale": 0.6, "exhale": 0.6, "hold": 0.25, "chime": 1.0}


def dominant_hz(x: npt.NDArray[np.float64], rate: int) -> float:
    """The strongest frequency in ``x`` (windowed, zero-padded FFT)."""
    n = 1 << 16
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    return float(np.argmax(spectrum) * rate / n)


def zero_crossing_hz(x: npt.NDArray[np.float64], rate: int) -> float:
    """Frequency estimated from rising zero crossings."""
    rising = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    return float((rising.size - 1) * rate / (rising[-1] - rising[0]))


@pytest.mark.parametrize("kind", TONE_KINDS)
def test_duration_format_and_level(kind: str) -> None:
    tone = make_tone(kind)
    assert tone.fmt == AudioFormat(DEFAULT_RATE, 2, 1)
    assert tone.duration == pytest.approx(EXPECTED_SECONDS[kind], abs=0.01)
    x = tone.to_float()
    peak_dbfs = 20 * np.log10(np.abs(x).max())
    assert -24.0 < peak_dbfs < -10.0


@pytest.mark.parametrize("kind", TONE_KINDS)
def test_starts_and_ends_silent(kind: str) -> None:
    x = make_tone(kind).to_float()
    edge = round(0.002 * DEFAULT_RATE)
    assert np.abs(x[:edge]).max() < 0.01  # no click at the start
    assert np.abs(x[-edge:]).max() < 0.002  # nor at the end


@pytest.mark.parametrize(("kind", "rising"), [("inhale", True), ("exhale", False)])
def test_pitch_direction(kind: str, rising: bool) -> None:
    x = make_tone(kind).to_float()
    window = round(0.15 * DEFAULT_RATE)
    for estimate in (dominant_hz, zero_crossing_hz):
        start = estimate(x[:window], DEFAULT_RATE)
        end = estimate(x[-window:], DEFAULT_RATE)
        assert 320 < min(start, end) < 350
        assert 420 < max(start, end) < 450
        assert (end > start) == rising


def test_hold_is_steady_and_chime_is_bell_like() -> None:
    hold = make_tone("hold").to_float()
    quarter = hold.size // 4
    first = zero_crossing_hz(hold[: quarter * 2], DEFAULT_RATE)
    last = zero_crossing_hz(hold[quarter * 2 :], DEFAULT_RATE)
    assert first == pytest.approx(last, rel=0.02)
    chime = make_tone("chime").to_float()
    tenth = chime.size // 10
    early = np.sqrt(np.mean(chime[:tenth] ** 2))
    late = np.sqrt(np.mean(chime[-2 * tenth : -tenth] ** 2))
    assert late < 0.25 * early  # it decays
    assert dominant_hz(chime[:tenth], DEFAULT_RATE) == pytest.approx(523.25, abs=5)


def test_deterministic() -> None:
    for kind in TONE_KINDS:
        assert make_tone(kind).pcm == make_tone(kind).pcm


def test_other_rates() -> None:
    tone = make_tone("inhale", 16000)
    assert tone.fmt.rate == 16000
    assert tone.duration == pytest.approx(0.6, abs=0.01)


def test_unknown_kind_and_bad_rate() -> None:
    with pytest.raises(ValueError, match="inhale"):
        make_tone("whistle")
    with pytest.raises(ValueError, match="too low"):
        make_tone("chime", 1000)


def test_generator_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_tones(tmp_path / "a")
    assert main(["--out", str(tmp_path / "b")]) == 0
    for path in first:
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()
        assert load_wav(path, target=None).pcm == make_tone(path.stem).pcm


@pytest.mark.parametrize("kind", TONE_KINDS)
def test_bundled_files_match_the_generator(kind: str) -> None:
    path = AUDIO_DIR / f"{kind}.wav"
    assert path.is_file(), "run `python -m audio.tones`"
    assert path.stat().st_size < 60 * 1024
    audio = load_wav(path, target=None)
    assert audio.fmt == AudioFormat(DEFAULT_RATE, 2, 1)
    assert audio.pcm == make_tone(kind).pcm
