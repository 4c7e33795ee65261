"""Spoken numbers, distress ratings (0–10) and durations, as a recognizer writes them.

Vosk writes numbers as words ("seven", "twenty five"); typed chat may use digits.
Ratings are accepted in the ways people say them: "seven", "a seven", "about six",
"eight out of ten", "like a nine". Durations: "five minutes", "a minute", "ninety
seconds", "two and a half minutes".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "zero": 0, "oh": 0, "nought": 0, "none": 0, "nothing": 0,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
# Words a recognizer writes for a number it heard on its own (a bare answer).
_HOMOPHONES = {"to": 2, "too": 2, "for": 4, "fore": 4, "won": 1, "ate": 8, "tree": 3, "sex": 6}
_NOT_QUANTITY = {"oh", "none", "nothing"}  # fine as a rating answer, never as a duration


@dataclass(frozen=True)
class Span:
    """A value found in a text, with where it was found (word indices, end exclusive)."""

    value: float
    start: int
    end: int


_WORD = re.compile(r"[a-z0-9']+(?:\.[0-9]+)?")
_NUMERAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def words_of(text: str) -> list[str]:
    """Lowercase words, digits kept, punctuation other than apostrophes dropped."""
    return _WORD.findall(text.lower())


def _has_number(words: list[str]) -> bool:
    """Whether any of ``words`` could begin a number (a quick test before the scan)."""
    return any(w[:1].isdigit() or w in _UNITS or w in _TENS for w in words)


def _number_at(words: list[str], i: int) -> tuple[float, int] | None:
    """A number starting at ``words[i]``: (value, words used)."""
    w = words[i]
    if w[:1].isdigit() and _NUMERAL.fullmatch(w):
        return float(w), 1
    if w in _TENS:
        value = _TENS[w]
        if i + 1 < len(words) and words[i + 1] in _UNITS and 0 < _UNITS[words[i + 1]] < 10:
            return float(value + _UNITS[words[i + 1]]), 2
        return float(value), 1
    if w in _UNITS:
        return float(_UNITS[w]), 1
    return None


def parse_number(text: str) -> float | None:
    """The whole text as one number ("twenty five" -> 25), else None."""
    words = words_of(text)
    if not words:
        return None
    found = _number_at(words, 0)
    if found is None or found[1] != len(words):
        return None
    return found[0]


_OUT_OF = ("out", "of", "ten")


def find_rating(text: str, *, answer: bool = False) -> Span | None:
    """A 0–10 distress rating in ``text``.

    ``answer=True`` is for a reply to "how distressed are you, zero to ten?": a bare
    number is a rating there, and homophones ("to", "for") count. Otherwise a number
    counts only next to rating words ("a seven", "about six", "eight out of ten").
    Where two numbers are given ("six or seven") the higher one is taken.
    """
    words = words_of(text)
    if not answer and not _has_number(words):
        return None
    best: Span | None = None
    i = 0
    while i < len(words):
        found = _number_at(words, i)
        used = found[1] if found else 1
        value = found[0] if found else None
        if value is None and answer and words[i] in _HOMOPHONES and len(words) <= 3:
            value = float(_HOMOPHONES[words[i]])
        if value is not None and 0 <= value <= 10:
            end = i + used
            before = words[i - 1] if i else ""
            out_of = tuple(words[end : end + 3]) == _OUT_OF or (
                end + 1 < len(words) and words[end] == "out" and words[end + 1] == "of"
            )
            cue = before in {"a", "an", "about", "around", "maybe", "like", "at", "say", "is"}
            if out_of:
                end += 3
            if (answer or out_of or cue) and (best is None or value > best.value):
                best = Span(value, i, end)
            used = end - i
        i += used
    return best


_MINUTE = {"minute", "minutes", "min", "mins"}
_SECOND = {"second", "seconds", "sec", "secs"}
_HOUR = {"hour", "hours"}
_UNIT_WORDS = frozenset(_MINUTE | _SECOND | _HOUR)


def find_duration(text: str) -> Span | None:
    """A length of time in seconds ("five minutes" -> 300), with its word span."""
    words = words_of(text)
    if _UNIT_WORDS.isdisjoint(words):
        return None
    for i in range(len(words)):
        value: float | None
        used: int
        if words[i] == "half" and i + 1 < len(words) and words[i + 1] in {"a", "an"}:
            value, used = 0.5, 2  # "half a minute"
        elif words[i] in {"a", "an", "one"} and words[i + 1 : i + 2] == ["half"]:
            value, used = 0.5, 2  # "a half hour"
        else:
            found = _number_at(words, i)
            if found is None and words[i] in {"a", "an"}:
                found = (1.0, 1)
            if found is None or words[i] in _NOT_QUANTITY:
                continue
            value, used = found
            rest = words[i + used : i + used + 3]
            if rest[:3] == ["and", "a", "half"]:
                value += 0.5
                used += 3
        j = i + used
        if j < len(words) and words[j] == "more":
            j += 1
        if j >= len(words):
            continue
        unit = words[j]
        if unit in _MINUTE:
            seconds = value * 60
        elif unit in _SECOND:
            seconds = value
        elif unit in _HOUR:
            seconds = value * 3600
        else:
            continue
        if seconds > 0:
            return Span(seconds, i, j + 1)
    return None
