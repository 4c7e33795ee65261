"""Tables kept between starts: read back only while the data and code are unchanged,
rebuilt from anything damaged, and never holding the crisis rules."""

from __future__ import annotations

import pickle
import shutil
import stat
from pathlib import Path
from typing import Generic, TypeVar

import pytest

from assistant.matcher import IntentMatcher, Tables
from assistant.paths import intents_dir
from assistant.prebuilt import NOT_KEPT, Prebuilt, source_key
from assistant.stt import VoskSpeechToText, model_fingerprint
from assistant.understand import build_matcher, build_stt
from assistant.word_model import Building, WordModel

T = TypeVar("T")


class Counted(Generic[T]):
    """A builder that says how often it ran."""

    def __init__(self, value: T) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> T:
        self.calls += 1
        return self.value


def _kept(folder: Path, key: str = "k1") -> Prebuilt:
    return Prebuilt(folder, key=lambda: key)


def test_a_table_is_built_once_and_read_back(tmp_path: Path) -> None:
    build = Counted({"a": 1})
    first = _kept(tmp_path)
    assert first.get("t", dict, build) == {"a": 1}
    first.wait()
    assert _kept(tmp_path).get("t", dict, build) == {"a": 1}
    assert build.calls == 1
    [kept] = tmp_path.glob("t-*.pickle")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700


def test_a_new_key_builds_afresh_and_drops_the_old_table(tmp_path: Path) -> None:
    old = _kept(tmp_path, "old")
    old.get("t", dict, Counted({"v": "old"}))
    old.wait()
    new = _kept(tmp_path, "new")
    assert new.get("t", dict, Counted({"v": "new"})) == {"v": "new"}
    new.wait()
    assert len(list(tmp_path.glob("t-*.pickle"))) == 1
    assert _kept(tmp_path, "new").get("t", dict, Counted({})) == {"v": "new"}


@pytest.mark.parametrize("damage", [b"", b"not a pickle", pickle.dumps(["a list"])])
def test_a_damaged_or_foreign_table_is_built_again(tmp_path: Path, damage: bytes) -> None:
    kept = _kept(tmp_path)
    kept.get("t", dict, Counted({"v": 1}))
    kept.wait()
    [path] = tmp_path.glob("t-*.pickle")
    path.write_bytes(damage)
    build = Counted({"v": 2})
    again = _kept(tmp_path)
    assert again.get("t", dict, build) == {"v": 2}
    again.wait()
    assert build.calls == 1
    assert _kept(tmp_path).get("t", dict, Counted({})) == {"v": 2}


