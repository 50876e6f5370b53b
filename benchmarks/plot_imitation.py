"""Plot held-out figures of one or more ``vzgym imitate`` runs in a row (real vs blanked images).

Each run's steps continue where the previous run's ended (a second stage started from the
first stage's model).  Draws, per evaluation, the civilian clue truth and the vote
accuracy with real images (solid) and with every image blanked (dashed: the vision
ablation).

    python benchmarks/plot_imitation.py RUN1 RUN2 --out docs/img/warm-start.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FIGURES = (("game/civilian_clue_true_rate", "civilian clues true of the image"),
           ("game/vote_accuracy", "vote accuracy"))  # fmt: skip


def evaluations(runs: list[Path]) -> list[dict]:
    """The evaluation records of ``runs``, steps made continuous across them."""
    out, offset = [], 0
    for run in runs:
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        for row in rows:
            if "eval/finished_rate" in row:
                out.append({**row, "step": row["step"] + 1 + offset})
        offset += max(r["step"] + 1 for r in rows)
    return out


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = evaluations(args.runs)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for (key, label), color in zip(FIGURES, ("tab:blue", "tab:orange"), strict=True):
        steps = [r["step"] for r in rows]
        ax.plot(steps, [r[key] for r in rows], "o-", color=color, label=label)
        ax.plot(steps, [r.get(f"blank/{key}", float("nan")) for r in rows], "o--", color=color,
                alpha=0.6, label=f"{label}, images blanked")  # fmt: skip
    ax.axhline(1 / 3, color="gray", lw=0.8, ls=":", label="vote chance (1/3)")
    ax.set_xlabel("imitation step (held-out games, greedy)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("vzgym imitate on spy-clevr (one object): the student looks")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(args.out)


if __name__ == "__main__":
    main()
