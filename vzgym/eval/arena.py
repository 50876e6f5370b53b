"""``vzgym arena``: every pair among a run's checkpoints, its base model, the game's bots and
other policies plays ``vzgym eval`` games; openskill rates them all.

Each pair's games live in ``OUT/pairs/<a>__<b>/`` (an ordinary eval folder), so a
re-run after a new checkpoint plays only the pairs (and games) not finished yet.
``OUT/arena.json`` holds the ratings and pair results, ``OUT/arena.png`` the
rating against training step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from vzgym.agents.base import Policy, SamplingParams


@dataclass
class Entrant:
    """A policy in the arena: its name, spec and training step (None: not a checkpoint)."""

    name: str
    spec: str
    step: int | None = None


def run_entrants(run_dir: Path, base: bool, extra: Sequence[str]) -> list[Entrant]:
    """The run's checkpoints (and ``final/`` when it is not also a checkpoint), the base
    model (step 0) and ``extra`` specs."""
    from vzgym.eval.specs import model_path_of, run_checkpoints

    models = run_checkpoints(run_dir)
    steps = {m.step for m in models if m.path.name != "final"}
    out = []
    for model in models:
        if model.path.name == "final" and model.step in steps:
            continue  # the same weights as the last checkpoint
        name = "final" if model.path.name == "final" else f"step_{model.step}"
        spec = str(model.path if model.path.name == "final" else model.path.parent)
        out.append(Entrant(name, spec, model.step))
    if not out:
        raise ValueError(f"{run_dir} has no complete checkpoint and no final/ model")
    if base:
        config = _run_config(run_dir)
        out.insert(0, Entrant("base", f"hf:{model_path_of(config['policy']['model'])}", 0))
    for spec in extra:
        out.append(Entrant(spec, spec, None))
    return out


def _run_config(run_dir: Path) -> dict[str, Any]:
    from vzgym.eval.specs import tomllib

    path = run_dir / "config.toml"
    if not path.is_file():
        raise ValueError(f"{run_dir} has no config.toml: not a vzgym run dir")
    return tomllib.loads(path.read_text())


def run_env(run_dir: Path) -> tuple[str, dict[str, Any]]:
    """The env id and options the run trained on."""
    config = _run_config(run_dir)
    env = config.get("env", {})
    return str(env.get("id", "spy-clevr")), dict(env.get("options", {}))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:60] or "policy"


def play_arena(
    entrants: Sequence[Entrant],
    env_id: str,
    env_kwargs: dict[str, Any],
    out_dir: Path,
    games: int,
    sampling: SamplingParams,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Play every missing game of every pair, rate everyone, write ``arena.json``."""
    from vzgym.eval.match import EvalConfig, check_env, run_eval
    from vzgym.eval.ratings import rate
    from vzgym.eval.specs import build_policy
    from vzgym.eval.summary import results

    names = [e.name for e in entrants]
    if len(set(names)) != len(names):
        raise ValueError(f"two arena entrants share a name: {names}")
    if len(entrants) < 2:
        raise ValueError("the arena needs at least two policies")
    check_env(env_id, env_kwargs)
    built: dict[str, Policy] = {}

    def policy(entrant: Entrant) -> Policy:
        if entrant.name not in built:
            built[entrant.name] = build_policy(entrant.spec, env_id)
        return built[entrant.name]

    pairs, rated = [], []
    for a, b in combinations(entrants, 2):
        pair_dir = out_dir / "pairs" / f"{_slug(a.name)}__{_slug(b.name)}"
        summary = _finished(pair_dir, games)
        if summary is None:
            log(f"arena: {a.name} vs {b.name}")
            config = EvalConfig(
                env_id, policy(a), policy(b), games=games, env_kwargs=dict(env_kwargs),
                sampling=sampling, out_dir=pair_dir, resume=True, labels=(a.name, b.name),
            )  # fmt: skip
            result = run_eval(config)
            summary, records = result.summary, result.records
        else:
            records = _records(pair_dir)
        pairs.append({"a": a.name, "b": b.name, **summary["a_vs_b"]})
        rated.extend((a.name, b.name, value) for _, value in results(records))
    ratings = rate(names, rated)
    table = []
    for e in entrants:
        table.append({**ratings[e.name].to_dict(), "spec": e.spec, "step": e.step})
    table.sort(key=lambda row: -row["ordinal"])
    arena = {"env": env_id, "games_per_pair": games, "ratings": table, "pairs": pairs}
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".arena.json.tmp"
    tmp.write_text(json.dumps(arena, indent=2, default=str))
    tmp.replace(out_dir / "arena.json")
    return arena


def _finished(pair_dir: Path, games: int) -> dict[str, Any] | None:
    """The pair's summary when all its games are recorded and none failed, else None."""
    path = pair_dir / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    if summary.get("games_recorded", 0) < games or summary.get("games_failed", 1):
        return None
    return summary


def _records(pair_dir: Path) -> list[dict[str, Any]]:
    from vzgym.eval.store import EvalStore

    return list(EvalStore(pair_dir).latest().values())


def plot_arena(arena: dict[str, Any], path: Path) -> Path:
    """Rating (mu, with +-sigma bars) against training step; other policies as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    stepped = sorted(
        (r for r in arena["ratings"] if r["step"] is not None), key=lambda r: r["step"]
    )
    if stepped:
        ax.errorbar(
            [r["step"] for r in stepped], [r["mu"] for r in stepped],
            yerr=[r["sigma"] for r in stepped], marker="o", capsize=3, label="checkpoints",
        )  # fmt: skip
    for row in arena["ratings"]:
        if row["step"] is None:
            ax.axhline(row["mu"], linestyle="--", alpha=0.6, label=row["name"])
    ax.set_xlabel("training step")
    ax.set_ylabel("openskill rating (mu)")
    ax.set_title(f"Arena on {arena['env']} ({arena['games_per_pair']} games per pair)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
