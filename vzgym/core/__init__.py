"""Neutral types every layer may import: game facts, observations, policies, registries.

``vzgym.core`` imports nothing else from vzgym; ``envs``, ``agents``, ``rollout``,
``trainers`` and the CLI all point down to it.
"""
