"""``python -m bench --quick`` runs end to end and writes its report (the numbers are not
checked: this keeps the benchmark from rotting). Uses the real model, voices and audio
loopback, so it takes about two minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.models import resolve_model
from assistant.paths import models_dir

pytestmark = pytest.mark.engine


def test_quick_benchmark_writes_report_and_chart(tmp_path: Path) -> None:
    from bench.__main__ import main
    from bench.voices import available_voices

    try:
        resolve_model(models_dir())
    except ModelError as exc:
        pytest.skip(f"no Vosk model installed: {exc}")
    if not available_voices():
        pytest.skip("no synthetic voice (espeak-ng, flite or festival) is installed")
    out = tmp_path / "benchmarks.md"
    main(["--quick", "--out", str(out), "--json", str(tmp_path / "b.json")])
    report = out.read_text(encoding="utf-8")
    for heading in ("## Targets", "## 1. Intent accuracy", "## 3. Latency", "## 5. Pacing"):
        assert heading in report
    assert (tmp_path / "benchmarks-accuracy.png").stat().st_size > 1000
    assert "## Stages that failed" not in report, report
