"""Building Steady from its settings: data, engines, outputs, and the dialog."""

from __future__ import annotations

import functools
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from assistant.audio_format import Audio, load_wav
from assistant.clock import Clock
from assistant.config import Settings
from assistant.dialog import Dialog, Suggestion, load_suggestions
from assistant.exercises import ExerciseLibrary
from assistant.matcher import IntentMatcher
from assistant.output import Output, PrintedOutput, SpokenOutput
from assistant.paths import audio_dir, config_dir, data_dir, ensure_private_dir, intents_dir
from assistant.prebuilt import Prebuilt
from assistant.replies import Replies
from assistant.safety import Contact, Locale
from assistant.understand import build_matcher

if TYPE_CHECKING:
    from assistant.store import Store

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything a conversation needs that does not depend on audio devices."""

    settings: Settings
    matcher: IntentMatcher
    replies: Replies
    library: ExerciseLibrary
    suggestions: dict[str, Suggestion]
    locale: Locale
    contacts: list[Contact]
    home: Path
    _store: Store | None = field(default=None, repr=False)
    _store_tried: bool = field(default=False, repr=False)

    @classmethod
    def load(cls, settings: Settings, data_override: str | None = None) -> App:
        data = intents_dir()
        lang = settings.language
        home = data_dir(data_override)
        user_exercises = config_dir(data_override) / "exercises"
        return cls(
            settings=settings,
            matcher=build_matcher(lang, Prebuilt.under(home)),
            replies=Replies.from_yaml(data / "replies" / lang / "replies.yaml"),
            library=ExerciseLibrary.load(data / "exercises", user_exercises),
            suggestions=load_suggestions(data / "suggestions.yaml"),
            locale=Locale.load(data / "locales", settings.country),
            contacts=_contacts(config_dir(data_override) / "contacts.yaml"),
            home=home,
        )

    def first_run(self) -> bool:
        """True the first time Steady talks to this person (then remembered)."""
        ensure_private_dir(self.home)
        marker = self.home / "first-run-done"
        if marker.exists():
            return False
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        return True

    def store(self) -> Store | None:
        """The person's private store (sessions, ratings, journal), opened once.

        An encrypted store needs its passphrase (``STEADY_PASSPHRASE`` or typed); a
        store that cannot be opened at all leaves Steady working without memory.
        """
        if not self._store_tried:
            from assistant.cli_toolbox import open_store_at
            from assistant.errors import StorageError

            self._store_tried = True
            try:
                self._store = open_store_at(self.home)
            except StorageError as exc:
                log.warning("Steady will not remember this session: %s", exc)
            if self._store is not None and self._store.warning:
                print(f"steady: {self._store.warning}", file=sys.stderr)
        return self._store

    def tts_cache(self) -> Path:
        return ensure_private_dir(self.home / "cache" / "speech")

    def spoken_output(self, sink: object, clock: Clock) -> SpokenOutput:
        from assistant.audio_out import AudioSink
        from assistant.tts import Voice, default_tts

        assert isinstance(sink, AudioSink)
        voice = Voice(rate_wpm=self.settings.rate_wpm, voice=self.settings.voice)
        tts = default_tts(voice, self.tts_cache())
        return SpokenOutput(tts, sink, clock, voice, tones=tone_for)

    def printed_output(self, stream: TextIO) -> Output:
        return PrintedOutput(stream)

    def dialog(
        self,
        output: Output,
        clock: Clock,
        *,
        asynchronous: bool,
        block_exercises: bool = False,
        greet_first_run: bool = True,
    ) -> Dialog:
        store = self.store()
        return Dialog(
            matcher=self.matcher,
            replies=self.replies,
            library=self.library,
            suggestions=self.suggestions,
            locale=self.locale,
            output=output,
            clock=clock,
            contacts=self.contacts,
            time_scale=self.settings.time_scale,
            first_run=greet_first_run and self.first_run(),
            asynchronous=asynchronous,
            block_exercises=block_exercises,
            history=store,
            journal=store,
            cue_style=self.settings.cues,
            keep_journal_audio=self.settings.journal_audio,
        )


def _contacts(path: Path) -> list[Contact]:
    if not path.exists():
        return []
    from assistant.datafiles import load_yaml

    data = load_yaml(path)
    return [Contact(str(c["name"]), str(c["number"])) for c in data.get("contacts", [])]


@functools.lru_cache(maxsize=8)
def tone_for(kind: str) -> Audio:
    """A cue tone: the bundled WAV in ``audio/`` if present, else generated."""
    path = audio_dir() / f"{kind}.wav"
    if path.exists():
        return load_wav(path, target=None)
    import importlib

    tones = importlib.import_module("steady_audio.tones")  # audio/tones.py, as installed
    made: Audio = tones.make_tone(kind)
    return made
