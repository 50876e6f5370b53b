"""Held-out evaluation of a policy that plays every seat of a game (self-play).

:func:`evaluate` plays ``games`` games on seeds ``EVAL_SEED_BASE + i`` (never used
for training) with greedy decoding and returns flat metrics:

* ``eval/finished_rate`` — share of turns whose completion ended on its own
  (end-of-turn token) rather than at ``max_new_tokens`` or with an error;
* ``eval/reward_mean`` (all seats) and ``reward/<role>`` — mean episode reward;
* ``game/<stat>`` — the statistics the game declares
  (:attr:`vzgym.core.facts.GameFacts.stats`), aggregated as it declares (the
  same keys training logs, so ``vzgym plot`` draws the game's own panels);
* ``eval/failed_episodes``, ``eval/turns``.

``blank_images=True`` is the vision ablation: every image the policy is shown is
replaced by a flat gray one (:class:`vzgym.agents.blank_images.BlankImagesPolicy`);
give it other ``prefix`` / ``stats_prefix`` (``"blank/"``) to log both side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vzgym.core.policy import Policy, SamplingParams
from vzgym.trainers.imitate_data import EVAL_SEED_BASE


def evaluate(
    policy: Policy,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    *,
    games: int = 32,
    max_new_tokens: int = 64,
    blank_images: bool = False,
    seed_base: int = EVAL_SEED_BASE,
    out_dir: str | Path | None = None,
    prefix: str = "eval/",
    stats_prefix: str = "",
) -> dict[str, float]:
    """Play ``games`` held-out games with ``policy`` in every seat; return metrics."""
    from vzgym.rollout.runner import PolicyMap, RolloutConfig, RolloutRunner, SeatPolicy
    from vzgym.rollout.writer import TrajectoryWriter

    if blank_images:
        from vzgym.agents.blank_images import BlankImagesPolicy

        policy = BlankImagesPolicy(policy)
    config = RolloutConfig(
        env_id,
        dict(env_kwargs or {}),
        games=games,
        group=1,
        seed=seed_base,
        sampling=SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens, seed=0),
    )
    writer = TrajectoryWriter(str(out_dir)) if out_dir is not None else None
    try:
        summary, episodes = RolloutRunner(
            config, PolicyMap(SeatPolicy("eval", policy, trainable=False)), writer
        ).run()
    finally:
        if writer is not None:
            writer.close()
    reasons = [t["completion"].finish_reason for ep in episodes for t in ep.turns]
    finished = sum(r in ("stop", "scripted") for r in reasons)
    totals = [v for ep in episodes if ep.status == "ok" for v in ep.totals.values()]
    out: dict[str, float] = {
        "finished_rate": finished / len(reasons) if reasons else 0.0,
        "reward_mean": sum(totals) / len(totals) if totals else 0.0,
        "failed_episodes": float(summary.failed_episodes),
        "turns": float(len(reasons)),
    }
    result = {f"{prefix}{k}": v for k, v in out.items()}
    result.update({f"{stats_prefix}reward/{r}": v for r, v in summary.reward_by_role.items()})
    result.update({f"{stats_prefix}game/{k}": v for k, v in summary.game_stats.items()})
    return result
