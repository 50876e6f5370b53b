"""vzgym eval: Wilson intervals, seatings, outcome-only results, self-match, resume, bad input."""

import json
import shutil

import pytest

from vzgym.agents.base import Policy, SamplingParams
from vzgym.agents.scripted import ScriptedSpyPolicy
from vzgym.core.facts import Outcome
from vzgym.eval import EVAL_SEED_BASE, EvalConfig, run_eval, wilson_interval
from vzgym.eval.seating import episode_result, make_seatings, paired_result, side_score
from vzgym.eval.specs import resolve_model_dir
from vzgym.eval.store import EvalStore
from vzgym.rollout.writer import read_trajectories


# -- pure parts, hand-computed ------------------------------------------------------
def test_wilson_interval_hand_computed():
    # 5/10: p = .5, centre = .5, half = 1.96*sqrt(.025 + .009604)/1.38416 = .26341
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.23659, abs=1e-4) and high == pytest.approx(0.76341, abs=1e-4)
    # 0/10: upper = 3.8416/10 / 1.38416 = .27755
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27755), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    # a draw counts half: 2 wins + 1 draw of 4 = 2.5/4
    assert wilson_interval(2.5, 4)[0] < 0.625 < wilson_interval(2.5, 4)[1]


def test_seatings_balance_every_role():
    for roles in (["civilian", "spy"], ["a", "b", "c"], ["solver"], [""]):
        seatings = make_seatings(roles)
        for role in set(roles):
            as_a = sum(s.policy_of_role(role) == "A" for s in seatings)
            as_b = sum(s.policy_of_role(role) == "B" for s in seatings)
            assert as_a == as_b >= 1, (roles, role)
    assert [s.label for s in make_seatings(["spy", "civilian"])] == [
        "A=civilian B=spy",
        "A=spy B=civilian",
    ]
    assert [s.label for s in make_seatings(["solver"])] == ["A=all", "B=all"]
    assert len(make_seatings(["a", "b", "c"])) == 6


def test_results_come_from_the_declared_outcome():
    spy_wins = Outcome(
        teams={"spy": ["player_2"], "civilians": ["player_1", "player_3"]},
        scores={"spy": 1.0, "civilians": 0.0},
        roles={"spy": "spy", "civilians": "civilian"},
    )
    a_spy, a_civ = make_seatings(["civilian", "spy"])[1], make_seatings(["civilian", "spy"])[0]
    assert episode_result(spy_wins, a_spy) == 1.0
    assert episode_result(spy_wins, a_civ) == 0.0
    tie = Outcome(teams=spy_wins.teams, scores={"spy": 1.0, "civilians": 1.0}, roles=spy_wins.roles)
    assert episode_result(tie, a_spy) == 0.5
    # each agent its own team, one role: no within-game result, a paired score instead
    solo = Outcome(
        teams={"solver_1": ["solver_1"], "solver_2": ["solver_2"]},
        scores={"solver_1": 1.0, "solver_2": 0.0},
        roles={"solver_1": "solver", "solver_2": "solver"},
    )
    a_all, b_all = make_seatings(["solver"])
    assert episode_result(solo, a_all) is None
    assert side_score(solo, a_all, "A") == 0.5 and side_score(solo, a_all, "B") is None
    assert side_score(solo, b_all, "B") == 0.5
    assert paired_result(0.75, 0.5) == 1.0 and paired_result(0.5, 0.5) == 0.5


# -- real games ----------------------------------------------------------------------
def _cfg(out, **kw):
    base = dict(games=8, batch=4, sampling=SamplingParams(max_new_tokens=24, seed=0))
    base.update(kw)
    return EvalConfig(
        "spy-clevr",
        kw.pop("policy", "scripted"),
        kw.pop("vs", "scripted"),
        out_dir=out,
        **{k: v for k, v in base.items() if k not in ("policy", "vs")},
    )


