"""``svg-codegen``: train the codegen of MM-Zero's SVG question world.

Agents ``codegen_0 .. codegen_{k-1}`` each see one proposal (caption, easy
question and answer, hard question; the hard answer only with
``show_hard_answer``).  Proposals come from a list (drawn with the env RNG) or
from the proposer role (invalid proposals are re-drawn for up to
``max_proposal_rounds`` rounds).  With ``prefilter_samples > 0`` each candidate
proposal is first drawn ``prefilter_samples`` times by the prefilter codegen and
kept only when :func:`~vzgym.envs.svg.filters.keep_for_codegen` holds.  On
``step`` the SVGs are rendered and judged by the solver role; reward
:func:`~vzgym.envs.svg.rewards.codegen_reward`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vzgym.envs.base import AgentID, Observation, StepResult
from vzgym.envs.svg.base import SVGWorldEnv, as_proposal, resolve_batch_size, svg_facts
from vzgym.envs.svg.bots import ScriptedCodegen, ScriptedProposer, ScriptedSolver
from vzgym.envs.svg.filters import FilterConfig, keep_for_codegen
from vzgym.envs.svg.metrics import batch_metrics
from vzgym.envs.svg.parsing import Proposal
from vzgym.envs.svg.rewards import CodegenRewardConfig, codegen_reward
from vzgym.envs.svg.roles import RoleCall
from vzgym.envs.svg.topics import SEED_TOPICS
from vzgym.envs.svg.world import POLICY_ERROR, SERVICE_ERROR, codegen_observation, judge_images


class SVGCodegenEnv(SVGWorldEnv):
    """Train the codegen: ``batch_size`` agents each draw one proposal as SVG.

    Args:
        batch_size: k (agents ``codegen_0 .. codegen_{k-1}``); ``num_items`` is
            its older name.
        proposer_call: the frozen proposer used when ``proposals`` is None
            (default :class:`~vzgym.envs.svg.bots.ScriptedProposer`).
        proposals: a fixed pool (``Proposal``, dicts or six-tag texts) to draw
            from with the env RNG instead of asking a proposer.
        solver_call: the frozen solver (default :class:`~vzgym.envs.svg.bots.ScriptedSolver`).
        solver_samples: S answers per question (default 5).
        show_hard_answer: also show the hard answer to the codegen.
        max_proposal_rounds: proposer calls allowed to collect k valid proposals.
        prefilter_samples: if > 0, keep only proposals whose render success
            over that many samples of ``prefilter_call`` passes
            :func:`keep_for_codegen` (MM-Zero: 4).
        prefilter_call: the codegen reference for the prefilter (default
            :class:`~vzgym.envs.svg.bots.ScriptedCodegen`).
        filter_config: the filter thresholds.
        reward_config: codegen reward constants.
        topics, renderer, render_limits, render_workers, render_mode, prompts: as
            :class:`~vzgym.envs.svg.propose.SVGProposeEnv`.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "svg-codegen"}
    facts = svg_facts("codegen")
    _role = "codegen"

    def __init__(
        self,
        batch_size: int = 8,
        proposer_call: RoleCall | None = None,
        proposals: Sequence[Proposal | dict[str, str] | str] | None = None,
        solver_call: RoleCall | None = None,
        solver_samples: int = 5,
        show_hard_answer: bool = False,
        max_proposal_rounds: int = 3,
        prefilter_samples: int = 0,
        prefilter_call: RoleCall | None = None,
        filter_config: FilterConfig = FilterConfig(),  # noqa: B008 - frozen
        reward_config: CodegenRewardConfig = CodegenRewardConfig(),  # noqa: B008 - frozen
        topics: Sequence[str] = SEED_TOPICS,
        renderer: Any = None,
        render_limits: Any = None,
        render_workers: int | None = None,
        render_mode: str | None = None,
        num_items: int | None = None,
        prompts: str = "vzgym",
    ):
        batch_size = resolve_batch_size(batch_size, num_items, "num_items")
        super().__init__(batch_size, topics, renderer, render_limits, render_workers, render_mode)
        self.proposals: list[Proposal] | None = None
        if proposals is not None:
            parsed = [as_proposal(p) for p in proposals]
            self.proposals = [p for p in parsed if p is not None]
            if not self.proposals:
                raise ValueError("no valid proposal in `proposals`")
        self.proposer_call = (proposer_call or ScriptedProposer()) if proposals is None else None
        self.solver_call = solver_call or ScriptedSolver()
        self.solver_samples = solver_samples
        self.show_hard_answer = show_hard_answer
        self.max_proposal_rounds = max_proposal_rounds
        self.prefilter_samples = prefilter_samples
        self.prefilter_call = (prefilter_call or ScriptedCodegen()) if prefilter_samples else None
        self.filter_config = filter_config
        self.reward_config = reward_config
        self._items: dict[AgentID, Proposal] = {}
        self._set_prompts(prompts)

    def _candidates(self, k: int) -> tuple[list[Proposal], dict[str, int]]:
        if self.proposals is not None:
            pool = self.proposals
            idx = self.np_random.permutation(len(pool))
            return [pool[int(idx[i % len(pool)])] for i in range(k)], {}
        assert self.proposer_call is not None
        return self._propose(self.proposer_call, k, self.max_proposal_rounds)

    def _prefilter(self, proposals: list[Proposal]) -> tuple[list[Proposal], dict[str, int]]:
        assert self.prefilter_call is not None
        drawn, errors = self._draw(self.prefilter_call, proposals, self.prefilter_samples)
        kept = [
            p
            for p, renders in zip(proposals, drawn)
            if keep_for_codegen([r.ok for r in renders], self.filter_config)
        ]
        return kept, {"prefilter_dropped": len(proposals) - len(kept), "policy_errors": errors}

    def _snapshot(self) -> dict[str, Any]:
        return {"items": dict(self._items)}

    def _restore(self, state: dict[str, Any]) -> None:
        self._items = dict(state["items"])

    def _fresh_reset(
        self, options: dict[str, Any]
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        k = len(self.possible_agents)
        stats: dict[str, int] = {}
        if self.prefilter_samples:
            chosen: list[Proposal] = []
            for _ in range(self.max_proposal_rounds):
                cands, s1 = self._candidates(k - len(chosen))
                kept, s2 = self._prefilter(cands)
                for key, v in {**s1, **s2}.items():
                    stats[key] = stats.get(key, 0) + v
                chosen.extend(kept)
                if len(chosen) >= k:
                    break
            chosen = chosen[:k]
        else:
            chosen, stats = self._candidates(k)
        self.agents = self.possible_agents[: len(chosen)]
        self._items = dict(zip(self.agents, chosen))
        obs = {
            a: codegen_observation(a, p, self._seed(), self.show_hard_answer, self.prompts)
            for a, p in self._items.items()
        }
        infos = {
            a: {
                "active": a in self._items,
                "proposal": p.to_dict() if (p := self._items.get(a)) else None,
                "build": stats,
            }
            for a in self.possible_agents
        }
        return obs, infos

    def _step(self, actions: dict[AgentID, str]) -> StepResult:
        agents = list(actions)
        renders = self._renderer.render([actions[a] for a in agents])
        ok = [k for k, r in enumerate(renders) if r.ok]
        judgements, solver_errors = judge_images(
            self,
            self.solver_call,
            [(self._items[agents[k]], renders[k].image) for k in ok],
            self.solver_samples,
            self.solver_samples,
        )
        judged = dict(zip(ok, judgements))
        rewards: dict[AgentID, float] = {}
        infos: dict[AgentID, dict[str, Any]] = {}
        for k, agent in enumerate(agents):
            r = renders[k]
            jd = judged.get(k)
            valid = r.status not in (SERVICE_ERROR, POLICY_ERROR) and not (
                jd is not None and jd.solver_failed
            )
            if not valid:
                reward = 0.0  # infrastructure failure: no score, flagged in infos
            elif r.ok and jd is not None:
                reward = codegen_reward(
                    True, jd.solvability, jd.consistency, config=self.reward_config
                )
            else:
                # The penalties describe the code, as in MM-Zero: blank code, code that is
                # not SVG.  A valid SVG that renders to a blank image only misses the render.
                reward = codegen_reward(
                    False,
                    empty=r.extract.empty,
                    not_svg=not r.extract.is_svg or r.status == "not_svg",
                    config=self.reward_config,
                )
            rewards[agent] = float(reward)
            infos[agent] = {
                "active": True,
                "reward_valid": valid,
                "render_status": r.status,
                "render_message": r.message[:500],
                "svg_source": r.extract.source,
                "svg_length": len(r.extract.code),
                "rendered_image": r.image if r.ok else None,
                "solvability": jd.solvability if jd else None,
                "consistency": jd.consistency if jd else None,
                "proposal": self._items[agent].to_dict(),
            }
        ok_j = [jd for jd in judgements if not jd.solver_failed]
        metrics = batch_metrics(
            "codegen",
            hard_consistency=[jd.consistency for jd in ok_j],
            solvability=[jd.solvability for jd in ok_j],
            render_statuses=[r.status for r in renders],
            content_types=[self._items[a].content_type for a in agents],
            svg_lengths=[len(r.extract.code) for r in renders if r.extract.is_svg],
            format_ok=[r.extract.is_svg for r in renders],
            extra={
                "reward": sum(rewards.values()) / max(1, len(rewards)),
                "count/solver_errors": solver_errors,
            },
        )
        for info in infos.values():
            info["metrics"] = metrics
        return self._finish(rewards, infos)
