"""Word error rate on real human speech: Debian's pocketsphinx-testdata LibriVox clips.

``/usr/share/pocketsphinx/test/data/librivox`` holds five read-speech recordings from
*Sense and Sensibility* with reference transcripts (``transcription``, Sphinx format:
``<s> words </s> (file-id)``). They are decoded with the model's plain open vocabulary
(no grammar), as Steady's open-vocabulary pass does. The edit distance is computed here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.audio_format import Audio, load_wav
from assistant.stt import SpeechToText

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
PUBLISHED_WER = 0.0985
"""vosk-model-small-en-us-0.15 on LibriSpeech test-clean, as published by alphacephei."""

_SPELLINGS = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def words(text: str) -> list[str]:
    """Lowercase words, Sphinx markers and punctuation dropped (apostrophes kept)."""
    text = re.sub(r"</?s>|\(.*?\)", " ", text.lower())
    out = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    return [_SPELLINGS.get(w, w) for w in out]


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance: substitutions + deletions + insertions."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (r != h),  # substitution or match
            )
        previous = current
    return previous[-1]


def wer(pairs: Sequence[tuple[str, str]]) -> float:
    """Corpus WER over (reference, hypothesis) pairs: total edits / total reference words."""
    edits = sum(edit_distance(words(r), words(h)) for r, h in pairs)
    n = sum(len(words(r)) for r, _ in pairs)
    if n == 0:
        raise ValueError("no reference words")
    return edits / n


@dataclass(frozen=True)
class Utterance:
    file_id: str
    wav: Path
    reference: str


def load_corpus(folder: Path = LIBRIVOX) -> list[Utterance]:
    """The clips that have both a WAV file and a line in ``transcription``."""
    listing = folder / "transcription"
    if not listing.is_file():
        return []
    out: list[Utterance] = []
    for line in listing.read_text(encoding="utf-8").splitlines():
        found = re.match(r"(.*)\(([^()]+)\)\s*$", line.strip())
        if not found:
            continue
        wav = folder / f"{found.group(2)}.wav"
        if wav.is_file():
            out.append(Utterance(found.group(2), wav, " ".join(words(found.group(1)))))
    return out


@dataclass(frozen=True)
class WerResult:
    wer: float
    words: int
    clips: int
    audio_seconds: float
    cpu_seconds: float
    samples: list[tuple[str, str]]
    """(reference, hypothesis) per clip."""


def measure(stt: SpeechToText, corpus: Sequence[Utterance]) -> WerResult:
    """Decode every clip (one stream each) and score the joined transcripts."""
    pairs: list[tuple[str, str]] = []
    audio_seconds = 0.0
    cpu = 0.0
    for utt in corpus:
        audio = load_wav(utt.wav)
        audio_seconds += audio.duration
        pcm = audio.pcm + Audio.silence(1.0).pcm
        start = time.process_time()
        parts = stt.transcribe(pcm)
        cpu += time.process_time() - start
        hyp = " ".join((p.open_text or p.text) for p in parts if (p.open_text or p.text))
        pairs.append((utt.reference, hyp))
    return WerResult(
        wer=wer(pairs),
        words=sum(len(words(r)) for r, _ in pairs),
        clips=len(pairs),
        audio_seconds=audio_seconds,
        cpu_seconds=cpu,
        samples=pairs,
    )
