"""The common base of the three SVG-world envs: one trained role, one-step episodes.

:class:`SVGWorldEnv` holds what every role's env shares: ``batch_size`` agents
(one batch per episode, so batch-level penalties are computable), the seed
topics, the renderer, the env-RNG seeds of every bot call, asking the
proposer for valid proposals, and :meth:`SVGWorldEnv._draw` — the one place that
asks a codegen for SVGs, drops failed samples and renders the rest.  It also
declares the world's facts (:data:`svg_facts`) and scores an episode's outcome
(every agent its own team; its reward is its score).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

from vzgym.core.facts import GameFacts, Outcome, PlotPanel, Stat
from vzgym.envs.base import AgentID, MultiAgentEnv, Observation, StepResult
from vzgym.envs.svg.parsing import Proposal, parse_proposal
from vzgym.envs.svg.roles import RoleCall, ask
from vzgym.envs.svg.topics import prompt_set
from vzgym.envs.svg.world import (
    RendererHandle,
    RenderOutcome,
    codegen_observation,
    proposer_observation,
)

#: The panel ``vzgym plot`` draws for every SVG-world run (keys as logged: ``game/<role>/...``).
SVG_WORLD_PANEL = PlotPanel(
    "svg_world.png",
    "SVG world",
    (
        "game/*/difficulty",
        "game/*/solvability",
        "game/*/render_success",
        "game/*/content_type_entropy",
        "game/*divers*",
    ),
)


#: How ``vzgym view`` shows an SVG-world episode.
SVG_VIEW = "vzgym.envs.svg.view:svg_view"


def svg_facts(phase: str, extra: Sequence[Stat] = ()) -> GameFacts:
    """The facts of the env that trains ``phase`` (``propose``, ``codegen``, ``solve``).

    Its stats are keys of the batch metrics (:mod:`vzgym.envs.svg.metrics`,
    ``"<phase>/<name>"``), reported per episode in ``infos[agent]["game"]``;
    one stage (every turn trained every step with ``group_norm``, each agent slot its
    own GRPO group: ``group_by="agent"``, since every slot answers its own item); the
    ``vzgym view`` renderer :data:`SVG_VIEW`.
    """
    common = (
        Stat(f"{phase}/difficulty", "mean", "2*min(h, 1-h) of the solver on hard questions"),
        Stat(f"{phase}/solvability", "mean", "share of easy answers matching the proposer", True),
        Stat(f"{phase}/render_success", "rate", "share of codegen samples that rendered", True),
        Stat(
            f"{phase}/content_type_entropy", "mean", "diversity of the content types (0..1)", True
        ),
        Stat(
            f"{phase}/format_ok", "rate", "share of well-formed actions of the trained role", True
        ),
        Stat(f"{phase}/reward", "mean", "mean reward of the trained role", True),
    )
    return GameFacts(
        stats=common + tuple(extra), plots=(SVG_WORLD_PANEL,), view=SVG_VIEW, group_by="agent"
    )


def resolve_batch_size(batch_size: int, legacy: int | None, legacy_name: str) -> int:
    """The batch size, from ``batch_size`` or its older name (deprecated, still accepted)."""
    if legacy is None:
        return batch_size
    warnings.warn(
        f"{legacy_name}= is the old name of batch_size=", DeprecationWarning, stacklevel=3
    )
    return legacy


def as_proposal(item: Proposal | dict[str, str] | str) -> Proposal | None:
    """A :class:`Proposal` from a proposal, its dict or its six-tag text (None if invalid)."""
    if isinstance(item, Proposal):
        return item
    if isinstance(item, dict):
        return Proposal.from_dict(item)
    return parse_proposal(str(item)).proposal


class SVGWorldEnv(MultiAgentEnv):
    """Common plumbing: renderer ownership, seeds, topics, one-step episodes.

    Args:
        batch_size: agents per episode (``<role>_0 .. <role>_{batch_size-1}``).
        topics: the seed topics.
        renderer: a ``vzgym.render.SVGRenderer`` to borrow (default: create one).
        render_limits, render_workers: used when the env creates the renderer.
        render_mode: None or ``"ansi"``.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "vzgym-svg"}
    _role = "agent"

    def __init__(
        self,
        batch_size: int,
        topics: Sequence[str],
        renderer: Any,
        render_limits: Any,
        render_workers: int | None,
        render_mode: str | None,
    ):
        super().__init__(render_mode=render_mode)
        if batch_size < 1:
            raise ValueError("need at least one agent")
        if not topics:
            raise ValueError("need at least one topic")
        self.batch_size = batch_size
        self.possible_agents = [f"{self._role}_{i}" for i in range(batch_size)]
        self.topics = tuple(topics)
        self._renderer = RendererHandle(renderer, render_limits, render_workers)
        self._last_summary = ""
        self._last_scores: dict[AgentID, float] = {}
        self.prompts = "vzgym"
        self._shared: dict[str, Any] | None = None

    def _set_prompts(self, prompts: str) -> None:
        """Choose the prompt set (``"vzgym"`` or ``"paper"``, :mod:`vzgym.envs.svg.topics`)."""
        prompt_set(prompts)  # ValueError naming the choices
        self.prompts = prompts

    # -- reset, shared by the copies of a GRPO group ---------------------------------------
    def _reset(
        self, options: dict[str, Any]
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        """Start an episode, or take over the one a same-seed copy built.

        Building a batch can call frozen roles (proposer, codegen, labeller) and the
        renderer; copies of a GRPO group get the first copy's batch through
        :meth:`shared_reset_options` (same items, same observation seeds, same RNG
        state after reset), so they differ only by the trained role's sampling.
        """
        self._start()
        shared = options.get("svg_reset")
        if shared is not None and shared.get("env") == type(self).__name__:
            self._restore(copy.copy(shared["state"]))
            self.agents = list(shared["agents"])
            self.np_random.bit_generator.state = copy.deepcopy(shared["rng"])
            self._shared = shared
            return dict(shared["obs"]), copy.deepcopy(shared["infos"])
        obs, infos = self._fresh_reset(options)
        self._shared = {
            "env": type(self).__name__,
            "state": self._snapshot(),
            "agents": list(self.agents),
            "rng": copy.deepcopy(self.np_random.bit_generator.state),
            "obs": dict(obs),
            "infos": copy.deepcopy(infos),
        }
        return obs, infos

    def shared_reset_options(self) -> dict[str, Any]:
        """The batch built at the last reset, for same-seed copies (see :meth:`_reset`)."""
        return {"svg_reset": self._shared} if self._shared is not None else {}

    def _fresh_reset(
        self, options: dict[str, Any]
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        raise NotImplementedError

    def _snapshot(self) -> dict[str, Any]:
        """The per-episode state a copy needs (each role's env names its fields)."""
        return {}

    def _restore(self, state: dict[str, Any]) -> None:
        """Take over :meth:`_snapshot` output."""

    def _seed(self) -> int:
        return int(self.np_random.integers(0, 2**31))

    def _topics(self, k: int) -> list[str]:
        order = self.np_random.permutation(len(self.topics))
        return [self.topics[int(order[i % len(order)])] for i in range(k)]

    def _propose(
        self, proposer: RoleCall, k: int, max_rounds: int
    ) -> tuple[list[Proposal], dict[str, int]]:
        """Draw up to ``k`` valid proposals from ``proposer`` in at most ``max_rounds`` calls."""
        out: list[Proposal] = []
        stats = {"proposer_calls": 0, "proposer_invalid": 0, "policy_errors": 0}
        for _ in range(max_rounds):
            need = k - len(out)
            if need <= 0:
                break
            obs = [
                proposer_observation(f"proposer_{i}", t, self._seed(), self.prompts)
                for i, t in enumerate(self._topics(need))
            ]
            texts, errors = ask(proposer, obs, 1)
            stats["proposer_calls"] += 1
            stats["policy_errors"] += errors
            for row in texts:
                parsed = parse_proposal(row[0]) if row[0] is not None else None
                if parsed is not None and parsed.proposal is not None:
                    out.append(parsed.proposal)
                else:
                    stats["proposer_invalid"] += 1
        return out[:k], stats

    def _draw(
        self,
        codegen: RoleCall,
        proposals: Sequence[Proposal],
        n: int,
        names: Sequence[str] | None = None,
    ) -> tuple[list[list[RenderOutcome]], int]:
        """Ask ``codegen`` for ``n`` SVGs of each proposal (one call), render them (one batch).

        Failed samples are not rendered (status ``policy_error``).  Observations
        are named ``names`` (default ``codegen_<i>``); seeds come from the env RNG
        in proposal order.  Returns each proposal's ``n`` outcomes and the failed count.
        """
        names = (
            list(names) if names is not None else [f"codegen_{i}" for i in range(len(proposals))]
        )
        obs = [
            codegen_observation(a, p, self._seed(), prompts=self.prompts)
            for a, p in zip(names, proposals)
        ]
        texts, errors = ask(codegen, obs, n)
        renders = self._renderer.render([t for row in texts for t in row])
        return [renders[k * n : (k + 1) * n] for k in range(len(proposals))], errors

    def outcome(self) -> Outcome | None:
        """Each agent of the trained role is its own team, scored by its reward.

        Agents whose reward rests on an infrastructure failure
        (``reward_valid=False``) are on no team; None before the step or when
        no agent has a valid score.
        """
        if not self._last_scores:
            return None
        return Outcome(
            teams={a: [a] for a in self._last_scores},
            scores=dict(self._last_scores),
            roles=dict.fromkeys(self._last_scores, self._role),
        )

    def render(self) -> str | None:  # type: ignore[override]
        """Return a text summary of the last step (``render_mode="ansi"``)."""
        return self._last_summary if self.render_mode == "ansi" else None

    def close(self) -> None:
        """Close the renderer if the env created it."""
        self._renderer.close()
        super().close()

    def _start(self) -> None:
        """Forget the last episode's scores (call at the start of ``_reset``)."""
        self._last_scores = {}

    def _finish(
        self,
        rewards: dict[AgentID, float],
        infos: dict[AgentID, dict[str, Any]],
    ) -> StepResult:
        self.agents = []
        done = dict.fromkeys(rewards, True)
        self._last_summary = "\n".join(f"{a}: {r:+.3f}" for a, r in rewards.items())
        self._last_scores = {
            a: r for a, r in rewards.items() if infos.get(a, {}).get("reward_valid", True)
        }
        keys = [s.key for s in self.facts.stats]
        for info in infos.values():
            metrics = info.get("metrics", {})
            info["game"] = {k: metrics[k] for k in keys if k in metrics}
        return {}, rewards, done, dict.fromkeys(rewards, False), infos
