"""``vzgym view`` in a real Chromium (Debian's, driven by Playwright; no browser download)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import VZGYM, run_vzgym
from PIL import Image

from vzgym.rollout.writer import TrajectoryWriter
from vzgym.view.api import Markup, esc, tag
from vzgym.view.report import build_report

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = (
    'I think <script>window.__pwned = 1</script></textarea><img src=x onerror="window.__pwned=2">'
    " \\boxed{<b>bold</b> & </pre>}"
)
ODD = "e\u0301\u202etxet\u202c 😀 \u0000nul \ud800 ﷽ 𝔘𝔫𝔦"


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make sysdeps installs it)")
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    yield pg
    pg.close()


def open_report(page, path: Path) -> None:
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    page.wait_for_load_state("load")


def wait_images(page) -> list[dict]:
    """Scroll every image into view (they are lazy) and return their load state."""
    page.evaluate(
        "async () => { for (const img of document.querySelectorAll('img')) {"
        " img.loading = 'eager'; img.scrollIntoView();"
        " if (!img.complete) await new Promise(r => { img.onload = r; img.onerror = r; }); } }"
    )
    return page.evaluate(
        "() => [...document.querySelectorAll('img')].map(i => ({src: i.src,"
        " w: i.naturalWidth, complete: i.complete}))"
    )


def visible_turn_rows(page) -> list[list[str]]:
    """Cells of the turn rows on screen: turn, agent, role, phase, tokens, finish, reward,
    adv, status, policy, completion, then the row's turn id."""
    return page.evaluate(
        "() => [...document.querySelectorAll('#cards tr.turn')]"
        ".filter(r => r.offsetParent !== null)"
        ".map(r => [...r.children].map(c => c.innerText).concat([r.dataset.turn]))"
    )


# -- a real 2-step training run -------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("viewrun") / "run"
    run_vzgym(
        "train", "--env", "spy-clevr", "--steps", "2", "--run-dir", str(out),
        "--set", "logging.progress=false", "--set", "trainer.games_per_step=2",
        "--set", "trainer.group_size=2", timeout=600,
    )  # fmt: skip
    return out


