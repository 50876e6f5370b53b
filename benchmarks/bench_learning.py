"""Does a model see?  Spy-clevr figures of a policy on held-out seeds, with and without images.

For each policy given (``scripted`` = the game's bots, ``tiny`` = the random tiny model,
``hf:DIR`` = e.g. the ``best/`` folder of a ``vzgym imitate`` run) it plays ``--games``
held-out games in every seat (greedy) and prints, each with its 95 % Wilson interval:

* well-formed: share of clues and votes that parse;
* civilian clues true of the image (exact facts of the civilians' scene);
* vote accuracy (chance: 1 / (players - 1) for a voter who guesses among the others);
* spy found (the votes single out the spy);

then the same with every image blanked (the vision ablation,
:class:`vzgym.agents.blank_images.BlankImagesPolicy`): a skill that survives the
blanking does not come from the image.  ``--imitate-steps N`` first runs
``vzgym imitate`` with that budget (``--train-seeds`` seeds) and evaluates each
run's best model, reporting the spread over training seeds.

    python benchmarks/bench_learning.py --policy scripted --policy tiny --games 100
    python benchmarks/bench_learning.py --imitate-steps 600 --train-seeds 0 1 2
    python benchmarks/bench_learning.py --policy hf:RUN/best -o num_objects=1 -o num_changes=1

Not measured here yet (issue 14, items 4-5): self-play GRPO from the warm start
(win rate vs the start) and the SVG world iterations.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The easier but real spy-clevr configuration (documented options only).
EASY = {"num_objects": 3, "num_changes": 2, "clue_rounds": 1, "width": 112, "height": 112}


def _counts(episodes: list) -> dict[str, list[int]]:
    """[hits, n] per figure from the finished episodes' game infos."""
    c = {k: [0, 0] for k in ("well_formed", "civ_true", "vote_acc", "spy_found")}
    for ep in episodes:
        if ep.status != "ok":
            continue
        game = next(i["game"] for i in ep.infos.values() if "game" in i)
        clues, votes = game["clues"], game["votes"]
        bad_votes = len(game.get("vote_errors", {}))
        c["well_formed"][0] += sum(cl["error"] is None for cl in clues) + len(votes) - bad_votes
        c["well_formed"][1] += len(clues) + len(votes)
        civ = [cl for cl in clues if cl["seat"] != game["spy_seat"]]
        if "civilian_clue_true_rate" in game:
            c["civ_true"][0] += round(game["civilian_clue_true_rate"] * len(civ))
            c["civ_true"][1] += len(civ)
        c["vote_acc"][0] += sum(v == game["answer"] for v in votes.values())
        c["vote_acc"][1] += len(votes)
        c["spy_found"][0] += bool(game["spy_found"])
        c["spy_found"][1] += 1
    return c


def measure(policy: Any, env_options: dict, games: int, blank: bool) -> dict[str, list[int]]:
    """Play held-out games with ``policy`` in every seat; return the counts."""
    from vzgym.agents.blank_images import BlankImagesPolicy
    from vzgym.core.policy import SamplingParams
    from vzgym.rollout.runner import PolicyMap, RolloutConfig, RolloutRunner, SeatPolicy
    from vzgym.trainers.imitate_data import EVAL_SEED_BASE

    if blank:
        policy = BlankImagesPolicy(policy)
    config = RolloutConfig(
        "spy-clevr",
        dict(env_options),
        games=games,
        group=1,
        seed=EVAL_SEED_BASE,
        sampling=SamplingParams(temperature=0.0, max_new_tokens=96, seed=0),
    )
    _, episodes = RolloutRunner(config, PolicyMap(SeatPolicy("p", policy, False))).run()
    return _counts(episodes)


def report(name: str, counts: dict[str, list[int]], players: int) -> None:
    """Print every figure with its 95 % interval."""
    from vzgym.core.intervals import fmt_share

    chance = {"vote_acc": 1 / (players - 1)}
    for key, label in (
        ("well_formed", "well-formed"),
        ("civ_true", "civilian clues true of the image"),
        ("vote_acc", "vote accuracy"),
        ("spy_found", "spy found"),
    ):
        k, n = counts[key]
        extra = f"  (chance {chance[key]:.2f})" if key in chance else ""
        print(f"  {name:32s} {label:34s} {fmt_share(k, n) if n else 'n/a'}{extra}", flush=True)


def imitate(steps: int, seed: int, out: Path, options: dict) -> Path:
    """Run ``vzgym imitate`` (resumable) and return its best model folder."""
    cmd = [str(Path(sys.executable).parent / "vzgym"), "imitate", "--env", "spy-clevr", "--steps",
           str(steps), "--seed", str(seed), "--run-dir", str(out), "--no-progress",
           "--eval-every", str(max(1, steps // 6))]  # fmt: skip
    for k, v in options.items():
        cmd += ["-o", f"{k}={json.dumps(v)}"]
    if (out / "imitate.json").exists():
        cmd.append("--resume")
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return out / "best"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", action="append", default=[], help="scripted, tiny, hf:DIR")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--default-config", action="store_true", help="spy-clevr's defaults")
    parser.add_argument(
        "-o", dest="options", action="append", default=[], help="env option key=JSON value"
    )
    parser.add_argument("--imitate-steps", type=int, default=0)
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default="runs/bench-learning")
    args = parser.parse_args()
    from vzgym.agents.spec import make_policy
    from vzgym.core.intervals import mean_interval

    options = {} if args.default_config else dict(EASY)
    for pair in args.options:
        key, _, value = pair.partition("=")
        options[key] = json.loads(value)
    players = int(options.get("num_players", 4))
    print(f"spy-clevr {options or 'defaults'}, {args.games} held-out games per figure")
    specs = list(args.policy) or ["scripted", "tiny"]
    for seed in args.train_seeds if args.imitate_steps else []:
        best = imitate(args.imitate_steps, seed, Path(args.runs) / f"seed{seed}", options)
        specs.append(f"hf:{best}")
    per_spec: dict[str, dict] = {}
    for spec in specs:
        policy = make_policy(spec, env_id="spy-clevr")
        for blank in (False, True):
            name = f"{spec[-28:]}{' [blank]' if blank else ''}"
            counts = measure(policy, options, args.games, blank)
            per_spec[name] = counts
            report(name, counts, players)
    trained = [n for n in per_spec if "/best" in n and "[blank]" not in n]
    if len(trained) > 1:
        for key in ("civ_true", "vote_acc"):
            vals = [per_spec[n][key][0] / max(per_spec[n][key][1], 1) for n in trained]
            mean, lo, hi = mean_interval(vals)
            print(f"  over {len(vals)} training seeds: {key} {mean:.3f} [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
