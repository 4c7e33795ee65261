"""The exercise library as data: every bundled exercise validates and follows CONTENT.md §1;
broken routines are reported by file and field while the rest still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.datafiles import load_yaml
from assistant.errors import DataFileError
from assistant.exercises import ExerciseLibrary, GroundingStep, TimedStep, load_exercise
from assistant.paths import intents_dir

BUNDLED = sorted((intents_dir() / "exercises").glob("*.yaml"))
REQUIRED = {"cyclic-sighing", "box", "4-7-8", "resonance", "sleep-breathing", "grounding",
            "muscle-relaxation", "body-scan", "panic"}  # fmt: skip


@pytest.fixture(scope="module")
def library() -> ExerciseLibrary:
    return ExerciseLibrary.load(intents_dir() / "exercises")


def test_every_required_exercise_is_bundled(library: ExerciseLibrary) -> None:
    assert {ex.id for ex in library.main_exercises()} >= REQUIRED
    assert {"box:no-hold", "resonance:slow", "4-7-8:no-hold"} <= set(library.exercises)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_each_file_loads_with_its_basics(path: Path) -> None:
    exercises = load_exercise(path)
    base = exercises[0]
    assert base.id == path.stem
    assert base.name and base.source
    assert base.minutes_min <= base.minutes_default <= base.minutes_max
    assert load_yaml(path)  # and the header comment does not break YAML
    assert path.read_text().startswith(f"# {base.id} — ")
    for ex in exercises:
        planned = ex.planned_seconds(ex.minutes_default) / 60
        assert planned == pytest.approx(ex.minutes_default, rel=0.15) or ex.kind == "grounding"


def test_cautions_where_content_gives_one(library: ExerciseLibrary) -> None:
    for key in ("box", "4-7-8", "grounding", "muscle-relaxation", "body-scan"):
        assert library.get(key).caution, key
    assert "light-headed" in library.get("4-7-8").caution
    assert "driving" in library.get("grounding").caution.lower()


def test_hold_patterns_have_a_no_hold_variant(library: ExerciseLibrary) -> None:
    for ex in library.main_exercises():
        if ex.has_holds:
            assert not library.get(ex.id, "no-hold").has_holds, ex.id


def test_resonance_stays_between_4_5_and_6_5_breaths(library: ExerciseLibrary) -> None:
    for key in ("resonance", "resonance:slow", "sleep-breathing"):
        ex = library.get(*key.split(":"))
        assert 60 / ex.cycle_max >= 4.5 - 0.01 and 60 / ex.cycle_min <= 6.5 + 0.01
    assert 60 / library.get("resonance").cycle_seconds == pytest.approx(6.0)
    assert 60 / library.get("resonance", "slow").cycle_seconds == pytest.approx(5.5, abs=0.05)


def test_timings_follow_the_sources(library: ExerciseLibrary) -> None:
    assert library.get("box").cycle_seconds == 16
    assert library.get("box").cycles_for(5) == 19
    assert [p.seconds for p in library.get("4-7-8").phases] == [4, 7, 8]
    assert library.get("4-7-8").cycles_for(library.get("4-7-8").minutes_default) == 4
    assert library.get("4-7-8").cycles_for(library.get("4-7-8").minutes_max) == 8
    sighing = [p.kind for p in library.get("cyclic-sighing").phases]
    assert sighing == ["in", "top-up", "out"]
    sleep = library.get("sleep-breathing")
    assert [p.seconds for p in sleep.phases] == [4.5, 5.5] and sleep.fade_to < 1


def test_panic_grounds_first_then_gentle_breaths(library: ExerciseLibrary) -> None:
    panic = library.get("panic")
    assert isinstance(panic.steps[0], GroundingStep)
    assert not panic.has_holds and panic.phases
    inhale = next(p for p in panic.phases if p.kind == "in")
    exhale = next(p for p in panic.phases if p.kind == "out")
    assert exhale.seconds > inhale.seconds <= 3


def test_panic_never_suggests_4_7_8() -> None:
    suggestions = load_yaml(intents_dir() / "suggestions.yaml")
    assert not any(s.startswith("4-7-8") for s in suggestions["panic"]["offer"])


def test_muscle_relaxation_fits_its_minutes(library: ExerciseLibrary) -> None:
    pmr = library.get("muscle-relaxation")
    kinds = {s.kind for s in pmr.steps if isinstance(s, TimedStep)}
    assert kinds == {"tense", "release"}
    for minutes in (pmr.minutes_min, pmr.minutes_default, pmr.minutes_max):
        durations = pmr.step_durations(minutes)
        releases = [
            d
            for s, d in zip(pmr.steps, durations, strict=True)
            if isinstance(s, TimedStep) and s.kind == "release"
        ]
        assert all(10 <= d <= 30 for d in releases)
        assert sum(durations) == pytest.approx(minutes * 60, abs=1)


def test_body_scan_offers_ten_twenty_thirty_minutes(library: ExerciseLibrary) -> None:
    scan = library.get("body-scan")
    for minutes in (10, 20, 30):
        assert scan.minutes(minutes) == minutes
        assert scan.planned_seconds(minutes) == pytest.approx(minutes * 60, abs=1)


GUIDED = """
id: mine
name: my routine
kind: guided
source: my therapist
minutes: {default: 2, min: 1, max: 4}
step_seconds:
  attend: {default: 30, min: 15, max: 60}
steps:
  - {kind: attend, say: Notice your hands.}
  - {kind: tense, say: Squeeze your hands., seconds: 5}
  - {kind: attend, say: Notice your feet.}
"""


def test_a_guided_routine_loads(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GUIDED)
    lib = ExerciseLibrary.load(intents_dir() / "exercises", tmp_path)
    mine = lib.get("mine")
    assert mine.step_durations(2) == (57.5, 5.0, 57.5)
    assert not lib.problems


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("seconds: 5}", "seconds: 500}"), "steps.1.seconds"),
        (("{kind: attend, say: Notice your feet.}", "{kind: attend, say: x, count: 3}"), "steps.2"),
        (("{kind: tense, say: Squeeze your hands., seconds: 5}", "{kind: tense, say: y}"),
         "steps.1.seconds"),
        (("kind: guided", "kind: yoga"), "kind"),
        (("min: 15, max: 60", "min: 45, max: 60"), "step_seconds.attend"),
        (("  - {kind: attend, say: Notice your hands.}\n", "  - {count: 2, listen_seconds: 5}\n"),
         "steps.0"),
    ],
)  # fmt: skip
def test_broken_routines_name_file_and_field(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    assert change[0] in GUIDED
    (tmp_path / "broken.yaml").write_text(GUIDED.replace(*change))
    (tmp_path / "fine.yaml").write_text(GUIDED.replace("id: mine", "id: fine"))
    lib = ExerciseLibrary.load(intents_dir() / "exercises", tmp_path)
    assert "fine" in lib.exercises and "box" in lib.exercises and "mine" not in lib.exercises
    assert len(lib.problems) == 1
    assert "broken.yaml" in lib.problems[0] and f"'{field}" in lib.problems[0], lib.problems[0]


def test_bundled_files_must_load(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: [\n")
    with pytest.raises(DataFileError, match=r"bad.yaml: not valid YAML at line"):
        ExerciseLibrary.load(tmp_path)
