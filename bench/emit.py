"""How a benchmark stage hands its numbers over: a JSON file, or JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path


def emit_json(result: object, path: Path | None) -> None:
    """Write ``result`` as indented JSON to ``path``, or print it when there is none."""
    text = json.dumps(result, indent=2)
    if path is not None:
        path.write_text(text, encoding="utf-8")
    else:
        print(text)
