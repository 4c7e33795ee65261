"""A second, recall-first crisis check for *heard* speech.

The rules in :mod:`assistant.crisis` read words exactly. A recognizer mishears:
"pills" comes out as "bills", "end it all" as "and it all", "hurting myself" as
"hurting my shelf". This net compares short cue phrases ("take all my pills",
"hurt myself") with every reading of an utterance, a window of words at a time,
and forgives a few wrong letters. It never lowers the bar of the rules; it only adds
findings, marked ``unsure`` so the reply can say it may have misheard. Figurative
rules still apply to what it finds.

The cues are data (``intents/safety/<lang>/crisis.yaml``, key ``net``); a cue must be
long enough (in letters) that a near miss is unlikely to be an ordinary sentence.
Nothing here logs the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from assistant.crisis import CATEGORIES, CrisisDetector, CrisisFinding
from assistant.datafiles import load_yaml, validate
from assistant.errors import DataFileError
from assistant.text import normalize

MIN_CUE_LETTERS = 8
"""Cues shorter than this (spaces not counted) are too easy to hit by chance."""
WORD_MIN = 60.0
"""Each telling word of a cue needs a word in the window at least this similar (0–100),
so a near miss of the whole phrase cannot hinge on its one telling word
("killing me" is not "killing myself")."""
FUNCTION_WORDS = frozenset(
    "i me my a an the to of in on at and or but is am are was be been it this that i'm "
    "do not so just all".split()
)


@dataclass(frozen=True)
class Cue:
    category: str
    text: str
    """Normalised cue phrase."""
    words: int
    telling: tuple[str, ...]
    """Its words that carry the meaning (not function words)."""


class CrisisNet:
    """Fuzzy cue phrases over recognised text; a finding is always ``unsure``."""

    def __init__(
        self,
        cues: Sequence[Cue],
        figurative: Sequence[re.Pattern[str]],
        negated: Sequence[re.Pattern[str]],
        threshold: float,
    ) -> None:
        self.cues = tuple(cues)
        self._figurative = tuple(figurative)
        self._negated = tuple(negated)
        self.threshold = threshold
        self._by_size: dict[int, list[Cue]] = {}
        for cue in self.cues:
            self._by_size.setdefault(cue.words, []).append(cue)
        self._texts = {n: [c.text for c in cues] for n, cues in self._by_size.items()}

    def score(
        self, text: str, cutoff: float | None = None
    ) -> tuple[float, Cue | None, tuple[int, int]]:
        """The best cue score in ``text`` (0–100, scores under ``cutoff`` count as 0)
        whose telling words were all heard, that cue, and the span of words it covers."""
        return self._best(normalize(text).split(), cutoff)

    def _best(
        self, words: list[str], cutoff: float | None = None
    ) -> tuple[float, Cue | None, tuple[int, int]]:
        best: tuple[float, Cue | None, tuple[int, int]] = (0.0, None, (0, 0))
        for size, cues in self._by_size.items():
            spans = [
                (start, min(start + n, len(words)))
                for n in (size, size + 1)
                for start in range(0, max(1, len(words) - n + 1))
            ]
            windows = [" ".join(words[a:b]) for a, b in spans]
            scores = process.cdist(
                self._texts[size],
                windows,
                scorer=fuzz.ratio,
                score_cutoff=self.threshold if cutoff is None else cutoff,
            )
            for i, j in sorted(zip(*scores.nonzero(), strict=True), key=lambda ij: -scores[ij]):
                value = float(scores[i, j])
                if value <= best[0]:
                    break
                a, b = spans[j]
                if _telling_heard(cues[i], words[a:b]):
                    best = (value, cues[i], (a, b))
                    break
        return best

    def check(self, readings: Iterable[str]) -> CrisisFinding | None:
        """A finding when any reading holds a cue closely enough (and not figuratively)."""
        for reading in readings:
            norm = normalize(reading)
            if not norm:
                continue
            value, cue, span = self._best(norm.split())
            if cue is None or value < self.threshold:
                continue
            if self._figurative_here(norm, span):
                continue
            negated = self._covered(norm, span, self._negated)
            return CrisisFinding(cue.category, negated=negated, unsure=True)
        return None

    def _figurative_here(self, norm: str, span: tuple[int, int]) -> bool:
        return self._covered(norm, span, self._figurative)

    @staticmethod
    def _covered(norm: str, span: tuple[int, int], patterns: Sequence[re.Pattern[str]]) -> bool:
        """Whether a pattern's match overlaps the cue's words ``span``."""
        words = norm.split()
        start = len(" ".join(words[: span[0]])) + (1 if span[0] else 0)
        end = start + len(" ".join(words[span[0] : span[1]]))
        for pattern in patterns:
            for m in pattern.finditer(norm):
                if m.start() < end and start < m.end():
                    return True
        return False


def _telling_heard(cue: Cue, window: Sequence[str]) -> bool:
    """Every telling word of ``cue`` has a look-alike in ``window``; with three or more
    telling words, one of them may be lost."""
    missed = sum(max(fuzz.ratio(t, w) for w in window) < WORD_MIN for t in cue.telling)
    return missed == 0 or (missed == 1 and len(cue.telling) >= 3)


def load_crisis(path: Path) -> tuple[CrisisDetector, CrisisNet | None]:
    """The crisis rules and their net, from one read of the rules file."""
    data = load_yaml(path)
    validate(data, "crisis", path)
    detector = CrisisDetector.from_data(data, path)
    net = data.get("net")
    if not net:
        return detector, None
    cues = build_cues(net["cues"], path)
    return detector, CrisisNet(cues, detector.figurative, detector.negated, float(net["threshold"]))


def build_cues(data: dict[str, list[str]], path: Path | str = "net") -> list[Cue]:
    """Cues from ``{category: [phrase, ...]}``."""
    out: list[Cue] = []
    for category, phrases in data.items():
        if category not in CATEGORIES:
            known = ", ".join(CATEGORIES)
            raise DataFileError(f"{path}: net.cues.{category} is not one of {known}.")
        for phrase in phrases:
            text = normalize(phrase)
            if len(text.replace(" ", "")) < MIN_CUE_LETTERS:
                raise DataFileError(
                    f"{path}: net cue {phrase!r} is shorter than {MIN_CUE_LETTERS} letters."
                )
            telling = tuple(w for w in text.split() if w not in FUNCTION_WORDS)
            if not telling:
                raise DataFileError(f"{path}: net cue {phrase!r} has no telling word.")
            out.append(Cue(category, text, len(text.split()), telling))
    return out
