"""Intent accuracy of Steady through the real Vosk model, on synthetic speech in noise.

Every phrase of the phrase sets (``bench/phrases``) is rendered by synthetic voices
(:mod:`bench.voices`), optionally mixed with noise at a given SNR (:mod:`bench.noise`),
and run through :func:`assistant.understand.understand_audio` — the same path the app
uses. The phrase itself also goes through the text-only matcher, which separates
"the matcher does not know this phrasing" from "the recognizer misheard it".

Run ``python -m bench.accuracy --help``. The report is Markdown; ``--json`` also saves
every trial. :func:`run` returns the numbers for tests.

Decoding dominates the run time (each clip is decoded by Vosk, often twice, and the
matcher's fuzzy scoring runs in Python), so decoding runs in worker processes, and by
default each phrase is spoken by one voice taken from the pool in rotation: every voice
speaks a share of every intent, and a full run stays near ten minutes on two cores.
``--voices-per-utterance all`` gives the full cross product (N times as long).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import difflib
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import shlex
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.audio_format import Audio, load_wav, scaled
from assistant.config import DEFAULT_OPEN_PASS, OPEN_PASS_MODES
from assistant.errors import SteadyError
from assistant.matcher import IntentMatcher
from assistant.models import DEFAULT_MODEL_MANIFEST, DEFAULT_MODEL_NAME, resolve_model
from assistant.paths import models_dir
from assistant.stt import SpeechToText, VoskSpeechToText
from assistant.text import normalize
from assistant.understand import build_matcher, build_stt, understand_audio
from bench.noise import DEFAULT_PAD, NOISE_KINDS, RATE, make_noise, mix, pad_silence
from bench.rtf import Setup
from bench.voices import DEFAULT_CACHE, Voice, available_voices, render_all

log = logging.getLogger(__name__)

PHRASES_DIR = Path(__file__).resolve().parent / "phrases"
SET_FILES = {
    "heldout": "heldout_en.yaml",
    "tune": "tune_en.yaml",
    "dev": "dev_en.yaml",
    "crisis-dev": "crisis_dev_en.yaml",
}
"""Phrase sets by name, in report order."""
REPORTED_SETS = ("heldout", "tune")
"""The sets ``--set both`` measures; the development sets are for design work."""

CRISIS = "crisis"
UNKNOWN = "unknown"

TARGET_CLEAN = 0.95
TARGET_10DB = 0.85
TARGET_CRISIS_TEXT = 1.0
TARGET_CRISIS_AUDIO = 0.95
TARGET_FALSE_CRISIS = 0.0

MIN_VOICES = 4
"""A full (non-quick) run wants at least this many voices."""
BABBLE_POOL = 48
"""How many renders babble noise is drawn from."""
MAX_MISSES = 40
"""Lines in the report's list of held-out misrecognitions."""
QUICK_PER_INTENT = 2
QUICK_PER_CRISIS = 2
QUICK_FIGURATIVE = 3
QUICK_VOICES = 2

Kind = str  # "intent", "crisis" or "figurative"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Item:
    """One phrase with what it should come out as."""

    set: str
    kind: Kind
    """``intent``, ``crisis`` (any crisis category) or ``figurative``."""
    expected: str
    """The intent it must give (``crisis`` for crisis items, ``-`` for figurative)."""
    category: str
    """Intent name, crisis category, or ``figurative``."""
    text: str
    index: int
    """Position in its set (drives the voice rotation)."""


@dataclass(frozen=True)
class Condition:
    """Clean, or a noise kind at an SNR."""

    noise: str | None
    snr: float | None
    quieter: float = 0.0
    """Decibels the whole mix is turned down by: a microphone far from the speaker."""
    live: bool = False
    """Each clip is heard as the first words of a live session: the gain learns the
    speaker's level as the speech arrives, not from the whole recording first."""

    @property
    def name(self) -> str:
        if self.noise is None or self.snr is None:
            base = "clean"
        else:
            base = f"{self.noise} {self.snr:g} dB"
        if self.quieter:
            base += f", {self.quieter:g} dB quieter"
        return base + ", live start" if self.live else base


CLEAN = Condition(None, None)


@dataclass(frozen=True)
class Trial:
    """One decode: an item spoken by a voice in a condition."""

    set: str
    kind: Kind
    expected: str
    category: str
    text: str
    voice: str
    condition: str
    got: str
    confidence: float
    transcript: str
    open_text: str | None
    guess: str | None
    crisis_negated: bool | None
    heard_unknown: bool
    seconds: float
    """Wall time of the decode and match."""
    cpu_seconds: float
    """CPU time of the same (not inflated by other load on the machine)."""
    alternatives: tuple[str, ...] = ()
    """The recognizers' runner-up readings (the crisis check sees them too)."""

    @property
    def correct(self) -> bool:
        return is_correct(self.kind, self.expected, self.got)


