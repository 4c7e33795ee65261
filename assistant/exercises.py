"""Exercise scripts: YAML data under ``intents/exercises/`` turned into timed cues.

An exercise has up to two parts, run in this order:

* ``steps``: prompts that either *listen* (grounding: name five things you can see)
  or last a set time (``tense``, ``release``, ``attend``: muscle relaxation, body scan);
* ``phases``: a breath cycle (in, hold, out...) repeated for the rest of the minutes.

Timed steps of a kind listed in ``step_seconds`` with a ``min`` and ``max`` stretch or
shrink together so the whole exercise lasts the minutes asked for. Files are validated
against ``exercise.schema.json``. A person's own routines can live in their config
folder: a broken one is reported by file and field, and every other exercise still loads.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.datafiles import load_yaml, validate
from assistant.errors import DataFileError

log = logging.getLogger(__name__)

GENTLE_IN = 3.0
"""Seconds of the small in-breath used when someone feels dizzy (*judgement*)."""
GENTLE_OUT = 5.0
"""Seconds of the long, easy out-breath used when someone feels dizzy (*judgement*)."""


@dataclass(frozen=True)
class Phase:
    """One part of a breath cycle."""

    kind: str
    """``in``, ``hold``, ``out`` or ``top-up``."""
    seconds: float
    say: str
    """Full wording, used in the first cycles."""
    short: str
    """Short cue, used once the rhythm is familiar."""


@dataclass(frozen=True)
class GroundingStep:
    """A prompt that listens until ``count`` things are named or the time is up."""

    say: str
    count: int
    listen_seconds: float
    fallback: str | None


@dataclass(frozen=True)
class TimedStep:
    """A spoken instruction followed by quiet: tense a muscle, release it, attend to a region."""

    kind: str
    """``tense``, ``release``, ``attend`` or ``say``."""
    say: str
    seconds: float
    """Length at the exercise's default minutes, from the spoken cue to the next step."""


Step = GroundingStep | TimedStep


@dataclass(frozen=True)
class StepBounds:
    """How long steps of one kind last by default, and how far they may stretch."""

    default: float
    min: float
    max: float


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    kind: str
    """``breathing``, ``grounding`` (listens while it runs) or ``guided``."""
    summary: str
    source: str
    caution: str
    minutes_default: float
    minutes_min: float
    minutes_max: float
    intro: tuple[str, ...]
    outro: tuple[str, ...]
    phases: tuple[Phase, ...] = ()
    cycle_min: float = 0.0
    cycle_max: float = 0.0
    count: bool = False
    full_cycles: int = 2
    """Cycles spoken with the full wording."""
    counted_cycles: int = 4
    """Cycles after those with short cues and counts; later ones get the short cue only."""
    fade_to: float = 1.0
    """Cue loudness at the very end (1.0: no fade); the fade starts half-way."""
    dizzy: str | None = None
    """What to say when the person feels dizzy (a suggestion to stop)."""
    variants: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    stretch: tuple[tuple[str, StepBounds], ...] = ()
    """Per step kind: bounds within which its steps stretch to fit the minutes."""
    path: Path | None = None

    @property
    def cycle_seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def has_holds(self) -> bool:
        return any(p.kind == "hold" for p in self.phases)

    def minutes(self, requested: float | None) -> float:
        """``requested`` minutes kept within this exercise's range (default if None)."""
        if requested is None:
            return self.minutes_default
        return min(max(requested, self.minutes_min), self.minutes_max)

    def cycles_for(self, minutes: float) -> int:
        """Breath cycles that fill ``minutes`` (after the steps, if there are any)."""
        if not self.phases:
            return 0
        rest = minutes * 60 - self.steps_seconds(minutes)
        return max(1, math.ceil(rest / self.cycle_seconds - 1e-9))

    def step_durations(self, minutes: float) -> tuple[float, ...]:
        """How long each timed step lasts so the steps fill ``minutes`` (listening: 0)."""
        bounds = dict(self.stretch)
        fixed = sum(
            s.seconds for s in self.steps if isinstance(s, TimedStep) and s.kind not in bounds
        )
        stretchy = sum(
            s.seconds for s in self.steps if isinstance(s, TimedStep) and s.kind in bounds
        )
        target = minutes * 60 - (self.cycle_seconds if self.phases else 0.0)
        factor = (target - fixed) / stretchy if stretchy and not self.phases else 1.0
        out: list[float] = []
        for s in self.steps:
            if not isinstance(s, TimedStep):
                out.append(0.0)
            elif s.kind in bounds:
                b = bounds[s.kind]
                out.append(min(max(s.seconds * factor, b.min), b.max))
            else:
                out.append(s.seconds)
        return tuple(out)

    def steps_seconds(self, minutes: float) -> float:
        """Planned length of the steps: timed steps plus each listening window."""
        listening = sum(s.listen_seconds for s in self.steps if isinstance(s, GroundingStep))
        return sum(self.step_durations(minutes)) + listening

    def planned_seconds(self, minutes: float) -> float:
        """Length of the timed part (steps and breathing), without intro and outro."""
        return self.steps_seconds(minutes) + self.cycles_for(minutes) * self.cycle_seconds

    def gentle_phases(self) -> tuple[Phase, ...]:
        """Small breaths and no holds: a short in-breath and a longer out-breath."""
        first_in = next((p for p in self.phases if p.kind == "in"), None)
        first_out = next((p for p in self.phases if p.kind == "out"), None)
        if first_in is None or first_out is None:
            return ()
        return (
            replace(first_in, seconds=GENTLE_IN, say=first_in.short),
            replace(first_out, seconds=GENTLE_OUT, say=first_out.short),
        )


