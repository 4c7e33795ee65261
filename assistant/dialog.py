"""The conversation: what Steady does with each thing the person says.

Pure logic over an :class:`~assistant.output.Output` and exercise runners; no audio
and no recognizer here, so it is tested with typed lines. The crisis check comes
first on every turn and stops whatever is running. Follow-ups ("yes", "slower",
"stop") need no wake word.
"""

from __future__ import annotations

import enum
import logging
import queue
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path

from assistant.audio_format import STT_FORMAT, Audio, wav_bytes
from assistant.clock import Clock
from assistant.crisis import CrisisFinding
from assistant.datafiles import load_yaml, validate
from assistant.errors import SteadyError
from assistant.exercises import Exercise, ExerciseLibrary
from assistant.intents import CONTROLS, FEELINGS, FILLER, UNKNOWN
from assistant.journal_reading import (
    Readable,
    first_of_day,
    manages,
    named_day,
    newest_first,
    spoken_day,
    spoken_when,
    wants_older,
)
from assistant.journaling import JOURNAL_PAUSE, Draft, JournalBook, ends_entry, spoken_length
from assistant.matcher import IntentMatcher, Match
from assistant.output import Output
from assistant.pacer import CueStyle, ExerciseRunner, State
from assistant.ratings import (
    SessionLog,
    change_line,
    felt_change,
    personal_choice,
    read_rating,
    toolbox_lines,
)
from assistant.replies import Replies
from assistant.safety import (
    Contact,
    Locale,
    crisis_reply,
    line_reply,
    reach_out_reply,
    resource_lines,
)
from assistant.stt import Transcript
from assistant.text import PrivateText, normalize
from assistant.understand import match_transcript

log = logging.getLogger(__name__)

MAX_UNKNOWN = 3
"""After this many turns not understood in a row, stop re-prompting."""
QUESTION_WAIT = 300.0
"""Seconds a yes-or-no question (an offer, "did you mean", "shall I listen?") stays
open; a "yes" much later was probably said to someone else (scaled by time_scale)."""
SURE = 0.9
"""A control command during grounding must be this clear to count (else it is an answer)."""
_MISUNDERSTOOD = re.compile(
    r"\b(misunderstood|misunderstand|not what i meant|did not mean|i was joking|i am fine|"
    r"i am ok|i am safe|wrong)\b"
)
_UNSURE = re.compile(
    r"\b(do not know|dunno|not sure|no idea|hard to say|cannot say|cannot tell|maybe)\b"
    r"(?! (later|not|another time|tomorrow|next time))"
)
"""Not knowing what to answer ("i don't know", "not sure", "maybe") to a question."""
STILL_STRONG = 8
"""A rating (0-10) this high, before or after an exercise, gets the support options."""
UNSURE_MAX_WORDS = 6
"""Longer answers are taken for what they say, not as not knowing."""
_PRACTICE_EXERCISE = {
    "ground": "grounding",
    "body_scan": "body-scan",
    "relax_muscles": "muscle-relaxation",
}
_MORE = re.compile(r"\b(more|another|extra|longer|keep going|carry on|go on)\b")
_SKIP = re.compile(r"\b(skip( this| that| it| ahead)?|next (one|step|part|bit|group)|move on)\b")
_CUES = (
    (
        re.compile(
            r"\b(just|only) (the )?(tones|beeps|sounds)\b|\btones only\b|\bno (talking|voice)\b"
        ),
        "tones",
    ),
    (re.compile(r"\b(tones|beeps) and (voice|words|talking)\b|\bboth\b"), "both"),
    (
        re.compile(r"\b(no (tones|beeps)|(just|only) (your )?(voice|words)|talk me through)\b"),
        "voice",
    ),
)
_NO_RATING_FIRST = ("panic",)
"""Feelings that go straight to an exercise: a panicking person is not asked for a number."""


BARGE_IN = ("stop", "pause", "resume", "slower", "faster", "repeat", "goodbye", "dizzy")
"""Commands that count even while Steady is talking."""
BARGE_IN_PHRASES = (
    "stop", "stop please", "pause", "slower", "faster", "carry on", "continue",
    "keep going", "repeat", "say that again", "goodbye", "i feel dizzy",
)  # fmt: skip
"""Their commonest wordings: never mistaken for an echo of Steady's own words."""


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return f"{round(seconds)} more seconds"
    words = {1: "One more minute", 2: "Two more minutes", 3: "Three more minutes",
             4: "Four more minutes", 5: "Five more minutes", 10: "Ten more minutes"}  # fmt: skip
    return words.get(round(minutes), f"{minutes:g} more minutes")


