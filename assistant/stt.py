"""Speech to text: a narrow streaming interface, Vosk behind it, and a scripted stand-in.

A :class:`SpeechToText` engine opens :class:`Recognition` streams. Audio goes in as
16 kHz mono int16 chunks; out come :class:`Partial` updates and a :class:`Final`
:class:`Transcript` when an utterance ends.

The Vosk engine reads every utterance twice, as it streams: once with Steady's own
example sentences as a runtime grammar (the small models support that), which keeps
in-domain speech from being misheard as look-alike words, and once with the model's
full open vocabulary, so the crisis check and the matcher also see what was really
said when it was something Steady's sentences never anticipated. Utterances end
after a short trailing silence (a loudness gate) once the words have stopped changing,
sooner after a sentence that nothing more would change, rather than on Vosk's own
rules. Vosk's partial text lags the audio, so when the speech goes quiet the grammar
pass is read to its end at once; if that is not yet a sentence to act on, the
utterance is decoded again and carries on. A pause can still split a sentence in two;
the second half carries the first's readings (:attr:`Transcript.follows`) so the
crisis check can read them together.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.audio_format import STT_FORMAT
from assistant.config import DEFAULT_END_SILENCE, DEFAULT_OPEN_PASS, OPEN_PASS_MODES
from assistant.denoise import HOP, NoiseSuppressor
from assistant.errors import ModelError
from assistant.loudness import AutoGain, Retake
from assistant.voice_activity import VoiceActivity

log = logging.getLogger(__name__)

UNK = "[unk]"
QUICK_END_SILENCE = 0.2
"""A shorter wait when what was heard so far is a complete command ("stop"), a sentence
of Steady's that nothing longer begins with, or one of the ``quick_phrases`` (sentences
whose longer forms all mean the same: ``assistant.understand.settled_phrases``)."""
IDLE_RESET = 2.0
"""While nobody speaks, the recognizers are reset this often (seconds of audio)..."""
IDLE_QUIET = 3.0
"""...provided nothing loud came since the last reset, or not for this many seconds
(a short word like "stop" may show no partial text before Vosk ends it)."""
PRIMER = 0.5
"""Seconds of silence each recognizer hears before a stream's first audio: a clip cut
right at its first word lost that word without it ("i feel anxious" from espeak-ng
was heard as "feel anxious"). Only the recognizers hear it, not the noise estimate,
the gain or the loudness gate; word times are given without it."""
PIECE = 0.05
"""Seconds of audio decoded at a time, whatever block size the source delivers: a
microphone's 50 ms blocks and a recording are heard alike, and the end of speech is
noticed within 50 ms."""
LEAD_IN = 0.5
"""Seconds of quiet decoded again after an idle reset (see ``_decode_piece``)."""
STABLE_PARTIAL = 0.15
"""Seconds the partial text must have stood, unchanged, before the utterance may end
(pieces come in 16 ms steps of the noise suppressor, so a round bar of 0.2 s would
sometimes take a piece more than it should)."""
QUICK_STABLE = 0.05
"""...or this long when it is a whole command or
sentence: Vosk's partial text runs 0.2-0.4 s behind the audio, so the last word of
"what can you do" shows up when the person has long been quiet, and waiting for it to
stand as long again only adds delay."""
SPECULATE_MAX = 5.0
"""Seconds of audio (the utterance and the quiet before it since the recognizer's last
reset) up to which an utterance is read to its end as soon as it goes quiet. Vosk's
partial text runs up to 0.4 s behind the audio ("help" shows none until well after it
was said), but its final result has every word at once; reading it ends the
recognizer's utterance, so when what it holds is not a sentence to act on at once, the
audio is decoded again to carry on (about 0.03 s of one core here per second of audio).
Quick sentences with the up to 2.5 s of quiet an idle reset leaves before them fit;
for longer utterances the second decoding would cost more than it saves."""
HESITATION_WAIT = 1.2
"""After an unfinished sentence ("i feel ..."), how long to wait for the rest of it."""
MAX_UTTERANCE = 30.0
"""An utterance is cut here even if the person keeps talking (journal entries stream on)."""
FOLLOW_GAP = 2.5
"""An utterance that begins within this many seconds of the last one's final word may
finish its sentence (see :attr:`Transcript.follows`)."""


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
    alternatives: tuple[str, ...] = ()
    """Runner-up readings from the recognizers' n-best lists."""
    level: str | None = None
    """How the microphone delivered it, when badly: ``quiet`` (too quiet to hear well
    even amplified) or ``loud`` (clipped); see :meth:`assistant.loudness.AutoGain.heard_since`."""
    follows: tuple[str, ...] = ()
    """The best readings of the utterance that ended just before this one began (within
    :data:`FOLLOW_GAP`): a pause can split one sentence in two ("i want to sleep" |
    "and never wake up"), and the crisis check reads the halves together."""
    from_grammar: bool = False
    """:attr:`text` and :attr:`alternatives` come from the grammar pass, which puts any
    speech into Steady's own sentences (not typed text or the open vocabulary)."""

    def texts(self) -> list[str]:
        """Every distinct reading of the utterance, best first."""
        out: list[str] = []
        for t in (self.text, self.open_text, *self.alternatives):
            if t and t not in out:
                out.append(t)
        return out

    def best_readings(self) -> list[str]:
        """The recognizers' first choices: the grammar reading, then the open one."""
        return [t for t in dict.fromkeys((self.text, self.open_text)) if t]


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

    def calibrate(self, pcm: bytes) -> None:
        """A whole recording is about to be fed: adjust to its loudness from all of it at
        once, as a live stream has adjusted from earlier speech (default: nothing)."""
        return None

    def own_voice(self, sounding: bool) -> None:
        """Whether Steady's own voice (or a cue tone) may be reaching the microphone now:
        how loud the person speaks is not learned from it (default: nothing)."""
        return None


