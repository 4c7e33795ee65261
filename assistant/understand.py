"""From audio or text to a :class:`~assistant.matcher.Match`: the one pipeline every
entry point uses (``recognize``, ``run``, ``listen``, the accuracy script).

The crisis check sees every reading of an utterance — the grammar pass, the
open-vocabulary pass when it ran, and the grammar pass's runners-up — before any
intent is chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from difflib import SequenceMatcher
from pathlib import Path

from rapidfuzz import fuzz

from assistant.audio_format import Audio, convert
from assistant.config import DEFAULT_END_SILENCE, DEFAULT_OPEN_PASS
from assistant.crisis import CrisisFinding
from assistant.intents import FILLER, NOT_IN_GRAMMAR, UNKNOWN
from assistant.matcher import IntentMatcher, Match
from assistant.paths import intents_dir, models_dir
from assistant.prebuilt import NOT_KEPT, Prebuilt
from assistant.stt import (
    Grammar,
    ModelLoad,
    SpeechToText,
    Transcript,
    VoskSpeechToText,
    join_utterances,
    model_fingerprint,
)
from assistant.text import normalize, single_spaced

log = logging.getLogger(__name__)

EXTRA_VOCABULARY = (
    "zero one two three four five six seven eight nine ten out of about a like maybe "
    "minute minutes seconds more half and for please okay ok yeah yes no"
)


SUPPORT_MIN = 0.55
"""The other reading must match the chosen intent at least this well (else: "did you mean")."""
AGREED_MIN = 0.76
"""Mean score at which two readings' shared guess is taken without asking (chosen on
the tuning and development sets: at 0.72, +31 right, -5 wrong of 1,052 decodes; raised
to 0.76 when out-of-domain requests such as "call my sister", heard as "calm my
sister", were still taken: +7 unknown right, 2 right answers become a right "did you
mean", of 2,400 design and fresh intent decodes)."""
SAFE_ON_EXACT = frozenset({"stop", "pause"})
"""Commands taken when either pass's best reading is one of their examples exactly, even
if the other pass heard something else ("stop" against "stuff"): acting on a misheard
"stop" costs a "resume", ignoring a real one takes control away (replayed on 6,000
design and fresh decodes: 5 more heard, no false stop or pause)."""
READINGS_TIE = 0.02
"""Two readings understood this close in confidence, as different intents, are tied."""
WHOLE_SENTENCE_OVER = 0.9
"""A best reading understood at least this well is not overruled by a runner-up that is a
whole sentence of Steady's (chosen on the development, tuning and fresh sets: 7 more
right of 1,278 intent decodes, none lost, out-of-domain requests included)."""
RUNNER_UP_MIN = 0.9
"""A runner-up reading of the recognizer decides only when matched this clearly."""
RUNNERS_UP_CLOSE = 0.9
"""A grammar reading disputed by the open reading still counts when it matched this
well and at least :data:`RUNNERS_UP_SHARE` of the grammar's runners-up mean the same."""
RUNNERS_UP_SHARE = 0.5
ELSEWHERE_SURE = 0.9
"""An open reading matched this well to a request Steady does not handle outweighs crisis
words found only among the grammar pass's runners-up (which are guesses) and by the
net's near misses."""
WHOLE_REQUEST = 75
"""How closely (rapidfuzz ratio, 0-100) the open reading must be the request Steady does
not handle that it matched, for that request to be all that was said: "read me the news
headlines" against "read me the headlines" (89), not "set a timer i've got the bills
ready" against "set a timer" (47)."""
ADDRESS_PHRASES = (
    "steady",
    "hey steady",
    "hi steady",
    "hello steady",
    "okay steady",
    "bye steady",
    "goodbye steady",
    "thanks steady",
    "thank you steady",
    "goodnight steady",
    "yes steady",
    "no steady",
    "no thanks steady",
)
"""Ways of addressing Steady by name, as grammar phrases: they join Steady's sentences
("hey steady" + "i feel anxious") and stand alone ("bye steady"). The matcher drops
the name (:func:`assistant.text.without_name`)."""
SAMPLE_RATINGS = ("three", "five", "six", "seven", "eight", "nine", "ten")
SAMPLE_DURATIONS = ("two minutes", "five minutes", "ten minutes", "a minute")
DURATION = "{duration}"
QUICK_COMMANDS = ("stop", "stop it", "stop now", "pause", "wait", "enough", "slower", "faster")
"""Whole utterances that need no more than a short pause to be final."""


