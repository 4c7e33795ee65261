"""From audio or text to a :class:`~assistant.matcher.Match`: the one pipeline every
entry point uses (``recognize``, ``run``, ``listen``, the accuracy script).

The crisis check sees every reading of an utterance — the grammar pass and, when it
ran, the open-vocabulary pass — before any intent is chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from assistant.audio_format import Audio, convert
from assistant.matcher import IntentMatcher, Match
from assistant.numbers import words_of
from assistant.paths import intents_dir, models_dir
from assistant.stt import SpeechToText, Transcript, VoskSpeechToText

log = logging.getLogger(__name__)

EXTRA_VOCABULARY = (
    "zero one two three four five six seven eight nine ten out of about a like maybe "
    "minute minutes seconds more half and for please okay ok yeah yes no"
)


QUICK_COMMANDS = ("stop", "stop it", "stop now", "pause", "wait", "enough", "slower", "faster")
"""Whole utterances that need no more than a short pause to be final."""


def build_matcher(language: str = "en") -> IntentMatcher:
    """The intent matcher with the bundled sentences and crisis rules."""
    return IntentMatcher.from_data(intents_dir(), language)


def grammar_vocabulary(matcher: IntentMatcher) -> set[str]:
    """Words the grammar-limited recognizer may hear: every example sentence's words,
    the crisis vocabulary, and numbers."""
    words = matcher.vocabulary()
    words.update(EXTRA_VOCABULARY.split())
    words.update(matcher.crisis.vocabulary)
    return words


def build_stt(
    matcher: IntentMatcher, model: str | Path | None = None, *, use_grammar: bool = True
) -> VoskSpeechToText:
    """Vosk with the active (or given) model and Steady's vocabulary."""
    from assistant.models import resolve_model

    path = resolve_model(models_dir(), model)
    return VoskSpeechToText(
        path,
        grammar_vocabulary(matcher),
        use_grammar=use_grammar,
        quick_phrases=QUICK_COMMANDS,
    )


def match_transcript(
    matcher: IntentMatcher, transcript: Transcript, prefer: Iterable[str] = ()
) -> Match:
    """Crisis check over every reading first; then the intent of the best reading."""
    for text in transcript.texts():
        finding = matcher.crisis.check(text)
        if finding is not None:
            return Match(transcript.text or text, "crisis", 1.0, crisis=finding)
    match = matcher.match(transcript.text, prefer)
    if match.intent == "unknown" and transcript.open_text:
        # The grammar pass only knows Steady's words; the open pass may read better.
        second = matcher.match(transcript.open_text, prefer)
        if second.confidence > match.confidence:
            return second
    return match


def understand_audio(
    stt: SpeechToText, matcher: IntentMatcher, audio: Audio, prefer: Iterable[str] = ()
) -> tuple[Transcript, Match]:
    """Recognise a whole clip as one request (all its utterances joined)."""
    pcm = convert(audio).pcm + Audio.silence(1.0).pcm
    parts = stt.transcribe(pcm)
    if not parts:
        empty = Transcript("")
        return empty, matcher.match("")
    text = " ".join(p.text for p in parts if p.text)
    opens = [p.open_text or p.text for p in parts]
    open_text = " ".join(o for o in opens if o) if any(p.open_text for p in parts) else None
    words = tuple(w for p in parts for w in p.words)
    conf = sum(p.confidence for p in parts) / len(parts)
    joined = Transcript(
        text=text,
        words=words,
        confidence=conf,
        open_text=open_text,
        end_time=parts[-1].end_time,
        heard_unknown=any(p.heard_unknown for p in parts),
    )
    return joined, match_transcript(matcher, joined, prefer)


def spoken_words(text: str) -> list[str]:
    """Words of ``text`` as a recognizer would write them (for vocabulary checks)."""
    return words_of(text)
