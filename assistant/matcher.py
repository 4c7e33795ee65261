"""From a transcript to an intent: crisis check first, then exact, then fuzzy.

1. :class:`~assistant.crisis.CrisisDetector` runs on every text first. It has no
   cutoff: a match is ``crisis`` with confidence 1.
2. Steady's name, where it only addresses the app ("hey steady, stop"), is dropped.
   Slots are pulled out (a 0–10 rating, a duration) and replaced by placeholders,
   so "anxious about a seven" and "anxious about a six" match the same sentence.
3. An exact hit on an expanded example sentence scores 1. Fillers ("um", "well",
   "let me think") are only ever matched this way.
4. Otherwise rapidfuzz scores the text against every example sentence; the best
   sentence per intent gives that intent's score. Above ``accept`` the intent is
   taken; between ``confirm`` and ``accept`` Steady asks "did you mean ...?";
   below, the text is ``unknown``.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from rapidfuzz import fuzz, process

from assistant.crisis import CrisisDetector, CrisisFinding
from assistant.crisis_net import CrisisNet, load_crisis
from assistant.intents import FILLER, OUT_OF_SCOPE, UNKNOWN, IntentSet
from assistant.numbers import Span, find_duration, find_rating, words_of
from assistant.prebuilt import NOT_KEPT, Prebuilt
from assistant.text import normalize, noun_s_as, without_name
from assistant.word_model import Building

log = logging.getLogger(__name__)

RATING_SLOT = "ratingslot"
DURATION_SLOT = "durationslot"

ACCEPT = 0.80
"""Fuzzy scores at or above this are taken without asking."""
CONFIRM = 0.62
"""Fuzzy scores from here up to ACCEPT get a "did you mean ...?"."""
EVIDENCE_WEIGHT = 0.2
"""How much the telling words reorder the intents' best sentence scores: "i'm so sad
today" is one letter from "i'm so mad today", but "sad" is a word only sad uses."""
CUTOFF = 40.0
"""Examples scoring under this (0–100) are not considered at all."""
CONTAINED_MIN_WORDS = 3
"""Examples this long or longer also count when contained in a longer utterance..."""
CONTAINED_WEIGHT = 0.9
"""...at this discount."""
SAID_ALONE = frozenset(
    {"stop", "pause", "resume", "slower", "faster", "repeat", "yes", "no", "goodbye"}
)
"""Commands and answers, which people say on their own or with a few words around them
("okay let's stop now please"). Inside a longer sentence their words mean something
else: "my mind won't stop going over the what ifs" is not a stop, "the squeeze and let
go exercise" not a yes."""
SAID_ALONE_EXTRA = 4
"""How many words more than its example an utterance may have for a command's example
to count as contained in it."""
TIE = 0.04
"""Intents scoring within this of the best are tied."""
AGREE = 0.62
"""Below ACCEPT, a fuzzy score this high is taken when the telling words agree..."""
AGREE_SHARE = 0.4
"""...that is, when at least this share of the content words point to the same intent.
(Both chosen on the development set's text: 294 -> 300 of 310 right, no out-of-domain
sentence taken; its audio decodes were unchanged within 2 of 1,578.)"""
WORDS_SURE = 0.9
"""Below ACCEPT, a fuzzy score of CONFIRM or more is also taken when the intent's words
as a whole (:class:`~assistant.word_model.WordModel`) make it at least this likely.
(Chosen on design sets of fresh phrasings: about 3 in 100 more of them understood
without asking, none of the out-of-scope requests taken for one of Steady's.) Not for
the recognizer's grammar pass, which puts any speech into Steady's words: there
"any updates on the election" came back as "any date son the a relaxation"."""
STOP_WORDS = frozenset(
    "i me my myself am is are was were be been being a an the and or but so to of in on at "
    "for with it this that just really very quite kind sort like um uh do does did have has "
    "had you your can could would will shall should please ok right now today tonight bit "
    "little all some any me".split()
)


