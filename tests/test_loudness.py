"""The automatic gain: quiet speech comes up, loud speech and silence stay as they are."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from assistant.loudness import (
    MAX_GAIN_DB,
    RISE_DB_PER_FRAME,
    TARGET_DB,
    AutoGain,
    LevelReport,
    Retake,
    SilenceWatch,
    amplified,
    assess,
)

RATE = 16000


def _pcm(samples: npt.NDArray[np.float64]) -> bytes:
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def _samples(pcm: bytes) -> npt.NDArray[np.float64]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _db(samples: npt.NDArray[np.float64]) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples**2)) / 32768.0))


def _speechlike(seconds: float, level_db: float, seed: int = 0) -> npt.NDArray[np.float64]:
    """Syllable-like bursts (a 4 Hz envelope over a few harmonics) at about ``level_db``."""
    t = np.arange(round(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    voice = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (180, 360, 720, 1400))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    wave = voice * envelope
    scaled: npt.NDArray[np.float64] = wave / np.sqrt(np.mean(wave**2)) * 32768.0
    return scaled * 10 ** (level_db / 20)


def _hiss(seconds: float, level_db: float, seed: int = 1) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 32768.0 * 10 ** (level_db / 20), round(seconds * RATE))


def _run(gain: AutoGain, samples: npt.NDArray[np.float64], piece: int = 1600) -> bytes:
    pcm = _pcm(samples)
    step = piece * 2
    return b"".join(gain.process(pcm[i : i + step]) for i in range(0, len(pcm), step))


def test_quiet_speech_is_brought_up_towards_the_target() -> None:
    quiet = np.concatenate([_hiss(1.0, -75), _speechlike(4.0, -48) + _hiss(4.0, -75)])
    gain = AutoGain()
    out = _samples(_run(gain, quiet))
    # Its loudest stretches are a few dB above its mean: they are brought to the target.
    assert gain.speech_db is not None
    assert gain.speech_db == pytest.approx(-45, abs=2.0)
    assert gain.gain_db == pytest.approx(TARGET_DB - gain.speech_db, abs=0.5)
    last_second = out[-RATE:]
    assert _db(last_second) == pytest.approx(-48 + gain.gain_db, abs=1.0)


def test_speech_at_a_normal_level_passes_unchanged() -> None:
    loud = np.concatenate([_hiss(0.5, -70), _speechlike(3.0, -16)])
    gain = AutoGain()
    assert _run(gain, loud) == _pcm(loud)
    assert gain.gain_db == 0.0


def test_a_quiet_room_is_not_turned_up() -> None:
    """Hiss alone is not speech: no gain, however quiet it is."""
    gain = AutoGain()
    hiss = _hiss(6.0, -60)
    assert _run(gain, hiss) == _pcm(hiss)
    assert gain.speech_db is None


def test_digital_silence_and_single_clicks_change_nothing() -> None:
    samples = np.zeros(3 * RATE)
    samples[RATE] = 20000.0  # one click
    gain = AutoGain()
    _run(gain, samples)
    assert gain.gain_db == 0.0


def test_the_gain_rises_gradually_and_falls_at_once() -> None:
    gain = AutoGain()
    _run(gain, _hiss(1.0, -80))
    history = []
    for piece in np.split(_speechlike(2.0, -56), 100):  # 20 ms at a time
        gain.process(_pcm(piece))
        history.append(gain.gain_db)
    assert history[:5] == [0.0] * 5  # too little speech yet to know its level
    steps = np.diff(history)
    assert steps.max() <= RISE_DB_PER_FRAME + 1e-9  # on its way up, not in one jump
    assert history[-1] == pytest.approx(MAX_GAIN_DB)
    loud = _speechlike(0.2, -14)
    out = _samples(_run(gain, loud))
    assert gain.gain_db < 1.0  # loud speech: the gain is gone at once...
    assert np.count_nonzero(np.abs(out) >= 32767) == 0  # ...and never drove it to clip
    assert np.count_nonzero(np.abs(loud) >= 32767) == 0


def test_a_speaker_who_steps_back_is_followed() -> None:
    gain = AutoGain()
    _run(gain, np.concatenate([_hiss(1.0, -80), _speechlike(2.0, -15)]))
    assert gain.gain_db == 0.0
    _run(gain, _speechlike(12.0, -40))
    assert gain.gain_db > 10.0


def test_steadys_own_voice_does_not_lower_the_gain_for_a_quiet_speaker() -> None:
    """A loudspeaker next to the microphone is far louder than a person across the
    room: while Steady talks the gain gets out of the way, and afterwards the person is
    amplified as before, not as if they had suddenly spoken up."""

    def heard(hold: bool) -> tuple[float, float]:
        gain = AutoGain()
        _run(gain, np.concatenate([_hiss(1.0, -80), _speechlike(3.0, -45)]))
        learned = gain.gain_db
        gain.hold = hold
        echo = _samples(_run(gain, _speechlike(2.0, -15, seed=3)))
        assert np.count_nonzero(np.abs(echo) >= 32767) == 0  # held or not, nothing clips
        gain.hold = False
        _run(gain, _speechlike(0.5, -45, seed=4))
        return learned, gain.gain_db

    learned, after = heard(hold=True)
    assert learned > 20.0
    assert after == pytest.approx(learned, abs=0.5)
    _, unheld = heard(hold=False)
    assert unheld < 5.0  # what the gain would have done had it learned from Steady


def _take(gain: AutoGain, retake: Retake, samples: npt.NDArray[np.float64]) -> None:
    pcm = _pcm(samples)
    for i in range(0, len(pcm), 3200):
        retake.feed(pcm[i : i + 3200])
        gain.process(pcm[i : i + 3200])


def test_a_quiet_speakers_first_words_are_taken_again_at_the_settled_gain() -> None:
    gain = AutoGain()
    retake = Retake(gain)
    _take(gain, retake, _hiss(2.0, -80))
    retake.restart()  # the recognizer is reset while nobody speaks
    _take(gain, retake, _speechlike(1.5, -48, seed=2))
    again = retake.audio()
    assert again is not None
    audio, start = again
    assert start == pytest.approx(1.5)  # half a second before the utterance began
    assert len(audio) == 2 * round(2.0 * RATE)
    speech = _samples(audio)[RATE // 2 :]
    # Its first words too are as loud as the gain makes the rest of it.
    assert _db(speech[: RATE // 2]) == pytest.approx(-48 + gain.gain_db, abs=1.5)
    # The next utterance begins with the level known: nothing to take again.
    retake.restart()
    _take(gain, retake, _speechlike(1.5, -48, seed=3))
    assert retake.audio() is None


def test_speech_at_a_normal_level_is_never_taken_again() -> None:
    gain = AutoGain()
    retake = Retake(gain)
    _take(gain, retake, np.concatenate([_hiss(1.0, -80), _speechlike(2.0, -20)]))
    assert retake.audio() is None


def test_a_retake_keeps_only_the_lead_in_and_a_bounded_utterance() -> None:
    gain = AutoGain()
    retake = Retake(gain)
    _take(gain, retake, _hiss(3.0, -80))
    retake.restart()
    _take(gain, retake, _speechlike(1.0, -50))
    again = retake.audio()
    assert again is not None
    assert len(again[0]) == 2 * round(1.5 * RATE)
    assert again[1] == pytest.approx(2.5)


def test_a_fixed_gain_never_clips() -> None:
    loud = _speechlike(0.5, -20)
    out = _samples(amplified(_pcm(loud), 30.0))
    assert np.abs(out).max() <= 32768 * 10 ** (-1 / 20) + 1
    assert amplified(_pcm(loud), 0.0) == _pcm(loud)
    assert amplified(b"", 10.0) == b""


def test_clipping_is_counted() -> None:
    gain = AutoGain()
    wave = _speechlike(1.0, -3) * 4  # driven far past full scale
    _run(gain, wave)
    assert gain.clipped_share > 0.1
    fresh = AutoGain()
    _run(fresh, _speechlike(1.0, -20))
    assert fresh.clipped_share == 0.0


@pytest.mark.parametrize("piece", [1, 160, 317, 1600, 16000])
def test_any_piece_size_comes_back_whole(piece: int) -> None:
    samples = np.concatenate([_hiss(0.5, -80), _speechlike(1.0, -45)])
    out = _run(AutoGain(), samples, piece)
    assert len(out) == len(_pcm(samples))
    assert AutoGain().process(b"") == b""
    assert AutoGain().process(b"\x01") == b""


def test_a_whole_recording_sets_the_gain_before_its_first_word() -> None:
    recording = np.concatenate([_hiss(0.5, -80), _speechlike(1.5, -50), _hiss(0.5, -80)])
    live = AutoGain()
    _run(live, recording)
    calibrated = AutoGain()
    calibrated.calibrate(_pcm(recording))
    assert calibrated.gain_db == pytest.approx(live.gain_db, abs=1.0)
    assert calibrated.gain_db > 20.0
    silent = AutoGain()
    silent.calibrate(_pcm(_hiss(2.0, -80)))
    assert silent.gain_db == 0.0 and silent.speech_db is None


def test_a_muted_microphone_is_noticed_once() -> None:
    watch = SilenceWatch(seconds=2.0)
    zeros = bytes(3200)  # 100 ms
    said = [watch.feed(zeros) for _ in range(30)]
    assert said.count(True) == 1
    assert said.index(True) == 19  # after 2 s of it


def test_any_sound_from_the_start_ends_the_watch() -> None:
    watch = SilenceWatch(seconds=1.0)
    assert not watch.feed(_pcm(_hiss(0.1, -80)))  # a real microphone's faint noise
    assert not any(watch.feed(bytes(3200)) for _ in range(50))
    assert watch.done


def test_a_level_report_tells_each_fault_apart() -> None:
    room = _hiss(1.0, -75)
    assert assess(bytes(RATE * 2)).verdict == "silent"
    assert assess(_pcm(_hiss(3.0, -60))).verdict == "no_speech"
    good = assess(_pcm(np.concatenate([room, _speechlike(2.0, -24) + _hiss(2.0, -75)])))
    assert good.verdict == "good" and good.gain_db < 6
    far = assess(_pcm(np.concatenate([room, _speechlike(2.0, -45) + _hiss(2.0, -75)])))
    assert far.verdict == "good" and far.gain_db > 20  # the gain makes up for it
    whisper = assess(_pcm(np.concatenate([_hiss(1.0, -90), _speechlike(2.0, -62)])))
    assert whisper.verdict == "quiet"
    noisy = assess(_pcm(np.concatenate([_hiss(1.0, -40), _speechlike(2.0, -30) + _hiss(2.0, -40)])))
    assert noisy.verdict == "noisy"
    shouted = assess(_pcm(np.concatenate([room, _speechlike(2.0, -3) * 3])))
    assert shouted.verdict == "loud"


@pytest.mark.parametrize(
    ("report", "says"),
    [
        (LevelReport(False, -16.0, -70.0, 0), "Good: Steady hears you well."),
        (LevelReport(False, -40.0, -70.0, 0), "by about 22 dB"),
        (LevelReport(False, -30.0, -40.0, 0), "only 10 dB above the background"),
        (LevelReport(False, -60.0, -80.0, 0), "too quiet even after"),
        (LevelReport(False, -5.0, -70.0, 900), "clips"),
        (LevelReport(False, None, -60.0, 0), "No speech stood out"),
        (LevelReport(True, None, -200.0, 0), "Nothing but silence"),
    ],
)
def test_mic_check_says_what_to_do(report: LevelReport, says: str) -> None:
    from assistant.cli import mic_check_lines

    assert says in " ".join(mic_check_lines(report))
