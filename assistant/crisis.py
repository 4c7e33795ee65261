"""The crisis check: runs on every final transcript before anything else.

Rules are regular expressions kept as data (``intents/safety/<lang>/crisis.yaml``)
over normalised text. There is no fuzzy cutoff anywhere on this path: a rule that
matches raises the crisis flow. Figurative rules ("this traffic is killing me")
only remove a match they fully contain; negated rules ("i'm not suicidal, but...")
soften the reply but never hide another rule's match. Nothing here logs the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.datafiles import load_yaml, require, validate
from assistant.errors import DataFileError
from assistant.text import normalize, noun_s_as

CATEGORIES = ("explicit", "passive", "plan", "self_harm", "danger")


@dataclass(frozen=True)
class CrisisFinding:
    """What the crisis check found. Holds no words of the utterance."""

    category: str
    """One of :data:`CATEGORIES`."""
    negated: bool
    """True when every match sits inside a negated statement ("i'm not suicidal but")."""
    unsure: bool = False
    """True when only a near miss of the words was heard (the recognizer may have erred)."""


@dataclass(frozen=True)
class _Rule:
    category: str
    pattern: re.Pattern[str]


class CrisisDetector:
    """Flags talk of suicide, self-harm, a plan or means, abuse or an emergency."""

    def __init__(
        self,
        rules: list[_Rule],
        negated: list[re.Pattern[str]],
        figurative: list[re.Pattern[str]],
    ) -> None:
        self._rules = rules
        self.negated = negated
        """Rules that mark a statement as negated ("i'm not suicidal but")."""
        self.figurative = figurative
        """Rules for figurative speech ("this traffic is killing me")."""

    @classmethod
    def from_yaml(cls, path: Path) -> CrisisDetector:
        data = load_yaml(path)
        validate(data, "crisis", path)
        return cls.from_data(data, path)

    @classmethod
    def from_data(cls, data: dict[str, Any], path: Path) -> CrisisDetector:
        """The rules from a crisis file already read and checked against its schema."""
        cats = require(data, "categories", dict, path)
        rules: list[_Rule] = []
        for cat, patterns in cats.items():
            if cat not in CATEGORIES:
                raise DataFileError(
                    f"{path}: categories.{cat} is not one of {', '.join(CATEGORIES)}."
                )
            for i, p in enumerate(_patterns(patterns, f"categories.{cat}", path)):
                rules.append(_Rule(cat, _compile(p, f"categories.{cat}[{i}]", path)))
        negated = [
            _compile(p, f"negated[{i}]", path)
            for i, p in enumerate(_patterns(data.get("negated", []), "negated", path))
        ]
        figurative = [
            _compile(p, f"figurative[{i}]", path)
            for i, p in enumerate(_patterns(data.get("figurative", []), "figurative", path))
        ]
        return cls(rules, negated, figurative)

    def figurative_in(self, text: str) -> bool:
        """Whether ``text`` holds figurative speech ("my boss is going to kill me")."""
        norm = normalize(text)
        return any(f.search(norm) for f in self.figurative)

    def figuratively_heard(self, text: str, other: str) -> bool:
        """Whether every word that raised a finding in ``text`` stands inside a figurative
        phrase of ``other`` (another reading of the same speech).

        "i tied a rope to the most" and "i tied a rope to the boat" are one sentence
        heard two ways; the second heard the words that make "rope" harmless. A finding
        with any word the figurative phrase lacks ("...and i want to die") stands.
        """
        other_norm = normalize(other)
        figurative = {
            word
            for f in self.figurative
            for m in f.finditer(other_norm)
            for word in m.group().split()
        }
        found = self.words_found(text)
        return (
            bool(found)
            and bool(figurative)
            and all(any(_same_word(w, f) for f in figurative) for w in found)
        )

    def words_found(self, text: str) -> set[str]:
        """The content words of every rule match in ``text`` that is not figurative."""
        norm = normalize(text)
        fig_spans = [m.span() for f in self.figurative for m in f.finditer(norm)]
        words: set[str] = set()
        for rule in self._rules:
            for m in rule.pattern.finditer(norm):
                if not _inside(m.span(), fig_spans):
                    words.update(w for w in m.group().split() if w not in _FUNCTION_WORDS)
        return words

    def check(self, text: str) -> CrisisFinding | None:
        """The most serious finding in ``text``, or None.

        A noun's "'s" may be "is", "has" or a possessive: "my throat's closing up" and
        "my wife's fallen" are read with each, so the rules need not spell every form.
        """
        norm = normalize(text)
        if not norm:
            return None
        softened: CrisisFinding | None = None
        for reading in _readings(norm):
            finding = self._check(reading)
            if finding is not None and not finding.negated:
                return finding
            softened = softened or finding
        return softened

    def _check(self, norm: str) -> CrisisFinding | None:
        fig_spans = [m.span() for f in self.figurative for m in f.finditer(norm)]
        # A hedge inside an everyday phrase is no hedge ("not going to do anything this
        # weekend").
        neg_spans = [
            m.span()
            for n in self.negated
            for m in n.finditer(norm)
            if not _inside(m.span(), fig_spans)
        ]
        plain: str | None = None
        softened: str | None = None
        for rule in self._rules:
            for m in rule.pattern.finditer(norm):
                span = m.span()
                if _inside(span, fig_spans):
                    continue
                if _inside(span, neg_spans):
                    softened = softened or rule.category
                    continue
                plain = plain or rule.category
                break
        if plain is not None:
            return CrisisFinding(plain, negated=False)
        if softened is not None or neg_spans:
            return CrisisFinding(softened or "explicit", negated=True)
        return None


_FUNCTION_WORDS = frozenset(
    "i me my a an the to of in on at and or but is am are was be been it this that do not "
    "so just all for with".split()
)


def _readings(norm: str) -> list[str]:
    """``norm`` as said, then with each noun's "'s" as "is" and as "has"."""
    if "'s" not in norm:
        return [norm]
    return [norm, noun_s_as(norm, "is"), noun_s_as(norm, "has")]


def _same_word(a: str, b: str) -> bool:
    """One word, perhaps inflected: "gun" and "guns", "rope" and "ropes"."""
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and len(short) >= 3 and len(long_) - len(short) <= 3


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] and span[1] <= b for a, b in spans)


def _patterns(value: Any, field: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataFileError(f"{path}: {field} must be a list of strings.")
    return value


def _compile(pattern: str, field: str, path: Path) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise DataFileError(f"{path}: {field} is not a valid pattern ({exc}).") from None
