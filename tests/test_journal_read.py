"""Hearing the journal back by voice: newest first, from a named day, one entry at a
time, and cut off by "stop"; the person's words are read through the real store."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from assistant.app import App
from assistant.clock import VirtualClock
from assistant.config import Settings
from assistant.dialog import Dialog, Mode
from assistant.journal_reading import named_day, spoken_when, wants_older
from assistant.output import PrintedOutput
from assistant.store import Store
from assistant.understand import build_matcher

# A Thursday evening, local time: the tests speak of days as the person would.
NOW = datetime(2026, 11, 26, 20, 30).astimezone()
TODAY = NOW.date()


@dataclass(frozen=True)
class Entry:
    created: datetime
    text: str


class Book:
    def __init__(self, *entries: Entry) -> None:
        self.entries = list(entries)

    def add_journal(self, text: str, seconds: float, audio_wav: bytes | None = None) -> int:
        self.entries.append(Entry(NOW, text))
        return len(self.entries)

    def journal(self) -> list[Entry]:
        return sorted(self.entries, key=lambda e: e.created)


def at(days_ago: int, hour: int) -> datetime:
    day = TODAY - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour).astimezone()


BOOK = (
    Entry(at(0, 8), "slept badly but the walk helped"),
    Entry(at(1, 21), "argued with my sister and felt awful after"),
    Entry(at(3, 14), "good day at work for once"),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return App.load(Settings(time_scale=0.002), str(tmp_path_factory.mktemp("home")))


def talk(app: App, *entries: Entry) -> tuple[Dialog, io.StringIO]:
    out = io.StringIO()
    d = app.dialog(PrintedOutput(out), VirtualClock(), asynchronous=False)
    d.journal = Book(*entries)
    d.wall_clock = lambda: NOW
    return d, out


def said(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


# -- the words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "read me my last journal entry",
        "play back my old entries",
        "what did i say in my journal",
        "can i hear my diary",
        "steady play my latest entry",
        "could you read back what i recorded last time",
    ],
)
def test_asking_to_hear_the_journal(text: str) -> None:
    assert build_matcher().match(text).intent == "journal_read"


@pytest.mark.parametrize(
    "text", ["read me a story", "play some music", "can you read my heart rate"]
)
def test_near_misses_are_asked_about_not_read(text: str) -> None:
    """Reading private words aloud needs a clearer request than other intents (the
    intent's ``accept`` in its sentence file): a near miss is at most "did you mean"."""
    m = build_matcher()
    match = m.match(text)
    assert match.intent != "journal_read"
    assert m.needed("journal_read") > m.needed("breathe")


@pytest.mark.parametrize(
    "text",
    ["i want to talk it out", "start a journal entry", "journal", "open my journal"],
)
def test_asking_to_record_is_still_the_journal(text: str) -> None:
    assert build_matcher().match(text).intent == "journal"


@pytest.mark.parametrize(
    ("text", "days_ago"),
    [
        ("read me yesterday's entry", 1),
        ("what did i say last night", 1),
        ("play my journal from this morning", 0),
        ("my entry from monday", 3),  # Thursday: the Monday just gone
        ("the one from thursday", 7),  # on a Thursday, "thursday" is a week ago
        ("read me my last entry", None),
    ],
)
def test_named_days(text: str, days_ago: int | None) -> None:
    expected = None if days_ago is None else TODAY - timedelta(days=days_ago)
    assert named_day(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "older"),
    [
        ("another one", True),
        ("and the one before that", True),
        ("is there an earlier one", True),
        ("keep going", True),
        ("no more for now", False),
        ("that's enough", False),
        ("i feel anxious", False),
    ],
)
def test_asking_for_an_older_entry(text: str, older: bool) -> None:
    assert wants_older(text) is older


@pytest.mark.parametrize(
    ("days_ago", "hour", "spoken"),
    [
        (0, 8, "this morning"),
        (0, 2, "last night"),
        (1, 21, "last night"),
        (1, 9, "yesterday morning"),
        (3, 14, "on Monday afternoon"),
    ],
)
def test_when_an_entry_was_made(days_ago: int, hour: int, spoken: str) -> None:
    assert spoken_when(at(days_ago, hour), NOW) == spoken


