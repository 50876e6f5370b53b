"""Hostile actions against every registered env (built-in and the example plugin).

``hypothesis`` drives each env with at least 2,000 actions: arbitrary Unicode (lone
surrogates, control characters, right-to-left overrides), near-miss answer formats
(nested or unclosed ``\\boxed{``, huge numbers, ``nan``), very long texts, non-string
values and malformed action dicts.  Every step must either raise a clean
``TypeError``/``ValueError`` *before* the game changes (a valid step still works
after it) or return a well-formed result with finite float rewards — a defined
penalty, never a crash.  (Answers that make sympy hang, such as ``9^{9^{9^{9}}}``, cost
the math checker's hard timeout each; they are tested in ``test_svg_mathcheck.py``.)
"""

from __future__ import annotations

import math
import sys

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import vzgym
from vzgym.envs.base import Observation
from vzgym.registration import get_registry

pytestmark = pytest.mark.reliability

#: Plugins that live in this repository: (env id, folder, module with the hook).
REPO_PLUGINS = [
    ("odd-one-out", ROOT / "examples" / "plugin-odd-one-out", "vzgym_odd_one_out.plugin"),
    ("spy-edits", ROOT / "plugins" / "spy-edits", "vzgym_spy_edits.plugin"),
    ("spy-charts", ROOT / "plugins" / "spy-charts", "vzgym_spy_charts.plugin"),
]
#: Actions each env must take, at least.
ACTIONS_PER_ENV = 2000
#: Seeds per env: same-seed resets reuse the costly set-up (shared_reset_options).
SEEDS = 3
#: Cheap settings so that thousands of steps stay fast (the defaults are tested elsewhere).
CHEAP = {
    "spy-charts": {"width": 128, "height": 128},
    "spy-clevr": {"width": 96, "height": 64},
    "spy-edits": {"resize": 128},
    "svg-propose": {"num_proposals": 2},
    "svg-codegen": {"num_items": 2},
    "svg-solve": {"num_items": 2},
}


ENV_IDS = sorted(set(get_registry().ids()) | {env_id for env_id, _, _ in REPO_PLUGINS})


@pytest.fixture(scope="module", autouse=True)
def repo_plugins():
    """Register this repository's plugins through their own hooks when they are not
    installed; forget them afterwards (other tests see the registry as it was)."""
    import importlib

    from vzgym.registration import reset_registry

    added = False
    for env_id, folder, module in REPO_PLUGINS:
        if env_id in get_registry():
            continue  # installed: registered through its entry point
        sys.path.insert(0, str(folder))
        plugin = importlib.import_module(module)
        owner = module.split(".")[0]
        plugin.register_envs(
            lambda *a, _o=owner, **kw: get_registry().register(*a, plugin=_o, **kw)
        )
        added = True
    yield
    if added:
        reset_registry()


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    for i, (a, b) in enumerate([("red", "blue"), ("green", "yellow"), ("white", "black")]):
        Image.new("RGB", (128, 96), a).save(root / f"p{i}_original.png")
        Image.new("RGB", (128, 96), b).save(root / f"p{i}_modified.png")
    return root


def _make(env_id: str, pair_folder) -> object:
    names = get_registry().spec(env_id).option_names() or set()
    kwargs = {k: v for k, v in CHEAP.get(env_id, {}).items() if k in names}
    if "folder" in names:  # spy-pairs, spy-edits: a folder of image pairs / photos
        kwargs["folder"] = str(pair_folder)
    if "items" in names:  # svg-solve: build its items once instead of on every reset
        probe = vzgym.make(env_id, **kwargs)
        probe.reset(seed=0)
        kwargs["items"], _ = probe.build_items(kwargs.get("num_items", 2))
        probe.close()
    return vzgym.make(env_id, **kwargs)


ANY_CHAR = st.characters(codec=None, exclude_categories=())
TEMPLATES = [
    "\\boxed{{{}}}",
    "\\boxed{{{}",
    "{}}}",
    "<think>{}</think>\\boxed{{{}}}",
    "\\boxed{{\\boxed{{{}}}}}",
    "\u202e{}\u202c",
    "{}\x00\x1b[2J",
]
WORDS = [
    "",
    " ",
    "N/A",
    "1",
    "-1",
    "0",
    "99999999999999999999999",
    "1e308",
    "nan",
    "inf",
    "player_1",
    "player_99",
    "A",
    "Z",
    "red cube",
    "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "\\frac{1}{0}",
]


@st.composite
def hostile_text(draw) -> str:
    """Text a broken or adversarial model could write."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.text(ANY_CHAR, max_size=300))
    if kind == 1:
        word = draw(st.sampled_from(WORDS) | st.text(ANY_CHAR, max_size=20))
        return draw(st.sampled_from(TEMPLATES)).format(word, word)
    if kind == 2:
        return draw(st.sampled_from(["x", "\\boxed{", "{", "}", "\ud800", "é"])) * draw(
            st.sampled_from([1_000, 50_000, 250_000])
        )
    if kind == 3:
        return draw(st.sampled_from(WORDS))
    parts = draw(st.lists(st.sampled_from(WORDS) | st.text(ANY_CHAR, max_size=10), max_size=8))
    return draw(st.sampled_from(["\\boxed{{{}}}", "{}"])).format(" ".join(parts))


NOT_TEXT = st.sampled_from([None, 5, 3.5, ["a"], {"a": 1}, object(), b"\xff\xfe\\boxed{1}"])


def _check_result(env, result) -> None:
    obs, rewards, terms, truncs, infos = result
    agents = set(env.possible_agents)
    assert set(rewards) <= agents and set(terms) <= agents and set(truncs) <= agents
    for agent, value in rewards.items():
        assert isinstance(value, float) and math.isfinite(value), (agent, value)
    assert all(isinstance(v, bool) for v in [*terms.values(), *truncs.values()])
    assert all(isinstance(o, Observation) for o in obs.values())
    assert all(isinstance(i, dict) for i in infos.values())


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_hostile_actions_give_clean_errors_or_defined_penalties(env_id, pair_folder):
    env = _make(env_id, pair_folder)
    shared: dict[int, dict] = {}
    sent = {"actions": 0, "refused": 0}
    per_example = 25

    @settings(
        max_examples=ACTIONS_PER_ENV // per_example + 4,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def play(data):
        seed = data.draw(st.integers(0, SEEDS - 1))
        obs, _ = env.reset(seed=seed, options=dict(shared.get(seed, {})))
        shared.setdefault(seed, env.shared_reset_options())
        for _ in range(per_example):
            if not obs:
                obs, _ = env.reset(seed=seed, options=dict(shared[seed]))
            agents = list(obs)
            actions: object = {a: data.draw(hostile_text()) for a in agents}
            malformed = data.draw(st.integers(0, 9))
            if malformed == 0:
                actions = data.draw(st.sampled_from([None, "text", [("a", "b")], 5]))
            elif malformed == 1:
                actions.pop(agents[0])
            elif malformed == 2:
                actions["not_an_agent"] = "\\boxed{1}"
            elif malformed == 3:
                actions[agents[0]] = data.draw(NOT_TEXT)
            sent["actions"] += 1
            try:
                result = env.step(actions)
            except (TypeError, ValueError) as exc:
                assert malformed in (0, 1, 2, 3), f"a well-formed action was refused: {exc}"
                assert str(exc)
                sent["refused"] += 1
                continue  # the game did not move: the same agents still act
            _check_result(env, result)
            obs = result[0]

    play()
    assert sent["actions"] >= ACTIONS_PER_ENV
    assert 0 < sent["refused"] < sent["actions"]
