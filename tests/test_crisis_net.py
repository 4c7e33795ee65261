"""The crisis net for heard speech: a misheard crisis statement still gets the crisis
reply (opening with "I may have heard you wrong"), while look-alike everyday speech and
figurative speech do not; and the matcher's use of two readings that agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.crisis_net import build_cues, load_crisis
from assistant.errors import DataFileError
from assistant.matcher import IntentMatcher
from assistant.paths import intents_dir
from assistant.replies import Replies
from assistant.safety import Locale, crisis_reply
from assistant.stt import Transcript
from assistant.understand import match_transcript

# Recognizer-style mishearings of crisis statements (written for this test: each keeps
# the shape of the statement with a letter or two wrong, the way Vosk errs).
MISHEARD = [
    ("i swallowed way too many bills", "i swallowed way too many bills at once"),
    ("i've been hurting my shelf again", "i've been hurting myself again"),
    ("i keep thinking about killing my self", "i keep thinking about kidding myself"),
    ("everyone would be better off without be", "everyone would be better off without me"),
    ("i'm saving up my bills for the weekend", "i am saving up my pills for the weekend"),
]

LOOK_ALIKES = [
    "this traffic is killing me",
    "my feet are killing me",
    "i want to try the four seven eight breathing",
    "i want to do a ten minute body scan",
    "i just want to scream",
    "i paid all my bills on time",
    "i have too many bills to pay",
    "i'm saving up for a new bike",
    "i keep thinking about my grandmother",
    "i'm hurting all over after the gym",
    "i wrote a note to remind myself to buy milk",
    # Near "when i'm gone" and "take them all" in letters, everyday in meaning.
    "i get anxious when i'm alone",
    "i cry when i'm on my own",
    "what do i do when i'm done",
    "after i'm done with work i just crash",
    "i need to make them all happy",
]


@pytest.mark.parametrize(("grammar", "open_text"), MISHEARD)
def test_a_misheard_crisis_statement_still_gets_the_crisis_reply(
    matcher: IntentMatcher, grammar: str, open_text: str
) -> None:
    match = match_transcript(matcher, Transcript(grammar, open_text=open_text))
    assert match.intent == "crisis"
    assert match.crisis is not None


def test_net_findings_are_marked_unsure(matcher: IntentMatcher) -> None:
    match = match_transcript(matcher, Transcript("i swallowed way too many bills"))
    assert match.crisis is not None and match.crisis.unsure
    exact = match_transcript(matcher, Transcript("i swallowed way too many pills"))
    assert exact.crisis is not None and not exact.crisis.unsure


def test_a_crisis_statement_heard_only_as_a_runner_up_still_counts(
    matcher: IntentMatcher,
) -> None:
    # In noise the words really said are often only the recognizer's third guess.
    heard = Transcript(
        "my partner is sleep",
        open_text="my partner to sleep",
        alternatives=("my partner is sleepy", "my partner hits me"),
    )
    match = match_transcript(matcher, heard)
    assert match.intent == "crisis"
    assert match.crisis is not None and match.crisis.unsure


def test_runner_ups_do_not_overrule_figurative_speech(matcher: IntentMatcher) -> None:
    heard = Transcript(
        "my boss is going to kill me if i'm late",
        open_text="my boss is going to kill me if i'm late",
        alternatives=("my mom is going to kill me if i'm late",),
    )
    assert match_transcript(matcher, heard).intent != "crisis"


@pytest.mark.parametrize(
    ("grammar", "open_text"),
    [
        ("i tied a rope to the most", "i tied a rope to the boat"),
        ("i use the gloomy gun for my crushed project", "i use the glue gun for my craft project"),
        ("i am still learn i'm the rope sad work", "i'm still learning the ropes at work"),
    ],
)
def test_a_risky_word_one_pass_heard_figuratively_is_not_a_crisis(
    matcher: IntentMatcher, grammar: str, open_text: str
) -> None:
    # The grammar pass lost the words that made the sentence harmless; the open pass
    # heard them, around the same risky word.
    assert matcher.crisis.check(grammar) is not None
    assert match_transcript(matcher, Transcript(grammar, open_text=open_text)).intent != "crisis"


def test_a_crisis_beside_figurative_speech_still_counts(matcher: IntentMatcher) -> None:
    # The figurative phrase explains "killing", not "want to die".
    heard = Transcript(
        "this traffic is killing me and i want to die",
        open_text="this traffic is killing me and i want to dine",
    )
    match = match_transcript(matcher, heard)
    assert match.intent == "crisis"
    assert match.crisis is not None and not match.crisis.unsure


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_a_crisis(matcher: IntentMatcher, text: str) -> None:
    assert match_transcript(matcher, Transcript(text, open_text=text)).intent != "crisis"


def test_a_cue_needs_its_telling_words(matcher: IntentMatcher) -> None:
    assert matcher.net is not None
    # "killing me" is close in letters to "killing myself" but lacks the telling word.
    assert matcher.net.check(["they are killing me with this homework"]) is None
    assert matcher.net.check(["i keep thinking about killing my shelf"]) is not None


def test_unsure_reply_says_it_may_have_misheard(matcher: IntentMatcher) -> None:
    folder = intents_dir()
    replies = Replies.from_yaml(folder / "replies" / "en" / "replies.yaml")
    locale = Locale.load(folder / "locales", "US")
    match = match_transcript(matcher, Transcript("i swallowed way too many bills"))
    assert match.crisis is not None
    lines = crisis_reply(match.crisis, locale, replies, [])
    assert "heard you wrong" in lines[0]
    assert any("988" in line or "nine eight eight" in line for line in lines)


def test_short_or_unknown_cues_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="shorter"):
        build_cues({"explicit": ["die now"]}, tmp_path)
    with pytest.raises(DataFileError, match="telling"):
        build_cues({"explicit": ["and it is all of this"]}, tmp_path)
    with pytest.raises(DataFileError, match="not one of"):
        build_cues({"nonsense": ["kill myself please"]}, tmp_path)


def test_a_rules_file_without_a_net_has_none(tmp_path: Path) -> None:
    path = tmp_path / "crisis.yaml"
    path.write_text('language: en\ncategories:\n  explicit:\n    - "\\\\bsuicide\\\\b"\n')
    assert load_crisis(path)[1] is None


def test_two_readings_that_half_match_the_same_intent_agree(matcher: IntentMatcher) -> None:
    # Neither reading alone is sure enough; together they point to the same intent.
    match = match_transcript(matcher, Transcript("slow dine", open_text="slow the"))
    assert match.intent == "slower"


def test_one_text_heard_by_both_passes_is_one_opinion(matcher: IntentMatcher) -> None:
    # Both passes heard "what day": that is not two votes for its weak guess.
    for text, guess in (("what day", "journal"), ("slow it", "slower")):
        match = match_transcript(matcher, Transcript(text, open_text=text))
        assert match.intent == "unknown" and match.guess == guess


def test_an_exact_stop_is_taken_even_when_the_other_pass_disagrees(
    matcher: IntentMatcher,
) -> None:
    assert match_transcript(matcher, Transcript("stop", open_text="stuff")).intent == "stop"
    # Other intents heard exactly by one pass only still ask.
    heard = Transcript("i feel anxious", open_text="what a lovely day")
    asked = match_transcript(matcher, heard)
    assert asked.intent == "unknown" and asked.guess == "anxious"


def test_an_exact_open_reading_beats_a_garbled_grammar_reading(matcher: IntentMatcher) -> None:
    match = match_transcript(matcher, Transcript("way too sec", open_text="wait a sec"))
    assert match.intent == "pause"


def test_a_grammar_reading_its_runners_up_agree_with_is_taken(matcher: IntentMatcher) -> None:
    # In noise the open reading turns to nonsense while the grammar heard the request.
    heard = Transcript(
        "muscle relaxation",
        open_text="sorry like station",
        alternatives=(
            "muscle relaxation please",
            "start muscle relaxation",
            "muscle relaxation now",
        ),
    )
    assert match_transcript(matcher, heard).intent == "relax_muscles"


def test_a_grammar_reading_with_scattered_runners_up_still_asks(matcher: IntentMatcher) -> None:
    # Unknown speech forced into Steady's sentences comes back as unrelated sentences.
    heard = Transcript(
        "muscle relaxation",
        open_text="sorry like station",
        alternatives=("turn off the lights", "what is the weather", "play some music"),
    )
    match = match_transcript(matcher, heard)
    assert match.intent == "unknown"
    assert match.guess == "relax_muscles"


def test_readings_as_sure_of_different_intents_are_weighed_by_each_other(
    matcher: IntentMatcher,
) -> None:
    # Each reading matches an example as well as the other. The grammar's "journal" is
    # "jaw all" misheard: its reading still resembles clenched muscles more than the
    # open reading resembles a journal request.
    heard = Transcript(
        "i am clenching my journal the time", open_text="i am clenching my jaw all the time"
    )
    assert match_transcript(matcher, heard).intent == "relax_muscles"


def test_an_exact_stop_wins_a_tie_with_another_exact_example(matcher: IntentMatcher) -> None:
    heard = Transcript("i want to sob", open_text="i want to stop")
    assert match_transcript(matcher, heard).intent == "stop"
    # The other way round too: which pass heard it does not matter.
    heard = Transcript("i want to stop", open_text="i want to sob")
    assert match_transcript(matcher, heard).intent == "stop"


def test_a_whole_sentence_among_the_runners_up_beats_a_reading_not_understood(
    matcher: IntentMatcher,
) -> None:
    heard = Transcript("time", open_text="staff", alternatives=("stop", "time out"))
    assert match_transcript(matcher, heard).intent == "stop"
    heard = Transcript(
        "i feel me the middle", open_text="i feel me the middle", alternatives=("i feel miserable",)
    )
    assert match_transcript(matcher, heard).intent == "sad"


def test_a_reading_understood_well_is_not_overruled_by_a_runner_up(
    matcher: IntentMatcher,
) -> None:
    heard = Transcript("i feel anxious", open_text="i feel anxious", alternatives=("i feel sad",))
    assert match_transcript(matcher, heard).intent == "anxious"


def test_runner_ups_do_not_overrule_a_plainly_heard_request_steady_does_not_handle(
    matcher: IntentMatcher,
) -> None:
    # The grammar pass forces "how tall is mount everest" into Steady's words, and one
    # of its guesses holds a crisis word; the open pass heard the question as it was.
    runners = ("out all his mouth have rest", "out all his mouth overdosed")
    heard = Transcript(
        "out all his mouth have rest", open_text="how tall is mount everest", alternatives=runners
    )
    match = match_transcript(matcher, heard)
    assert (match.intent, match.out_of_scope) == ("unknown", True)
    # Without that plain reading the guess still counts, as it always did.
    unclear = Transcript(
        "out all his mouth have rest", open_text="out all his", alternatives=runners
    )
    assert match_transcript(matcher, unclear).intent == "crisis"
    # And a crisis statement in a best reading is never set aside.
    said = Transcript("i took too many pills", open_text="how tall is mount everest")
    assert match_transcript(matcher, said).intent == "crisis"


def test_a_crisis_word_the_grammar_had_to_choose_is_set_aside_for_a_plain_request(
    matcher: IntentMatcher,
) -> None:
    # The grammar knows no "music" or "news": "play some music" comes back from it as
    # "play some noose", while the open pass heard the request word for word.
    for grammar, heard in [
        ("play some noose", "play some music"),
        ("read me the noose head line", "read me the news headlines"),
    ]:
        match = match_transcript(matcher, Transcript(grammar, open_text=heard))
        assert (match.intent, match.out_of_scope) == ("unknown", True), heard
    # It stands when more was said than the request, when the open reading holds a
    # warning sign of its own, when the readings share little, and when the sentence
    # may finish one before it.
    for grammar, heard in [
        ("set a timer i've got the pills ready", "set a timer i've got the bills ready"),
        ("play some noose i want to die", "play some music i want to die"),
        ("i bought a noose", "i bought the news"),
        ("i took too many pills", "play some music"),
    ]:
        said = Transcript(grammar, open_text=heard)
        assert match_transcript(matcher, said).intent == "crisis", heard
    after = Transcript(
        "play some noose", open_text="play some music", follows=("i've got the rope",)
    )
    assert match_transcript(matcher, after).intent == "crisis"


def test_a_sentence_heard_word_for_word_stands_when_the_other_pass_made_out_nothing(
    matcher: IntentMatcher,
) -> None:
    # The open pass turned "my nerves are shot" into nonsense; nothing else disputes it.
    heard = Transcript("my nerves are shot", open_text="my learn martial art")
    assert match_transcript(matcher, heard).intent == "anxious"
    # A request Steady does not handle, heard plainly, still disputes it.
    elsewhere = Transcript("my nerves are shot", open_text="set a timer for ten minutes")
    assert match_transcript(matcher, elsewhere).intent == "unknown"
