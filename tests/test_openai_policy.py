"""The ``openai`` policy backend against real HTTP servers on loopback.

The servers are :mod:`vzgym.agents.openai_server` instances on 127.0.0.1
(ephemeral ports), answering with the real tiny Qwen2.5-VL through
:class:`HFPolicy` (or, where timing or failures are under test, with a small
echo policy); the client is the official ``openai`` package.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

pytest.importorskip("openai")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import openai  # noqa: E402
from PIL import Image  # noqa: E402

from vzgym.agents.base import Completion, Policy, SamplingParams  # noqa: E402
from vzgym.agents.hf_policy import HFPolicy  # noqa: E402
from vzgym.agents.openai_policy import (  # noqa: E402
    DEFAULT_SUPPRESS_TOKENS,
    ImageCountMismatch,
    OpenAIPolicy,
    check_request_images,
    completion_from_choice,
    parse_token_id,
    to_openai_messages,
)
from vzgym.agents.openai_server import PolicyServer, serve_policy  # noqa: E402
from vzgym.agents.spec import make_policy  # noqa: E402
from vzgym.agents.tiny_model import build_tiny_model  # noqa: E402
from vzgym.envs.base import Observation, text_message  # noqa: E402


@pytest.fixture(scope="module")
def hf(tmp_path_factory: pytest.TempPathFactory) -> HFPolicy:
    return HFPolicy(build_tiny_model(tmp_path_factory.mktemp("tiny_openai") / "model"))


@pytest.fixture(scope="module")
def served(hf: HFPolicy) -> Iterator[tuple[PolicyServer, str]]:
    server, url = serve_policy(hf, model_name="tiny")
    assert server.server_address[0] == "127.0.0.1"
    yield server, url
    server.stop()


class EchoPolicy(Policy):
    """Answers with the observation's text; optionally slow, or failing on 'boom'."""

    name = "echo"

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        sampling = sampling or SamplingParams()
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            out = []
            for obs in observations:
                if "boom" in obs.text():
                    raise RuntimeError("the model exploded")
                text = f"echo {obs.text()} | {[img.size for img in obs.images()]}"
                ids = list(text.encode())[:8]
                out.append(
                    [
                        Completion(text=text, token_ids=ids, logprobs=[-0.5] * len(ids))
                        for _ in range(sampling.n)
                    ]
                )
            return out
        finally:
            with self._lock:
                self.in_flight -= 1


def _obs(*parts: object) -> Observation:
    return Observation("player_1", "player", "clue", 1, [text_message("user", *parts)])


