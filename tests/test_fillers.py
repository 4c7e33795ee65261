"""Fillers: "um", "well...", "let me think". They ask for nothing, so Steady says nothing
and keeps waiting for whatever it asked; they never take a request's place."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from assistant.app import App
from assistant.clock import MonotonicClock
from assistant.config import Settings
from assistant.dialog import Dialog, Mode
from assistant.intents import FILLER
from assistant.matcher import IntentMatcher
from assistant.output import PrintedOutput
from assistant.stt import Transcript
from assistant.understand import grammar_phrases, match_transcript


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return App.load(Settings(time_scale=0.02), str(tmp_path_factory.mktemp("home")))


def talk(app: App) -> tuple[Dialog, io.StringIO]:
    out = io.StringIO()
    return app.dialog(PrintedOutput(out), MonotonicClock(), asynchronous=False), out


@pytest.mark.parametrize(
    "text",
    ["um", "Hmm...", "uh, erm", "well", "so", "oh my god", "whatever", "let me think",
     "hmm let me see", "good question", "wow"],
)  # fmt: skip
def test_a_filler_is_a_filler(matcher: IntentMatcher, text: str) -> None:
    m = matcher.match(text)
    assert m.intent == FILLER and m.confidence == 1.0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("oh my god i'm panicking", "panic"),
        ("well i feel anxious", "anxious"),
        ("um i can't sleep", "sleep"),
        ("so anxious", "anxious"),
        ("okay", "yes"),
        ("right", "yes"),
        ("huh", "repeat"),
        ("well bye", "goodbye"),
        ("hold on let me think", "pause"),
        ("", "unknown"),
        ("purple elephants dancing on the moon", "unknown"),
    ],
)
def test_fillers_count_only_word_for_word(matcher: IntentMatcher, text: str, intent: str) -> None:
    m = matcher.match(text)
    assert m.intent == intent
    assert m.guess != FILLER


def test_fillers_stay_out_of_the_grammar(matcher: IntentMatcher) -> None:
    # "oh" among the grammar's sentences would be heard in place of "no".
    phrases = set(grammar_phrases(matcher))
    assert "whatever" not in phrases and "oh" not in phrases
    assert "no" in phrases


def test_a_request_heard_by_either_pass_wins_over_a_filler(matcher: IntentMatcher) -> None:
    m = match_transcript(matcher, Transcript("no", open_text="oh"))
    assert "no" in (m.intent, m.guess)  # taken, or asked about: never dropped as a filler
    heard = Transcript("i feel anxious", open_text="i am")
    assert match_transcript(matcher, heard).intent == "anxious"
    # Even one only half matched ("oh my dog", sad at 0.8): a missed "stop" costs more
    # than acting on a filler.
    heard = Transcript("oh my dog", open_text="oh my god")
    assert match_transcript(matcher, heard).intent != FILLER


def test_a_filler_heard_exactly_wins_over_a_did_you_mean(matcher: IntentMatcher) -> None:
    heard = Transcript("something about breathing maybe", open_text="whatever")
    assert match_transcript(matcher, heard).intent == FILLER


def test_an_exact_runner_up_still_overrules_a_filler(matcher: IntentMatcher) -> None:
    # "help" in noise: "hell" from the grammar pass, "well" from the open pass.
    heard = Transcript("hell", open_text="well", alternatives=("help", "hello"))
    assert match_transcript(matcher, heard).intent == "help"


def test_nothing_is_said_after_a_filler(app: App) -> None:
    d, out = talk(app)
    for text in ("um", "well", "let me think", "oh my god"):
        d.hear(text)
    assert out.getvalue() == ""
    assert d.mode is Mode.IDLE
    # Fillers are not failures to understand: the next miss is the first.
    d.hear("purple elephants dancing on the moon")
    assert "trouble understanding" not in out.getvalue()


def test_a_question_waits_through_a_filler(app: App) -> None:
    d, out = talk(app)
    d.hear("i feel anxious")
    assert d.mode is Mode.RATE_BEFORE
    asked = out.getvalue()
    d.hear("hmm let me think")
    assert d.mode is Mode.RATE_BEFORE and out.getvalue() == asked
    d.hear("about a six")
    assert d.mode is Mode.OFFER
    d.hear("well")
    assert d.mode is Mode.OFFER
    d.hear("yes")
    assert d.mode is Mode.EXERCISE
    d.close()


def test_a_did_you_mean_waits_through_a_filler(app: App) -> None:
    d, _ = talk(app)
    m = d.hear("something about breathing maybe")
    assert m.intent == "unknown" and m.guess == "breathe" and d.mode is Mode.CONFIRM
    d.hear("um")
    assert d.mode is Mode.CONFIRM
    d.hear("yes")
    assert d.mode is Mode.EXERCISE
    d.close()


def test_a_filler_is_kept_in_a_journal_entry(tmp_path: Path) -> None:
    app = App.load(Settings(time_scale=0.02), str(tmp_path))
    d, _ = talk(app)
    d.hear("start my journal")
    assert d.mode is Mode.JOURNAL
    d.hear("well")
    assert d._draft is not None and "well" in d._draft.text
