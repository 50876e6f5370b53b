"""The ``vzgym`` command line (click).  Plugins add commands via ``register_commands``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from vzgym import __version__

_WORDS = {"true": True, "false": False, "none": None, "null": None}


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """Parse ``key=value`` pairs into typed values.

    ``true``/``false``/``none``/``null`` in any case become ``True``/``False``/``None``;
    other values are JSON when they parse (``3``, ``0.5``, ``[3,5]``, ``"2024"`` for a
    string of digits), else the plain string.  ``NaN`` and ``Infinity`` are refused.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint="-o")
        word = value.strip().lower()
        if word in _WORDS:
            out[key.strip()] = _WORDS[word]
            continue
        if word.lstrip("+-") in ("nan", "infinity", "inf"):
            raise click.BadParameter(
                f"{key.strip()}: {value!r} is not a usable number", param_hint="-o"
            )
        try:
            out[key.strip()] = json.loads(value, parse_constant=_refuse_constant)
        except ValueError:
            out[key.strip()] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


class _PluginCommands:
    """What a plugin's ``register_commands(cli)`` gets: it may add commands, never replace one.

    A command whose name is taken (a built-in, or an earlier plugin's) is refused and
    recorded as a failure of that plugin; its other commands are still added.
    """

    def __init__(self, group: click.Group, plugin: str):
        self._group = group
        self._plugin = plugin

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Add ``cmd`` (as ``name``) unless that name is taken."""
        name = name or cmd.name
        if name in self._group.commands:
            from vzgym.plugins.manager import record_failure

            owner = "a built-in command" if name in _BUILTIN_COMMANDS else "taken"
            record_failure(
                self._plugin,
                "register_commands",
                ValueError(f"cannot replace {owner} {name!r}" if owner == "taken" else
                           f"cannot replace built-in command {name!r}"),
            )  # fmt: skip
            return
        self._group.add_command(cmd, name)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        """``@cli.command(...)`` as on a click group, through :meth:`add_command`."""

        def decorator(f: Any) -> click.Command:
            cmd = click.command(*args, **kwargs)(f)
            self.add_command(cmd)
            return cmd

        return decorator

    def group(self, *args: Any, **kwargs: Any) -> Any:
        """``@cli.group(...)`` as on a click group, through :meth:`add_command`."""

        def decorator(f: Any) -> click.Group:
            grp = click.group(*args, **kwargs)(f)
            self.add_command(grp)
            return grp

        return decorator

    def __getattr__(self, name: str) -> Any:
        return getattr(self._group, name)


class _PluginGroup(click.Group):
    """A click group that lets plugins add commands when something not built-in is asked for.

    A built-in command never waits for external plugins to load.
    """

    _loaded = False
    _builtins_loaded = False

    def _load_builtins(self) -> None:
        """Add the commands of vzgym's own plugins (no external plugin is loaded)."""
        if not self._builtins_loaded:
            self._builtins_loaded = True
            import importlib

            from vzgym.plugins.manager import DEFAULT_PLUGINS

            for name in DEFAULT_PLUGINS:
                hook = getattr(importlib.import_module(name), "register_commands", None)
                if hook is not None:
                    hook(cli=self)
            _BUILTIN_COMMANDS.update(self.commands)

    def _load(self) -> None:
        self._load_builtins()
        if not self._loaded:
            self._loaded = True
            from vzgym.plugins.manager import DEFAULT_PLUGINS, call_hook_each

            call_hook_each(
                "register_commands",
                lambda plugin: {
                    "cli": self if plugin in DEFAULT_PLUGINS else _PluginCommands(self, plugin)
                },
            )

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_builtins()
        if cmd_name not in _BUILTIN_COMMANDS:
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
    cli._load()  # plugin commands too, so a refused command shows as a failure
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
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Episode seed (same seed, same game)."
)
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


