"""A PettingZoo ``ParallelEnv`` view of a turn-based vzgym env.

PettingZoo's parallel API asks every live agent for an action at every step.
The adapter keeps every agent live until the episode ends, gives waiting agents
their last observation (or a short "waiting" one) and ignores their actions;
only the agents the vzgym env is waiting for act.  ``infos[agent]["must_act"]``
says which is which.
"""

from __future__ import annotations

from typing import Any

from pettingzoo import ParallelEnv

from vzgym.envs.base import MultiAgentEnv, Observation, text_message


class VzgymParallelEnv(ParallelEnv):
    """Wrap ``env`` (a :class:`MultiAgentEnv`) as a PettingZoo ``ParallelEnv``."""

    def __init__(self, env: MultiAgentEnv):
        self.env = env
        self.possible_agents = list(env.possible_agents)
        self.agents: list[str] = []
        self.metadata = dict(getattr(env, "metadata", {}))
        self.render_mode = getattr(env, "render_mode", None)
        self._last: dict[str, Observation] = {}

    def observation_space(self, agent: str) -> Any:
        """The wrapped env's observation space of ``agent``."""
        return self.env.observation_space(agent)

    def action_space(self, agent: str) -> Any:
        """The wrapped env's action space of ``agent``."""
        return self.env.action_space(agent)

    def _fill(self, obs: dict[str, Observation]) -> dict[str, Observation]:
        self._last.update(obs)
        full = {}
        for agent in self.agents:
            if agent not in self._last:
                self._last[agent] = Observation(
                    agent, "player", "waiting", 0, [text_message("user", "Wait for your turn.")]
                )
            full[agent] = self._last[agent]
        return full

    def _infos(self, infos: dict[str, dict], pending: list[str]) -> dict[str, dict]:
        return {a: {**infos.get(a, {}), "must_act": a in pending} for a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset the wrapped env; every agent is live."""
        obs, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        self._last = {}
        return self._fill(obs), self._infos(infos, list(obs))

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Forward the actions of the agents that must act; ignore the others'."""
        pending = self.env.pending_agents
        obs, rewards, terms, truncs, infos = self.env.step({a: actions[a] for a in pending})
        live = list(self.agents)
        done = not obs
        out_rewards = {a: float(rewards.get(a, 0.0)) for a in live}
        out_terms = {a: bool(terms.get(a, False)) or done for a in live}
        out_truncs = {a: bool(truncs.get(a, False)) for a in live}
        if done:
            out_infos = {a: {**infos.get(a, {}), "must_act": False} for a in live}
            final_obs = self._fill({})
            self.agents = []
            return final_obs, out_rewards, out_terms, out_truncs, out_infos
        return self._fill(obs), out_rewards, out_terms, out_truncs, self._infos(infos, list(obs))

    def render(self) -> Any:
        """Render the wrapped env."""
        return self.env.render()

    def close(self) -> None:
        """Close the wrapped env."""
        self.env.close()