def test_older_entries_are_named_by_date() -> None:
    assert spoken_when(datetime(2026, 11, 3, 12).astimezone(), NOW) == "on the 3rd of November"
    last_year = datetime(2025, 12, 22, 12).astimezone()
    assert spoken_when(last_year, NOW) == "on the 22nd of December 2025"
    assert spoken_when(datetime(2026, 11, 11, 12).astimezone(), NOW) == "on the 11th of November"


# -- the conversation ---------------------------------------------------------------


def test_entries_are_read_newest_first_one_at_a_time(app: App) -> None:
    d, out = talk(app, *BOOK)
    d.hear("read me my last journal entry")
    first = said(out)
    assert "this morning: slept badly but the walk helped" in first
    assert "the one before" in first and d.mode is Mode.JOURNAL_READ
    d.hear("another one")  # a "no" to an offered exercise, but here: the next entry
    assert "last night: argued with my sister" in said(out)
    d.hear("yes")
    last = said(out)
    assert "on Monday afternoon: good day at work" in last and "oldest entry" in last
    d.hear("yes")
    assert "oldest entry" in said(out)
    d.hear("no thanks")
    assert "stays here" in said(out) and d.mode is Mode.IDLE


def test_a_named_day_starts_there(app: App) -> None:
    d, out = talk(app, *BOOK)
    d.hear("what did i say in my journal yesterday")
    assert "argued with my sister" in said(out)
    d.hear("read me my entry from sunday")
    reply = said(out)
    assert "I don't have an entry from Sunday" in reply and "slept badly" in reply


def test_stop_cuts_the_reading_off(app: App) -> None:
    d, out = talk(app, *BOOK)
    d.hear("play back my old entries")
    said(out)
    d.hear("stop")
    assert "stays here" in said(out) and d.mode is Mode.IDLE


def test_something_else_leaves_the_journal(app: App) -> None:
    d, out = talk(app, *BOOK)
    d.hear("read me my last entry")
    said(out)
    d.hear("i feel anxious")
    assert d.mode is not Mode.JOURNAL_READ
    assert "slept badly" not in said(out)


def test_private_words_wait_for_a_clear_request(app: App) -> None:
    """Close to "read me my entry", but not clearly that: Steady asks first."""
    d, out = talk(app, *BOOK)
    d.hear("read me a story")
    assert "Did you mean: hearing your journal entries?" in said(out)
    d.hear("yes")
    assert "slept badly" in said(out)


@pytest.mark.parametrize(
    "text", ["delete yesterday's entry", "rename my entry from monday", "delete my journal"]
)
def test_deleting_by_voice_is_explained_not_misheard(app: App, text: str) -> None:
    d, out = talk(app, *BOOK)
    d.hear(text)
    reply = said(out)
    assert "steady journal delete" in reply
    assert "slept badly" not in reply and d.mode is Mode.IDLE


def test_a_single_entry_is_called_the_only_one(app: App) -> None:
    d, out = talk(app, BOOK[0])
    d.hear("read me my journal")
    reply = said(out)
    assert "slept badly" in reply and "only entry" in reply
    d.hear("another one")
    assert "only entry" in said(out)


def test_an_empty_journal_says_how_to_start_one(app: App) -> None:
    d, out = talk(app)
    d.hear("read me my journal")
    assert "empty so far" in said(out) and d.mode is Mode.IDLE


def test_entries_are_read_from_the_real_store(app: App, tmp_path: Path) -> None:
    out = io.StringIO()
    d = app.dialog(PrintedOutput(out), VirtualClock(), asynchronous=False)
    with Store.open(tmp_path) as store:
        store.add_journal("the first thing i kept", 30.0)
        store.add_journal("and a second one", 20.0)
        d.journal = store
        d.hear("play me my latest entry")
        assert "and a second one" in said(out)
        d.hear("the one before")
        reply = said(out)
    assert "the first thing i kept" in reply and "oldest entry" in reply
    assert any(w in reply for w in ("this morning", "this afternoon", "this evening", "last night"))
