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
