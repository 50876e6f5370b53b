r"""Odd one out: ``num_tiles`` coloured tiles, one of another colour; answer ``\boxed{k}``."""

from __future__ import annotations

from PIL import Image, ImageDraw

from vzgym.agents.base import Completion, Policy
from vzgym.core.facts import GameFacts, Outcome, PlotPanel, Stat
from vzgym.envs.base import MultiAgentEnv, Observation, text_message
from vzgym.envs.spy.parsing import last_box

PALETTE = [(200, 40, 40), (40, 160, 60), (40, 80, 200), (220, 200, 40), (150, 60, 170)]


class OddOneOutEnv(MultiAgentEnv):
    """One agent, one step: name the tile whose colour differs (reward 1 right, 0 wrong)."""

    metadata = {"render_modes": ["ansi"], "name": "odd-one-out"}

    #: What vzgym's trainers, logs and ``vzgym plot`` know about this game: one stage
    #: (trained every step with group-normalised advantages) and one statistic.
    facts = GameFacts(
        stats=(Stat("correct", "rate", "the answer named the odd tile", True),),
        plots=(PlotPanel("odd_one_out.png", "Odd one out", ("game/correct",)),),
        default_advantage="group_norm",
    )

    def __init__(self, num_tiles: int = 4, render_mode: str | None = None):
        super().__init__(render_mode=render_mode)
        if num_tiles < 3:
            raise ValueError("num_tiles must be >= 3")
        self.num_tiles = num_tiles
        self.possible_agents = ["player"]
        self.correct: bool | None = None

    def _reset(self, options):
        self.odd = int(self.np_random.integers(1, self.num_tiles + 1))
        base, other = self.np_random.choice(len(PALETTE), size=2, replace=False)
        image = Image.new("RGB", (60 * self.num_tiles, 60), "white")
        draw = ImageDraw.Draw(image)
        for k in range(1, self.num_tiles + 1):
            color = PALETTE[other] if k == self.odd else PALETTE[base]
            draw.rectangle([60 * (k - 1) + 5, 5, 60 * k - 5, 55], fill=color)
        self.agents = ["player"]
        self.correct = None
        text = (
            f"Tiles are numbered 1 to {self.num_tiles} from the left. "
            "Which one differs? Answer \\boxed{k}."
        )
        obs = Observation(
            "player",
            "player",
            "answer",
            1,
            [text_message("user", image, text)],
            private={"odd": self.odd},
        )
        return {"player": obs}, {"player": {}}

    def _step(self, actions):
        answer = (last_box(actions["player"]) or "").strip()
        correct = answer == str(self.odd)
        self.correct = correct
        self.agents = []
        game = {"correct": correct}  # the declared statistics of this episode
        info = {"player": {"odd": self.odd, "answer": answer, "correct": correct, "game": game}}
        return {}, {"player": float(correct)}, {"player": True}, {"player": False}, info

    def outcome(self):
        """The player against the puzzle: score 1 when it found the odd tile, else 0."""
        if self.correct is None:
            return None
        return Outcome({"player": ["player"]}, {"player": float(self.correct)})

    def format_human_action(self, observation, text):
        """Box a bare number typed at the prompt."""
        return text if "\\boxed" in text else f"\\boxed{{{text.strip()}}}"


class OddOneOutBot(Policy):
    """A perfect scripted player (reads the answer from the privileged fields)."""

    name = "odd-one-out-bot"

    def generate(self, observations, sampling=None):
        """Answer every observation correctly."""
        n = sampling.n if sampling else 1
        return [
            [Completion(f"\\boxed{{{o.private['odd']}}}", finish_reason="scripted")] * n
            for o in observations
        ]
