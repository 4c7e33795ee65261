"""Response latency of the live loop: ``python -m bench.latency [--quick] [--json PATH]``.

Each test recording (a request spoken by a synthetic voice, some with a hesitation
pause in the middle) is streamed in real time, in the blocks and at the rate a
microphone delivers them (``MIC_BLOCK_SECONDS``), into
:func:`assistant.runtime.listen` — Vosk's two passes, the endpointing, the dialog and
the speech output, as ``steady listen`` runs them. The figure is the time from the end
of speech (the last loud 10 ms frame of the recording) to the moment the first sample
of the reply is handed to the audio sink. Replies are cached (rendered ahead, as
``steady listen`` does at start), so this is the pipeline's own delay, not speech
synthesis.

A *cut-off* is an utterance that the recognizer closed in the middle, so that it
reached the dialog as two (or more) turns.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.app import App
from assistant.audio_format import STT_FORMAT, Audio, concat
from assistant.audio_in import MIC_BLOCK_SECONDS, WavFileSource
from assistant.audio_out import NullSink
from assistant.clock import MonotonicClock
from assistant.config import Settings
from assistant.runtime import listen
from assistant.stt import Event, Final, Recognition, SpeechToText, Transcript
from assistant.understand import build_stt
from bench.emit import emit_json
from bench.voices import DEFAULT_CACHE, Voice, available_voices, load_render

REQUESTS: tuple[tuple[str, ...], ...] = (
    ("i feel anxious",),
    ("i can't sleep",),
    ("what can you do",),
    ("i'm feeling really sad today",),
    ("i feel", "so overwhelmed right now"),
    ("i'm really angry",),
    ("i can't", "stop worrying about work"),
    ("help",),
)
"""Requests; several parts are joined by a hesitation pause of :data:`HESITATION`."""
HESITATION = 0.3
LEAD = 1.5
"""Seconds of silence before the request (the greeting plays meanwhile)."""
TRAILING = 2.5
TARGET = 0.300


def speech_end(audio: Audio, floor_db: float = -40.0) -> float:
    """Seconds to the end of the last 10 ms frame within ``floor_db`` of the loudest."""
    x = audio.to_float()
    size = STT_FORMAT.rate // 100
    frames = len(x) // size
    if frames == 0:
        return audio.duration
    power = np.mean(np.square(x[: frames * size].reshape(frames, size)), axis=1)
    loud = np.nonzero(power >= power.max() * 10 ** (floor_db / 10))[0]
    return float((loud[-1] + 1) * size / STT_FORMAT.rate) if loud.size else audio.duration


class _TimedSource(WavFileSource):
    """A real-time WAV source that notes when streaming began."""

    started: float | None = None

    def read(self, timeout: float | None = None) -> bytes | None:
        if self.started is None:
            self.started = time.monotonic()
        return super().read(timeout)


class _TimedRecognition(Recognition):
    def __init__(self, inner: Recognition, finals: list[tuple[float, str]]) -> None:
        self.inner = inner
        self.finals = finals

    def accept(self, pcm: bytes) -> list[Event]:
        events = self.inner.accept(pcm)
        for e in events:
            if isinstance(e, Final) and e.transcript.text.strip():
                self.finals.append((time.monotonic(), e.transcript.text))
        return events

    def flush(self) -> Transcript | None:
        last = self.inner.flush()
        if last is not None and last.text.strip():
            self.finals.append((time.monotonic(), last.text))
        return last


class TimedSTT(SpeechToText):
    """Steady's recognizer, with the wall time of every non-empty final noted."""

    def __init__(self, inner: SpeechToText) -> None:
        self.inner = inner
        self.finals: list[tuple[float, str]] = []

    def start(self, *, open_vocabulary: bool = False) -> Recognition:
        return _TimedRecognition(self.inner.start(open_vocabulary=open_vocabulary), self.finals)


@dataclass(frozen=True)
class Sample:
    request: str
    voice: str
    latency: float | None
    """End of speech to the first reply sample (None: no reply)."""
    endpoint: float | None
    """End of speech to the utterance's final (the endpointing share)."""
    turns: int
    """Non-empty finals heard for the request (2+ is a cut-off)."""
    heard: list[str]