def test_seat_swap_balance_and_outputs(tmp_path):
    out = tmp_path / "ev"
    result = run_eval(_cfg(out))
    s = result.summary
    assert s["games_recorded"] == 8 and s["games_failed"] == 0
    assert s["first_seed"] == EVAL_SEED_BASE  # held out by default
    # every seed played once per seating, and the spy seat is A's in one and B's in the other
    seeds = {r["seed"] for r in result.records}
    assert len(seeds) == 4
    for seed in seeds:
        assert sorted(r["seating"] for r in result.records if r["seed"] == seed) == [
            "A=civilian B=spy",
            "A=spy B=civilian",
        ]
    rows = read_trajectories(out).to_pylist()
    spy_policy = {}
    for row in rows:
        if row["role"] == "spy":
            spy_policy.setdefault(row["seed"], set()).add(row["policy"].split(":")[0])
    assert spy_policy == {seed: {"A", "B"} for seed in seeds}
    assert s["by_role"]["spy"]["games"] == s["by_role"]["civilian"]["games"] == 4
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["a_vs_b"] == s["a_vs_b"]
    from vzgym.envs.spy.game import SPY_FACTS

    assert set(s["game_stats"]) == {stat.key for stat in SPY_FACTS.stats}  # all declared, no more


def test_identical_policies_come_out_at_half(tmp_path):
    s = run_eval(_cfg(tmp_path / "s", games=16)).summary["a_vs_b"]
    assert s["games"] == 16 and s["ci_low"] <= 0.5 <= s["ci_high"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from vzgym.agents.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_eval") / "model")


def test_tiny_self_match_is_half_within_the_interval(tmp_path, tiny_dir):
    spec = f"hf:{tiny_dir}"
    result = run_eval(_cfg(tmp_path / "t", policy=spec, vs=spec, games=16, batch=8))
    s = result.summary
    assert s["games_failed"] == 0 and s["tokens"]["A"] > 0 and s["tokens"]["B"] > 0
    assert s["a_vs_b"]["ci_low"] <= 0.5 <= s["a_vs_b"]["ci_high"]


class Interrupting(Policy):
    """The scripted bot, but the whole process is 'killed' at call ``stop_at``."""

    def __init__(self, stop_at):
        self.inner, self.calls, self.stop_at = ScriptedSpyPolicy(), 0, stop_at

    def generate(self, observations, sampling=None):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt  # not an Exception: it ends the eval like a kill
        return self.inner.generate(observations, sampling)


def test_resume_plays_only_missing_games(tmp_path):
    out = tmp_path / "r"
    cfg = _cfg(out, policy=Interrupting(stop_at=12), games=8, batch=2, labels=("s", "scripted"))
    with pytest.raises(KeyboardInterrupt):
        run_eval(cfg)
    store = EvalStore(out)
    before = store.records()
    assert 0 < len(before) < 8
    # an orphan shard (crash between the shard and its records) is dropped on resume
    shards = sorted((out / "trajectories").glob("part-*.parquet"))
    shutil.copy(shards[0], out / "trajectories" / "part-00099.parquet")
    played = []
    cfg2 = _cfg(out, policy=ScriptedSpyPolicy(), games=8, batch=2, resume=True,
                labels=("s", "scripted"))  # fmt: skip
    result = run_eval(cfg2, log=played.append)
    assert result.summary["games_recorded"] == 8
    assert sum(int(m.split(": ")[1].split()[0]) for m in played if "played" in m) == 8 - len(before)
    assert not (out / "trajectories" / "part-00099.parquet").exists()
    rows = read_trajectories(out).to_pylist()
    turns = [(r["episode_id"], r["turn"], r["agent"]) for r in rows]
    assert len(turns) == len(set(turns))  # nothing written twice
    assert {r["episode_id"] for r in rows} == set(range(8))
    # a changed setting is refused
    with pytest.raises(ValueError, match="other settings"):
        run_eval(_cfg(out, policy=ScriptedSpyPolicy(), labels=("s", "scripted"), resume=True,
                      first_seed=5))  # fmt: skip
    # without --resume an existing eval is never mixed into
    with pytest.raises(ValueError, match="already holds"):
        run_eval(_cfg(out))


class Crashing(Policy):
    """The scripted bot, raising on one call (a server that died mid-eval)."""

    def __init__(self, crash_at):
        self.inner, self.calls, self.crash_at = ScriptedSpyPolicy(), 0, crash_at

    def generate(self, observations, sampling=None):
        self.calls += 1
        if self.calls == self.crash_at:
            raise RuntimeError("connection reset")
        return self.inner.generate(observations, sampling)


def test_a_crashed_policy_call_is_a_counted_failure(tmp_path):
    out = tmp_path / "c"
    result = run_eval(_cfg(out, policy=Crashing(crash_at=3), labels=("c", "scripted")))
    s = result.summary
    assert s["games_recorded"] == 8 and 0 < s["games_failed"] < 8
    assert set(s["failures"]) == {"policy_crashed"}
    assert s["a_vs_b"]["games"] == 8 - s["games_failed"]
    # resume retries the failed games only
    again = run_eval(_cfg(out, policy=ScriptedSpyPolicy(), labels=("c", "scripted"), resume=True))
    assert again.summary["games_failed"] == 0 and again.summary["games_recorded"] == 8


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="(?i)unknown policy"):
        run_eval(_cfg(None, policy="nosuch"))
    with pytest.raises(ValueError, match="no model, run or checkpoint"):
        run_eval(_cfg(None, policy=str(tmp_path / "runs" / "nope")))
    with pytest.raises(ValueError, match="games must be >= 1"):
        run_eval(_cfg(None, games=0))
    with pytest.raises(ValueError, match="declares no outcome"):
        run_eval(EvalConfig("toy-color", "scripted", "scripted", games=2))