def build_matcher(language: str = "en", prebuilt: Prebuilt = NOT_KEPT) -> IntentMatcher:
    """The intent matcher with the bundled sentences and crisis rules; the tables derived
    from the sentences (the matcher's and the recognizer's) may be kept in ``prebuilt``."""
    return IntentMatcher.from_data(intents_dir(), language, prebuilt)


def grammar_vocabulary(matcher: IntentMatcher) -> set[str]:
    """Single words the grammar may put between its sentences: numbers and a few fillers.

    Crisis words are deliberately not here: alone in a grammar they get "heard" in
    ordinary speech ("racing" -> "razor"). The open-vocabulary reading, which the
    crisis check always sees, hears them in context instead.
    """
    return set(EXTRA_VOCABULARY.split())


def _examples(matcher: IntentMatcher) -> Iterable[tuple[str, str, bool]]:
    """Every example sentence (fillers and out-of-scope requests aside) as (intent,
    phrase, has a duration), its slots filled with common values."""
    for intent in matcher.intents.intents.values():
        if intent.kind in NOT_IN_GRAMMAR:
            continue
        for sentence in intent.sentences:
            slotted = DURATION in sentence
            for rating in SAMPLE_RATINGS if "{rating}" in sentence else ("",):
                for duration in SAMPLE_DURATIONS if slotted else ("",):
                    filled = sentence.replace("{rating}", rating).replace(DURATION, duration)
                    yield intent.name, single_spaced(filled), slotted


def grammar_phrases(matcher: IntentMatcher) -> list[str]:
    """Every example sentence (see :func:`_examples`), slots filled with common values, as
    grammar phrases, and the ways of addressing Steady by name (:data:`ADDRESS_PHRASES`)."""
    out = {phrase for _, phrase, _ in _examples(matcher)}  # single-spaced already
    out.update(single_spaced(p) for p in ADDRESS_PHRASES)
    return sorted(out)


def settled_phrases(matcher: IntentMatcher) -> frozenset[str]:
    """Sentences of Steady's whose meaning no longer sentence of Steady's changes.

    "i feel anxious" begins 31 longer sentences ("i feel anxious about work"), all of
    them ``anxious``: once it is heard, whatever follows would be understood the same,
    so the utterance can end after a short pause. "i feel" (many intents), "box
    breathing" ("...for five minutes" sets how long) and crisis sentences are never
    settled. A rating said after a pause ("...about a seven") is asked for again.
    """
    meanings: dict[str, set[str]] = {}
    for intent, phrase, slotted in _examples(matcher):
        meanings.setdefault(phrase, set()).add(DURATION if slotted else intent)
    phrases = sorted(meanings)
    settled: set[str] = set()
    for i, phrase in enumerate(phrases):
        found = set(meanings[phrase])
        j = i + 1
        while j < len(phrases) and phrases[j].startswith(phrase + " ") and len(found) == 1:
            found |= meanings[phrases[j]]
            j += 1
        if len(found) == 1 and found.isdisjoint({"crisis", DURATION}):
            settled.add(phrase)
    return frozenset(settled)


def recognizer_grammar(
    matcher: IntentMatcher, known: Callable[[set[str]], frozenset[str]]
) -> Grammar:
    """Steady's sentences (:func:`grammar_phrases`), its single words
    (:func:`grammar_vocabulary`) and the utterances that need no long wait
    (:data:`QUICK_COMMANDS`, :func:`settled_phrases`), for a model whose lexicon is
    ``known``."""
    return Grammar.build(
        grammar_phrases(matcher),
        grammar_vocabulary(matcher),
        (*QUICK_COMMANDS, *settled_phrases(matcher)),
        known,
    )


def load_model(model: str | Path | None = None) -> ModelLoad:
    """Start loading the active (or given) model on a thread; hand it to
    :func:`build_stt`. A missing model, or one without its files, is reported here at
    once; one that fails to load when :func:`build_stt` waits for it."""
    from assistant.models import resolve_model

    return ModelLoad(resolve_model(models_dir(), model))


def build_stt(
    matcher: IntentMatcher,
    model: str | Path | ModelLoad | None = None,
    *,
    use_grammar: bool = True,
    open_pass: str = DEFAULT_OPEN_PASS,
    noise_suppression: bool = True,
    auto_gain: bool = True,
    end_silence: float = DEFAULT_END_SILENCE,
) -> VoskSpeechToText:
    """Vosk with the active (or given, or loading) model, Steady's sentences and
    vocabulary. The grammar made of them for this model is kept where ``matcher`` keeps
    its tables, and read back on later starts without waiting for the model."""
    loading = model if isinstance(model, ModelLoad) else load_model(model)
    grammar = matcher.prebuilt.get(
        f"grammar-{matcher.intents.language}-{model_fingerprint(loading.model_path)}",
        Grammar,
        lambda: recognizer_grammar(matcher, loading.known_words),
    )
    return VoskSpeechToText(
        loading,
        grammar,
        use_grammar=use_grammar,
        open_pass=open_pass,
        noise_suppression=noise_suppression,
        auto_gain=auto_gain,
        end_silence=end_silence,
    )


