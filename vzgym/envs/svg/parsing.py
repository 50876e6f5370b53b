"""The one parser per action format of the SVG question world.

MM-Zero parsed the same formats in three places that disagreed; here every env,
reward, filter and scripted bot uses these functions:

* :func:`parse_proposal` -- the proposer's six tags.
* :func:`extract_svg` -- the codegen's SVG (```svg fence, ```xml fence holding
  ``<svg``, or a raw ``<svg ...</svg>``).
* :func:`extract_boxed` / :func:`parse_solver_answer` -- the solver's
  ``<think>...</think>`` then ``\\boxed{answer}``.

Every parser is total: any ``str`` (junk, 100 kB, lone surrogates) gives a
result object, never an exception, and runs in linear time (no regex with
nested quantifiers over the whole input).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

#: The allowed values of ``<content_type>``.
CONTENT_TYPES: tuple[str, ...] = (
    "data_chart",
    "diagram",
    "geometry",
    "timeline",
    "map",
    "table",
    "other",
)

#: The six proposer tags, in the order the prompt asks for them.
PROPOSAL_TAGS: tuple[str, ...] = (
    "content_type",
    "caption",
    "easy_question",
    "easy_answer",
    "hard_question",
    "hard_answer",
)

#: Longest accepted content of one proposal tag (characters).
MAX_FIELD_CHARS = 4000


@dataclass(frozen=True)
class Proposal:
    """One parsed proposer action: a picture description with two questions."""

    content_type: str
    caption: str
    easy_question: str
    easy_answer: str
    hard_question: str
    hard_answer: str

    def to_dict(self) -> dict[str, str]:
        """Return the six fields as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Proposal:
        """Build a proposal from a dict holding the six fields (extra keys ignored)."""
        return cls(**{tag: str(data[tag]) for tag in PROPOSAL_TAGS})

    def to_text(self) -> str:
        """Render the proposal in the six-tag action format (round-trips via parse_proposal)."""
        return "\n".join(f"<{tag}>{getattr(self, tag)}</{tag}>" for tag in PROPOSAL_TAGS)