def _phases(raw: list[dict[str, Any]]) -> tuple[Phase, ...]:
    return tuple(
        Phase(str(p["kind"]), float(p["seconds"]), str(p["say"]), str(p.get("short", p["say"])))
        for p in raw
    )


def _steps(
    raw: list[dict[str, Any]], bounds: dict[str, StepBounds], path: Path
) -> tuple[Step, ...]:
    steps: list[Step] = []
    for i, s in enumerate(raw):
        kind = s.get("kind", "listen")
        if kind == "listen":
            steps.append(
                GroundingStep(
                    str(s["say"]), int(s["count"]), float(s["listen_seconds"]), s.get("fallback")
                )
            )
            continue
        seconds = s.get("seconds", bounds[kind].default if kind in bounds else None)
        if seconds is None:
            raise DataFileError(
                f"{path}: field 'steps.{i}.seconds' is required "
                f"(or give step_seconds.{kind}.default)."
            )
        steps.append(TimedStep(kind, str(s["say"]), float(seconds)))
    return tuple(steps)


def _bounds(raw: dict[str, dict[str, float]], path: Path) -> dict[str, StepBounds]:
    out: dict[str, StepBounds] = {}
    for kind, b in raw.items():
        default = float(b["default"])
        lo, hi = float(b.get("min", default)), float(b.get("max", default))
        if not lo <= default <= hi:
            raise DataFileError(
                f"{path}: field 'step_seconds.{kind}': default must lie between min and max."
            )
        out[kind] = StepBounds(default, lo, hi)
    return out