@dataclass(frozen=True)
class Match:
    """What a piece of text means to Steady."""

    text: str
    """The text that was matched (as given)."""
    intent: str
    """Intent name, ``crisis``, or ``unknown``."""
    confidence: float
    """0..1: 1 for crisis and exact matches."""
    slots: dict[str, float] = field(default_factory=dict)
    """``rating`` (0–10) and ``duration`` (seconds) when present."""
    crisis: CrisisFinding | None = None
    """Set when the crisis check fired."""
    guess: str | None = None
    """The best intent when confidence was too low to take it (for "did you mean")."""
    matched: str = ""
    """The example sentence that scored best (for debugging)."""
    out_of_scope: bool = False
    """Understood, with ``intent`` ``unknown``, as a request Steady does not handle
    ("set a timer for ten minutes"): not a failure to hear."""

    def as_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 3),
            "slots": {k: (int(v) if float(v).is_integer() else v) for k, v in self.slots.items()},
        }


def _in_scope(match: Match) -> Match:
    """``match`` as the rest of Steady sees it: a request Steady does not handle is
    ``unknown`` (flagged :attr:`Match.out_of_scope`), and is never offered as a
    "did you mean"."""
    if match.intent == OUT_OF_SCOPE:
        return replace(match, intent=UNKNOWN, guess=None, out_of_scope=True)
    if match.guess == OUT_OF_SCOPE:
        return replace(match, guess=None)
    return match


def _query(text: str) -> tuple[str, dict[str, float]]:
    """``text`` as the matcher compares it, and its slots: normalised, without Steady's
    name where it only addresses the app, slots replaced by placeholder words. What
    people say and the example sentences both pass through here.

    A noun's "'s" becomes "is" ("my anxiety's been bad" has the word "anxiety" in it);
    a possessive ("my dad's birthday") comes out the same way on both sides."""
    return _placeholder(noun_s_as(without_name(normalize(text)), "is"))


def _placeholder(text: str) -> tuple[str, dict[str, float]]:
    """Slots out of ``text`` (normalised), replaced by placeholder words."""
    slots: dict[str, float] = {}
    words = words_of(text)
    found: list[tuple[Span, str, str]] = []
    duration = find_duration(text)
    if duration is not None:
        found.append((duration, "duration", DURATION_SLOT))
    rating = find_rating(text)
    if rating is not None and not (
        duration is not None and rating.start < duration.end and duration.start < rating.end
    ):
        found.append((rating, "rating", RATING_SLOT))
    for span, name, marker in sorted(found, key=lambda f: f[0].start, reverse=True):
        slots[name] = span.value
        words[span.start : span.end] = [marker]
    return " ".join(words), slots


_STATES = ("i feel", "i am", "i have", "i keep", "i think", "everything", "nothing", "my ")
"""How an example that describes a state, not a request, begins (normalised text)."""


def _asked_as_said(example: str, query: str) -> bool:
    """``example`` said in ``query`` in so many words and not negated: "i don't want to
    say something i'll regret" holds "want to say something" (a journal request), but
    after a "not"."""
    before, found, _ = f" {query} ".partition(f" {example} ")
    return bool(found) and before.split()[-1:] not in (["not"], ["never"], ["no"])


def _asked_for(example: str, query: str) -> bool:
    """A practice's ``example`` said in ``query`` as a request for it: not a state the
    practice answers ("everything feels unreal"), in so many words, not negated."""
    return not example.startswith(_STATES) and _asked_as_said(example, query)


def _within(short: str, long: str) -> bool:
    """True when every word of ``short`` occurs in the longer ``long``, in order."""
    if len(short) >= len(long):
        return False
    rest = iter(long.split())
    return all(word in rest for word in short.split())


