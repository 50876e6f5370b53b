"""Policy specs for evaluation: everything :func:`vzgym.agents.spec.make_policy` takes,
plus a training run dir or a checkpoint dir.

* ``runs/x`` (a run dir): its ``final/`` model when the run finished, else its
  newest complete checkpoint;
* ``runs/x/checkpoints/step_000004`` (a checkpoint): its ``model/``;
* any folder with ``config.json``: that HF model;
* ``hf:`` in front of any of these is accepted.

A checkpoint of a LoRA run holds an adapter: it is loaded on the run's base
model (``policy.model`` of the run's ``config.toml``) and merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vzgym.agents.base import Policy

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder a spec points at, and the training step it was saved at (None: unknown)."""

    path: Path
    step: int | None
    adapter_base: Path | None = None


def _step_of(checkpoint: Path) -> int | None:
    try:
        return int(checkpoint.name.split("_", 1)[1])
    except (IndexError, ValueError):
        return None


def _run_steps(run_dir: Path) -> int | None:
    """The run's ``trainer.steps`` from its config.toml (the step ``final/`` stands for)."""
    try:
        data = tomllib.loads((run_dir / "config.toml").read_text())
        return int(data["trainer"]["steps"])
    except (OSError, KeyError, ValueError, TypeError, tomllib.TOMLDecodeError):
        return None


def _adapter_base(run_dir: Path, adapter: Path) -> Path | None:
    from vzgym.agents.tiny_model import base_model_spec

    data = tomllib.loads((run_dir / "config.toml").read_text())
    return model_path_of(base_model_spec(str(data["policy"]["model"]), adapter))


def model_path_of(spec: str) -> Path:
    """The local folder of a run's ``policy.model`` (``tiny[:vN]``, ``hf:PATH`` or ``PATH``)."""
    if spec.partition(":")[0] == "tiny":
        from vzgym.agents.tiny_model import tiny_model_dir

        return tiny_model_dir(spec if spec != "tiny:" else "tiny")
    path = Path(spec[3:] if spec.startswith("hf:") else spec).expanduser()
    if not path.is_dir():
        raise ValueError(f"model {spec!r} is not a local model directory")
    return path


def list_checkpoints(run_dir: Path) -> list[Path]:
    """A run's complete checkpoints, oldest first (``checkpoints/step_*`` with its
    ``trainer_state.pt``: the trainer renames a checkpoint into place only when complete)."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("step_*") if (p / "trainer_state.pt").is_file())


def run_checkpoints(run_dir: Path) -> list[ResolvedModel]:
    """Every loadable model of a run, oldest first: its checkpoints, then ``final/``."""
    out = []
    for ckpt in list_checkpoints(run_dir):
        out.append(_checkpoint_model(ckpt))
    final = run_dir / "final"
    if (final / "config.json").is_file():
        out.append(ResolvedModel(final, _run_steps(run_dir)))
    return out


def _checkpoint_model(ckpt: Path) -> ResolvedModel:
    model = ckpt / "model"
    if (model / "adapter_config.json").is_file():
        return ResolvedModel(model, _step_of(ckpt), _adapter_base(ckpt.parent.parent, model))
    return ResolvedModel(model, _step_of(ckpt))


def resolve_model_dir(spec: str) -> ResolvedModel | None:
    """The model a path-like spec points at; None when ``spec`` is not a path.

    Raises ``ValueError`` for a path that holds no loadable model.
    """
    raw = spec[3:] if spec.startswith("hf:") else spec
    looks_like_path = spec.startswith("hf:") or "/" in raw or raw.startswith(".")
    path = Path(raw).expanduser()
    if not looks_like_path and not path.is_dir():
        return None
    if not path.exists():
        raise ValueError(f"no model, run or checkpoint at {raw!r}")
    if (path / "trainer_state.pt").is_file() and (path / "model").is_dir():
        return _checkpoint_model(path)
    if (path / "config.json").is_file():
        return ResolvedModel(path, None)
    if (path / "checkpoints").is_dir() or (path / "final").is_dir():
        found = run_checkpoints(path)
        if not found:
            raise ValueError(f"run dir {raw!r} has no complete checkpoint and no final/ model")
        final = [m for m in found if m.path.name == "final"]
        return final[0] if final else found[-1]
    raise ValueError(
        f"{raw!r} is not a model folder (config.json), a run dir (checkpoints/, final/) "
        "or a checkpoint (model/, trainer_state.pt)"
    )


def load_model_policy(model: ResolvedModel, **options: Any) -> Policy:
    """An :class:`HFPolicy` for a resolved model (a LoRA adapter merged onto its base)."""
    from vzgym.agents.hf_policy import HFPolicy

    if model.adapter_base is None:
        return HFPolicy(model.path, **options)
    from peft import PeftModel

    from vzgym.agents.tiny_model import load_model_and_processor

    device = options.get("device") or ("cuda" if _cuda() else "cpu")
    base, processor = load_model_and_processor(model.adapter_base, device=device)
    merged = PeftModel.from_pretrained(base, str(model.path)).merge_and_unload()
    return HFPolicy(model.path, model=merged, processor=processor, **options)


def build_policy(spec: str, env_id: str, **options: Any) -> Policy:
    """Build the policy ``spec`` names (``ValueError`` with a one-line reason otherwise)."""
    from vzgym.agents.spec import make_policy

    model = resolve_model_dir(spec)
    if model is not None:
        return load_model_policy(model, **options)
    plain = spec.split(":")[0] in ("scripted", "human")
    return make_policy(spec, env_id=env_id, **({} if plain else options))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
