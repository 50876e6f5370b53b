"""The observation every game produces and every policy reads (the neutral shared type).

An :class:`Observation` is OpenAI-style chat ``messages`` (content parts, images as
PIL images) plus structured fields; :func:`part_kind` is the one rule that tells
a content part's kind and :func:`text_message` builds a message.  Games
(:mod:`vzgym.envs`), policies (:mod:`vzgym.agents`), rollouts and trainers all
import them from here, so none of them has to import another's layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

AgentID = str


@dataclass
class Observation:
    """What one agent sees when it must act.

    Attributes:
        agent: the id of the agent who must act (``"player_2"``).
        role: the agent's game role as the agent knows it (``"spy"``, ``"civilian"``,
            ``"judge"``, ``"proposer"`` ...).  ``"player"`` when the role is hidden.
        phase: the game stage (``"clue"``, ``"decision"``, ``"propose"`` ...).
        round: the 1-based round within the phase (0 where rounds do not apply).
        messages: chat messages, ``[{"role": "system"|"user"|"assistant",
            "content": [{"type": "text", "text": ...}, {"type": "image", "image": PIL}]}]``.
        extra: structured, game-specific fields the agent may see (seat number,
            number of players, the parsed clue log ...).
        private: privileged ground truth for scripted bots and debugging only
            (e.g. the scene graph of this agent's own image); never shown in
            ``messages`` and never given to a model.
    """

    agent: AgentID
    role: str
    phase: str
    round: int
    messages: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    private: dict[str, Any] = field(default_factory=dict)

    def images(self) -> list[Any]:
        """Return the PIL images of all messages, in order of appearance."""
        return [
            part["image"]
            for msg in self.messages
            for part in message_parts(msg)
            if part_kind(part) == "image"
        ]

    def text(self) -> str:
        """Return all text parts joined, with ``<image>`` where an image stands."""
        chunks: list[str] = []
        for msg in self.messages:
            for part in message_parts(msg):
                if part_kind(part) == "text":
                    chunks.append(part["text"])
                elif part_kind(part) == "image":
                    chunks.append("<image>")
            chunks.append("\n")
        return "".join(chunks).strip()


def part_kind(part: Mapping[str, Any]) -> str | None:
    """Return ``"image"`` or ``"text"`` for a message content part, else None.

    A part is ``{"type": "image", "image": PIL}`` or ``{"type": "text", "text": str}``;
    a part without ``"type"`` is classified by its key (``{"image": PIL}``).  Every
    consumer (policies, the REPL, the trajectory writer) uses this one rule.
    """
    kind = part.get("type")
    if kind in ("image", "text"):
        return str(kind)
    if kind is None:
        if "image" in part:
            return "image"
        if "text" in part:
            return "text"
    return None


def message_parts(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The content parts of one chat message (a plain-string content is one text part)."""
    content = message.get("content", [])
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content)


def text_message(role: str, *parts: Any) -> dict[str, Any]:
    """Build one chat message from strings (text parts) and PIL images (image parts)."""
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, str):
            content.append({"type": "text", "text": part})
        else:
            content.append({"type": "image", "image": part})
    return {"role": role, "content": content}
