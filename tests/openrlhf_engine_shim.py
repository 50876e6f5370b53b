"""A CPU stand-in for OpenRLHF's vLLM engine actor, backed by transformers.

OpenRLHF's executors call ``await llm_engine.generate(prompt_token_ids,
sampling_params, multi_modal_data=None)`` on its ``RolloutRayActor``
(``openrlhf/trainer/ray/vllm_engine.py``) and read, from the vLLM
``RequestOutput`` it returns, ``outputs[0].token_ids``, ``.text``,
``.finish_reason`` and ``.logprobs`` (a list, per generated token, of dicts
``token_id -> Logprob(logprob=...)``).  :class:`TransformersEngine` does the
same on CPU with any local HF vision-language model (vzgym's tiny model in the
tests):

* like the actor, it first collapses runs of image-pad tokens to one
  placeholder per image (OpenRLHF's ``dedup_media_tokens``), then, like vLLM,
  expands each placeholder again from the image grid the image processor
  computes; with ``strict=True`` it raises if the re-expanded ids differ from the
  ids it was given, so a prompt whose image tokens do not match its images
  fails here as it would in vLLM;
* it samples with ``model.generate`` (temperature / top_p / top_k /
  ``max_tokens`` / ``min_tokens`` from the vLLM-style sampling params; special
  tokens other than end-of-sequence suppressed) and reports
  ``log_softmax(logits / T)`` of each sampled token (vLLM's
  ``processed_logprobs``) when ``sampling_params.logprobs`` is set;
* ``token_ids`` include the end-of-sequence token when generation stopped on
  it (as vLLM's do); ``text`` honours ``skip_special_tokens``.

It is a test double for contract checks, not an inference server: requests run
one at a time.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Logprob:
    """vLLM's per-token log-probability record."""

    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class CompletionOutput:
    """vLLM's ``CompletionOutput`` (the fields OpenRLHF reads, and a few more)."""

    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None
    logprobs: list[dict[int, Logprob]] | None
    finish_reason: str | None = None
    stop_reason: int | str | None = None


