"""Paper presets: every setting the two papers (and their released code) fix, by name.

``--preset NAME`` (CLI) or ``preset = "NAME"`` (top of a TOML config) starts the run
config from these values; the config file and ``--set`` overrides still win.

* ``vision-zero`` — Vision-Zero (arXiv 2509.25541) as the paper states it; where the
  paper is silent, its released code (``wangqinsi1/Vision-Zero``).
* ``vision-zero-code`` — Vision-Zero as the released code runs it
  (``run_scripts/run_grpo_vision_zero.sh``, ``clevr_spotdiff_generator.py``).
* ``mm-zero`` — MM-Zero (arXiv 2603.09206) as its released EasyR1 configs run it
  (``MM-zero_final/configs/imagefree_*_config.yaml``, ``scripts/main_svg.sh``); the
  paper and the scripts agree on every value listed here.

Values are keyed by their dotted config path (``trainer.kl_coef``,
``env.options.num_players``, ``trainer.advantage_options.rae.alpha``).  This module
is the one source of truth: ``docs/fidelity.md`` shows the same values, and
``tests/test_presets.py`` checks that the table and this module agree.  Values that
are per-GPU in the papers (batch sizes over 8 GPUs) are given as the global batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_VISION_ZERO: dict[str, Any] = {
    "env.id": "spy-clevr",
    # game (paper Sec. 3 / Tab. 5): 4 civilians + 1 spy, 2 clue rounds, 4-6 objects,
    # two objects replaced in place
    "env.options.num_players": 5,
    "env.options.clue_rounds": 2,
    "env.options.num_objects": [4, 6],
    "env.options.num_changes": 2,
    "env.options.edit_kind": "replace",
    "env.options.spy_view": "edited",
    "env.options.reveal_roles": True,
    "env.options.decision": "civilians",
    "env.options.decision_reward": "paper",
    "env.options.beta": 0.1,
    "env.options.lam": 0.1,
    "env.options.invalid_clue_penalty": 0.0,
    "env.options.prompts": "paper",
    # sampling (released code: clue generation at temperature 0.8, up to 1024 tokens)
    "sampling.temperature": 0.8,
    "sampling.top_p": 1.0,
    "sampling.max_new_tokens": 1024,
    # GRPO (run_grpo_vision_zero.sh + TRL GRPOConfig defaults)
    "trainer.group_size": 8,
    "trainer.games_per_step": 8,
    "trainer.optimizer_steps": 1,
    "trainer.lr": 1e-5,
    "trainer.lr_schedule": "cosine",
    "trainer.warmup_ratio": 0.1,
    "trainer.weight_decay": 0.0,
    "trainer.grad_clip": 1.0,
    "trainer.kl_coef": 0.04,
    "trainer.clip_low": 0.2,
    "trainer.clip_high": 0.2,
    "trainer.dual_clip": 0.0,
    "trainer.loss_agg": "seq-mean-token-mean",
    # advantages: clue stage RAE (alpha 0.9, update first), decision stage per-phase
    # normalisation with the population std
    "trainer.advantages.clue": "rae",
    "trainer.advantages.decision": "group_norm",
    "trainer.advantage_options.rae.alpha": 0.9,
    "trainer.advantage_options.rae.order": "paper",
    "trainer.advantage_options.group_norm.ddof": 0,
    "trainer.advantage_options.group_norm.eps": 1e-8,
    # Iterative-SPO, Algorithm 1
    "trainer.phase": "adaptive",
    "trainer.phase_options.variant": "algorithm1",
    "trainer.phase_options.rho": 0.95,
    "trainer.phase_options.patience": 20,
    "trainer.phase_options.measure_games": 8,
}

_VISION_ZERO_CODE: dict[str, Any] = {
    **_VISION_ZERO,
    "env.options.num_players": 4,
    "env.options.decision": "observer",
    "env.options.observer_samples": 8,
    "env.options.decision_reward": "vz-code",
    "trainer.group_size": 1,
    "trainer.phase": "fixed-cycle:1",
}
for _key in [k for k in _VISION_ZERO_CODE if k.startswith("trainer.phase_options.")]:
    del _VISION_ZERO_CODE[_key]

_MM_ZERO: dict[str, Any] = {
    "env.id": "svg-propose",
    "env.options.prompts": "paper",
    "sampling.temperature": 1.0,
    "sampling.top_p": 0.99,
    "sampling.max_new_tokens": 4096,
    "trainer.steps": 20,
    "trainer.group_size": 8,
    "trainer.games_per_step": 64,
    "trainer.optimizer_steps": 2,
    "trainer.lr": 1e-6,
    "trainer.lr_schedule": "constant",
    "trainer.warmup_ratio": 0.0,
    "trainer.weight_decay": 0.01,
    "trainer.grad_clip": 1.0,
    "trainer.kl_coef": 0.01,
    "trainer.clip_low": 0.2,
    "trainer.clip_high": 0.3,
    "trainer.dual_clip": 3.0,
    "trainer.loss_agg": "token-mean",
    "trainer.advantages.*": "group_norm",
    "trainer.advantage_options.group_norm.ddof": 1,
    "trainer.advantage_options.group_norm.eps": 1e-6,
}

#: Preset name → {dotted config key: value}.
PRESETS: dict[str, dict[str, Any]] = {
    "vision-zero": _VISION_ZERO,
    "vision-zero-code": _VISION_ZERO_CODE,
    "mm-zero": _MM_ZERO,
}


def preset_names() -> list[str]:
    """Return the preset names, sorted."""
    return sorted(PRESETS)


def preset_values(name: str) -> dict[str, Any]:
    """Return a copy of preset ``name``'s flat ``{dotted key: value}``.

    Raises:
        ValueError: unknown preset (the message lists the known ones).
    """
    if name not in PRESETS:
        known = ", ".join(preset_names())
        raise ValueError(f"Unknown preset {name!r}. Known: {known}.")
    return dict(PRESETS[name])


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"a.b.c": v}`` into ``{"a": {"b": {"c": v}}}`` (lists copied)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = list(value) if isinstance(value, (list, tuple)) else value
    return out


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Inverse of :func:`nest`: nested mappings to ``{dotted key: leaf}``."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def merge_under(base: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge nested ``data`` over ``base`` (``data`` wins; tables merge key by key)."""
    out: dict[str, Any] = {k: v for k, v in base.items()}
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_under(out[key], value)
        else:
            out[key] = value
    return out


def apply_preset(name: str | None, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return nested config ``data`` over preset ``name`` and the keys the preset decided.

    The keys are the preset's dotted keys that ``data`` (a config file with its
    overrides applied) does not set itself.  ``name=None`` returns ``data`` unchanged.
    """
    if name is None:
        return dict(data), []
    flat = preset_values(name)
    own = flatten(data)
    decided = sorted(k for k in flat if k not in own)
    return merge_under(nest(flat), data), decided


def mark_preset_lines(toml_text: str, keys: Sequence[str]) -> str:
    """Append ``  # preset`` to the ``key = value`` lines of ``toml_text`` whose dotted key
    (table header + key) is in ``keys`` (or, for an inline table, holds one of them)."""
    wanted = set(keys)
    prefixes = {k.rsplit(".", i)[0] for k in wanted for i in range(1, k.count(".") + 1)}
    table = ""
    lines = []
    for line in toml_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            table = ".".join(part.strip().strip('"') for part in stripped[1:-1].split("."))
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip().strip('"')
            path = f"{table}.{key}" if table else key
            if path in wanted or path in prefixes:
                line = f"{line}  # preset"
        lines.append(line)
    return "\n".join(lines) + ("\n" if toml_text.endswith("\n") else "")
