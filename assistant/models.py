"""Installing, choosing and finding the Vosk speech model.

Models live in one folder each under :func:`assistant.paths.models_dir`. A one-line
``ACTIVE`` file there names the model in use. Installs are atomic: files are unpacked
into a hidden work folder next to the models, checked, and only then renamed into
place, so a failed or interrupted install never leaves a half-model behind.

The default model is Alpha Cephei's ``vosk-model-small-en-us-0.15``. Its files are
pinned below by SHA-256 and checked whichever way they arrived. Only
:func:`fetch_default_model` touches the network.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Final, TextIO

from assistant.errors import ModelError

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME: Final = "vosk-model-small-en-us-0.15"
DEFAULT_ZIP_URL: Final = f"https://alphacephei.com/vosk/models/{DEFAULT_MODEL_NAME}.zip"
DEFAULT_MAVEN_VERSION: Final = "0.3.45"
MAVEN_GROUP: Final = "com.alphacephei"
MAVEN_ARTIFACT: Final = "vosk-model-en"
ACTIVE_FILE: Final = "ACTIVE"
MODEL_ENV: Final = "STEADY_MODEL"

#: Size and SHA-256 of every file of the default model that recognition depends on.
#: ``README`` differs between the zip and the Maven .aar and ``uuid`` exists only in the
#: .aar, so neither is pinned; everything else is byte-identical in both.
DEFAULT_MODEL_MANIFEST: Final[Mapping[str, tuple[int, str]]] = {
    "am/final.mdl": (
        15962575,
        "75370a0137f9daf8f469dedd7daa4513ae7a621f03240c6e512e2b50b656a7b6",
    ),
    "conf/mfcc.conf": (
        131,
        "1e2228006d01d805ad1c267fee9f79709ca87ac51bd82b0e3f5c69ba543f0fc4",
    ),
    "conf/model.conf": (
        290,
        "8f14cb1eeb07c762c371db648c6be688d347236155ca0f64fb13b6567a8ce81f",
    ),
    "graph/Gr.fst": (
        24013795,
        "023c8b7e30704a9e37765c635c252e608a02f361235bf94abdcf2a5225d85b20",
    ),
    "graph/HCLr.fst": (
        22416994,
        "5caafba3081e1646545ac6bff0dd7a318e53dcbdc86f237909ce1d2ac1293d34",
    ),
    "graph/disambig_tid.int": (
        102,
        "9ad87cc166d0998f08f758f47a6223a120dfffcbee805c4849c3aa5e6bb3c0fc",
    ),
    "graph/phones/word_boundary.int": (
        1761,
        "da199d9c991e0e84681ddbb34627b915b26302d50a8fdaa23c51e2bc3a50b5c3",
    ),
    "ivector/final.dubm": (
        168048,
        "8c5d7dd69d2122313baaf19f61f35dd3fa18b70c62ac0687e311e1c46e6daca7",
    ),
    "ivector/final.ie": (
        8288887,
        "3f37faf90c375b9e4740b569398b5829ed9cc07d19be6d441f72c3b71d7efcc6",
    ),
    "ivector/final.mat": (
        44975,
        "ddd83586dc5f928cda8738b922c85ffe38fc789cb5f9151a712ca12f37265382",
    ),
    "ivector/global_cmvn.stats": (
        1080,
        "33be09afcc80059847a275c3d043b51f1ab954c7c2438ddbbf4745e8ba144ff9",
    ),
    "ivector/online_cmvn.conf": (
        95,
        "a2f3571754b64297cb7efb2e7ca3df61995c5a45fcbb97188f90613552bb2dfe",
    ),
    "ivector/splice.conf": (
        35,
        "9f0c5f7c82d18eaf25d8bce470efa9f7741f88411fe428774bc0a9bb69a24756",
    ),
}

#: Large files whose match marks an archive as carrying the default model.
_DEFAULT_MARKERS: Final = ("am/final.mdl", "graph/HCLr.fst", "graph/Gr.fst")

#: Size and SHA-256 of the Maven .aar for versions we have checked by hand.
_PINNED_AARS: Final[Mapping[str, tuple[int, str]]] = {
    "0.3.45": (
        41185783,
        "8a5792fccaf873b4745dbd1b3fe19d8a77a15898e806674020eea820424771cd",
    ),
}

_FETCH_HINT: Final = (
    f"download {DEFAULT_MODEL_NAME}.zip on another machine and run `steady models install PATH`"
)
_WORK_PREFIXES: Final = (".install-", ".download-", ".maven-")
_STALE_WORK_SECONDS: Final = 24 * 3600.0
_MAVEN_TIMEOUT: Final = 900.0
_CHUNK: Final = 1 << 20
_NAME_OK: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


@dataclass(frozen=True)
class InstalledModel:
    """One model folder under the models directory."""

    name: str
    path: Path
    size_bytes: int
    supports_grammar: bool
    active: bool


class _RouteFailed(Exception):
    """One download route failed; the message is a short reason for the final error."""


# --------------------------------------------------------------------------- layout


def _layout_problems(path: Path) -> list[str]:
    """The required files missing from a model folder (empty when it looks usable)."""
    missing = [rel for rel in ("am/final.mdl", "conf/model.conf") if not (path / rel).is_file()]
    graph = path / "graph"
    if not (graph / "HCLG.fst").is_file() and not _supports_grammar(path):
        missing.append("graph/HCLG.fst or graph/HCLr.fst + graph/Gr.fst")
    return missing


def _supports_grammar(path: Path) -> bool:
    """True for models built for runtime grammars (HCLr.fst + Gr.fst)."""
    return (path / "graph" / "HCLr.fst").is_file() and (path / "graph" / "Gr.fst").is_file()


def check_model(path: Path) -> None:
    """Raise ModelError (one sentence saying what to run) unless ``path`` is a usable model.

    A usable Vosk model folder has am/final.mdl, conf/model.conf, and either
    graph/HCLG.fst or graph/HCLr.fst + graph/Gr.fst.
    """
    if not path.is_dir():
        raise ModelError(
            f"There is no speech model folder at {path}; run `steady models fetch` "
            "or `steady models install PATH`."
        )
    missing = _layout_problems(path)
    if missing:
        raise ModelError(
            f"{path} is not a usable Vosk model (missing {', '.join(missing)}); run "
            "`steady models fetch` or `steady models install PATH` with a complete model."
        )


def _dir_size(path: Path) -> int:
    """Total size in bytes of the regular files below ``path``."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


