"""``vzgym plot RUN_DIR``: PNG plots of a training run's ``metrics.jsonl``.

Panels (each only when the run logged it): mean reward per role, training
reward, spy-found rate / vote accuracy / N/A rate, the Iterative-SPO phase, and
for the SVG world difficulty, solvability, render success and diversity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vzgym.trainers.metrics import read_metrics

PANELS: list[tuple[str, str, list[str]]] = [
    ("rewards.png", "Mean reward per role", ["reward/*"]),
    ("train_reward.png", "Training reward (active stage)", ["reward_mean"]),
    (
        "spy_game.png",
        "Spy games",
        ["game/spy_found", "game/vote_accuracy", "game/na_rate", "game/invalid_vote_rate"],
    ),
    ("phase.png", "Iterative-SPO phase (1 = clue, 0 = decision)", ["phase_is_clue"]),
    (
        "svg_world.png",
        "SVG world",
        [
            "game/*/difficulty",
            "game/*/solvability",
            "game/*/render_success",
            "game/*/content_type_entropy",
            "game/*divers*",
        ],
    ),
    ("loss.png", "Loss, KL, clip fraction", ["train/loss", "train/kl", "train/clip_frac"]),
]


def _match(pattern: str, key: str) -> bool:
    from fnmatch import fnmatch

    return fnmatch(key, pattern)


def plot_run(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write the plots of ``run_dir`` (default into ``RUN_DIR/plots``); return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run_dir)
    if not rows:
        raise ValueError(f"{run_dir}: no metrics.jsonl lines to plot")
    for row in rows:
        if "phase" in row and row["phase"] in ("clue", "decision"):
            row["phase_is_clue"] = 1.0 if row["phase"] == "clue" else 0.0
    out = Path(out_dir) if out_dir else Path(run_dir) / "plots"
    out.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for row in rows for k, v in row.items() if _is_number(v)} - {"step"})
    written = []
    for filename, title, patterns in PANELS:
        chosen = [k for k in keys if any(_match(p, k) for p in patterns)]
        if not chosen:
            continue
        fig, ax = plt.subplots(figsize=(7, 4))
        for key in chosen:
            points = [(r["step"], r[key]) for r in rows if _is_number(r.get(key))]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o", markersize=3, label=key)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / filename
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
