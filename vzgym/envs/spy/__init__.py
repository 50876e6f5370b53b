"""Who-Is-the-Spy (Vision-Zero): rules, parsers, rewards and pair sources."""

from vzgym.envs.spy.game import PairSample, Phase, Role, SpyEnv

__all__ = ["PairSample", "Phase", "Role", "SpyEnv"]
