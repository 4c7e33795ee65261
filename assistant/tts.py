"""Text to speech: espeak-ng through pyttsx3, an in-memory/on-disk clip cache, and replay.

Three implementations share the narrow :class:`TextToSpeech` interface:

* :class:`Pyttsx3TextToSpeech` renders with pyttsx3's espeak(-ng) driver into a temporary
  WAV file and returns mono 16-bit audio at espeak's native rate (22050 Hz).
* :class:`CachedTextToSpeech` wraps any engine and keeps rendered clips in a bounded LRU
  in memory and, optionally, as WAV files in a private cache folder.
* :class:`WavFolderTextToSpeech` replays such a folder without any engine (tests, demos,
  machines without espeak-ng).

Clips are keyed by :func:`clip_key`: the SHA-256 of the cleaned text, the voice settings
and the engine id, so a cache folder written by :class:`CachedTextToSpeech` can be read
back by :class:`WavFolderTextToSpeech`.

pyttsx3 (2.99) facts this module works around, all measured with espeak-ng 1.51:

* espeak-ng runs in asynchronous "retrieval" mode. The *first* ``runAndWait()`` of an
  engine returns after ~10 ms, before the WAV file exists (a 1500-character text was
  written 0.3 s later); later calls block until the utterance ends. We always wait for
  the ``finished-utterance`` callback, which fires after the file is closed.
* Rate and volume changes are queued to espeak's worker thread. If one is still pending
  when ``runAndWait()`` calls the driver's ``stop()``, espeak is cancelled and the clip
  is spoken with the *previous* call's settings (45% of 200 alternating-rate renders).
  We wait until espeak is idle (``espeak_IsPlaying``) before rendering: 0 of 200.
* Two threads calling ``espeak_Cancel`` at once deadlock, so pyttsx3's ``engine.stop()``
  cannot be used as a watchdog. A stuck render is ended by stopping pyttsx3's run loop
  from a timer and cancelling espeak afterwards on the rendering thread.
* The driver ``print()``s "Audio saved to <file>" from espeak's thread on every render
  (also for a cancelled one); we filter that line out of stdout while rendering.
* espeak state (voice, rate, callback) is process-global. Creating a second pyttsx3
  ``Engine`` re-points the callback; when an old engine is garbage-collected it clears
  the callback (renders silently produce no file: 2 of 20) or crashes the process
  (segfault). So one engine is created per process, kept alive, and used under one lock.
* ``setProperty()`` never raises: driver errors are only reported through the ``error``
  callback, which we listen to while rendering; voice names are resolved against the
  installed voices up front instead.
* espeak output is not byte-identical between renders in one process (its pitch flutter
  carries over; lengths differ by a few samples), so identical replays come from the cache.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
import unicodedata
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from assistant.audio_format import Audio, AudioFormat, convert, load_wav, save_wav
from assistant.closing import Closing
from assistant.errors import AudioFileError, SpeechEngineError
from assistant.paths import ensure_private_dir
from assistant.text import PrivateText

log = logging.getLogger(__name__)

MIN_RATE_WPM = 80
"""Slowest speaking rate Steady asks for (words per minute)."""
MAX_RATE_WPM = 300
"""Fastest speaking rate Steady asks for (words per minute)."""
ESPEAK_RATE = 22050
"""espeak-ng's native sample rate (pyttsx3 writes its WAV files at this rate)."""
PYTTSX3_ENGINE_ID = "pyttsx3-espeak"
"""Engine id used in clip keys for :class:`Pyttsx3TextToSpeech`."""
EDGE_SILENCE_S = 0.05
"""Silence kept before the first and after the last audible sample of a rendered clip."""
SILENCE_THRESHOLD = 33
"""|sample| at or below this (about -60 dBFS) counts as silence when trimming."""
TTS_MISSING_MESSAGE = (
    "Text-to-speech is not available (espeak-ng not found); run `sudo apt install espeak-ng`."
)
PYTTSX3_MISSING_MESSAGE = (
    "Text-to-speech is not available (the pyttsx3 package is missing); run `pip install pyttsx3`."
)
_KEY_FORMAT = 2  # 2: rate_wpm is the heard rate (see ESPEAK_SPEEDUP)
"""Bump when rendering changes in a way that should invalidate existing caches."""


