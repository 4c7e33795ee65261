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
from pathlib import Path

from assistant.audio_format import Audio, load_wav
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


MODES: dict[str, dict[str, bool | str]] = {
    "shipped": {"use_grammar": True, "open_pass": "always", "noise_suppression": True},
    "no_noise_suppression": {
        "use_grammar": True,
        "open_pass": "always",
        "noise_suppression": False,
    },
    "fallback": {"use_grammar": True, "open_pass": "fallback", "noise_suppression": True},
    "grammar_only": {"use_grammar": True, "open_pass": "never", "noise_suppression": True},
    "open_only": {"use_grammar": False, "open_pass": "never", "noise_suppression": True},
}
"""Recognizer set-ups: Steady as shipped, without its noise suppression, with the open
pass only when the grammar pass is unsure (the ``open_pass: fallback`` setting), and each
of its two passes alone."""


def measure(audio: Sequence[Audio], mode: str = "shipped") -> dict[str, float]:
    options = MODES[mode]
    stt = build_stt(
        build_matcher(),
        use_grammar=bool(options["use_grammar"]),
        open_pass=str(options["open_pass"]),
        noise_suppression=bool(options["noise_suppression"]),
    )
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