# ---------------------------------------------------------------- listing & choice


def _installed_names(models_dir: Path) -> list[str]:
    """Names of the usable model folders, sorted; hidden work folders are skipped."""
    if not models_dir.is_dir():
        return []
    names = []
    for child in sorted(models_dir.iterdir()):
        if child.name.startswith(".") or not child.is_dir():
            continue
        if _layout_problems(child):
            logger.debug("Skipping %s: not a complete Vosk model", child)
            continue
        names.append(child.name)
    return names


def _read_active_file(models_dir: Path) -> str | None:
    """The name written in ``models_dir/ACTIVE``, if any."""
    try:
        lines = (models_dir / ACTIVE_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    name = lines[0].strip() if lines else ""
    return name or None


def active_model_name(models_dir: Path) -> str | None:
    """The model in use: ACTIVE file, else the default if installed, else the only one."""
    installed = _installed_names(models_dir)
    chosen = _read_active_file(models_dir)
    if chosen is not None:
        if chosen in installed:
            return chosen
        logger.warning("%s names %r, which is not installed; ignoring it", ACTIVE_FILE, chosen)
    if DEFAULT_MODEL_NAME in installed:
        return DEFAULT_MODEL_NAME
    if len(installed) == 1:
        return installed[0]
    return None


def _describe(models_dir: Path, name: str, active: str | None) -> InstalledModel:
    """Build the InstalledModel record for ``models_dir/name``."""
    path = models_dir / name
    return InstalledModel(
        name=name,
        path=path,
        size_bytes=_dir_size(path),
        supports_grammar=_supports_grammar(path),
        active=name == active,
    )


def list_models(models_dir: Path) -> list[InstalledModel]:
    """Every usable model installed in ``models_dir``, sorted by name."""
    active = active_model_name(models_dir)
    return [_describe(models_dir, name, active) for name in _installed_names(models_dir)]


def _is_plain_name(name: str) -> bool:
    """True when ``name`` can be a model folder name (no separators, not hidden)."""
    return bool(_NAME_OK.fullmatch(name)) and name != ACTIVE_FILE


def set_active(models_dir: Path, name: str) -> None:
    """Make the installed model ``name`` the one Steady uses."""
    if not _is_plain_name(name) or name not in _installed_names(models_dir):
        raise ModelError(
            f"There is no installed speech model called {name!r} in {models_dir}; "
            "run `steady models install PATH` first."
        )
    _write_text_atomically(models_dir / ACTIVE_FILE, name + "\n")
    logger.info("Active speech model is now %s", name)


def _write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    handle, temp = tempfile.mkstemp(prefix=".active-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _locate(models_dir: Path, ref: str | Path) -> Path:
    """Turn an installed model's name, or a folder path, into a path."""
    if isinstance(ref, str) and _is_plain_name(ref) and (models_dir / ref).is_dir():
        return models_dir / ref
    path = Path(ref).expanduser()
    if path.is_dir():
        return path
    raise ModelError(
        f"There is no speech model called {str(ref)!r} in {models_dir} and no folder at that "
        "path; check the name or run `steady models install PATH`."
    )


def resolve_model(models_dir: Path, explicit: str | Path | None = None) -> Path:
    """The model folder to load: ``explicit`` > env STEADY_MODEL > the active model."""
    env = os.environ.get(MODEL_ENV, "").strip()
    if explicit is not None and str(explicit).strip():
        path = _locate(models_dir, explicit)
    elif env:
        path = _locate(models_dir, env)
    else:
        name = active_model_name(models_dir)
        if name is None:
            raise ModelError(
                f"No speech model in {models_dir}. "
                "Run `steady models fetch` (or `steady models install PATH`)."
            )
        path = models_dir / name
    check_model(path)
    return path


# ------------------------------------------------------------------------ checksums


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_matches(path: Path, size: int, sha256: str, *, follow_links: bool = False) -> bool:
    """True when ``path`` is a regular file (not a link, unless allowed) with this digest."""
    try:
        info = path.stat() if follow_links else path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != size:
        return False
    return _sha256(path) == sha256


def _manifest_mismatches(root: Path, manifest: Mapping[str, tuple[int, str]]) -> list[str]:
    """Manifest entries that are missing or differ under ``root``."""
    return [
        rel
        for rel, (size, digest) in manifest.items()
        if not _file_matches(root / rel, size, digest)
    ]


def _carries_default_model(root: Path) -> bool:
    """True when a marker file of the default model is present byte for byte."""
    return any(_file_matches(root / rel, *DEFAULT_MODEL_MANIFEST[rel]) for rel in _DEFAULT_MARKERS)


def _verify_default(root: Path, source: Path | str) -> None:
    """Raise ModelError unless every pinned file of the default model matches."""
    bad = _manifest_mismatches(root, DEFAULT_MODEL_MANIFEST)
    if bad:
        raise ModelError(
            f"The speech model from {source} failed its checksum check ({len(bad)} file(s) "
            f"differ, first {bad[0]}), so it was not installed; {_FETCH_HINT}."
        )


# ------------------------------------------------------------------------- progress


class _Progress:
    """Progress on stderr: a bar on a terminal, a line every 10 % otherwise.

    Use as a context manager so the terminal line is ended even when the work fails.
    """

    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self._label = label
        self._total = max(total, 0)
        self._stream: TextIO | None = sys.stderr if enabled else None
        self._tty = self._stream is not None and _isatty(self._stream)
        self._last_step = -1
        self._last_draw = 0.0
        self._done = 0
        self._open_line = False
        self._drawn_done = -1

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._end_line()

    def update(self, done: int) -> None:
        """Report that ``done`` bytes are finished."""
        self._done = done
        if self._stream is None:
            return
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 and done != self._drawn_done:
                self._last_draw = now
                self._draw_bar()
        else:
            self._maybe_print_line()

    def finish(self) -> None:
        """Show the work as complete and end the line."""
        if self._stream is None:
            return
        if self._total:
            self._done = self._total
        if self._tty:
            self._draw_bar()
        else:
            self._maybe_print_line()
        self._end_line()

    def _draw_bar(self) -> None:
        self._drawn_done = self._done
        megabytes = f"{self._done / 1e6:.1f}"
        if not self._total:
            self._write(f"\r{self._label}: {megabytes} MB")
        else:
            fraction = min(self._done / self._total, 1.0)
            filled = int(fraction * 30)
            bar = "#" * filled + "-" * (30 - filled)
            self._write(
                f"\r{self._label} [{bar}] {fraction * 100:3.0f}% "
                f"{megabytes}/{self._total / 1e6:.1f} MB"
            )
        self._open_line = True

    def _end_line(self) -> None:
        if self._open_line:
            self._open_line = False
            self._write("\n")

    def _maybe_print_line(self) -> None:
        unit = self._total // 10 if self._total else 10_000_000
        step = self._done // max(unit, 1)
        if step <= self._last_step:
            return
        self._last_step = step
        if self._total:
            percent = min(100, self._done * 100 // self._total)
            self._write(f"{self._label}: {percent}%\n")
        else:
            self._write(f"{self._label}: {self._done / 1e6:.0f} MB\n")

    def _write(self, text: str) -> None:
        if self._stream is None:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._stream = None


def _isatty(stream: TextIO) -> bool:
    """``stream.isatty()`` that never raises."""
    try:
        return stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False


# ----------------------------------------------------------------------- archives


def _open_archive(source: Path) -> zipfile.ZipFile:
    """Open a .zip/.aar, turning any failure into a one-sentence ModelError."""
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelError(
            f"{source} is not a readable .zip or .aar archive ({exc}); download it again "
            "and run `steady models install PATH`."
        ) from None


def _member_path(source: Path, info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's relative path, refusing absolute paths, '..' and symbolic links."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    is_link = stat.S_ISLNK(info.external_attr >> 16)
    drive = bool(path.parts) and re.fullmatch(r"[A-Za-z]:", path.parts[0]) is not None
    if path.is_absolute() or drive or ".." in path.parts or "\0" in name or is_link:
        raise ModelError(
            f"{source} contains an unsafe entry ({info.filename!r}), so nothing was installed; "
            f"{_FETCH_HINT}."
        )
    return path


def _find_root(source: Path, paths: Iterable[PurePosixPath]) -> PurePosixPath:
    """The folder inside an archive (or tree) that holds am/final.mdl."""
    roots = {path.parent.parent for path in paths if path.parts[-2:] == ("am", "final.mdl")}
    if not roots:
        raise ModelError(
            f"{source} does not contain a Vosk model (no am/final.mdl found); {_FETCH_HINT}."
        )
    if len(roots) > 1:
        raise ModelError(
            f"{source} contains {len(roots)} models; unpack it and run "
            "`steady models install PATH` on one model folder."
        )
    return roots.pop()


def _check_free_space(models_dir: Path, needed: int, source: Path) -> None:
    """Refuse to unpack more than the disk can hold."""
    free = shutil.disk_usage(models_dir).free
    if needed > free:
        raise ModelError(
            f"Unpacking {source} needs {needed / 1e6:.0f} MB but only {free / 1e6:.0f} MB "
            f"is free in {models_dir}; free some space and try again."
        )


def _extract_model(source: Path, dest: Path, models_dir: Path, progress: bool) -> str:
    """Unpack the model inside a .zip/.aar into ``dest``; return the archive's model name."""
    with _open_archive(source) as archive:
        files = [info for info in archive.infolist() if not info.is_dir()]
        paths = [_member_path(source, info) for info in files]
        root = _find_root(source, paths)
        depth = len(root.parts)
        chosen = [
            (info, PurePosixPath(*path.parts[depth:]))
            for info, path in zip(files, paths, strict=True)
            if path.parts[:depth] == root.parts and len(path.parts) > depth
        ]
        total = sum(info.file_size for info, _ in chosen)
        _check_free_space(models_dir, total, source)
        with _Progress("Unpacking speech model", total, progress) as bar:
            _copy_members(archive, chosen, dest, bar)
    return root.name if root.parts else source.stem


def _copy_members(
    archive: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]],
    dest: Path,
    bar: _Progress,
) -> None:
    """Write the chosen members below ``dest``, reporting bytes written."""
    done = 0
    try:
        for info, rel in members:
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    bar.update(done)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        name = archive.filename or "the archive"
        raise ModelError(
            f"{name} is damaged ({exc}); download it again and run `steady models install PATH`."
        ) from None
    bar.finish()


def _copy_folder(source: Path, dest: Path) -> str:
    """Copy the model found in (or up to two levels below) ``source``; return its name."""
    hits: list[PurePosixPath] = []
    for pattern in ("am/final.mdl", "*/am/final.mdl", "*/*/am/final.mdl"):
        hits = [PurePosixPath(p.relative_to(source).as_posix()) for p in source.glob(pattern)]
        if hits:
            break
    root = source.joinpath(*_find_root(source, hits).parts)
    try:
        shutil.copytree(root, dest)
    except (OSError, shutil.Error) as exc:
        raise ModelError(
            f"Could not copy the model from {root} ({_reason_text(exc)}); check that the "
            "folder is readable and try again."
        ) from None
    return root.resolve().name


# ------------------------------------------------------------------------ install


def _clean_name(name: str) -> str:
    """A safe folder name derived from ``name``."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", name.strip()).lstrip(".-_+")
    if not cleaned or cleaned == ACTIVE_FILE:
        return "model"
    return cleaned


def _stage(source: Path, staged: Path, models_dir: Path, progress: bool) -> str:
    """Put the model from ``source`` into ``staged``; return the name to install it as."""
    if source.is_dir():
        return _clean_name(_copy_folder(source, staged))
    name = _extract_model(source, staged, models_dir, progress)
    if source.suffix.lower() == ".aar":
        return DEFAULT_MODEL_NAME if _carries_default_model(staged) else _clean_name(source.stem)
    return _clean_name(name)


def _commit(staged: Path, target: Path, work: Path) -> None:
    """Rename ``staged`` to ``target``, moving any previous model into ``work`` first."""
    previous = work / "previous"
    had_previous = target.exists() or target.is_symlink()
    if had_previous:
        os.replace(target, previous)
    try:
        os.replace(staged, target)
    except OSError as exc:
        if had_previous:
            os.replace(previous, target)
        raise ModelError(
            f"Could not move the new speech model into {target} ({exc}); check the folder's "
            "permissions and try again."
        ) from None


def _remove_stale_work_dirs(models_dir: Path) -> None:
    """Delete work folders left by an install that was killed long ago."""
    cutoff = time.time() - _STALE_WORK_SECONDS
    for child in models_dir.iterdir():
        if child.name.startswith(_WORK_PREFIXES) and child.is_dir():
            try:
                if child.stat().st_mtime < cutoff:
                    shutil.rmtree(child, ignore_errors=True)
            except OSError:
                continue


def _already_in_place(source: Path, models_dir: Path) -> bool:
    """True when ``source`` is itself a folder directly inside ``models_dir``."""
    return source.is_dir() and source.resolve().parent == models_dir.resolve()


def _install(
    source: Path, models_dir: Path, *, progress: bool, require_default: bool
) -> InstalledModel:
    """Stage, verify and commit one model; see :func:`install_model`."""
    source = source.expanduser()
    if not source.exists():
        raise ModelError(
            f"{source} does not exist; give `steady models install` a model .zip, .aar or folder."
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    if _already_in_place(source, models_dir):
        return _adopt_in_place(source.resolve(), models_dir)
    _remove_stale_work_dirs(models_dir)
    previous_active = active_model_name(models_dir)
    work = Path(tempfile.mkdtemp(prefix=".install-", dir=models_dir))
    try:
        staged = work / "model"
        name = _stage(source, staged, models_dir, progress)
        _verify_staged(staged, name, source, require_default)
        _commit(staged, models_dir / name, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("Installed speech model %s from %s", name, source)
    _keep_active(models_dir, previous_active or name)
    return _describe(models_dir, name, active_model_name(models_dir))


def _verify_staged(staged: Path, name: str, source: Path, require_default: bool) -> None:
    """Check the layout, and the pinned checksums when this is the default model."""
    if require_default and name != DEFAULT_MODEL_NAME:
        raise ModelError(
            f"{source} does not hold {DEFAULT_MODEL_NAME} (its files do not match the pinned "
            f"checksums); {_FETCH_HINT}."
        )
    missing = _layout_problems(staged)
    if missing:
        raise ModelError(
            f"{source} is not a usable Vosk model (missing {', '.join(missing)}); {_FETCH_HINT}."
        )
    if name == DEFAULT_MODEL_NAME:
        _verify_default(staged, source)


def _adopt_in_place(path: Path, models_dir: Path) -> InstalledModel:
    """Treat a folder already in ``models_dir`` as installed, after checking it."""
    check_model(path)
    if path.name == DEFAULT_MODEL_NAME:
        _verify_default(path, path)
    _keep_active(models_dir, active_model_name(models_dir) or path.name)
    return _describe(models_dir, path.name, active_model_name(models_dir))


def _keep_active(models_dir: Path, name: str) -> None:
    """Write ACTIVE unless it already names an installed model."""
    if _read_active_file(models_dir) in _installed_names(models_dir):
        return
    set_active(models_dir, name)


def install_model(source: Path, models_dir: Path, progress: bool = True) -> InstalledModel:
    """Install a model from a .zip, an .aar or a folder into ``models_dir``.

    The model root is the folder holding am/final.mdl. Zips and folders keep their own
    name; an .aar carrying the default model is installed as DEFAULT_MODEL_NAME. A model
    installed under the default name must match the pinned checksums. An existing model
    of the same name is replaced. The new model becomes active if none was.
    """
    return _install(source, models_dir, progress=progress, require_default=False)


# -------------------------------------------------------------------------- fetch


def _verified_default(models_dir: Path) -> InstalledModel | None:
    """The installed default model if every pinned file checks out."""
    path = models_dir / DEFAULT_MODEL_NAME
    if not path.is_dir():
        return None
    if _layout_problems(path) or _manifest_mismatches(path, DEFAULT_MODEL_MANIFEST):
        logger.warning("%s is incomplete or altered; installing it again", path)
        return None
    _keep_active(models_dir, active_model_name(models_dir) or DEFAULT_MODEL_NAME)
    return _describe(models_dir, DEFAULT_MODEL_NAME, active_model_name(models_dir))


def _download(url: str, dest: Path, progress: bool, timeout: float) -> None:
    """Download ``url`` to ``dest`` or raise _RouteFailed with a short reason."""
    host = urllib.parse.urlsplit(url).hostname or url
    request = urllib.request.Request(url, headers={"User-Agent": "steady-voice"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            with _Progress("Downloading speech model", total, progress) as bar:
                done = _save_stream(response, dest, bar)
                if total and done != total:
                    raise _RouteFailed(f"download from {host} stopped at {done} of {total} bytes")
                bar.finish()
    except urllib.error.HTTPError as exc:
        raise _RouteFailed(f"{host} answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise _RouteFailed(f"{host} unreachable ({_reason_text(exc.reason)})") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _RouteFailed(f"download from {host} failed ({_reason_text(exc)})") from None


def _save_stream(response: IO[bytes], dest: Path, bar: _Progress) -> int:
    """Copy a response body to ``dest``; return the number of bytes written."""
    done = 0
    with dest.open("wb") as out:
        while chunk := response.read(1 << 16):
            out.write(chunk)
            done += len(chunk)
            bar.update(done)
    return done


def _reason_text(reason: object) -> str:
    """A short human reason from an exception or URLError.reason."""
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    text = str(reason) or type(reason).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _fetch_zip(url: str, models_dir: Path, progress: bool, timeout: float) -> InstalledModel:
    """Route 1: the official zip."""
    host = urllib.parse.urlsplit(url).hostname or url
    work = Path(tempfile.mkdtemp(prefix=".download-", dir=models_dir))
    try:
        archive = work / f"{DEFAULT_MODEL_NAME}.zip"
        logger.info("Downloading %s", url)
        _download(url, archive, progress, timeout)
        try:
            return _install(archive, models_dir, progress=progress, require_default=True)
        except ModelError as exc:
            logger.warning("The zip from %s was rejected: %s", host, exc)
            raise _RouteFailed(f"the file from {host} failed verification") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _maven_relative(version: str) -> Path:
    """Where the .aar sits inside a Maven local repository."""
    return Path(*MAVEN_GROUP.split("."), MAVEN_ARTIFACT, version, f"{MAVEN_ARTIFACT}-{version}.aar")


def _aar_is_trusted(aar: Path, version: str) -> bool:
    """Check an .aar against the pinned digest, or else Maven's own .sha1 beside it."""
    pinned = _PINNED_AARS.get(version)
    if pinned is not None:
        return _file_matches(aar, *pinned, follow_links=True)
    sidecar = aar.with_name(aar.name + ".sha1")
    try:
        expected = sidecar.read_text(encoding="ascii").split()[0].lower()
    except (OSError, UnicodeDecodeError, IndexError):
        return False
    digest = hashlib.sha1(usedforsecurity=False)
    with aar.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == expected


def _user_maven_copy(version: str) -> Path | None:
    """The .aar already in the person's ~/.m2, if present and intact."""
    aar = Path.home() / ".m2" / "repository" / _maven_relative(version)
    if not aar.is_file():
        return None
    if _aar_is_trusted(aar, version):
        return aar
    logger.warning("Ignoring %s: its checksum does not match", aar)
    return None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _maven_reason(output: str, returncode: int) -> str:
    """The first [ERROR] line of Maven's output, shortened."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [line.removeprefix("[ERROR]").strip() for line in lines if line.startswith("[ERROR]")]
    first = next((line for line in errors if line), "")
    if not first:
        return f"mvn exited with status {returncode}"
    match = re.search(r"(Could not|Couldn't) .*", first)
    reason = match.group(0) if match else first
    reason = re.sub(r"\s*\(https?://[^)]*\)", "", reason)
    reason = reason.removeprefix("Couldn't download artifact: ")
    return reason if len(reason) <= 160 else reason[:157] + "..."


def _largest_file(folder: Path) -> int:
    """Size of the biggest file in ``folder`` (0 when it does not exist yet)."""
    best = 0
    try:
        for entry in os.scandir(folder):
            try:
                best = max(best, entry.stat(follow_symlinks=False).st_size)
            except OSError:
                continue
    except OSError:
        return 0
    return best


def _run_maven(mvn: str, version: str, work: Path, progress: bool) -> Path:
    """Have Maven download the .aar into a private repository under ``work``."""
    repo = work / "repository"
    aar = repo / _maven_relative(version)
    command = [
        mvn,
        "-B",
        "-q",
        "-C",
        "-Dstyle.color=never",
        f"-Dmaven.repo.local={repo}",
        "dependency:get",
        f"-Dartifact={MAVEN_GROUP}:{MAVEN_ARTIFACT}:{version}:aar",
        "-Dtransitive=false",
    ]
    log = work / "mvn.log"
    total = _PINNED_AARS.get(version, (0, ""))[0]
    logger.info("Running %s", " ".join(command))
    with (
        log.open("wb") as out,
        _Progress("Downloading speech model (Maven)", total, progress) as bar,
    ):
        proc = subprocess.Popen(
            command, cwd=work, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_maven(proc, aar.parent, bar)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode == 0 and aar.is_file():
            bar.finish()
    if proc.returncode != 0:
        output = log.read_text(encoding="utf-8", errors="replace")
        raise _RouteFailed(_maven_reason(output, proc.returncode))
    if not aar.is_file():
        raise _RouteFailed("mvn finished but left no .aar")
    return aar


def _wait_for_maven(proc: subprocess.Popen[bytes], folder: Path, bar: _Progress) -> None:
    """Poll the download folder for progress until Maven exits or times out."""
    deadline = time.monotonic() + _MAVEN_TIMEOUT
    while proc.poll() is None:
        if time.monotonic() > deadline:
            raise _RouteFailed(f"mvn took longer than {_MAVEN_TIMEOUT:.0f} s")
        bar.update(_largest_file(folder))
        time.sleep(0.2)


def _fetch_maven(version: str, models_dir: Path, progress: bool) -> InstalledModel:
    """Route 2: the vendor's Maven artifact (from ~/.m2 if intact, else via mvn)."""
    local = _user_maven_copy(version)
    if local is not None:
        try:
            model = _install(local, models_dir, progress=progress, require_default=True)
        except ModelError as exc:
            logger.warning("The .aar in ~/.m2 was rejected (%s); asking Maven", exc)
        else:
            logger.info("Installed the speech model from the Maven artifact in %s", local)
            return model
    mvn = shutil.which("mvn")
    if mvn is None:
        raise _RouteFailed("mvn is not installed")
    work = Path(tempfile.mkdtemp(prefix=".maven-", dir=models_dir))
    try:
        aar = _run_maven(mvn, version, work, progress)
        if not _aar_is_trusted(aar, version):
            raise _RouteFailed("the .aar from Maven Central did not match its checksum")
        try:
            model = _install(aar, models_dir, progress=progress, require_default=True)
        except ModelError as exc:
            logger.warning("The .aar from Maven Central was rejected: %s", exc)
            raise _RouteFailed("the .aar from Maven Central failed verification") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("Installed the speech model from Maven Central (%s %s)", MAVEN_ARTIFACT, version)
    return model


def fetch_default_model(
    models_dir: Path,
    progress: bool = True,
    *,
    zip_url: str = DEFAULT_ZIP_URL,
    maven_version: str = DEFAULT_MAVEN_VERSION,
    timeout: float = 15.0,
) -> InstalledModel:
    """Make sure the default model is installed, downloading it if needed.

    Tries the official zip first, then the vendor's Maven artifact; if both fail the
    ModelError names both reasons and how to install by hand.
    """
    installed = _verified_default(models_dir)
    if installed is not None:
        logger.info("%s is already installed and verified", DEFAULT_MODEL_NAME)
        return installed
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        model = _fetch_zip(zip_url, models_dir, progress, timeout)
    except _RouteFailed as exc:
        zip_reason = str(exc)
        logger.info("Official zip route failed: %s", zip_reason)
    else:
        logger.info("Installed the speech model from %s", zip_url)
        return model
    try:
        return _fetch_maven(maven_version, models_dir, progress)
    except _RouteFailed as exc:
        maven_reason = str(exc)
        logger.info("Maven route failed: %s", maven_reason)
    raise ModelError(
        f"Could not download the speech model ({zip_reason}; Maven: {maven_reason}); {_FETCH_HINT}."
    )
