"""Exercise pacing: absolute cue times, no drift, and every control while running."""

from __future__ import annotations

import io
import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.clock import MonotonicClock, VirtualClock
from assistant.exercises import ExerciseLibrary
from assistant.output import Output, PrintedOutput
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


class Recorder(Output):
    """Records what is said and played, and can steer the runner from inside a cue."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.events: list[tuple[float, str]] = []
        self.gains: list[float] = []
        self.hook: Callable[[str], object] | None = None

    def say(self, text: str, interrupt: threading.Event | None = None) -> bool:
        self.events.append((self.clock.now(), text))
        if self.hook is not None:
            self.hook(text)
        return not (interrupt is not None and interrupt.is_set())

    def tone(self, kind: str, interrupt: threading.Event | None = None) -> bool:
        self.events.append((self.clock.now(), f"<{kind}>"))
        return True

    def set_gain(self, gain: float) -> None:
        self.gains.append(gain)


def recorded(library: ExerciseLibrary, key: str, minutes: float, **kw: Any) -> ExerciseRunner:
    clock = VirtualClock()
    r = ExerciseRunner(library.get(*key.split(":")), Recorder(clock), clock, minutes=minutes, **kw)
    return r


def test_guidance_thins_out(library: ExerciseLibrary) -> None:
    r = run_virtual(library, "box", 3)
    texts = [c.text for c in r.cues]
    cycle_len = {"full": 4, "counted": 4 * 4}  # four phases; counted ones have 4 cues each
    assert texts[:4] == [
        "Breathe in through your nose",
        "Hold gently",
        "Breathe out slowly",
        "Hold",
    ]
    counted = texts[8 : 8 + 4 * cycle_len["counted"]]
    assert counted[:4] == ["In", "two", "three", "four"]
    thin = texts[8 + 4 * cycle_len["counted"] :]
    assert thin[:4] == ["In", "Hold", "Out", "Hold"] and "two" not in thin


@pytest.mark.parametrize(
    ("style", "first"), [("tones", ["<inhale>"]), ("both", ["<inhale>", "Breathe in softly"])]
)
def test_cue_styles(library: ExerciseLibrary, style: str, first: list[str]) -> None:
    r = recorded(library, "resonance", 2, cue_style=style)
    r.start(background=False)
    out = r.output
    assert isinstance(out, Recorder)
    start = r.cues[0].planned
    at_start = [text for t, text in out.events if abs(t - start) < 1e-9]
    assert at_start == first
    tones = [text for _, text in out.events if text.startswith("<")]
    assert set(tones) == {"<inhale>", "<exhale>"}
    assert len(tones) == 2 * library.get("resonance").cycles_for(2)
    if style == "both":  # later cycles: the tone alone
        assert r.cues[-1].text == "" and r.cues[-1].tone == "exhale"


def test_skip_moves_to_the_next_phase(library: ExerciseLibrary) -> None:
    r = recorded(library, "box", 1)
    out = r.output
    assert isinstance(out, Recorder)
    out.hook = lambda text: r.skip() if text == "Hold gently" else None
    r.start(background=False)
    hold, after = (
        next(c for c in r.cues if c.text == t) for t in ("Hold gently", "Breathe out slowly")
    )
    assert after.planned - hold.planned < 0.5  # no four-second hold
    assert r.state is State.FINISHED


def test_skip_moves_to_the_next_step(library: ExerciseLibrary) -> None:
    r = recorded(library, "muscle-relaxation", 7)
    out = r.output
    assert isinstance(out, Recorder)
    first = library.get("muscle-relaxation").steps[0].say
    out.hook = lambda text: r.skip() if text == first else None
    r.start(background=False)
    assert r.cues[1].planned - r.cues[0].planned < 0.5
    assert r.state is State.FINISHED


def test_dizzy_drops_holds_and_suggests_stopping(library: ExerciseLibrary) -> None:
    r = recorded(library, "box", 2)
    out = r.output
    assert isinstance(out, Recorder)
    advice: list[str | None] = []
    out.hook = lambda text: advice.append(r.dizzy()) if text == "Breathe out slowly" else None
    r.start(background=False)
    assert advice and advice[0] and "stop" in advice[0]
    after = r.cues[next(i for i, c in enumerate(r.cues) if c.text == "Breathe out slowly") + 1 :]
    assert after and not any(c.text.startswith("Hold") for c in after)
    assert all(p.kind != "hold" for p in r.phases)
    ins = [c.planned for c in after if c.text in ("In", "Breathe in through your nose")]
    assert all(b - a == pytest.approx(8.0) for a, b in itertools.pairwise(ins))
    assert r.state is State.FINISHED


def test_guided_steps_keep_their_clock(library: ExerciseLibrary) -> None:
    ex = library.get("muscle-relaxation")
    r = recorded(library, "muscle-relaxation", ex.minutes_max)
    r.start(background=False)
    durations = ex.step_durations(ex.minutes_max)
    starts = [c.planned for c in r.cues]
    assert len(starts) == len(ex.steps)
    assert all(
        b - a == pytest.approx(d)
        for (a, b), d in zip(itertools.pairwise(starts), durations, strict=False)
    )
    assert r.timed_end is not None and r.timed_start is not None
    assert r.timed_end - r.timed_start == pytest.approx(sum(durations))


def test_panic_listens_first_and_never_holds(library: ExerciseLibrary) -> None:
    r = recorded(library, "panic", 3)
    seen: list[bool] = []
    out = r.output
    assert isinstance(out, Recorder)
    out.hook = lambda text: seen.append(r.listening)
    r.start(background=False)
    assert seen[len(library.get("panic").intro)] is True  # the first sense prompt listens
    assert not any(c.tone == "hold" or c.text.startswith("Hold") for c in r.cues)
    assert r.state is State.FINISHED


def test_sleep_breathing_fades(library: ExerciseLibrary) -> None:
    r = recorded(library, "sleep-breathing", 10)
    r.start(background=False)
    out = r.output
    assert isinstance(out, Recorder)
    assert out.gains and out.gains == sorted(out.gains, reverse=True)
    assert out.gains[-1] == pytest.approx(library.get("sleep-breathing").fade_to, abs=0.03)
    assert r.timed_start is not None and r.timed_end is not None
    middle = (r.timed_start + r.timed_end) / 2
    early = [c for c in r.cues if c.planned < middle]
    assert len(r.cues) - len(early) < 0.8 * len(early)  # sparser too


def test_pace_steps_are_ten_percent_and_bounded(library: ExerciseLibrary) -> None:
    for key in ("box", "4-7-8", "cyclic-sighing", "panic", "sleep-breathing"):
        ex = library.get(key)
        r = ExerciseRunner(ex, PrintedOutput(io.StringIO()), VirtualClock())
        first = r.slower()
        at_edge = ex.cycle_seconds * r.pace == pytest.approx(ex.cycle_max)
        assert first and (r.pace == pytest.approx(1.1) or at_edge)
        while r.slower():
            pass
        assert ex.cycle_seconds * r.pace <= ex.cycle_max + 1e-6
        while r.faster():
            pass
        assert ex.cycle_seconds * r.pace >= ex.cycle_min - 1e-6
