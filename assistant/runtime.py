"""The loops that connect audio, recognition and the dialog.

* :func:`listen` — hands-free on a live source: recognition runs continuously,
  replies are spoken in the background, and Steady ignores its own voice.
* :func:`run_recording` — the same dialog over a recording, replies to a WAV file
  or the speakers.
* :func:`chat` — typed lines in, printed (and optionally spoken) lines out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TextIO

from rapidfuzz import fuzz

from assistant.app import App
from assistant.audio_in import AudioSource, WavFileSource
from assistant.clock import Clock, MonotonicClock
from assistant.dialog import BARGE_IN_PHRASES, Dialog, Mode
from assistant.loudness import SilenceWatch
from assistant.output import Output, TrackingOutput
from assistant.stt import Final, SpeechToText, Transcript
from assistant.text import normalize
from assistant.understand import QUICK_COMMANDS, heard_crisis

log = logging.getLogger(__name__)

ECHO_WINDOW = 1.0
"""Seconds after Steady stops talking during which its own words may still arrive."""


COUNT_WORDS = frozenset("one two three four five six seven eight nine ten".split())
"""Steady counts breaths aloud; a person does not say a bare count as a request."""
KEEP = frozenset(normalize(c) for c in (*QUICK_COMMANDS, *BARGE_IN_PHRASES))
"""Commands that always get through, even when Steady's own words contain them."""


def is_echo(transcript: Transcript, recent: Iterable[str], *, strict: bool = True) -> bool:
    """True when ``transcript`` is most likely Steady hearing itself.

    Either reading (grammar or open vocabulary) may resemble what Steady just said,
    alone or run together with the cue before or after it ("four" + "out"). With
    ``strict`` (Steady is talking, or an exercise is running) a fragment of its words
    or a bare count counts as echo too, but never a short command such as "stop".
    """
    readings = [
        r for r in (normalize(t) for t in (transcript.text, transcript.open_text) if t) if r
    ]
    spoken = [s for s in (normalize(t) for t in recent) if s]
    if not readings or not spoken:
        return False
    runs = [" ".join(spoken[i:j]) for i in range(len(spoken)) for j in range(i + 2, i + 4)]
    candidates = spoken + [r for r in runs if r not in spoken]
    for heard in readings:
        for said in candidates:
            if fuzz.ratio(heard, said) >= 70:
                return True
            if len(heard.split()) >= 3 and fuzz.partial_ratio(heard, said) >= 85:
                return True
    return strict and any(_fragment_of(heard, candidates) for heard in readings)


def _fragment_of(heard: str, candidates: list[str]) -> bool:
    if heard in KEEP:
        return False
    words = heard.split()
    if all(w in COUNT_WORDS for w in words):
        return True
    if any(f" {heard} " in f" {said} " for said in candidates):
        return True
    pool = {w for said in candidates for w in said.split()}
    return len(words) >= 3 and sum(w in pool for w in words) / len(words) >= 0.6


def listen(
    app: App,
    source: AudioSource,
    stt: SpeechToText,
    output: Output,
    clock: Clock | None = None,
    *,
    max_seconds: float | None = None,
) -> Dialog:
    """Run the hands-free loop until "goodbye", the end of the source, or ``max_seconds``."""
    clock = clock or MonotonicClock()
    tracking = TrackingOutput(output, clock)
    dialog = app.dialog(tracking, clock, asynchronous=True)
    recognition = stt.start()
    silence = SilenceWatch()
    dialog.begin()
    started = clock.now()
    try:
        while not dialog.done:
            if max_seconds is not None and clock.now() - started > max_seconds:
                break
            chunk = source.read(timeout=0.5)
            if chunk is None:
                last = recognition.flush()
                if last is not None:
                    _handle(dialog, tracking, last)
                break
            dialog.heard_audio(chunk)
            if silence.feed(chunk):
                dialog.microphone_silent()
            recognition.own_voice(tracking.sounding(ECHO_WINDOW))
            for event in recognition.accept(chunk):
                if isinstance(event, Final):
                    _handle(dialog, tracking, event.transcript)
            dialog.tick()
        dialog.speaker.wait(timeout=30)
    finally:
        dialog.close()
    return dialog


def _handle(dialog: Dialog, tracking: TrackingOutput, transcript: Transcript) -> None:
    recent = tracking.recent(ECHO_WINDOW)
    # A crisis statement is only ever dropped as an echo when it is plainly Steady's
    # own sentence; the looser fragment rules are for commands.
    crisis = heard_crisis(dialog.matcher, transcript) is not None
    strict = not crisis and (tracking.speaking or dialog.mode is Mode.EXERCISE)
    if is_echo(transcript, recent, strict=strict):
        log.debug("ignored my own voice: %r", transcript.text)
        return
    # Without echo cancellation the microphone hears Steady too: while it talks (and
    # just after), only clear commands and crisis statements are taken.
    dialog.hear(transcript, while_speaking=bool(recent))


def run_recording(
    app: App, source: AudioSource, stt: SpeechToText, output: Output, clock: Clock
) -> Dialog:
    """The dialog over a whole recording; every reply and exercise plays to the end."""
    dialog = app.dialog(
        output, clock, asynchronous=False, block_exercises=True, greet_first_run=False
    )
    recognition = stt.start()
    if isinstance(source, WavFileSource):
        recognition.calibrate(source.audio.pcm)
    heard_any = False
    try:
        while not dialog.done:
            chunk = source.read()
            if chunk is None:
                break
            dialog.heard_audio(chunk)
            for event in recognition.accept(chunk):
                if isinstance(event, Final):
                    heard_any = True
                    dialog.hear(event.transcript)
        last = recognition.flush()
        if last is not None and not dialog.done:
            heard_any = True
            dialog.hear(last)
        if not heard_any:
            dialog.hear("")
        dialog.wait_idle()
    finally:
        dialog.close()
    return dialog


def chat(app: App, lines: TextIO, output: Output, clock: Clock | None = None) -> Dialog:
    """Typed conversation: one utterance per line; exercises run in the background."""
    clock = clock or MonotonicClock()
    dialog = app.dialog(output, clock, asynchronous=False)
    dialog.begin()
    try:
        for line in lines:
            text = line.strip()
            if not text:
                continue
            dialog.hear(text)
            if dialog.done:
                break
        if not dialog.done:
            dialog.wait_idle()
    except KeyboardInterrupt:
        pass
    finally:
        dialog.close()
    return dialog
