"""Steady hearing itself: its own cues must not become commands, a person's must."""

from __future__ import annotations

import pytest

from assistant.runtime import is_echo
from assistant.stt import Transcript

CUES = ["In", "two", "three", "four", "Out", "two", "three"]
INTRO = ["Sit or lie down and get comfortable.", "Say stop whenever you like."]


@pytest.mark.parametrize(
    ("heard", "recent"),
    [
        ("four out", CUES),  # two cues run together
        ("three", CUES),
        ("two three", CUES),
        ("get comfortable", INTRO),
        ("sit or lie down", INTRO),
        ("say stop whenever you like", INTRO),
        ("let you're breath find its own pace", ["Let your breath find its own pace again."]),
    ],
)
def test_own_words_are_echo(heard: str, recent: list[str]) -> None:
    assert is_echo(Transcript(heard), recent)


@pytest.mark.parametrize(
    ("heard", "recent"),
    [
        ("stop", INTRO),  # Steady said "say stop": a person's "stop" still counts
        ("slower", ["A little slower."]),
        ("pause", CUES),
        ("i feel dizzy", CUES),
        ("i want to go to sleep", CUES),
    ],
)
def test_commands_get_through(heard: str, recent: list[str]) -> None:
    assert not is_echo(Transcript(heard), recent)


def test_open_reading_counts_too() -> None:
    heard = Transcript("overwhelmed", open_text="four out")
    assert is_echo(heard, CUES)


def test_loose_rules_only_while_steady_talks() -> None:
    offer = ["Would you like to try box breathing with me?"]
    assert is_echo(Transcript("box breathing"), offer, strict=True)
    assert not is_echo(Transcript("box breathing"), offer, strict=False)
    assert not is_echo(Transcript("anything"), [])
