"""Quiet speech brought up to the level the speech model expects: automatic gain.

A laptop's microphone across a room, or a headset turned down, delivers speech 20 to
30 dB quieter than the model was trained on. The model does not normalise loudness
away: on the development set played 30 dB quieter, intent accuracy fell from 91.9 % to
84.2 % and crisis recall from 100 % to 85.4 % (with this gain: 91.3 % and 97.9 %). The
loudness gate that ends an utterance (:mod:`assistant.voice_activity`) also counts
anything under about -47 dBFS as quiet.

The gain follows the loudness of *speech* — frames well above the room's noise floor
— never of the silence between, so a quiet room's hiss is not turned up into something
that sounds like words; speech keeps the signal-to-noise ratio it arrived with. The
gain only ever amplifies, is capped, rises gradually and falls at once (nothing is
driven into clipping by it). It runs causally with no delay. Too-loud input is only
counted (:attr:`AutoGain.clipped`): a clipped waveform cannot be repaired.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FRAME = 320
"""Samples per loudness frame (20 ms at 16 kHz)."""
WINDOW = 5
"""Frames (100 ms) of speech in a row before their loudness counts: a click is not speech."""
TARGET_DB = -18.0
"""Loudness (dBFS, 100 ms) the loudest stretches of speech are brought up to; the
voices Steady is measured with reach -10 to -21 dBFS."""
MAX_GAIN_DB = 30.0
"""Never amplify more than this."""
LIMIT_DB = -12.0
"""No 20 ms frame is amplified beyond this loudness (dBFS)..."""
PEAK_DB = -1.0
"""...nor any of its samples beyond this: amplifying never clips a whole frame."""
FLOOR_FRAMES = 250
"""Frames (5 s) over which the quietest loudness is the room's noise floor."""
ABOVE_FLOOR_DB = 10.0
"""A frame this much louder than the floor may be speech..."""
MIN_SPEECH_DB = -72.0
"""...and at least this loud, so digital silence does not make every click speech."""
DECAY_DB_PER_S = 3.0
"""How fast the speech level estimate sinks while speech goes on quieter (dB a second
of speech): a person who steps back is followed within seconds."""
RISE_DB_PER_FRAME = 3.0
"""How fast the applied gain may rise (150 dB a second, full gain within 0.2 s)."""
CLIP_LEVEL = 32000
"""Samples at least this large (of 32767) count as clipped."""
QUIET_DB = -54.0
"""Speech whose loudest stretches stay below this (dBFS) is too quiet to hear well even
amplified: the gain cannot bring it within 6 dB of :data:`TARGET_DB`."""
CLIPPED_MIN = 50
"""Clipped samples in one utterance that mark the microphone as overdriven (a tap on it
clips a few; speech into a microphone turned up too far clips hundreds)."""
QUIET = "quiet"
LOUD = "loud"
"""What :meth:`AutoGain.heard_since` says of an utterance that came in badly."""


