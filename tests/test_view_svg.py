"""The SVG world's view (vzgym/envs/svg/view.py) on real scripted rollouts, in Chromium."""

from __future__ import annotations

import pytest
from conftest import run_vzgym
from test_view import browser, open_report, wait_images  # noqa: F401 (a fixture)
from test_view import page as page  # noqa: F401 (a fixture)

from vzgym.view.report import build_report

SVG_VIEW = "vzgym.envs.svg.view:svg_view"


@pytest.fixture(scope="module")
def codegen_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("svg") / "codegen"
    run_vzgym("rollout", "--env", "svg-codegen", "--policy", "scripted", "--games", "1",
              "--group", "2", "--out", str(out), "--no-progress", timeout=300)  # fmt: skip
    return out


def test_codegen_turns_show_proposal_svg_render_and_scores(codegen_dir, page):
    stats = build_report(codegen_dir, views={"svg-codegen": SVG_VIEW})
    assert stats.problems == [] and stats.images >= 1
    open_report(page, codegen_dir / "view.html")
    card = page.locator("section.game").first
    text = card.inner_text()
    for words in ("proposal (given)", "caption", "hard question", "render:", "solvability",
                  "consistency"):  # fmt: skip
        assert words in text, words
    source = card.locator("details", has_text="SVG source").first
    assert not source.evaluate("d => d.open")  # collapsed
    assert "<svg" in source.locator("pre").text_content()
    images = wait_images(page)
    assert images and all(i["w"] > 0 for i in images)  # the rendered PNGs
    assert card.locator("figcaption", has_text="rendered PNG").count() >= 1


def test_invalid_codegen_output_is_marked_invalid(codegen_dir, tmp_path):
    import json

    import pyarrow.parquet as pq

    from vzgym.rollout.writer import TrajectoryWriter

    rows = pq.read_table(next((codegen_dir / "trajectories").glob("*.parquet"))).to_pylist()
    row = dict(rows[0])
    info = json.loads(row["info"])
    info.update(render_status="not_svg", rendered_image=None, svg_source="none")
    row["info"] = json.dumps(info)
    row["completion"] = "no code here"
    with TrajectoryWriter(tmp_path / "bad") as writer:
        writer.add([row])
    build_report(tmp_path / "bad", views={"svg-codegen": SVG_VIEW})
    html = (tmp_path / "bad" / "view.html").read_text()
    assert '"invalid","not_svg"' in html


def test_solve_turns_show_image_question_answer_and_silver_label(tmp_path, page):
    out = tmp_path / "solve"
    run_vzgym("rollout", "--env", "svg-solve", "--policy", "scripted", "--games", "1",
              "--group", "2", "--out", str(out), "--no-progress", timeout=300)  # fmt: skip
    stats = build_report(out, views={"svg-solve": SVG_VIEW})
    assert stats.problems == []
    open_report(page, out / "view.html")
    text = page.locator("section.game").first.inner_text()
    for words in ("question", "solver answer", "silver label", "correct"):
        assert words in text, words
    images = wait_images(page)
    assert images and all(i["w"] > 0 for i in images)  # the PNG the solver saw
