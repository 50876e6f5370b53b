"""``vzgym eval``: play policy A against policy B on held-out seeds, seats swapped.

Every seed is played once per :class:`~vzgym.eval.seating.Seating`, in batches
through the rollout runner (one model call per policy per tick across a
batch).  A finished game's result comes from the env's declared
:meth:`~vzgym.envs.base.MultiAgentEnv.outcome` only; its statistics from the
game's declared :class:`~vzgym.core.facts.GameFacts`.  Each batch is committed
to ``OUT`` durably (:mod:`vzgym.eval.store`), so an interrupted evaluation
resumed with ``resume=True`` plays only the missing (or failed) games.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vzgym.agents.base import Policy, SamplingParams
from vzgym.eval.guard import GuardedPolicy, SilentPolicy
from vzgym.eval.seating import Seating, make_seatings, policy_map, roles_of
from vzgym.eval.seeds import EVAL_SEED_BASE
from vzgym.eval.store import EvalStore
from vzgym.rollout.runner import RolloutConfig, RolloutRunner, SeatPolicy


@dataclass
class EvalConfig:
    """What to evaluate.

    Attributes:
        env_id: a registered env id.
        policy: policy A (a spec string, see :mod:`vzgym.eval.specs`, or a built policy).
        vs: policy B, the baseline.
        games: games to play in all (rounded up to whole seeds x seatings).
        first_seed: first seed (default: the held-out range, :mod:`vzgym.eval.seeds`).
        env_kwargs: env options (JSON values).
        sampling: how both policies sample.
        out_dir: where records, trajectories and ``summary.json`` go (None: memory only).
        resume: continue the evaluation in ``out_dir`` (play only missing games).
        batch: seeds per rollout batch (and per durable commit).
        policy_options: options for model policies built from specs (device ...).
        labels: display names of A and B (default: their specs).
    """

    env_id: str
    policy: str | Policy
    vs: str | Policy
    games: int = 16
    first_seed: int = EVAL_SEED_BASE
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    sampling: SamplingParams = field(
        default_factory=lambda: SamplingParams(max_new_tokens=64, seed=0)
    )
    out_dir: str | Path | None = None
    resume: bool = False
    batch: int = 16
    policy_options: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, str] | None = None


@dataclass
class EvalResult:
    """The summary (see :func:`vzgym.eval.summary.summarise`) and every game record."""

    summary: dict[str, Any]
    records: list[dict[str, Any]]


def check_env(env_id: str, env_kwargs: dict[str, Any]) -> Any:
    """The env's spec; ``ValueError`` if unknown, given unknown options, or with no outcome."""
    from vzgym.envs.base import MultiAgentEnv
    from vzgym.registration import UnknownEnvError, get_registry

    try:
        spec = get_registry().spec(env_id)
    except UnknownEnvError as exc:
        raise ValueError(str(exc)) from None
    names = spec.option_names()
    if names is not None:
        unknown = sorted(set(env_kwargs) - names)
        if unknown:
            raise ValueError(f"env {env_id!r} has no option(s) {unknown}; it takes {sorted(names)}")
    cls = spec.load()
    if inspect.isclass(cls) and getattr(cls, "outcome", None) is MultiAgentEnv.outcome:
        raise ValueError(
            f"env {env_id!r} declares no outcome (MultiAgentEnv.outcome), so there is no "
            "winner to count; it cannot be evaluated"
        )
    return spec


def _label(policy: str | Policy) -> str:
    return policy if isinstance(policy, str) else getattr(policy, "name", "policy")


