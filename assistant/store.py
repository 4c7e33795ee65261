"""The person's private store: sessions with distress ratings, and the voice journal.

One SQLite file, ``steady.db``, in the person's data folder (WAL mode). The promises:

* Every write is its own short transaction, so killing the process at any moment
  loses at most the entry being written; a busy timeout lets two Steady processes
  write at once without corrupting anything.
* Files are created 0600 and the folder 0700 (SQLite gives ``-wal`` and ``-shm`` the
  database file's mode).
* A damaged file is found at open, renamed aside as a timestamped backup (never
  overwritten or deleted), and a new store started; :attr:`Store.warning` says where
  the backup is.
* The schema grows by an ordered list of migrations (``PRAGMA user_version``).
* With a passphrase, session feelings and journal text and audio are sealed with
  authenticated encryption (:mod:`assistant.crypto`).

Nothing here logs what the person said above DEBUG (and journal text not at all).
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from assistant.closing import Closing
from assistant.crypto import KdfParams, PassphraseNeededError, SealedDataError, Sealer, new_salt
from assistant.errors import SteadyError, StorageError
from assistant.paths import ensure_private_dir

log = logging.getLogger(__name__)

DB_NAME = "steady.db"
BUSY_TIMEOUT_SECONDS = 15.0
"""How long a write waits for another Steady process to finish its own."""
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_FULL = 13
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_T = TypeVar("_T")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the first release.
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started TEXT NOT NULL,
            feeling TEXT,
            exercise TEXT,
            minutes REAL,
            before INTEGER,
            after INTEGER
        )""",
        """CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created TEXT NOT NULL,
            seconds REAL NOT NULL,
            text TEXT NOT NULL,
            audio BLOB
        )""",
    ),
    # 2: encryption at rest (salt, KDF cost, check value) and a per-row sealed flag.
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
        "ALTER TABLE sessions ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE journal ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX sessions_by_start ON sessions (started, id)",
    ),
)
"""Schema steps in order; step ``i`` takes ``user_version`` from ``i`` to ``i + 1``.
Never edit a released step: add a new one."""

SCHEMA_VERSION = len(MIGRATIONS)


class EntryNotFoundError(SteadyError):
    """A journal entry or session number that is not in the store."""

    exit_code = 1


@dataclass(frozen=True)
class SessionRecord:
    """One conversation about a feeling: what was tried and how it went."""

    id: int
    started: datetime
    """When the session began (timezone-aware, UTC)."""
    feeling: str | None
    exercise: str | None
    minutes: float | None
    """How long the exercise ran."""
    before: int | None
    """Distress 0–10 before the exercise (SUDS)."""
    after: int | None
    """Distress 0–10 after it."""

    @property
    def rated(self) -> bool:
        """True when an exercise was done and rated both before and after."""
        return self.exercise is not None and self.before is not None and self.after is not None

    def as_json(self) -> dict[str, object]:
        return {
            "started": self.started.isoformat(),
            "feeling": self.feeling,
            "exercise": self.exercise,
            "minutes": self.minutes,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class ToolStat:
    """How one exercise has worked for this person, over their rated sessions."""

    exercise: str
    mean_drop: float
    """Mean of ``before - after``: positive means distress went down."""
    times: int
    last_used: datetime


@dataclass(frozen=True)
class JournalEntry:
    id: int
    created: datetime
    seconds: float
    """How long the person spoke."""
    text: str
    has_audio: bool

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created": self.created.isoformat(),
            "seconds": self.seconds,
            "text": self.text,
            "has_audio": self.has_audio,
        }


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def database_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


