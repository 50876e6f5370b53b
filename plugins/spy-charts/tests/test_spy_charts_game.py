"""The spy-charts game: facts, bots, declared stats and panels, env contracts."""

import warnings

import pytest
import vzgym
from vzgym.core.policy import SamplingParams
from vzgym.envs.spy.game import SPY_FACTS
from vzgym.registration import get_registry
from vzgym.utils import check_env, to_pettingzoo

from vzgym_spy_charts.bots import VAGUE_CLUES, ChartSpyBot
from vzgym_spy_charts.data import CHART_KINDS, Chart, Series
from vzgym_spy_charts.edits import EDIT_KINDS
from vzgym_spy_charts.env import CHART_FACTS, SpyChartsEnv
from vzgym_spy_charts.facts import chart_facts, common_facts, normalize_clue


def _bar(values=(10, 30, 20), cats=("A", "B", "C"), color="blue"):
    return Chart("bar", "T (X)", "Cat", "Val", cats, (Series("X", color, values),), 50)


def test_bar_facts_hand_computed():
    assert set(chart_facts(_bar())) == {
        "the title is T (X)",
        "there are 3 bars",
        "the x axis is labelled Cat",
        "the y axis is labelled Val",
        "the first category is A",
        "the second category is B",
        "the third category is C",
        "A is 10",
        "B is 30",
        "C is 20",
        "B is higher than A",
        "B is higher than C",
        "C is higher than A",
        "B is the highest",
        "A is the lowest",
        "the bars are blue",
    }


def test_ties_give_no_ordering_or_extreme():
    facts = set(chart_facts(_bar(values=(30, 30, 20))))
    assert "A is higher than B" not in facts and "B is higher than A" not in facts
    assert not any("highest" in f for f in facts)
    assert "C is the lowest" in facts


def test_multi_series_line_pie_and_scatter_facts():
    line = Chart("line", "Rain", "Month", "mm", ("Jan", "Feb"),
                 (Series("Oslo", "red", (5, 9)), Series("Rome", "teal", (7, 3))), 10)  # fmt: skip
    facts = set(chart_facts(line))
    assert {"Feb in Oslo is 9", "in Oslo, Feb is higher than Jan", "Oslo rises from Jan to Feb",
            "Rome falls from Jan to Feb", "Rome is drawn in teal", "in Rome, Jan is the highest",
            "each line has 2 points"} <= facts  # fmt: skip
    pie = Chart("pie", "P", "", "", ("A", "B", "C"), (Series("S", "blue", (10, 10, 20)),), 100,
                slice_colors=("red", "green", "gray"))  # fmt: skip
    facts = set(chart_facts(pie))
    assert {
        "the A slice is 25%",
        "the C slice is 50%",
        "the C slice is gray",
        "the C slice is larger than the A slice",
        "the largest slice is C",
    } <= facts
    assert not any("axis" in f for f in facts) and "the smallest slice is A" not in facts
    scatter = Chart("scatter", "S", "x", "y", ("P", "Q"),
                    (Series("S", "pink", (40, 10), (10, 90)),), 50, 100)  # fmt: skip
    facts = set(chart_facts(scatter))
    assert {
        "P is higher than Q",
        "Q is right of P",
        "P is the highest",
        "Q is the rightmost",
        "the points are pink",
    } <= facts


def test_common_facts_exclude_what_the_edit_changed():
    a, b = _bar(), _bar(values=(10, 45, 20))
    common = set(common_facts(a, b))
    assert "B is 30" not in common and "B is 45" not in common
    assert "B is higher than A" in common and "the title is T (X)" in common


def test_normalize_clue():
    assert normalize_clue('  "B is  30." ') == "b is 30"


def _play(env, bots, seed):
    obs, _ = env.reset(seed=seed)
    clues = []
    while obs:
        agents = list(obs)
        answers = bots.generate([obs[a] for a in agents], SamplingParams(n=1))
        for a in agents:
            if obs[a].phase == "clue":
                clues.append((obs[a].private["scene"], a, answers[agents.index(a)][0].text))
        obs, rewards, terms, _, infos = env.step(
            {a: ans[0].text for a, ans in zip(agents, answers)}
        )
    return clues, infos


@pytest.mark.parametrize("mistakes", [0.0, 1.0])
def test_bot_clues_are_true_of_their_own_chart(mistakes):
    env = SpyChartsEnv(num_players=4, clue_rounds=2)
    bots = ChartSpyBot(spy_mistake_rate=mistakes)
    n = 0
    for seed in range(12):
        clues, infos = _play(env, bots, seed)
        original, modified = env._pair.original_scene, env._pair.modified_scene
        spy = env._agent(env.spy_seat)
        for chart, agent, _ in clues:  # each speaker saw its own chart's data
            assert chart is (modified if agent == spy else original)
        for c in next(iter(infos.values()))["game"]["clues"]:  # as the game parsed them
            chart = modified if c["seat"] == env.spy_seat else original
            assert c["error"] is None
            assert normalize_clue(c["clue"]) in {normalize_clue(f) for f in chart_facts(chart)}
            if c["seat"] == env.spy_seat and mistakes == 0.0:  # careful: only common facts
                assert c["clue"] in common_facts(original, modified)
            if c["seat"] == env.spy_seat and mistakes == 1.0:  # careless: a giveaway
                assert c["clue"] not in common_facts(original, modified)
            n += 1
    assert n == 12 * 8


