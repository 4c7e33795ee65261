"""The spoken journal ("talk it out"): an entry is gathered utterance by utterance.

An entry ends when the person says they are done ("i'm done", "that's all"), says
stop, or pauses for :data:`JOURNAL_PAUSE` seconds. The words come from the
open-vocabulary reading, which knows the whole language rather than Steady's
sentences. Where entries are kept is the :class:`JournalBook`'s business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant.journal_reading import Readable
from assistant.text import normalize

JOURNAL_PAUSE = 12.0
"""Seconds of silence that end an entry."""

_DONE = re.compile(
    r"\b(i am done|i am finished|that is all|that is it|that is everything|"
    r"end (the )?(entry|journal)|stop recording|finish (the )?entry|done now)$"
)


class JournalBook(Protocol):
    """Where journal entries are kept."""

    def add_journal(self, text: str, seconds: float, audio_wav: bytes | None = None) -> int: ...

    def journal(self) -> Sequence[Readable]:
        """Every kept entry (any order: they are read back newest first)."""
        ...


def ends_entry(text: str) -> bool:
    """True when ``text`` finishes with a closing phrase ("... and that's all")."""
    return _DONE.search(normalize(text)) is not None


@dataclass
class Draft:
    """An entry being spoken."""

    started: float
    last_heard: float
    parts: list[str] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    """The recording (16 kHz mono), when the person chose to keep recordings."""

    def add(self, text: str, now: float) -> bool:
        """Add an utterance; True when it ends the entry (a closing phrase)."""
        words = normalize(text)
        self.last_heard = now
        match = _DONE.search(words)
        if match is not None:
            words = words[: match.start()].strip()
        if words:
            self.parts.append(words)
        return match is not None

    @property
    def text(self) -> str:
        return " ".join(self.parts)

    @property
    def seconds(self) -> float:
        return max(0.0, self.last_heard - self.started)

    def quiet_for(self, now: float) -> float:
        return now - self.last_heard


def spoken_length(seconds: float) -> str:
    """ "about two minutes", "less than a minute" — for reading an entry's length back."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute"
    if minutes == 1:
        return "about a minute"
    return f"about {minutes} minutes"
