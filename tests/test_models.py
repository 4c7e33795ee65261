"""Tests for assistant.models: layout checks, installs, choice of model, and fetching.

No test here uses the network except the Maven ones, which run only when `mvn` is on
PATH. Fake models are tiny folders with the right file names; the real model is used
only when the vendor's .aar is already in ~/.m2.
"""

from __future__ import annotations

import hashlib
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from assistant import models
from assistant.errors import ModelError
from assistant.models import (
    DEFAULT_MODEL_MANIFEST,
    DEFAULT_MODEL_NAME,
    InstalledModel,
    active_model_name,
    check_model,
    fetch_default_model,
    install_model,
    list_models,
    resolve_model,
    set_active,
)

REAL_AAR = (
    Path.home() / ".m2/repository/com/alphacephei/vosk-model-en/0.3.45/vosk-model-en-0.3.45.aar"
)
needs_real_aar = pytest.mark.skipif(
    not REAL_AAR.is_file(), reason="vosk-model-en .aar not in ~/.m2"
)
needs_mvn = pytest.mark.skipif(shutil.which("mvn") is None, reason="mvn is not on PATH")
UNREACHABLE = "http://127.0.0.1:9/vosk-model-small-en-us-0.15.zip"

GRAMMAR_FILES = ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst")
STATIC_FILES = ("am/final.mdl", "conf/model.conf", "graph/HCLG.fst")