class AutoGain:
    """Feed 16-bit mono PCM in pieces of any size; get it back, at once, amplified.

    Loudness is measured a whole frame at a time, and a frame that arrives whole is
    measured before it is amplified (so a sudden loud frame is not amplified first).
    """

    def __init__(self, rate: int = 16000) -> None:
        self.rate = rate
        self._frame = max(1, round(FRAME * rate / 16000))
        self._frame_seconds = self._frame / rate
        self._energy = 0.0  # of the frame being filled
        self._peak = 0.0
        self._filled = 0
        self._powers: deque[float] = deque(maxlen=WINDOW)
        self._run = 0  # frames of speech in a row
        self._measured = 0  # frames at which the speech level was measured
        self._levels: deque[float] = deque(maxlen=FLOOR_FRAMES)
        self.speech_db: float | None = None
        """The running estimate of how loud speech arrives (dBFS), once any was heard."""
        self.gain_db = 0.0
        """The gain applied now."""
        self.samples = 0
        self.clipped = 0
        """Input samples seen, and how many of them were at full scale."""
        self.hold = False
        """While true, nothing heard changes the speech level estimate or the noise
        floor: Steady's own voice (or a cue tone) is reaching the microphone, and a
        quiet speaker must not get less gain because a loudspeaker was loud. The gain
        still falls at once for a loud frame, so nothing clips."""

    def process(self, pcm: bytes) -> bytes:
        samples = _samples(pcm)
        if not samples.size:
            return b""
        self.samples += samples.size
        self.clipped += int(np.count_nonzero(np.abs(samples) >= CLIP_LEVEL))
        out = np.empty_like(samples)
        amplified = False
        pos = 0
        while pos < samples.size:
            part = samples[pos : pos + self._frame - self._filled]
            self._energy += float(np.dot(part, part))
            self._peak = max(self._peak, float(np.abs(part).max()))
            self._filled += part.size
            if self._filled == self._frame:
                self._update(self._energy / self._frame, self._peak)
                self._energy, self._peak, self._filled = 0.0, 0.0, 0
            out[pos : pos + part.size] = part * _linear(self.gain_db)
            amplified = amplified or self.gain_db > 0.0
            pos += part.size
        if not amplified:
            return pcm[: len(pcm) & ~1]
        return _pcm(out)

    def mark(self) -> tuple[int, int]:
        """Where the input stands now, for :meth:`heard_since`."""
        return self.samples, self.clipped

    def heard_since(self, mark: tuple[int, int]) -> str | None:
        """:data:`LOUD` if the input clipped since ``mark``; :data:`QUIET` if speech is
        arriving too quietly to be heard well even amplified; None if neither."""
        if self.clipped - mark[1] >= CLIPPED_MIN:
            return LOUD
        if self.speech_db is not None and self.speech_db < QUIET_DB:
            return QUIET
        return None

    def calibrate(self, pcm: bytes) -> None:
        """Take the speech level of a whole recording as known before it is fed: the gain
        starts where a live stream's would be after hearing the person for a while."""
        probe = AutoGain(self.rate)
        probe.process(pcm)
        if not probe.knows_speech:
            return
        self.speech_db = probe.speech_db
        self._measured = probe._measured
        self.gain_db = probe.wanted_db

    def _update(self, power: float, peak: float) -> None:
        frame_db = _db(power)
        if self.hold:
            self._run = 0  # a run of speech starts afresh once the loudspeaker is quiet
        else:
            self._learn(frame_db, power)
        # Any loud frame (speech that suddenly got louder, a knock) pulls the gain down
        # at once, before it is amplified; the speech level estimate follows later.
        ceiling = max(0.0, min(LIMIT_DB - frame_db, PEAK_DB - _db(peak * peak)))
        if not self.knows_speech:
            # The first stretch of speech may be its quieter start: no gain yet.
            self.gain_db = min(self.gain_db, ceiling)
            return
        self.gain_db = min(self.wanted_db, ceiling, self.gain_db + RISE_DB_PER_FRAME)

    def _learn(self, frame_db: float, power: float) -> None:
        """Follow the room's noise floor and the loudness of speech over it."""
        self._powers.append(power)
        self._levels.append(frame_db)
        floor = min(self._levels)
        speech = frame_db >= MIN_SPEECH_DB and frame_db >= floor + ABOVE_FLOOR_DB
        self._run = self._run + 1 if speech else 0
        if self._run >= WINDOW:
            # 100 ms of speech in a row (a click or a knock is shorter): its loudness
            # counts, measured over the whole window so one peak does not decide.
            level = _db(sum(self._powers) / len(self._powers))
            self._measured += 1
            if self.speech_db is None:
                self.speech_db = level
            else:
                sunk = self.speech_db - DECAY_DB_PER_S * self._frame_seconds
                self.speech_db = max(level, sunk)

    @property
    def knows_speech(self) -> bool:
        """Whether enough speech has been heard to know its level (and to amplify)."""
        return self.speech_db is not None and self._measured >= WINDOW

    @property
    def wanted_db(self) -> float:
        """The gain the speech level heard so far calls for (0 until it is known)."""
        if self.speech_db is None or not self.knows_speech:
            return 0.0
        return gain_for(self.speech_db)

    @property
    def clipped_share(self) -> float:
        """The share of input samples at full scale so far."""
        return self.clipped / self.samples if self.samples else 0.0


def gain_for(speech_db: float) -> float:
    """The gain (dB) that brings speech whose loudest stretches are ``speech_db`` to
    :data:`TARGET_DB`: never negative, never above :data:`MAX_GAIN_DB`."""
    return min(MAX_GAIN_DB, max(0.0, TARGET_DB - speech_db))


def _samples(pcm: bytes) -> npt.NDArray[np.float64]:
    """16-bit PCM as samples (a trailing odd byte is dropped)."""
    return np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2").astype(np.float64)


def _pcm(samples: npt.NDArray[np.float64]) -> bytes:
    """Samples back to 16-bit PCM, rounded and held within full scale."""
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def _db(power: float) -> float:
    return 10.0 * math.log10(power / (32768.0 * 32768.0)) if power > 0 else -200.0


def _linear(db: float) -> float:
    return float(10.0 ** (db / 20.0))


SILENT_PEAK = 2
"""Samples no larger than this (of 32767) are digital silence: a muted microphone."""
SILENT_SECONDS = 15.0
"""Seconds of nothing but digital silence, from the start, that mean no sound is coming."""


def _digital_silence(samples: npt.NDArray[np.generic]) -> bool:
    """Whether every sample is within :data:`SILENT_PEAK` of zero (true of no samples)."""
    return not samples.size or int(np.abs(samples.astype(np.int32)).max()) <= SILENT_PEAK


class SilenceWatch:
    """Notices a microphone that delivers nothing at all (muted, or the wrong device).

    A working microphone always carries some noise; a muted one gives zeros. Only the
    start of a stream is watched: once any sound arrives the watch ends.
    """

    def __init__(self, rate: int = 16000, seconds: float = SILENT_SECONDS) -> None:
        self._needed = round(rate * seconds)
        self._silent = 0
        self.done = False

    def feed(self, pcm: bytes) -> bool:
        """True once, when the stream has been silent from its start for long enough."""
        if self.done:
            return False
        samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<i2")
        if not _digital_silence(samples):
            self.done = True
            return False
        self._silent += samples.size
        if self._silent >= self._needed:
            self.done = True
            return True
        return False