def test_bots_vote_from_their_chart():
    env = SpyChartsEnv(num_players=4, clue_rounds=2)
    found = 0
    for seed in range(10):
        _, infos = _play(env, ChartSpyBot(spy_mistake_rate=1.0), seed)
        found += next(iter(infos.values()))["game"]["spy_found"]
    assert found >= 8  # a spy that always gives itself away is caught
    for seed in range(5):  # a careful spy is never accused: no civilian sees a false clue
        _, infos = _play(env, ChartSpyBot(), seed)
        assert set(next(iter(infos.values()))["game"]["votes"].values()) == {"N/A"}


def test_blank_spy_stays_vague_and_is_caught():
    env = SpyChartsEnv(num_players=3, clue_rounds=1, spy_view="blank")
    clues, infos = _play(env, ChartSpyBot(), 4)
    spy = env._agent(env.spy_seat)
    said = [t for _, a, t in clues if a == spy]
    assert any(v in said[0] for v in VAGUE_CLUES)
    assert next(iter(infos.values()))["game"]["spy_found"]


def test_declared_facts_extend_the_spy_facts():
    spec = get_registry().spec("spy-charts")
    facts = spec.facts
    assert facts is CHART_FACTS and facts.stages == SPY_FACTS.stages
    assert facts.switch == SPY_FACTS.switch and facts.staged
    assert facts.advantages() == {"clue": "rae", "decision": "group_norm", "*": "group_norm"}
    assert set(SPY_FACTS.stats) <= set(facts.stats) and set(SPY_FACTS.plots) <= set(facts.plots)
    keys = {f"game/{s.key}" for s in facts.stats}
    for panel in facts.plots:
        assert set(panel.keys) <= keys, panel
    assert len(facts.plots) == len(SPY_FACTS.plots) + 2
    assert spec.plugin and spec.scripted_policy == "vzgym_spy_charts.bots:ChartSpyBot"


def test_game_info_reports_the_per_kind_stats():
    env = SpyChartsEnv(num_players=3, clue_rounds=1)
    games = []
    for seed in range(8):
        _, infos = _play(env, ChartSpyBot(spy_mistake_rate=1.0), seed)
        game = next(iter(infos.values()))["game"]
        kind, edit = game["chart_kind"], game["edit_kind"]
        assert kind in CHART_KINDS and edit in EDIT_KINDS
        assert game[f"vote_accuracy_{kind.replace('-', '_')}"] == game["vote_accuracy"]
        assert game[f"spy_found_{edit}"] == game["spy_found"]
        assert game["changes"] and game["pair_source"] == f"charts:{kind}"
        games.append(game)
    agg = CHART_FACTS.aggregate(games)
    assert agg["vote_accuracy"] == pytest.approx(sum(g["vote_accuracy"] for g in games) / 8)
    for kind in {g["chart_kind"] for g in games}:
        mine = [g["vote_accuracy"] for g in games if g["chart_kind"] == kind]
        assert agg[f"vote_accuracy_{kind.replace('-', '_')}"] == pytest.approx(
            sum(mine) / len(mine)
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"chart_kinds": "bar,radar"}, "chart_kinds"),
        ({"edit_kind": "blur"}, "edit_kind"),
        ({"num_categories": (2, 5)}, "num_categories"),
        ({"num_categories": [4, 5, 6]}, "num_categories"),
        ({"num_categories": 3, "edit_kind": "remove"}, "at least 4"),
        ({"num_changes": 0}, "num_changes"),
        ({"width": 10}, "width"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpyChartsEnv(**kwargs)


def test_options_from_the_command_line_forms():
    env = vzgym.make("spy-charts", chart_kinds="pie, line", num_categories=[4, 5], edit_kind="swap")
    obs, _ = env.reset(seed=1)
    assert env._pair.original_scene.kind in ("pie", "line")
    assert env._pair.changes[0]["kind"] == "swap"
    assert next(iter(obs.values())).images()[0].size == (480, 320)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"chart_kinds": ["pie"], "edit_kind": "recolor", "spy_view": "identical"},
     {"decision": "observer", "observer_samples": 2, "edit_kind": "remove"}],
)  # fmt: skip
def test_check_env_and_pettingzoo(kwargs):
    from pettingzoo.test import parallel_api_test, parallel_seed_test, seed_test
    from pettingzoo.utils.conversions import parallel_to_aec

    check_env(vzgym.make("spy-charts", **kwargs))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        parallel_api_test(to_pettingzoo(vzgym.make("spy-charts", **kwargs)), num_cycles=200)
    seed_test(lambda: parallel_to_aec(to_pettingzoo(vzgym.make("spy-charts", **kwargs))))
    parallel_seed_test(lambda: to_pettingzoo(vzgym.make("spy-charts", **kwargs)))


def test_same_seed_same_episode_images():
    a, b = SpyChartsEnv(), SpyChartsEnv()
    oa, _ = a.reset(seed=5)
    ob, _ = b.reset(seed=5)
    assert a.spy_seat == b.spy_seat
    assert a._pair.original.tobytes() == b._pair.original.tobytes()
    assert a._pair.modified.tobytes() == b._pair.modified.tobytes()
    shared = SpyChartsEnv()
    shared.reset(seed=5, options=a.shared_reset_options())
    assert shared._pair is a._pair and shared.spy_seat == a.spy_seat