def _support_due(before: int | None, after: int) -> str | None:
    """CONTENT.md §2: after an exercise, a feeling that was very strong (8 or more) or
    did not ease gets the support options and another tool. Which of the two it was
    (``strong`` or ``unchanged``: each has its own wording), or None."""
    if max(before or 0, after) >= STILL_STRONG:
        return "strong"
    if before is not None and after >= before:
        return "unchanged"
    return None


def _unsure(match: Match, text: str) -> bool:
    """``text`` says the person does not know what to answer (not a yes, no or request)."""
    words = normalize(text)
    if len(words.split()) > UNSURE_MAX_WORDS or not _UNSURE.search(words):
        return False
    return match.intent in ("yes", "no", UNKNOWN) or match.confidence < SURE


def _barges_in(match: Match) -> bool:
    if match.intent == "crisis":
        return True
    short = len(match.text.split()) <= 4
    return match.intent in BARGE_IN and match.confidence >= SURE and short


class Mode(enum.Enum):
    IDLE = "idle"
    OFFER = "offer"  # asked "would you like to try X?"
    CONFIRM = "confirm"  # asked "did you mean X?"
    EXERCISE = "exercise"
    CRISIS = "crisis"
    RATE_BEFORE = "rate_before"  # asked "how strong is it, 0 to 10?" before an exercise
    RATE_AFTER = "rate_after"  # asked the same after one
    JOURNAL = "journal"  # recording a spoken journal entry
    JOURNAL_SAVE = "journal_save"  # asked "shall I save it?"
    JOURNAL_READ = "journal_read"  # read an entry back, asked "the one before?"
    LISTEN_OFFER = "listen_offer"  # named people to talk to, asked "shall I listen meanwhile?"


_EXPIRING = (Mode.OFFER, Mode.CONFIRM, Mode.LISTEN_OFFER)
"""Questions that lapse after :data:`QUESTION_WAIT`. A rating, "shall I keep it?" and
the journal's "the one before?" wait as long as it takes: nothing is lost by waiting."""


@dataclass(frozen=True)
class Suggestion:
    offer: tuple[str, ...]
    start: bool = False


def load_suggestions(path: Path) -> dict[str, Suggestion]:
    data = load_yaml(path)
    validate(data, "suggestions", path)
    return {k: Suggestion(tuple(v["offer"]), bool(v.get("start", False))) for k, v in data.items()}