@dataclass(frozen=True)
class ProposalParse:
    """Result of :func:`parse_proposal`: a proposal, or the reason there is none."""

    proposal: Proposal | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the text was a well-formed proposal."""
        return self.proposal is not None


def _tag_re(tag: str, closing: bool) -> re.Pattern[str]:
    slash = r"/\s*" if closing else ""
    return re.compile(r"<\s*" + slash + re.escape(tag) + r"\s*>", re.IGNORECASE)


_OPEN = {tag: _tag_re(tag, False) for tag in PROPOSAL_TAGS}
_CLOSE = {tag: _tag_re(tag, True) for tag in PROPOSAL_TAGS}


def normalize_content_type(raw: str) -> str | None:
    """Map ``raw`` to one of :data:`CONTENT_TYPES` (case/space/hyphen-insensitive) or None."""
    value = re.sub(r"[\s\-]+", "_", raw.strip().lower())
    if value in ("datachart", "chart", "data_charts"):
        value = "data_chart"
    return value if value in CONTENT_TYPES else None


_DRAFT_OPEN_RE = re.compile(r"<\s*think\s*>", re.IGNORECASE)
_DRAFT_CLOSE_RE = re.compile(r"<\s*/\s*think\s*>", re.IGNORECASE)


def drop_think_blocks(text: str) -> str:
    """Remove every ``<think>...</think>`` block (linear time; an unclosed one stays)."""
    closes = [m.span() for m in _DRAFT_CLOSE_RE.finditer(text)]
    if not closes:
        return text
    parts: list[str] = []
    pos = k = 0
    for opened in _DRAFT_OPEN_RE.finditer(text):
        if opened.start() < pos:
            continue  # inside a block already removed
        while k < len(closes) and closes[k][0] < opened.end():
            k += 1
        if k == len(closes):
            break
        parts.append(text[pos : opened.start()])
        pos = closes[k][1]
        k += 1
    parts.append(text[pos:])
    return " ".join(parts)


def parse_proposal(text: str, max_field_chars: int = MAX_FIELD_CHARS) -> ProposalParse:
    """Parse a proposer action.

    ``<think>...</think>`` blocks are dropped first (a draft of the tags there
    does not count).  Well-formed then means: each of the six tags of
    :data:`PROPOSAL_TAGS` opens and closes exactly once (tag names
    case-insensitive, whitespace inside the angle brackets tolerated), the
    close follows the open, every content is non-empty after stripping and at
    most ``max_field_chars`` long, and ``<content_type>`` names one of
    :data:`CONTENT_TYPES`.  Other text (a preamble) is ignored.  Contents are
    stripped.  (MM-Zero's own parser makes ``<content_type>`` optional; here a
    proposal is exactly the six tags.)
    """
    if not isinstance(text, str):
        return ProposalParse(None, "not a string")
    text = drop_think_blocks(text)
    fields: dict[str, str] = {}
    for tag in PROPOSAL_TAGS:
        opens = list(_OPEN[tag].finditer(text))
        closes = list(_CLOSE[tag].finditer(text))
        if not opens or not closes:
            return ProposalParse(None, f"missing <{tag}>")
        if len(opens) > 1 or len(closes) > 1:
            return ProposalParse(None, f"<{tag}> appears more than once")
        start, end = opens[0].end(), closes[0].start()
        if end < start:
            return ProposalParse(None, f"</{tag}> before <{tag}>")
        content = text[start:end].strip()
        if not content:
            return ProposalParse(None, f"empty <{tag}>")
        if len(content) > max_field_chars:
            return ProposalParse(None, f"<{tag}> longer than {max_field_chars} characters")
        fields[tag] = content
    # A tag inside another tag's content means the fields overlap.
    for tag, content in fields.items():
        for other in PROPOSAL_TAGS:
            if _OPEN[other].search(content) or _CLOSE[other].search(content):
                return ProposalParse(None, f"<{other}> nested inside <{tag}>")
    content_type = normalize_content_type(fields["content_type"])
    if content_type is None:
        return ProposalParse(None, f"unknown content_type {fields['content_type'][:40]!r}")
    fields["content_type"] = content_type
    return ProposalParse(Proposal(**fields))


# -- codegen --------------------------------------------------------------------

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+\-]*)[^\n`]*\n?")
_SVG_OPEN_RE = re.compile(r"<svg[\s>/]", re.IGNORECASE)
_SVG_CLOSE_RE = re.compile(r"</svg\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class SVGExtract:
    """Result of :func:`extract_svg`.

    Attributes:
        code: the extracted code ("" when nothing was found).
        source: where it came from: ``"svg_fence"``, ``"xml_fence"``, ``"raw"``
            or ``"none"`` (then ``code`` is the stripped action itself, so that
            ``empty``/``is_svg`` describe what the model wrote).
        empty: the extracted code (or the whole action) is blank.
        is_svg: the code contains an ``<svg`` element opening.
    """

    code: str
    source: str
    empty: bool
    is_svg: bool


def _fences(text: str) -> list[tuple[str, str]]:
    """Return ``(language, body)`` of every closed ``` fence, in order."""
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = _FENCE_RE.search(text, pos)
        if m is None:
            return out
        close = text.find("```", m.end())
        if close < 0:
            # An unclosed fence (truncated output) runs to the end.
            out.append((m.group(1).lower(), text[m.end() :]))
            return out
        out.append((m.group(1).lower(), text[m.end() : close]))
        pos = close + 3


def _raw_svg(text: str) -> str | None:
    """Return ``<svg`` ... last ``</svg>`` (or to the end when never closed)."""
    m = _SVG_OPEN_RE.search(text)
    if m is None:
        return None
    last_close = None
    for last_close in _SVG_CLOSE_RE.finditer(text, m.start()):  # noqa: B007 - keep the last
        pass
    end = last_close.end() if last_close is not None else len(text)
    return text[m.start() : end]


