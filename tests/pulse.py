"""A PulseAudio loopback so device tests can use a real microphone and speaker.

Two null sinks stand in for hardware:

* ``steady_mic``: a test plays into it; Steady records its monitor,
  ``steady_mic.monitor`` (the default source), as if it were a microphone.
* ``steady_speaker``: Steady plays into it (the default sink); a test records
  ``steady_speaker.monitor`` to hear what Steady said.

sounddevice reaches them through ALSA's ``pulse``/``default`` devices
(libasound2-plugins). A daemon that is already running is reused; otherwise one is
started. Besides making the two sinks the server-wide defaults, :func:`ensure_pulse`
sets ``PULSE_SINK``/``PULSE_SOURCE`` in this process's environment, which libpulse
(under ALSA, under PortAudio) prefers to the server defaults: another program or test
session changing the defaults cannot redirect our streams. Child processes should
get :attr:`PulseLoop.env` for the same reason.

Null sinks render in 2-second chunks while nobody asks for low latency, which would
make streams stall for up to 2 s when they start, so the loop keeps one low-latency
reader on each monitor for as long as it is open.

Use :func:`ensure_pulse` directly, or the ``pulse_loop`` fixture (skips when
PulseAudio is missing, fails instead when ``CI`` is set).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.audio_format import STT_FORMAT, Audio

MIC_SINK = "steady_mic"
SPEAKER_SINK = "steady_speaker"
MIC_SOURCE = f"{MIC_SINK}.monitor"
SPEAKER_MONITOR = f"{SPEAKER_SINK}.monitor"

_START_TIMEOUT = 5.0
_SETTLE_SECONDS = 2.2  # a null sink may be mid-way through a 2 s render when we attach


class PulseUnavailable(RuntimeError):
    """PulseAudio (or one of its tools) is missing or would not start."""


def _run(args: list[str], timeout: float = 5.0) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PulseUnavailable(f"`{' '.join(args)}` failed: {exc}") from None


def _pactl(*args: str) -> str:
    result = _run(["pactl", *args])
    if result.returncode != 0:
        raise PulseUnavailable(f"`pactl {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def _info() -> dict[str, str] | None:
    """``pactl info`` as a dict, or None when no server answers."""
    result = _run(["pactl", "info"], timeout=3.0)
    if result.returncode != 0:
        return None
    info = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _start_daemon() -> dict[str, str]:
    result = _run(
        [
            "pulseaudio",
            "-D",
            "--exit-idle-time=-1",
            "-n",
            "--load=module-native-protocol-unix",
        ],
        timeout=_START_TIMEOUT,
    )
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        info = _info()
        if info is not None:
            return info
        time.sleep(0.1)
    detail = result.stderr.strip() or f"exit status {result.returncode}"
    raise PulseUnavailable(f"pulseaudio did not start within {_START_TIMEOUT:g} s: {detail}")


def _short_list(kind: str) -> set[str]:
    return {
        line.split("\t")[1]
        for line in _pactl("list", "short", kind).splitlines()
        if line.count("\t") >= 1
    }


def _refresh_portaudio() -> None:
    """Make an already-initialised PortAudio rescan devices (the server just appeared)."""
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


class Recorder:
    """``parec`` capturing a source as 16 kHz mono s16le until :meth:`stop`."""

    def __init__(self, source: str, env: dict[str, str]) -> None:
        self.source = source
        self._data = bytearray()
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={source}",
                "--format=s16le",
                f"--rate={STT_FORMAT.rate}",
                "--channels=1",
                "--latency-msec=20",
                "--raw",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env},
        )
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._pump, name=f"parec {source}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while chunk := os.read(fd, 4096):
            with self._lock:
                self._data += chunk

    def wait_ready(self, timeout: float = 3.0) -> None:
        """Block until audio is flowing (so nothing played next is missed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._data) >= STT_FORMAT.bytes_per_second // 50:  # 20 ms
                    return
            if self._proc.poll() is not None:
                break
            time.sleep(0.01)
        raise PulseUnavailable(f"parec on {self.source} delivered no audio within {timeout:g} s")

    def seconds(self) -> float:
        """Audio captured so far."""
        with self._lock:
            return len(self._data) / STT_FORMAT.bytes_per_second

    def stop(self) -> Audio:
        """Stop recording and return everything captured."""
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._thread.join(timeout=3)
        with self._lock:
            pcm = bytes(self._data)
        return Audio(pcm[: len(pcm) - len(pcm) % 2], STT_FORMAT)


