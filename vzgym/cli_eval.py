"""Click commands of evaluation (`vzgym eval`, `vzgym arena`, `vzgym serve`), attached by the
built-in plugin; the work is done in :mod:`vzgym.eval`."""

from __future__ import annotations

from typing import Any

import click

from vzgym.eval.seeds import EVAL_SEED_BASE, HELD_OUT_HELP


def _sampling(temperature: float, top_p: float, max_new_tokens: int, seed: int | None) -> object:
    import math

    from vzgym.agents.base import SamplingParams

    if not (math.isfinite(temperature) and temperature >= 0) or not 0 < top_p <= 1:
        raise click.ClickException(
            f"--temperature must be a finite number >= 0 and --top-p in (0, 1], got "
            f"{temperature} and {top_p}"
        )
    if max_new_tokens < 1:
        raise click.ClickException(f"--max-new-tokens must be >= 1, got {max_new_tokens}")
    return SamplingParams(temperature, top_p, max_new_tokens, 1, seed)


def _blanked(policy: str, vs: str, env_id: str) -> tuple[Any, Any]:
    """Both policies built and wrapped so every image they see is flat gray."""
    from vzgym.agents.blank_images import BlankImagesPolicy
    from vzgym.eval.specs import build_policy

    try:
        return tuple(BlankImagesPolicy(build_policy(s, env_id)) for s in (policy, vs))  # type: ignore[return-value]
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("eval")
@click.option("--env", "env_id", required=True, help="Env id, e.g. spy-clevr.")
@click.option(
    "--policy", required=True,
    help="Policy A: tiny, hf:DIR, a run dir (newest checkpoint or final/), a checkpoint dir, "
    "vllm:DIR, openai:URL#model, scripted.",
)  # fmt: skip
@click.option("--vs", "vs", required=True, help="Policy B, the baseline (same forms).")
@click.option(
    "--games", type=int, default=16, show_default=True,
    help="Games in all: every seed is played once per seating (A and B swap roles), so this "
    "is rounded up to whole seeds.",
)  # fmt: skip
@click.option("--seed", "first_seed", type=int, default=EVAL_SEED_BASE, help=HELD_OUT_HELP)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write games/*.jsonl, trajectories and summary.json here.")  # fmt: skip
@click.option("--resume", is_flag=True, help="Finish the eval in --out: play only missing games.")
@click.option("-o", "--env-option", "options", multiple=True, help="Env option key=value.")
@click.option("--max-new-tokens", type=int, default=64, show_default=True)
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--sampling-seed", type=int, default=0, show_default=True)
@click.option("--batch", type=int, default=16, show_default=True,
              help="Seeds per batched rollout (and per durable commit).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of text.")
@click.option(
    "--blank-images", is_flag=True,
    help="Vision ablation: both policies see flat gray images instead of the real ones.",
)  # fmt: skip
def eval_command(
    env_id: str,
    policy: str,
    vs: str,
    games: int,
    first_seed: int,
    out_dir: str | None,
    resume: bool,
    options: tuple[str, ...],
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    sampling_seed: int,
    batch: int,
    as_json: bool,
    blank_images: bool,
) -> None:
    """Win rate of policy A against B on held-out seeds, seats swapped.

    Every seed is played once per seating (with two roles: A as spy against B's
    civilians, then the reverse), so each policy plays each role equally often on
    the same deals.  Who won comes only from the game's declared outcome; a game
    where each agent is its own team (the SVG world) is compared paired: A alone
    and B alone on the same seed, higher mean score wins.  Draws count half a win;
    the interval is the 95% Wilson score interval.
    """
    import json

    from vzgym.cli import parse_options
    from vzgym.eval.match import EvalConfig, run_eval
    from vzgym.eval.summary import format_summary

    if resume and not out_dir:
        raise click.ClickException("--resume needs --out")
    policies: tuple[Any, Any] = (policy, vs)
    labels = None
    if blank_images:
        policies, labels = _blanked(policy, vs, env_id), (f"{policy} [blank]", f"{vs} [blank]")
    config = EvalConfig(
        env_id, policies[0], policies[1], games=games, first_seed=first_seed, labels=labels,
        env_kwargs=parse_options(options),
        sampling=_sampling(temperature, top_p, max_new_tokens, sampling_seed),  # type: ignore[arg-type]
        out_dir=out_dir, resume=resume, batch=batch,
    )  # fmt: skip
    try:
        result = run_eval(config, log=lambda msg: click.echo(msg, err=True))
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    if as_json:
        click.echo(json.dumps(result.summary, indent=2, default=str))
        return
    format_summary(result.summary, click.echo)
    if out_dir:
        click.echo(f"summary: {out_dir}/summary.json; trajectories: {out_dir}/trajectories/")


@click.command("serve")
@click.argument("model")
@click.option("--port", type=int, default=8000, show_default=True, help="0 picks a free port.")
@click.option(
    "--host", default="127.0.0.1", show_default=True,
    help="Address to listen on (loopback by default: the server has no authentication).",
)  # fmt: skip
@click.option("--model-name", default="vzgym", show_default=True,
              help="The model id clients must send ('model' field).")  # fmt: skip
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA if present).")
@click.option("--max-prompt-tokens", type=int, default=None, help="Longest prompt accepted.")
def serve_command(
    model: str,
    port: int,
    host: str,
    model_name: str,
    device: str | None,
    max_prompt_tokens: int | None,
) -> None:
    """Serve MODEL (tiny, hf:DIR, a run dir or a checkpoint) as an OpenAI-compatible API.

    Endpoints: POST /v1/chat/completions (text and base64 data-URL images),
    GET /v1/models, GET /health.  For benchmark harnesses (lmms-eval's
    openai_compatible model, VLMEvalKit's API mode): see docs/evaluation.md.
    Stop with Ctrl-C.
    """
    import signal
    import threading

    from vzgym.agents.openai_server import serve_policy
    from vzgym.eval.specs import resolve_model_dir

    if not 0 <= port <= 65535:
        raise click.ClickException(f"--port must be in 0..65535, got {port}")
    try:
        resolved = resolve_model_dir(model) if model not in ("tiny", "tiny:") else None
        if resolved is None and model not in ("tiny", "tiny:"):
            raise ValueError(
                f"cannot serve {model!r}: give 'tiny', hf:DIR, a model folder, a run dir or "
                "a checkpoint dir"
            )
        from vzgym.eval.specs import ResolvedModel, load_model_policy

        if resolved is None:
            from vzgym.agents.tiny_model import default_model_dir

            resolved = ResolvedModel(default_model_dir(), None)
        options = {"device": device, "max_prompt_tokens": max_prompt_tokens}
        policy = load_model_policy(resolved, **{k: v for k, v in options.items() if v})
        server, url = serve_policy(policy, host=host, port=port, model_name=model_name)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"serving {resolved.path} as model {model_name!r} at {url}", nl=True)
    sys_stdout_flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo("server stopped")


def sys_stdout_flush() -> None:
    """Flush stdout (a parent process waits for the URL line)."""
    import sys

    sys.stdout.flush()


@click.command("arena")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("policies", nargs=-1)
@click.option("--env", "env_id", default=None, help="Env id (default: the run's).")
@click.option("-o", "--env-option", "options", multiple=True, help="Env option key=value.")
@click.option("--games", type=int, default=8, show_default=True, help="Games per pair.")
@click.option("--base/--no-base", default=True, help="Include the run's starting model.")
@click.option("--scripted/--no-scripted", default=True, help="Include the game's scripted bot.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Default: RUN_DIR/arena.")  # fmt: skip
@click.option("--max-new-tokens", type=int, default=64, show_default=True)
@click.option("--temperature", type=float, default=1.0, show_default=True)
def arena_command(
    run_dir: str,
    policies: tuple[str, ...],
    env_id: str | None,
    options: tuple[str, ...],
    games: int,
    base: bool,
    scripted: bool,
    out_dir: str | None,
    max_new_tokens: int,
    temperature: float,
) -> None:
    """Rate a run's checkpoints, its base model, the scripted bot and POLICIES with openskill.

    Every pair plays --games held-out games with seats swapped (as `vzgym eval`);
    pairs already played are kept in OUT/pairs/, so after a new checkpoint only the
    new games are played.  Writes OUT/arena.json and OUT/arena.png (rating vs step).
    """
    from pathlib import Path

    from vzgym.cli import parse_options
    from vzgym.eval.arena import play_arena, plot_arena, run_entrants, run_env
    from vzgym.registration import get_registry

    run = Path(run_dir)
    if not run.is_dir():
        raise click.ClickException(f"no run dir {run_dir}")
    if games < 1:
        raise click.ClickException(f"--games must be >= 1, got {games}")
    try:
        env, env_kwargs = run_env(run)
        env = env_id or env
        env_kwargs = parse_options(options) if env_id else {**env_kwargs, **parse_options(options)}
        extra = list(policies)
        has_bot = get_registry().spec(env).scripted_policy is not None
        if scripted and has_bot and "scripted" not in extra:
            extra.append("scripted")
        entrants = run_entrants(run, base, extra)
        out = Path(out_dir) if out_dir else run / "arena"
        sampling = _sampling(temperature, 1.0, max_new_tokens, 0)
        arena = play_arena(
            entrants, env, env_kwargs, out, games, sampling,  # type: ignore[arg-type]
            log=lambda m: click.echo(m, err=True),
        )  # fmt: skip
        plot = plot_arena(arena, out / "arena.png")
    except (ValueError, KeyError, OSError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    click.echo(f"{'policy':<24} {'step':>5} {'rating':>8} {'sigma':>7} {'mu-3s':>7} {'games':>6}")
    for row in arena["ratings"]:
        step = "" if row["step"] is None else str(row["step"])
        click.echo(
            f"{row['name'][:24]:<24} {step:>5} {row['mu']:8.2f} {row['sigma']:7.2f} "
            f"{row['ordinal']:7.2f} {row['games']:6d}"
        )
    click.echo(f"arena: {out / 'arena.json'}; plot: {plot}")
