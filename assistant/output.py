"""What Steady says and plays: spoken through TTS and a sink, printed, or both.

The dialog and the exercise runner talk to an :class:`Output`; they never know
whether the words become sound, text on a terminal, or a WAV file.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TextIO

from assistant.audio_format import Audio, lead_trimmed, scaled
from assistant.clock import Clock

if TYPE_CHECKING:
    from assistant.audio_out import AudioSink
    from assistant.tts import TextToSpeech, Voice

log = logging.getLogger(__name__)


class Output(ABC):
    """Somewhere Steady's words and cue tones go."""

    @abstractmethod
    def say(self, text: str, interrupt: threading.Event | None = None) -> bool:
        """Say ``text``; blocks while it is spoken; False if interrupted."""

    def tone(self, kind: str, interrupt: threading.Event | None = None) -> bool:
        """Play a cue tone (``inhale``, ``exhale``, ``hold``, ``chime``)."""
        return True

    def prepare(self, texts: Iterable[str]) -> None:  # noqa: B027 - optional hook
        """Render ahead of time what will be said, so pacing never waits on the engine."""

    def silence(self) -> None:  # noqa: B027 - optional hook
        """Stop whatever is being said now (barge-in, stop, crisis)."""

    def set_gain(self, gain: float) -> None:  # noqa: B027 - optional hook
        """Play what follows at ``gain`` (0..1) times full loudness (a fading exercise)."""


class PrintedOutput(Output):
    """Prints each line as ``steady: ...`` (the chat mode)."""

    def __init__(self, stream: TextIO, prefix: str = "steady: ") -> None:
        self.stream = stream
        self.prefix = prefix
        self._lock = threading.Lock()

    def say(self, text: str, interrupt: threading.Event | None = None) -> bool:
        if interrupt is not None and interrupt.is_set():
            return False
        with self._lock:
            self.stream.write(f"{self.prefix}{text}\n")
            self.stream.flush()
        return True


class SpokenOutput(Output):
    """Text to speech, played through an audio sink; the clock moves with the audio."""

    def __init__(
        self,
        tts: TextToSpeech,
        sink: AudioSink,
        clock: Clock,
        voice: Voice | None = None,
        tones: Callable[[str], Audio] | None = None,
    ) -> None:
        self.tts = tts
        self.sink = sink
        self.clock = clock
        self.voice = voice
        self.tones = tones
        self.gain = 1.0
        self._current: threading.Event | None = None
        self._lock = threading.Lock()

    def _play(self, audio: Audio, interrupt: threading.Event | None) -> bool:
        pad_to = getattr(self.sink, "pad_to", None)
        if self.clock.virtual and pad_to is not None:
            pad_to(self.clock.now())  # a file render: place the clip at its planned time
        cancel = threading.Event()
        with self._lock:
            self._current = cancel
        watcher: threading.Thread | None = None
        if interrupt is not None:
            if interrupt.is_set():
                return False

            def relay() -> None:
                while not cancel.is_set():
                    if interrupt.wait(0.02):
                        cancel.set()

            watcher = threading.Thread(target=relay, daemon=True)
            watcher.start()
        try:
            done = self.sink.play(audio, cancel)
        finally:
            finished = not cancel.is_set()
            cancel.set()
            if watcher is not None:
                watcher.join()
        self.clock.advance(audio.duration)
        return done and finished

    def say(self, text: str, interrupt: threading.Event | None = None) -> bool:
        # Without the engine's lead-in silence a spoken count starts on its beat.
        audio = lead_trimmed(self.tts.synthesize(text, self.voice))
        return self._play(scaled(audio, self.gain), interrupt)

    def tone(self, kind: str, interrupt: threading.Event | None = None) -> bool:
        if self.tones is None:
            return True
        return self._play(scaled(self.tones(kind), self.gain), interrupt)

    def set_gain(self, gain: float) -> None:
        self.gain = min(max(gain, 0.0), 1.0)

    def prepare(self, texts: Iterable[str]) -> None:
        for t in texts:
            self.tts.synthesize(t, self.voice)

    def silence(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.set()


class MultiOutput(Output):
    """Prints and speaks (``steady chat --speak``)."""

    def __init__(self, outputs: list[Output]) -> None:
        self.outputs = outputs

    def say(self, text: str, interrupt: threading.Event | None = None) -> bool:
        return all([o.say(text, interrupt) for o in self.outputs])

    def tone(self, kind: str, interrupt: threading.Event | None = None) -> bool:
        return all([o.tone(kind, interrupt) for o in self.outputs])

    def prepare(self, texts: Iterable[str]) -> None:
        for o in self.outputs:
            o.prepare(texts)

    def silence(self) -> None:
        for o in self.outputs:
            o.silence()

    def set_gain(self, gain: float) -> None:
        for o in self.outputs:
            o.set_gain(gain)


class TrackingOutput(Output):
    """Remembers what was said and when, so Steady can ignore its own voice."""

    def __init__(self, inner: Output, clock: Clock) -> None:
        self.inner = inner
        self.clock = clock
        self.said: list[tuple[float, float, str]] = []
        self._lock = threading.Lock()
        self._sounds = 0  # speech and tones playing now
        self._quiet_since = float("-inf")

    def say(self, text: str, interrupt: threading.Event | None = None) -> bool:
        start = self.clock.now()
        with self._lock:
            self.said.append((start, float("inf"), text))
            index = len(self.said) - 1
        try:
            with self._sound():
                return self.inner.say(text, interrupt)
        finally:
            with self._lock:
                self.said[index] = (start, self.clock.now(), text)
                del self.said[: max(0, len(self.said) - 50)]

    def tone(self, kind: str, interrupt: threading.Event | None = None) -> bool:
        with self._sound():
            return self.inner.tone(kind, interrupt)

    @contextlib.contextmanager
    def _sound(self) -> Iterator[None]:
        with self._lock:
            self._sounds += 1
        try:
            yield
        finally:
            with self._lock:
                self._sounds -= 1
                self._quiet_since = self.clock.now()

    def sounding(self, tail: float) -> bool:
        """Whether Steady is speaking or sounding a tone now, or stopped less than
        ``tail`` seconds ago (its sound may still be arriving at the microphone)."""
        with self._lock:
            return self._sounds > 0 or self.clock.now() - self._quiet_since < tail

    def prepare(self, texts: Iterable[str]) -> None:
        self.inner.prepare(texts)

    def silence(self) -> None:
        self.inner.silence()

    def set_gain(self, gain: float) -> None:
        self.inner.set_gain(gain)

    def recent(self, seconds: float) -> list[str]:
        """Texts being said now or finished within the last ``seconds``."""
        now = self.clock.now()
        with self._lock:
            return [t for (_s, end, t) in self.said if end >= now - seconds]

    @property
    def speaking(self) -> bool:
        with self._lock:
            return any(end == float("inf") for (_s, end, _t) in self.said)
