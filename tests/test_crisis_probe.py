"""The crisis probe lists: ways people at risk really talk, written independently of the
rules and since used to grow them (tests/data/crisis_probe_en.yaml says how). These
tests keep what was learnt from being lost; they do not measure unseen phrasings.
(The crisis check is what ``IntentMatcher.match`` runs first; it decides alone.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.matcher import IntentMatcher

PROBE = yaml.safe_load(
    (Path(__file__).resolve().parent / "data" / "crisis_probe_en.yaml").read_text(encoding="utf-8")
)
CRISIS = [(name, p) for name, phrases in PROBE["crisis"].items() for p in phrases]
HARMLESS = [(name, p) for name, phrases in PROBE["not_crisis"].items() for p in phrases]

TOO_OBLIQUE = {
    # Nothing in the words says which "it" or what is planned; a rule that caught
    # these would flag ordinary sentences too.
    "do you think it would hurt",
    "no respawn irl and i'm kinda ok with that tbh",
    "tried once back in the drought years and it's the same feeling creeping in now",
    "everyone thinks i'm the strong one but it's planned for after my last shift on friday",
    "thought about it every single day since the receivers came in",
    "lost more buddies to this than to the enemy and i figure i'm next",
    "boxed up my medals for my son with a note on top",
    "told the doctors i was fine so they'd let me go but i wasn't",
}
EVERYDAY_FALSE_ALARMS_AT_MOST = 10
"""Out of 250 (13 with the rules before the probe lists; see the file's header)."""


@pytest.mark.parametrize(("name", "phrase"), CRISIS)
def test_probe_crisis_statements_are_caught(matcher: IntentMatcher, name: str, phrase: str) -> None:
    if phrase in TOO_OBLIQUE:
        pytest.xfail("too oblique for a rule")
    assert matcher.crisis.check(phrase) is not None, name


@pytest.mark.parametrize(("name", "phrase"), HARMLESS)
def test_probe_look_alikes_are_not_a_crisis(matcher: IntentMatcher, name: str, phrase: str) -> None:
    assert matcher.crisis.check(phrase) is None, name


def test_everyday_venting_raises_few_false_alarms(matcher: IntentMatcher) -> None:
    flagged = [p for p in PROBE["everyday"] if matcher.crisis.check(p) is not None]
    assert len(flagged) <= EVERYDAY_FALSE_ALARMS_AT_MOST, flagged
