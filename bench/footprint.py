"""Memory and start-up time of ``steady listen`` with the default model.

``steady listen --seconds N`` runs as a subprocess on a PulseAudio null-sink loopback
(the one the device tests use, :mod:`tests.pulse`): a real microphone stream and a real
speaker stream, no hardware. Ready time is from process start to "Steady is listening"
on stderr; peak RSS is the kernel's high-water mark (``VmHWM``), read while it runs.

Without PulseAudio, an equivalent process is measured instead (``python -m
bench.footprint --child``): the same model, grammar, matcher, speech engine and reply
cache as ``steady listen``, with a null audio sink.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

READY_LINE = "Steady is listening"
TARGET_RSS_MB = 300.0
TARGET_READY = 3.0


@dataclass(frozen=True)
class Footprint:
    how: str
    """``steady listen on PulseAudio`` or ``equivalent process``."""
    ready_seconds: float | None
    peak_rss_mb: float | None
    error: str | None = None


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def watch(argv: Sequence[str], env: dict[str, str], timeout: float = 60.0) -> Footprint:
    """Run ``argv``; time the ready line; track peak RSS until it exits."""
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    lines: list[str] = []
    ready: list[float] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if not ready and READY_LINE in line:
                ready.append(time.monotonic() - start)
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    peak: float | None = None
    while proc.poll() is None and time.monotonic() - start < timeout:
        hwm = _hwm_mb(proc.pid)
        if hwm is not None:
            peak = max(peak or 0.0, hwm)
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    reader.join(timeout=5)
    text = "".join(lines).strip()
    error = None if proc.returncode == 0 else text[-300:] or f"exit {proc.returncode}"
    return Footprint("", ready[0] if ready else None, peak, error)


def measure(
    home: Path, seconds: float = 3.0, warm_up: bool = True, device: bool = True
) -> Footprint:
    """``steady listen`` on PulseAudio if possible (and ``device``), else the equivalent
    process."""
    env = dict(os.environ)
    if device:
        found = _on_pulse(home, seconds, warm_up, env)
        if found is not None:
            return found
    argv = [sys.executable, "-m", "bench.footprint", "--child", "--data-dir", str(home)]
    if warm_up:
        watch(argv, env)
    found = watch(argv, env)
    return Footprint("equivalent process", found.ready_seconds, found.peak_rss_mb, found.error)


def _on_pulse(home: Path, seconds: float, warm_up: bool, env: dict[str, str]) -> Footprint | None:
    """``steady listen`` on the PulseAudio loopback; None when that cannot run."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pulse import PulseUnavailable, ensure_pulse
    except ImportError:
        return None
    try:
        loop = ensure_pulse()
    except PulseUnavailable:
        return None
    env = {**env, **loop.env}
    argv = [sys.executable, "-m", "assistant", "listen", "--seconds", f"{seconds:g}"]
    argv += ["--data-dir", str(home)]
    if warm_up:  # the first start renders the reply cache
        watch(argv, env)
    found = watch(argv, env)
    if found.error is None and found.ready_seconds is not None:
        return Footprint("steady listen on PulseAudio", found.ready_seconds, found.peak_rss_mb)
    return None


def child(home: Path) -> int:
    """What ``steady listen`` does before it listens, with a null sink."""
    from assistant.app import App
    from assistant.audio_out import NullSink
    from assistant.clock import MonotonicClock
    from assistant.config import Settings
    from assistant.understand import build_stt, load_model

    loading = load_model()
    app = App.load(Settings(), str(home))
    build_stt(app.matcher, loading)
    output = app.spoken_output(NullSink(), MonotonicClock())
    output.prepare(app.replies.all_texts())
    print(f"{READY_LINE} (equivalent process).", file=sys.stderr, flush=True)
    time.sleep(1.0)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.footprint", description=__doc__)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=Path("~/.cache/steady-bench/home"))
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--no-device",
        action="store_true",
        help="time the equivalent process, without PulseAudio (busy loops beside a "
        "slowed run starve the sound server, which then refuses the microphone)",
    )
    args = parser.parse_args(argv)
    home = args.data_dir.expanduser()
    if args.child:
        return child(home)
    found = measure(home, device=not args.no_device)
    print(found)
    if args.json:
        args.json.write_text(json.dumps(asdict(found)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
