"""The ``steady`` command line.

Every problem a person can fix is reported as one line on stderr with a non-zero
exit code; tracebacks are only for bugs. Logs go to stderr; ``-v`` shows debug
logs (the only level at which anything a person said is written).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import __version__
from assistant.config import Settings
from assistant.errors import AudioFileError, SteadyError, UsageError

if TYPE_CHECKING:
    from assistant.loudness import LevelReport

log = logging.getLogger("assistant")

COMMAND_MODULES = ("assistant.cli_practice", "assistant.cli_toolbox")
"""Modules that add subcommands: each has ``register(sub, common)``, which adds its
parsers, and ``dispatch(command, args) -> int | None``, which runs one of its commands
(``None`` when ``command`` is not one of them)."""


def _command_modules() -> list[Any]:
    return [importlib.import_module(name) for name in COMMAND_MODULES]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`).")


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("common options")
    g.add_argument("-v", "--verbose", action="store_true", help="debug logs on stderr")
    g.add_argument("--model", help="Vosk model folder or installed model name")
    g.add_argument("--data-dir", help="where Steady keeps your data (default: per-user folder)")
    g.add_argument(
        "--time-scale", type=float, help="multiply every pause and timing (tests, demos)"
    )
    g.add_argument("--country", help="crisis numbers for this country (US, CA, GB, IE)")
    g.add_argument("--rate", type=int, dest="rate_wpm", help="speaking rate in words a minute")
    g.add_argument("--voice", help="text-to-speech voice (an espeak-ng voice such as en-us)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="steady",
        description="Steady: an offline voice companion for coping skills. "
        "Nothing you say leaves this machine.",
    )
    parser.add_argument("--version", action="version", version=f"steady {__version__}")
    _common(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("listen", help="hands-free on the microphone (the default)")
    _common(p)
    p.add_argument("--device", help="microphone (number or part of its name; see `steady devices`)")
    p.add_argument("--output-device", help="speaker (number or part of its name)")
    p.add_argument("--seconds", type=float, help="stop listening after this many seconds")

    p = sub.add_parser("chat", help="the same conversation, typed")
    _common(p)
    p.add_argument("--speak", action="store_true", help="also speak the replies")

    p = sub.add_parser("run", help="the whole loop on a recording")
    _common(p)
    p.add_argument("input", help="a WAV file of someone speaking")
    p.add_argument("--out", help="write the spoken reply to this WAV file (default: speakers)")

    p = sub.add_parser("recognize", help="transcribe and match WAV files")
    _common(p)
    p.add_argument("files", nargs="+", help="WAV files")
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    p = sub.add_parser("match", help="match typed utterances (one per line on stdin)")
    _common(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    p = sub.add_parser("models", help="install and list speech models")
    _common(p)
    msub = p.add_subparsers(dest="models_command", parser_class=_Parser)
    mf = msub.add_parser("fetch", help="download and verify the default English model")
    _common(mf)
    mi = msub.add_parser("install", help="install a model from a .zip, .aar or folder")
    _common(mi)
    mi.add_argument("path")
    ml = msub.add_parser("list", help="show installed models")
    _common(ml)

    p = sub.add_parser("mic-check", help="how well Steady hears you on the microphone")
    _common(p)
    p.add_argument("--device", help="microphone (number or part of its name; see `steady devices`)")
    p.add_argument(
        "--seconds", type=float, default=5.0, help="how long to listen (default 5, at most 60)"
    )

    p = sub.add_parser("devices", help="list audio devices")
    _common(p)
    p.add_argument(
        "--has",
        choices=["input", "output"],
        help="print nothing; exit 0 if such a device exists, 1 if not (for scripts)",
    )
    for module in _command_modules():
        module.register(sub, _common)
    return parser


def _setup_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # pyttsx3 logs every voice change on the root logger; that is noise, not news.
    handler.addFilter(lambda r: not (r.name == "root" and "pyttsx3" in r.pathname))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        args.data_dir,
        time_scale=args.time_scale,
        country=args.country,
        rate_wpm=args.rate_wpm,
        voice=args.voice,
        model=args.model,
        input_device=getattr(args, "device", None),
        output_device=getattr(args, "output_device", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _setup_logging(args.verbose)
        return _dispatch(args)
    except SteadyError as exc:
        print(f"steady: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "listen"
    for module in _command_modules():
        code = module.dispatch(command, args)
        if code is not None:
            return int(code)
    if command == "models":
        return _models(args)
    if command == "devices":
        from assistant.devices import format_devices, list_devices

        if args.has:
            try:
                return 0 if any(d.has(args.has) for d in list_devices()) else 1
            except SteadyError:
                return 1
        print(format_devices(list_devices()))
        return 0
    settings = _settings(args)
    if command == "match":
        return _match(settings, args)
    if command == "recognize":
        return _recognize(settings, args)
    if command == "chat":
        return _chat(settings, args)
    if command == "run":
        return _run(settings, args)
    if command == "mic-check":
        return _mic_check(settings, args)
    return _listen(settings, args)


def _models(args: argparse.Namespace) -> int:
    from assistant import models
    from assistant.paths import models_dir

    folder = models_dir()
    sub = args.models_command or "list"
    if sub == "fetch":
        installed = models.fetch_default_model(folder, progress=True)
        print(f"Installed {installed.name} in {installed.path}")
    elif sub == "install":
        installed = models.install_model(Path(args.path), folder, progress=True)
        print(f"Installed {installed.name} in {installed.path}")
    else:
        found = models.list_models(folder)
        if not found:
            print(f"No models in {folder}. Run `steady models fetch`.")
            return 0
        for m in found:
            mark = "*" if m.active else " "
            grammar = "grammar" if m.supports_grammar else "no grammar"
            print(f"{mark} {m.name}  {m.size_bytes / 1e6:.0f} MB  ({grammar})  {m.path}")
    return 0


def _match(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.paths import data_dir
    from assistant.prebuilt import Prebuilt
    from assistant.understand import build_matcher

    matcher = build_matcher(settings.language, Prebuilt.under(data_dir(args.data_dir)))
    for line in sys.stdin:
        text = line.rstrip("\n")
        m = matcher.match(text)
        if args.json:
            print(json.dumps(m.as_json()), flush=True)
        else:
            slots = " ".join(f"{k}={v:g}" for k, v in m.slots.items())
            print(f"{m.intent}\t{m.confidence:.2f}\t{slots}".rstrip(), flush=True)
    matcher.prebuilt.wait()  # a short run still keeps its tables for the next
    return 0


def _recognize(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.audio_format import load_wav
    from assistant.paths import data_dir
    from assistant.prebuilt import Prebuilt
    from assistant.understand import build_matcher, build_stt, load_model, understand_audio

    loading = load_model(settings.model)
    matcher = build_matcher(settings.language, Prebuilt.under(data_dir(args.data_dir)))
    stt = build_stt(matcher, loading, **settings.recognition())
    failures = 0
    for name in args.files:
        try:
            audio = load_wav(name)
        except AudioFileError as exc:
            print(f"steady: {exc}", file=sys.stderr)
            failures += 1
            continue
        transcript, m = understand_audio(stt, matcher, audio)
        record = {"file": name, **m.as_json()}
        record["text"] = transcript.text or (transcript.open_text or "")
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            print(f"{name}\t{record['text']}\t{m.intent}\t{m.confidence:.2f}", flush=True)
    return AudioFileError.exit_code if failures else 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.app import App
    from assistant.clock import MonotonicClock
    from assistant.output import MultiOutput, Output
    from assistant.runtime import chat

    app = App.load(settings, args.data_dir)
    clock = MonotonicClock()
    output: Output = app.printed_output(sys.stdout)
    if args.speak:
        from assistant.audio_out import SpeakerSink

        spoken = app.spoken_output(SpeakerSink(settings.output_device), clock)
        output = MultiOutput([output, spoken])
    chat(app, sys.stdin, output, clock)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.app import App
    from assistant.audio_in import WavFileSource
    from assistant.audio_out import AudioSink, SpeakerSink, WavFileSink
    from assistant.clock import Clock, MonotonicClock, VirtualClock
    from assistant.runtime import run_recording
    from assistant.understand import build_stt, load_model

    source = WavFileSource(args.input)  # bad files fail here, before the model loads
    loading = load_model(settings.model)
    app = App.load(settings, args.data_dir)
    stt = build_stt(app.matcher, loading, **settings.recognition())
    sink: AudioSink
    clock: Clock
    if args.out:
        sink, clock = WavFileSink(args.out), VirtualClock()
    else:
        sink, clock = SpeakerSink(settings.output_device), MonotonicClock()
    output = app.spoken_output(sink, clock)
    try:
        dialog = run_recording(app, source, stt, output, clock)
    finally:
        sink.close()
    log.info("run finished in mode %s", dialog.mode.value)
    if args.out:
        print(f"Wrote the reply to {args.out}", file=sys.stderr)
    return 0


def _listen(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.app import App
    from assistant.audio_in import MicrophoneSource
    from assistant.audio_out import SpeakerSink
    from assistant.clock import MonotonicClock
    from assistant.runtime import listen
    from assistant.understand import build_stt, load_model

    loading = load_model(settings.model)  # loads while the sentences are built
    app = App.load(settings, args.data_dir)
    stt = build_stt(app.matcher, loading, **settings.recognition())
    clock = MonotonicClock()
    source = MicrophoneSource(settings.input_device)
    sink = SpeakerSink(settings.output_device)
    output = app.spoken_output(sink, clock)
    output.prepare(app.replies.all_texts())
    print("Steady is listening. Say goodbye, or press Ctrl+C, to stop.", file=sys.stderr)
    try:
        listen(app, source, stt, output, clock, max_seconds=getattr(args, "seconds", None))
    finally:
        source.close()
        sink.close()
    return 0


def _mic_check(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.audio_format import STT_FORMAT
    from assistant.audio_in import MicrophoneSource
    from assistant.loudness import assess

    seconds = float(args.seconds)
    if not 1.0 <= seconds <= 60.0:
        raise UsageError("--seconds must be between 1 and 60.")
    source = MicrophoneSource(settings.input_device)
    need = round(seconds * STT_FORMAT.rate) * STT_FORMAT.width
    pcm = bytearray()
    print(
        f"Say a sentence or two in your usual voice, from where you will sit "
        f"(listening for {seconds:g} s)...",
        file=sys.stderr,
        flush=True,
    )
    try:
        while len(pcm) < need:
            chunk = source.read(timeout=1.0)
            if chunk is None:
                break
            pcm.extend(chunk)
    finally:
        source.close()
    report = assess(bytes(pcm[:need]))
    for line in mic_check_lines(report):
        print(line)
    return 0 if report.verdict in ("good", "noisy") else 1


def mic_check_lines(report: LevelReport) -> list[str]:
    """What ``steady mic-check`` says of a :class:`~assistant.loudness.LevelReport`."""
    from assistant.loudness import MAX_GAIN_DB

    lines = []
    if report.speech_db is not None and not report.silent:
        lines.append(
            f"Your voice: {report.speech_db:.0f} dBFS at its loudest; "
            f"the background: {report.background_db:.0f} dBFS."
        )
    verdict = report.verdict
    if verdict == "good":
        gain = report.gain_db
        lines.append(
            "Good: Steady hears you well"
            + (f", after amplifying your voice by about {gain:.0f} dB." if gain >= 1 else ".")
        )
    elif verdict == "noisy":
        margin = (report.speech_db or 0.0) - report.background_db
        lines.append(
            f"Your voice stands only {margin:.0f} dB above the background: a quieter room, "
            "or a microphone closer to you, would help Steady hear you."
        )
    elif verdict == "quiet":
        lines.append(
            f"Your voice is too quiet even after Steady amplifies it by {MAX_GAIN_DB:.0f} dB: "
            "come closer to the microphone or turn its input volume up."
        )
    elif verdict == "loud":
        lines.append(
            "Your voice clips (too loud for the microphone's input): move back a little "
            "or turn the input volume down."
        )
    elif verdict == "no_speech":
        lines.append(
            "No speech stood out from the background: try again, speaking in your usual "
            "voice a little closer to the microphone."
        )
    else:
        lines.append(
            "Nothing but silence came in: the microphone may be muted, or another one may "
            "be the one in use (see `steady devices`; choose one with --device)."
        )
    return lines
