"""`vzgym plot` draws generic panels, the panels the run's game declares, and the rest."""

import json

from vzgym.core.facts import GameFacts, PlotPanel, Stage, StageSwitch, Stat
from vzgym.plot import panels_for, plot_run, run_env_id


def _run(tmp_path, env_id, rows):
    (tmp_path / "config.toml").write_text(f'[env]\nid = "{env_id}"\n')
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


ROWS = [
    {"step": 0, "phase": "ask", "reward_mean": 0.1, "game/hits": 0.5, "game/extra": 2.0},
    {"step": 1, "phase": "tell", "reward_mean": 0.2, "game/hits": 0.7, "game/extra": 3.0},
]


def test_declared_panels_and_stage_panel_from_facts():
    facts = GameFacts(
        stages=(Stage("ask"), Stage("tell")),
        stats=(Stat("hits", "rate", "share of hits"), Stat("misses", "rate")),
        switch=StageSwitch("hits", "misses", solve_stage="ask", harden_stage="tell"),
        plots=(PlotPanel("hits.png", "Hits", ("game/hits",)),),
    )
    rows = [dict(r) for r in ROWS]
    panels = {p.file: p for p in panels_for(facts, rows)}
    assert panels["phase.png"].title == "Iterative-SPO stage (1 = tell, 0 = ask)"
    assert [r["stage_is_harden"] for r in rows] == [0.0, 1.0]
    assert panels["hits.png"].keys == ("game/hits",)
    assert panels["game.png"].keys == ("game/extra",)  # undeclared stats are still drawn


def test_spy_run_gets_its_declared_panel(tmp_path):
    run = _run(tmp_path, "spy-clevr", [{"step": 0, "phase": "decision", "game/na_rate": 0.0}])
    assert run_env_id(run) == "spy-clevr"
    names = sorted(p.name for p in plot_run(run))
    assert names == ["phase.png", "spy_game.png"]


def test_a_run_of_a_missing_plugin_still_plots(tmp_path):
    run = _run(tmp_path, "gone-game", ROWS)
    names = sorted(p.name for p in plot_run(run))
    # no facts: the stage pair comes from the logged phases; stats land in the catch-all panel
    assert names == ["game.png", "phase.png", "train_reward.png"]
    (tmp_path / "config.toml").write_text("not toml [")
    assert run_env_id(tmp_path) is None
    assert "game.png" in {p.name for p in plot_run(tmp_path)}
