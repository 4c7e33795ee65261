"""The private store: round trips, what-helped maths, migrations, permissions, crash
safety, two writers, damaged files, and encryption at rest."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.crypto import (
    PassphraseNeededError,
    SealedDataError,
    Sealer,
    WrongPassphraseError,
)
from assistant.errors import SteadyError, StorageError
from assistant.store import (
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    EntryNotFoundError,
    SessionRecord,
    Store,
)
from tests.conftest import ROOT

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "data") as s:
        yield s


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_sentence(message: str) -> None:
    assert message and "\n" not in message
    assert message.rstrip().endswith(".")


# -- round trips ---------------------------------------------------------------------


def test_session_round_trip(store: Store) -> None:
    sid = store.start_session("anxious", 7, started=T0)
    store.update_session(sid, exercise="box breathing", minutes=4.5, after=3)
    other = store.start_session(None, started=T0 + timedelta(hours=1))
    [first, second] = store.sessions()
    assert first == SessionRecord(sid, T0, "anxious", "box breathing", 4.5, 7, 3)
    assert second.id == other and second.feeling is None and second.before is None
    assert first.as_json() == {
        "started": "2025-03-01T09:00:00+00:00",
        "feeling": "anxious",
        "exercise": "box breathing",
        "minutes": 4.5,
        "before": 7,
        "after": 3,
    }
    assert store.last_session() == first
    assert store.last_session(with_exercise=False) == second


def test_update_leaves_other_fields_alone(store: Store) -> None:
    sid = store.start_session("sad")
    store.update_session(sid, before=6)
    store.update_session(sid, exercise="grounding")
    store.update_session(sid, after=4)
    [s] = store.sessions()
    assert (s.feeling, s.exercise, s.before, s.after, s.minutes) == ("sad", "grounding", 6, 4, None)


def test_bad_session_updates(store: Store) -> None:
    with pytest.raises(EntryNotFoundError) as err:
        store.update_session(99, after=3)
    one_sentence(str(err.value))
    with pytest.raises(EntryNotFoundError):
        store.update_session(99)
    sid = store.start_session("sad")
    for bad in (-1, 11):
        with pytest.raises(ValueError):
            store.update_session(sid, after=bad)
    with pytest.raises(ValueError):
        store.start_session("sad", 12)
    assert store.last_session(with_exercise=False) is not None
    assert store.last_session() is None


def test_journal_round_trip(store: Store) -> None:
    wav = b"RIFF" + bytes(range(256)) * 10
    a = store.add_journal("I walked to the river.", 42.5, wav, created=T0)
    b = store.add_journal("Short one.", 3.0, created=T0 + timedelta(minutes=5))
    entries = store.journal()
    assert [e.id for e in entries] == [a, b]
    assert entries[0].text == "I walked to the river." and entries[0].has_audio
    assert entries[0].seconds == 42.5 and entries[0].created == T0
    assert not entries[1].has_audio
    assert store.journal_entry(b).text == "Short one."
    assert store.journal_audio(a) == wav
    assert store.journal_audio(b) is None
    store.delete_journal(a)
    assert [e.id for e in store.journal()] == [b]
    for missing in (store.journal_entry, store.journal_audio, store.delete_journal):
        with pytest.raises(SteadyError) as err:
            missing(a)
        one_sentence(str(err.value))


def test_ids_are_not_reused_after_delete(store: Store) -> None:
    a = store.add_journal("one", 1)
    store.delete_journal(a)
    assert store.add_journal("two", 1) != a


def test_forget_all(store: Store) -> None:
    store.start_session("anxious", 5)
    store.add_journal("a secret thought", 2, b"audio-bytes")
    store.forget_all()
    assert store.sessions() == [] and store.journal() == []
    assert store.integrity_ok()
    store.close()
    for f in store.path.parent.glob(f"{DB_NAME}*"):
        assert b"a secret thought" not in f.read_bytes()


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"])), st.binary())
def test_journal_text_and_audio_survive_any_content(text: str, audio: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp)) as s:
        eid = s.add_journal(text, 1.0, audio)
        assert s.journal_entry(eid).text == text
        assert s.journal_audio(eid) == audio


# -- what helped -----------------------------------------------------------------------


def seed(store: Store, rows: list[tuple[str | None, str | None, int | None, int | None]]) -> None:
    for i, (feeling, exercise, before, after) in enumerate(rows):
        sid = store.start_session(feeling, before, started=T0 + timedelta(days=i))
        store.update_session(sid, exercise=exercise, minutes=3.0 if exercise else None, after=after)


def test_tool_stats_on_a_seeded_history(store: Store) -> None:
    seed(
        store,
        [
            ("anxious", "box breathing", 8, 4),  # day 0: -4
            ("anxious", "grounding", 7, 6),  # day 1: -1
            ("sad", "box breathing", 6, 6),  # day 2: 0
            ("anxious", "box breathing", 7, 5),  # day 3: -2
            ("anxious", "grounding", 6, 3),  # day 4: -3
            ("anxious", "muscle relaxation", None, 2),  # no before: not rated
            ("sad", None, 5, None),  # no exercise: not rated
            ("angry", "walk", 5, 7),  # day 7: +2
        ],
    )
    stats = store.tool_stats()
    assert [(t.exercise, t.mean_drop, t.times) for t in stats] == [
        ("box breathing", 2.0, 3),
        ("grounding", 2.0, 2),
        ("walk", -2.0, 1),
    ]
    assert stats[0].last_used == T0 + timedelta(days=3)
    anxious = store.tool_stats("anxious")
    assert [(t.exercise, t.mean_drop, t.times) for t in anxious] == [
        ("box breathing", 3.0, 2),
        ("grounding", 2.0, 2),
    ]
    assert store.rated_count() == 6
    assert store.rated_count("anxious") == 4
    assert store.rated_count("sad") == 1
    assert store.tool_stats("calm") == [] and store.rated_count("calm") == 0
    last = store.last_session()
    assert last is not None and last.exercise == "walk"


ratings = st.one_of(st.none(), st.integers(0, 10))
history_rows = st.lists(
    st.tuples(
        st.sampled_from(["anxious", "sad", None]),
        st.one_of(st.none(), st.sampled_from(["box", "grounding", "walk"])),
        ratings,
        ratings,
    ),
    max_size=15,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history_rows, st.sampled_from(["anxious", "sad", None]))
def test_tool_stats_match_a_plain_computation(
    rows: list[tuple[str | None, str | None, int | None, int | None]], feeling: str | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp)) as s:
        seed(s, rows)
        stats = s.tool_stats(feeling)
        rated = [
            r for r in rows
            if r[1] is not None and r[2] is not None and r[3] is not None
            and (feeling is None or r[0] == feeling)
        ]  # fmt: skip
        assert s.rated_count(feeling) == len(rated) == sum(t.times for t in stats)
        for t in stats:
            drops = [r[2] - r[3] for r in rated if r[1] == t.exercise]  # type: ignore[operator]
            assert t.times == len(drops)
            assert t.mean_drop == pytest.approx(sum(drops) / len(drops))
        assert [t.mean_drop for t in stats] == sorted((t.mean_drop for t in stats), reverse=True)


# -- migrations ------------------------------------------------------------------------


def make_v1(path: Path) -> None:
    """A database exactly as the first release wrote it."""
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO sessions (started, feeling, exercise, minutes, before, after) "
        "VALUES ('2024-12-01T10:00:00+00:00', 'anxious', 'box breathing', 4.0, 7, 3)"
    )
    conn.execute(
        "INSERT INTO journal (created, seconds, text, audio) "
        "VALUES ('2024-12-02T10:00:00+00:00', 12.0, 'from the first release', x'0102')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_migrates_a_first_release_database(tmp_path: Path) -> None:
    make_v1(tmp_path / DB_NAME)
    with Store.open(tmp_path) as s:
        [session] = s.sessions()
        assert (session.feeling, session.exercise, session.before, session.after) == (
            "anxious", "box breathing", 7, 3,
        )  # fmt: skip
        [entry] = s.journal()
        assert entry.text == "from the first release" and s.journal_audio(entry.id) == b"\1\2"
        assert s.warning is None
        s.add_journal("after the upgrade", 1)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM journal").fetchone()[0] == 2
    conn.close()
    with Store.open(tmp_path) as s:  # opening again changes nothing
        assert len(s.journal()) == 2


def test_migrated_v1_database_can_be_encrypted(tmp_path: Path) -> None:
    make_v1(tmp_path / DB_NAME)
    with Store.open(tmp_path) as s:
        s.enable_encryption("a long passphrase")
    with Store.open(tmp_path, "a long passphrase") as s:
        assert s.journal()[0].text == "from the first release"
        assert s.sessions()[0].feeling == "anxious"


def test_a_newer_database_is_refused_not_changed(tmp_path: Path) -> None:
    with Store.open(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = (tmp_path / DB_NAME).read_bytes()
    with pytest.raises(StorageError, match="newer Steady"):
        Store.open(tmp_path)
    assert (tmp_path / DB_NAME).read_bytes() == before


# -- permissions -----------------------------------------------------------------------


def test_every_file_is_private_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        folder = tmp_path / "a" / "data"
        with Store.open(folder) as s:
            s.add_journal("private", 1.0, b"wav")
            s.start_session("anxious", 5)
            created = sorted(folder.iterdir())
            assert {p.name for p in created} >= {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"}
            for p in created:
                assert mode(p) == 0o600, p
        assert mode(folder) == 0o700
    finally:
        os.umask(old)


def test_a_loose_existing_database_is_tightened(tmp_path: Path) -> None:
    with Store.open(tmp_path):
        pass
    os.chmod(tmp_path / DB_NAME, 0o644)
    with Store.open(tmp_path):
        assert mode(tmp_path / DB_NAME) == 0o600


# -- crash safety and two writers ------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from assistant.store import Store

store = Store.open(Path(sys.argv[1]))
tag, count = sys.argv[2], int(sys.argv[3])
i = 0
while count < 0 or i < count:
    sid = store.start_session("anxious", 6)
    store.update_session(sid, exercise="box", minutes=1.0, after=4)
    eid = store.add_journal(f"{tag} {i}", 1.0, bytes(4000))
    print(sid, eid, flush=True)
    i += 1
store.close()
"""


