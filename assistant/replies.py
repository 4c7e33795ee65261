"""What Steady says, loaded from ``intents/replies/<lang>/replies.yaml``.

Keys may be grouped one level deep (``acknowledge.anxious``). A list holds variants;
one is picked at random (avoiding the one said last) so Steady does not sound canned.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from assistant.datafiles import load_yaml, validate
from assistant.errors import DataFileError

REQUIRED = (
    "first_run", "greeting", "help", "unknown", "unknown_final", "out_of_scope", "did_you_mean",
    "offer", "start", "stopped", "finished", "goodbye", "crisis_open", "crisis_open_unsure",
    "crisis_robot", "crisis_line", "crisis_trusted", "crisis_emergency", "crisis_offer",
    "crisis_misunderstood",
)  # fmt: skip


class Replies:
    def __init__(self, table: dict[str, list[str]], rng: random.Random | None = None) -> None:
        self._table = table
        self._rng = rng or random.Random()
        self._last: dict[str, str] = {}

    @classmethod
    def from_yaml(cls, path: Path, rng: random.Random | None = None) -> Replies:
        data = load_yaml(path)
        validate(data, "replies", path)
        table: dict[str, list[str]] = {}
        for key, value in data["replies"].items():
            if isinstance(value, dict):
                for sub, text in value.items():
                    table[f"{key}.{sub}"] = _variants(text)
            else:
                table[key] = _variants(value)
        missing = [k for k in REQUIRED if k not in table]
        if missing:
            raise DataFileError(f"{path}: field 'replies' lacks {', '.join(missing)}.")
        return cls(table, rng)

    def variants(self, key: str) -> list[str]:
        return list(self._table[key])

    def get(self, key: str, **fields: Any) -> str:
        """One variant of ``key`` with ``{placeholders}`` filled."""
        options = self._table.get(key)
        if options is None:
            raise KeyError(f"no reply '{key}'")
        fresh = [o for o in options if o != self._last.get(key)] or options
        text = self._rng.choice(fresh)
        self._last[key] = text
        return " ".join(text.format(**fields).split())

    def all_texts(self) -> list[str]:
        """Every fixed reply (no placeholders), for rendering ahead of time."""
        return [t for opts in self._table.values() for t in opts if "{" not in t]


def _variants(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
