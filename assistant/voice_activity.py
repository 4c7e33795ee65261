"""Is someone talking? A loudness gate against a running estimate of the room's noise.

Used only to end an utterance sooner than the recognizer would: when the gate says
"quiet" but the room is noisy or the estimate unsure, the recognizer's own (slower)
end-of-speech rules still apply, so a wrong "loud" costs latency, never words.
"""

from __future__ import annotations

from collections import deque

import numpy as np

FRAME = 0.02
"""Seconds per loudness frame: the end of speech is known to within this."""
FLOOR_WINDOW = 250
"""Frames (5 s) over which the quietest level is the noise floor."""
RATIO = 2.5
"""A frame this many times louder than the floor counts as voice..."""
MARGIN = 150.0
"""...plus this much (int16 RMS), so digital silence does not make every click voice."""
RELEASE_RATIO = 1.5
"""Once voice has started, it goes on while frames are this much above the floor...
(the soft ends of words, "-ing", a trailing breath, are quieter than their starts)"""
RELEASE_MARGIN = 50.0
"""...plus this much."""


class VoiceActivity:
    """Tracks the stream time of the last frame of audio loud enough to be speech."""

    def __init__(self, rate: int = 16000) -> None:
        self._frame = max(1, round(rate * FRAME))
        self._rate = rate
        self._levels: deque[float] = deque(maxlen=FLOOR_WINDOW)
        self.last_loud = float("-inf")
        """Stream time (s) at the end of the last loud frame."""
        self._voiced = False

    def update(self, pcm: bytes, end_time: float) -> bool:
        """Feed 16-bit mono audio ending at stream time ``end_time``; True if any was loud."""
        samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2").astype(np.float64)
        if not samples.size:
            return False
        start = end_time - samples.size / self._rate
        loud_any = False
        for i in range(0, samples.size, self._frame):
            frame = samples[i : i + self._frame]
            level = float(np.sqrt(np.mean(frame**2)))
            self._levels.append(level)
            floor = min(self._levels)
            onset = level > floor * RATIO + MARGIN
            held = self._voiced and level > floor * RELEASE_RATIO + RELEASE_MARGIN
            self._voiced = onset or held
            if self._voiced:
                loud_any = True
                self.last_loud = start + (i + frame.size) / self._rate
        return loud_any