def test_a_folder_that_cannot_be_written_only_costs_the_saving(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("in the way")
    kept = _kept(blocked / "tables")
    assert kept.get("t", dict, Counted({"v": 1})) == {"v": 1}
    kept.wait()  # the failed write is logged, not raised


def test_not_kept_builds_every_time(tmp_path: Path) -> None:
    build = Counted([1])
    assert NOT_KEPT.get("t", list, build) == [1]
    assert NOT_KEPT.get("t", list, build) == [1]
    assert build.calls == 2


def test_the_key_changes_with_any_data_or_code_file(tmp_path: Path) -> None:
    data, code = tmp_path / "data", tmp_path / "code"
    (data / "sub").mkdir(parents=True)
    code.mkdir()
    (data / "sub" / "a.yaml").write_text("x: 1\n")
    (code / "m.py").write_text("X = 1\n")
    key = source_key((data, code))
    assert source_key((data, code)) == key
    (data / "sub" / "a.yaml").write_text("x: 2\n")
    changed_data = source_key((data, code))
    (code / "m.py").write_text("X = 2\n")
    changed_code = source_key((data, code))
    (code / "new.py").write_text("")
    added = source_key((data, code))
    assert len({key, changed_data, changed_code, added}) == 4


def test_the_bundled_key_covers_the_sentences_and_the_matcher() -> None:
    key = source_key()
    assert len(key) == 64 and source_key() == key


def test_word_counts_are_kept_as_the_finished_model() -> None:
    building = Building(["i feel sad", "breathe with me"], ["sad", "breathe"], {"i", "me"})
    back = pickle.loads(pickle.dumps(building))
    assert isinstance(back.get(), WordModel)
    assert back.get().leanings == building.get().leanings
    assert back.get().posterior("sad") == building.get().posterior("sad")


def test_kept_tables_understand_exactly_as_fresh_ones(tmp_path: Path) -> None:
    fresh = build_matcher("en")
    first = _kept(tmp_path)
    build_matcher("en", first)
    first.wait()
    again = _kept(tmp_path)
    kept = build_matcher("en", again)
    assert not again._writing  # read back, not built
    assert kept.tables.intents == fresh.tables.intents
    assert kept.tables.exact == fresh.tables.exact
    assert kept.tables.sentences == fresh.tables.sentences
    assert kept.tables.owners == fresh.tables.owners
    assert kept.tables.words.get().leanings == fresh.tables.words.get().leanings
    for text in (
        "i feel anxious",
        "can we do box breathing for five minutes",
        "i'm about a seven",
        "this traffic is killing me",
        "i want to end my life",
        "play some music",
    ):
        assert kept.match(text) == fresh.match(text), text


def test_the_recognizer_grammar_is_kept_for_its_model(
    tmp_path: Path, model_path: Path, stt: VoskSpeechToText
) -> None:
    first = _kept(tmp_path)
    build_stt(build_matcher("en", first), model_path)
    first.wait()
    again = _kept(tmp_path)
    kept = build_stt(build_matcher("en", again), model_path)
    assert not again._writing  # read back, not built
    assert kept._grammar == stt._grammar  # the same grammar as built afresh
    assert kept._ends == stt._ends and kept._complete == stt._complete
    assert kept.quick_phrases == stt.quick_phrases and kept.vocabulary == stt.vocabulary
    [name] = {p.name.rsplit("-", 1)[0] for p in tmp_path.glob("grammar-*.pickle")}
    assert name == f"grammar-en-{model_fingerprint(model_path)}"


def test_a_model_that_changes_gets_a_grammar_of_its_own(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "conf").mkdir(parents=True)
    (model / "conf" / "model.conf").write_text("--min-active=200\n")
    before = model_fingerprint(model)
    assert model_fingerprint(model) == before
    (model / "conf" / "model.conf").write_text("--min-active=200 \n")
    assert model_fingerprint(model) != before
    shutil.copytree(model, tmp_path / "other")
    assert model_fingerprint(tmp_path / "other") != model_fingerprint(model)


def test_the_crisis_rules_are_read_afresh_whatever_is_kept(tmp_path: Path) -> None:
    data = tmp_path / "intents"
    shutil.copytree(intents_dir(), data)
    kept = tmp_path / "kept"
    # One key for both starts: the tables are read back even though a file changed.
    first = Prebuilt(kept, key=lambda: "same")
    before = IntentMatcher.from_data(data, "en", first)
    first.wait()
    said = "the marmalade plan is on for tonight"
    assert before.match(said).intent != "crisis"
    crisis = data / "safety" / "en" / "crisis.yaml"
    text = crisis.read_text(encoding="utf-8")
    assert "\n  explicit:\n" in text
    crisis.write_text(
        text.replace("\n  explicit:\n", '\n  explicit:\n    - "\\\\bmarmalade plan\\\\b"\n', 1),
        encoding="utf-8",
    )
    again = Prebuilt(kept, key=lambda: "same")
    after = IntentMatcher.from_data(data, "en", again)
    assert not again._writing  # the sentences' tables were read back...
    assert after.match(said).intent == "crisis"  # ...and the new rule still counts


def test_a_start_leaves_its_tables_in_the_data_folder(tmp_path: Path, model_path: Path) -> None:
    from assistant.app import App
    from assistant.config import Settings

    app = App.load(Settings(), str(tmp_path))
    build_stt(app.matcher, model_path)
    app.matcher.prebuilt.wait()
    names = sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "tables").iterdir())
    assert names == ["grammar", "sentences"]
    assert isinstance(app.matcher.tables, Tables)


def test_steady_match_keeps_its_tables_for_the_next_run(tmp_path: Path) -> None:
    from tests.test_cli import steady

    first = steady("match", "--data-dir", str(tmp_path), stdin="i feel anxious\n")
    assert first.returncode == 0 and first.stdout.startswith("anxious")
    assert list((tmp_path / "cache" / "tables").glob("sentences-en-*.pickle"))
    again = steady("match", "-v", "--data-dir", str(tmp_path), stdin="i feel anxious\n")
    assert again.returncode == 0 and again.stdout == first.stdout
    assert "read sentences-en back" in again.stderr
