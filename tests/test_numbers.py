from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.numbers import find_duration, find_rating, parse_number

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def spoken(n: int) -> str:
    if n < 10:
        return UNITS[n]
    if n < 20:
        return TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return TENS[tens - 2] + ("" if unit == 0 else " " + UNITS[unit])


@pytest.mark.parametrize(
    ("text", "answer", "value"),
    [
        ("seven", True, 7),
        ("a seven", True, 7),
        ("about six", True, 6),
        ("eight out of ten", True, 8),
        ("ten", True, 10),
        ("zero", True, 0),
        ("i'd say six or seven", True, 7),
        ("um maybe a four", True, 4),
        ("to", True, 2),
        ("7", True, 7),
        ("it's a nine right now", False, 9),
        ("i feel anxious about a seven", False, 7),
        ("seven out of 10", False, 7),
    ],
)
def test_ratings_people_say(text: str, answer: bool, value: int) -> None:
    found = find_rating(text, answer=answer)
    assert found is not None and found.value == value


@pytest.mark.parametrize("text", ["i feel anxious", "i have two dogs", "eleven", "twenty"])
def test_no_rating_without_a_cue(text: str) -> None:
    assert find_rating(text) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("for five minutes", 300),
        ("a minute", 60),
        ("half a minute", 30),
        ("two and a half minutes", 150),
        ("ninety seconds", 90),
        ("for three more minutes", 180),
        ("breathe for 10 min", 600),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    found = find_duration(text)
    assert found is not None and found.value == seconds


@given(st.integers(min_value=0, max_value=99))
def test_every_spoken_number_parses(n: int) -> None:
    assert parse_number(spoken(n)) == n


@given(st.integers(min_value=0, max_value=10), st.sampled_from(["", "a ", "about ", "like a "]))
def test_every_rating_answer_parses(n: int, lead: str) -> None:
    found = find_rating(lead + spoken(n), answer=True)
    assert found is not None and found.value == n


@given(st.integers(min_value=1, max_value=60))
def test_every_minute_count_parses(n: int) -> None:
    found = find_duration(f"for {spoken(n)} minutes")
    assert found is not None and found.value == n * 60