def is_correct(kind: Kind, expected: str, got: str) -> bool:
    """Figurative phrases are right when they are not crisis; everything else must match."""
    if kind == "figurative":
        return got != CRISIS
    return got == expected


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def load_items(set_name: str, path: Path) -> list[Item]:
    """The items of one phrase file (intents, then crisis, then figurative)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top")
    items: list[Item] = []

    def add(kind: Kind, expected: str, category: str, texts: list[str]) -> None:
        for text in texts:
            items.append(Item(set_name, kind, expected, category, text, len(items)))

    intents = data.get("intents") or {}
    crisis = data.get("crisis") or {}
    if not isinstance(intents, dict) or not isinstance(crisis, dict):
        raise ValueError(f"{path}: 'intents' and 'crisis' must be mappings")
    for name, texts in intents.items():
        add("intent", str(name), str(name), _strings(texts, f"{path}: intents.{name}"))
    for category, texts in crisis.items():
        add("crisis", CRISIS, str(category), _strings(texts, f"{path}: crisis.{category}"))
    add("figurative", "-", "figurative", _strings(data.get("figurative"), f"{path}: figurative"))
    # The crisis development set calls its look-alikes "hard negatives": same test.
    add("figurative", "-", "figurative", _strings(data.get("hard_negatives"), f"{path}: hard"))
    return items


def quick_subset(items: Sequence[Item]) -> list[Item]:
    """A small deterministic subset: the first few phrases of every intent and category."""
    limits = {"intent": QUICK_PER_INTENT, "crisis": QUICK_PER_CRISIS}
    seen: Counter[tuple[str, str]] = Counter()
    out: list[Item] = []
    for item in items:
        key = (item.kind, item.category)
        if seen[key] < limits.get(item.kind, QUICK_FIGURATIVE):
            seen[key] += 1
            out.append(item)
    return out


def assign_voices(item: Item, voices: Sequence[Voice], per_utterance: int) -> list[Voice]:
    """The voices that speak ``item``: ``per_utterance`` of them, rotating through the pool."""
    k = min(per_utterance, len(voices))
    return [voices[(item.index * k + j) % len(voices)] for j in range(k)]


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("\0".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


# --------------------------------------------------------------------------- args


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_conditions(
    snr: str, noise: str, quieter: float = 0.0, live: bool = False
) -> list[Condition]:
    """``clean,20,10`` × ``pink,babble`` → clean, pink 20 dB, pink 10 dB, babble 20 dB, ...
    (each ``quieter`` dB quieter when that is given, each a ``live`` start if asked)."""
    kinds = _csv(noise)
    for kind in kinds:
        if kind not in NOISE_KINDS:
            raise argparse.ArgumentTypeError(
                f"unknown noise {kind!r}; use {', '.join(NOISE_KINDS)}"
            )
    out: list[Condition] = []
    levels: list[float] = []
    for level in _csv(snr):
        if level.lower() == "clean":
            out.append(Condition(None, None, quieter, live))
            continue
        try:
            levels.append(float(level.lower().removesuffix("db")))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad SNR {level!r}; use e.g. clean,20,10") from None
    out.extend(Condition(kind, level, quieter, live) for kind in kinds for level in levels)
    if not out:
        raise argparse.ArgumentTypeError("no conditions: give --snr clean and/or SNR levels")
    return list(dict.fromkeys(out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.accuracy",
        description="Measure Steady's intent accuracy through Vosk on synthetic speech in noise.",
    )
    parser.add_argument(
        "--set",
        choices=[*SET_FILES, "both"],
        default="both",
        help="phrase set: heldout, tune, both of them (default), or a development set",
    )
    parser.add_argument(
        "--voices", type=int, default=None, help="size of the voice pool (default: all available)"
    )
    parser.add_argument(
        "--voices-per-utterance",
        default=None,
        help="voices speaking each phrase, in rotation through the pool: a number or 'all' "
        "(default 1: every voice speaks a share of every intent; 'all' is the full cross "
        "product and takes N times as long)",
    )
    parser.add_argument("--snr", default="clean,20,10", help="conditions: clean and/or SNRs in dB")
    parser.add_argument("--noise", default="pink", help=f"noise kinds: {', '.join(NOISE_KINDS)}")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small subset for CI: {QUICK_PER_INTENT} phrases per intent, {QUICK_VOICES} "
        "voices, clean + 10 dB (unless --voices/--snr say otherwise)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/accuracy.md"))
    parser.add_argument("--json", type=Path, default=None, help="also save numbers and trials")
    parser.add_argument("--model", type=Path, default=None, help="Vosk model folder")
    parser.add_argument(
        "--no-grammar",
        action="store_true",
        help="decode with Vosk's open vocabulary only (for comparison with the grammar pass)",
    )
    parser.add_argument(
        "--no-denoise",
        action="store_true",
        help="feed Vosk the noisy audio as it is (for comparison with the noise suppression)",
    )
    parser.add_argument(
        "--no-auto-gain",
        action="store_true",
        help="feed Vosk quiet speech as it is (for comparison with the automatic gain)",
    )
    parser.add_argument(
        "--quieter",
        type=float,
        default=0.0,
        metavar="DB",
        help="play every utterance this many dB quieter, as from a microphone across the "
        "room (default 0)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="hear every clip as the first words of a live session: the automatic gain "
        "learns the level as the speech arrives (default: from the whole clip first)",
    )
    parser.add_argument(
        "--open-pass",
        choices=OPEN_PASS_MODES,
        default=DEFAULT_OPEN_PASS,
        help="when the open-vocabulary reading is made (open_pass setting; default %(default)s)",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="render cache folder")
    parser.add_argument(
        "--workers", type=int, default=2, help="decoding processes (and rendering threads)"
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument("--phrases", type=Path, default=PHRASES_DIR, help=argparse.SUPPRESS)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.quick and "--snr" not in args.argv:
        args.snr = "clean,10"
    try:
        args.conditions = parse_conditions(args.snr, args.noise, args.quieter, args.live)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    per = args.voices_per_utterance
    if per is None:
        args.per_utterance = 1
    elif str(per).lower() == "all":
        args.per_utterance = 0  # 0: every voice in the pool
    else:
        try:
            args.per_utterance = int(per)
        except ValueError:
            parser.error("--voices-per-utterance takes a number or 'all'")
        if args.per_utterance < 1:
            parser.error("--voices-per-utterance must be at least 1")
    if args.voices is not None and args.voices < 1:
        parser.error("--voices must be at least 1")
    return args


# --------------------------------------------------------------------------- running


class _Progress:
    """One line on stderr, rewritten in place, at most every half second."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0
        self.done = 0
        self.lock = threading.Lock()
        self.tty = sys.stderr.isatty()

    def step(self, done: int | None = None, total: int | None = None) -> None:
        with self.lock:
            self.done = self.done + 1 if done is None else done
            if total is not None:
                self.total = total
            now = time.monotonic()
            final = self.done >= self.total
            if not final and now - self.last < (0.5 if self.tty else 30.0):
                return
            self.last = now
            elapsed = now - self.start
            rate = self.done / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            line = (
                f"{self.label}: {self.done}/{self.total} ({rate:.1f}/s, "
                f"{elapsed:.0f}s elapsed, ~{eta:.0f}s left)"
            )
            end = "\n" if final or not self.tty else ""
            print(("\r" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)


@dataclass
class _Worker:
    """What one decoding process holds: its own matcher and recognizer."""

    matcher: IntentMatcher
    stt: VoskSpeechToText
    babble: list[tuple[str, Audio]]


_worker: _Worker | None = None


def _init_worker(model: str, setup: Setup, babble: list[tuple[str, str]]) -> None:
    """Process-pool initializer: load the matcher, the model and the babble clips once."""
    global _worker
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    matcher = build_matcher()
    stt = build_stt(matcher, Path(model), **asdict(setup))
    clips = [(text, load_wav(path)) for text, path in babble]
    _worker = _Worker(matcher, stt, clips)
    # Free the model while the vosk module still exists: freed during interpreter
    # shutdown instead, its destructor prints an "Exception ignored" traceback.
    atexit.register(_release_worker)


def _release_worker() -> None:
    global _worker
    _worker = None
    gc.collect()


def _state() -> _Worker:
    if _worker is None:
        raise RuntimeError("the decoding process was not initialised")
    return _worker


def _worker_info() -> tuple[bool, list[str]]:
    """Whether the grammar is on, and the grammar's words."""
    stt = _state().stt
    return stt.use_grammar, list(stt.vocabulary)


def _match_text(text: str) -> str:
    """The intent of the phrase itself (no audio)."""
    return _state().matcher.match(text).intent


_Task = tuple[Item, str, str, Condition, int]
"""(item, voice name, render path, condition, noise seed)."""


def _decode_task(task: _Task) -> Trial:
    item, voice, path, condition, seed = task
    state = _state()
    return _decode(state.stt, state.matcher, item, voice, Path(path), condition, seed, state.babble)


def in_condition(
    speech: Audio,
    text: str,
    condition: Condition,
    rng_seed: int,
    babble_pool: Sequence[tuple[str, Audio]],
) -> Audio:
    """``speech`` (saying ``text``) padded with silence, or mixed with the condition's
    noise; babble is made from the other phrases only."""
    if condition.noise is None or condition.snr is None:
        heard = pad_silence(speech)
    else:
        rng = np.random.default_rng(rng_seed)
        n = len(speech.pcm) // 2 + 2 * round(DEFAULT_PAD * RATE)
        others = [clip for other, clip in babble_pool if other != text]
        heard = mix(speech, make_noise(condition.noise, n, rng, others), condition.snr)
    return scaled(heard, 10.0 ** (-condition.quieter / 20.0)) if condition.quieter else heard


def _decode(
    stt: SpeechToText,
    matcher: IntentMatcher,
    item: Item,
    voice: str,
    path: Path,
    condition: Condition,
    seed: int,
    babble_pool: Sequence[tuple[str, Audio]],
) -> Trial:
    """Decode ``item`` as spoken by ``voice`` (render at ``path``) in ``condition``."""
    rng_seed = _seed(seed, item.set, item.text, voice, condition.name)
    audio = in_condition(load_wav(path), item.text, condition, rng_seed, babble_pool)
    start = time.monotonic()
    cpu_start = time.process_time()
    transcript, match = understand_audio(stt, matcher, audio, calibrate=not condition.live)
    cpu = time.process_time() - cpu_start
    return Trial(
        set=item.set,
        kind=item.kind,
        expected=item.expected,
        category=item.category,
        text=item.text,
        voice=voice,
        condition=condition.name,
        got=match.intent,
        confidence=round(match.confidence, 3),
        transcript=transcript.text,
        open_text=transcript.open_text,
        guess=match.guess,
        crisis_negated=None if match.crisis is None else match.crisis.negated,
        heard_unknown=transcript.heard_unknown,
        seconds=round(time.monotonic() - start, 3),
        cpu_seconds=round(cpu, 3),
        alternatives=transcript.alternatives,
    )


def _babble_pool(renders: dict[tuple[str, str], Path]) -> list[tuple[str, str]]:
    """A fixed, deterministic sample of renders for babble noise: (text, path) pairs."""
    keys = sorted(renders, key=lambda k: hashlib.sha256("\0".join(k).encode()).hexdigest())
    return [(text, str(renders[(voice, text)])) for voice, text in keys[:BABBLE_POOL]]


def _right_or_asks_right(trial: Trial) -> bool:
    """Right, or ``unknown`` with a "did you mean" that names the right intent."""
    return trial.correct or (
        trial.kind == "intent" and trial.got == UNKNOWN and trial.guess == trial.expected
    )


def _other_phrases(folder: Path) -> set[str]:
    """Every phrase in the phrase files other than the held-out one (tune, dev, ...)."""
    import yaml

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.add(" ".join(node.split()))
        elif isinstance(node, list):
            for x in node:
                walk(x)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k != "language":
                    walk(v)

    for path in sorted(folder.glob("*.yaml")):
        if path.name != SET_FILES["heldout"]:
            walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def _ratio(hits: int, n: int) -> float | None:
    return hits / n if n else None


def _rate(trials: Iterable[Trial], test: Callable[[Trial], bool]) -> tuple[float | None, int]:
    chosen = list(trials)
    return _ratio(sum(1 for t in chosen if test(t)), len(chosen)), len(chosen)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: ")):
                _, _, value = line.partition(":")
                if value.strip() and not value.strip().isdigit():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _model_description(path: Path) -> str:
    """The model folder's name, what its README says, and whether it is the default model."""
    text = path.name
    readme = path / "README"
    if readme.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            first = readme.read_text(encoding="utf-8").strip().splitlines()[0].strip()
            text += f" ({first})"
    mdl = path / "am" / "final.mdl"
    size, _ = DEFAULT_MODEL_MANIFEST["am/final.mdl"]
    if mdl.is_file() and mdl.stat().st_size == size and path.name != DEFAULT_MODEL_NAME:
        text += f"; acoustic model the same size as {DEFAULT_MODEL_NAME}"
    return text


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def run(args: argparse.Namespace | Sequence[str] | None = None) -> dict[str, Any]:
    """Run the measurement, write the report, and return the numbers."""
    if not isinstance(args, argparse.Namespace):
        args = parse_args(args)
    started = time.monotonic()
    when = datetime.now(timezone.utc)
    notes: list[str] = []

    sets = list(REPORTED_SETS) if args.set == "both" else [args.set]
    items: list[Item] = []
    for name in sets:
        path = args.phrases / SET_FILES[name]
        if not path.is_file():
            note = f"Phrase set {name!r} ({path.name}) is missing; skipped."
            log.warning("%s", note)
            notes.append(note)
            continue
        loaded = load_items(name, path)
        if name == "heldout":
            # A phrase that also stands in a set we tune or design on is not held out.
            others = _other_phrases(args.phrases)
            kept = [i for i in loaded if i.text not in others]
            if len(kept) < len(loaded):
                notes.append(
                    f"{len(loaded) - len(kept)} held-out phrases also appear in a tuning or "
                    "development set and are left out of the held-out numbers."
                )
            loaded = kept
        items.extend(quick_subset(loaded) if args.quick else loaded)
    if not items:
        raise SystemExit("No phrases to measure (no phrase set found).")
    present_sets = list(dict.fromkeys(i.set for i in items))

    pool = available_voices()
    wanted = args.voices if args.voices is not None else (QUICK_VOICES if args.quick else None)
    voices = pool[:wanted] if wanted is not None else pool
    if not voices:
        raise SystemExit("No synthetic voice is available (install espeak-ng, flite or festival).")
    if not args.quick and len(voices) < MIN_VOICES:
        note = f"Only {len(voices)} voice(s) used; a full run wants at least {MIN_VOICES}."
        log.warning("%s", note)
        notes.append(note)
    per_utterance = len(voices) if args.per_utterance == 0 else min(args.per_utterance, len(voices))

    try:
        model_path = resolve_model(models_dir(), args.model)
    except SteadyError as exc:
        raise SystemExit(f"{exc} (or pass --model PATH to a Vosk model folder)") from None

    # Render.
    jobs = [(v, item.text) for item in items for v in assign_voices(item, voices, per_utterance)]
    render_progress = _Progress("rendering", len(set(jobs)))
    renders = render_all(
        jobs, args.cache, workers=args.workers, progress=lambda d, t: render_progress.step(d, t)
    )
    render_failures = len(set((v.name, t) for v, t in jobs)) - len(renders)
    if render_failures:
        notes.append(f"{render_failures} render(s) failed and were left out.")
    babble_pool = _babble_pool(renders) if any(c.noise == "babble" for c in args.conditions) else []

    # Text-only pass and decoding, in worker processes: the matcher's fuzzy scoring is
    # Python code that holds the GIL, so threads would not use the second core.
    tasks: list[_Task] = [
        (item, voice.name, str(renders[(voice.name, item.text)]), condition, args.seed)
        for condition in args.conditions
        for item in items
        for voice in assign_voices(item, voices, per_utterance)
        if (voice.name, item.text) in renders
    ]
    workers = max(1, args.workers)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(
            str(model_path),
            Setup(
                use_grammar=not args.no_grammar,
                open_pass=args.open_pass,
                noise_suppression=not args.no_denoise,
                auto_gain=not args.no_auto_gain,
            ),
            babble_pool,
        ),
    ) as executor:
        grammar, vocabulary = executor.submit(_worker_info).result()
        chunk = max(1, len(items) // (4 * workers))
        text_got = list(executor.map(_match_text, [item.text for item in items], chunksize=chunk))
        text_trials = list(zip(items, text_got, strict=True))
        progress = _Progress("decoding", len(tasks))
        decode_start = time.monotonic()
        trials: list[Trial] = []
        for trial in executor.map(_decode_task, tasks, chunksize=2):
            trials.append(trial)
            progress.step()
        decode_seconds = time.monotonic() - decode_start
    elapsed = time.monotonic() - started

    summary = _summarise(
        items=items,
        sets=present_sets,
        text_trials=text_trials,
        trials=trials,
        voices=voices,
        conditions=args.conditions,
        vocabulary=set(vocabulary) if grammar else None,
    )
    summary.update(
        {
            "command": "python -m bench.accuracy"
            + (" " + shlex.join(args.argv) if args.argv else ""),
            "date": when.isoformat(timespec="seconds"),
            "seconds": round(elapsed, 1),
            "decode_seconds": round(decode_seconds, 1),
            "decode_cpu_seconds": round(sum(t.cpu_seconds for t in trials), 1),
            "machine": {
                "arch": platform.machine(),
                "cpu": _cpu_model(),
                "cores": os.cpu_count() or 0,
                "python": platform.python_version(),
                "vosk": _version("vosk"),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            "model": _model_description(model_path),
            "model_path": str(model_path),
            "grammar": grammar,
            "noise_suppression": not args.no_denoise,
            "auto_gain": not args.no_auto_gain,
            "open_pass": args.open_pass,
            "voices": [{"name": v.name, "description": v.description} for v in voices],
            "voices_per_utterance": per_utterance,
            "conditions": [c.name for c in args.conditions],
            "quick": bool(args.quick),
            "seed": args.seed,
            "workers": args.workers,
            "notes": notes,
            "counts": {
                "utterances": len(items),
                "utterances_by_set": dict(Counter(i.set for i in items)),
                "renders": len(renders),
                "decodes": len(trials),
                "render_failures": render_failures,
            },
        }
    )
    report = render_report(summary, trials)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    summary["report"] = str(args.out)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {**summary, "trials": [asdict(t) for t in trials]}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return summary


# --------------------------------------------------------------------------- numbers


def _summarise(
    *,
    items: Sequence[Item],
    sets: Sequence[str],
    text_trials: Sequence[tuple[Item, str]],
    trials: Sequence[Trial],
    voices: Sequence[Voice],
    conditions: Sequence[Condition],
    vocabulary: set[str] | None,
) -> dict[str, Any]:
    cond_names = [c.name for c in conditions]
    by_set: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for name in sets:
        st = [t for t in trials if t.set == name]
        tt = [(i, got) for i, got in text_trials if i.set == name]
        text_intent = [(i, g) for i, g in tt if i.kind == "intent"]
        text_crisis = [(i, g) for i, g in tt if i.kind == "crisis"]
        text_fig = [(i, g) for i, g in tt if i.kind == "figurative"]
        text = {
            "intent_accuracy": _ratio(
                sum(g == i.expected for i, g in text_intent), len(text_intent)
            ),
            "intent_n": len(text_intent),
            "crisis_recall": _ratio(sum(g == CRISIS for _, g in text_crisis), len(text_crisis)),
            "crisis_n": len(text_crisis),
            "figurative_false_crisis": _ratio(sum(g == CRISIS for _, g in text_fig), len(text_fig)),
            "figurative_n": len(text_fig),
            "crisis_misses": [i.text for i, g in text_crisis if g != CRISIS],
            "false_crises": [i.text for i, g in text_fig if g == CRISIS],
        }
        per_condition: dict[str, Any] = {}
        for cond in cond_names:
            ct = [t for t in st if t.condition == cond]
            acc, n = _rate((t for t in ct if t.kind == "intent"), lambda t: t.correct)
            with_confirm, _ = _rate((t for t in ct if t.kind == "intent"), _right_or_asks_right)
            recall, cn = _rate((t for t in ct if t.kind == "crisis"), lambda t: t.got == CRISIS)
            false, fn = _rate((t for t in ct if t.kind == "figurative"), lambda t: t.got == CRISIS)
            unk, _ = _rate(ct, lambda t: t.heard_unknown)
            second, _ = _rate(ct, lambda t: t.open_text is not None)
            secs = [t.cpu_seconds for t in ct]
            per_condition[cond] = {
                "unk_rate": unk,
                "second_pass_rate": second,
                "cpu_seconds_per_decode": sum(secs) / len(secs) if secs else None,
                "intent_accuracy": acc,
                "intent_accuracy_with_confirm": with_confirm,
                "intent_n": n,
                "crisis_recall": recall,
                "crisis_n": cn,
                "figurative_false_crisis": false,
                "figurative_n": fn,
            }
        per_voice: dict[str, dict[str, Any]] = {}
        for v in voices:
            row: dict[str, Any] = {}
            for cond in cond_names:
                acc, n = _rate(
                    (
                        t
                        for t in st
                        if t.voice == v.name and t.condition == cond and t.kind == "intent"
                    ),
                    lambda t: t.correct,
                )
                row[cond] = {"accuracy": acc, "n": n}
            per_voice[v.name] = row
        per_intent: dict[str, dict[str, Any]] = {}
        intents = list(
            dict.fromkeys(i.category for i in items if i.set == name and i.kind == "intent")
        )
        for intent in intents:
            row = {}
            ti = [g for i, g in text_intent if i.category == intent]
            row["text"] = {"accuracy": _ratio(sum(g == intent for g in ti), len(ti)), "n": len(ti)}
            it = [t for t in st if t.kind == "intent" and t.expected == intent]
            for cond in cond_names:
                acc, n = _rate((t for t in it if t.condition == cond), lambda t: t.correct)
                row[cond] = {"accuracy": acc, "n": n}
            wrong = Counter(t.got for t in it if not t.correct)
            row["confused_with"] = dict(wrong.most_common(3))
            per_intent[intent] = row
        per_category: dict[str, dict[str, Any]] = {}
        for cat in dict.fromkeys(i.category for i in items if i.set == name and i.kind == "crisis"):
            tc = [g for i, g in text_crisis if i.category == cat]
            row = {
                "text": {"accuracy": _ratio(sum(g == CRISIS for g in tc), len(tc)), "n": len(tc)}
            }
            for cond in cond_names:
                acc, n = _rate(
                    (
                        t
                        for t in st
                        if t.category == cat and t.kind == "crisis" and t.condition == cond
                    ),
                    lambda t: t.got == CRISIS,
                )
                row[cond] = {"accuracy": acc, "n": n}
            per_category[cat] = row
        confusions = Counter(
            (t.expected, t.got) for t in st if t.kind == "intent" and not t.correct
        ).most_common(15)
        by_set[name] = {
            "text": text,
            "conditions": per_condition,
            "per_voice": per_voice,
            "per_intent": per_intent,
            "crisis_categories": per_category,
            "confusions": [{"expected": e, "got": g, "count": c} for (e, g), c in confusions],
            "word_errors": _word_errors(st),
            "out_of_vocabulary": None
            if vocabulary is None
            else _out_of_vocabulary((i for i in items if i.set == name), vocabulary),
        }
        targets.extend(_targets(name, text, per_condition, conditions))
    return {"sets": by_set, "targets": targets}


def _target(
    set_name: str, what: str, condition: str, value: float | None, goal: float, higher: bool
) -> dict[str, Any]:
    if value is None:
        status = "n/a"
    elif higher:
        status = "PASS" if value >= goal - 1e-12 else "MISS"
    else:
        status = "PASS" if value <= goal + 1e-12 else "MISS"
    return {
        "set": set_name,
        "metric": what,
        "condition": condition,
        "value": value,
        "target": goal,
        "higher_is_better": higher,
        "status": status,
    }


def _targets(
    name: str, text: dict[str, Any], per_condition: dict[str, Any], conditions: Sequence[Condition]
) -> list[dict[str, Any]]:
    out = [
        _target(
            name, "crisis recall (text)", "text", text["crisis_recall"], TARGET_CRISIS_TEXT, True
        ),
        _target(
            name,
            "figurative false-crisis rate (text)",
            "text",
            text["figurative_false_crisis"],
            TARGET_FALSE_CRISIS,
            False,
        ),
    ]
    for cond in conditions:
        numbers = per_condition[cond.name]
        if cond.noise is None:
            out.append(
                _target(
                    name,
                    "intent accuracy",
                    cond.name,
                    numbers["intent_accuracy"],
                    TARGET_CLEAN,
                    True,
                )
            )
        elif cond.snr is not None and cond.snr <= 10.0:
            out.append(
                _target(
                    name,
                    "intent accuracy",
                    cond.name,
                    numbers["intent_accuracy"],
                    TARGET_10DB,
                    True,
                )
            )
        out.append(
            _target(
                name,
                "crisis recall (audio)",
                cond.name,
                numbers["crisis_recall"],
                TARGET_CRISIS_AUDIO,
                True,
            )
        )
        out.append(
            _target(
                name,
                "figurative false-crisis rate (audio)",
                cond.name,
                numbers["figurative_false_crisis"],
                TARGET_FALSE_CRISIS,
                False,
            )
        )
    return out


def _word_errors(trials: Sequence[Trial], top: int = 25) -> dict[str, list[dict[str, Any]]]:
    """The commonest word-level differences between the phrase and the grammar-pass transcript.

    Both sides are normalised the way the matcher sees them (contractions expanded,
    fillers such as "um" removed). ``misheard`` pairs a said word (or a run of up to
    three) with what was heard instead; ``dropped`` counts said words that left no
    trace, which is what happens when the grammar pass hears ``[unk]``.
    """
    misheard: Counter[tuple[str, str]] = Counter()
    dropped: Counter[str] = Counter()
    for t in trials:
        ref = normalize(t.text).split()
        hyp = normalize(t.transcript).split()
        matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op == "delete":
                dropped.update(ref[a0:a1])
            elif op == "insert":
                misheard[("(nothing)", " ".join(hyp[b0:b1]))] += 1
            elif op == "replace" and a1 - a0 == b1 - b0:
                for x, y in zip(ref[a0:a1], hyp[b0:b1], strict=True):
                    misheard[(x, y)] += 1
            elif op == "replace" and max(a1 - a0, b1 - b0) <= 3:
                misheard[(" ".join(ref[a0:a1]), " ".join(hyp[b0:b1]))] += 1
            elif op == "replace":
                dropped.update(ref[a0:a1])
    return {
        "misheard": [
            {"said": s, "heard": h, "count": c} for (s, h), c in misheard.most_common(top)
        ],
        "dropped": [{"word": w, "count": c} for w, c in dropped.most_common(top)],
    }


def _out_of_vocabulary(items: Iterable[Item], vocabulary: set[str]) -> dict[str, Any]:
    """Words of the phrases that the recognizer's grammar cannot produce."""
    words = [w for item in items for w in item.text.lower().split()]
    missing = Counter(w for w in words if w not in vocabulary)
    return {
        "rate": _ratio(sum(missing.values()), len(words)),
        "words": len(words),
        "top": [{"word": w, "count": c} for w, c in missing.most_common(30)],
    }


# --------------------------------------------------------------------------- report


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100.0 * value:.1f} %"


def _cell(entry: dict[str, Any]) -> str:
    value = entry.get("accuracy")
    n = entry.get("n", 0)
    return "–" if not n else f"{_pct(value)} ({n})"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _spread(trials: Sequence[Trial], conds: Sequence[str], limit: int) -> list[Trial]:
    """Up to ``limit`` trials, clean before noisy, taking turns across categories."""
    buckets: dict[int, dict[str, list[Trial]]] = defaultdict(lambda: defaultdict(list))
    for t in trials:
        buckets[conds.index(t.condition)][t.category].append(t)
    out: list[Trial] = []
    for key in sorted(buckets):
        groups = list(buckets[key].values())
        depth = 0
        while len(out) < limit and any(depth < len(g) for g in groups):
            for g in groups:
                if depth < len(g) and len(out) < limit:
                    out.append(g[depth])
            depth += 1
    return out


def _pick_misses(trials: Sequence[Trial], limit: int) -> list[Trial]:
    """Held-out failures: half safety (crisis missed, false crisis), half intents.

    Either half gives its unused room to the other.
    """
    conds = list(dict.fromkeys(t.condition for t in trials))
    wrong = [t for t in trials if t.set == "heldout" and not t.correct]
    safety = [t for t in wrong if t.kind == "figurative"] + [t for t in wrong if t.kind == "crisis"]
    intents = [t for t in wrong if t.kind == "intent"]
    intent_room = max(limit // 2, limit - len(safety))
    picked_intents = _spread(intents, conds, intent_room)
    picked_safety = _spread(safety, conds, limit - len(picked_intents))
    return picked_safety + picked_intents


def render_report(summary: dict[str, Any], trials: Sequence[Trial]) -> str:
    """The Markdown report."""
    conds: list[str] = summary["conditions"]
    lines: list[str] = ["# Steady: intent accuracy through Vosk", ""]
    counts = summary["counts"]
    machine = summary["machine"]
    lines += [
        f"- Date: {summary['date']}",
        f"- Command: `{summary['command']}`",
        f"- Took: {summary['seconds']:.0f} s ({summary['decode_seconds']:.0f} s decoding in "
        f"{summary['workers']} processes; decoding used {summary['decode_cpu_seconds']:.0f} s "
        f"of CPU, {summary['decode_cpu_seconds'] / max(1, counts['decodes']):.2f} s per decode)",
        f"- Machine: {machine['arch']}, {machine['cpu']}, {machine['cores']} cores; "
        f"Python {machine['python']}, vosk {machine['vosk']}; load average at the end "
        + " / ".join(f"{x:.1f}" for x in machine["load_average"]),
        f"- Vosk model: {summary['model']}; grammar {'on' if summary['grammar'] else 'off'}; "
        f"noise suppression {'on' if summary.get('noise_suppression', True) else 'off'}; "
        f"automatic gain {'on' if summary.get('auto_gain', True) else 'off'}; "
        f"open pass {summary.get('open_pass', 'always')}",
        "- Utterances: "
        + ", ".join(f"{k} {v}" for k, v in counts["utterances_by_set"].items())
        + f"; renders {counts['renders']}; decodes {counts['decodes']}",
        "- Voices: " + ", ".join(f"{v['name']} ({v['description']})" for v in summary["voices"]),
        f"- Each phrase spoken by {summary['voices_per_utterance']} of the "
        f"{len(summary['voices'])} voices (rotating through the pool)",
        f"- Conditions: {', '.join(conds)}; noise seed {summary['seed']}; "
        "every clip has 0.3 s of silence (clean) or noise either side; SNR is measured "
        "over the active part of the speech",
    ]
    if summary["quick"]:
        lines.append("- **Quick run**: a small subset for CI; the numbers are not meaningful.")
    lines += [f"- Note: {n}" for n in summary["notes"]]
    lines += [
        "",
        "Intent accuracy counts only the `intents` phrases (out-of-domain `unknown` is right "
        'when the result is `unknown`, a "did you mean" included). Crisis phrases (all '
        "categories, negated too) must come out as `crisis`; figurative ones must not. "
        "Vosk does not decode bit-for-bit the same twice in one process "
        "(alphacep/vosk-api#868), so reruns differ by a few decodes.",
        "",
        "## Targets",
        "",
        "| Set | Metric | Condition | Value | Target | |",
        "|---|---|---|---|---|---|",
    ]
    for t in summary["targets"]:
        goal = ("≥ " if t["higher_is_better"] else "≤ ") + _pct(t["target"])
        lines.append(
            f"| {t['set']} | {t['metric']} | {t['condition']} | {_pct(t['value'])} | {goal} | "
            f"**{t['status']}** |"
        )
    for name, data in summary["sets"].items():
        text = data["text"]
        lines += ["", f"## Set: {name}", "", "### Overall", ""]
        lines += [
            "| | text only | " + " | ".join(conds) + " |",
            "|---|---|" + "---|" * len(conds),
        ]
        rows = [
            ("Intent accuracy", "intent_accuracy", "intent_n"),
            ('… or a right "did you mean"', "intent_accuracy_with_confirm", "intent_n"),
            ("Crisis recall", "crisis_recall", "crisis_n"),
            ("Figurative → crisis", "figurative_false_crisis", "figurative_n"),
        ]
        for label, key, nkey in rows:
            cells = [f"{_pct(text[key])} ({text[nkey]})" if key in text else "–"]
            cells += [
                f"{_pct(data['conditions'][c][key])} ({data['conditions'][c][nkey]})" for c in conds
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        if text["crisis_misses"]:
            lines += ["", "Crisis phrases the text-only matcher misses:"]
            lines += [f'- "{_md(p)}"' for p in text["crisis_misses"]]
        if text["false_crises"]:
            lines += ["", "Figurative phrases the text-only matcher calls crisis:"]
            lines += [f'- "{_md(p)}"' for p in text["false_crises"]]
        lines += ["", "### Per voice (intent accuracy)", ""]
        lines += ["| Voice | " + " | ".join(conds) + " |", "|---|" + "---|" * len(conds)]
        for voice, row in data["per_voice"].items():
            lines.append(f"| {voice} | " + " | ".join(_cell(row[c]) for c in conds) + " |")
        lines += ["", "### Per intent (worst first)", ""]
        lines += [
            "| Intent | text only | " + " | ".join(conds) + " | most often taken for |",
            "|---|---|" + "---|" * len(conds) + "---|",
        ]

        def mean_audio(row: dict[str, Any]) -> float:
            values = [row[c]["accuracy"] for c in conds if row[c]["accuracy"] is not None]
            return sum(values) / len(values) if values else 1.0

        for intent, row in sorted(data["per_intent"].items(), key=lambda kv: mean_audio(kv[1])):
            confused = ", ".join(f"{g} ×{n}" for g, n in row["confused_with"].items())
            lines.append(
                f"| {intent} | {_cell(row['text'])} | "
                + " | ".join(_cell(row[c]) for c in conds)
                + f" | {confused} |"
            )
        lines += ["", "### Crisis recall per category", ""]
        lines += [
            "| Category | text only | " + " | ".join(conds) + " |",
            "|---|---|" + "---|" * len(conds),
        ]
        for cat, row in data["crisis_categories"].items():
            lines.append(
                f"| {cat} | {_cell(row['text'])} | "
                + " | ".join(_cell(row[c]) for c in conds)
                + " |"
            )
        if data["confusions"]:
            lines += ["", "### Commonest intent confusions (all conditions)", ""]
            lines += ["| Expected | Got | Count |", "|---|---|---|"]
            lines += [
                f"| {c['expected']} | {c['got']} | {c['count']} |" for c in data["confusions"]
            ]
        errors = data["word_errors"]
        if errors["misheard"]:
            lines += [
                "",
                "### Commonest mishearings (all conditions; phrase vs grammar-pass transcript)",
                "",
                "Both sides normalised as the matcher sees them (contractions expanded, fillers "
                "dropped).",
                "",
                "| Said | Heard | Count |",
                "|---|---|---|",
            ]
            lines += [
                f"| {_md(w['said'])} | {_md(w['heard'])} | {w['count']} |"
                for w in errors["misheard"]
            ]
        if errors["dropped"]:
            lines += [
                "",
                "Words most often missing from the grammar-pass transcript: "
                + ", ".join(f"{_md(w['word'])} ×{w['count']}" for w in errors["dropped"])
                + ".",
            ]
        unk_notes = [
            f"{c}: [unk] in {_pct(v['unk_rate'])}, second pass in {_pct(v['second_pass_rate'])}"
            + (
                f", {v['cpu_seconds_per_decode']:.2f} s CPU/decode"
                if v["cpu_seconds_per_decode"] is not None
                else ""
            )
            for c, v in data["conditions"].items()
        ]
        lines += ["", "Grammar pass heard out-of-vocabulary speech: " + "; ".join(unk_notes) + "."]
        oov = data["out_of_vocabulary"]
        if oov is not None and oov["top"]:
            lines += [
                "",
                f"{_pct(oov['rate'])} of the {oov['words']} words in this set's phrases are not "
                "in the recognizer's grammar (so the grammar pass cannot hear them); commonest: "
                + ", ".join(f"{_md(w['word'])} ×{w['count']}" for w in oov["top"])
                + ".",
            ]
    misses = _pick_misses(trials, MAX_MISSES)
    total_wrong = sum(1 for t in trials if t.set == "heldout" and not t.correct)
    if misses:
        lines += [
            "",
            f"## Held-out misrecognitions ({len(misses)} of {total_wrong})",
            "",
            "Safety failures first, clean before noisy, spread across intents. `open` is the "
            "open-vocabulary second pass when it ran.",
            "",
            "| Expected | Got | Voice | Condition | Phrase | Transcript |",
            "|---|---|---|---|---|---|",
        ]
        for t in misses:
            expected = "not crisis" if t.kind == "figurative" else t.expected
            if t.kind == "crisis":
                expected = f"crisis ({t.category})"
            got = t.got + (f" (guess {t.guess})" if t.guess else "")
            heard = f'"{_md(t.transcript)}"'
            if t.open_text and t.open_text != t.transcript:
                heard += f' / open: "{_md(t.open_text)}"'
            lines.append(
                f'| {expected} | {got} | {t.voice} | {t.condition} | "{_md(t.text)}" | {heard} |'
            )
    lines.append("")
    return "\n".join(lines)


def print_summary(summary: dict[str, Any], out: Callable[[str], None] = print) -> None:
    """A few lines for the terminal."""
    for name, data in summary["sets"].items():
        parts = [f"text {_pct(data['text']['intent_accuracy'])}"]
        parts += [f"{c} {_pct(v['intent_accuracy'])}" for c, v in data["conditions"].items()]
        out(f"{name}: intent accuracy: " + ", ".join(parts))
        crisis = [f"text {_pct(data['text']['crisis_recall'])}"]
        crisis += [f"{c} {_pct(v['crisis_recall'])}" for c, v in data["conditions"].items()]
        out(f"{name}: crisis recall: " + ", ".join(crisis))
        fig = [f"text {_pct(data['text']['figurative_false_crisis'])}"]
        fig += [f"{c} {_pct(v['figurative_false_crisis'])}" for c, v in data["conditions"].items()]
        out(f"{name}: figurative → crisis: " + ", ".join(fig))
    missed = [t for t in summary["targets"] if t["status"] == "MISS"]
    passed = sum(1 for t in summary["targets"] if t["status"] == "PASS")
    out(f"targets: {passed} PASS, {len(missed)} MISS")
    for t in missed:
        out(f"  MISS {t['set']} {t['metric']} [{t['condition']}]: {_pct(t['value'])}")
    out(
        f"{summary['counts']['decodes']} decodes in {summary['seconds']:.0f} s; "
        f"report: {summary.get('report')}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    summary = run(parse_args(argv))
    print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
