"""Loading Steady's YAML data files with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assistant.errors import DataFileError

_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (the wheels are): Steady's 44
data files in 0.05 s instead of 0.73 s; the same documents, the same errors."""


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; any problem is a :class:`DataFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read it ({exc.strerror}).") from None
    try:
        data = yaml.load(text, Loader=_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DataFileError(f"{path}: not valid YAML{where}.") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping of fields at the top level.")
    return data


def require(data: dict[str, Any], field: str, kind: type, path: Path) -> Any:
    """``data[field]``, checked to be of ``kind``."""
    if field not in data:
        raise DataFileError(f"{path}: the field '{field}' is missing.")
    value = data[field]
    if not isinstance(value, kind):
        raise DataFileError(f"{path}: the field '{field}' must be a {kind.__name__}.")
    return value


_SCHEMAS: dict[str, dict[str, Any]] = {}


def validate(data: dict[str, Any], schema_name: str, path: Path) -> None:
    """Check ``data`` against ``intents/schema/<schema_name>.schema.json``.

    The error names the file and the field that is wrong.
    """
    import json

    import jsonschema

    from assistant.paths import intents_dir

    schema = _SCHEMAS.get(schema_name)
    if schema is None:
        schema_path = intents_dir() / "schema" / f"{schema_name}.schema.json"
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        _SCHEMAS[schema_name] = schema
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        field = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise DataFileError(f"{path}: field '{field}': {err.message}.")
