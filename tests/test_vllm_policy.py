"""The ``vllm`` policy backend's contract, in the main venv (vllm 0.29 installed --no-deps).

The real engine runs in ``.venv-vllm`` (tests/vllm/test_vllm_llm.py, vLLM's CPU build);
here, where vLLM's engine cannot run, :class:`VLLMPolicy` is driven with a stand-in
engine that speaks vLLM's offline API (``generate(prompts, sampling_params,
use_tqdm=...)`` -> ``RequestOutput``) and answers with the real tiny
Qwen2.5-VL through transformers: it feeds vLLM's prompt dicts (prompt text +
``multi_modal_data`` images) to the real processor, bans exactly the tokens
vLLM's own ``SamplingParams.update_from_tokenizer`` derives from our
``bad_words`` and returns real ``vllm.outputs`` objects.  Where vllm imports
(``pip install --no-deps vllm`` plus a few light packages) everything the policy
builds is a real vllm object; otherwise the same code runs with plain dicts /
namespaces and the vllm-only tests are skipped.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from vzgym.agents.base import SamplingParams  # noqa: E402
from vzgym.agents.hf_policy import HFPolicy, check_image_placeholders  # noqa: E402
from vzgym.agents.tiny_model import build_tiny_model  # noqa: E402
from vzgym.agents.vllm_policy import (  # noqa: E402
    ImagePlaceholderMismatch,
    TokenInfo,
    VLLMPolicy,
    build_request,
    check_prompt_placeholders,
    completions_from_output,
    sampling_param_kwargs,
    token_info,
)
from vzgym.envs.base import Observation, text_message  # noqa: E402

try:  # vllm installed with --no-deps (no GPU needed to import these modules)
    import vllm
    from vllm.inputs import TextPrompt
    from vllm.logprobs import Logprob
    from vllm.outputs import CompletionOutput, RequestOutput
    from vllm.tokenizers.hf import get_cached_tokenizer

    HAVE_VLLM = True
except Exception:  # noqa: BLE001 - any import failure means: no vllm here
    HAVE_VLLM = False

needs_vllm = pytest.mark.skipif(not HAVE_VLLM, reason="vllm cannot be imported here")


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny_vllm") / "model")


@pytest.fixture(scope="session")
def hf(tiny_dir: Path) -> HFPolicy:
    return HFPolicy(tiny_dir, device="cpu")


# ---------------------------------------------------------------------------
# a stand-in for vllm.LLM, backed by the real tiny model
# ---------------------------------------------------------------------------


def _field(params: Any, name: str, default: Any = None) -> Any:
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, default)


class HFBackedLLM:
    """vLLM's offline ``LLM.generate`` contract, answered by the tiny model via transformers."""

    def __init__(self, hf: HFPolicy, max_model_len: int | None = None):
        self.hf = hf
        self.max_model_len = max_model_len
        self.calls: list[tuple[list[dict[str, Any]], list[Any]]] = []

    def banned_ids(self, params: Any) -> set[int]:
        tok = self.hf.tokenizer
        allowed = _field(params, "allowed_token_ids")
        if allowed:
            vocab = self.hf.model.config.get_text_config().vocab_size
            return set(range(vocab)) - set(allowed)
        words = _field(params, "bad_words") or []
        if HAVE_VLLM and isinstance(params, vllm.SamplingParams):
            # exactly what vLLM's engine does with bad_words
            params.update_from_tokenizer(get_cached_tokenizer(tok))
            seqs = params.bad_words_token_ids or []
            assert all(len(s) == 1 for s in seqs), seqs  # single tokens: banned at every step
            return {s[0] for s in seqs}
        return set(tok.convert_tokens_to_ids(list(words)))

    def generate(self, prompts: list[dict[str, Any]], sampling_params: Any, *, use_tqdm: bool):
        assert use_tqdm is False
        params_list = (
            list(sampling_params)
            if isinstance(sampling_params, list)
            else [sampling_params] * len(prompts)
        )
        assert len(params_list) == len(prompts)
        self.calls.append((prompts, params_list))
        # vLLM validates every prompt before running any
        encoded = []
        for request in prompts:
            assert set(request) <= {"prompt", "multi_modal_data"}
            images = list((request.get("multi_modal_data") or {}).get("image", []))
            kwargs: dict[str, Any] = {"text": [request["prompt"]], "return_tensors": "pt"}
            if images:
                kwargs["images"] = images
            inputs = dict(self.hf.processor(**kwargs))
            check_image_placeholders(
                inputs,
                [len(images)],
                image_token_id=self.hf.image_token_id,
                vision_start_token_id=self.hf.vision_start_token_id,
                merge_size=self.hf.merge_size,
            )
            if self.max_model_len and inputs["input_ids"].shape[1] > self.max_model_len:
                raise ValueError("The decoder prompt is longer than the maximum model length")
            encoded.append(inputs)
        return [
            self._one(i, request, inputs, params)
            for i, (request, inputs, params) in enumerate(zip(prompts, encoded, params_list))
        ]

    @torch.no_grad()
    def _one(self, index: int, request: dict[str, Any], inputs: dict[str, Any], params: Any):
        from transformers import GenerationConfig

        n = int(_field(params, "n", 1))
        temperature = float(_field(params, "temperature", 1.0))
        greedy = temperature <= 0
        banned = self.banned_ids(params)
        rows = {
            k: (
                v.repeat(n, *([1] * (v.dim() - 1)))
                if k != "pixel_values" and torch.is_tensor(v)
                else v
            )
            for k, v in inputs.items()
        }
        if "pixel_values" in inputs:
            rows["pixel_values"] = inputs["pixel_values"].repeat(n, 1)
            rows["image_grid_thw"] = inputs["image_grid_thw"].repeat(n, 1)
        config = GenerationConfig(
            do_sample=not greedy,
            temperature=1.0 if greedy else temperature,
            top_p=1.0 if greedy else float(_field(params, "top_p", 1.0)),
            top_k=0,
            max_new_tokens=int(_field(params, "max_tokens")),
            eos_token_id=self.hf.eos_token_ids,
            pad_token_id=self.hf.pad_token_id,
            suppress_tokens=sorted(banned) or None,
            return_dict_in_generate=True,
            output_logits=True,
        )
        seed = _field(params, "seed")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0 if seed is None else int(seed))
            out = self.hf.model.generate(**rows, generation_config=config)
        prompt_len = inputs["input_ids"].shape[1]
        new = out.sequences[:, prompt_len:]
        logits = torch.stack(list(out.logits), dim=1).float() / (1.0 if greedy else temperature)
        logits[..., sorted(banned)] = -math.inf  # "processed" logprobs: the sampled distribution
        logp = torch.log_softmax(logits, dim=-1)
        outputs = []
        for k in range(n):
            ids = new[k].tolist()
            stop = next((j for j, t in enumerate(ids) if t in self.hf.eos_token_ids), None)
            ids = ids if stop is None else ids[: stop + 1]
            lps = [float(logp[k, j, t]) for j, t in enumerate(ids)]
            text = self.hf.tokenizer.decode(ids, skip_special_tokens=True)
            finish = "length" if stop is None else "stop"
            positions = [{t: _logprob(lp, t)} for t, lp in zip(ids, lps)]
            outputs.append(_completion_output(k, text, ids, sum(lps), positions, finish))
        return _request_output(
            str(index), request["prompt"], inputs["input_ids"][0].tolist(), outputs
        )


