"""The built-in tiny Qwen2.5-VL: deterministic build, Auto-class loading, cache dir."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from vzgym.agents import tiny_model  # noqa: E402
from vzgym.agents.tiny_model import (  # noqa: E402
    SPECIAL_TOKENS,
    TINY_MODEL_VERSION,
    build_tiny_model,
    default_model_dir,
    load_model_and_processor,
)


def _hashes(path: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_build_writes_expected_files(tiny_dir: Path) -> None:
    names = {p.name for p in tiny_dir.iterdir()}
    for name in (
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "processor_config.json",
        "chat_template.jinja",
        "vzgym_tiny_model.json",
    ):
        assert name in names
    assert tiny_model.is_tiny_model_dir(tiny_dir)
    size = sum(p.stat().st_size for p in tiny_dir.iterdir())
    assert size < 10_000_000


def test_build_is_byte_identical_across_processes(tiny_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "again"
    code = "import sys; from vzgym.agents.tiny_model import build_tiny_model as b; b(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(other)], check=True, timeout=300)
    assert _hashes(other) == _hashes(tiny_dir)


def test_different_seed_changes_only_weights(tiny_dir: Path, tmp_path: Path) -> None:
    other = build_tiny_model(tmp_path / "seed1", seed=1)
    a, b = _hashes(tiny_dir), _hashes(other)
    assert a["model.safetensors"] != b["model.safetensors"]
    assert a["tokenizer.json"] == b["tokenizer.json"]


def test_loads_through_auto_classes_and_generates(tiny_dir: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_dir)
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    cfg = model.config
    text = cfg.get_text_config()
    assert text.hidden_size == 64
    # v3: the shape vLLM's CPU attention supports (head size 64, mrope sections sum to 32)
    assert text.hidden_size // text.num_attention_heads == 64
    assert sum(text.rope_parameters["mrope_section"]) == 64 // 2
    tok = processor.tokenizer
    ids = tok.convert_tokens_to_ids(list(SPECIAL_TOKENS))
    assert ids == list(range(ids[0], ids[0] + len(SPECIAL_TOKENS)))
    assert cfg.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    assert cfg.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_start|>")
    assert cfg.get_text_config().vocab_size == len(tok)

    messages = [
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}],
        }
    ]
    prompt = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "<|vision_start|><|image_pad|><|vision_end|>What is shown?<|im_end|>" in prompt
    assert prompt.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert prompt.endswith("<|im_start|>assistant\n")

    image = Image.new("RGB", (480, 320), "red")
    inputs = processor(text=[prompt], images=[image], return_tensors="pt")
    n_pad = int((inputs["input_ids"] == cfg.image_token_id).sum())
    assert 4 <= n_pad <= 16  # small pixel limits: a handful of vision tokens
    assert n_pad == int(inputs["image_grid_thw"].prod()) // 4
    out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_tokenizer_roundtrip_and_specials(tiny_dir: Path) -> None:
    _, processor = load_model_and_processor(tiny_dir)
    tok = processor.tokenizer
    assert tok.padding_side == "left"
    text = "Player 3 is the spy: the red cube is left of the big sphere. Ünïcödé ✓ 你好"
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text
    assert len(ids) < len(text.encode())  # real merges, not just bytes
    ids = tok("a<|im_end|>b<|image_pad|>")["input_ids"]
    assert tok.convert_tokens_to_ids("<|im_end|>") in ids
    assert tok.convert_tokens_to_ids("<|image_pad|>") in ids
    assert tok.decode(ids, skip_special_tokens=True) == "ab"
    assert tok.eos_token == "<|endoftext|>" and tok.pad_token == "<|endoftext|>"


def test_default_model_dir_builds_once_atomically(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VZGYM_CACHE", str(tmp_path / "cache"))
    # A stale half-written directory (no marker) from a killed build is replaced.
    stale = tmp_path / "cache" / f"tiny-qwen2.5-vl-v{TINY_MODEL_VERSION}"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{")
    path = default_model_dir()
    assert path == stale
    assert _hashes(path) == _hashes(tiny_dir)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp leftovers
    mtime = (path / "model.safetensors").stat().st_mtime_ns
    assert default_model_dir() == path  # second call: no rebuild
    assert (path / "model.safetensors").stat().st_mtime_ns == mtime

    from vzgym.agents.hf_policy import HFPolicy

    assert HFPolicy(device="cpu").model_path == path  # no path: the default model


def test_old_v2_model_still_builds_loads_and_generates(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A v2 model directory (head size 16, the shape before vLLM) loads and samples as before."""
    from vzgym.agents.base import SamplingParams
    from vzgym.agents.hf_policy import HFPolicy
    from vzgym.agents.tiny_model import parse_tiny_spec, tiny_model_dir
    from vzgym.envs.base import Observation, text_message

    monkeypatch.setenv("VZGYM_CACHE", str(tmp_path / "cache"))
    old = tiny_model_dir("tiny:v2")
    assert old.name == "tiny-qwen2.5-vl-v2" and old != tiny_model_dir("tiny")
    assert tiny_model_dir("tiny").name == f"tiny-qwen2.5-vl-v{TINY_MODEL_VERSION}"
    model, processor = load_model_and_processor(old)
    text = model.config.get_text_config()
    assert (text.num_attention_heads, text.num_key_value_heads) == (4, 2)
    assert text.rope_parameters["mrope_section"] == [2, 3, 3]
    # same tokenizer; a v2 model's weights are not v3's
    assert _hashes(old)["tokenizer.json"] == _hashes(tiny_dir)["tokenizer.json"]
    assert _hashes(old)["model.safetensors"] != _hashes(tiny_dir)["model.safetensors"]
    policy = HFPolicy(old, model=model, processor=processor)
    image = Image.new("RGB", (64, 64), "blue")
    obs = Observation("p1", "player", "clue", 1, [text_message("user", image, "Describe it.")])
    (comp,) = policy.generate([obs], SamplingParams(max_new_tokens=6, seed=3))[0]
    assert comp.finish_reason in ("stop", "length") and comp.token_ids
    with pytest.raises(ValueError, match="unknown tiny model version v1"):
        parse_tiny_spec("tiny:v1")
    assert parse_tiny_spec("tiny") == TINY_MODEL_VERSION and parse_tiny_spec("hf:x") is None


