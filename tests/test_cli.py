import json
import subprocess
import sys
import time

from conftest import run_vzgym


def test_import_and_help_do_not_import_torch():
    code = (
        "import sys, time; t = time.perf_counter(); import vzgym; "
        "from vzgym.cli import cli; "
        "from click.testing import CliRunner; r = CliRunner().invoke(cli, ['--help']); "
        "assert r.exit_code == 0, r.output; "
        "print(json.dumps({'torch': 'torch' in sys.modules, "
        "'seconds': time.perf_counter() - t}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert result["torch"] is False
    assert result["seconds"] < 1.0


def test_help_command_is_fast():
    start = time.perf_counter()
    proc = run_vzgym("--help")
    assert time.perf_counter() - start < 3.0  # includes interpreter start-up
    assert "play" in proc.stdout and "envs" in proc.stdout


def test_envs_lists_builtins():
    out = run_vzgym("envs").stdout
    assert "spy-clevr" in out and "Who-Is-the-Spy" in out
    data = json.loads(run_vzgym("envs", "--json").stdout)
    assert {"spy-clevr", "spy-pairs"} <= {d["id"] for d in data}
    assert all(d["gym_id"].startswith("vzgym/") for d in data)


def test_unknown_env_in_play_is_a_clean_error():
    proc = run_vzgym("play", "--env", "spy-clvr", check=False)
    assert proc.returncode != 0
    assert "Did you mean 'spy-clevr'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_option_values_are_typed():
    import click
    import pytest

    from vzgym.cli import parse_options

    parsed = parse_options(
        ("a=False", "b=TRUE", "c=none", "d=3", "e=0.5", "f=[3, 5]", 'g="2024"', "h=red cube")
    )
    assert parsed == {
        "a": False, "b": True, "c": None, "d": 3, "e": 0.5, "f": [3, 5], "g": "2024",
        "h": "red cube",
    }  # fmt: skip
    for bad in ("x=NaN", "x=-Infinity", "x=inf"):
        with pytest.raises(click.BadParameter, match="not a usable number"):
            parse_options((bad,))


def test_rollout_bad_option_is_a_clean_error(tmp_path):
    proc = run_vzgym(
        "rollout", "--env", "spy-clevr", "--policy", "scripted", "-o", "bogus=1",
        "--out", str(tmp_path / "o"), check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "bogus" in proc.stderr
    proc = run_vzgym(
        "rollout", "--env", "spy-clevr", "--policy", "scripted", "-o", "reveal_roles=yes",
        "--out", str(tmp_path / "p"), check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "reveal_roles must be true or false" in proc.stderr


def test_train_env_option_error_leaves_no_run_dir(tmp_path, vzgym_cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    run_dir = tmp_path / "run"
    proc = vzgym_cli(
        "train",
        "--env",
        "spy-edits",
        "-o",
        f"folder={empty}",
        "--run-dir",
        str(run_dir),
        check=False,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "spy-edits: no images" in last
    assert not run_dir.exists()


def test_train_env_option_reaches_the_config(tmp_path, vzgym_cli):
    proc = vzgym_cli(
        "train",
        "--env",
        "spy-clevr",
        "-o",
        "num_players=5",
        "-o",
        "spy_view=blank",
        "--print-config",
    )
    assert "num_players = 5" in proc.stdout and 'spy_view = "blank"' in proc.stdout
