"""Every bundled data file validates; broken files name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import DataFileError
from assistant.exercises import ExerciseLibrary, load_exercise
from assistant.intents import IntentSet
from assistant.paths import intents_dir
from assistant.replies import Replies
from assistant.validate import validate_all


def test_all_bundled_data_validates() -> None:
    report = validate_all()
    assert any(line.startswith("sentences/en") for line in report)
    assert any("box" in line for line in report if line.startswith("exercises"))


def test_intent_file_with_bad_field(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("language: en\nintent: x\nkind: mood\nsentences: [hi]\n")
    with pytest.raises(DataFileError, match=r"x.yaml: field 'kind'"):
        IntentSet.from_dir(tmp_path)


def test_an_intent_cannot_be_taken_on_less_than_the_matcher_asks(tmp_path: Path) -> None:
    """``accept`` only ever makes an intent stricter (0.8 is the matcher's own bar)."""
    (tmp_path / "x.yaml").write_text(
        "language: en\nintent: x\nkind: practice\naccept: 0.5\nsentences: [hi]\n"
    )
    with pytest.raises(DataFileError, match=r"x.yaml: field 'accept'"):
        IntentSet.from_dir(tmp_path)


def test_intent_file_with_bad_template(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        "language: en\nintent: x\nkind: feeling\nsentences: ['(a|b']\n"
    )
    with pytest.raises(DataFileError, match=r"x.yaml: field 'sentences.0'"):
        IntentSet.from_dir(tmp_path)


def test_missing_contract_intents_are_named(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("language: en\nintent: x\nkind: feeling\nsentences: [hi]\n")
    with pytest.raises(DataFileError, match="anxious"):
        IntentSet.from_dir(tmp_path)


def test_invalid_yaml_says_the_line(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("language: en\nintent: [x\n")
    with pytest.raises(DataFileError, match="line"):
        IntentSet.from_dir(tmp_path)


def test_replies_need_their_keys(tmp_path: Path) -> None:
    path = tmp_path / "replies.yaml"
    path.write_text("language: en\nreplies:\n  help: hi\n")
    with pytest.raises(DataFileError, match="first_run"):
        Replies.from_yaml(path)


BOX = """
id: mine
name: my routine
kind: breathing
source: my therapist
minutes: {default: 3, min: 1, max: 10}
phases:
  - {kind: in, seconds: 3, say: In}
  - {kind: out, seconds: 5, say: Out}
"""


def test_a_person_can_add_a_routine(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(BOX)
    lib = ExerciseLibrary.load(intents_dir() / "exercises", tmp_path)
    assert lib.get("mine").cycle_seconds == 8
    assert "box" in lib.exercises and not lib.problems


def test_a_broken_routine_is_reported_and_the_rest_load(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BOX.replace("seconds: 5", "seconds: -5"))
    lib = ExerciseLibrary.load(intents_dir() / "exercises", tmp_path)
    assert "box" in lib.exercises and "mine" not in lib.exercises
    assert len(lib.problems) == 1 and "broken.yaml" in lib.problems[0]
    assert "phases.1.seconds" in lib.problems[0]


def test_breathing_without_phases_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "\n".join(
            line
            for line in BOX.splitlines()
            if ("phases" not in line and "{" not in line) or "minutes" in line
        )
    )
    with pytest.raises(DataFileError, match="phases"):
        load_exercise(path)


def test_pace_bounds_hold_the_cycle(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(BOX + "cycle_seconds: {min: 10, max: 12}\n")
    with pytest.raises(DataFileError, match="cycle_seconds"):
        load_exercise(path)


def test_the_fast_yaml_loader_reads_every_bundled_file_as_the_plain_one_does() -> None:
    import yaml

    from assistant.datafiles import load_yaml

    files = sorted(intents_dir().rglob("*.yaml"))
    assert len(files) > 30
    for path in files:
        assert load_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path
