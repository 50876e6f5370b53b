import pytest

import vzgym
from vzgym.agents.scripted import ScriptedSpyPolicy
from vzgym.envs.spy.game import PairSample
from vzgym.envs.spy.prompts import NO_VALID_CLUE


@pytest.fixture(scope="module")
def pair():
    env = vzgym.make("spy-clevr")
    env.reset(seed=123)
    return env._pair


def play(env, actions_for, seed=0, pair=None):
    obs, _ = env.reset(seed=seed, options={"pair": pair} if pair else None)
    seen = []
    step = 0
    while obs:
        seen.append(obs)
        obs, rewards, terms, truncs, infos = env.step(
            {a: actions_for(a, o, step) for a, o in obs.items()}
        )
        step += 1
    return seen, rewards, terms, infos


def test_turn_order_and_stages(pair):
    env = vzgym.make("spy-clevr", num_players=4, clue_rounds=2)
    seen, rewards, terms, infos = play(
        env, lambda a, o, s: f"thought {s} \\boxed{{clue {s}}}", pair=pair
    )
    # 2 rounds x 4 speakers, one at a time, then one decision step
    order = [list(o) for o in seen]
    assert order[:8] == [["player_1"], ["player_2"], ["player_3"], ["player_4"]] * 2
    spy = infos["player_1"]["game"]["spy_seat"]
    assert sorted(order[8]) == sorted(f"player_{k}" for k in range(1, 5) if k != spy)
    assert all(terms.values()) and env.agents == []
    assert set(rewards) == set(env.possible_agents)


def test_observation_shows_own_reasoning_only_and_public_log(pair):
    env = vzgym.make("spy-clevr", num_players=3, clue_rounds=2)
    obs, _ = env.reset(seed=5, options={"pair": pair})
    texts = {}
    step = 0
    while obs:
        for agent, ob in obs.items():
            texts.setdefault(agent, []).append(ob.text())
        obs, *_ = env.step({a: f"secret-{a}-{step} \\boxed{{public-{a}-{step}}}" for a in obs})
        step += 1
    # player_1 speaks at steps 0 and 3; at step 3 it sees its own secret of step 0
    second_turn = texts["player_1"][1]
    assert "secret-player_1-0" in second_turn
    assert "secret-player_2-1" not in second_turn and "secret-player_3-2" not in second_turn
    assert "public-player_2-1" in second_turn and "public-player_3-2" in second_turn
    assert "Round 1:" in second_turn


def test_invalid_clue_is_shown_and_penalised(pair):
    env = vzgym.make("spy-clevr", num_players=3, clue_rounds=1, invalid_clue_penalty=0.5)

    def act(agent, ob, step):
        if ob.phase == "decision":
            return "\\boxed{N/A}"
        return "no box here" if agent == "player_1" else "\\boxed{fine}"

    seen, rewards, _, infos = play(env, act, pair=pair)
    assert NO_VALID_CLUE in seen[1]["player_2"].text()
    # all votes N/A: zero-sum clue rewards are 0, so player_1 only has the penalty
    assert infos["player_1"]["reward_clue"] == pytest.approx(-0.5)
    assert infos["player_2"]["reward_clue"] == pytest.approx(0.0)
    assert infos["player_1"]["game"]["clues"][0]["error"] == "no_box"


def test_votes_and_rewards_end_to_end(pair):
    env = vzgym.make("spy-clevr", num_players=4, clue_rounds=1)
    spy_holder = {}

    def act(agent, ob, step):
        if ob.phase == "decision":
            spy = env.spy_seat
            spy_holder["spy"] = spy
            return f"\\boxed{{{spy}}}" if agent != "player_1" or spy == 1 else "\\boxed{N/A}"
        return "\\boxed{x}"

    _, rewards, _, infos = play(env, act, seed=3, pair=pair)
    spy = spy_holder["spy"]
    game = infos[f"player_{spy}"]["game"]
    voters = [a for a in game["votes"]]
    assert len(voters) == 3 and f"player_{spy}" not in voters
    for agent in voters:
        expected = -0.5 if (agent == "player_1" and spy != 1) else 1.0
        assert infos[agent]["reward_decision"] == expected
        assert rewards[agent] == pytest.approx(infos[agent]["reward_clue"] + expected)
    assert sum(infos[a]["reward_clue"] for a in env.possible_agents) == pytest.approx(0.0)
    assert infos[f"player_{spy}"]["reward_clue"] < 0
    assert game["spy_found"] is True
    assert game["vote_accuracy"] == pytest.approx(1.0 if spy == 1 else 2 / 3)
    assert len(game["changes"]) == 2


def test_observer_mode_judges_vote(pair):
    env = vzgym.make(
        "spy-clevr", num_players=4, clue_rounds=1, decision="observer", observer_samples=3
    )
    seen, rewards, _, infos = play(
        env, lambda a, o, s: "\\boxed{1}" if o.phase == "decision" else "\\boxed{c}", pair=pair
    )
    assert sorted(seen[-1]) == ["judge_1", "judge_2", "judge_3"]
    judge_obs = seen[-1]["judge_1"]
    assert judge_obs.role == "judge"
    assert judge_obs.images()[0] is pair.original
    assert "Player 4: c" in judge_obs.text()
    assert infos["judge_1"]["reward_clue"] == 0.0
    assert infos["judge_1"]["game"]["votes_per_seat"][1] == 3


