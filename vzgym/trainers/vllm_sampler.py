"""vLLM as the local trainer's rollout engine (``sampling.backend = "vllm"``).

The engine samples, the trainer (transformers, in this process) scores and updates, and
after every update the new weights go into the engine, as TRL and OpenRLHF do.  The
engine is a :class:`~vzgym.agents.vllm_engine.VLLMEngineProcess` (vLLM in its own venv,
``.venv-vllm``), wrapped in a :class:`~vzgym.agents.vllm_policy.VLLMPolicy`, so rollouts
get vLLM's exact sampled token ids and logprobs and the loss trains on exactly those ids
(the trainer's re-tokenisation check still compares prompt ids).  LoRA adapters are
merged for the transfer (the engine always holds full weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Rollout engines the local trainer knows.
SAMPLING_BACKENDS = ("hf", "vllm")


def make_vllm_sampler(model_path: Path, processor: Any, sampling: Any) -> Any:
    """A :class:`VLLMPolicy` over a worker-process engine loaded from ``model_path``.

    ``sampling`` is the run's ``SamplingConfig``: with ``max_prompt_tokens`` set, the
    engine's context is that plus ``max_new_tokens``.
    """
    from vzgym.agents.vllm_engine import VLLMEngineProcess
    from vzgym.agents.vllm_policy import VLLMPolicy

    kwargs: dict[str, Any] = {}
    if sampling.max_prompt_tokens:
        kwargs["max_model_len"] = int(sampling.max_prompt_tokens + sampling.max_new_tokens)
    engine = VLLMEngineProcess(model_path, **kwargs)
    policy = VLLMPolicy(model_path, engine=engine, processor=processor, sampling_params_cls=dict)
    policy.name = "model"
    return policy


def full_state_dict(model: Any) -> dict[str, Any]:
    """The model's weights under the base model's names (LoRA merged in, adapters dropped)."""
    if not hasattr(model, "merge_adapter"):
        return {k: v.detach() for k, v in model.state_dict().items()}
    model.merge_adapter()
    try:
        out = {}
        for key, value in model.state_dict().items():
            if "lora_" in key:
                continue
            name = key.removeprefix("base_model.model.").replace(".base_layer.", ".")
            out[name] = value.detach().clone()
        return out
    finally:
        model.unmerge_adapter()


def pause(sampler: Any) -> None:
    """Park the sampler's engine while the trainer updates (it resumes on its next call)."""
    pause_engine = getattr(sampler.engine, "pause", None)
    if pause_engine is not None:
        pause_engine()


def sync_weights(sampler: Any, model: Any) -> float:
    """Load ``model``'s current weights into the sampler's engine; returns seconds taken."""
    import time

    t0 = time.perf_counter()
    sampler.load_weights(full_state_dict(model))
    return time.perf_counter() - t0
