"""``steady`` subcommands for the toolbox: history, journal, contacts, export, forget, encrypt.

Everything here works on the person's own files: the store (:mod:`assistant.store`)
in the data folder, and ``contacts.yaml`` / ``config.yaml`` in the config folder.
Files written are 0600 and folders 0700; each file is written whole or not at all.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from assistant.crypto import PassphraseNeededError
from assistant.errors import SteadyError, StorageError, UsageError
from assistant.paths import config_dir, data_dir, ensure_private_dir
from assistant.store import DB_NAME, JournalEntry, SessionRecord, Store

log = logging.getLogger(__name__)

COMMANDS = ("history", "journal", "export", "forget", "encrypt", "contacts")
PASSPHRASE_ENV = "STEADY_PASSPHRASE"
MIN_PASSPHRASE = 8
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]*$")


class ContactNotFoundError(SteadyError):
    """``steady contacts remove`` named no saved contact."""

    exit_code = 1


class OutputFileError(SteadyError):
    """A file or folder the person asked for could not be written."""

    exit_code = 1


# -- parsers -----------------------------------------------------------------------


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add this module's subcommands to ``sub`` (argparse subparsers)."""
    # Nested commands use the same parser class, so their errors stay one clean line.
    parser_class = getattr(sub, "_parser_class", argparse.ArgumentParser)

    p = sub.add_parser("history", help="your sessions: feelings, exercises, ratings")
    common(p)
    p.add_argument("--json", action="store_true", help="a JSON array, one record per session")
    p.add_argument("--plot", metavar="FILE.png", help="save a chart of ratings over time")

    p = sub.add_parser("journal", help="list, show, export or delete journal entries")
    common(p)
    jsub = p.add_subparsers(dest="journal_command", parser_class=parser_class)
    j = jsub.add_parser("list", help="every entry, oldest first")
    common(j)
    j = jsub.add_parser("show", help="one entry in full")
    common(j)
    j.add_argument("id", type=int, help="entry number (see `steady journal list`)")
    j = jsub.add_parser("export", help="every entry as Markdown or JSON")
    common(j)
    j.add_argument("--format", choices=["md", "json"], default="md")
    j.add_argument("--out", help="write to this file (default: print)")
    j = jsub.add_parser("delete", help="delete one entry")
    common(j)
    j.add_argument("id", type=int, help="entry number (see `steady journal list`)")

    p = sub.add_parser("export", help="copy everything Steady keeps about you to a new folder")
    common(p)
    p.add_argument("dir", help="a folder that does not exist yet")

    p = sub.add_parser("forget", help="delete everything Steady keeps about you")
    common(p)
    p.add_argument("--all", action="store_true", required=True, help="everything (required)")
    p.add_argument("--yes", action="store_true", help="do not ask to type yes first")

    p = sub.add_parser("encrypt", help="encrypt your history and journal with a passphrase")
    common(p)

    p = sub.add_parser("contacts", help="people the crisis reply offers to call")
    common(p)
    csub = p.add_subparsers(dest="contacts_command", parser_class=parser_class)
    c = csub.add_parser("add", help="add a contact (or change a number)")
    common(c)
    c.add_argument("name")
    c.add_argument("number")
    c = csub.add_parser("list", help="show your contacts")
    common(c)
    c = csub.add_parser("remove", help="remove a contact")
    common(c)
    c.add_argument("name")


def dispatch(command: str, args: argparse.Namespace) -> int | None:
    """Run ``command`` if it is one of this module's; ``None`` otherwise."""
    if command not in COMMANDS:
        return None
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "history": _history,
        "journal": _journal,
        "export": _export,
        "forget": _forget,
        "encrypt": _encrypt,
        "contacts": _contacts,
    }
    return handlers[command](args)


# -- the store ---------------------------------------------------------------------