class SpeechToText(ABC):
    """A speech-to-text engine."""

    @abstractmethod
    def start(self, *, open_vocabulary: bool = False) -> Recognition:
        """A new stream. ``open_vocabulary`` skips the grammar (journal dictation)."""

    def transcribe(self, pcm: bytes, *, calibrate: bool = True) -> list[Transcript]:
        """Every utterance in a clip (convenience for files); ``calibrate`` adjusts to
        the clip's loudness from all of it first (see :meth:`Recognition.calibrate`)."""
        rec = self.start()
        if calibrate:
            rec.calibrate(pcm)
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


MIN_ADDRESS_SPACE = 2 * 1024**3
"""Virtual memory Vosk needs to load a model and run its threads (peak ~1.7 GB for the
small English model; resident memory is far less, ~250 MB). Under a lower ``ulimit -v``
the Kaldi loader hangs instead of failing, so Steady checks first."""


def check_address_space(need: int = MIN_ADDRESS_SPACE) -> None:
    """Refuse early, in one sentence, when ``ulimit -v`` is too low to load a model."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft < need:
        raise ModelError(
            f"The speech model needs about {need // 1024**2} MB of address space, but this "
            f"process is limited to {soft // 1024**2} MB (ulimit -v); raise the limit."
        )


def model_fingerprint(model_path: Path) -> str:
    """Names a model's files as they are now (paths, sizes, times): tables built with its
    lexicon (:class:`Grammar`) are kept under it."""
    digest = hashlib.sha256(str(model_path.resolve()).encode())
    for path in sorted(p for p in model_path.rglob("*") if p.is_file()):
        info = path.stat()
        digest.update(
            f"\0{path.relative_to(model_path)} {info.st_size} {info.st_mtime_ns}".encode()
        )
    return digest.hexdigest()[:16]


class ModelLoad:
    """A Vosk model loading on its own thread from the moment this is made.

    Kaldi reads the model in C++ without holding Python's lock, so Steady builds its
    matcher and grammar (pure Python, longer than the load) meanwhile: made first,
    this takes the model's load out of the time to ready. :meth:`result` waits for
    it; a model that failed to load is a :class:`ModelError` there.
    """

    def __init__(self, model_path: Path) -> None:
        check_address_space()
        self.model_path = model_path
        self.vosk = _import_vosk()
        """The imported ``vosk`` module the model is loaded with."""
        self._model: Any = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._load, name="steady-model", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            self._model = self.vosk.Model(str(self.model_path))
        except Exception as exc:  # the binding raises a bare Exception on failure
            self._error = str(exc)

    def known_words(self, words: Iterable[str]) -> frozenset[str]:
        """Those of ``words`` in the model's lexicon (waits for the model)."""
        find = self.result().vosk_model_find_word
        return frozenset(w for w in words if w and find(w) >= 0)

    def result(self) -> Any:
        """The loaded ``vosk.Model`` (waits for it)."""
        self._thread.join()
        if self._model is None:
            raise ModelError(
                f"The speech model in {self.model_path} could not be loaded "
                f"({self._error}); run `steady models fetch` to reinstall it."
            )
        return self._model