@cli.command("rollout")
@click.option("--env", "env_id", required=True, help="Env id, e.g. spy-clevr.")
@click.option("--policy", default="tiny", show_default=True, help="Policy spec for every seat.")
@click.option("--role-policy", "role_policies", multiple=True, help="ROLE=SPEC override.")
@click.option("--frozen", multiple=True, help="Role whose turns are not trained ('*' = all).")
@click.option(
    "--games",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Distinct games (seeds).",
)
@click.option(
    "--group",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Copies per game (GRPO).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Game g is played with seed SEED + g.",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option(
    "--append",
    is_flag=True,
    help="Add games to the trajectories already in --out (numbered after them, fresh seeds).",
)
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
    append: bool,
) -> None:
    """Play many games at once with model policies and write trajectories to OUT."""
    from vzgym.core.policy import SamplingParams
    from vzgym.registration import UnknownEnvError
    from vzgym.rollout import RolloutConfig, run_rollouts

    env_kwargs = parse_options(options)
    first_game, first_episode = _rollout_start(out_dir, append, seed, games)
    try:
        from vzgym.rollout.seating import build_policy_map, parse_role_specs

        roles = parse_role_specs(role_policies)
        policies = build_policy_map(
            env_id, policy, roles, frozen, env_kwargs, role_call_max_tokens=max_new_tokens
        )
        config = RolloutConfig(
            env_id,
            env_kwargs,
            games=games,
            group=group,
            seed=seed,
            sampling=SamplingParams(temperature, top_p, max_new_tokens, 1, seed),
            first_game=first_game,
            first_episode=first_episode,
        )
        if not (temperature >= 0 and temperature < float("inf")) or not 0 < top_p <= 1:
            raise ValueError(
                f"--temperature must be a finite number >= 0 and --top-p in (0, 1], got "
                f"{temperature} and {top_p}"
            )
        summary = run_rollouts(config, policies, out_dir, progress=progress)
    except (UnknownEnvError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    print_rollout_summary(summary, out_dir, env_id)


def _rollout_start(out_dir: str, append: bool, seed: int, games: int) -> tuple[int, int]:
    """The first game and episode id of a rollout into ``out_dir``.

    A folder that already holds trajectories is refused unless ``--append``; then
    the new games are numbered after the old ones and must not reuse their seeds.
    """
    from vzgym.rollout.writer import used_ids

    try:
        seeds, next_game, next_episode = used_ids(out_dir)
    except Exception as exc:  # noqa: BLE001 - unreadable shards: say which folder
        raise click.ClickException(f"cannot read the trajectories in {out_dir}: {exc}") from exc
    if not seeds:
        return 0, 0
    held = f"{next_game} game(s), seeds {min(seeds)}..{max(seeds)}"
    if not append:
        raise click.ClickException(
            f"--out {out_dir} already holds trajectories ({held}); pass --append to add "
            "games with fresh seeds, or choose another --out"
        )
    new = {seed + g for g in range(next_game, next_game + games)}
    reused = sorted(new & seeds)
    if reused:
        raise click.ClickException(
            f"--append: seed(s) {reused[:5]} are already in {out_dir} ({held}); "
            f"use --seed {max(seeds) + 1 - next_game} or more"
        )
    return next_game, next_episode


def _failure_text(failures: dict[str, int]) -> str:
    return f" {failures}" if failures else ""


def print_rollout_summary(summary: Any, out_dir: str | None, env_id: str | None = None) -> None:
    """Print a rollout summary (counts, rewards per role, the game's declared stats, speeds)."""
    click.echo(
        f"games {summary.games}, episodes {summary.episodes} "
        f"({summary.failed_episodes} failed{_failure_text(summary.failures)}), "
        f"turns {summary.turns}"
    )
    for role, value in summary.reward_by_role.items():
        click.echo(f"  mean reward {role}: {value:+.3f}")
    if env_id is not None:
        from vzgym.registration import facts_of

        for stat in facts_of(env_id).stats:
            value = summary.game_stats.get(stat.key)
            if value is not None:
                about = f"  ({stat.description})" if stat.description else ""
                click.echo(f"  {stat.key}: {value:.2f}{about}")
    click.echo(
        f"  tokens: {summary.generated_tokens} in {summary.model_seconds:.1f}s of model time "
        f"({summary.tokens_per_second:.1f} tok/s); wall {summary.wall_seconds:.1f}s; "
        f"outside the model {summary.overhead_ms_per_turn:.2f} ms/turn"
    )
    if out_dir:
        click.echo(f"  trajectories: {out_dir}/trajectories/*.parquet")


def _resolve_config(
    config_path: str | None,
    overrides: tuple[str, ...],
    flags: dict[str, Any],
    preset: str | None = None,
) -> Any:
    """Load the TOML config over the preset, apply ``--set`` overrides, then the flags."""
    from vzgym.config import ConfigError, load_config

    extra = [f"{key}={json.dumps(value)}" for key, value in flags.items() if value is not None]
    try:
        return load_config(config_path, [*overrides, *extra], preset=preset)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _print_config(config: Any) -> None:
    """Echo the resolved config as TOML, marking the values the preset decided."""
    from vzgym.config import to_toml
    from vzgym.presets import mark_preset_lines

    click.echo(mark_preset_lines(to_toml(config), config.preset_keys), nl=False)


def _preset_option(func: Any) -> Any:
    from vzgym.presets import preset_names

    return click.option(
        "--preset",
        default=None,
        help=f"Start from a paper's settings: {' | '.join(preset_names())} (docs/fidelity.md).",
    )(func)


def _run_dir(config: Any, run_dir: str | None, resume: bool) -> Path:
    """``--run-dir``, else ``logging.run_dir`` filled in (with ``--resume``: the newest match)."""
    from vzgym.config import format_run_dir
    from vzgym.rundir import RunDirError, newest_run, run_problem

    if run_dir:
        problem = run_problem(Path(run_dir)) if resume else None
        if problem:
            raise click.ClickException(f"--resume: {problem}")
        return Path(run_dir)
    if resume:
        try:
            return newest_run(config.logging.run_dir, config.env.id)
        except RunDirError as exc:
            raise click.ClickException(str(exc)) from exc
    return _claim_dir(Path(format_run_dir(config)))


def _claim_dir(path: Path) -> Path:
    """:func:`vzgym.rundir.claim_dir` with its error as a CLI error."""
    from vzgym.rundir import RunDirError, claim_dir

    try:
        return claim_dir(path)
    except RunDirError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command("train")
@click.option("--env", "env_id", default=None, help="Env id (default: spy-clevr).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML config file.",
)
@click.option("--set", "overrides", multiple=True, help="Override, e.g. trainer.lr=3e-5.")
@click.option(
    "-o", "--env-option", "env_options", multiple=True, help="Env option key=value (env.options)."
)
@click.option("--model", default=None, help="Model: 'tiny' or a local HF model directory.")
@click.option("--steps", type=int, default=None, help="Training steps.")
@click.option("--trainer", "backend", type=click.Choice(["local", "openrlhf"]), default=None)
@click.option(
    "--phase", default=None, help="adaptive | fixed-cycle:N | fixed:STAGE (e.g. fixed:clue)"
)
@click.option("--run-dir", default=None, type=click.Path(file_okay=False))
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir (or the newest).")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@_preset_option
@click.option("--gpus", type=int, default=None, help="GPUs per node (openrlhf backend).")
@click.option("--launch", is_flag=True, help="openrlhf backend: also run the printed command.")
def train_command(
    env_id: str | None,
    config_path: str | None,
    overrides: tuple[str, ...],
    env_options: tuple[str, ...],
    model: str | None,
    steps: int | None,
    backend: str | None,
    phase: str | None,
    run_dir: str | None,
    resume: bool,
    print_config: bool,
    preset: str | None,
    gpus: int | None,
    launch: bool,
) -> None:
    """Train a model by self-play on ENV with GRPO (local trainer by default)."""
    flags = {
        "env.id": env_id,
        "policy.model": model,
        "trainer.steps": steps,
        "trainer.backend": backend,
        "trainer.phase": phase,
    }
    flags.update({f"env.options.{k}": v for k, v in parse_options(env_options).items()})
    config = _resolve_config(config_path, overrides, flags, preset)
    if print_config:
        _print_config(config)
        return
    from vzgym.registration import check_env_options

    try:
        check_env_options(config.env.id, dict(config.env.options))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if config.policy.role_starts:
        click.echo(
            "note: policy.role_starts is read by `vzgym selfplay mm-zero` only; "
            f"`vzgym train` plays and trains {config.policy.model}"
        )
    out = _run_dir(config, run_dir, resume)
    if config.trainer.backend == "openrlhf":
        from vzgym.trainers.openrlhf.launch import train_with_openrlhf

        train_with_openrlhf(config, out, gpus=gpus, launch=launch, echo=click.echo)
        return
    from vzgym.trainers.local import LocalGRPOTrainer

    claimed = not run_dir and not resume  # made by _claim_dir just now, empty
    try:
        trainer = LocalGRPOTrainer(config, out, resume=resume)
    except BaseException as exc:
        if claimed and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a failed start leaves nothing behind
        if isinstance(exc, ValueError):
            raise click.ClickException(str(exc)) from exc
        raise
    click.echo(f"run dir: {out} (starting at step {trainer.start_step})")
    history = trainer.train()
    if history:
        first, last = history[0], history[-1]
        click.echo(
            f"done: {len(history)} step(s); reward {first['reward_mean']:+.3f} -> "
            f"{last['reward_mean']:+.3f}; model in {out / 'final'}; plots: vzgym plot {out}"
        )


@cli.group("selfplay")
def selfplay_group() -> None:
    """Multi-role self-play loops."""


@selfplay_group.command("mm-zero")
@click.option("--iterations", type=int, default=1, show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None)
@click.option("--set", "overrides", multiple=True, help="Override, e.g. trainer.steps=2.")
@click.option("--model", default=None, help="Base model for all three roles.")
@click.option("--steps", type=int, default=None, help="Training steps per role per iteration.")
@click.option("--run-dir", default=None, type=click.Path(file_okay=False))
@click.option("--resume", is_flag=True, help="Continue the loop in --run-dir.")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
@_preset_option
def mm_zero_command(
    iterations: int,
    config_path: str | None,
    overrides: tuple[str, ...],
    model: str | None,
    steps: int | None,
    run_dir: str | None,
    resume: bool,
    print_config: bool,
    preset: str | None,
) -> None:
    """MM-Zero: Proposer -> CodeGen -> Solver per iteration, each from its last version."""
    from vzgym.config import format_run_dir
    from vzgym.registration import UnknownEnvError
    from vzgym.rundir import already_holds_message, holds_files
    from vzgym.trainers.mmzero import run_mm_zero

    if iterations < 1:
        raise click.BadParameter(f"must be >= 1, got {iterations}", param_hint="--iterations")
    flags = {"env.id": "svg-propose", "policy.model": model, "trainer.steps": steps}
    config = _resolve_config(config_path, overrides, flags, preset)
    if print_config:
        _print_config(config)
        return
    if run_dir:
        out = Path(run_dir)
        if holds_files(out) and not resume:
            raise click.ClickException(already_holds_message(out))
    elif resume:
        raise click.ClickException("--resume needs --run-dir")
    else:  # logging.run_dir with {env} = "mm-zero": runs/mm-zero-<time> by default
        import copy

        named = copy.deepcopy(config)
        named.env.id = "mm-zero"
        out = _claim_dir(Path(format_run_dir(named)))
    try:
        records = run_mm_zero(config, out, iterations, log=click.echo)
    except (ValueError, UnknownEnvError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"done: {len(records)} role run(s) in {out}")


@cli.command("imitate")
@click.option("--env", "env_id", required=True, help="Env id, e.g. spy-clevr or toy-color.")
@click.option(
    "--teacher",
    default="scripted",
    show_default=True,
    help="Policy to imitate: scripted (the game's bot), openai:URL#model, hf:PATH ...",
)
@click.option("--model", default="tiny", show_default=True, help="Student: tiny, hf:PATH or PATH.")
@click.option("--steps", type=int, default=200, show_default=True, help="Optimizer steps.")
@click.option("--run-dir", default=None, help="Output folder (default runs/imitate-ENV-TIME).")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir.")
@click.option("-o", "--env-option", "options", multiple=True, help="Env option key=value.")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Turns per step.")
@click.option(
    "--mix-games",
    type=int,
    default=16,
    show_default=True,
    help="Teacher games whose turns are shuffled together before batching (1: game order).",
)
@click.option(
    "--phases",
    default="",
    help="Train only on turns of these phases, comma-separated (e.g. clue); default all.",
)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option(
    "--lr-schedule",
    type=click.Choice(["constant", "cosine"]),
    default="constant",
    show_default=True,
    help="After warm-up: constant, or cosine down to 10% of --lr.",
)
@click.option("--eval-every", type=int, default=50, show_default=True)
@click.option("--eval-games", type=int, default=16, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--max-answer-tokens", type=int, default=96, show_default=True, help="Teacher answers cut to."
)
@click.option(
    "--eval-blank-images",
    is_flag=True,
    help="Also evaluate with every image blanked (vision ablation; logged as blank/*).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def imitate_command(
    env_id: str,
    teacher: str,
    model: str,
    steps: int,
    run_dir: str | None,
    resume: bool,
    options: tuple[str, ...],
    batch_size: int,
    mix_games: int,
    phases: str,
    lr: float,
    lr_schedule: str,
    eval_every: int,
    eval_games: int,
    seed: int,
    max_answer_tokens: int,
    eval_blank_images: bool,
    no_progress: bool,
) -> None:
    """Behaviour cloning: teach a VLM to play like a teacher (the game's bots by default)."""
    import time

    from vzgym.trainers.imitate import ImitateConfig, ImitationTrainer

    if resume and run_dir is None:
        raise click.ClickException("--resume needs --run-dir")
    out = run_dir or f"runs/imitate-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}"
    config = ImitateConfig(
        env_id=env_id,
        env_options=parse_options(options),
        teacher=teacher,
        model=model,
        steps=steps,
        batch_size=batch_size,
        micro_batch_size=batch_size,
        mix_games=mix_games,
        phases=[p.strip() for p in phases.split(",") if p.strip()],
        lr=lr,
        lr_schedule=lr_schedule,
        eval_every=eval_every,
        eval_games=eval_games,
        seed=seed,
        max_answer_tokens=max_answer_tokens,
        eval_max_new_tokens=max_answer_tokens,
        eval_blank_images=eval_blank_images,
        progress=not no_progress,
    )
    try:
        trainer = ImitationTrainer(config, out, resume=resume)
        history = trainer.train()
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    last = next((m for m in reversed(history) if "eval/finished_rate" in m), {})
    shown = {k: round(v, 4) for k, v in last.items() if k.startswith(("eval/", "game/", "blank/"))}
    click.echo(f"run dir: {out}")
    click.echo(f"best: {trainer.best} (model in {Path(out) / 'best'})")
    click.echo(f"last evaluation: {json.dumps(shown)}")


@cli.command("plot")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False))
def plot_command(run_dir: str, out_dir: str | None) -> None:
    """Write PNG plots of a training run (rewards, stage, loss and the game's own panels)."""
    from vzgym.plot import plot_run

    try:
        paths = plot_run(run_dir, out_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in paths:
        click.echo(str(path))


@cli.group("model")
def model_group() -> None:
    """Model utilities."""


@model_group.command("init-tiny")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--layers", type=int, default=None, help="Text layers (default 2).")
@click.option("--heads", type=int, default=None, help="Attention heads of size 64 (default 1).")
def init_tiny_command(out_dir: str, seed: int, layers: int | None, heads: int | None) -> None:
    """Build the built-in tiny Qwen2.5-VL (random weights; a pipeline model, not a capable one).

    ``--layers`` / ``--heads`` build a larger model of the same family (e.g. a student
    for ``vzgym imitate``).
    """
    from vzgym.agents.tiny_model import build_tiny_model

    try:
        path = build_tiny_model(out_dir, seed=seed, layers=layers, heads=heads)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"tiny model written to {path}")


#: Commands vzgym defines itself (plugins cannot replace them).
_BUILTIN_COMMANDS: set[str] = set(cli.commands)


def main() -> None:
    """Entry point of the ``vzgym`` script (expected failures end as one ``Error:`` line)."""
    from vzgym.cli_errors import main_exit

    main_exit(cli)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
