"""Pacing drift and Steady hearing itself, from rendered exercise sessions.

* **Drift.** A resonance-breathing session is rendered to a WAV through the real pacer
  (:class:`assistant.pacer.ExerciseRunner`) and speech output, on the virtual clock
  ``steady run --out`` uses. Cue onsets are then *found in the audio* (silence → sound
  transitions) and compared with the times the pacer planned; drift is found − planned.
* **Self-triggering.** The rendered session is fed back through Steady's recognizer
  and :func:`assistant.understand.match_transcript`; every utterance that comes out as
  anything but ``unknown`` is a command Steady's own voice would have triggered if the
  microphone heard the speaker. The runtime's echo filter (:func:`assistant.runtime.is_echo`,
  against the cues spoken in the preceding seconds) is applied as a second figure.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.app import App
from assistant.audio_format import STT_FORMAT, Audio, convert, load_wav
from assistant.audio_out import WavFileSink
from assistant.clock import VirtualClock
from assistant.config import Settings
from assistant.intents import FILLER, UNKNOWN
from assistant.pacer import CueLog, ExerciseRunner
from assistant.runtime import is_echo
from assistant.stt import SpeechToText
from assistant.understand import build_stt, match_transcript

TARGET_DRIFT = 0.050
FRAME = 0.01
MIN_GAP = 0.25
"""Silence (s) that must precede a sound for it to count as a new onset."""
ECHO_LOOKBACK = 10.0


@dataclass(frozen=True)
class Session:
    wav: Path
    cues: list[CueLog]
    seconds: float
    spoken: tuple[str, ...]
    """Intro and outro lines (not logged as cues)."""


def render_session(app: App, exercise_id: str, minutes: float, out: Path) -> Session:
    """The exercise as ``steady run --out`` would render it (virtual clock, WAV sink)."""
    clock = VirtualClock()
    sink = WavFileSink(out)
    output = app.spoken_output(sink, clock)
    exercise = app.library.get(exercise_id)
    runner = ExerciseRunner(exercise, output, clock, minutes=minutes, time_scale=1.0)
    runner.start(background=False)
    seconds = sink.position
    sink.close()
    return Session(out, list(runner.cues), seconds, (*exercise.intro, *exercise.outro))


def onsets(audio: Audio, floor_db: float = -45.0) -> list[float]:
    """Times (s) where sound starts after at least :data:`MIN_GAP` of silence."""
    x = audio.to_float()
    size = max(1, round(FRAME * audio.fmt.rate))
    frames = len(x) // size
    power = np.mean(np.square(x[: frames * size].reshape(frames, size)), axis=1)
    loud = power >= 10 ** (floor_db / 10)
    step = size / audio.fmt.rate
    out: list[float] = []
    quiet = MIN_GAP  # the start of the file counts as silence
    for n, is_loud in enumerate(loud):
        if is_loud:
            if quiet >= MIN_GAP:
                out.append(n * step)
            quiet = 0.0
        else:
            quiet += step
    return out


@dataclass(frozen=True)
class Drift:
    cues: int
    matched: int
    max_abs: float
    median_abs: float
    accumulated: float
    """Drift of the last cue minus that of the first cue with the same words (the same
    clip, so its own lead-in cancels): what builds up over the session."""
    session_seconds: float


def drift(session: Session) -> Drift:
    found = np.array(onsets(load_wav(session.wav, target=None)))
    diffs: list[float] = []
    first: dict[str, float] = {}
    accumulated = float("nan")
    for cue in session.cues:
        if found.size == 0:
            break
        nearest = float(found[np.argmin(np.abs(found - cue.planned))])
        if abs(nearest - cue.planned) <= 1.0:
            diffs.append(nearest - cue.planned)
            first.setdefault(cue.text, diffs[-1])
            accumulated = diffs[-1] - first[cue.text]
    absd = [abs(d) for d in diffs]
    return Drift(
        cues=len(session.cues),
        matched=len(diffs),
        max_abs=max(absd) if absd else float("nan"),
        median_abs=statistics.median(absd) if absd else float("nan"),
        accumulated=accumulated,
        session_seconds=session.seconds,
    )


@dataclass(frozen=True)
class SelfVoice:
    utterances: int
    triggered: list[tuple[str, str]]
    """(heard, intent) for every utterance that was not ``unknown`` or a filler."""
    after_echo_filter: list[tuple[str, str]]
    audio_seconds: float


def self_voice(app: App, stt: SpeechToText, session: Session) -> SelfVoice:
    audio = convert(load_wav(session.wav, target=None), STT_FORMAT)
    parts = stt.transcribe(audio.pcm + Audio.silence(1.0).pcm)
    triggered: list[tuple[str, str]] = []
    kept: list[tuple[str, str]] = []
    for part in parts:
        match = match_transcript(app.matcher, part)
        if match.intent in (UNKNOWN, FILLER):
            continue  # nothing is done on either
        triggered.append((part.text, match.intent))
        start = part.words[0].start if part.words else part.end_time
        recent = [
            c.text for c in session.cues if start - ECHO_LOOKBACK <= c.actual <= part.end_time
        ] + list(session.spoken)
        if not is_echo(part, recent):
            kept.append((part.text, match.intent))
    return SelfVoice(len(parts), triggered, kept, audio.duration)


def run(
    home: Path, drift_minutes: float, voice_minutes: float, stt: SpeechToText | None = None
) -> tuple[Drift, SelfVoice]:
    app = App.load(Settings(), str(home))
    stt = stt or build_stt(app.matcher)
    with tempfile.TemporaryDirectory(prefix="steady-bench-") as tmp:
        long = render_session(app, "resonance", drift_minutes, Path(tmp) / "drift.wav")
        found = drift(long)
        short = (
            long
            if voice_minutes == drift_minutes
            else render_session(app, "resonance", voice_minutes, Path(tmp) / "voice.wav")
        )
        heard = self_voice(app, stt, short)
    return found, heard