class Store(Closing):
    """The private store; open with :meth:`open`, use as a context manager or :meth:`close`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        sealer: Sealer | None,
        warning: str | None,
        now: Callable[[], datetime],
    ) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._sealer = sealer
        self._now = now
        self.path = path
        self.warning = warning
        """One sentence for the person when the store had to be set aside at open."""

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: Path,
        passphrase: str | None = None,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> Store:
        """Open (or create) the store in ``data_dir``.

        Raises :class:`~assistant.crypto.PassphraseNeededError` for an encrypted store
        opened without a passphrase, :class:`~assistant.crypto.WrongPassphraseError`
        for a wrong one (nothing is changed), :class:`StorageError` when the file
        cannot be opened at all. A passphrase given for a store that is not encrypted
        is not used: call :meth:`enable_encryption` to turn encryption on.
        """
        folder = Path(data_dir)
        try:
            ensure_private_dir(folder)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the data folder {folder} ({exc.strerror})."
            ) from None
        path = database_path(folder)
        warning: str | None = None
        conn = _connect_checked(path)
        if isinstance(conn, int):
            backup = _set_aside(path, now(), conn)
            if backup is not None:
                warning = (
                    f"Your Steady data file was damaged; it was kept as {backup} "
                    "and a new one was started."
                )
                log.warning("%s", warning)
            conn = _connect_checked(path)
            if isinstance(conn, int):  # pragma: no cover - a fresh file is never damaged
                raise StorageError(f"Cannot start a new data file at {path}.")
        try:
            _migrate(conn, path)
            sealer = _unlock(conn, path, passphrase)
        except BaseException:
            conn.close()
            raise
        _tighten(path)
        return cls(conn, path, sealer, warning, now)

    @property
    def encrypted(self) -> bool:
        return self._sealer is not None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- sessions ------------------------------------------------------------------

    def start_session(
        self, feeling: str | None, before: int | None = None, *, started: datetime | None = None
    ) -> int:
        """Record the start of a session; returns its id. ``started`` defaults to now."""
        _check_rating(before)
        when = _aware(started or self._now())
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO sessions (started, before, sealed) VALUES (?, ?, ?)",
                (when.isoformat(), before, int(self.encrypted)),
            )
            session_id = _rowid(cur)
            conn.execute(
                "UPDATE sessions SET feeling = ? WHERE id = ?",
                (self._seal_text(feeling, "sessions.feeling", session_id), session_id),
            )
        log.debug("started session %d (feeling %s, before %s)", session_id, feeling, before)
        return session_id

    def update_session(
        self,
        session_id: int,
        *,
        exercise: str | None = None,
        minutes: float | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> None:
        """Set the given fields of a session (``None`` leaves a field as it is)."""
        _check_rating(before)
        _check_rating(after)
        if minutes is not None and minutes < 0:
            raise ValueError(f"minutes must not be negative, not {minutes}")
        changes = {
            k: v
            for k, v in (
                ("exercise", exercise),
                ("minutes", minutes),
                ("before", before),
                ("after", after),
            )
            if v is not None
        }
        with self._tx() as conn:
            if not changes:
                found = conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,))
                missing = found.fetchone() is None
            else:
                columns = ", ".join(f"{k} = ?" for k in changes)
                cur = conn.execute(
                    f"UPDATE sessions SET {columns} WHERE id = ?", (*changes.values(), session_id)
                )
                missing = cur.rowcount == 0
            if missing:
                raise EntryNotFoundError(f"There is no session number {session_id}.")
        log.debug("updated session %d: %s", session_id, changes)

    def sessions(self) -> list[SessionRecord]:
        """Every session, oldest first."""
        rows = self._read(
            "SELECT id, started, feeling, exercise, minutes, before, after, sealed "
            "FROM sessions ORDER BY started, id"
        )
        return [self._session(row) for row in rows]

    def last_session(self, with_exercise: bool = True) -> SessionRecord | None:
        """The most recent session (with an exercise, unless ``with_exercise`` is False)."""
        where = "WHERE exercise IS NOT NULL " if with_exercise else ""
        rows = self._read(
            "SELECT id, started, feeling, exercise, minutes, before, after, sealed "
            f"FROM sessions {where}ORDER BY started DESC, id DESC LIMIT 1"
        )
        return self._session(rows[0]) if rows else None

    def rated_sessions(self, feeling: str | None = None) -> list[SessionRecord]:
        """Sessions with an exercise and both ratings (for ``feeling``, if given)."""
        return [s for s in self.sessions() if s.rated and (feeling is None or s.feeling == feeling)]

    def tool_stats(self, feeling: str | None = None) -> list[ToolStat]:
        """What helped: per exercise over rated sessions, the best mean drop first.

        Ties go to the exercise used more often, then the one used more recently.
        """
        groups: dict[str, list[SessionRecord]] = {}
        for s in self.rated_sessions(feeling):
            assert s.exercise is not None
            groups.setdefault(s.exercise, []).append(s)
        stats = []
        for exercise, runs in groups.items():
            drops = [
                r.before - r.after for r in runs if r.before is not None and r.after is not None
            ]
            stats.append(
                ToolStat(
                    exercise=exercise,
                    mean_drop=sum(drops) / len(drops),
                    times=len(runs),
                    last_used=max(r.started for r in runs),
                )
            )
        stats.sort(key=lambda t: (-t.mean_drop, -t.times, -t.last_used.timestamp(), t.exercise))
        return stats

    def rated_count(self, feeling: str | None = None) -> int:
        """How many sessions have an exercise and both ratings (for ``feeling``, if given)."""
        return len(self.rated_sessions(feeling))

    # -- journal -------------------------------------------------------------------

    def add_journal(
        self,
        text: str,
        seconds: float,
        audio_wav: bytes | None = None,
        *,
        created: datetime | None = None,
    ) -> int:
        """Save a journal entry (audio only if given); returns its id."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, not {seconds}")
        when = _aware(created or self._now())
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO journal (created, seconds, text, sealed) VALUES (?, ?, '', ?)",
                (when.isoformat(), float(seconds), int(self.encrypted)),
            )
            entry_id = _rowid(cur)
            conn.execute(
                "UPDATE journal SET text = ?, audio = ? WHERE id = ?",
                (
                    self._seal_text(text, "journal.text", entry_id),
                    self._seal_bytes(audio_wav, "journal.audio", entry_id),
                    entry_id,
                ),
            )
        log.info("saved journal entry %d (%.0f s%s)", entry_id, seconds,
                 ", with audio" if audio_wav else "")  # fmt: skip
        return entry_id

    def journal(self) -> list[JournalEntry]:
        """Every journal entry, oldest first (without audio)."""
        rows = self._read(
            "SELECT id, created, seconds, text, audio IS NOT NULL, sealed "
            "FROM journal ORDER BY created, id"
        )
        return [self._entry(row) for row in rows]

    def journal_entry(self, entry_id: int) -> JournalEntry:
        rows = self._read(
            "SELECT id, created, seconds, text, audio IS NOT NULL, sealed "
            "FROM journal WHERE id = ?",
            (entry_id,),
        )
        if not rows:
            raise _no_entry(entry_id)
        return self._entry(rows[0])

    def journal_audio(self, entry_id: int) -> bytes | None:
        """The WAV bytes of an entry, or ``None`` when its audio was not kept."""
        rows = self._read("SELECT audio, sealed FROM journal WHERE id = ?", (entry_id,))
        if not rows:
            raise _no_entry(entry_id)
        audio, sealed = rows[0]
        if audio is None:
            return None
        if sealed:
            return self._open(audio, "journal.audio", entry_id)
        return bytes(audio)

    def delete_journal(self, entry_id: int) -> None:
        with self._tx() as conn:
            cur = conn.execute("DELETE FROM journal WHERE id = ?", (entry_id,))
            if cur.rowcount == 0:
                raise _no_entry(entry_id)
        self._scrub(vacuum=False)
        log.info("deleted journal entry %d", entry_id)

    # -- everything ----------------------------------------------------------------

    def forget_all(self) -> None:
        """Delete every session and journal entry, and scrub them from the file.

        Encryption, if on, stays on with the same passphrase.
        """
        with self._tx() as conn:
            conn.execute("DELETE FROM sessions")
            conn.execute("DELETE FROM journal")
            conn.execute("DELETE FROM sqlite_sequence")
        self._scrub(vacuum=True)
        log.info("forgot every session and journal entry in %s", self.path)

    def enable_encryption(self, passphrase: str) -> None:
        """Turn on encryption at rest, sealing every existing feeling and journal entry.

        All in one transaction: if it is interrupted, the store stays as it was.
        """
        if not passphrase:
            raise StorageError("A passphrase cannot be empty.")
        if self._sealer is not None:
            raise StorageError("Your Steady data is already encrypted.")
        params = KdfParams()
        salt = new_salt()
        sealer = Sealer.from_passphrase(passphrase, salt, params)
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("kdf", params.to_json()), ("salt", salt), ("check", sealer.check_value())],
            )
            self._sealer = sealer
            try:
                for sid, feeling in conn.execute(
                    "SELECT id, feeling FROM sessions WHERE sealed = 0"
                ).fetchall():
                    conn.execute(
                        "UPDATE sessions SET feeling = ?, sealed = 1 WHERE id = ?",
                        (self._seal_text(feeling, "sessions.feeling", sid), sid),
                    )
                for eid, text, audio in conn.execute(
                    "SELECT id, text, audio FROM journal WHERE sealed = 0"
                ).fetchall():
                    conn.execute(
                        "UPDATE journal SET text = ?, audio = ?, sealed = 1 WHERE id = ?",
                        (
                            self._seal_text(text, "journal.text", eid),
                            self._seal_bytes(audio, "journal.audio", eid),
                            eid,
                        ),
                    )
            except BaseException:
                self._sealer = None
                raise
        self._scrub(vacuum=True)
        log.info("encryption at rest is on for %s", self.path)

    def integrity_ok(self) -> bool:
        """True when SQLite's full integrity check finds nothing wrong."""
        rows = self._read("PRAGMA integrity_check")
        return [tuple(r) for r in rows] == [("ok",)]

    # -- internals -----------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (``BEGIN IMMEDIATE``: waits for other writers)."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _storage_error(exc, self.path) from None
            try:
                if self._sealer is None:
                    other = conn.execute("SELECT 1 FROM meta WHERE key = 'salt'").fetchone()
                    if other is not None:
                        raise PassphraseNeededError(
                            "Your Steady data was encrypted by another Steady; "
                            "start again with its passphrase."
                        )
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise _storage_error(exc, self.path) from None
            except BaseException:
                _rollback(conn)
                raise

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _storage_error(exc, self.path) from None

    def _scrub(self, vacuum: bool) -> None:
        """Best effort: rewrite the file and empty the WAL so removed text is gone."""
        with self._lock:
            try:
                if vacuum:
                    self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.OperationalError as exc:  # busy with another process: later
                log.debug("could not compact %s now: %s", self.path, exc)

    def _seal_text(self, value: str | None, column: str, rowid: int) -> str | bytes | None:
        if value is None or self._sealer is None:
            return value
        return self._sealer.seal(value.encode("utf-8"), _aad(column, rowid))

    def _seal_bytes(self, value: bytes | None, column: str, rowid: int) -> bytes | None:
        if value is None or self._sealer is None:
            return value
        return self._sealer.seal(bytes(value), _aad(column, rowid))

    def _open(self, value: bytes, column: str, rowid: int) -> bytes:
        if self._sealer is None:
            raise PassphraseNeededError(
                "Part of your Steady data is encrypted; give its passphrase."
            )
        return self._sealer.open(bytes(value), _aad(column, rowid))

    def _text(self, value: str | bytes | None, sealed: int, column: str, rowid: int) -> str | None:
        if value is None:
            return None
        if sealed:
            if not isinstance(value, bytes):
                raise SealedDataError(f"A sealed value in {self.path} is not sealed data.")
            return self._open(value, column, rowid).decode("utf-8")
        return str(value)

    def _session(self, row: Any) -> SessionRecord:
        sid, started, feeling, exercise, minutes, before, after, sealed = row
        return SessionRecord(
            id=sid,
            started=_parse_time(started),
            feeling=self._text(feeling, sealed, "sessions.feeling", sid),
            exercise=exercise,
            minutes=minutes,
            before=before,
            after=after,
        )

    def _entry(self, row: Any) -> JournalEntry:
        eid, created, seconds, text, has_audio, sealed = row
        return JournalEntry(
            id=eid,
            created=_parse_time(created),
            seconds=float(seconds),
            text=self._text(text, sealed, "journal.text", eid) or "",
            has_audio=bool(has_audio),
        )


