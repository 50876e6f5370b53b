"""A tiny OpenAI-compatible chat-completions server in front of any vzgym :class:`Policy`.

For tests and local use (stdlib only: ``http.server`` + threads), e.g. to let
an OpenAI-speaking tool talk to the built-in tiny model::

    from vzgym.agents.hf_policy import HFPolicy
    from vzgym.agents.openai_server import serve_policy

    server, url = serve_policy(HFPolicy())       # http://127.0.0.1:PORT/v1
    ...
    server.stop()

Endpoints: ``GET /v1/models``, ``GET /health`` and ``POST /v1/chat/completions``
(non-streaming).  Requests may carry text parts and ``image_url`` parts holding
``data:`` URLs (decoded back to PIL images; remote URLs are refused - the
server fetches nothing).  Sampling fields: ``n``, ``temperature``, ``top_p``,
``max_tokens`` / ``max_completion_tokens``, ``seed``, ``logprobs``.  vLLM's
extensions are understood when ``vllm_extensions=True`` (the default):
``return_tokens_as_token_ids`` (logprob tokens ``"token_id:N"``),
``return_token_ids`` (``choices[i].token_ids`` and ``prompt_token_ids``),
``bad_words`` and ``skip_special_tokens`` (accepted; the policy suppresses
special tokens itself), ``top_k``, ``min_p`` and ``repetition_penalty`` (accepted
at their "off" values only).  A policy error completion (e.g. a prompt too long
for the model) is answered with HTTP 400 and its message, as vLLM does.  With
``vllm_extensions=False`` the server rejects the extensions with HTTP 400, like a
strict OpenAI-style server.

Calls into the policy are serialised (one at a time) unless ``serialize=False``.
If the policy raises, the request gets HTTP 500 with the error message.  Every request is logged
in ``server.requests`` (model, ``n``, image sizes, extension fields seen).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import threading
import time
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams

#: Request fields this server knows (others are rejected with HTTP 400).
_OPENAI_FIELDS = {
    "model",
    "messages",
    "n",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "logprobs",
    "top_logprobs",
    "stream",
    "user",
}
_VLLM_FIELDS = {
    "return_tokens_as_token_ids",
    "return_token_ids",
    "bad_words",
    "skip_special_tokens",
    "top_k",
    "min_p",
    "repetition_penalty",
}
#: vLLM sampling extensions this server accepts only at their "off" values.
_NEUTRAL_VALUES = {"top_k": (0, -1), "min_p": (0,), "repetition_penalty": (1,)}
#: Largest request body accepted (bytes).
MAX_BODY_BYTES = 64 * 1024 * 1024


class RequestError(ValueError):
    """A malformed request (answered with HTTP 400)."""


def decode_data_url(url: str) -> Any:
    """Decode a ``data:image/...;base64,...`` URL into a PIL image (fully loaded)."""
    from PIL import Image

    if not isinstance(url, str) or not url.startswith("data:"):
        raise RequestError("only data: image URLs are supported (this server fetches nothing)")
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise RequestError("image data URLs must be base64 encoded")
    try:
        raw = base64.b64decode(payload, validate=True)
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (binascii.Error, OSError, ValueError) as exc:
        raise RequestError(f"cannot decode image data URL: {exc}") from exc
    return image


def observation_from_messages(messages: Any) -> Observation:
    """Turn OpenAI chat messages into an :class:`Observation` (images decoded to PIL)."""
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list")
    out: list[dict[str, Any]] = []
    for msg in messages:
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise RequestError("every message needs a 'role'")
        content = msg.get("content")
        parts: list[dict[str, Any]] = []
        if isinstance(content, str):
            parts.append({"type": "text", "text": content})
        elif isinstance(content, list):
            for part in content:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    parts.append({"type": "text", "text": str(part.get("text", ""))})
                elif kind == "image_url":
                    ref = part.get("image_url")
                    url = ref.get("url") if isinstance(ref, dict) else ref
                    parts.append({"type": "image", "image": decode_data_url(url)})
                else:
                    raise RequestError(f"unsupported content part type {kind!r}")
        elif content is not None:
            raise RequestError("message 'content' must be a string or a list of parts")
        out.append({"role": msg["role"], "content": parts})
    return Observation("openai_client", "player", "chat", 0, out)


def _sampling_from_body(body: dict[str, Any]) -> SamplingParams:
    def number(key: str, default: float) -> float:
        value = body.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RequestError(f"'{key}' must be a number")
        return float(value)

    n = int(number("n", 1))
    if not 1 <= n <= 64:
        raise RequestError("'n' must be between 1 and 64")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    max_new = int(max_tokens) if max_tokens is not None else 256
    if max_new < 1:
        raise RequestError("'max_tokens' must be at least 1")
    seed = body.get("seed")
    return SamplingParams(
        temperature=number("temperature", 1.0),
        top_p=number("top_p", 1.0),
        max_new_tokens=max_new,
        n=n,
        seed=int(seed) if seed is not None else None,
    )


class PolicyServer(ThreadingHTTPServer):
    """An HTTP server answering OpenAI chat-completions requests with a :class:`Policy`.

    Attributes:
        policy: the policy that answers.
        model_name: the model id it serves (requests for other models get 404).
        vllm_extensions: whether vLLM's request extensions are accepted.
        serialize: call the policy for one request at a time (default); turn
            off only for thread-safe policies.
        requests: one log dict per chat request (``model``, ``n``,
            ``image_sizes``, ``extensions``, ``status``).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        policy: Policy,
        *,
        model_name: str = "vzgym",
        vllm_extensions: bool = True,
        serialize: bool = True,
    ):
        super().__init__(address, _Handler)
        self.policy = policy
        self.model_name = model_name
        self.vllm_extensions = vllm_extensions
        self.requests: list[dict[str, Any]] = []
        self._policy_lock: Any = threading.Lock() if serialize else contextlib.nullcontext()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API root (``http://HOST:PORT/v1``)."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> PolicyServer:
        """Serve in a daemon thread; return ``self``."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="vzgym-openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (waits for the serving thread)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()

    def __enter__(self) -> PolicyServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------ completions

    def chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer one chat-completions request body; raise :class:`RequestError` if malformed."""
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        allowed = _OPENAI_FIELDS | (_VLLM_FIELDS if self.vllm_extensions else set())
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise RequestError(f"unrecognized request argument(s): {', '.join(unknown)}")
        if body.get("stream"):
            raise RequestError("streaming is not supported")
        for field, neutral in _NEUTRAL_VALUES.items():
            if body.get(field) is not None and body[field] not in neutral:
                raise RequestError(f"{field}={body[field]!r} is not supported by this server")
        observation = observation_from_messages(body.get("messages"))
        sampling = _sampling_from_body(body)
        images = observation.images()
        log = {
            "model": body.get("model"),
            "n": sampling.n,
            "image_sizes": [tuple(img.size) for img in images],
            "extensions": {k: body[k] for k in sorted(_VLLM_FIELDS & set(body))},
            "status": 200,
        }
        self.requests.append(log)
        with self._policy_lock:
            completions = self.policy.generate([observation], sampling)[0]
        failed = [c for c in completions if c.finish_reason == "error"]
        if failed:  # e.g. prompt_too_long: an HTTP 400, as vLLM answers it
            log["status"] = 400
            meta = failed[0].meta
            raise RequestError(f"{meta.get('error', 'error')}: {meta.get('message', '')}".strip())
        as_ids = bool(body.get("return_tokens_as_token_ids"))
        choices = [
            self._choice(
                k, c, bool(body.get("logprobs")), as_ids, bool(body.get("return_token_ids"))
            )
            for k, c in enumerate(completions)
        ]
        prompt_ids = completions[0].prompt_token_ids if completions else []
        n_out = sum(len(c.token_ids) for c in completions)
        response: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_name,
            "choices": choices,
            "usage": {
                "prompt_tokens": len(prompt_ids),
                "completion_tokens": n_out,
                "total_tokens": len(prompt_ids) + n_out,
            },
        }
        if body.get("return_token_ids"):
            response["prompt_token_ids"] = list(prompt_ids)
        return response

    def _choice(
        self, index: int, c: Completion, logprobs: bool, as_ids: bool, token_ids: bool
    ) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "index": index,
            "message": {"role": "assistant", "content": c.text},
            "finish_reason": c.finish_reason if c.finish_reason in ("stop", "length") else "stop",
            "logprobs": None,
        }
        if logprobs:
            tokens = self._token_strings(c.token_ids, as_ids)
            lps = list(c.logprobs) + [0.0] * (len(tokens) - len(c.logprobs))
            choice["logprobs"] = {
                "content": [
                    {
                        "token": tok,
                        "logprob": float(lp),
                        "bytes": list(tok.encode("utf-8")),
                        "top_logprobs": [],
                    }
                    for tok, lp in zip(tokens, lps)
                ]
            }
        if token_ids:
            choice["token_ids"] = list(c.token_ids)
        return choice

    def _token_strings(self, ids: Sequence[int], as_ids: bool) -> list[str]:
        if as_ids:
            return [f"token_id:{int(t)}" for t in ids]
        tokenizer = getattr(self.policy, "tokenizer", None)
        if tokenizer is None:
            return [str(int(t)) for t in ids]
        return [tokenizer.decode([int(t)]) for t in ids]


