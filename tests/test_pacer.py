"""Exercise pacing: absolute cue times, no drift, and every control while running."""

from __future__ import annotations

import io
import itertools
import threading
import time
from pathlib import Path

import pytest

from assistant.clock import MonotonicClock, VirtualClock
from assistant.exercises import ExerciseLibrary
from assistant.output import PrintedOutput
from assistant.pacer import ExerciseRunner, State, count_named_things
from assistant.paths import intents_dir


@pytest.fixture(scope="module")
def library() -> ExerciseLibrary:
    return ExerciseLibrary.load(intents_dir() / "exercises")


def run_virtual(library: ExerciseLibrary, ex: str, minutes: float) -> ExerciseRunner:
    r = ExerciseRunner(
        library.get(*ex.split(":")), PrintedOutput(io.StringIO()), VirtualClock(), minutes=minutes
    )
    r.start(background=False)
    return r


def test_box_cycles_are_sixteen_seconds(library: ExerciseLibrary) -> None:
    r = run_virtual(library, "box", 5)
    assert r.state is State.FINISHED
    starts = [c.planned for c in r.cues if c.text in ("In", "Breathe in through your nose")]
    assert len(starts) == 19  # 5 minutes of 16-second cycles
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(starts)}
    assert gaps == {16.0}


def test_resonance_is_six_breaths_a_minute(library: ExerciseLibrary) -> None:
    r = run_virtual(library, "resonance", 3)
    ins = [c.planned for c in r.cues if c.text in ("In", "Breathe in softly")]
    assert len(ins) == 18
    assert all(abs((b - a) - 10.0) < 1e-6 for a, b in itertools.pairwise(ins))


def test_counts_fall_on_whole_seconds(library: ExerciseLibrary) -> None:
    r = run_virtual(library, "box", 2)
    first_short = next(i for i, c in enumerate(r.cues) if c.text == "In")
    times = [c.planned - r.cues[first_short].planned for c in r.cues[first_short : first_short + 4]]
    assert [round(t, 6) for t in times] == [0, 1, 2, 3]
    assert [c.text for c in r.cues[first_short : first_short + 4]] == ["In", "two", "three", "four"]


def test_no_cumulative_drift_on_the_real_clock(library: ExerciseLibrary) -> None:
    # A five-minute resonance session at 1/100 speed: every cue against its plan.
    r = ExerciseRunner(
        library.get("resonance"), PrintedOutput(io.StringIO()), MonotonicClock(),
        minutes=5, time_scale=0.01,
    )  # fmt: skip
    r.start(background=False)
    lateness = [c.actual - c.planned for c in r.cues]
    assert len(lateness) > 50
    # Lateness never accumulates: the last cues are no later than the first ones plus noise.
    assert max(lateness[-10:]) < max(lateness[:10]) + 0.05


def test_stop_ends_promptly(library: ExerciseLibrary) -> None:
    r = ExerciseRunner(
        library.get("box"), PrintedOutput(io.StringIO()), MonotonicClock(), time_scale=0.2
    )
    r.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    r.stop()
    r.join(timeout=2)
    assert r.state is State.STOPPED
    assert time.monotonic() - t0 < 1.0


def test_pause_and_resume_restart_the_breath(library: ExerciseLibrary) -> None:
    out = io.StringIO()
    r = ExerciseRunner(
        library.get("box"), PrintedOutput(out), MonotonicClock(), minutes=1, time_scale=0.02
    )
    r.start()
    time.sleep(0.1)
    assert r.pause()
    said = out.getvalue()
    time.sleep(0.2)
    assert out.getvalue() == said  # nothing said while paused
    assert r.resume()
    r.join(timeout=10)
    assert r.state is State.FINISHED


def test_slower_and_faster_stay_in_the_evidence_range(library: ExerciseLibrary) -> None:
    ex = library.get("resonance")
    r = ExerciseRunner(ex, PrintedOutput(io.StringIO()), VirtualClock())
    steps = 0
    while r.slower():
        steps += 1
    assert steps >= 2
    assert 60 / (ex.cycle_seconds * r.pace) == pytest.approx(4.5, abs=0.01)
    while r.faster():
        pass
    assert 60 / (ex.cycle_seconds * r.pace) == pytest.approx(6.5, abs=0.01)


def test_slower_lengthens_the_next_cycles(library: ExerciseLibrary) -> None:
    r = ExerciseRunner(library.get("box"), PrintedOutput(io.StringIO()), VirtualClock(), minutes=1)
    r.slower()
    r.start(background=False)
    starts = [c.planned for c in r.cues if c.text in ("In", "Breathe in through your nose")]
    assert starts[1] - starts[0] == pytest.approx(17.6)


def test_grounding_moves_on_when_enough_is_named(library: ExerciseLibrary) -> None:
    out = io.StringIO()
    r = ExerciseRunner(
        library.get("grounding"), PrintedOutput(out), MonotonicClock(), time_scale=1.0
    )
    r.start()
    deadline = time.monotonic() + 5
    while "five things" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    r.hear("the lamp, a cup and the window")
    r.hear("my phone and a plant")
    while "four things" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "four things" in out.getvalue()
    r.stop()
    r.join(timeout=2)


def test_count_named_things() -> None:
    assert count_named_things("a lamp, my cup and the window") == 3
    assert count_named_things("the lamp") == 1
    assert count_named_things("") == 0


def test_extend_adds_time(library: ExerciseLibrary) -> None:
    r = ExerciseRunner(library.get("box"), PrintedOutput(io.StringIO()), VirtualClock(), minutes=2)
    r.extend(180)
    assert r.minutes == 5


def test_controls_are_thread_safe(library: ExerciseLibrary) -> None:
    r = ExerciseRunner(
        library.get("box"), PrintedOutput(io.StringIO()), MonotonicClock(), time_scale=0.01
    )
    r.start()
    threads = [threading.Thread(target=f) for f in (r.pause, r.resume, r.slower, r.faster) * 5]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r.resume()
    r.stop()
    r.join(timeout=2)
    assert r.state is State.STOPPED


def test_all_bundled_exercises_render(library: ExerciseLibrary) -> None:
    for key in library.exercises:
        r = run_virtual(library, key, library.exercises[key].minutes_min)
        assert r.state is State.FINISHED, key


def test_time_path_is_independent_of_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert (intents_dir() / "exercises" / "box.yaml").exists()
