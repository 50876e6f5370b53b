"""What does a spy-clevr student read from the image, and what does it copy (clues, votes)?

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

The votes (``votes=restate``: "Player 4 said there is a blue sphere: false.") are scored
the same way with the voter's image real and blanked: a restated word the student gets
with its image blanked is copied from the clue log; the spy's colour is the word a voter
can only copy (its own image shows another colour), and the verdict on the spy is the vote.

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


def _teacher_turns(model: str, options: dict, games: int, seed: int):
    """The student, the env and the teacher's turns of ``games`` held-out games (per game)."""
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
    games_turns = (stream.play_game(seed + game) or [] for game in range(games))
    return student, env, games_turns


def _word_scores(student, observation, action: str, starts: list[int]) -> list[tuple]:
    """(logprob, probability > 0.5) of the first token of each word starting at ``starts``."""
    import torch

    enc = student.tokenizer(action, add_special_tokens=False, return_offsets_mapping=True)
    with torch.no_grad():
        logps = student.completion_logprobs([observation], [enc["input_ids"]])[0]
    out = []
    for start in starts:
        # the word's first token: where the model commits to it
        at = next(i for i, (a, b) in enumerate(enc["offset_mapping"]) if a <= start < b)
        out.append((float(logps[at]), math.exp(float(logps[at])) > 0.5))
    return out


def probe(model: str, options: dict, games: int, seed: int) -> dict[tuple, list[tuple]]:
    """Per (role, order, word): the (logprob, probability > 0.5) of each teacher clue's word."""
    student, env, games_turns = _teacher_turns(model, options, games, seed)
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for turns in games_turns:
        for spoken, turn in enumerate(t for t in turns if t.observation.phase == "clue"):
            spy = turn.observation.agent == f"player_{env.spy_seat}"
            role, order = "spy" if spy else "civilian", "first" if spoken == 0 else "later"
            clue = list(re.finditer(r"there is a (\w+) (\w+)", turn.action))[-1]
            scores = _word_scores(student, turn.observation, turn.action,
                                  [clue.start(1), clue.start(2)])  # fmt: skip
            for kind, score in zip(("colour", "shape"), scores, strict=True):
                out[(role, order, kind)].append(score)
    return out


def probe_votes(model: str, options: dict, games: int, seed: int) -> dict[tuple, list[tuple]]:
    """Per (voter image, seat judged, word): (logprob, probability > 0.5) of each restated word."""
    from vzgym.agents.blank_images import blank_observation

    student, env, games_turns = _teacher_turns(model, options, games, seed)
    said = re.compile(r"Player (\d+) said there is a (\w+) (\w+): (true|false)")
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for turns in games_turns:
        for turn in (t for t in turns if t.observation.phase != "clue"):
            found = list(said.finditer(turn.action))
            starts = [m.start(group) for m in found for group in (2, 3, 4)]
            for view, obs in (("real", turn.observation),
                              ("blanked", blank_observation(turn.observation))):  # fmt: skip
                scores = iter(_word_scores(student, obs, turn.action, starts))
                for m in found:
                    judged = "spy" if int(m.group(1)) == env.spy_seat else "civilian"
                    for kind in ("colour", "shape", "verdict"):
                        out[(view, judged, kind)].append(next(scores))
    return out


def _print_rows(figures: dict[tuple, list[tuple]], label: str) -> None:
    from vzgym.core.intervals import fmt_share

    for key, rows in sorted(figures.items()):
        mean = sum(lp for lp, _ in rows) / len(rows)
        hits = sum(ok for _, ok in rows)
        print(f"  {' '.join(f'{k:8s}' for k in key)} mean logprob {mean:6.3f}  "
              f"{label} {fmt_share(hits, len(rows))}")  # fmt: skip


def main() -> None:
    import json

    from bench_learning import BENCH_SEED_OFFSET, EASY

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
    seed = EVAL_SEED_BASE + BENCH_SEED_OFFSET
    print(f"{args.model} on spy-clevr {options}, {args.games} held-out teacher games")
    print("clues (role, speaking order, word)")
    _print_rows(probe(args.model, options, args.games, seed), "read (p > 0.5)")
    print("votes (voter's image real / blanked, seat judged, restated word)")
    _print_rows(probe_votes(args.model, options, args.games, seed), "p > 0.5")


if __name__ == "__main__":
    main()