def writer(folder: Path, tag: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder), tag, str(count)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip


def test_sigkill_during_a_burst_of_saves_loses_nothing_committed(tmp_path: Path) -> None:
    with Store.open(tmp_path):
        pass  # create it first, so the child starts writing at once
    child = writer(tmp_path, "burst", -1)
    assert child.stdout is not None
    committed = []
    for line in child.stdout:
        committed.append(tuple(int(x) for x in line.split()))
        if len(committed) >= 60:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # Lines the child printed before the kill but this test had not read yet.
    rest = child.stdout.read()
    committed += [tuple(int(x) for x in line.split()) for line in rest.splitlines(keepends=True)
                  if line.endswith("\n")]  # fmt: skip
    with Store.open(tmp_path) as s:
        assert s.warning is None
        assert s.integrity_ok()
        journal_ids = {e.id for e in s.journal()}
        session_ids = {x.id for x in s.sessions()}
        for sid, eid in committed:
            assert eid in journal_ids and sid in session_ids
        # At most the entry being written when the kill came is missing.
        assert len(journal_ids) - len(committed) in (0, 1)
        assert s.rated_count() >= len(committed)
        s.add_journal("after the crash", 1.0)


def test_two_processes_writing_at_once_corrupt_nothing(tmp_path: Path) -> None:
    # Both start on a folder with no store yet: they race to create and migrate it too.
    children = [writer(tmp_path, tag, 40) for tag in ("left", "right")]
    outputs = [c.communicate(timeout=120)[0] for c in children]
    assert [c.returncode for c in children] == [0, 0]
    with Store.open(tmp_path) as s:
        assert s.integrity_ok()
        texts = {e.text for e in s.journal()}
        assert texts == {f"{tag} {i}" for tag in ("left", "right") for i in range(40)}
        assert len(s.sessions()) == 80
        assert all(len(out.splitlines()) == 40 for out in outputs)


