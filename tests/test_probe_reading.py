"""benchmarks/probe_clue_reading.py: teacher-forced word scores of clues and votes."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_learning import EASY  # noqa: E402
from probe_clue_reading import probe, probe_votes  # noqa: E402

WARM = f"hf:{ROOT / 'models' / 'tiny-spy-clevr'}"
SEED = 5_123_000  # games no imitation run, benchmark or other test uses


def test_the_clue_probe_scores_every_teacher_clue_word():
    out = probe(WARM, EASY, games=2, seed=SEED)
    # 4 clues per game, one spy: 2 spy clues and 6 civilian clues, colour and shape each
    assert sum(len(v) for k, v in out.items() if k[2] == "colour") == 8
    assert sum(len(v) for k, v in out.items() if k[0] == "spy" and k[2] == "shape") == 2
    assert all(lp <= 0.0 for rows in out.values() for lp, _ in rows)
    # the warm start reads the first speaker's shape from the image (models/README.md)
    first = [lp for lp, _ in out[("civilian", "first", "shape")] + out[("spy", "first", "shape")]]
    assert len(first) == 2 and min(first) > -0.7


def test_the_vote_probe_scores_restated_words_with_the_image_real_and_blanked():
    out = probe_votes(WARM, EASY, games=2, seed=SEED)
    for view in ("real", "blanked"):
        # 3 civilian voters per game, each judging 3 seats, one of them the spy
        assert len(out[(view, "spy", "verdict")]) == 6
        assert len(out[(view, "civilian", "colour")]) == 12
    # the warm start copies the spy's colour from the clue log, its own image real or
    # blanked: the word the one-head warm start could not copy (models/README.md)
    for view in ("real", "blanked"):
        spy_colour = [lp for lp, _ in out[(view, "spy", "colour")]]
        assert sum(spy_colour) / len(spy_colour) > -0.7
