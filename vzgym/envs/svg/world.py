"""Shared machinery of the SVG question world envs.

Observation builders for the three roles, the renderer handle and the
render -> solver judgement.  The envs (:mod:`.propose`, :mod:`.codegen`,
:mod:`.solve` over :mod:`.base`) only decide who is trained and which reward applies.

The roles an env does not train are :data:`~vzgym.envs.svg.roles.RoleCall`
callables (no policy, no model call here).  Failure handling: a role call that
raises (or returns None for a sample) yields *failed* samples that are counted in
``infos`` (``policy_errors``) and never parsed into answers; a renderer that
raises gives every item of that batch the status ``"service_error"``, and a
codegen sample whose policy call failed has render status ``"policy_error"``.  Both
are statuses, never scores.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vzgym.envs.base import MultiAgentEnv, Observation, text_message
from vzgym.envs.svg.answers import match_share, self_consistency
from vzgym.envs.svg.parsing import Proposal, SVGExtract, extract_svg, parse_solver_answer
from vzgym.envs.svg.roles import RoleCall, ask
from vzgym.envs.svg.topics import prompt_set

logger = logging.getLogger(__name__)

#: Status of an item whose renderer call raised (infrastructure failure).
SERVICE_ERROR = "service_error"
#: Status of a codegen sample whose policy call failed (infrastructure failure).
POLICY_ERROR = "policy_error"


# -- observations ---------------------------------------------------------------


def proposer_observation(agent: str, topic: str, seed: int, prompts: str = "vzgym") -> Observation:
    """Return the proposer's observation: a seed topic to write a proposal about.

    ``prompts`` names the prompt set (:data:`vzgym.envs.svg.topics.PROMPT_SETS`).
    """
    texts = prompt_set(prompts)
    return Observation(
        agent=agent,
        role="proposer",
        phase="propose",
        round=0,
        messages=[
            text_message("system", texts.proposer_system),
            text_message("user", texts.proposer(topic)),
        ],
        extra={"topic": topic},
        private={"seed": seed, "topic": topic},
    )


def codegen_observation(
    agent: str,
    proposal: Proposal,
    seed: int,
    show_hard_answer: bool = False,
    prompts: str = "vzgym",
) -> Observation:
    """Return the codegen's observation: caption, easy question/answer, hard question.

    ``extra["proposal"]`` holds the visible fields; the full proposal (with the
    hard answer) is only in ``private``.
    """
    texts = prompt_set(prompts)
    visible = proposal.to_dict()
    if not show_hard_answer:
        visible.pop("hard_answer")
    return Observation(
        agent=agent,
        role="codegen",
        phase="codegen",
        round=0,
        messages=[
            text_message("system", texts.codegen_system),
            text_message("user", texts.codegen(proposal, show_hard_answer)),
        ],
        extra={"proposal": visible},
        private={"seed": seed, "proposal": proposal.to_dict()},
    )


def png_to_image(png: bytes) -> Any:
    """Decode PNG bytes into an RGB PIL image composited on white."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        img.load()
        if img.mode == "RGB":  # opaque renders: nothing to composite
            return img.convert("RGB")
        rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def solver_observation(
    agent: str,
    image: Any,
    question: str,
    kind: str,
    proposal: Proposal | None,
    seed: int,
    reference: str | None = None,
    prompts: str = "vzgym",
) -> Observation:
    """Return the solver's observation: the image and one question.

    ``private`` holds the hidden metadata for scripted bots: ``question_kind``
    (``"easy"``/``"hard"``), ``reference_answer`` (defaults to the proposer's
    answer to that question) and the full ``proposal``.
    """
    if reference is None and proposal is not None:
        reference = proposal.easy_answer if kind == "easy" else proposal.hard_answer
    texts = prompt_set(prompts)
    return Observation(
        agent=agent,
        role="solver",
        phase="solve",
        round=0,
        messages=[
            text_message("system", texts.solver_system),
            text_message("user", image, texts.solver(question)),
        ],
        extra={"question": question, "question_kind": kind},
        private={
            "seed": seed,
            "question_kind": kind,
            "reference_answer": reference,
            "proposal": proposal.to_dict() if proposal is not None else {},
        },
    )


# -- answers ----------------------------------------------------------------------


def completion_answers(texts: Sequence[str | None]) -> list[str | None] | None:
    """Return the boxed answers of the samples that did not fail; None when all of them failed."""
    usable = [t for t in texts if t is not None]
    if not usable:
        return None
    return [parse_solver_answer(t).answer for t in usable]


# -- rendering ------------------------------------------------------------------


@dataclass
class RenderOutcome:
    """One codegen output after extraction and rendering."""

    extract: SVGExtract
    status: str
    png: bytes | None = None
    message: str = ""
    image: Any = None

    @property
    def ok(self) -> bool:
        """Whether a PNG was produced with status ok."""
        return self.status == "ok" and self.png is not None


def _status_str(status: Any) -> str:
    return str(getattr(status, "value", status))


