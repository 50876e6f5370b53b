r"""``toy-color``: name the colour of the square — a learnability check for trainers.

One agent sees a square of one of ``colors`` and must answer with the letter of
that colour (``A`` for the first, ``B`` for the second, ...).  The reward is
shaped so that a random tiny model gets a gradient at once:

* ``format_reward`` (0.5) when the answer's first non-space character is one of
  the letters,
* plus ``1 - format_reward`` (0.5) when it is the right letter.

A model that learns only the format reaches 0.5 + 0.5/len(colors); one that
also reads the image reaches 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw

from vzgym.core.facts import GameFacts, PlotPanel, Stat
from vzgym.core.policy import Completion, Policy, SamplingParams
from vzgym.envs.base import AgentID, MultiAgentEnv, Observation, StepResult, text_message

PALETTE = {
    "red": (220, 30, 30),
    "blue": (30, 60, 220),
    "green": (30, 170, 60),
    "yellow": (230, 210, 40),
}


def toy_reward(answer: str, correct_letter: str, letters: str, format_reward: float = 0.5) -> float:
    """Reward of one answer: format part for a valid letter, the rest for the right one."""
    first = answer.strip()[:1].upper()
    if not first or first not in letters:
        return 0.0
    return format_reward + (1.0 - format_reward) * (first == correct_letter)


TOY_FACTS = GameFacts(
    stats=(
        Stat("well_formed", "rate", "the answer starts with one of the letters", True),
        Stat("correct", "rate", "the answer is the right letter", True),
    ),
    plots=(PlotPanel("toy_color.png", "Toy colour answers", ("game/well_formed", "game/correct")),),
)


class ToyColorEnv(MultiAgentEnv):
    """One agent, one step: answer the letter of the square's colour."""

    metadata = {"render_modes": ["ansi"], "name": "toy-color"}
    facts = TOY_FACTS

    def __init__(
        self,
        colors: tuple[str, ...] | list[str] = ("red", "blue"),
        size: int = 56,
        format_reward: float = 0.5,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        unknown = [c for c in colors if c not in PALETTE]
        if unknown or len(colors) < 2:
            raise ValueError(f"colors must be >= 2 of {sorted(PALETTE)}, got {list(colors)}")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 4096:
            raise ValueError(f"size must be an int in [0, 4096], got {size!r}")
        self.colors = list(colors)
        self.letters = "".join(chr(ord("A") + i) for i in range(len(self.colors)))
        self.size = size
        self.format_reward = format_reward
        self.possible_agents = ["player"]
        self._images = {c: self._draw(c) for c in self.colors}

    def _draw(self, color: str) -> Image.Image:
        image = Image.new("RGB", (self.size, self.size), (245, 245, 245))
        margin = self.size // 6
        ImageDraw.Draw(image).rectangle(
            [margin, margin, self.size - margin, self.size - margin], fill=PALETTE[color]
        )
        return image

    def _reset(self, options: dict[str, Any]) -> tuple[dict[AgentID, Observation], dict]:
        self.color = self.colors[int(self.np_random.integers(len(self.colors)))]
        self.agents = ["player"]
        choices = ", ".join(f"{letter} = {c}" for letter, c in zip(self.letters, self.colors))
        question = f"What colour is the square? Answer with one letter ({choices})."
        obs = Observation(
            "player",
            "player",
            "answer",
            0,
            [text_message("user", self._images[self.color], question)],
            private={"color": self.color, "letter": self.letters[self.colors.index(self.color)]},
        )
        return {"player": obs}, {"player": {}}

    def _step(self, actions: dict[AgentID, str]) -> StepResult:
        correct = self.letters[self.colors.index(self.color)]
        reward = toy_reward(actions["player"], correct, self.letters, self.format_reward)
        self.agents = []
        first = actions["player"].strip()[:1].upper()
        game = {"well_formed": bool(first) and first in self.letters, "correct": first == correct}
        info = {
            "player": {
                "color": self.color,
                "correct_letter": correct,
                "reward_answer": reward,
                "game": game,
            }
        }
        return {}, {"player": reward}, {"player": True}, {"player": False}, info


class ToyColorBot(Policy):
    """The toy game's scripted player: answers the right letter (it reads the hidden colour)."""

    name = "scripted"

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """The right letter for each observation, ``sampling.n`` times."""
        n = (sampling or SamplingParams()).n
        return [
            [Completion(str(o.private.get("letter", "A")), finish_reason="scripted")] * n
            for o in observations
        ]
