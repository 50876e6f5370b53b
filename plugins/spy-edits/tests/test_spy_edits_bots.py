"""The scripted spy-edits bots: they read only their own image and the public clues."""

import copy
import warnings

import numpy as np
import pytest
import vzgym
from PIL import Image
from spy_edits_helpers import IMAGES, run_cli
from vzgym.envs.base import Observation, text_message
from vzgym.envs.spy.prompts import NO_VALID_CLUE

from vzgym_spy_edits.bots import (
    CLUE_RE,
    COLOURS,
    COLS,
    ROWS,
    EditsSpyBot,
    clue_lies,
    colour_names,
    describe_cells,
)
from vzgym_spy_edits.folder import ImageFolderWarning


def halves():
    """Left half pure red, right half pure blue, a white bar across the top right cell."""
    image = np.zeros((80, 80, 3), np.uint8)
    image[:, :40] = (255, 0, 0)
    image[:, 40:] = (0, 0, 255)
    image[:20, 60:] = (255, 255, 255)
    image[20:22, 60:] = (255, 255, 255)
    return image


def test_colour_names_of_plain_colours():
    pixels = np.array(
        [[(0, 0, 0), (255, 255, 255), (128, 128, 128), (255, 0, 0), (0, 200, 0), (0, 0, 255)]],
        np.uint8,
    )
    names = [COLOURS[i] for i in colour_names(pixels)[0]]
    assert names == ["black", "white", "gray", "red", "green", "blue"]


def test_clue_lies_hand_computed():
    cells = describe_cells(halves())
    whole = np.mean(list(cells.values()), axis=0)
    assert cells[(0, 0)][COLOURS.index("red")] == 1.0
    # top-right cell: rows 0..19 all white, no blue at all (white covers it)
    assert cells[(0, 3)][COLOURS.index("white")] == 1.0
    cases = {
        "top left: mostly red": 0,
        "top left: mostly blue": 1,
        "bottom right: mostly blue, some red": 1,
        "top left: mostly blue, some green": 2,
        "upper middle right: mostly blue, some white": 0,  # 2 of 20 rows white = 10%
        "a purple cat sits there": 1,
        "something red and blue": 0,
        "no colours named": 0,
        NO_VALID_CLUE: 1,
    }
    for clue, lies in cases.items():
        assert clue_lies(clue, cells, whole) == lies, clue


def play(env, bots, seed, scrub_private=False):
    obs, _ = env.reset(seed=seed)
    texts = []
    while obs:
        views = list(obs.values())
        if scrub_private:
            views = [copy.copy(o) for o in views]
            for o in views:
                o.private = {}
        outs = bots.generate(views)
        actions = {a: out[0].text for a, out in zip(obs, outs)}
        texts.append(actions)
        obs, _, _, _, infos = env.step(actions)
    return texts, next(iter(infos.values()))["game"]


@pytest.fixture(scope="module")
def env():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageFolderWarning)
        yield vzgym.make("spy-edits", folder=str(IMAGES))


def test_bots_never_read_private_fields(env):
    bots = EditsSpyBot()
    for seed in range(6):
        assert play(env, bots, seed) == play(env, bots, seed, scrub_private=True)


def test_bots_find_the_spy_sometimes_and_never_accuse_a_civilian(env):
    bots = EditsSpyBot()
    found = 0
    for seed in range(40):
        _, game = play(env, bots, seed)
        found += game["spy_found"]
        for vote in game["votes"].values():
            assert vote in ("N/A", game["spy_seat"])  # civilians share one image: no false lies
    assert found >= 2  # measured: 14 of 100 seeds with the default spy


def test_a_cautious_spy_is_harder_to_find(env):
    def found(bots):
        return sum(play(env, bots, s)[1]["spy_found"] for s in range(40))

    assert found(EditsSpyBot(spy_caution=1.0)) < found(EditsSpyBot(spy_caution=0.0))


def test_a_voter_names_the_player_whose_clue_is_false_in_its_image():
    image = Image.fromarray(halves())
    log = [
        [(1, "top left: mostly red"), (2, "top left: mostly green"), (3, "bottom left: mostly red")]
    ]
    obs = Observation(
        "player_4",
        "civilian",
        "decision",
        0,
        [text_message("user", image, "vote")],
        extra={"seat": 4, "clue_log": log},
    )
    assert EditsSpyBot().vote(obs).endswith("\\boxed{2}")
    log[0][1] = (2, "top left: mostly red")
    assert EditsSpyBot().vote(obs).endswith("\\boxed{N/A}")


def test_spy_clue_avoids_cells_where_the_clues_disagree():
    image = Image.fromarray(halves())
    log = [[(1, "top centre-left: mostly green")]]  # false here: the spy's image differs there
    obs = Observation(
        "player_2",
        "spy",
        "clue",
        1,
        [text_message("user", image, "clue")],
        extra={"seat": 2, "clue_log": log},
    )
    risky = {(r, c) for r in (0, 1) for c in (0, 1, 2)}  # the disputed cell and its neighbours
    for seed in range(10):
        text = EditsSpyBot(seed=seed, spy_caution=seed % 2).clue(obs)
        match = CLUE_RE.search(text)
        assert match, text
        cell = (ROWS.index(match.group(1)), COLS.index(match.group(2)))
        assert cell not in risky, text


def test_play_bots_only_from_the_cli():
    proc = run_cli(
        "play",
        "--env",
        "spy-edits",
        "-o",
        f"folder={IMAGES}",
        "--bots-only",
        "--seed",
        "3",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Game over" in proc.stdout and "change: {'kind':" in proc.stdout