class RendererHandle:
    """Owns (or borrows) an ``vzgym.render.SVGRenderer`` and renders extracted SVGs.

    ``renderer=None`` creates one lazily on first use (with ``limits`` and
    ``workers``) and closes it in :meth:`close`; a given renderer is borrowed
    and left open.
    """

    def __init__(self, renderer: Any = None, limits: Any = None, workers: int | None = None):
        self._renderer = renderer
        self._owned = renderer is None
        self._limits = limits
        self._workers = workers

    def get(self) -> Any:
        """Return the renderer, creating it if needed."""
        if self._renderer is None:
            from vzgym.render import RenderLimits, SVGRenderer

            renderer = SVGRenderer(limits=self._limits or RenderLimits(), workers=self._workers)
            enter = getattr(renderer, "__enter__", None)
            self._renderer = enter() if enter is not None else renderer
        return self._renderer

    def render(self, texts: Sequence[str | None]) -> list[RenderOutcome]:
        """Extract the SVG of every codegen text and render all SVGs in one batch.

        Texts without SVG get status ``empty``/``not_svg`` without reaching the
        renderer; ``None`` (the codegen policy errored) gets ``policy_error``.
        """
        extracts = [extract_svg(t or "") for t in texts]
        outcomes = [
            RenderOutcome(e, "empty" if e.empty else "not_svg", message="no SVG found")
            if t is not None
            else RenderOutcome(e, POLICY_ERROR, message="codegen policy failed")
            for t, e in zip(texts, extracts)
        ]
        todo = [i for i, e in enumerate(extracts) if e.is_svg and texts[i] is not None]
        if not todo:
            return outcomes
        try:
            results = self.get().render_batch([extracts[i].code for i in todo])
        except Exception as exc:  # noqa: BLE001 - a renderer failure is a status
            logger.warning("renderer failed: %r", exc)
            for i in todo:
                outcomes[i].status = SERVICE_ERROR
                outcomes[i].message = repr(exc)
            return outcomes
        for i, res in zip(todo, results):
            out = outcomes[i]
            out.status = _status_str(res.status)
            out.png = res.png if out.status == "ok" else None
            out.message = str(getattr(res, "message", ""))
            if out.ok:
                try:
                    out.image = png_to_image(out.png)  # type: ignore[arg-type]
                except Exception as exc:  # noqa: BLE001 - undecodable PNG is a render error
                    out.status, out.png, out.message = "render_error", None, repr(exc)
        return outcomes

    def close(self) -> None:
        """Close the renderer if this handle created it."""
        if self._renderer is not None and self._owned:
            close = getattr(self._renderer, "close", None)
            if close is not None:
                close()
            elif hasattr(self._renderer, "__exit__"):
                self._renderer.__exit__(None, None, None)
        if self._owned:
            self._renderer = None


# -- the codegen -> render -> solver pipeline ------------------------------------


@dataclass
class ImageJudgement:
    """The solver's verdict on one rendered image of one proposal.

    ``solvability`` is ``s`` (share of easy answers equal to the proposer's
    easy answer); ``consistency`` is ``c`` on the hard question (None when no
    answer was valid); ``solver_failed`` when every solver sample failed.
    """

    easy_answers: list[str | None] = field(default_factory=list)
    hard_answers: list[str | None] = field(default_factory=list)
    solvability: float = 0.0
    consistency: float | None = None
    majority: str | None = None
    solver_failed: bool = False


def judge_images(
    env: MultiAgentEnv,
    solver: RoleCall,
    items: Sequence[tuple[Proposal, Any]],
    easy_samples: int,
    hard_samples: int,
) -> tuple[list[ImageJudgement], int]:
    """Ask ``solver`` the easy and hard question about every (proposal, image).

    One call when ``easy_samples == hard_samples`` (else one per
    question kind).  Seeds come from ``env.np_random`` in item order.
    Returns the judgements and the number of failed solver samples.
    """
    prompts = getattr(env, "prompts", "vzgym")
    if not items:
        return [], 0
    easy_obs, hard_obs = [], []
    for k, (proposal, image) in enumerate(items):
        s1, s2 = (int(x) for x in env.np_random.integers(0, 2**31, size=2))
        easy_obs.append(
            solver_observation(
                f"solver_{k}", image, proposal.easy_question, "easy", proposal, s1, None, prompts
            )
        )
        hard_obs.append(
            solver_observation(
                f"solver_{k}", image, proposal.hard_question, "hard", proposal, s2, None, prompts
            )
        )
    if easy_samples == hard_samples:
        comps, errors = ask(solver, easy_obs + hard_obs, easy_samples, 2048)
        easy_c, hard_c = comps[: len(items)], comps[len(items) :]
    else:
        easy_c, e1 = ask(solver, easy_obs, easy_samples, 2048)
        hard_c, e2 = ask(solver, hard_obs, hard_samples, 2048)
        errors = e1 + e2
    out = []
    for (proposal, _), ec, hc in zip(items, easy_c, hard_c):
        easy = completion_answers(ec)
        hard = completion_answers(hc)
        if easy is None or hard is None:
            out.append(ImageJudgement(easy or [], hard or [], solver_failed=True))
            continue
        cons = self_consistency(hard)
        out.append(
            ImageJudgement(
                easy_answers=easy,
                hard_answers=hard,
                solvability=match_share(easy, proposal.easy_answer),
                consistency=cons.value,
                majority=cons.majority,
            )
        )
    return out, errors
