"""The conversation, typed: follow-ups without a wake word, offers, exercises steered
by voice, crisis first, and the honest replies for features still to come."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.app import App
from assistant.audio_in import ScriptedSource
from assistant.clock import MonotonicClock, VirtualClock
from assistant.config import Settings
from assistant.dialog import QUESTION_WAIT, Dialog, Mode
from assistant.output import PrintedOutput, TrackingOutput
from assistant.runtime import listen
from assistant.safety import Contact
from assistant.stt import Recognition, ScriptedSpeechToText, Transcript


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    home = tmp_path_factory.mktemp("home")
    return App.load(Settings(time_scale=0.02), str(home))


def talk(app: App, *, virtual: bool = False) -> tuple[Dialog, io.StringIO]:
    out = io.StringIO()
    clock = VirtualClock() if virtual else MonotonicClock()
    return app.dialog(PrintedOutput(out), clock, asynchronous=False), out


def wait_for(out: io.StringIO, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in out.getvalue():
        assert time.monotonic() < deadline, f"never said {text!r}: {out.getvalue()}"
        time.sleep(0.01)


def test_first_run_disclaimer_then_greeting(tmp_path: Path) -> None:
    app = App.load(Settings(), str(tmp_path))
    d, out = talk(app)
    d.begin()
    assert "not therapy" in out.getvalue() and "not a crisis service" in out.getvalue()
    d2 = app.dialog(PrintedOutput(out2 := io.StringIO()), MonotonicClock(), asynchronous=False)
    d2.begin()
    assert "not therapy" not in out2.getvalue()


def test_feeling_offer_yes_starts_and_stop_ends(app: App) -> None:
    d, out = talk(app)
    d.hear("i feel anxious")
    assert d.mode is Mode.RATE_BEFORE
    d.hear("six")
    assert d.mode is Mode.OFFER and "box breathing" in out.getvalue()
    d.hear("yes")
    assert d.mode is Mode.EXERCISE
    wait_for(out, "Breathe in")
    t0 = time.monotonic()
    d.hear("stop")
    assert d.runner is not None
    d.runner.join(timeout=1)
    assert not d.runner.active and time.monotonic() - t0 < 1.0
    assert "we'll stop there" in out.getvalue()
    assert d.mode is Mode.RATE_AFTER
    d.hear("four")
    assert "from 6 to 4" in out.getvalue() and d.mode is Mode.IDLE


def test_no_offers_the_next_exercise(app: App) -> None:
    d, out = talk(app)
    d.hear("i'm so overwhelmed, about a seven")
    d.hear("no")
    assert "How about box breathing instead?" in out.getvalue()
    d.hear("nope")
    assert "That's okay" in out.getvalue() and d.mode is Mode.IDLE


def test_panic_starts_the_panic_sequence_without_asking(app: App) -> None:
    d, out = talk(app)
    d.hear("i'm having a panic attack")
    assert d.mode is Mode.EXERCISE and d.runner is not None
    assert d.runner.exercise.id == "panic" and not d.runner.exercise.has_holds
    wait_for(out, "will pass")
    assert "zero to ten" not in out.getvalue()
    d.close()


def test_never_four_seven_eight_for_panic(app: App) -> None:
    for offer in app.suggestions["panic"].offer:
        assert not offer.startswith("4-7-8") and "box" not in offer


def test_controls_during_breathing(app: App) -> None:
    d, out = talk(app)
    d.hear("start box breathing")
    wait_for(out, "Breathe in")
    d.hear("slower")
    assert "A little slower." in out.getvalue()
    d.hear("pause")
    assert d.runner is not None and d.runner.state.value == "paused"
    d.hear("keep going")
    assert d.runner.state.value == "running"
    d.hear("faster")
    d.hear("i feel sad")  # a feeling mid-exercise does not derail it
    assert "middle of box breathing" in out.getvalue()
    d.hear("stop")
    assert d.mode is Mode.IDLE


def test_named_things_during_grounding_are_answers_not_commands(app: App) -> None:
    d, out = talk(app)
    d.hear("can we do grounding")
    wait_for(out, "five things")
    d.hear("the window and the door")
    d.hear("no wait a plant")  # "no" inside an answer must not be taken as a command
    assert d.mode is Mode.EXERCISE
    d.hear("stop")
    assert d.mode is Mode.IDLE


def test_crisis_stops_the_exercise_and_gives_numbers(app: App) -> None:
    d, out = talk(app)
    d.hear("start slow breathing")
    wait_for(out, "Breathe in")
    d.hear("i don't want to be alive anymore")
    assert d.mode is Mode.CRISIS
    assert d.runner is not None and not d.runner.active
    said = out.getvalue()
    assert "nine eight eight" in said and "nine one one" in said
    d.hear("repeat")
    assert out.getvalue().count("nine eight eight") >= 4
    d.hear("yes")
    assert d.mode is Mode.EXERCISE and d.runner.exercise.id == "grounding"
    d.close()


def test_misunderstood_is_not_argued(app: App) -> None:
    d, out = talk(app)
    d.hear("i want to die")
    d.hear("you misunderstood me")
    assert "just say repeat" in out.getvalue()
    assert d.mode is Mode.IDLE


def test_did_you_mean_then_yes(app: App) -> None:
    d, out = talk(app)
    m = d.hear("i'm kind of bummed out")
    if m.intent == "unknown" and m.guess:
        assert "Did you mean" in out.getvalue()
        d.hear("yes")
    assert "low" in out.getvalue() or "heavy" in out.getvalue()


def test_three_failures_then_quiet(app: App) -> None:
    d, out = talk(app)
    for _ in range(5):
        d.hear("purple elephants dancing on the moon")
    text = out.getvalue()
    assert text.count("trouble understanding") == 1
    assert len(text.strip().splitlines()) == 3


def test_a_quiet_microphone_is_mentioned_once_when_words_are_missed(app: App) -> None:
    d, out = talk(app)
    d.hear(Transcript("purple elephants dancing", level="quiet"))
    assert "closer to the microphone" in out.getvalue()
    assert "didn't catch" not in out.getvalue() and "not sure I understood" not in out.getvalue()
    d.hear(Transcript("purple elephants dancing", level="quiet"))
    assert out.getvalue().count("closer to the microphone") == 1


def test_a_clipping_microphone_is_mentioned_before_did_you_mean(app: App) -> None:
    d, out = talk(app)
    m = d.hear(Transcript("read me a story", level="loud"))
    text = out.getvalue()
    assert m.intent == "unknown" and m.guess == "journal_read"
    assert text.index("turning its volume down") < text.index("Did you mean")


def test_the_microphone_goes_unmentioned_when_it_was_understood(app: App) -> None:
    d, out = talk(app)
    d.hear(Transcript("i feel anxious", level="quiet"))
    assert "microphone" not in out.getvalue()
    d.hear(Transcript("what's the weather", level=None))
    assert "microphone" not in out.getvalue()


def test_a_microphone_that_sends_only_silence_is_noticed(app: App) -> None:
    """The live loop: digital silence from the start (a muted microphone) is said once,
    and a working but quiet room is not."""
    zeros = [bytes(3200)] * 200  # 20 s
    out = io.StringIO()
    listen(app, ScriptedSource(zeros), ScriptedSpeechToText([]), PrintedOutput(out))
    assert out.getvalue().count("can't hear anything at all") == 1
    rng = np.random.default_rng(0)
    hiss = [rng.normal(0, 3, 1600).astype("<i2").tobytes() for _ in range(200)]
    out = io.StringIO()
    listen(app, ScriptedSource(hiss), ScriptedSpeechToText([]), PrintedOutput(out))
    assert "can't hear anything" not in out.getvalue()


def test_the_live_loop_says_when_steadys_own_voice_may_be_heard(app: App) -> None:
    """While Steady talks, and for a moment after, the recognizer is told so (its gain
    must not learn the loudspeaker's level as the person's)."""
    told: list[bool] = []
    stt = ScriptedSpeechToText(["help"])
    start = stt.start

    def noting(*, open_vocabulary: bool = False) -> Recognition:
        recognition = start(open_vocabulary=open_vocabulary)
        recognition.own_voice = told.append  # type: ignore[method-assign,assignment]
        return recognition

    stt.start = noting  # type: ignore[method-assign]
    loud = np.full(1600, 3000, dtype="<i2").tobytes()
    chunks = [loud] * 3 + [bytes(3200)] * 40
    out = io.StringIO()
    listen(app, ScriptedSource(chunks, delay=0.05), stt, PrintedOutput(out))
    assert len(told) == len(chunks)  # before every piece of audio
    assert True in told  # the greeting and the answer to "help"
    assert told[-1] is False  # two seconds later Steady has long been quiet


def test_tracking_output_knows_when_steady_is_sounding() -> None:
    clock = VirtualClock()
    tracking = TrackingOutput(PrintedOutput(io.StringIO()), clock)
    assert not tracking.sounding(1.0)
    tracking.say("hello")
    assert tracking.sounding(1.0)
    clock.advance(1.5)
    assert not tracking.sounding(1.0)
    tracking.tone("inhale")
    assert tracking.sounding(1.0)


@pytest.mark.parametrize(
    ("said", "exercise"),
    [
        ("let's do a body scan", "body-scan"),
        ("progressive muscle relaxation", "muscle-relaxation"),
        ("can we do cyclic sighing", "cyclic-sighing"),
        ("four seven eight breathing", "4-7-8"),
        ("box breathing without the holds", "box"),
        ("grounding please", "grounding"),
        ("slow breathing for five minutes", "resonance"),
    ],
)
def test_any_exercise_can_be_asked_for_by_name(app: App, said: str, exercise: str) -> None:
    d, _ = talk(app)
    d.hear(said)
    assert d.mode is Mode.EXERCISE and d.runner is not None
    assert d.runner.exercise.id == exercise
    d.close()


def test_suggestions_follow_the_feeling(app: App) -> None:
    for said, first in [
        ("i can't sleep about a six", "breathing for sleep"),
        ("i'm furious about an eight", "cyclic sighing"),
        ("i'm so overwhelmed about a seven", "grounding"),
    ]:
        d, out = talk(app)
        d.hear(said)
        assert d.mode is Mode.OFFER and first in out.getvalue().lower(), said


def test_skip_dizzy_and_tones_during_an_exercise(app: App) -> None:
    d, out = talk(app)
    d.hear("start box breathing")
    wait_for(out, "Breathe in")
    d.hear("i feel dizzy")
    assert d.runner is not None and d.runner.active
    assert "dizz" in out.getvalue().lower() or "holds" in out.getvalue().lower()
    d.hear("just the tones")
    assert "just the tones" in out.getvalue()
    d.hear("skip")
    assert d.mode is Mode.EXERCISE
    d.hear("stop")
    d.close()


def test_dizzy_outside_an_exercise(app: App) -> None:
    d, out = talk(app)
    d.hear("i feel dizzy")
    assert "sit or lie down" in out.getvalue() and d.mode is Mode.IDLE


def test_goodbye_ends(app: App) -> None:
    d, _ = talk(app)
    d.hear("goodbye")
    assert d.done


def test_duration_sets_the_length(app: App) -> None:
    d, _ = talk(app, virtual=True)
    d.hear("box breathing for two minutes")
    assert d.runner is not None and d.runner.minutes == 2
    d.close()


def test_exercise_end_asks_how_they_feel(app: App) -> None:
    d, out = talk(app, virtual=True)
    d.hear("grounding please")
    d.wait_idle(timeout=5)
    wait_for(out, "How do you feel now?")


def test_not_knowing_a_rating_gets_a_rough_guess_asked_for_once(app: App) -> None:
    d, out = talk(app)
    d.hear("i feel anxious")
    d.hear("i don't know")
    assert d.mode is Mode.RATE_BEFORE and "rough guess" in out.getvalue()
    d.hear("maybe a five")
    assert d.mode is Mode.OFFER and d._before == 5
    d2, out2 = talk(app)
    d2.hear("i feel anxious")
    d2.hear("not sure")
    d2.hear("i really don't know")
    assert d2.mode is Mode.OFFER and "without a number" in out2.getvalue()


def test_not_being_sure_about_an_offer_gets_a_short_round(app: App) -> None:
    d, out = talk(app)
    d.hear("i feel anxious, about a six")
    assert d.mode is Mode.OFFER
    d.hear("i'm not sure")
    assert d.mode is Mode.OFFER and "short round of box breathing" in out.getvalue()
    d.hear("okay")
    assert d.mode is Mode.EXERCISE
    assert d.runner is not None and d.runner.minutes == d.runner.exercise.minutes_min
    d.close()


def test_still_unsure_moves_to_the_next_idea(app: App) -> None:
    d, out = talk(app)
    d.hear("i feel anxious, about a six")
    d.hear("hmm i don't know")
    d.hear("i don't know")
    assert d.mode is Mode.OFFER and "instead" in out.getvalue()
    # "maybe later" is a no, not uncertainty.
    d2, out2 = talk(app)
    d2.hear("i feel anxious, about a six")
    d2.hear("maybe later")
    assert "instead" in out2.getvalue() and "short round" not in out2.getvalue()


def test_asking_for_a_person_names_people_and_offers_to_listen(app: App) -> None:
    d, out = talk(app)
    d.hear("i need to talk to someone")
    said = out.getvalue()
    assert "I'm a program" in said
    assert "nine eight eight" in said and "nine one one" in said
    assert d.mode is Mode.LISTEN_OFFER
    d.hear("yes")
    assert d.mode is Mode.JOURNAL
    d.hear("i'm done")
    d.hear("no")


def test_asking_for_a_person_names_their_own_contacts(tmp_path: Path) -> None:
    app = App.load(Settings(time_scale=0.02), str(tmp_path))
    app.contacts.append(Contact("Sam", "555 0100"))
    d, out = talk(app)
    d.hear("can i talk to a real person")
    assert "call Sam, at five five five, zero one zero zero" in out.getvalue()


@pytest.mark.parametrize("answer", ["no", "i don't know"])
def test_not_wanting_to_talk_it_out_is_fine(app: App, answer: str) -> None:
    d, out = talk(app)
    d.hear("who can i call")
    d.hear(answer)
    assert d.mode is Mode.IDLE and out.getvalue().rstrip().endswith("I'm here if you need me.")


def test_something_else_after_the_people_is_heard_as_usual(app: App) -> None:
    d, _ = talk(app)
    d.hear("i need to talk to a human")
    d.hear("i feel anxious")
    assert d.mode is Mode.RATE_BEFORE


def test_help_says_how_to_reach_a_person(app: App) -> None:
    d, out = talk(app)
    d.hear("help")
    assert "a person to talk to" in out.getvalue() and "not a crisis service" in out.getvalue()
    d.hear("who can i call")
    assert "nine eight eight" in out.getvalue()


@pytest.mark.parametrize(
    ("question", "mode"),
    [("i'm so overwhelmed, about a seven", Mode.OFFER), ("my breathing feels odd", Mode.CONFIRM),
     ("who can i call", Mode.LISTEN_OFFER)],
)  # fmt: skip
def test_a_question_lapses_after_a_while(app: App, question: str, mode: Mode) -> None:
    # A "yes" long after "would you like to…?" was probably said to someone else.
    d, out = talk(app, virtual=True)
    clock = d.clock
    assert isinstance(clock, VirtualClock)
    d.hear(question)
    assert d.mode is mode
    clock.advance(QUESTION_WAIT * app.settings.time_scale + 1)
    d.hear("yes")
    assert d.mode is Mode.IDLE and "Tell me how you're feeling" in out.getvalue()


def test_a_question_answered_in_time_still_counts(app: App) -> None:
    d, out = talk(app, virtual=True)
    clock = d.clock
    assert isinstance(clock, VirtualClock)
    d.hear("i'm so overwhelmed, about a seven")
    half = QUESTION_WAIT * app.settings.time_scale / 2 + 1
    clock.advance(half)
    d.hear("no")
    clock.advance(half)
    d.hear("yes")  # to the second offer, asked after the "no"
    assert "Let's begin box breathing" in out.getvalue()
    d.close()


def test_a_request_steady_does_not_handle_gets_what_it_is_for(app: App) -> None:
    d, out = talk(app)
    for _ in range(4):  # understood each time: never "I'm having trouble understanding"
        match = d.hear("set a timer for ten minutes")
        assert match.intent == "unknown" and match.out_of_scope
    said = out.getvalue()
    assert "not something I can do" in said or "can't help with that one" in said
    assert "trouble understanding" not in said and "didn't catch" not in said
    assert d.mode is Mode.IDLE
