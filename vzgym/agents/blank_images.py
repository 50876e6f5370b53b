"""A vision ablation: a policy wrapper that replaces every image with a flat gray one.

``BlankImagesPolicy(inner)`` answers exactly like ``inner`` except that the
images in each observation's messages are swapped for uniform gray images of the
same size (the text, including where images stand, is unchanged).  A skill that
survives the swap does not come from looking at the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PIL import Image

from vzgym.core.observation import Observation, message_parts, part_kind
from vzgym.core.policy import Completion, Policy, SamplingParams

GRAY = (128, 128, 128)


def blank_observation(obs: Observation) -> Observation:
    """A copy of ``obs`` whose images are flat gray images of the same sizes."""
    messages = []
    for msg in obs.messages:
        parts = []
        for part in message_parts(msg):
            if part_kind(part) == "image":
                size = getattr(part["image"], "size", (28, 28))
                part = {**part, "image": Image.new("RGB", size, GRAY)}
            parts.append(part)
        messages.append({**msg, "content": parts})
    return replace(obs, messages=messages)


class BlankImagesPolicy(Policy):
    """Wraps a policy; every image it is shown is blanked (see the module docstring)."""

    def __init__(self, inner: Policy):
        self.inner = inner
        self.name = f"{getattr(inner, 'name', 'policy')}+blank-images"

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Generate with ``inner`` on the blanked observations."""
        return self.inner.generate([blank_observation(o) for o in observations], sampling)

    def close(self) -> None:
        """Close the wrapped policy."""
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
