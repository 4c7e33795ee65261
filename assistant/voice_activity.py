"""Is someone talking? A loudness gate against a running estimate of the room's noise.

Used only to end an utterance sooner than the recognizer would: when the gate says
"quiet" but the room is noisy or the estimate unsure, the recognizer's own (slower)
end-of-speech rules still apply, so a wrong "loud" costs latency, never words.
"""

from __future__ import annotations

from collections import deque

import numpy as np

FLOOR_WINDOW = 50
"""Pieces (of ~100 ms) over which the quietest level is the noise floor."""
RATIO = 2.5
"""A piece this many times louder than the floor counts as voice..."""
MARGIN = 150.0
"""...plus this much (int16 RMS), so digital silence does not make every click voice."""


class VoiceActivity:
    """Tracks the stream time of the last piece of audio loud enough to be speech."""

    def __init__(self) -> None:
        self._levels: deque[float] = deque(maxlen=FLOOR_WINDOW)
        self.last_loud = float("-inf")
        """Stream time (s) at the end of the last loud piece."""

    def update(self, pcm: bytes, end_time: float) -> bool:
        """Feed one piece of 16-bit mono audio ending at ``end_time``; True if loud."""
        samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2")
        if not samples.size:
            return False
        level = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
        self._levels.append(level)
        loud = level > min(self._levels) * RATIO + MARGIN
        if loud:
            self.last_loud = end_time
        return loud