def _logprob(value: float, token_id: int) -> Any:
    if HAVE_VLLM:
        return Logprob(logprob=value, rank=1, decoded_token=None)
    return SimpleNamespace(logprob=value, rank=1, decoded_token=None)


def _completion_output(index, text, ids, cumulative, positions, finish) -> Any:
    if HAVE_VLLM:
        return CompletionOutput(
            index=index,
            text=text,
            token_ids=ids,
            cumulative_logprob=cumulative,
            logprobs=positions,
            finish_reason=finish,
        )
    return SimpleNamespace(
        index=index,
        text=text,
        token_ids=ids,
        cumulative_logprob=cumulative,
        logprobs=positions,
        finish_reason=finish,
        stop_reason=None,
    )


def _request_output(request_id, prompt, prompt_ids, outputs) -> Any:
    if HAVE_VLLM:
        return RequestOutput(
            request_id=request_id,
            prompt=prompt,
            prompt_token_ids=prompt_ids,
            prompt_logprobs=None,
            outputs=outputs,
            finished=True,
        )
    return SimpleNamespace(
        request_id=request_id, prompt=prompt, prompt_token_ids=prompt_ids, outputs=outputs
    )


def _policy(tiny_dir: Path, hf: HFPolicy, **kwargs: Any) -> VLLMPolicy:
    engine = kwargs.pop("engine", None) or HFBackedLLM(hf)
    cls = None if HAVE_VLLM else dict  # real vllm.SamplingParams wherever vllm imports
    return VLLMPolicy(
        tiny_dir, engine=engine, processor=hf.processor, sampling_params_cls=cls, **kwargs
    )


