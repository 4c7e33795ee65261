"""The toolbox commands through ``assistant.cli.main``: history, journal, export,
forget, encrypt and contacts, each on a private ``--data-dir``."""

from __future__ import annotations

import io
import json
import stat
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.app import _contacts
from assistant.cli import main
from assistant.store import DB_NAME, Store

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
PASS = "correct horse battery"


@pytest.fixture(autouse=True)
def _no_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEADY_PASSPHRASE", raising=False)
    monkeypatch.delenv("STEADY_HOME", raising=False)


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(home)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("steady: ")
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def seeded(home: Path) -> Path:
    """Three sessions (two rated) and two journal entries (the first with audio)."""
    with Store.open(home) as s:
        sid = s.start_session("anxious", 7, started=T0)
        s.update_session(sid, exercise="box breathing", minutes=4.0, after=3)
        sid = s.start_session("sad", 6, started=T0 + timedelta(days=1))
        s.update_session(sid, exercise="grounding", minutes=4.0, after=6)
        s.start_session("angry", started=T0 + timedelta(days=2))
        s.add_journal("I walked to the river and felt the cold air.", 83.0, b"RIFFwave", created=T0)
        s.add_journal("A second, shorter entry.", 9.0, created=T0 + timedelta(days=1))
    return home


# -- history ---------------------------------------------------------------------------


def test_history_empty(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "history")
    assert code == 0 and "No sessions yet." in out
    code, out, _ = run(capsys, tmp_path, "history", "--json")
    assert code == 0 and json.loads(out) == []


def test_history_json_one_record_per_session(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, seeded(tmp_path), "history", "--json")
    assert code == 0
    records = json.loads(out)
    assert len(records) == 3
    assert all(
        set(r) == {"started", "feeling", "exercise", "minutes", "before", "after"} for r in records
    )
    assert records[0] == {
        "started": "2025-03-01T09:00:00+00:00",
        "feeling": "anxious",
        "exercise": "box breathing",
        "minutes": 4.0,
        "before": 7,
        "after": 3,
    }
    assert records[2]["exercise"] is None and records[2]["before"] is None
    assert datetime.fromisoformat(records[1]["started"]) == T0 + timedelta(days=1)


def test_history_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, seeded(tmp_path), "history")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "#", "started", "feeling", "exercise", "minutes", "before", "after", "change"
    ]  # fmt: skip
    assert "box breathing" in lines[1] and lines[1].split()[-3:] == ["7", "3", "-4"]
    assert lines[2].split()[-1] == "0"
    assert len(lines) == 4


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_history_plot_is_a_private_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = seeded(tmp_path / "home")
    png = tmp_path / "chart.png"
    code, out, err = run(capsys, home, "history", "--plot", str(png))
    assert code == 0 and str(png) in err and "box breathing" in out
    width, height = png_size(png)
    assert width > 100 and height > 100
    assert mode(png) == 0o600
    from PIL import Image

    with Image.open(png) as image:
        image.verify()


def test_history_plot_without_ratings_still_makes_a_png(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    png = tmp_path / "empty.png"
    code, _, _ = run(capsys, tmp_path / "home", "history", "--plot", str(png))
    assert code == 0
    png_size(png)


def test_history_plot_into_a_missing_folder_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, tmp_path, "history", "--plot", str(tmp_path / "no" / "x.png"))
    assert code != 0
    assert "x.png" in one_line(err)


def test_history_plot_without_matplotlib_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    png = tmp_path / "chart.png"
    code, _, err = run(capsys, seeded(tmp_path / "home"), "history", "--plot", str(png))
    assert code != 0 and not png.exists()
    assert "steady-voice[plot]" in one_line(err)


# -- journal ---------------------------------------------------------------------------


def test_journal_list_show_delete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = seeded(tmp_path)
    code, out, _ = run(capsys, home, "journal", "list")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "1" and "1 min 23 s" in lines[0] and "[audio]" in lines[0]
    assert "9 s" in lines[1] and "[audio]" not in lines[1]

    code, out, _ = run(capsys, home, "journal", "show", "1")
    assert code == 0 and "I walked to the river and felt the cold air." in out

    code, out, _ = run(capsys, home, "journal", "delete", "1")
    assert code == 0 and "Deleted" in out
    code, _, err = run(capsys, home, "journal", "show", "1")
    assert code == 1 and "journal entry number 1" in one_line(err)
    code, _, err = run(capsys, home, "journal", "delete", "1")
    assert code == 1
    one_line(err)
    code, _, err = run(capsys, home, "journal", "show", "one")
    assert code == 2
    one_line(err)


