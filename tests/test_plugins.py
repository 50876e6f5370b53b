"""Plugin loading with real entry points (dist-info folders on PYTHONPATH) in subprocesses."""

import textwrap

from conftest import run_vzgym


def make_dist(root, name, module_source, module_name):
    """Create an importable module plus a dist-info advertising a `vzgym` entry point."""
    (root / f"{module_name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[vzgym]\n{module_name} = {module_name}\n")


GOOD = """
from vzgym.plugins import hookimpl

@hookimpl
def register_envs(register):
    register("good-game", "vzgym.envs.spy.clevr_env:SpyClevrEnv", description="A good one.")
"""

BROKEN_IMPORT = "raise RuntimeError('boom at import')\n"

BROKEN_HOOK = """
from vzgym.plugins import hookimpl

@hookimpl
def register_envs(register):
    raise ValueError('boom in hook')
"""


def test_plugins_load_fail_softly_and_can_be_limited(tmp_path):
    make_dist(tmp_path, "good-plugin", GOOD, "good_plugin_mod")
    make_dist(tmp_path, "broken-import", BROKEN_IMPORT, "broken_import_mod")
    make_dist(tmp_path, "broken-hook", BROKEN_HOOK, "broken_hook_mod")
    env = {"PYTHONPATH": str(tmp_path)}

    out = run_vzgym("envs", env=env)
    assert "good-game" in out.stdout and "spy-clevr" in out.stdout
    assert "boom at import" in out.stderr and "boom in hook" in out.stderr

    plugins = run_vzgym("plugins", env=env)
    assert "good_plugin_mod  1.2.3  hooks: register_envs" in plugins.stdout
    assert "FAILED broken_import_mod at import" in plugins.stderr

    only_good = run_vzgym("envs", env={**env, "VZGYM_LOAD_PLUGINS": "good-plugin"})
    assert "good-game" in only_good.stdout and "boom" not in only_good.stderr

    none = run_vzgym("envs", env={**env, "VZGYM_LOAD_PLUGINS": ""})
    assert "good-game" not in none.stdout and "spy-clevr" in none.stdout

    builtin = run_vzgym("plugins", "--all", env={**env, "VZGYM_LOAD_PLUGINS": ""})
    assert "vzgym.plugins.builtin_envs  built-in  hooks: register_envs" in builtin.stdout


SHADOW = """
from vzgym.plugins import hookimpl

@hookimpl
def register_envs(register):
    register("spy-clevr", "vzgym.envs.toy:ToyColorEnv", description="my shadowing spy")
    register("my-game", "vzgym.envs.toy:ToyColorEnv", description="mine")
"""

EXITER = "import sys\nsys.exit('vzgym: error: unrecognized arguments')\n"


def test_plugin_cannot_shadow_builtins_nor_exit_the_cli(tmp_path):
    make_dist(tmp_path, "Shadow-Plugin", SHADOW, "shadow_mod")
    make_dist(tmp_path, "exiter", EXITER, "exiter_mod")
    env = {"PYTHONPATH": str(tmp_path)}
    out = run_vzgym("envs", env=env)
    listed = out.stdout
    # every built-in survives and keeps its own spec; the plugin's other env registers
    for env_id in ("spy-clevr", "spy-pairs", "svg-propose", "svg-codegen", "svg-solve"):
        assert env_id in listed
    assert "my-game" in listed and "my shadowing spy" not in listed
    assert "already registered by plugin" in out.stderr and "shadow_mod" in out.stderr
    assert "SystemExit" in out.stderr  # the exiting plugin is a recorded failure
    # VZGYM_LOAD_PLUGINS names compare PEP 503 style
    only = run_vzgym("envs", env={**env, "VZGYM_LOAD_PLUGINS": "shadow_plugin"})
    assert "my-game" in only.stdout and "SystemExit" not in only.stderr