def make_clip(parts: Sequence[str], voice: Voice, cache: Path) -> Audio:
    pieces: list[Audio] = []
    for n, text in enumerate(parts):
        clip = load_render(voice, text, cache)
        if n < len(parts) - 1:  # trim the synthesiser's own tail so the pause is HESITATION
            clip = Audio(clip.pcm[: round(speech_end(clip) * STT_FORMAT.rate) * 2], clip.fmt)
            pieces += [clip, Audio.silence(HESITATION, STT_FORMAT)]
        else:
            pieces.append(clip)
    return concat(pieces, STT_FORMAT)


def _prepare(app: App, stt: SpeechToText) -> None:
    """Render every fixed reply into the on-disk cache (what ``steady listen`` does)."""
    output = app.spoken_output(NullSink(), MonotonicClock())
    output.prepare(app.replies.all_texts())


def one(app: App, stt: SpeechToText, speech: Audio, request: str, voice: str) -> Sample:
    """Stream silence + ``speech`` in real time through the live loop; time the reply."""
    clip = concat([Audio.silence(LEAD, STT_FORMAT), speech], STT_FORMAT)
    end_in_clip = LEAD + speech_end(speech)
    timed = TimedSTT(stt)
    samples: list[float] = []
    sink = NullSink()
    sink.on_first_sample = samples.append
    clock = MonotonicClock()
    output = app.spoken_output(sink, clock)
    source = _TimedSource(
        clip, block_seconds=MIC_BLOCK_SECONDS, realtime=True, trailing_silence=TRAILING
    )
    listen(app, source, timed, output, clock, max_seconds=source.duration + 2.0)
    if source.started is None:
        raise RuntimeError("the source was never read")
    end = source.started + end_in_clip
    turns = [(t, text) for t, text in timed.finals if t > source.started + LEAD - 0.2]
    replies = [t for t in samples if t > end - 0.5]
    final_at = turns[-1][0] if turns else None
    return Sample(
        request=request,
        voice=voice,
        latency=(replies[0] - end) if replies else None,
        endpoint=(final_at - end) if final_at is not None else None,
        turns=len(turns),
        heard=[text for _, text in turns],
    )


def measure(
    quick: bool = False,
    cache: Path = DEFAULT_CACHE,
    home: Path | None = None,
    count: int | None = None,
) -> list[Sample]:
    """Every request, in several voices; a silent warm-up run first."""
    logging.getLogger("assistant").setLevel(logging.WARNING)
    home = home or cache / "home"
    app = App.load(Settings(), str(home))
    app.first_run()
    stt = build_stt(app.matcher)
    _prepare(app, stt)
    voices = available_voices()[: 2 if quick else 4]
    requests = REQUESTS[:3] if quick else REQUESTS
    total = count if count is not None else len(requests) * (1 if quick else 2)
    clips: list[tuple[str, Voice, Audio]] = []
    for n in range(total):
        parts, voice = requests[n % len(requests)], voices[n % len(voices)]
        clips.append((" … ".join(parts), voice, make_clip(parts, voice, cache)))
    # Warm-up: the same pipeline, not timed (fills caches, loads lazily built state).
    one(app, stt, clips[0][2], clips[0][0], clips[0][1].name)
    return [one(app, stt, speech, request, voice.name) for request, voice, speech in clips]


def summary(samples: Sequence[Sample]) -> dict[str, object]:
    lat = sorted(s.latency for s in samples if s.latency is not None)
    ends = sorted(s.endpoint for s in samples if s.endpoint is not None)

    def p95(xs: list[float]) -> float | None:
        return float(np.percentile(xs, 95)) if xs else None

    return {
        "n": len(samples),
        "replied": len(lat),
        "median": statistics.median(lat) if lat else None,
        "p95": p95(lat),
        "endpoint_median": statistics.median(ends) if ends else None,
        "cutoffs": sum(1 for s in samples if s.turns > 1),
        "samples": [asdict(s) for s in samples],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--count", type=int, default=None, help="number of recordings")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = summary(measure(args.quick, args.cache, count=args.count))
    emit_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
