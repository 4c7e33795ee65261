"""Sentence templates in the spirit of hassil: ``(a|b)``, ``[optional]`` and ``{slot}``.

A template such as ``"[i] (feel|am feeling) [so|really] anxious"`` expands to every
sentence it describes. ``(a|b)`` requires one alternative, ``[a|b]`` allows one or
none, groups nest, ``<name>`` is one entry of a word list defined beside the
templates (``lists:`` in the intent file), and ``{name}`` stands for a slot that is
filled at match time.
Expansion is bounded so a careless template cannot explode.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

MAX_EXPANSIONS = 2000
"""Most sentences one template may describe."""

_SLOT = re.compile(r"\{([a-z_]+)\}")


class TemplateError(ValueError):
    """A template is malformed; the message says where."""


@dataclass(frozen=True)
class _Seq:
    parts: tuple[_Node, ...]


@dataclass(frozen=True)
class _Alt:
    options: tuple[_Seq, ...]
    optional: bool


_Node = str | _Seq | _Alt


class _Parser:
    def __init__(self, text: str, lists: dict[str, list[str]] | None = None) -> None:
        self.text = text
        self.pos = 0
        self.lists = lists or {}

    def error(self, what: str) -> TemplateError:
        return TemplateError(f"{what} at character {self.pos + 1} of {self.text!r}")

    def parse(self) -> _Seq:
        seq = self._sequence(closers="")
        if self.pos != len(self.text):
            raise self.error(f"unexpected {self.text[self.pos]!r}")
        return seq

    def _sequence(self, closers: str) -> _Seq:
        parts: list[_Node] = []
        word: list[str] = []

        def flush() -> None:
            if word:
                parts.append("".join(word))
                word.clear()

        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in closers or ch == "|":
                break
            if ch in "([":
                flush()
                self.pos += 1
                parts.append(self._group(optional=ch == "["))
            elif ch == "<":
                flush()
                parts.append(self._list())
            elif ch in ")]":
                raise self.error(f"unmatched {ch!r}")
            else:
                word.append(ch)
                self.pos += 1
        flush()
        return _Seq(tuple(parts))

    def _list(self) -> _Alt:
        end = self.text.find(">", self.pos)
        if end < 0:
            raise self.error("missing '>'")
        name = self.text[self.pos + 1 : end]
        if name not in self.lists:
            raise self.error(f"unknown list <{name}>")
        self.pos = end + 1
        return _Alt(tuple(_Seq((value,)) for value in self.lists[name]), optional=False)

    def _group(self, optional: bool) -> _Alt:
        closer = "]" if optional else ")"
        options = [self._sequence(closers=closer)]
        while self.pos < len(self.text) and self.text[self.pos] == "|":
            self.pos += 1
            options.append(self._sequence(closers=closer))
        if self.pos >= len(self.text) or self.text[self.pos] != closer:
            raise self.error(f"missing {closer!r}")
        self.pos += 1
        return _Alt(tuple(options), optional)


def _expand(node: _Node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, _Alt):
        out: list[str] = [""] if node.optional else []
        for option in node.options:
            out.extend(_expand(option))
        return out
    pieces = [_expand(p) for p in node.parts]
    total = 1
    for p in pieces:
        total *= len(p)
        if total > MAX_EXPANSIONS:
            raise TemplateError(f"describes more than {MAX_EXPANSIONS} sentences; split it up")
    return ["".join(combo) for combo in itertools.product(*pieces)]


def expand(template: str, lists: dict[str, list[str]] | None = None) -> list[str]:
    """Every sentence ``template`` describes, whitespace-normalised, in order, no repeats.

    ``lists`` holds the word lists that ``<name>`` refers to.
    """
    if not template.strip():
        raise TemplateError("empty template")
    tree = _Parser(template, lists).parse()
    seen: dict[str, None] = {}
    for sentence in _expand(tree):
        clean = " ".join(sentence.split())
        if clean:
            seen.setdefault(clean, None)
    return list(seen)


def slots_in(template: str) -> set[str]:
    """Names of the ``{slot}`` references in ``template``."""
    return set(_SLOT.findall(template))