FALLBACK_CONFIDENCE = 0.7
"""With ``open_pass: fallback``, a grammar reading less sure than this gets the open pass."""
GRAMMAR_ALTERNATIVES = 8
"""How many readings the grammar recognizer returns per utterance (its n-best list).
In noise and in unusual voices the words really said are often only its third or
seventh guess, and the crisis check reads them all (on the crisis design set at 10 dB
SNR: 73 % recall from the best readings alone, 80 % with these seven runners-up)."""
OPEN_ALTERNATIVES = 0
"""The open recognizer's runners-up are not asked for: they added no recall and
turned figurative speech into crisis words ("jumping on a call" -> "jumping off")."""


def _best_of(result: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The top reading of a Vosk result (with n-best on or off) and the runner-up texts."""
    alts = result.get("alternatives")
    if not alts:
        return result, []
    texts = [str(a.get("text", "")).strip() for a in alts[1:]]
    return alts[0], [t for t in texts if t]


@dataclass(frozen=True)
class Grammar:
    """Steady's sentences as one model can hear them: the recognizer's runtime grammar,
    and the tables that tell when what was heard is a whole sentence.

    Building it goes through 50,000 sentences in pure Python (half a second here), so
    the one built from Steady's own sentences is kept between starts
    (``assistant.understand.build_stt``, :mod:`assistant.prebuilt`)."""

    sentences: list[str]
    """Sentences whose every word the model knows, sorted."""
    words: list[str]
    """Single words the grammar may put between them (numbers, fillers), sorted."""
    vocabulary: list[str]
    """Every word of the two, sorted."""
    quick: frozenset[str]
    """Utterances that end after :data:`QUICK_END_SILENCE` (commands like "stop", and
    sentences that nothing more would change, like "i feel anxious")."""
    complete: frozenset[str]
    """The sentences and single words: what can be heard as a whole."""
    ends: list[str]
    """What ends an utterance at once (see ``VoskSpeechToText.could_end``), sorted."""

    @classmethod
    def build(
        cls,
        phrases: Iterable[str],
        vocabulary: Iterable[str],
        quick: Iterable[str],
        known: Callable[[set[str]], frozenset[str]],
    ) -> Grammar:
        """``phrases`` (sentences) and ``vocabulary`` (single words), kept where every
        word is one the model knows (``known`` picks those out of a set of words)."""
        phrases, vocabulary = set(phrases), set(vocabulary)
        found = known({w for p in phrases for w in p.split()} | vocabulary)
        words = sorted(vocabulary & found)
        sentences = sorted({p for p in phrases if p and found.issuperset(p.split())})
        # In sorted order a sentence that others extend is followed by one of them:
        # "s" < "s ..." < "s'...".
        ends = {
            s
            for i, s in enumerate(sentences)
            if i + 1 == len(sentences) or not sentences[i + 1].startswith(s + " ")
        }
        ends |= {w for w in words if not _extends(sentences, w)}
        quick = frozenset(quick)
        return cls(
            sentences=sentences,
            words=words,
            vocabulary=sorted({w for p in sentences for w in p.split()} | set(words)),
            quick=quick,
            complete=frozenset(sentences) | frozenset(words),
            ends=sorted(ends | quick),
        )


def _extends(sentences: list[str], text: str) -> bool:
    """True when a sentence of ``sentences`` (sorted) begins with ``text`` and goes on."""
    head = text + " "
    i = bisect.bisect_left(sentences, head)
    return i < len(sentences) and sentences[i].startswith(head)


class VoskSpeechToText(SpeechToText):
    """Vosk (Kaldi) recognition: Steady's sentences as a grammar, plus the open vocabulary.

    ``model`` is a model folder, or a :class:`ModelLoad` already under way.
    ``grammar`` (:class:`Grammar`: whole example sentences and single words such as
    numbers) makes the runtime grammar; without one, only the open vocabulary is
    heard. ``open_pass`` decides when the
    open-vocabulary reading is made: ``always`` (a second recognizer fed the same audio
    as it streams, on a thread of its own, so it costs no extra latency and can use a
    second core), ``fallback`` (the buffered utterance is decoded again only when the
    grammar heard an unknown word or was unsure), or ``never``. With ``auto_gain`` quiet
    speech is first brought up to the level the model expects
    (:class:`~assistant.loudness.AutoGain`); with ``noise_suppression`` both recognizers
    hear the audio after :class:`~assistant.denoise.NoiseSuppressor` (16 ms later).
    """

    def __init__(
        self,
        model: Path | ModelLoad,
        grammar: Grammar | None = None,
        *,
        end_silence: float = DEFAULT_END_SILENCE,
        use_grammar: bool = True,
        open_pass: str = DEFAULT_OPEN_PASS,
        noise_suppression: bool = True,
        auto_gain: bool = True,
    ) -> None:
        if open_pass not in OPEN_PASS_MODES:
            raise ValueError(f"open_pass must be one of {OPEN_PASS_MODES}")
        loading = model if isinstance(model, ModelLoad) else ModelLoad(model)
        self._vosk = loading.vosk
        self.model_path = loading.model_path
        self.model = loading.result()
        graph = self.model_path / "graph"
        self.supports_grammar = (graph / "HCLr.fst").exists() and (graph / "Gr.fst").exists()
        if grammar is None:
            grammar = Grammar.build((), (), (), loading.known_words)
        self.vocabulary = grammar.vocabulary
        self.use_grammar = use_grammar and self.supports_grammar and bool(self.vocabulary)
        self._grammar = (
            json.dumps([*grammar.sentences, *grammar.words, UNK]) if self.use_grammar else None
        )
        self.open_pass = open_pass if self.use_grammar else "never"
        self.end_silence = end_silence
        self.noise_suppression = noise_suppression
        """Whether steady background noise is taken out before decoding (assistant.denoise)."""
        self.auto_gain = auto_gain
        """Whether quiet speech is amplified before decoding (assistant.loudness)."""
        self.quick_phrases = grammar.quick
        """Utterances that end after :data:`QUICK_END_SILENCE` (commands like "stop", and
        sentences that nothing more would change, like "i feel anxious")."""
        self._worker: ThreadPoolExecutor | None = None
        self._sentences = grammar.sentences if self.use_grammar else []
        self._complete = grammar.complete
        # Without a grammar no sentence extends another: every single word ends at once.
        self._ends = (
            grammar.ends if self.use_grammar else sorted(set(grammar.words) | grammar.quick)
        )
        log.info(
            "Vosk model %s loaded; grammar %s (%d sentences, %d words); open pass %s",
            self.model_path.name,
            "on" if self.use_grammar else "off",
            len(grammar.sentences),
            len(self.vocabulary),
            self.open_pass,
        )

    def final_sentence(self, text: str) -> bool:
        """True when ``text`` is a whole grammar sentence that no longer one extends
        ("stop please", "i can't sleep"): nothing more is expected after it."""
        return text in self._complete and not self._extended(text)

    def _extended(self, text: str) -> bool:
        return _extends(self._sentences, text)

    def ends_at_once(self, text: str) -> bool:
        """True when ``text`` is a whole command, a sentence nothing the person could add
        would change (``quick_phrases``) or one nothing extends: the utterance ends
        after a short quiet."""
        return text in self.quick_phrases or self.final_sentence(text)

    def could_end(self, text: str) -> bool:
        """True when ``text`` (a partial, which lags the audio) may be, or be the start
        of, a sentence that ends the utterance at once (see :meth:`ends_at_once`)."""
        if not text:
            return True
        i = bisect.bisect_left(self._ends, text)
        return i < len(self._ends) and (
            self._ends[i] == text or self._ends[i].startswith(text + " ")
        )

    def unsure(self, text: str, heard_unknown: bool, confidence: float) -> bool:
        """Whether a grammar reading needs the open pass's opinion (``open_pass: fallback``).

        Forced into Steady's sentences, speech they do not cover still comes back with
        confident words ("he was not and yelled spoken yeah man" for a line of a novel),
        so only a whole sentence of the grammar, heard confidently, goes without it.
        """
        return heard_unknown or confidence < FALLBACK_CONFIDENCE or text not in self._complete

    def unfinished(self, text: str) -> bool:
        """True when ``text`` is the start of a grammar sentence but not one itself.

        "i feel" or "can we do" said with a pause after them are the first half of
        a request: the rest is worth waiting for before acting on either half.
        """
        if not text or text in self._complete:
            return False
        return self._extended(text)

    def worker(self) -> ThreadPoolExecutor:
        """The thread that decodes the open pass beside the grammar pass (one for all
        streams, started when first needed)."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="steady-open")
        return self._worker

    def recognizer(self, grammar: bool) -> Any:
        """A fresh Kaldi recognizer, grammar-limited or open."""
        limited = grammar and self._grammar is not None
        if limited:
            rec = self._vosk.KaldiRecognizer(self.model, STT_FORMAT.rate, self._grammar)
        else:
            rec = self._vosk.KaldiRecognizer(self.model, STT_FORMAT.rate)
        rec.SetWords(True)
        # No SetPartialWords: with it, Vosk 0.3.45 refreshes partial results only every
        # ~2 s of audio, which would leave end-of-speech to its slower built-in rules.
        rec.SetMaxAlternatives(GRAMMAR_ALTERNATIVES if limited else OPEN_ALTERNATIVES)
        return rec

    def start(self, *, open_vocabulary: bool = False) -> Recognition:
        if open_vocabulary or not self.use_grammar:
            return _VoskRecognition(self, grammar=False, parallel_open=False)
        return _VoskRecognition(self, grammar=True, parallel_open=self.open_pass == "always")

    def second_pass(self, pcm: bytes) -> dict[str, Any]:
        """Decode ``pcm`` with the open vocabulary (no grammar)."""
        return _decode(self.recognizer(grammar=False), pcm, 0.0)


def _known(text: str) -> str:
    """``text`` without the recognizer's [unk] marks."""
    return " ".join(w for w in text.split() if w != UNK)


def _begins(whole: str, part: str) -> bool:
    """True when the words of ``part`` (a partial, [unk] aside) begin ``whole``."""
    words = _known(part).split()
    return whole.split()[: len(words)] == words


def _silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * STT_FORMAT.rate))


