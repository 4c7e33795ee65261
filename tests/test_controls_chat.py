"""Every control command during a running exercise, through the real `steady chat`.

The conversation is typed into the command with pauses between lines, as the issue's
scripted runs do; `--time-scale` makes a five-minute exercise take seconds. The debug
log (-v) is checked too: what a person says in a crisis never reaches it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def chat(home: Path, lines: list[tuple[str, float]], scale: str = "0.05") -> tuple[str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat", "-v", "--time-scale", scale,
         "--data-dir", str(home)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdin is not None
    for line, pause in lines:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        time.sleep(pause)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out, err


def turns(err: str) -> list[str]:
    return [line.split("intent=")[1].split()[0] for line in err.splitlines() if "turn: " in line]


def test_every_control_while_an_exercise_runs(tmp_path: Path) -> None:
    out, err = chat(
        tmp_path / "home",
        [
            ("start box breathing", 1.5),
            ("slower", 0.4),
            ("faster", 0.4),
            ("pause", 0.6),
            ("continue", 0.4),
            ("repeat", 0.4),
            ("skip", 0.4),
            ("for three more minutes", 0.4),
            ("just the tones", 0.4),
            ("talk me through it", 0.4),
            ("i feel dizzy", 0.4),
            ("stop", 0.5),
            ("goodbye", 0.2),
        ],
    )
    assert turns(err) == [
        "breathe", "slower", "faster", "pause", "resume", "repeat", "no", "pause",
        "unknown", "unknown", "dizzy", "stop", "goodbye",
    ]  # fmt: skip
    for reply in (
        "A little slower", "A little faster", "Paused", "let's continue", "moving on",
        "just the tones", "talk you through it", "stop there",
    ):  # fmt: skip
        assert reply in out, reply
    assert "ended: stopped" in err
    assert "Three more minutes" in out  # "for three more minutes" extends, not pauses


def test_crisis_during_an_exercise_stops_it_and_logs_nothing_said(tmp_path: Path) -> None:
    said = "i have the pills here and i am going to take them all tonight"
    out, err = chat(
        tmp_path / "home",
        [("start slow breathing", 1.5), (said, 1.0), ("repeat", 0.5), ("goodbye", 0.2)],
    )
    assert "ended: stopped" in err
    assert "nine eight eight" in out  # the US locale's line, read digit by digit
    assert "pills" not in err and "tonight" not in err
