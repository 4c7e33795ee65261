"""Audio in/out engines, device lookup, and real-device loopback tests.

Tests marked ``device`` use the PulseAudio loopback from :mod:`tests.pulse` (null sinks
``steady_mic`` and ``steady_speaker``); they skip without PulseAudio, or fail under CI.
"""

from __future__ import annotations

import builtins
import shutil
import subprocess
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from assistant import devices
from assistant.audio_format import STT_FORMAT, Audio, AudioFormat, load_wav
from assistant.audio_in import MicrophoneSource, ScriptedSource, WavFileSource
from assistant.audio_out import NullSink, SpeakerSink, WavFileSink
from assistant.devices import DeviceInfo, find_device, format_devices
from assistant.errors import AudioDeviceError, AudioFileError
from tests.pulse import PulseLoop, in_ci, pulse_loop_or_skip, write_tone


@pytest.fixture(scope="module")
def pulse_loop() -> PulseLoop:
    """The shared loopback (tests.pulse.pulse_loop does the same, session-wide)."""
    return pulse_loop_or_skip()


FRAME = 0.01  # analysis frame, seconds
LOUD = 0.05  # RMS (full scale = 1) above which a frame counts as sound


# ---------------------------------------------------------------- helpers


def tone(seconds: float, rate: int = 16000, freq: float = 440.0, amp: float = 0.5) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio.from_float(amp * np.sin(2 * np.pi * freq * t), rate)