def match_transcript(
    matcher: IntentMatcher, transcript: Transcript, prefer: Iterable[str] = ()
) -> Match:
    """Crisis check over every reading first; then the most confident reading's intent.

    The grammar reading knows Steady's sentences, the open reading knows the language:
    each mishears different things, so whichever is understood with more confidence
    wins (a known intent over ``unknown``). A runner-up that is one of Steady's
    sentences word for word can still overrule a best reading that was not understood
    well (:func:`_whole_sentence_runner_up`).
    """
    readings = transcript.texts()
    finding = heard_crisis(matcher, transcript)
    if finding is not None and finding.unsure and _plainly_elsewhere(matcher, transcript):
        # "how tall is mount everest" heard plainly by the open pass, while the grammar
        # pass, forcing it into Steady's sentences, guessed "...mouth overdosed".
        log.debug("a runner-up's crisis words set aside: %r is a request", transcript.open_text)
        finding = None
    if finding is not None and _everyday_word_swapped(matcher, transcript):
        log.debug("the grammar's crisis word set aside: %r is a request", transcript.open_text)
        finding = None
    if finding is not None:
        return Match(transcript.text or readings[0], "crisis", 1.0, crisis=finding)
    if not readings:
        return matcher.match("", prefer)
    chosen = _from_best_readings(matcher, transcript, tuple(prefer))
    return _whole_sentence_runner_up(matcher, transcript, chosen) or chosen


def _plainly_elsewhere(matcher: IntentMatcher, transcript: Transcript) -> bool:
    """The open-vocabulary pass, which is not pulled towards Steady's sentences, heard
    a request Steady does not handle, word for word or nearly."""
    if not transcript.open_text:
        return False
    return _request_elsewhere(matcher, transcript.open_text) is not None


def _request_elsewhere(matcher: IntentMatcher, text: str) -> Match | None:
    """``text`` understood as a request Steady does not handle, at least
    :data:`ELSEWHERE_SURE`; None otherwise."""
    match = matcher.match(text, check_crisis=False)
    return match if match.out_of_scope and match.confidence >= ELSEWHERE_SURE else None


def _everyday_word_swapped(matcher: IntentMatcher, transcript: Transcript) -> bool:
    """The grammar pass heard the open pass's sentence, a plain request Steady does not
    handle, with a crisis word where the open pass heard an everyday one.

    The grammar knows Steady's sentences and a few fillers, not "music" or "news": in
    "play some music" it has nothing better for the last word than "noose". When the
    open pass heard the request whole ("play some music", word for word or nearly, and
    nothing else), the two readings agree on at least half the words, every crisis word
    of the grammar reading stands where the open pass heard another word, and the open
    reading holds no warning sign of its own, the crisis word was the grammar's only
    choice, not what was said. A request with more said after it ("set a timer i've got
    the bills ready") is not plain, and a finding from the sentence this one may finish
    or from a runner-up is not the grammar's best reading: both stand.
    """
    grammar, heard = transcript.text, transcript.open_text
    if not grammar or not heard or grammar == heard or transcript.follows:
        return False
    # The crisis words of the grammar reading (none: its finding, if any, came from
    # elsewhere, and stands).
    found = matcher.crisis.words_found(grammar)
    if not found or matcher.heard_crisis([heard]) is not None:
        return False
    request = _request_elsewhere(matcher, heard)
    if request is None or not request.matched:
        return False
    if fuzz.ratio(heard, request.matched) < WHOLE_REQUEST:
        return False
    said, other = normalize(grammar).split(), normalize(heard).split()
    blocks = SequenceMatcher(a=said, b=other, autojunk=False).get_matching_blocks()
    agreed = [w for b in blocks for w in said[b.a : b.a + b.size]]
    return 2 * len(agreed) >= len(said) and not found & set(agreed)


