"""The ``openai`` policy backend: any OpenAI-compatible chat-completions server.

:class:`OpenAIPolicy` sends each observation as one ``chat.completions.create``
request through the official ``openai`` client (``vllm serve``, SGLang,
llama.cpp's server, vzgym's own :mod:`vzgym.agents.openai_server` ...):

* messages keep their roles; text parts stay text parts (special-token
  strings such as ``<|image_pad|>`` neutralised, as for local backends) and
  every PIL image becomes an ``image_url`` part holding a PNG data URL.  Before
  sending, the request is checked to carry exactly the observation's images,
  one ``image_url`` part each, in order (:func:`check_request_images`);
* the request asks for ``n``, ``temperature``, ``top_p``, ``max_tokens``,
  ``seed`` and ``logprobs=True`` (the sampled token's logprob per token);
* vLLM extensions go in the request body (``extra_body``): ``bad_words`` (the
  special tokens never to sample, default: Qwen2.5-VL's, see
  :data:`DEFAULT_SUPPRESS_TOKENS`), ``skip_special_tokens``,
  ``return_tokens_as_token_ids`` (logprob tokens come back as
  ``"token_id:123"``) and ``return_token_ids`` (``choices[i].token_ids`` and
  the prompt's ``prompt_token_ids``), and the sampling knobs the OpenAI API
  lacks, pinned to "off" (``top_k=0``, ``min_p=0``, ``repetition_penalty=1``):
  without them ``vllm serve`` fills them from the model's
  ``generation_config.json`` (Qwen2.5-VL ships ``top_k=1``, which makes every
  sample greedy and every GRPO copy identical).  A server that rejects the
  extensions (HTTP 400) is asked again without them, and they are not sent to
  it any more.

Token ids
---------
``Completion.token_ids`` come from ``choices[i].token_ids`` when the server
returns them, else from logprob tokens of the form ``"token_id:N"``.  A server
that supports neither (the official OpenAI API, most non-vLLM servers) gives
completions with text, logprobs and finish reason but **empty**
``token_ids``; ``meta["token_ids"]`` says which source was used (``"server"``,
``"logprobs"`` or ``"unavailable"``).  Logprobs are whatever the server
reports (vLLM: see its ``--logprobs-mode``).

Errors
------
The requests of a batch run concurrently (``max_concurrency`` threads) and
results keep the batch order.  A request that fails (HTTP error, connection
refused, time-out, malformed answer) gives its observation ``n`` completions
with ``finish_reason="error"`` and ``meta["error"]`` (``"api_error"``,
``"connection_error"``, ``"timeout"`` or ``"bad_response"``) plus
``meta["message"]``; the rest of the batch is unaffected.  A server that
returns fewer than ``n`` choices is asked again for the rest.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vzgym.agents.chat import QWEN_SPECIAL_TOKENS, neutralize
from vzgym.core.observation import Observation, part_kind
from vzgym.core.policy import Completion, Policy, SamplingParams

logger = logging.getLogger(__name__)

#: The special tokens sent as vLLM ``bad_words`` by default (EOS tokens excluded).
DEFAULT_SUPPRESS_TOKENS: tuple[str, ...] = tuple(
    t for t in QWEN_SPECIAL_TOKENS if t not in ("<|im_end|>", "<|endoftext|>")
)
#: The request fields that are vLLM extensions of the OpenAI API.
VLLM_EXTENSION_FIELDS: tuple[str, ...] = (
    "bad_words",
    "skip_special_tokens",
    "return_tokens_as_token_ids",
    "return_token_ids",
    "top_k",
    "min_p",
    "repetition_penalty",
)
_TOKEN_ID_PREFIX = "token_id:"


class ImageCountMismatch(ValueError):
    """A request's ``image_url`` parts do not match the observation's images one to one."""


def image_data_url(image: Any) -> str:
    """Encode a PIL image as a ``data:image/png;base64,...`` URL (lossless)."""
    if image.mode not in ("1", "L", "LA", "I", "P", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def to_openai_messages(
    messages: Sequence[dict[str, Any]], special_tokens: Sequence[str] = QWEN_SPECIAL_TOKENS
) -> list[dict[str, Any]]:
    """Convert observation chat messages to OpenAI chat messages (images as data URLs).

    Text is passed through :func:`vzgym.agents.chat.neutralize` with
    ``special_tokens``.  String contents stay strings.
    """
    out: list[dict[str, Any]] = []
    for msg in messages:
        content = msg.get("content", [])
        if isinstance(content, str):
            out.append({"role": msg["role"], "content": neutralize(content, special_tokens)})
            continue
        parts: list[dict[str, Any]] = []
        for part in content:
            kind = part_kind(part)
            if kind == "image":
                parts.append(
                    {"type": "image_url", "image_url": {"url": image_data_url(part["image"])}}
                )
            elif kind == "text":
                parts.append(
                    {"type": "text", "text": neutralize(str(part["text"]), special_tokens)}
                )
            else:
                raise ValueError(
                    f"unsupported content part type {part.get('type')!r} in observation message"
                )
        out.append({"role": msg["role"], "content": parts})
    return out


def check_request_images(
    messages: Sequence[dict[str, Any]],
    num_images: int,
    placeholder_tokens: Sequence[str] = ("<|image_pad|>", "<|vision_start|>"),
) -> None:
    """Assert that OpenAI messages carry ``num_images`` image parts and no stray placeholder.

    The server's chat template turns each ``image_url`` part into one image
    placeholder; a placeholder string left in the text would add one more.

    Raises:
        ImageCountMismatch: naming both counts, or the stray placeholder.
    """
    found = 0
    for msg in messages:
        content = msg.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for part in parts:
            if part.get("type") == "image_url":
                url = part["image_url"]["url"] if isinstance(part["image_url"], dict) else ""
                if not str(url).startswith("data:image/"):
                    raise ImageCountMismatch("image_url part without an image data URL")
                found += 1
            elif part.get("type") == "text":
                for tok in placeholder_tokens:
                    if tok in part["text"]:
                        raise ImageCountMismatch(f"text part contains a raw {tok} placeholder")
    if found != num_images:
        raise ImageCountMismatch(f"request has {found} image_url part(s) but {num_images} image(s)")


def parse_token_id(token: str) -> int | None:
    """Return ``N`` for vLLM's ``"token_id:N"`` logprob tokens, else ``None``."""
    if isinstance(token, str) and token.startswith(_TOKEN_ID_PREFIX):
        rest = token[len(_TOKEN_ID_PREFIX) :]
        if rest.lstrip("-").isdigit():
            return int(rest)
    return None


