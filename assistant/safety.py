"""Crisis resources: the locale file for the person's country, their trusted
contacts, and the words of the crisis reply (CONTENT.md §3).

Numbers are read digit by digit, slowly, and said twice. The reply never gives
method information, never rates risk, never promises that help is coming.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.crisis import CrisisFinding
from assistant.datafiles import load_yaml, validate
from assistant.errors import DataFileError
from assistant.replies import Replies

_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@dataclass(frozen=True)
class Line:
    name: str
    number: str
    how: str


@dataclass(frozen=True)
class Locale:
    country: str
    name: str
    emergency: str
    lines: tuple[Line, ...]

    @classmethod
    def load(cls, folder: Path, country: str) -> Locale:
        code = country.upper()
        path = folder / f"{code}.yaml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
            raise DataFileError(
                f"No crisis numbers for country '{country}'; set country to one of {known}, "
                f"or add {path.name} to {folder}."
            )
        data = load_yaml(path)
        validate(data, "locale", path)
        lines = tuple(Line(x["name"], x["number"], x["how"]) for x in data["lines"])
        return cls(data["country"], data["name"], data["emergency"], lines)


@dataclass(frozen=True)
class Contact:
    name: str
    number: str


def spell_number(number: str) -> str:
    """ "116 123" -> "one one six, one two three": digit by digit, grouped, for TTS."""
    groups = [g for g in number.replace("-", " ").split() if g]
    return ", ".join(" ".join(_DIGITS[int(d)] for d in g if d.isdigit()) for g in groups)


def crisis_reply(
    finding: CrisisFinding, locale: Locale, replies: Replies, contacts: list[Contact]
) -> list[str]:
    """The sentences of the crisis reply, in order (spoken with pauses between)."""
    if finding.negated:
        return [
            replies.get("crisis_open_negated"),
            line_reply(replies, "crisis_negated_line", locale.lines[0]),
            replies.get("crisis_emergency", emergency=spell_number(locale.emergency)),
            replies.get("crisis_offer"),
        ]
    opening = "crisis_open_unsure" if finding.unsure else "crisis_open"
    out = [replies.get(opening), replies.get("crisis_robot")]
    out.extend(resource_lines(locale, replies, contacts))
    out.append(replies.get("crisis_trusted"))
    out.append(replies.get("crisis_emergency", emergency=spell_number(locale.emergency)))
    out.append(replies.get("crisis_offer"))
    return out


def resource_lines(locale: Locale, replies: Replies, contacts: list[Contact]) -> list[str]:
    """The numbers alone (what "repeat" says again)."""
    out = [line_reply(replies, "crisis_line", line) for line in locale.lines]
    out.extend(contact_lines(replies, contacts))
    return out


def reach_out_reply(locale: Locale, replies: Replies, contacts: list[Contact]) -> list[str]:
    """For "i need to talk to someone": Steady is a program; the people who could listen
    (the first support line, the person's own contacts), the emergency number, and an
    offer to listen in the meantime (a question: yes starts a journal entry)."""
    return [
        replies.get("reach_out"),
        line_reply(replies, "reach_out_line", locale.lines[0]),
        *contact_lines(replies, contacts),
        replies.get("crisis_emergency", emergency=spell_number(locale.emergency)),
        replies.get("reach_out_listen"),
    ]


def line_reply(replies: Replies, key: str, line: Line) -> str:
    """Reply ``key`` naming a support line ("{how} {name} at {number}"), digits spelled."""
    return replies.get(key, how=line.how, name=line.name, number=spell_number(line.number))


def contact_lines(replies: Replies, contacts: list[Contact]) -> list[str]:
    """One sentence per trusted contact the person saved, with the number spelled."""
    return [
        replies.get("crisis_contact", name=c.name, number=spell_number(c.number)) for c in contacts
    ]
