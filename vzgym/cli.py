"""The ``vzgym`` command line (click).  Plugins add commands via ``register_commands``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from vzgym import __version__


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """Parse ``key=value`` pairs; values are JSON when they parse (``3``, ``true``, ``[3,5]``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint="-o")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


class _PluginGroup(click.Group):
    """A click group that lets plugins add commands the first time it is used."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            from vzgym.plugins.manager import call_hook

            call_hook("register_commands", cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_PluginGroup)
@click.version_option(__version__, prog_name="vzgym")
def cli() -> None:
    """vzgym: self-play games in which vision-language models improve themselves."""


@cli.command("envs")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def envs_command(as_json: bool) -> None:
    """List the registered envs (id and one-line description)."""
    from vzgym.registration import get_registry

    specs = list(get_registry())
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "gym_id": s.gym_id,
                        "description": s.description,
                        "plugin": s.plugin,
                    }
                    for s in specs
                ],
                indent=2,
            )
        )
        return
    width = max((len(s.id) for s in specs), default=0)
    for spec in specs:
        click.echo(f"{spec.id.ljust(width)}  {spec.description}")


@cli.command("plugins")
@click.option("--all", "show_all", is_flag=True, help="Include built-in plugins.")
def plugins_command(show_all: bool) -> None:
    """List loaded plugins (name, version, hooks) and any that failed."""
    from vzgym.plugins.manager import failures, list_plugins
    from vzgym.registration import get_registry

    get_registry()
    rows = [p for p in list_plugins() if show_all or not p.builtin]
    if not rows:
        click.echo("No external plugins loaded (use --all to see built-in ones).")
    for info in rows:
        version = info.version or "built-in"
        click.echo(f"{info.name}  {version}  hooks: {', '.join(info.hooks)}")
    for failure in failures():
        click.echo(f"FAILED {failure.plugin} at {failure.stage}: {failure.error}", err=True)


@cli.command("play")
@click.option("--env", "env_id", required=True, help="Env id, e.g. spy-clevr.")
@click.option("--seat", default="1", show_default=True, help="Your seat: a number or agent id.")
@click.option("--seed", type=int, default=None, help="Episode seed (same seed, same game).")
@click.option("-o", "--env-option", "options", multiple=True, help="Env option key=value.")
@click.option(
    "--image-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write images when the terminal cannot show them.",
)
@click.option("--bots-only", is_flag=True, help="Scripted bots take every seat (a demo).")
def play_command(
    env_id: str,
    seat: str,
    seed: int | None,
    options: tuple[str, ...],
    image_dir: str | None,
    bots_only: bool,
) -> None:
    """Play an env in the terminal against scripted bots."""
    from vzgym.agents.human import TerminalIO
    from vzgym.play import play
    from vzgym.registration import UnknownEnvError

    try:
        play(
            env_id,
            seat=None if bots_only else seat,
            seed=seed,
            env_kwargs=parse_options(options),
            terminal=TerminalIO(image_dir=image_dir),
        )
    except (UnknownEnvError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc


def build_policy_map(
    env_id: str,
    policy: str,
    role_policies: tuple[str, ...],
    frozen: tuple[str, ...],
    env_kwargs: dict[str, Any],
    policy_options: dict[str, Any] | None = None,
) -> Any:
    """Build the seat → policy map from CLI specs; roles the env fills itself go to env_kwargs.

    ``--role-policy codegen=tiny`` on an env whose constructor takes ``codegen_policy``
    hands that policy to the env (a frozen role inside the game).
    """
    import inspect

    from vzgym.agents.spec import make_policy
    from vzgym.registration import get_registry
    from vzgym.rollout import PolicyMap, SeatPolicy

    cache: dict[str, Any] = {}

    def build(spec: str) -> Any:
        if spec not in cache:
            options = {} if spec.split(":")[0] in ("scripted", "human") else (policy_options or {})
            cache[spec] = make_policy(spec, env_id=env_id, **options)
        return cache[spec]

    params = inspect.signature(get_registry().spec(env_id).load()).parameters
    default = SeatPolicy(policy, build(policy), trainable="*" not in frozen)
    by_role = {}
    for item in role_policies:
        role, sep, spec = item.partition("=")
        if not sep:
            raise click.BadParameter(
                f"expected ROLE=SPEC, got {item!r}", param_hint="--role-policy"
            )
        if f"{role}_policy" in params:
            env_kwargs[f"{role}_policy"] = build(spec)
        else:
            by_role[role] = SeatPolicy(spec, build(spec), trainable=role not in frozen)
    for role in frozen:
        if role not in by_role and role != "*":
            by_role[role] = SeatPolicy(policy, default.policy, trainable=False)
    return PolicyMap(default, by_role)


@cli.command("rollout")
@click.option("--env", "env_id", required=True, help="Env id, e.g. spy-clevr.")
@click.option("--policy", default="tiny", show_default=True, help="Policy spec for every seat.")
@click.option("--role-policy", "role_policies", multiple=True, help="ROLE=SPEC override.")
@click.option("--frozen", multiple=True, help="Role whose turns are not trained ('*' = all).")
@click.option("--games", type=int, default=8, show_default=True, help="Distinct games (seeds).")
@click.option("--group", type=int, default=4, show_default=True, help="Copies per game (GRPO).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option("-o", "--env-option", "options", multiple=True, help="Env option key=value.")
@click.option("--max-new-tokens", type=int, default=64, show_default=True)
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--progress/--no-progress", default=True)
def rollout_command(
    env_id: str,
    policy: str,
    role_policies: tuple[str, ...],
    frozen: tuple[str, ...],
    games: int,
    group: int,
    seed: int,
    out_dir: str,
    options: tuple[str, ...],
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    progress: bool,
) -> None:
    """Play many games at once with model policies and write trajectories to OUT."""
    from vzgym.agents.base import SamplingParams
    from vzgym.registration import UnknownEnvError
    from vzgym.rollout import RolloutConfig, run_rollouts

    env_kwargs = parse_options(options)
    try:
        policies = build_policy_map(env_id, policy, role_policies, frozen, env_kwargs)
        config = RolloutConfig(
            env_id,
            env_kwargs,
            games=games,
            group=group,
            seed=seed,
            sampling=SamplingParams(temperature, top_p, max_new_tokens, 1, seed),
        )
        summary = run_rollouts(config, policies, out_dir, progress=progress)
    except (UnknownEnvError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    print_rollout_summary(summary, out_dir)


def print_rollout_summary(summary: Any, out_dir: str | None) -> None:
    """Print a rollout summary (counts, rewards per role, game stats, speeds)."""
    click.echo(
        f"games {summary.games}, episodes {summary.episodes} "
        f"({summary.failed_episodes} failed {summary.failures or ''}), turns {summary.turns}"
    )
    for role, value in summary.reward_by_role.items():
        click.echo(f"  mean reward {role}: {value:+.3f}")
    stats = summary.game_stats
    if "spy_found" in stats:
        click.echo(f"  spy found rate: {stats['spy_found']:.2f}, N/A rate: {stats['na_rate']:.2f}")
    click.echo(
        f"  tokens: {summary.generated_tokens} in {summary.model_seconds:.1f}s of model time "
        f"({summary.tokens_per_second:.1f} tok/s); wall {summary.wall_seconds:.1f}s; "
        f"outside the model {summary.overhead_ms_per_turn:.2f} ms/turn"
    )
    if out_dir:
        click.echo(f"  trajectories: {out_dir}/trajectories/*.parquet")


def main() -> None:
    """Entry point of the ``vzgym`` script."""
    cli(prog_name="vzgym")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