def in_order(example: str, query: str) -> float:
    """The share of ``example``'s words found in ``query`` that are also in the same
    order there (1 when there are none).

    ``token_set_ratio`` sees only which words are shared, so "let me dump everything
    that is in my head" held "that is everything" (a goodbye) as fully as "i feel so
    anxious about work" holds "i feel anxious". Word order tells them apart.
    """
    said = query.split()
    wanted = [w for w in example.split() if w in said]
    if not wanted:
        return 1.0
    # Longest common subsequence of the shared words, by the usual table.
    row = [0] * (len(said) + 1)
    for word in wanted:
        diagonal = 0
        for j, other in enumerate(said, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if word == other else max(row[j], row[j - 1])
    return row[-1] / len(wanted)


@dataclass
class Tables:
    """What the matcher derives from the example sentences: built once here, or read
    back from :mod:`assistant.prebuilt` on later starts."""

    intents: IntentSet
    exact: dict[str, str]
    """Every example (normalised, slots as placeholders) and its intent."""
    sentences: list[str]
    """The examples that fuzzy matching scores, by word count (see ``_hits``)..."""
    owners: list[str]
    """...and the intent of each."""
    words: Building
    """What the examples' words point to (:class:`~assistant.word_model.WordModel`)."""

    @classmethod
    def build(cls, intents: IntentSet) -> Tables:
        exact: dict[str, str] = {}
        sentences: list[str] = []
        owners: list[str] = []
        for intent in intents.intents.values():
            if intent.name == "crisis" or intent.kind == FILLER:
                continue  # the rule-based check owns crisis; fillers are exact only
            for s in intent.sentences:
                # Literal numbers in examples ("give me a minute") become placeholders
                # exactly as they do in what people say.
                norm, _ = _query(
                    s.replace("{rating}", RATING_SLOT).replace("{duration}", DURATION_SLOT)
                )
                norm = norm.replace(f"{RATING_SLOT} out of ten", RATING_SLOT)
                norm = s if norm == s else norm  # one copy of a sentence already plain
                if norm and norm not in exact:
                    exact[norm] = intent.name
                    sentences.append(norm)
                    owners.append(intent.name)
        # Fillers count only word for word, and never over a request's own example:
        # "oh my god" must not take "oh my god i'm panicking" by containment.
        for intent in intents.intents.values():
            if intent.kind == FILLER:
                for s in intent.sentences:
                    exact.setdefault(_query(s)[0], intent.name)
        exact.pop("", None)
        # Sorted by word count, so the examples the containment score applies to (see
        # _hits) are one slice.
        order = sorted(range(len(sentences)), key=lambda i: sentences[i].count(" "))
        return cls(
            intents,
            exact,
            [sentences[i] for i in order],
            [owners[i] for i in order],
            Building(sentences, owners, STOP_WORDS),
        )


class IntentMatcher:
    """Matches text to intents. Build once; :meth:`match` is cheap."""

    def __init__(
        self,
        intents: IntentSet,
        crisis: CrisisDetector,
        *,
        accept: float = ACCEPT,
        confirm: float = CONFIRM,
        agree: float = AGREE,
        agree_share: float = AGREE_SHARE,
        net: CrisisNet | None = None,
        tables: Tables | None = None,
        prebuilt: Prebuilt = NOT_KEPT,
    ) -> None:
        """``tables`` are built from ``intents`` when not given; ``prebuilt`` is where
        tables derived from the bundled data are kept (this matcher's, when they are
        the bundled ones, and the recognizer's grammar: see :mod:`assistant.prebuilt`)."""
        self.intents = intents
        self.crisis = crisis
        self.net = net
        self.accept = accept
        self.confirm = confirm
        self.agree = agree
        self.agree_share = agree_share
        self.tables = tables if tables is not None else Tables.build(intents)
        self.prebuilt = prebuilt
        self._exact = self.tables.exact
        self._sentences = self.tables.sentences
        self._owners = self.tables.owners
        counts = [s.count(" ") + 1 for s in self._sentences]
        self._first_long = bisect.bisect_left(counts, CONTAINED_MIN_WORDS)
        self._counts = counts
        self._words = self.tables.words
        self._strict = {i.name: i.accept for i in intents.intents.values() if i.accept is not None}

    @classmethod
    def from_data(
        cls, folder: Path, language: str = "en", prebuilt: Prebuilt = NOT_KEPT
    ) -> IntentMatcher:
        """Load sentences and crisis rules from the data folder. The sentences' tables
        may be kept in ``prebuilt``, whose key must cover ``folder`` (its default key
        covers the bundled data); the crisis rules are read afresh every time."""
        crisis, net = load_crisis(folder / "safety" / language / "crisis.yaml")
        tables = prebuilt.get(
            f"sentences-{language}",
            Tables,
            lambda: Tables.build(IntentSet.from_dir(folder / "sentences" / language, language)),
        )
        return cls(tables.intents, crisis, net=net, tables=tables, prebuilt=prebuilt)

    def heard_crisis(
        self, readings: Iterable[str], runners_up: Iterable[str] = ()
    ) -> CrisisFinding | None:
        """The crisis check for recognised speech.

        The rules read the recognizer's best ``readings`` first, then its
        ``runners_up`` (the rest of its n-best lists): in noise or an unusual voice
        the words that were really said are often only its second or fifth guess.
        A best reading's finding is set aside when the other best reading heard the
        same words inside a figurative sentence. When a best reading is plainly
        figurative, runners-up and the net are not consulted ("my boss is going to kill
        me if i'm late" can come back as "my mom is going to kill me..."). Otherwise a
        runner-up finding is ``unsure``, and last comes the net, which forgives a few
        misheard letters in any reading (its findings are ``unsure`` too).
        """
        best = [t for t in readings if t]
        figurative = [t for t in best if self.crisis.figurative_in(t)]
        for text in best:
            finding = self.crisis.check(text)
            if finding is None:
                continue
            # One pass heard the risky word inside a figurative sentence ("i tied the
            # rope to the boat") while the other, pulled towards Steady's own sentences,
            # lost the words that made it harmless ("i tied a rope to the most").
            if any(self.crisis.figuratively_heard(text, f) for f in figurative if f != text):
                continue
            return finding
        if figurative:
            return None  # runners-up and near misses are guesses; this reading is not
        others = [t for t in runners_up if t and t not in best]
        for text in others:
            finding = self.crisis.check(text)
            if finding is not None:
                return replace(finding, unsure=True)
        return self.net.check([*best, *others]) if self.net is not None else None

    def evidence(self, query: str) -> dict[str, float]:
        """For each intent, the share of the telling words in ``query`` that point to it.

        Each content word splits one vote among the intents whose examples use it, in
        proportion to how often each uses it
        (:attr:`~assistant.word_model.WordModel.leanings`); words no example uses count
        against every intent. Stop words do not vote.
        """
        words = [w for w in query.split() if w not in STOP_WORDS]
        if not words:
            return {}
        leanings = self._words.get().leanings
        votes: dict[str, float] = {}
        for word in words:
            for owner, share in leanings.get(word, {}).items():
                votes[owner] = votes.get(owner, 0.0) + share
        return {k: v / len(words) for k, v in votes.items()}

    def match(
        self,
        text: str,
        prefer: Iterable[str] = (),
        *,
        check_crisis: bool = True,
        free_words: bool = True,
    ) -> Match:
        """The intent of ``text``. Intents in ``prefer`` (what the dialog expects) get a
        small bonus, so "yes" after a question wins over a look-alike.

        ``check_crisis=False`` is only for a caller that has already run the crisis
        check over every reading of the utterance (:meth:`heard_crisis`).
        ``free_words=False`` says that ``text`` was made of Steady's own words whatever
        was said (the recognizer's grammar pass): what its words point to as a whole
        is then no evidence (see :data:`WORDS_SURE`)."""
        finding = self.crisis.check(text) if check_crisis else None
        if finding is not None:
            return Match(text, "crisis", 1.0, crisis=finding)
        return _in_scope(self._match(text, prefer, free_words))

    def _match(self, text: str, prefer: Iterable[str], free_words: bool = True) -> Match:
        query, slots = _query(text)
        if not query:
            # Nothing but sounds like "um" and "hmm" (normalising drops them): a filler.
            only_sounds = not normalize(text) and any(c.isalpha() for c in text)
            return Match(text, FILLER, 1.0) if only_sounds else Match(text, UNKNOWN, 0.0)
        exact = self._exact_hit(text, query, slots)
        if exact is not None:
            return exact
        best = self._score(query, set(prefer))
        if not best:
            return Match(text, UNKNOWN, 0.0, slots)
        evidence = self.evidence(query)
        best.sort(key=lambda b: b[1] + EVIDENCE_WEIGHT * evidence.get(b[0], 0.0), reverse=True)
        (intent, score, sentence) = best[0]
        tied = [b for b in best if score - b[1] < TIE]
        ours = [b for b in tied if b[0] != OUT_OF_SCOPE]
        if ours and len(ours) < len(tied):
            # As close to a request of Steady's as to one it does not handle ("set a
            # timer for five minutes of breathing"): Steady's own request is meant.
            tied = ours
            intent, score, sentence = ours[0]
        if len(tied) > 1:
            # An example that holds another tied one's words, in order, explains more of
            # what was said: "i need to calm down before i say something" over "i need
            # to calm down".
            tied = [b for b in tied if not any(_within(b[2], o[2]) for o in tied)]
            intent, score, sentence = tied[0]
        if len(tied) > 1:
            asked = self._practice_asked_beside_feeling(query, tied)
            if asked:
                tied = asked
                intent, score, sentence = tied[0]
        if len(tied) > 1:
            # A near-tie on sentence similarity: the telling words decide, and only a
            # clear lead counts; otherwise it is not a confident answer.
            tied.sort(key=lambda b: evidence.get(b[0], 0.0), reverse=True)
            lead = evidence.get(tied[0][0], 0.0) - evidence.get(tied[1][0], 0.0)
            intent, _, sentence = tied[0]
            if lead < 0.1:
                score = min(score, self.accept - 0.01)
        needed = self.needed(intent)
        if score >= needed:
            return Match(text, intent, score, slots, matched=sentence)
        # Second opinion: the words that only this intent's examples use. When the
        # closest sentence and the telling words agree, the match is taken (not for an
        # intent that asks for a clearer request than usual).
        share = evidence.get(intent, 0.0)
        if score >= self.agree and share >= self.agree_share and needed <= self.accept:
            return Match(text, intent, max(score, self.accept), slots, matched=sentence)
        guess = intent if score >= self.confirm else None
        if (
            free_words
            and guess is not None
            and needed <= self.accept
            and self._words.get().posterior(query).get(guess, 0.0) >= WORDS_SURE
        ):
            # A third: what the words as a whole point to (a sentence unlike any one
            # example, but in the intent's own words).
            return Match(text, intent, max(score, self.accept), slots, matched=sentence)
        return Match(text, UNKNOWN, score, slots, guess=guess, matched=sentence)

    def _practice_asked_beside_feeling(
        self, query: str, tied: list[tuple[str, float, str]]
    ) -> list[tuple[str, float, str]]:
        """The practices among ``tied`` when ``query`` is a feeling and a practice asked
        for, both in full ("i feel anxious can you help me breathe"): the person has
        said what they want to do about the feeling. Empty otherwise. A practice example
        that describes a state ("everything feels unreal", a sign for grounding) is a
        feeling here, not a request."""
        kinds = {b[0]: self.intents.intents[b[0]].kind for b in tied}
        # "can you help me ..." before the practice is how it was asked, not a request.
        if not all(kind in ("practice", "feeling") or i == "help" for i, kind in kinds.items()):
            return []
        said = [b for b in tied if _within(b[2], query)]
        asked = [b for b in said if kinds[b[0]] == "practice" and _asked_for(b[2], query)]
        felt = [b for b in said if b not in asked and b[0] != "help"]
        return asked if asked and felt else []

    def exact(self, text: str) -> Match | None:
        """``text`` as one of the example sentences word for word (slots aside), without
        the crisis check or any fuzzy scoring; None when it is not one."""
        hit = self._exact_hit(text, *_query(text))
        return None if hit is None else _in_scope(hit)

    def _exact_hit(self, text: str, query: str, slots: dict[str, float]) -> Match | None:
        intent = self._exact.get(query) if query else None
        return None if intent is None else Match(text, intent, 1.0, slots, matched=query)

    def needed(self, intent: str) -> float:
        """The score at which ``intent`` is taken without asking."""
        return max(self.accept, self._strict.get(intent, self.accept))

    def asks_first(self, match: Match) -> bool:
        """True when ``match``'s intent asks for a clearer request than this one (its
        ``accept`` in the sentence file), however the match was arrived at."""
        strict = self._strict.get(match.intent)
        return strict is not None and match.confidence < strict

    def asked_beside(self, text: str, practice: Match, feeling: Match) -> bool:
        """True when ``text`` (understood as ``practice``) holds the feeling another
        reading of the same speech understood (``feeling``'s example, its words in
        order) and the practice asked for in so many words: the same person heard
        whole, where the other reading lost the request ("...can we do that breathing
        thing" against "...that freedom thing")."""
        kind = self.intents.intents
        if practice.intent not in kind or feeling.intent not in kind:
            return False
        if kind[practice.intent].kind != "practice" or kind[feeling.intent].kind != "feeling":
            return False
        asked, felt = practice.matched, feeling.matched
        query, _ = _query(text)
        return bool(asked and felt and _asked_for(asked, query) and _within(felt, query))

    def support(self, text: str, intent: str) -> float:
        """How well ``text`` matches ``intent``'s examples (0..1), whatever wins overall."""
        query, _ = _query(text)
        if not query:
            return 0.0
        if self._exact.get(query) == intent:
            return 1.0
        for name, score, _ in self._score(query, set()):
            if name == intent:
                return score
        return 0.0

    def _score(self, query: str, prefer: set[str]) -> list[tuple[str, float, str]]:
        """Best score per intent, highest first."""
        hits = self._hits(query)
        per_intent: dict[str, tuple[float, str]] = {}
        for sentence, score, idx in hits:
            owner = self._owners[idx]
            value = score / 100.0 + (0.05 if owner in prefer else 0.0)
            if owner not in per_intent or value > per_intent[owner][0]:
                per_intent[owner] = (min(value, 0.99), sentence)
        ranked = sorted(per_intent.items(), key=lambda kv: kv[1][0], reverse=True)
        return [(name, sc, sent) for name, (sc, sent) in ranked]

    def _hits(self, query: str, limit: int = 60) -> list[tuple[str, float, int]]:
        """The best-scoring examples for ``query``: character-level similarity that
        forgives extra words around a known phrase.

        ``ratio`` rewards near-identical sentences despite misheard letters. When an
        example of three or more words is contained in what was said ("i feel so anxious
        about work and everything" holds "i feel anxious"), ``token_set_ratio`` lets it
        count, slightly discounted. One- and two-word examples must match on their own,
        and so must an utterance shorter than the example: token_set_ratio is symmetric
        and would also give 100 to a fragment of the example ("feel" in "i feel so
        angry"), so a single shared word could decide the intent. Chosen on the tuning
        set (docs/accuracy.md).

        Each example's score is the better of the two. Both come from rapidfuzz's C
        scorers, one list each, merged: an example in the merged top ``limit`` is in
        the top ``limit`` of one of the two lists."""
        best: dict[int, float] = {}
        for _, score, idx in process.extract(
            query, self._sentences, scorer=fuzz.ratio, limit=limit, score_cutoff=CUTOFF
        ):
            best[idx] = score
        words = query.count(" ") + 1
        end = bisect.bisect_right(self._counts, words)
        if end > self._first_long:
            for _, score, idx in process.extract(
                query,
                self._sentences[self._first_long : end],
                scorer=fuzz.token_set_ratio,
                limit=limit,
                score_cutoff=CUTOFF / CONTAINED_WEIGHT,
            ):
                i = idx + self._first_long
                if self._owners[i] in SAID_ALONE and words > self._counts[i] + SAID_ALONE_EXTRA:
                    continue
                score *= CONTAINED_WEIGHT * in_order(self._sentences[i], query)
                best[i] = max(best.get(i, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)[:limit]
        return [(self._sentences[i], score, i) for i, score in ranked if score >= CUTOFF]