def completion_from_choice(
    choice: dict[str, Any], prompt_token_ids: Sequence[int] = (), **meta: Any
) -> Completion:
    """Map one chat-completion choice (as a plain dict) to a :class:`Completion`.

    See the module doc for where ``token_ids`` come from.  ``logprobs`` are
    ``choice["logprobs"]["content"][j]["logprob"]`` (empty without logprobs).
    """
    message = choice.get("message") or {}
    text = message.get("content") or ""
    entries = ((choice.get("logprobs") or {}).get("content")) or []
    logprobs = [float(e.get("logprob", 0.0)) for e in entries]
    parsed = [parse_token_id(e.get("token", "")) for e in entries]
    server_ids = choice.get("token_ids")
    extra: dict[str, Any] = dict(meta)
    if server_ids is not None:
        ids = [int(t) for t in server_ids]
        extra["token_ids"] = "server"
    elif entries and all(p is not None for p in parsed):
        ids = [int(p) for p in parsed if p is not None]
        extra["token_ids"] = "logprobs"
    else:
        ids = []
        extra["token_ids"] = "unavailable"
    if ids and logprobs and len(ids) != len(logprobs):
        extra["logprobs_misaligned"] = True
    finish = choice.get("finish_reason") or "stop"
    if choice.get("stop_reason") is not None:
        extra["stop_reason"] = choice["stop_reason"]
    return Completion(
        text=text,
        token_ids=ids,
        logprobs=logprobs,
        finish_reason=str(finish),
        prompt_token_ids=[int(t) for t in prompt_token_ids],
        meta=extra,
    )


