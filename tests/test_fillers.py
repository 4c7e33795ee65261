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
from assistant.matcher import SMALL_WORDS_ONLY, IntentMatcher
from assistant.output import PrintedOutput
from assistant.stt import Transcript
from assistant.understand import build_matcher, grammar_phrases, match_transcript


@pytest.fixture(scope="module")
def matcher() -> IntentMatcher:
    return build_matcher()


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


def test_small_words_alone_are_a_weak_filler(matcher: IntentMatcher) -> None:
    # A sentence begun and not finished ("i'm...") or a sound heard as a small word.
    for text in ("i'm", "and the", "it is"):
        m = matcher.match(text)
        assert m.intent == FILLER and m.confidence == SMALL_WORDS_ONLY


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


def test_a_request_heard_well_wins_over_a_filler(matcher: IntentMatcher) -> None:
    m = match_transcript(matcher, Transcript("no", open_text="oh"))
    assert "no" in (m.intent, m.guess)  # taken, or asked about: never dropped as a filler
    heard = Transcript("i feel anxious", open_text="i am")
    assert match_transcript(matcher, heard).intent == "anxious"


def test_small_words_are_a_filler_only_when_nothing_else_was_understood(
    matcher: IntentMatcher,
) -> None:
    # A "did you mean" from the other reading is worth more than "i am".
    heard = Transcript("i am", open_text="something about breathing maybe")
    match = match_transcript(matcher, heard)
    assert match.intent == "unknown" and match.guess == "breathe"
    assert match_transcript(matcher, Transcript("i am", open_text="them")).intent == FILLER


def test_a_filler_heard_exactly_wins_over_a_half_match(matcher: IntentMatcher) -> None:
    # The grammar pass fits "oh my god" to Steady's sentences as "oh my dog" (sad, 0.8).
    heard = Transcript("oh my dog", open_text="oh my god")
    assert match_transcript(matcher, heard).intent == FILLER


def test_an_exact_runner_up_still_overrules_a_filler(matcher: IntentMatcher) -> None:
    # "help" in noise: "hell" from the grammar pass, "well" from the open pass.
    heard = Transcript("hell", open_text="well", alternatives=("help", "hello"))
    assert match_transcript(matcher, heard).intent == "help"
    heard = Transcript("and", open_text="and", alternatives=("stop",))
    assert match_transcript(matcher, heard).intent == "stop"
    # ...but "oh boy" with "bye" somewhere in the n-best list only asks about goodbye.
    match = match_transcript(matcher, Transcript("a by", open_text="oh boy", alternatives=("bye",)))
    assert match.intent == "unknown" and match.guess == "goodbye"


def test_nothing_is_said_after_a_filler(app: App) -> None:
    d, out = talk(app)
    for text in ("um", "well", "let me think", "i'm"):
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