def test_checkpoints_name_the_tiny_version_they_were_made_from(tmp_path):
    from vzgym.agents.tiny_model import base_model_spec, tiny_model_dir, tiny_version_of

    assert tiny_version_of(tiny_model_dir("tiny:v2")) == 2
    assert tiny_version_of(tiny_model_dir("tiny")) == 3
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        '{"base_model_name_or_path": "/root/.cache/vzgym/tiny-qwen2.5-vl-v2"}'
    )
    assert base_model_spec("tiny", adapter) == "tiny:v2"
    assert base_model_spec("hf:/models/x", adapter) == "hf:/models/x"
    assert tiny_version_of(tmp_path) is None


def test_a_larger_student_of_the_same_family(tmp_path: Path) -> None:
    from conftest import run_vzgym

    from vzgym.agents.hf_policy import HFPolicy
    from vzgym.core.observation import Observation, text_message
    from vzgym.core.policy import SamplingParams

    out = tmp_path / "big"
    run_vzgym("model", "init-tiny", str(out), "--layers", "3", "--heads", "2")
    marker = json.loads((out / "vzgym_tiny_model.json").read_text())
    text = json.loads((out / "config.json").read_text())["text_config"]
    assert (marker["layers"], marker["heads"]) == (3, 2)
    assert (text["num_hidden_layers"], text["hidden_size"], text["num_attention_heads"]) == (
        3, 128, 2)  # fmt: skip
    assert text["hidden_size"] // text["num_attention_heads"] == 64  # vLLM's head size
    policy = HFPolicy(str(out))
    msg = text_message("user", Image.new("RGB", (56, 56), "red"), "Say something.")
    obs = Observation("player_1", "player", "clue", 1, [msg])
    (completion,) = policy.generate([obs], SamplingParams(max_new_tokens=4, seed=0))[0]
    assert completion.token_ids and completion.finish_reason in ("stop", "length")
    bad = run_vzgym("model", "init-tiny", str(tmp_path / "bad"), "--heads", "9", check=False)
    assert bad.returncode != 0 and "Error: heads must be" in bad.stderr
    assert not (tmp_path / "bad").exists()