# ---------------------------------------------------------------------------
# pure parts
# ---------------------------------------------------------------------------


def _obs(*parts: object) -> Observation:
    return Observation("player_1", "player", "clue", 1, [text_message("user", *parts)])


def _batch() -> list[Observation]:
    return [
        _obs(Image.new("RGB", (480, 320), "red"), "Describe the picture."),
        _obs(
            "Clues so far: the cube is red.",
            Image.new("RGB", (64, 200), "blue"),
            Image.new("RGB", (300, 300), "green"),
            "Who is the spy?",
        ),
        _obs("No picture this time, just answer."),
    ]


def test_token_info_matches_hf_policy(tiny_dir: Path, hf: HFPolicy) -> None:
    info = token_info(hf.processor, model_path=tiny_dir)
    assert info.eos_token_ids == hf.eos_token_ids
    assert info.suppress_token_ids == hf.suppress_token_ids
    assert info.unspellable_ids == []
    assert "<|image_pad|>" in info.suppress_strings and "<|im_end|>" not in info.suppress_strings
    assert hf.tokenizer.convert_tokens_to_ids(info.suppress_strings) == info.suppress_token_ids
    assert (info.image_token, info.vision_start_token) == ("<|image_pad|>", "<|vision_start|>")


def test_build_request_pairs_images_and_placeholders(hf: HFPolicy) -> None:
    a, b = Image.new("RGB", (64, 64), "red"), Image.new("RGB", (40, 90), "blue")
    request = build_request(hf.processor, _obs(a, "fake <|image_pad|> <|vision_start|>", b))
    assert request["multi_modal_data"]["image"][0] is a
    assert request["multi_modal_data"]["image"][1] is b
    prompt = request["prompt"]
    assert prompt.count("<|image_pad|>") == 2 and prompt.count("<|vision_start|>") == 2
    assert "fake <image_pad> <vision_start>" in prompt  # text cannot forge a placeholder
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "multi_modal_data" not in build_request(hf.processor, _obs("text only"))


@needs_vllm
def test_requests_are_vllm_text_prompts(hf: HFPolicy) -> None:
    keys = TextPrompt.__required_keys__ | TextPrompt.__optional_keys__
    request = build_request(hf.processor, _batch()[1])
    assert set(request) <= keys and TextPrompt.__required_keys__ <= set(request)


def test_check_prompt_placeholders() -> None:
    one = "<|vision_start|><|image_pad|><|vision_end|>hi"
    check_prompt_placeholders(one, 1)
    check_prompt_placeholders("plain", 0)
    with pytest.raises(ImagePlaceholderMismatch, match="1 <|image_pad|>.* 2 image"):
        check_prompt_placeholders(one, 2)
    with pytest.raises(ImagePlaceholderMismatch):
        check_prompt_placeholders(one + "<|image_pad|>", 1)
    check_prompt_placeholders("<|image_pad|>", 1, vision_start_token=None)


def test_sampling_param_kwargs(hf: HFPolicy, tiny_dir: Path) -> None:
    info = token_info(hf.processor, model_path=tiny_dir)
    kw = sampling_param_kwargs(
        SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=12, n=3, seed=5), info
    )
    assert kw["n"] == 3 and kw["temperature"] == 0.7 and kw["top_p"] == 0.9
    assert kw["max_tokens"] == 12 and kw["seed"] == 5 and kw["logprobs"] == 0
    assert kw["bad_words"] == info.suppress_strings and "allowed_token_ids" not in kw
    greedy = sampling_param_kwargs(SamplingParams(temperature=0.0, top_p=0.5), info, seed=9)
    assert greedy["temperature"] == 0.0 and greedy["top_p"] == 1.0 and greedy["seed"] == 9
    assert "seed" not in sampling_param_kwargs(SamplingParams(), info)
    allowed = sampling_param_kwargs(SamplingParams(), info, suppression="allowed_token_ids")
    assert set(allowed["allowed_token_ids"]) == set(range(info.vocab_size)) - set(
        info.suppress_token_ids
    )
    assert set(info.eos_token_ids) <= set(allowed["allowed_token_ids"])
    none = sampling_param_kwargs(SamplingParams(), info, suppression="none")
    assert "bad_words" not in none and "allowed_token_ids" not in none
    # a padded vocabulary (ids without strings) cannot be banned by bad_words
    padded = TokenInfo([2], [3, 4, 5], ["<|x|>"], [4, 5], 6)
    auto = sampling_param_kwargs(SamplingParams(), padded)
    assert auto["allowed_token_ids"] == [0, 1, 2] and "bad_words" not in auto
    with pytest.raises(ValueError):
        sampling_param_kwargs(SamplingParams(), info, suppression="nope")  # type: ignore[arg-type]


