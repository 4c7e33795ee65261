"""Intent matching on text. The tuning set is what the matcher was tuned on, so it must
match nearly all of it; the held-out set is measured by bench/accuracy.py, not here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from assistant.intents import REQUIRED_INTENTS
from assistant.matcher import IntentMatcher, in_order
from assistant.stt import Transcript
from assistant.text import single_spaced, without_name
from assistant.understand import grammar_phrases, match_transcript

ROOT = Path(__file__).resolve().parent.parent
TUNE = yaml.safe_load((ROOT / "bench" / "phrases" / "tune_en.yaml").read_text())


def test_every_contract_intent_exists(matcher: IntentMatcher) -> None:
    assert set(REQUIRED_INTENTS) <= set(matcher.intents.names())


def test_tuning_set_accuracy(matcher: IntentMatcher) -> None:
    cases = [(i, p) for i, ps in TUNE["intents"].items() for p in ps]
    wrong = [(i, p, matcher.match(p).intent) for i, p in cases if matcher.match(p).intent != i]
    assert len(wrong) / len(cases) <= 0.03, wrong


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("stop", "stop"),
        ("okay stop", "stop"),
        ("pause", "pause"),
        ("keep going", "resume"),
        ("slower", "slower"),
        ("slow down please", "slower"),
        ("faster", "faster"),
        ("say that again", "repeat"),
        ("help", "help"),
        ("yes", "yes"),
        ("yeah sure", "yes"),
        ("no", "no"),
        ("goodbye", "goodbye"),
    ],
)
def test_short_controls(matcher: IntentMatcher, text: str, intent: str) -> None:
    assert matcher.match(text).intent == intent


def test_slots_come_out(matcher: IntentMatcher) -> None:
    m = matcher.match("let's do box breathing for five minutes")
    assert m.intent == "breathe" and m.slots == {"duration": 300}
    m = matcher.match("i feel anxious about a seven")
    assert m.intent == "anxious" and m.slots == {"rating": 7}


def test_contractions_and_fillers_do_not_matter(matcher: IntentMatcher) -> None:
    assert matcher.match("um I'm so ANXIOUS").intent == "anxious"
    assert matcher.match("i cant sleep").intent == "sleep"


@pytest.mark.parametrize("text", TUNE["intents"]["unknown"])
def test_out_of_domain_is_unknown(matcher: IntentMatcher, text: str) -> None:
    assert matcher.match(text).intent == "unknown"


def test_near_miss_asks_rather_than_guesses(matcher: IntentMatcher) -> None:
    m = matcher.match("i'm kind of jittery and uneasy today")
    assert m.intent in {"anxious", "unknown"}
    if m.intent == "unknown":
        assert m.guess is None or m.guess == "anxious"


def test_empty_text_is_unknown(matcher: IntentMatcher) -> None:
    m = matcher.match("   ")
    assert m.intent == "unknown" and m.confidence == 0.0


def test_json_shape(matcher: IntentMatcher) -> None:
    assert set(matcher.match("i feel sad").as_json()) == {"text", "intent", "confidence", "slots"}


def test_a_word_votes_for_the_intents_that_use_it_most() -> None:
    from assistant.matcher import STOP_WORDS
    from assistant.word_model import WordModel

    sentences = ["tense my muscles", "relax the muscles", "muscles first", "scan my body"]
    owners = ["relax_muscles", "relax_muscles", "body_scan", "body_scan"]
    lean = WordModel(sentences, owners, STOP_WORDS).leanings
    assert lean["tense"] == {"relax_muscles": 1.0}
    # relax_muscles uses "muscles" in 2 of its 5 content words, body_scan in 1 of 4.
    assert lean["muscles"]["relax_muscles"] > lean["muscles"]["body_scan"]
    assert sum(lean["muscles"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i need to unwind these tight muscles", "relax_muscles"),
        ("i feel like i'm juggling a million things and dropping all of them", "overwhelmed"),
        ("oh god oh god i can't do this my heart", "panic"),
    ],
)
def test_telling_words_carry_an_unusual_phrasing(
    matcher: IntentMatcher, text: str, intent: str
) -> None:
    assert matcher.match(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hey steady i feel really anxious", "anxious"),
        ("steady stop", "stop"),
        ("okay steady pause", "pause"),
        ("steady can you ground me", "ground"),
        ("yes steady", "yes"),
        ("bye steady", "goodbye"),
        ("thank you steady goodbye", "goodbye"),
        ("help me steady my breathing", "breathe"),
    ],
)
def test_steadys_name_only_addresses_it(matcher: IntentMatcher, text: str, intent: str) -> None:
    assert matcher.match(text).intent == intent


def test_the_name_stays_where_it_is_a_word_of_the_request() -> None:
    assert without_name("hey steady i feel anxious") == "hey i feel anxious"
    assert without_name("no thanks steady") == "no thanks"
    assert without_name("help me steady my breathing") == "help me steady my breathing"
    assert without_name("keep it steady") == "keep it steady"
    assert without_name("steady") == "steady"


def test_the_name_joins_the_grammar(matcher: IntentMatcher) -> None:
    phrases = set(grammar_phrases(matcher))
    assert {"hey steady", "bye steady", "steady"} <= phrases


def test_a_contained_example_counts_only_with_its_words_in_order(
    matcher: IntentMatcher,
) -> None:
    # "that is everything" (goodbye) has all its words in this sentence, but not in
    # its order; ending the session here would cut a journal entry short.
    assert matcher.match("let me dump everything that's in my head").intent != "goodbye"
    # In order, with other words between them, an example still counts.
    assert matcher.match("i feel so anxious about work and everything").intent == "anxious"


def test_in_order_share() -> None:
    assert in_order("that is everything", "let me dump everything that is in my head") == (
        pytest.approx(2 / 3)
    )
    assert in_order("i feel anxious", "i feel so anxious about work") == 1.0
    assert in_order("a b c", "c b a") == pytest.approx(1 / 3)
    assert in_order("x y", "nothing shared") == 1.0


def test_a_word_said_while_thinking_does_not_end_the_session(matcher: IntentMatcher) -> None:
    # "well" is a word only goodbye's examples use ("well bye"); alone it is not a goodbye.
    assert matcher.match("well").intent != "goodbye"
    assert matcher.match("well bye").intent == "goodbye"


@pytest.mark.parametrize(
    "text",
    [
        "set a timer for twenty minutes",
        "what's the weather like this weekend",
        "turn the heating up please",
        "play my playlist",
        "how far is it to the station",
        "remind me to pay the gas bill",
        "what's on my calendar tomorrow",
    ],
)
def test_a_request_steady_does_not_handle_is_understood_as_such(
    matcher: IntentMatcher, text: str
) -> None:
    m = matcher.match(text)
    assert (m.intent, m.out_of_scope, m.guess) == ("unknown", True, None), m
    assert m.as_json()["intent"] == "unknown"  # the command-line contract knows no more


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("stop the timer", "stop"),
        ("cancel the timer", "stop"),
        ("set a timer for five minutes of breathing", "breathe"),
        ("i'm worried about the weather", "anxious"),
        ("i can't sleep it's three am", "sleep"),
        ("turn it off", "stop"),
    ],
)
def test_steadys_own_requests_win_over_look_alikes_it_does_not_handle(
    matcher: IntentMatcher, text: str, intent: str
) -> None:
    m = matcher.match(text)
    assert (m.intent, m.out_of_scope) == (intent, False), m


def test_requests_steady_does_not_handle_stay_out_of_the_grammar(matcher: IntentMatcher) -> None:
    phrases = set(grammar_phrases(matcher))
    assert "what's the weather" not in phrases and "set a timer" not in phrases
    assert "stop the timer" in phrases


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("help me", "help"),
        ("please help me", "help"),  # not "please help me sleep"
        ("can you help me", "help"),
        ("help me sleep", "sleep"),
        ("help me breathe", "breathe"),
        ("i need help", "reach_out"),
    ],
)
def test_a_bare_plea_for_help_is_answered(matcher: IntentMatcher, text: str, intent: str) -> None:
    assert matcher.match(text).intent == intent


def test_a_command_inside_a_longer_sentence_is_not_that_command(matcher: IntentMatcher) -> None:
    # "won't stop" is not a stop, "let go" not a yes.
    assert matcher.match("my mind won't stop going over all the what ifs").intent != "stop"
    assert matcher.match("the squeeze and let go exercise").intent == "relax_muscles"
    # Said with a few words around it, a command is still one.
    for text, intent in (
        ("okay i think we can stop now please", "stop"),
        ("can we please go a little bit slower", "slower"),
        ("no thank you not right now", "no"),
    ):
        assert matcher.match(text).intent == intent, text


@pytest.mark.parametrize(
    "text",
    ["help me calm down", "i need to calm down", "can you help me calm down", "calm me down"],
)
def test_asking_to_be_calmed_starts_slow_breathing(matcher: IntentMatcher, text: str) -> None:
    assert matcher.match(text).intent == "breathe"


def test_a_feeling_beside_a_request_to_calm_down_is_not_mistaken(matcher: IntentMatcher) -> None:
    assert matcher.match("i need to calm down i am so angry").intent == "angry"
    assert matcher.match("i can't calm down").intent == "anxious"


def test_a_longer_example_holding_a_tied_one_explains_more(matcher: IntentMatcher) -> None:
    # "i need to calm down" (breathe) and "i need to calm down before i say something"
    # (angry) are both contained; the longer one accounts for more of what was said.
    match = matcher.match("i need to calm down before i say something i regret")
    assert match.intent == "angry"


def test_a_nouns_is_is_read_as_a_word(matcher: IntentMatcher) -> None:
    assert matcher.match("my anxiety's been really bad this week").intent == "anxious"


def test_a_sentence_in_an_intents_own_words_is_taken(matcher: IntentMatcher) -> None:
    # Unlike any one example, but "calms", "usually" and "ratings" are the toolbox's.
    text = "what usually calms me down based on my ratings"
    assert matcher.match(text).intent == "toolbox"
    # The recognizer's grammar pass puts any speech into Steady's words: there the same
    # sentence is only a "did you mean".
    strict = matcher.match(text, free_words=False)
    assert (strict.intent, strict.guess) == ("unknown", "toolbox")


def test_words_alone_never_take_a_weak_match(matcher: IntentMatcher) -> None:
    # The words as a whole are a second opinion on the closest sentence, not a first one.
    assert matcher.match("how many i'm see mommy the cop").intent == "unknown"


def test_only_free_speech_is_read_for_its_words(matcher: IntentMatcher) -> None:
    text = "what usually calms me down based on my ratings"
    # Typed, or heard by the open-vocabulary pass: taken.
    assert match_transcript(matcher, Transcript(text)).intent == "toolbox"
    heard = Transcript("what usually calm me go recording to my ratings", open_text=text)
    assert match_transcript(matcher, replace(heard, from_grammar=True)).intent == "toolbox"
    # Only the grammar pass heard it: asked about.
    alone = match_transcript(matcher, Transcript(text, from_grammar=True))
    assert (alone.intent, alone.guess) == ("unknown", "toolbox")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i feel anxious can you help me breathe", "breathe"),
        ("i'm freaking out can we breathe together", "breathe"),
        ("i feel overwhelmed can you ground me", "ground"),
        ("ground me please i feel all over the place", "ground"),
        ("i'm so wound up can we do a body scan", "body_scan"),
        ("remind me what worked when i couldn't sleep last week", "toolbox"),
    ],
)
def test_a_practice_asked_for_beside_a_feeling_is_what_is_done(
    matcher: IntentMatcher, text: str, intent: str
) -> None:
    assert matcher.match(text).intent == intent


def test_a_state_a_practice_answers_is_not_a_request_for_it(matcher: IntentMatcher) -> None:
    # "everything feels unreal" is a sign grounding helps with, said as a feeling: it
    # does not outweigh losing control the way "can you ground me" would.
    assert matcher.match("um i think i'm losing control everything feels unreal").intent == "panic"
    # A practice's words said with "not" before them are no request for it.
    seething = "now i'm seething and i don't wanna say something i'll regret"
    assert matcher.match(seething).intent == "angry"
    # Alone, the feeling and the request keep their own intents.
    assert matcher.match("i feel anxious").intent == "anxious"
    assert matcher.match("can you help me").intent == "help"


@pytest.mark.parametrize(
    ("grammar", "heard", "intent"),
    [
        # The open pass lost the request ("freedom thing"), the grammar pass heard both.
        (
            "i'm so tense tonight can we do that breathing thing",
            "i'm so tense tonight can we do that freedom thing",
            "breathe",
        ),
        # And the other way round: the open pass heard both, the grammar pass the feeling.
        (
            "i feel overwhelmed can you ground the",
            "i feel overwhelmed can you ground me",
            "ground",
        ),
    ],
)
def test_the_reading_that_heard_the_request_beside_the_feeling_wins(
    matcher: IntentMatcher, grammar: str, heard: str, intent: str
) -> None:
    both = Transcript(grammar, open_text=heard, from_grammar=True)
    assert match_transcript(matcher, both).intent == intent


def test_a_practice_not_asked_for_does_not_outweigh_the_feeling(matcher: IntentMatcher) -> None:
    # The practice's words after "not", or a reading that lost the feeling, leave the
    # feeling the other reading heard.
    negated = Transcript(
        "i'm so tense i don't want to do the breathing thing",
        open_text="i'm so tense i don't want to do the freedom thing",
        from_grammar=True,
    )
    assert match_transcript(matcher, negated).intent != "breathe"


def test_a_sentence_already_single_spaced_is_kept_not_copied() -> None:
    plain = "i feel anxious about " + "work"  # built at run time, so not a shared constant
    assert single_spaced(plain) is plain
    assert single_spaced("  i feel   anxious ") == "i feel anxious"
