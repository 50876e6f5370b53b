"""The ``vllm`` policy against a real ``vllm.LLM`` (vLLM's CPU build, tiny Qwen2.5-VL v3).

Checks the claims of :mod:`vzgym.agents.vllm_policy` on the real engine: ``n`` samples per
observation, seeds ``s + i * n``, one logprob per exact token id, special tokens never
sampled, image placeholders expanded like transformers does, an over-long prompt failing
alone; and that vLLM's token ids / logprobs are those transformers computes with the same
weights.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
from PIL import Image

from vzgym.agents.base import SamplingParams
from vzgym.agents.vllm_engine import DEFAULT_ENGINE_KWARGS
from vzgym.agents.vllm_policy import VLLMPolicy
from vzgym.envs.base import Observation, text_message

MAX_MODEL_LEN = 512


@pytest.fixture(scope="session")
def llm(tiny_dir: Path):
    import vllm

    kwargs = {**DEFAULT_ENGINE_KWARGS, "kv_cache_memory_bytes": 128 << 20}
    kwargs["max_num_batched_tokens"] = 4096
    return vllm.LLM(model=str(tiny_dir), max_model_len=MAX_MODEL_LEN, **kwargs)


@pytest.fixture(scope="session")
def policy(tiny_dir: Path, llm, hf) -> VLLMPolicy:
    return VLLMPolicy(tiny_dir, engine=llm, processor=hf.processor)


def _obs(*parts: object) -> Observation:
    return Observation("player_1", "player", "clue", 1, [text_message("user", *parts)])


def _batch() -> list[Observation]:
    return [
        _obs(Image.new("RGB", (480, 320), "red"), "Describe the picture."),
        _obs(
            "Clues so far: the cube is red.",
            Image.new("RGB", (64, 200), "blue"),
            Image.new("RGB", (300, 300), "green"),
            "Which player is the spy?",
        ),
        _obs("No image here; give one short clue."),
    ]


def _ids(results) -> list[list[list[int]]]:
    return [[c.token_ids for c in comps] for comps in results]


def test_n_samples_exact_ids_and_logprobs(policy: VLLMPolicy) -> None:
    sampling = SamplingParams(temperature=1.0, max_new_tokens=24, n=3, seed=11)
    results = policy.generate(_batch(), sampling)
    assert [len(c) for c in results] == [3, 3, 3]
    tok = policy.tokenizer
    eos = set(policy.eos_token_ids)
    for comps in results:
        for c in comps:
            assert c.finish_reason in ("stop", "length"), c.meta
            assert c.token_ids and len(c.logprobs) == len(c.token_ids)
            assert all(math.isfinite(x) and x <= 0.0 for x in c.logprobs)
            assert c.text == tok.decode(c.token_ids, skip_special_tokens=True)
            if c.finish_reason == "stop":
                assert c.token_ids[-1] in eos  # EOS kept in the ids the loss sees
            else:
                assert len(c.token_ids) == 24
        assert len({tuple(c.token_ids) for c in comps}) > 1  # n real samples, not copies
    assert results[0][0].prompt_token_ids != results[1][0].prompt_token_ids


def test_seeds_are_s_plus_i_times_n(policy: VLLMPolicy) -> None:
    batch = _batch()
    sampling = SamplingParams(temperature=1.0, max_new_tokens=16, n=2, seed=5)
    first = _ids(policy.generate(batch, sampling))
    assert _ids(policy.generate(batch, sampling)) == first  # same batch, same samples
    # observation 2 of the batch was sent with seed 5 + 2*2 = 9: alone with seed 9, the same
    alone = _ids(policy.generate([batch[2]], SamplingParams(1.0, 1.0, 16, 2, 9)))
    assert alone[0] == first[2]
    other = _ids(policy.generate(batch, SamplingParams(1.0, 1.0, 16, 2, 6)))
    assert other != first


def test_special_tokens_never_sampled(tiny_dir: Path, llm, hf) -> None:
    banned = set(VLLMPolicy(tiny_dir, engine=llm, processor=hf.processor).suppress_token_ids)
    assert len(banned) >= 10
    sampling = SamplingParams(temperature=1.5, max_new_tokens=48, n=8, seed=1)
    seen: dict[str, set[int]] = {}
    for mode in ("none", "auto", "allowed_token_ids"):
        pol = VLLMPolicy(tiny_dir, engine=llm, processor=hf.processor, suppression=mode)
        ids = {t for comps in pol.generate(_batch(), sampling) for c in comps for t in c.token_ids}
        seen[mode] = ids & banned
    assert seen["none"], "without suppression the random model samples special tokens"
    assert seen["auto"] == set() and seen["allowed_token_ids"] == set()


def test_image_placeholders_expand_like_transformers(policy: VLLMPolicy, hf) -> None:
    batch = _batch()
    results = policy.generate(batch, SamplingParams(max_new_tokens=4, seed=0))
    inputs = hf.prompt_inputs(batch)
    pad = hf.image_token_id
    for row, comps in enumerate(results):
        want = inputs["input_ids"][row][inputs["attention_mask"][row].bool()].tolist()
        got = comps[0].prompt_token_ids
        assert got == want  # same text tokens, same number of vision tokens per image
        assert comps[0].meta["num_images"] == [1, 2, 0][row]
    assert sum(t == pad for t in results[1][0].prompt_token_ids) > sum(
        t == pad for t in results[0][0].prompt_token_ids
    )


def test_prompt_over_the_context_limit_fails_alone(policy: VLLMPolicy) -> None:
    batch = _batch()
    long = _obs(Image.new("RGB", (64, 64), "red"), "the red cube is left of it. " * 200)
    sampling = SamplingParams(max_new_tokens=8, n=2, seed=3)
    results = policy.generate([batch[0], long, batch[2]], sampling)
    assert [c.finish_reason for c in results[1]] == ["error", "error"]
    assert results[1][0].meta["error"] == "engine_error"
    assert "longer than" in results[1][0].meta["message"] or "max" in results[1][0].meta["message"]
    for comps in (results[0], results[2]):
        assert all(c.finish_reason in ("stop", "length") and c.token_ids for c in comps)
    # the others keep the seeds of their positions: as in a batch without the long prompt
    alone = policy.generate([batch[0], batch[2], batch[2]], sampling)
    assert _ids([results[0]]) == _ids([alone[0]])
    assert _ids([results[2]]) == _ids([alone[2]])


def test_logprobs_and_greedy_ids_equal_transformers(tiny_dir: Path, llm, hf) -> None:
    """Same weights: vLLM's sampled-token logprobs equal transformers' recomputation."""
    pol = VLLMPolicy(tiny_dir, engine=llm, processor=hf.processor, suppression="none")
    batch = _batch()
    results = pol.generate(batch, SamplingParams(temperature=0.7, max_new_tokens=20, n=2, seed=2))
    rows = [obs for obs in batch for _ in range(2)]
    ids = [c.token_ids for comps in results for c in comps]
    recomputed = hf.completion_logprobs(rows, ids, temperature=0.7)
    worst = 0.0
    for comp_lp, ref in zip([c.logprobs for comps in results for c in comps], recomputed):
        assert len(comp_lp) == len(ref)
        worst = max(worst, max(abs(a - float(b)) for a, b in zip(comp_lp, ref)))
    assert worst < 2e-3, worst
    # greedy: vLLM's ids are transformers' greedy ids, token for token
    greedy = SamplingParams(temperature=0.0, max_new_tokens=12, n=1)
    v_ids = [c[0].token_ids for c in pol.generate(batch, greedy)]
    hf_policy = copy.copy(hf)
    hf_policy.suppress_token_ids = []  # as the vLLM policy above: nothing banned
    h_ids = [c[0].token_ids for c in hf_policy.generate(batch, greedy)]
    assert v_ids == h_ids