@needs_vllm
def test_real_vllm_sampling_params(hf: HFPolicy, tiny_dir: Path) -> None:
    info = token_info(hf.processor, model_path=tiny_dir)
    policy = _policy(tiny_dir, hf)
    params = policy.sampling_params(SamplingParams(temperature=0.8, n=2, seed=10), 3)
    assert all(isinstance(p, vllm.SamplingParams) for p in params)
    assert [p.seed for p in params] == [10, 12, 14]
    p = params[0]
    assert (p.n, p.temperature, p.top_p, p.max_tokens, p.logprobs) == (2, 0.8, 1.0, 256, 0)
    assert p.skip_special_tokens and p.bad_words == info.suppress_strings
    # vLLM's own tokenisation of the bad words bans exactly our suppressed ids
    p.update_from_tokenizer(get_cached_tokenizer(hf.tokenizer))
    assert p.bad_words_token_ids == [[i] for i in info.suppress_token_ids]
    greedy = vllm.SamplingParams(**sampling_param_kwargs(SamplingParams(temperature=0), info))
    assert greedy.temperature == 0.0 and greedy.seed is None
    allowed = vllm.SamplingParams(
        **sampling_param_kwargs(SamplingParams(), info, suppression="allowed_token_ids")
    )
    assert len(allowed.allowed_token_ids) == info.vocab_size - len(info.suppress_token_ids)
    from vllm.exceptions import VLLMValidationError

    with pytest.raises(VLLMValidationError, match="temperature"):  # vLLM's own validation
        policy.sampling_params(SamplingParams(temperature=5.0), 1)


def test_completions_from_output_maps_fields() -> None:
    positions = [{7: _logprob(-0.5, 7), 9: _logprob(-1.0, 9)}, {3: _logprob(-0.25, 3)}]
    outputs = [
        _completion_output(1, "b", [4], -2.0, [{4: _logprob(-2.0, 4)}], "length"),
        _completion_output(0, "a b", [7, 3], -0.75, positions, "stop"),
        _completion_output(2, "", [], 0.0, [], "abort"),
    ]
    comps = completions_from_output(_request_output("0", "p", [1, 2, 3], outputs), num_images=1)
    assert [c.text for c in comps] == ["a b", "b", ""]
    assert comps[0].token_ids == [7, 3] and comps[0].logprobs == [-0.5, -0.25]
    assert comps[0].finish_reason == "stop" and comps[1].finish_reason == "length"
    assert comps[2].finish_reason == "error" and comps[2].meta["error"] == "vllm_abort"
    assert comps[0].prompt_token_ids == [1, 2, 3] and comps[0].meta["num_images"] == 1
    assert comps[0].meta["cumulative_logprob"] == -0.75


# ---------------------------------------------------------------------------
# the whole policy on the stand-in engine
# ---------------------------------------------------------------------------


def test_generate_batch_with_real_model(tiny_dir: Path, hf: HFPolicy) -> None:
    engine = HFBackedLLM(hf)
    policy = _policy(tiny_dir, hf, engine=engine)
    sampling = SamplingParams(temperature=1.5, max_new_tokens=20, n=2, seed=0)
    results = policy.generate(_batch(), sampling)
    assert len(engine.calls) == 1  # one engine call for the whole batch
    prompts, params = engine.calls[0]
    assert [len(p.get("multi_modal_data", {}).get("image", [])) for p in prompts] == [1, 2, 0]
    assert len(params) == 3
    assert [len(cs) for cs in results] == [2, 2, 2]
    banned = set(policy.suppress_token_ids)
    eos = set(policy.eos_token_ids)
    for i, cs in enumerate(results):
        for c in cs:
            assert c.finish_reason in ("stop", "length")
            assert 0 < len(c.token_ids) <= 20 and len(c.logprobs) == len(c.token_ids)
            assert all(lp <= 0.0 for lp in c.logprobs)
            assert not banned.intersection(c.token_ids)
            if c.finish_reason == "stop":
                assert c.token_ids[-1] in eos
            assert c.text == hf.tokenizer.decode(c.token_ids, skip_special_tokens=True)
            assert c.meta["num_images"] == [1, 2, 0][i]
            assert c.prompt_token_ids and c.meta["prompt_tokens"] == len(c.prompt_token_ids)
    # the prompt the engine tokenised has the images expanded
    assert results[0][0].prompt_token_ids.count(hf.image_token_id) > 1
    assert hf.image_token_id not in results[2][0].prompt_token_ids
    # same seed, same batch: same samples
    again = policy.generate(_batch(), sampling)
    assert [[c.token_ids for c in cs] for cs in again] == [
        [c.token_ids for c in cs] for cs in results
    ]


