"""Distress ratings in the conversation: asked before and after, read from many
spoken forms, reported neutrally, and used to suggest what helped this person."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.app import App
from assistant.clock import MonotonicClock, VirtualClock
from assistant.config import Settings
from assistant.dialog import Dialog, Mode
from assistant.journaling import JOURNAL_PAUSE
from assistant.output import PrintedOutput
from assistant.ratings import felt_change, read_rating


@dataclass(frozen=True)
class Row:
    id: int
    feeling: str | None
    before: int | None = None
    after: int | None = None
    exercise: str | None = None
    minutes: float | None = None
    started: datetime = field(default_factory=datetime.now)


@dataclass(frozen=True)
class Stat:
    exercise: str
    mean_drop: float
    times: int
    last_used: datetime


class MemoryLog:
    """Sessions in a list: the dialog's logic without a database."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def start_session(self, feeling: str | None, before: int | None = None) -> int:
        self.rows.append(Row(len(self.rows) + 1, feeling, before))
        return len(self.rows)

    def update_session(self, session_id: int, **fields: object) -> None:
        i = session_id - 1
        self.rows[i] = replace(self.rows[i], **{k: v for k, v in fields.items() if v is not None})  # type: ignore[arg-type]

    def _rated(self, feeling: str | None) -> list[Row]:
        return [
            r
            for r in self.rows
            if r.before is not None and r.after is not None and r.exercise
            and (feeling is None or r.feeling == feeling)
        ]  # fmt: skip

    def tool_stats(self, feeling: str | None = None) -> Sequence[Stat]:
        by: dict[str, list[Row]] = {}
        for r in self._rated(feeling):
            assert r.exercise is not None
            by.setdefault(r.exercise, []).append(r)
        stats = [
            Stat(ex, sum((r.before or 0) - (r.after or 0) for r in rows) / len(rows), len(rows),
                 rows[-1].started)
            for ex, rows in by.items()
        ]  # fmt: skip
        return sorted(stats, key=lambda s: s.mean_drop, reverse=True)

    def rated_count(self, feeling: str | None = None) -> int:
        return len(self._rated(feeling))

    def last_session(self, with_exercise: bool = True) -> Row | None:
        rows = [r for r in self.rows if r.exercise or not with_exercise]
        return rows[-1] if rows else None


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return App.load(Settings(time_scale=0.002), str(tmp_path_factory.mktemp("home")))


def talk(app: App, log: MemoryLog) -> tuple[Dialog, io.StringIO]:
    out = io.StringIO()
    d = app.dialog(PrintedOutput(out), MonotonicClock(), asynchronous=False)
    d.history = log
    return d, out


def finish(d: Dialog) -> None:
    assert d.runner is not None
    d.runner.join(timeout=20)
    deadline = time.monotonic() + 5
    while d.mode is Mode.EXERCISE and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("said", "rating"),
    [
        ("seven", 7), ("a seven", 7), ("about six", 6), ("eight out of ten", 8), ("ten", 10),
        ("zero", 0), ("maybe a four", 4), ("i'd say it's a five", 5), ("6", 6),
        ("six or seven", 7), ("it's like a nine right now", 9), ("for", 4), ("to", 2),
        ("skip", None), ("i don't know", None), ("banana", None), ("twenty", None),
    ],
)  # fmt: skip
def test_read_rating_spoken_forms(said: str, rating: int | None) -> None:
    assert read_rating(said, {}) == rating


def test_before_and_after_are_asked_and_recorded(app: App) -> None:
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("i feel anxious")
    assert d.mode is Mode.RATE_BEFORE and "zero to ten" in out.getvalue()
    d.hear("seven")
    assert d.mode is Mode.OFFER
    d.hear("yes")
    finish(d)
    assert d.mode is Mode.RATE_AFTER
    d.hear("about a three")
    assert "from 7 to 3" in out.getvalue()
    [row] = log.rows
    assert (row.feeling, row.before, row.after, row.exercise) == ("anxious", 7, 3, "box")
    assert row.minutes is not None and row.minutes > 0
    d.close()


def test_a_rating_given_up_front_is_not_asked_again(app: App) -> None:
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("i feel anxious, about a seven")
    assert d.mode is Mode.OFFER and "zero to ten" not in out.getvalue()
    assert log.rows[0].before == 7


def test_asks_once_more_then_goes_on_without(app: App) -> None:
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("i'm so overwhelmed")
    d.hear("purple elephants")
    assert d.mode is Mode.RATE_BEFORE and "Just a number" in out.getvalue()
    d.hear("purple elephants again")
    assert d.mode is Mode.OFFER and log.rows[0].before is None


