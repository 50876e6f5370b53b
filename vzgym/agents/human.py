"""The ``human`` policy: a person answers observations at a terminal prompt.

Works in a real terminal (readline history and editing), under tmux and with
piped stdin.  Images are shown inline where the terminal speaks an image
protocol (kitty, iTerm2/WezTerm), otherwise written to PNG files whose paths
are printed.  Commands at the prompt: ``:help``, ``:image``, ``:log``, ``:quit``.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from vzgym.core.observation import Observation, part_kind
from vzgym.core.policy import Completion, Policy, SamplingParams

HELP = """Type your answer and press Enter.
  :help    this help
  :image   show (or save again) the image(s) of this turn
  :log     show the whole prompt of this turn (rules, clues, your notes)
  :paste   enter several lines; finish with a line holding only '.'
  :quit    leave the game
A line that starts an <svg ...> element keeps reading until </svg>."""


class HumanQuit(Exception):
    """The human typed ``:quit`` or closed standard input."""


def detect_image_protocol(env: dict[str, str] | None = None) -> str:
    """Return ``"kitty"``, ``"iterm"`` or ``"file"`` for the current terminal."""
    env = dict(os.environ if env is None else env)
    if env.get("TMUX") or env.get("VZGYM_IMAGES") == "file":
        return "file"  # tmux swallows image escape codes unless configured otherwise
    if env.get("VZGYM_IMAGES") in ("kitty", "iterm"):
        return env["VZGYM_IMAGES"]
    if "kitty" in env.get("TERM", "") or env.get("KITTY_WINDOW_ID"):
        return "kitty"
    if env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm"):
        return "iterm"
    return "file"


class TerminalIO:
    """Reads lines and shows text and images on a terminal (or pipes)."""

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        image_dir: str | Path | None = None,
        protocol: str | None = None,
    ):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.protocol = protocol or detect_image_protocol()
        self.image_dir = Path(image_dir) if image_dir else None
        self._count = 0
        self.interactive = self.stdin.isatty() if hasattr(self.stdin, "isatty") else False
        if self.interactive:
            try:
                import readline  # noqa: F401 - enables line editing and history for input()
            except ImportError:
                pass

    def print(self, text: str = "") -> None:
        """Write a line."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def read_line(self, prompt: str) -> str:
        """Read one line; raise :class:`HumanQuit` at end of input."""
        if self.interactive and self.stdin is sys.stdin and self.stdout is sys.stdout:
            try:
                return input(prompt)
            except EOFError as exc:
                raise HumanQuit("end of input") from exc
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise HumanQuit("end of input")
        return line.rstrip("\n")

    def show_image(self, image: Any, label: str) -> None:
        """Show ``image`` inline or save it as PNG and print its path."""
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data = buf.getvalue()
        if self.protocol == "kitty":
            b64 = base64.standard_b64encode(data).decode()
            chunks = [b64[i : i + 4096] for i in range(0, len(b64), 4096)]
            for i, chunk in enumerate(chunks):
                more = 1 if i < len(chunks) - 1 else 0
                head = "a=T,f=100," if i == 0 else ""
                self.stdout.write(f"\033_G{head}m={more};{chunk}\033\\")
            self.print()
            return
        if self.protocol == "iterm":
            b64 = base64.b64encode(data).decode()
            self.stdout.write(f"\033]1337;File=inline=1;size={len(data)}:{b64}\a\n")
            self.stdout.flush()
            return
        if self.image_dir is None:
            self.image_dir = Path(tempfile.mkdtemp(prefix="vzgym-play-"))
        self.image_dir.mkdir(parents=True, exist_ok=True)
        self._count += 1
        path = self.image_dir / f"{self._count:03d}-{label}.png"
        path.write_bytes(data)
        self.print(f"[image] {path}  ({image.size[0]}x{image.size[1]})")


class HumanPolicy(Policy):
    """A person types each action; ``wrap`` may turn a bare answer into the game's format."""

    name = "human"

    def __init__(
        self,
        terminal: TerminalIO | None = None,
        wrap: Callable[[Observation, str], str] | None = None,
    ):
        self.terminal = terminal or TerminalIO()
        self.wrap = wrap

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Ask the person once per observation (``n`` is ignored: one answer each)."""
        out = []
        for obs in observations:
            text = self.ask(obs)
            out.append([Completion(text, finish_reason="human")])
        return out

    def show(self, obs: Observation, full: bool = False) -> None:
        """Print the observation: the last user message (or all messages with ``full``)."""
        t = self.terminal
        t.print("")
        t.print(f"=== {obs.agent} | role: {obs.role} | phase: {obs.phase} | round: {obs.round} ===")
        messages = obs.messages if full else [m for m in obs.messages if m["role"] != "system"]
        for msg in messages:
            content = msg["content"]
            parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
            for part in parts:
                if part_kind(part) == "text":
                    t.print(part["text"])
                elif part_kind(part) == "image":
                    t.show_image(part["image"], f"{obs.agent}-{obs.phase}-r{obs.round}")

    def ask(self, obs: Observation) -> str:
        """Show ``obs`` and read an action, handling ``:`` commands."""
        t = self.terminal
        self.show(obs)
        while True:
            line = t.read_line(f"{obs.agent}> ")
            cmd = line.strip()
            if cmd in (":quit", ":q", ":exit"):
                raise HumanQuit("quit")
            if cmd in (":help", ":h", "?"):
                t.print(HELP)
                continue
            if cmd == ":image":
                for i, image in enumerate(obs.images()):
                    t.show_image(image, f"{obs.agent}-again-{i}")
                continue
            if cmd == ":log":
                self.show(obs, full=True)
                continue
            if cmd == ":paste":
                line = self._read_until(lambda s: s.strip() == ".", keep_last=False)
            elif "<svg" in line and "</svg>" not in line:
                line = line + "\n" + self._read_until(lambda s: "</svg>" in s, keep_last=True)
            if not line.strip():
                t.print("(empty answer; type :help for help)")
                continue
            return self.wrap(obs, line) if self.wrap else line

    def _read_until(self, done: Callable[[str], bool], keep_last: bool) -> str:
        """Read lines until ``done``; end of input mid-block means the player left."""
        lines = []
        while True:
            line = self.terminal.read_line("... ")  # HumanQuit at end of input propagates
            if done(line):
                if keep_last:
                    lines.append(line)
                break
            lines.append(line)
        return "\n".join(lines)
