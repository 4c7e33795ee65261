"""Synthetic voices for the benchmarks: espeak-ng, flite and festival through their CLIs.

Every voice renders text to a WAV file by running its tool as a subprocess (no shell);
:func:`render` returns the clip as 16 kHz mono :class:`~assistant.audio_format.Audio`.
Renders are cached on disk, keyed by the voice's command line and the text, so a
second run of a benchmark skips synthesis entirely.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from assistant.audio_format import Audio, load_wav, save_wav

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path("~/.cache/steady-bench").expanduser()
"""Where renders are kept between runs unless a cache folder is given."""

RENDER_TIMEOUT = 60.0
"""Seconds one synthesis may take before it is treated as failed."""

OUT = "{out}"
"""Placeholder in a voice's arguments for the output WAV path."""
TEXT = "{text}"
"""Placeholder in a voice's arguments for the text (absent: the text goes to stdin)."""


class RenderError(RuntimeError):
    """A synthesis tool failed or produced no audio."""


@dataclass(frozen=True)
class Voice:
    """One synthetic voice: a CLI tool and its arguments."""

    name: str
    """Short id used in reports and as the cache folder name."""
    tool: str
    """The executable to run."""
    args: tuple[str, ...]
    """Arguments, with :data:`OUT` and optionally :data:`TEXT` placeholders."""
    description: str
    """What the voice is, for reports."""
    flite_voice: str | None = None
    """For flite voices: the name that must appear in ``flite -lv``."""

    def command(self, text: str, out: Path) -> list[str]:
        """The argv that renders ``text`` to ``out``."""
        argv = [self.tool]
        for arg in self.args:
            argv.append(str(out) if arg == OUT else text if arg == TEXT else arg)
        return argv

    @property
    def text_on_stdin(self) -> bool:
        return TEXT not in self.args

    @property
    def signature(self) -> str:
        """Everything that decides the rendered audio except the text."""
        return "\0".join((self.name, self.tool, *self.args))


VOICES: tuple[Voice, ...] = (
    Voice(
        "flite-slt",
        "flite",
        ("-voice", "slt", "-t", TEXT, "-o", OUT),
        "flite slt (US female)",
        flite_voice="slt",
    ),
    Voice(
        "espeak-us",
        "espeak-ng",
        ("-v", "en-us", "-w", OUT, "--stdin"),
        "espeak-ng en-us (male)",
    ),
    Voice(
        "festival-kal",
        "text2wave",
        ("-eval", "(voice_kal_diphone)", "-o", OUT),
        "festival kal_diphone (US male diphone)",
    ),
    Voice(
        "flite-awb",
        "flite",
        ("-voice", "awb", "-t", TEXT, "-o", OUT),
        "flite awb (Scottish male)",
        flite_voice="awb",
    ),
    Voice(
        "espeak-us-f3",
        "espeak-ng",
        ("-v", "en-us+f3", "-w", OUT, "--stdin"),
        "espeak-ng en-us, female variant f3",
    ),
    Voice(
        "flite-rms",
        "flite",
        ("-voice", "rms", "-t", TEXT, "-o", OUT),
        "flite rms (US male)",
        flite_voice="rms",
    ),
    Voice(
        "espeak-rp-m7",
        "espeak-ng",
        ("-v", "en-gb-x-rp+m7", "-s", "160", "-w", OUT, "--stdin"),
        "espeak-ng British RP, male variant m7, slower",
    ),
    Voice(
        "flite-kal16",
        "flite",
        ("-voice", "kal16", "-t", TEXT, "-o", OUT),
        "flite kal16 (US male diphone)",
        flite_voice="kal16",
    ),
)
"""All voices, most distinct first: taking the first N gives the most varied N."""

_available_lock = threading.Lock()
_available: dict[str, bool] = {}


