"""Steady noise out of the microphone signal before recognition: spectral subtraction.

A fan, traffic or a busy room adds noise that stays much the same from one second to the
next. For each frequency band, the level that the quietest sixth of the last two seconds
stayed under is taken as the noise (speech comes and goes, the hum does not); that much
is taken off each new frame, and never more than down to a floor, so speech is not cut
into pieces. It runs causally on the stream, one 16 ms hop behind the input.

Measured on the design sets in pink noise at 10 dB SNR, against the same audio without
it: more crisis statements were heard (332 against 323 of 386), intents changed by about
as much as reruns differ, and a few more figurative phrases were flagged (README,
"Measured"). Clean audio comes through unchanged: there the noise estimate is zero.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FRAME = 512
"""Samples per analysis frame (32 ms at 16 kHz)."""
HOP = 256
"""Samples between frames: the output is this far behind the input."""
HISTORY = 125
"""Frames (2 s) the noise estimate looks back over."""
PERCENTILE = 15.0
"""Each band's noise level is the level this share of recent frames stayed under..."""
_BIAS = float(-np.log(1.0 - PERCENTILE / 100.0))
"""...scaled up to the band's mean: the power of noise in one band is exponentially
distributed, so its 15th percentile is 0.16 of its mean."""
OVER_SUBTRACTION = 2.5
"""How many times the estimated noise power is taken off each frame."""
FLOOR = 0.1
"""Never turn a band down by more than this (amplitude, -20 dB): less "musical noise"."""
RELEASE = 0.5
"""A band's gain falls at most to this share of the frame before, so word endings
fading into the noise are not chopped."""
REFRESH = 4
"""Frames between updates of the noise estimate (it moves slowly anyway)."""


class NoiseSuppressor:
    """Feed 16-bit mono PCM in any size of piece; get the cleaned PCM back (in hops)."""

    def __init__(self) -> None:
        self._window = np.sqrt(np.hanning(FRAME + 1)[:FRAME]).astype(np.float32)
        self._overlap = np.zeros(FRAME - HOP, dtype=np.float32)
        self._history = np.zeros((HISTORY, FRAME // 2 + 1), dtype=np.float32)
        self._noise = np.zeros(FRAME // 2 + 1, dtype=np.float32)
        self._gain = np.ones(FRAME // 2 + 1, dtype=np.float32)
        self._frames = 0
        # Samples not yet framed. The first frame starts with FRAME - HOP samples of
        # silence, so every input sample is covered by two frames and comes out once.
        self._input = np.zeros(FRAME - HOP, dtype=np.float32)

    def process(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2").astype(np.float32)
        self._input = np.concatenate([self._input, samples])
        out: list[npt.NDArray[np.float32]] = []
        while self._input.size >= FRAME:
            out.append(self._frame(self._input[:FRAME]))
            self._input = self._input[HOP:]
        if not out:
            return b""
        cleaned = np.concatenate(out)
        return np.clip(np.rint(cleaned), -32768, 32767).astype("<i2").tobytes()

    def _frame(self, frame: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        spectrum = np.fft.rfft(frame * self._window)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
        self._history[self._frames % HISTORY] = power
        self._frames += 1
        filled = min(self._frames, HISTORY)
        if self._frames % REFRESH == 1 or filled < HISTORY:
            recent = self._history[:filled]
            self._noise = np.percentile(recent, PERCENTILE, axis=0).astype(np.float32) / _BIAS
        keep = 1.0 - OVER_SUBTRACTION * self._noise / np.maximum(power, 1e-6)
        gain = np.sqrt(np.maximum(keep, FLOOR * FLOOR)).astype(np.float32)
        gain = np.maximum(gain, RELEASE * self._gain)
        self._gain = gain
        shaped = np.fft.irfft(spectrum * gain, n=FRAME).astype(np.float32) * self._window
        shaped[: FRAME - HOP] += self._overlap
        self._overlap = shaped[HOP:].copy()
        return shaped[:HOP]