@dataclass(frozen=True)
class Voice:
    """How text is spoken. Out-of-range values are clamped on construction."""

    rate_wpm: int = 160
    """Words per minute, clamped to :data:`MIN_RATE_WPM`..:data:`MAX_RATE_WPM`."""
    voice: str | None = None
    """espeak voice id or name (substring), e.g. ``"en-us"``, ``"en-gb-x-rp"``,
    ``"english_rp"``, ``"English (America)"``, optionally with a ``+variant`` such as
    ``"en-us+f3"`` (espeak ignores unknown variants). None (or blank) means espeak's
    default English voice, ``"en"`` (British)."""
    volume: float = 1.0
    """Loudness from 0 (silent) to 1 (full)."""

    def __post_init__(self) -> None:
        rate = min(MAX_RATE_WPM, max(MIN_RATE_WPM, round(self.rate_wpm)))
        volume = float(self.volume)
        volume = min(1.0, max(0.0, volume)) if math.isfinite(volume) else 1.0
        name = self.voice.strip() if self.voice else ""
        object.__setattr__(self, "rate_wpm", rate)
        object.__setattr__(self, "volume", volume)
        object.__setattr__(self, "voice", name or None)


# --------------------------------------------------------------------------- text cleanup

_URL_PREFIX = re.compile(r"\b(?:https?://|www\.)", re.IGNORECASE)
_NUMBER_SEQUENCE = re.compile(r"\b\d+(?:\s*[-‐‑–—]\s*\d+){2,}\b")
_NUMBER_RANGE = re.compile(r"\b(\d+)\s*[-‐‑–]\s*(\d+)\b")
_DASH_BETWEEN_WORDS = re.compile(r"\s+[–—]\s+|\s*—\s*|\s+--+\s+")
_READ_ALOUD_BADLY = re.compile(r"[*_`#~|^\\/<>]+")
_WHITESPACE = re.compile(r"\s+")
_DROP_CATEGORIES = frozenset({"So", "Sk", "Co", "Cn", "Cs", "Me"})


def _drop_symbol(ch: str) -> str:
    """Map one character to what espeak should see (``""`` to delete, ``" "`` to split)."""
    if ch in "\n\r\t\v\f":
        return " "
    if "\ufe00" <= ch <= "\ufe0f":  # emoji variation selectors
        return ""
    category = unicodedata.category(ch)
    if category in ("Cf", "Cc"):  # zero-width joiner, soft hyphen, controls
        return ""
    if category in _DROP_CATEGORIES or (category == "Sm" and not ch.isascii()):
        return " "  # emoji, arrows, check marks, ...: espeak would name them
    return ch


ESPEAK_SPEEDUP = 1.2
"""espeak-ng speaks about 20 % faster than the rate it is given (measured: asked 160,
heard a median of 193 words a minute over whole sentences). Steady's ``rate_wpm``
means the rate a listener hears, so it is divided by this before reaching espeak."""


def espeak_rate(heard_wpm: int) -> int:
    """The rate to ask espeak-ng for, so that ``heard_wpm`` words a minute come out."""
    return round(heard_wpm / ESPEAK_SPEEDUP)


def clean_text(text: str) -> str:
    """Prepare ``text`` for espeak so it is spoken, not spelled out.

    Removes emoji and pictographic symbols, Markdown marks and slashes (espeak reads
    "asterisk", "hash", "slash"), URL schemes, and turns "4-7-8" into "4 7 8" and "3-5"
    into "3 to 5". Whitespace is collapsed. Cleaning is idempotent.
    """
    t = unicodedata.normalize("NFKC", text)
    t = "".join(_drop_symbol(ch) for ch in t)
    t = _URL_PREFIX.sub("", t)
    t = _NUMBER_SEQUENCE.sub(lambda m: " ".join(re.findall(r"\d+", m.group(0))), t)
    t = _NUMBER_RANGE.sub(r"\1 to \2", t)
    t = _DASH_BETWEEN_WORDS.sub(", ", t)
    t = _READ_ALOUD_BADLY.sub(" ", t)
    return _WHITESPACE.sub(" ", t).strip()