class ExerciseLibrary:
    """Every exercise Steady knows, by id, with their variants as ``id:variant``."""

    def __init__(self, exercises: dict[str, Exercise], problems: list[str]) -> None:
        self.exercises = exercises
        self.problems = problems
        """One line per user file that could not be loaded."""

    @classmethod
    def load(cls, bundled: Path, user: Path | None = None) -> ExerciseLibrary:
        """Bundled exercises must all load; a broken user file is reported and skipped."""
        found: dict[str, Exercise] = {}
        for path in sorted(bundled.glob("*.yaml")):
            for ex in load_exercise(path):
                found[ex.id] = ex
        problems: list[str] = []
        if user is not None and user.is_dir():
            for path in sorted(user.glob("*.yaml")):
                try:
                    for ex in load_exercise(path):
                        found[ex.id] = ex
                except DataFileError as exc:
                    log.warning("%s", exc)
                    problems.append(str(exc))
        return cls(found, problems)

    def get(self, exercise_id: str, variant: str | None = None) -> Exercise:
        key = f"{exercise_id}:{variant}" if variant else exercise_id
        if key not in self.exercises:
            raise DataFileError(f"There is no exercise called '{key}'; see `steady exercises`.")
        return self.exercises[key]

    def main_exercises(self) -> list[Exercise]:
        """The exercises without their variants, by id."""
        return [ex for key, ex in sorted(self.exercises.items()) if ":" not in key]


def _check_parts(data: dict[str, Any], path: Path) -> None:
    kind = data["kind"]
    steps = data.get("steps", [])
    if kind == "breathing" and "phases" not in data:
        raise DataFileError(f"{path}: field 'phases' is required for a breathing exercise.")
    if kind == "grounding" and not any(s.get("kind", "listen") == "listen" for s in steps):
        raise DataFileError(f"{path}: field 'steps' is required for a grounding exercise.")
    if kind == "guided" and not steps:
        raise DataFileError(f"{path}: field 'steps' is required for a guided exercise.")
    minutes = data["minutes"]
    if not minutes["min"] <= minutes["default"] <= minutes["max"]:
        raise DataFileError(f"{path}: field 'minutes': default must lie between min and max.")


def load_exercise(path: Path) -> list[Exercise]:
    """An exercise file: the exercise itself and one entry per variant."""
    data = load_yaml(path)
    validate(data, "exercise", path)
    _check_parts(data, path)
    minutes = data["minutes"]
    cycle = data.get("cycle_seconds", {})
    bounds = _bounds(data.get("step_seconds", {}), path)
    base = Exercise(
        id=data["id"],
        name=data["name"],
        kind=data["kind"],
        summary=data.get("summary", ""),
        source=data["source"],
        caution=data.get("caution", ""),
        minutes_default=float(minutes["default"]),
        minutes_min=float(minutes["min"]),
        minutes_max=float(minutes["max"]),
        intro=tuple(data.get("intro", [])),
        outro=tuple(data.get("outro", [])),
        phases=_phases(data.get("phases", [])),
        count=bool(data.get("count", False)),
        full_cycles=int(data.get("full_cycles", 2)),
        counted_cycles=int(data.get("counted_cycles", 4)),
        fade_to=float(data.get("fade_to", 1.0)),
        dizzy=data.get("dizzy"),
        variants=tuple(data.get("variants", {})),
        steps=_steps(data.get("steps", []), bounds, path),
        stretch=tuple((k, b) for k, b in bounds.items() if b.min < b.max),
        path=path,
    )
    base = _with_cycle(base, cycle, path, "cycle_seconds")
    out = [base]
    for name, var in data.get("variants", {}).items():
        ex = replace(
            base,
            id=f"{base.id}:{name}",
            summary=var.get("summary", base.summary),
            phases=_phases(var["phases"]),
            variants=(),
        )
        out.append(_with_cycle(ex, var.get("cycle_seconds", cycle), path, f"variants.{name}"))
    return out


def _with_cycle(ex: Exercise, bounds: dict[str, float], path: Path, field: str) -> Exercise:
    if not ex.phases:
        return ex
    lo = float(bounds.get("min", ex.cycle_seconds))
    hi = float(bounds.get("max", ex.cycle_seconds))
    if not (lo - 1e-6 <= ex.cycle_seconds <= hi + 1e-6):
        raise DataFileError(
            f"{path}: field '{field}': the cycle lasts {ex.cycle_seconds:g} s, "
            f"outside {lo:g}–{hi:g} s."
        )
    return replace(ex, cycle_min=lo, cycle_max=hi)