def test_spy_views(pair):
    for view in ("edited", "blank", "identical"):
        env = vzgym.make("spy-clevr", spy_view=view, num_players=3, clue_rounds=1)
        obs, _ = env.reset(seed=0, options={"pair": pair})
        spy = env.spy_seat
        image = env._image_of(spy)
        if view == "edited":
            assert image is pair.modified
        elif view == "identical":
            assert image is pair.original
            assert env.answer is None
        else:
            assert image.getextrema() == ((128, 128), (128, 128), (128, 128))


def test_noise_game_rewards_na(pair):
    env = vzgym.make("spy-clevr", spy_view="identical", num_players=3, clue_rounds=1)
    _, _, _, infos = play(
        env, lambda a, o, s: "\\boxed{N/A}" if o.phase == "decision" else "\\boxed{c}", pair=pair
    )
    voters = infos["player_1"]["game"]["votes"]
    assert all(infos[a]["reward_decision"] == 1.0 for a in voters)


def test_roles_hidden_when_not_revealed(pair):
    env = vzgym.make("spy-clevr", reveal_roles=False)
    obs, _ = env.reset(seed=0, options={"pair": pair})
    ob = obs["player_1"]
    assert ob.role == "player"
    assert "SPY" not in ob.text() and "NOT the spy" not in ob.text()


def test_same_seed_same_episode_including_image_bytes():
    a, b = vzgym.make("spy-clevr"), vzgym.make("spy-clevr")
    oa, _ = a.reset(seed=42)
    ob, _ = b.reset(seed=42)
    assert a.spy_seat == b.spy_seat
    assert oa["player_1"].images()[0].tobytes() == ob["player_1"].images()[0].tobytes()
    assert a._pair.modified.tobytes() == b._pair.modified.tobytes()
    oc, _ = b.reset(seed=43)
    assert oc["player_1"].images()[0].tobytes() != oa["player_1"].images()[0].tobytes()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_players": 2},
        {"clue_rounds": 0},
        {"spy_view": "mirror"},
        {"decision": "everyone"},
        {"decision_reward": "x"},
        {"edit_kind": "teleport"},
    ],
)
def test_bad_options_are_clear_errors(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        vzgym.make("spy-clevr", **kwargs)


def test_bad_actions_are_clear_errors(pair):
    env = vzgym.make("spy-clevr")
    with pytest.raises(RuntimeError):
        env.step({"player_1": "x"})
    env.reset(seed=0, options={"pair": pair})
    with pytest.raises(ValueError, match="pending"):
        env.step({"player_2": "x"})
    with pytest.raises(TypeError):
        env.step({"player_1": 3})
    env.step({"player_1": b"\xff\xfe bytes \\boxed{ok}"})  # bytes are decoded, never crash


def test_scripted_bots_play_and_civilians_catch_a_blank_spy():
    env = vzgym.make("spy-clevr", spy_view="blank")
    bot = ScriptedSpyPolicy()
    found = 0
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        while obs:
            obs, rewards, _, _, infos = env.step({a: bot.act(o) for a, o in obs.items()})
        found += infos["player_1"]["game"]["spy_found"]
    assert found >= 3  # a spy who sees nothing can only be vague, and gets caught


def test_pair_option_type_checked():
    env = vzgym.make("spy-clevr")
    with pytest.raises(TypeError):
        env.reset(seed=0, options={"pair": "not a pair"})
    assert isinstance(PairSample, type)


def test_failed_reset_leaves_no_playable_episode(pair):
    env = vzgym.make("spy-clevr")
    obs, _ = env.reset(seed=0)
    env.step({a: "\\boxed{a cube}" for a in obs})
    spy, before = env.spy_seat, env._pair

    def broken():
        raise ValueError("no pair today")

    env.sample_pair = broken
    with pytest.raises(ValueError, match="no pair today"):
        env.reset(seed=4)
    assert env.pending_agents == [] and (env.spy_seat, env._pair) == (spy, before)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({"player_2": "x"})


def test_a_plugin_can_swap_the_decision_reward(pair):
    from vzgym.plugins.hookspecs import hookimpl
    from vzgym.plugins.manager import get_plugin_manager

    class Generous:
        @hookimpl
        def register_rewards(self, register):
            register("spy", "decision", lambda *, correct, na, valid, scheme="paper": 7.0)

    pm = get_plugin_manager()
    plugin = Generous()
    pm.register(plugin, name="generous-test")
    try:
        env = vzgym.make("spy-clevr", num_players=3, clue_rounds=1)
        obs, _ = env.reset(seed=0, options={"pair": pair})
        while obs:
            obs, _, _, _, infos = env.step({a: "\\boxed{1}" for a in obs})
        voters = infos["player_1"]["game"]["votes"]
        assert all(infos[a]["reward_decision"] == 7.0 for a in voters)
    finally:
        pm.unregister(plugin)
    env = vzgym.make("spy-clevr", num_players=3, clue_rounds=1)
    assert env._decision_reward.__name__ == "decision_reward"