def write_wav(path: Path, seconds: float, rate: int, width: int, channels: int) -> Path:
    """A 440 Hz tone at amplitude 0.5 in an arbitrary integer PCM layout."""
    t = np.arange(round(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    frames = np.repeat(x[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        pcm = np.round(frames * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        pcm = np.round(frames * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = np.round(frames * (2**23 - 1)).astype("<i4")
        pcm = np.frombuffer(ints.tobytes(), dtype=np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        pcm = np.round(frames * (2**31 - 1)).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


def rms_frames(audio: Audio) -> npt.NDArray[np.float64]:
    x = audio.to_float()
    n = max(1, round(FRAME * audio.fmt.rate))
    usable = x[: len(x) - len(x) % n].reshape(-1, n)
    return np.sqrt((usable**2).mean(axis=1)) if usable.size else np.zeros(0)


def loud_seconds(audio: Audio) -> float:
    return float((rms_frames(audio) > LOUD).sum() * FRAME)


def loud_span(audio: Audio) -> tuple[float, float]:
    """Start and end (seconds) of the region with sound in it."""
    loud = np.flatnonzero(rms_frames(audio) > LOUD)
    if loud.size == 0:
        return (0.0, 0.0)
    return (float(loud[0] * FRAME), float((loud[-1] + 1) * FRAME))


def dominant_hz(audio: Audio) -> float:
    x = audio.to_float()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / audio.fmt.rate)[int(np.argmax(spectrum))])


def only_loud(audio: Audio) -> Audio:
    """The part between the first and the last loud frame (mono 16-bit audio)."""
    start, end = loud_span(audio)
    a, b = round(start * audio.fmt.rate) * 2, round(end * audio.fmt.rate) * 2
    return Audio(audio.pcm[a:b], audio.fmt)


# ---------------------------------------------------------------- WavFileSource


@pytest.mark.parametrize(
    ("rate", "width", "channels"),
    [
        (16000, 1, 1),  # 8-bit unsigned
        (16000, 2, 1),
        (16000, 3, 1),  # 24-bit
        (48000, 2, 2),  # 48 kHz stereo
        (8000, 2, 1),
        (44100, 4, 2),
    ],
)
def test_wav_file_source_converts_any_layout(
    tmp_path: Path, rate: int, width: int, channels: int
) -> None:
    path = write_wav(tmp_path / "in.wav", 0.5, rate, width, channels)
    with WavFileSource(path, block_seconds=0.1, trailing_silence=0.3) as src:
        assert src.fmt == STT_FORMAT
        chunks = list(src)
        assert src.read() is None
    assert all(len(c) <= 1600 * 2 and len(c) % 2 == 0 for c in chunks)
    assert all(len(c) == 3200 for c in chunks[:-1])
    pcm = b"".join(chunks)
    assert len(pcm) == pytest.approx((0.5 + 0.3) * STT_FORMAT.bytes_per_second, abs=4)
    speech = Audio(pcm[: 8000 * 2], STT_FORMAT)
    rms = float(np.sqrt((speech.to_float()[200:-200] ** 2).mean()))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    assert dominant_hz(speech) == pytest.approx(440, abs=5)
    assert pcm[8000 * 2 :] == b"\x00" * (len(pcm) - 8000 * 2)  # trailing silence


def test_wav_file_source_accepts_audio_and_reports_duration() -> None:
    clip = tone(0.25, rate=22050)
    src = WavFileSource(clip, block_seconds=0.05, trailing_silence=0.5)
    assert src.audio.fmt == STT_FORMAT
    assert src.duration == pytest.approx(0.75, abs=1e-3)
    assert sum(len(c) for c in src) == pytest.approx(0.75 * 32000, abs=4)


def test_wav_file_source_realtime_paces_like_a_microphone() -> None:
    src = WavFileSource(tone(0.3), block_seconds=0.05, realtime=True, trailing_silence=0.0)
    start = time.monotonic()
    assert src.read(timeout=0.0) == b""  # the first block is not "recorded" yet
    first = src.read()
    assert first is not None and len(first) == 800 * 2
    assert time.monotonic() - start == pytest.approx(0.05, abs=0.03)
    rest = list(src)
    assert len(rest) == 5
    assert time.monotonic() - start == pytest.approx(0.3, abs=0.06)


def test_wav_file_source_close_ends_stream() -> None:
    src = WavFileSource(tone(1.0), realtime=True)
    threading.Timer(0.05, src.close).start()
    start = time.monotonic()
    assert src.read() is None  # the first block was due at 0.1 s; close() came first
    assert time.monotonic() - start < 0.5


def test_wav_file_source_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError):
        WavFileSource(tmp_path / "nope.wav")


# ---------------------------------------------------------------- ScriptedSource


def test_scripted_source_replays_chunks() -> None:
    chunks = [b"\x01\x00" * 10, b"", b"\x02\x00" * 5]
    src = ScriptedSource(chunks)
    assert [src.read(), src.read(), src.read(), src.read()] == [*chunks, None]
    assert list(ScriptedSource(chunks)) == [chunks[0], chunks[2]]  # iteration skips b""


def test_scripted_source_delays_and_timeouts() -> None:
    src = ScriptedSource([b"a", b"b"], delay=[0.0, 0.2])
    assert src.read(timeout=0) == b"a"
    start = time.monotonic()
    assert src.read(timeout=0.05) == b""  # not due yet
    assert src.read(timeout=1.0) == b"b"
    assert time.monotonic() - start == pytest.approx(0.2, abs=0.05)
    assert src.read(timeout=0) is None


def test_scripted_source_close_wakes_reader() -> None:
    src = ScriptedSource([b"a"], delay=5.0)
    threading.Timer(0.05, src.close).start()
    start = time.monotonic()
    assert src.read() is None
    assert time.monotonic() - start < 0.5


def test_scripted_source_rejects_mismatched_delays() -> None:
    with pytest.raises(ValueError):
        ScriptedSource([b"a", b"b"], delay=[0.1])


# ---------------------------------------------------------------- sinks without devices


def test_wav_file_sink_timeline(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    stamps: list[float] = []
    sink = WavFileSink(out)
    sink.on_first_sample = stamps.append
    assert sink.position == 0.0
    assert sink.play(tone(0.5, rate=16000))  # resampled to the 22050 Hz timeline
    assert sink.position == pytest.approx(0.5, abs=1e-4)
    sink.pad_to(2.0)
    assert sink.position == 2.0
    sink.pad_to(1.0)  # never goes back
    assert sink.position == 2.0
    cancel = threading.Event()
    cancel.set()
    assert sink.play(tone(1.0), cancel) is False  # a cancelled clip adds nothing
    assert sink.position == 2.0
    assert sink.play(tone(0.25, rate=22050, freq=880))
    assert sink.position == pytest.approx(2.25, abs=1e-4)
    assert len(stamps) == 2
    sink.close()
    sink.close()  # idempotent

    written = load_wav(out, target=None)
    assert written.fmt == AudioFormat(22050, 2, 1)
    assert written.duration == pytest.approx(2.25, abs=1e-4)
    rate = written.fmt.rate
    first = Audio(written.pcm[:rate], written.fmt)  # 0..0.5 s
    assert dominant_hz(first) == pytest.approx(440, abs=5)
    gap = Audio(written.pcm[round(0.51 * rate) * 2 : 2 * rate * 2], written.fmt)
    assert not any(gap.pcm)
    last = Audio(written.pcm[2 * rate * 2 :], written.fmt)
    assert dominant_hz(last) == pytest.approx(880, abs=10)


def test_wav_file_sink_custom_format(tmp_path: Path) -> None:
    with WavFileSink(tmp_path / "o.wav", fmt=STT_FORMAT) as sink:
        sink.play(tone(0.1, rate=48000))
        sink.pad_to(0.5)
    assert load_wav(tmp_path / "o.wav", target=None).fmt == STT_FORMAT


def test_null_sink() -> None:
    stamps: list[float] = []
    sink = NullSink()
    sink.on_first_sample = stamps.append
    start = time.monotonic()
    assert sink.play(tone(5.0))
    assert time.monotonic() - start < 0.1
    assert len(stamps) == 1

    realtime = NullSink(realtime=True)
    start = time.monotonic()
    assert realtime.play(tone(0.2))
    assert time.monotonic() - start == pytest.approx(0.2, abs=0.05)

    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    start = time.monotonic()
    assert realtime.play(tone(5.0), cancel) is False
    assert time.monotonic() - start < 0.3


# ---------------------------------------------------------------- devices (logic)

FAKE = [
    DeviceInfo(0, "HDA Intel PCH: ALC269 Analog (hw:0,0)", 2, 2, 44100.0, False, False),
    DeviceInfo(1, "HDA Intel PCH: HDMI 0 (hw:0,3)", 0, 8, 44100.0, False, False),
    DeviceInfo(2, "USB Headset: Audio (hw:1,0)", 1, 0, 48000.0, False, False),
    DeviceInfo(3, "pulse", 32, 32, 44100.0, False, False),
    DeviceInfo(4, "default", 32, 32, 44100.0, True, True),
]


@pytest.fixture
def fake_devices(monkeypatch: pytest.MonkeyPatch) -> list[DeviceInfo]:
    monkeypatch.setattr(devices, "list_devices", lambda: list(FAKE))
    return FAKE


def test_find_device(fake_devices: list[DeviceInfo]) -> None:
    assert find_device(None, "input") is None
    assert find_device("", "output") is None
    assert find_device(2, "input") == 2
    assert find_device("2", "input") == 2
    assert find_device("usb", "input") == 2
    assert find_device("HDMI", "output") == 1
    assert find_device("DEFAULT", "input") == 4  # exact name beats "default" substrings
    assert find_device("pulse", "output") == 3


@pytest.mark.parametrize(
    ("spec", "kind", "words"),
    [
        ("hdmi", "input", "No microphone has 'hdmi'"),
        (1, "input", "cannot be used as a microphone"),
        (2, "output", "cannot be used as a speaker"),
        (42, "output", "no sound device number 42"),
        ("hda", "output", "Several speakers match"),
    ],
)
def test_find_device_errors(
    fake_devices: list[DeviceInfo], spec: str | int, kind: Any, words: str
) -> None:
    with pytest.raises(AudioDeviceError) as info:
        find_device(spec, kind)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_find_device_without_any_microphone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "list_devices", lambda: [FAKE[1]])
    with pytest.raises(AudioDeviceError, match="No microphone found"):
        find_device(None, "input")


def test_format_devices() -> None:
    table = format_devices(FAKE)
    lines = table.splitlines()
    assert lines[0].split() == ["#", "name", "in", "out", "rate", "default"]
    assert "USB Headset" in table and "48000" in table
    assert lines[6].rstrip().endswith("input, output")
    assert format_devices([]) == "No sound devices found."


def test_missing_portaudio_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(AudioDeviceError) as info:
        devices.list_devices()
    assert str(info.value) == "PortAudio is not installed; run `sudo apt install libportaudio2`."


def test_list_devices_real() -> None:
    listed = devices.list_devices()  # whatever this machine has; must not crash
    assert all(isinstance(d, DeviceInfo) for d in listed)
    assert isinstance(format_devices(listed), str)


@pytest.mark.parametrize("cls", [MicrophoneSource, SpeakerSink])
def test_unknown_device_name_is_one_line_error(cls: Any) -> None:
    with pytest.raises(AudioDeviceError) as info:
        cls(device="no-such-device-xyz")
    message = str(info.value)
    assert "\n" not in message and "no-such-device-xyz" in message
    # Nothing chained: the CLI prints the one sentence, no "during handling..." noise.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


# ---------------------------------------------------------------- real devices (PulseAudio)
#
# Timing bounds are loose on purpose: on a loaded machine the null sinks underrun, and
# ALSA's pulse plugin then repeats or drops a little audio. The tests check that the
# sound arrived (energy, length, pitch), not that PulseAudio kept perfect time.


def assert_clip_arrived(got: Audio, seconds: float, hz: float) -> None:
    """``got`` holds about ``seconds`` of a ``hz`` tone."""
    assert 0.85 * seconds <= loud_seconds(got) <= seconds + 0.6
    assert dominant_hz(only_loud(got)) == pytest.approx(hz, abs=10)


def tone_sequence(audio: Audio, choices: list[float], window: float = 0.05) -> list[float]:
    """Which of ``choices`` each loud window sounds like, consecutive repeats collapsed."""
    seq: list[float] = []
    loud = only_loud(audio)
    step = round(window * loud.fmt.rate) * 2
    for i in range(0, len(loud.pcm) - step + 1, step):
        part = Audio(loud.pcm[i : i + step], loud.fmt)
        if loud_seconds(part) < window / 2:
            continue
        hz = dominant_hz(part)
        near = [c for c in choices if abs(c - hz) <= 25]
        if near and (not seq or seq[-1] != near[0]):
            seq.append(near[0])
    return seq


def record_mic_while_playing(loop: PulseLoop, device: str | int | None, wav: Path) -> Audio:
    """Run a MicrophoneSource while ``wav`` is played into steady_mic; return all it got."""
    chunks: list[bytes] = []
    player: subprocess.Popen[bytes] | None = None
    stop_at: float | None = None
    with MicrophoneSource(device=device) as mic:
        start = time.monotonic()
        while stop_at is None or time.monotonic() < stop_at:
            chunk = mic.read(timeout=1.0)
            assert chunk is not None
            chunks.append(chunk)
            now = time.monotonic()
            if player is None and sum(map(len, chunks)) >= 0.3 * STT_FORMAT.bytes_per_second:
                player = loop.start_play_into_mic(wav)  # after 0.3 s of recorded silence
            if player is not None and stop_at is None and player.poll() is not None:
                assert player.returncode == 0
                stop_at = now + 0.4
            assert now - start < 15, "paplay never finished"
    return Audio(b"".join(chunks), STT_FORMAT)


@pytest.mark.device
@pytest.mark.parametrize("device", ["pulse", None])
def test_microphone_hears_tone(pulse_loop: PulseLoop, tmp_path: Path, device: str | None) -> None:
    wav = write_tone(tmp_path / "tone.wav", 1.0, rate=22050)
    got = record_mic_while_playing(pulse_loop, device, wav)
    assert got.duration > 1.5
    assert_clip_arrived(got, 1.0, 440)
    start, _ = loud_span(got)
    assert start >= 0.25  # the mic was live before the clip: silence came first


@pytest.mark.device
def test_microphone_converts_when_16k_is_unsupported(
    pulse_loop: PulseLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sd = devices.import_sounddevice()
    real_check = sd.check_input_settings

    def no_16k(*args: Any, **kwargs: Any) -> None:
        if kwargs.get("samplerate") == 16000:
            raise sd.PortAudioError("Invalid sample rate")
        real_check(*args, **kwargs)

    monkeypatch.setattr(sd, "check_input_settings", no_16k)
    wav = write_tone(tmp_path / "tone.wav", 1.0, rate=16000, freq=1000)
    with MicrophoneSource(device="pulse") as mic:
        assert mic.device_format.rate == 44100
    got = record_mic_while_playing(pulse_loop, "pulse", wav)
    assert_clip_arrived(got, 1.0, 1000)


@pytest.mark.device
def test_microphone_hears_speech(pulse_loop: PulseLoop, tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        if in_ci():
            pytest.fail("espeak-ng is not installed")
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "Take a slow breath in, and let it go."], check=True
    )
    clip = load_wav(wav)
    got = record_mic_while_playing(pulse_loop, None, wav)
    start, end = loud_span(got)
    clip_start, clip_end = loud_span(clip)
    assert 0.85 * (clip_end - clip_start) <= end - start <= clip_end - clip_start + 0.8
    assert 0.8 * loud_seconds(clip) <= loud_seconds(got) <= loud_seconds(clip) + 0.8


@pytest.mark.device
@pytest.mark.parametrize("device", ["pulse", None])
def test_speaker_plays_tone(pulse_loop: PulseLoop, device: str | None) -> None:
    stamps: list[float] = []
    with SpeakerSink(device=device) as sink:
        sink.on_first_sample = stamps.append
        recorder = pulse_loop.start_recording()
        time.sleep(0.2)
        start = time.monotonic()
        assert sink.play(tone(1.0, rate=22050)) is True
        elapsed = time.monotonic() - start
        time.sleep(0.3)
        got = recorder.stop()
    assert len(stamps) == 1 and stamps[0] - start < 0.5
    assert 0.95 <= elapsed < 2.0  # play() returns once the clip has been played
    assert_clip_arrived(got, 1.0, 440)


@pytest.mark.device
def test_speaker_plays_clips_back_to_back(
    pulse_loop: PulseLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    sd = devices.import_sounddevice()
    real_check = sd.check_output_settings

    def no_8k(*args: Any, **kwargs: Any) -> None:
        if kwargs.get("samplerate") == 8000:
            raise sd.PortAudioError("Invalid sample rate")
        real_check(*args, **kwargs)

    monkeypatch.setattr(sd, "check_output_settings", no_8k)
    with SpeakerSink() as sink:
        recorder = pulse_loop.start_recording()
        time.sleep(0.2)
        start = time.monotonic()
        assert sink.play(tone(0.4, rate=16000, freq=500))
        assert sink.play(tone(0.4, rate=16000, freq=700))  # same stream, no reopen
        assert sink.play(tone(0.4, rate=8000, freq=300))  # 8 kHz refused: default rate
        elapsed = time.monotonic() - start
        assert sink.device_format(AudioFormat(8000)).rate == 44100
        time.sleep(0.3)
        got = recorder.stop()
    assert 1.15 <= elapsed < 2.5
    assert 0.85 * 1.2 <= loud_seconds(got) <= 1.2 + 0.6
    assert tone_sequence(got, [300, 500, 700]) == [500, 700, 300]


@pytest.mark.device
def test_speaker_cancel_stops_quickly(pulse_loop: PulseLoop, record_property: Any) -> None:
    with SpeakerSink() as sink:
        sink.play(tone(0.05))  # open the stream first, as in a conversation
        recorder = pulse_loop.start_recording()
        time.sleep(0.2)
        cancel = threading.Event()
        set_at: list[float] = []

        def fire() -> None:
            set_at.append(time.monotonic())
            cancel.set()

        threading.Timer(0.5, fire).start()
        assert sink.play(tone(3.0, rate=22050), cancel) is False
        returned_after = time.monotonic() - set_at[0]
        time.sleep(0.4)
        got = recorder.stop()
        assert sink.play(tone(0.2))  # still usable after a cancel
    heard = loud_seconds(got)
    record_property("cancel_return_s", round(returned_after, 4))
    record_property("cancel_heard_s", round(heard, 3))
    print(f"play() returned {returned_after * 1000:.1f} ms after cancel; heard {heard:.3f} s")
    assert returned_after < 0.5
    assert 0.3 < heard < 1.5  # sound stopped soon after the cancel, not after 3 s
