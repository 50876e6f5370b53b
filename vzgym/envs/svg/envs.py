"""The three MM-Zero "SVG question world" envs: ``svg-propose``, ``svg-codegen``, ``svg-solve``.

Each env trains one role; the other roles are :class:`~vzgym.agents.base.Policy`
objects given at construction (default: the scripted bots of
:mod:`vzgym.agents.scripted_svg`).  Every episode is one step:

``SVGProposeEnv``
    Agents ``proposer_0 .. proposer_{k-1}`` (one batch, so batch-diversity
    penalties are computable) each get a seed topic (a random permutation of
    the topics, cycled).  On ``step`` the env parses each proposal, asks the
    codegen policy for ``codegen_samples`` SVGs per valid proposal (one
    ``generate`` call), renders them all in one ``render_batch``, asks the
    solver policy ``solver_samples`` answers to the easy and the hard question
    of every rendered image (one call), and returns
    :func:`~vzgym.envs.svg.rewards.proposer_rewards`.

``SVGCodegenEnv``
    Agents ``codegen_0 .. codegen_{k-1}`` each see one proposal (caption, easy
    question and answer, hard question; the hard answer only with
    ``show_hard_answer``).  Proposals come from a list (drawn with the env
    RNG) or from a proposer policy (invalid proposals are re-drawn for up to
    ``max_proposal_rounds`` rounds).  With ``prefilter_samples > 0`` each
    candidate proposal is first drawn ``prefilter_samples`` times by the
    codegen reference policy and kept only when
    :func:`~vzgym.envs.svg.filters.keep_for_codegen` holds.  On ``step`` the
    SVGs are rendered and judged by the solver; reward
    :func:`~vzgym.envs.svg.rewards.codegen_reward`.

``SVGSolveEnv``
    Agents ``solver_0 .. solver_{k-1}`` each see a rendered PNG (a PIL image
    in the message) and its hard question.  Items come from a list of
    :class:`SolveItem` or are built at reset: proposer -> codegen (one sample)
    -> render -> ``label_samples`` answers of the labelling solver to the easy
    and hard question -> :func:`~vzgym.envs.svg.filters.silver_label`.  Reward
    :func:`~vzgym.envs.svg.rewards.solver_reward` against the silver label.

Common behaviour: ``reset(seed)`` draws every bot seed from ``self.np_random``
in a fixed order, so the same seed gives the same episode (text, PNG bytes and
rewards).  If fewer valid items than agents could be built, only the first
agents act (``infos[agent]["active"]`` says which).  Junk actions give
format-failure rewards, never exceptions.  ``close()`` closes a renderer the
env created (a renderer passed in is borrowed and stays open).  Every agent's
info holds the same batch ``metrics`` dict (see :mod:`vzgym.envs.svg.metrics`).
A proposer or codegen score that rests on an infrastructure failure (renderer
down, a codegen or solver call that errored) is not a score: that agent gets
reward 0 and ``infos[agent]["reward_valid"] = False``, and the rollout runner
writes its turn as not trainable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vzgym.agents.base import Policy
from vzgym.envs.base import AgentID, MultiAgentEnv, Observation, StepResult
from vzgym.envs.svg.answers import answers_equivalent
from vzgym.envs.svg.filters import FilterConfig, keep_for_codegen, silver_label
from vzgym.envs.svg.metrics import batch_metrics
from vzgym.envs.svg.parsing import Proposal, parse_proposal, parse_solver_answer
from vzgym.envs.svg.rewards import (
    CodegenRewardConfig,
    ProposerRewardConfig,
    SampleOutcome,
    SolverRewardConfig,
    codegen_reward,
    proposer_rewards,
    solver_reward,
)
from vzgym.envs.svg.topics import SEED_TOPICS
from vzgym.envs.svg.world import (
    POLICY_ERROR,
    SERVICE_ERROR,
    RendererHandle,
    codegen_observation,
    generate,
    judge_images,
    png_to_image,
    proposer_observation,
    solver_observation,
)


def _default(policy: Policy | None, kind: str) -> Policy:
    if policy is not None:
        return policy
    from vzgym.agents import scripted_svg

    return {
        "proposer": scripted_svg.ScriptedProposer,
        "codegen": scripted_svg.ScriptedCodegen,
        "solver": scripted_svg.ScriptedSolver,
    }[kind]()


def _as_proposal(item: Proposal | dict[str, str] | str) -> Proposal | None:
    if isinstance(item, Proposal):
        return item
    if isinstance(item, dict):
        return Proposal.from_dict(item)
    return parse_proposal(str(item)).proposal


class _SVGWorldEnv(MultiAgentEnv):
    """Common plumbing: renderer ownership, seeds, topics, one-step episodes."""

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "vzgym-svg"}
    _role = "agent"

    def __init__(
        self,
        num_agents: int,
        topics: Sequence[str],
        renderer: Any,
        render_limits: Any,
        render_workers: int | None,
        render_mode: str | None,
    ):
        super().__init__(render_mode=render_mode)
        if num_agents < 1:
            raise ValueError("need at least one agent")
        if not topics:
            raise ValueError("need at least one topic")
        self.possible_agents = [f"{self._role}_{i}" for i in range(num_agents)]
        self.topics = tuple(topics)
        self._renderer = RendererHandle(renderer, render_limits, render_workers)
        self._last_summary = ""

    def _seed(self) -> int:
        return int(self.np_random.integers(0, 2**31))

    def _topics(self, k: int) -> list[str]:
        order = self.np_random.permutation(len(self.topics))
        return [self.topics[int(order[i % len(order)])] for i in range(k)]

    def _propose(
        self, proposer: Policy, k: int, max_rounds: int
    ) -> tuple[list[Proposal], dict[str, int]]:
        """Draw up to ``k`` valid proposals from ``proposer`` in at most ``max_rounds`` calls."""
        out: list[Proposal] = []
        stats = {"proposer_calls": 0, "proposer_invalid": 0, "policy_errors": 0}
        for _ in range(max_rounds):
            need = k - len(out)
            if need <= 0:
                break
            obs = [
                proposer_observation(f"proposer_{i}", t, self._seed())
                for i, t in enumerate(self._topics(need))
            ]
            comps, errors = generate(proposer, obs, 1)
            stats["proposer_calls"] += 1
            stats["policy_errors"] += errors
            for row in comps:
                parsed = parse_proposal(row[0].text) if row[0].finish_reason != "error" else None
                if parsed is not None and parsed.proposal is not None:
                    out.append(parsed.proposal)
                else:
                    stats["proposer_invalid"] += 1
        return out[:k], stats

    def render(self) -> str | None:  # type: ignore[override]
        """Return a text summary of the last step (``render_mode="ansi"``)."""
        return self._last_summary if self.render_mode == "ansi" else None

    def close(self) -> None:
        """Close the renderer if the env created it."""
        self._renderer.close()
        super().close()

    def _finish(
        self,
        rewards: dict[AgentID, float],
        infos: dict[AgentID, dict[str, Any]],
    ) -> StepResult:
        self.agents = []
        done = dict.fromkeys(rewards, True)
        self._last_summary = "\n".join(f"{a}: {r:+.3f}" for a, r in rewards.items())
        return {}, rewards, done, dict.fromkeys(rewards, False), infos


# -- propose --------------------------------------------------------------------


class SVGProposeEnv(_SVGWorldEnv):
    """Train the proposer: ``num_proposals`` agents each write one six-tag proposal.

    Args:
        num_proposals: batch size k (agents ``proposer_0 .. proposer_{k-1}``).
        codegen_policy: frozen codegen (default :class:`ScriptedCodegen`).
        solver_policy: frozen solver (default :class:`ScriptedSolver`).
        codegen_samples: N SVGs per proposal (MM-Zero: 4).
        solver_samples: S answers per question and image (default 5).
        topics: the seed topics (default: MM-Zero's eight).
        reward_config: proposer reward constants.
        renderer: a ``vzgym.render.SVGRenderer`` to borrow (default: create one).
        render_limits, render_workers: used when the env creates the renderer.
        render_mode: None or ``"ansi"``.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "svg-propose"}
    _role = "proposer"

    def __init__(
        self,
        num_proposals: int = 8,
        codegen_policy: Policy | None = None,
        solver_policy: Policy | None = None,
        codegen_samples: int = 4,
        solver_samples: int = 5,
        topics: Sequence[str] = SEED_TOPICS,
        reward_config: ProposerRewardConfig = ProposerRewardConfig(),  # noqa: B008 - frozen
        renderer: Any = None,
        render_limits: Any = None,
        render_workers: int | None = None,
        render_mode: str | None = None,
    ):
        super().__init__(
            num_proposals, topics, renderer, render_limits, render_workers, render_mode
        )
        self.codegen_policy = _default(codegen_policy, "codegen")
        self.solver_policy = _default(solver_policy, "solver")
        self.codegen_samples = codegen_samples
        self.solver_samples = solver_samples
        self.reward_config = reward_config
        self._obs: dict[AgentID, Observation] = {}

    def _reset(
        self, options: dict[str, Any]
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        self.agents = list(self.possible_agents)
        topics = self._topics(len(self.agents))
        self._obs = {
            a: proposer_observation(a, t, self._seed()) for a, t in zip(self.agents, topics)
        }
        return dict(self._obs), {
            a: {"topic": o.extra["topic"], "active": True} for a, o in self._obs.items()
        }

    def _step(self, actions: dict[AgentID, str]) -> StepResult:
        agents = list(actions)
        parses = [parse_proposal(actions[a]) for a in agents]
        valid = [i for i, p in enumerate(parses) if p.proposal is not None]
        n = self.codegen_samples
        cg_obs = [
            codegen_observation(f"codegen_{i}", parses[i].proposal, self._seed())  # type: ignore[arg-type]
            for i in valid
        ]
        comps, cg_errors = generate(self.codegen_policy, cg_obs, n)
        texts = [c.text if c.finish_reason != "error" else None for row in comps for c in row]
        renders = self._renderer.render(texts)
        per_prop = {i: renders[k * n : (k + 1) * n] for k, i in enumerate(valid)}
        judged_keys = [(i, j) for i in valid for j, r in enumerate(per_prop[i]) if r.ok]
        judgements, solver_errors = judge_images(
            self,
            self.solver_policy,
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
            valid = not any(x.status in (SERVICE_ERROR, POLICY_ERROR) for x in rs) and not any(
                judged[(i, j)].solver_failed for j in range(len(rs)) if (i, j) in judged
            )
            rewards[agent] = float(r.total) if valid else 0.0
            infos[agent] = {
                "active": True,
                "reward_valid": valid,
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


# -- codegen --------------------------------------------------------------------


class SVGCodegenEnv(_SVGWorldEnv):
    """Train the codegen: ``num_items`` agents each draw one proposal as SVG.

    Args:
        num_items: k (agents ``codegen_0 .. codegen_{k-1}``).
        proposer_policy: frozen proposer used when ``proposals`` is None
            (default :class:`ScriptedProposer`).
        proposals: a fixed pool (``Proposal``, dicts or six-tag texts) to draw
            from with the env RNG instead of calling a proposer.
        solver_policy: frozen solver (default :class:`ScriptedSolver`).
        solver_samples: S answers per question (default 5).
        show_hard_answer: also show the hard answer to the codegen.
        max_proposal_rounds: proposer calls allowed to collect k valid proposals.
        prefilter_samples: if > 0, keep only proposals whose render success
            over that many samples of ``prefilter_policy`` passes
            :func:`keep_for_codegen` (MM-Zero: 4).
        prefilter_policy: the codegen reference for the prefilter (default scripted).
        filter_config: the filter thresholds.
        reward_config: codegen reward constants.
        topics, renderer, render_limits, render_workers, render_mode: as :class:`SVGProposeEnv`.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "svg-codegen"}
    _role = "codegen"

    def __init__(
        self,
        num_items: int = 8,
        proposer_policy: Policy | None = None,
        proposals: Sequence[Proposal | dict[str, str] | str] | None = None,
        solver_policy: Policy | None = None,
        solver_samples: int = 5,
        show_hard_answer: bool = False,
        max_proposal_rounds: int = 3,
        prefilter_samples: int = 0,
        prefilter_policy: Policy | None = None,
        filter_config: FilterConfig = FilterConfig(),  # noqa: B008 - frozen
        reward_config: CodegenRewardConfig = CodegenRewardConfig(),  # noqa: B008 - frozen
        topics: Sequence[str] = SEED_TOPICS,
        renderer: Any = None,
        render_limits: Any = None,
        render_workers: int | None = None,
        render_mode: str | None = None,
    ):
        super().__init__(num_items, topics, renderer, render_limits, render_workers, render_mode)
        self.proposals: list[Proposal] | None = None
        if proposals is not None:
            parsed = [_as_proposal(p) for p in proposals]
            self.proposals = [p for p in parsed if p is not None]
            if not self.proposals:
                raise ValueError("no valid proposal in `proposals`")
        self.proposer_policy = _default(proposer_policy, "proposer") if proposals is None else None
        self.solver_policy = _default(solver_policy, "solver")
        self.solver_samples = solver_samples
        self.show_hard_answer = show_hard_answer
        self.max_proposal_rounds = max_proposal_rounds
        self.prefilter_samples = prefilter_samples
        self.prefilter_policy = _default(prefilter_policy, "codegen") if prefilter_samples else None
        self.filter_config = filter_config
        self.reward_config = reward_config
        self._items: dict[AgentID, Proposal] = {}

    def _candidates(self, k: int) -> tuple[list[Proposal], dict[str, int]]:
        if self.proposals is not None:
            pool = self.proposals
            idx = self.np_random.permutation(len(pool))
            return [pool[int(idx[i % len(pool)])] for i in range(k)], {}
        assert self.proposer_policy is not None
        return self._propose(self.proposer_policy, k, self.max_proposal_rounds)

    def _prefilter(self, proposals: list[Proposal]) -> tuple[list[Proposal], dict[str, int]]:
        n = self.prefilter_samples
        assert self.prefilter_policy is not None
        obs = [
            codegen_observation(f"codegen_{i}", p, self._seed()) for i, p in enumerate(proposals)
        ]
        comps, errors = generate(self.prefilter_policy, obs, n)
        texts = [c.text if c.finish_reason != "error" else None for row in comps for c in row]
        renders = self._renderer.render(texts)
        kept = [
            p
            for k, p in enumerate(proposals)
            if keep_for_codegen([r.ok for r in renders[k * n : (k + 1) * n]], self.filter_config)
        ]
        return kept, {"prefilter_dropped": len(proposals) - len(kept), "policy_errors": errors}

    def _reset(
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
            a: codegen_observation(a, p, self._seed(), self.show_hard_answer)
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
            self.solver_policy,
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


# -- solve ----------------------------------------------------------------------


@dataclass(frozen=True)
class SolveItem:
    """One solver training item: a rendered picture, a question and its silver label."""

    png: bytes
    question: str
    label: str
    proposal: Proposal | None = None
    easy_consistency: float | None = None
    hard_consistency: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class SVGSolveEnv(_SVGWorldEnv):
    """Train the solver: ``num_items`` agents each answer a hard question about a PNG.

    Args:
        num_items: k (agents ``solver_0 .. solver_{k-1}``).
        proposer_policy: frozen proposer (default :class:`ScriptedProposer`).
        codegen_policy: frozen codegen (default :class:`ScriptedCodegen`).
        label_policy: the solver whose ``label_samples`` answers give the silver
            label (default :class:`ScriptedSolver`; in self-play the frozen
            previous solver).
        items: a fixed pool of :class:`SolveItem` to draw from instead of building.
        label_samples: answers per question for the silver label (MM-Zero: 10).
        max_build_rounds: build rounds allowed to collect k items.
        candidates_per_round: proposals per build round (default ``2 * k``).
        filter_config: the filter thresholds.
        reward_config: solver reward constants.
        topics, renderer, render_limits, render_workers, render_mode: as :class:`SVGProposeEnv`.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "svg-solve"}
    _role = "solver"

    def __init__(
        self,
        num_items: int = 8,
        proposer_policy: Policy | None = None,
        codegen_policy: Policy | None = None,
        label_policy: Policy | None = None,
        items: Sequence[SolveItem] | None = None,
        label_samples: int = 10,
        max_build_rounds: int = 4,
        candidates_per_round: int | None = None,
        filter_config: FilterConfig = FilterConfig(),  # noqa: B008 - frozen
        reward_config: SolverRewardConfig = SolverRewardConfig(),  # noqa: B008 - frozen
        topics: Sequence[str] = SEED_TOPICS,
        renderer: Any = None,
        render_limits: Any = None,
        render_workers: int | None = None,
        render_mode: str | None = None,
    ):
        super().__init__(num_items, topics, renderer, render_limits, render_workers, render_mode)
        self.items = list(items) if items is not None else None
        if self.items is not None and not self.items:
            raise ValueError("`items` is empty")
        self.proposer_policy = _default(proposer_policy, "proposer")
        self.codegen_policy = _default(codegen_policy, "codegen")
        self.label_policy = _default(label_policy, "solver")
        self.label_samples = label_samples
        self.max_build_rounds = max_build_rounds
        self.candidates_per_round = candidates_per_round or 2 * num_items
        self.filter_config = filter_config
        self.reward_config = reward_config
        self._current: dict[AgentID, SolveItem] = {}
        self._build_metrics: dict[str, float] = {}

    def build_items(self, k: int) -> tuple[list[SolveItem], dict[str, Any]]:
        """Build up to ``k`` items with the frozen policies (uses the env RNG)."""
        items: list[SolveItem] = []
        stats: dict[str, Any] = {"rounds": 0, "drop_reasons": {}, "render_statuses": []}
        hard_cons: list[float | None] = []
        solv: list[float] = []
        for _ in range(self.max_build_rounds):
            if len(items) >= k:
                break
            stats["rounds"] += 1
            proposals, _ = self._propose(self.proposer_policy, self.candidates_per_round, 1)
            obs = [
                codegen_observation(f"codegen_{i}", p, self._seed())
                for i, p in enumerate(proposals)
            ]
            comps, _ = generate(self.codegen_policy, obs, 1)
            renders = self._renderer.render(
                [row[0].text if row[0].finish_reason != "error" else None for row in comps]
            )
            stats["render_statuses"].extend(r.status for r in renders)
            ok = [i for i, r in enumerate(renders) if r.ok]
            judgements, _ = judge_images(
                self,
                self.label_policy,
                [(proposals[i], renders[i].image) for i in ok],
                self.label_samples,
                self.label_samples,
            )
            for i, jd in zip(ok, judgements):
                if jd.solver_failed:
                    reason = "solver_failed"
                else:
                    hard_cons.append(jd.consistency)
                    solv.append(jd.solvability)
                    verdict = silver_label(jd.hard_answers, jd.easy_answers, self.filter_config)
                    if verdict.keep and verdict.label is not None and len(items) < k:
                        items.append(
                            SolveItem(
                                png=renders[i].png,  # type: ignore[arg-type]
                                question=proposals[i].hard_question,
                                label=verdict.label,
                                proposal=proposals[i],
                                easy_consistency=verdict.easy.value,
                                hard_consistency=verdict.hard.value,
                            )
                        )
                        continue
                    reason = verdict.reason or "enough items"
                stats["drop_reasons"][reason] = stats["drop_reasons"].get(reason, 0) + 1
        stats["metrics"] = batch_metrics(
            "solve_build",
            hard_consistency=hard_cons,
            solvability=solv,
            render_statuses=stats["render_statuses"],
            extra={"count/items": len(items)},
        )
        return items, stats

    def format_human_action(self, observation: Observation, text: str) -> str:
        r"""Wrap a bare answer typed by a person as ``<think>…</think> \boxed{answer}``."""
        if "\\boxed" in text:
            return text
        return f"<think>(answered by a person)</think> \\boxed{{{text.strip()}}}"

    def _reset(
        self, options: dict[str, Any]
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        k = len(self.possible_agents)
        if self.items is not None:
            idx = self.np_random.permutation(len(self.items))
            chosen = [self.items[int(idx[i % len(idx)])] for i in range(k)]
            stats: dict[str, Any] = {}
        else:
            chosen, stats = self.build_items(k)
        self._build_metrics = dict(stats.get("metrics", {}))
        self.agents = self.possible_agents[: len(chosen)]
        self._current = dict(zip(self.agents, chosen))
        obs = {}
        for a, item in self._current.items():
            obs[a] = solver_observation(
                a,
                png_to_image(item.png),
                item.question,
                "hard",
                item.proposal,
                self._seed(),
                reference=item.proposal.hard_answer if item.proposal is not None else item.label,
            )
            obs[a].extra["png"] = item.png
        infos = {
            a: {
                "active": a in self._current,
                "build": {k2: v for k2, v in stats.items() if k2 != "render_statuses"},
            }
            for a in self.possible_agents
        }
        return obs, infos

    def _step(self, actions: dict[AgentID, str]) -> StepResult:
        rewards: dict[AgentID, float] = {}
        infos: dict[AgentID, dict[str, Any]] = {}
        fmt, acc = [], []
        for agent, text in actions.items():
            item = self._current[agent]
            parsed = parse_solver_answer(text)
            correct = answers_equivalent(parsed.answer, item.label)
            rewards[agent] = float(solver_reward(correct, parsed.format_ok, self.reward_config))
            fmt.append(parsed.format_ok)
            acc.append(float(correct))
            infos[agent] = {
                "active": True,
                "answer": parsed.answer,
                "format_ok": parsed.format_ok,
                "correct": correct,
                "silver_label": item.label,
                "hard_consistency": item.hard_consistency,
            }
        metrics = batch_metrics(
            "solve",
            format_ok=fmt,
            extra={
                "accuracy": sum(acc) / max(1, len(acc)),
                "reward": sum(rewards.values()) / max(1, len(rewards)),
            },
        )
        metrics.update(self._build_metrics)
        for info in infos.values():
            info["metrics"] = metrics
        return self._finish(rewards, infos)
