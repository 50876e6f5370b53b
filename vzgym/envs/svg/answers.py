"""Answer normalisation, equivalence and self-consistency (shared by rewards and filters).

Two answers are *equivalent* when their normalised strings match, when both
read as the same number, or when ``math-verify`` (a maintained checker) says
so in either direction.  ``math-verify`` is only consulted for short answers
that contain a digit or LaTeX, and its results are cached, so clustering a
few hundred answers stays cheap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

#: Answers that mean "no answer" (compared after :func:`normalize_answer`).
NON_ANSWERS: frozenset[str] = frozenset({"", "none", "n/a", "na", "null", "unknown", "-"})

#: Answers longer than this are compared as strings only (no math-verify).
MAX_VERIFY_CHARS = 120

_TEXT_WRAP_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox|textit)\s*\{([^{}]*)\}")
_NUM_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")
_SPACE_RE = re.compile(r"\s+")
_BRACKETS_RE = re.compile(r"[()\[\]{}]")
_THOUSANDS_RE = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
_COMMA_RE = re.compile(r"\s*,\s*")
_OPTION_RE = re.compile(r"(?:option|choice)?\s*[(\[]?([a-z])[)\]]?[.:]?")
_LATEX_CMD_RE = re.compile(r"\\[a-zA-Z]+")
_WORD_RE = re.compile(r"[^\W\d_]+")


def normalize_answer(answer: str | None) -> str:
    """Return a canonical string form of an answer.

    Lower-cases, unwraps ``\\text{...}``-style wrappers, drops surrounding
    ``$``, quotes and a final period, removes thousands separators from numbers
    (``"1,000"``; not inside brackets: ``"(2,100)"`` is a pair), writes every
    comma as ``", "``, drops ``\\!``/``\\,`` spacing commands, collapses
    whitespace and reduces an option label (``"(A)"``, ``"b)"``, ``"Option C"``)
    to its letter.
    Lone surrogates are replaced, so the result is always encodable.
    """
    if answer is None:
        return ""
    s = str(answer).encode("utf-8", "replace").decode("utf-8")
    s = s.strip()
    for _ in range(3):
        s2 = _TEXT_WRAP_RE.sub(r"\1", s)
        if s2 == s:
            break
        s = s2
    s = s.replace("\\!", "").replace("\\,", "").replace("\\ ", " ").replace("\\%", "%")
    s = s.strip().strip("$").strip()
    s = s.strip("\"'`").strip()
    if s.endswith(".") and not _NUM_RE.fullmatch(s):
        s = s[:-1]
    if not _BRACKETS_RE.search(s):  # "(2,100)" is a pair, "2,100" is 2100
        s = _THOUSANDS_RE.sub(lambda m: m.group(0).replace(",", ""), s)
    s = _COMMA_RE.sub(", ", s)
    s = _SPACE_RE.sub(" ", s).strip().lower()
    option = _OPTION_RE.fullmatch(s)
    if option:  # "(a)", "a)", "[b]", "c.", "option d" -> the letter
        s = option.group(1)
    return s


def is_non_answer(answer: str | None) -> bool:
    """Return whether ``answer`` is missing or one of :data:`NON_ANSWERS` after normalising."""
    return answer is None or normalize_answer(answer) in NON_ANSWERS


def _as_number(s: str) -> float | None:
    """Read a normalised answer as a plain number (``12``, ``-3.5``, ``1e3``), else None."""
    t = s
    if _NUM_RE.fullmatch(t):
        try:
            value = float(t)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None


@lru_cache(maxsize=65536)
def _math_verify_equal(a: str, b: str) -> bool:
    """Ask math-verify whether two short answers are equal (either direction).

    Runs in a killable worker process (:mod:`vzgym.envs.svg.mathcheck`): an
    answer that sends sympy into a computation it cannot leave (``9^{9^{9^{9}}}``)
    costs at most the worker's hard timeout and counts as "not equal".
    """
    from vzgym.envs.svg.mathcheck import default_worker

    return bool(default_worker().equal(a, b))


def unit_words(answer: str) -> frozenset[str]:
    """Return the words of a normalised answer: units, labels, variables (LaTeX commands dropped).

    ``"5 cm"`` -> ``{"cm"}``; ``"\\frac{1}{2}"`` -> ``{}``; ``"x=3"`` -> ``{"x"}``.
    """
    return frozenset(_WORD_RE.findall(_LATEX_CMD_RE.sub(" ", answer)))


def answers_equivalent(a: str | None, b: str | None, rel_tol: float = 1e-6) -> bool:
    """Return whether two answers mean the same thing.

    Non-answers (see :func:`is_non_answer`) are never equivalent to anything.
    Checks, in order: normalised string equality; both plain numbers equal
    within ``rel_tol``; math-verify (both directions) when both are short,
    both hold a digit or a backslash, and their words (units, labels; see
    :func:`unit_words`) agree or one side has none.  This is lenient on
    purpose (``"12 apples"`` ~ ``"12"``, ``"50%"`` ~ ``"0.5"``) but keeps
    different units apart (``"5 m"`` vs ``"5 cm"``).
    """
    if is_non_answer(a) or is_non_answer(b):
        return False
    na, nb = normalize_answer(a), normalize_answer(b)
    if na == nb:
        return True
    xa, xb = _as_number(na), _as_number(nb)
    if xa is not None and xb is not None:
        return math.isclose(xa, xb, rel_tol=rel_tol, abs_tol=1e-9)
    if len(na) > MAX_VERIFY_CHARS or len(nb) > MAX_VERIFY_CHARS:
        return False
    mathy = re.compile(r"[\d\\]")
    if not (mathy.search(na) and mathy.search(nb)):
        return False
    wa, wb = unit_words(na), unit_words(nb)
    if wa and wb and wa != wb:  # "5 m" vs "5 cm", "20 kg" vs "20 g": math-verify drops units
        return False
    key = (na, nb) if na <= nb else (nb, na)
    return _math_verify_equal(*key)


@dataclass(frozen=True)
class Consistency:
    """Self-consistency of a set of sampled answers.

    Attributes:
        value: largest cluster size / number of valid answers; None when no
            answer is valid (a status, not a score: callers decide what to do).
        majority: the first-seen answer of the largest cluster (ties: the
            cluster that formed first), None when no answer is valid.
        n_valid: number of answers that are not non-answers.
        n_total: number of answers given.
        cluster_sizes: sizes of all clusters, largest first.
    """

    value: float | None
    majority: str | None
    n_valid: int
    n_total: int
    cluster_sizes: tuple[int, ...] = field(default_factory=tuple)


def self_consistency(
    answers: Sequence[str | None],
    equivalent: Callable[[str, str], bool] = answers_equivalent,
) -> Consistency:
    """Cluster answers by equivalence and return the largest cluster's share.

    Non-answers are dropped first.  Clusters are the connected components of
    the "equivalent" relation over all pairs (union-find), so the result does
    not depend on the order of the answers even though equivalence is not
    transitive (``"50%"`` ~ ``"50"`` and ``"50%"`` ~ ``"0.5"``, but ``"50"`` is
    not ``"0.5"``: all three form one cluster).  ``c = largest cluster / valid
    answers``; the majority is the first-seen answer of the largest cluster
    (ties: the cluster whose first answer came first).

    Example: ``["4", "4.0", "five", "none"]`` -> valid 3, clusters {4, 4.0},
    {five}: ``c = 2/3``, majority ``"4"``.
    """
    valid = [a for a in answers if not is_non_answer(a)]
    if not valid:
        return Consistency(None, None, 0, len(answers), ())
    parent = list(range(len(valid)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(valid)):
        for j in range(i + 1, len(valid)):
            ri, rj = root(i), root(j)
            if ri != rj and equivalent(valid[i], valid[j]):  # type: ignore[arg-type]
                parent[max(ri, rj)] = min(ri, rj)  # the root is the first-seen member
    sizes: dict[int, int] = {}
    for i in range(len(valid)):
        r = root(i)
        sizes[r] = sizes.get(r, 0) + 1
    best = min(sizes, key=lambda r: (-sizes[r], r))
    return Consistency(
        value=sizes[best] / len(valid),
        majority=valid[best],
        n_valid=len(valid),
        n_total=len(answers),
        cluster_sizes=tuple(sorted(sizes.values(), reverse=True)),
    )


def match_share(
    answers: Sequence[str | None],
    reference: str | None,
    equivalent: Callable[[str, str], bool] = answers_equivalent,
) -> float:
    """Return the share of ``answers`` equivalent to ``reference``.

    The denominator is *all* answers given (a non-answer counts as a miss);
    0.0 for an empty list.
    """
    if not answers:
        return 0.0
    hits = sum(
        1 for a in answers if a is not None and reference is not None and equivalent(a, reference)
    )
    return hits / len(answers)