def _whole_sentence_runner_up(
    matcher: IntentMatcher, transcript: Transcript, chosen: Match
) -> Match | None:
    """A runner-up reading that is one of Steady's sentences word for word,
    when the best readings were not understood (``unknown``), were only a filler, or
    were understood less well than :data:`WHOLE_SENTENCE_OVER` as another intent:
    "i feel me the middle" with "i feel miserable" among its runners-up, "time" and
    "staff" for "stop", "hell" and "well" for "help"."""
    if chosen.out_of_scope or (
        chosen.intent not in (UNKNOWN, FILLER) and chosen.confidence >= WHOLE_SENTENCE_OVER
    ):
        return None
    best = transcript.best_readings()
    for text in transcript.alternatives:
        match = None if text in best else matcher.exact(text)
        if match is not None and match.intent not in (UNKNOWN, "crisis", FILLER, chosen.intent):
            return match
    return None


def _from_best_readings(
    matcher: IntentMatcher, transcript: Transcript, prefer: tuple[str, ...]
) -> Match:
    readings = transcript.texts()
    # Both passes often hear the same words, and a runner-up may be weighed twice:
    # each distinct text is matched once.
    understood: dict[str, Match] = {}

    def understand(text: str) -> Match:
        # The grammar pass and its runners-up are held to Steady's words whatever was
        # said; the open pass and typed text are not (see matcher.WORDS_SURE).
        if text not in understood:
            free = text == transcript.open_text or not transcript.from_grammar
            understood[text] = matcher.match(text, prefer, check_crisis=False, free_words=free)
        return understood[text]

    primary = [t for t in (transcript.text, transcript.open_text) if t]
    matches = [(t, understand(t)) for t in primary]
    # Fillers are not requests: one decides only when nothing else was understood. A
    # request Steady does not handle was understood, and weighs like any other.
    known = [(t, m) for t, m in matches if m.intent not in (UNKNOWN, FILLER) or m.out_of_scope]
    if not known:
        # Here runner-up readings only break a deadlock; one that is a whole sentence
        # of Steady's is weighed afterwards (_whole_sentence_runner_up).
        # (Crisis words in them were weighed by the crisis check above, which may
        # have set them aside as figurative speech: they decide nothing here.)
        runners = [(t, understand(t)) for t in readings if t not in primary]
        known = [
            (t, m)
            for t, m in runners
            if m.intent not in (UNKNOWN, "crisis", FILLER) and m.confidence >= RUNNER_UP_MIN
        ]
        if not known:
            heard = [m for _, m in matches if m.intent == FILLER]
            if heard:
                return heard[0]  # "um", "oh my god", word for word: not a "did you mean"
            pool = [m for _, m in matches] or [matcher.match("", prefer)]
            agreed = _agreed_guess([m for _, m in matches])
            if agreed is not None:
                return agreed
            return max(pool, key=lambda m: m.confidence)
    text, best = _most_confident(matcher, known)
    if best.out_of_scope:
        return best
    others = [t for t in primary if t != text]
    # The grammar reading fits any speech to Steady's sentences; when the other reading
    # does not resemble the chosen intent at all, ask rather than act, unless the
    # grammar's runners-up or the other reading's emptiness vouch for it.
    # An exact example heard by the open pass needs no second opinion: that pass is not
    # pulled towards Steady's sentences.
    exact = best.confidence >= 1.0
    exact_open = text == transcript.open_text and exact
    disputed = (
        not exact_open
        and not (_safe_exact(best) and text in primary)
        and others
        and all(m.intent != best.intent for t, m in matches if t != text)
    )
    if not disputed or matcher.support(others[0], best.intent) >= SUPPORT_MIN:
        return best
    n_best = [t for t in transcript.alternatives if t not in primary]
    if not n_best:
        # No runners-up to scatter, and the other reading made out nothing.
        vouched = exact and all(_heard_nothing(m, best) for t, m in matches if t != text)
    else:
        # Runners-up are matched only when their agreement could decide.
        vouched = (
            best.confidence >= RUNNERS_UP_CLOSE
            and _runners_up_share(understand, n_best, best) >= RUNNERS_UP_SHARE
        )
    if not vouched:
        return Match(best.text, UNKNOWN, best.confidence, best.slots, guess=best.intent)
    return best


