"""vzgym's OpenRLHF agent module inside OpenRLHF 0.11.2's own ``RolloutRayActor``, on a real
vLLM engine (vLLM's CPU build), instead of the transformers shim.

The actor class is OpenRLHF's (``openrlhf.trainer.ray.vllm_engine``), unwrapped from its
``@ray.remote`` decorator and built in this process: its ``__init__`` loads vzgym's agent
file with OpenRLHF's ``_load_agent_executor`` and creates ``vllm.AsyncLLMEngine``; its
``generate_responses`` runs the agent, whose turns call the actor's ``generate`` (OpenRLHF's
pad-token dedup, then vLLM's own multimodal processing).  No Ray cluster runs
(``RAY_ADDRESS`` is set so the actor does not ask one for its address), no GPU, no
DeepSpeed: those stay contract-only (docs/distributed.md).
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENT_FILE = ROOT / "vzgym" / "trainers" / "openrlhf" / "agent.py"
GROUP = 2
TURNS = 11  # spy-clevr: 4 players x 2 clue rounds + 3 civilian votes


@pytest.fixture(scope="module")
def played(tiny_dir: Path, hf):
    os.environ.setdefault("RAY_ADDRESS", "127.0.0.1:1")  # never contacted: no cluster here
    import vllm
    from openrlhf.trainer.ray.vllm_engine import RolloutRayActor

    from vzgym.agents.vllm_engine import DEFAULT_ENGINE_KWARGS
    from vzgym.trainers.openrlhf.dataset import GameRow

    actor_cls = RolloutRayActor.__ray_actor_class__  # OpenRLHF's class, not a stand-in
    tok = hf.processor.tokenizer
    pads = {tok.convert_tokens_to_ids("<|image_pad|>"), tok.convert_tokens_to_ids("<|video_pad|>")}
    engine_kwargs = {**DEFAULT_ENGINE_KWARGS, "kv_cache_memory_bytes": 128 << 20}
    engine_kwargs["max_num_batched_tokens"] = 4096
    del engine_kwargs["seed"]
    row = GameRow(env_id="spy-clevr", seed=5, group=GROUP, samples=GROUP * TURNS)
    params = vllm.SamplingParams(temperature=1.0, max_tokens=24, logprobs=1)

    async def main():
        actor = actor_cls.__new__(actor_cls)
        await actor.__init__(
            model=str(tiny_dir),
            max_model_len=2048,
            seed=0,
            num_gpus=0,
            agent_func_path=str(AGENT_FILE),
            mm_pad_token_ids=pads,
            **engine_kwargs,
        )
        try:
            return actor, await actor.generate_responses(
                prompt=row.to_prompt(),
                label="",
                sampling_params=params,
                max_length=2048,
                hf_tokenizer=hf.processor,
                num_samples=GROUP * TURNS,
            )
        finally:
            actor.llm.shutdown()

    actor, results = asyncio.run(main())
    return actor, row, results


def test_every_seat_turn_comes_back_once(played) -> None:
    actor, row, results = played
    assert type(actor.executor).__name__ == "AgentExecutor"  # vzgym's, via OpenRLHF's loader
    assert len(results) == GROUP * TURNS
    keys = {
        (r["vzgym_turn"]["copy"], r["vzgym_turn"]["agent"], r["vzgym_turn"]["step"])
        for r in results
    }
    assert len(keys) == GROUP * TURNS
    seats: dict[tuple[str, str], int] = defaultdict(int)
    for r in results:
        seats[(r["vzgym_turn"]["role"], r["vzgym_turn"]["phase"])] += 1
    assert seats == {("civilian", "clue"): 6 * GROUP, ("spy", "clue"): 2 * GROUP,
                     ("civilian", "decision"): 3 * GROUP}  # fmt: skip
    assert all(r["prompt"] == row.to_prompt() for r in results)


def test_real_engine_ids_logprobs_and_images(played, hf) -> None:
    """Action ids are vLLM's samples; image pads re-expand to the trained prompt; logprobs
    match transformers on the same weights."""
    import torch

    from vzgym.agents.hf_policy import check_image_placeholders

    _, _, results = played
    tok = hf.processor.tokenizer
    config = hf.model.config
    worst = 0.0
    for r in results:
        ((start, end),) = r["action_ranges"]
        assert end == len(r["observation_tokens"]) and end > start
        said = r["vzgym_turn"]["text"]
        assert tok.decode(r["observation_tokens"][start:end], skip_special_tokens=True) == said
        prompt = torch.tensor([r["observation_tokens"][:start]])
        check_image_placeholders(
            {"input_ids": prompt, **r["mm_train_inputs"]},
            [r["vzgym_turn"]["num_images"]],
            image_token_id=config.image_token_id,
            vision_start_token_id=config.vision_start_token_id,
            merge_size=hf.processor.image_processor.merge_size,
        )
        # the trainer's forward pass on exactly these ids and pixels
        ids = torch.tensor([r["observation_tokens"]])
        with torch.no_grad():
            out = hf.model(
                input_ids=ids, attention_mask=torch.ones_like(ids), **r["mm_train_inputs"]
            )
        logp = torch.log_softmax(out.logits[0, start - 1 : end - 1].float(), dim=-1)
        ref = logp.gather(-1, ids[0, start:end].unsqueeze(-1)).squeeze(-1)
        got = torch.tensor(r["rollout_log_probs"][start:end])
        worst = max(worst, float((got - ref).abs().max()))
    assert worst < 0.2, worst  # vLLM's distribution excludes nothing here but banned words
