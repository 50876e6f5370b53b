"""The OpenAI-compatible server under hostile requests: limits are checked from headers and
declared sizes before decoding, concurrency and connections are bounded, sockets time out,
and every field is type- and range-checked (400 naming the field)."""

from __future__ import annotations

import base64
import functools
import http.client
import io
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Sequence

import pytest
from PIL import Image

from vzgym.agents.base import Completion, Policy, SamplingParams
from vzgym.agents.openai_server import PolicyServer, ServerLimits
from vzgym.envs.base import Observation

pytestmark = pytest.mark.reliability


class SlowEcho(Policy):
    """Answers with the prompt's text after ``delay`` seconds; records what it was given."""

    name = "echo"

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.seen: list[Observation] = []

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        sampling = sampling or SamplingParams()
        time.sleep(self.delay)
        self.seen.extend(observations)
        return [[Completion(text=o.text()[:20]) for _ in range(sampling.n)] for o in observations]


@functools.lru_cache(maxsize=4)
def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels, a few hundred KB compressed (a
    decompression bomb: decoding it takes width x height x 4 bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def data_url(raw: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(raw).decode()


def small_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def server():
    policy = SlowEcho()
    limits = ServerLimits(max_in_flight=2, max_connections=8, socket_timeout=1.0)
    with PolicyServer(("127.0.0.1", 0), policy, model_name="m", limits=limits) as srv:
        srv.start()
        yield srv


def post(srv, body, *, raw: bytes | None = None, headers=None, timeout=10):
    host, port = srv.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    data = raw if raw is not None else json.dumps(body).encode()
    conn.request("POST", "/v1/chat/completions", body=data, headers=headers or {})
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    try:
        return resp.status, json.loads(payload)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return resp.status, payload.decode(errors="replace")


def recv_all(sock) -> str:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def user(*parts):
    return {"model": "m", "messages": [{"role": "user", "content": list(parts)}]}


def test_declared_image_size_is_refused_before_decoding(server):
    bomb = {"type": "image_url", "image_url": {"url": data_url(png_bomb(9000, 9000))}}
    start = time.perf_counter()
    status, message = post(server, user(bomb))
    assert status == 413 and "declares 9000x9000 pixels" in message
    assert "messages[0].content[0]" in message
    assert time.perf_counter() - start < 2.0  # 243 MB of pixels were never decoded
    assert server.policy.seen == []
    ok = {"type": "image_url", "image_url": {"url": data_url(small_png())}}
    assert post(server, user(ok, {"type": "text", "text": "hi"}))[0] == 200
    assert server.policy.seen[-1].images()[0].size == (8, 6)


def test_long_text_is_refused_by_characters_before_tokenising(server):
    status, message = post(server, user({"type": "text", "text": "x" * 200_001}))
    assert status == 413 and "200001 characters of text" in message
    assert server.policy.seen == []


def test_long_text_is_refused_by_tokens_with_a_real_tokenizer(tmp_path):
    from vzgym.agents.hf_policy import HFPolicy
    from vzgym.agents.tiny_model import build_tiny_model

    hf = HFPolicy(build_tiny_model(tmp_path / "m"), device="cpu")
    limits = ServerLimits(max_text_tokens=100)
    with PolicyServer(("127.0.0.1", 0), hf, model_name="m", limits=limits) as srv:
        srv.start()
        status, message = post(srv, user({"type": "text", "text": "word " * 100}))
        assert status == 413 and "tokens of text, more than 100" in message
        assert post(srv, {**user({"type": "text", "text": "hi"}), "max_tokens": 2})[0] == 200


def test_body_size_is_checked_from_content_length_before_reading(server):
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n{"
        )
        reply = recv_all(sock)
    assert reply.startswith("HTTP/1.1 413") and "exceeds" in reply
    for headers, code in (
        ({"Transfer-Encoding": "chunked"}, "411"),
        ({"Content-Length": "-5"}, "400"),
        ({"Content-Length": "abc"}, "400"),
    ):
        with socket.create_connection((host, port), timeout=5) as sock:
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\n{lines}\r\n".encode())
            assert recv_all(sock).startswith(f"HTTP/1.1 {code}"), headers


def test_requests_in_flight_are_bounded_with_429(server):
    server.policy.delay = 1.0
    results: list[int] = []

    def one():
        results.append(post(server, user({"type": "text", "text": "hi"}))[0])

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # both are inside the policy now
    status, message = post(server, user({"type": "text", "text": "third"}))
    assert status == 429 and "too many requests" in message
    for t in threads:
        t.join()
    assert results == [200, 200]


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_silent_clients_are_dropped(server):
    host, port = server.server_address[:2]
    slow = socket.create_connection((host, port), timeout=10)
    slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    start = time.perf_counter()
    assert slow.recv(4096) == b""  # closed by the server's 1 s socket timeout
    assert time.perf_counter() - start < 8
    slow.close()
    idle = socket.create_connection((host, port), timeout=10)  # sends nothing at all
    assert idle.recv(4096) == b""
    idle.close()
    wait_for(lambda: server.open_connections == 0)


def test_open_connections_are_bounded():
    limits = ServerLimits(max_connections=4, socket_timeout=30.0)
    with PolicyServer(("127.0.0.1", 0), SlowEcho(), model_name="m", limits=limits) as srv:
        srv.start()
        host, port = srv.server_address[:2]
        held = [socket.create_connection((host, port), timeout=10) for _ in range(4)]
        wait_for(lambda: srv.open_connections == 4)
        with socket.create_connection((host, port), timeout=10) as extra:
            assert recv_all(extra).startswith("HTTP/1.1 503")
        for sock in held:
            sock.close()
        wait_for(lambda: srv.open_connections == 0)
        assert post(srv, user({"type": "text", "text": "hi"}))[0] == 200  # places came back


BAD_FIELDS = [
    ({"n": "2"}, "'n' must be an integer"),
    ({"n": True}, "'n' must be an integer"),
    ({"n": 0}, "'n' must be between 1 and 64"),
    ({"n": 10**6}, "'n' must be between 1 and 64"),
    ({"temperature": "hot"}, "'temperature' must be a number"),
    ({"temperature": -1}, "'temperature' must be in [0.0, 2.0]"),
    ({"top_p": 0}, "'top_p' must be in (0.0, 1.0]"),
    ({"max_tokens": 0}, "'max_tokens' must be between 1"),
    ({"max_tokens": 2.5}, "'max_tokens' must be an integer"),
    ({"max_tokens": "5"}, "'max_tokens' must be an integer"),
    ({"max_tokens": 10**9}, "'max_tokens' must be between 1 and 8192"),
    ({"seed": "x"}, "'seed' must be an integer"),
    ({"seed": 2**70}, "'seed' must be between"),
    ({"logprobs": "yes"}, "'logprobs' must be true or false"),
    ({"top_logprobs": 99}, "'top_logprobs' must be between 0 and 20"),
    ({"bad_words": "x"}, "'bad_words' must be a list"),
    ({"model": 5}, "'model' must be a string"),
    ({"messages": "hi"}, "'messages' must be a non-empty list"),
    ({"messages": []}, "'messages' must be a non-empty list"),
    ({"messages": [5]}, "messages[0] must be an object"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role must be one of"),
    ({"messages": [{"role": 7, "content": "x"}]}, "messages[0].role must be one of"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content must be a string"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
     "messages[0].content[0].text must be a string"),
    ({"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
     "unsupported content part type 'audio'"),
    ({"messages": [{"role": "user", "content": "x", "tool_calls": []}]},
     "messages[0] has unsupported field(s): tool_calls"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
     "image_url.url must be a string"),
    ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]},
     "cannot decode image data URL"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), BAD_FIELDS)
def test_every_field_is_type_and_range_checked(server, change, expected):
    body = {**user({"type": "text", "text": "hi"}), **change}
    status, message = post(server, body)
    assert status == 400, message
    assert expected in message
    assert server.policy.seen == []


@pytest.mark.parametrize(
    "raw",
    [b"[" * 200_000, b'{"n": 1e999}', b'{"n": ' + b"9" * 5000 + b"}", b"\xff\xfe", b"null"],
)
def test_hostile_json_is_a_400(server, raw):
    status, _ = post(server, None, raw=raw)
    assert status == 400
