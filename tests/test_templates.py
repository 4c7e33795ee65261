from __future__ import annotations

import pytest

from assistant.templates import MAX_EXPANSIONS, TemplateError, expand, slots_in


def test_alternatives_optional_and_nesting() -> None:
    got = expand("[i] (feel|am (really|so) feeling) anxious")
    assert "feel anxious" in got
    assert "i am really feeling anxious" in got
    assert "i am so feeling anxious" in got
    assert len(got) == 6


def test_optional_alternatives_may_be_absent() -> None:
    assert expand("slow [down|it down]") == ["slow", "slow down", "slow it down"]


def test_slots_are_kept_as_placeholders() -> None:
    got = expand("for {duration} [please]")
    assert got == ["for {duration}", "for {duration} please"]
    assert slots_in("i am a {rating} out of {rating}") == {"rating"}


@pytest.mark.parametrize("bad", ["(a|b", "a|b)", "[a", "", "a ] b"])
def test_malformed_templates_say_where(bad: str) -> None:
    with pytest.raises(TemplateError):
        expand(bad)


def test_expansion_is_bounded() -> None:
    big = " ".join(["(a|b|c|d|e|f|g|h|i|j)"] * 4)
    with pytest.raises(TemplateError, match=str(MAX_EXPANSIONS)):
        expand(big)
