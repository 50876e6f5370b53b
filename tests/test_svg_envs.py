"""The three SVG question world envs with scripted bots and the real sandboxed renderer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from vzgym.agents.base import Completion, Policy, SamplingParams
from vzgym.agents.scripted_svg import (
    ScriptedCodegen,
    ScriptedProposer,
    ScriptedSolver,
    chart_proposal,
    chart_svg,
    parse_chart_caption,
)
from vzgym.envs.base import Observation, ObservationSpace
from vzgym.envs.svg import (
    Proposal,
    SolveItem,
    SVGCodegenEnv,
    SVGProposeEnv,
    SVGSolveEnv,
    aggregate_metrics,
    parse_proposal,
)
from vzgym.render import SVGRenderer
from vzgym.rollout.seating import PolicyCall
from vzgym.utils import check_env
from vzgym.utils.env_checker import _fingerprint

JUNK = ["", "   ", "<caption>x</caption>", "\ud800 junk \udfff", "```svg\n<svg", "x" * 100_000]


@pytest.fixture(scope="module")
def renderer() -> Iterator[SVGRenderer]:
    with SVGRenderer(workers=2) as r:
        yield r


class Exploding(Policy):
    """A policy whose backend is down."""

    name = "exploding"

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        raise RuntimeError("server down")


def _snapshot(obs: dict[str, Observation]) -> list[Any]:
    """Everything an observation holds, with images as raw bytes."""
    out = []
    for agent, o in sorted(obs.items()):
        images = [(im.mode, im.size, im.tobytes()) for im in o.images()]
        extra = {k: v for k, v in o.extra.items()}
        out.append((agent, o.role, o.phase, o.text(), images, repr(extra), repr(o.private)))
    return out


def _bot_actions(obs: dict[str, Observation], bot: Policy) -> dict[str, str]:
    return {a: bot.act(o) for a, o in obs.items()}


def _check_env(make: Any, bot: Policy) -> None:
    """reset(seed) twice gives identical observations; same actions give same results."""
    env1, env2 = make(), make()
    try:
        obs1, info1 = env1.reset(seed=7)
        obs2, info2 = env2.reset(seed=7)
        assert obs1 and _snapshot(obs1) == _snapshot(obs2)
        for a, o in obs1.items():
            assert ObservationSpace().contains(o)
            assert env1.action_space(a).contains(bot.act(o))
        acts = _bot_actions(obs1, bot)
        r1, r2 = env1.step(acts), env2.step(acts)
        assert r1[0] == {} and all(r1[2].values()) and not any(r1[3].values())
        assert r1[1] == r2[1]
        assert _fingerprint(r1[4]) == _fingerprint(r2[4])  # images compared by pixels
        # the same env again with the same seed: same episode
        obs3, _ = env1.reset(seed=7)
        assert _snapshot(obs3) == _snapshot(obs1)
        assert env1.step(acts)[1] == r1[1]
        # another seed: another episode
        obs4, _ = env1.reset(seed=8)
        assert _snapshot(obs4) != _snapshot(obs1)
        # junk never raises
        env1.reset(seed=9)
        pending = env1.pending_agents
        junk = {a: JUNK[i % len(JUNK)] for i, a in enumerate(pending)}
        _, rewards, _, _, infos = env1.step(junk)
        assert set(rewards) == set(pending)
        assert all(isinstance(v, float) for v in rewards.values())
        assert "metrics" in infos[pending[0]]
        with pytest.raises(RuntimeError):
            env1.step(junk)
    finally:
        env1.close()
        env2.close()


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (SVGProposeEnv, {"num_proposals": 3}),
        (SVGCodegenEnv, {"num_items": 3}),
        (SVGSolveEnv, {"num_items": 3}),
    ],
)
def test_project_check_env(renderer: SVGRenderer, cls: Any, kwargs: dict[str, Any]) -> None:
    env = cls(renderer=renderer, **kwargs)
    check_env(env)
    env.close()


# -- scripted bots --------------------------------------------------------------


def test_scripted_bots_agree_with_parsers() -> None:
    import numpy as np

    for seed in range(20):
        text, spec = chart_proposal(np.random.default_rng(seed))
        p = parse_proposal(text).proposal
        assert p is not None
        back = parse_chart_caption(p.caption)
        assert back is not None and back["labels"] == spec["labels"]
        assert back["values"] == spec["values"] and back["kind"] == spec["kind"]
        if spec["kind"] == "pie":
            assert sum(spec["values"]) == 100
        assert chart_svg(spec).startswith("<svg")


def test_scripted_bots_use_observation_seed() -> None:
    obs = Observation("p", "proposer", "propose", 0, [], private={"seed": 5})
    a = ScriptedProposer().generate([obs, obs], SamplingParams(n=3))
    b = ScriptedProposer().generate([obs], SamplingParams(n=3))
    assert [c.text for c in a[0]] == [c.text for c in a[1]] == [c.text for c in b[0]]
    assert len({c.text for c in a[0]}) > 1  # completion k has its own stream
    solver_obs = Observation(
        "s",
        "solver",
        "solve",
        0,
        [],
        private={"seed": 1, "reference_answer": "12", "question_kind": "easy"},
    )
    answers = ScriptedSolver(easy_noise=0.0).generate([solver_obs], SamplingParams(n=5))[0]
    assert all(c.text.endswith("\\boxed{12}") for c in answers)
    noisy = ScriptedSolver(easy_noise=1.0).generate([solver_obs], SamplingParams(n=5))[0]
    assert not any(c.text.endswith("\\boxed{12}") for c in noisy)


def test_compact_codegen_style_renders_and_options_reach_the_bots(renderer: SVGRenderer) -> None:
    from vzgym.agents.spec import make_policy
    from vzgym.envs.svg.bots import compact_chart_svg
    from vzgym.envs.svg.parsing import extract_svg

    bar = {"kind": "bar", "title": "t", "labels": ["A", "B"], "values": [30, 7]}
    assert compact_chart_svg(bar).splitlines()[1:3] == [
        '<rect x="10" y="80" width="20" height="30" fill="red"/>',
        '<rect x="40" y="103" width="20" height="7" fill="blue"/>',
    ]
    pie = {"kind": "pie", "title": "t", "labels": ["A", "B"], "values": [40, 60]}
    assert '<rect x="50" y="50" width="60" height="20" fill="blue"/>' in compact_chart_svg(pie)
    line = {"kind": "line", "title": "t", "labels": ["A", "B"], "values": [10, 90]}
    assert 'points="20,100 50,20"' in compact_chart_svg(line)
    teacher = make_policy("scripted:style=compact,fail_rate=0,hard_noise=0", env_id="svg-codegen")
    codegen = teacher.bots["codegen"]
    assert (codegen.style, codegen.fail_rate) == ("compact", 0.0)
    assert teacher.bots["solve"].hard_noise == 0.0
    import numpy as np

    texts = []
    for seed in range(8):
        proposal_text, _ = chart_proposal(np.random.default_rng(seed))
        caption = parse_proposal(proposal_text).proposal.caption
        shown = {"proposal": {"caption": caption}}
        obs = Observation("c", "codegen", "codegen", 0, [], extra=shown, private={"seed": seed})
        texts.append(teacher.generate([obs])[0][0].text)
    assert all(t.startswith("```svg\n<svg") for t in texts)
    results = renderer.render_batch([extract_svg(t).code for t in texts])
    assert [r.status.value for r in results] == ["ok"] * len(texts)
    with pytest.raises(ValueError, match="style"):
        make_policy("scripted:style=fancy", env_id="svg-codegen")


# -- propose --------------------------------------------------------------------


def test_propose_env_check(renderer: SVGRenderer) -> None:
    _check_env(lambda: SVGProposeEnv(num_proposals=4, renderer=renderer), ScriptedProposer())


def test_propose_env_rewards_and_infos(renderer: SVGRenderer) -> None:
    env = SVGProposeEnv(num_proposals=4, renderer=renderer)
    obs, infos = env.reset(seed=1)
    assert list(obs) == ["proposer_0", "proposer_1", "proposer_2", "proposer_3"]
    assert len({o.extra["topic"] for o in obs.values()}) == 4  # a permutation of topics
    acts = _bot_actions(obs, ScriptedProposer())
    acts["proposer_3"] = "no tags at all"
    _, rewards, term, _, infos = env.step(acts)
    assert rewards["proposer_3"] == -1.0
    assert (
        infos["proposer_3"]["format_ok"] is False and infos["proposer_3"]["render_statuses"] == []
    )
    info = infos["proposer_0"]
    assert info["format_ok"] and len(info["render_statuses"]) == 4
    parts = info["reward_parts"]
    assert rewards["proposer_0"] == pytest.approx(
        parts["base"]
        - parts["easy_hard_penalty"]
        - parts["diversity_penalty"]
        - parts["content_type_penalty"]
    )
    m = info["metrics"]
    assert m["propose/format_ok"] == 0.75 and m["propose/count/render"] == 12
    assert 0.0 <= m["propose/difficulty"] <= 1.0 and "propose/render/ok" in m
    assert aggregate_metrics([m, m])["propose/count/render"] == 24
    env.close()


def test_propose_env_survives_failing_policies(renderer: SVGRenderer) -> None:
    env = SVGProposeEnv(num_proposals=2, codegen_call=PolicyCall(Exploding()), renderer=renderer)
    obs, _ = env.reset(seed=0)
    _, rewards, _, _, infos = env.step(_bot_actions(obs, ScriptedProposer()))
    assert infos["proposer_0"]["render_statuses"] == ["policy_error"] * 4
    assert infos["proposer_0"]["metrics"]["propose/count/codegen_errors"] == 8
    # an infrastructure failure is not a score: reward 0, flagged invalid
    assert rewards == {"proposer_0": 0.0, "proposer_1": 0.0}
    assert infos["proposer_0"]["reward_valid"] is False
    env = SVGProposeEnv(num_proposals=2, solver_call=PolicyCall(Exploding()), renderer=renderer)
    obs, _ = env.reset(seed=0)
    _, rewards, _, _, infos = env.step(_bot_actions(obs, ScriptedProposer()))
    assert infos["proposer_0"]["metrics"]["propose/count/solver_failed_images"] > 0
    assert infos["proposer_0"]["reward_parts"]["num_rendered"] == 0  # failures contribute 0
    assert rewards["proposer_0"] == 0.0 and infos["proposer_0"]["reward_valid"] is False
    env = SVGProposeEnv(num_proposals=2, renderer=BrokenRenderer())
    obs, _ = env.reset(seed=0)
    actions = _bot_actions(obs, ScriptedProposer())
    actions["proposer_1"] = "no tags at all"  # a genuine format failure stays a score
    _, rewards, _, _, infos = env.step(actions)
    assert infos["proposer_0"]["render_statuses"] == ["service_error"] * 4
    assert rewards["proposer_0"] == 0.0 and infos["proposer_0"]["reward_valid"] is False
    assert rewards["proposer_1"] == -1.0 and infos["proposer_1"]["reward_valid"] is True


# -- codegen --------------------------------------------------------------------


def test_codegen_env_check(renderer: SVGRenderer) -> None:
    _check_env(lambda: SVGCodegenEnv(num_items=3, renderer=renderer), ScriptedCodegen(0.0))


def test_codegen_env_rewards(renderer: SVGRenderer) -> None:
    env = SVGCodegenEnv(num_items=5, renderer=renderer)
    obs, _ = env.reset(seed=3)
    o = obs["codegen_0"]
    assert "Hard question:" in o.text() and "Hard answer" not in o.text()
    assert "hard_answer" not in o.extra["proposal"] and "hard_answer" in o.private["proposal"]
    acts = _bot_actions(obs, ScriptedCodegen(fail_rate=0.0))
    acts["codegen_1"] = "I refuse."
    acts["codegen_2"] = "```svg\n<svg width='10' height='10'><rect\n```"
    acts["codegen_3"] = ""
    blank = "```svg\n<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'></svg>\n```"
    acts["codegen_4"] = blank  # valid SVG, transparent image
    _, rewards, _, _, infos = env.step(acts)
    assert infos["codegen_0"]["render_status"] == "ok" and rewards["codegen_0"] > 1.0
    assert rewards["codegen_1"] == pytest.approx(-0.5)  # not SVG: -(0.1 + 0.5) floored
    assert infos["codegen_2"]["render_status"] == "render_error"
    assert rewards["codegen_2"] == pytest.approx(-0.1)
    assert rewards["codegen_3"] == pytest.approx(-0.5)  # empty
    assert infos["codegen_3"]["render_status"] == "empty"
    # a valid but blank SVG only misses the render: never below broken XML or prose
    assert infos["codegen_4"]["render_status"] == "empty"
    assert rewards["codegen_4"] == pytest.approx(-0.1)
    assert infos["codegen_0"]["metrics"]["codegen/render_success"] == 0.2
    env.close()


def test_codegen_env_fixed_pool_show_answer_and_prefilter(renderer: SVGRenderer) -> None:
    import numpy as np

    pool = [chart_proposal(np.random.default_rng(s))[0] for s in range(3)]
    env = SVGCodegenEnv(num_items=2, proposals=pool, show_hard_answer=True, renderer=renderer)
    obs, _ = env.reset(seed=0)
    assert all("Hard answer:" in o.text() for o in obs.values())
    texts = {parse_proposal(p).proposal.caption for p in pool}  # type: ignore[union-attr]
    assert {o.extra["proposal"]["caption"] for o in obs.values()} <= texts
    env = SVGCodegenEnv(
        num_items=2,
        prefilter_samples=4,
        prefilter_call=ScriptedCodegen(fail_rate=0.5),
        renderer=renderer,
    )
    obs, infos = env.reset(seed=0)
    assert "prefilter_dropped" in infos["codegen_0"]["build"]
    assert len(obs) <= 2 and all(infos[a]["active"] for a in obs)
    if obs:
        env.step(_bot_actions(obs, ScriptedCodegen(0.0)))
    with pytest.raises(ValueError):
        SVGCodegenEnv(proposals=["junk"])


def test_codegen_env_with_failing_proposer_has_no_agents(renderer: SVGRenderer) -> None:
    env = SVGCodegenEnv(num_items=2, proposer_call=PolicyCall(Exploding()), renderer=renderer)
    obs, infos = env.reset(seed=0)
    assert obs == {} and infos["codegen_0"]["active"] is False
    assert infos["codegen_0"]["build"]["policy_errors"] == 6  # 3 rounds x 2


# -- solve ----------------------------------------------------------------------


def test_solve_env_check(renderer: SVGRenderer) -> None:
    _check_env(lambda: SVGSolveEnv(num_items=3, renderer=renderer), ScriptedSolver())


def test_solve_env_items_and_rewards(renderer: SVGRenderer) -> None:
    env = SVGSolveEnv(num_items=3, renderer=renderer)
    obs, infos = env.reset(seed=2)
    assert len(obs) == 3
    o = obs["solver_0"]
    (image,) = o.images()
    assert image.mode == "RGB" and image.size == (480, 360)
    assert o.extra["png"].startswith(b"\x89PNG")
    item = env._current["solver_0"]
    assert 0.25 <= item.hard_consistency <= 0.75 and item.easy_consistency >= 0.5
    acts = {
        "solver_0": f"<think>look</think>\\boxed{{{item.label}}}",
        "solver_1": f"\\boxed{{{env._current['solver_1'].label}}}",
        "solver_2": "<think>no idea</think>",
    }
    _, rewards, _, _, infos = env.step(acts)
    assert rewards == pytest.approx({"solver_0": 1.0, "solver_1": 0.9, "solver_2": 0.0})
    assert infos["solver_0"]["correct"] and infos["solver_0"]["metrics"]["solve/accuracy"] == 2 / 3
    assert "solve_build/render_success" in infos["solver_0"]["metrics"]


def test_solve_env_fixed_items(renderer: SVGRenderer) -> None:
    png = renderer.render_batch(
        [chart_svg({"kind": "bar", "title": "t", "labels": ["a"], "values": [3]})]
    )[0].png
    assert png is not None
    items = [SolveItem(png=png, question="What is a?", label="3")]
    env = SVGSolveEnv(num_items=2, items=items, renderer=renderer)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"solver_0", "solver_1"}
    _, rewards, _, _, _ = env.step({a: "<think>.</think>\\boxed{3.0}" for a in obs})
    assert rewards == pytest.approx({"solver_0": 1.0, "solver_1": 1.0})
    with pytest.raises(ValueError):
        SVGSolveEnv(items=[])


def test_env_owns_and_closes_its_renderer() -> None:
    env = SVGCodegenEnv(
        num_items=1, proposals=[Proposal("other", "a dot", "q", "a", "q2", "b")], render_workers=1
    )
    obs, _ = env.reset(seed=0)
    _, rewards, _, _, _ = env.step(
        {
            "codegen_0": chart_svg(
                {"kind": "line", "title": "t", "labels": ["a", "b"], "values": [1, 2]}
            )
        }
    )
    handle = env._renderer
    r = handle._renderer
    assert r is not None and rewards["codegen_0"] >= 1.0
    env.close()
    assert handle._renderer is None and r.worker_pids() == []


class BrokenRenderer:
    """A renderer whose backend is down."""

    def render_batch(self, svgs: Sequence[str]) -> list[Any]:
        raise OSError("renderer crashed")


def test_renderer_failure_is_a_status_not_a_score() -> None:
    proposal = Proposal("other", "a dot", "q", "a", "q2", "b")
    env = SVGCodegenEnv(num_items=2, proposals=[proposal], renderer=BrokenRenderer())
    obs, _ = env.reset(seed=0)
    acts = {
        "codegen_0": chart_svg(
            {"kind": "pie", "title": "t", "labels": ["a", "b"], "values": [40, 60]}
        ),
        "codegen_1": "no svg",
    }
    _, rewards, _, _, infos = env.step(acts)
    assert infos["codegen_0"]["render_status"] == "service_error"
    assert rewards["codegen_0"] == 0.0 and infos["codegen_0"]["reward_valid"] is False
    # the non-SVG action never reached the renderer: a genuine format failure
    assert rewards["codegen_1"] == pytest.approx(-0.5) and infos["codegen_1"]["reward_valid"]
    assert infos["codegen_0"]["metrics"]["codegen/render/service_error"] == 0.5
    env.close()


def test_batch_size_is_one_name_and_old_names_still_work(renderer: SVGRenderer) -> None:
    for cls, old in ((SVGProposeEnv, "num_proposals"), (SVGCodegenEnv, "num_items")):
        env = cls(batch_size=3, renderer=renderer)
        assert env.batch_size == 3 and len(env.possible_agents) == 3
        with pytest.warns(DeprecationWarning, match="batch_size"):
            legacy = cls(**{old: 2}, renderer=renderer)
        assert legacy.batch_size == 2 and len(legacy.possible_agents) == 2
    assert SVGSolveEnv(batch_size=5, renderer=renderer).candidates_per_round == 10


def test_svg_envs_declare_stats_plots_and_score_each_seat(renderer: SVGRenderer) -> None:
    import vzgym

    for env_id, cls, phase, bot in (
        ("svg-propose", SVGProposeEnv, "propose", ScriptedProposer()),
        ("svg-codegen", SVGCodegenEnv, "codegen", ScriptedCodegen(0.3)),
        ("svg-solve", SVGSolveEnv, "solve", ScriptedSolver()),
    ):
        facts = vzgym.registry().spec(env_id).facts
        assert facts is cls.facts and not facts.staged
        keys = [s.key for s in facts.stats]
        assert f"{phase}/difficulty" in keys and f"{phase}/render_success" in keys
        assert facts.stat(f"{phase}/render_success").agg == "rate"
        assert any("game/*/difficulty" in p.keys for p in facts.plots)
        assert facts.view == "vzgym.envs.svg.view:svg_view"
        env = cls(batch_size=3, renderer=renderer)
        obs, _ = env.reset(seed=4)
        assert env.outcome() is None  # not finished
        _, rewards, _, _, infos = env.step(_bot_actions(obs, bot))
        game = infos[next(iter(infos))]["game"]
        metrics = infos[next(iter(infos))]["metrics"]
        assert game and all(game[k] == metrics[k] for k in game) and set(game) <= set(keys)
        assert facts.aggregate([game, game]) == pytest.approx(game)
        outcome = env.outcome()
        assert outcome is not None and dict(outcome.scores) == rewards
        assert all(list(members) == [team] for team, members in outcome.teams.items())
        assert set(outcome.roles.values()) == {env._role}
        best = max(rewards.values())
        expected = [a for a, r in rewards.items() if r == best]
        assert outcome.winners == ([] if len(expected) == len(rewards) > 1 else expected)
        env.reset(seed=5)
        assert env.outcome() is None  # a new episode forgets the last one's scores
        env.close()
    assert "propose/diversity_penalty" in [s.key for s in SVGProposeEnv.facts.stats]


def test_seats_resting_on_a_failed_role_call_have_no_score(renderer: SVGRenderer) -> None:
    env = SVGProposeEnv(batch_size=2, codegen_call=PolicyCall(Exploding()), renderer=renderer)
    obs, _ = env.reset(seed=0)
    env.step(_bot_actions(obs, ScriptedProposer()))
    assert env.outcome() is None  # every score rests on the failed codegen


def test_role_calls_failed_and_missing_samples_count_as_errors(renderer: SVGRenderer) -> None:
    def flaky(observations, n, max_new_tokens):
        """Half of each row fails, and the last observation gets no answers at all."""
        good = ScriptedCodegen(fail_rate=0.0)(observations, n, max_new_tokens)
        return [[t if k % 2 == 0 else None for k, t in enumerate(row)] for row in good[:-1]]

    env = SVGProposeEnv(batch_size=3, codegen_call=flaky, codegen_samples=2, renderer=renderer)
    obs, _ = env.reset(seed=1)
    _, _, _, _, infos = env.step(_bot_actions(obs, ScriptedProposer()))
    assert infos["proposer_0"]["render_statuses"] == ["ok", "policy_error"]
    assert infos["proposer_2"]["render_statuses"] == ["policy_error"] * 2
    assert infos["proposer_0"]["metrics"]["propose/count/codegen_errors"] == 1 + 1 + 2


def test_svg_envs_import_no_agents_and_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vzgym.envs.svg, vzgym.envs.svg.bots; "
        "bad = [m for m in sys.modules if m.startswith('vzgym.agents') or m == 'torch']; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_png_to_image_composites_on_white_and_keeps_opaque_pixels():
    import io

    from PIL import Image

    from vzgym.envs.svg.world import png_to_image

    def png(im: Image.Image) -> bytes:
        out = io.BytesIO()
        im.save(out, "PNG")
        return out.getvalue()

    rgb = Image.new("RGB", (3, 2), (10, 200, 30))
    rgb.putpixel((2, 1), (255, 0, 7))
    got = png_to_image(png(rgb))
    assert got.mode == "RGB" and got.tobytes() == rgb.tobytes()
    rgba = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    rgba.putpixel((1, 0), (0, 0, 255, 128))
    got = png_to_image(png(rgba))
    # transparent -> white; blue at alpha 128 over white: 255 * (255 - 128) / 255 = 127
    assert got.mode == "RGB" and got.getpixel((0, 0)) == (255, 255, 255)
    assert got.getpixel((1, 0)) == (127, 127, 255)