def clip_key(text: str, voice: Voice, engine_id: str) -> str:
    """The cache key (hex SHA-256) of ``text`` spoken with ``voice`` by ``engine_id``."""
    payload = {
        "format": _KEY_FORMAT,
        "engine": engine_id,
        "text": clean_text(text),
        "rate": voice.rate_wpm,
        "voice": voice.voice.lower() if voice.voice else None,
        "volume": round(voice.volume, 3),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def trim_silence(
    audio: Audio, keep_s: float = EDGE_SILENCE_S, threshold: int = SILENCE_THRESHOLD
) -> Audio:
    """Cut leading and trailing silence of mono 16-bit ``audio`` down to ``keep_s`` seconds.

    A clip with nothing above ``threshold`` becomes empty.
    """
    samples = audio.samples()[:, 0]
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return Audio(b"", audio.fmt)
    keep = round(keep_s * audio.fmt.rate)
    start = max(0, int(loud[0]) - keep)
    end = min(samples.size, int(loud[-1]) + 1 + keep)
    return Audio(samples[start:end].tobytes(), audio.fmt)


# --------------------------------------------------------------------------- interface


class TextToSpeech(Closing, ABC):
    """Turns text into audio. Implementations are safe to call from several threads."""

    def __init__(self, default_voice: Voice | None = None) -> None:
        self.default_voice = default_voice or Voice()
        """Voice used when :meth:`synthesize` is called without one."""

    @property
    def engine_id(self) -> str:
        """Identifies the renderer in :func:`clip_key` (clips differ between engines)."""
        return type(self).__name__

    @abstractmethod
    def synthesize(self, text: str, voice: Voice | None = None) -> Audio:
        """Speak ``text`` into mono 16-bit audio at the engine's native rate.

        Text that is empty after :func:`clean_text` gives an empty clip.

        Raises:
            SpeechEngineError: the engine is missing or failed.
        """

    def close(self) -> None:
        """Release resources. The default does nothing."""


# --------------------------------------------------------------------------- pyttsx3

_ENGINE_LOCK = threading.RLock()
"""Serialises every use of the process-wide espeak engine."""
_engine: Any = None
"""The one pyttsx3 engine of this process (never torn down; see module docstring)."""
_engine_default_voice: str | None = None
"""espeak's voice id right after initialisation."""
_espeak_is_playing: Callable[[], int] | None = None
"""``espeak_IsPlaying`` (through pyttsx3's ctypes binding): is espeak's worker busy?"""
_espeak_cancel: Callable[[], int] | None = None
"""``espeak_Cancel`` (through pyttsx3's ctypes binding): stop the current synthesis."""


def _shared_engine() -> Any:
    """Create (once) and return the process-wide pyttsx3 espeak engine."""
    global _engine, _engine_default_voice, _espeak_is_playing, _espeak_cancel
    with _ENGINE_LOCK:
        if _engine is not None:
            return _engine
        try:
            import pyttsx3
        except ImportError:
            raise SpeechEngineError(PYTTSX3_MISSING_MESSAGE) from None
        try:
            engine = pyttsx3.init("espeak")
            default_voice = engine.getProperty("voice")
        except (ImportError, OSError, RuntimeError, AttributeError) as exc:
            log.debug("pyttsx3 espeak driver failed to start: %r", exc)
            raise SpeechEngineError(TTS_MISSING_MESSAGE) from None
        try:
            from pyttsx3.drivers import _espeak

            _espeak_is_playing = _espeak.IsPlaying
            _espeak_cancel = _espeak.Cancel
        except (ImportError, AttributeError):  # a pyttsx3 without it: renders still work
            log.warning("pyttsx3's espeak binding has no IsPlaying; rate changes may lag")
        _engine = engine
        _engine_default_voice = str(default_voice) if default_voice else None
        atexit.register(_quiet_teardown)
        return _engine


def _quiet_teardown() -> None:
    """At exit, pyttsx3's DriverProxy.__del__ runs after module globals are gone and
    prints a harmless AttributeError traceback. The engine is never torn down anyway,
    so its finaliser is made a no-op once the process is ending."""
    try:
        from pyttsx3 import driver

        driver.DriverProxy.__del__ = lambda self: None
    except (ImportError, AttributeError):
        pass


class _SavedNoticeFilter(io.TextIOBase):
    """A stdout stand-in that drops pyttsx3's "Audio saved to <file>" line.

    Everything else (other threads' output) is passed through to ``target``.
    """

    def __init__(self, target: TextIO | None, filename: str) -> None:
        super().__init__()
        self._target = target
        self._notice = f"Audio saved to {filename}"
        self._skip_newline = False

    def writable(self) -> bool:
        return True

    def write(self, s: str, /) -> int:
        if s == self._notice:
            self._skip_newline = True
            return len(s)
        if s == "\n" and self._skip_newline:
            self._skip_newline = False
            return len(s)
        return self._target.write(s) if self._target is not None else len(s)

    def flush(self) -> None:
        if self._target is not None:
            self._target.flush()


@dataclass(frozen=True)
class _EspeakVoice:
    """One installed espeak voice as pyttsx3 lists it."""

    id: str
    """e.g. ``"gmw/en-us"`` (lowercase)."""
    name: str
    """e.g. ``"English (America)"``."""
    languages: tuple[str, ...]
    """e.g. ``("en-us",)``."""

    @property
    def short_id(self) -> str:
        return self.id.rsplit("/", 1)[-1]


_LEGACY_VOICE_NAMES = {
    "default": "en",
    "english": "en",
    "english-gb": "en",
    "english-uk": "en",
    "english-rp": "en-gb-x-rp",
    "english-us": "en-us",
    "en-uk": "en",
    "english-north": "en-gb-x-gbclan",
    "english-wmids": "en-gb-x-gbcwmd",
    "en-scottish": "en-gb-scotland",
}
"""espeak 1.x voice names that espeak-ng renamed (``"english_rp"`` -> ``"en-gb-x-rp"``)."""


def _find_voice(query: str, voices: list[_EspeakVoice]) -> _EspeakVoice | None:
    """The installed voice best matching ``query`` (id, short id, language, name)."""
    q = query.strip().lower().replace("_", "-")
    q = _LEGACY_VOICE_NAMES.get(q, q)
    rules = (
        lambda v: v.id == q,
        lambda v: v.short_id == q,
        lambda v: q in v.languages,
        lambda v: v.name.lower() == q,
        lambda v: q in v.name.lower(),
        lambda v: q in v.id,
    )
    for rule in rules:
        for v in voices:
            if rule(v):
                return v
    return None


class Pyttsx3TextToSpeech(TextToSpeech):
    """pyttsx3 with the espeak(-ng) driver.

    Each call renders to a private temporary WAV via ``engine.save_to_file`` +
    ``runAndWait``, waits for espeak to finish writing it, loads it with
    ``load_wav(target=None)``, deletes it, and trims edge silence to
    :data:`EDGE_SILENCE_S`. All instances share one engine and one lock.

    Raises:
        SpeechEngineError: on construction if pyttsx3 or espeak-ng is missing, or if
            ``default_voice`` names a voice that is not installed.
    """

    def __init__(
        self,
        default_voice: Voice | None = None,
        *,
        timeout_s: float = 15.0,
        temp_dir: Path | None = None,
    ) -> None:
        super().__init__(default_voice)
        self._engine = _shared_engine()
        self._timeout_s = timeout_s
        self._temp_dir = temp_dir
        with _ENGINE_LOCK:
            listed = self._engine.getProperty("voices") or []
        self._voices = [
            _EspeakVoice(
                id=str(v.id).lower(),
                name=str(v.name or ""),
                languages=tuple(str(lang).lower() for lang in (v.languages or [])),
            )
            for v in listed
        ]
        self._resolved: dict[str | None, str] = {}
        self._resolve_lock = threading.Lock()
        self.resolve_voice(self.default_voice.voice)

    @property
    def engine_id(self) -> str:
        return PYTTSX3_ENGINE_ID

    def close(self) -> None:
        """Nothing to release: the shared engine must live as long as the process."""

    def english_voices(self) -> list[str]:
        """Short ids of the installed English voices, e.g. ``["en", "en-us", ...]``."""
        return sorted(v.short_id for v in self._voices if v.short_id.startswith("en"))

    def resolve_voice(self, name: str | None) -> str:
        """The espeak voice id for a :attr:`Voice.voice` value.

        Raises:
            SpeechEngineError: no installed voice matches ``name``.
        """
        with self._resolve_lock:
            if name in self._resolved:
                return self._resolved[name]
            if name is None:
                found = _find_voice("en", self._voices)
                resolved = found.id if found else (_engine_default_voice or "en")
            else:
                base, plus, variant = name.partition("+")
                found = _find_voice(base, self._voices)
                if found is None:
                    choices = ", ".join(self.english_voices()[:8]) or "en"
                    raise SpeechEngineError(
                        f"The voice {name!r} is not installed in espeak-ng; "
                        f"choose one of: {choices}."
                    )
                resolved = found.id + (plus + variant.strip().lower() if variant.strip() else "")
            self._resolved[name] = resolved
            log.debug("voice %r -> espeak voice %r", name, resolved)
            return resolved

    def synthesize(self, text: str, voice: Voice | None = None) -> Audio:
        v = voice or self.default_voice
        cleaned = clean_text(text)
        if not cleaned:
            return Audio(b"", AudioFormat(ESPEAK_RATE))
        voice_id = self.resolve_voice(v.voice)
        fd, tmp = tempfile.mkstemp(prefix="steady-tts-", suffix=".wav", dir=self._temp_dir)
        os.close(fd)
        try:
            with _ENGINE_LOCK:
                self._render(cleaned, v, voice_id, tmp)
            audio = load_wav(tmp, target=None)
        except AudioFileError as exc:
            raise SpeechEngineError(f"Text-to-speech produced no usable audio ({exc}).") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if audio.fmt.width != 2 or audio.fmt.channels != 1:
            audio = convert(audio, AudioFormat(audio.fmt.rate))
        return trim_silence(audio)

    def _render(self, text: str, voice: Voice, voice_id: str, path: str) -> None:
        """Have espeak write ``text`` to ``path``; call with :data:`_ENGINE_LOCK` held."""
        for attempt in (1, 2):
            if self._render_once(text, voice, voice_id, path):
                return
            log.info("espeak cancelled a render (attempt %d); rendering again", attempt)
        raise SpeechEngineError("Text-to-speech was interrupted twice; try again.")

    def _render_once(self, text: str, voice: Voice, voice_id: str, path: str) -> bool:
        """One render; False if espeak reported it as cancelled (the file is unusable)."""
        engine = self._engine
        done = threading.Event()
        outcome: list[bool] = []  # the first finished-utterance's `completed` flag
        errors: list[BaseException] = []

        def on_finished(name: object = None, completed: object = True, **_: object) -> None:
            if not outcome:
                outcome.append(bool(completed))
            done.set()

        def on_error(name: object = None, exception: object = None, **_: object) -> None:
            errors.append(
                exception if isinstance(exception, BaseException) else RuntimeError("espeak error")
            )
            done.set()

        def abort() -> None:  # runs on the watchdog thread
            _end_run_loop(engine)
            done.set()

        timeout = self._timeout_s * max(1.0, len(text) / 500)
        watchdog = threading.Timer(timeout, abort)
        watchdog.daemon = True
        tokens = [
            engine.connect("finished-utterance", on_finished),
            engine.connect("error", on_error),
        ]
        try:
            engine.setProperty("voice", voice_id)
            engine.setProperty("rate", espeak_rate(voice.rate_wpm))
            engine.setProperty("volume", voice.volume)
            # Rate and volume are queued to espeak's worker thread. If they are still pending
            # when runAndWait() calls the driver's stop(), espeak is cancelled and the clip
            # comes out at the previous call's rate (measured: ~45% of alternating renders).
            _wait_until_idle()
            engine.save_to_file(text, path)
            with contextlib.redirect_stdout(_SavedNoticeFilter(sys.stdout, path)):
                watchdog.start()
                try:
                    engine.runAndWait()
                except Exception as exc:
                    with contextlib.suppress(Exception):
                        engine.endLoop()  # leaves the engine usable for the next call
                    raise SpeechEngineError(f"Text-to-speech failed ({exc}).") from None
                # The first runAndWait() of a process returns before espeak has written the
                # file; wait for the finished callback (it fires after the file is closed).
                done.wait(timeout)
                watchdog.cancel()
                timed_out = not outcome and not errors
                if timed_out:
                    # Timed out. Cancel here, inside the stdout filter: the cancelled
                    # utterance still ends with the driver writing the file and printing.
                    _cancel_espeak()  # on this thread: concurrent espeak_Cancel calls deadlock
                    _wait_until_idle()
            if errors:
                raise SpeechEngineError(f"Text-to-speech failed ({errors[0]}).")
            if timed_out:  # even if the cancel made espeak report the (cut) file as done
                raise SpeechEngineError(
                    f"Text-to-speech did not finish within {timeout:.3g} s; try again."
                )
            return outcome[0]
        finally:
            watchdog.cancel()
            for token in tokens:
                engine.disconnect(token)


def _end_run_loop(engine: Any) -> None:
    """Make a stuck ``runAndWait()`` return (safe to call from another thread).

    pyttsx3's espeak loop only ends when espeak reports the end of the utterance. Its own
    ``engine.stop()`` is not usable from a second thread: it calls ``espeak_Cancel`` while
    the loop does the same, and two concurrent cancels deadlock espeak (measured). Ending
    the loop only flips a flag; the caller cancels espeak afterwards on its own thread.
    """
    with contextlib.suppress(Exception):
        engine.proxy._driver.endLoop()


def _cancel_espeak() -> None:
    """Stop whatever espeak is synthesising (call with :data:`_ENGINE_LOCK` held)."""
    if _espeak_cancel is not None:
        with contextlib.suppress(Exception):
            _espeak_cancel()


def _wait_until_idle(limit_s: float = 2.0) -> None:
    """Wait until espeak's worker thread has run every queued command."""
    if _espeak_is_playing is None:
        return
    deadline = time.monotonic() + limit_s
    while _espeak_is_playing():
        if time.monotonic() > deadline:
            log.warning("espeak stayed busy for %.1f s; continuing anyway", limit_s)
            return
        time.sleep(0.001)


# --------------------------------------------------------------------------- cache


class CachedTextToSpeech(TextToSpeech):
    """Caches another engine's clips in a bounded in-memory LRU and optionally on disk.

    Disk clips are ``<cache_dir>/<clip_key>.wav`` (files 0600, folder 0700), written
    atomically, so :class:`WavFolderTextToSpeech` can replay the folder. A broken cache
    file is deleted and re-rendered; failing to write the cache only logs a warning.
    """

    def __init__(
        self,
        inner: TextToSpeech,
        cache_dir: Path | None = None,
        *,
        max_clips: int = 256,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        super().__init__(inner.default_voice)
        self.inner = inner
        """The engine that renders cache misses."""
        self.cache_dir = cache_dir
        """Folder of WAV clips, or None for memory only."""
        self._max_clips = max(1, max_clips)
        self._max_bytes = max(0, max_bytes)
        self._memory: OrderedDict[str, Audio] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        """Clips served from memory or disk."""
        self.misses = 0
        """Clips the inner engine had to render."""
        if cache_dir is not None:
            ensure_private_dir(cache_dir)

    @property
    def engine_id(self) -> str:
        return self.inner.engine_id

    def synthesize(self, text: str, voice: Voice | None = None) -> Audio:
        v = voice or self.default_voice
        if isinstance(text, PrivateText):
            return self.inner.synthesize(text, v)  # the person's own words: never kept
        if not clean_text(text):
            return self.inner.synthesize(text, v)  # nothing to say: not worth a cache entry
        key = clip_key(text, v, self.engine_id)
        with self._lock:
            cached = self._memory.get(key)
            if cached is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return cached
        audio = self._read_disk(key)
        if audio is not None:
            with self._lock:
                self.hits += 1
        else:
            audio = self.inner.synthesize(text, v)
            with self._lock:
                self.misses += 1
            self._write_disk(key, audio)
        self._remember(key, audio)
        return audio

    def prerender(self, texts: Iterable[str], voice: Voice | None = None) -> int:
        """Render every text not cached yet (so speaking it later never waits on the engine).

        Returns how many clips were newly rendered.
        """
        before = self.misses
        for text in texts:
            self.synthesize(text, voice)
        return self.misses - before

    def clear_memory(self) -> None:
        """Forget the in-memory clips (disk clips stay)."""
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0

    def close(self) -> None:
        self.inner.close()

    def _remember(self, key: str, audio: Audio) -> None:
        with self._lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._memory_bytes -= len(old.pcm)
            self._memory[key] = audio
            self._memory_bytes += len(audio.pcm)
            while self._memory and (
                len(self._memory) > self._max_clips or self._memory_bytes > self._max_bytes
            ):
                _, evicted = self._memory.popitem(last=False)
                self._memory_bytes -= len(evicted.pcm)

    def _read_disk(self, key: str) -> Audio | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"{key}.wav"
        if not path.is_file():
            return None
        try:
            return load_wav(path, target=None)
        except AudioFileError as exc:
            log.warning("Discarding a broken speech cache file: %s", exc)
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def _write_disk(self, key: str, audio: Audio) -> None:
        if self.cache_dir is None:
            return
        try:
            ensure_private_dir(self.cache_dir)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=self.cache_dir)
            os.close(fd)
            try:
                os.chmod(tmp, 0o600)
                save_wav(tmp, audio)
                os.replace(tmp, self.cache_dir / f"{key}.wav")
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        except (OSError, AudioFileError) as exc:
            log.warning("Could not write the speech cache in %s: %s", self.cache_dir, exc)


# --------------------------------------------------------------------------- replay


class WavFolderTextToSpeech(TextToSpeech):
    """Replays pre-rendered clips from a folder (no engine needed).

    Clips are looked up as ``<folder>/<clip_key(text, voice, engine_id)>.wav``, which is
    the layout :class:`CachedTextToSpeech` writes; ``engine_id`` must be the id of the
    engine that rendered them (by default pyttsx3/espeak).
    """

    def __init__(
        self,
        folder: Path,
        default_voice: Voice | None = None,
        *,
        engine_id: str = PYTTSX3_ENGINE_ID,
    ) -> None:
        super().__init__(default_voice)
        self.folder = folder
        self._engine_id = engine_id

    @property
    def engine_id(self) -> str:
        return self._engine_id

    def clip_path(self, text: str, voice: Voice | None = None) -> Path:
        """Where the clip for ``text`` is (or would be) stored."""
        return self.folder / f"{clip_key(text, voice or self.default_voice, self.engine_id)}.wav"

    def synthesize(self, text: str, voice: Voice | None = None) -> Audio:
        if not clean_text(text):
            return Audio(b"", AudioFormat(ESPEAK_RATE))
        path = self.clip_path(text, voice)
        if not path.is_file():
            raise SpeechEngineError(
                f"No pre-rendered speech for {text!r} in {self.folder}; "
                "render it first with the speech engine."
            )
        audio = load_wav(path, target=None)
        if audio.fmt.width != 2 or audio.fmt.channels != 1:
            audio = convert(audio, AudioFormat(audio.fmt.rate))
        return audio


def default_tts(voice: Voice, cache_dir: Path | None) -> TextToSpeech:
    """Steady's speech: espeak-ng through pyttsx3, cached in memory and in ``cache_dir``.

    Raises:
        SpeechEngineError: espeak-ng or pyttsx3 is missing, or ``voice`` is not installed.
    """
    return CachedTextToSpeech(Pyttsx3TextToSpeech(voice), cache_dir)