class PulseLoop:
    """A running PulseAudio with Steady's two null sinks set as the defaults."""

    mic_sink = MIC_SINK
    mic_source = MIC_SOURCE
    speaker_sink = SPEAKER_SINK
    speaker_monitor = SPEAKER_MONITOR

    def __init__(self, server: str, previous_defaults: tuple[str, str]) -> None:
        self.server = server
        self.env = {
            "PULSE_SERVER": server,
            "PULSE_SINK": SPEAKER_SINK,
            "PULSE_SOURCE": MIC_SOURCE,
        }
        """Environment for child processes that should use the loop."""
        self._previous_defaults = previous_defaults
        self._keepalive: list[subprocess.Popen[bytes]] = []
        self.closed = False
        for source in (MIC_SOURCE, SPEAKER_MONITOR):
            self._keepalive.append(
                subprocess.Popen(
                    ["parec", f"--device={source}", "--latency-msec=10", "--raw"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, **self.env},
                )
            )
        time.sleep(_SETTLE_SECONDS)

    @property
    def alive(self) -> bool:
        return not self.closed and all(p.poll() is None for p in self._keepalive)

    def play_into_mic(self, wav_path: str | os.PathLike[str], timeout: float = 60.0) -> None:
        """Play a WAV file into the "microphone"; returns when it has been played."""
        result = _run(
            ["paplay", f"--device={MIC_SINK}", "--latency-msec=20", os.fspath(wav_path)],
            timeout=timeout,
        )
        if result.returncode != 0:
            raise PulseUnavailable(f"paplay {wav_path} failed: {result.stderr.strip()}")

    def start_play_into_mic(self, wav_path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Like :meth:`play_into_mic` but returns the running ``paplay`` at once."""
        return subprocess.Popen(
            ["paplay", f"--device={MIC_SINK}", "--latency-msec=20", os.fspath(wav_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **self.env},
        )

    def start_recording(self, source: str = SPEAKER_MONITOR) -> Recorder:
        """Start recording ``source`` (by default: what Steady plays); waits until live."""
        recorder = Recorder(source, self.env)
        recorder.wait_ready()
        return recorder

    def record_speaker(self, seconds: float) -> Audio:
        """Record what comes out of the "speaker" for ``seconds``."""
        recorder = self.start_recording()
        time.sleep(seconds)
        return recorder.stop()

    def close(self) -> None:
        """Stop the keep-alive readers and restore the previous default devices.

        A default is put back only if it is still ours, so a change someone else made
        meanwhile is left alone.
        """
        if self.closed:
            return
        self.closed = True
        for proc in self._keepalive:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=3)
        sink, source = self._previous_defaults
        info = _info() or {}
        if sink and sink != SPEAKER_SINK and info.get("Default Sink") == SPEAKER_SINK:
            _run(["pactl", "set-default-sink", sink])
        if source and source != MIC_SOURCE and info.get("Default Source") == MIC_SOURCE:
            _run(["pactl", "set-default-source", source])


_loop: PulseLoop | None = None


def ensure_pulse() -> PulseLoop:
    """Reuse or start PulseAudio, add the Steady null sinks and make them the defaults."""
    global _loop
    if _loop is not None and _loop.alive:
        return _loop
    missing = [
        tool for tool in ("pulseaudio", "pactl", "paplay", "parec") if not shutil.which(tool)
    ]
    if missing:
        raise PulseUnavailable(
            f"{', '.join(missing)} not found; install pulseaudio and pulseaudio-utils "
            "(and libasound2-plugins, libportaudio2) to run the device tests."
        )
    info = _info()
    if info is None:
        info = _start_daemon()
        _refresh_portaudio()
    for name in (MIC_SINK, SPEAKER_SINK):
        if name in _short_list("sinks"):
            continue
        try:
            _pactl(
                "load-module",
                "module-null-sink",
                f"sink_name={name}",
                f"sink_properties=device.description={name}",
            )
        except PulseUnavailable:
            if name not in _short_list("sinks"):  # not just another session being quicker
                raise
    _pactl("set-default-sink", SPEAKER_SINK)
    _pactl("set-default-source", MIC_SOURCE)
    # Pin this process's streams to the loop, whatever the server defaults become.
    os.environ["PULSE_SINK"] = SPEAKER_SINK
    os.environ["PULSE_SOURCE"] = MIC_SOURCE
    previous = (info.get("Default Sink", ""), info.get("Default Source", ""))
    _loop = PulseLoop(info.get("Server String", ""), previous)
    atexit.register(_loop.close)
    return _loop


def in_ci() -> bool:
    """Whether we run under CI, where missing PulseAudio is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pulse_loop_or_skip() -> PulseLoop:
    """:func:`ensure_pulse`, skipping the test (failing it under CI) if impossible."""
    try:
        return ensure_pulse()
    except PulseUnavailable as exc:
        if in_ci():
            pytest.fail(f"PulseAudio loopback unavailable: {exc}", pytrace=False)
        pytest.skip(f"PulseAudio loopback unavailable: {exc}")


@pytest.fixture(scope="session")
def pulse_loop() -> Iterator[PulseLoop]:
    """A live PulseAudio loopback (see the module docstring)."""
    loop = pulse_loop_or_skip()
    yield loop
    loop.close()


def write_tone(
    path: str | os.PathLike[str],
    seconds: float,
    freq: float = 440.0,
    rate: int = 16000,
    amplitude: float = 0.5,
) -> Path:
    """Write a mono sine tone WAV (handy clip for loopback tests)."""
    import numpy as np

    from assistant.audio_format import save_wav

    t = np.arange(round(seconds * rate)) / rate
    save_wav(path, Audio.from_float(amplitude * np.sin(2 * np.pi * freq * t), rate))
    return Path(path)
