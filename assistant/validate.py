"""Validate every bundled data file: ``python -m assistant.validate``.

Loads each intent, reply, crisis, exercise, suggestion and locale file through the
same code Steady uses at run time, so a schema error fails CI the way it would fail
a person's start-up: one line naming the file and the field.
"""

from __future__ import annotations

import sys

from assistant.errors import DataFileError
from assistant.paths import intents_dir


def validate_all() -> list[str]:
    """One line per file checked."""
    from assistant.crisis_net import load_crisis
    from assistant.dialog import load_suggestions
    from assistant.exercises import ExerciseLibrary
    from assistant.intents import IntentSet
    from assistant.replies import Replies
    from assistant.safety import Locale

    root = intents_dir()
    report: list[str] = []
    for lang_dir in sorted((root / "sentences").iterdir()):
        lang = lang_dir.name
        intents = IntentSet.from_dir(lang_dir, lang)
        count = sum(len(i.sentences) for i in intents.intents.values())
        report.append(f"sentences/{lang}: {len(intents.intents)} intents, {count} sentences")
        Replies.from_yaml(root / "replies" / lang / "replies.yaml")
        report.append(f"replies/{lang}: ok")
        load_crisis(root / "safety" / lang / "crisis.yaml")
        report.append(f"safety/{lang}/crisis.yaml: ok")
    library = ExerciseLibrary.load(root / "exercises")
    report.append(f"exercises: {', '.join(sorted(library.exercises))}")
    suggestions = load_suggestions(root / "suggestions.yaml")
    for feeling, s in suggestions.items():
        for ex in s.offer:
            library.get(ex)
        report.append(f"suggestions.{feeling}: {', '.join(s.offer)}")
    for path in sorted((root / "locales").glob("*.yaml")):
        Locale.load(path.parent, path.stem)
        report.append(f"locales/{path.name}: ok")
    return report


def main() -> int:
    try:
        for line in validate_all():
            print(line)
    except DataFileError as exc:
        print(f"steady: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
