"""Scripted spy bots: no role leak in their wording, and civilians who look find the spy.

The leak check is a text-only reader: a bag-of-words naive Bayes (numpy) trained on
the clue actions of 250 games to say which seat is the spy, tested on 250 other
games.  On the real bots it must stay at chance (the 95 % interval of "picked the
spy" contains 1/4); against a bot with the old tell (a spy who sees nothing says
fixed vague phrases) the same reader must find the spy far above chance.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

import vzgym
from vzgym.core.intervals import wilson_interval
from vzgym.envs.spy.bots import CLUE_REASON, ScriptedSpyPolicy

PLAYERS = 4
OLD_VAGUE = ("there are several objects", "the objects stand on a gray floor", "the light is soft")


class LeakyOldBot(ScriptedSpyPolicy):
    """The old behaviour with ``spy_view=blank``: a spy without a scene stays vague."""

    def clue(self, obs):
        if obs.private.get("true_role") == "spy" and obs.private.get("scene") is None:
            vague = OLD_VAGUE[int(self._rng(obs).integers(len(OLD_VAGUE)))]
            return f"I cannot tell what differs, so I stay vague.\n\\boxed{{{vague}}}"
        return super().clue(obs)


def _play(bot, spy_view: str, seeds: range) -> list[tuple[dict[int, str], int, dict]]:
    """Per game: seat -> all its clue actions joined, the spy seat, the game info."""
    env = vzgym.make("spy-clevr", spy_view=spy_view, num_players=PLAYERS)
    games = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        said: dict[int, list[str]] = {s: [] for s in range(1, PLAYERS + 1)}
        while obs:
            actions = {a: bot.act(o) for a, o in obs.items()}
            for a, o in obs.items():
                if o.phase == "clue":
                    said[o.extra["seat"]].append(actions[a])
            obs, _, _, _, infos = env.step(actions)
        games.append(({s: " ".join(t) for s, t in said.items()}, env.spy_seat, infos))
    return games


def _words(text: str) -> list[str]:
    toks = re.findall(r"[a-z0-9]+", text.lower())
    return toks + [f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False)]


def _spy_pick_rate(games: list) -> tuple[int, int]:
    """Train naive Bayes (spy vs civilian seat) on the first half; count test games where
    the seat it finds most spy-like is the spy."""
    half = len(games) // 2
    counts = {True: Counter(), False: Counter()}
    for seats, spy, _ in games[:half]:
        for seat, text in seats.items():
            counts[seat == spy].update(_words(text))
    vocab = set(counts[True]) | set(counts[False])
    totals = {k: sum(c.values()) + len(vocab) for k, c in counts.items()}

    def log_odds(text: str) -> float:
        return sum(
            np.log((counts[True][w] + 1) / totals[True])
            - np.log((counts[False][w] + 1) / totals[False])
            for w in _words(text)
            if w in vocab
        )

    hits = 0
    for seats, spy, _ in games[half:]:
        scores = {s: log_odds(t) for s, t in seats.items()}
        hits += max(scores, key=lambda s: (scores[s], -s)) == spy
    return hits, len(games) - half


@pytest.mark.parametrize("spy_view", ["edited", "blank"])
def test_text_only_reader_cannot_tell_the_spy(spy_view):
    games = _play(ScriptedSpyPolicy(), spy_view, range(500))
    hits, n = _spy_pick_rate(games)
    lo, hi = wilson_interval(hits, n)
    assert lo <= 1 / PLAYERS <= hi, f"{spy_view}: reader picks the spy {hits}/{n} [{lo}, {hi}]"


def test_the_same_reader_catches_the_old_tell():
    games = _play(LeakyOldBot(), "blank", range(500))
    hits, n = _spy_pick_rate(games)
    lo, _ = wilson_interval(hits, n)
    assert lo > 0.8, f"reader finds the old vague spy only {hits}/{n}"


def test_every_role_speaks_alike_and_tells_the_truth_about_its_image():
    env = vzgym.make("spy-clevr", spy_view="edited")
    bot = ScriptedSpyPolicy()
    from vzgym.envs.clevr import scene_facts

    obs, _ = env.reset(seed=3)
    while obs and next(iter(obs.values())).phase == "clue":
        ((agent, o),) = obs.items()
        text = bot.act(o)
        assert text.startswith(CLUE_REASON)
        clue = text.split("\\boxed{")[1].rstrip("}")
        assert clue in scene_facts(o.private["scene"])  # own image, spy included
        obs, *_ = env.step({agent: text})


def test_voters_use_only_their_own_scene():
    env = vzgym.make("spy-clevr", spy_view="edited")
    bot = ScriptedSpyPolicy()
    obs, _ = env.reset(seed=5)
    while obs and next(iter(obs.values())).phase == "clue":
        obs, *_ = env.step({a: bot.act(o) for a, o in obs.items()})
    voter = next(iter(obs.values()))
    stripped = type(voter)(
        **{**voter.__dict__, "private": {k: voter.private[k] for k in ("scene", "public_log")}}
    )
    assert bot.act(stripped) == bot.act(voter)  # no role, no other scene needed


def test_civilians_find_an_edited_spy_often():
    games = _play(ScriptedSpyPolicy(), "edited", range(10_000, 10_200))
    found = sum(info["player_1"]["game"]["spy_found"] for _, _, info in games)
    lo, _ = wilson_interval(found, len(games))
    assert lo > 0.5, f"civilians found the spy in {found}/{len(games)} games"


def test_blank_spy_imagines_a_scene_and_is_caught():
    games = _play(ScriptedSpyPolicy(), "blank", range(40))
    assert sum(info["player_1"]["game"]["spy_found"] for _, _, info in games) >= 36


def test_the_game_reports_clue_truth_and_invalid_clues():
    env = vzgym.make("spy-clevr", num_players=3, clue_rounds=1)
    bot = ScriptedSpyPolicy()
    obs, _ = env.reset(seed=2)
    while obs:
        obs, _, _, _, infos = env.step({a: bot.act(o) for a, o in obs.items()})
    game = infos["player_1"]["game"]
    assert game["civilian_clue_true_rate"] == 1.0 and game["invalid_clue_rate"] == 0.0
    obs, _ = env.reset(seed=2)
    pink = "\\boxed{there is a pink elephant}"
    said = [pink, "no box at all", pink]
    for text in said:
        obs, _, _, _, infos = env.step({a: text for a in obs})
    obs, _, _, _, infos = env.step({a: "\\boxed{N/A}" for a in obs})
    game = infos["player_1"]["game"]
    assert game["invalid_clue_rate"] == pytest.approx(1 / 3)
    assert game["civilian_clue_true_rate"] == 0.0 and game["spy_clue_true_rate"] == 0.0


def test_kinds_option_restricts_every_role_to_one_fact_kind():
    from vzgym.agents.spec import make_policy
    from vzgym.envs.clevr import fact_kind

    bot = make_policy("scripted:kinds=object", env_id="spy-clevr")
    assert bot.kinds == ("object",)
    env = vzgym.make("spy-clevr", num_objects=1, num_changes=1, clue_rounds=1, zoom=4)
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        while obs and next(iter(obs.values())).phase == "clue":
            ((agent, o),) = obs.items()
            text = bot.act(o)
            clue = text.split("\\boxed{")[1].rstrip("}")
            (only,) = o.private["scene"].objects  # the clue is a function of the own image
            assert fact_kind(clue) == "object" and clue == f"there is a {only.color} {only.shape}"
            obs, *_ = env.step({agent: text})
        votes = [bot.act(o) for o in obs.values()]
        obs, _, _, _, infos = env.step(dict(zip(obs, votes, strict=True)))
        assert infos["player_1"]["game"]["vote_accuracy"] == 1.0  # the spy's clue is false


def test_bot_options_are_checked():
    from vzgym.agents.spec import bot_options, make_policy

    assert bot_options("kinds=object|count,seed=3") == {"kinds": "object|count", "seed": 3}
    assert make_policy("scripted:seed=3", env_id="spy-clevr").seed == 3
    with pytest.raises(ValueError, match="KEY=VALUE"):
        bot_options("kinds")
    with pytest.raises(ValueError, match="does not take these options"):
        make_policy("scripted:colour=red", env_id="spy-clevr")
    with pytest.raises(ValueError, match="kinds must be"):
        ScriptedSpyPolicy(kinds="colour")


def test_verdict_votes_judge_every_other_seat_then_name_the_false_one():
    bot = ScriptedSpyPolicy(kinds="object", votes="verdicts")
    env = vzgym.make("spy-clevr", num_objects=1, num_changes=1, clue_rounds=1, zoom=4)
    obs, _ = env.reset(seed=2)
    while obs and next(iter(obs.values())).phase == "clue":
        obs, *_ = env.step({a: bot.act(o) for a, o in obs.items()})
    spy = env.spy_seat
    for o in obs.values():
        me = o.extra["seat"]
        others = [s for s in range(1, 5) if s != me]
        verdicts = " ".join(f"Player {s}: {'false' if s == spy else 'true'}." for s in others)
        assert bot.act(o) == f"{verdicts}\n\\boxed{{{spy}}}"
    restate = ScriptedSpyPolicy(kinds="object", votes="restate")
    voter = next(iter(obs.values()))
    clues = {seat: clue for rnd in voter.private["public_log"] for seat, clue in rnd}
    me = voter.extra["seat"]
    lines = " ".join(
        f"Player {s} said {clues[s]}: {'false' if s == spy else 'true'}."
        for s in range(1, 5) if s != me
    )  # fmt: skip
    assert restate.act(voter) == f"{lines}\n\\boxed{{{spy}}}"
    brief = ScriptedSpyPolicy(kinds="object").act(next(iter(obs.values())))
    assert brief.endswith(f"\\boxed{{{spy}}}") and "true." not in brief
    with pytest.raises(ValueError, match="votes must be"):
        ScriptedSpyPolicy(votes="long")
