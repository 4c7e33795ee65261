"""Smoke test for the accuracy benchmark: it runs end to end and writes its report.

Uses the real Vosk model and a real synthetic voice, on a tiny subset (held-out set,
one voice, clean speech only). No thresholds: this only keeps the script from rotting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.models import resolve_model
from assistant.paths import models_dir

pytestmark = pytest.mark.engine


def _model_or_skip() -> Path:
    try:
        return resolve_model(models_dir())
    except ModelError as exc:
        pytest.skip(f"no Vosk model installed: {exc}")


def test_quick_run_writes_report(tmp_path: Path) -> None:
    from bench import accuracy
    from bench.voices import available_voices

    model = _model_or_skip()
    if not available_voices():
        pytest.skip("no synthetic voice (espeak-ng, flite or festival) is installed")
    out = tmp_path / "accuracy.md"
    numbers = tmp_path / "accuracy.json"
    summary = accuracy.run(
        [
            "--quick",
            "--set",
            "heldout",
            "--voices",
            "1",
            "--snr",
            "clean",
            "--model",
            str(model),
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(out),
            "--json",
            str(numbers),
        ]
    )
    assert out.is_file()
    report = out.read_text(encoding="utf-8")
    assert "intent accuracy" in report.lower()
    clean = summary["sets"]["heldout"]["conditions"]["clean"]
    accuracy_value = clean["intent_accuracy"]
    assert isinstance(accuracy_value, float)
    assert 0.0 <= accuracy_value <= 1.0
    assert clean["intent_n"] > 0
    saved = json.loads(numbers.read_text(encoding="utf-8"))
    assert saved["counts"]["decodes"] == len(saved["trials"])
