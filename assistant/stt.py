"""Speech to text: a narrow streaming interface, Vosk behind it, and a scripted stand-in.

A :class:`SpeechToText` engine opens :class:`Recognition` streams. Audio goes in as
16 kHz mono int16 chunks; out come :class:`Partial` updates and a :class:`Final`
:class:`Transcript` when an utterance ends.

The Vosk engine decodes with a grammar of Steady's own vocabulary when the model
supports runtime grammars (the small models do): that is fast and keeps in-domain
speech from being misheard as look-alike words. When the grammar pass hears words
it does not know (``[unk]``) or is unsure, the same audio is decoded again with the
full open vocabulary, so the crisis check and the "I didn't understand" reply see
what was really said. Utterances end after a short trailing silence measured from
the decoder's own word timings, rather than Vosk's fixed half second.
"""

from __future__ import annotations

import json
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.audio_format import STT_FORMAT
from assistant.errors import ModelError

log = logging.getLogger(__name__)

UNK = "[unk]"
DEFAULT_END_SILENCE = 0.4
"""Seconds of trailing silence after the last word that end an utterance."""
QUICK_END_SILENCE = 0.2
"""A shorter wait when what was heard so far is a complete command ("stop")."""
MAX_UTTERANCE = 30.0
"""An utterance is cut here even if the person keeps talking (journal entries stream on)."""


@dataclass(frozen=True)
class Word:
    """A recognised word with its timing (seconds from stream start) and confidence."""

    word: str
    start: float
    end: float
    conf: float


@dataclass(frozen=True)
class Transcript:
    """The text of one utterance."""

    text: str
    """Best text for intent matching (no ``[unk]`` markers)."""
    words: tuple[Word, ...] = ()
    """Words of the pass that produced :attr:`text`."""
    confidence: float = 1.0
    """Mean word confidence, 0..1 (1 for an empty or scripted transcript)."""
    open_text: str | None = None
    """Open-vocabulary text when a second pass ran."""
    end_time: float = 0.0
    """Stream time (s) at which the utterance was closed."""
    heard_unknown: bool = False
    """The grammar pass heard speech outside Steady's vocabulary."""

    def texts(self) -> list[str]:
        """Every reading of the utterance, for the crisis check (which must see all)."""
        out = [self.text]
        if self.open_text and self.open_text != self.text:
            out.append(self.open_text)
        return [t for t in out if t]


@dataclass(frozen=True)
class Partial:
    """The utterance so far."""

    text: str


@dataclass(frozen=True)
class Final:
    """An utterance ended."""

    transcript: Transcript


Event = Partial | Final


class Recognition(ABC):
    """One stream of audio being recognised."""

    @abstractmethod
    def accept(self, pcm: bytes) -> list[Event]:
        """Feed 16 kHz mono int16 audio; events that this audio completed."""

    @abstractmethod
    def flush(self) -> Transcript | None:
        """End of the stream: the last utterance, if any words were heard."""


class SpeechToText(ABC):
    """A speech-to-text engine."""

    @abstractmethod
    def start(self, *, open_vocabulary: bool = False) -> Recognition:
        """A new stream. ``open_vocabulary`` skips the grammar (journal dictation)."""

    def transcribe(self, pcm: bytes) -> list[Transcript]:
        """Every utterance in a clip (convenience for files)."""
        rec = self.start()
        out = [e.transcript for e in rec.accept(pcm) if isinstance(e, Final)]
        last = rec.flush()
        if last is not None:
            out.append(last)
        return out


# ---------------------------------------------------------------------------- Vosk


def _import_vosk() -> Any:
    try:
        import vosk
    except (ImportError, OSError) as exc:  # OSError: libvosk.so failed to load
        raise ModelError(
            f"The Vosk speech engine could not be loaded ({exc}); "
            "reinstall it with `pip install vosk`."
        ) from None
    vosk.SetLogLevel(-1)
    return vosk


