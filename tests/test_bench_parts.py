"""Cheap parts of the benchmark: baselines, onset finding, report rendering."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.audio_format import STT_FORMAT, Audio
from bench.baselines import FuzzyBaseline, keyword_intent
from bench.latency import speech_end
from bench.pacing import onsets
from bench.report import headline, pct, table


def test_keyword_spotting_checks_crisis_first_and_falls_back_to_unknown() -> None:
    assert keyword_intent("i'm so nervous about tomorrow") == "anxious"
    assert keyword_intent("i feel anxious and i want to kill myself") == "crisis"
    assert keyword_intent("what's the weather") == "unknown"
    assert keyword_intent(None) == "unknown"


def test_fuzzy_baseline_always_picks_the_nearest_sentence() -> None:
    fuzzy = FuzzyBaseline(["i feel anxious", "i can't sleep"], ["anxious", "sleep"])
    assert fuzzy.intent("i feel so anxious") == "anxious"
    assert fuzzy.intent("cannot sleep at all") == "sleep"
    assert fuzzy.intent("") == "unknown"


def _tone_at(starts: list[float], seconds: float, rate: int = 16000) -> Audio:
    x = np.zeros(round(seconds * rate))
    for start in starts:
        a = round(start * rate)
        x[a : a + rate // 4] = 0.3 * np.sin(np.arange(rate // 4) * 0.2)
    return Audio.from_float(x, rate)


def test_onsets_are_found_where_sound_follows_silence() -> None:
    found = onsets(_tone_at([1.0, 2.0, 400.0], 401.0))
    assert len(found) == 3
    assert np.allclose(found, [1.0, 2.0, 400.0], atol=0.011)  # no drift from frame rounding


def test_speech_end_is_the_last_loud_frame() -> None:
    clip = _tone_at([0.5], 2.0, STT_FORMAT.rate)
    assert abs(speech_end(clip) - 0.75) <= 0.011


def test_report_helpers_say_target_missed_plainly() -> None:
    assert pct(0.5, 4) == "50.0 % (4)"
    assert pct(None) == "–"
    assert table(["a", "b"], [["1", "2"]]) == ["| a | b |", "|---|---|", "| 1 | 2 |", ""]
    rows = headline({"latency": {"median": 0.5, "p95": 0.6, "cutoffs": 1, "n": 3}})
    assert rows[0][-1] == "**target missed**"
    assert rows[1][-1] == "**target missed**"


def test_a_quieter_microphone_turns_the_whole_mix_down() -> None:
    from bench.accuracy import in_condition, parse_conditions

    clean, noisy = parse_conditions("clean,10", "pink", quieter=30)
    assert clean.name == "clean, 30 dB quieter"
    assert noisy.name == "pink 10 dB, 30 dB quieter"
    assert [c.name for c in parse_conditions("clean,10", "pink")] == ["clean", "pink 10 dB"]
    t = np.arange(16000) / 16000
    speech = Audio.from_float(0.5 * np.sin(2 * np.pi * 220 * t), 16000)
    for condition in (clean, noisy):
        loud = in_condition(speech, "a", replace(condition, quieter=0.0), 1, [])
        quiet = in_condition(speech, "a", condition, 1, [])
        ratio = np.abs(quiet.samples()).max() / np.abs(loud.samples()).max()
        assert ratio == pytest.approx(10 ** (-30 / 20), rel=0.02)


def test_a_live_start_is_its_own_condition() -> None:
    from bench.accuracy import parse_args

    args = parse_args(["--set", "dev", "--snr", "clean", "--quieter", "30", "--live"])
    assert [c.name for c in args.conditions] == ["clean, 30 dB quieter, live start"]
    assert all(c.live for c in args.conditions)
    assert not any(c.live for c in parse_args(["--snr", "clean,10"]).conditions)
