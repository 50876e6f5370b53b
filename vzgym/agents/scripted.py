"""The spy-game bots moved next to their game (:mod:`vzgym.envs.spy.bots`); re-exported here."""

from vzgym.envs.spy.bots import ScriptedSpyPolicy

__all__ = ["ScriptedSpyPolicy"]
