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
from assistant.audio_in import AudioSource
from assistant.clock import Clock, MonotonicClock
from assistant.dialog import Dialog
from assistant.output import Output, TrackingOutput
from assistant.stt import Final, SpeechToText, Transcript
from assistant.text import normalize

log = logging.getLogger(__name__)

ECHO_WINDOW = 1.0
"""Seconds after Steady stops talking during which its own words may still arrive."""


def is_echo(transcript: Transcript, recent: Iterable[str]) -> bool:
    """True when ``transcript`` is most likely Steady hearing itself."""
    heard = normalize(transcript.text)
    if not heard:
        return False
    for said in recent:
        spoken = normalize(said)
        if not spoken:
            continue
        if fuzz.ratio(heard, spoken) >= 70:
            return True
        if len(heard.split()) >= 3 and fuzz.partial_ratio(heard, spoken) >= 85:
            return True
    return False


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
    if is_echo(transcript, recent):
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
    heard_any = False
    try:
        while not dialog.done:
            chunk = source.read()
            if chunk is None:
                break
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
