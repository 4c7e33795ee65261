"""Shared fixtures. Engine tests use the real Vosk model and real espeak-ng; under CI
(``CI`` set) a missing model or engine fails the run instead of skipping."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.matcher import IntentMatcher
from assistant.paths import models_dir
from assistant.stt import VoskSpeechToText
from assistant.understand import build_matcher
from tests.pulse import pulse_loop  # noqa: F401 - the shared PulseAudio loop fixture

ROOT = Path(__file__).resolve().parent.parent
STEADY = str(ROOT / ".venv" / "bin" / "steady")


def need(condition: bool, why: str) -> None:
    """Skip locally, fail in CI, when a real part is missing."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="session")
def matcher() -> IntentMatcher:
    return build_matcher()


@pytest.fixture(scope="session")
def model_path() -> Path:
    from assistant.errors import ModelError
    from assistant.models import resolve_model

    try:
        return resolve_model(models_dir())
    except ModelError as exc:
        need(False, str(exc))
        raise


@pytest.fixture(scope="session")
def stt(matcher: IntentMatcher, model_path: Path) -> VoskSpeechToText:
    from assistant.understand import build_stt

    return build_stt(matcher, model_path)


def espeak(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> Path:
    """Render ``text`` to ``path`` with espeak-ng (real synthetic speech)."""
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


@pytest.fixture()
def home(tmp_path: Path) -> Iterator[Path]:
    """A private data folder for one test."""
    d = tmp_path / "home"
    yield d