def _decode(rec: Any, pcm: bytes, start: float) -> dict[str, Any]:
    """A whole utterance through a fresh recognizer; word times as if at ``start`` (s)
    of the stream."""
    rec.AcceptWaveform(_silence(PRIMER) + pcm)
    return _shifted(rec.FinalResult(), start)


def _shifted(raw: str, by: float) -> dict[str, Any]:
    """A Vosk result (JSON) with every word time moved by ``by`` seconds."""
    result: dict[str, Any] = json.loads(raw)
    if by:
        for entry in (result, *result.get("alternatives", [])):
            for word in entry.get("result", []):
                word["start"] += by
                word["end"] += by
    return result


def _words(result: dict[str, Any]) -> tuple[Word, ...]:
    # Vosk counts word times from the start of the stream, across resets, and its
    # stream began with the primer.
    return tuple(
        Word(
            str(w["word"]),
            float(w["start"]) - PRIMER,
            float(w["end"]) - PRIMER,
            float(w.get("conf", 1.0)),  # n-best results carry no per-word confidence
        )
        for w in result.get("result", [])
    )


class _Beside:
    """A Kaldi recognizer decoded on the engine's worker thread, beside the one this
    thread decodes: Vosk lets go of Python's lock while it decodes, so the open pass
    runs on a second core. Audio is queued in order; reading a result or resetting
    first waits for the queued audio to be decoded."""

    def __init__(self, rec: Any, worker: ThreadPoolExecutor) -> None:
        self.rec = rec
        self.worker = worker
        self.queued: list[Future[Any]] = []

    def AcceptWaveform(self, pcm: bytes) -> None:  # the names are Kaldi's
        self.queued.append(self.worker.submit(self.rec.AcceptWaveform, pcm))

    def _caught_up(self) -> Any:
        for job in self.queued:
            job.result()
        self.queued.clear()
        return self.rec

    def PartialResult(self) -> str:
        return str(self._caught_up().PartialResult())

    def FinalResult(self) -> str:
        return str(self._caught_up().FinalResult())

    def Reset(self) -> None:
        self._caught_up().Reset()


