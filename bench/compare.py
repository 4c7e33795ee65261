"""Intent accuracy under noise, Steady and two baselines side by side on the same audio.

Held-out phrasings (``bench/phrases/heldout_en.yaml``, never tuned on) are spoken by the
synthetic voices in rotation and mixed with pink noise and babble at each SNR. Every
clip is decoded once by Steady's recognizer (grammar pass + open-vocabulary pass);
then

* **Steady** — :func:`assistant.understand.match_transcript` on both readings;
* **keywords** — :func:`bench.baselines.keyword_intent` on the open-vocabulary text;
* **extractOne** — :class:`bench.baselines.FuzzyBaseline` on the open-vocabulary text.

The open-vocabulary pass is exactly Vosk with the model's own vocabulary, fed the same
audio, so the baselines see what a plain Vosk setup would have heard.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.audio_format import Audio, load_wav
from assistant.matcher import IntentMatcher
from assistant.stt import VoskSpeechToText
from assistant.understand import build_matcher, build_stt, understand_audio
from bench.accuracy import (
    CLEAN,
    CRISIS,
    PHRASES_DIR,
    SET_FILES,
    Condition,
    Item,
    _other_phrases,
    _seed,
    in_condition,
    load_items,
)
from bench.baselines import FuzzyBaseline, keyword_intent
from bench.voices import Voice, render_all

SYSTEMS = ("steady", "keywords", "extractone")
SYSTEM_LABELS = {
    "steady": "Steady",
    "keywords": "Keyword spotting",
    "extractone": "rapidfuzz extractOne",
}
SNRS: tuple[float, ...] = (20.0, 10.0, 5.0)
NOISES = ("pink", "babble")
TARGETS = {"clean": 0.97, "10": 0.93, "5": 0.85}
"""Steady's targets: accuracy on intent phrases, by SNR (both noises pooled)."""
BABBLE_POOL = 48


def conditions(quick: bool) -> list[Condition]:
    if quick:
        return [CLEAN, Condition("pink", 10.0), Condition("babble", 5.0)]
    return [CLEAN, *(Condition(n, s) for n in NOISES for s in SNRS)]


def _spread(items: Sequence[Item], k: int) -> list[Item]:
    """``k`` items spread evenly through ``items`` (all when there are fewer)."""
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def select_items(per_intent: int, per_crisis: int, figurative: int) -> list[Item]:
    """Held-out items: up to ``per_intent`` per intent, ``per_crisis`` per crisis category."""
    loaded = load_items("heldout", PHRASES_DIR / SET_FILES["heldout"])
    others = _other_phrases(PHRASES_DIR)
    loaded = [i for i in loaded if i.text not in others]
    groups: dict[tuple[str, str], list[Item]] = {}
    for item in loaded:
        groups.setdefault((item.kind, item.category), []).append(item)
    limit = {"intent": per_intent, "crisis": per_crisis, "figurative": figurative}
    out: list[Item] = []
    for (kind, _), members in groups.items():
        out.extend(_spread(members, limit[kind]))
    # Re-index so the voice rotation spreads over the selection.
    return [Item(i.set, i.kind, i.expected, i.category, i.text, n) for n, i in enumerate(out)]


@dataclass(frozen=True)
class Trial:
    kind: str
    expected: str
    category: str
    text: str
    voice: str
    noise: str | None
    snr: float | None
    steady: str
    keywords: str
    extractone: str
    transcript: str
    open_text: str
    audio_seconds: float
    cpu_seconds: float

    def got(self, system: str) -> str:
        return str(getattr(self, system))


@dataclass
class _Worker:
    matcher: IntentMatcher
    stt: VoskSpeechToText
    fuzzy: FuzzyBaseline
    babble: list[tuple[str, Audio]]


_worker: _Worker | None = None


def _init(model: str | None, babble: list[tuple[str, str]]) -> None:
    global _worker
    logging.basicConfig(level=logging.WARNING)
    matcher = build_matcher()
    stt = build_stt(matcher, Path(model) if model else None)
    clips = [(text, load_wav(path)) for text, path in babble]
    _worker = _Worker(matcher, stt, FuzzyBaseline.from_matcher(matcher), clips)


_Task = tuple[Item, str, str, Condition, int]