def _batch() -> list[Observation]:
    return [
        _obs(Image.new("RGB", (480, 320), "red"), "Describe the picture."),
        _obs(
            "Clues so far: the cube is red.",
            Image.new("RGB", (64, 200), "blue"),
            Image.new("RGBA", (300, 300), (0, 255, 0, 128)),
            "Who is the spy?",
        ),
        _obs("No picture this time, just answer."),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# pure parts
# ---------------------------------------------------------------------------


def test_messages_carry_images_as_data_urls() -> None:
    img = Image.new("RGB", (20, 10), "red")
    msgs = to_openai_messages(
        [{"role": "system", "content": "be <|im_start|> nice"}, text_message("user", "hi", img)]
    )
    assert msgs[0] == {"role": "system", "content": "be <im_start> nice"}
    part = msgs[1]["content"][1]
    assert part["type"] == "image_url"
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    check_request_images(msgs, 1)
    with pytest.raises(ImageCountMismatch, match="1 image_url part"):
        check_request_images(msgs, 2)
    with pytest.raises(ImageCountMismatch, match="raw <|image_pad|>"):
        check_request_images([{"role": "user", "content": "x <|image_pad|>"}], 0)


def test_choice_mapping_and_token_id_parsing() -> None:
    assert parse_token_id("token_id:42") == 42 and parse_token_id("hello") is None
    lp = {
        "content": [
            {"token": "token_id:5", "logprob": -0.1},
            {"token": "token_id:6", "logprob": -0.2},
        ]
    }
    base = {"message": {"content": "hi"}, "finish_reason": "length", "logprobs": lp}
    c = completion_from_choice(base, [1, 2])
    assert (c.text, c.token_ids, c.logprobs, c.finish_reason) == (
        "hi",
        [5, 6],
        [-0.1, -0.2],
        "length",
    )
    assert c.prompt_token_ids == [1, 2] and c.meta["token_ids"] == "logprobs"
    server = completion_from_choice({**base, "token_ids": [5, 6]})
    assert server.token_ids == [5, 6] and server.meta["token_ids"] == "server"
    plain = {"content": [{"token": "hi", "logprob": -0.3}]}
    c = completion_from_choice(
        {"message": {"content": "hi"}, "finish_reason": "stop", "logprobs": plain}
    )
    assert c.token_ids == [] and c.logprobs == [-0.3] and c.meta["token_ids"] == "unavailable"


# ---------------------------------------------------------------------------
# real HTTP, real tiny model
# ---------------------------------------------------------------------------


def test_batch_over_http_matches_the_model(hf: HFPolicy, served: tuple[PolicyServer, str]) -> None:
    server, url = served
    policy = OpenAIPolicy(url, "tiny", max_concurrency=3)
    server.requests.clear()
    batch = _batch()
    sampling = SamplingParams(temperature=1.0, max_new_tokens=16, n=2, seed=0)
    results = policy.generate(batch, sampling)
    assert [len(cs) for cs in results] == [2, 2, 2]
    banned = set(hf.suppress_token_ids)
    for cs in results:
        for c in cs:
            assert c.finish_reason in ("stop", "length")
            assert 0 < len(c.token_ids) <= 16 and len(c.logprobs) == len(c.token_ids)
            assert all(lp <= 0.0 for lp in c.logprobs)
            assert not banned.intersection(c.token_ids)
            assert c.text == hf.tokenizer.decode(c.token_ids, skip_special_tokens=True)
            assert c.meta["token_ids"] == "server" and c.prompt_token_ids
    # the images arrived, decoded, at their sizes; extensions were sent
    sizes = sorted(tuple(r["image_sizes"]) for r in server.requests)
    assert sizes == sorted([((480, 320),), ((64, 200), (300, 300)), ()])
    ext = server.requests[0]["extensions"]
    assert ext["bad_words"] == list(DEFAULT_SUPPRESS_TOKENS)
    assert ext["return_tokens_as_token_ids"] is True and ext["return_token_ids"] is True
    # the server's generation_config defaults (Qwen: top_k=1) must not leak in
    assert (ext["top_k"], ext["min_p"], ext["repetition_penalty"]) == (0, 0.0, 1.0)
    assert results[0][0].prompt_token_ids.count(hf.image_token_id) > 1
    # bit-exact images (PNG) + seed s + i * n: the same samples as the model in-process
    for i in (0, 1):
        local = hf.generate([batch[i]], SamplingParams(1.0, 1.0, 16, 2, i * 2))[0]
        assert [c.token_ids for c in results[i]] == [c.token_ids for c in local]
        for remote, mine in zip(results[i], local):
            assert remote.logprobs == pytest.approx(mine.logprobs, abs=1e-6)
            assert remote.prompt_token_ids == mine.prompt_token_ids
    policy.close()


def test_token_ids_parsed_from_logprob_tokens(
    hf: HFPolicy, served: tuple[PolicyServer, str]
) -> None:
    _, url = served
    policy = OpenAIPolicy(url, "tiny", extra_body={"return_token_ids": False})
    c = policy.generate([_batch()[0]], SamplingParams(temperature=0, max_new_tokens=12))[0][0]
    assert c.meta["token_ids"] == "logprobs" and c.token_ids
    assert c.prompt_token_ids == []  # only return_token_ids brings the prompt back
    assert c.text == hf.tokenizer.decode(c.token_ids, skip_special_tokens=True)
    again = policy.generate([_batch()[0]], SamplingParams(temperature=0, max_new_tokens=12))
    assert again[0][0].token_ids == c.token_ids  # greedy is deterministic over HTTP
    policy.close()


def test_spec_string_and_models_endpoint(served: tuple[PolicyServer, str]) -> None:
    _, url = served
    policy = make_policy(f"openai:{url}#tiny", max_retries=0)
    assert isinstance(policy, OpenAIPolicy) and policy.model == "tiny"
    assert [m.id for m in policy.client.models.list()] == ["tiny"]
    assert policy.act(_obs("hello"), SamplingParams(max_new_tokens=4, seed=1)) is not None
    policy.close()


def test_server_refuses_bad_requests(served: tuple[PolicyServer, str]) -> None:
    _, url = served
    client = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
    remote = [{"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}]
    with pytest.raises(openai.BadRequestError, match="data: image URLs"):
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": remote}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "x"}])
    client.close()


# ---------------------------------------------------------------------------
# servers without extensions, failures, concurrency
# ---------------------------------------------------------------------------


def test_strict_server_falls_back_without_extensions(hf: HFPolicy) -> None:
    with PolicyServer(("127.0.0.1", 0), hf, model_name="tiny", vllm_extensions=False) as server:
        server.start()
        policy = OpenAIPolicy(server.url, "tiny", max_retries=0, max_concurrency=1)
        results = policy.generate(_batch()[:2], SamplingParams(max_new_tokens=8, seed=2))
        assert policy.vllm_extensions is False
        for cs in results:
            c = cs[0]
            assert c.finish_reason in ("stop", "length") and c.logprobs
            assert c.token_ids == [] and c.meta["token_ids"] == "unavailable"
        assert [r["extensions"] for r in server.requests] == [{}, {}]
        assert [len(r["image_sizes"]) for r in server.requests] == [1, 2]
        policy.close()


def test_failed_request_fails_only_its_observation() -> None:
    server, url = serve_policy(EchoPolicy(), model_name="echo")
    try:
        policy = OpenAIPolicy(url, "echo", max_retries=0)
        batch = [_obs("fine"), _obs("boom"), _obs(Image.new("RGB", (8, 6)), "fine too")]
        results = policy.generate(batch, SamplingParams(n=2))
        assert [c.finish_reason for c in results[1]] == ["error", "error"]
        assert results[1][0].meta["error"] == "api_error"
        assert results[1][0].meta["status_code"] == 500
        assert "exploded" in results[1][0].meta["message"]
        assert results[0][0].text.startswith("echo fine")
        assert results[2][1].text == "echo <image>fine too | [(8, 6)]"
        assert results[2][1].token_ids == list(results[2][1].text.encode())[:8]
        policy.close()
    finally:
        server.stop()


def test_policy_error_is_an_http_400_and_an_error_completion(tmp_path) -> None:
    from vzgym.agents.tiny_model import build_tiny_model

    short = HFPolicy(build_tiny_model(tmp_path / "m"), device="cpu", max_prompt_tokens=40)
    with PolicyServer(("127.0.0.1", 0), short, model_name="tiny") as server:
        server.start()
        policy = OpenAIPolicy(server.url, "tiny", max_retries=0)
        long_obs = _obs("word " * 200)
        results = policy.generate([long_obs, _obs("hi")], SamplingParams(max_new_tokens=4))
        c = results[0][0]
        assert c.finish_reason == "error" and c.meta["status_code"] == 400
        assert "prompt_too_long" in c.meta["message"]
        assert policy.vllm_extensions is True  # a 400 about the prompt keeps the extensions
        assert results[1][0].finish_reason in ("stop", "length")
        client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
        with pytest.raises(openai.BadRequestError, match="top_k=5"):
            client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": "x"}], extra_body={"top_k": 5}
            )
        client.close()
        policy.close()


def test_unbuildable_request_fails_only_its_observation() -> None:
    policy = OpenAIPolicy(f"http://127.0.0.1:{_free_port()}/v1", "x", max_retries=0, timeout=5)
    results = policy.generate([_obs(Image.new("RGB", (0, 0)), "x"), _obs("b")], SamplingParams())
    assert results[0][0].meta["error"] == "render_error"
    assert "empty image" in results[0][0].meta["message"]
    assert results[1][0].meta["error"] == "connection_error"  # sent (nobody listens)
    policy.close()


def test_unreachable_server_gives_error_completions() -> None:
    policy = OpenAIPolicy(f"http://127.0.0.1:{_free_port()}/v1", "x", max_retries=0, timeout=5)
    results = policy.generate([_obs("a"), _obs("b")], SamplingParams(n=3))
    assert [[c.finish_reason for c in cs] for cs in results] == [["error"] * 3] * 2
    assert results[0][0].meta["error"] == "connection_error"
    policy.close()


def test_requests_run_concurrently_and_keep_order() -> None:
    echo = EchoPolicy(delay=0.3)
    server = PolicyServer(("127.0.0.1", 0), echo, model_name="echo", serialize=False).start()
    try:
        policy = OpenAIPolicy(server.url, "echo", max_concurrency=4, max_retries=0)
        batch = [_obs(f"question {i}") for i in range(8)]
        t0 = time.perf_counter()
        results = policy.generate(batch, SamplingParams())
        elapsed = time.perf_counter() - t0
        assert [cs[0].text.split(" |")[0] for cs in results] == [
            f"echo question {i}" for i in range(8)
        ]
        assert 2 <= echo.max_in_flight <= 4
        assert elapsed < 8 * 0.3  # not one after the other
        policy.close()
    finally:
        server.stop()
