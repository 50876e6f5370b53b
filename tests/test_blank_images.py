"""The vision ablation switch: BlankImagesPolicy and `vzgym eval --blank-images`."""

import json

from conftest import run_vzgym
from PIL import Image

from vzgym.agents.blank_images import GRAY, blank_observation
from vzgym.core.observation import Observation, text_message


def test_blank_observation_keeps_text_and_sizes():
    image = Image.new("RGB", (40, 30), (255, 0, 0))
    obs = Observation("p", "player", "answer", 0, [text_message("user", image, "colour?")])
    blank = blank_observation(obs)
    (img,) = blank.images()
    assert img.size == (40, 30) and img.getpixel((5, 5)) == GRAY
    assert blank.text() == obs.text() and obs.images()[0].getpixel((5, 5)) == (255, 0, 0)


def test_eval_cli_blank_images_switch(tmp_path):
    out = run_vzgym(
        "eval", "--env", "spy-clevr", "--policy", "scripted", "--vs", "scripted", "--games", "2",
        "-o", "num_players=3", "-o", "clue_rounds=1", "--blank-images", "--json", timeout=300,
    ).stdout  # fmt: skip
    summary = json.loads(out[out.index("{") :])
    assert summary["policy"] == "scripted [blank]"