def test_identical_observations_get_distinct_seeds(tiny_dir: Path, hf: HFPolicy) -> None:
    engine = HFBackedLLM(hf)
    policy = _policy(tiny_dir, hf, engine=engine)
    obs = _obs(Image.new("RGB", (56, 56), "gray"), "Say something.")
    results = policy.generate([obs, obs], SamplingParams(max_new_tokens=16, n=1, seed=3))
    assert [_field(p, "seed") for p in engine.calls[0][1]] == [3, 4]
    assert results[0][0].token_ids != results[1][0].token_ids


def test_high_temperature_never_samples_special_tokens(tiny_dir: Path, hf: HFPolicy) -> None:
    policy = _policy(tiny_dir, hf)
    results = policy.generate(
        [_obs(Image.new("RGB", (84, 84), "white"), "Go.")],
        SamplingParams(temperature=2.0, max_new_tokens=48, n=4, seed=1),  # vLLM's maximum
    )
    banned = set(policy.suppress_token_ids)
    assert all(not banned.intersection(c.token_ids) for c in results[0])


def test_engine_error_fails_only_that_observation(tiny_dir: Path, hf: HFPolicy) -> None:
    engine = HFBackedLLM(hf, max_model_len=120)
    policy = _policy(tiny_dir, hf, engine=engine)
    long_obs = _obs("word " * 400)
    results = policy.generate(
        [_obs("short"), long_obs, _obs("also short")], SamplingParams(max_new_tokens=8, n=2)
    )
    assert [c.finish_reason for c in results[1]] == ["error", "error"]
    assert results[1][0].meta["error"] == "engine_error"
    assert "maximum model length" in results[1][0].meta["message"]
    for i in (0, 2):
        assert [c.finish_reason in ("stop", "length") for c in results[i]] == [True, True]
    assert len(engine.calls) == 4  # the failed batch, then one call per request


def test_placeholder_mismatch_raises_before_engine(tiny_dir: Path, hf: HFPolicy) -> None:
    class DroppingTemplate:
        """A processor whose chat template loses the first image placeholder."""

        chat_template = "broken"
        tokenizer = hf.tokenizer
        image_token = "<|image_pad|>"

        def apply_chat_template(self, messages: Any, **kwargs: Any) -> str:
            text = hf.processor.apply_chat_template(messages, **kwargs)
            return text.replace("<|vision_start|><|image_pad|><|vision_end|>", "", 1)

    engine = HFBackedLLM(hf)
    policy = _policy(tiny_dir, hf, engine=engine)
    policy.processor = DroppingTemplate()
    with pytest.raises(ImagePlaceholderMismatch):
        policy.generate(_batch(), SamplingParams(max_new_tokens=4))
    assert engine.calls == []
    assert policy.generate([], SamplingParams()) == []


def test_bad_observation_fails_alone_and_greedy_n_repeats(tiny_dir: Path, hf: HFPolicy) -> None:
    engine = HFBackedLLM(hf)
    policy = _policy(tiny_dir, hf, engine=engine)
    empty = Observation("p", "player", "clue", 1, [])  # no messages: the template fails
    greedy = SamplingParams(temperature=0.0, max_new_tokens=6, n=3, seed=5)
    results = policy.generate([_obs("first"), empty, _obs("third")], greedy)
    assert [c.meta["error"] for c in results[1]] == ["render_error"] * 3
    prompts, params = engine.calls[0]
    assert len(prompts) == 2  # the bad observation was never sent
    assert [_field(p, "n") for p in params] == [1, 1]  # vLLM refuses greedy with n > 1
    assert [_field(p, "seed") for p in params] == [5, 11]  # seeds of positions 0 and 2 (n = 3)
    for i in (0, 2):
        assert len(results[i]) == 3 and len({tuple(c.token_ids) for c in results[i]}) == 1
        assert results[i][0] is not results[i][1]  # copies, not one shared object
