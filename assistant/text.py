"""Text normalisation shared by the crisis check and the intent matcher.

Both sides of every comparison (what the person said, and the example sentences)
pass through :func:`normalize`, so contractions, case, punctuation and a few
recognizer spellings never decide a match.
"""

from __future__ import annotations

import re

_CONTRACTIONS = {
    "i'm": "i am", "im": "i am", "i've": "i have", "ive": "i have", "i'll": "i will",
    "i'd": "i would", "it'll": "it will", "he'll": "he will", "she'll": "she will",
    "they'll": "they will", "we'll": "we will", "that'll": "that will", "he'd": "he would",
    "she'd": "she would", "they'd": "they would", "he's": "he is", "she's": "she is",
    "you're": "you are", "you've": "you have", "you'll": "you will",
    "it's": "it is", "that's": "that is", "there's": "there is", "what's": "what is",
    "let's": "let us", "they're": "they are",
    "we're": "we are", "isn't": "is not", "aren't": "are not", "wasn't": "was not",
    "weren't": "were not", "don't": "do not", "dont": "do not", "doesn't": "does not",
    "didn't": "did not", "can't": "cannot", "cant": "cannot", "can not": "cannot",
    "couldn't": "could not", "won't": "will not", "wouldn't": "would not",
    "shouldn't": "should not", "haven't": "have not", "hasn't": "has not",
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "kinda": "kind of",
    "sorta": "sort of", "okay": "ok", "o k": "ok", "alright": "all right",
    "my self": "myself", "good bye": "goodbye", "to night": "tonight", "to day": "today",
}  # fmt: skip
_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_CONTRACTIONS, key=len, reverse=True)) + r")\b"
)
_NOT_A_WORD = re.compile(r"[^a-z0-9' ]+")
_FILLERS = {"um", "uh", "uhm", "erm", "er", "hmm", "mm", "ah"}


_SOUNDS = (
    (re.compile(r"\b(uh huh|mm hmm|mhm|mm hm|uh hum)\b"), "yes"),
    (re.compile(r"\b(uh uh|nuh uh|mm mm)\b"), "no"),
)


_NOUN_S = re.compile(r"\b([a-z]+)'s\b")


def single_spaced(text: str) -> str:
    """``text`` with its words one space apart: ``text`` itself when it already is, so
    the 50,000 sentences of the grammar are not held twice."""
    joined = " ".join(text.split())
    return text if joined == text else joined


def noun_s_as(norm: str, verb: str) -> str:
    """``norm`` (already normalised) with each "'s" left after a noun read as ``verb``:
    "my anxiety's been bad" as "my anxiety is been bad", "my wife's fallen" with "has".
    :func:`normalize` keeps them, since "my mum's tablets" is a possessive."""
    return _NOUN_S.sub(rf"\1 {verb}", norm)


def normalize(text: str) -> str:
    """Lowercase words with contractions expanded and filler sounds removed.

    Sounds that carry meaning ("uh huh", "uh uh") become the words they stand for
    before the fillers go.
    """
    t = text.lower().replace("’", "'").replace("-", " ")
    t = _NOT_A_WORD.sub(" ", t)
    t = " ".join(w.strip("'") for w in t.split())
    for pattern, word in _SOUNDS:
        t = pattern.sub(word, t)
    t = _PATTERN.sub(lambda m: _CONTRACTIONS[m.group(1)], t)
    return " ".join(w for w in t.split() if w not in _FILLERS)


NAME = "steady"
_GREETINGS = frozenset(
    "hey hi hello ok oh so right well please sorry thanks cheers yes yeah no nope bye "
    "goodbye by night goodnight".split()
)
_CLOSERS = _GREETINGS | frozenset("stop pause again slower faster on now there then".split())
_NAME_AS_WORD = frozenset(
    "my your the me myself yourself breathing breath breaths pace rhythm state going "
    "hands heart nerves it now on".split()
)


def without_name(norm: str) -> str:
    """``norm`` (already normalised) without Steady's name where it only addresses the
    app: "hey steady i feel anxious", "bye steady", "ok steady stop".

    "steady" stays where it is a word of the request ("help me steady my breathing",
    "keep it steady").
    """
    if NAME not in norm:
        return norm  # nearly every sentence: no need to split it
    words = norm.split()
    if NAME not in words or len(words) < 2:
        return norm
    kept: list[str] = []
    for i, word in enumerate(words):
        if word == NAME:
            before = words[i - 1] if i else None
            after = words[i + 1] if i + 1 < len(words) else None
            thanked = before == "you" and i >= 2 and words[i - 2] == "thank"
            if after is None and (before in _CLOSERS or thanked):
                continue
            if (
                after is not None
                and after not in _NAME_AS_WORD
                and (before is None or before in _GREETINGS or thanked)
            ):
                continue
        kept.append(word)
    return " ".join(kept)


class PrivateText(str):
    """A line to say that holds the person's own words (a journal entry read back).

    It is spoken like any other line but never kept: the speech cache renders it
    afresh and forgets it (see :class:`assistant.tts.CachedTextToSpeech`)."""

    __slots__ = ()
