"""Turn :class:`~vzgym.envs.base.Observation` chat messages into VLM processor inputs.

The observation's messages carry PIL images inside their content parts.  A
Hugging Face processor wants two things instead: a prompt string rendered by the
chat template (where each image part becomes the model's image placeholder,
e.g. ``<|vision_start|><|image_pad|><|vision_end|>`` for Qwen2.5-VL) and the
images as a separate list, in the same order.  This module does that split
without importing torch.

Text parts are *sanitised*: a special token written as plain text (say a clue
that reads ``"<|image_pad|>"``) would otherwise be tokenised as the real special
token and break the one-to-one match of image placeholders and images (or let a
player inject ``<|im_end|>``).  Every occurrence of a special-token string in a
text part is rewritten by dropping its pipes (``<|image_pad|>`` becomes
``<image_pad>``); special tokens that do not look like ``<|...|>`` lose their
leading ``<`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vzgym.core.observation import Observation, part_kind

#: Qwen2.5-VL's special tokens, in Qwen's id order (``<|endoftext|>`` first).
#: The two ``tool_call`` tags are ordinary (non-special) added tokens in Qwen.
QWEN_ADDED_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)

#: Qwen2.5-VL's *special* tokens (the two ``tool_call`` tags are ordinary text in Qwen).
QWEN_SPECIAL_TOKENS: tuple[str, ...] = tuple(
    t for t in QWEN_ADDED_TOKENS if t not in ("<tool_call>", "</tool_call>")
)


def neutralize(text: str, special_tokens: Iterable[str]) -> str:
    """Return ``text`` with every special-token string in it made harmless (see module doc)."""
    for tok in sorted(set(special_tokens), key=len, reverse=True):
        if not tok or tok not in text:
            continue
        if tok.startswith("<|") and tok.endswith("|>"):
            safe = "<" + tok[2:-2] + ">"
        else:
            safe = tok[1:] if len(tok) > 1 else ""
        text = text.replace(tok, safe)
    return text


def split_messages(
    messages: Sequence[dict[str, Any]], special_tokens: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Split chat messages into template-ready messages and the list of their images.

    Image parts become ``{"type": "image"}`` (no payload: chat templates only
    need to see that an image stands there); the PIL images are returned
    separately in order of appearance.  String contents become one text part.
    Text is passed through :func:`neutralize` with ``special_tokens``.
    """
    specials = [t for t in special_tokens if t]
    out: list[dict[str, Any]] = []
    images: list[Any] = []
    for msg in messages:
        content = msg.get("content", [])
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        parts: list[dict[str, Any]] = []
        for part in content:
            kind = part_kind(part)
            if kind == "image":
                images.append(part["image"])
                parts.append({"type": "image"})
            elif kind == "text":
                parts.append({"type": "text", "text": neutralize(str(part["text"]), specials)})
            else:
                raise ValueError(
                    f"unsupported content part type {part.get('type')!r} in observation message"
                )
        out.append({"role": msg["role"], "content": parts})
    return out, images


def special_token_strings(tokenizer: Any) -> list[str]:
    """Return the strings of all special added tokens of a HF tokenizer."""
    found: set[str] = set(getattr(tokenizer, "all_special_tokens", []) or [])
    decoder = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    for tok in decoder.values():
        if getattr(tok, "special", False):
            found.add(str(tok.content))
    return sorted(found)


def render_prompt(processor: Any, observation: Observation) -> tuple[str, list[Any]]:
    """Render one observation with the processor's chat template; return ``(prompt, images)``.

    The prompt ends with the generation prompt (``<|im_start|>assistant\\n`` for
    Qwen).  Image placeholders appear once per image; the processor expands them
    to the right number of vision tokens when called with the images.
    """
    tokenizer = getattr(processor, "tokenizer", processor)
    messages, images = split_messages(observation.messages, special_token_strings(tokenizer))
    template_owner = processor if getattr(processor, "chat_template", None) else tokenizer
    prompt = template_owner.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    if not isinstance(prompt, str):  # some versions return a one-element list
        prompt = prompt[0]
    return prompt, images
