"""The spoken journal through the real model: a synthesized entry is transcribed
locally, read back, and kept only on a yes (its recording only if opted in)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from assistant.audio_format import Audio, convert, load_wav, save_wav
from assistant.cli import main
from assistant.store import Store
from tests.conftest import need

pytestmark = pytest.mark.engine

ENTRY = "today was a long day at work and i felt tired and lonely"


def flite(text: str, path: Path) -> Path:
    """One of the test voices (espeak-ng's "I'm done" is not heard as such by Vosk)."""
    need(shutil.which("flite") is not None, "flite is not installed")
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(path)], check=True)
    return path


def spoken_session(tmp_path: Path) -> Path:
    parts = [
        ("i want to talk it out", 2.5),
        (ENTRY, 1.5),
        ("i'm done", 4.0),
        ("yes", 2.0),
    ]
    clips = []
    for i, (text, pause) in enumerate(parts):
        clip = convert(load_wav(flite(text, tmp_path / f"part{i}.wav")))
        clips.append(clip.pcm + Audio.silence(pause).pcm)
    out = tmp_path / "session.wav"
    save_wav(out, Audio(Audio.silence(0.5).pcm + b"".join(clips), clip.fmt))
    return out


@pytest.mark.parametrize("keep_audio", [False, True])
def test_a_spoken_entry_is_kept_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_audio: bool
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if keep_audio:
        (home / "config").mkdir()
        (home / "config" / "config.yaml").write_text("journal_audio: true\n", encoding="utf-8")
    wav = spoken_session(tmp_path)
    code = main(["run", str(wav), "--out", str(tmp_path / "reply.wav"), "--data-dir", str(home)])
    assert code == 0
    assert main(["journal", "export", "--format", "json", "--data-dir", str(home)]) == 0
    entries = json.loads(capsys.readouterr().out)
    [entry] = entries
    words = set(entry["text"].split())
    assert len(words & set(ENTRY.split())) >= 6, entry["text"]  # heard, not invented
    assert "done" not in entry["text"]
    with Store.open(home) as store:
        [saved] = store.journal()
        audio = store.journal_audio(saved.id)
    if keep_audio:
        assert audio is not None
        with wave.open(io.BytesIO(audio)) as w:
            assert w.getframerate() == 16000 and w.getnframes() / 16000 > 2.0
    else:
        assert audio is None
