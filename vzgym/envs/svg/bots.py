"""Scripted bots of the SVG question world, next to their game (tests, smoke runs, frozen roles).

All randomness comes from the observation: the env puts a seed drawn from its
own RNG into ``Observation.private["seed"]``; sample ``k`` of ``n`` uses
``numpy.random.default_rng([seed, k])``.  Same env seed => same bot output.

* :class:`ScriptedProposer` writes valid six-tag proposals about a bar, line
  or pie chart whose numbers it draws; the caption states every number in a
  fixed phrasing (``... with categories A, B and values 1, 2.``).
* :class:`ScriptedCodegen` reads that phrasing back from the caption (a model
  proposal it cannot read gets a chart of its own random numbers) and draws a
  real SVG chart; ``fail_rate`` of its outputs are broken SVG and
  ``junk_rate`` plain text, so renders fail at a controllable rate.
* :class:`ScriptedSolver` answers ``private["reference_answer"]`` (the
  proposer's answer, hidden metadata put there by the env) with probability
  ``1 - noise`` and a near miss otherwise.

Each bot is a :class:`~vzgym.core.policy.Policy` (it fills seats) and a
:data:`~vzgym.envs.svg.roles.RoleCall` (``bot(observations, n, max_new_tokens)``
returns ``n`` texts per observation), so an env uses one as a role it does not
train; :class:`ScriptedSVGPolicy` fills any seat by phase.  No model, no torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams

_CATEGORY_SETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Fruit sold per day", ("Apples", "Pears", "Plums", "Grapes", "Kiwis", "Limes")),
    ("Students per club", ("Chess", "Drama", "Robotics", "Choir", "Art", "Debate")),
    ("Rainfall by month (mm)", ("Jan", "Feb", "Mar", "Apr", "May", "Jun")),
    ("Cars by colour", ("Red", "Blue", "Black", "White", "Silver", "Green")),
    ("Downloads by year (thousands)", ("2018", "2019", "2020", "2021", "2022", "2023")),
)
_PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1")


def _rng(observation: Observation, k: int) -> np.random.Generator:
    seed = int(observation.private.get("seed", 0)) & 0xFFFFFFFF
    return np.random.default_rng([seed, k])


class SeededBot(Policy):
    """A scripted bot: sample ``k`` of an observation is drawn with ``_rng(obs, k)``,
    so answers never depend on the rest of the batch.

    A :class:`~vzgym.core.policy.Policy` (fills seats) and a
    :data:`~vzgym.envs.svg.roles.RoleCall` (an env's frozen role) at once.
    """

    #: A short name shown in logs.
    name: str = "scripted-svg-bot"

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Return ``n`` scripted completions per observation."""
        n = max(1, int(sampling.n)) if sampling is not None else 1
        out = []
        for obs in observations:
            row = []
            for k in range(n):
                text, meta = self.sample(obs, k)
                row.append(Completion(text, finish_reason="scripted", meta=meta))
            out.append(row)
        return out

    def __call__(
        self, observations: Sequence[Observation], n: int = 1, max_new_tokens: int = 0
    ) -> list[list[str]]:
        """Return ``n`` answer texts per observation (``max_new_tokens`` is ignored)."""
        return [[self.sample(obs, k)[0] for k in range(max(1, n))] for obs in observations]

    def sample(self, observation: Observation, k: int) -> tuple[str, dict[str, Any]]:
        """Sample ``k`` for ``observation``: its text and metadata."""
        return self.answer(observation, _rng(observation, k))

    def answer(
        self, observation: Observation, rng: np.random.Generator
    ) -> tuple[str, dict[str, Any]]:
        """One answer text (and metadata) to ``observation`` drawn with ``rng``."""
        raise NotImplementedError


# -- proposer -------------------------------------------------------------------


def chart_proposal(rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """Draw a chart and return ``(six-tag proposal text, chart spec)``."""
    kind = str(rng.choice(["bar", "line", "pie"]))
    title, pool = _CATEGORY_SETS[int(rng.integers(len(_CATEGORY_SETS)))]
    m = int(rng.integers(3, 6))
    labels = list(pool[:m])
    if kind == "pie":
        cuts = np.sort(rng.choice(np.arange(5, 96, 5), size=m - 1, replace=False))
        values = [int(v) for v in np.diff(np.concatenate([[0], cuts, [100]]))]
        title = title.split(" (")[0] + " (percent)"
    else:
        values = [int(v) for v in rng.choice(np.arange(5, 100), size=m, replace=False)]
    content_type = "timeline" if kind == "line" and labels[0].isdigit() else "data_chart"
    caption = (
        f'A {kind} chart titled "{title}" with categories {", ".join(labels)} '
        f"and values {', '.join(str(v) for v in values)}."
    )
    i = int(rng.integers(m))
    easy_q = f"What is the value shown for {labels[i]}?"
    easy_a = str(values[i])
    order = sorted(range(m), key=lambda j: -values[j])
    hard_kind = int(rng.integers(4))
    if hard_kind == 0:
        hard_q = "What is the difference between the largest and the smallest value?"
        hard_a = str(max(values) - min(values))
    elif hard_kind == 1:
        hard_q = "What is the sum of the two largest values?"
        hard_a = str(values[order[0]] + values[order[1]])
    elif hard_kind == 2:
        hard_q = "Which category has the second-highest value?"
        hard_a = labels[order[1]]
    else:
        threshold = int(np.median(values))
        hard_q = f"How many categories have a value greater than {threshold}?"
        hard_a = str(sum(v > threshold for v in values))
    text = (
        f"<content_type>{content_type}</content_type>\n<caption>{caption}</caption>\n"
        f"<easy_question>{easy_q}</easy_question>\n<easy_answer>{easy_a}</easy_answer>\n"
        f"<hard_question>{hard_q}</hard_question>\n<hard_answer>{hard_a}</hard_answer>"
    )
    spec = {"kind": kind, "title": title, "labels": labels, "values": values}
    return text, spec


class ScriptedProposer(SeededBot):
    """Writes valid chart proposals; ``junk_rate`` of them are malformed on purpose."""

    name = "scripted-svg-proposer"

    def __init__(self, junk_rate: float = 0.0):
        self.junk_rate = junk_rate

    def answer(
        self, observation: Observation, rng: np.random.Generator
    ) -> tuple[str, dict[str, Any]]:
        """A chart proposal (malformed with probability ``junk_rate``)."""
        text, spec = chart_proposal(rng)
        if rng.random() < self.junk_rate:
            text = text.replace("<hard_answer>", "<answer>")
        return text, {"chart": spec}


# -- codegen --------------------------------------------------------------------

_KIND_RE = re.compile(r"\b(bar|line|pie) chart", re.IGNORECASE)
_TITLE_RE = re.compile(r'titled "([^"]{0,200})"')
_DATA_RE = re.compile(r"categories (.{1,400}?) and values ([-\d., ]{1,400})")


def parse_chart_caption(caption: str) -> dict[str, Any] | None:
    """Read the chart spec back from a :class:`ScriptedProposer` caption (None if unreadable)."""
    kind = _KIND_RE.search(caption)
    data = _DATA_RE.search(caption)
    if kind is None or data is None:
        return None
    labels = [s.strip() for s in data.group(1).split(",") if s.strip()]
    try:
        values = [float(s) for s in data.group(2).strip(" .").split(",") if s.strip()]
    except ValueError:
        return None
    if not labels or len(labels) != len(values) or len(labels) > 12:
        return None
    if not all(math.isfinite(v) and 0 <= v <= 1e6 for v in values):
        return None
    title = _TITLE_RE.search(caption)
    return {
        "kind": kind.group(1).lower(),
        "title": title.group(1) if title else "Chart",
        "labels": labels,
        "values": [int(v) if float(v).is_integer() else v for v in values],
    }


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def chart_svg(spec: dict[str, Any], width: int = 480, height: int = 360) -> str:
    """Draw a bar, line or pie chart of ``spec`` (kind, title, labels, values) as SVG."""
    labels, values = list(spec["labels"]), [float(v) for v in spec["values"]]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="28" font-family="sans-serif" font-size="18" '
        f'text-anchor="middle">{_esc(str(spec.get("title", "")))}</text>',
    ]
    fmt = [str(int(v)) if v.is_integer() else f"{v:g}" for v in values]
    if spec["kind"] == "pie":
        cx, cy, r = 170, 195, 130
        total = sum(values) or 1.0
        angle = -math.pi / 2
        for i, v in enumerate(values):
            sweep = 2 * math.pi * v / total
            x0, y0 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x1, y1 = cx + r * math.cos(angle + sweep), cy + r * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            colour = _PALETTE[i % len(_PALETTE)]
            parts.append(
                f'<path d="M {cx} {cy} L {x0:.2f} {y0:.2f} A {r} {r} 0 {large} 1 '
                f'{x1:.2f} {y1:.2f} Z" fill="{colour}" stroke="white"/>'
            )
            ly = 80 + 28 * i
            parts.append(f'<rect x="330" y="{ly - 12}" width="14" height="14" fill="{colour}"/>')
            parts.append(
                f'<text x="352" y="{ly}" font-family="sans-serif" font-size="14">'
                f"{_esc(labels[i])}: {fmt[i]}%</text>"
            )
            angle += sweep
    else:
        left, right, top, bottom = 60, width - 20, 50, height - 50
        vmax = max(max(values), 1.0) * 1.1
        parts.append(
            f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="black"/>'
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="black"/>'
        )
        m = len(values)
        step = (right - left) / m
        points = []
        for i, v in enumerate(values):
            xc = left + step * (i + 0.5)
            y = bottom - (bottom - top) * v / vmax
            points.append((xc, y))
            if spec["kind"] == "bar":
                parts.append(
                    f'<rect x="{xc - step * 0.35:.2f}" y="{y:.2f}" width="{step * 0.7:.2f}" '
                    f'height="{bottom - y:.2f}" fill="{_PALETTE[i % len(_PALETTE)]}"/>'
                )
            parts.append(
                f'<text x="{xc:.2f}" y="{y - 6:.2f}" font-family="sans-serif" font-size="13" '
                f'text-anchor="middle">{fmt[i]}</text>'
            )
            parts.append(
                f'<text x="{xc:.2f}" y="{bottom + 20}" font-family="sans-serif" font-size="13" '
                f'text-anchor="middle">{_esc(labels[i])}</text>'
            )
        if spec["kind"] == "line":
            pts = " ".join(f"{x:.2f},{y:.2f}" for x, y in points)
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{_PALETTE[0]}" stroke-width="3"/>'
            )
            for x, y in points:
                parts.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="4" fill="{_PALETTE[1]}"/>')
    parts.append("</svg>")
    return "\n".join(parts)


