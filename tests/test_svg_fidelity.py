"""Issue 11 in the SVG world: per-prompt groups, copies that differ only by the trained
role's sampling, seeded frozen roles, prompt sets, proposer diversity over the step."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from vzgym.agents.base import Completion, Policy, SamplingParams
from vzgym.envs.base import Observation
from vzgym.envs.svg import SVGCodegenEnv, SVGProposeEnv, SVGSolveEnv
from vzgym.envs.svg.bots import ScriptedProposer as ProposerBot
from vzgym.render import SVGRenderer
from vzgym.rollout import PolicyMap, RolloutConfig, SeatPolicy, read_trajectories, run_rollouts
from vzgym.rollout.seating import PolicyCall, batch_seed
from vzgym.trainers.advantages import AdvSample, _group_indices


@pytest.fixture(scope="module")
def renderer() -> Iterator[SVGRenderer]:
    with SVGRenderer(workers=2) as r:
        yield r


class CountingProposer:
    """A frozen proposer role that counts its calls and answers differently every call
    (as an unseeded model would)."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0
        self.bot = ProposerBot()

    def __call__(self, observations, n, max_new_tokens):
        self.calls += 1
        rows = self.bot(observations, n, max_new_tokens)
        return [[t.replace("</caption>", f" (call {self.calls})</caption>") for t in row]
                for row in rows]  # fmt: skip


def test_svg_games_group_per_agent_slot():
    for cls in (SVGProposeEnv, SVGCodegenEnv, SVGSolveEnv):
        assert cls.facts.group_by == "agent"


def test_copies_share_the_reset_batch_instead_of_asking_frozen_roles_again(renderer):
    proposer = CountingProposer()
    env = SVGCodegenEnv(batch_size=3, proposer_call=proposer, renderer=renderer)
    obs, _ = env.reset(seed=5)
    assert proposer.calls == 1
    copy_env = SVGCodegenEnv(batch_size=3, proposer_call=proposer, renderer=renderer)
    copy_obs, _ = copy_env.reset(seed=5, options=env.shared_reset_options())
    assert proposer.calls == 1  # the copy took the batch over
    assert {a: o.messages[1] for a, o in obs.items()} == {
        a: o.messages[1] for a, o in copy_obs.items()
    }
    assert env.np_random.bit_generator.state == copy_env.np_random.bit_generator.state
    # without sharing, the same seed re-asks the (unseeded) role and gets other items
    fresh = SVGCodegenEnv(batch_size=3, proposer_call=proposer, renderer=renderer)
    fresh_obs, _ = fresh.reset(seed=5)
    assert proposer.calls == 2 and fresh_obs["codegen_0"].messages != obs["codegen_0"].messages


def test_rollout_groups_are_per_prompt_in_the_svg_world(tmp_path, renderer):
    # 1 game x 3 copies of a 2-proposer batch: the old key (group, role, phase) pooled the
    # 2 proposers (2 topics) into one group of 6; per prompt it is 2 groups of 3
    run_rollouts(
        RolloutConfig("svg-propose", {"batch_size": 2}, games=1, group=3, seed=3),
        PolicyMap(SeatPolicy("p", ProposerBot())),
        str(tmp_path),
    )
    rows = read_trajectories(tmp_path).to_pylist()
    topics = {}
    for r in rows:
        topics.setdefault(r["agent"], set()).add(r["prompt"])
    assert all(len(prompts) == 1 for prompts in topics.values())  # one prompt per slot
    old = _group_indices([AdvSample.from_row(r) for r in rows])
    new = _group_indices([AdvSample.from_row(r, group_by="agent") for r in rows])
    assert sorted(map(len, old.values())) == [6]
    assert sorted(map(len, new.values())) == [3, 3]


class SeedRecorder(Policy):
    name = "recorder"

    def __init__(self) -> None:
        self.seeds: list[int | None] = []
        self.lengths: list[int | None] = []

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        self.seeds.append(sampling.seed if sampling else None)
        self.lengths.append(sampling.max_new_tokens if sampling else None)
        return [[Completion("x")] * (sampling.n if sampling else 1) for _ in observations]


def test_frozen_model_roles_are_seeded_by_their_items():
    def obs(seed):
        return Observation("a", "codegen", "codegen", 0, [], private={"seed": seed})

    recorder = SeedRecorder()
    call = PolicyCall(recorder)
    call([obs(1), obs(2)], 2, 8)
    call([obs(1), obs(2)], 2, 8)
    call([obs(2), obs(1)], 2, 8)
    assert recorder.seeds[0] == recorder.seeds[1] != recorder.seeds[2]
    assert recorder.seeds[0] == batch_seed([obs(1), obs(2)]) is not None
    assert batch_seed([obs(1), Observation("b", "r", "p", 0, [])]) is None


def test_frozen_model_roles_answer_at_most_the_runs_length():
    from vzgym.rollout.seating import build_policy_map

    recorder = SeedRecorder()
    obs = [Observation("a", "codegen", "codegen", 0, [], private={"seed": 1})]
    PolicyCall(recorder)(obs, 1, 4096)
    PolicyCall(recorder, max_new_tokens=256)(obs, 1, 4096)
    PolicyCall(recorder, max_new_tokens=256)(obs, 1, 64)
    assert recorder.lengths == [4096, 256, 64]
    kwargs: dict = {}
    build_policy_map("svg-solve", "scripted", {"codegen": recorder}, (), kwargs,
                     role_call_max_tokens=128)  # fmt: skip
    kwargs["codegen_call"](obs, 1, 4096)
    assert recorder.lengths[-1] == 128


def test_prompt_sets_reach_every_role(renderer):
    env = SVGProposeEnv(batch_size=1, prompts="paper", renderer=renderer)
    obs, _ = env.reset(seed=0)
    assert "Plan first" in obs["proposer_0"].messages[1]["content"][0]["text"]
    env = SVGProposeEnv(batch_size=1, renderer=renderer)
    obs, _ = env.reset(seed=0)
    assert "Plan first" not in str(obs["proposer_0"].messages)
    with pytest.raises(ValueError, match="prompts must be one of"):
        SVGProposeEnv(batch_size=1, prompts="jinja", renderer=renderer)


def test_proposer_diversity_is_rescored_over_the_step_batch(tmp_path, renderer):
    # the scripted proposer writes the same proposal in every copy: within one episode
    # there is no duplicate, over the step batch each proposal has 2 twins
    run_rollouts(
        RolloutConfig("svg-propose", {"batch_size": 2}, games=1, group=2, seed=3),
        PolicyMap(SeatPolicy("p", ProposerBot())),
        str(tmp_path),
    )
    import json

    rows = read_trajectories(tmp_path).to_pylist()
    infos = [json.loads(r["info"]) for r in rows]
    new = SVGProposeEnv.rescore_batch(infos)
    old = [r["reward"] for r in rows]
    assert len(new) == len(old) == 4
    penalties = [i["reward_parts"]["diversity_penalty"] for i in infos]
    assert penalties == [0.0] * 4
    assert all(n < o for n, o in zip(new, old, strict=True))