class _VoskRecognition(Recognition):
    def __init__(self, engine: VoskSpeechToText, grammar: bool, parallel_open: bool) -> None:
        self.engine = engine
        self.grammar = grammar
        self.rec = engine.recognizer(grammar)
        # Everything the grammar recognizer heard since its last reset (while short
        # enough to decode again; None after that), and how far its clock has run
        # ahead of the stream's from decoding audio again (see SPECULATE_MAX).
        self.heard: bytearray | None = bytearray()
        self.rec_ahead = 0.0
        self.tried_at = float("-inf")  # the loud frame after which an early end was tried
        self.guess: tuple[float, str] | None = None  # (that loud frame, the words read)
        self.open = _Beside(engine.recognizer(False), engine.worker()) if parallel_open else None
        primer = _silence(PRIMER)
        for rec in (self.rec, self.open):
            if rec is not None:
                rec.AcceptWaveform(primer)
        self._heard(primer)
        self.time = 0.0  # seconds of audio fed so far
        self.utt_start = 0.0  # stream time at which the recognizers were last reset
        self.buffer = bytearray()  # the utterance so far, for a fallback second pass
        self.last_partial = ""
        self.last_change = 0.0  # stream time at which the partial text last changed
        self.speaking = False
        self.voice = VoiceActivity()
        self.recent: deque[bytes] = deque()  # the last LEAD_IN seconds of audio
        self.recent_bytes = 0
        self.pending: Transcript | None = None  # an unfinished sentence, held for its rest
        self.previous: Transcript | None = None  # the last utterance handed on
        # One per stream, so the noise estimate carries over from one utterance to the next.
        self.suppressor = NoiseSuppressor() if engine.noise_suppression else None
        self.gain = AutoGain() if engine.auto_gain else None
        self.level_mark = (0, 0)  # the input's count at the start of this utterance
        self.retake = Retake(self.gain) if self.gain is not None else None

    def calibrate(self, pcm: bytes) -> None:
        if self.gain is not None:
            self.gain.calibrate(pcm)
        if self.retake is not None:
            self.retake.restart()  # the level is known before the first word

    def own_voice(self, sounding: bool) -> None:
        if self.gain is not None:
            self.gain.hold = sounding

    def accept(self, pcm: bytes) -> list[Event]:
        events: list[Event] = []
        step = round(PIECE * STT_FORMAT.rate) * STT_FORMAT.width
        for i in range(0, len(pcm), step):
            piece = pcm[i : i + step]
            if self.retake is not None:
                self.retake.feed(piece)
            if self.gain is not None:
                piece = self.gain.process(piece)
            if self.suppressor is not None:
                piece = self.suppressor.process(piece)
            if piece:
                events.extend(self._accept_piece(piece))
        return events

    def _accept_piece(self, piece: bytes) -> list[Event]:
        self.time += len(piece) / STT_FORMAT.bytes_per_second
        self.voice.update(piece, self.time)
        events = self._decode_piece(piece)
        pending = self.pending
        if (
            pending is not None
            and not self.speaking
            and self.time - max(pending.end_time, self.voice.last_loud) >= HESITATION_WAIT
        ):
            self.pending = None
            events.append(self._final(pending))
        return events

    def _decode_piece(self, piece: bytes) -> list[Event]:
        if self.open is None and self.engine.open_pass == "fallback":
            self.buffer.extend(piece)
            limit = int(MAX_UTTERANCE * 1.2 * STT_FORMAT.bytes_per_second) & ~1
            if len(self.buffer) > limit:
                del self.buffer[: len(self.buffer) - limit]
        self._remember(piece)
        if self.open is not None:
            self.open.AcceptWaveform(piece)
            if self.pending is not None and not self.speaking:
                # The grammar often shows no partial until it is sure; the open
                # recognizer tells sooner that the person is talking again.
                self.speaking = bool(json.loads(self.open.PartialResult()).get("partial"))
        self._heard(piece)
        if self.rec.AcceptWaveform(piece):
            return self._finish(self._result(self.rec.Result()))
        early = self._end_early()
        if early is not None:
            return early
        text = str(json.loads(self.rec.PartialResult()).get("partial", ""))
        events: list[Event] = []
        if text != self.last_partial:
            self.last_partial = text
            self.last_change = self.time
            if text:
                events.append(Partial(text.replace(UNK, "").strip() or "…"))
        guess = self._guess_standing()
        if text or guess is not None:
            self.speaking = self.speaking or bool(text)
            # End of speech: quiet for `wait` by loudness, and the words have stopped
            # changing (or are catching up with what an early reading found: nothing
            # loud since). In steady noise the gate never goes quiet and Vosk's own
            # rules (about 0.5 s and more of trailing silence) end the utterance instead.
            # A whole command, or a sentence that nothing the person could add would
            # change, is taken after a short quiet; anything else waits longer.
            wait, stable = self.engine.end_silence, STABLE_PARTIAL
            if self.engine.ends_at_once(text):
                wait, stable = min(wait, QUICK_END_SILENCE), QUICK_STABLE
            quiet = self.time - self.voice.last_loud
            done = self.time - self.last_change >= stable or (
                guess is not None and _begins(guess, text)
            )
            if quiet >= wait and done:
                return events + self._finish(self._result(self.rec.FinalResult()))
        if self.speaking and self.time - self.utt_start > MAX_UTTERANCE:
            return events + self._finish(self._result(self.rec.FinalResult()))
        if (
            not self.speaking
            and self.pending is None
            and self.time - self.utt_start >= IDLE_RESET
            and (
                self.voice.last_loud <= self.utt_start
                or self.time - self.voice.last_loud >= IDLE_QUIET
            )
        ):
            # Nothing said yet: start afresh. Left alone, Vosk ends an "utterance" after
            # 5 s of silence, and when that lands on the first syllable of speech it
            # cuts the sentence in two ("i" | "feel anxious"). The last half second of
            # quiet is decoded again, so a word that begins right now still has the
            # lead-in a recognizer needs (without it a short "stop" went unheard).
            lead_in = b"".join(self.recent)
            self._reset()
            if self.open is not None:
                self.open.AcceptWaveform(lead_in)
            self.rec.AcceptWaveform(lead_in)
            self._heard(lead_in)
        return events

    def _remember(self, piece: bytes) -> None:
        """Keep the last :data:`LEAD_IN` seconds of audio, for the lead-in after a reset."""
        self.recent.append(piece)
        self.recent_bytes += len(piece)
        limit = LEAD_IN * STT_FORMAT.bytes_per_second
        while self.recent_bytes - len(self.recent[0]) >= limit:
            self.recent_bytes -= len(self.recent.popleft())

    def _heard(self, pcm: bytes) -> None:
        if self.heard is not None:
            self.heard.extend(pcm)
            if len(self.heard) > SPECULATE_MAX * STT_FORMAT.bytes_per_second:
                self.heard = None

    def _result(self, raw: str) -> dict[str, Any]:
        """A result of the grammar recognizer, its word times on the stream's clock."""
        return _shifted(raw, -self.rec_ahead)

    def _end_early(self) -> list[Event] | None:
        """The utterance's final when it has just gone quiet and its words are a sentence
        to act on at once; None (the recognizer as it was) otherwise."""
        quiet = self.time - self.voice.last_loud
        if (
            not self.grammar
            or self.heard is None
            or self.voice.last_loud <= max(self.utt_start, self.tried_at)
            or quiet < min(self.engine.end_silence, QUICK_END_SILENCE)
        ):
            return None
        so_far = _known(self.last_partial)
        if not self.engine.could_end(so_far) and not (
            self.pending is not None and self.engine.could_end(f"{self.pending.text} {so_far}")
        ):
            return None
        self.tried_at = self.voice.last_loud
        result = self._result(self.rec.FinalResult())
        best, _ = _best_of(result)
        text = _known(str(best.get("text", "")))
        whole = f"{self.pending.text} {text}" if self.pending is not None else text
        if text and any(self.engine.ends_at_once(t) for t in {text, whole}):
            return self._finish(result)
        # Not yet: decode the utterance again, so the recognizer goes on as if unread.
        if text:
            self.guess = (self.voice.last_loud, text)
        again = bytes(self.heard)
        self.rec_ahead += len(again) / STT_FORMAT.bytes_per_second
        if self.rec.AcceptWaveform(again):
            return self._finish(self._result(self.rec.Result()))
        return None

    def _guess_standing(self) -> str | None:
        """What an early reading of this utterance found, if nothing loud came since."""
        if self.guess is None or self.guess[0] != self.voice.last_loud:
            return None
        return self.guess[1]

    def _reset(self) -> None:
        if self.gain is not None:
            self.level_mark = self.gain.mark()
        if self.retake is not None:
            self.retake.restart()
        self.rec.Reset()
        self.heard = bytearray()
        self.guess = None
        if self.open is not None:
            self.open.Reset()
        self.utt_start = self.time
        self.buffer = bytearray()
        self.last_partial = ""
        self.speaking = False

    def _finish(self, result: dict[str, Any]) -> list[Event]:
        transcript = join_utterances(self.pending, self._transcript(result))
        self.pending = None
        self._reset()
        if transcript is None:
            return []
        if self.grammar and self.engine.unfinished(transcript.text):
            self.pending = transcript  # wait a little for the rest of the sentence
            return []
        return [self._final(transcript)]

    def _final(self, transcript: Transcript) -> Final:
        """``transcript`` handed on, with the one just before it if it came moments ago."""
        before, self.previous = self.previous, transcript
        if (
            before is not None
            and before.words
            and transcript.words
            and transcript.words[0].start - before.words[-1].end <= FOLLOW_GAP
        ):
            transcript = replace(transcript, follows=tuple(before.best_readings()))
        return Final(transcript)

    def _open_reading(
        self, text: str, heard_unknown: bool, conf: float, again: dict[str, Any] | None
    ) -> tuple[str | None, list[str]]:
        if self.open is not None:
            second = again if again is not None else json.loads(self.open.FinalResult())
        elif (
            self.grammar
            and self.engine.open_pass == "fallback"
            and self.engine.unsure(text, heard_unknown, conf)
        ):
            second = self.engine.second_pass(bytes(self.buffer))
        else:
            return None, []
        best, others = _best_of(second)
        return str(best.get("text", "")).strip() or None, others

    def _hear_again(self) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """The utterance decoded afresh at the gain that settled while it was heard (a
        quiet speaker's first words), or None when the gain did not change much."""
        take = self.retake.audio() if self.retake is not None else None
        if take is None:
            return None
        pcm, start = take
        if self.suppressor is not None:
            pcm = NoiseSuppressor().process(pcm + bytes(2 * HOP))  # it lags one hop
        log.debug("utterance heard again: the gain settled during it")
        self.buffer = bytearray(pcm)  # for a fallback second pass
        grammar = _decode(self.engine.recognizer(self.grammar), pcm, start)
        if self.open is None:
            return grammar, None
        return grammar, _decode(self.engine.recognizer(False), pcm, start)

    def _transcript(self, result: dict[str, Any]) -> Transcript | None:
        again = self._hear_again()
        open_again = None
        if again is not None:
            result, open_again = again
        best, others = _best_of(result)
        words = _words(best)
        raw = str(best.get("text", "")).strip()
        heard_unknown = UNK in raw.split()
        text = _known(raw)
        conf = sum(w.conf for w in words) / len(words) if words else 0.0
        open_text, open_others = (
            self._open_reading(text, heard_unknown, conf, open_again)
            if raw or self.open
            else (None, [])
        )
        if not text and not open_text:
            return None
        alternatives = [_known(t) for t in (*others, *open_others)]
        return Transcript(
            text=text,
            words=words,
            confidence=conf,
            open_text=open_text,
            end_time=self.time,
            heard_unknown=heard_unknown,
            alternatives=tuple(t for t in alternatives if t),
            level=None if self.gain is None else self.gain.heard_since(self.level_mark),
            from_grammar=self.grammar,
        )

    def flush(self) -> Transcript | None:
        last = self._transcript(self._result(self.rec.FinalResult()))
        transcript = join_utterances(self.pending, last)
        self.pending = None
        self._reset()
        return None if transcript is None else self._final(transcript).transcript


def join_utterances(first: Transcript | None, second: Transcript | None) -> Transcript | None:
    """Two utterances heard as one (the second finishes the first's sentence)."""
    if first is None or second is None:
        return second or first
    n1, n2 = len(first.words), len(second.words)
    confidence = (
        (first.confidence * n1 + second.confidence * n2) / (n1 + n2)
        if n1 + n2
        else min(first.confidence, second.confidence)
    )

    def join(a: str | None, b: str | None) -> str | None:
        return " ".join(t for t in (a, b) if t) or None

    open_text = join(first.open_text, second.open_text)
    return Transcript(
        text=join(first.text, second.text) or "",
        words=first.words + second.words,
        confidence=confidence,
        open_text=open_text if first.open_text is not None or second.open_text else None,
        end_time=second.end_time,
        heard_unknown=first.heard_unknown or second.heard_unknown,
        level=second.level or first.level,
        follows=first.follows,
        from_grammar=first.from_grammar or second.from_grammar,
        alternatives=(
            *(f"{alt} {second.text}".strip() for alt in first.alternatives),
            *(f"{first.text} {alt}".strip() for alt in second.alternatives),
        ),
    )


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