def test_run_and_checkpoint_dirs_resolve(tmp_path, tiny_dir):
    run = tmp_path / "run"
    for step in (2, 4):
        ckpt = run / "checkpoints" / f"step_{step:06d}"
        shutil.copytree(tiny_dir, ckpt / "model")
        (ckpt / "trainer_state.pt").write_bytes(b"x")
    assert resolve_model_dir(str(run)).step == 4  # newest checkpoint
    assert resolve_model_dir(str(run / "checkpoints" / "step_000002")).path.parent.name == (
        "step_000002"
    )
    shutil.copytree(tiny_dir, run / "final")
    (run / "config.toml").write_text('[trainer]\nsteps = 4\n[policy]\nmodel = "tiny"\n')
    got = resolve_model_dir(f"hf:{run}")
    assert got.path == run / "final" and got.step == 4
    assert resolve_model_dir("tiny") is None and resolve_model_dir("scripted") is None
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    with pytest.raises(ValueError, match="no complete checkpoint"):
        resolve_model_dir(str(empty))


def test_cli_eval_prints_win_rate_and_one_line_errors(vzgym_cli, tmp_path):
    proc = vzgym_cli("eval", "--env", "spy-clevr", "--policy", "scripted", "--vs", "scripted",
                     "--games", "4", "--out", str(tmp_path / "o"))  # fmt: skip
    assert "win rate of A: 0.500  95% CI [" in proc.stdout
    assert (tmp_path / "o" / "summary.json").exists()
    for args in (["--policy", "nosuch"], ["--games", "0"], ["--policy", "runs/missing"]):
        full = ["eval", "--env", "spy-clevr", "--policy", "scripted", "--vs", "scripted", *args]
        bad = vzgym_cli(*full, check=False)
        assert bad.returncode != 0 and "Traceback" not in bad.stderr
        assert bad.stderr.strip().startswith("Error:") and len(bad.stderr.strip().splitlines()) == 1
