"""Runs an exercise: cues at exact times, steerable while it runs.

Every cue has an absolute time on the :class:`~assistant.clock.Clock`, measured
from the start of the exercise. Speaking a cue never pushes later cues back, so
there is no cumulative drift. Control calls (:meth:`ExerciseRunner.stop`,
``pause``, ``resume``, ``slower``, ``faster``, ``repeat``, ``hear``) are safe from
any thread and take effect at once: the current sentence is cut off.
"""

from __future__ import annotations

import enum
import logging
import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from assistant.clock import Clock
from assistant.exercises import Exercise, Phase
from assistant.output import Output

log = logging.getLogger(__name__)

PACE_STEP = 1.1
"""Each "slower" lengthens the breath cycle by 10 %; each "faster" shortens it."""
COUNT_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
GAP = 1.0
"""Seconds of quiet between spoken intro lines (scaled by time scale)."""


class State(enum.Enum):
    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CueLog:
    """A cue as it happened: planned and actual time from the exercise start."""

    planned: float
    actual: float
    text: str


class ExerciseRunner:
    """One running exercise. Call :meth:`start`, then steer it from any thread."""

    def __init__(
        self,
        exercise: Exercise,
        output: Output,
        clock: Clock,
        *,
        minutes: float | None = None,
        time_scale: float = 1.0,
        acknowledgements: tuple[str, ...] = ("Good.",),
        on_end: Callable[[ExerciseRunner], None] | None = None,
    ) -> None:
        self.exercise = exercise
        self.output = output
        self.clock = clock
        self.minutes = exercise.minutes(minutes)
        self.scale = time_scale
        self.acks = acknowledgements
        self.on_end = on_end
        self.pace = 1.0
        self.state = State.READY
        self.cues: list[CueLog] = []
        self._interrupt = threading.Event()
        self._resume = threading.Event()
        self._lock = threading.Lock()
        self._heard: queue.Queue[str] = queue.Queue()
        self._last_said = ""
        self._thread: threading.Thread | None = None
        self._origin = 0.0

    # --------------------------------------------------------------- control
    def start(self, background: bool = True) -> None:
        self.state = State.RUNNING
        if background:
            self._thread = threading.Thread(target=self._run, name=f"exercise-{self.exercise.id}")
            self._thread.daemon = True
            self._thread.start()
        else:
            self._run()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def active(self) -> bool:
        return self.state in (State.RUNNING, State.PAUSED, State.READY)

    def stop(self) -> None:
        with self._lock:
            if self.state in (State.FINISHED, State.STOPPED):
                return
            self.state = State.STOPPED
        self._interrupt.set()
        self._resume.set()
        self.output.silence()

    def pause(self) -> bool:
        with self._lock:
            if self.state != State.RUNNING:
                return False
            self.state = State.PAUSED
            self._resume.clear()
        self._interrupt.set()
        self.output.silence()
        return True

    def resume(self) -> bool:
        with self._lock:
            if self.state != State.PAUSED:
                return False
            self.state = State.RUNNING
        self._resume.set()
        return True

    def slower(self) -> bool:
        return self._set_pace(self.pace * PACE_STEP)

    def faster(self) -> bool:
        return self._set_pace(self.pace / PACE_STEP)

    def _set_pace(self, pace: float) -> bool:
        ex = self.exercise
        if not ex.phases:
            return False
        cycle = ex.cycle_seconds * pace
        if cycle > ex.cycle_max + 1e-6:
            pace = ex.cycle_max / ex.cycle_seconds
        if cycle < ex.cycle_min - 1e-6:
            pace = ex.cycle_min / ex.cycle_seconds
        if abs(pace - self.pace) < 1e-3:
            return False
        self.pace = pace
        return True

    def extend(self, seconds: float) -> None:
        """Run for ``seconds`` more than planned ("for three more minutes")."""
        self.minutes = min(self.minutes + seconds / 60, self.exercise.minutes_max * 2)

    def repeat(self) -> None:
        if self._last_said:
            self.output.say(self._last_said)

    def hear(self, text: str) -> None:
        """Something the person said during a grounding step."""
        self._heard.put(text)

    # --------------------------------------------------------------- running
    def _run(self) -> None:
        try:
            self._origin = self.clock.now()
            for line in self.exercise.intro:
                if not self._say_blocking(line):
                    return
            if self.exercise.kind == "grounding":
                self._run_grounding()
            else:
                self._run_breathing()
            if self.state == State.RUNNING:
                for line in self.exercise.outro:
                    if not self._say_blocking(line):
                        return
                self.state = State.FINISHED
        finally:
            if self.on_end is not None:
                self.on_end(self)

    def _checkpoint(self) -> bool:
        """After an interruption: wait out a pause; False when stopped."""
        while True:
            if self.state == State.STOPPED:
                return False
            if self.state == State.PAUSED:
                self._resume.wait()
                continue
            self._interrupt.clear()
            return True

    def _say_blocking(self, text: str) -> bool:
        while True:
            self._last_said = text
            done = self.output.say(text, self._interrupt)
            if done:
                gap_end = self.clock.now() + GAP * self.scale
                if self.clock.wait_until(gap_end, self._interrupt):
                    return True
            if not self._checkpoint():
                return False
            if done:
                return True

    def _run_breathing(self) -> None:
        ex = self.exercise
        cycle = 0
        schedule = self.clock.now()
        elapsed = 0.0  # exercise seconds covered, in unscaled time
        full = ex.full_cycles
        while elapsed < self.minutes * 60 - 1e-6:
            restart = False
            for phase in ex.phases:
                seconds = phase.seconds * self.pace
                if not self._phase(phase, seconds, schedule, detailed=cycle < full):
                    if not self._checkpoint():
                        return
                    restart = True  # after a pause, begin the breath cycle again
                    break
                schedule += seconds * self.scale
            if restart:
                schedule = self.clock.now() + 0.5 * self.scale
                full = max(full, cycle + 1)  # the full wording again after a break
                continue
            elapsed += sum(p.seconds for p in ex.phases) * self.pace
            cycle += 1

    def _phase(self, phase: Phase, seconds: float, start: float, detailed: bool) -> bool:
        """Speak one phase's cues at their times; False if interrupted."""
        text = phase.say if detailed else phase.short
        if not self._cue(start, text):
            return False
        whole = int(seconds + 1e-6)
        if self.exercise.count and not detailed and whole >= 2:
            step = seconds / whole
            for k in range(1, whole):
                if not self._cue(start + k * step * self.scale, COUNT_WORDS[k]):
                    return False
        end = start + seconds * self.scale
        return self.clock.wait_until(end, self._interrupt)

    def _cue(self, at: float, text: str) -> bool:
        if not self.clock.wait_until(at, self._interrupt):
            return False
        self.cues.append(CueLog(at - self._origin, self.clock.now() - self._origin, text))
        self._last_said = text
        self.output.say(text, self._interrupt)
        return not self._interrupt.is_set()

    def _run_grounding(self) -> None:
        for step in self.exercise.steps:
            while not self._grounding_step(
                step.say, step.count, step.listen_seconds, step.fallback
            ):
                if not self._checkpoint():
                    return

    def _grounding_step(self, prompt: str, count: int, listen: float, fallback: str | None) -> bool:
        """Ask, then listen until enough things are named or time runs out."""
        while not self._heard.empty():
            self._heard.get_nowait()
        self._last_said = prompt
        if not self.output.say(prompt, self._interrupt):
            return False
        named = 0
        deadline = self.clock.now() + listen * self.scale
        prompted_again = False
        while named < count:
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                if named == 0 and fallback and not prompted_again:
                    prompted_again = True
                    if not self.output.say(fallback, self._interrupt):
                        return False
                    deadline = self.clock.now() + listen * self.scale / 2
                    continue
                break
            try:
                if self.clock.virtual:  # nobody answers a file render: the window passes
                    text = self._heard.get_nowait()
                else:
                    text = self._heard.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                if self._interrupt.is_set():
                    return False
                if self.clock.virtual and not self.clock.wait_until(deadline, self._interrupt):
                    return False
                continue
            named += count_named_things(text)
            if named < count and not self.output.say(random.choice(self.acks), self._interrupt):
                return False
        return not self._interrupt.is_set()


def count_named_things(text: str) -> int:
    """How many things a person named in one breath ("a lamp, my cup and the window")."""
    words = [w for w in text.lower().replace(",", " and ").split() if w]
    if not words:
        return 0
    parts = [p for p in " ".join(words).split(" and ") if p.strip()]
    return max(1, len(parts))