class _EvalRunner(RolloutRunner):
    """The rollout runner, keeping each episode's outcome and giving rows a global id."""

    def __init__(self, *args: Any, episode_id: Callable[[int], int], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._episode_id = episode_id

    def _finish(self, ep: Any, summary: Any) -> None:
        try:
            ep.outcome = ep.env.outcome() if ep.status == "running" else None
        except Exception as exc:  # noqa: BLE001 - a broken outcome is that game's failure
            ep.outcome = None
            ep.status = f"failed:outcome_error {type(exc).__name__}: {exc}"[:300]
        super()._finish(ep, summary)

    def records(self, ep: Any) -> list[dict[str, Any]]:
        rows = super().records(ep)
        for row in rows:
            row["episode_id"] = row["group_id"] = self._episode_id(ep.seed)
        return rows


class Evaluation:
    """One evaluation of A against B (build with an :class:`EvalConfig`, then :meth:`run`)."""

    def __init__(self, config: EvalConfig, log: Callable[[str], None] | None = None):
        if not isinstance(config.games, int) or config.games < 1:
            raise ValueError(f"--games must be >= 1, got {config.games!r}")
        if config.batch < 1:
            raise ValueError(f"--batch must be >= 1, got {config.batch}")
        if config.first_seed < 0:
            raise ValueError(f"--seed must be >= 0, got {config.first_seed}")
        self.config = config
        self.log = log or (lambda _msg: None)
        self.spec = check_env(config.env_id, config.env_kwargs)
        self.facts = self.spec.facts
        self.store = EvalStore(config.out_dir) if config.out_dir is not None else None
        if self.store is not None and self.store.has_games() and not config.resume:
            raise ValueError(
                f"{config.out_dir} already holds an evaluation; pass --resume to finish it "
                "or choose another --out"
            )
        labels = config.labels or (_label(config.policy), _label(config.vs))
        self.labels = {"A": labels[0], "B": labels[1]}
        self.policies = self._build_policies()
        self.env_kwargs = self._env_kwargs()

    # -- set-up -------------------------------------------------------------
    def _build_policies(self) -> dict[str, GuardedPolicy]:
        from vzgym.eval.specs import build_policy

        cfg = self.config
        built: dict[str, Policy] = {}
        out = {}
        for side, spec in (("A", cfg.policy), ("B", cfg.vs)):
            if isinstance(spec, Policy):
                out[side] = GuardedPolicy(spec)
                continue
            if spec not in built:  # the same spec twice (a self-match) is loaded once
                built[spec] = build_policy(spec, cfg.env_id, **cfg.policy_options)
            out[side] = GuardedPolicy(built[spec])
        return out

    def _env_kwargs(self) -> dict[str, Any]:
        """Env options; the roles the env consults itself (options ``<role>_policy`` or
        ``<role>_call``) are B's, the fixed side, unless the options name them or B is the
        env's own scripted bot (the env's defaults are those bots)."""
        from vzgym.rollout.seating import build_policy_map

        kwargs = dict(self.config.env_kwargs)
        if self.config.vs == "scripted":
            return kwargs
        roles: dict[str, Policy] = {}
        for name in sorted(self.spec.option_names() or ()):
            role, sep, kind = name.rpartition("_")
            if sep and role and kind in ("policy", "call") and name not in kwargs:
                roles[role] = self.policies["B"]
        if roles:  # seating hands each to the env the way the env takes it
            build_policy_map(self.config.env_id, self.policies["B"], roles, (), kwargs)
        return kwargs

    def _probe_roles(self) -> list[str]:
        """Play one game with silent answers at the first seed and read its declared roles."""
        cfg = RolloutConfig(
            self.config.env_id, dict(self.env_kwargs), games=1, group=1,
            seed=self.config.first_seed, sampling=SamplingParams(max_new_tokens=1),
        )  # fmt: skip
        silent = SeatPolicy("silent", SilentPolicy(), trainable=False)
        from vzgym.rollout.runner import PolicyMap

        runner = _EvalRunner(cfg, PolicyMap(silent), episode_id=lambda s: 0)
        _, episodes = runner.run()
        outcome = getattr(episodes[0], "outcome", None)
        if outcome is None:
            raise ValueError(
                f"env {self.config.env_id!r} gave no outcome for a finished game "
                f"(status {episodes[0].status}); it cannot be evaluated"
            )
        return roles_of(outcome)

    def _manifest(self, roles: list[str], seatings: list[Seating]) -> dict[str, Any]:
        from vzgym.rollout.writer import to_jsonable

        cfg = self.config
        return {
            "env": cfg.env_id,
            "env_options": to_jsonable(cfg.env_kwargs),
            "policy": self.labels["A"],
            "vs": self.labels["B"],
            "first_seed": cfg.first_seed,
            "sampling": to_jsonable(cfg.sampling.__dict__),
            "roles": roles,
            "seatings": [s.label for s in seatings],
            "games": cfg.games,
        }

    # -- play ---------------------------------------------------------------
    def run(self) -> EvalResult:
        """Play every missing game, commit each batch, and summarise all recorded games."""
        from vzgym.eval.summary import summarise

        saved = self.store.read_manifest() if self.store and self.config.resume else None
        roles = list(saved["roles"]) if saved and "roles" in saved else self._probe_roles()
        seatings = make_seatings(roles)
        n_seeds = math.ceil(self.config.games / len(seatings))
        manifest = self._manifest(roles, seatings)
        if self.store is not None:
            self.store.check_resumable(manifest)
            self.store.write_manifest(manifest)
            dropped = self.store.drop_orphan_shards()
            if dropped:
                self.log(f"dropped {len(dropped)} trajectory shard(s) of an unfinished batch")
        done = self.store.latest() if self.store is not None else {}
        seeds = [self.config.first_seed + k for k in range(n_seeds)]
        records = [r for r in done.values() if int(r["seed"]) in set(seeds)]
        skipped = {key for key, r in done.items() if r["status"] == "ok"}
        for index, seating in enumerate(seatings):
            todo = [s for s in seeds if (s, seating.label) not in skipped]
            for batch in _batches(todo, self.config.batch):
                new = self._play(seating, index, len(seatings), batch)
                if self.store is not None:
                    self.store.commit(new)
                keys = {(r["seed"], r["seating"]) for r in new}
                records = [r for r in records if (r["seed"], r["seating"]) not in keys] + new
                self.log(f"{seating.label}: {len(new)} game(s) played")
        summary = summarise(records, self.facts, manifest, seatings)
        if self.store is not None:
            self.store.write_summary(summary)
        return EvalResult(summary, records)

    def _play(
        self, seating: Seating, index: int, n_seatings: int, seeds: list[int]
    ) -> list[dict[str, Any]]:
        """Play consecutive ``seeds`` in ``seating``; one record per game (never raises)."""
        from vzgym.eval.records import episode_record, failed_record

        cfg = self.config
        first = self.config.first_seed
        sampling = SamplingParams(**cfg.sampling.__dict__)
        if sampling.seed is not None:
            sampling.seed = sampling.seed + 1_000_003 * (seeds[0] - first) + 7919 * index
        rollout = RolloutConfig(
            cfg.env_id, dict(self.env_kwargs), games=len(seeds), group=1, seed=seeds[0],
            sampling=sampling,
        )  # fmt: skip
        seats = {
            side: SeatPolicy(f"{side}:{self.labels[side]}", self.policies[side], trainable=False)
            for side in ("A", "B")
        }
        writer = None
        before: set[str] = set()
        if self.store is not None:
            from vzgym.rollout.writer import TrajectoryWriter

            writer = TrajectoryWriter(self.store.root, shard_rows=10**9)
            before = {p.name for p in writer.traj_dir.glob("part-*.parquet")}
        runner = _EvalRunner(
            rollout, policy_map(seating, seats["A"], seats["B"]), writer,
            episode_id=lambda seed: (seed - first) * n_seatings + index,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            summary, episodes = runner.run()
        except Exception as exc:  # noqa: BLE001 - a crashed batch is counted, not fatal
            reason = f"crashed {type(exc).__name__}: {exc}"[:300]
            self.log(f"{seating.label}: batch of {len(seeds)} game(s) failed: {reason}")
            return [failed_record(seed, seating, reason) for seed in seeds]
        shards: list[str] = []
        if writer is not None:
            shards = sorted({p.name for p in writer.traj_dir.glob("part-*.parquet")} - before)
        share = (time.perf_counter() - started) / max(len(episodes), 1)
        model_share = summary.model_seconds / max(len(episodes), 1)
        return [
            episode_record(ep, seating, self.facts, shards, share, model_share) for ep in episodes
        ]


def _batches(seeds: list[int], size: int) -> list[list[int]]:
    """Split seeds into runs of consecutive seeds of at most ``size``."""
    out: list[list[int]] = []
    for seed in seeds:
        if out and seed == out[-1][-1] + 1 and len(out[-1]) < size:
            out[-1].append(seed)
        else:
            out.append([seed])
    return out


def run_eval(config: EvalConfig, log: Callable[[str], None] | None = None) -> EvalResult:
    """Evaluate ``config.policy`` against ``config.vs``; see :class:`Evaluation`."""
    return Evaluation(config, log).run()
