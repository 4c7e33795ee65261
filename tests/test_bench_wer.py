"""The word error rate computation of bench.wer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.wer import edit_distance, load_corpus, wer, words


def test_edit_distance_counts_substitutions_deletions_insertions() -> None:
    assert edit_distance([], []) == 0
    assert edit_distance("a b c".split(), "a b c".split()) == 0
    assert edit_distance("a b c".split(), "a x c".split()) == 1  # substitution
    assert edit_distance("a b c".split(), "a c".split()) == 1  # deletion
    assert edit_distance("a b c".split(), "a b c d".split()) == 1  # insertion
    assert edit_distance("a b".split(), []) == 2
    assert edit_distance([], "a b".split()) == 2
    assert edit_distance("he was not an ill man".split(), "he was not a nail man".split()) == 2


def test_wer_is_total_edits_over_total_reference_words() -> None:
    pairs = [("one two three four", "one two three four"), ("five six", "five seven six")]
    assert wer(pairs) == pytest.approx(1 / 6)
    assert wer([("a b", "")]) == 1.0
    with pytest.raises(ValueError):
        wer([("", "anything")])


def test_words_normalise_sphinx_markup_case_and_abbreviations() -> None:
    assert words("<s> And MR. John's  cat </s> (file-01)") == ["and", "mister", "john's", "cat"]


def test_load_corpus_reads_sphinx_transcriptions(tmp_path: Path) -> None:
    (tmp_path / "transcription").write_text(
        "<s> hello there </s> (clip-1)\n<s> no audio </s> (clip-2)\n", encoding="utf-8"
    )
    (tmp_path / "clip-1.wav").write_bytes(b"")
    corpus = load_corpus(tmp_path)
    assert [(u.file_id, u.reference) for u in corpus] == [("clip-1", "hello there")]
    assert load_corpus(tmp_path / "missing") == []
