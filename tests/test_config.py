"""Settings: values from config.yaml are checked, and the recognition ones reach Vosk."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.errors import DataFileError


def test_recognition_settings_are_passed_on() -> None:
    settings = Settings().merged({"end_silence": 0.6, "noise_suppression": False}, "test")
    assert settings.recognition() == {"end_silence": 0.6, "noise_suppression": False}


def test_a_yes_no_setting_must_be_yes_or_no() -> None:
    with pytest.raises(DataFileError, match="noise_suppression"):
        Settings().merged({"noise_suppression": "maybe"}, "config.yaml")


def test_unknown_setting_names_the_known_ones() -> None:
    with pytest.raises(DataFileError, match=r"known: .*noise_suppression"):
        Settings().merged({"noise_supression": False}, "config.yaml")
