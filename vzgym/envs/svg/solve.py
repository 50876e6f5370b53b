"""``svg-solve``: train the solver of MM-Zero's SVG question world.

Agents ``solver_0 .. solver_{k-1}`` each see a rendered PNG (a PIL image in the
message) and its hard question.  Items come from a list of :class:`SolveItem`
or are built at reset: proposer -> codegen (one sample) -> render ->
``label_samples`` answers of the labelling solver to the easy and hard question
-> :func:`~vzgym.envs.svg.filters.silver_label`.  Reward
:func:`~vzgym.envs.svg.rewards.solver_reward` against the silver label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vzgym.core.facts import Stat
from vzgym.envs.base import AgentID, Observation, StepResult
from vzgym.envs.svg.answers import answers_equivalent
from vzgym.envs.svg.base import SVGWorldEnv, resolve_batch_size, svg_facts
from vzgym.envs.svg.bots import ScriptedCodegen, ScriptedProposer, ScriptedSolver
from vzgym.envs.svg.filters import FilterConfig, silver_label
from vzgym.envs.svg.metrics import batch_metrics
from vzgym.envs.svg.parsing import Proposal, parse_solver_answer
from vzgym.envs.svg.rewards import SolverRewardConfig, solver_reward
from vzgym.envs.svg.roles import RoleCall
from vzgym.envs.svg.topics import SEED_TOPICS
from vzgym.envs.svg.world import judge_images, png_to_image, solver_observation


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


class SVGSolveEnv(SVGWorldEnv):
    """Train the solver: ``batch_size`` agents each answer a hard question about a PNG.

    Args:
        batch_size: k (agents ``solver_0 .. solver_{k-1}``); ``num_items`` is its
            older name.
        proposer_call: the frozen proposer (default :class:`~vzgym.envs.svg.bots.ScriptedProposer`).
        codegen_call: the frozen codegen (default :class:`~vzgym.envs.svg.bots.ScriptedCodegen`).
        label_call: the solver whose ``label_samples`` answers give the silver
            label (default :class:`~vzgym.envs.svg.bots.ScriptedSolver`; in self-play
            the frozen previous solver).
        items: a fixed pool of :class:`SolveItem` to draw from instead of building.
        label_samples: answers per question for the silver label (MM-Zero: 10).
        max_build_rounds: build rounds allowed to collect k items.
        candidates_per_round: proposals per build round (default ``2 * k``).
        filter_config: the filter thresholds.
        reward_config: solver reward constants.
        topics, renderer, render_limits, render_workers, render_mode: as
            :class:`~vzgym.envs.svg.propose.SVGProposeEnv`.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "svg-solve"}
    facts = svg_facts(
        "solve", (Stat("solve/accuracy", "rate", "share of answers matching the label", True),)
    )
    _role = "solver"

    def __init__(
        self,
        batch_size: int = 8,
        proposer_call: RoleCall | None = None,
        codegen_call: RoleCall | None = None,
        label_call: RoleCall | None = None,
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
        num_items: int | None = None,
        prompts: str = "vzgym",
    ):
        batch_size = resolve_batch_size(batch_size, num_items, "num_items")
        super().__init__(batch_size, topics, renderer, render_limits, render_workers, render_mode)
        self.items = list(items) if items is not None else None
        if self.items is not None and not self.items:
            raise ValueError("`items` is empty")
        self.proposer_call = proposer_call or ScriptedProposer()
        self.codegen_call = codegen_call or ScriptedCodegen()
        self.label_call = label_call or ScriptedSolver()
        self.label_samples = label_samples
        self.max_build_rounds = max_build_rounds
        self.candidates_per_round = candidates_per_round or 2 * batch_size
        self.filter_config = filter_config
        self.reward_config = reward_config
        self._current: dict[AgentID, SolveItem] = {}
        self._build_metrics: dict[str, float] = {}
        self._set_prompts(prompts)

    def _snapshot(self) -> dict[str, Any]:
        return {"current": dict(self._current), "build_metrics": dict(self._build_metrics)}

    def _restore(self, state: dict[str, Any]) -> None:
        self._current = dict(state["current"])
        self._build_metrics = dict(state["build_metrics"])

    def build_items(self, k: int) -> tuple[list[SolveItem], dict[str, Any]]:
        """Build up to ``k`` items with the frozen roles (uses the env RNG)."""
        items: list[SolveItem] = []
        stats: dict[str, Any] = {"rounds": 0, "drop_reasons": {}, "render_statuses": []}
        hard_cons: list[float | None] = []
        solv: list[float] = []
        for _ in range(self.max_build_rounds):
            if len(items) >= k:
                break
            stats["rounds"] += 1
            proposals, _ = self._propose(self.proposer_call, self.candidates_per_round, 1)
            drawn, _ = self._draw(self.codegen_call, proposals, 1)
            renders = [row[0] for row in drawn]
            stats["render_statuses"].extend(r.status for r in renders)
            ok = [i for i, r in enumerate(renders) if r.ok]
            judgements, _ = judge_images(
                self,
                self.label_call,
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

    def _fresh_reset(
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
                prompts=self.prompts,
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
                # the proposer's own hard answer (not a training signal: MM-Zero trains on
                # the silver label; kept to measure whether the solver reads the picture)
                "proposer_answer": item.proposal.hard_answer if item.proposal else None,
                "correct_vs_proposer": bool(
                    item.proposal is not None
                    and answers_equivalent(parsed.answer, item.proposal.hard_answer)
                ),
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