_COMPACT_COLOURS = ("red", "blue", "green", "orange", "purple", "gray")


def compact_chart_svg(spec: dict[str, Any]) -> str:
    """Draw ``spec`` as a short SVG a very small model can copy (160x120, integers only).

    Bars are ``v`` pixels tall on a baseline at y = 110; a line chart is a polyline
    through the same points; a pie chart (percentages) becomes one stacked bar whose
    segments are ``v`` pixels wide.  No text: about a quarter of :func:`chart_svg`'s tokens.
    """
    values = [int(round(float(v))) for v in spec["values"]]
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120">']
    if spec["kind"] == "pie":
        x = 10
        for i, v in enumerate(values):
            colour = _COMPACT_COLOURS[i % len(_COMPACT_COLOURS)]
            parts.append(f'<rect x="{x}" y="50" width="{v}" height="20" fill="{colour}"/>')
            x += v
    elif spec["kind"] == "line":
        pts = " ".join(f"{20 + 30 * i},{110 - v}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="blue"/>')
    else:
        for i, v in enumerate(values):
            colour = _COMPACT_COLOURS[i % len(_COMPACT_COLOURS)]
            parts.append(
                f'<rect x="{10 + 30 * i}" y="{110 - v}" width="20" height="{v}" fill="{colour}"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _caption_of(observation: Observation) -> str:
    proposal = observation.extra.get("proposal") or {}
    return str(proposal.get("caption", "")) or observation.text()


class ScriptedCodegen(SeededBot):
    """Draws the chart a caption describes as SVG in a ```svg fence.

    ``fail_rate``: share of outputs that are truncated (unrenderable) SVG;
    ``junk_rate``: share that hold no SVG at all; ``style``: ``"full"``
    (:func:`chart_svg`, after "Here is the chart.") or ``"compact"``
    (:func:`compact_chart_svg`, the fence alone; a teacher for very small students).
    """

    name = "scripted-svg-codegen"

    def __init__(self, fail_rate: float = 0.1, junk_rate: float = 0.0, style: str = "full"):
        if style not in ("full", "compact"):
            raise ValueError(f"style must be 'full' or 'compact', got {style!r}")
        self.fail_rate = fail_rate
        self.junk_rate = junk_rate
        self.style = style

    def answer(
        self, observation: Observation, rng: np.random.Generator
    ) -> tuple[str, dict[str, Any]]:
        """The captioned chart as SVG (or a random chart when the caption is unreadable)."""
        spec = parse_chart_caption(_caption_of(observation))
        if spec is None:
            _, spec = chart_proposal(rng)
        svg = compact_chart_svg(spec) if self.style == "compact" else chart_svg(spec)
        lead = "" if self.style == "compact" else "Here is the chart.\n"
        u = rng.random()
        if u < self.junk_rate:
            text = "I cannot draw this picture."
        elif u < self.junk_rate + self.fail_rate:
            text = f"```svg\n{svg[: len(svg) // 2]}\n```"
        else:
            text = f"{lead}```svg\n{svg}\n```"
        return text, {}


# -- solver ---------------------------------------------------------------------


def _distractor(reference: str, rng: np.random.Generator, pool: Sequence[str]) -> str:
    try:
        value = float(reference)
    except ValueError:
        others = [p for p in pool if p != reference] or ["A", "B", "C"]
        return str(others[int(rng.integers(len(others)))])
    delta = int(rng.choice([-2, -1, 1, 2]))
    out = value + delta
    return str(int(out)) if float(out).is_integer() else f"{out:g}"


class ScriptedSolver(SeededBot):
    """Answers from hidden metadata with configurable noise.

    Reads ``private["reference_answer"]`` and ``private["question_kind"]``
    (``"easy"`` or ``"hard"``); answers it with probability ``1 - noise``
    (``easy_noise`` / ``hard_noise``), else a near miss (reference +-1 or 2,
    or another category label read from ``private["proposal"]["caption"]``).
    ``format_error_rate`` of outputs drop the ``<think>`` block.
    Without a reference it answers a random small integer.
    """

    name = "scripted-svg-solver"

    def __init__(
        self, easy_noise: float = 0.1, hard_noise: float = 0.4, format_error_rate: float = 0.0
    ):
        self.easy_noise = easy_noise
        self.hard_noise = hard_noise
        self.format_error_rate = format_error_rate

    def answer(
        self, observation: Observation, rng: np.random.Generator
    ) -> tuple[str, dict[str, Any]]:
        """The reference answer, or a near miss with the question kind's noise."""
        private = observation.private
        reference = private.get("reference_answer")
        easy = private.get("question_kind", "hard") == "easy"
        noise = self.easy_noise if easy else self.hard_noise
        if reference is None:
            answer = str(int(rng.integers(0, 10)))
        elif rng.random() < noise:
            caption = str((private.get("proposal") or {}).get("caption", ""))
            spec = parse_chart_caption(caption) if caption else None
            labels = [str(x) for x in (spec or {}).get("labels", [])]
            answer = _distractor(str(reference), rng, labels)
        else:
            answer = str(reference)
        if rng.random() < self.format_error_rate:
            text = f"The answer is \\boxed{{{answer}}}"
        else:
            text = f"<think>I read the picture carefully.</think> \\boxed{{{answer}}}"
        return text, {}


class ScriptedSVGPolicy(Policy):
    """Fills any SVG-world seat: dispatches on ``Observation.phase`` to the three bots.

    Options (``scripted:KEY=VALUE,...``) go to the bot that owns them: ``style``,
    ``fail_rate`` to :class:`ScriptedCodegen`; ``easy_noise``, ``hard_noise``,
    ``format_error_rate`` to :class:`ScriptedSolver`.  The SVG warm starts' teacher is
    ``scripted:style=compact,fail_rate=0``; its solver keeps its noise, since unanimous
    silver labels would fall outside MM-Zero's hard-consistency band and drop every item.
    """

    name = "scripted-svg"

    def __init__(
        self,
        style: str = "full",
        fail_rate: float = 0.1,
        easy_noise: float = 0.1,
        hard_noise: float = 0.4,
        format_error_rate: float = 0.0,
    ) -> None:
        self.bots: dict[str, Policy] = {
            "propose": ScriptedProposer(),
            "codegen": ScriptedCodegen(fail_rate=float(fail_rate), style=style),
            "solve": ScriptedSolver(
                float(easy_noise), float(hard_noise), float(format_error_rate)
            ),
        }

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Answer each observation with the bot of its phase (order kept)."""
        out: list[list[Completion]] = [[] for _ in observations]
        for phase, bot in self.bots.items():
            idx = [i for i, o in enumerate(observations) if o.phase == phase]
            if idx:
                for i, answers in zip(idx, bot.generate([observations[i] for i in idx], sampling)):
                    out[i] = answers
        missing = [o.phase for o, a in zip(observations, out) if not a]
        if missing:
            raise ValueError(f"ScriptedSVGPolicy cannot answer phases {sorted(set(missing))}")
        return out