def _run_task(task: _Task) -> Trial:
    item, voice, path, condition, seed = task
    state = _worker
    if state is None:
        raise RuntimeError("worker not initialised")
    rng_seed = _seed(seed, item.text, voice, condition.name)
    audio = in_condition(load_wav(Path(path)), item.text, condition, rng_seed, state.babble)
    cpu = time.process_time()
    transcript, match = understand_audio(state.stt, state.matcher, audio)
    open_text = transcript.open_text if transcript.open_text is not None else transcript.text
    steady_cpu = time.process_time() - cpu
    return Trial(
        kind=item.kind,
        expected=item.expected,
        category=item.category,
        text=item.text,
        voice=voice,
        noise=condition.noise,
        snr=condition.snr,
        steady=match.intent,
        keywords=keyword_intent(open_text),
        extractone=state.fuzzy.intent(open_text),
        transcript=transcript.text,
        open_text=open_text,
        audio_seconds=audio.duration,
        cpu_seconds=steady_cpu,
    )


def run(
    items: Sequence[Item],
    voices: Sequence[Voice],
    conds: Sequence[Condition],
    cache: Path,
    *,
    model: Path | None = None,
    workers: int = 2,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> list[Trial]:
    """Render, mix and decode every (item, condition); one voice per item, in rotation."""
    jobs = [(voices[item.index % len(voices)], item.text) for item in items]
    renders = render_all(jobs, cache, workers=workers)
    babble: list[tuple[str, str]] = []
    if any(c.noise == "babble" for c in conds):
        keys = sorted(renders)
        babble = [
            (text, str(renders[(v, text)])) for v, text in keys[:: max(1, len(keys) // BABBLE_POOL)]
        ]
    tasks: list[_Task] = [
        (item, voice.name, str(renders[(voice.name, item.text)]), cond, seed)
        for cond in conds
        for item, (voice, _) in zip(items, jobs, strict=True)
        if (voice.name, item.text) in renders
    ]
    trials: list[Trial] = []
    with ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init,
        initargs=(str(model) if model else None, babble),
    ) as pool:
        for trial in pool.map(_run_task, tasks, chunksize=2):
            trials.append(trial)
            if progress is not None:
                progress(len(trials), len(tasks))
    return trials


# --------------------------------------------------------------------------- numbers


def snr_key(trial: Trial) -> str:
    return "clean" if trial.snr is None else f"{trial.snr:g}"


def _rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


def intent_accuracy(trials: Sequence[Trial], system: str) -> tuple[float | None, int]:
    chosen = [t for t in trials if t.kind == "intent"]
    return _rate(sum(t.got(system) == t.expected for t in chosen), len(chosen)), len(chosen)


def crisis_recall(trials: Sequence[Trial], system: str) -> tuple[float | None, int]:
    chosen = [t for t in trials if t.kind == "crisis"]
    return _rate(sum(t.got(system) == CRISIS for t in chosen), len(chosen)), len(chosen)


def false_crisis(trials: Sequence[Trial], system: str) -> tuple[float | None, int]:
    """Share of non-crisis phrases (intents and figurative speech) answered as a crisis."""
    chosen = [t for t in trials if t.kind != "crisis"]
    return _rate(sum(t.got(system) == CRISIS for t in chosen), len(chosen)), len(chosen)


def summarise(trials: Sequence[Trial]) -> dict[str, Any]:
    """Numbers per system: by SNR, by condition, by voice; crisis recall and false crisis."""
    snrs = list(dict.fromkeys(snr_key(t) for t in trials))
    conds = list(dict.fromkeys((t.noise or "clean", snr_key(t)) for t in trials))
    voices = sorted({t.voice for t in trials})
    out: dict[str, Any] = {"snrs": snrs, "voices": voices, "systems": {}}
    for system in SYSTEMS:
        by_snr = {s: intent_accuracy([t for t in trials if snr_key(t) == s], system) for s in snrs}
        by_cond = {
            ("clean" if s == "clean" else f"{n} {s} dB"): intent_accuracy(
                [t for t in trials if (t.noise or "clean") == n and snr_key(t) == s], system
            )
            for n, s in conds
        }
        by_voice = {v: intent_accuracy([t for t in trials if t.voice == v], system) for v in voices}
        out["systems"][system] = {
            "by_snr": by_snr,
            "by_condition": by_cond,
            "by_voice": by_voice,
            "crisis_recall": {
                s: crisis_recall([t for t in trials if snr_key(t) == s], system) for s in snrs
            },
            "crisis_recall_all": crisis_recall(trials, system),
            "false_crisis_all": false_crisis(trials, system),
            "overall": intent_accuracy(trials, system),
        }
    confusions: Counter[tuple[str, str]] = Counter(
        (t.expected, t.steady) for t in trials if t.kind == "intent" and t.steady != t.expected
    )
    out["steady_confusions"] = confusions.most_common(8)
    out["audio_seconds"] = sum(t.audio_seconds for t in trials)
    out["cpu_seconds"] = sum(t.cpu_seconds for t in trials)
    return out
