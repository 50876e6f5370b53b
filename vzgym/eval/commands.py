"""Click commands of the evaluation package: ``vzgym eval``, ``vzgym arena``, ``vzgym serve``."""

from __future__ import annotations

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
    config = EvalConfig(
        env_id, policy, vs, games=games, first_seed=first_seed,
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