def test_report_of_a_real_training_run(run_dir, page, tmp_path):
    proc = run_vzgym("view", str(run_dir))
    report = run_dir / "view.html"
    assert f"wrote {report}" in proc.stdout
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://127.0.0.1", "") and "https://" not in html
    # the trainer recorded the advantages of every sample it trained on
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for step, m in enumerate(metrics):
        adv = json.loads((run_dir / f"rollouts/step_{step:06d}/advantages.json").read_text())
        assert len(adv["rows"]) == m["samples"] > 0

    open_report(page, report)
    assert page.errors == []
    summary = page.inner_text("#summary")
    assert "2 step(s)" in summary and "8 games" in summary
    images = wait_images(page)
    assert len(images) >= 4
    assert all(i["w"] > 0 for i in images), images
    # both images of a game side by side, the change log's boxes drawn on both
    first = page.locator("section.game").first
    assert first.locator("figure.pic img").count() == 2
    assert first.locator(".frame").nth(0).locator("span.box").count() == 2
    assert first.locator(".frame").nth(1).locator("span.box").count() == 2
    assert "spy: player" in first.inner_text()
    assert first.locator("details.reasoning").count() >= 8  # private reasoning, collapsed
    assert not first.locator("details.reasoning").first.evaluate("d => d.open")

    # filters change the visible rows
    all_rows = visible_turn_rows(page)
    # every turn shows its token counts (prompt -> completion) and finish reason
    assert all_rows and all(re.fullmatch(r"\d+ → \d+", r[4]) for r in all_rows)
    assert all(r[5] in ("stop", "length") for r in all_rows)
    page.select_option("#f-role", "spy")
    spy_rows = visible_turn_rows(page)
    assert 0 < len(spy_rows) < len(all_rows)
    assert {r[2] for r in spy_rows} == {"spy"}
    page.select_option("#f-role", "")
    page.select_option("#f-phase", "decision")
    rows = visible_turn_rows(page)
    assert rows and {r[3] for r in rows} == {"decision"}
    page.select_option("#f-phase", "")
    page.select_option("#f-step", "1")
    assert "step 1" in page.locator("section.game h2").first.inner_text()
    page.select_option("#f-step", "")
    rewards = page.evaluate(
        "() => JSON.parse(document.getElementById('vz-data').textContent)"
        ".turns.map(t => t[8]).filter(r => r !== null)"
    )
    best, worst = max(rewards), min(rewards)
    page.fill("#f-rmin", str(best))
    page.wait_for_timeout(400)
    rows = visible_turn_rows(page)
    assert rows and all(float(r[6]) == best for r in rows)
    page.fill("#f-rmin", str(best + 0.01))
    page.wait_for_timeout(400)
    assert visible_turn_rows(page) == []
    assert "Nothing matches" in page.inner_text("#cards")
    page.fill("#f-rmin", "")
    page.fill("#f-rmax", str(worst))
    page.wait_for_timeout(400)
    rows = visible_turn_rows(page)
    assert rows and all(float(r[6]) == worst for r in rows)
    page.click("#f-reset")
    page.wait_for_timeout(300)
    assert len(visible_turn_rows(page)) == len(all_rows)
    # status filter: only that status
    statuses = {r[8] for r in all_rows}
    status = sorted(statuses)[0].split(":")[0]
    page.select_option("#f-status", status)
    rows = visible_turn_rows(page)
    assert rows and all(r[8].startswith(status) for r in rows)
    page.click("#f-reset")
    page.wait_for_timeout(300)
    # search: a completion's own text finds its turn (and fewer turns than all)
    source = max(all_rows, key=lambda r: len(r[10]))
    needle = source[10].strip()[:12]
    page.fill("#f-q", needle)
    page.wait_for_timeout(400)
    found = visible_turn_rows(page)
    assert source[-1] in {r[-1] for r in found} and len(found) < len(all_rows)
    page.click("#f-reset")
    page.wait_for_timeout(300)

    # GRPO groups: samples sorted by advantage within each phase
    page.click("button[data-tab='groups']")
    group = page.locator("section.group").first
    cells = group.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [r.children[0].innerText, r.children[1].innerText])"
    )
    assert cells
    by_phase: dict[str, list[float]] = {}
    for phase, adv in cells:
        if adv != "—":
            by_phase.setdefault(phase.split()[0], []).append(float(adv))
    assert by_phase, "no advantages shown"
    for values in by_phase.values():
        assert values == sorted(values, reverse=True)

    # a turn link jumps to its row (tokens, finish reason)
    page.click("button[data-tab='games']")
    link = page.locator("section.game a.tl").first
    target = link.get_attribute("data-turn")
    link.click()
    assert page.locator(f"#turn-{target}").evaluate("r => r.classList.contains('hl')")

    # a screenshot that is not blank: many colours, CLEVR images in it
    page.evaluate("window.scrollTo(0, 0)")
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    colours = shot.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500
    background = max(colours)[1]
    share = sum(n for n, c in colours if c != background) / (shot.width * shot.height)
    assert share > 0.3, share
    # the text a person reads is there
    body = page.inner_text("body")
    for words in ("civilians' image", "spy's image", "clues", "votes", "seats"):
        assert words in body


def test_inline_report_needs_no_files(run_dir, page, tmp_path):
    out = tmp_path / "elsewhere" / "one.html"
    run_vzgym("view", str(run_dir / "rollouts" / "step_000001"), "--out", str(out), "--inline")
    assert "data:image/png;base64" in out.read_text()
    open_report(page, out)
    images = wait_images(page)
    assert images and all(i["w"] > 0 and i["src"].startswith("data:") for i in images)
    assert "1 step(s)" in page.inner_text("#summary")


def test_report_elsewhere_references_images_relatively(run_dir, page, tmp_path):
    out = tmp_path / "reports" / "r.html"
    stats = build_report(run_dir, out)
    assert stats.images > 0
    html = out.read_text()
    assert str(run_dir) not in re.sub(r'"path":"[^"]*"', "", html)  # no absolute image paths
    open_report(page, out)
    assert all(i["w"] > 0 for i in wait_images(page))


