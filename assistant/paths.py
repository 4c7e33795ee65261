"""Where Steady finds its bundled data and keeps the person's files."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "steady"


def project_root() -> Path | None:
    """The source checkout Steady runs from, if it runs from one."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def intents_dir() -> Path:
    """The bundled data folder (``intents/`` in the checkout)."""
    root = project_root()
    if root is not None and (root / "intents").is_dir():
        return root / "intents"
    return Path(str(resources.files("steady_intents")))


def audio_dir() -> Path:
    """The bundled sound-asset folder (``audio/`` in the checkout)."""
    root = project_root()
    if root is not None and (root / "audio").is_dir():
        return root / "audio"
    return Path(str(resources.files("steady_audio")))


def models_dir() -> Path:
    """Where speech models are installed.

    ``STEADY_MODELS`` overrides; a source checkout uses its own ``models/``; an
    installed package uses the per-user data folder.
    """
    env = os.environ.get("STEADY_MODELS")
    if env:
        return Path(env).expanduser()
    root = project_root()
    if root is not None:
        return root / "models"
    return Path(platformdirs.user_data_dir(APP_NAME)) / "models"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The person's private data folder (history, journal, settings, cache)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("STEADY_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The person's own configuration and routines (inside the data folder when overridden)."""
    if override or os.environ.get("STEADY_HOME"):
        return data_dir(override) / "config"
    return Path(platformdirs.user_config_dir(APP_NAME))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the owner only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
