"""Settings: defaults, then the person's ``config.yaml``, then environment and flags."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import DataFileError
from assistant.paths import config_dir

log = logging.getLogger(__name__)

CUE_STYLES = ("voice", "tones", "both")
DEFAULT_END_SILENCE = 0.4
"""Seconds of trailing silence after the last word that end an utterance."""
OPEN_PASS_MODES = ("always", "fallback", "never")
"""When the recognizer makes its open-vocabulary reading (``VoskSpeechToText``). Kept
here, not in the recognizer's module, so reading the settings does not load numpy."""
DEFAULT_OPEN_PASS = "always"


@dataclass(frozen=True)
class Settings:
    country: str = "US"
    """Which crisis numbers to read (a file in intents/locales/)."""
    language: str = "en"
    rate_wpm: int = 160
    """Speaking rate; 150–170 is the comfortable band for synthetic speech."""
    voice: str | None = None
    """Text-to-speech voice id or name (espeak-ng voices, e.g. en-us)."""
    model: str | None = None
    """Vosk model folder or installed model name; default: the active model."""
    input_device: str | None = None
    output_device: str | None = None
    time_scale: float = 1.0
    """Multiplies every pause and exercise timing (tests and demos)."""
    end_silence: float = DEFAULT_END_SILENCE
    """Seconds of quiet after the last word that end an utterance."""
    noise_suppression: bool = True
    """Take steady background noise (a fan, traffic) out before recognition."""
    auto_gain: bool = True
    """Bring quiet speech (a microphone across the room) up to a level the model hears well."""
    open_pass: str = DEFAULT_OPEN_PASS
    """When the open-vocabulary reading is made besides the grammar one: ``always`` (as
    the person speaks), ``fallback`` (only after an utterance the grammar pass did not
    hear as one of Steady's sentences: less processor time, for a Raspberry Pi) or
    ``never``."""
    journal_audio: bool = False
    """Keep the recording of journal entries too (off: only the words are kept)."""
    cues: str = "voice"
    """How breaths are marked: ``voice`` (spoken), ``tones`` (soft tones only) or ``both``."""

    def recognition(self) -> dict[str, Any]:
        """The speech-recognition settings, as keyword arguments of ``build_stt``."""
        return {
            "end_silence": self.end_silence,
            "noise_suppression": self.noise_suppression,
            "auto_gain": self.auto_gain,
            "open_pass": self.open_pass,
        }

    @classmethod
    def load(cls, data_dir_override: str | None = None, **overrides: Any) -> Settings:
        settings = cls()
        path = config_dir(data_dir_override) / "config.yaml"
        if path.exists():
            settings = settings.merged(_read(path), str(path))
        env_scale = os.environ.get("STEADY_TIME_SCALE")
        if env_scale:
            settings = settings.merged({"time_scale": env_scale}, "STEADY_TIME_SCALE")
        return settings.merged(
            {k: v for k, v in overrides.items() if v is not None}, "the command line"
        )

    def merged(self, values: dict[str, Any], where: str) -> Settings:
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise DataFileError(
                    f"{where}: unknown setting '{key}' (known: {', '.join(known)})."
                )
            default = getattr(Settings(), key)
            try:
                if value is None:
                    changes[key] = value
                elif isinstance(default, bool):
                    if not isinstance(value, bool):
                        raise ValueError(value)
                    changes[key] = value
                elif isinstance(default, float):
                    changes[key] = float(value)
                elif isinstance(default, int):
                    changes[key] = int(value)
                else:
                    changes[key] = str(value)
            except (TypeError, ValueError):
                raise DataFileError(
                    f"{where}: setting '{key}' has a bad value {value!r}."
                ) from None
        result = replace(self, **changes)
        if result.time_scale <= 0:
            raise DataFileError(f"{where}: time_scale must be above zero.")
        if not 80 <= result.rate_wpm <= 300:
            raise DataFileError(f"{where}: rate_wpm must be between 80 and 300.")
        if result.cues not in CUE_STYLES:
            raise DataFileError(f"{where}: cues must be one of {', '.join(CUE_STYLES)}.")
        if result.open_pass not in OPEN_PASS_MODES:
            raise DataFileError(f"{where}: open_pass must be one of {', '.join(OPEN_PASS_MODES)}.")
        if not 0.1 <= result.end_silence <= 3.0:
            raise DataFileError(f"{where}: end_silence must be between 0.1 and 3 seconds.")
        return result


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        raise DataFileError(f"{path}: could not read the settings file.") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected settings as 'name: value' lines.")
    return data