def make_model(folder: Path, files: tuple[str, ...] = GRAMMAR_FILES) -> Path:
    """Write a tiny fake model with the given files."""
    for rel in files:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f"fake {rel}\n".encode())
    return folder


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    """Write a zip with exactly these members."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def fake_members(prefix: str, files: tuple[str, ...] = GRAMMAR_FILES) -> dict[str, bytes]:
    """Zip members of a fake model below ``prefix``."""
    return {f"{prefix}{rel}": f"fake {rel}\n".encode() for rel in files}


def leftovers(models_dir: Path) -> list[str]:
    """Everything in models_dir (hidden work folders included)."""
    return sorted(p.name for p in models_dir.iterdir()) if models_dir.exists() else []


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------- layout


def test_check_model_accepts_grammar_and_static_layouts(tmp_path: Path) -> None:
    check_model(make_model(tmp_path / "grammar"))
    check_model(make_model(tmp_path / "static", STATIC_FILES))


@pytest.mark.parametrize(
    ("files", "missing"),
    [
        (("conf/model.conf", "graph/HCLG.fst"), "am/final.mdl"),
        (("am/final.mdl", "graph/HCLG.fst"), "conf/model.conf"),
        (("am/final.mdl", "conf/model.conf", "graph/HCLr.fst"), "graph/HCLG.fst or"),
    ],
)
def test_check_model_names_what_is_missing(
    tmp_path: Path, files: tuple[str, ...], missing: str
) -> None:
    with pytest.raises(ModelError, match=missing) as info:
        check_model(make_model(tmp_path / "m", files))
    assert "\n" not in str(info.value)
    assert "steady models" in str(info.value)


def test_check_model_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no speech model folder"):
        check_model(tmp_path / "nope")


def test_list_models_reports_grammar_size_and_active(tmp_path: Path) -> None:
    make_model(tmp_path / "b-static", STATIC_FILES)
    make_model(tmp_path / "a-grammar")
    make_model(tmp_path / ".install-123")  # hidden work folder: ignored
    (tmp_path / "junk").mkdir()  # not a model: ignored
    (tmp_path / "notes.txt").write_text("hi")
    set_active(tmp_path, "b-static")
    found = list_models(tmp_path)
    assert [m.name for m in found] == ["a-grammar", "b-static"]
    grammar, static = found
    assert grammar.supports_grammar and not static.supports_grammar
    assert static.active and not grammar.active
    assert grammar.path == tmp_path / "a-grammar"
    assert grammar.size_bytes == sum(len(f"fake {rel}\n") for rel in GRAMMAR_FILES)


def test_list_models_on_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list_models(tmp_path / "absent") == []
    assert active_model_name(tmp_path / "absent") is None


# ---------------------------------------------------------------- active choice


def test_active_model_fallbacks(tmp_path: Path) -> None:
    assert active_model_name(tmp_path) is None
    make_model(tmp_path / "other")
    assert active_model_name(tmp_path) == "other"  # the only one
    make_model(tmp_path / "third")
    assert active_model_name(tmp_path) is None  # two, neither default, no ACTIVE
    make_model(tmp_path / DEFAULT_MODEL_NAME)
    assert active_model_name(tmp_path) == DEFAULT_MODEL_NAME
    set_active(tmp_path, "third")
    assert (tmp_path / "ACTIVE").read_text() == "third\n"
    assert active_model_name(tmp_path) == "third"


def test_active_file_naming_a_removed_model_is_ignored(tmp_path: Path) -> None:
    make_model(tmp_path / "only")
    (tmp_path / "ACTIVE").write_text("gone\n")
    assert active_model_name(tmp_path) == "only"


@pytest.mark.parametrize("name", ["missing", "../escape", ".hidden", "ACTIVE", ""])
def test_set_active_refuses_unknown_names(tmp_path: Path, name: str) -> None:
    make_model(tmp_path / "real")
    with pytest.raises(ModelError, match="no installed speech model"):
        set_active(tmp_path, name)
    assert not (tmp_path / "ACTIVE").exists()


# ------------------------------------------------------------------------ resolve


def test_resolve_model_when_nothing_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEADY_MODEL", raising=False)
    with pytest.raises(ModelError) as info:
        resolve_model(tmp_path)
    assert str(info.value) == (
        f"No speech model in {tmp_path}. "
        "Run `steady models fetch` (or `steady models install PATH`)."
    )


def test_resolve_model_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models_dir = tmp_path / "models"
    make_model(models_dir / "active-one")
    make_model(models_dir / "env-one")
    elsewhere = make_model(tmp_path / "elsewhere", STATIC_FILES)
    set_active(models_dir, "active-one")
    monkeypatch.delenv("STEADY_MODEL", raising=False)
    assert resolve_model(models_dir) == models_dir / "active-one"
    monkeypatch.setenv("STEADY_MODEL", "env-one")
    assert resolve_model(models_dir) == models_dir / "env-one"
    assert resolve_model(models_dir, "active-one") == models_dir / "active-one"
    assert resolve_model(models_dir, elsewhere) == elsewhere
    assert resolve_model(models_dir, str(elsewhere)) == elsewhere
    monkeypatch.setenv("STEADY_MODEL", str(elsewhere))
    assert resolve_model(models_dir) == elsewhere


def test_resolve_model_rejects_unknown_and_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEADY_MODEL", raising=False)
    make_model(tmp_path / "broken", ("am/final.mdl",))
    with pytest.raises(ModelError, match="no speech model called 'nope'"):
        resolve_model(tmp_path, "nope")
    with pytest.raises(ModelError, match="not a usable Vosk model"):
        resolve_model(tmp_path, "broken")


# ------------------------------------------------------------------------ install


def test_install_from_zip_with_top_folder(tmp_path: Path) -> None:
    source = make_zip(tmp_path / "download.zip", fake_members("my-model-1.0/"))
    models_dir = tmp_path / "models"
    model = install_model(source, models_dir, progress=False)
    assert model == InstalledModel(
        name="my-model-1.0",
        path=models_dir / "my-model-1.0",
        size_bytes=model.size_bytes,
        supports_grammar=True,
        active=True,
    )
    check_model(model.path)
    assert (models_dir / "ACTIVE").read_text() == "my-model-1.0\n"
    assert leftovers(models_dir) == ["ACTIVE", "my-model-1.0"]


def test_install_from_flat_zip_uses_zip_name(tmp_path: Path) -> None:
    source = make_zip(tmp_path / "flat model.zip", fake_members("", STATIC_FILES))
    model = install_model(source, tmp_path / "models", progress=False)
    assert model.name == "flat-model"
    assert not model.supports_grammar


def test_install_from_folder_and_nested_folder(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    direct = install_model(make_model(tmp_path / "direct"), models_dir, progress=False)
    assert direct.name == "direct" and direct.active
    nested = make_model(tmp_path / "unpacked" / "inner-model")
    second = install_model(tmp_path / "unpacked", models_dir, progress=False)
    assert second.name == "inner-model"
    assert not second.active  # the first install stays active
    assert active_model_name(models_dir) == "direct"
    assert (nested / "am/final.mdl").is_file()  # the source is left alone


def test_install_replaces_existing_model_of_same_name(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    install_model(make_model(tmp_path / "m"), models_dir, progress=False)
    (tmp_path / "m" / "am" / "final.mdl").write_bytes(b"newer")
    install_model(tmp_path / "m", models_dir, progress=False)
    assert (models_dir / "m" / "am" / "final.mdl").read_bytes() == b"newer"
    assert leftovers(models_dir) == ["ACTIVE", "m"]


def test_install_from_aar_uses_file_name_for_other_models(tmp_path: Path) -> None:
    members = fake_members("assets/model-de/") | {"classes.jar": b"", "AndroidManifest.xml": b""}
    model = install_model(make_zip(tmp_path / "vosk-model-de-1.aar", members), tmp_path / "m")
    assert model.name == "vosk-model-de-1"
    assert not (model.path / "classes.jar").exists()


@pytest.mark.parametrize(
    "bad_member",
    ["../evil/am/final.mdl", "/abs/evil.txt", "model/../../evil.txt", "C:/windows/evil.txt"],
)
def test_install_rejects_path_traversal(tmp_path: Path, bad_member: str) -> None:
    members = fake_members("model/") | {bad_member: b"evil"}
    source = make_zip(tmp_path / "evil.zip", members)
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError, match="unsafe entry"):
        install_model(source, models_dir, progress=False)
    assert leftovers(models_dir) == []
    assert not (tmp_path / "evil").exists()


def test_install_rejects_symlink_member(tmp_path: Path) -> None:
    source = tmp_path / "link.zip"
    with zipfile.ZipFile(source, "w") as archive:
        for name, data in fake_members("model/").items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("model/conf/extra.conf")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ModelError, match="unsafe entry"):
        install_model(source, tmp_path / "models", progress=False)


def test_install_rejects_corrupt_and_non_zip_files(tmp_path: Path) -> None:
    not_zip = tmp_path / "model.zip"
    not_zip.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(ModelError, match=r"not a readable \.zip or \.aar") as info:
        install_model(not_zip, tmp_path / "models", progress=False)
    assert "\n" not in str(info.value)

    good = make_zip(tmp_path / "good.zip", fake_members("m/") | {"m/am/final.mdl": b"x" * 5000})
    data = bytearray(good.read_bytes())
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ModelError):
        install_model(truncated, tmp_path / "models", progress=False)
    assert leftovers(tmp_path / "models") == []


def test_install_detects_damaged_member_data(tmp_path: Path) -> None:
    source = tmp_path / "crc.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_STORED) as archive:
        for name, data in fake_members("m/").items():
            archive.writestr(name, data)
    raw = bytearray(source.read_bytes())
    spot = raw.index(b"fake am/final.mdl")
    raw[spot] ^= 0xFF  # corrupt member bytes; the CRC check must catch it
    source.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="damaged"):
        install_model(source, tmp_path / "models", progress=False)
    assert leftovers(tmp_path / "models") == []


def test_install_rejects_archives_without_or_with_several_models(tmp_path: Path) -> None:
    empty = make_zip(tmp_path / "empty.zip", {"readme.txt": b"hello"})
    with pytest.raises(ModelError, match=r"no am/final\.mdl"):
        install_model(empty, tmp_path / "models", progress=False)
    two = make_zip(tmp_path / "two.zip", fake_members("a/") | fake_members("b/"))
    with pytest.raises(ModelError, match="contains 2 models"):
        install_model(two, tmp_path / "models", progress=False)
    incomplete = make_zip(tmp_path / "inc.zip", fake_members("m/", ("am/final.mdl",)))
    with pytest.raises(ModelError, match=r"conf/model\.conf"):
        install_model(incomplete, tmp_path / "models", progress=False)
    assert leftovers(tmp_path / "models") == []


def test_install_rejects_missing_source(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        install_model(tmp_path / "nothing.zip", tmp_path / "models", progress=False)


def test_default_name_with_wrong_files_is_rejected_and_nothing_left(tmp_path: Path) -> None:
    source = make_zip(tmp_path / "x.zip", fake_members(f"{DEFAULT_MODEL_NAME}/"))
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError, match="failed its checksum check") as info:
        install_model(source, models_dir, progress=False)
    assert "\n" not in str(info.value)
    assert leftovers(models_dir) == []


def test_failed_reinstall_keeps_the_previous_model(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    install_model(make_model(tmp_path / "keep"), models_dir, progress=False)
    bad = make_zip(tmp_path / "keep.zip", fake_members("keep/", ("am/final.mdl",)))
    with pytest.raises(ModelError):
        install_model(bad, models_dir, progress=False)
    check_model(models_dir / "keep")
    assert leftovers(models_dir) == ["ACTIVE", "keep"]


def test_progress_lines_when_stderr_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = {"m/am/final.mdl": b"x" * 200_000} | fake_members("m/", GRAMMAR_FILES[1:])
    install_model(make_zip(tmp_path / "m.zip", members), tmp_path / "models", progress=True)
    err = capsys.readouterr().err
    assert "Unpacking speech model: 100%" in err
    assert "\r" not in err


def test_install_folder_already_in_models_dir(tmp_path: Path) -> None:
    make_model(tmp_path / "here")
    model = install_model(tmp_path / "here", tmp_path, progress=False)
    assert model.name == "here" and model.active
    assert leftovers(tmp_path) == ["ACTIVE", "here"]


# ---------------------------------------------------------------- the real model


@needs_real_aar
def test_real_aar_installs_as_default_and_matches_manifest(tmp_path: Path) -> None:
    assert sha256(REAL_AAR) == models._PINNED_AARS["0.3.45"][1]
    model = install_model(REAL_AAR, tmp_path, progress=False)
    assert model.name == DEFAULT_MODEL_NAME
    assert model.supports_grammar and model.active
    for rel, (size, digest) in DEFAULT_MODEL_MANIFEST.items():
        path = model.path / rel
        assert path.stat().st_size == size, rel
        assert sha256(path) == digest, rel
    assert len(DEFAULT_MODEL_MANIFEST) == 13
    check_model(model.path)
    assert resolve_model(tmp_path) == model.path


def repack_default_as_zip(target: Path) -> Path:
    """The .aar's model as an official-style zip (top folder = default name)."""
    with zipfile.ZipFile(REAL_AAR) as aar, zipfile.ZipFile(target, "w") as out:
        for info in aar.infolist():
            prefix = "assets/model-en-us/"
            if info.filename.startswith(prefix) and not info.is_dir():
                rel = info.filename[len(prefix) :]
                out.writestr(f"{DEFAULT_MODEL_NAME}/{rel}", aar.read(info))
    return target


