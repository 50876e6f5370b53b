"""``vzgym plot RUN_DIR``: PNG plots of a training run's ``metrics.jsonl``.

Panels (each only when the run logged it): the generic ones — mean reward per
role, training reward, the trained stage of a two-stage game, loss — then the
panels the run's game declares (:attr:`vzgym.core.facts.GameFacts.plots`; the
env id comes from the run's ``config.toml``), then one panel with every other
``game/*`` statistic, so nothing a game logs goes unplotted.  A run whose game
is no longer installed still plots: its declared panels are skipped and its
statistics land in the catch-all panel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vzgym.core.facts import GameFacts, PlotPanel
from vzgym.trainers.metrics import read_metrics

#: Panels every run gets (when it logged their keys).
GENERIC_PANELS: tuple[PlotPanel, ...] = (
    PlotPanel("rewards.png", "Mean reward per role", ("reward/*",)),
    PlotPanel("train_reward.png", "Training reward (active stage)", ("reward_mean",)),
    PlotPanel("loss.png", "Loss, KL, clip fraction", ("train/loss", "train/kl", "train/clip_frac")),
    PlotPanel(
        "eval.png",
        "Held-out win rate vs the fixed opponent (95% Wilson interval)",
        ("eval/win_rate", "eval/ci_low", "eval/ci_high", "eval/*/win_rate"),
    ),
)
#: The metric key :func:`plot_run` derives from the ``phase`` column (1 = harden stage).
STAGE_KEY = "stage_is_harden"


def _match(pattern: str, key: str) -> bool:
    from fnmatch import fnmatch

    return fnmatch(key, pattern)


def run_env_id(run_dir: str | Path) -> str | None:
    """The env id recorded in ``RUN_DIR/config.toml`` (None when absent or unreadable)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    path = Path(run_dir) / "config.toml"
    try:
        env = tomllib.loads(path.read_text()).get("env", {})
    except (OSError, ValueError):
        return None
    env_id = env.get("id") if isinstance(env, dict) else None
    return env_id if isinstance(env_id, str) else None


def _stage_pair(facts: GameFacts, rows: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(solve, harden) stages: declared, else the two phases the run logged, in order seen."""
    if facts.switch is not None:
        return (facts.switch.solve_stage, facts.switch.harden_stage)
    declared = [s.name for s in facts.stages]
    if len(declared) >= 2:
        return (declared[0], declared[1])
    seen: list[str] = []
    for row in rows:
        phase = row.get("phase")
        if isinstance(phase, str) and phase != "all" and phase not in seen:
            seen.append(phase)
    return (seen[0], seen[1]) if len(seen) == 2 else None


def panels_for(facts: GameFacts, rows: list[dict[str, Any]]) -> list[PlotPanel]:
    """The panels of a run: generic ones, the stage panel, the game's, then other ``game/*``.

    Adds :data:`STAGE_KEY` (1.0 in the harden stage, 0.0 in the solve stage) to the
    ``rows`` of a two-stage run, for the stage panel.
    """
    panels = list(GENERIC_PANELS)
    pair = _stage_pair(facts, rows)
    if pair is not None:
        solve, harden = pair
        for row in rows:
            if row.get("phase") in pair:
                row[STAGE_KEY] = 1.0 if row["phase"] == harden else 0.0
        title = f"Iterative-SPO stage (1 = {harden}, 0 = {solve})"
        panels.append(PlotPanel("phase.png", title, (STAGE_KEY,)))
    panels.extend(facts.plots)
    covered = [p for panel in facts.plots for p in panel.keys]
    others = sorted(
        {
            k
            for row in rows
            for k in row
            if k.startswith("game/") and not any(_match(p, k) for p in covered)
        }
    )
    if others:
        panels.append(PlotPanel("game.png", "Game statistics", tuple(others)))
    return panels


def plot_run(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write the plots of ``run_dir`` (default into ``RUN_DIR/plots``); return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vzgym.registration import facts_of

    rows = read_metrics(run_dir)
    if not rows:
        raise ValueError(f"{run_dir}: no metrics.jsonl lines to plot")
    env_id = run_env_id(run_dir)
    facts = facts_of(env_id) if env_id else GameFacts()
    panels = panels_for(facts, rows)
    out = Path(out_dir) if out_dir else Path(run_dir) / "plots"
    out.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for row in rows for k, v in row.items() if _is_number(v)} - {"step"})
    written = []
    for panel in panels:
        chosen = [k for k in keys if any(_match(p, k) for p in panel.keys)]
        if not chosen:
            continue
        fig, ax = plt.subplots(figsize=(7, 4))
        for key in chosen:
            points = [(r["step"], r[key]) for r in rows if _is_number(r.get(key))]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o", markersize=3, label=_label(facts, key))
        ax.set_title(panel.title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / panel.file
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _label(facts: GameFacts, key: str) -> str:
    """A legend entry: the key, with the declared stat's description when there is one."""
    stat = facts.stat(key.removeprefix("game/"))
    return f"{key} ({stat.description})" if stat is not None and stat.description else key


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
