"""What someone could assemble from the same parts as Steady, in an afternoon.

Both baselines read Vosk's plain open-vocabulary transcript (no grammar):

* :class:`KeywordSpotter` — a small hand-written keyword → intent table, first hit wins,
  crisis keywords checked first, ``unknown`` when nothing hits.
* :class:`FuzzyBaseline` — ``rapidfuzz.process.extractOne`` over every example sentence
  Steady's matcher knows (crisis examples included), with rapidfuzz's defaults: no
  crisis rules, no thresholds (the best match always wins), no grammar.

The keyword table was written from the intent names and everyday wording, not from the
held-out phrases (which are never used for tuning anything).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import process, utils

from assistant.matcher import IntentMatcher

UNKNOWN = "unknown"

KEYWORDS: tuple[tuple[str, str], ...] = (
    (
        "crisis",
        r"kill myself|suicid\w*|end my life|end it all|want to die|better off dead"
        r"|hurt myself|cut myself|self harm|take my own life|not want to live",
    ),
    ("panic", r"panic\w*|can't breathe|freaking out|hyperventilat\w*"),
    ("anxious", r"anxious|anxiety|nervous|worried|worry\w*|on edge|uneasy|tense"),
    ("sleep", r"sleep\w*|insomnia|awake|asleep|bed"),
    ("overwhelmed", r"overwhelm\w*|too much|can't cope|stressed"),
    ("angry", r"angry|anger|mad|furious|annoyed|pissed"),
    ("sad", r"sad|down|depress\w*|lonely|cry\w*|upset|miserable"),
    ("breathe", r"breath\w*"),
    ("ground", r"ground\w*|five senses|present"),
    ("body_scan", r"body scan|scan"),
    ("relax_muscles", r"muscle\w*|tense and relax|relaxation"),
    ("journal", r"journal|diary|write|note"),
    ("toolbox", r"toolbox|history|ratings|progress|what worked"),
    ("stop", r"stop|enough|quit|cancel"),
    ("pause", r"pause|wait|hold on"),
    ("resume", r"resume|continue|carry on|go on"),
    ("slower", r"slower|slow down"),
    ("faster", r"faster|speed up|quicker"),
    ("repeat", r"repeat|again|say that"),
    ("help", r"help|what can you do|how does this work"),
    ("yes", r"yes|yeah|yep|sure|okay|ok"),
    ("no", r"no|nope|nah"),
    ("goodbye", r"goodbye|bye|good night|see you"),
)
"""(intent, regex alternatives), tried in this order on whole words."""

_COMPILED = tuple((intent, re.compile(rf"\b(?:{pattern})\b")) for intent, pattern in KEYWORDS)


def keyword_intent(text: str | None) -> str:
    """The first intent whose keywords occur in ``text`` (``unknown`` if none)."""
    if not text:
        return UNKNOWN
    lowered = text.lower()
    for intent, pattern in _COMPILED:
        if pattern.search(lowered):
            return intent
    return UNKNOWN


SLOT_VALUES = {"{rating}": "five", "{duration}": "five minutes"}
"""Typical values put into the example sentences' slots."""


def example_sentences(matcher: IntentMatcher) -> tuple[list[str], list[str]]:
    """Every example sentence of every intent (slots filled) and its intent, in parallel."""
    sentences: list[str] = []
    intents: list[str] = []
    for name, intent in matcher.intents.intents.items():
        for sentence in intent.sentences:
            for slot, value in SLOT_VALUES.items():
                sentence = sentence.replace(slot, value)
            sentences.append(" ".join(sentence.split()))
            intents.append(name)
    return sentences, intents


class FuzzyBaseline:
    """``extractOne`` of a transcript over all example sentences; the winner's intent."""

    def __init__(self, sentences: Sequence[str], intents: Sequence[str]) -> None:
        if len(sentences) != len(intents):
            raise ValueError("sentences and intents must be parallel")
        self.sentences = list(sentences)
        self.intents = list(intents)

    @classmethod
    def from_matcher(cls, matcher: IntentMatcher) -> FuzzyBaseline:
        return cls(*example_sentences(matcher))

    def intent(self, text: str | None) -> str:
        if not text or not self.sentences:
            return UNKNOWN
        best = process.extractOne(text, self.sentences, processor=utils.default_process)
        if best is None:
            return UNKNOWN
        return self.intents[best[2]]