@needs_real_aar
def test_fetch_route_one_from_local_file_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.m2 to fall back on
    archive = repack_default_as_zip(tmp_path / "official.zip")
    models_dir = tmp_path / "models"
    model = fetch_default_model(models_dir, progress=False, zip_url=archive.as_uri())
    assert model.name == DEFAULT_MODEL_NAME and model.active
    assert leftovers(models_dir) == ["ACTIVE", DEFAULT_MODEL_NAME]


@needs_real_aar
def test_fetch_uses_intact_aar_from_user_maven_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    copy = home / ".m2/repository/com/alphacephei/vosk-model-en/0.3.45/vosk-model-en-0.3.45.aar"
    copy.parent.mkdir(parents=True)
    copy.symlink_to(REAL_AAR)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # mvn must not be needed
    models_dir = tmp_path / "models"
    started = time.monotonic()
    model = fetch_default_model(models_dir, progress=False, zip_url=UNREACHABLE, timeout=5)
    assert model.name == DEFAULT_MODEL_NAME
    assert leftovers(models_dir) == ["ACTIVE", DEFAULT_MODEL_NAME]

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("fetch must not download an installed, verified model")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    again = fetch_default_model(models_dir, progress=False)
    assert again == model
    assert time.monotonic() - started < 60


@needs_real_aar
def test_fetch_reinstalls_an_altered_default_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models_dir = tmp_path / "models"
    install_model(REAL_AAR, models_dir, progress=False)
    (models_dir / DEFAULT_MODEL_NAME / "conf" / "model.conf").write_text("tampered\n")
    home = tmp_path / "home"
    copy = home / ".m2/repository/com/alphacephei/vosk-model-en/0.3.45/vosk-model-en-0.3.45.aar"
    copy.parent.mkdir(parents=True)
    copy.symlink_to(REAL_AAR)
    monkeypatch.setenv("HOME", str(home))
    model = fetch_default_model(models_dir, progress=False, zip_url=UNREACHABLE)
    assert sha256(model.path / "conf/model.conf") == DEFAULT_MODEL_MANIFEST["conf/model.conf"][1]


