"""Peak memory of the OpenAI-compatible server under a concurrent burst of hostile requests.

A server process (``vzgym.agents.openai_server`` in front of the built-in tiny model,
default :class:`ServerLimits`) is started on 127.0.0.1.  After one ordinary request
its resident memory is the baseline (idle RSS).  Then ``clients`` threads send
``requests`` hostile requests at once, mixed:

* decompression bombs (a valid 9000x9000 PNG of ~240 KB: 324 MB once decoded);
* text of 300,000 characters (past the character limit);
* a body that declares 1 GB and sends a little (checked from ``Content-Length``);
* 15 MB of JSON nesting (``[[[[...``), and a near-limit body of valid base64 images
  (4 distinct 900x900 noise PNGs: decoded, then run through the model);
* out-of-range fields, a forbidden role, a slow client that stalls mid-body.

A client answered 429 (all in-flight places taken), or reset while it was still sending,
sends again until it is served,
so every hostile request except the stalled ones is really handled.

The peak RSS of the server process (``VmHWM``) is compared with its idle RSS:
printed as a ratio and against the stated bound

    peak - idle <= max_in_flight x (4 x max_body_bytes + 4 x max_total_pixels)

(per request in flight: the body, its text, its parsed JSON and base64-decoded
bytes, plus the decoded RGBA pixels).  The script exits 1 if the bound is broken.

Run: python benchmarks/bench_server_memory.py [clients] [requests]
"""

from __future__ import annotations

import base64
import collections
import io
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

SERVER = """
import sys
from vzgym.agents.hf_policy import HFPolicy
from vzgym.agents.openai_server import serve_policy
from vzgym.agents.tiny_model import build_tiny_model

policy = HFPolicy(build_tiny_model(sys.argv[1]), device="cpu")
server, url = serve_policy(policy, model_name="tiny")
print(server.server_address[1], flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
server.stop()
"""


def png_bomb(width: int, height: int) -> bytes:
    """A valid all-black PNG of ``width`` x ``height`` pixels, compressed to a few hundred KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def noise_png(side: int, seed: int) -> bytes:
    """A PNG of seeded random pixels (incompressible: as large as a PNG of that size gets)."""
    buf = io.BytesIO()
    pixels = random.Random(seed).randbytes(side * side * 3)
    Image.frombytes("RGB", (side, side), pixels).save(buf, "PNG")
    return buf.getvalue()


def url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def chat(*parts: dict, **fields: object) -> bytes:
    body = {
        "model": "tiny",
        "max_tokens": 2,
        **fields,
        "messages": [{"role": "user", "content": list(parts)}],
    }
    return json.dumps(body).encode()


def hostile_bodies() -> list[tuple[str, bytes, int | None]]:
    """``(kind, body bytes, declared length or None)`` of each hostile request kind."""
    bomb = {"type": "image_url", "image_url": {"url": url(png_bomb(9000, 9000))}}
    images = [{"type": "image_url", "image_url": {"url": url(noise_png(900, k))}} for k in range(4)]
    text = {"type": "text", "text": "Describe."}
    return [
        ("bomb_png", chat(bomb, text), None),
        ("long_text", chat({"type": "text", "text": "x" * 300_000}), None),
        ("declared_1GB", b'{"messages": [' + b" " * 65536, 1 << 30),
        ("deep_json", b"[" * (15 << 20), None),
        ("near_limit_images", chat(*images, text), None),
        ("bad_fields", chat(text, n=10**9, temperature=-3, top_p="x"), None),
        ("tool_role", json.dumps({"messages": [{"role": "tool", "content": "x"}]}).encode(), None),
        ("stalled_body", b'{"messages": [', 4096),
    ]


def send(port: int, body: bytes, declared: int | None) -> str:
    """Send one raw POST; return the status code (or what happened to the connection)."""
    length = len(body) if declared is None else declared
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(head)
            try:
                sock.sendall(body)
            except OSError:
                pass  # refused before the whole body was read
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
                if b"\r\n\r\n" in reply:
                    break
        return reply.split(b" ", 2)[1].decode() if reply else "closed"
    except (OSError, IndexError):
        return "closed"


def status_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def main(clients: int = 32, requests: int = 256) -> int:
    from vzgym.agents.server_limits import ServerLimits

    limits = ServerLimits()
    tmp = tempfile.mkdtemp(prefix="vzgym-bench-server-")
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, os.path.join(tmp, "tiny")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline())
        kinds = hostile_bodies()
        warm = chat(
            {"type": "image_url", "image_url": {"url": url(noise_png(64, 0))}},
            {"type": "text", "text": "hello"},
        )
        assert send(port, warm, None) == "200", "the warm-up request failed"
        time.sleep(0.5)
        idle = status_memory(proc.pid)["VmRSS"]
        plan = [kinds[k % len(kinds)] for k in range(requests)]
        counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        lock = threading.Lock()

        def one(item: tuple[str, bytes, int | None]) -> None:
            status = send(port, item[1], item[2])
            tries = 1  # retried on 429 (or a reset) so that every hostile request is really handled
            while status in ("429", "closed") and item[0] != "stalled_body" and tries < 2000:
                time.sleep(0.02)
                status, tries = send(port, item[1], item[2]), tries + 1
            with lock:
                counts[item[0]][status] += 1

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, plan))
        wall = time.perf_counter() - start
        after = send(port, warm, None)
        mem = status_memory(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    peak = mem["VmHWM"]
    bound = limits.max_in_flight * (4 * limits.max_body_bytes + 4 * limits.max_total_pixels)
    bound_mb = bound / 2**20
    print(f"burst: {requests} hostile requests from {clients} concurrent clients in {wall:.1f}s")
    for kind, seen in counts.items():
        print(f"  {kind:18s} {dict(seen)}")
    print(f"  an ordinary request afterwards: HTTP {after}")
    print(
        f"idle RSS {idle:.0f} MiB, peak RSS {peak:.0f} MiB: ratio {peak / idle:.2f}x, "
        f"growth {peak - idle:.0f} MiB"
    )
    print(
        f"stated bound: growth <= max_in_flight x (4 x body + 4 x pixels) = {bound_mb:.0f} MiB "
        f"-> {'OK' if peak - idle <= bound_mb else 'BROKEN'}"
    )
    return 0 if peak - idle <= bound_mb and after == "200" else 1


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))
