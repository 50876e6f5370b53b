"""The ``hf`` policy backend: transformers ``generate`` on CPU or GPU.

:class:`HFPolicy` answers a batch of observations with ``n`` sampled
completions each:

* prompts are rendered with the processor's chat template
  (:func:`vzgym.agents.chat.render_prompt`) and processed together with their
  images (left padding; each observation is repeated ``n`` times in the batch,
  row order ``obs0/c0, obs0/c1, ..., obs1/c0, ...``);
* before every model call the image placeholders are checked against the
  images one to one (:func:`check_image_placeholders`), so a double expansion
  or a lost image fails loudly instead of silently training on garbage;
* special tokens (``<|image_pad|>``, ``<|vision_start|>``, ``<|im_start|>`` ...)
  and ids beyond the tokenizer's vocabulary are suppressed at sampling time;
  the end-of-sequence ids (``<|im_end|>``, ``<|endoftext|>``, the tokenizer's
  EOS) stay allowed;
* an observation whose prompt is longer than ``max_prompt_tokens`` gets ``n``
  completions with ``finish_reason="error"`` and ``meta["error"] ==
  "prompt_too_long"`` (image tokens are never cut; shortening text is the
  game's job); the rest of the batch is generated normally.  The same holds,
  with ``meta["error"] == "processor_error"``, for an observation the processor
  rejects (e.g. an image with an aspect ratio above 200), and with
  ``"render_error"`` for one the chat template cannot render.

Log-probabilities
-----------------
``Completion.logprobs[i]`` is ``log_softmax(logits_i / T)[token_i]`` where
``logits_i`` are the model's *raw* logits at step ``i`` (``output_logits``, i.e.
before any logits processor) and ``T`` is the sampling temperature (``T = 1``
for greedy decoding, ``temperature == 0``).  This is exactly what a trainer
recomputes with a plain forward pass over prompt + completion (see
:meth:`HFPolicy.completion_logprobs`).  It is *not* renormalised for ``top_p``
truncation nor for the suppressed special tokens: with ``top_p < 1`` the true
sampling probability of a token is somewhat higher than reported.

Memory: ``generate`` keeps the raw logits of every step (``rows x steps x
vocab`` in the model's dtype) until the logprobs are taken; with a 150k vocab
bound ``max_batch_size`` accordingly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from vzgym.agents.chat import render_prompt
from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams


class ImagePlaceholderMismatch(ValueError):
    """Image placeholder tokens in ``input_ids`` do not match the images one to one."""


def check_image_placeholders(
    inputs: dict[str, Any],
    images_per_row: Sequence[int],
    *,
    image_token_id: int | None,
    vision_start_token_id: int | None = None,
    merge_size: int | None = None,
) -> None:
    """Assert that image placeholders and images match one to one, row by row.

    For each row ``r`` of ``inputs["input_ids"]`` (padding excluded via
    ``attention_mask``):

    * the number of ``vision_start_token_id`` tokens must equal
      ``images_per_row[r]`` (one ``<|vision_start|>`` per image);
    * the number of ``image_token_id`` tokens must equal the sum over the row's
      images of ``prod(image_grid_thw) // merge_size**2`` (the processor's own
      expansion rule), images being assigned to rows in order.

    Also checks that ``image_grid_thw`` has one row per image and that
    ``pixel_values`` has ``sum(prod(image_grid_thw))`` patch rows.  Checks whose
    ids or inputs are unavailable (non-Qwen processors) are skipped.

    Raises:
        ImagePlaceholderMismatch: on any mismatch, naming the row and both counts.
    """
    input_ids = inputs["input_ids"]
    mask = inputs.get("attention_mask")
    if mask is None:
        mask = torch.ones_like(input_ids)
    n_rows = int(input_ids.shape[0])
    if len(images_per_row) != n_rows:
        raise ImagePlaceholderMismatch(
            f"{n_rows} prompt rows but image counts were given for {len(images_per_row)} rows"
        )
    total_images = int(sum(images_per_row))
    valid = mask.bool()
    if vision_start_token_id is not None:
        starts = ((input_ids == vision_start_token_id) & valid).sum(dim=1).tolist()
        for r, (got, want) in enumerate(zip(starts, images_per_row, strict=True)):
            if got != want:
                raise ImagePlaceholderMismatch(
                    f"row {r}: {got} <|vision_start|> tokens but {want} images"
                )
    grid = inputs.get("image_grid_thw")
    if image_token_id is None:
        return
    pads = ((input_ids == image_token_id) & valid).sum(dim=1).tolist()
    if grid is None:
        if total_images == 0 and any(pads):
            r = next(i for i, p in enumerate(pads) if p)
            raise ImagePlaceholderMismatch(f"row {r}: {pads[r]} image tokens but no images")
        return
    if int(grid.shape[0]) != total_images:
        raise ImagePlaceholderMismatch(
            f"image_grid_thw has {int(grid.shape[0])} rows but there are {total_images} images"
        )
    patches = grid.prod(dim=-1)
    pixel_values = inputs.get("pixel_values")
    if pixel_values is not None and int(pixel_values.shape[0]) != int(patches.sum()):
        raise ImagePlaceholderMismatch(
            f"pixel_values has {int(pixel_values.shape[0])} patch rows but image_grid_thw "
            f"accounts for {int(patches.sum())}"
        )
    merge = int(merge_size or 1) ** 2
    tokens_per_image = (patches // merge).tolist()
    start = 0
    for r, count in enumerate(images_per_row):
        want = int(sum(tokens_per_image[start : start + count]))
        start += count
        if pads[r] != want:
            raise ImagePlaceholderMismatch(
                f"row {r}: {pads[r]} image placeholder tokens but its {count} image(s) need "
                f"{want} (sum of image_grid_thw products / merge_size**2)"
            )


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class HFPolicy(Policy):
    """A transformers vision-language model as a vzgym :class:`Policy`.

    Args:
        model_path: a local HF model directory (anything
            ``AutoModelForImageTextToText``/``AutoProcessor`` load); ``None``
            means vzgym's default tiny model (built into the cache on first use).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...; default CUDA if available.
        dtype: torch dtype; default float32 on CPU, bfloat16 on CUDA.
        max_prompt_tokens: longest prompt (in tokens, images included) that is
            generated for; default ``max_position_embeddings - max_new_tokens``.
        attn_implementation: passed to ``from_pretrained`` (``"sdpa"``, ``"eager"`` ...).
        model, processor: an already loaded model and processor (e.g. shared
            with a trainer); both must be given to skip loading.
        max_batch_size: most prompt rows (observations x ``n``) per ``generate``
            call; default: all in one call.
        num_threads: torch intra-op threads while generating/scoring on CPU
            (set around each call, then restored).  Default: 1 for models under
            100M parameters (for tiny matrices OpenMP's thread handoff costs far
            more than it saves, and on a busy machine 2 threads were measured
            20-100x slower than 1), else torch's setting is left alone.
    """

    name = "hf"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        device: str | None = None,
        dtype: Any = None,
        max_prompt_tokens: int | None = None,
        attn_implementation: str | None = None,
        model: Any = None,
        processor: Any = None,
        max_batch_size: int | None = None,
        num_threads: int | None = None,
    ):
        if model is None or processor is None:
            from vzgym.agents.tiny_model import default_model_dir, load_model_and_processor

            path = Path(model_path) if model_path is not None else default_model_dir()
            kwargs: dict[str, Any] = {}
            if attn_implementation is not None:
                kwargs["attn_implementation"] = attn_implementation
            loaded_model, loaded_processor = load_model_and_processor(
                path, device=device or _default_device(), dtype=dtype, **kwargs
            )
            model = model if model is not None else loaded_model
            processor = processor if processor is not None else loaded_processor
            self.model_path: Path | None = path
        else:
            self.model_path = Path(model_path) if model_path is not None else None
            if device is not None:
                model.to(device)
        self.model = model
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.tokenizer.padding_side = "left"
        self.max_prompt_tokens = max_prompt_tokens
        self.max_batch_size = max_batch_size
        if num_threads is None:
            n_params = sum(p.numel() for p in self.model.parameters())
            num_threads = 1 if n_params < 100_000_000 else None
        self.num_threads = num_threads
        self._setup_token_ids()

    # ------------------------------------------------------------------ setup

    @property
    def device(self) -> torch.device:
        """The device the model's parameters live on."""
        return next(self.model.parameters()).device

    def _setup_token_ids(self) -> None:
        tok = self.tokenizer
        config = self.model.config
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        eos: set[int] = set()
        gen_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        for value in (gen_eos, tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")):
            if value is None:
                continue
            for v in value if isinstance(value, (list, tuple)) else [value]:
                if v is not None and v != tok.unk_token_id:
                    eos.add(int(v))
        self.eos_token_ids: list[int] = sorted(eos)
        pad = tok.pad_token_id
        self.pad_token_id: int = int(pad if pad is not None else self.eos_token_ids[0])

        special: set[int] = set()
        for idx, added in (getattr(tok, "added_tokens_decoder", {}) or {}).items():
            if getattr(added, "special", False):
                special.add(int(idx))
        special.update(int(i) for i in (getattr(tok, "all_special_ids", []) or []))
        vocab_size = int(getattr(text_config, "vocab_size", len(tok)) or len(tok))
        special.update(range(len(tok), vocab_size))  # ids the tokenizer cannot decode
        #: Token ids never sampled (special tokens except EOS, ids beyond the tokenizer).
        self.suppress_token_ids: list[int] = sorted(special - eos)

        self.image_token_id: int | None = getattr(config, "image_token_id", None)
        self.vision_start_token_id: int | None = getattr(config, "vision_start_token_id", None)
        image_processor = getattr(self.processor, "image_processor", None)
        self.merge_size: int | None = getattr(image_processor, "merge_size", None)
        self.max_position_embeddings: int | None = getattr(
            text_config, "max_position_embeddings", None
        )

    def compute_threads(self) -> contextlib.AbstractContextManager[None]:
        """Use this policy's ``num_threads`` for torch work in the block (CPU models only).

        Trainers wrap their backward pass in it too: a backward pass outside it runs
        on torch's default thread count, which for tiny models on a busy CPU was
        measured 10x slower than one thread (0.34 s vs 3.8-4.5 s for 8 toy samples).
        """
        return self._threads()

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        """Use ``num_threads`` torch threads inside the block (CPU models only)."""
        if self.num_threads is None or self.device.type != "cpu":
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(int(self.num_threads))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def prompt_limit(self, max_new_tokens: int) -> int | None:
        """Return the longest prompt generated for (see ``max_prompt_tokens``)."""
        if self.max_prompt_tokens is not None:
            return int(self.max_prompt_tokens)
        if self.max_position_embeddings is None:
            return None
        return int(self.max_position_embeddings) - int(max_new_tokens)

    # ----------------------------------------------------------------- inputs

    def _process(self, prompts: Sequence[str], images: Sequence[Sequence[Any]]) -> dict[str, Any]:
        flat = [img for imgs in images for img in imgs]
        kwargs: dict[str, Any] = {"text": list(prompts), "padding": True, "return_tensors": "pt"}
        if flat:
            kwargs["images"] = flat
        return dict(self.processor(**kwargs))

    def prompt_inputs(self, observations: Sequence[Observation], repeat: int = 1) -> dict[str, Any]:
        """Return the exact processor outputs the model is given for ``observations``.

        One row per observation (each repeated ``repeat`` times in a row, as
        :meth:`generate` does for ``n > 1``), on the model's device:

        * ``input_ids`` / ``attention_mask``: ``[rows, L]`` long tensors, *left*
          padded with the pad token (the prompt ends at column ``L - 1``);
        * ``pixel_values``: ``[total_patches, C*T*P*P]`` patches (in the model's
          dtype) of all images of all rows, concatenated in row order;
        * ``image_grid_thw``: ``[num_images, 3]`` (temporal, height, width) patch
          grid of each image, in the same order;
        * whatever else the processor emits (``mm_token_type_ids`` in recent
          transformers) - pass everything through to the model.

        ``pixel_values`` / ``image_grid_thw`` are absent when no row has images.
        Placeholders are checked against the images before returning.  To score
        completions, append them on the right (see :meth:`completion_logprobs`).
        """
        prompts, images = self._render(observations)
        rows_p = [p for p in prompts for _ in range(repeat)]
        rows_i = [i for i in images for _ in range(repeat)]
        inputs = self._process(rows_p, rows_i)
        self._check(inputs, [len(i) for i in rows_i])
        return self._to_device(inputs)

    def _to_device(self, inputs: dict[str, Any]) -> dict[str, Any]:
        moved = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in inputs.items()}
        if "pixel_values" in moved:
            moved["pixel_values"] = moved["pixel_values"].to(self.model.dtype)
        return moved

    def _render(self, observations: Sequence[Observation]) -> tuple[list[str], list[list[Any]]]:
        prompts: list[str] = []
        images: list[list[Any]] = []
        for obs in observations:
            prompt, imgs = render_prompt(self.processor, obs)
            prompts.append(prompt)
            images.append(imgs)
        return prompts, images

    def _check(self, inputs: dict[str, Any], images_per_row: Sequence[int]) -> None:
        check_image_placeholders(
            inputs,
            images_per_row,
            image_token_id=self.image_token_id,
            vision_start_token_id=self.vision_start_token_id,
            merge_size=self.merge_size,
        )

    # --------------------------------------------------------------- generate

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Return ``sampling.n`` completions for each observation, in order.

        With ``sampling.seed`` set, results are reproducible for the same batch
        (same observations, ``n`` and ``max_batch_size``); the global torch RNG
        state is restored afterwards.  See the module docstring for logprobs,
        finish reasons and the per-observation error completions.
        """
        sampling = sampling or SamplingParams()
        n = max(1, int(sampling.n))
        results: list[list[Completion] | None] = [None] * len(observations)
        if not observations:
            return []
        limit = self.prompt_limit(sampling.max_new_tokens)

        # 1. render + process the batch once: exact prompt lengths and ids.  If the
        #    processor rejects the batch, redo it one observation at a time so only
        #    the culprits fail.
        prompts: list[str] = [""] * len(observations)
        images: list[list[Any]] = [[] for _ in observations]
        prompt_ids: list[list[int]] = [[] for _ in observations]
        rendered: list[int] = []
        for i, obs in enumerate(observations):
            try:
                prompts[i], images[i] = render_prompt(self.processor, obs)
                rendered.append(i)
            except Exception as exc:  # noqa: BLE001 - one bad observation must not sink the batch
                results[i] = _errors(n, "render_error", message=f"{type(exc).__name__}: {exc}")
        try:
            groups = [rendered] if rendered else []
            processed = [
                self._process([prompts[i] for i in rendered], [images[i] for i in rendered])
            ]
        except Exception:  # noqa: BLE001
            groups, processed = [], []
            for i in rendered:
                try:
                    processed.append(self._process([prompts[i]], [images[i]]))
                    groups.append([i])
                except Exception as exc:  # noqa: BLE001
                    msg = f"{type(exc).__name__}: {exc}"
                    results[i] = _errors(n, "processor_error", message=msg)
        ok: list[int] = []
        for group, inputs in zip(groups, processed, strict=True):
            for row, i in enumerate(group):
                ids = inputs["input_ids"][row][inputs["attention_mask"][row].bool()].tolist()
                prompt_ids[i] = ids
                if limit is not None and len(ids) > limit:
                    results[i] = _errors(
                        n,
                        "prompt_too_long",
                        message=f"prompt has {len(ids)} tokens, the limit is {limit}",
                        prompt_tokens=len(ids),
                        max_prompt_tokens=limit,
                        prompt_token_ids=ids,
                    )
                else:
                    ok.append(i)
        ok.sort()

        # 2. generate for the rest: every kept observation repeated n times.
        rows = [i for i in ok for _ in range(n)]
        chunk = self.max_batch_size or max(1, len(rows))
        chunk = max(1, (chunk // n) * n) if chunk >= n else chunk
        done: list[Completion] = []
        # The batch as processed in step 1 is reused when it is exactly the rows to generate
        # (n == 1, nothing dropped, one chunk): images are then processed once per call.
        reuse = n == 1 and len(groups) == 1 and groups[0] == ok and chunk >= len(rows)
        with _seeded(sampling.seed), self._threads():
            for start in range(0, len(rows), chunk):
                part = rows[start : start + chunk]
                done.extend(
                    self._generate_rows(
                        [prompts[i] for i in part],
                        [images[i] for i in part],
                        sampling,
                        inputs=processed[0] if reuse else None,
                    )
                )
        for k, i in enumerate(ok):
            comps = done[k * n : (k + 1) * n]
            for c in comps:
                c.prompt_token_ids = list(prompt_ids[i])
                c.meta["prompt_tokens"] = len(prompt_ids[i])
                c.meta["num_images"] = len(images[i])
            results[i] = comps
        return [r if r is not None else [] for r in results]

    def _generation_kwargs(self, sampling: SamplingParams) -> dict[str, Any]:
        from transformers import GenerationConfig

        greedy = sampling.temperature is None or sampling.temperature <= 0
        # Every sampling knob is explicit so a model's own generation_config.json
        # (Qwen2.5-VL ships top_k=1, repetition_penalty=1.05 ...) cannot leak in.
        config = GenerationConfig(
            do_sample=not greedy,
            temperature=1.0 if greedy else float(sampling.temperature),
            top_p=1.0 if greedy else float(sampling.top_p),
            top_k=50 if greedy else 0,  # 50 = "unset" for greedy (no warning)
            min_p=None if greedy else 0.0,
            typical_p=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            num_beams=1,
            num_return_sequences=1,
            max_new_tokens=int(sampling.max_new_tokens),
            eos_token_id=list(self.eos_token_ids),
            pad_token_id=self.pad_token_id,
            suppress_tokens=list(self.suppress_token_ids) or None,
            return_dict_in_generate=True,
            output_logits=True,
            output_scores=False,
        )
        return {"generation_config": config}

    @torch.no_grad()
    def _generate_rows(
        self,
        prompts: Sequence[str],
        images: Sequence[Sequence[Any]],
        sampling: SamplingParams,
        inputs: dict[str, Any] | None = None,
    ) -> list[Completion]:
        if inputs is None:
            inputs = self._process(prompts, images)
        self._check(inputs, [len(i) for i in images])
        inputs = self._to_device(inputs)
        prompt_len = int(inputs["input_ids"].shape[1])
        t0 = time.perf_counter()
        out = self.model.generate(**inputs, **self._generation_kwargs(sampling))
        seconds = time.perf_counter() - t0
        new_tokens = out.sequences[:, prompt_len:]
        temperature = float(sampling.temperature) if sampling.temperature else 0.0
        scale = temperature if temperature > 0 else 1.0
        # one step at a time: never materialise a float32 [rows, steps, vocab] copy
        token_logp = torch.zeros(new_tokens.shape, dtype=torch.float32)
        for step, step_logits in enumerate(out.logits or ()):
            logp = torch.log_softmax(step_logits.float() / scale, dim=-1)
            token_logp[:, step] = logp.gather(-1, new_tokens[:, step : step + 1])[:, 0].cpu()
        del out
        eos = torch.tensor(self.eos_token_ids, device=new_tokens.device)
        completions: list[Completion] = []
        for r in range(new_tokens.shape[0]):
            ids = new_tokens[r].tolist()
            is_eos = torch.isin(new_tokens[r], eos).nonzero()
            if len(is_eos):
                end = int(is_eos[0]) + 1
                finish = "stop"
            else:
                end = len(ids)
                finish = "length"
            ids = ids[:end]
            completions.append(
                Completion(
                    text=self.tokenizer.decode(ids, skip_special_tokens=True),
                    token_ids=ids,
                    logprobs=token_logp[r, :end].tolist(),
                    finish_reason=finish,
                    meta={"generate_seconds": seconds, "batch_rows": int(new_tokens.shape[0])},
                )
            )
        return completions

    # ---------------------------------------------------------------- scoring

    def completion_logprobs(
        self,
        observations: Sequence[Observation],
        token_ids: Sequence[Sequence[int]],
        *,
        temperature: float = 1.0,
        repeat: int = 1,
        grad: bool = False,
    ) -> list[torch.Tensor]:
        """Recompute per-token logprobs of completions with one plain forward pass.

        ``token_ids[k]`` is the completion of row ``k`` of
        :meth:`prompt_inputs` ``(observations, repeat)``.  Completions are
        appended on the right of the left-padded prompts (right padding, masked
        out); the model sees ``prompt_inputs`` plus the extended ``input_ids``
        and ``attention_mask``.  Returns one ``[len(token_ids[k])]`` float tensor
        per row: ``log_softmax(logits / temperature)`` at the completion tokens
        (the same quantity :meth:`generate` reports).  With ``grad=True`` the
        graph is kept (for training).
        """
        inputs = self.prompt_inputs(observations, repeat=repeat)
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
        rows, prompt_len = ids.shape
        if len(token_ids) != rows:
            raise ValueError(f"{rows} prompt rows but {len(token_ids)} completions")
        width = max((len(t) for t in token_ids), default=0)
        comp = torch.full((rows, width), self.pad_token_id, dtype=ids.dtype, device=ids.device)
        comp_mask = torch.zeros((rows, width), dtype=mask.dtype, device=mask.device)
        for k, toks in enumerate(token_ids):
            comp[k, : len(toks)] = torch.tensor(list(toks), dtype=ids.dtype)
            comp_mask[k, : len(toks)] = 1
        full = dict(inputs)
        full["input_ids"] = torch.cat([ids, comp], dim=1)
        full["attention_mask"] = torch.cat([mask, comp_mask], dim=1)
        if "mm_token_type_ids" in full:
            zeros = torch.zeros_like(comp)
            full["mm_token_type_ids"] = torch.cat([full["mm_token_type_ids"], zeros], dim=1)
        with torch.set_grad_enabled(grad), self._threads():
            logits = self.model(**full, use_cache=False).logits[:, prompt_len - 1 : -1].float()
            logp = torch.log_softmax(logits / (temperature or 1.0), dim=-1)
            token_logp = logp.gather(-1, comp.unsqueeze(-1)).squeeze(-1)
        return [token_logp[k, : len(t)] for k, t in enumerate(token_ids)]


def _errors(
    n: int, error: str, *, message: str, prompt_token_ids: list[int] | None = None, **meta: Any
) -> list[Completion]:
    return [
        Completion(
            text="",
            finish_reason="error",
            prompt_token_ids=list(prompt_token_ids or []),
            meta={"error": error, "message": message, **meta},
        )
        for _ in range(n)
    ]


class _seeded:
    """Context manager: seed torch's RNGs, restoring the previous state on exit."""

    def __init__(self, seed: int | None):
        self.seed = seed
        self._fork: Any = None

    def __enter__(self) -> None:
        if self.seed is None:
            return
        devices: list[int] = []
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            devices = list(range(torch.cuda.device_count()))
        self._fork = torch.random.fork_rng(devices=devices)
        self._fork.__enter__()
        torch.manual_seed(int(self.seed))

    def __exit__(self, *exc: Any) -> None:
        if self._fork is not None:
            self._fork.__exit__(*exc)
            self._fork = None