def _errors(n: int, error: str, message: str, **meta: Any) -> list[Completion]:
    return [
        Completion(
            text="", finish_reason="error", meta={"error": error, "message": message, **meta}
        )
        for _ in range(n)
    ]


class OpenAIPolicy(Policy):
    """An OpenAI-compatible chat server as a vzgym :class:`Policy` (spec ``openai:URL#model``).

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: the served model name.
        api_key: sent as bearer token (``"EMPTY"`` for servers without auth).
        timeout: seconds per request.
        max_concurrency: most requests in flight at once.
        extra_body: extra request fields (merged over the vLLM extensions).
        max_retries: the ``openai`` client's retries of failed requests.
        suppress_tokens: special tokens never to sample (sent as vLLM
            ``bad_words``); ``()`` sends none.
        special_tokens: strings neutralised in text parts.
        vllm_extensions: send the vLLM extension fields (see module doc);
            switched off automatically for a server that rejects them.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "EMPTY",
        timeout: float = 60,
        max_concurrency: int = 8,
        extra_body: dict[str, Any] | None = None,
        max_retries: int = 2,
        suppress_tokens: Sequence[str] = DEFAULT_SUPPRESS_TOKENS,
        special_tokens: Sequence[str] = QWEN_SPECIAL_TOKENS,
        vllm_extensions: bool = True,
    ):
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.timeout = float(timeout)
        self.max_concurrency = max(1, int(max_concurrency))
        self.extra_body = dict(extra_body or {})
        self.suppress_tokens = list(suppress_tokens)
        self.special_tokens = list(special_tokens)
        self.vllm_extensions = bool(vllm_extensions)
        self.client = OpenAI(
            base_url=base_url, api_key=api_key, timeout=self.timeout, max_retries=max_retries
        )
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    # ---------------------------------------------------------------- request

    def build_request(self, observation: Observation, sampling: SamplingParams) -> dict[str, Any]:
        """Return the keyword arguments of ``chat.completions.create`` for one observation."""
        messages = to_openai_messages(observation.messages, self.special_tokens)
        check_request_images(messages, len(observation.images()))
        greedy = not sampling.temperature or sampling.temperature <= 0
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": max(1, int(sampling.n)),
            "temperature": 0.0 if greedy else float(sampling.temperature),
            "top_p": 1.0 if greedy else float(sampling.top_p),
            "max_tokens": int(sampling.max_new_tokens),
            "logprobs": True,
        }
        if sampling.seed is not None:
            request["seed"] = int(sampling.seed)
        body = self._extension_body()
        body.update(self.extra_body)
        if body:
            request["extra_body"] = body
        return request

    def _extension_body(self) -> dict[str, Any]:
        if not self.vllm_extensions:
            return {}
        body: dict[str, Any] = {
            "skip_special_tokens": True,
            "return_tokens_as_token_ids": True,
            "return_token_ids": True,
            # pinned so the server's generation_config.json defaults cannot leak in
            "top_k": 0,
            "min_p": 0.0,
            "repetition_penalty": 1.0,
        }
        if self.suppress_tokens:
            body["bad_words"] = list(self.suppress_tokens)
        return body

    # --------------------------------------------------------------- generate

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Return ``sampling.n`` completions per observation (requests sent concurrently).

        With ``sampling.seed = s`` observation ``i`` is sent with seed
        ``s + i * n`` (vLLM seeds the ``n`` choices of a request ``seed + k``, so
        identical observations in one batch still differ).  Failed requests give
        error completions (see module doc), and so does an observation whose
        request cannot be built (e.g. an image that cannot be encoded:
        ``meta["error"] == "render_error"``); image-count mismatches raise
        :class:`ImageCountMismatch` before anything is sent.
        """
        sampling = sampling or SamplingParams()
        if not observations:
            return []
        n = max(1, int(sampling.n))
        requests: list[dict[str, Any] | list[Completion]] = []
        for i, obs in enumerate(observations):
            seeded = sampling
            if sampling.seed is not None:
                seeded = SamplingParams(
                    sampling.temperature,
                    sampling.top_p,
                    sampling.max_new_tokens,
                    sampling.n,
                    int(sampling.seed) + i * n,
                )
            try:
                requests.append(self.build_request(obs, seeded))
            except ImageCountMismatch:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad observation must not sink the batch
                requests.append(_errors(n, "render_error", f"{type(exc).__name__}: {exc}"))
        executor = self._pool()
        futures = [
            executor.submit(self._complete, req) if isinstance(req, dict) else None
            for req in requests
        ]
        return [
            f.result() if f is not None else req  # type: ignore[misc]
            for f, req in zip(futures, requests, strict=True)
        ]

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.max_concurrency, thread_name_prefix="vzgym-openai"
                )
            return self._executor

    def _complete(self, request: dict[str, Any]) -> list[Completion]:
        """Run one request (asking again for missing choices); never raises."""
        n = int(request["n"])
        t0 = time.perf_counter()
        completions: list[Completion] = []
        try:
            for attempt in range(n):
                want = n - len(completions)
                req = dict(request, n=want)
                if attempt and "seed" in req:
                    req["seed"] = int(req["seed"]) + 7919 * attempt
                data = self._create(req)
                choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
                if not choices:
                    raise _BadResponse("the response has no choices")
                prompt_ids = data.get("prompt_token_ids") or []
                usage = data.get("usage") or {}
                for choice in choices[:want]:
                    completions.append(
                        completion_from_choice(
                            choice,
                            prompt_ids,
                            prompt_tokens=usage.get("prompt_tokens"),
                            response_id=data.get("id"),
                        )
                    )
                if len(completions) >= n:
                    break
        except Exception as exc:  # noqa: BLE001 - one failed request must not sink the batch
            return _errors(n, _error_kind(exc), f"{type(exc).__name__}: {exc}", **_status(exc))
        seconds = time.perf_counter() - t0
        for c in completions:
            c.meta["request_seconds"] = seconds
        return completions

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request; retry once without vLLM extensions if the server rejects them."""
        import openai

        if not self.vllm_extensions:  # built before the server was found to reject them
            request = _without_extensions(request)
        try:
            response = self.client.chat.completions.create(**request)
        except openai.BadRequestError as exc:
            body = request.get("extra_body") or {}
            named = [k for k in VLLM_EXTENSION_FIELDS if k in body and k in str(exc)]
            if not named:  # a 400 about something else (e.g. a prompt too long)
                raise
            response = self.client.chat.completions.create(**_without_extensions(request))
            if self.vllm_extensions:
                logger.warning(
                    "%s rejected vLLM's request extensions; continuing without them "
                    "(no special-token bans, no token ids)",
                    self.base_url,
                )
                self.vllm_extensions = False
        data = response.model_dump() if hasattr(response, "model_dump") else dict(response)
        if not isinstance(data, dict):
            raise _BadResponse(f"unexpected response type {type(response).__name__}")
        return data

    def close(self) -> None:
        """Stop the worker threads and close the HTTP client."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
        self.client.close()


def _without_extensions(request: dict[str, Any]) -> dict[str, Any]:
    """Return ``request`` without the vLLM extension fields in its ``extra_body``."""
    body = request.get("extra_body") or {}
    stripped = {k: v for k, v in body.items() if k not in VLLM_EXTENSION_FIELDS}
    out = {k: v for k, v in request.items() if k != "extra_body"}
    if stripped:
        out["extra_body"] = stripped
    return out


class _BadResponse(RuntimeError):
    """The server answered, but not with a usable chat completion."""


def _error_kind(exc: BaseException) -> str:
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is imported by the constructor
        return "api_error"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    if isinstance(exc, openai.APIStatusError):
        return "api_error"
    return "bad_response"


def _status(exc: BaseException) -> dict[str, Any]:
    code = getattr(exc, "status_code", None)
    return {"status_code": int(code)} if code is not None else {}
