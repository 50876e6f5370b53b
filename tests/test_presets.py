"""Presets: one source of truth (vzgym/presets.py) shared with docs/fidelity.md."""

import re
import sys
from pathlib import Path

import pytest

from vzgym.presets import PRESETS, flatten, nest, preset_values

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[1] / "docs" / "fidelity.md"
PRESET_COLUMNS = ("vision-zero", "vision-zero-code", "mm-zero")


def _settings_table():
    """{setting: {column: cell}} from the first table of docs/fidelity.md."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| rule | setting |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(header), f"row has {len(cells)} cells: {line}"
        row = dict(zip(header, cells))
        key = re.fullmatch(r"`([^`]+)`", row["setting"])
        assert key, f"setting cell is not one `key`: {row['setting']}"
        assert key.group(1) not in rows, f"duplicate row {key.group(1)}"
        rows[key.group(1)] = row
    return rows


def _literal(cell):
    match = re.fullmatch(r"`([^`]*)`", cell)
    assert match, f"preset cell must be one TOML literal in backticks or —, got {cell!r}"
    return tomllib.loads(f"x = {match.group(1)}")["x"]


def test_every_preset_column_matches_presets_module():
    rows = _settings_table()
    for name in PRESET_COLUMNS:
        values = PRESETS[name]
        missing = sorted(set(values) - set(rows))
        assert not missing, f"preset {name}: no row in docs/fidelity.md for {missing}"
        for key, row in rows.items():
            cell = row[name]
            if key not in values:
                assert cell == "—", f"{name}: {key} is not in the preset, the doc says {cell}"
                continue
            assert _literal(cell) == values[key], f"{name}: {key} doc {cell} != {values[key]!r}"


def test_default_column_matches_the_config_defaults():
    from vzgym.config import RunConfig

    defaults = flatten(
        {
            "env": {"id": RunConfig().env.id},
            "sampling": vars(RunConfig().sampling),
            "trainer": {k: v for k, v in vars(RunConfig().trainer).items()},
        }
    )
    for key, row in _settings_table().items():
        if key in defaults:
            value = defaults[key]
            cell = row["default"].split(" ")[0]
            assert _literal(cell) == (list(value) if isinstance(value, tuple) else value), key


def test_nest_and_flatten_round_trip_and_unknown_preset():
    flat = preset_values("vision-zero")
    assert flatten(nest(flat)) == flat
    assert nest({"a.b": 1, "a.c": [1, 2]}) == {"a": {"b": 1, "c": [1, 2]}}
    with pytest.raises(ValueError, match="Known: mm-zero, vision-zero, vision-zero-code"):
        preset_values("vision-one")


def test_paper_values_pinned():
    vz, code, mz = (PRESETS[n] for n in PRESET_COLUMNS)
    # Vision-Zero paper vs its code
    assert vz["env.options.num_players"] == 5 and code["env.options.num_players"] == 4
    assert vz["env.options.num_objects"] == [4, 6]
    assert vz["trainer.kl_coef"] == 0.04 and vz["trainer.clip_high"] == 0.2
    assert vz["trainer.loss_agg"] == "seq-mean-token-mean"
    assert vz["env.options.invalid_clue_penalty"] == 0.0  # zero-sum clue rewards
    assert vz["trainer.advantage_options.rae.order"] == "paper"
    assert code["env.options.decision"] == "observer" and code["trainer.group_size"] == 1
    assert code["env.options.observer_samples"] == 8 and code["trainer.phase"] == "fixed-cycle:1"
    # MM-Zero (EasyR1)
    assert mz["trainer.kl_coef"] == 0.01 and mz["trainer.dual_clip"] == 3.0
    assert (mz["trainer.clip_low"], mz["trainer.clip_high"]) == (0.2, 0.3)
    assert mz["trainer.steps"] == 20 and mz["trainer.optimizer_steps"] == 2


def test_preset_under_file_and_overrides_and_marks(tmp_path):
    from vzgym.config import ConfigError, load_config, to_toml
    from vzgym.presets import mark_preset_lines

    path = tmp_path / "run.toml"
    path.write_text('preset = "vision-zero-code"\n[trainer]\nlr = 3e-5\n')
    config = load_config(path, ["env.options.num_players=6"])
    assert config.preset == "vision-zero-code"
    assert config.trainer.lr == 3e-5 and config.env.options["num_players"] == 6  # user wins
    assert config.trainer.kl_coef == 0.04 and config.env.options["observer_samples"] == 8
    assert "trainer.lr" not in config.preset_keys and "trainer.kl_coef" in config.preset_keys
    text = mark_preset_lines(to_toml(config), config.preset_keys)
    assert "kl_coef = 0.04  # preset" in text and "lr = 3e-05\n" in text
    assert "num_players = 6\n" in text and "observer_samples = 8  # preset" in text
    # the written config reads back to the same config (every value is written out)
    again = tmp_path / "again.toml"
    again.write_text(to_toml(config))
    assert load_config(again) == config
    # the CLI's --preset wins over the file's; unknown presets are clean errors
    assert load_config(path, preset="mm-zero").trainer.dual_clip == 3.0
    with pytest.raises(ConfigError, match="Unknown preset 'vz'"):
        load_config(None, preset="vz")


def test_observer_design_is_accepted_with_its_samples_as_the_group(tmp_path):
    from vzgym.agents.scripted import ScriptedSpyPolicy
    from vzgym.config import ConfigError, load_config
    from vzgym.rollout import PolicyMap, RolloutConfig, SeatPolicy, read_trajectories, run_rollouts
    from vzgym.trainers.advantages import AdvSample, _group_indices

    config = load_config(None, preset="vision-zero-code")
    assert config.trainer.group_size == 1 and config.env.options["decision"] == "observer"
    # civilians voting with group_size 1 still has no group: refused as before
    with pytest.raises(ConfigError, match="group_size"):
        load_config(None, ["trainer.group_size=1"])
    options = {"decision": "observer", "observer_samples": 8, "num_objects": 4}
    run_rollouts(
        RolloutConfig("spy-clevr", options, games=2, group=1),
        PolicyMap(SeatPolicy("s", ScriptedSpyPolicy())),
        str(tmp_path),
    )
    rows = [r for r in read_trajectories(tmp_path).to_pylist() if r["phase"] == "decision"]
    groups = _group_indices([AdvSample.from_row(r) for r in rows])
    assert sorted(len(g) for g in groups.values()) == [8, 8]  # one 8-sample group per game


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["train", "--env", "spy-clevr", "--preset", "vision-zero"], "vision-zero"),
        (["train", "--env", "spy-clevr", "--preset", "vision-zero-code"], "vision-zero-code"),
        (["selfplay", "mm-zero", "--preset", "mm-zero"], "mm-zero"),
    ],
)
def test_print_config_shows_every_preset_value_marked(args, name):
    from click.testing import CliRunner

    from vzgym.cli import cli

    result = CliRunner().invoke(cli, [*args, "--print-config"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith(f'preset = "{name}"\n')
    data = tomllib.loads(text)
    flat = flatten({k: v for k, v in data.items() if k != "preset"})
    for key, value in PRESETS[name].items():
        if key == "env.id":
            continue  # set by --env / the command, so not marked
        assert flat[key] == value, key
        leaf = key.rsplit(".", 1)[1]
        assert any(
            line.split("=")[0].strip().strip('"') in (leaf, key.split(".")[-2])
            and line.endswith("# preset")
            for line in text.splitlines()
        ), key
    result = CliRunner().invoke(cli, [*args[:-1], "nope", "--print-config"])
    assert result.exit_code != 0 and "Unknown preset 'nope'" in result.output