def test_fetch_fails_fast_with_one_sentence_when_both_routes_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    models_dir = tmp_path / "models"
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        fetch_default_model(models_dir, progress=False, zip_url=UNREACHABLE, timeout=5)
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert message == (
        "Could not download the speech model (127.0.0.1 unreachable (Connection refused); "
        "Maven: mvn is not installed); download vosk-model-small-en-us-0.15.zip on another "
        "machine and run `steady models install PATH`."
    )
    assert leftovers(models_dir) == []


def test_fetch_rejects_a_downloaded_zip_that_is_not_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    impostor = make_zip(tmp_path / "impostor.zip", fake_members(f"{DEFAULT_MODEL_NAME}/"))
    with pytest.raises(ModelError, match="failed verification; Maven: mvn is not installed"):
        fetch_default_model(tmp_path / "models", progress=False, zip_url=impostor.as_uri())
    assert leftovers(tmp_path / "models") == []


def test_maven_reason_is_short() -> None:
    output = (
        "\x1b[0m[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin"
        ":2.8:get (default-cli) on project standalone-pom: Couldn't download artifact: Could "
        "not find artifact com.alphacephei:vosk-model-en:aar:0.3.70 in central "
        "(https://repo.maven.apache.org/maven2)\n[ERROR] \n[ERROR] Try downloading ...\n"
    )
    assert models._maven_reason(output, 1) == (
        "Could not find artifact com.alphacephei:vosk-model-en:aar:0.3.70 in central"
    )
    assert models._maven_reason("", 3) == "mvn exited with status 3"