def _most_confident(matcher: IntentMatcher, known: list[tuple[str, Match]]) -> tuple[str, Match]:
    """The reading understood with the most confidence.

    Two readings as sure of different intents are weighed by how well each is matched
    by the other's text ("clenching my journal the time" against "clenching my jaw
    all the time"); a stop or pause heard exactly wins such a tie, as it wins a
    dispute, and so does a practice asked for beside the feeling the other reading
    heard (:meth:`~assistant.matcher.IntentMatcher.asked_beside`).
    """
    ranked = sorted(known, key=lambda tm: tm[1].confidence, reverse=True)
    text, best = ranked[0]
    rivals = [(t, m) for t, m in ranked if m.intent != best.intent]
    if not rivals or best.confidence - rivals[0][1].confidence >= READINGS_TIE:
        return text, best
    other, rival = rivals[0]
    if _safe_exact(best) != _safe_exact(rival):
        return (text, best) if _safe_exact(best) else (other, rival)
    # A feeling and a practice asked for beside it, where one reading heard both and
    # the other only the feeling: the practice is what was asked (as in one reading).
    for (pt, pm), fm in (((text, best), rival), ((other, rival), best)):
        if matcher.asked_beside(pt, pm, fm):
            return pt, pm
    if matcher.support(text, rival.intent) > matcher.support(other, best.intent):
        return other, rival
    return text, best


def _heard_nothing(other: Match, best: Match) -> bool:
    """The other reading, set against a sentence of Steady's heard word for word, made
    out nothing: no request, at most a weak guess ("my nerves are shot" against "my
    learn martial art", "pardon" against "oregon"). Requests Steady does not handle are
    heard as such by the open pass (``out_of_scope``), so such nonsense is the open
    pass's mishearing, not a request bent into Steady's sentences (replayed on 3,400
    stored design decodes, out-of-scope probe included: 4 more right, none lost)."""
    return (
        other.intent == UNKNOWN
        and not other.out_of_scope
        and (other.guess in (None, best.intent) or other.confidence < AGREED_MIN)
    )


def _safe_exact(match: Match) -> bool:
    return match.confidence >= 1.0 and match.intent in SAFE_ON_EXACT


def _runners_up_share(understand: Callable[[str], Match], runners: list[str], best: Match) -> float:
    """The share of the grammar pass's ``runners`` (its n-best list beyond the best
    readings; not empty) that mean what ``best`` means.

    In noise the open reading often turns to nonsense ("muscle relaxation" -> "sorry
    like station") while the grammar heard a sentence of Steady's. Speech Steady does not
    know, forced into its sentences, comes back as an n-best list of unrelated ones;
    speech it does know comes back as variations of the same request.
    """
    same = 0
    for text in runners:
        m = understand(text)
        same += best.intent in (m.intent, m.guess)
    return same / len(runners)


def heard_crisis(matcher: IntentMatcher, transcript: Transcript) -> CrisisFinding | None:
    """The crisis check over every reading of ``transcript``, runners-up included, and
    over the sentence it may finish (:attr:`~assistant.stt.Transcript.follows`).

    A finding that needs both halves ("i want to sleep" | "and never wake up") counts
    only when the first half alone had none: that one was answered already.
    """
    readings = transcript.best_readings()
    finding = matcher.heard_crisis(readings, transcript.alternatives)
    if finding is None and transcript.follows and matcher.heard_crisis(transcript.follows) is None:
        finding = matcher.heard_crisis([f"{a} {b}" for a in transcript.follows for b in readings])
    return finding


def _agreed_guess(matches: list[Match]) -> Match | None:
    """Two independent readings that each half-match the same intent: taken.

    The grammar and open passes mishear differently; when both land near the same
    intent (each at least a "did you mean"), the agreement is the evidence.
    """
    if len({m.text for m in matches}) < 2:
        return None  # one text heard twice is one piece of evidence, not two
    guesses = {m.guess for m in matches}
    if len(guesses) != 1 or None in guesses:
        return None
    if sum(m.confidence for m in matches) / len(matches) < AGREED_MIN:
        return None
    best = max(matches, key=lambda m: m.confidence)
    intent = best.guess or UNKNOWN
    return Match(best.text, intent, best.confidence, best.slots, matched=best.matched)


def understand_audio(
    stt: SpeechToText,
    matcher: IntentMatcher,
    audio: Audio,
    prefer: Iterable[str] = (),
    *,
    calibrate: bool = True,
) -> tuple[Transcript, Match]:
    """Recognise a whole clip as one request (all its utterances joined); with
    ``calibrate`` false the gain learns the level as a live stream would."""
    pcm = convert(audio).pcm + Audio.silence(1.0).pcm
    parts = stt.transcribe(pcm, calibrate=calibrate)
    whole: Transcript | None = None
    for part in parts:
        whole = join_utterances(whole, part)
    if whole is None:
        return Transcript(""), matcher.match("")
    return whole, match_transcript(matcher, whole, prefer)
