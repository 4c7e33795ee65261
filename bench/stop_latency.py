"""How fast "stop" ends a running exercise: ``python -m bench.stop_latency [--tries N]``.

A recording says "start box breathing", waits while Steady talks through the
introduction, then says "stop". It is streamed in real time (as a microphone
delivers it) into the real pipeline: Vosk, the dialog, the exercise runner, speech
rendered by espeak-ng and played into a real-time null sink. The figure is the time
from the end of the "stop" recording (espeak leaves about 0.35 s of silence after
the word, so the time from the end of speech is shorter still) to the moment the
exercise runner is told to stop. Medians are quoted.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from assistant.app import App
from assistant.audio_format import STT_FORMAT, Audio, concat, load_wav
from assistant.audio_in import MIC_BLOCK_SECONDS, WavFileSource
from assistant.audio_out import NullSink
from assistant.clock import MonotonicClock
from assistant.config import Settings
from assistant.runtime import listen
from assistant.understand import build_stt

GAP = 6.0
"""Seconds between the request and "stop" (Steady is still reading the introduction)."""
TARGET = 1.0


class _StopWatch(logging.Handler):
    """Notes when the dialog logs that an exercise ended because it was stopped, and
    then ends the recording (nothing after that moment is measured)."""

    def __init__(self, source: WavFileSource | None = None) -> None:
        super().__init__(logging.INFO)
        self.at: float | None = None
        self.source = source

    def emit(self, record: logging.LogRecord) -> None:
        if self.at is None and "ended: stopped" in record.getMessage():
            self.at = time.monotonic()
            if self.source is not None:
                self.source.close()


def speak(text: str, folder: Path) -> Audio:
    path = folder / f"{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
    return load_wav(path)


def measure(tries: int, home: Path | None = None) -> list[float]:
    """Stop latencies (s) of the tries where the exercise was stopped."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start, stop = speak("start box breathing", folder), speak("stop", folder)
        app = App.load(Settings(), str(home or folder / "home"))
        app.first_run()  # the short greeting, not the first-run disclaimer
        stt = build_stt(app.matcher)
        results: list[float] = []
        for _ in range(tries):
            # 3.5 s of quiet first: Steady's greeting plays, and while it talks only
            # commands count, so the request comes after it.
            clip = concat([Audio.silence(3.5), start, Audio.silence(GAP), stop], STT_FORMAT)
            source = WavFileSource(
                clip, block_seconds=MIC_BLOCK_SECONDS, realtime=True, trailing_silence=3.0
            )
            clock = MonotonicClock()
            output = app.spoken_output(NullSink(realtime=True), clock)
            stopped = _StopWatch(source)
            log = logging.getLogger("assistant.dialog")
            log.addHandler(stopped)
            log.setLevel(logging.INFO)
            log.propagate = False
            try:
                began = time.monotonic()
                listen(app, source, stt, output, clock, max_seconds=clip.duration + 2.5)
            finally:
                log.removeHandler(stopped)
                log.propagate = True
            if stopped.at is not None:
                results.append(stopped.at - began - clip.duration)
        return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stop_latency", description=__doc__)
    parser.add_argument("--tries", type=int, default=5)
    args = parser.parse_args()
    results = measure(args.tries)
    shown = ", ".join(f"{r:.3f}" for r in results)
    missed = args.tries - len(results)
    print(f"stop latency after the end of the 'stop' recording (s): {shown}")
    if results:
        print(
            f"median {statistics.median(results):.3f} s over {len(results)} tries; missed {missed}"
        )
    return 0 if results else 1


if __name__ == "__main__":
    raise SystemExit(main())
