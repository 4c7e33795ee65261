"""Time for pacing: the real monotonic clock, and a virtual one for rendering to files.

Exercises schedule every cue against an absolute time on a :class:`Clock`, so a slow
speech engine or a late wake-up delays one cue at most and never the ones after it.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod


class Clock(ABC):
    virtual = False
    """True when waiting takes no real time."""

    @abstractmethod
    def now(self) -> float:
        """Seconds on this clock."""

    @abstractmethod
    def wait_until(self, when: float, interrupt: threading.Event | None = None) -> bool:
        """Sleep until ``when``; False if ``interrupt`` was set first."""

    def advance(self, seconds: float) -> None:  # noqa: B027 - only a virtual clock moves
        """Note that ``seconds`` of audio were produced (only a virtual clock moves)."""


class MonotonicClock(Clock):
    """Wall time from :func:`time.monotonic`."""

    def now(self) -> float:
        return time.monotonic()

    def wait_until(self, when: float, interrupt: threading.Event | None = None) -> bool:
        while True:
            remaining = when - time.monotonic()
            if remaining <= 0:
                return not (interrupt is not None and interrupt.is_set())
            if interrupt is None:
                time.sleep(min(remaining, 0.5))
            elif interrupt.wait(min(remaining, 0.5)):
                return False


class VirtualClock(Clock):
    """A clock that jumps: waiting moves it forward at once (for ``--out`` renders)."""

    virtual = True

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def wait_until(self, when: float, interrupt: threading.Event | None = None) -> bool:
        if interrupt is not None and interrupt.is_set():
            return False
        with self._lock:
            self._now = max(self._now, when)
        return True

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