# ------------------------------------------------------- Maven (needs mvn + Central)


@needs_mvn
def test_fetch_through_maven_with_private_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.m2 shortcut: really run mvn
    models_dir = tmp_path / "models"
    model = fetch_default_model(models_dir, progress=False, zip_url=UNREACHABLE)
    assert model.name == DEFAULT_MODEL_NAME and model.supports_grammar
    assert leftovers(models_dir) == ["ACTIVE", DEFAULT_MODEL_NAME]


@needs_mvn
def test_fetch_reports_maven_reason_for_unserved_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError, match="Maven: Could not find artifact") as info:
        fetch_default_model(models_dir, progress=False, zip_url=UNREACHABLE, maven_version="0.3.70")
    assert "steady models install PATH" in str(info.value)
    assert leftovers(models_dir) == []


def test_a_model_that_will_not_load_is_one_sentence_once_awaited(tmp_path: Path) -> None:
    from assistant.stt import ModelLoad

    folder = make_model(tmp_path / "scrambled")  # the right files, none of them a model
    loading = ModelLoad(folder)  # returns at once; the load runs on its own thread
    with pytest.raises(ModelError, match=r"could not be loaded .*steady models fetch"):
        loading.result()


def test_a_missing_model_is_reported_before_anything_else_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant import understand

    monkeypatch.delenv("STEADY_MODEL", raising=False)
    monkeypatch.setattr(understand, "models_dir", lambda: tmp_path)
    with pytest.raises(ModelError, match="steady models fetch"):
        understand.load_model()