def extract_svg(text: str) -> SVGExtract:
    """Extract the SVG code from a codegen action.

    Order: the first ```svg fence; else the first ```xml (or ```html or
    unlabelled) fence containing ``<svg`` (cut to the ``<svg`` element); else
    the raw span from the first ``<svg`` to the last ``</svg>`` (to the end of
    the text when it is never closed, so truncated output still reaches the
    renderer and fails there as a render error).
    Surrounding whitespace is stripped.
    """
    if not isinstance(text, str):
        return SVGExtract("", "none", True, False)
    fences = _fences(text) if "```" in text else []
    for lang, body in fences:
        if lang == "svg":
            code = body.strip()
            return SVGExtract(code, "svg_fence", not code, bool(_SVG_OPEN_RE.search(code)))
    for lang, body in fences:
        if lang in ("xml", "html", "") and _SVG_OPEN_RE.search(body):
            code = _raw_svg(body) or body.strip()
            return SVGExtract(code.strip(), "xml_fence", False, True)
    raw = _raw_svg(text)
    if raw is not None:
        return SVGExtract(raw.strip(), "raw", False, True)
    code = text.strip()
    return SVGExtract(code, "none", not code, False)


# -- solver ---------------------------------------------------------------------

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_THINK_OPEN_RE = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"</think>", re.IGNORECASE)


def _brace_matches(text: str) -> dict[int, int]:
    """Map every ``{`` index to its matching ``}`` index in one linear pass.

    Braces escaped as ``\\{`` / ``\\}`` are literal and do not count.
    """
    matches: dict[int, int] = {}
    stack: list[int] = []
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
        elif ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            matches[stack.pop()] = i
    return matches


def _boxed_spans(text: str) -> list[tuple[int, int, int]]:
    """Return ``(start, content_start, close)`` of every balanced ``\\boxed{...}``."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return []
    matches = _brace_matches(text)
    spans = []
    for m in _BOXED_RE.finditer(text):
        brace = m.end() - 1
        close = matches.get(brace)
        if close is not None:
            spans.append((m.start(), brace + 1, close))
    return spans


def extract_boxed(text: str) -> str | None:
    """Return the stripped content of the last balanced ``\\boxed{...}`` (or ``\\fbox``).

    Nested braces are matched; an unbalanced ``\\boxed{`` is skipped; returns
    None when there is no balanced box.  Linear time, never raises.
    """
    if not isinstance(text, str):
        return None
    spans = _boxed_spans(text)
    if not spans:
        return None
    # "Last box wins": the box that closes last (an outer box around an inner one wins).
    _, start, close = max(spans, key=lambda s: s[2])
    return text[start:close].strip()


@dataclass(frozen=True)
class SolverParse:
    """Result of :func:`parse_solver_answer`.

    Attributes:
        answer: the last boxed answer (stripped), or None when there is none.
        format_ok: a ``<think>...</think>`` block is present and a non-empty
            boxed answer follows its close.
        has_think: a closed ``<think>...</think>`` block is present.
    """

    answer: str | None
    format_ok: bool
    has_think: bool


def parse_solver_answer(text: str) -> SolverParse:
    """Parse a solver action: ``<think>...</think>`` then ``\\boxed{answer}``."""
    if not isinstance(text, str):
        return SolverParse(None, False, False)
    spans = _boxed_spans(text)
    answer = None
    box_start = -1
    if spans:
        box_start, start, close = max(spans, key=lambda s: s[2])
        answer = text[start:close].strip()
    think_open = _THINK_OPEN_RE.search(text)
    think_close = None
    if think_open is not None:
        think_close = _THINK_CLOSE_RE.search(text, think_open.end())
    has_think = think_close is not None
    format_ok = bool(
        has_think and answer and think_close is not None and box_start >= think_close.end()
    )
    return SolverParse(answer, format_ok, has_think)
