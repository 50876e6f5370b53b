"""Does MM-Zero self-play move a warm-started codegen and solver?  Figures per iteration.

Runs ``vzgym selfplay mm-zero`` (``examples/mm-zero-tiny.toml``: proposer pinned to the
scripted bot, codegen and solver co-evolving from ``--codegen`` and ``--solver``, the
committed warm starts by default) for ``--iterations``, one run per training seed, then
measures the starting model and every iteration's roles on held-out games (seeds from
900,000; sampled at temperature 1, as the loop samples):

* render rate: share of the codegen's SVGs that render (``svg-codegen``, scripted
  proposer, scripted solver as a fixed judge, no prefilter);
* solver accuracy vs silver labels: share of the solver's hard answers equal to the
  majority of its own ``label_samples`` answers (``svg-solve``, the iteration's codegen
  drawing the pictures; items kept by MM-Zero's consistency filter);
* solver accuracy vs the proposer's answer on the same items (the true answer of the
  chart; a solver that only agrees with itself stays near zero here).

Each with its 95 % Wilson interval, per seed and pooled over seeds::

    python benchmarks/bench_mmzero.py --iterations 3 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELD_OUT_SEED = 900_000
CONFIG = ROOT / "examples" / "mm-zero-tiny.toml"


def selfplay(
    starts: tuple[str, str], iterations: int, seed: int, steps: int | None, run: Path
) -> None:
    """Run (or resume) the MM-Zero loop into ``run`` from the (codegen, solver) starts."""
    cmd = [str(Path(sys.executable).parent / "vzgym"), "selfplay", "mm-zero",
           "--config", str(CONFIG), "--model", starts[0],
           "--set", f"policy.role_starts.codegen={starts[0]}",
           "--set", f"policy.role_starts.solver={starts[1]}",
           "--iterations", str(iterations), "--run-dir", str(run),
           "--set", f"trainer.seed={seed}", "--set", "logging.progress=false"]  # fmt: skip
    if steps is not None:
        cmd += ["--steps", str(steps)]
    if (run / "iter_0").exists():
        cmd.append("--resume")
    subprocess.run(cmd, check=True)


def _rollout(env_id: str, policy: str, roles: dict[str, str], games: int, out: Path) -> Any:
    from vzgym.config import load_config
    from vzgym.core.policy import SamplingParams
    from vzgym.rollout import RolloutConfig, run_rollouts
    from vzgym.rollout.seating import build_policy_map
    from vzgym.trainers.mmzero import accepted_options

    loop = load_config(CONFIG)  # the env options and answer length the loop trains with
    options = accepted_options(env_id, dict(loop.env.options))
    length = loop.sampling.max_new_tokens
    policies = build_policy_map(env_id, policy, roles, (), options, role_call_max_tokens=length)
    config = RolloutConfig(env_id, options, games=games, group=1, seed=HELD_OUT_SEED,
                           sampling=SamplingParams(1.0, 1.0, length, 1, HELD_OUT_SEED))  # fmt: skip
    return run_rollouts(config, policies, str(out), progress=False)


def _true_answer_hits(out: Path) -> tuple[int, int]:
    """Solver turns whose answer equals the proposer's hard answer (from the trajectories)."""
    import json

    from vzgym.rollout import read_trajectories

    infos = [json.loads(info) for info in read_trajectories(out).column("info").to_pylist()]
    scored = [info for info in infos if info.get("proposer_answer") is not None]
    return sum(bool(info.get("correct_vs_proposer")) for info in scored), len(scored)


def measure(codegen: str, solver: str, games: int, out: Path) -> dict[str, tuple[int, int]]:
    """Held-out counts ``{figure: (hits, n)}`` for one version of the two roles."""
    cg = _rollout("svg-codegen", codegen, {"proposer": "scripted", "solver": "scripted"},
                  games, out / "codegen")  # fmt: skip
    sv = _rollout("svg-solve", solver, {"proposer": "scripted", "codegen": codegen,
                                        "label": solver}, games, out / "solver")  # fmt: skip
    render = cg.game_stats.get("codegen/render_success", 0.0)
    accuracy = sv.game_stats.get("solve/accuracy")
    figures = {"render rate": (round(render * cg.turns), cg.turns)}
    figures["solver accuracy vs silver labels"] = (
        (round(accuracy * sv.turns), sv.turns) if accuracy is not None else (0, 0)
    )
    figures["solver accuracy vs proposer's answer"] = _true_answer_hits(out / "solver")
    return figures


def _line(name: str, hits: int, n: int) -> str:
    from vzgym.core.intervals import wilson_interval

    if n == 0:
        return f"  {name}: n/a (no items)"
    lo, hi = wilson_interval(hits, n)
    return f"  {name}: {hits / n:.3f} [{lo:.3f}, {hi:.3f}]  ({hits}/{n})"


def main(argv: list[str] | None = None) -> None:
    """Run the loop per seed, then print every version's held-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codegen", default=str(ROOT / "models" / "tiny-svg-codegen"))
    parser.add_argument("--solver", default=str(ROOT / "models" / "tiny-svg-solver"))
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="steps per role (config: 10)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--games", type=int, default=8, help="held-out games (8 items each)")
    parser.add_argument("--out", default="runs/bench-mmzero")
    args = parser.parse_args(argv)
    out = Path(args.out)
    starts = tuple(m if ":" in m else f"hf:{m}" for m in (args.codegen, args.solver))
    # the start is the same pair of models for every seed: measured once
    versions: dict[str, dict[int, tuple[str, str]]] = {"start": {args.seeds[0]: starts}}  # type: ignore[dict-item]
    for seed in args.seeds:
        run = out / f"seed{seed}"
        selfplay(starts, args.iterations, seed, args.steps, run)  # type: ignore[arg-type]
        for i in range(args.iterations):
            roles = tuple(f"hf:{run}/iter_{i}/{role}/final" for role in ("codegen", "solver"))
            versions.setdefault(f"iteration {i + 1}", {})[seed] = roles  # type: ignore[assignment]
    for name, per_seed in versions.items():
        pooled: dict[str, list[int]] = {}
        print(f"{name}:")
        for seed, (codegen, solver) in per_seed.items():
            where = out / "eval" / name.replace(" ", "") / str(seed)
            figures = measure(codegen, solver, args.games, where)
            for key, (hits, n) in figures.items():
                print(_line(f"seed {seed} {key}", hits, n))
                total = pooled.setdefault(key, [0, 0])
                total[0] += hits
                total[1] += n
        if len(args.seeds) > 1 and name != "start":
            for key, (hits, n) in pooled.items():
                print(_line(f"pooled {key}", hits, n))


if __name__ == "__main__":
    main()