def test_skip_goes_straight_on(app: App) -> None:
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("i can't sleep")
    d.hear("skip")
    assert d.mode is Mode.OFFER and "without a number" in out.getvalue()


def test_another_request_instead_of_a_number_is_followed(app: App) -> None:
    log = MemoryLog()
    d, _ = talk(app, log)
    d.hear("i'm angry")
    d.hear("start grounding")
    assert d.mode is Mode.EXERCISE and d.runner is not None
    assert d.runner.exercise.id == "grounding"
    d.close()


def test_panic_is_not_asked_for_a_number(app: App) -> None:
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("i'm having a panic attack")
    assert d.mode is Mode.EXERCISE and "zero to ten" not in out.getvalue()
    d.close()


def test_stopping_early_still_asks_how_it_is_now(app: App) -> None:
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("i feel anxious about an eight")
    d.hear("yes")
    d.hear("stop")
    assert d.mode is Mode.RATE_AFTER
    d.hear("eight")
    assert "about where it was, at 8" in out.getvalue()
    assert log.rows[0].after == 8


def test_suggestion_prefers_what_helped_after_three_rated_sessions(app: App) -> None:
    log = MemoryLog()
    now = datetime.now()
    for i, (ex, before, after) in enumerate(
        [("box", 7, 6), ("resonance", 8, 3), ("resonance", 6, 2)]
    ):
        sid = log.start_session("anxious", before)
        log.update_session(sid, exercise=ex, after=after)
        log.rows[sid - 1] = replace(log.rows[sid - 1], started=now - timedelta(days=3 - i))
    d, out = talk(app, log)
    d.hear("i feel anxious about a six")
    assert "Slow breathing has helped you most" in out.getvalue()
    assert d._offers[0] == "resonance"


def test_two_rated_sessions_are_not_enough_to_personalise(app: App) -> None:
    log = MemoryLog()
    for ex in ("resonance", "resonance"):
        sid = log.start_session("anxious", 8)
        log.update_session(sid, exercise=ex, after=2)
    d, out = talk(app, log)
    d.hear("i feel anxious about a six")
    assert "helped you most" not in out.getvalue() and d._offers[0] == "box"


def test_toolbox_answers_from_the_persons_history(app: App) -> None:
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("what helped me last time")
    assert "haven't rated any sessions" in out.getvalue()
    for ex, before, after in [("box", 7, 3), ("box", 6, 3), ("resonance", 5, 4)]:
        sid = log.start_session("anxious", before)
        log.update_session(sid, exercise=ex, after=after)
    d.hear("what helped me last time")
    said = out.getvalue()
    assert "Box breathing has helped you most" in said or "box breathing has helped" in said
    assert "3.5 points" in said and "twice" in said and "Last time, you did" in said


def test_toolbox_without_history(tmp_path: Path) -> None:
    app = App.load(Settings(), str(tmp_path))
    out = io.StringIO()
    d = app.dialog(PrintedOutput(out), MonotonicClock(), asynchronous=False)
    d.history = None
    d.hear("what helped me last time")
    assert "haven't rated any sessions" in out.getvalue()


@dataclass(frozen=True)
class Entry:
    created: datetime
    text: str


class MemoryJournal:
    def __init__(self) -> None:
        self.entries: list[tuple[str, float]] = []

    def add_journal(self, text: str, seconds: float, audio_wav: bytes | None = None) -> int:
        self.entries.append((text, seconds))
        return len(self.entries)

    def journal(self) -> list[Entry]:
        return [Entry(datetime.now(timezone.utc), text) for text, _ in self.entries]


def journal_talk(app: App) -> tuple[Dialog, io.StringIO, MemoryJournal, VirtualClock]:
    out = io.StringIO()
    clock = VirtualClock()
    d = app.dialog(PrintedOutput(out), clock, asynchronous=False)
    book = MemoryJournal()
    d.journal = book
    return d, out, book, clock


def test_journal_entry_is_gathered_read_back_and_saved(app: App) -> None:
    d, out, book, clock = journal_talk(app)
    d.hear("i want to talk it out")
    assert d.mode is Mode.JOURNAL and "say I'm done" in out.getvalue()
    d.hear("work was really hard today")
    clock.advance(70)
    d.hear("and i stop feeling like i can keep up")  # "stop" inside a sentence is not a command
    assert d.mode is Mode.JOURNAL
    d.hear("that was my day i'm done")
    assert d.mode is Mode.JOURNAL_SAVE and "about a minute" in out.getvalue()
    d.hear("yes please")
    [(text, seconds)] = book.entries
    assert text.startswith("work was really hard today and i stop feeling")
    assert text.endswith("that was my day") and seconds == pytest.approx(70)


