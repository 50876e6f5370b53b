"""Which words of its clue does a spy-clevr student read from the image, and which does it copy?

For held-out teacher games (``scripted:kinds=object,votes=restate``: every seat states the
one object of its own image, "there is a red cube"), it scores the teacher's clue under
the student (teacher forcing, :meth:`HFPolicy.completion_logprobs`) and reports, per role
and speaking order, the mean log-probability of the colour word and of the shape word and
the share of clues where the student gives that word more than half its probability.

The first speaker has no earlier clue to copy: its figures are what the student reads from
the image.  Later civilians can copy the first civilian's words (the teacher's civilians
all say the same), so high later-speaker figures with chance first-speaker figures mean
copying, not looking.  Chance is log(1/8) = -2.08 for the colour and log(1/3) = -1.10 for
the shape.

    python benchmarks/probe_clue_reading.py hf:models/tiny-spy-clevr --games 80
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def probe(model: str, options: dict, games: int, seed: int) -> dict[tuple, list[tuple]]:
    """Per (role, order, word): the (logprob, probability > 0.5) of each teacher clue's word."""
    import torch

    import vzgym
    from vzgym.agents.hf_policy import HFPolicy
    from vzgym.core.policy import SamplingParams
    from vzgym.trainers.imitate_data import TeacherStream, make_teacher

    student = HFPolicy(model.removeprefix("hf:"), device="cpu")
    env = vzgym.make("spy-clevr", **options)
    teacher = make_teacher("scripted:kinds=object,votes=restate", "spy-clevr")
    # the teacher's games, played the way `vzgym imitate` plays them
    stream = TeacherStream(lambda: env, teacher, seed_base=seed,
                           sampling=SamplingParams(temperature=0.0))  # fmt: skip
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for game in range(games):
        turns = stream.play_game(seed + game) or []
        for spoken, turn in enumerate(t for t in turns if t.observation.phase == "clue"):
            enc = student.tokenizer(turn.action, add_special_tokens=False,
                                    return_offsets_mapping=True)  # fmt: skip
            with torch.no_grad():
                logps = student.completion_logprobs([turn.observation], [enc["input_ids"]])[0]
            spy = turn.observation.agent == f"player_{env.spy_seat}"
            role, order = "spy" if spy else "civilian", "first" if spoken == 0 else "later"
            clue = list(re.finditer(r"there is a (\w+) (\w+)", turn.action))[-1]
            for kind, group in (("colour", 1), ("shape", 2)):
                start = clue.start(group)
                # the word's first token: where the model commits to it
                at = next(i for i, (a, b) in enumerate(enc["offset_mapping"]) if a <= start < b)
                lp = float(logps[at])
                out[(role, order, kind)].append((lp, math.exp(lp) > 0.5))
    return out


def main() -> None:
    import json

    from bench_learning import BENCH_SEED_OFFSET, EASY

    from vzgym.core.intervals import fmt_share
    from vzgym.trainers.imitate_data import EVAL_SEED_BASE

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="hf:DIR of a spy-clevr student")
    parser.add_argument("--games", type=int, default=80)
    parser.add_argument(
        "-o", dest="options", action="append", default=[],
        help="env option key=JSON value, over bench_learning's EASY",
    )  # fmt: skip
    args = parser.parse_args()
    options = dict(EASY)
    for pair in args.options:
        key, _, value = pair.partition("=")
        options[key] = json.loads(value)
    figures = probe(args.model, options, args.games, EVAL_SEED_BASE + BENCH_SEED_OFFSET)
    print(f"{args.model} on spy-clevr {options}, {args.games} held-out teacher games")
    for (role, order, kind), rows in sorted(figures.items()):
        mean = sum(lp for lp, _ in rows) / len(rows)
        hits = sum(ok for _, ok in rows)
        print(f"  {role:8s} {order:5s} speaker  {kind:6s} mean logprob {mean:6.3f}  "
              f"read (p > 0.5) {fmt_share(hits, len(rows))}")  # fmt: skip


if __name__ == "__main__":
    main()