class VoskSpeechToText(SpeechToText):
    """Vosk (Kaldi) recognition with Steady's vocabulary as a runtime grammar."""

    def __init__(
        self,
        model_path: Path,
        vocabulary: Iterable[str] = (),
        *,
        end_silence: float = DEFAULT_END_SILENCE,
        use_grammar: bool = True,
        quick_phrases: Iterable[str] = (),
    ) -> None:
        vosk = _import_vosk()
        self._vosk = vosk
        self.model_path = model_path
        try:
            self.model = vosk.Model(str(model_path))
        except Exception as exc:  # the binding raises a bare Exception on failure
            raise ModelError(
                f"The speech model in {model_path} could not be loaded ({exc}); "
                "run `steady models fetch` to reinstall it."
            ) from None
        graph = model_path / "graph"
        self.supports_grammar = (graph / "HCLr.fst").exists() and (graph / "Gr.fst").exists()
        known = sorted(w for w in set(vocabulary) if w and self.model.vosk_model_find_word(w) >= 0)
        self.vocabulary = known
        self.use_grammar = use_grammar and self.supports_grammar and bool(known)
        self._grammar = json.dumps([*known, UNK]) if self.use_grammar else None
        self.end_silence = end_silence
        self.quick_phrases = frozenset(quick_phrases)
        """Utterances that end after :data:`QUICK_END_SILENCE` (commands like "stop")."""
        self._lock = threading.Lock()
        dropped = len(set(vocabulary)) - len(known)
        log.info(
            "Vosk model %s loaded; grammar %s (%d words, %d not in the model's lexicon)",
            model_path.name,
            "on" if self.use_grammar else "off",
            len(known),
            dropped,
        )

    def _recognizer(self, grammar: bool) -> Any:
        if grammar and self._grammar is not None:
            rec = self._vosk.KaldiRecognizer(self.model, STT_FORMAT.rate, self._grammar)
        else:
            rec = self._vosk.KaldiRecognizer(self.model, STT_FORMAT.rate)
        rec.SetWords(True)
        rec.SetPartialWords(True)
        return rec

    def start(self, *, open_vocabulary: bool = False) -> Recognition:
        return _VoskRecognition(self, grammar=not open_vocabulary and self.use_grammar)

    def second_pass(self, pcm: bytes) -> dict[str, Any]:
        """Decode ``pcm`` with the open vocabulary (no grammar)."""
        rec = self._recognizer(grammar=False)
        rec.AcceptWaveform(pcm)
        result: dict[str, Any] = json.loads(rec.FinalResult())
        return result


def _words(result: dict[str, Any], offset: float) -> tuple[Word, ...]:
    return tuple(
        Word(str(w["word"]), float(w["start"]) + offset, float(w["end"]) + offset, float(w["conf"]))
        for w in result.get("result", [])
    )


@dataclass
class _Utterance:
    pcm: bytearray = field(default_factory=bytearray)
    start: float = 0.0