GOOD_MARGIN_DB = 15.0
"""Speech less than this far above the room's background is hard to hear in it."""


@dataclass(frozen=True)
class LevelReport:
    """How a microphone delivered a few seconds of someone speaking (``steady mic-check``)."""

    silent: bool
    """Nothing but digital silence: muted, or not the input in use."""
    speech_db: float | None
    """The loudest stretches of speech (dBFS, 100 ms), or None if no speech stood out."""
    background_db: float
    """The quietest moments (dBFS, 100 ms): the room and the microphone's own noise."""
    clipped: int
    """Samples at full scale."""

    @property
    def gain_db(self) -> float:
        """What the automatic gain would add to this voice."""
        return 0.0 if self.speech_db is None else gain_for(self.speech_db)

    @property
    def verdict(self) -> str:
        """``silent``, ``no_speech``, ``loud`` (clipped), ``quiet``, ``noisy`` or ``good``."""
        if self.silent:
            return "silent"
        if self.clipped >= CLIPPED_MIN:
            return LOUD
        if self.speech_db is None:
            return "no_speech"
        if self.speech_db < QUIET_DB:
            return QUIET
        if self.speech_db - self.background_db < GOOD_MARGIN_DB:
            return "noisy"
        return "good"


def assess(pcm: bytes, rate: int = 16000) -> LevelReport:
    """Measure a recording of someone speaking the way :class:`AutoGain` hears it."""
    samples = _samples(pcm)
    silent = _digital_silence(samples)
    probe = AutoGain(rate)
    probe.process(pcm)
    window = max(1, rate // 10)
    levels = [
        _db(float(np.mean(samples[i : i + window] ** 2)))
        for i in range(0, max(1, samples.size - window + 1), window)
    ]
    return LevelReport(
        silent=silent,
        speech_db=probe.speech_db if probe.knows_speech else None,
        background_db=min(levels) if levels else -200.0,
        clipped=probe.clipped,
    )


REHEAR_DB = 6.0
"""When the gain the speech level calls for rose this much during an utterance, the
utterance is heard again at the settled gain (see :class:`Retake`)."""
LEAD_IN_SECONDS = 0.5
"""Audio from before an utterance began that a retake starts with."""
RETAKE_MAX_SECONDS = 36.0
"""The longest utterance kept for a retake (longer ones lose their start)."""


class Retake:
    """The utterance being heard, as it arrived, and the gain it began under.

    A live stream knows nothing of the speaker's level until they speak: the first
    words of a quiet speaker reach the recognizer before the gain has risen to them
    (on the development set 30 dB quieter, 85.5 % of requests were understood that way
    against 91.9 % when the level was known from the start). When the gain the speech
    calls for has risen by :data:`REHEAR_DB` or more since the utterance began, its raw
    audio, with half a second before it, is amplified once more at the settled gain.
    This happens once a session for a quiet speaker, and again only if they move.
    """

    def __init__(self, gain: AutoGain) -> None:
        self.gain = gain
        self._rate = gain.rate
        self._audio = bytearray()
        self._start = 0.0  # stream time (s) of the first kept sample
        self._began_at = gain.wanted_db

    def feed(self, pcm: bytes) -> None:
        """Raw audio, before the gain, in stream order."""
        self._audio.extend(pcm[: len(pcm) & ~1])
        limit = 2 * round(RETAKE_MAX_SECONDS * self._rate)
        if len(self._audio) > limit:
            self._drop(len(self._audio) - limit)

    def restart(self) -> None:
        """A new utterance begins: keep only the lead-in, and note the gain now."""
        keep = 2 * round(LEAD_IN_SECONDS * self._rate)
        if len(self._audio) > keep:
            self._drop(len(self._audio) - keep)
        self._began_at = self.gain.wanted_db

    def audio(self) -> tuple[bytes, float] | None:
        """The utterance amplified at the settled gain, and its start in stream time, if
        the gain rose enough while it was heard to be worth hearing it again."""
        settled = self.gain.wanted_db
        if settled - self._began_at < REHEAR_DB or not self._audio:
            return None
        return amplified(bytes(self._audio), settled), self._start

    def _drop(self, n: int) -> None:
        n &= ~1
        del self._audio[:n]
        self._start += (n // 2) / self._rate


def amplified(pcm: bytes, gain_db: float) -> bytes:
    """``pcm`` at a fixed gain, lowered if need be so no sample passes :data:`PEAK_DB`."""
    samples = _samples(pcm)
    if not samples.size:
        return b""
    peak = float(np.abs(samples).max())
    if peak > 0:
        gain_db = min(gain_db, PEAK_DB - _db(peak * peak))
    if gain_db <= 0.0:
        return pcm[: len(pcm) & ~1]
    return _pcm(samples * _linear(gain_db))
