"""The command line as a person (or a script) uses it: subprocesses, real model, real
espeak-ng; every bad input gives one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.audio_format import load_wav
from tests.conftest import ROOT, espeak

pytestmark = pytest.mark.engine


def steady(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT,
    )  # fmt: skip


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("steady: ")
    return lines[0]


def test_version_and_help() -> None:
    assert steady("--version").stdout.startswith("steady ")
    for sub in ("listen", "chat", "run", "recognize", "match", "models", "devices"):
        r = steady(sub, "--help")
        assert r.returncode == 0 and "usage" in r.stdout


def test_match_json_lines() -> None:
    r = steady("match", "--json", stdin="i feel anxious\nstop\nset a timer\n")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["intent"] for row in rows] == ["anxious", "stop", "unknown"]
    assert all(set(row) == {"text", "intent", "confidence", "slots"} for row in rows)


def test_recognize_json_real_model(tmp_path: Path) -> None:
    a = espeak("I can't sleep at all", tmp_path / "a.wav")
    b = espeak("please stop", tmp_path / "b.wav", voice="en-us+f3")
    r = steady("recognize", "--json", str(a), str(b))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["file"] for row in rows] == [str(a), str(b)]
    assert [row["intent"] for row in rows] == ["sleep", "stop"]
    assert all(set(row) == {"file", "text", "intent", "confidence", "slots"} for row in rows)


def test_run_writes_a_spoken_reply(tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    r = steady("run", str(ROOT / "audio" / "demo-anxious.wav"), "--out", str(out),
               "--data-dir", str(tmp_path / "home"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    reply = load_wav(out)
    assert reply.duration > 2.0
    samples = np.frombuffer(reply.pcm, dtype="<i2").astype(float)
    assert np.sqrt(np.mean(samples**2)) > 300  # real speech, not silence


def test_48k_stereo_is_accepted(tmp_path: Path) -> None:
    src = load_wav(espeak("I feel anxious", tmp_path / "a.wav"), target=None)
    mono = np.frombuffer(src.pcm, dtype="<i2")
    up = np.interp(np.arange(len(mono) * 48000 // src.fmt.rate) * src.fmt.rate / 48000,
                   np.arange(len(mono)), mono).astype("<i2")  # fmt: skip
    path = tmp_path / "stereo48k.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(np.repeat(up, 2).tobytes())
    r = steady("recognize", "--json", str(path))
    assert r.returncode == 0 and json.loads(r.stdout)["intent"] == "anxious"


def test_corrupt_wav(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    assert "bad.wav" in one_clear_line(steady("recognize", "--json", str(bad)))
    assert "bad.wav" in one_clear_line(steady("run", str(bad)))


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert "empty" in one_clear_line(steady("run", str(empty), "--out", str(tmp_path / "o.wav")))


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in one_clear_line(steady("run", str(tmp_path / "nope.wav")))


def test_missing_model(tmp_path: Path) -> None:
    wav = espeak("hello", tmp_path / "a.wav")
    line = one_clear_line(steady("recognize", str(wav), env={"STEADY_MODELS": str(tmp_path / "m")}))
    assert "steady models fetch" in line


def test_too_little_memory_is_one_line_not_a_hang(tmp_path: Path) -> None:
    # Under `ulimit -v 1G` the Kaldi loader would hang; Steady refuses at once instead.
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))

    result = subprocess.run(
        [sys.executable, "-m", "assistant", "recognize", str(ROOT / "audio" / "chime.wav")],
        capture_output=True, text=True, timeout=60, cwd=ROOT, preexec_fn=limit,
    )  # fmt: skip
    line = one_clear_line(result)
    assert "ulimit" in line and result.returncode == 3


def test_no_audio_device(tmp_path: Path) -> None:
    # No PulseAudio server to reach and no sound card: PortAudio finds no microphone.
    env = {"PULSE_SERVER": "unix:/nonexistent"}
    line = one_clear_line(steady("listen", "--data-dir", str(tmp_path / "h"), env=env))
    assert "microphone" in line.lower() or "audio" in line.lower()


def test_bad_option_is_one_line() -> None:
    line = one_clear_line(steady("run"))
    assert "--help" in line
    assert "time" in one_clear_line(steady("chat", "--time-scale", "-1"))


NO_NETWORK = """
import socket, os
_real = socket.socket.connect
def _guard(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        with open(os.environ["STEADY_NET_LOG"], "a") as f:
            f.write(repr(address) + "\\n")
        raise OSError("network blocked by test")
    return _real(self, address)
socket.socket.connect = _guard
"""


def test_no_network_at_run_time(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_NETWORK)
    log = tmp_path / "net.log"
    env = {"PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "STEADY_NET_LOG": str(log)}
    wav = espeak("I feel anxious", tmp_path / "a.wav")
    runs = [
        steady("recognize", "--json", str(wav), env=env),
        steady(
            "run",
            str(wav),
            "--out",
            str(tmp_path / "o.wav"),
            "--data-dir",
            str(tmp_path / "h"),
            env=env,
        ),
        steady(
            "chat",
            "--data-dir",
            str(tmp_path / "h"),
            "--time-scale",
            "0.01",
            stdin="i feel anxious\nyes\nstop\ni want to end my life\ngoodbye\n",
            env=env,
        ),
        steady("models", "list", env=env),
    ]
    for r in runs:
        assert r.returncode == 0, r.stderr
    # The guard itself works: a deliberate connection is recorded and refused.
    connect = "import socket; socket.create_connection(('127.0.0.1', 9))"
    probe = subprocess.run(
        [sys.executable, "-c", connect], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert probe.returncode != 0
    assert log.read_text().count("\n") == 1, log.read_text()
