"""``svg-propose``: train the proposer of MM-Zero's SVG question world.

Agents ``proposer_0 .. proposer_{k-1}`` (one batch, so batch-diversity
penalties are computable) each get a seed topic (a random permutation of the
topics, cycled).  On ``step`` the env parses each proposal, asks the codegen
role for ``codegen_samples`` SVGs per valid proposal (one call), renders them
all in one batch, asks the solver role ``solver_samples`` answers to the easy
and the hard question of every rendered image (one call), and returns
:func:`~vzgym.envs.svg.rewards.proposer_rewards`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vzgym.core.facts import Stat
from vzgym.envs.base import AgentID, Observation, StepResult
from vzgym.envs.svg.base import SVGWorldEnv, resolve_batch_size, svg_facts
from vzgym.envs.svg.bots import ScriptedCodegen, ScriptedSolver
from vzgym.envs.svg.metrics import batch_metrics
from vzgym.envs.svg.parsing import parse_proposal
from vzgym.envs.svg.rewards import (
    ProposerRewardConfig,
    SampleOutcome,
    proposer_rewards,
    rescore_proposer_batch,
)
from vzgym.envs.svg.roles import RoleCall
from vzgym.envs.svg.topics import SEED_TOPICS
from vzgym.envs.svg.world import POLICY_ERROR, SERVICE_ERROR, judge_images, proposer_observation


class SVGProposeEnv(SVGWorldEnv):
    """Train the proposer: ``batch_size`` agents each write one six-tag proposal.

    Args:
        batch_size: k (agents ``proposer_0 .. proposer_{k-1}``); ``num_proposals``
            is its older name.
        codegen_call: the frozen codegen (default :class:`~vzgym.envs.svg.bots.ScriptedCodegen`).
        solver_call: the frozen solver (default :class:`~vzgym.envs.svg.bots.ScriptedSolver`).
        codegen_samples: N SVGs per proposal (MM-Zero: 4).
        solver_samples: S answers per question and image (default 5).
        topics: the seed topics (default: MM-Zero's eight).
        reward_config: proposer reward constants.
        renderer: a ``vzgym.render.SVGRenderer`` to borrow (default: create one).
        render_limits, render_workers: used when the env creates the renderer.
        render_mode: None or ``"ansi"``.
        prompts: the prompt set, ``"vzgym"`` or ``"paper"`` (:mod:`vzgym.envs.svg.topics`).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "svg-propose"}
    facts = svg_facts(
        "propose", (Stat("propose/diversity_penalty", "mean", "batch-diversity penalty", False),)
    )
    _role = "proposer"

    def __init__(
        self,
        batch_size: int = 8,
        codegen_call: RoleCall | None = None,
        solver_call: RoleCall | None = None,
        codegen_samples: int = 4,
        solver_samples: int = 5,
        topics: Sequence[str] = SEED_TOPICS,
        reward_config: ProposerRewardConfig = ProposerRewardConfig(),  # noqa: B008 - frozen
        renderer: Any = None,
        render_limits: Any = None,
        render_workers: int | None = None,
        render_mode: str | None = None,
        num_proposals: int | None = None,
        prompts: str = "vzgym",
    ):
        batch_size = resolve_batch_size(batch_size, num_proposals, "num_proposals")
        super().__init__(batch_size, topics, renderer, render_limits, render_workers, render_mode)
        self.codegen_call = codegen_call or ScriptedCodegen()
        self.solver_call = solver_call or ScriptedSolver()
        self.codegen_samples = codegen_samples
        self.solver_samples = solver_samples
        self.reward_config = reward_config
        self._obs: dict[AgentID, Observation] = {}
        self._set_prompts(prompts)

    def _fresh_reset(
        self, options: dict[str, Any]
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        self.agents = list(self.possible_agents)
        topics = self._topics(len(self.agents))
        self._obs = {
            a: proposer_observation(a, t, self._seed(), self.prompts)
            for a, t in zip(self.agents, topics)
        }
        return dict(self._obs), {
            a: {"topic": o.extra["topic"], "active": True} for a, o in self._obs.items()
        }

    def _snapshot(self) -> dict[str, Any]:
        return {"obs": dict(self._obs)}

    def _restore(self, state: dict[str, Any]) -> None:
        self._obs = dict(state["obs"])

    @classmethod
    def rescore_batch(cls, infos: Sequence[dict[str, Any]]) -> list[float | None]:
        """MM-Zero's batch penalties over the whole step (every game and copy).

        The env scores diversity and content-type spread within its own episode;
        the trainer hands this every proposer turn of the step so the penalties see
        the G siblings of each topic too (:func:`rescore_proposer_batch`).
        """
        proposals = [i.get("proposal") if i.get("reward_valid", True) else None for i in infos]
        parts = [i.get("reward_parts") if i.get("reward_valid", True) else None for i in infos]
        return rescore_proposer_batch(proposals, parts)

    def _step(self, actions: dict[AgentID, str]) -> StepResult:
        agents = list(actions)
        parses = [parse_proposal(actions[a]) for a in agents]
        valid = [i for i, p in enumerate(parses) if p.proposal is not None]
        n = self.codegen_samples
        drawn, cg_errors = self._draw(
            self.codegen_call,
            [parses[i].proposal for i in valid],  # type: ignore[misc]
            n,
            names=[f"codegen_{i}" for i in valid],
        )
        per_prop = dict(zip(valid, drawn))
        renders = [r for row in drawn for r in row]
        judged_keys = [(i, j) for i in valid for j, r in enumerate(per_prop[i]) if r.ok]
        judgements, solver_errors = judge_images(
            self,
            self.solver_call,
            [(parses[i].proposal, per_prop[i][j].image) for i, j in judged_keys],  # type: ignore[misc]
            self.solver_samples,
            self.solver_samples,
        )
        judged = dict(zip(judged_keys, judgements))
        samples: list[list[SampleOutcome]] = []
        for i in range(len(agents)):
            row = []
            for j in range(len(per_prop.get(i, []))):
                jd = judged.get((i, j))
                if jd is None or jd.solver_failed:
                    row.append(SampleOutcome(False))
                else:
                    row.append(SampleOutcome(True, jd.solvability, jd.consistency))
            samples.append(row)
        fields = [p.proposal.to_dict() if p.proposal is not None else None for p in parses]
        rewards_ = proposer_rewards(fields, samples, n, self.reward_config)
        ok_judgements = [jd for jd in judgements if not jd.solver_failed]
        metrics = batch_metrics(
            "propose",
            hard_consistency=[jd.consistency for jd in ok_judgements],
            solvability=[jd.solvability for jd in ok_judgements],
            render_statuses=[r.status for r in renders],
            content_types=[parses[i].proposal.content_type for i in valid],  # type: ignore[union-attr]
            svg_lengths=[len(r.extract.code) for r in renders if r.extract.is_svg],
            format_ok=[p.proposal is not None for p in parses],
            extra={
                "reward": sum(r.total for r in rewards_) / len(rewards_),
                "diversity_penalty": sum(r.diversity_penalty for r in rewards_) / len(rewards_),
                "count/codegen_errors": cg_errors,
                "count/solver_errors": solver_errors,
                "count/solver_failed_images": sum(jd.solver_failed for jd in judgements),
            },
        )
        rewards: dict[AgentID, float] = {}
        infos: dict[AgentID, dict[str, Any]] = {}
        for i, agent in enumerate(agents):
            r = rewards_[i]
            rs = per_prop.get(i, [])
            # An infrastructure failure (renderer down, codegen or solver call failed) makes
            # the score meaningless: flag it so trainers drop the sample (reward 0 here).
            reward_valid = not any(
                x.status in (SERVICE_ERROR, POLICY_ERROR) for x in rs
            ) and not any(judged[(i, j)].solver_failed for j in range(len(rs)) if (i, j) in judged)
            rewards[agent] = float(r.total) if reward_valid else 0.0
            infos[agent] = {
                "active": True,
                "reward_valid": reward_valid,
                "topic": self._obs[agent].extra["topic"],
                "format_ok": parses[i].ok,
                "format_error": parses[i].error,
                "proposal": fields[i],
                "render_statuses": [x.status for x in rs],
                "svg_lengths": [len(x.extract.code) for x in rs],
                "solvability": [
                    judged[(i, j)].solvability if (i, j) in judged else None for j in range(len(rs))
                ],
                "consistency": [
                    judged[(i, j)].consistency if (i, j) in judged else None for j in range(len(rs))
                ],
                "solver_failed": sum(
                    judged[(i, j)].solver_failed for j in range(len(rs)) if (i, j) in judged
                ),
                "reward_parts": r.as_dict(),
                "metrics": metrics,
            }
        return self._finish(rewards, infos)