# -- damaged files ---------------------------------------------------------------------


def fill(folder: Path, n: int = 200) -> None:
    with Store.open(folder) as s:
        for i in range(n):
            s.add_journal(f"entry {i} " + "words " * 80, 1.0)


@pytest.mark.parametrize("damage", ["random", "truncated", "overwritten-page", "short"])
def test_a_damaged_file_is_set_aside_and_a_new_store_started(tmp_path: Path, damage: str) -> None:
    db = tmp_path / DB_NAME
    fill(tmp_path)
    size = db.stat().st_size
    if damage == "random":
        db.write_bytes(os.urandom(size))
    elif damage == "truncated":
        with open(db, "r+b") as f:
            f.truncate(size // 2)
    elif damage == "overwritten-page":
        with open(db, "r+b") as f:
            f.seek(4096 * 3)
            f.write(os.urandom(8192))
    else:
        db.write_bytes(db.read_bytes()[:50])
    damaged = db.read_bytes()
    stamp = datetime(2025, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    existing = tmp_path / f"{DB_NAME}.damaged-20250506T070809Z"
    existing.write_bytes(b"an older backup that must survive")
    with Store.open(tmp_path, now=lambda: stamp) as s:
        assert s.warning is not None
        one_sentence(s.warning)
        backup = tmp_path / f"{DB_NAME}.damaged-20250506T070809Z-1"
        assert str(backup) in s.warning
        assert backup.read_bytes() == damaged
        assert existing.read_bytes() == b"an older backup that must survive"
        assert s.journal() == [] and s.integrity_ok()
        s.add_journal("a fresh start", 1.0)
    with Store.open(tmp_path) as s:
        assert s.warning is None and [e.text for e in s.journal()] == ["a fresh start"]


def test_an_empty_file_is_simply_a_new_store(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"")
    with Store.open(tmp_path) as s:
        assert s.warning is None
        assert list(tmp_path.glob("*.damaged-*")) == []


def test_an_unusable_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as err:
        Store.open(blocker / "data")
    one_sentence(str(err.value))


# -- encryption ------------------------------------------------------------------------

PASS = "correct horse battery"


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob(f"{DB_NAME}*")))