class _Handler(BaseHTTPRequestHandler):
    server: PolicyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet (the server keeps its own request log)."""

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "code": status}})

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """Serve ``/v1/models`` and ``/health``."""
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            model = {"id": self.server.model_name, "object": "model", "owned_by": "vzgym"}
            self._send(200, {"object": "list", "data": [model]})
        elif path == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._error(404, f"no route {self.path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        """Serve ``/v1/chat/completions``."""
        path = self.path.split("?", 1)[0].rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._error(413, "request body too large", "invalid_request_error")
            self.close_connection = True
            return
        raw = self.rfile.read(length) if length else b""
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"no route {self.path}", "not_found")
            return
        try:
            body = json.loads(raw.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._error(400, f"invalid JSON: {exc}", "invalid_request_error")
            return
        if isinstance(body, dict) and body.get("model") not in (None, self.server.model_name):
            self._error(404, f"model {body.get('model')!r} does not exist", "not_found")
            return
        try:
            response = self.server.chat_completion(body)
        except RequestError as exc:
            self._error(400, str(exc), "invalid_request_error")
            return
        except Exception as exc:  # noqa: BLE001 - report policy failures as HTTP 500
            if self.server.requests:
                self.server.requests[-1]["status"] = 500
            self._error(500, f"{type(exc).__name__}: {exc}", "server_error")
            return
        self._send(200, response)


def serve_policy(
    policy: Policy,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    model_name: str = "vzgym",
    vllm_extensions: bool = True,
    serialize: bool = True,
) -> tuple[PolicyServer, str]:
    """Start a :class:`PolicyServer` for ``policy`` in a background thread.

    ``port=0`` picks a free port.  Returns ``(server, url)`` where ``url`` is
    the API root to give an OpenAI client (``http://127.0.0.1:PORT/v1``);
    call ``server.stop()`` (or use it as a context manager) to shut it down.
    The default host is loopback only.
    """
    server = PolicyServer(
        (host, port),
        policy,
        model_name=model_name,
        vllm_extensions=vllm_extensions,
        serialize=serialize,
    )
    server.start()
    return server, server.url
