"""Intents and their example sentences, loaded from ``intents/sentences/<lang>/*.yaml``.

Each file names one intent, its kind, and sentence templates (see
:mod:`assistant.templates`). Files are validated against
``intents/schema/sentences.schema.json`` when they are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.datafiles import load_yaml, validate
from assistant.errors import DataFileError
from assistant.templates import TemplateError, expand

FEELINGS = ("anxious", "panic", "sleep", "overwhelmed", "angry", "sad")
PRACTICES = (
    "breathe",
    "ground",
    "body_scan",
    "relax_muscles",
    "journal",
    "journal_read",
    "toolbox",
    "reach_out",
)
CONTROLS = (
    "stop", "pause", "resume", "slower", "faster", "repeat", "help", "yes", "no", "goodbye",
    "dizzy",
)  # fmt: skip
REQUIRED_INTENTS = (*FEELINGS, *PRACTICES, *CONTROLS, "crisis")
UNKNOWN = "unknown"
FILLER = "filler"
"""A sound or word said while thinking ("um", "well", "let me think"): nothing to act on.
Its intent file has kind ``filler``; it is matched only word for word."""
OUT_OF_SCOPE = "out_of_scope"
"""A request to a general voice assistant that Steady does not handle ("set a timer",
"what's the weather"). Matched like any intent, but reported as ``unknown`` with
:attr:`~assistant.matcher.Match.out_of_scope` set, and never in the recognizer's grammar."""
NOT_IN_GRAMMAR = frozenset({FILLER, OUT_OF_SCOPE})
"""Kinds of sentence file kept out of the grammar: "oh" there is heard for "no", and
words no request of Steady's uses pull what people say away from its sentences."""


@dataclass(frozen=True)
class Intent:
    """One intent with its expanded example sentences."""

    name: str
    kind: str
    description: str
    templates: tuple[str, ...]
    sentences: tuple[str, ...]
    source: Path
    accept: float | None = None
    """Match score needed to act without asking, when stricter than the matcher's."""


@dataclass
class IntentSet:
    """Every intent of one language."""

    language: str
    intents: dict[str, Intent] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, folder: Path, language: str = "en") -> IntentSet:
        """Load and validate every ``*.yaml`` in ``folder``."""
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise DataFileError(f"{folder}: no intent files found.")
        result = cls(language)
        for path in files:
            intent = _load_intent(path)
            if intent.name in result.intents:
                other = result.intents[intent.name].source
                raise DataFileError(
                    f"{path}: intent '{intent.name}' is already defined in {other}."
                )
            result.intents[intent.name] = intent
        missing = [n for n in REQUIRED_INTENTS if n not in result.intents]
        if missing:
            raise DataFileError(f"{folder}: no sentences for intent(s) {', '.join(missing)}.")
        return result

    def names(self) -> list[str]:
        return list(self.intents)


def _load_intent(path: Path) -> Intent:
    data = load_yaml(path)
    validate(data, "sentences", path)
    sentences: dict[str, None] = {}
    lists = {k: [str(v) for v in vals] for k, vals in data.get("lists", {}).items()}
    for i, template in enumerate(data["sentences"]):
        try:
            for s in expand(template, lists):
                sentences.setdefault(s, None)
        except TemplateError as exc:
            raise DataFileError(f"{path}: field 'sentences.{i}': {exc}.") from None
    return Intent(
        name=data["intent"],
        kind=data["kind"],
        description=data.get("description", ""),
        templates=tuple(data["sentences"]),
        sentences=tuple(sentences),
        source=path,
        accept=float(data["accept"]) if "accept" in data else None,
    )
