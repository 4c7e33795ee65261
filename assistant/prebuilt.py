"""Tables Steady derives from its bundled sentences, kept on disk between starts.

Every start used to expand the example sentences (about 45,000), normalise each one,
find the numbers in them, count their words and list the recognizer's grammar: about
2 s of pure Python before Steady could listen, here, and several times that on a
Raspberry Pi. None of it changes until Steady itself does, so the first start keeps
the result and later ones read it back in a few hundredths of a second.

Each table is stored under a key made from the bytes of every bundled data file and
every module of the package (and the Python version): any change to either, an
update or an edit, builds the tables afresh. A file that cannot be read back, for any
reason, is built again. The crisis rules are never kept here: they are read and
compiled from their own file on every start, so nothing stale can stand between a
person and the crisis reply.

The folder is private to the person (0700, files 0600), like the speech cache beside
it: a table is read back with :mod:`pickle`, which trusts what it reads.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from assistant.paths import ensure_private_dir, intents_dir

log = logging.getLogger(__name__)

FORMAT = 1
"""Raised when the way tables are stored changes (the key changes with it)."""
SUFFIX = ".pickle"

T = TypeVar("T")


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def source_key(folders: tuple[Path, ...] | None = None) -> str:
    """A digest of every file the tables are built from: the bundled data and the code
    (by default ``intents/`` and the ``assistant`` package), and the Python version."""
    digest = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
    for folder in folders if folders is not None else (intents_dir(), _package_dir()):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.suffix in (".pyc", ".pyo"):
                continue
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


class Prebuilt:
    """Tables kept in ``folder`` between starts (``None``: built every time, kept nowhere)."""

    def __init__(self, folder: Path | None, key: Callable[[], str] = source_key) -> None:
        self.folder = folder
        self._key = key
        self._writing: list[threading.Thread] = []

    @classmethod
    def under(cls, home: Path) -> Prebuilt:
        """The tables of the person's data folder ``home`` (``home/cache/tables``)."""
        return cls(home / "cache" / "tables")

    @functools.cached_property
    def key(self) -> str:
        return self._key()

    def get(self, name: str, kind: type[T], build: Callable[[], T]) -> T:
        """The table ``name`` (a ``kind``) as kept, or built by ``build`` and kept."""
        if self.folder is None:
            return build()
        try:
            path = self.folder / f"{name}-{self.key[:24]}{SUFFIX}"
        except OSError as exc:  # a data file that cannot be read is reported by build()
            log.debug("no key for the kept tables (%s); building them", exc)
            return build()
        try:
            with path.open("rb") as f:
                value = pickle.load(f)
            if isinstance(value, kind):
                log.debug("read %s back from %s", name, path)
                return value
            log.debug("%s held a %s, not a %s; building it again", path, type(value), kind)
        except FileNotFoundError:
            log.debug("%s not kept yet; building it", name)
        except Exception as exc:  # a damaged or foreign file: build it again
            log.debug("cannot read %s back (%s); building it again", path, exc)
        value = build()
        # Written beside the start, not in its way: pickling may wait for a table that
        # is still being finished on a thread (the matcher's word counts).
        writer = threading.Thread(target=self._keep, args=(name, path, value), daemon=True)
        writer.start()
        self._writing.append(writer)
        return value

    def wait(self) -> None:
        """Until the tables built so far are written (a start cut short just leaves them
        to be built again next time)."""
        for writer in self._writing:
            writer.join()

    def _keep(self, name: str, path: Path, value: object) -> None:
        """Write ``value`` to ``path`` whole or not at all, and drop ``name``'s older keys."""
        tmp: str | None = None
        try:
            folder = ensure_private_dir(path.parent)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".tmp", dir=folder)
            with os.fdopen(fd, "wb") as f:  # mkstemp makes it 0600
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            tmp = None
            for old in folder.glob(f"{name}-*{SUFFIX}"):
                if old != path:
                    old.unlink(missing_ok=True)
            for stale in folder.glob(f".{name}-*.tmp"):  # left by a start cut short
                stale.unlink(missing_ok=True)
        except Exception as exc:  # keeping them is a saving, never a reason to fail
            log.debug("could not keep %s in %s (%s)", name, path.parent, exc)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


NOT_KEPT = Prebuilt(None)
"""Tables built every time and kept nowhere (tests, and data that is not Steady's own)."""