@dataclass
class RequestOutput:
    """vLLM's ``RequestOutput`` (finished)."""

    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]
    finished: bool = True
    multi_modal: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamplingParams:
    """The vLLM ``SamplingParams`` fields OpenRLHF's sample generator sets (CPU tests only)."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int | None = None
    min_tokens: int = 1
    skip_special_tokens: bool = False
    logprobs: int | None = None
    n: int = 1


def _dedup(token_ids: list[int], pad_ids: set[int]) -> list[int]:
    """Collapse runs of pad tokens (OpenRLHF's ``dedup_media_tokens``, used when importable)."""
    try:
        from openrlhf.utils.vlm_utils import dedup_media_tokens
    except ImportError:
        out: list[int] = []
        for tok in token_ids:
            if tok in pad_ids and out and out[-1] == tok:
                continue
            out.append(tok)
        return out
    return [int(t) for t in dedup_media_tokens(token_ids, pad_ids)]


class ImageAlignmentError(ValueError):
    """Image placeholders in a prompt do not match the images sent with it."""


class TransformersEngine:
    """``generate(prompt_token_ids, sampling_params, multi_modal_data=None)`` on CPU.

    Args:
        model, processor: a loaded HF VLM and its processor.
        seed: base seed; request ``i`` samples with ``seed + i`` (reproducible).
        strict: raise :class:`ImageAlignmentError` when re-expanding the image
            placeholders does not give back the exact ids passed in.
        num_threads: torch threads during generation (1 is fastest for tiny models).
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        seed: int = 0,
        strict: bool = True,
        num_threads: int | None = 1,
    ):
        from vzgym.agents.hf_policy import HFPolicy

        # HFPolicy knows the model's EOS ids, the special tokens to suppress and the
        # image token ids; reuse that set-up rather than duplicating it.
        self._policy = HFPolicy(model=model, processor=processor, num_threads=num_threads)
        self.model = model
        self.processor = processor
        self.tokenizer = self._policy.tokenizer
        self.seed = int(seed)
        self.strict = strict
        self.num_threads = num_threads
        self._counter = itertools.count()
        self.image_token_id: int | None = self._policy.image_token_id
        pad_ids = {
            getattr(processor, attr, None) for attr in ("image_token_id", "video_token_id")
        } - {None}
        #: The pad ids OpenRLHF's ``create_vllm_engines`` hands its actors.
        self.mm_pad_token_ids: set[int] = {int(i) for i in pad_ids}
        #: Every request: ``{"prompt_token_ids", "expanded_ids", "num_images"}`` (for tests).
        self.requests: list[dict[str, Any]] = []

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, **kwargs: Any) -> TransformersEngine:
        """Load ``path`` (default: vzgym's tiny model) on CPU and wrap it."""
        from vzgym.agents.tiny_model import default_model_dir, load_model_and_processor

        model, processor = load_model_and_processor(path or default_model_dir(), device="cpu")
        return cls(model, processor, **kwargs)

    def _expand(self, ids: list[int], images: list[Any]) -> tuple[list[int], dict[str, Any]]:
        """Expand one placeholder per image to its vision tokens (what vLLM does)."""
        if not images:
            if self.image_token_id is not None and self.image_token_id in ids:
                raise ImageAlignmentError(
                    "image placeholder tokens in a prompt sent without images"
                )
            return ids, {}
        vision = self.processor.image_processor(images=images, return_tensors="pt")
        grid = vision["image_grid_thw"]
        merge = int(getattr(self.processor.image_processor, "merge_size", 1) or 1) ** 2
        per_image = (grid.prod(dim=-1) // merge).tolist()
        slots = [i for i, tok in enumerate(ids) if tok == self.image_token_id]
        if len(slots) != len(images):
            raise ImageAlignmentError(
                f"{len(slots)} image placeholders (pad runs collapsed) but {len(images)} images"
            )
        out: list[int] = []
        k = 0
        for tok in ids:
            if tok == self.image_token_id:
                out.extend([tok] * int(per_image[k]))
                k += 1
            else:
                out.append(tok)
        return out, dict(vision)

    async def generate(
        self,
        prompt_token_ids: list[int],
        sampling_params: Any,
        multi_modal_data: dict[str, Any] | None = None,
    ) -> RequestOutput:
        """Generate one completion for token ids (+ images), shaped like vLLM's output."""
        import torch

        await asyncio.sleep(0)  # let other requests interleave, as in a real engine
        request = next(self._counter)
        given = [int(t) for t in prompt_token_ids]
        images = list((multi_modal_data or {}).get("image") or [])
        ids = _dedup(given, self.mm_pad_token_ids) if images else given
        expanded, vision = self._expand(ids, images)
        if self.strict and images and expanded != given and len(given) != len(ids):
            raise ImageAlignmentError(
                "re-expanding the image placeholders changed the prompt: the pre-expanded ids "
                "do not match the images' grids"
            )
        self.requests.append(
            {"prompt_token_ids": given, "expanded_ids": expanded, "num_images": len(images)}
        )
        inputs: dict[str, Any] = {
            "input_ids": torch.tensor([expanded], dtype=torch.long),
            "attention_mask": torch.ones((1, len(expanded)), dtype=torch.long),
        }
        for key, value in vision.items():
            inputs[key] = value
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        temperature = float(getattr(sampling_params, "temperature", 1.0) or 0.0)
        max_tokens = getattr(sampling_params, "max_tokens", None) or 16
        config = self._generation_config(sampling_params, int(max_tokens))
        threads = torch.get_num_threads()
        try:
            if self.num_threads:
                torch.set_num_threads(self.num_threads)
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                torch.manual_seed(self.seed + request)
                out = self.model.generate(**inputs, generation_config=config)
        finally:
            torch.set_num_threads(threads)
        new = out.sequences[0, len(expanded) :].tolist()
        eos = set(self._policy.eos_token_ids)
        stop = next((i for i, tok in enumerate(new) if tok in eos), None)
        finish = "stop" if stop is not None else "length"
        if stop is not None:
            new = new[: stop + 1]
        logprobs = None
        cumulative = None
        if getattr(sampling_params, "logprobs", None) is not None:
            scale = temperature if temperature > 0 else 1.0
            logits = torch.stack(list(out.logits), dim=1)[0].float()[: len(new)]
            logp = torch.log_softmax(logits / scale, dim=-1)
            values = logp.gather(-1, torch.tensor(new).unsqueeze(-1)).squeeze(-1).tolist()
            logprobs = [
                {tok: Logprob(logprob=float(v), rank=1)} for tok, v in zip(new, values, strict=True)
            ]
            cumulative = float(sum(values))
        skip = bool(getattr(sampling_params, "skip_special_tokens", False))
        text = self.tokenizer.decode(new, skip_special_tokens=skip)
        await asyncio.sleep(0)
        return RequestOutput(
            request_id=f"shim-{request}",
            prompt=None,
            prompt_token_ids=given,
            outputs=[CompletionOutput(0, text, new, cumulative, logprobs, finish)],
        )

    def _generation_config(self, params: Any, max_tokens: int) -> Any:
        from transformers import GenerationConfig

        temperature = float(getattr(params, "temperature", 1.0) or 0.0)
        greedy = temperature <= 0
        top_k = int(getattr(params, "top_k", -1) or -1)
        return GenerationConfig(
            do_sample=not greedy,
            temperature=1.0 if greedy else temperature,
            top_p=1.0 if greedy else float(getattr(params, "top_p", 1.0) or 1.0),
            top_k=50 if greedy else (top_k if top_k > 0 else 0),
            min_p=None if greedy else 0.0,
            repetition_penalty=1.0,
            num_beams=1,
            max_new_tokens=max(1, int(max_tokens)),
            min_new_tokens=max(0, min(int(getattr(params, "min_tokens", 0) or 0), max_tokens)),
            eos_token_id=list(self._policy.eos_token_ids),
            pad_token_id=self._policy.pad_token_id,
            suppress_tokens=list(self._policy.suppress_token_ids) or None,
            return_dict_in_generate=True,
            output_logits=True,
        )
