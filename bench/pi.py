"""A Raspberry Pi-sized run: latency and RTF again, on one core with memory capped, and
latency on two cores slowed to about a Pi 4's speed.

Each measurement runs as its own process under ``taskset`` (one core; two for the
slowed latency run) and ``prlimit --as`` (an address-space cap; no cgroup is available
to an unprivileged user here). :data:`ADDRESS_SPACE` is 2 GiB, the RAM of the 2 GB Pi 4:
with a cap of 1 GiB or less the Vosk model load does not fail cleanly but hangs, so
every child also has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ADDRESS_SPACE = 2 * 1024**3
TIMEOUT = 420.0

PI_SLOWDOWN = (3.0, 4.0)
"""How many times slower one Pi 4 core decodes than one core of this machine (estimate)."""

PI_NOTE = (
    "A Raspberry Pi 4 (Cortex-A72 at 1.5-1.8 GHz) runs Kaldi-style decoding about 3-4x "
    "slower per core than a current x86 server core (lower clock, narrower NEON SIMD "
    "against AVX2, smaller caches); Vosk's small English model is built to run in real "
    "time there. Expect the STT real-time factor to be roughly 3-4x the one-core figure "
    "above, and the end-of-speech-to-reply latency to grow by about the same factor on "
    "its compute share (the endpointing wait, fixed silence, does not scale). Memory "
    "(peak RSS) should be about the same as here, since it is dominated by the model and "
    "the grammar graph; start-up will be 3-5x slower (SD-card reads and graph building)."
)


PI_SPEED_CORES = "0,1"
PI_SPEED_SHARE = 3
"""For a run at about a Raspberry Pi 4's speed, the child gets two cores (the Pi has
four), each shared with two busy loops: a third of each core, as a Pi 4 core is about
3-4x slower than one here (:data:`PI_SLOWDOWN`)."""


def _prefix(cores: str) -> tuple[list[str], list[str]]:
    """The wrapper command and notes on what could not be applied."""
    cmd: list[str] = []
    notes: list[str] = []
    if shutil.which("taskset"):
        cmd += ["taskset", "-c", cores]
    else:
        notes.append("taskset is missing: not pinned to one core")
    if shutil.which("prlimit"):
        cmd += ["prlimit", f"--as={ADDRESS_SPACE}"]
    else:
        notes.append("prlimit is missing: memory not capped")
    return cmd, notes


@contextlib.contextmanager
def _busy(cores: str, loops: int) -> Iterator[None]:
    """``loops`` processes spinning on each of ``cores`` while the block runs."""
    spin = [sys.executable, "-c", "while True: pass"]
    procs = [
        subprocess.Popen(["taskset", "-c", core, *spin])
        for core in cores.split(",")
        for _ in range(loops)
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def run_child(
    module: str, args: list[str], pinned: bool, cores: str = "0", share: int = 1
) -> dict[str, Any]:
    """``python -m module args --json F``; its JSON. ``pinned``: on ``cores`` only, with
    the address space capped, and each core shared ``share`` ways with busy loops."""
    prefix, notes = _prefix(cores) if pinned else ([], [])
    loops = share - 1 if pinned and prefix[:1] == ["taskset"] else 0
    with _busy(cores, loops):
        result = _run(module, args, prefix)
    result["notes"] = notes
    return result


def _run(module: str, args: list[str], prefix: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="steady-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [*prefix, sys.executable, "-m", module, *args, "--json", str(out)]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {TIMEOUT:g} s"}
        if done.returncode != 0 or not out.is_file():
            return {"error": done.stderr.strip()[-400:] or f"exit {done.returncode}"}
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["command"] = " ".join([*prefix, "python", "-m", module, *args])
    return result
