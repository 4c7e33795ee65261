"""Streaming recognition through the real model: where utterances begin and end.

Speech comes from espeak-ng, fed in 100 ms blocks (decoded in 50 ms pieces, as from a
microphone).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.audio_format import Audio, convert, load_wav
from assistant.matcher import IntentMatcher
from assistant.stt import (
    Final,
    Transcript,
    VoskSpeechToText,
    _Beside,
    _VoskRecognition,
    join_utterances,
)
from assistant.understand import build_stt, heard_crisis, understand_audio
from assistant.voice_activity import VoiceActivity
from tests.conftest import espeak

pytestmark = pytest.mark.engine


def speech(text: str, tmp_path: Path) -> bytes:
    name = "".join(c if c.isalnum() else "_" for c in text)
    return convert(load_wav(espeak(text, tmp_path / f"{name}.wav"))).pcm


def recording(
    tmp_path: Path, *parts: str | float, say: Callable[[str, Path], bytes] = speech
) -> bytes:
    """Audio of ``parts`` in order: text spoken by ``say``, numbers as seconds of silence."""
    return b"".join(
        Audio.silence(p).pcm if isinstance(p, float) else say(p, tmp_path) for p in parts
    )


def stream(stt: VoskSpeechToText, pcm: bytes, block: int = 3200) -> list[Transcript]:
    """Every utterance of ``pcm``, fed in ``block``-byte blocks (100 ms by default)."""
    rec = stt.start()
    finals: list[Transcript] = []
    for i in range(0, len(pcm), block):
        finals += [e.transcript for e in rec.accept(pcm[i : i + block]) if isinstance(e, Final)]
    last = rec.flush()
    return finals + ([last] if last is not None else [])


def test_a_pause_inside_a_sentence_does_not_split_it(stt: VoskSpeechToText, tmp_path: Path) -> None:
    # "i feel ... anxious": people stop to find the word.
    pcm = recording(tmp_path, 0.5, "I feel", 0.9, "anxious", 2.0)
    finals = stream(stt, pcm)
    assert [t.text for t in finals] == ["i feel anxious"]


def test_a_finished_sentence_is_not_held_back(stt: VoskSpeechToText, tmp_path: Path) -> None:
    pcm = Audio.silence(0.5).pcm + speech("I feel anxious", tmp_path)
    rec = stt.start()
    spoken_end = len(pcm) / 32000
    pcm += Audio.silence(3.0).pcm
    for i in range(0, len(pcm), 3200):
        if any(isinstance(e, Final) for e in rec.accept(pcm[i : i + 3200])):
            ended = (i + 3200) / 32000
            break
    else:
        pytest.fail("the utterance never ended")
    # Ends on the trailing silence, well before the 1.2 s wait an unfinished one gets.
    assert ended - spoken_end < 1.0


@pytest.mark.parametrize("said", ["Yes", "Pause", "Stop"])
def test_a_command_is_not_kept_waiting_for_its_partial_text(
    stt: VoskSpeechToText, tmp_path: Path, said: str
) -> None:
    """Vosk's partial text runs behind the audio: a short "yes" or "pause" showed in it
    only a quarter of a second or more after it was said, and the utterance ended about
    half a second after the word. The recognizer's final reading has every word at once,
    so it is taken as soon as the speech goes quiet."""
    said_pcm = _to_last_sound(Audio.silence(0.5).pcm + speech(said, tmp_path))
    spoken_end = len(said_pcm) / 32000
    pcm = said_pcm + Audio.silence(2.0).pcm
    rec = stt.start()
    for i in range(0, len(pcm), 3200):
        finals = [e for e in rec.accept(pcm[i : i + 3200]) if isinstance(e, Final)]
        if finals:
            ended = (i + 3200) / 32000
            break
    else:
        pytest.fail("the utterance never ended")
    assert finals[0].transcript.text == said.lower()
    assert ended - spoken_end < 0.35  # 0.2 s of quiet, then the end of its 0.1 s block


def test_an_early_reading_leaves_the_sentence_and_its_word_times_whole(
    stt: VoskSpeechToText, tmp_path: Path
) -> None:
    """A pause after "i feel" is read early (it might have been "i feel anxious"); it
    was not a sentence yet, so the recognizer carries on, and the words keep the times
    at which they were said."""
    pcm = recording(tmp_path, 1.0, "I feel", 0.9, "anxious", 2.0)
    [heard] = stream(stt, pcm)
    assert heard.text == "i feel anxious"
    starts = [w.start for w in heard.words]
    assert starts == sorted(starts)
    assert 0.9 < starts[0] < 1.3
    anxious_at = 1.0 + len(speech("I feel", tmp_path)) / 32000 + 0.9
    assert abs(starts[-1] - anxious_at) < 0.4


def test_speech_after_a_long_silence_is_heard_whole(stt: VoskSpeechToText, tmp_path: Path) -> None:
    # Vosk on its own closes an empty "utterance" after 5 s of silence; landing on the
    # first word, that cut "i | feel anxious" in two.
    for lead in (4.6, 4.9, 5.2, 7.0):
        pcm = Audio.silence(lead).pcm + speech("I feel anxious", tmp_path)
        finals = stream(stt, pcm + Audio.silence(1.5).pcm)
        assert [t.text for t in finals] == ["i feel anxious"], lead


def test_two_requests_with_a_real_gap_stay_two(stt: VoskSpeechToText, tmp_path: Path) -> None:
    pcm = recording(tmp_path, 0.5, "stop please", 1.5, "start box breathing", 1.5)
    assert [t.text for t in stream(stt, pcm)] == ["stop please", "start box breathing"]


def test_could_end_knows_which_partials_may_still_become_a_quick_sentence(
    stt: VoskSpeechToText,
) -> None:
    # A partial lags the audio: "i'm really" may already be "i'm really angry" (settled),
    # and nothing shown yet may be a whole "stop".
    assert stt.could_end("")
    assert stt.could_end("i'm really")
    assert stt.could_end("stop")
    assert stt.could_end("i feel anxious")
    # Nothing that starts like this ends an utterance at once: no early reading.
    assert not stt.could_end("purple elephants")
    assert not stt.could_end("i can't stop worrying about my")


def test_unfinished_knows_the_grammar(stt: VoskSpeechToText) -> None:
    assert stt.unfinished("i feel")
    assert stt.unfinished("can you")
    assert not stt.unfinished("i feel anxious")
    assert not stt.unfinished("stop")
    assert not stt.unfinished("")
    assert not stt.unfinished("purple elephants")


def test_fallback_asks_the_open_pass_only_when_the_grammar_is_unsure(
    stt: VoskSpeechToText, matcher: IntentMatcher, model_path: Path, tmp_path: Path
) -> None:
    assert not stt.unsure("i feel anxious", heard_unknown=False, confidence=0.95)
    assert stt.unsure("i feel anxious", heard_unknown=False, confidence=0.5)
    # Forced into Steady's sentences, other speech still comes back confident.
    assert stt.unsure("he was not and yelled", heard_unknown=False, confidence=1.0)
    lean = build_stt(matcher, model_path, open_pass="fallback")
    (known,) = stream(lean, speech("i feel anxious", tmp_path))
    assert known.text == "i feel anxious" and known.open_text is None
    novel = stream(lean, speech("the weather in paris was lovely last spring", tmp_path))
    assert novel and all(t.open_text for t in novel)


def tone(seconds: float, amplitude: float) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return (np.sin(2 * np.pi * 220 * t) * amplitude).astype("<i2").tobytes()


def test_voice_activity_follows_the_noise_floor() -> None:
    rng = np.random.default_rng(1)
    vad = VoiceActivity()
    time = 0.0
    for _ in range(30):  # 3 s of steady room noise
        time += 0.1
        noise = (rng.normal(0, 400, 1600)).astype("<i2").tobytes()
        assert not vad.update(noise, time) or time < 0.3
    time += 0.1
    assert vad.update(tone(0.1, 6000), time)
    assert vad.last_loud == pytest.approx(time)
    assert not vad.update(Audio.silence(0.1).pcm, time + 0.1)
    assert not vad.update(b"", time + 0.2)


def test_word_times_are_stream_times(stt: VoskSpeechToText, tmp_path: Path) -> None:
    one = speech("stop please", tmp_path)
    pcm = Audio.silence(0.5).pcm + one + Audio.silence(1.5).pcm
    pcm += speech("start box breathing", tmp_path) + Audio.silence(1.5).pcm
    first, second = stream(stt, pcm)
    begins = 0.5 + len(one) / 32000 + 1.5
    assert second.words[0].start == pytest.approx(begins, abs=0.3)
    assert first.words[-1].end < second.words[0].start <= second.end_time


def test_a_whole_clip_keeps_the_grammar_runners_up(
    stt: VoskSpeechToText, matcher: IntentMatcher, tmp_path: Path
) -> None:
    # The crisis check reads them: `recognize` and `run` must not drop them.
    audio = load_wav(espeak("my chest is tight and my hands are shaking", tmp_path / "a.wav"))
    transcript, _ = understand_audio(stt, matcher, audio)
    assert transcript.alternatives


def test_joined_utterances_keep_the_runners_up_of_both_halves() -> None:
    first = Transcript("i feel", open_text="i feel", alternatives=("i fell",))
    second = Transcript("anxious", open_text="anxious", alternatives=("and shes",))
    whole = join_utterances(first, second)
    assert whole is not None
    assert whole.text == "i feel anxious"
    assert whole.alternatives == ("i fell anxious", "i feel and shes")


def _louder(pcm: bytes, factor: float) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * factor
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def test_speech_from_across_the_room_is_heard(stt: VoskSpeechToText, tmp_path: Path) -> None:
    """30 dB quieter than espeak renders it: a microphone far from the speaker."""
    pcm = recording(tmp_path, 0.5, "I feel anxious", 1.5, "I can't sleep", 1.5)
    finals = stream(stt, _louder(pcm, 10 ** (-30 / 20)))
    assert [t.text for t in finals] == ["i feel anxious", "i can't sleep"]
    assert [t.level for t in finals] == [None, None]


def test_a_microphone_too_quiet_or_clipping_is_reported(
    stt: VoskSpeechToText, tmp_path: Path
) -> None:
    pcm = Audio.silence(0.5).pcm + speech("I feel anxious", tmp_path) + Audio.silence(1.5).pcm
    whisper = stream(stt, _louder(pcm, 10 ** (-42 / 20)))
    assert whisper and whisper[-1].level == "quiet"
    shouted = stream(stt, _louder(pcm, 8.0))
    assert shouted and shouted[-1].level == "loud"
    assert stream(stt, pcm)[-1].level is None


def test_a_clip_that_begins_with_its_first_word_keeps_it(
    stt: VoskSpeechToText, matcher: IntentMatcher, tmp_path: Path
) -> None:
    """espeak-ng starts speaking at the first sample; so do recordings cut tight."""
    clip = load_wav(espeak("I feel anxious", tmp_path / "tight.wav"))
    transcript, match = understand_audio(stt, matcher, clip)
    assert transcript.text == "i feel anxious"
    assert match.intent == "anxious"


def test_a_quiet_speaker_is_still_heard_after_steadys_loud_reply(
    stt: VoskSpeechToText, tmp_path: Path
) -> None:
    """Across the room from the laptop: Steady's reply reaches the microphone far louder
    than the person. The gain does not learn from it, so a quiet "stop" after it is heard."""
    far = 10 ** (-30 / 20)
    before = _louder(Audio.silence(0.5).pcm + speech("I feel anxious", tmp_path), far)
    reply = speech("Let's breathe together. Breathe in slowly through your nose.", tmp_path)
    after = _louder(Audio.silence(1.5).pcm + speech("stop", tmp_path), far)
    rec = stt.start()
    finals: list[Transcript] = []
    for pcm, steady_sounding in (
        (before + Audio.silence(1.5).pcm, False),
        (reply + Audio.silence(1.0).pcm, True),
        (after + Audio.silence(1.5).pcm, False),
    ):
        rec.own_voice(steady_sounding)
        for i in range(0, len(pcm), 3200):
            finals += [e.transcript for e in rec.accept(pcm[i : i + 3200]) if isinstance(e, Final)]
    last = rec.flush()
    finals += [last] if last is not None else []
    assert finals[0].text == "i feel anxious"
    # Had the gain learned from the reply it would add 2 dB here instead of 28, and
    # this "stop" went unheard (measured while building this).
    assert finals[-1].text == "stop"
    assert finals[-1].level is None


@pytest.mark.parametrize("said", ["Sounds good", "That's all for now"])
def test_a_quiet_speakers_first_words_are_heard_live(
    stt: VoskSpeechToText, tmp_path: Path, said: str
) -> None:
    """A live stream knows nothing of the speaker's level before they speak; the first
    words of someone across the room came before the gain had risen to them, and were
    lost ("sounds good" was heard as "dog", "that's all for now" as "all for now"). The
    utterance is now heard again once the gain has settled."""
    pcm = Audio.silence(2.5).pcm + speech(said, tmp_path) + Audio.silence(1.5).pcm
    finals = stream(stt, _louder(pcm, 10 ** (-30 / 20)))
    assert [t.text for t in finals] == [said.lower()]


def test_a_whole_recording_is_not_heard_twice(stt: VoskSpeechToText, tmp_path: Path) -> None:
    """A recording's level is known before its first word (calibrated from all of
    it), so nothing in it is worth hearing again, however quiet it is."""
    pcm = _louder(Audio.silence(0.5).pcm + speech("Sounds good", tmp_path), 10 ** (-30 / 20))
    rec = stt.start()
    assert isinstance(rec, _VoskRecognition) and rec.retake is not None
    rec.calibrate(pcm)
    rec.accept(pcm)
    assert rec.retake.audio() is None
    live = stt.start()
    assert isinstance(live, _VoskRecognition) and live.retake is not None
    live.accept(_to_last_sound(pcm))  # up to the last word: the utterance is still open
    assert live.retake.audio() is not None  # the same speech, live from its start


def _to_last_sound(pcm: bytes) -> bytes:
    samples = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
    loud = np.nonzero(samples > samples.max() // 20)[0]
    return pcm[: 2 * (int(loud[-1]) + 1)]


class _GatedRecognizer:
    """A stand-in Kaldi recognizer that decodes nothing until its gate opens."""

    def __init__(self) -> None:
        self.heard: list[bytes] = []
        self.gate = threading.Event()

    def AcceptWaveform(self, pcm: bytes) -> bool:
        self.gate.wait(timeout=10)
        self.heard.append(pcm)
        return False

    def PartialResult(self) -> str:
        return json.dumps({"partial": f"{len(self.heard)} pieces"})

    def FinalResult(self) -> str:
        return json.dumps({"text": b"".join(self.heard).decode()})

    def Reset(self) -> None:
        self.heard.clear()


def test_the_open_pass_decodes_on_its_own_thread_in_order() -> None:
    slow = _GatedRecognizer()
    with ThreadPoolExecutor(max_workers=1) as worker:
        beside = _Beside(slow, worker)
        for piece in (b"a", b"b", b"c", b"d", b"e"):
            beside.AcceptWaveform(piece)
        assert slow.heard == []  # queued: this thread did not wait for the decoding
        slow.gate.set()
        # Reading waits for every queued piece, decoded in the order it came.
        assert json.loads(beside.PartialResult()) == {"partial": "5 pieces"}
        beside.AcceptWaveform(b"f")
        assert json.loads(beside.FinalResult()) == {"text": "abcdef"}
        beside.AcceptWaveform(b"g")
        beside.Reset()
        assert slow.heard == []


def test_the_engine_decodes_the_open_pass_beside_the_grammar(stt: VoskSpeechToText) -> None:
    rec = stt.start()
    assert isinstance(rec, _VoskRecognition) and isinstance(rec.open, _Beside)
    assert rec.open.worker is stt.worker()  # one thread for every stream


def spoken(text: str, tmp_path: Path) -> bytes:
    """``speech`` without espeak-ng's own trailing silence, so pauses are as written."""
    pcm = speech(text, tmp_path)
    x = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
    loud = np.nonzero(x > x.max() // 20)[0]
    return pcm[: (int(loud[-1]) + 1) * 2]


def ended_after(stt: VoskSpeechToText, pcm: bytes) -> float:
    """Seconds of stream time between the end of ``pcm`` and its utterance's end."""
    rec = stt.start()
    padded = pcm + Audio.silence(2.0).pcm
    for i in range(0, len(padded), 3200):
        if any(isinstance(e, Final) for e in rec.accept(padded[i : i + 3200])):
            return (i + 3200 - len(pcm)) / 32000
    pytest.fail("the utterance never ended")


def test_a_settled_sentence_is_taken_after_a_short_pause(
    stt: VoskSpeechToText, tmp_path: Path
) -> None:
    # Every longer sentence of Steady's that begins with "i feel anxious" means the same.
    pcm = Audio.silence(0.5).pcm + spoken("I feel anxious", tmp_path)
    settled = stt.quick_phrases
    assert "i feel anxious" in settled
    quick = ended_after(stt, pcm)
    try:
        stt.quick_phrases = frozenset()
        full = ended_after(stt, pcm)
    finally:
        stt.quick_phrases = settled
    assert quick <= full - 0.15, (quick, full)


def test_a_duration_after_a_pause_is_not_cut_off(stt: VoskSpeechToText, tmp_path: Path) -> None:
    pcm = recording(tmp_path, 0.5, "box breathing", 0.3, "for five minutes", 2.0, say=spoken)
    finals = stream(stt, pcm)
    assert len(finals) == 1 and finals[0].text.endswith("for five minutes")


@pytest.mark.parametrize(("gap", "together"), [(1.0, True), (4.0, False)])
def test_a_sentence_split_by_a_pause_reaches_the_crisis_check_whole(
    stt: VoskSpeechToText, matcher: IntentMatcher, tmp_path: Path, gap: float, together: bool
) -> None:
    pcm = recording(tmp_path, 0.5, "I want to sleep", gap, "and never wake up", 2.0, say=spoken)
    finals = stream(stt, pcm)
    assert len(finals) == 2, [t.text for t in finals]
    assert bool(finals[1].follows) is together
    assert (heard_crisis(matcher, finals[1]) is not None) is together


def test_the_sources_block_size_does_not_change_what_is_heard(
    stt: VoskSpeechToText, tmp_path: Path
) -> None:
    """A microphone hands over 50 ms blocks, a recording 100 ms or all of it at once:
    the recognizer decodes the same pieces either way, so an utterance ends at the same
    moment and the benchmarks, which stream recordings, time what a microphone gets."""
    pcm = recording(tmp_path, 4.6, "Stop", 1.0, "I feel anxious", 1.5, say=spoken)

    def heard(block: int) -> list[tuple[str, float]]:
        return [(t.text, round(t.end_time, 3)) for t in stream(stt, pcm, block)]

    mic = heard(1600)
    assert [text for text, _ in mic] == ["stop", "i feel anxious"]
    assert heard(3200) == mic
    assert heard(len(pcm)) == mic
