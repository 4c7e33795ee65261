"""``steady`` subcommands for exercises and practice: the coping library from the command line.

* ``steady exercises [--json]`` lists every exercise and variant.
* ``steady practice ID [--minutes N] [--variant V] [--cues voice|tones|both] [--out FILE]``
  runs one on the speakers, or renders the whole guided session to a WAV file (as fast
  as the speech engine allows, not in real time).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.errors import UsageError
from assistant.exercises import Exercise, ExerciseLibrary
from assistant.output import SpokenOutput
from assistant.pacer import CueStyle, ExerciseRunner

if TYPE_CHECKING:
    from assistant.audio_out import AudioSink
    from assistant.clock import Clock
    from assistant.config import Settings

log = logging.getLogger(__name__)

COMMANDS = ("exercises", "practice")


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add this module's subcommands to ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "exercises",
        help="list the exercises you can practise",
        description="List every exercise and variant (your own routines included).",
    )
    common(p)
    p.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per line: {"id", "name", "minutes", "source"}; '
        "minutes is the default length",
    )
    p = sub.add_parser(
        "practice",
        help="run one exercise now, or render it to a WAV file",
        description="Run one exercise on the speakers, or write the whole guided "
        "session to a WAV file with --out.",
    )
    common(p)
    p.add_argument("exercise", metavar="ID", help="exercise id, as `steady exercises` lists it")
    p.add_argument("--minutes", type=float, help="how long (default: the exercise's own)")
    p.add_argument("--variant", help="a variant of the exercise, such as no-hold")
    p.add_argument(
        "--cues",
        choices=[s.value for s in CueStyle],
        help="spoken cues, soft tones (rising in, falling out), or both "
        "(default: the 'cues' setting, normally voice)",
    )
    p.add_argument("--out", metavar="FILE.wav", help="write the session to this WAV file")
    p.add_argument("--output-device", help="speaker (number or part of its name)")


def dispatch(command: str, args: argparse.Namespace) -> int | None:
    """Run ``command`` if it is one of this module's; ``None`` otherwise."""
    if command not in COMMANDS:
        return None
    library = _library(args.data_dir)
    if command == "exercises":
        return _list(library, args.json)
    return _practice(library, args)


def _library(data_override: str | None) -> ExerciseLibrary:
    from assistant.paths import config_dir, intents_dir

    return ExerciseLibrary.load(
        intents_dir() / "exercises", config_dir(data_override) / "exercises"
    )


def _list(library: ExerciseLibrary, as_json: bool) -> int:
    for key, ex in sorted(library.exercises.items()):
        _, _, variant = key.partition(":")
        name = f"{ex.name} ({variant})" if variant else ex.name
        if as_json:
            row = {"id": key, "name": name, "minutes": ex.minutes_default, "source": ex.source}
            print(json.dumps(row), flush=True)
        else:
            print(f"{key:<24} {ex.minutes_default:>5g} min  {name}", flush=True)
    return 0


def choose(library: ExerciseLibrary, exercise_id: str, variant: str | None) -> Exercise:
    """The exercise asked for on the command line, or a one-sentence :class:`UsageError`."""
    base, _, inline = exercise_id.partition(":")
    if inline and variant and inline != variant:
        raise UsageError(f"Give the variant once: '{exercise_id}' or --variant {variant}.")
    variant = variant or inline or None
    if base not in library.exercises:
        known = ", ".join(ex.id for ex in library.main_exercises())
        raise UsageError(f"There is no exercise called '{base}'; choose one of: {known}.")
    key = f"{base}:{variant}" if variant else base
    if key not in library.exercises:
        options = library.exercises[base].variants
        hint = f"its variants are: {', '.join(options)}" if options else "it has no variants"
        raise UsageError(f"'{base}' has no variant called '{variant}'; {hint}.")
    return library.exercises[key]


def check_minutes(exercise: Exercise, minutes: float | None) -> float:
    """The length asked for, if it lies within the exercise's range."""
    if minutes is None:
        return exercise.minutes_default
    if not exercise.minutes_min <= minutes <= exercise.minutes_max:
        raise UsageError(
            f"{exercise.name.capitalize()} lasts {exercise.minutes_min:g} to "
            f"{exercise.minutes_max:g} minutes; --minutes {minutes:g} is outside that."
        )
    return minutes


def _practice(library: ExerciseLibrary, args: argparse.Namespace) -> int:
    from assistant.cli import _settings

    exercise = choose(library, args.exercise, args.variant)
    minutes = check_minutes(exercise, args.minutes)
    settings = _settings(args)
    if args.out:
        return _render(exercise, minutes, settings, args)
    return _play(exercise, minutes, settings, args)


def _output(
    settings: Settings, data_override: str | None, sink: AudioSink, clock: Clock
) -> SpokenOutput:
    from assistant.app import tone_for
    from assistant.paths import data_dir, ensure_private_dir
    from assistant.tts import Voice, default_tts

    voice = Voice(rate_wpm=settings.rate_wpm, voice=settings.voice)
    cache = ensure_private_dir(data_dir(data_override) / "cache" / "speech")
    return SpokenOutput(default_tts(voice, cache), sink, clock, voice, tones=tone_for)


def _runner(
    exercise: Exercise, minutes: float, settings: Settings, args: argparse.Namespace,
    output: SpokenOutput, clock: Clock,
) -> ExerciseRunner:  # fmt: skip
    return ExerciseRunner(
        exercise,
        output,
        clock,
        minutes=minutes,
        time_scale=settings.time_scale,
        cue_style=CueStyle(args.cues or settings.cues),
    )


def _render(
    exercise: Exercise, minutes: float, settings: Settings, args: argparse.Namespace
) -> int:
    from assistant.audio_out import WavFileSink
    from assistant.clock import VirtualClock

    sink = WavFileSink(args.out)
    clock = VirtualClock()
    output = _output(settings, args.data_dir, sink, clock)
    runner = _runner(exercise, minutes, settings, args, output, clock)
    try:
        runner.start(background=False)
    finally:
        sink.close()
    seconds = sink.position
    print(
        f"Wrote {exercise.name} ({int(seconds // 60)} min {seconds % 60:.1f} s) to {args.out}",
        file=sys.stderr,
    )
    return 0


def _play(exercise: Exercise, minutes: float, settings: Settings, args: argparse.Namespace) -> int:
    from assistant.audio_out import SpeakerSink
    from assistant.clock import MonotonicClock

    sink = SpeakerSink(settings.output_device)
    clock = MonotonicClock()
    output = _output(settings, args.data_dir, sink, clock)
    output.prepare(_texts(exercise))  # speech is ready before the first breath
    runner = _runner(exercise, minutes, settings, args, output, clock)
    print(f"{exercise.name.capitalize()}, {minutes:g} minutes. Ctrl+C stops.", file=sys.stderr)
    try:
        runner.start()
        while runner.active:
            runner.join(timeout=0.2)
    except KeyboardInterrupt:
        runner.stop()
        runner.join(timeout=2)
        raise
    finally:
        sink.close()
    return 0


def _texts(exercise: Exercise) -> list[str]:
    """Everything the exercise may say, to render ahead of time."""
    from assistant.pacer import COUNT_WORDS

    texts = [*exercise.intro, *exercise.outro, *(s.say for s in exercise.steps)]
    texts += [t for p in exercise.phases for t in (p.say, p.short)]
    if exercise.count:
        texts += COUNT_WORDS
    return texts