class _VoskRecognition(Recognition):
    # Keep this much audio from before the first word for a second pass.
    PREROLL = 0.5

    def __init__(self, engine: VoskSpeechToText, grammar: bool) -> None:
        self.engine = engine
        self.grammar = grammar
        self.rec = engine._recognizer(grammar)
        self.time = 0.0  # seconds of audio fed so far
        self.utt_start = 0.0  # stream time at which the recognizer was last reset
        self.buffer = _Utterance()
        self.last_partial = ""
        self.speaking = False

    def accept(self, pcm: bytes) -> list[Event]:
        events: list[Event] = []
        step = STT_FORMAT.bytes_per_second // 10  # decode in 100 ms pieces
        for i in range(0, len(pcm), step):
            events.extend(self._accept_piece(pcm[i : i + step]))
        return events

    def _accept_piece(self, piece: bytes) -> list[Event]:
        self.time += len(piece) / STT_FORMAT.bytes_per_second
        self.buffer.pcm.extend(piece)
        ended = self.rec.AcceptWaveform(piece)
        if ended:
            return self._finish(json.loads(self.rec.Result()))
        partial = json.loads(self.rec.PartialResult())
        text = str(partial.get("partial", ""))
        words = partial.get("partial_result", [])
        events: list[Event] = []
        if text != self.last_partial:
            self.last_partial = text
            if text:
                events.append(Partial(text.replace(UNK, "").strip() or "…"))
        if text and not self.speaking:
            self.speaking = True
        if not self.speaking:
            self._trim_buffer()
        if self.speaking and words:
            last_end = float(words[-1]["end"]) + self.utt_start
            wait = self.engine.end_silence
            if text in self.engine.quick_phrases:
                wait = min(wait, QUICK_END_SILENCE)
            if self.time - last_end >= wait:
                events.extend(self._finish(json.loads(self.rec.FinalResult())))
        if self.speaking and self.time - self.utt_start > MAX_UTTERANCE:
            events.extend(self._finish(json.loads(self.rec.FinalResult())))
        return events

    def _trim_buffer(self) -> None:
        # Before any word is heard, keep a bounded window: the decoder may yet place
        # the first word seconds back, and the second pass needs all of it.
        keep = int((MAX_UTTERANCE + self.PREROLL) * STT_FORMAT.bytes_per_second) & ~1
        if len(self.buffer.pcm) > keep:
            del self.buffer.pcm[: len(self.buffer.pcm) - keep]

    def _finish(self, result: dict[str, Any]) -> list[Event]:
        transcript = self._transcript(result)
        self.rec.Reset()
        self.utt_start = self.time
        self.buffer = _Utterance()
        self.last_partial = ""
        self.speaking = False
        return [Final(transcript)] if transcript is not None else []

    def _transcript(self, result: dict[str, Any]) -> Transcript | None:
        words = _words(result, self.utt_start)
        raw = str(result.get("text", "")).strip()
        if not raw:
            return None
        heard_unknown = UNK in raw.split()
        text = " ".join(w for w in raw.split() if w != UNK)
        conf = sum(w.conf for w in words) / len(words) if words else 0.0
        open_text: str | None = None
        if self.grammar and (heard_unknown or conf < 0.7):
            second = self.engine.second_pass(bytes(self.buffer.pcm))
            open_text = str(second.get("text", "")).strip() or None
        if not text and not open_text:
            return None
        return Transcript(
            text=text,
            words=words,
            confidence=conf,
            open_text=open_text,
            end_time=self.time,
            heard_unknown=heard_unknown,
        )

    def flush(self) -> Transcript | None:
        transcript = self._transcript(json.loads(self.rec.FinalResult()))
        self.rec.Reset()
        self.utt_start = self.time
        self.buffer = _Utterance()
        return transcript


# ------------------------------------------------------------------- scripted


class ScriptedSpeechToText(SpeechToText):
    """The file-based stand-in: each burst of non-silent audio becomes the next line.

    For pure dialog tests: feed audio where every utterance is followed by silence;
    the n-th utterance is transcribed as ``lines[n]``. Lines can be loaded from a
    text file, one utterance per line.
    """

    def __init__(self, lines: Iterable[str], threshold: int = 500) -> None:
        self.lines = list(lines)
        self.threshold = threshold
        self._next = 0

    @classmethod
    def from_file(cls, path: Path) -> ScriptedSpeechToText:
        return cls(line.strip() for line in path.read_text(encoding="utf-8").splitlines())

    def take(self) -> str:
        text = self.lines[self._next] if self._next < len(self.lines) else ""
        self._next += 1
        return text

    def start(self, *, open_vocabulary: bool = False) -> Recognition:
        return _ScriptedRecognition(self)


class _ScriptedRecognition(Recognition):
    def __init__(self, engine: ScriptedSpeechToText) -> None:
        self.engine = engine
        self.in_speech = False
        self.time = 0.0

    def accept(self, pcm: bytes) -> list[Event]:
        import numpy as np

        self.time += len(pcm) / STT_FORMAT.bytes_per_second
        samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2")
        loud = (
            bool(samples.size)
            and int(np.abs(samples.astype(np.int32)).max()) > self.engine.threshold
        )
        if loud:
            self.in_speech = True
            return []
        if self.in_speech:
            self.in_speech = False
            return [Final(Transcript(self.engine.take(), end_time=self.time))]
        return []

    def flush(self) -> Transcript | None:
        if self.in_speech:
            self.in_speech = False
            return Transcript(self.engine.take(), end_time=self.time)
        return None
