"""Distress ratings (0–10) before and after an exercise, and what they add up to.

The dialog asks; this module reads the answers, says what changed without judging
it, and picks what has helped this person before. Where the ratings are kept is the
:class:`SessionLog`'s business (the SQLite store implements it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from assistant.numbers import find_rating
from assistant.replies import Replies
from assistant.text import normalize

PERSONAL_AFTER = 3
"""Rated sessions (for a feeling) after which Steady suggests what helped most."""


class ToolSummary(Protocol):
    """How one exercise has gone for this person (rated sessions only)."""

    @property
    def exercise(self) -> str: ...

    @property
    def mean_drop(self) -> float: ...

    @property
    def times(self) -> int: ...

    @property
    def last_used(self) -> datetime: ...


class PastSession(Protocol):
    """One earlier session, as far as the toolbox needs it."""

    @property
    def exercise(self) -> str | None: ...


class SessionLog(Protocol):
    """Where sessions and their ratings are kept."""

    def start_session(self, feeling: str | None, before: int | None = None) -> int: ...

    def update_session(
        self,
        session_id: int,
        *,
        exercise: str | None = None,
        minutes: float | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> None: ...

    def tool_stats(self, feeling: str | None = None) -> Sequence[ToolSummary]: ...

    def rated_count(self, feeling: str | None = None) -> int: ...

    def last_session(self, with_exercise: bool = True) -> PastSession | None: ...


def read_rating(text: str, slots: dict[str, float]) -> int | None:
    """The 0–10 rating in an answer to "how strong is it?", if there is one."""
    if "rating" in slots:
        return round(slots["rating"])
    span = find_rating(normalize(text), answer=True)
    return round(span.value) if span is not None else None


_STILL = (
    r"same|no different|no change|no better|not( (very|that|any|much|really|a lot|that much))* "
    r"(different|better|calmer|easier)|(did not|has not|have not|does not)( really)? "
    r"(change|changed|shift|shifted|help|helped|work|worked)|not( (any|much|really))* worse"
)
_FELT = {
    "same": re.compile(rf"\b({_STILL})\b"),
    "worse": re.compile(
        r"\b(worse|more (anxious|stressed|tense|wound up|panicky|on edge|upset))\b"
    ),
    "better": re.compile(
        r"\b(better|calmer|easier|lighter|more relaxed|relaxed|less (anxious|stressed|tense|"
        r"panicky|on edge|angry|upset|overwhelmed)|eased|improved|(good|okay|fine|ok) now)\b"
    ),
}
_LEAVING = re.compile(r"\b(bye|goodbye|good night|goodnight|see you|go now|going now|log off)\b")


def felt_change(text: str) -> str | None:
    """How an answer without a number says the feeling went: ``better``, ``worse`` or
    ``same`` ("a lot calmer", "not really any different"); None for anything else, and
    for a goodbye ("i feel better now, bye" is leaving, not rating)."""
    norm = normalize(text)
    if _LEAVING.search(norm):
        return None
    return next((felt for felt, pattern in _FELT.items() if pattern.search(norm)), None)


def change_line(replies: Replies, before: int, after: int) -> str:
    """The change from ``before`` to ``after``, said plainly, without praise or blame."""
    if after < before:
        key = "rating_change.down"
    elif after > before:
        key = "rating_change.up"
    else:
        key = "rating_change.same"
    return replies.get(key, before=before, after=after)


def personal_choice(log: SessionLog, feeling: str, allowed: Sequence[str]) -> str | None:
    """The exercise this person's own ratings point to, if it is one of ``allowed``.

    Only after :data:`PERSONAL_AFTER` rated sessions for the feeling, and only an
    exercise whose distress drop was positive on average.
    """
    if log.rated_count(feeling) < PERSONAL_AFTER:
        return None
    allowed_ids = {a.split(":", 1)[0] for a in allowed}  # a variant counts as its exercise
    for stat in log.tool_stats(feeling):
        if stat.mean_drop > 0 and stat.exercise.split(":", 1)[0] in allowed_ids:
            return stat.exercise
    return None


def toolbox_lines(replies: Replies, log: SessionLog | None, name_of: dict[str, str]) -> list[str]:
    """The answer to "what helped me last time?", from this person's own history."""
    if log is None:
        return [replies.get("toolbox.empty")]
    stats = [s for s in log.tool_stats() if s.exercise in name_of]
    session = log.last_session()
    last = session.exercise if session is not None else None
    lines: list[str] = []
    if stats:
        best = stats[0]
        lines.append(
            replies.get(
                "toolbox.best" if best.mean_drop > 0 else "toolbox.no_drop",
                exercise=name_of[best.exercise],
                drop=_points(best.mean_drop),
                times=_times(best.times),
            )
        )
        for other in stats[1:3]:
            lines.append(
                replies.get(
                    "toolbox.other",
                    exercise=name_of[other.exercise],
                    drop=_points(other.mean_drop),
                    times=_times(other.times),
                )
            )
    if last is not None and last in name_of:
        lines.append(replies.get("toolbox.last", exercise=name_of[last]))
    if not lines:
        return [replies.get("toolbox.empty")]
    return lines


def _points(drop: float) -> str:
    value = abs(drop)
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} point" + ("" if text == "1" else "s")


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")