def test_journal_ends_after_a_long_pause_and_can_be_let_go(app: App) -> None:
    d, out, book, clock = journal_talk(app)
    d.hear("journal entry")
    d.hear("just a rough day")
    clock.advance(JOURNAL_PAUSE * app.settings.time_scale + 0.1)
    d.tick()
    assert d.mode is Mode.JOURNAL_SAVE
    d.hear("no")
    assert not book.entries and "let it go" in out.getvalue()


def test_crisis_inside_a_journal_entry_comes_first(app: App) -> None:
    d, out, book, _ = journal_talk(app)
    d.hear("i need to vent")
    d.hear("i want to kill myself")
    assert d.mode is Mode.CRISIS and not book.entries
    assert "automated program" in out.getvalue()


def test_scripted_chat_records_one_rated_session(tmp_path: Path) -> None:
    """The issue's own example, through the real command and the real store."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    home = tmp_path / "D"
    command = [sys.executable, "-m", "assistant", "chat", "--time-scale", "0.01"]
    proc = subprocess.Popen(
        [*command, "--data-dir", str(home)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None
    for line, pause in [("i feel anxious", 2), ("seven", 2), ("yes", 8), ("three", 2)]:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        time.sleep(pause)
    proc.stdin.write("goodbye\n")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "from 7 to 3" in out
    history = subprocess.run(
        [sys.executable, "-m", "assistant", "history", "--json", "--data-dir", str(home)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    [session] = json.loads(history.stdout)
    assert (session["feeling"], session["exercise"], session["before"], session["after"]) == (
        "anxious", "box", 7, 3,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "support"),
    [("seven", "three", None), ("nine", "two", "get this strong"), ("five", "five", "not easing"),
     ("four", "six", "not easing")],
)  # fmt: skip
def test_a_strong_or_unchanged_feeling_gets_support_and_another_tool(
    app: App, before: str, after: str, support: str | None
) -> None:
    # CONTENT.md: if before was 8 or more, or nothing changed, offer another tool and
    # the support options.
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear(f"i feel anxious, about a {before}")
    d.hear("yes")
    finish(d)
    d.hear(after)
    said = out.getvalue()
    if support is None:
        assert "talking to someone" not in said and d.mode is Mode.IDLE
    else:
        assert support in said and "nine eight eight" in said
        assert d.mode is Mode.OFFER and "box" not in d._offers[0]
        assert "we could also try cyclic sighing" in said
    d.close()


@pytest.mark.parametrize(
    ("text", "felt"),
    [("i feel better now", "better"), ("a lot calmer thanks", "better"),
     ("i'm okay now", "better"), ("less anxious", "better"), ("worse honestly", "worse"),
     ("a bit more on edge", "worse"), ("about the same", "same"),
     ("not really any different", "same"), ("not much better", "same"),
     ("it didn't really help", "same"), ("not worse", "same"),
     ("thanks i feel better now bye", None), ("seven", None), ("no", None),
     ("i don't know", None), ("start box breathing", None)],
)  # fmt: skip
def test_how_it_went_in_words(text: str, felt: str | None) -> None:
    assert felt_change(text) == felt


@pytest.mark.parametrize(
    ("answer", "asked", "then", "said_after"),
    [("i feel better now", "glad it's eased", "three", "from 6 to 3"),
     ("i feel better now", "glad it's eased", "skip", "Thank you. We can try another"),
     ("not really any different", "doesn't always shift", "skip", "nine eight eight"),
     ("worse if anything", "sorry it feels worse", "skip", "nine eight eight")],
)  # fmt: skip
def test_an_answer_in_words_after_an_exercise_is_not_a_goodbye(
    app: App, answer: str, asked: str, then: str, said_after: str
) -> None:
    # "i feel better now" is also a way to say goodbye; asked how strong the feeling is
    # now, it is an answer: Steady asks once for the number, in words that fit.
    log = MemoryLog()
    d, out = talk(app, log)
    d.hear("i feel anxious, about a six")
    d.hear("yes")
    finish(d)
    d.hear(answer)
    assert asked in out.getvalue() and not d.done and d.mode is Mode.RATE_AFTER
    d.hear(then)
    assert said_after in out.getvalue() and not d.done
    assert log.rows[0].after == (3 if then == "three" else None)
    d.close()


def test_a_goodbye_with_the_answer_still_ends(app: App) -> None:
    d, _ = talk(app, MemoryLog())
    d.hear("i feel anxious, about a six")
    d.hear("yes")
    finish(d)
    d.hear("thanks i feel better now bye")
    assert d.done
    d.close()