def test_journal_export_md_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = seeded(tmp_path / "home")
    code, out, _ = run(capsys, home, "journal", "export")
    assert code == 0
    assert out.startswith("# ") and out.count("\n## ") == 2
    assert "I walked to the river" in out

    target = tmp_path / "journal.json"
    code, out, _ = run(capsys, home, "journal", "export", "--format", "json", "--out", str(target))
    assert code == 0 and out == ""
    records = json.loads(target.read_text(encoding="utf-8"))
    assert [r["text"] for r in records] == [
        "I walked to the river and felt the cold air.",
        "A second, shorter entry.",
    ]
    assert records[0]["has_audio"] is True and records[0]["seconds"] == 83.0
    assert mode(target) == 0o600


# -- export ----------------------------------------------------------------------------


def test_export_writes_everything_privately(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = seeded(tmp_path / "home")
    assert run(capsys, home, "contacts", "add", "Sam", "555 0100")[0] == 0
    (home / "config" / "config.yaml").write_text("rate_wpm: 150\n", encoding="utf-8")
    out_dir = tmp_path / "exported"
    code, out, _ = run(capsys, home, "export", str(out_dir))
    assert code == 0 and "3 sessions" in out and "2 journal entries" in out
    names = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*"))
    assert names == [
        "config.yaml", "contacts.yaml", "history.json", "journal", "journal.json",
        "journal/0001.wav",
    ]  # fmt: skip
    assert mode(out_dir) == 0o700 and mode(out_dir / "journal") == 0o700
    for p in out_dir.rglob("*"):
        if p.is_file():
            assert mode(p) == 0o600, p
    assert len(json.loads((out_dir / "history.json").read_text())) == 3
    journal = json.loads((out_dir / "journal.json").read_text())
    assert journal[0]["audio"] == "journal/0001.wav" and "audio" not in journal[1]
    assert (out_dir / "journal" / "0001.wav").read_bytes() == b"RIFFwave"
    assert "Sam" in (out_dir / "contacts.yaml").read_text()
    assert list(tmp_path.glob(".exported.*")) == []  # no staging folder left behind

    code, _, err = run(capsys, home, "export", str(out_dir))
    assert code == 1 and "already exists" in one_line(err)


# -- forget ----------------------------------------------------------------------------


def test_forget_refuses_without_yes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = seeded(tmp_path)
    run(capsys, home, "contacts", "add", "Sam", "555 0100")
    for answer in ("no\n", "", "y\n", "yes please\n"):
        monkeypatch.setattr("sys.stdin", io.StringIO(answer))
        code, _, err = run(capsys, home, "forget", "--all")
        assert code == 1, answer
        assert "nothing was deleted" in err and "Traceback" not in err
    with Store.open(home) as s:
        assert len(s.sessions()) == 3 and len(s.journal()) == 2
    assert (home / "config" / "contacts.yaml").exists()

    code, _, err = run(capsys, home, "forget")
    assert code == 2 and "--all" in one_line(err)


def test_forget_all_after_yes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = seeded(tmp_path)
    run(capsys, home, "contacts", "add", "Sam", "555 0100")
    (home / "steady.db.damaged-20250101T000000Z").write_bytes(b"old damaged copy")
    monkeypatch.setattr("sys.stdin", io.StringIO("YES\n"))
    code, out, _ = run(capsys, home, "forget", "--all")
    assert code == 0 and "Deleted" in out
    assert list(home.glob(f"{DB_NAME}*")) == []
    assert not (home / "config" / "contacts.yaml").exists()
    code, out, _ = run(capsys, home, "history", "--json")
    assert json.loads(out) == []


def test_forget_all_yes_flag_works_on_an_encrypted_store_without_its_passphrase(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = seeded(tmp_path)
    with Store.open(home) as s:
        s.enable_encryption(PASS)
    code, _, _ = run(capsys, home, "forget", "--all", "--yes")
    assert code == 0
    code, out, _ = run(capsys, home, "journal", "list")
    assert code == 0 and "No journal entries yet." in out


# -- encrypt ---------------------------------------------------------------------------


def test_encrypt_then_passphrase_is_needed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = seeded(tmp_path)
    code, _, err = run(capsys, home, "encrypt")
    assert code == 2 and "STEADY_PASSPHRASE" in one_line(err)
    monkeypatch.setenv("STEADY_PASSPHRASE", "short")
    code, _, err = run(capsys, home, "encrypt")
    assert code == 2 and "at least" in one_line(err)

    monkeypatch.setenv("STEADY_PASSPHRASE", PASS)
    code, out, _ = run(capsys, home, "encrypt")
    assert code == 0 and "encrypted" in out
    on_disk = b"".join(p.read_bytes() for p in home.glob(f"{DB_NAME}*"))
    assert b"walked to the river" not in on_disk and b"anxious" not in on_disk
    code, out, _ = run(capsys, home, "journal", "show", "1")
    assert code == 0 and "walked to the river" in out
    code, _, err = run(capsys, home, "encrypt")
    assert code != 0 and "already encrypted" in one_line(err)

    monkeypatch.setenv("STEADY_PASSPHRASE", "not the passphrase")
    code, _, err = run(capsys, home, "history")
    assert code == 8 and "passphrase" in one_line(err)

    monkeypatch.delenv("STEADY_PASSPHRASE")
    code, _, err = run(capsys, home, "history")
    assert code == 8 and "STEADY_PASSPHRASE" in one_line(err)


# -- contacts --------------------------------------------------------------------------


def test_contacts_add_list_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, tmp_path, "contacts", "list")
    assert code == 0 and "No contacts yet" in out
    assert run(capsys, tmp_path, "contacts", "add", "Mum", "+44 7700 900123")[0] == 0
    assert run(capsys, tmp_path, "contacts", "add", "Sam", "555-0100")[0] == 0
    code, out, _ = run(capsys, tmp_path, "contacts", "add", "sam", "555-0199")
    assert code == 0 and "Changed" in out
    path = tmp_path / "config" / "contacts.yaml"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    # The crisis reply reads the same file.
    assert [(c.name, c.number) for c in _contacts(path)] == [
        ("Mum", "+44 7700 900123"),
        ("Sam", "555-0199"),
    ]
    code, out, _ = run(capsys, tmp_path, "contacts", "list")
    assert out.splitlines() == ["Mum  +44 7700 900123", "Sam  555-0199"]

    code, out, _ = run(capsys, tmp_path, "contacts", "remove", "mum")
    assert code == 0 and "Removed Mum" in out
    assert [c.name for c in _contacts(path)] == ["Sam"]
    assert list(path.parent.glob(".*tmp")) == []  # no temporary files left


def test_contacts_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, tmp_path, "contacts", "remove", "Nobody")
    assert code == 1 and "Nobody" in one_line(err)
    code, _, err = run(capsys, tmp_path, "contacts", "add", "Sam", "call me")
    assert code == 2 and "phone number" in one_line(err)
    code, _, err = run(capsys, tmp_path, "contacts", "add", "Sam")
    assert code == 2
    one_line(err)
    assert not (tmp_path / "config" / "contacts.yaml").exists()


def test_contacts_keep_other_keys_and_report_a_broken_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "config" / "contacts.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("# mine\nnote: keep me\ncontacts:\n  - {name: Ana, number: '112'}\n")
    assert run(capsys, tmp_path, "contacts", "add", "Bo", "999")[0] == 0
    text = path.read_text()
    assert "note: keep me" in text and "Ana" in text and "Bo" in text
    path.write_text("contacts: [unclosed\n")
    code, _, err = run(capsys, tmp_path, "contacts", "list")
    assert code != 0 and "contacts.yaml" in one_line(err)


# -- damaged data through the CLI ------------------------------------------------------


def test_a_damaged_store_is_reported_with_its_backup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seeded(tmp_path)
    (tmp_path / DB_NAME).write_bytes(b"this is not a database at all" * 100)
    code, out, err = run(capsys, tmp_path, "history", "--json")
    assert code == 0 and json.loads(out) == []
    [backup] = tmp_path.glob(f"{DB_NAME}.damaged-*")
    assert str(backup) in err and "Traceback" not in err
