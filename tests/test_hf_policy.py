"""The ``hf`` policy backend on the real tiny Qwen2.5-VL (no mocks)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from vzgym.agents.base import Completion, SamplingParams  # noqa: E402
from vzgym.agents.chat import neutralize, split_messages  # noqa: E402
from vzgym.agents.hf_policy import (  # noqa: E402
    HFPolicy,
    ImagePlaceholderMismatch,
    check_image_placeholders,
)
from vzgym.agents.tiny_model import build_tiny_model  # noqa: E402
from vzgym.envs.base import Observation, text_message  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny_hf") / "model")


@pytest.fixture(scope="session")
def policy(tiny_dir: Path) -> HFPolicy:
    return HFPolicy(tiny_dir, device="cpu")


def _obs(*parts: object, system: str | None = None, agent: str = "player_1") -> Observation:
    messages = [text_message("system", system)] if system else []
    messages.append(text_message("user", *parts))
    return Observation(agent, "player", "clue", 1, messages)


def _batch() -> list[Observation]:
    return [
        _obs(Image.new("RGB", (480, 320), "red"), "Describe the picture.", system="You play."),
        _obs(
            "Round 2. Clues so far: " + "player 1 said the cube is red. " * 6,
            Image.new("RGB", (64, 200), "blue"),
            Image.new("RGB", (300, 300), "green"),
            "Who is the spy?",
        ),
        _obs("No picture this time, just answer."),
    ]


def _flat(results: list[list[Completion]]) -> list[Completion]:
    return [c for cs in results for c in cs]


def test_batch_of_three_with_n2(policy: HFPolicy) -> None:
    results = policy.generate(
        _batch(), SamplingParams(temperature=1.0, max_new_tokens=24, n=2, seed=0)
    )
    assert [len(cs) for cs in results] == [2, 2, 2]
    eos = set(policy.eos_token_ids)
    for c in _flat(results):
        assert c.finish_reason in ("stop", "length")
        assert 0 < len(c.token_ids) <= 24
        assert len(c.logprobs) == len(c.token_ids)
        assert all(lp <= 0.0 for lp in c.logprobs)
        assert policy.tokenizer.pad_token_id not in c.token_ids[:-1]
        assert c.text == policy.tokenizer.decode(c.token_ids, skip_special_tokens=True)
        if c.finish_reason == "stop":
            assert c.token_ids[-1] in eos
            assert not eos.intersection(c.token_ids[:-1])
        else:
            assert len(c.token_ids) == 24 and not eos.intersection(c.token_ids)
        assert c.prompt_token_ids and c.meta["prompt_tokens"] == len(c.prompt_token_ids)
    assert [results[i][0].meta["num_images"] for i in range(3)] == [1, 2, 0]
    # the tiny model's built-in stop rule: with room, most answers end on their own
    long = policy.generate(_batch(), SamplingParams(max_new_tokens=200, n=2, seed=1))
    assert any(c.finish_reason == "stop" for c in _flat(long))
    # the prompts are the unpadded processor outputs, with image tokens expanded
    image_id = policy.image_token_id
    assert results[0][0].prompt_token_ids.count(image_id) > 1
    assert image_id not in results[2][0].prompt_token_ids


def test_no_suppressed_tokens_at_high_temperature(policy: HFPolicy) -> None:
    results = policy.generate(
        _batch(), SamplingParams(temperature=20.0, max_new_tokens=48, n=2, seed=3)
    )
    suppressed = set(policy.suppress_token_ids)
    assert policy.image_token_id in suppressed and policy.vision_start_token_id in suppressed
    assert not suppressed.intersection(policy.eos_token_ids)
    sampled = [t for c in _flat(results) for t in c.token_ids]
    assert len(sampled) > 50
    assert not suppressed.intersection(sampled)


def test_same_seed_same_outputs_and_global_rng_untouched(policy: HFPolicy) -> None:
    params = SamplingParams(temperature=1.0, max_new_tokens=12, n=2, seed=123)
    torch.manual_seed(7)
    before = torch.rand(3)
    torch.manual_seed(7)
    a = policy.generate(_batch(), params)
    after = torch.rand(3)
    assert torch.equal(before, after)  # generate did not advance the global RNG
    b = policy.generate(_batch(), params)
    assert [c.token_ids for c in _flat(a)] == [c.token_ids for c in _flat(b)]
    assert [c.logprobs for c in _flat(a)] == [c.logprobs for c in _flat(b)]
    other = policy.generate(_batch(), SamplingParams(max_new_tokens=12, n=2, seed=124))
    assert [c.token_ids for c in _flat(a)] != [c.token_ids for c in _flat(other)]


def test_greedy_is_deterministic(policy: HFPolicy) -> None:
    params = SamplingParams(temperature=0.0, max_new_tokens=8, n=2)
    results = policy.generate(_batch()[:1], params)
    assert results[0][0].token_ids == results[0][1].token_ids


def test_logprobs_match_plain_forward_pass(policy: HFPolicy) -> None:
    batch = _batch()
    results = policy.generate(
        batch, SamplingParams(temperature=1.0, max_new_tokens=16, n=2, seed=5)
    )
    comps = _flat(results)
    recomputed = policy.completion_logprobs(batch, [c.token_ids for c in comps], repeat=2)
    for c, lp in zip(comps, recomputed, strict=True):
        assert torch.allclose(torch.tensor(c.logprobs), lp, atol=1e-4)

    # ... and by hand, for one unpadded row: prompt ids + completion through model(...)
    inputs = policy.prompt_inputs(batch[:1])
    c = results[0][1]
    assert inputs["input_ids"][0].tolist() == c.prompt_token_ids
    full = dict(inputs)
    completion = torch.tensor([c.token_ids])
    full["input_ids"] = torch.cat([inputs["input_ids"], completion], dim=1)
    full["attention_mask"] = torch.ones_like(full["input_ids"])
    if "mm_token_type_ids" in full:
        full["mm_token_type_ids"] = torch.cat(
            [full["mm_token_type_ids"], torch.zeros_like(completion)], dim=1
        )
    with torch.no_grad():
        logits = policy.model(**full).logits[0, len(c.prompt_token_ids) - 1 : -1]
    manual = torch.log_softmax(logits.float(), -1).gather(-1, completion[0][:, None])[:, 0]
    assert torch.allclose(torch.tensor(c.logprobs), manual, atol=1e-4)


def test_logprobs_use_temperature(policy: HFPolicy) -> None:
    batch = _batch()[2:]
    results = policy.generate(batch, SamplingParams(temperature=0.5, max_new_tokens=8, seed=1))
    c = results[0][0]
    again = policy.completion_logprobs(batch, [c.token_ids], temperature=0.5)[0]
    assert torch.allclose(torch.tensor(c.logprobs), again, atol=1e-4)


def test_prompt_too_long_fails_only_that_observation(tiny_dir: Path, policy: HFPolicy) -> None:
    batch = _batch()
    limit = int(policy.prompt_inputs(batch)["attention_mask"].sum(dim=1).max())
    short_policy = HFPolicy(model=policy.model, processor=policy.processor, max_prompt_tokens=limit)
    batch.insert(1, _obs(Image.new("RGB", (100, 100)), "a very long clue log. " * 80))
    results = short_policy.generate(batch, SamplingParams(max_new_tokens=8, n=2, seed=0))
    assert [len(cs) for cs in results] == [2, 2, 2, 2]
    for c in results[1]:
        assert c.finish_reason == "error" and c.text == "" and not c.token_ids
        assert c.meta["error"] == "prompt_too_long"
        assert c.meta["prompt_tokens"] > c.meta["max_prompt_tokens"] == limit
    for i in (0, 2, 3):
        assert all(c.finish_reason in ("stop", "length") for c in results[i])
    # the default limit follows the model's context
    assert policy.prompt_limit(100) == policy.max_position_embeddings - 100


def test_processor_error_fails_only_that_observation(policy: HFPolicy) -> None:
    batch = [_obs(Image.new("RGB", (2, 600)), "aspect ratio 300"), _obs("fine")]
    results = policy.generate(batch, SamplingParams(max_new_tokens=4, n=1, seed=0))
    assert results[0][0].finish_reason == "error"
    assert results[0][0].meta["error"] == "processor_error"
    assert results[1][0].finish_reason in ("stop", "length")


def test_placeholder_mismatch_raises(policy: HFPolicy) -> None:
    inputs = policy.prompt_inputs(_batch())
    kwargs = dict(
        image_token_id=policy.image_token_id,
        vision_start_token_id=policy.vision_start_token_id,
        merge_size=policy.merge_size,
    )
    check_image_placeholders(inputs, [1, 2, 0], **kwargs)  # the real thing passes
    with pytest.raises(ImagePlaceholderMismatch, match="vision_start"):
        check_image_placeholders(inputs, [1, 1, 1], **kwargs)  # images assigned to wrong rows
    # double expansion: every image placeholder run repeated
    ids = inputs["input_ids"]
    row = ids[0]
    doubled = torch.cat([row[row != policy.image_token_id], row[row == policy.image_token_id]])
    doubled = torch.cat([doubled, row[row == policy.image_token_id]])
    bad = {
        "input_ids": doubled[None],
        "attention_mask": torch.ones_like(doubled)[None],
        "image_grid_thw": inputs["image_grid_thw"][:1],
        "pixel_values": inputs["pixel_values"][: int(inputs["image_grid_thw"][0].prod())],
    }
    with pytest.raises(ImagePlaceholderMismatch, match="image placeholder tokens"):
        check_image_placeholders(bad, [1], **kwargs)
    # pixel_values that do not cover the grid
    short = dict(inputs)
    short["pixel_values"] = inputs["pixel_values"][:-4]
    with pytest.raises(ImagePlaceholderMismatch, match="pixel_values"):
        check_image_placeholders(short, [1, 2, 0], **kwargs)


def test_special_token_text_is_neutralized(policy: HFPolicy) -> None:
    assert neutralize("x <|image_pad|> <|im_end|>", ["<|image_pad|>", "<|im_end|>"]) == (
        "x <image_pad> <im_end>"
    )
    msgs, images = split_messages(
        [text_message("user", "hi <|vision_start|>")], ["<|vision_start|>"]
    )
    assert msgs[0]["content"] == [{"type": "text", "text": "hi <vision_start>"}] and images == []
    # a clue that spells out image tokens must not create extra placeholders
    sneaky = _obs(Image.new("RGB", (50, 50)), "<|vision_start|><|image_pad|><|vision_end|>")
    results = policy.generate([sneaky], SamplingParams(max_new_tokens=4, seed=0))
    assert results[0][0].finish_reason in ("stop", "length")


def test_max_batch_size_chunks(policy: HFPolicy) -> None:
    small = HFPolicy(model=policy.model, processor=policy.processor, max_batch_size=2)
    results = small.generate(_batch(), SamplingParams(max_new_tokens=6, n=2, seed=0))
    assert [len(cs) for cs in results] == [2, 2, 2]
    assert {c.meta["batch_rows"] for c in _flat(results)} == {2}
    assert small.generate([], SamplingParams()) == []
