"""The naive Bayes second opinion on which intent a sentence's words point to."""

from __future__ import annotations

import pytest

from assistant.word_model import WordModel, features

STOP = frozenset({"i", "am", "so", "the", "a", "me", "my"})


def test_features_are_content_words_and_their_pairs() -> None:
    assert features("i am so sad today".split(), STOP) == ["sad", "today", "sad_today"]


def test_posteriors_sum_to_one_and_follow_the_words() -> None:
    model = WordModel(
        ["i am so sad", "feeling low and sad", "i am so angry", "furious and angry"],
        ["sad", "sad", "angry", "angry"],
        STOP,
    )
    post = model.posterior("so sad and low")
    assert sum(post.values()) == pytest.approx(1.0)
    assert post["sad"] > 0.9


def test_an_intent_with_many_examples_is_not_favoured() -> None:
    sentences = [f"box breathing number {n}" for n in range(200)] + ["feeling sad"]
    owners = ["breathe"] * 200 + ["sad"]
    post = WordModel(sentences, owners, STOP).posterior("sad")
    assert max(post, key=lambda k: post[k]) == "sad"


def test_words_no_example_uses_give_no_opinion() -> None:
    model = WordModel(["i am sad"], ["sad"], STOP)
    assert model.posterior("the weather in paris") == {}