class Speaker:
    """Says the dialog's replies in order, in the background when asked to, so the
    microphone keeps being read while Steady talks."""

    def __init__(self, output: Output, asynchronous: bool) -> None:
        self.output = output
        self.asynchronous = asynchronous
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._cancel = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        if asynchronous:
            self._thread = threading.Thread(target=self._work, name="speaker", daemon=True)
            self._thread.start()

    def say(self, *lines: str) -> None:
        if not self.asynchronous:
            self._cancel.clear()
            for line in lines:
                if not self.output.say(line, self._cancel):
                    break
            return
        self._idle.clear()
        for line in lines:
            self._queue.put(line)

    def clear(self) -> None:
        """Drop what is queued and cut off what is being said."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._cancel.set()
        self.output.silence()

    def wait(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2)

    def _work(self) -> None:
        while True:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._queue.empty():
                    self._idle.set()
                continue
            if line is None:
                self._idle.set()
                return
            self._cancel.clear()
            self.output.say(line, self._cancel)
            if self._queue.empty():
                self._idle.set()


@dataclass
class Dialog:
    """One conversation with one person."""

    matcher: IntentMatcher
    replies: Replies
    library: ExerciseLibrary
    suggestions: dict[str, Suggestion]
    locale: Locale
    output: Output
    clock: Clock
    contacts: list[Contact] = field(default_factory=list)
    time_scale: float = 1.0
    first_run: bool = False
    asynchronous: bool = False
    """Speak replies in the background (the microphone loop); False: block (chat, files)."""
    block_exercises: bool = False
    """Run exercises to the end before returning (rendering a recording to a file)."""
    on_event: Callable[[str, dict[str, object]], None] | None = None
    history: SessionLog | None = None
    """Where sessions and distress ratings are kept (None: nothing is kept)."""
    journal: JournalBook | None = None
    """Where journal entries are kept (None: the journal is unavailable)."""
    keep_journal_audio: bool = False
    """Keep the recording of journal entries as well as their words (opt-in)."""
    wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    """The date and time, for saying when a journal entry was made."""
    cue_style: str = "voice"
    """How exercises mark breaths: ``voice``, ``tones`` or ``both`` (changeable by voice)."""

    mode: Mode = Mode.IDLE
    done: bool = False
    runner: ExerciseRunner | None = None
    _offers: list[str] = field(default_factory=list)
    _guess: Match | None = None
    _unknown_streak: int = 0
    _last_reply: list[str] = field(default_factory=list)
    _session: int | None = None  # the session being rated
    _mood: str | None = None
    _before: int | None = None
    _rate_tries: int = 0
    _felt: str | None = None  # "better", "worse" or "same", said instead of a number after
    _asked_at: float = 0.0  # when the open yes-or-no question was asked
    _offer_eased: bool = False  # "i'm not sure" to an offer was answered once already
    _started_at: float = 0.0
    _draft: Draft | None = None
    _level: str | None = None  # how the microphone delivered the last utterance
    _level_told: set[str] = field(default_factory=set)  # microphone advice already given
    _reading: list[Readable] = field(default_factory=list)  # entries read back, newest first
    _read_at: int = 0
    speaker: Speaker = field(init=False)

    def __post_init__(self) -> None:
        self.speaker = Speaker(self.output, self.asynchronous)

    # ------------------------------------------------------------------ api
    def begin(self) -> None:
        self._reply("first_run" if self.first_run else "greeting")

    def hear(self, heard: Transcript | str, *, while_speaking: bool = False) -> Match:
        """Handle one utterance; returns what it was understood as.

        ``while_speaking``: the microphone picked this up while Steady was talking, so
        it may be Steady's own voice. Only a clear command or a crisis counts then.
        """
        transcript = heard if isinstance(heard, Transcript) else Transcript(heard)
        if self.mode in _EXPIRING and (
            self.clock.now() - self._asked_at > QUESTION_WAIT * self.time_scale
        ):
            self.mode = Mode.IDLE  # asked long ago: a "yes" now was likely meant for someone else
        match = match_transcript(self.matcher, transcript, self._expected())
        self._level = transcript.level
        if while_speaking and not _barges_in(match):
            log.info(
                "turn ignored while speaking: intent=%s confidence=%.2f",
                match.intent,
                match.confidence,
            )
            return Match(match.text, UNKNOWN, 0.0)
        # Crisis words and journal entries never reach a log, not even at DEBUG.
        if match.intent != "crisis" and self.mode is not Mode.JOURNAL:
            log.debug(
                "heard %r (open %r, runners-up %r) -> %s (%.2f)",
                transcript.text,
                transcript.open_text,
                transcript.alternatives,
                match.intent,
                match.confidence,
            )
        log.info(
            "turn: intent=%s confidence=%.2f mode=%s",
            match.intent,
            match.confidence,
            self.mode.value,
        )
        self._emit("turn", {"intent": match.intent, "confidence": match.confidence})
        if match.intent == "crisis" and match.crisis is not None:
            self._crisis(match.crisis)
            return match
        if match.intent == FILLER and self.mode is not Mode.JOURNAL:
            # "um", "well...", "let me think": the person is finding their words.
            # Say nothing and keep waiting for whatever was asked (a rating, a yes).
            return match
        if self.mode is Mode.EXERCISE and self.runner is not None and self.runner.active:
            self._during_exercise(match, transcript.text)
            return match
        if self.mode is Mode.JOURNAL:
            self._journal_heard(match, transcript)
            return match
        if self.mode is Mode.JOURNAL_SAVE and match.intent in ("yes", "no"):
            self._journal_save(match.intent == "yes")
            return match
        if self.mode is Mode.JOURNAL_READ and self._journal_read_answer(match, transcript):
            return match
        if self.mode is Mode.CRISIS and self._after_crisis(match, transcript.text):
            return match
        if self.mode is Mode.LISTEN_OFFER:
            self.mode = Mode.IDLE
            if match.intent == "yes":
                self._journal_start()
                return match
            if match.intent == "no" or _unsure(match, transcript.text):
                self._reply("no_nothing")
                return match
        if self.mode is Mode.CONFIRM and self._guess is not None:
            guess, self._guess = self._guess, None
            self.mode = Mode.IDLE
            if match.intent == "yes":
                # Confirmed by the person: as sure as an answer gets.
                match = Match(guess.text, guess.guess or UNKNOWN, 1.0, guess.slots)
            elif match.intent == "no":
                self._reply("confirm_no")
                return match
        if self.mode in (Mode.RATE_BEFORE, Mode.RATE_AFTER) and self._rating_answer(
            match, transcript.text
        ):
            return match
        if self.mode is Mode.OFFER:
            if _unsure(match, transcript.text):
                if not self._offer_eased:
                    # Not a no: make the step smaller (the shortest round), once.
                    self._offer_eased = True
                    self._ask(Mode.OFFER)
                    self._say(
                        self.replies.get("offer_unsure", exercise=self._name(self._offers[0]))
                    )
                    return match
                match = replace(match, intent="no")  # still unsure: the next idea
            if match.intent == "yes":
                if self._offer_eased and "duration" not in match.slots:
                    shortest = self.library.get(self._offers[0]).minutes_min
                    match = replace(match, slots={**match.slots, "duration": shortest * 60})
                self._start(self._offers[0], match)
                return match
            if match.intent == "no":
                self._offer_eased = False
                self._offers = self._offers[1:]
                if self._offers:
                    self._ask(Mode.OFFER)
                    self._say(
                        self.replies.get("offer_another", exercise=self._name(self._offers[0]))
                    )
                else:
                    self.mode = Mode.IDLE
                    self._reply("offer_none_left")
                return match
        self._act(match)
        return match

    def heard_audio(self, pcm: bytes) -> None:
        """Microphone audio as it arrives (kept only for an opted-in journal entry)."""
        if self.keep_journal_audio and self.mode is Mode.JOURNAL and self._draft is not None:
            self._draft.audio.extend(pcm)

    def microphone_silent(self) -> None:
        """The microphone has delivered nothing but digital silence since listening began:
        it is probably muted, or another input is the one in use (said once)."""
        if not self._first_told("silent"):
            return
        log.warning(
            "the microphone has sent only silence so far: is it muted? "
            "`steady devices` lists the inputs; --device chooses one"
        )
        self._reply("microphone_silent")

    def tick(self) -> None:
        """Called now and then by a live loop: ends a journal entry after a long pause."""
        draft = self._draft
        pause = JOURNAL_PAUSE * self.time_scale
        if (
            self.mode is Mode.JOURNAL
            and draft is not None
            and draft.quiet_for(self.clock.now()) >= pause
        ):
            self._journal_end()

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for a running exercise and pending speech to finish."""
        if self.runner is not None:
            self.runner.join(timeout)
        self.speaker.wait(timeout)

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        self.speaker.clear()
        self.speaker.close()

    # ------------------------------------------------------------- handlers
    def _act(self, match: Match) -> None:
        intent = match.intent
        if intent != UNKNOWN:
            self._unknown_streak = 0
        if {intent, match.guess} & {"journal", "journal_read"} and manages(match.text):
            self._reply("journal_manage")  # "delete yesterday's entry": never by voice
        elif self.matcher.asks_first(match):
            # An intent with a bar of its own (its sentence file's ``accept``), however
            # the readings arrived at it: e.g. private words are read aloud only on a
            # clear request ("read me a story" is close to "read me my entry").
            self._unknown(replace(match, intent=UNKNOWN, guess=intent))
        elif intent == UNKNOWN:
            self._unknown(match)
        elif intent in FEELINGS:
            self._feeling(intent, match)
        elif intent == "breathe":
            self._start(self._breathing_choice(match.text), match)
        elif intent in _PRACTICE_EXERCISE:
            self._start(_PRACTICE_EXERCISE[intent], match)
        elif intent == "dizzy":
            self._reply("dizzy_idle")
        elif intent == "journal":
            self._journal_start()
        elif intent == "journal_read":
            self._journal_read(match.text)
        elif intent == "reach_out":
            self._say(*reach_out_reply(self.locale, self.replies, self.contacts))
            self._ask(Mode.LISTEN_OFFER)
        elif intent == "toolbox":
            names = {e.id: e.name for e in self.library.exercises.values()}
            self._say(*toolbox_lines(self.replies, self.history, names))
        elif intent in ("stop", "pause", "resume", "slower", "faster"):
            self.mode = Mode.IDLE
            self._reply("nothing_running")
        elif intent == "repeat":
            self._say(*(self._last_reply or [self.replies.get("greeting")]))
        elif intent == "help":
            self._reply("help")
        elif intent == "yes":
            self._reply("yes_nothing")
        elif intent == "no":
            self._reply("no_nothing")
        elif intent == "goodbye":
            self._goodbye()

    def _unknown(self, match: Match) -> None:
        if match.out_of_scope:
            # Heard, just not something Steady does ("set a timer"): say what it is for.
            self._unknown_streak = 0
            self._reply("out_of_scope")
            return
        self._unknown_streak += 1
        advice = self._microphone_advice()
        if match.guess is not None and self._unknown_streak <= MAX_UNKNOWN:
            self._guess = match
            self._ask(Mode.CONFIRM)
            label = self.replies.get(f"labels.{match.guess}")
            self._say(*advice, self.replies.get("did_you_mean", option=label))
        elif advice:
            self._say(*advice)
        elif self._unknown_streak < MAX_UNKNOWN:
            self._reply("unknown")
        elif self._unknown_streak == MAX_UNKNOWN:
            self._reply("unknown_final")
        # Past that, stay quiet until something is understood.

    def _microphone_advice(self) -> list[str]:
        """Once a session for each problem: the utterance just not understood came in
        too quietly to hear well, or clipped (see :class:`assistant.loudness.AutoGain`)."""
        level = self._level
        if level is None or not self._first_told(level):
            return []
        log.info("the microphone delivered speech too %s", level)
        return [self.replies.get(f"microphone_{level}")]

    def _first_told(self, level: str) -> bool:
        """Whether this microphone problem is new this session (noted, and announced
        to the session's listeners, the first time only)."""
        if level in self._level_told:
            return False
        self._level_told.add(level)
        self._emit("microphone", {"level": level})
        return True

    def _feeling(self, feeling: str, match: Match) -> None:
        suggestion = self.suggestions.get(feeling)
        ack = self.replies.get(f"acknowledge.{feeling}")
        self._mood = feeling
        self._before = read_rating("", match.slots)
        self._session = self._log_start(feeling, self._before)
        if suggestion is None or not suggestion.offer:
            self._say(ack)
            return
        if suggestion.start or feeling in _NO_RATING_FIRST:
            first = self.library.get(suggestion.offer[0])
            if not first.intro:  # an exercise with its own opening words acknowledges it
                self._say(ack)
            self._start(suggestion.offer[0], match, announce=False)
            self._offers = list(suggestion.offer[1:])
            return
        if self._before is None and self.history is not None:
            self._rate_tries = 0
            self.mode = Mode.RATE_BEFORE
            self._say(ack, self.replies.get("rate_before"))
            return
        self._say(ack, *self._offer_lines(feeling))

    def _offer_lines(self, feeling: str) -> list[str]:
        """Set up the offers for ``feeling`` and say the first (what helped, if known)."""
        suggestion = self.suggestions.get(feeling)
        offers = list(suggestion.offer) if suggestion is not None else []
        if not offers:
            self.mode = Mode.IDLE
            return [self.replies.get("offer_none_left")]
        chosen = (
            personal_choice(self.history, feeling, offers) if self.history is not None else None
        )
        if chosen is not None:
            self._offer([chosen, *[o for o in offers if o != chosen]])
            name = self._name(chosen)
            return [self.replies.get("offer_personal", exercise=name[:1].upper() + name[1:])]
        self._offer(offers)
        return [self.replies.get("offer", exercise=self._name(offers[0]))]

    def _ask(self, mode: Mode) -> None:
        """Wait for the answer to a yes-or-no question (see :data:`QUESTION_WAIT`)."""
        self.mode = mode
        self._asked_at = self.clock.now()

    def _offer(self, exercises: list[str]) -> None:
        """Wait for a yes or no to ``exercises[0]`` (the rest follow a no)."""
        self._ask(Mode.OFFER)
        self._offer_eased = False
        self._offers = exercises

    def _support_lines(self, why: str) -> list[str]:
        """After an exercise with a very strong feeling, or one that did not ease
        (``why``, see :func:`_support_due`): the support line for this locale, then
        another tool for the same feeling, if any."""
        support = line_reply(self.replies, f"after_support.{why}", self.locale.lines[0])
        done = self.runner.exercise.id if self.runner is not None else ""
        suggestion = self.suggestions.get(self._mood or "")
        others = [o for o in (suggestion.offer if suggestion else ()) if o.split(":")[0] != done]
        if not others:
            return [support, self.replies.get("after_rating")]
        self._offer(others)
        return [support, self.replies.get("offer_after", exercise=self._name(others[0]))]

    # ------------------------------------------------------------ ratings
    def _rating_answer(self, match: Match, text: str) -> bool:
        """An answer to "how strong is it, 0 to 10?". True when handled here."""
        before = self.mode is Mode.RATE_BEFORE
        rating = read_rating(text, match.slots)
        if rating is not None and 0 <= rating <= 10:
            self.mode = Mode.IDLE
            if before:
                self._before = rating
                self._log_update(before=rating)
                self._say(*self._offer_lines(self._mood or ""))
            else:
                self._log_update(after=rating)
                lines = []
                if self._before is not None:
                    lines.append(change_line(self.replies, self._before, rating))
                why = _support_due(self._before, rating)
                if why is not None:
                    lines.extend(self._support_lines(why))
                else:
                    lines.append(self.replies.get("after_rating"))
                self._say(*lines)
                self._session = None
            return True
        felt = None if before or self._rate_tries else felt_change(text)
        if felt is not None:
            # "i feel better now" answers the question (it is not a goodbye): ask once
            # for the number, in words that fit what was said.
            self._rate_tries += 1
            self._felt = felt
            self._reply(f"rate_felt.{felt}")
            return True
        if self._rate_tries == 0 and _unsure(match, text):
            self._rate_tries += 1
            self._reply("rate_unsure")  # a rough guess will do
            return True
        skip = match.intent in ("no", UNKNOWN) or (match.intent == "yes" and before)
        if skip and self._rate_tries == 0 and match.intent != "no":
            self._rate_tries += 1
            self._reply("rate_again")
            return True
        # Twice without a number, "no"/"skip", or something else entirely: go on.
        self.mode = Mode.IDLE
        if before:
            if skip:
                self._say(self.replies.get("rate_skipped"), *self._offer_lines(self._mood or ""))
                return True
            return False  # e.g. "start box breathing" instead of a number: do that
        self._session = None
        if skip:
            if self._felt in ("same", "worse"):
                then = self._support_lines("unchanged")
            else:
                then = [self.replies.get("after_rating" if self._felt else "after_exercise")]
            self._say(self.replies.get("rate_skipped"), *then)
            return True
        return False

    # ------------------------------------------------------------ journal
    def _journal_start(self) -> None:
        if self.journal is None:
            self._reply("journal_unavailable")
            return
        now = self.clock.now()
        self._draft = Draft(started=now, last_heard=now)
        self.mode = Mode.JOURNAL
        self._reply("journal_prompt")
        self.speaker.wait()
        self._draft.started = self._draft.last_heard = self.clock.now()

    def _journal_heard(self, match: Match, transcript: Transcript) -> None:
        draft = self._draft
        assert draft is not None
        # The open-vocabulary reading knows the whole language; the grammar reading is
        # better at Steady's own phrases, so either may say the entry is finished.
        text = transcript.open_text or transcript.text
        short = len(text.split()) <= 3
        if match.intent in ("stop", "goodbye") and match.confidence >= SURE and short:
            self._journal_end()
            return
        finished = [t for t in transcript.texts() if ends_entry(t)]
        if finished:
            text = text if ends_entry(text) else finished[0]
        if draft.add(text, self.clock.now()) or finished:
            self._journal_end()

    def _journal_end(self) -> None:
        draft = self._draft
        assert draft is not None
        if not draft.text:
            self._draft = None
            self.mode = Mode.IDLE
            self._reply("journal_empty")
            return
        finding = self.matcher.heard_crisis([draft.text])
        if finding is not None:
            # Something in the entry as a whole calls for the crisis reply first.
            self._draft = None
            self._crisis(finding)
            return
        self.mode = Mode.JOURNAL_SAVE
        self._say(self.replies.get("journal_save", length=spoken_length(draft.seconds)))

    def _journal_save(self, keep: bool) -> None:
        draft, self._draft = self._draft, None
        self.mode = Mode.IDLE
        if keep and draft is not None and self.journal is not None:
            audio = (
                wav_bytes(Audio(bytes(draft.audio), STT_FORMAT))
                if self.keep_journal_audio and draft.audio
                else None
            )
            self.journal.add_journal(draft.text, draft.seconds, audio)
            self._reply("journal_saved")
        else:
            self._reply("journal_discarded")

    def _journal_read(self, text: str) -> None:
        """Read the newest entry (or the newest of a day the person named) aloud."""
        self.mode = Mode.IDLE
        if self.journal is None:
            self._reply("journal_unavailable")
            return
        try:
            entries = newest_first(self.journal.journal())
        except (SteadyError, sqlite3.Error) as exc:
            log.warning("Could not read the journal: %s", exc)
            self._reply("journal_unavailable")
            return
        if not entries:
            self._reply("journal_read_none")
            return
        self._reading = entries
        today = self._today()
        day = named_day(text, today)
        start = first_of_day(entries, day) if day is not None else 0
        lead: tuple[str, ...] = ()
        if start is None:
            lead = (self.replies.get("journal_read_no_day", day=spoken_day(day or today, today)),)
            start = 0
        self._read_entry(start, lead)

    def _read_entry(self, index: int, lead: tuple[str, ...] = ()) -> None:
        self.mode = Mode.JOURNAL_READ
        last = "journal_read_only" if len(self._reading) == 1 else "journal_read_oldest"
        if index >= len(self._reading):
            self._reply(last)
            return
        entry = self._reading[index]
        self._read_at = index
        when = spoken_when(entry.created, self.wall_clock())
        # The entry's words are the person's own: never cached or logged as speech.
        line = PrivateText(self.replies.get("journal_read_entry", when=when, text=entry.text))
        more = index + 1 < len(self._reading)
        end = self.replies.get("journal_read_more" if more else last)
        self._say(*lead, line, end)

    def _today(self) -> date:
        return self.wall_clock().astimezone().date()

    def _journal_read_answer(self, match: Match, transcript: Transcript) -> bool:
        """What was said after an entry was read ("shall I read the one before?").
        True when handled here; anything else leaves the journal and is acted on."""
        intent = match.intent
        if intent == "journal_read" and named_day(match.text, self._today()) is not None:
            self._journal_read(match.text)  # another day: start there
            return True
        heard = transcript.best_readings() or [match.text]
        older = intent in ("yes", "journal_read") or any(wants_older(t) for t in heard)
        if older and intent != "stop":  # "another one" is a "no" to an offered exercise
            self._read_entry(self._read_at + 1)
            return True
        self.mode = Mode.IDLE
        self._reading = []
        if intent in ("stop", "no"):
            self.speaker.clear()  # "stop" in the middle of an entry cuts it off
            self._reply("journal_read_done")
            return True
        return False

    def _log_start(self, feeling: str | None, before: int | None) -> int | None:
        if self.history is None:
            return None
        return self.history.start_session(feeling, before)

    def _log_update(
        self,
        *,
        exercise: str | None = None,
        minutes: float | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> None:
        if self.history is not None and self._session is not None:
            self.history.update_session(
                self._session, exercise=exercise, minutes=minutes, before=before, after=after
            )

    def _breathing_choice(self, text: str) -> str:
        words = normalize(text)
        no_hold = re.search(r"\b(no|without|not) (hold|holding|holds)\b", words) is not None
        if re.search(r"\b(sigh|sighs|sighing)\b", words):
            return "cyclic-sighing"
        if re.search(r"\b(four seven eight|4 7 8|478)\b", words):
            return "4-7-8:no-hold" if no_hold else "4-7-8"
        if re.search(r"\b(sleep|bed|bedtime|night)\b", words):
            return "sleep-breathing"
        if re.search(r"\b(box|square|four by four)\b", words) or no_hold:
            return "box:no-hold" if no_hold else "box"
        return "resonance"

    def _name(self, exercise_id: str) -> str:
        return self.library.get(exercise_id).name

    def _start(self, exercise_id: str, match: Match, announce: bool = True) -> None:
        if self.runner is not None and self.runner.active:
            self.runner.stop()
        exercise: Exercise = self.library.get(exercise_id)
        minutes = match.slots.get("duration")
        self.mode = Mode.EXERCISE
        self._offers = []
        if announce:
            self._say(self.replies.get("start", exercise=exercise.name))
        self.speaker.wait()
        runner = ExerciseRunner(
            exercise,
            self.output,
            self.clock,
            minutes=minutes / 60 if minutes else None,
            time_scale=self.time_scale,
            acknowledgements=tuple(self.replies.variants("grounding_ack")),
            on_end=self._exercise_ended,
            cue_style=self.cue_style,
        )
        self.runner = runner
        if self._session is None:
            self._mood, self._before = None, None
            self._session = self._log_start(None, None)
        self._log_update(exercise=exercise_id, minutes=runner.minutes)
        self._started_at = self.clock.now()
        self._emit("exercise_start", {"exercise": exercise.id, "minutes": runner.minutes})
        runner.start(background=not self.block_exercises)

    def _exercise_ended(self, runner: ExerciseRunner) -> None:
        log.info("exercise %s ended: %s", runner.exercise.id, runner.state.value)
        self._emit("exercise_end", {"exercise": runner.exercise.id, "state": runner.state.value})
        if runner is not self.runner or self.mode is not Mode.EXERCISE:
            return
        self.mode = Mode.IDLE
        if runner.state is not State.FINISHED:
            self._log_update(minutes=self._elapsed_minutes())
        if runner.state is State.FINISHED:
            if self._asks_after():
                self._ask_after("finished")
            else:
                self._session = None
                self._say(self.replies.get("finished"), self.replies.get("after_exercise"))

    def _ask_after(self, first: str) -> None:
        """Say ``first`` (the exercise ended or stopped), then ask for the rating after."""
        self._rate_tries = 0
        self._felt = None
        self.mode = Mode.RATE_AFTER
        self._say(self.replies.get(first), self.replies.get("rate_after"))

    def _asks_after(self) -> bool:
        return (
            self.history is not None
            and self._session is not None
            and (self._before is not None or self._mood is not None)
        )

    def _elapsed_minutes(self) -> float:
        scale = self.time_scale if self.time_scale > 0 else 1.0
        return round((self.clock.now() - self._started_at) / scale / 60, 2)

    def _during_exercise(self, match: Match, text: str) -> None:
        runner = self.runner
        assert runner is not None
        intent = match.intent
        words = normalize(text)
        if runner.listening and not (intent in CONTROLS and match.confidence >= SURE):
            if _SKIP.search(words) and len(words.split()) <= 4:
                runner.skip()
            else:
                runner.hear(text)
            return
        if (intent == "no" or intent not in CONTROLS) and len(words.split()) <= 4:
            # "talk me through it" reads like a request for an exercise, "no tones" like
            # a no: a few words about the exercise's cues or steps are about this one.
            if _SKIP.search(words):
                if runner.skip():
                    self._reply("skipped")
                return
            for pattern, style in _CUES:
                if pattern.search(words):
                    self.cue_style = style
                    runner.cue_style = CueStyle(style)
                    self._reply(f"cues.{style}")
                    return
        if "duration" in match.slots and _MORE.search(words) and intent != "stop":
            # "for three more minutes" reads like "give me two minutes" (pause): longer wins.
            runner.extend(match.slots["duration"])
            self._say(self.replies.get("extended", length=_minutes(match.slots["duration"])))
        elif intent == "stop":
            runner.stop()
            self.speaker.clear()
            self.mode = Mode.IDLE
            self._log_update(minutes=self._elapsed_minutes())
            if self._before is not None and self._asks_after():
                self._ask_after("stopped")
            else:
                self._session = None
                self._reply("stopped")
        elif intent == "pause":
            if runner.pause():
                self._reply("paused")
        elif intent == "resume":
            if runner.resume():
                self._reply("resumed")
        elif intent in ("slower", "faster"):
            changed = runner.slower() if intent == "slower" else runner.faster()
            if changed:
                self._reply(intent)
            else:
                self._reply("at_slowest" if intent == "slower" else "at_fastest")
        elif intent == "repeat":
            runner.repeat()
        elif intent == "dizzy":
            advice = runner.dizzy()
            self._say(advice or self.replies.get("dizzy"))
        elif intent == "help":
            self._reply("help")
        elif intent == "goodbye":
            runner.stop()
            self.speaker.clear()
            self._goodbye()
        elif "duration" in match.slots and intent in ("breathe", "yes", "resume", UNKNOWN):
            runner.extend(match.slots["duration"])
            self._say(self.replies.get("extended", length=_minutes(match.slots["duration"])))
        elif intent in FEELINGS or intent in ("breathe", *_PRACTICE_EXERCISE):
            self._say(self.replies.get("already_running", exercise=runner.exercise.name))
        # Anything else (unknown, yes, no) during an exercise is most likely noise or
        # Steady's own voice: ignore it rather than interrupt the rhythm.

    def _crisis(self, finding: CrisisFinding) -> None:
        if self.runner is not None:
            self.runner.stop()
        self.speaker.clear()
        self.mode = Mode.CRISIS
        self._offers = ["grounding"]
        self._emit("crisis", {"category": finding.category, "negated": finding.negated})
        lines = crisis_reply(finding, self.locale, self.replies, self.contacts)
        self._say(*lines)

    def _after_crisis(self, match: Match, text: str) -> bool:
        """Follow-ups to the crisis reply. True when handled."""
        if match.intent == "repeat":
            self._say(*resource_lines(self.locale, self.replies, self.contacts))
            return True
        if match.intent == "yes" or match.intent == "ground":
            self._start("grounding", match)
            return True
        if match.intent == "no" or _MISUNDERSTOOD.search(normalize(text)):
            self.mode = Mode.IDLE
            self._reply("crisis_misunderstood")
            return True
        self.mode = Mode.IDLE
        return False

    def _goodbye(self) -> None:
        self.mode = Mode.IDLE
        self._reply("goodbye")
        self.done = True

    # -------------------------------------------------------------- helpers
    def _expected(self) -> list[str]:
        if self.mode in (Mode.OFFER, Mode.CONFIRM):
            return ["yes", "no"]
        if self.mode is Mode.EXERCISE:
            return ["stop", "pause", "resume", "slower", "faster", "repeat", "dizzy"]
        if self.mode is Mode.CRISIS:
            return ["repeat", "yes", "no"]
        if self.mode in (Mode.RATE_BEFORE, Mode.RATE_AFTER):
            return ["no"]
        if self.mode in (Mode.JOURNAL_SAVE, Mode.JOURNAL_READ, Mode.LISTEN_OFFER):
            return ["yes", "no"]
        return []

    def _reply(self, key: str) -> None:
        self._say(self.replies.get(key))

    def _say(self, *lines: str) -> None:
        self._last_reply = list(lines)
        self.speaker.say(*lines)

    def _emit(self, name: str, data: dict[str, object]) -> None:
        if self.on_event is not None:
            self.on_event(name, data)
