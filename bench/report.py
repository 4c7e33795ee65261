"""The Markdown report of ``python -m bench`` (docs/benchmarks.md)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from assistant.audio_in import MIC_BLOCK_SECONDS
from bench import compare, footprint, latency, pacing, pi, rtf, stop_latency, wer

MISSED = "**target missed**"
MET = "met"


def pct(value: float | None, n: int | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{100 * value:.1f} %"
    return f"{text} ({n})" if n is not None else text


def secs(value: float | None, unit: str = "ms") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{1000 * value:.0f} ms" if unit == "ms" else f"{value:.2f} s"


def status(ok: bool | None) -> str:
    return "–" if ok is None else (MET if ok else MISSED)


def _at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return [*out, ""]


def _get(d: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def headline(results: dict[str, Any]) -> list[list[str]]:
    """(metric, target, measured, status) rows."""
    rows: list[list[str]] = []
    acc = results.get("accuracy")
    if acc:
        by_snr = acc["systems"]["steady"]["by_snr"]
        for key, target in compare.TARGETS.items():
            if key in by_snr:
                value, n = by_snr[key]
                label = "clean" if key == "clean" else f"{key} dB (pink + babble)"
                rows.append(
                    [
                        f"Intent accuracy, {label}",
                        f"≥ {100 * target:.0f} %",
                        pct(value, n),
                        status(value is not None and value >= target),
                    ]
                )
    lat = results.get("latency")
    if lat:
        med = lat["median"]
        ok = med is not None and med <= latency.TARGET
        rows.append(
            [
                "End of speech → first reply sample, median (p95)",
                f"≤ {1000 * latency.TARGET:.0f} ms",
                f"{secs(med)} ({secs(lat['p95'])})",
                status(ok),
            ]
        )
        rows.append(
            [
                "Cut-offs (an utterance split in two)",
                "0",
                f"{lat['cutoffs']} of {lat['n']}",
                status(lat["cutoffs"] == 0),
            ]
        )
    shipped = _get(results, "rtf", "shipped")
    if shipped:
        value = shipped["rtf_cpu"]
        rows.append(
            [
                "STT real-time factor, one core",
                f"≤ {rtf.TARGET}",
                f"{value:.3f}",
                status(value <= rtf.TARGET),
            ]
        )
    fp = results.get("footprint")
    if fp:
        rss, ready = fp["peak_rss_mb"], fp["ready_seconds"]
        rows.append(
            [
                f"Peak RSS ({fp['how']})",
                f"≤ {footprint.TARGET_RSS_MB:.0f} MB",
                "–" if rss is None else f"{rss:.0f} MB",
                status(None if rss is None else rss <= footprint.TARGET_RSS_MB),
            ]
        )
        rows.append(
            [
                "Start to ready",
                f"≤ {footprint.TARGET_READY:.0f} s",
                secs(ready, "s"),
                status(None if ready is None else ready <= footprint.TARGET_READY),
            ]
        )
    pace = results.get("pacing")
    if pace:
        d = pace["drift"]
        rows.append(
            [
                f"Cue drift over a {d['session_seconds'] / 60:.0f}-minute resonance session, max",
                f"≤ {1000 * pacing.TARGET_DRIFT:.0f} ms",
                secs(d["max_abs"]),
                status(d["max_abs"] <= pacing.TARGET_DRIFT),
            ]
        )
        sv = pace["self_voice"]
        rows.append(
            [
                "Commands triggered by Steady's own voice (matcher / after echo filter)",
                "0",
                f"{len(sv['triggered'])} / {len(sv['after_echo_filter'])}",
                status(len(sv["after_echo_filter"]) == 0),
            ]
        )
    stop = results.get("stop")
    if stop:
        med = stop["median"]
        rows.append(
            [
                f"'stop' during Steady's speech → stopped, median of {stop['stopped']}",
                f"≤ {stop_latency.TARGET:.0f} s",
                secs(med, "s"),
                status(None if med is None else med <= stop_latency.TARGET),
            ]
        )
    return rows


def _accuracy(acc: dict[str, Any]) -> list[str]:
    out = ["## 1. Intent accuracy under noise", ""]
    out.append(
        f"{acc['items']} held-out phrasings (`bench/phrases/heldout_en.yaml`, never used for "
        f"tuning; spread over every intent, crisis category and figurative speech), one "
        f"voice each in rotation through {len(acc['voices_used'])} synthetic voices, in "
        f"{len(acc['conditions'])} conditions: {', '.join(acc['conditions'])} — "
        f"{acc['decodes']} decodes. Every clip is decoded once by Steady's recognizer; "
        "the baselines read its open-vocabulary pass (plain Vosk, the model's own "
        "vocabulary, no grammar). Accuracy is over intent phrases (including out-of-scope "
        "requests that should come out `unknown`); crisis phrases are scored as recall."
    )
    out.append("")
    out.append(f"![Accuracy against SNR]({acc['chart']})")
    out.append("")
    systems = acc["systems"]
    header = ["System", *("clean" if s == "clean" else f"{s} dB" for s in acc["snrs"])]
    rows = [
        [compare.SYSTEM_LABELS[s], *(pct(*systems[s]["by_snr"][k]) for k in acc["snrs"])]
        for s in compare.SYSTEMS
    ]
    targets = [
        "Steady's target",
        *(
            f"≥ {100 * compare.TARGETS[k]:.0f} %" if k in compare.TARGETS else ""
            for k in acc["snrs"]
        ),
    ]
    out += ["### Accuracy by SNR (pink and babble pooled)", ""]
    out += table(header, [*rows, targets])
    conds = list(systems["steady"]["by_condition"])
    out += ["### Accuracy by condition", ""]
    out += table(
        ["System", *conds],
        [
            [compare.SYSTEM_LABELS[s], *(pct(*systems[s]["by_condition"][c]) for c in conds)]
            for s in compare.SYSTEMS
        ],
    )
    out += ["### Accuracy by voice (all conditions)", ""]
    out += table(
        ["Voice", *(compare.SYSTEM_LABELS[s] for s in compare.SYSTEMS)],
        [
            [
                f"{v} — {acc['voice_descriptions'].get(v, '')}",
                *(pct(*systems[s]["by_voice"][v]) for s in compare.SYSTEMS),
            ]
            for v in acc["voices"]
        ],
    )
    out += ["### Crisis recall and false crises", ""]
    out += table(
        ["System", *(f"recall {s}" for s in acc["snrs"]), "recall, all", "false crisis, all"],
        [
            [
                compare.SYSTEM_LABELS[s],
                *(pct(*systems[s]["crisis_recall"][k]) for k in acc["snrs"]),
                pct(*systems[s]["crisis_recall_all"]),
                pct(*systems[s]["false_crisis_all"]),
            ]
            for s in compare.SYSTEMS
        ],
    )
    out.append(
        "False crisis = share of non-crisis phrases (intents and figurative speech such as "
        '"this commute is killing me") answered with the crisis response.'
    )
    out.append("")
    if acc["steady_confusions"]:
        out += ["Steady's commonest intent confusions:", ""]
        out += table(
            ["Expected", "Got", "Count"],
            [[e, g, str(c)] for (e, g), c in acc["steady_confusions"]],
        )
    return out


def _wer(w: dict[str, Any]) -> list[str]:
    out = ["## 2. Word error rate on real human speech", ""]
    out.append(
        f"{w['clips']} LibriVox recordings from Debian's `pocketsphinx-testdata` "
        f"(`{wer.LIBRIVOX}`, {w['audio_seconds']:.1f} s, {w['words']} words, read "
        "speech), decoded with the open-vocabulary recognizer (no grammar). Word-level edit "
        "distance, computed in `bench/wer.py`."
    )
    out.append("")
    out += table(
        ["Measure", "WER"],
        [
            [
                "Steady's open-vocabulary pass, pocketsphinx LibriVox clips",
                f"{100 * w['wer']:.2f} %",
            ],
            ["Published for the model, LibriSpeech test-clean", f"{100 * wer.PUBLISHED_WER:.2f} %"],
        ],
    )
    out.append(
        f"{w['clips']} clips, {w['words']} words, is a small sample: one word is "
        f"{100 / max(1, w['words']):.1f} points of WER; the model's LibriSpeech figure is "
        "the one to compare other systems with."
    )
    out.append("")
    out += table(["Reference", "Heard"], [[f"{r}", f"{h}"] for r, h in w["samples"]])
    return out


def _latency(lat: dict[str, Any]) -> list[str]:
    out = ["## 3. Latency: end of speech to the first sample of the reply", ""]
    out.append(
        f"{lat['n']} recordings (requests by several synthetic voices, two with a "
        f"{int(1000 * latency.HESITATION)} ms hesitation pause mid-sentence) streamed in real "
        f"time, in {int(1000 * MIC_BLOCK_SECONDS)} ms blocks as the microphone delivers "
        "them, into `assistant.runtime.listen` (both recognizer passes, "
        "endpointing, dialog, speech output); replies come from the speech cache, as "
        "`steady listen` renders them at start."
    )
    out.append("")
    out += table(
        ["Measure", "Value"],
        [
            ["Median", secs(lat["median"])],
            ["p95", secs(lat["p95"])],
            [
                "Median endpointing share (end of speech → utterance final)",
                secs(lat["endpoint_median"]),
            ],
            ["Replied", f"{lat['replied']} of {lat['n']}"],
            ["Cut-offs", f"{lat['cutoffs']} of {lat['n']}"],
            [
                "Target",
                f"≤ {1000 * latency.TARGET:.0f} ms: "
                f"{status(_at_most(lat['median'], latency.TARGET))}",
            ],
        ],
    )
    out += table(
        ["Request", "Voice", "Latency", "Endpoint", "Turns heard"],
        [
            [
                s["request"],
                s["voice"],
                secs(s["latency"]),
                secs(s["endpoint"]),
                " / ".join(s["heard"]) or "–",
            ]
            for s in lat["samples"]
        ],
    )
    return out


def _speed(results: dict[str, Any]) -> list[str]:
    out = ["## 4. Speed and memory", ""]
    r = results.get("rtf")
    if r:
        out.append(
            "Real-time factor = CPU seconds of decoding / seconds of audio, on the "
            "pocketsphinx LibriVox clips, the process pinned to one core."
        )
        out.append("")
        rows = [
            [
                mode.replace("_", " "),
                f"{r[mode]['rtf_cpu']:.3f}",
                f"{r[mode]['rtf_wall']:.3f}",
                f"{r[mode]['audio_seconds']:.1f} s",
            ]
            for mode in rtf.MODES
            if isinstance(r.get(mode), dict)
        ]
        out += table(["Recognizer", "RTF (CPU)", "RTF (wall)", "Audio"], rows)
        out.append(
            "*shipped* is Steady as it runs (automatic gain and noise suppression, then the "
            "grammar pass and the "
            "open-vocabulary pass, both fed every chunk); *no noise suppression* is the same "
            "without it; *fallback* is the `open_pass: fallback` setting (the open pass runs "
            "only on utterances the grammar pass was unsure of; these clips are read books, "
            "far from Steady's sentences, so it ran on most of them); the last two rows are "
            "each pass alone."
        )
        out.append("")
    fp = results.get("footprint")
    if fp:
        out += table(
            ["Measure", "Value", "Target"],
            [
                [
                    f"Peak RSS ({fp['how']})",
                    "–" if fp["peak_rss_mb"] is None else f"{fp['peak_rss_mb']:.0f} MB",
                    f"≤ {footprint.TARGET_RSS_MB:.0f} MB",
                ],
                [
                    'Start → "Steady is listening" (second start: speech and tables kept)',
                    secs(fp["ready_seconds"], "s"),
                    f"≤ {footprint.TARGET_READY:.0f} s",
                ],
            ],
        )
        if fp.get("error"):
            out += [f"Error: `{fp['error']}`", ""]
    return out


def _pacing(results: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    out = ["## 5. Pacing and control", ""]
    pace = results.get("pacing")
    if pace:
        d = pace["drift"]
        out.append(
            f"A {d['session_seconds'] / 60:.1f}-minute resonance-breathing session rendered to "
            "a WAV through the pacer and the speech output (virtual clock, as `steady run "
            "--out`); cue onsets found in the audio against the pacer's plan. The found onset "
            "includes each clip's own quiet lead-in (a few ms)."
        )
        out.append("")
        out += table(
            ["Measure", "Value"],
            [
                ["Cues planned / found", f"{d['cues']} / {d['matched']}"],
                ["Max \\|found − planned\\|", secs(d["max_abs"])],
                ["Median \\|found − planned\\|", secs(d["median_abs"])],
                ["Accumulated over the session", secs(d["accumulated"])],
                [
                    "Target",
                    f"≤ {1000 * pacing.TARGET_DRIFT:.0f} ms: "
                    f"{status(_at_most(d['max_abs'], pacing.TARGET_DRIFT))}",
                ],
            ],
        )
        sv = pace["self_voice"]
        out.append(
            f"Steady's own voice: a {sv['audio_seconds'] / 60:.1f}-minute rendered resonance "
            f"session fed back into the recognizer and matcher: {sv['utterances']} utterances "
            f"heard, {len(sv['triggered'])} understood as something to act on (not `unknown` "
            f"or a filler; {len(sv['after_echo_filter'])} after the runtime's echo filter). "
            f"Target 0: {status(len(sv['after_echo_filter']) == 0)} (what the runtime acts on "
            "is what passes the echo filter; the matcher's own count shows how much the filter "
            "does)."
        )
        out.append("")
        if sv["triggered"]:
            out += table(["Heard", "Intent"], [[h, i] for h, i in sv["triggered"]])
    stop = results.get("stop")
    if stop:
        out.append(
            f'"stop" during Steady\'s speech (`bench/stop_latency.py`: "start box breathing", '
            f'then "stop" while Steady reads the introduction, streamed in real time): median '
            f"{secs(stop['median'], 's')} over {stop['stopped']} of {stop['tries']} tries "
            f"(target ≤ {stop_latency.TARGET:.0f} s: "
            f"{status(None if stop['median'] is None else stop['median'] <= stop_latency.TARGET)})."
        )
        if not meta["quick"] and stop["tries"] < 20:
            each = meta["stage_seconds"].get("stop", 0.0) / max(1, stop["tries"])
            out.append(
                f"The issue asks for 20 tries; {stop['tries']} are run (about {each:.0f} s of "
                "real time each) to keep the whole benchmark under 15 minutes: "
                "`python -m bench.stop_latency --tries 20` runs the full count."
            )
        out.append("")
    return out


def _on_a_pi(rtf: float) -> str:
    """An RTF measured here as the range expected on a Raspberry Pi 4 core."""
    low, high = (f * rtf for f in pi.PI_SLOWDOWN)
    return f"{low:.2f}–{high:.2f}"


def _pi(p: dict[str, Any], results: dict[str, Any]) -> list[str]:
    out = ["## 6. A Raspberry Pi-sized run", ""]
    out.append(
        f"The latency and RTF measurements again, each as its own process pinned to one core "
        f"(`taskset -c 0`) with its address space capped at {p['address_space'] / 1024**3:.0f} "
        "GiB (`prlimit --as`; no cgroup is available here). Loading the Vosk model takes "
        "about 1.7 GB of address space (far less resident memory); under a lower cap Steady "
        "refuses in one line, so 2 GiB (a 2 GB Pi 4) is used."
    )
    out.append("")
    out.append(
        f"The latency is also measured on two cores (`taskset -c {pi.PI_SPEED_CORES}`, same "
        f"cap), each shared with {pi.PI_SPEED_SHARE - 1} busy loops, so the child gets a "
        f"third of each: about the speed of two of a Raspberry Pi 4's four cores. Steady "
        "decodes the open-vocabulary pass on a thread of its own, beside the grammar pass."
    )
    out.append("")
    lat, r = p.get("latency", {}), p.get("rtf", {})
    slow = p.get("latency_pi_speed", {})
    shipped = r.get("shipped") if isinstance(r, dict) else None
    runs = (lat, slow, results.get("latency") or {})

    def each(cell: Callable[[dict[str, Any]], str]) -> list[str]:
        return ["–" if not run or "error" in run else cell(run) for run in runs]

    rows = [
        ["Latency median (p95)", *each(lambda x: f"{secs(x['median'])} ({secs(x['p95'])})")],
        ["Cut-offs", *each(lambda x: f"{x.get('cutoffs')} of {x.get('n')}")],
    ]
    if shipped:
        here = _get(results, "rtf", "shipped", "rtf_cpu")
        rows.append(
            [
                "STT RTF (CPU / wall)",
                f"{shipped['rtf_cpu']:.3f} / {shipped['rtf_wall']:.3f}",
                "–",
                "–" if here is None else f"{here:.3f}",
            ]
        )
    ready = (p.get("ready") or {}, p.get("ready_pi_speed") or {}, results.get("footprint") or {})
    if any(ready[:2]):
        rows.append(
            [
                "Start to ready (without the devices)",
                *[
                    "–" if not run or run.get("error") else secs(run.get("ready_seconds"), "s")
                    for run in ready
                ],
            ]
        )
    heads = ["Measure", "One core, memory capped", "Two cores at a third", "Unpinned run above"]
    out += table(heads, rows)
    if any(ready[:2]):
        out += [
            "Start to ready on the pinned runs is timed on the equivalent process (the same "
            "work as `steady listen` up to its ready line, without opening the sound "
            "devices; its second start, as in section 4): the busy loops starve the sound "
            "server too, which then refuses the microphone. The unpinned figure is "
            "`steady listen` itself.",
            "",
        ]
    parts = (
        ("latency", lat),
        ("latency at a third of two cores", slow),
        ("RTF", r),
        ("start to ready", ready[0]),
        ("start to ready at a third of two cores", ready[1]),
    )
    for name, part in parts:
        if isinstance(part, dict) and part.get("error"):
            out += [f"The {name} child failed: `{part['error']}`", ""]
        if isinstance(part, dict) and part.get("command"):
            beside = (
                f", beside {pi.PI_SPEED_SHARE - 1} × `python -c 'while True: pass'` pinned to "
                "each of those cores"
                if part is slow or part is ready[1]
                else ""
            )
            out += [f"- {name}: `{part['command']}`{beside}"]
    out += ["", "**Expected on a real Raspberry Pi 4.** " + pi.PI_NOTE]
    if shipped:
        out.append(
            f"With the one-core RTF measured here ({shipped['rtf_cpu']:.3f}), that is an RTF of "
            f"about {_on_a_pi(shipped['rtf_cpu'])} on a Pi 4: "
            + (
                "the two-pass recognizer would keep up with the microphone even on one core, "
                "with little room to spare."
                if pi.PI_SLOWDOWN[1] * shipped["rtf_cpu"] < 1.0
                else "on one core the two passes would fall behind real time."
            )
        )
        grammar = _get(results, "rtf", "grammar_only", "rtf_cpu")
        open_only = _get(results, "rtf", "open_only", "rtf_cpu")
        if grammar is not None and open_only is not None:
            out.append(
                "Steady decodes the open pass on a thread of its own, so a Pi spreads the two "
                f"over two cores: the grammar pass (RTF {grammar:.3f} here, about "
                f"{_on_a_pi(grammar)} there) with the gain and noise suppression on one, the "
                f"open pass ({open_only:.3f}, about {_on_a_pi(open_only)}) on another."
            )
        fallback = _get(results, "rtf", "fallback", "rtf_cpu")
        if fallback is not None:
            out.append(
                f"With `open_pass: fallback` in the settings (RTF {fallback:.3f} in the unpinned "
                f"run above, on read books that are far from Steady's sentences) it would be "
                f"about {_on_a_pi(fallback)}; for one of Steady's own sentences it costs only "
                "the grammar pass."
            )
    out.append("")
    return out


def render(meta: dict[str, Any], results: dict[str, Any]) -> str:
    m = meta["machine"]
    out = ["# Benchmarks", ""]
    if meta["quick"]:
        out += [
            "> **Quick mode**: tiny subsets, for checking the benchmark runs. Do not quote.",
            "",
        ]
    out.append(
        "Steady measured against what someone could assemble from the same parts, in one run "
        "on one machine. Reproduce with:"
    )
    out += ["", "```", meta["command"], "```", ""]
    mem = f"{m['memory_gb']:.1f} GB" if m["memory_gb"] else "?"
    out += table(
        ["Date", "Machine", "Software", "Run time"],
        [
            [
                meta["date"],
                f"{m['cpu']}, {m['cores']} cores ({m['arch']}), {mem} RAM, {m['os']}",
                f"Python {m['python']}, vosk {m['vosk']}, rapidfuzz {m['rapidfuzz']}; "
                f"model {m['model']}",
                f"{meta['seconds'] / 60:.1f} min",
            ]
        ],
    )
    load = ", ".join(f"{k} {v:g}" for k, v in meta["stage_load"].items())
    out.append(
        "The machine is shared: the one-minute load average at the start of each stage was "
        f"{load} (2 cores). Timing figures are medians; baselines run in the same process "
        "on the same audio."
    )
    out.append("")
    out += ["## Targets", ""]
    out += table(["Measure", "Target", "Steady", "Status"], headline(results))
    if results.get("accuracy"):
        out += _accuracy(results["accuracy"])
    if results.get("wer"):
        out += _wer(results["wer"])
    if results.get("latency"):
        out += _latency(results["latency"])
    if results.get("rtf") or results.get("footprint"):
        out += _speed(results)
    if results.get("pacing") or results.get("stop"):
        out += _pacing(results, meta)
    if results.get("pi"):
        out += _pi(results["pi"], results)
    if meta["errors"]:
        out += ["## Stages that failed", ""]
        out += table(["Stage", "Error"], [[k, f"`{v}`"] for k, v in meta["errors"].items()])
    stage = ", ".join(f"{k} {v:.0f} s" for k, v in meta["stage_seconds"].items())
    out += [f"Stage times: {stage}.", ""]
    return "\n".join(out)