# -- module helpers ----------------------------------------------------------------


def _aad(column: str, rowid: int) -> bytes:
    """Binds a sealed value to its column and row, so values cannot be swapped."""
    return f"steady.{column}.{rowid}".encode()


def _rowid(cur: sqlite3.Cursor) -> int:
    rowid = cur.lastrowid
    if rowid is None:  # pragma: no cover - an INSERT always sets it
        raise StorageError("The store did not number a new entry.")
    return rowid


def _no_entry(entry_id: int) -> EntryNotFoundError:
    return EntryNotFoundError(
        f"There is no journal entry number {entry_id} (see `steady journal list`)."
    )


def _check_rating(value: int | None) -> None:
    if value is not None and not (isinstance(value, int) and 0 <= value <= 10):
        raise ValueError(f"a distress rating is a whole number from 0 to 10, not {value!r}")


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.astimezone()


def _parse_time(text: str) -> datetime:
    return _aware(datetime.fromisoformat(text))


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # pragma: no cover - SQLite already rolled back
            log.debug("rollback failed: %s", exc)


def _errorcode(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is_damage(exc: sqlite3.Error) -> bool:
    code = _errorcode(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _storage_error(exc: sqlite3.Error, path: Path) -> StorageError:
    code = _errorcode(exc)
    text = str(exc).lower()
    if code == _SQLITE_FULL or "disk is full" in text:
        return StorageError(f"The disk is full, so Steady could not save to {path}.")
    if "locked" in text or "busy" in text:
        return StorageError("Another Steady is busy with your data; try again in a moment.")
    if _is_damage(exc):
        return StorageError(
            f"Your Steady data file {path} is damaged; start Steady again to set it aside."
        )
    return StorageError(f"Steady could not use its data file {path} ({exc}).")


def _create_private(path: Path) -> int:
    """Create ``path`` empty with mode 0600 if it is missing; tighten it if it is looser.

    Returns its inode number.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        info = os.fstat(fd)
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
        return info.st_ino
    finally:
        os.close(fd)


def _tighten(path: Path) -> None:
    for extra in ("-wal", "-shm"):
        side = path.with_name(path.name + extra)
        try:
            if side.stat().st_mode & 0o077:
                os.chmod(side, 0o600)
        except FileNotFoundError:
            pass


def _is_busy(exc: sqlite3.Error) -> bool:
    code = _errorcode(exc)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(exc).lower()


def _until_not_busy(step: Callable[[], _T], path: Path) -> _T:
    """Run ``step``, retrying while another process holds a lock SQLite does not wait for.

    Switching to WAL, recovering a WAL and reading a schema another process is creating
    can report "busy" at once instead of calling the busy handler.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            log.debug("%s is busy (%s); trying again", path, exc)
            time.sleep(random.uniform(0.005, 0.05))


def _connect_checked(path: Path) -> sqlite3.Connection | int:
    """A connection in WAL mode or, when the file is damaged, its inode number.

    SQLite itself reads the header (under its locks, so a file another process is
    creating is never mistaken for a damaged one): a file that is not a database, or
    a short one, is SQLITE_NOTADB; damaged pages fail ``quick_check``.
    """
    try:
        inode = _create_private(path)
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
    except OSError as exc:
        raise StorageError(f"Cannot open the data file {path} ({exc.strerror}).") from None
    except sqlite3.Error as exc:
        raise _storage_error(exc, path) from None

    def setup() -> list[Any]:
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA secure_delete = ON")
        return conn.execute("PRAGMA quick_check").fetchall()

    try:
        check = _until_not_busy(setup, path)
    except sqlite3.Error as exc:
        conn.close()
        if _is_damage(exc):
            log.debug("%s is damaged: %s", path, exc)
            return inode
        raise _storage_error(exc, path) from None
    if [tuple(r) for r in check] != [("ok",)]:
        log.debug("quick_check of %s: %s", path, check[:5])
        conn.close()
        return inode
    return conn


def _move_aside(src: Path, dst: Path) -> bool:
    """Move ``src`` to ``dst`` without ever replacing an existing ``dst``."""
    try:
        os.link(src, dst)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some network or FAT file systems)
        if dst.exists():
            return False
        os.rename(src, dst)
        return True
    os.unlink(src)
    return True


def _set_aside(path: Path, when: datetime, inode: int) -> Path | None:
    """Rename a damaged database (and its WAL) to a new timestamped backup name.

    ``None`` when the file at ``path`` is no longer the damaged one (``inode``): another
    Steady set it aside first.
    """
    try:
        if path.stat().st_ino != inode:
            return None
    except FileNotFoundError:
        return None
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    n = 0
    while True:
        suffix = f".damaged-{stamp}" + (f"-{n}" if n else "")
        backup = path.with_name(path.name + suffix)
        try:
            if _move_aside(path, backup):
                break
        except OSError as exc:
            raise StorageError(
                f"Your Steady data file {path} is damaged and could not be set aside "
                f"({exc.strerror}); move it away yourself."
            ) from None
        n += 1
    for extra in ("-wal", "-shm"):
        side = path.with_name(path.name + extra)
        if side.exists():
            try:
                _move_aside(side, backup.with_name(backup.name + extra))
            except OSError as exc:  # pragma: no cover - same folder as the database
                log.debug("could not move %s aside: %s", side, exc)
    return backup


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to :data:`SCHEMA_VERSION`, one transaction per step."""
    try:
        version = int(
            _until_not_busy(lambda: conn.execute("PRAGMA user_version").fetchone(), path)[0]
        )
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"Your data file {path} was written by a newer Steady; update Steady to use it."
            )
        while version < SCHEMA_VERSION:
            _until_not_busy(lambda: conn.execute("BEGIN IMMEDIATE"), path)
            try:
                # Another process may have migrated while this one waited for the lock.
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if version < SCHEMA_VERSION:
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement)
                    version += 1
                    conn.execute(f"PRAGMA user_version = {version}")
                    log.info("migrated %s to schema version %d", path, version)
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
    except sqlite3.Error as exc:
        raise _storage_error(exc, path) from None


def _unlock(conn: sqlite3.Connection, path: Path, passphrase: str | None) -> Sealer | None:
    try:
        meta = dict(
            _until_not_busy(lambda: conn.execute("SELECT key, value FROM meta").fetchall(), path)
        )
    except sqlite3.Error as exc:
        raise _storage_error(exc, path) from None
    if "salt" not in meta:
        if passphrase:
            log.info("%s is not encrypted; run `steady encrypt` to turn encryption on", path)
        return None
    if not passphrase:
        raise PassphraseNeededError(
            "Your Steady data is encrypted; give its passphrase in STEADY_PASSPHRASE "
            "or type it when asked."
        )
    if "check" not in meta or "kdf" not in meta:
        raise StorageError(
            f"The encryption settings in {path} are incomplete; restore a backup of it."
        )
    sealer = Sealer.from_passphrase(
        passphrase, bytes(meta["salt"]), KdfParams.from_json(meta["kdf"])
    )
    sealer.verify(bytes(meta["check"]))
    return sealer
