"""`steady exercises` and `steady practice`: listing, errors, and guided sessions rendered
to WAV with real espeak-ng speech, their cue onsets measured in the waveform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assistant.audio_format import lead_trimmed, load_wav
from assistant.cli import main
from assistant.cli_practice import _library
from assistant.config import Settings
from assistant.pacer import COUNT_WORDS, GAP
from assistant.tts import Voice, default_tts
from tests.conftest import ROOT

TOLERANCE = 0.05
"""Largest allowed distance between a cue's planned time and its onset in the audio."""


def steady(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ},
    )  # fmt: skip


def onsets(x: npt.NDArray[np.float64], rate: int, quiet_s: float = 0.1) -> list[float]:
    """Times where sound starts after at least ``quiet_s`` of silence (~2 ms frames)."""
    frame = round(0.002 * rate)
    step = frame / rate
    n = x.size // frame
    loud = np.abs(x[: n * frame]).reshape(n, frame).max(axis=1) > 0.002
    found, quiet = [], n  # the very start counts as after silence
    for i, is_loud in enumerate(loud):
        if is_loud and quiet * step >= quiet_s:
            found.append(i * step)
        quiet = 0 if is_loud else quiet + 1
    return found


def spoken_seconds(lines: tuple[str, ...], home: Path) -> float:
    """How long ``lines`` take when said one after another with the runner's gap."""
    settings = Settings()
    voice = Voice(rate_wpm=settings.rate_wpm, voice=settings.voice)
    tts = default_tts(voice, home / "cache" / "speech")
    return sum(lead_trimmed(tts.synthesize(t, voice)).duration + GAP for t in lines)


def planned_cues(
    exercise_id: str, minutes: float, cues: str, home: Path
) -> tuple[list[float], float]:
    """Cue times worked out from the exercise data alone, and the session's length."""
    ex = _library(str(home)).get(*exercise_id.split(":"))
    t = spoken_seconds(ex.intro, home)
    times: list[float] = []
    for cycle in range(ex.cycles_for(minutes)):
        counted = ex.full_cycles <= cycle < ex.full_cycles + ex.counted_cycles
        for phase in ex.phases:
            times.append(t)
            if ex.count and counted and cues == "voice":
                whole = int(phase.seconds)
                times += [t + k * phase.seconds / whole for k in range(1, whole)]
            t += phase.seconds
    total = t + spoken_seconds(ex.outro, home) - GAP  # no gap after the last line
    return times, total


def render(
    tmp_path: Path, exercise_id: str, minutes: float, cues: str
) -> tuple[list[float], float]:
    out = tmp_path / f"{exercise_id}-{cues}.wav"
    home = tmp_path / "home"
    code = main(["practice", exercise_id, "--minutes", str(minutes), "--cues", cues,
                 "--out", str(out), "--data-dir", str(home)])  # fmt: skip
    assert code == 0
    audio = load_wav(out, target=None)
    return onsets(audio.to_float(), audio.fmt.rate), audio.duration


@pytest.mark.parametrize(
    ("exercise_id", "minutes", "cues"),
    [("box", 1, "voice"), ("resonance", 2, "voice"), ("box", 1, "both"), ("resonance", 2, "tones")],
)
def test_rendered_cues_land_on_time(
    tmp_path: Path, exercise_id: str, minutes: float, cues: str
) -> None:
    found, duration = render(tmp_path, exercise_id, minutes, cues)
    planned, total = planned_cues(exercise_id, minutes, cues, tmp_path / "home")
    assert len(planned) >= 4 * 3
    for t in planned:
        nearest = min(found, key=lambda f: abs(f - t))
        assert abs(nearest - t) <= TOLERANCE, f"cue planned at {t:.3f} s starts at {nearest:.3f} s"
    # nothing sounds in the breathing part except the planned cues
    inside = [f for f in found if planned[0] - TOLERANCE <= f <= planned[-1] + TOLERANCE]
    assert len(inside) == len(planned)
    assert duration == pytest.approx(total, abs=0.5)


def test_exercises_json_lines() -> None:
    r = steady("exercises", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert all(set(row) == {"id", "name", "minutes", "source"} for row in rows)
    ids = {row["id"] for row in rows}
    expected = {
        "cyclic-sighing", "box", "box:no-hold", "4-7-8", "resonance", "resonance:slow",
        "sleep-breathing", "grounding", "muscle-relaxation", "body-scan", "panic",
    }  # fmt: skip
    assert expected <= ids
    assert all(row["source"] and row["minutes"] > 0 for row in rows)


def test_exercises_plain_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercises"]) == 0
    out = capsys.readouterr().out
    assert "muscle-relaxation" in out and "box:no-hold" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["practice", "nope"], "no exercise called 'nope'"),
        (["practice", "box", "--variant", "fast"], "no variant called 'fast'"),
        (["practice", "grounding", "--variant", "x"], "no variants"),
        (["practice", "box", "--minutes", "90"], "1 to 20 minutes"),
        (["practice", "box", "--cues", "bells"], "invalid choice"),
    ],
)
def test_bad_requests_give_one_line(args: list[str], words: str) -> None:
    r = steady(*args)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("steady: ") and words in lines[0], r.stderr


def test_variant_inline_or_by_flag(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    home = str(tmp_path / "home")
    assert (
        main(["practice", "box:no-hold", "--minutes", "1", "--out", str(a), "--data-dir", home])
        == 0
    )
    assert main(["practice", "box", "--variant", "no-hold", "--minutes", "1", "--out", str(b),
                 "--data-dir", home]) == 0  # fmt: skip
    assert a.read_bytes() == b.read_bytes()


def test_sleep_breathing_grows_quieter(tmp_path: Path) -> None:
    out = tmp_path / "sleep.wav"
    code = main(["practice", "sleep-breathing", "--minutes", "5", "--cues", "tones",
                 "--out", str(out), "--data-dir", str(tmp_path / "home")])  # fmt: skip
    assert code == 0
    audio = load_wav(out, target=None)
    x, rate = audio.to_float(), audio.fmt.rate
    minute = 60 * rate
    early = np.abs(x[minute : 2 * minute]).max()
    late = np.abs(x[-20 * rate : -4 * rate]).max()  # the last breaths, before the outro
    assert late < early * 0.6


def test_every_exercise_renders(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    for key, ex in sorted(_library(home).exercises.items()):
        out = tmp_path / f"{key.replace(':', '_')}.wav"
        code = main(["practice", key, "--minutes", f"{ex.minutes_min:g}", "--out", str(out),
                     "--data-dir", home, "--time-scale", "0.05"])  # fmt: skip
        assert code == 0, key
        assert load_wav(out, target=None).duration > 1.0, key


def test_counts_are_words_the_runner_knows() -> None:
    assert COUNT_WORDS[1] == "two"
