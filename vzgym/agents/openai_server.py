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
in ``server.requests`` (model, ``n``, image sizes, extension fields seen; the newest 1000).

Hostile clients are bounded by :class:`~vzgym.agents.server_limits.ServerLimits`: the
body size is checked from ``Content-Length`` before it is read (413), image pixels from
the image header before decoding and text length in characters, then tokens, before
the policy sees it (413); at most ``max_in_flight`` chat requests run at once (429
beyond), at most ``max_connections`` connections are open, every socket has a timeout,
and every field is type- and range-checked (400 naming the field); roles are limited
to ``system``, ``user`` and ``assistant``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vzgym.agents.server_limits import (
    RequestError,
    ServerLimits,
    check_fields,
    decode_data_url,
    observation_from_messages,
)
from vzgym.core.policy import Completion, Policy

__all__ = [
    "PolicyServer",
    "RequestError",
    "ServerLimits",
    "decode_data_url",
    "observation_from_messages",
    "serve_policy",
]

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
#: Largest request body accepted by default (bytes).
MAX_BODY_BYTES = ServerLimits.max_body_bytes


class PolicyServer(ThreadingHTTPServer):
    """An HTTP server answering OpenAI chat-completions requests with a :class:`Policy`.

    Attributes:
        policy: the policy that answers.
        model_name: the model id it serves (requests for other models get 404).
        vllm_extensions: whether vLLM's request extensions are accepted.
        serialize: call the policy for one request at a time (default); turn
            off only for thread-safe policies.
        limits: sizes, concurrency and timeouts (:class:`ServerLimits`).
        requests: one log dict per chat request (``model``, ``n``,
            ``image_sizes``, ``extensions``, ``status``), the newest 1000.
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
        limits: ServerLimits | None = None,
    ):
        super().__init__(address, _Handler)
        self.policy = policy
        self.model_name = model_name
        self.vllm_extensions = vllm_extensions
        self.limits = limits or ServerLimits()
        self.requests: deque[dict[str, Any]] = deque(maxlen=1000)
        self._policy_lock: Any = threading.Lock() if serialize else contextlib.nullcontext()
        self._in_flight = threading.BoundedSemaphore(self.limits.max_in_flight)
        self._open = 0
        self._open_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a connection in a thread, or close it at once past ``max_connections``."""
        with self._open_lock:
            full = self._open >= self.limits.max_connections
            self._open += 0 if full else 1
        if full:
            with contextlib.suppress(OSError):
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection; free its place when it closes."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open -= 1

    @property
    def open_connections(self) -> int:
        """Connections being served now."""
        return self._open

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up or stalls; report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def try_begin_request(self) -> bool:
        """Take an in-flight place for a chat request (False when all are taken)."""
        return self._in_flight.acquire(blocking=False)

    def end_request(self) -> None:
        """Give back the place :meth:`try_begin_request` took."""
        self._in_flight.release()

    def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` with the policy's tokenizer (None when it has none)."""
        tokenizer = getattr(self.policy, "tokenizer", None)
        encode = getattr(tokenizer, "encode", None)
        if encode is None:
            return None
        return len(encode(text, add_special_tokens=False))

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
        sampling = check_fields(body, self.limits)
        for field, neutral in _NEUTRAL_VALUES.items():
            if body.get(field) is not None and body[field] not in neutral:
                raise RequestError(f"{field}={body[field]!r} is not supported by this server")
        count = self.count_tokens if getattr(self.policy, "tokenizer", None) else None
        observation = observation_from_messages(body.get("messages"), self.limits, count)
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

    def setup(self) -> None:
        """Give the connection's socket the server's timeout (a silent client is dropped)."""
        self.timeout = self.server.limits.socket_timeout
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet (the server keeps its own request log)."""

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
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

    def _refuse(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        """Answer an error and close the connection (its body, if any, is never read)."""
        self.close_connection = True
        self._error(status, message, kind)

    def _body_length(self) -> int | None:
        """The declared body length, or None after refusing the request."""
        if self.headers.get("Transfer-Encoding"):
            self._refuse(411, "send the body with a Content-Length (no Transfer-Encoding)")
            return None
        declared = self.headers.get("Content-Length")
        if declared is None:
            self._refuse(411, "a Content-Length header is required")
            return None
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(400, f"invalid Content-Length {declared[:40]!r}")
            return None
        limit = self.server.limits.max_body_bytes
        if length > limit:
            self._refuse(413, f"request body of {length} bytes exceeds {limit} bytes")
            return None
        return length

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        """Serve ``/v1/chat/completions`` (limits first: size, in-flight count, then fields)."""
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._refuse(404, f"no route {self.path[:200]}", "not_found")
            return
        length = self._body_length()
        if length is None:
            return
        if not self.server.try_begin_request():
            self._refuse(429, "too many requests in flight; retry later", "rate_limit_error")
            return
        try:
            self._chat(length)
        finally:
            self.server.end_request()

    def _read_body(self, length: int) -> bytes | None:
        """Read the body within ``socket_timeout`` in all (a trickling client is dropped)."""
        deadline = time.monotonic() + self.server.limits.socket_timeout
        chunks, got = [], 0
        try:
            while got < length:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = self.rfile.read1(min(length - got, 1 << 20))
                if not chunk:
                    self._refuse(400, "the request body ended before its Content-Length")
                    return None
                chunks.append(chunk)
                got += len(chunk)
        except OSError:  # a socket timeout: the client stalled mid-body
            self.close_connection = True
            return None
        return b"".join(chunks)

    def _chat(self, length: int) -> None:
        raw = self._read_body(length)
        if raw is None:
            return
        try:
            body = json.loads(raw.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self._error(400, f"invalid JSON: {str(exc)[:200]}", "invalid_request_error")
            return
        del raw
        model = body.get("model") if isinstance(body, dict) else None
        if model is not None and not isinstance(model, str):
            self._error(400, "'model' must be a string", "invalid_request_error")
            return
        if model not in (None, self.server.model_name):
            self._error(404, f"model {str(body.get('model'))[:100]!r} does not exist", "not_found")
            return
        try:
            response = self.server.chat_completion(body)
        except RequestError as exc:
            self._error(exc.status, str(exc), "invalid_request_error")
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
    limits: ServerLimits | None = None,
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
        limits=limits,
    )
    server.start()
    return server, server.url