def test_serve_prints_a_local_url_that_serves_the_report(run_dir, page):
    proc = subprocess.Popen(
        [VZGYM, "view", str(run_dir), "--serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        for _ in range(5):
            line = proc.stdout.readline()
            match = re.search(r"serving (http://127\.0\.0\.1:\d+/\S+)", line)
            if match:
                url = match.group(1)
                break
        assert url, proc.stderr.read() if proc.poll() is not None else "no URL printed"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert b"vz-data" in resp.read()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']")
        images = wait_images(page)
        assert images and all(
            i["w"] > 0 and i["src"].startswith("http://127.0.0.1") for i in images
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- hostile and broken input ---------------------------------------------------------------
def _row(**kw):
    row = {
        "env_id": "spy-clevr", "seed": 0, "group_id": 0, "episode_id": 0, "copy": 0, "turn": 0,
        "agent": "player_1", "role": "civilian", "shown_role": "civilian", "phase": "clue",
        "round": 1, "policy": "model", "trainable": True, "prompt": "[]", "images": [],
        "completion": "", "token_ids": [1, 2, 3], "logprobs": [0.0] * 3,
        "prompt_token_ids": [5] * 10, "finish_reason": "stop", "reward": 0.5,
        "episode_reward": 0.5, "episode_status": "ok", "info": "{}",
    }  # fmt: skip
    row.update(kw)
    return row


def _hostile_dir(root: Path) -> Path:
    writer = TrajectoryWriter(root)
    img = Image.new("RGB", (64, 48), (200, 40, 40))
    prompt, refs = writer.prompt_json(
        [{"role": "user", "content": [{"type": "image", "image": img},
                                       {"type": "text", "text": "Prompt " + HOSTILE}]}]
    )  # fmt: skip
    rows = [
        _row(turn=0, completion=HOSTILE, prompt=prompt, images=refs),
        _row(turn=1, agent="player_2", completion=ODD, prompt=prompt, images=refs),
        _row(env_id="plugin-game-not-installed", episode_id=1, group_id=1, completion=HOSTILE,
             prompt=prompt, images=refs, info=json.dumps({"note": HOSTILE})),
    ]  # fmt: skip
    writer.add(rows)
    writer.close()
    return root


def test_model_output_shows_as_text_and_never_runs(page, tmp_path):
    root = _hostile_dir(tmp_path / "hostile")
    stats = build_report(root)
    assert any("plugin-game-not-installed" in p for p in stats.problems)
    open_report(page, root / "view.html")
    for tab in ("games", "groups"):
        page.click(f"button[data-tab='{tab}']")
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None
        text = page.inner_text("#cards")
        assert "<script>window.__pwned = 1</script></textarea>" in text
    assert page.locator("#cards script").count() == 0
    assert page.locator("#cards img[src='x']").count() == 0
    assert page.locator("#cards b", has_text="bold").count() == 0
    page.click("button[data-tab='games']")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    text = page.inner_text("#cards")
    assert "😀" in text and "𝔘𝔫𝔦" in text and "e\u0301" in text and "\ufffd" in text
    assert page.errors == []
    assert all(i["w"] > 0 for i in wait_images(page))


def test_missing_png_shows_a_placeholder(page, tmp_path):
    root = _hostile_dir(tmp_path / "missing")
    for png in (root / "images").glob("*.png"):
        png.unlink()
    stats = build_report(root)
    assert stats.images == 0
    open_report(page, root / "view.html")
    assert page.locator("#cards .missing").count() >= 2
    assert "missing image: images/" in page.inner_text("#cards")
    assert page.errors == []


def test_truncated_png_becomes_a_placeholder_in_the_browser(page, tmp_path):
    root = _hostile_dir(tmp_path / "cut-png")
    (png,) = (root / "images").glob("*.png")
    png.write_bytes(png.read_bytes()[:40])  # header intact, pixels gone
    build_report(root)
    open_report(page, root / "view.html")
    wait_images(page)
    page.wait_for_timeout(300)
    assert page.locator("#cards .missing").count() >= 1
    assert page.locator("#cards img").count() == 0


def test_truncated_parquet_shard_is_reported_and_the_rest_shown(page, tmp_path):
    root = tmp_path / "cut"
    writer = TrajectoryWriter(root)
    writer.add([_row(episode_id=0, completion="first shard")])
    writer.flush()
    writer.add([_row(episode_id=1, group_id=1, completion="second shard")])
    writer.close()
    shards = sorted((root / "trajectories").glob("*.parquet"))
    assert len(shards) == 2
    shards[1].write_bytes(shards[1].read_bytes()[:100])
    proc = run_vzgym("view", str(root))
    assert "part-00001.parquet could not be read" in proc.stderr
    open_report(page, root / "view.html")
    assert "part-00001.parquet could not be read" in page.inner_text("#problems")
    assert "1 games" in page.inner_text("#summary")
    assert "first shard" in page.inner_text("#cards")


def test_bad_path_is_a_clean_error(tmp_path):
    proc = run_vzgym("view", str(tmp_path / "nope"), check=False)
    assert proc.returncode == 1 and "Error: " in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run_vzgym("view", str(tmp_path / "empty"), check=False)
    assert proc.returncode == 1 and "no trajectories found" in proc.stderr


def test_a_failing_game_view_falls_back_to_the_generic_view(tmp_path):
    root = _hostile_dir(tmp_path / "fallback")
    stats = build_report(root, views={"spy-clevr": "json:loads"})  # raises on the rows
    assert any("view failed on 1 episode" in p for p in stats.problems)
    assert 'class=\\"generic\\"' in (root / "view.html").read_text()


# -- the HTML helpers games use -------------------------------------------------------------
def test_tag_escapes_text_and_attributes_but_not_markup():
    out = tag("div", "<b>x</b>", Markup("<i>ok</i>"), title='"><script>', class_="a b")
    assert out == (
        '<div title="&quot;&gt;&lt;script&gt;" class="a b">&lt;b&gt;x&lt;/b&gt;<i>ok</i></div>'
    )
    assert esc(None) == "" and esc(Markup("<x>")) == "<x>" and esc("&") == "&amp;"
    with pytest.raises(ValueError):
        tag("div", onclick="x()")
    with pytest.raises(ValueError):
        tag("a b")


def test_spy_view_draws_in_place_edit_boxes_on_both_images(tmp_path):
    writer = TrajectoryWriter(tmp_path / "edits")
    refs = []
    for colour in ((200, 40, 40), (40, 200, 40)):
        _, r = writer.prompt_json([{"role": "user", "content": [
            {"type": "image", "image": Image.new("RGB", (100, 50), colour)}]}])  # fmt: skip
        refs += r
    change = {"kind": "recolor", "box": [10, 5, 30, 25], "changed_pixels": 50}
    game = {"spy_seat": 2, "votes_per_seat": {"1": 0, "2": 1}, "spy_found": True,
            "changes": [change]}  # fmt: skip
    info = json.dumps({"game": game})
    writer.add([
        _row(turn=0, agent="player_1", role="civilian", images=[refs[0]], info=info),
        _row(turn=1, agent="player_2", role="spy", images=[refs[1]], info=info),
    ])  # fmt: skip
    writer.close()
    build_report(tmp_path / "edits")
    html = json.loads(
        re.search(
            r'id="vz-data">(.*?)</script>', (tmp_path / "edits" / "view.html").read_text()
        ).group(1)
    )["episodes"][0]["html"]
    assert html.count('class="box box-red"') == 2
    assert "left:10.00%;top:10.00%;width:20.00%;height:40.00%" in html
    assert "recolor: changed_pixels=50" in html


def test_a_runs_held_out_evaluations_are_not_taken_for_unfinished_steps(tmp_path):
    from vzgym.view.load import find_sources, read_source

    run = tmp_path / "run"
    for folder in ("rollouts/step_000020", "eval/step_000020", "eval/step_000040"):
        (run / folder / "trajectories").mkdir(parents=True)
    (run / "rollouts/step_000020/DONE.json").write_text("{}")
    (run / "eval/step_000020/summary.json").write_text("{}")  # eval 40 is still running
    sources = {s.label: s for s in find_sources(run)}
    assert sorted(sources) == ["eval/step_000020", "eval/step_000040", "step 20"]
    assert sources["step 20"].step == 20 and sources["eval/step_000020"].step is None
    assert sources["eval/step_000020"].complete and not sources["eval/step_000040"].complete
    assert read_source(sources["eval/step_000040"]).problems[0] == (
        "eval/step_000040: no summary.json (it was still being written)"
    )
