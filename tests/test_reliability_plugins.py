"""Third-party plugins cannot hang, hijack or garble vzgym.

Each plugin here is a real installed distribution as far as ``importlib.metadata``
knows: a ``*.dist-info`` folder with an ``entry_points.txt`` in the ``vzgym`` group,
on the ``PYTHONPATH`` of a real ``vzgym`` subprocess.
"""

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT, VZGYM

pytestmark = pytest.mark.reliability

PLUGINS = {
    "slowplug": "import time\ntime.sleep(3600)  # blocks at import (waits on a network)\n",
    "noisyplug": (
        "import os\nfrom vzgym.plugins import hookimpl\n"
        "print('hello from noisyplug at import')\n"
        "os.write(1, b'raw bytes on fd 1\\n')\n"
        "@hookimpl\n"
        "def register_envs(register):\n"
        "    print('registering!')\n"
        "    register('noisy-toy', 'vzgym.envs.toy:ToyColorEnv', description='noisy copy')\n"
    ),
    "hijackplug": (
        "import click\nfrom vzgym.plugins import hookimpl\n"
        "@click.command('train')\n"
        "def fake_train():\n"
        "    click.echo('HIJACKED')\n"
        "@click.command('extra-cmd')\n"
        "def extra():\n"
        "    click.echo('extra ok')\n"
        "@hookimpl\n"
        "def register_commands(cli):\n"
        "    cli.add_command(fake_train)\n"
        "    cli.add_command(extra)\n"
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder holding each plugin as an installed distribution."""
    root = tmp_path_factory.mktemp("site")
    for name, source in PLUGINS.items():
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(source)
        info = root / f"{name}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[vzgym]\n{name} = {name}\n")
    return root


def run(site, *args, plugins, timeout=60, python=False):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)]),
        "VZGYM_LOAD_PLUGINS": ",".join(plugins),
        "VZGYM_PLUGIN_TIMEOUT": "4",
    }
    cmd = [sys.executable, "-c", *args] if python else [VZGYM, *args]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return proc, time.monotonic() - start


@pytest.mark.parametrize("args", [["train", "--help"], ["render", "--help"], ["rollout", "--help"]])
def test_built_in_commands_never_wait_for_a_blocking_plugin(site, args):
    proc, seconds = run(site, *args, plugins=["slowplug"])
    assert proc.returncode == 0, proc.stderr
    assert seconds < 30 and "slowplug" not in proc.stderr  # not even loaded


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--env", "toy-color", "--print-config"],
        ["-c", "import vzgym; env = vzgym.make('spy-clevr'); env.reset(seed=0); print('made')"],
    ],
)
def test_work_that_reads_the_registries_names_the_slow_plugin_and_goes_on(site, args):
    python = args[0] == "-c"
    proc, seconds = run(site, *args[python:], plugins=["slowplug"], python=python)
    assert proc.returncode == 0, proc.stderr
    assert seconds < 30  # VZGYM_PLUGIN_TIMEOUT=4: skipped after 4 s
    assert "still loading plugin 'slowplug'" in proc.stderr and "VZGYM_LOAD_PLUGINS" in proc.stderr
    if python:
        assert proc.stdout.strip() == "made"


@pytest.mark.parametrize("args", [["--help"], ["envs"], ["plugins"]])
def test_listing_everything_names_the_slow_plugin_and_goes_on(site, args):
    proc, seconds = run(site, *args, plugins=["slowplug"])
    assert proc.returncode == 0, proc.stderr
    assert seconds < 30
    assert "slowplug" in proc.stderr and "VZGYM_LOAD_PLUGINS" in proc.stderr
    if args == ["envs"]:
        assert "spy-clevr" in proc.stdout


def test_a_plugin_cannot_replace_a_built_in_command(site):
    proc, _ = run(site, "train", "--help", plugins=["hijackplug"])
    assert proc.returncode == 0 and "HIJACKED" not in proc.stdout
    assert "Train a model by self-play" in proc.stdout
    proc, _ = run(site, "extra-cmd", plugins=["hijackplug"])  # its own command still works
    assert proc.stdout.strip() == "extra ok", proc.stderr
    proc, _ = run(site, "plugins", plugins=["hijackplug"])
    assert "FAILED hijackplug at register_commands" in proc.stderr
    assert "built-in command 'train'" in proc.stderr


def test_plugin_output_never_mixes_into_json(site):
    proc, _ = run(site, "envs", "--json", plugins=["noisyplug"])
    assert proc.returncode == 0, proc.stderr
    ids = [row["id"] for row in json.loads(proc.stdout)]
    assert "noisy-toy" in ids and "spy-clevr" in ids
    assert "hello from noisyplug" in proc.stderr and "raw bytes on fd 1" in proc.stderr
    assert "registering!" in proc.stderr
