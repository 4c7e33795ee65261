"""Runs an exercise: cues at exact times, steerable while it runs.

Every cue has an absolute time on the :class:`~assistant.clock.Clock`, measured
from the start of the exercise. Speaking a cue never pushes later cues back, so
there is no cumulative drift. Control calls (:meth:`ExerciseRunner.stop`,
``pause``, ``resume``, ``slower``, ``faster``, ``repeat``, ``skip``, ``dizzy``,
``extend``, ``hear``) are safe from any thread and take effect at once: the
current sentence is cut off.

Cues come in three styles (:class:`CueStyle`): spoken words, soft tones (rising for
in, falling for out), or both. Spoken guidance thins out as the session goes on: the
full wording for the first cycles, then short cues with counts (spoken cues only), then
short cues alone (or, with ``both``, tones alone). Exercises with ``fade_to`` below 1
grow quieter and sparser over their second half, through the output's ``set_gain``.
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
from assistant.exercises import Exercise, GroundingStep, Phase, TimedStep
from assistant.output import Output

log = logging.getLogger(__name__)

PACE_STEP = 1.1
"""Each "slower" lengthens the breath cycle by 10 %; each "faster" shortens it."""
COUNT_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
GAP = 1.0
"""Seconds of quiet between spoken intro lines (scaled by time scale)."""
RESTART_DELAY = 0.5
"""Seconds between an interruption (resume, a new pattern) and the next breath."""
TONE_FOR_PHASE = {"in": "inhale", "top-up": "inhale", "out": "exhale", "hold": "hold"}
"""Which cue tone marks each kind of breath phase."""


class State(enum.Enum):
    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"


class CueStyle(enum.Enum):
    """How breath phases are marked."""

    VOICE = "voice"
    TONES = "tones"
    BOTH = "both"


class Stage(enum.Enum):
    """How much is said for a breath phase; guidance thins out as the session goes on."""

    FULL = "full"
    COUNTED = "counted"
    THIN = "thin"


@dataclass(frozen=True)
class CueLog:
    """A cue as it happened: planned and actual time from the exercise start."""

    planned: float
    actual: float
    text: str
    """What was said ("" for a tone alone)."""
    tone: str = ""
    """Which tone was played ("" for none)."""


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
        cue_style: CueStyle | str = CueStyle.VOICE,
    ) -> None:
        self.exercise = exercise
        self.output = output
        self.clock = clock
        self.minutes = exercise.minutes(minutes)
        self.scale = time_scale
        self.acks = acknowledgements
        self.on_end = on_end
        self.cue_style = CueStyle(cue_style)
        self.pace = 1.0
        self.gain = 1.0
        self.state = State.READY
        self.cues: list[CueLog] = []
        self.timed_start: float | None = None
        """When the steps or breathing began, from the exercise start (after the intro)."""
        self.timed_end: float | None = None
        """When the last step or breath ended, from the exercise start (before the outro)."""
        self._phases = exercise.phases
        self._listening = False
        self._interrupt = threading.Event()
        self._resume = threading.Event()
        self._skip = threading.Event()
        self._restart = threading.Event()
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

    @property
    def listening(self) -> bool:
        """True while a step waits for the person to name things."""
        return self._listening

    @property
    def phases(self) -> tuple[Phase, ...]:
        """The breath cycle in use (gentler after :meth:`dizzy`)."""
        return self._phases

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

    def skip(self) -> bool:
        """Move on to the next step, phase or line now; False if not running."""
        with self._lock:
            if self.state != State.RUNNING:
                return False
            self._skip.set()
        self._interrupt.set()
        self.output.silence()
        return True

    def dizzy(self) -> str | None:
        """Drop the holds and switch to small, gentle breaths at once.

        Returns the exercise's suggestion to stop (``None`` if its file has none), for
        the caller to say.
        """
        gentle = self.exercise.gentle_phases()
        with self._lock:
            changed = bool(gentle) and gentle != self._phases
            if changed:
                self._phases = gentle
                self.pace = 1.0
                self._restart.set()
            running = self.state == State.RUNNING
        if changed and running and not self._listening:
            self._interrupt.set()
            self.output.silence()
        log.info("dizzy during %s: holds dropped, gentle breathing", self.exercise.id)
        return self.exercise.dizzy

    def slower(self) -> bool:
        return self._set_pace(self.pace * PACE_STEP)

    def faster(self) -> bool:
        return self._set_pace(self.pace / PACE_STEP)

    def _set_pace(self, pace: float) -> bool:
        ex = self.exercise
        if not ex.phases:
            return False
        lowest = ex.cycle_min / ex.cycle_seconds
        highest = ex.cycle_max / ex.cycle_seconds
        pace = min(max(pace, lowest), highest)
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
            if not self._say_lines(self.exercise.intro):
                return
            self.timed_start = self.clock.now() - self._origin
            if not self._run_steps() or not self._run_breathing():
                return
            self.timed_end = self.clock.now() - self._origin
            if self.state == State.RUNNING and self._say_lines(self.exercise.outro):
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

    @staticmethod
    def _take(flag: threading.Event) -> bool:
        """True (and clears it) if ``flag`` was set."""
        if flag.is_set():
            flag.clear()
            return True
        return False

    def _say_lines(self, lines: tuple[str, ...]) -> bool:
        return all(self._say_blocking(line) for line in lines)

    def _say_blocking(self, text: str) -> bool:
        """Say an intro or outro line and a short gap; False when stopped."""
        while True:
            self._last_said = text
            done = self.output.say(text, self._interrupt)
            if done:
                gap_end = self.clock.now() + GAP * self.scale
                if self.clock.wait_until(gap_end, self._interrupt):
                    return True
            if not self._checkpoint():
                return False
            if done or self._take(self._skip):
                return True

    # ------------------------------------------------------------------ steps
    def _run_steps(self) -> bool:
        """The listening and timed steps, in order; False when stopped."""
        steps = self.exercise.steps
        index = 0
        at: float | None = None  # planned start of the next timed step
        while index < len(steps):
            step = steps[index]
            if isinstance(step, GroundingStep):
                at = None
                done = self._grounding_step(step)
            else:
                seconds = self.exercise.step_durations(self.minutes)[index]
                at = self.clock.now() if at is None else at
                done = self._timed_step(step, at, seconds)
                at += seconds * self.scale
            if done:
                index += 1
                continue
            at = None
            if not self._checkpoint():
                return False
            if self._take(self._skip):
                index += 1
        return True

    def _timed_step(self, step: TimedStep, start: float, seconds: float) -> bool:
        """Say a step's instruction at ``start``, then stay quiet until its end."""
        if not self._cue(start, step.say, ""):
            return False
        return self.clock.wait_until(start + seconds * self.scale, self._interrupt)

    def _grounding_step(self, step: GroundingStep) -> bool:
        self._listening = True
        try:
            return self._listen_step(step.say, step.count, step.listen_seconds, step.fallback)
        finally:
            self._listening = False

    def _listen_step(self, prompt: str, count: int, listen: float, fallback: str | None) -> bool:
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

    # -------------------------------------------------------------- breathing
    def _breathing_seconds(self) -> float:
        """Unscaled seconds of breathing still planned in total (at least one cycle)."""
        ex = self.exercise
        rest = self.minutes * 60 - ex.steps_seconds(self.minutes)
        return max(rest, ex.cycle_seconds)

    def _run_breathing(self) -> bool:
        """Repeat the breath cycle for the planned time; False when stopped."""
        if not self._phases:
            return True
        cycle, index, elapsed = 0, 0, 0.0  # elapsed: exercise seconds covered, unscaled
        full = self.exercise.full_cycles
        self._restart.clear()  # a switch made before the breathing began is already in place
        schedule = self.clock.now()
        while index or elapsed < self._breathing_seconds() - 1e-6:
            phases = self._phases
            phase = phases[index]
            seconds = phase.seconds * self.pace
            progress = elapsed / self._breathing_seconds()
            if self._phase(phase, seconds, schedule, self._stage(cycle, full), progress, cycle):
                schedule += seconds * self.scale
                elapsed += seconds
                index = (index + 1) % len(phases)
                cycle += index == 0
                continue
            if not self._checkpoint():
                return False
            restart, skipped = self._take(self._restart), self._take(self._skip)
            if restart or not skipped:
                # resumed, or a new pattern: begin the breath cycle again, fully worded
                index = 0
                full = max(full, cycle + 1)
                schedule = self.clock.now() + RESTART_DELAY * self.scale
                continue
            schedule = self.clock.now()  # skip: straight on to the next phase
            elapsed += seconds
            index = (index + 1) % len(phases)
            cycle += index == 0
        return True

    def _stage(self, cycle: int, full: int) -> Stage:
        if cycle < full:
            return Stage.FULL
        if cycle < full + self.exercise.counted_cycles:
            return Stage.COUNTED
        return Stage.THIN

    def _wording(self, phase: Phase, stage: Stage, progress: float, cycle: int) -> str:
        """What is said for a phase, given the cue style and how far the session is."""
        if self.cue_style is CueStyle.TONES:
            return ""
        if stage is Stage.FULL:
            return phase.say
        if self.cue_style is CueStyle.BOTH and stage is Stage.THIN:
            return ""
        if self.exercise.fade_to < 1.0 and progress >= 0.5 and cycle % 2:
            return ""  # fading exercises speak only every other cycle in their second half
        return phase.short

    def _phase(
        self, phase: Phase, seconds: float, start: float, stage: Stage, progress: float, cycle: int
    ) -> bool:
        """Give one phase's cues at their times; False if interrupted."""
        self._fade(progress)
        text = self._wording(phase, stage, progress, cycle)
        tone = TONE_FOR_PHASE[phase.kind] if self.cue_style is not CueStyle.VOICE else ""
        if (text or tone) and not self._cue(start, text, tone):
            return False
        whole = int(seconds + 1e-6)
        if (
            text
            and whole >= 2
            and self.exercise.count
            and stage is Stage.COUNTED
            and self.cue_style is CueStyle.VOICE
        ):
            step = seconds / whole
            for k in range(1, min(whole, len(COUNT_WORDS))):
                if not self._cue(start + k * step * self.scale, COUNT_WORDS[k], ""):
                    return False
        return self.clock.wait_until(start + seconds * self.scale, self._interrupt)

    def _fade(self, progress: float) -> None:
        """Lower the cue loudness over the second half of a fading exercise."""
        end = self.exercise.fade_to
        if end >= 1.0:
            return
        gain = 1.0 - (1.0 - end) * min(max((progress - 0.5) / 0.5, 0.0), 1.0)
        if abs(gain - self.gain) < 0.01:
            return
        self.gain = gain
        self.output.set_gain(gain)

    def _cue(self, at: float, text: str, tone: str) -> bool:
        """At ``at``: play ``tone`` (if any), then say ``text`` (if any)."""
        if not self.clock.wait_until(at, self._interrupt):
            return False
        self.cues.append(CueLog(at - self._origin, self.clock.now() - self._origin, text, tone))
        if tone and not self.output.tone(tone, self._interrupt):
            return False
        if text:
            self._last_said = text
            self.output.say(text, self._interrupt)
        return not self._interrupt.is_set()


def count_named_things(text: str) -> int:
    """How many things a person named in one breath ("a lamp, my cup and the window")."""
    words = [w for w in text.lower().replace(",", " and ").split() if w]
    if not words:
        return 0
    parts = [p for p in " ".join(words).split(" and ") if p.strip()]
    return max(1, len(parts))
