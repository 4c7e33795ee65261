"""Hearing the journal back: which entry to read first, and how to say when it was made.

Entries are read newest first. "read me yesterday's entry" or "my journal from monday"
starts at the newest entry of that day; after each entry Steady offers the one before,
and "another one", "the one before" or "yes" reads it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from assistant.text import normalize

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_OLDER = re.compile(
    r"\b(another|older|earlier|previous|before|next|further back|go back|more|keep going)\b"
)
_NOT = re.compile(r"\b(no|not|don't|enough|stop)\b")
_MANAGE = re.compile(
    r"\b(delete|erase|remove|clear|rename|wipe|edit|change)"
    r"( (all|of|my|the|that|this|these|those|last|latest|old|older|first|\w+day's|\w+'s))*"
    r" ((journal|diary|voice) )?(entry|entries|journal|diary|recording|recordings|notes)\b"
)
_DAY = re.compile(
    r"\b(today|this morning|this afternoon|this evening|tonight|yesterday|last night|"
    + "|".join(WEEKDAYS)
    + r")\b"
)


class Readable(Protocol):
    """A kept journal entry, as far as reading it back goes."""

    @property
    def created(self) -> datetime: ...

    @property
    def text(self) -> str: ...


def wants_older(text: str) -> bool:
    """True when ``text`` asks for another, older entry ("and the one before that"), not
    for no more ("no more for now")."""
    words = normalize(text)
    return _OLDER.search(words) is not None and _NOT.search(words) is None


def manages(text: str) -> bool:
    """True when ``text`` asks to delete or change kept entries ("delete yesterday's
    entry"): not something Steady does by voice, and never a request to hear them."""
    return _MANAGE.search(normalize(text)) is not None


def named_day(text: str, today: date) -> date | None:
    """The day ``text`` names ("yesterday's entry", "from monday"), if any.

    A weekday is the most recent one before today: on a Monday, "monday" is a week ago.
    """
    found = _DAY.search(normalize(text))
    if found is None:
        return None
    word = found.group(1)
    if word in ("yesterday", "last night"):
        return today - timedelta(days=1)
    if word in WEEKDAYS:
        back = (today.weekday() - WEEKDAYS.index(word) - 1) % 7 + 1
        return today - timedelta(days=back)
    return today


def newest_first(entries: Sequence[Readable]) -> list[Readable]:
    return sorted(entries, key=lambda e: e.created, reverse=True)


def first_of_day(entries: Sequence[Readable], day: date) -> int | None:
    """Index in ``entries`` (newest first) of the newest entry made on ``day`` (local)."""
    for i, entry in enumerate(entries):
        if entry.created.astimezone().date() == day:
            return i
    return None


def _part_of_day(hour: int) -> str:
    if hour < 5:
        return "night"
    if hour < 12:
        return "morning"
    if hour < 17:
        return "afternoon"
    return "evening"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def spoken_when(created: datetime, now: datetime) -> str:
    """When an entry was made, as Steady says it: "this morning", "yesterday evening",
    "on Tuesday afternoon", "on the 3rd of November" (local time)."""
    local = created.astimezone()
    today = now.astimezone().date()
    part = _part_of_day(local.hour)
    days = (today - local.date()).days
    if days <= 0:
        return "last night" if part == "night" else f"this {part}"
    if days == 1:
        return "last night" if part in ("evening", "night") else f"yesterday {part}"
    if days < 7:
        return f"on {WEEKDAYS[local.weekday()].capitalize()} {part}"
    month = local.strftime("%B")
    if local.year != today.year:
        return f"on the {_ordinal(local.day)} of {month} {local.year}"
    return f"on the {_ordinal(local.day)} of {month}"


def spoken_day(day: date, today: date) -> str:
    """A day named back to the person: "today", "yesterday", "Monday"."""
    days = (today - day).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return WEEKDAYS[day.weekday()].capitalize()
