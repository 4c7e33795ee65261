"""Tests for assistant.tts: text cleanup, the clip cache, replay, and real espeak-ng rendering."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not add the checkout
    sys.path.insert(0, str(ROOT))

from assistant.audio_format import Audio, AudioFormat, save_wav  # noqa: E402
from assistant.errors import SpeechEngineError  # noqa: E402
from assistant.text import PrivateText  # noqa: E402
from assistant.tts import (  # noqa: E402
    ESPEAK_RATE,
    MAX_RATE_WPM,
    MIN_RATE_WPM,
    PYTTSX3_ENGINE_ID,
    TTS_MISSING_MESSAGE,
    CachedTextToSpeech,
    Pyttsx3TextToSpeech,
    TextToSpeech,
    Voice,
    WavFolderTextToSpeech,
    clean_text,
    clip_key,
    default_tts,
    trim_silence,
)

TEN_WORDS = "Breathe in slowly and let your shoulders drop now, friend."


class CountingTTS(TextToSpeech):
    """Passes calls through to another engine and counts them."""

    def __init__(self, inner: TextToSpeech) -> None:
        super().__init__(inner.default_voice)
        self.inner = inner
        self.calls: list[str] = []
        self._lock = threading.Lock()

    @property
    def engine_id(self) -> str:
        return self.inner.engine_id

    def synthesize(self, text: str, voice: Voice | None = None) -> Audio:
        with self._lock:
            self.calls.append(text)
        return self.inner.synthesize(text, voice)


class ToneTTS(TextToSpeech):
    """A stand-in engine: a tone whose length and pitch depend on the text and voice."""

    @property
    def engine_id(self) -> str:
        return "tone-test"

    def synthesize(self, text: str, voice: Voice | None = None) -> Audio:
        v = voice or self.default_voice
        cleaned = clean_text(text)
        seconds = 0.05 * len(cleaned) * 160 / v.rate_wpm
        t = np.arange(round(seconds * 8000)) / 8000
        return Audio.from_float(0.3 * v.volume * np.sin(2 * np.pi * 300 * t), 8000)


def speech_span(audio: Audio) -> tuple[float, float, float]:
    """(leading silence, speech duration, trailing silence) in seconds."""
    x = audio.samples()[:, 0].astype(np.int32)
    loud = np.flatnonzero(np.abs(x) > 33)
    assert loud.size, "the clip is silent"
    rate = audio.fmt.rate
    return loud[0] / rate, (loud[-1] - loud[0]) / rate, (x.size - 1 - loud[-1]) / rate


@pytest.fixture(scope="module")
def espeak() -> Pyttsx3TextToSpeech:
    try:
        return Pyttsx3TextToSpeech()
    except SpeechEngineError as exc:
        pytest.skip(str(exc))


# --------------------------------------------------------------------------- no engine


def test_voice_clamps_out_of_range_values() -> None:
    assert Voice(rate_wpm=20).rate_wpm == MIN_RATE_WPM
    assert Voice(rate_wpm=1000).rate_wpm == MAX_RATE_WPM
    assert Voice(volume=2.0).volume == 1.0
    assert Voice(volume=-1.0).volume == 0.0
    assert Voice(volume=float("nan")).volume == 1.0
    assert Voice(voice="  ").voice is None
    assert Voice(voice=" en-us ").voice == "en-us"
    assert Voice() == Voice(rate_wpm=160, voice=None, volume=1.0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Let's try **4-7-8** breathing 🙂", "Let's try 4 7 8 breathing"),
        ("Count 5-4-3-2-1.", "Count 5 4 3 2 1."),
        ("Take 3-5 minutes.", "Take 3 to 5 minutes."),
        ("calm/steady\\ok", "calm steady ok"),
        ("# Title\n\n* one\n* two", "Title one two"),
        ("breathe — slowly", "breathe, slowly"),
        ("You did it ✓ → next 🙏🏽", "You did it next"),
        ("soft\u00adly, zero\u200dwidth", "softly, zerowidth"),
        ("See https://example.org/help", "See example.org help"),
        ("well-being, don't", "well-being, don't"),
        ("  \t  ", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected
    assert clean_text(expected) == expected  # idempotent


def test_clip_key_depends_on_cleaned_text_voice_and_engine() -> None:
    v = Voice()
    key = clip_key("Breathe in.", v, "e1")
    assert len(key) == 64
    assert clip_key("  Breathe   in. ", v, "e1") == key
    assert clip_key("Breathe in.", Voice(voice="EN-US"), "e1") == clip_key(
        "Breathe in.", Voice(voice="en-us"), "e1"
    )
    assert clip_key("Breathe out.", v, "e1") != key
    assert clip_key("Breathe in.", Voice(rate_wpm=150), "e1") != key
    assert clip_key("Breathe in.", Voice(voice="en-us"), "e1") != key
    assert clip_key("Breathe in.", Voice(volume=0.5), "e1") != key
    assert clip_key("Breathe in.", v, "e2") != key


def test_trim_silence_keeps_50_ms_at_each_edge() -> None:
    rate = 1000
    x = np.zeros(3000, dtype=np.float64)
    x[1000:2000] = 0.5
    trimmed = trim_silence(Audio.from_float(x, rate))
    assert len(trimmed.samples()) == 50 + 1000 + 50
    assert trim_silence(Audio.silence(1.0, AudioFormat(rate))).duration == 0.0


def test_cache_in_memory_counts_hits_and_evicts_least_recently_used() -> None:
    counting = CountingTTS(ToneTTS())
    cache = CachedTextToSpeech(counting, max_clips=2)
    first = cache.synthesize("one")
    assert cache.synthesize("one").pcm == first.pcm
    cache.synthesize("two")
    cache.synthesize("one")  # "one" becomes the most recent
    cache.synthesize("three")  # evicts "two"
    cache.synthesize("one")
    cache.synthesize("two")
    assert counting.calls == ["one", "two", "three", "two"]
    assert (cache.hits, cache.misses) == (3, 4)


def test_cache_respects_byte_bound() -> None:
    counting = CountingTTS(ToneTTS())
    cache = CachedTextToSpeech(counting, max_bytes=1)
    cache.synthesize("a long enough sentence")
    cache.synthesize("a long enough sentence")
    assert len(counting.calls) == 2  # nothing fits, so nothing is kept


def test_cache_distinguishes_voices() -> None:
    counting = CountingTTS(ToneTTS())
    cache = CachedTextToSpeech(counting)
    slow = cache.synthesize("hello there", Voice(rate_wpm=100))
    fast = cache.synthesize("hello there", Voice(rate_wpm=200))
    assert slow.duration > fast.duration
    assert len(counting.calls) == 2


def test_prerender_renders_only_missing_clips(tmp_path: Path) -> None:
    counting = CountingTTS(ToneTTS())
    cache = CachedTextToSpeech(counting, tmp_path / "cache")
    assert cache.prerender(["in", "hold", "out"]) == 3
    assert cache.prerender(["in", "hold", "out", "rest"]) == 1
    assert counting.calls == ["in", "hold", "out", "rest"]


def test_disk_cache_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    counting = CountingTTS(ToneTTS())
    first = CachedTextToSpeech(counting, folder).synthesize("steady now")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert [f.suffix for f in files] == [".wav"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    again = CachedTextToSpeech(counting, folder).synthesize("steady now")
    assert again == first
    assert counting.calls == ["steady now"]


def test_the_persons_own_words_are_never_kept(tmp_path: Path) -> None:
    """A journal entry read back is spoken, but neither the disk nor the memory cache
    keeps it."""
    folder = tmp_path / "cache"
    counting = CountingTTS(ToneTTS())
    tts = CachedTextToSpeech(counting, folder)
    entry = PrivateText("Here's what you said this morning: i miss my dad")
    assert tts.synthesize(entry).duration > 0
    assert tts.synthesize(entry).duration > 0
    assert list(folder.iterdir()) == []
    assert len(counting.calls) == 2  # rendered afresh each time, from nowhere


def test_broken_disk_clip_is_rendered_again(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    counting = CountingTTS(ToneTTS())
    CachedTextToSpeech(counting, folder).synthesize("steady now")
    (clip,) = folder.iterdir()
    clip.write_bytes(b"not a wav")
    audio = CachedTextToSpeech(counting, folder).synthesize("steady now")
    assert audio.duration > 0
    assert len(counting.calls) == 2
    assert clip.read_bytes()[:4] == b"RIFF"


def test_wav_folder_replays_a_cache_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    tone = ToneTTS()
    rendered = CachedTextToSpeech(tone, folder).synthesize("in through the nose")
    replay = WavFolderTextToSpeech(folder, engine_id=tone.engine_id)
    assert replay.synthesize("in  through the nose") == rendered
    assert replay.clip_path("in through the nose").is_file()


def test_wav_folder_missing_text_names_it(tmp_path: Path) -> None:
    replay = WavFolderTextToSpeech(tmp_path)
    with pytest.raises(SpeechEngineError, match="Breathe with me"):
        replay.synthesize("Breathe with me")


def test_wav_folder_gives_empty_audio_for_empty_text(tmp_path: Path) -> None:
    replay = WavFolderTextToSpeech(tmp_path)
    assert replay.synthesize(" 🙂 ").duration == 0.0
    assert replay.synthesize("").fmt.rate == ESPEAK_RATE


def test_wav_folder_accepts_any_wav_layout(tmp_path: Path) -> None:
    key = clip_key("hi", Voice(), PYTTSX3_ENGINE_ID)
    stereo = Audio(b"\x00\x10\x00\x20" * 100, AudioFormat(16000, 2, 2))
    save_wav(tmp_path / f"{key}.wav", stereo)
    audio = WavFolderTextToSpeech(tmp_path).synthesize("hi")
    assert audio.fmt == AudioFormat(16000, 2, 1)
    assert len(audio.samples()) == 100


def test_missing_espeak_gives_one_actionable_sentence(tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "pyttsx3.py").write_text(
        textwrap.dedent(
            """
            def init(driverName=None, debug=False):
                raise RuntimeError("This means you probably do not have eSpeak installed!")
            """
        )
    )
    script = (
        "from assistant.tts import Voice, default_tts\n"
        "from assistant.errors import SpeechEngineError\n"
        "try:\n"
        "    default_tts(Voice(), None)\n"
        "except SpeechEngineError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == TTS_MISSING_MESSAGE


# --------------------------------------------------------------------------- real espeak-ng


@pytest.mark.engine
def test_renders_speech(espeak: Pyttsx3TextToSpeech) -> None:
    audio = espeak.synthesize("Hello, I am here with you.")
    assert audio.fmt == AudioFormat(ESPEAK_RATE, 2, 1)
    assert audio.duration > 0.5
    assert np.abs(audio.samples()).max() > 3000


@pytest.mark.engine
def test_text_without_words_gives_empty_audio(espeak: Pyttsx3TextToSpeech) -> None:
    assert espeak.synthesize(" 🙂 ** ").duration == 0.0


@pytest.mark.engine
def test_duration_is_plausible_for_160_wpm(espeak: Pyttsx3TextToSpeech) -> None:
    audio = espeak.synthesize(TEN_WORDS, Voice(rate_wpm=160))
    _, speech, _ = speech_span(audio)
    wpm = 10 / speech * 60
    assert 110 <= wpm <= 300, wpm  # espeak-ng measures ~190-215 here
    assert 1.5 <= audio.duration <= 6.0


@pytest.mark.engine
def test_faster_rate_gives_shorter_audio(espeak: Pyttsx3TextToSpeech) -> None:
    slow = espeak.synthesize(TEN_WORDS, Voice(rate_wpm=120))
    fast = espeak.synthesize(TEN_WORDS, Voice(rate_wpm=240))
    assert fast.duration < 0.75 * slow.duration


@pytest.mark.engine
def test_volume_scales_the_level(espeak: Pyttsx3TextToSpeech) -> None:
    loud = np.abs(espeak.synthesize(TEN_WORDS).samples()).max()
    quiet = np.abs(espeak.synthesize(TEN_WORDS, Voice(volume=0.25)).samples()).max()
    assert quiet < 0.5 * loud


@pytest.mark.engine
def test_edge_silence_is_trimmed(espeak: Pyttsx3TextToSpeech) -> None:
    lead, _, trail = speech_span(espeak.synthesize("Okay. Let's begin."))
    assert lead <= 0.06
    assert trail <= 0.06  # espeak itself appends ~0.35 s


@pytest.mark.engine
def test_twenty_sentences_in_a_row(espeak: Pyttsx3TextToSpeech) -> None:
    for i in range(20):
        audio = espeak.synthesize(f"Sentence {i}: breathe in, hold, and breathe out again.")
        assert 1.0 < audio.duration < 8.0


@pytest.mark.engine
def test_threads_keep_their_own_settings(espeak: Pyttsx3TextToSpeech) -> None:
    rates = (100, 250)
    reference = {r: espeak.synthesize(TEN_WORDS, Voice(rate_wpm=r)).duration for r in rates}
    results: list[tuple[int, float]] = []
    failures: list[BaseException] = []

    def work(rate: int) -> None:
        try:
            for _ in range(5):
                results.append((rate, espeak.synthesize(TEN_WORDS, Voice(rate_wpm=rate)).duration))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in rates for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures
    assert len(results) == 20
    for rate, duration in results:
        # espeak's pitch flutter carries over between renders, so lengths vary by a few
        # samples; a wrong rate would be off by a factor of two.
        assert duration == pytest.approx(reference[rate], rel=0.03)


@pytest.mark.engine
def test_alternating_settings_apply_to_their_own_render(espeak: Pyttsx3TextToSpeech) -> None:
    # pyttsx3 queues rate/volume to espeak's worker thread; without waiting for it, a
    # render could come out with the previous render's settings.
    settings = [Voice(rate_wpm=100, volume=1.0), Voice(rate_wpm=250, volume=0.3)]
    reference = [espeak.synthesize(TEN_WORDS, v) for v in settings]
    for i in range(12):
        v = settings[i % 2]
        audio = espeak.synthesize(TEN_WORDS, v)
        ref = reference[i % 2]
        assert audio.duration == pytest.approx(ref.duration, rel=0.03)
        peak = np.abs(audio.samples()).max()
        assert peak == pytest.approx(np.abs(ref.samples()).max(), rel=0.15)


@pytest.mark.engine
def test_engine_recovers_after_a_timeout(espeak: Pyttsx3TextToSpeech) -> None:
    impatient = Pyttsx3TextToSpeech(timeout_s=0.01)
    long_text = " ".join([TEN_WORDS] * 40)
    with pytest.raises(SpeechEngineError, match="did not finish"):
        impatient.synthesize(long_text)
    expected = espeak.synthesize(TEN_WORDS, Voice(rate_wpm=180)).duration
    for _ in range(3):
        again = espeak.synthesize(TEN_WORDS, Voice(rate_wpm=180)).duration
        assert again == pytest.approx(expected, rel=0.03)


@pytest.mark.engine
def test_rendering_prints_nothing(
    espeak: Pyttsx3TextToSpeech, capsys: pytest.CaptureFixture[str]
) -> None:
    espeak.synthesize("Nothing on standard output, please.")
    captured = capsys.readouterr()
    assert "Audio saved" not in captured.out
    assert captured.out == ""


@pytest.mark.engine
def test_voice_names_resolve(espeak: Pyttsx3TextToSpeech) -> None:
    assert espeak.resolve_voice("en-us").endswith("/en-us")
    assert espeak.resolve_voice("english_rp").endswith("/en-gb-x-rp")
    assert espeak.resolve_voice("English (America)").endswith("/en-us")
    assert espeak.resolve_voice("en-us+f3").endswith("/en-us+f3")
    assert espeak.resolve_voice(None).endswith("/en")
    with pytest.raises(SpeechEngineError, match="not installed"):
        espeak.resolve_voice("no-such-voice")
    with pytest.raises(SpeechEngineError, match="not installed"):
        Pyttsx3TextToSpeech(Voice(voice="no-such-voice"))


@pytest.mark.engine
def test_voices_sound_different(espeak: Pyttsx3TextToSpeech) -> None:
    us = espeak.synthesize(TEN_WORDS, Voice(voice="en-us"))
    rp = espeak.synthesize(TEN_WORDS, Voice(voice="en-gb-x-rp"))
    assert us.pcm != rp.pcm


@pytest.mark.engine
def test_cache_hit_returns_same_bytes_without_the_engine(espeak: Pyttsx3TextToSpeech) -> None:
    counting = CountingTTS(espeak)
    cache = CachedTextToSpeech(counting)
    first = cache.synthesize("Let your shoulders soften.")
    second = cache.synthesize("Let your shoulders soften.")
    assert second.pcm == first.pcm
    assert counting.calls == ["Let your shoulders soften."]


@pytest.mark.engine
def test_disk_cache_round_trips_through_wav_folder(
    espeak: Pyttsx3TextToSpeech, tmp_path: Path
) -> None:
    folder = tmp_path / "tts-cache"
    texts = ["Breathe in.", "Hold it gently.", "And breathe out."]
    voice = Voice(rate_wpm=150, voice="en-us")
    counting = CountingTTS(espeak)
    cache = CachedTextToSpeech(counting, folder)
    assert cache.prerender(texts, voice) == 3
    rendered = [cache.synthesize(t, voice) for t in texts]
    assert len(counting.calls) == 3
    replay = WavFolderTextToSpeech(folder, voice)
    assert [replay.synthesize(t) for t in texts] == rendered
    with pytest.raises(SpeechEngineError, match="Never rendered"):
        replay.synthesize("Never rendered.")


@pytest.mark.engine
def test_default_tts_is_a_cached_espeak(tmp_path: Path) -> None:
    tts = default_tts(Voice(rate_wpm=150), tmp_path / "cache")
    assert isinstance(tts, CachedTextToSpeech)
    assert isinstance(tts.inner, Pyttsx3TextToSpeech)
    assert tts.engine_id == PYTTSX3_ENGINE_ID
    assert tts.default_voice == Voice(rate_wpm=150)
    with tts:
        assert tts.synthesize("Ready.").duration > 0.2
