"""vzgym's built-in default model: a tiny, randomly initialised Qwen2.5-VL.

Model weights cannot be downloaded on every machine vzgym runs on, so vzgym
builds its own default model in-process:

* a real ``Qwen2_5_VLForConditionalGeneration`` from a small config (2 text
  layers and 2 vision blocks, hidden size 64; one attention head of size 64 in
  the text model, a size vLLM's CPU attention supports, so the same directory
  runs in transformers and in vLLM), with random weights drawn from
  numpy's ``PCG64`` generator seeded per tensor (so they do not depend on the
  init code of a particular transformers release), plus a hand-set stop rule
  so sampled answers end after a few dozen tokens (see ``_SENTENCE_WEIGHT``);
* a byte-level BPE tokenizer (Qwen2's pre-tokenizer and decoder) whose merges
  are learnt in pure Python from a fixed built-in English text, plus Qwen2.5-VL's
  special tokens and its chat template;
* a Qwen2-VL image processor with small pixel limits (4 to 16 blocks of 28x28
  pixels, i.e. 4 to 16 vision tokens per image after the 2x2 patch merge), so
  CPU generation is fast.

Everything is written with ``save_pretrained`` and loads back through
``AutoProcessor`` / ``AutoModelForImageTextToText``, so any local Hugging Face
VLM directory (for example a downloaded Qwen2.5-VL-3B-Instruct) can be used in
its place.  For fixed library versions the files are byte-identical on every
machine (:func:`build_tiny_model` is deterministic).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vzgym.agents.chat import QWEN_ADDED_TOKENS

#: Bump whenever the bytes :func:`build_tiny_model` writes change on purpose;
#: the cache directory name includes it, so old caches are simply ignored.
#: v3: text attention head size 16 -> 64 (one head; vLLM's CPU attention has no
#: kernel for head size 16), ``mrope_section`` scaled to sum to 32.
TINY_MODEL_VERSION = 3

#: Versions :func:`build_tiny_model` can still build (``tiny:v2`` rebuilds an old run's model).
TINY_MODEL_VERSIONS = (2, 3)

#: Name of the marker file written last into a finished model directory.
_MARKER = "vzgym_tiny_model.json"

#: Qwen2.5-VL's added tokens, in Qwen's id order (see :data:`vzgym.agents.chat.QWEN_ADDED_TOKENS`).
SPECIAL_TOKENS: tuple[str, ...] = QWEN_ADDED_TOKENS
_NON_SPECIAL = {"<tool_call>", "</tool_call>"}

#: Qwen2.5-VL-Instruct's chat template (image/video parts become
#: ``<|vision_start|><|image_pad|><|vision_end|>``; the processor then expands
#: ``<|image_pad|>`` to one token per merged vision patch).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

#: Qwen2's pre-tokenisation regex.
_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

#: Number of BPE merges learnt from :data:`_CORPUS` (fewer if pairs run out).
_NUM_MERGES = 1024

#: Image processor pixel limits: 4 to 16 blocks of 28x28 pixels; each block is
#: four 14x14 vision patches merged into one ``<|image_pad|>`` token.
MIN_PIXELS = 28 * 28 * 4
MAX_PIXELS = 28 * 28 * 16

#: The small Qwen2.5-VL config (text + vision); token ids are filled in at build time.
_TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 1,  # head_dim 64: a size vLLM's CPU attention supports
    "num_key_value_heads": 1,
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-6,
    "hidden_act": "silu",
    "use_sliding_window": False,
    "rope_parameters": {
        "rope_type": "default",
        "rope_theta": 1000000.0,
        "mrope_section": [8, 12, 12],  # sums to head_dim / 2 = 32
    },
}
#: What differs in older versions' text config (v2: 4 heads of 16, 2 KV heads).
_OLD_TEXT_CONFIGS: dict[int, dict[str, Any]] = {
    2: {
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": [2, 3, 3],  # sums to head_dim / 2 = 8
        },
    },
}
_VISION_CONFIG: dict[str, Any] = {
    "depth": 2,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_heads": 4,
    "in_channels": 3,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [1],
    "out_hidden_size": 64,
    "tokens_per_second": 2,
    "hidden_act": "silu",
}
#: Std of the normal init of matrices and embeddings (norm weights are 1, biases 0).
_INIT_STD = 0.02
#: Stop rule baked into the random weights: every token embedding gets a
#: constant ``1.0`` in hidden dim 0, and tokens that end a sentence (their text
#: contains ``.``, ``!`` or ``?``) also ``1.0`` in dim 1.  These dominate the
#: (otherwise tiny) residual stream.  ``lm_head`` rows of sentence-end tokens
#: read dim 0 with ``_SENTENCE_WEIGHT`` (sentence ends are a bit more likely),
#: the ``<|im_end|>`` row reads dim 1 with ``_SENTENCE_STOP_WEIGHT`` (after a
#: sentence end, stopping is likely); no other row reads dims 0-1.  Sampled at
#: temperature 1 the random model thus answers with ~40 tokens on average
#: (instead of always running to ``max_new_tokens``), usually ending in
#: punctuation.
_SENTENCE_WEIGHT = 0.45
_SENTENCE_STOP_WEIGHT = 1.4
_SENTENCE_END_CHARS = ".!?"
#: ``lm_head`` is drawn with this larger std so that the next-token distribution
#: is not flat and greedy decoding depends on the input (it then loops, as
#: random models do, instead of always picking the boosted sentence end).
_HEAD_STD = 1.0

#: The fixed English text the tokenizer's merges are learnt from.
_CORPUS = """
You are playing a game with other players. Each player sees a picture. All pictures are
the same except one: the spy's picture is slightly different. In the clue phase every
player describes one thing in the picture in a short sentence. In the decision phase every
player votes for the player they think is the spy, or says that they do not know.
The civilians win when the spy gets the most votes. The spy wins when it is not found.
Give your answer in the format: Clue: <your clue>. Vote: player 3. Think step by step.
The picture shows a red circle, a blue square, a green triangle and a yellow star on a white
background. There is a small purple cube to the left of a large orange sphere. The gray
cylinder is behind the brown cone. Two black arrows point up and down. Three pink hearts are
in the top right corner. The left side of the image has more objects than the right side.
I think player 1 is the spy because their clue was about a shape that is not in my picture.
I do not know who the spy is yet. My clue: the biggest object is the blue one in the middle.
The number of objects is five. One object is missing, one has changed its color, and one has
moved to another place. Look at the position, the size, the shape and the color of each object.
Question: how many circles are there in the picture? Answer: there are two circles.
Question: what color is the square at the bottom? Answer: the square at the bottom is green.
Draw a simple picture with code: <svg width="100" height="100"><rect x="10" y="10" width="30"
height="30" fill="red"/><circle cx="70" cy="50" r="20" fill="blue"/></svg>
The proposer writes a question and the solver answers it. The judge checks the answer and gives
a reward of 1 if it is correct and 0 otherwise. The model learns from its own games and gets
better over time. This is the first round, this is the second round, and this is the last round.
We want the answer to be right, clear and short. Thank you for playing with us today!
one two three four five six seven eight nine ten above below near far inside outside between
top bottom left right center middle front back large small big little tall short wide narrow
red green blue yellow orange purple pink brown black white gray grey metal rubber shiny matte
circle square triangle rectangle star heart arrow line cube sphere cylinder cone object objects
player players spy civilian civilians judge proposer solver vote votes clue clues picture image
the a an and or but not is are was were be been has have had do does did can could will would
this that these those there here what which who why how when where because so if then than
0 1 2 3 4 5 6 7 8 9 10 100 2024 2025 3.14 1/2 (a) [b] {c} "quote" 'single' - + * / = < > ! ? ; :
"""


#: A frozen copy of the built-in games' prompt wording (spy rules, instructions, SVG-world
#: prompts, scene facts), so the tokenizer learns whole words for them and prompts are
#: short.  It is a constant on purpose: editing a game prompt must not change the model.
_GAME_CORPUS = r"""
You are playing "Who is the spy?" with 4 players, numbered 1 to 4. Every player sees an image.
All players but one see the same image; the spy's image differs slightly. The game has 2 clue
round(s): in each, every player in turn gives one short clue about their image. Civilians want
to help find the spy without giving too much away; the spy wants to blend in without knowing
what differs. After the clues, the civilians vote on who the spy is.
You are playing "Who is the spy?" with 5 players, numbered 1 to 5. Every player sees an image.
All players but one see the same image; the spy's image differs slightly. The game has 3 clue
round(s): in each, every player in turn gives one short clue about their image. Civilians want
to help find the spy without giving too much away; the spy wants to blend in without knowing
what differs. After the clues, a judge who sees the civilians' image votes on who the spy is.
You are Player 2. You are the SPY: your image differs from the others'.
You are Player 3. You are NOT the spy.
You are Player 1. You do not know whether you are the spy.
It is your turn in round 1 of 2. Think step by step about your image and the clues so far, then
give ONE short clue about your image inside \boxed{...}, e.g. \boxed{there is a small red
cube}.
Given your image and all clues, which player is the spy? Think step by step, then answer with
the player number inside \boxed{...} (1 to 4), or \boxed{N/A} if you cannot tell.
Looking at the image and the clues, which player is the spy? Think step by step, then answer
with the player number inside \boxed{...} (1 to 4), or \boxed{N/A} if you cannot tell.
Clues so far:
(no clues yet)
(no valid clue)
Your own earlier thoughts (private):
All clues:
You are the judge. You see the image the civilians saw. Players 1 to 4 gave these clues.
You design visual reasoning puzzles. Describe one picture that can be drawn as an SVG image and
ask two questions about it that can only be answered by looking at the picture.
You answer questions about images.
You write SVG code. Draw the described picture so that the questions can be answered from the
image alone. Do not write the answers into the picture.
Topic: chart and graph understanding.
Propose one picture and two questions about it. Reply with exactly these six tags, each once:
<content_type>one of: data_chart | diagram | geometry | timeline | map | table |
other</content_type>
<caption>a precise description of the picture, with every number, label and colour needed to
draw it</caption>
<easy_question>a question answered by reading one value off the picture</easy_question>
<easy_answer>a short answer (a number, word or label)</easy_answer>
<hard_question>a question that needs several reasoning steps over the picture</hard_question>
<hard_answer>a short answer (a number, word or label)</hard_answer>
What is the largest value?
Think step by step inside <think>...</think>, then give your final answer inside \boxed{} as a
single number, word or label (e.g. \boxed{42}, \boxed{blue}).
the gray cylinder is behind the red cube
the gray cylinder is behind the red cylinder
the gray cylinder is behind the small yellow cylinder
the gray cylinder is in front of the gray sphere
the gray cylinder is in front of the large yellow cylinder
the gray cylinder is in front of the purple cylinder
the gray cylinder is in front of the purple sphere
the gray cylinder is left of the gray sphere
the gray cylinder is left of the green cube
the gray cylinder is left of the purple cylinder
the gray cylinder is left of the red cube
the gray cylinder is left of the small yellow cylinder
"""


# ---------------------------------------------------------------------------
# tokenizer
# ---------------------------------------------------------------------------


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character table (as ByteLevel uses)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


def _pre_tokenizer() -> Any:
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def _learn_merges(text: str, num_merges: int) -> list[tuple[str, str]]:
    """Learn byte-level BPE merges from ``text`` in pure Python (fully deterministic).

    Each step merges the most frequent adjacent pair; ties go to the
    lexicographically smallest pair.  Stops early when no pair occurs twice.
    """
    pre = _pre_tokenizer()
    words = Counter(piece for piece, _ in pre.pre_tokenize_str(text))
    seqs: dict[tuple[str, ...], int] = {tuple(w): c for w, c in sorted(words.items())}
    merges: list[tuple[str, str]] = []
    for _ in range(num_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for seq, count in seqs.items():
            for a, b in zip(seq, seq[1:], strict=False):
                pairs[(a, b)] += count
        if not pairs:
            break
        best_count = max(pairs.values())
        if best_count < 2:
            break
        best = min(p for p, c in pairs.items() if c == best_count)
        merges.append(best)
        merged = best[0] + best[1]
        new_seqs: dict[tuple[str, ...], int] = {}
        for seq, count in seqs.items():
            out: list[str] = []
            i = 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == best[0] and seq[i + 1] == best[1]:
                    out.append(merged)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            key = tuple(out)
            new_seqs[key] = new_seqs.get(key, 0) + count
        seqs = new_seqs
    return merges


def build_tokenizer() -> Any:
    """Build the tiny model's tokenizer (a transformers ``Qwen2Tokenizer``).

    256 byte tokens (id = byte value), then one token per learnt merge, then
    Qwen2.5-VL's special tokens (in Qwen's order).  Pre-tokenizer, normaliser and
    decoder are Qwen2's.  ``eos_token``/``pad_token`` are ``<|endoftext|>`` as in
    Qwen; generation also stops on ``<|im_end|>`` (see ``generation_config.json``).
    Padding is on the left (what batched generation needs).
    """
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    b2u = _bytes_to_unicode()
    vocab: dict[str, int] = {b2u[b]: b for b in range(256)}
    merges = _learn_merges(_CORPUS + _GAME_CORPUS, _NUM_MERGES)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        extra_special_tokens=[t for t in SPECIAL_TOKENS[1:14]],
        padding_side="left",
        model_max_length=_TEXT_CONFIG["max_position_embeddings"],
        errors="replace",
    )
    tok.add_tokens(
        [AddedToken(t, special=t not in _NON_SPECIAL, normalized=False) for t in SPECIAL_TOKENS]
    )
    ids = tok.convert_tokens_to_ids(list(SPECIAL_TOKENS))
    expected = list(range(len(vocab), len(vocab) + len(SPECIAL_TOKENS)))
    if ids != expected:  # pragma: no cover - guards against tokenizer API drift
        raise RuntimeError(f"unexpected special token ids {ids}, wanted {expected}")
    return tok


def build_processor() -> Any:
    """Build the tiny model's processor: tokenizer + small-pixel Qwen2-VL image processor."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    size = {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}
    image_processor = Qwen2VLImageProcessor(size=size)
    video_processor = Qwen2VLVideoProcessor(size=size)
    return Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=build_tokenizer(),
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATE,
    )


