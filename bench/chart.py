"""The accuracy-against-SNR chart (PNG, matplotlib's Agg backend, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

TargetMap = Mapping[str, float]


def accuracy_chart(
    snrs: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    targets: TargetMap,
    out: Path,
    title: str = "Intent accuracy vs SNR (held-out phrasings, pink + babble)",
) -> Path:
    """One line per system over ``snrs`` (``clean`` first, then dB, loudest noise last)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    xs = list(range(len(snrs)))
    labels = ["clean" if s == "clean" else f"{s} dB" for s in snrs]
    for (name, values), marker in zip(series.items(), "os^dv", strict=False):
        points = [(x, 100 * v) for x, v in zip(xs, values, strict=True) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=name)
    target_points = [(x, 100 * targets[s]) for x, s in zip(xs, snrs, strict=True) if s in targets]
    if target_points:
        ax.scatter(
            [p[0] for p in target_points],
            [p[1] for p in target_points],
            marker="_",
            s=400,
            color="black",
            label="Steady's target",
            zorder=5,
        )
    ax.set_xticks(xs, labels)
    ax.set_ylim(0, 102)
    ax.set_ylabel("intent accuracy (%)")
    ax.set_xlabel("signal-to-noise ratio")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
