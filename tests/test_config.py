"""Settings: values from config.yaml are checked, and the recognition ones reach Vosk."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.errors import DataFileError


def test_recognition_settings_are_passed_on() -> None:
    chosen = {
        "end_silence": 0.6,
        "noise_suppression": False,
        "auto_gain": False,
        "open_pass": "fallback",
    }
    settings = Settings().merged(chosen, "test")
    assert settings.recognition() == chosen


@pytest.mark.parametrize(
    ("key", "value"),
    [("open_pass", "sometimes"), ("end_silence", 0), ("end_silence", 10)],
)
def test_recognition_settings_out_of_range_are_refused(key: str, value: object) -> None:
    with pytest.raises(DataFileError, match=key):
        Settings().merged({key: value}, "config.yaml")


def test_a_yes_no_setting_must_be_yes_or_no() -> None:
    with pytest.raises(DataFileError, match="noise_suppression"):
        Settings().merged({"noise_suppression": "maybe"}, "config.yaml")


def test_unknown_setting_names_the_known_ones() -> None:
    with pytest.raises(DataFileError, match=r"known: .*noise_suppression"):
        Settings().merged({"noise_supression": False}, "config.yaml")
