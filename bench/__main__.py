"""``python -m bench [--quick] [--out docs/benchmarks.md]``: every benchmark, in one run.

Measures Steady and its baselines on this machine and writes a Markdown report with
the machine, the date, the command, the tables and a chart. ``--quick`` runs tiny
subsets of everything (for CI: it checks that the benchmark still runs, not its
numbers). Stages run one after another so timing figures do not compete for the CPU;
only the accuracy decoding uses both cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import compare, footprint, latency, machine, pacing, pi, rtf, stop_latency, wer
from bench.accuracy import CLEAN, Condition
from bench.report import render
from bench.voices import DEFAULT_CACHE, available_voices

log = logging.getLogger("bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny subsets (CI), under 2 minutes")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--chart", type=Path, default=None, help="PNG path (default: next to --out)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also save every number")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="render cache folder")
    parser.add_argument("--workers", type=int, default=2, help="accuracy decoding processes")
    parser.add_argument(
        "--only", default=None, help="comma list of stages to run (default: all)", metavar="STAGES"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="measure nothing: write the report again from numbers saved with --json",
    )
    return parser


STAGES = ("footprint", "latency", "stop", "rtf", "pi", "wer", "pacing", "accuracy")


class Runner:
    """Runs stages, timing each and keeping going when one fails."""

    def __init__(self, only: set[str] | None) -> None:
        self.only = only
        self.results: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.seconds: dict[str, float] = {}
        self.load: dict[str, float] = {}

    def stage(self, name: str, fn: Callable[[], Any]) -> None:
        if self.only is not None and name not in self.only:
            return
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        start = time.monotonic()
        self.load[name] = machine.load()
        try:
            self.results[name] = fn()
        except Exception as exc:
            log.debug("%s", traceback.format_exc())
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"[bench] {name} failed: {self.errors[name]}", file=sys.stderr, flush=True)
        self.seconds[name] = round(time.monotonic() - start, 1)
        print(f"[bench] {name} done in {self.seconds[name]:.0f} s", file=sys.stderr, flush=True)


def _accuracy(args: argparse.Namespace, chart: Path) -> dict[str, Any]:
    if args.quick:
        items = compare.select_items(per_intent=1, per_crisis=1, figurative=1)[::4]
        conds = [CLEAN, Condition("babble", 5.0)]
    else:
        items = compare.select_items(per_intent=2, per_crisis=1, figurative=3)
        conds = compare.conditions(False)
    voices = available_voices()
    started = time.monotonic()
    trials = compare.run(items, voices, conds, args.cache, workers=args.workers)
    summary = compare.summarise(trials)
    summary["voices_used"] = [v.name for v in voices]
    summary["voice_descriptions"] = {v.name: v.description for v in voices}
    summary["items"] = len(items)
    summary["decodes"] = len(trials)
    summary["conditions"] = [c.name for c in conds]
    summary["seconds"] = round(time.monotonic() - started, 1)
    systems = summary["systems"]
    compare_chart = compare.SYSTEM_LABELS
    series = {
        compare_chart[s]: [systems[s]["by_snr"][k][0] for k in summary["snrs"]]
        for s in compare.SYSTEMS
    }
    from bench.chart import accuracy_chart

    accuracy_chart(summary["snrs"], series, compare.TARGETS, chart)
    summary["chart"] = chart.name
    return summary


def _wer() -> dict[str, Any]:
    from assistant.understand import build_matcher, build_stt

    corpus = wer.load_corpus()
    if not corpus:
        raise RuntimeError(f"no recordings in {wer.LIBRIVOX} (install pocketsphinx-testdata)")
    stt = build_stt(build_matcher(), use_grammar=False, open_pass="never")
    return asdict(wer.measure(stt, corpus))


def _stop(quick: bool, home: Path) -> dict[str, Any]:
    tries = 1 if quick else TRIES_STOP
    found = stop_latency.measure(tries, home)
    return {
        "tries": tries,
        "stopped": len(found),
        "median": statistics.median(found) if found else None,
        "all": found,
    }


LATENCY_CLIPS = 12
"""Full-run recordings of the latency test (each takes about 6 s of real time)."""
TRIES_STOP = 10
"""Full-run tries of the stop-latency test (each takes about 12 s of real time)."""


def _pacing(quick: bool, home: Path) -> dict[str, Any]:
    found, heard = pacing.run(home, 1.0 if quick else 10.0, 1.0 if quick else 5.0)
    return {"drift": asdict(found), "self_voice": asdict(heard)}


def _pinned_twice(module: str, args: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``module`` on one pinned core, then on two cores at a third of each (a Pi 4's speed)."""
    return (
        pi.run_child(module, args, pinned=True),
        pi.run_child(module, args, pinned=True, cores=pi.PI_SPEED_CORES, share=pi.PI_SPEED_SHARE),
    )