def _flite_voices(tool: str) -> set[str]:
    try:
        done = subprocess.run(
            [tool, "-lv"], capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    _, _, names = done.stdout.partition(":")
    return set(names.split())


def _usable(voice: Voice) -> str | None:
    """Why ``voice`` cannot be used here, or None when it can."""
    path = shutil.which(voice.tool)
    if path is None:
        return f"{voice.tool} is not installed"
    if voice.flite_voice is not None and voice.flite_voice not in _flite_voices(path):
        return f"flite has no voice {voice.flite_voice!r} (see `flite -lv`)"
    with tempfile.TemporaryDirectory(prefix="steady-voice-") as tmp:
        try:
            render(voice, "hello", Path(tmp) / "probe.wav")
        except RenderError as exc:
            return str(exc)
    return None


def available_voices(voices: Iterable[Voice] = VOICES) -> list[Voice]:
    """The voices whose tool (and voice data) is present; the others are skipped with a warning."""
    usable: list[Voice] = []
    for voice in voices:
        with _available_lock:
            known = _available.get(voice.signature)
        if known is None:
            problem = _usable(voice)
            known = problem is None
            if problem is not None:
                log.warning("Skipping voice %s: %s", voice.name, problem)
            with _available_lock:
                _available[voice.signature] = known
        if known:
            usable.append(voice)
    return usable


def voice_named(name: str) -> Voice:
    """The voice with this name."""
    for voice in VOICES:
        if voice.name == name:
            return voice
    raise KeyError(f"no voice called {name!r}; known: {', '.join(v.name for v in VOICES)}")


def render(voice: Voice, text: str, path: Path) -> Audio:
    """Synthesise ``text`` with ``voice``; write 16 kHz mono to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".render-", suffix=".wav", dir=path.parent)
    os.close(fd)
    raw = Path(tmp_name)
    try:
        argv = voice.command(text, raw)
        try:
            done = subprocess.run(
                argv,
                input=text if voice.text_on_stdin else None,
                capture_output=True,
                text=True,
                timeout=RENDER_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise RenderError(f"{voice.name}: {voice.tool} could not run ({exc})") from None
        errors = done.stderr.strip()
        if done.returncode != 0 or "ERROR" in errors.upper():
            raise RenderError(
                f"{voice.name}: {voice.tool} failed (exit {done.returncode}): {errors[:200]}"
            )
        if not raw.exists() or raw.stat().st_size <= 44:
            raise RenderError(f"{voice.name}: {voice.tool} wrote no audio for {text!r}")
        audio = load_wav(raw)
        if audio.duration <= 0.0:
            raise RenderError(f"{voice.name}: empty audio for {text!r}")
        save_wav(raw, audio)
        os.replace(raw, path)
        return audio
    finally:
        raw.unlink(missing_ok=True)


def cache_path(voice: Voice, text: str, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """Where the render of ``text`` by ``voice`` is kept."""
    digest = hashlib.sha256(f"{voice.signature}\0{text}".encode()).hexdigest()[:24]
    return cache_dir / voice.name / f"{digest}.wav"


def render_cached(voice: Voice, text: str, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The path of the (possibly cached) render of ``text`` by ``voice``."""
    path = cache_path(voice, text, cache_dir)
    if not path.exists():
        render(voice, text, path)
    return path


def load_render(voice: Voice, text: str, cache_dir: Path = DEFAULT_CACHE) -> Audio:
    """The render of ``text`` by ``voice`` as 16 kHz mono audio (synthesised if not cached)."""
    return load_wav(render_cached(voice, text, cache_dir))


def render_all(
    jobs: Sequence[tuple[Voice, str]],
    cache_dir: Path = DEFAULT_CACHE,
    *,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> dict[tuple[str, str], Path]:
    """Render every (voice, text) pair with a small thread pool; paths keyed by (voice name, text).

    Pairs that fail to render are logged and left out of the result.
    """
    unique = list(dict.fromkeys((v, t) for v, t in jobs))
    out: dict[tuple[str, str], Path] = {}
    done = 0

    def one(job: tuple[Voice, str]) -> tuple[tuple[str, str], Path | None]:
        voice, text = job
        try:
            return (voice.name, text), render_cached(voice, text, cache_dir)
        except RenderError as exc:
            log.warning("%s", exc)
            return (voice.name, text), None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for key, path in pool.map(one, unique):
            done += 1
            if path is not None:
                out[key] = path
            if progress is not None:
                progress(done, len(unique))
    return out