def _ask_passphrase(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(prompt)


def open_store(args: argparse.Namespace) -> Store:
    """The store, unlocked with ``STEADY_PASSPHRASE`` or a typed passphrase when needed."""
    return open_store_at(data_dir(args.data_dir))


def open_store_at(folder: Path) -> Store:
    """The store in ``folder``, unlocked as :func:`open_store` does."""
    passphrase = os.environ.get(PASSPHRASE_ENV) or None
    try:
        return Store.open(folder, passphrase)
    except PassphraseNeededError:
        if passphrase is not None:
            raise
        typed = _ask_passphrase("Passphrase for your Steady data: ")
        if not typed:
            raise
        return Store.open(folder, typed)


# -- history -----------------------------------------------------------------------


def _history(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        sessions = store.sessions()
    if args.plot:
        path = Path(args.plot)
        _write_private(path, plot_png(sessions))
        print(f"Saved the chart to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps([s.as_json() for s in sessions], indent=2))
    elif not args.plot or sessions:
        print(format_history(sessions))
    return 0


def _when(s: SessionRecord | JournalEntry) -> str:
    moment = s.started if isinstance(s, SessionRecord) else s.created
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def format_history(sessions: list[SessionRecord]) -> str:
    """A readable table, oldest first."""
    if not sessions:
        return "No sessions yet."
    header = ("#", "started", "feeling", "exercise", "minutes", "before", "after", "change")
    rows = [header]
    for s in sessions:
        change = "-"
        if s.before is not None and s.after is not None:
            change = f"{s.after - s.before:+d}" if s.after != s.before else "0"
        rows.append(
            (
                str(s.id),
                _when(s),
                s.feeling or "-",
                s.exercise or "-",
                f"{s.minutes:.1f}" if s.minutes is not None else "-",
                "-" if s.before is None else str(s.before),
                "-" if s.after is None else str(s.after),
                change,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    numeric = {0, 4, 5, 6, 7}
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def plot_png(sessions: list[SessionRecord]) -> bytes:
    """A PNG chart of the before and after ratings over time (matplotlib, Agg)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(
            "Charts need matplotlib, which is optional: "
            "pip install 'steady-voice[plot]' (or use history --json)."
        ) from None

    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    befores = [(_local(s), s.before) for s in sessions if s.before is not None]
    afters = [(_local(s), s.after) for s in sessions if s.after is not None]
    for s in sessions:
        if s.before is not None and s.after is not None:
            ax.plot([_local(s), _local(s)], [s.before, s.after], color="0.75", zorder=1)
    if befores:
        ax.scatter(*zip(*befores, strict=True), label="before", color="tab:red", zorder=2)
    if afters:
        ax.scatter(*zip(*afters, strict=True), label="after", color="tab:green", zorder=2)
    if befores or afters:
        ax.legend(loc="upper right")
        fig.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, "No distress ratings yet", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        ax.set_xticks([])
    ax.set_ylim(-0.5, 10.5)
    ax.set_yticks(range(0, 11, 2))
    ax.set_ylabel("distress (0 calm – 10 worst)")
    ax.set_title("Distress before and after each exercise")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _local(s: SessionRecord) -> Any:
    return s.started.astimezone().replace(tzinfo=None)


# -- journal -----------------------------------------------------------------------


def _duration(seconds: float) -> str:
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _journal(args: argparse.Namespace) -> int:
    sub = args.journal_command or "list"
    with open_store(args) as store:
        if sub == "list":
            entries = store.journal()
            if not entries:
                print("No journal entries yet.")
            for e in entries:
                preview = " ".join(e.text.split())
                if len(preview) > 50:
                    preview = preview[:49] + "…"
                audio = "  [audio]" if e.has_audio else ""
                print(f"{e.id:>4}  {_when(e)}  {_duration(e.seconds):>10}{audio}  {preview}")
        elif sub == "show":
            e = store.journal_entry(args.id)
            audio = ", audio kept" if e.has_audio else ""
            print(f"Entry {e.id}, {_when(e)}, {_duration(e.seconds)}{audio}\n")
            print(e.text)
        elif sub == "export":
            entries = store.journal()
            text = journal_json(entries) if args.format == "json" else journal_markdown(entries)
            if args.out:
                _write_private(Path(args.out), text.encode("utf-8"))
                print(f"Wrote {len(entries)} entries to {args.out}", file=sys.stderr)
            else:
                sys.stdout.write(text)
        elif sub == "delete":
            store.delete_journal(args.id)
            print(f"Deleted journal entry {args.id}.")
    return 0


def journal_markdown(entries: list[JournalEntry]) -> str:
    parts = ["# My Steady journal\n"]
    for e in entries:
        audio = " (audio kept)" if e.has_audio else ""
        parts.append(f"\n## {_when(e)} — {_duration(e.seconds)}{audio}\n\n{e.text.strip()}\n")
    return "".join(parts)


def journal_json(entries: list[JournalEntry], audio: dict[int, str] | None = None) -> str:
    records = []
    for e in entries:
        record = e.as_json()
        if audio and e.id in audio:
            record["audio"] = audio[e.id]
        records.append(record)
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


# -- export ------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    target = Path(args.dir).expanduser()
    if target.exists():
        raise OutputFileError(f"{target} already exists; choose a new folder name.")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    except OSError as exc:
        raise OutputFileError(f"Cannot create a folder in {parent} ({exc.strerror}).") from None
    try:
        with open_store(args) as store:
            counts = _export_into(staging, store, args)
        os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputFileError(f"Cannot export to {target} ({exc.strerror}).") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    sessions, entries = counts
    print(f"Exported {sessions} sessions and {entries} journal entries to {target}")
    return 0


def _export_into(folder: Path, store: Store, args: argparse.Namespace) -> tuple[int, int]:
    os.chmod(folder, 0o700)
    sessions = store.sessions()
    _write_private(
        folder / "history.json",
        (json.dumps([s.as_json() for s in sessions], indent=2) + "\n").encode(),
    )
    entries = store.journal()
    audio_names: dict[int, str] = {}
    for e in entries:
        if not e.has_audio:
            continue
        wav = store.journal_audio(e.id)
        if wav is None:
            continue
        name = f"journal/{e.id:04d}.wav"
        ensure_private_dir(folder / "journal")
        _write_private(folder / name, wav)
        audio_names[e.id] = name
    _write_private(folder / "journal.json", journal_json(entries, audio_names).encode("utf-8"))
    settings = config_dir(args.data_dir)
    for name in ("contacts.yaml", "config.yaml"):
        source = settings / name
        if source.is_file():
            _write_private(folder / name, source.read_bytes())
    return len(sessions), len(entries)


# -- forget ------------------------------------------------------------------------


def _forget(args: argparse.Namespace) -> int:
    home = data_dir(args.data_dir)
    settings = config_dir(args.data_dir)
    if not args.yes:
        print(
            f"This deletes your Steady history, journal, contacts and settings "
            f"(in {home} and {settings}). Type yes to go on: ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        answer = sys.stdin.readline().strip().lower()
        if not sys.stdin.isatty():
            print(file=sys.stderr)  # the typed answer did not end the prompt's line
        if answer != "yes":
            print("steady: nothing was deleted.", file=sys.stderr)
            return 1
    _scrub_store(home)
    removed = forget_files(home, settings)
    log.info("forget: removed %d files and folders", removed)
    print("Deleted everything Steady kept about you.")
    return 0


def _scrub_store(home: Path) -> None:
    """Empty the store in place first (when it opens without asking), then delete it."""
    if not (home / DB_NAME).exists():
        return
    try:
        with Store.open(home, os.environ.get(PASSPHRASE_ENV) or None) as store:
            store.forget_all()
    except SteadyError as exc:  # encrypted, locked or damaged: deleting the files is enough
        log.debug("could not empty the store before deleting it: %s", exc)


def forget_files(home: Path, settings: Path) -> int:
    """Delete the store (and damaged backups), first-run marker, speech cache, contacts,
    settings and the person's own exercises. Speech models are left alone."""
    targets: list[Path] = []
    if home.is_dir():
        targets += sorted(home.glob(f"{DB_NAME}*"))
        targets += [home / "first-run-done", home / "cache"]
    targets += [settings / "contacts.yaml", settings / "config.yaml", settings / "exercises"]
    removed = 0
    for path in targets:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
        except OSError as exc:
            raise StorageError(f"Could not delete {path} ({exc.strerror}).") from None
        removed += 1
    return removed


# -- encrypt -----------------------------------------------------------------------


def _encrypt(args: argparse.Namespace) -> int:
    folder = data_dir(args.data_dir)
    try:
        store = Store.open(folder)
    except PassphraseNeededError:
        raise StorageError("Your Steady data is already encrypted.") from None
    with store:
        passphrase = _new_passphrase()
        store.enable_encryption(passphrase)
        backups = sorted(folder.glob(f"{DB_NAME}.damaged-*"))
    print(
        "Your feelings and journal are now encrypted. Keep the passphrase safe: "
        "without it they cannot be recovered."
    )
    print("Contacts and settings stay readable so the crisis reply can use them.")
    if backups:
        print(f"Older backups of damaged data are not encrypted: {backups[0].parent}")
    return 0


def _new_passphrase() -> str:
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        typed = _ask_passphrase("New passphrase: ")
        if typed is None:
            raise UsageError(
                f"Give the new passphrase in {PASSPHRASE_ENV} or run `steady encrypt` "
                "in a terminal."
            )
        if typed != getpass.getpass("The same passphrase again: "):
            raise UsageError("The two passphrases were different; nothing was changed.")
        passphrase = typed
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(
            f"Choose a passphrase of at least {MIN_PASSPHRASE} characters; nothing was changed."
        )
    return passphrase


# -- contacts ----------------------------------------------------------------------


def contacts_path(data_override: str | None) -> Path:
    return config_dir(data_override) / "contacts.yaml"


def read_contacts(path: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The whole file (other keys are kept) and its contacts as name/number mappings."""
    if not path.exists():
        return {}, []
    from assistant.datafiles import load_yaml

    data = load_yaml(path)
    raw = data.get("contacts") or []
    if not isinstance(raw, list) or not all(
        isinstance(c, dict) and "name" in c and "number" in c for c in raw
    ):
        raise StorageError(f"{path}: each contact needs a name and a number.")
    return data, [{"name": str(c["name"]), "number": str(c["number"])} for c in raw]


def _contacts(args: argparse.Namespace) -> int:
    sub = args.contacts_command or "list"
    path = contacts_path(args.data_dir)
    data, contacts = read_contacts(path)
    if sub == "list":
        if not contacts:
            print("No contacts yet. Add one with `steady contacts add NAME NUMBER`.")
        width = max((len(c["name"]) for c in contacts), default=0)
        for c in contacts:
            print(f"{c['name'].ljust(width)}  {c['number']}")
        return 0
    name = " ".join(args.name.split())
    if not name:
        raise UsageError("A contact needs a name.")
    found = [c for c in contacts if c["name"].casefold() == name.casefold()]
    if sub == "add":
        number = " ".join(args.number.split())
        if not _PHONE.match(number) or sum(ch.isdigit() for ch in number) < 3:
            raise UsageError(f"'{args.number}' does not look like a phone number.")
        if found:
            found[0]["number"] = number
            message = f"Changed the number for {found[0]['name']}."
        else:
            contacts.append({"name": name, "number": number})
            message = f"Added {name}."
    else:
        if not found:
            raise ContactNotFoundError(
                f"There is no contact named '{name}' (see `steady contacts list`)."
            )
        contacts = [c for c in contacts if c is not found[0]]
        message = f"Removed {found[0]['name']}."
    ensure_private_dir(path.parent)
    text = yaml.safe_dump({**data, "contacts": contacts}, sort_keys=False, allow_unicode=True)
    _write_private(path, text.encode("utf-8"))
    print(message)
    return 0


# -- files -------------------------------------------------------------------------


@contextmanager
def _private_temp(path: Path) -> Iterator[int]:
    """A new 0600 file next to ``path``; renamed over it when the block succeeds."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        yield fd
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600."""
    try:
        with _private_temp(path) as fd:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
    except OSError as exc:
        raise OutputFileError(f"Cannot write {path} ({exc.strerror}).") from None
