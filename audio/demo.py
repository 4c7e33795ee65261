"""Make the bundled demo recording: ``python -m audio.demo``.

``demo-anxious.wav`` is someone saying "I feel anxious", rendered with espeak-ng at
16 kHz mono. ``setup.sh`` plays it through ``steady run`` on machines without a
microphone, so a new user still hears Steady answer.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from assistant.audio_format import STT_FORMAT, load_wav, save_wav

DEMO_TEXT = "I feel anxious."
HERE = Path(__file__).resolve().parent


def make_demo(path: Path = HERE / "demo-anxious.wav") -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), DEMO_TEXT], check=True
        )
        save_wav(path, load_wav(raw, STT_FORMAT))
    return path


if __name__ == "__main__":
    print(make_demo(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "demo-anxious.wav"))
