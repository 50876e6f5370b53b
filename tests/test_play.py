import shutil
import subprocess
import time
import uuid

import pytest
from conftest import VZGYM, run_vzgym


def test_play_with_piped_stdin(tmp_path):
    answers = "a red cube\n:help\n:image\n:log\nblue sphere\n2\n"
    proc = run_vzgym(
        "play",
        "--env",
        "spy-clevr",
        "--seat",
        "1",
        "--seed",
        "7",
        "--image-dir",
        str(tmp_path),
        input=answers,
        env={"TERM": "xterm"},
    )
    out = proc.stdout
    assert "you are player_1" in out
    assert ":image   show" in out  # :help
    assert "Game over: rewards" in out and "player_1 (you)" in out
    assert "The spy was Player" in out
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) >= 4 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "player_1 says: a red cube" in out


def test_play_quit_and_eof_are_clean():
    proc = run_vzgym("play", "--env", "spy-clevr", "--seed", "1", input=":quit\n")
    assert "You left the game." in proc.stdout
    proc = run_vzgym("play", "--env", "spy-clevr", "--seed", "1", input="")
    assert "You left the game." in proc.stdout
    # end of input in the middle of a :paste block: the player left, nothing is submitted
    text = "\\boxed{a cube}\n" * 2 + ":paste\nline one\n"
    proc = run_vzgym("play", "--env", "spy-clevr", "--seed", "1", input=text)
    assert "You left the game." in proc.stdout and "line one" not in proc.stdout


def test_play_bad_seat():
    proc = run_vzgym("play", "--env", "spy-clevr", "--seat", "9", input="", check=False)
    assert proc.returncode != 0 and "--seat must be between 1 and 4" in proc.stderr


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed (.ci/run installs it)")
def test_play_under_tmux(tmp_path):
    session = f"vzgym-{uuid.uuid4().hex[:8]}"
    cmd = f"{VZGYM} play --env spy-clevr --seat 2 --seed 3 --image-dir {tmp_path}; sleep 30"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", cmd], check=True
    )

    def screen():
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-S", "-200", "-t", session],
            capture_output=True,
            text=True,
        ).stdout

    def wait_for(text, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in screen():
                return
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared:\n{screen()}")

    try:
        for turn, answer in enumerate(["there is a cube", "there is a sphere", "1"], start=1):
            deadline = time.time() + 60
            while screen().count("player_2>") < turn and time.time() < deadline:
                time.sleep(0.2)
            subprocess.run(["tmux", "send-keys", "-t", session, answer, "Enter"], check=True)
        wait_for("Game over: rewards")
        assert "player_2 says: there is a sphere" in screen()
        assert "[image]" in screen()  # tmux: images go to files
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_play_svg_solve_and_codegen(tmp_path):
    out = run_vzgym(
        "play",
        "--env",
        "svg-solve",
        "--seed",
        "1",
        "-o",
        "num_items=2",
        "--image-dir",
        str(tmp_path / "solve"),
        input="42\n",
    ).stdout
    assert "Game over: rewards" in out and "Your result:" in out and "silver_label=" in out
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60">\n'
        '<rect width="120" height="60" fill="teal"/>\n</svg>\n'
    )
    out = run_vzgym(
        "play",
        "--env",
        "svg-codegen",
        "--seed",
        "1",
        "-o",
        "num_items=2",
        "--image-dir",
        str(tmp_path / "codegen"),
        input=svg,
    ).stdout
    assert "render_status=ok" in out and "Your rendered image:" in out
    assert list((tmp_path / "codegen").glob("*rendered_image.png"))
