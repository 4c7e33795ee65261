"""What the benchmark ran on: CPU, cores, memory, load, versions, model."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from bench.accuracy import _cpu_model, _model_description, _version


def memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError):
        return None
    return None


def describe(model: Path) -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count() or 0,
        "memory_gb": memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "vosk": _version("vosk"),
        "rapidfuzz": _version("rapidfuzz"),
        "model": _model_description(model),
    }


def load() -> float:
    """The one-minute load average (other work on this shared machine)."""
    return round(os.getloadavg()[0], 2)