# ---------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------


def _check_version(version: int) -> int:
    if version not in TINY_MODEL_VERSIONS:
        known = ", ".join(f"v{v}" for v in TINY_MODEL_VERSIONS)
        raise ValueError(f"unknown tiny model version v{version} (known: {known})")
    return version


def _scaled(layers: int | None, heads: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Text and vision config changes of a larger tiny model (heads of size 64 kept)."""
    text: dict[str, Any] = {}
    vision: dict[str, Any] = {}
    if layers is not None:
        if not isinstance(layers, int) or not 1 <= layers <= 12:
            raise ValueError(f"layers must be an int from 1 to 12, got {layers!r}")
        text["num_hidden_layers"] = layers
    if heads is not None:
        if not isinstance(heads, int) or not 1 <= heads <= 8:
            raise ValueError(f"heads must be an int from 1 to 8, got {heads!r}")
        hidden = 64 * heads
        text.update(hidden_size=hidden, intermediate_size=2 * hidden,
                    num_attention_heads=heads, num_key_value_heads=heads)  # fmt: skip
        vision["out_hidden_size"] = hidden
    return text, vision


def _tiny_config(
    tokenizer: Any,
    version: int = TINY_MODEL_VERSION,
    layers: int | None = None,
    heads: int | None = None,
) -> Any:
    from transformers import Qwen2_5_VLConfig

    token_ids = tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS))
    ids = dict(zip(SPECIAL_TOKENS, token_ids, strict=True))
    text = {**_TEXT_CONFIG, **_OLD_TEXT_CONFIGS.get(_check_version(version), {})}
    text_scaled, vision_scaled = _scaled(layers, heads)
    text.update(text_scaled)
    text.update(
        vocab_size=len(tokenizer),
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config={**_VISION_CONFIG, **vision_scaled},
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def _init_tensor(name: str, shape: tuple[int, ...], seed: int) -> Any:
    """Deterministic init for one parameter: N(0, 0.02) matrices, ones for norms, zero biases."""
    import numpy as np

    leaf = name.rsplit(".", 1)[-1]
    if leaf == "bias":
        return np.zeros(shape, dtype=np.float32)
    if len(shape) == 1:  # RMSNorm / LayerNorm weights
        return np.ones(shape, dtype=np.float32)
    rng = np.random.Generator(np.random.PCG64([seed, zlib.crc32(name.encode())]))
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(_INIT_STD)).astype(np.float32)


def _sentence_end_mask(tokenizer: Any) -> list[float]:
    """1.0 for (non-special) tokens whose text contains a sentence end, else 0.0."""
    special = set(tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS)))
    mask = []
    for idx in range(len(tokenizer)):
        text = "" if idx in special else tokenizer.decode([idx])
        mask.append(1.0 if any(ch in text for ch in _SENTENCE_END_CHARS) else 0.0)
    return mask


def build_model(
    tokenizer: Any,
    *,
    seed: int = 0,
    version: int = TINY_MODEL_VERSION,
    layers: int | None = None,
    heads: int | None = None,
) -> Any:
    """Build the tiny ``Qwen2_5_VLForConditionalGeneration`` with deterministic random weights.

    ``version`` picks the shape (see :data:`TINY_MODEL_VERSIONS`); ``layers`` and
    ``heads`` make a larger model of the same family (text hidden size ``64 * heads``,
    heads of size 64 as vLLM's CPU attention needs).
    """
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    config = _tiny_config(tokenizer, version, layers, heads)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config)
    with torch.no_grad():
        for name, param in sorted(model.state_dict().items()):
            if param.is_floating_point():
                value = _init_tensor(name, tuple(param.shape), seed)
                param.copy_(torch.from_numpy(value))
        im_end = config.text_config.eos_token_id
        embed = model.get_input_embeddings().weight
        embed[:, 0] = 1.0
        embed[:, 1] = torch.tensor(_sentence_end_mask(tokenizer), dtype=embed.dtype)
        head = model.get_output_embeddings().weight
        head *= _HEAD_STD / _INIT_STD
        head[:, :2] = 0.0
        sentence_end = embed[:, 1] > 0
        head[sentence_end, 0] = _SENTENCE_WEIGHT
        head[im_end, 1] = _SENTENCE_STOP_WEIGHT
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[config.text_config.eos_token_id, config.text_config.bos_token_id],
        pad_token_id=config.text_config.pad_token_id,
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
    )
    return model.eval()


# ---------------------------------------------------------------------------
# build / cache / load
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """Silence transformers' tqdm bars ("Loading weights", "Writing model shards")."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def build_tiny_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    version: int = TINY_MODEL_VERSION,
    layers: int | None = None,
    heads: int | None = None,
) -> Path:
    """Build the tiny Qwen2.5-VL model and its processor into ``out_dir``; return the path.

    Writes ``config.json``, ``generation_config.json``, ``model.safetensors``,
    ``tokenizer.json``, ``tokenizer_config.json``, ``processor_config.json``,
    ``chat_template.jinja`` and a ``vzgym_tiny_model.json`` marker (written
    last).  The output is a pure function of ``seed`` and the installed library
    versions: building twice, on any machine, gives byte-identical files.
    Existing files in ``out_dir`` are overwritten.  ``version`` builds an older
    shape (``2``: the pre-vLLM model with attention heads of size 16); ``layers`` /
    ``heads`` a larger model (see :func:`build_model`).
    """
    _check_version(version)
    _scaled(layers, heads)  # a bad shape fails before anything is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    processor = build_processor()
    model = build_model(processor.tokenizer, seed=seed, version=version, layers=layers, heads=heads)
    with _quiet_progress():
        model.save_pretrained(out, safe_serialization=True)
        processor.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    marker = {
        "name": "vzgym tiny Qwen2.5-VL",
        "tiny_model_version": version,
        "seed": seed,
        "num_parameters": n_params,
        **({"layers": layers} if layers is not None else {}),
        **({"heads": heads} if heads is not None else {}),
    }
    (out / _MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return out


def cache_dir() -> Path:
    """Return vzgym's cache directory: ``$VZGYM_CACHE`` or ``~/.cache/vzgym``."""
    env = os.environ.get("VZGYM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vzgym"


def default_model_dir(version: int = TINY_MODEL_VERSION) -> Path:
    """Return the default model's directory, building it there on first use.

    The directory is ``cache_dir() / f"tiny-qwen2.5-vl-v{version}"`` (so each
    version has its own; ``version`` defaults to :data:`TINY_MODEL_VERSION`).
    The build goes into a fresh temporary sibling directory which is then
    renamed into place, so a killed build never leaves a half-written model and
    concurrent builders race harmlessly (the first rename wins, the others
    discard their copy).
    """
    target = cache_dir() / f"tiny-qwen2.5-vl-v{_check_version(version)}"
    if (target / _MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        build_tiny_model(tmp, version=version)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache entry need not be
        try:
            os.rename(tmp, target)
        except OSError:
            # Someone else finished first (target exists and is non-empty) - or a
            # stale, unmarked directory is in the way: replace the latter.
            if not (target / _MARKER).is_file():
                stale = target.with_name(f".{target.name}.stale-{os.getpid()}")
                os.rename(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
                os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def is_tiny_model_dir(path: str | Path) -> bool:
    """Return whether ``path`` holds a model built by :func:`build_tiny_model`."""
    return (Path(path) / _MARKER).is_file()


def load_model_and_processor(
    path: str | Path, *, device: str = "cpu", dtype: Any = None, **model_kwargs: Any
) -> tuple[Any, Any]:
    """Load any local HF VLM directory with the Auto classes; return ``(model, processor)``.

    ``dtype`` defaults to float32 on CPU and bfloat16 on CUDA (when supported).
    The tokenizer is switched to left padding (batched generation needs it).
    Extra keyword arguments (e.g. ``attn_implementation``) go to
    ``AutoModelForImageTextToText.from_pretrained``.  The model is returned in
    eval mode.
    """
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    if dtype is None:
        dtype = torch.float32
        if str(device).startswith("cuda") and torch.cuda.is_bf16_supported():
            dtype = torch.bfloat16
    processor = AutoProcessor.from_pretrained(str(path))
    tokenizer = getattr(processor, "tokenizer", processor)
    tokenizer.padding_side = "left"
    with _quiet_progress():
        model = AutoModelForImageTextToText.from_pretrained(str(path), dtype=dtype, **model_kwargs)
    model.to(device)
    model.eval()
    return model, processor


def parse_tiny_spec(spec: str) -> int | None:
    """The tiny model version a spec names (``tiny`` / ``tiny:`` -> current, ``tiny:v2`` -> 2).

    Returns ``None`` when ``spec`` does not name the tiny model; raises
    ``ValueError`` for an unknown version.
    """
    prefix, _, rest = spec.partition(":")
    if prefix != "tiny":
        return None
    if not rest:
        return TINY_MODEL_VERSION
    digits = rest[1:] if rest.startswith("v") else rest
    if not digits.isdigit():
        raise ValueError(f"tiny model spec is tiny or tiny:vN, got {spec!r}")
    return _check_version(int(digits))


def tiny_model_dir(spec: str = "tiny") -> Path:
    """The (cached, built on first use) model directory of a ``tiny`` / ``tiny:vN`` spec."""
    version = parse_tiny_spec(spec)
    if version is None:
        raise ValueError(f"not a tiny model spec: {spec!r}")
    return default_model_dir(version)


def tiny_version_of(model_dir: str | Path) -> int | None:
    """The tiny-model version a saved model was made from; None when it is no tiny model.

    A LoRA adapter names its base (``…/tiny-qwen2.5-vl-vN``); full weights are told
    apart by their text attention shape.  A run started before a version bump keeps
    its shape: resuming it, or evaluating its checkpoints, must use the same base.
    """
    path = Path(model_dir)
    adapter = path / "adapter_config.json"
    if adapter.is_file():
        base = str(json.loads(adapter.read_text()).get("base_model_name_or_path") or "")
        match = re.search(r"tiny-qwen2\.5-vl-v(\d+)", base)
        return int(match.group(1)) if match else None
    config = path / "config.json"
    if not config.is_file():
        return None
    text = json.loads(config.read_text()).get("text_config", {})
    tiny = ("hidden_size", "intermediate_size", "num_hidden_layers")
    if any(text.get(k) != _TEXT_CONFIG[k] for k in tiny):
        return None
    for version in TINY_MODEL_VERSIONS:
        shape = {**_TEXT_CONFIG, **_OLD_TEXT_CONFIGS.get(version, {})}
        if text.get("num_attention_heads") == shape["num_attention_heads"]:
            return version
    return None


def base_model_spec(spec: str, checkpoint_model: str | Path | None) -> str:
    """The base-model spec to use with a checkpoint: a bare ``tiny`` becomes the
    ``tiny:vN`` the checkpoint was made from (any other spec is returned unchanged)."""
    if spec.strip() != "tiny" or checkpoint_model is None:
        return spec
    version = tiny_version_of(checkpoint_model)
    return f"tiny:v{version}" if version is not None else spec