def test_encryption_round_trip_and_nothing_readable_on_disk(tmp_path: Path) -> None:
    with Store.open(tmp_path) as s:
        old = s.add_journal("written before encryption", 5.0, b"OLD-AUDIO-BYTES")
        s.start_session("lonely-before", 4)
        s.enable_encryption(PASS)
        assert s.encrypted
        new = s.add_journal("written after encryption", 6.0, b"NEW-AUDIO-BYTES")
        s.start_session("lonely-after", 5)
        assert s.journal_entry(old).text == "written before encryption"
        assert s.journal_audio(new) == b"NEW-AUDIO-BYTES"
    on_disk = all_bytes(tmp_path)
    for secret in (b"written before", b"written after", b"OLD-AUDIO", b"NEW-AUDIO", b"lonely"):
        assert secret not in on_disk
    with Store.open(tmp_path, PASS) as s:
        assert [e.text for e in s.journal()] == [
            "written before encryption",
            "written after encryption",
        ]
        assert s.journal_audio(old) == b"OLD-AUDIO-BYTES"
        assert [x.feeling for x in s.sessions()] == ["lonely-before", "lonely-after"]
        with pytest.raises(StorageError, match="already encrypted"):
            s.enable_encryption("another passphrase")


def test_wrong_or_missing_passphrase_destroys_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path) as s:
        s.enable_encryption(PASS)
        s.add_journal("keep me", 1.0)
    before = all_bytes(tmp_path)
    with pytest.raises(WrongPassphraseError) as wrong:
        Store.open(tmp_path, "not the passphrase")
    one_sentence(str(wrong.value))
    with pytest.raises(PassphraseNeededError) as needed:
        Store.open(tmp_path)
    one_sentence(str(needed.value))
    assert "passphrase" in str(needed.value)
    assert all_bytes(tmp_path) == before
    assert list(tmp_path.glob("*.damaged-*")) == []
    with Store.open(tmp_path, PASS) as s:
        assert [e.text for e in s.journal()] == ["keep me"]


def test_a_passphrase_for_a_plain_store_changes_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path, "unused passphrase") as s:
        assert not s.encrypted
        s.add_journal("plain", 1.0)
    with Store.open(tmp_path) as s:
        assert s.journal()[0].text == "plain"


def test_sealed_values_cannot_be_swapped_between_entries(tmp_path: Path) -> None:
    with Store.open(tmp_path) as s:
        s.enable_encryption(PASS)
        a = s.add_journal("first", 1.0)
        b = s.add_journal("second", 1.0)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    text_b = conn.execute("SELECT text FROM journal WHERE id = ?", (b,)).fetchone()[0]
    conn.execute("UPDATE journal SET text = ? WHERE id = ?", (text_b, a))
    conn.commit()
    conn.close()
    with Store.open(tmp_path, PASS) as s, pytest.raises(SealedDataError):
        s.journal_entry(a)


def test_a_writer_without_the_key_cannot_add_plaintext_to_an_encrypted_store(
    tmp_path: Path,
) -> None:
    plain = Store.open(tmp_path)
    with Store.open(tmp_path) as other:
        other.enable_encryption(PASS)
    with plain, pytest.raises(PassphraseNeededError):
        plain.add_journal("would be stored unencrypted", 1.0)


@settings(max_examples=50, deadline=None)
@given(st.binary(), st.binary(max_size=40))
def test_sealer_round_trip_and_tamper_detection(plaintext: bytes, aad: bytes) -> None:
    sealer = Sealer(bytes(range(32)))
    sealed = sealer.seal(plaintext, aad)
    assert sealer.open(sealed, aad) == plaintext
    with pytest.raises(SealedDataError):
        sealer.open(sealed, aad + b"x")
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    with pytest.raises(SealedDataError):
        sealer.open(bytes(flipped), aad)
