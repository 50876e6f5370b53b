"""``check_env``: the API contract every vzgym env must keep, checked by running it.

Checks, in order:

1. ``possible_agents`` is a non-empty list of unique strings; per-agent spaces are
   gymnasium spaces and the same object on every call.
2. ``step`` before ``reset`` raises; ``reset(seed=...)`` returns ``(observations, infos)``
   dicts; observations hold only known agents, each in its observation space.
3. Episodes driven by probe actions (well-formed, malformed, empty, huge, junk
   with lone surrogates) never raise and end within ``max_steps``; rewards are
   finite floats; a wrong set of actions raises ``ValueError``.
4. Determinism: the same seed and actions give identical observations (text and
   image bytes), rewards and infos; the global ``random`` and ``numpy.random``
   states are untouched.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from vzgym.core.observation import Observation

PROBE_ACTIONS = (
    "I think so.\n\\boxed{1}",
    "\\boxed{N/A}",
    "",
    "no box at all",
    "\\boxed{}",
    "\\boxed{\\boxed{nested {braces}}} and \\boxed{2}",
    "x" * 5000,
    "bad \udcff surrogate \\boxed{Player 3}",
    "<caption>c</caption>",
    "```svg\n<svg xmlns='http://www.w3.org/2000/svg' width='8' height='8'></svg>\n```",
)


class EnvCheckError(AssertionError):
    """The env broke the vzgym env contract."""


def _fail(message: str) -> None:
    raise EnvCheckError(message)


def _fingerprint(value: Any) -> Any:
    """A comparable summary of observations/infos (images hashed by pixels)."""
    if isinstance(value, Observation):
        return (
            value.agent,
            value.role,
            value.phase,
            value.round,
            _fingerprint(value.messages),
            _fingerprint(value.extra),
        )
    if isinstance(value, dict):
        return tuple(sorted((str(k), _fingerprint(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_fingerprint(v) for v in value)
    if hasattr(value, "tobytes") and hasattr(value, "size") and hasattr(value, "mode"):
        return ("image", value.size, value.mode, hashlib.sha256(value.tobytes()).hexdigest())
    if isinstance(value, np.ndarray):
        return ("array", value.shape, hashlib.sha256(value.tobytes()).hexdigest())
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (str, int, float, bool, type(None), bytes)):
        return value
    return repr(value)


def _check_spaces(env: Any) -> None:
    agents = getattr(env, "possible_agents", None)
    if not isinstance(agents, list) or not agents:
        _fail("possible_agents must be a non-empty list")
    if len(set(agents)) != len(agents) or not all(isinstance(a, str) for a in agents):
        _fail(f"possible_agents must be unique strings, got {agents}")
    for agent in agents:
        for name in ("observation_space", "action_space"):
            space = getattr(env, name)(agent)
            if not isinstance(space, spaces.Space):
                _fail(f"{name}({agent!r}) must return a gymnasium Space, got {type(space)}")
            if getattr(env, name)(agent) is not space:
                _fail(f"{name}({agent!r}) must return the same object on every call")


def run_episode(
    env: Any, seed: int, choose: Callable[[str, Observation, int], str], max_steps: int
) -> list[Any]:
    """Play one episode with ``choose(agent, obs, step) -> text``; return its fingerprints."""
    trace: list[Any] = []
    obs, infos = env.reset(seed=seed)
    if not isinstance(obs, dict) or not isinstance(infos, dict):
        _fail("reset() must return (observations: dict, infos: dict)")
    if not obs:
        _fail("reset() must return at least one agent that must act")
    trace.append(("reset", _fingerprint(obs), _fingerprint(infos)))
    for step in range(max_steps):
        for agent, ob in obs.items():
            if agent not in env.possible_agents:
                _fail(f"observation for unknown agent {agent!r}")
            if not env.observation_space(agent).contains(ob):
                _fail(f"observation of {agent!r} is not in its observation space")
        actions = {agent: choose(agent, ob, step) for agent, ob in obs.items()}
        result = env.step(actions)
        if not (isinstance(result, tuple) and len(result) == 5):
            _fail("step() must return (obs, rewards, terminations, truncations, infos)")
        obs, rewards, terms, truncs, infos = result
        for name, part in zip(("obs", "rewards", "terminations", "truncations", "infos"), result):
            if not isinstance(part, dict):
                _fail(f"step() {name} must be a dict, got {type(part).__name__}")
        for agent, reward in rewards.items():
            if not isinstance(reward, (int, float)) or not math.isfinite(float(reward)):
                _fail(f"reward of {agent!r} must be a finite number, got {reward!r}")
        for agent, flag in {**terms, **truncs}.items():
            if not isinstance(flag, (bool, np.bool_)):
                _fail(f"termination/truncation of {agent!r} must be bool, got {flag!r}")
        trace.append(("step", _fingerprint(obs), _fingerprint(rewards), _fingerprint(infos)))
        if not obs:
            return trace
    _fail(f"episode did not end within {max_steps} steps")
    return trace


def check_env(env: Any, *, seed: int = 0, max_steps: int = 1000, episodes: int = 2) -> None:
    """Check ``env`` against the vzgym multi-agent env contract; raise :class:`EnvCheckError`."""
    _check_spaces(env)
    fresh_step_raised = False
    try:
        env.step({})
    except (RuntimeError, ValueError):
        fresh_step_raised = True
    if not fresh_step_raised:
        _fail("step() before reset() must raise RuntimeError or ValueError")

    def probe(agent: str, obs: Observation, step: int) -> str:
        index = (step * 7 + sum(map(ord, agent))) % len(PROBE_ACTIONS)
        return PROBE_ACTIONS[index]

    py_state, np_state = random.getstate(), np.random.get_state()
    traces = []
    for episode in range(episodes):
        traces.append(run_episode(env, seed + episode, probe, max_steps))
    again = run_episode(env, seed, probe, max_steps)
    if again != traces[0]:
        first = (
            next(i for i, (a, b) in enumerate(zip(again, traces[0])) if a != b)
            if len(again) == len(traces[0])
            else "length"
        )
        _fail(f"same seed gave a different episode (first difference at step {first})")
    if random.getstate() != py_state:
        _fail("the env used Python's global `random`; use self.np_random")
    np_after = np.random.get_state()
    if np_after[0] != np_state[0] or not np.array_equal(np_after[1], np_state[1]):
        _fail("the env used numpy's global RNG; use self.np_random")

    obs, _ = env.reset(seed=seed)
    wrong = {"__nobody__": "x"}
    try:
        env.step(wrong)
    except ValueError:
        pass
    else:
        _fail("step() with actions for the wrong agents must raise ValueError")
    env.close()
