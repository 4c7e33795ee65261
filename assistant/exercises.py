"""Exercise scripts: YAML data under ``intents/exercises/`` turned into timed cues.

A breathing exercise is a cycle of phases (in, hold, out...) repeated for the chosen
number of minutes; a grounding exercise is a list of prompts that each wait for the
person to name things. Files are validated against ``exercise.schema.json``. A
person's own routines can live in their config folder: a broken one is reported by
file and field, and every other exercise still loads.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from assistant.datafiles import load_yaml, validate
from assistant.errors import DataFileError

log = logging.getLogger(__name__)


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
    say: str
    count: int
    listen_seconds: float
    fallback: str | None


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    kind: str
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
    variants: tuple[str, ...] = ()
    steps: tuple[GroundingStep, ...] = ()
    path: Path | None = None

    @property
    def cycle_seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    def minutes(self, requested: float | None) -> float:
        """``requested`` minutes kept within this exercise's range (default if None)."""
        if requested is None:
            return self.minutes_default
        return min(max(requested, self.minutes_min), self.minutes_max)

    def cycles_for(self, minutes: float) -> int:
        return max(1, math.ceil(minutes * 60 / self.cycle_seconds)) if self.phases else 0


def _phases(raw: list[dict[str, object]]) -> tuple[Phase, ...]:
    return tuple(
        Phase(str(p["kind"]), float(p["seconds"]), str(p["say"]), str(p.get("short", p["say"])))  # type: ignore[arg-type]
        for p in raw
    )


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


def load_exercise(path: Path) -> list[Exercise]:
    """An exercise file: the exercise itself and one entry per variant."""
    data = load_yaml(path)
    validate(data, "exercise", path)
    kind = data["kind"]
    if kind == "breathing" and "phases" not in data:
        raise DataFileError(f"{path}: field 'phases' is required for a breathing exercise.")
    if kind == "grounding" and "steps" not in data:
        raise DataFileError(f"{path}: field 'steps' is required for a grounding exercise.")
    minutes = data["minutes"]
    if not minutes["min"] <= minutes["default"] <= minutes["max"]:
        raise DataFileError(f"{path}: field 'minutes': default must lie between min and max.")
    cycle = data.get("cycle_seconds", {})
    base = Exercise(
        id=data["id"],
        name=data["name"],
        kind=kind,
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
        variants=tuple(data.get("variants", {})),
        steps=tuple(
            GroundingStep(s["say"], int(s["count"]), float(s["listen_seconds"]), s.get("fallback"))
            for s in data.get("steps", [])
        ),
        path=path,
    )
    base = _with_cycle(base, cycle, path, "cycle_seconds")
    out = [base]
    for name, var in data.get("variants", {}).items():
        ex = Exercise(
            **{
                **base.__dict__,
                "id": f"{base.id}:{name}",
                "summary": var.get("summary", base.summary),
                "phases": _phases(var["phases"]),
                "variants": (),
            }
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
    return Exercise(**{**ex.__dict__, "cycle_min": lo, "cycle_max": hi})
