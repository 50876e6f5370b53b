"""``vzgym play``: a person takes one seat of any env, scripted bots take the others."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from vzgym.agents.human import HumanPolicy, HumanQuit, TerminalIO
from vzgym.registration import get_registry


def resolve_seat(possible_agents: list[str], seat: int | str) -> str:
    """Map ``--seat`` to an agent id: ``K`` is the K-th agent (1-based) or an id itself."""
    if isinstance(seat, str) and seat in possible_agents:
        return seat
    try:
        index = int(seat)
    except (TypeError, ValueError):
        raise ValueError(f"--seat must be a number or one of {possible_agents}") from None
    if not 1 <= index <= len(possible_agents):
        raise ValueError(f"--seat must be between 1 and {len(possible_agents)}, got {index}")
    return possible_agents[index - 1]


def play(
    env_id: str,
    *,
    seat: int | str | None = 1,
    seed: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    terminal: TerminalIO | None = None,
) -> dict[str, Any]:
    """Play one episode of ``env_id`` with a person at ``seat``; return the final summary.

    ``seat=None`` lets scripted bots take every seat (a demo that needs no input).
    """
    spec = get_registry().spec(env_id)
    env = spec.make(**(env_kwargs or {}))
    terminal = terminal or TerminalIO()
    bots = spec.make_scripted_policy()
    human_agent = None if seat is None else resolve_seat(list(env.possible_agents), seat)
    human = HumanPolicy(terminal, wrap=env.format_human_action)
    totals: dict[str, float] = defaultdict(float)
    last_infos: dict[str, dict[str, Any]] = {}
    roles: dict[str, str] = {}
    who = f"you are {human_agent}. Type :help." if human_agent else "bots only."
    terminal.print(f"vzgym play: {spec.id} (seed {seed}); {who}")
    try:
        observations, _ = env.reset(seed=seed)
        while observations:
            actions: dict[str, str] = {}
            roles.update({a: o.role for a, o in observations.items()})
            others = [(a, o) for a, o in observations.items() if a != human_agent]
            if others:
                if bots is None:
                    raise ValueError(f"env {spec.id!r} has no scripted bots to fill other seats")
                answers = bots.generate([o for _, o in others])
                actions.update({a: ans[0].text for (a, _), ans in zip(others, answers)})
            if human_agent in observations:
                actions[human_agent] = human.generate([observations[human_agent]])[0][0].text
            observations, rewards, _, _, infos = env.step(actions)
            for agent, value in rewards.items():
                totals[agent] += value
            for line in env.describe_step({a: i for a, i in infos.items() if a in actions}):
                terminal.print(f"  {line}")
            last_infos.update(infos)
    except HumanQuit:
        terminal.print("You left the game.")
        env.close()
        return {"quit": True, "rewards": dict(totals)}
    env.close()
    summary = {"quit": False, "rewards": dict(totals), "infos": last_infos}
    for agent, role in roles.items():
        last_infos.setdefault(agent, {}).setdefault("true_role", role)
    print_summary(terminal, env.possible_agents, totals, last_infos, human_agent)
    print_result(terminal, env, spec.facts, last_infos)
    return summary


def print_summary(
    terminal: TerminalIO,
    agents: list[str],
    totals: dict[str, float],
    infos: dict[str, dict[str, Any]],
    human_agent: str | None,
) -> None:
    """Print the end-of-game rewards table and the game's outcome."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Game over: rewards")
    table.add_column("agent")
    table.add_column("role")
    table.add_column("reward", justify="right")
    parts = sorted(
        {
            k
            for info in infos.values()
            for k, v in info.items()
            if k.startswith("reward_") and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
    )
    for part in parts:
        table.add_column(part.removeprefix("reward_"), justify="right")
    for agent in agents:
        info = infos.get(agent, {})
        name = f"{agent} (you)" if agent == human_agent else agent
        row = [name, str(info.get("true_role", "")), f"{totals.get(agent, 0.0):+.3f}"]
        row += [f"{info.get(p, 0.0):+.3f}" for p in parts]
        table.add_row(*row)
    console = Console(file=terminal.stdout, force_terminal=False, width=100)
    console.print(table)
    mine = infos.get(human_agent or "", {})
    simple = {k: v for k, v in mine.items() if isinstance(v, (str, int, float, bool))}
    if simple:
        shown = (f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in simple.items())
        terminal.print("Your result: " + ", ".join(shown))
    for key, value in mine.items():  # images the game put in your info (a rendered SVG ...)
        if hasattr(value, "size") and hasattr(value, "mode"):
            terminal.print(f"Your {key.replace('_', ' ')}:")
            terminal.show_image(value, f"{human_agent}-{key}")


def print_result(
    terminal: TerminalIO, env: Any, facts: Any, infos: dict[str, dict[str, Any]]
) -> None:
    """Print the game's outcome, its declared statistics and its own account of the result."""
    outcome = env.outcome()
    if outcome is not None:
        winners = outcome.winners
        if winners:
            names = ", ".join(f"{t} ({', '.join(outcome.teams[t])})" for t in winners)
            terminal.print(f"Won: {names}")
        else:
            terminal.print("Draw.")
    game = next((info["game"] for info in infos.values() if "game" in info), None)
    if isinstance(game, dict):
        for stat in facts.stats:
            value = game.get(stat.key)
            if isinstance(value, (int, float)):
                terminal.print(f"{stat.description or stat.key}: {float(value):.2f}")
    for line in env.describe_result():
        terminal.print(line)
