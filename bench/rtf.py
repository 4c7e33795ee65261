"""Speech-to-text real-time factor on one core: ``python -m bench.rtf [--json PATH]``.

Steady's recognizer as shipped (sentence grammar + open-vocabulary pass, both fed every
chunk) decodes a fixed set of clips: the LibriVox recordings of pocketsphinx-testdata
(real read speech) and, if given, rendered requests. The process pins itself to one
CPU first. RTF = CPU seconds of decoding / seconds of audio; the wall-clock RTF is
reported too (it includes waiting for a busy core).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.audio_format import Audio, load_wav
from assistant.config import DEFAULT_OPEN_PASS
from assistant.understand import build_matcher, build_stt
from bench.emit import emit_json
from bench.wer import load_corpus

TARGET = 0.15


def pin_to_one_core() -> int | None:
    """Restrict this process to its first allowed CPU; which one, or None if impossible."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):
        return None


def clips(extra: Sequence[Path] = (), limit: int | None = None) -> list[Audio]:
    found = [load_wav(u.wav) for u in load_corpus()] + [load_wav(p) for p in extra]
    return found[:limit] if limit else found


@dataclass(frozen=True)
class Setup:
    """A recognizer set-up: the ``build_stt`` options a mode changes from Steady's own."""

    use_grammar: bool = True
    open_pass: str = DEFAULT_OPEN_PASS
    noise_suppression: bool = True
    auto_gain: bool = True


MODES: dict[str, Setup] = {
    "shipped": Setup(),
    "no_noise_suppression": Setup(noise_suppression=False),
    "fallback": Setup(open_pass="fallback"),
    "grammar_only": Setup(open_pass="never"),
    "open_only": Setup(use_grammar=False, open_pass="never"),
}
"""Recognizer set-ups: Steady as shipped, without its noise suppression, with the open
pass only when the grammar pass is unsure (the ``open_pass: fallback`` setting), and each
of its two passes alone."""


def measure(audio: Sequence[Audio], mode: str = "shipped") -> dict[str, float]:
    stt = build_stt(build_matcher(), **asdict(MODES[mode]))
    seconds = cpu = wall = 0.0
    for clip in audio:
        pcm = clip.pcm + Audio.silence(0.5).pcm
        seconds += len(pcm) / 32000
        c0, w0 = time.process_time(), time.monotonic()
        stt.transcribe(pcm)
        cpu += time.process_time() - c0
        wall += time.monotonic() - w0
    return {
        "audio_seconds": seconds,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "rtf_cpu": cpu / seconds if seconds else 0.0,
        "rtf_wall": wall / seconds if seconds else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rtf", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two clips only")
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="more WAV files")
    parser.add_argument("--modes", default="shipped", help=f"comma list of {', '.join(MODES)}")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    cpu = pin_to_one_core()
    audio = clips(args.extra, 2 if args.quick else None)
    result: dict[str, object] = {"cpu": cpu}
    for mode in args.modes.split(","):
        result[mode] = measure(audio, mode)
    emit_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