def _pi(quick: bool, home: Path) -> dict[str, Any]:
    count = ["--count", "1"] if quick else ["--count", "8"]
    ready: dict[str, Any] = {}
    if not quick:  # two starts of the equivalent process each (the first warms the caches)
        one_core, pi_speed = _pinned_twice(
            "bench.footprint", ["--data-dir", str(home), "--no-device"]
        )
        ready = {"ready": one_core, "ready_pi_speed": pi_speed}
    latency, latency_pi_speed = _pinned_twice("bench.latency", count)
    return {
        **ready,
        "latency": latency,
        "latency_pi_speed": latency_pi_speed,
        "rtf": pi.run_child("bench.rtf", ["--quick"] if quick else [], pinned=True),
        "address_space": pi.ADDRESS_SPACE,
    }


def shown_command(argv: Sequence[str]) -> str:
    """The reproduce command: the arguments given, without where the JSON copy went."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--json":
            skip = True
            continue
        if not arg.startswith("--json="):
            kept.append(arg)
    return "python -m bench" + (" " + shlex.join(kept) if kept else "")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        saved["meta"]["command"] = shown_command(shlex.split(saved["meta"]["command"])[3:])
        args.out.write_text(render(saved["meta"], saved["results"]), encoding="utf-8")
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    when = datetime.now(timezone.utc)
    only = set(args.only.split(",")) if args.only else None
    home = args.cache / "home"
    chart = args.chart or args.out.with_name(args.out.stem + "-accuracy.png")
    from assistant.models import resolve_model
    from assistant.paths import models_dir

    model = resolve_model(models_dir())
    runner = Runner(only)
    runner.stage(
        "footprint",
        lambda: asdict(footprint.measure(home, seconds=1.0, warm_up=not args.quick)),
    )
    runner.stage(
        "latency",
        lambda: latency.summary(
            latency.measure(args.quick, args.cache, home, count=2 if args.quick else LATENCY_CLIPS)
        ),
    )
    runner.stage("stop", lambda: _stop(args.quick, home))
    runner.stage(
        "rtf",
        lambda: pi.run_child(
            "bench.rtf",
            ["--quick"] if args.quick else ["--modes", ",".join(rtf.MODES)],
            pinned=False,
        ),
    )
    runner.stage("pi", lambda: _pi(args.quick, home))
    runner.stage("wer", _wer)
    runner.stage("pacing", lambda: _pacing(args.quick, home))
    runner.stage("accuracy", lambda: _accuracy(args, chart))
    total = time.monotonic() - started
    argv_list = list(sys.argv[1:] if argv is None else argv)
    meta = {
        "command": shown_command(argv_list),
        "date": when.isoformat(timespec="seconds"),
        "seconds": round(total, 1),
        "quick": args.quick,
        "machine": machine.describe(model),
        "stage_seconds": runner.seconds,
        "stage_load": runner.load,
        "errors": runner.errors,
        "tries_stop": TRIES_STOP,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(meta, runner.results), encoding="utf-8")
    if args.json is not None:
        args.json.write_text(
            json.dumps({"meta": meta, "results": runner.results}, indent=2, default=str),
            encoding="utf-8",
        )
    print(f"[bench] wrote {args.out} in {total:.0f} s", file=sys.stderr)
    return 1 if runner.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
