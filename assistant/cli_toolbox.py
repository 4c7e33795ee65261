"""``steady`` subcommands for the toolbox: history, journal, contacts, export, forget."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add this module's subcommands to ``sub`` (argparse subparsers)."""


def dispatch(command: str, args: argparse.Namespace) -> int | None:
    """Run ``command`` if it is one of this module's; ``None`` otherwise."""
    return None
