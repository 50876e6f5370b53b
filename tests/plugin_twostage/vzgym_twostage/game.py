r"""A two-stage plugin game: describe a square (``look``), then name its colour (``answer``).

It declares everything generic code needs through :class:`~vzgym.core.facts.GameFacts`
and uses statistic names no built-in game uses (``right_rate``, ``abstain_rate``), so a
trainer that switches stages on them cannot be reading a built-in game's names.
"""

from __future__ import annotations

from PIL import Image

from vzgym.core.facts import GameFacts, Outcome, PlotPanel, Stage, StageSwitch, Stat
from vzgym.envs.base import MultiAgentEnv, Observation, text_message

COLOURS = {"A": ("red", (220, 30, 30)), "B": ("blue", (30, 60, 220))}


class TwoStageEnv(MultiAgentEnv):
    """One player, two steps; ``report_stats=False`` plays the same game without its stats."""

    metadata = {"render_modes": ["ansi"], "name": "two-stage"}

    facts = GameFacts(
        stages=(
            Stage("look", "rae", "describe the square"),
            Stage("answer", "group_norm", "name the colour by letter"),
        ),
        stats=(
            Stat("right_rate", "rate", "the answer named the colour", True),
            Stat("abstain_rate", "rate", "the answer named no letter", None),
        ),
        switch=StageSwitch(
            accuracy="right_rate", na_rate="abstain_rate", solve_stage="answer", harden_stage="look"
        ),
        plots=(PlotPanel("two_stage.png", "Two-stage game", ("game/right_rate",)),),
    )

    def __init__(self, report_stats: bool = True, render_mode: str | None = None):
        super().__init__(render_mode=render_mode)
        self.report_stats = report_stats
        self.possible_agents = ["player"]
        self._result: dict[str, float] | None = None

    def _reset(self, options):
        self.letter = str(self.np_random.choice(sorted(COLOURS)))
        self.image = Image.new("RGB", (28, 28), COLOURS[self.letter][1])
        self.agents = ["player"]
        self._stage = "look"
        self._result = None
        msg = text_message("user", self.image, "Describe the square in a few words.")
        return {"player": Observation("player", "player", "look", 1, [msg])}, {"player": {}}

    def _step(self, actions):
        if self._stage == "look":
            said = actions["player"][:80]
            text = f"You said: {said}. Its colour: A = red or B = blue?"
            obs = Observation("player", "player", "answer", 1, [text_message("user", text)])
            self._stage = "answer"
            return {"player": obs}, {"player": 0.0}, {"player": False}, {"player": False}, {}
        first = actions["player"].strip()[:1].upper()
        right = first == self.letter
        self._result = {"right_rate": float(right), "abstain_rate": float(first not in COLOURS)}
        info = {"reward_look": float(right), "reward_answer": float(right)}
        if self.report_stats:
            info["game"] = dict(self._result)
        self.agents = []
        return {}, {"player": float(right)}, {"player": True}, {"player": False}, {"player": info}

    def outcome(self):
        """The player against the game: 1 for the right colour, else 0."""
        if self._result is None:
            return None
        return Outcome({"player": ["player"]}, {"player": self._result["right_rate"]})
