"""Which intent the words of a sentence point to, as a whole: a naive Bayes model.

The matcher's fuzzy score compares what was said with one example sentence at a time,
so a sentence no example resembles closely ("um i think i'm losing control everything
feels unreal") scores in the "did you mean" zone even when nearly every word in it is
one that only panic's examples use. This model reads the words instead: each intent's
examples give how often it uses each content word and each pair of neighbouring words,
and a sentence's words together give how likely each intent is to have produced it.
It is a second opinion only (see :mod:`assistant.matcher`): naive Bayes is sure of
itself far more often than it is right, so it never decides alone.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from collections.abc import Collection, Iterable

SMOOTHING = 0.5
"""Added to every count (additive smoothing), so a word an intent never uses makes it
unlikely rather than impossible."""


def features(words: list[str], stop_words: Collection[str]) -> list[str]:
    """Content words, and neighbouring pairs of them ("losing_control", "top_rated": the
    pairs keep a little of the order that single words lose). Pairs with a stop word in
    them ("talk_me") were tried and dropped: they are in every intent's phrasing, and
    made "talk me through it" a breathing request on their own."""
    found = [w for w in words if w not in stop_words]
    found += [
        f"{a}_{b}"
        for a, b in itertools.pairwise(words)
        if a not in stop_words and b not in stop_words
    ]
    return found


class WordModel:
    """Multinomial naive Bayes over the example sentences, every intent equally likely
    beforehand (an intent with many examples is not favoured), and the same counts as
    :attr:`leanings`."""

    def __init__(
        self, sentences: Iterable[str], owners: Iterable[str], stop_words: Collection[str]
    ) -> None:
        self.stop_words = stop_words
        counts: dict[str, Counter[str]] = {}
        for sentence, owner in zip(sentences, owners, strict=True):
            counts.setdefault(owner, Counter()).update(features(sentence.split(), stop_words))
        self.leanings = _leanings(counts)
        """For each content word, how its one vote splits among the intents that use it.

        An intent's share is how often its examples use the word, relative to all the
        content words of its examples (so an intent with many examples does not outvote
        one with few); the shares of a word sum to 1. "muscles" appears in a body scan now
        and then, but it is mostly a muscle-relaxation word, and votes that way."""
        vocabulary = set().union(*counts.values()) if counts else set()
        self.vocabulary = frozenset(vocabulary)
        self._log: dict[str, dict[str, float]] = {}
        self._unseen: dict[str, float] = {}
        for owner, seen in counts.items():
            total = math.log(sum(seen.values()) + SMOOTHING * len(vocabulary))
            self._log[owner] = {f: math.log(n + SMOOTHING) - total for f, n in seen.items()}
            self._unseen[owner] = math.log(SMOOTHING) - total

    def posterior(self, query: str) -> dict[str, float]:
        """For each intent, how likely it is to have said ``query`` (they sum to 1);
        empty when no word of ``query`` occurs in any example."""
        found = [f for f in features(query.split(), self.stop_words) if f in self.vocabulary]
        if not found:
            return {}
        scores = {
            owner: sum(logs.get(f, self._unseen[owner]) for f in found)
            for owner, logs in self._log.items()
        }
        top = max(scores.values())
        weights = {owner: math.exp(s - top) for owner, s in scores.items()}
        whole = sum(weights.values())
        return {owner: w / whole for owner, w in weights.items()}


def _leanings(counts: dict[str, Counter[str]]) -> dict[str, dict[str, float]]:
    """:attr:`WordModel.leanings` from each intent's feature counts (single words only)."""
    uses: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for owner, seen in counts.items():
        for feature, n in seen.items():
            if "_" in feature:  # a pair (normalised words have no "_" of their own)
                continue
            uses.setdefault(feature, {})[owner] = n
            totals[owner] = totals.get(owner, 0) + n
    leanings: dict[str, dict[str, float]] = {}
    for word, per_owner in uses.items():
        rates = {owner: n / totals[owner] for owner, n in per_owner.items()}
        whole = sum(rates.values())
        leanings[word] = {owner: rate / whole for owner, rate in rates.items()}
    return leanings


class Building:
    """A :class:`WordModel` built on a thread of its own, so that Steady starts (loads
    its speech model, which lets go of Python's lock) while it is counted; :meth:`get`
    waits for it."""

    def __init__(
        self, sentences: list[str], owners: list[str], stop_words: Collection[str]
    ) -> None:
        self._args = (sentences, owners, stop_words)
        self._model: WordModel | None = None
        self._thread: threading.Thread | None = threading.Thread(target=self._build, daemon=True)
        self._thread.start()

    def _build(self) -> None:
        try:
            self._model = WordModel(*self._args)
        except Exception:  # get() builds it again, and raises there
            self._model = None

    def get(self) -> WordModel:
        if self._thread is not None:
            self._thread.join()
        if self._model is None:
            self._model = WordModel(*self._args)
        return self._model

    def __getstate__(self) -> dict[str, object]:
        """Kept (:mod:`assistant.prebuilt`) as the finished model, without its thread."""
        return {"model": self.get()}

    def __setstate__(self, state: dict[str, object]) -> None:
        model = state["model"]
        if not isinstance(model, WordModel):
            raise TypeError("not a word model")
        self._model = model
        self._thread = None
