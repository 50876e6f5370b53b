"""Pure reward functions of the SVG question world (MM-Zero's constants as defaults).

Everything here is a pure function of parsed actions, render outcomes and
solver answers; the envs only gather those inputs.  Every constant is a field
of a config dataclass.

Interpretations (where the issue or MM-Zero left room):

* **Failed renders** contribute 0 to the proposer sum but still count in the
  ``1/N`` normaliser (N = codegen samples requested), as in MM-Zero.  A
  rendered image whose solver call failed (every completion an error) is
  treated the same way and counted separately by the env.
* **Hard consistency with no valid answer** (``c`` is None): the difficulty
  term ``min(c, 1 - c)`` is 0 for that image.
* **Easy/hard penalty** applies only when at least one image rendered (no
  rendered image -> no difficulty signal, as in MM-Zero); the mean is over
  rendered images.
* **Batch diversity** is computed over the *valid* proposals of the batch
  (format failures have no text to compare); ``n`` is their count; ``share``
  is the share of those ``n`` proposals in the proposal's own cluster.
  BLEU is sacrebleu's sentence BLEU (effective order) averaged over both
  directions, so the distance ``1 - BLEU/100`` is symmetric; clustering is
  average linkage, merging while the linkage distance is ``< 0.25``
  (scikit-learn's ``distance_threshold`` semantics).  The penalty is clipped
  to ``[0, 0.5]`` (MM-Zero clipped to ``[-0.5, 0.5]``; the lower bound never
  binds because every share is at least ``1/n``, so both agree).
* **Content type over-representation** uses the valid proposals' parsed
  ``content_type``; ``f`` is the share of the proposal's own type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# -- configs --------------------------------------------------------------------


@dataclass(frozen=True)
class ProposerRewardConfig:
    """Constants of the proposer reward (defaults: MM-Zero's)."""

    format_penalty: float = -1.0
    solvability_cap: float = 0.5
    easy_hard_threshold: float = 0.15
    easy_hard_penalty: float = 0.3
    diversity_weight: float = 0.5
    diversity_threshold: float = 0.25
    w_caption: float = 0.45
    w_easy_question: float = 0.20
    w_hard_question: float = 0.35
    diversity_min: float = 0.0
    diversity_max: float = 0.5
    content_type_weight: float = 0.15
    content_type_threshold: float = 0.5


@dataclass(frozen=True)
class CodegenRewardConfig:
    """Constants of the codegen reward (defaults: MM-Zero's)."""

    no_render_penalty: float = 0.1
    empty_penalty: float = 0.05
    not_svg_penalty: float = 0.5
    floor: float = -0.5
    render_bonus: float = 1.0


@dataclass(frozen=True)
class SolverRewardConfig:
    """Constants of the solver reward."""

    accuracy_weight: float = 0.9
    format_weight: float = 0.1


# -- small pieces ---------------------------------------------------------------


def difficulty_term(consistency: float | None) -> float:
    """Return ``min(c, 1 - c)`` (peaks at 0.5 when c = 0.5); 0 when ``c`` is None."""
    if consistency is None:
        return 0.0
    return float(min(consistency, 1.0 - consistency))


@dataclass(frozen=True)
class SampleOutcome:
    """What happened to one codegen sample of one proposal.

    Attributes:
        rendered: the SVG rendered to a PNG (and its solver call did not fail).
        solvability: ``s_j``, share of solver easy answers equal to the proposer's easy answer.
        consistency: ``c_j``, the solver's self-consistency on the hard question
            (None when no answer was valid).
    """

    rendered: bool
    solvability: float = 0.0
    consistency: float | None = None


@dataclass
class ProposerReward:
    """The proposer reward of one proposal and its parts (``total`` is the reward)."""

    total: float
    format_ok: bool
    base: float = 0.0
    solvability_part: float = 0.0
    difficulty_part: float = 0.0
    easy_hard_penalty: float = 0.0
    diversity_penalty: float = 0.0
    content_type_penalty: float = 0.0
    num_rendered: int = 0
    num_samples: int = 0
    mean_difficulty: float | None = None

    def as_dict(self) -> dict[str, float | int | bool | None]:
        """Return all parts as a flat dict (for infos)."""
        return {
            "total": self.total,
            "format_ok": self.format_ok,
            "base": self.base,
            "solvability_part": self.solvability_part,
            "difficulty_part": self.difficulty_part,
            "easy_hard_penalty": self.easy_hard_penalty,
            "diversity_penalty": self.diversity_penalty,
            "content_type_penalty": self.content_type_penalty,
            "num_rendered": self.num_rendered,
            "num_samples": self.num_samples,
            "mean_difficulty": self.mean_difficulty,
        }


def proposer_base_reward(
    samples: Sequence[SampleOutcome],
    num_samples: int | None = None,
    config: ProposerRewardConfig = ProposerRewardConfig(),  # noqa: B008 - frozen
) -> ProposerReward:
    """Return the proposer reward of one well-formed proposal, before batch penalties.

    ``R = (1/N) * sum over rendered j of [min(s_j, cap) + min(c_j, 1 - c_j)]``
    minus ``easy_hard_penalty`` when the mean of ``min(c_j, 1 - c_j)`` over
    rendered j is below ``easy_hard_threshold``.  ``N`` defaults to
    ``len(samples)`` (failed renders count in N and contribute 0).
    """
    n = num_samples if num_samples is not None else len(samples)
    rendered = [s for s in samples if s.rendered]
    solv = sum(min(s.solvability, config.solvability_cap) for s in rendered)
    diffs = [difficulty_term(s.consistency) for s in rendered]
    diff = sum(diffs)
    base = (solv + diff) / n if n > 0 else 0.0
    mean_diff = float(np.mean(diffs)) if diffs else None
    penalty = 0.0
    if mean_diff is not None and mean_diff < config.easy_hard_threshold:
        penalty = config.easy_hard_penalty
    return ProposerReward(
        total=base - penalty,
        format_ok=True,
        base=base,
        solvability_part=solv / n if n > 0 else 0.0,
        difficulty_part=diff / n if n > 0 else 0.0,
        easy_hard_penalty=penalty,
        num_rendered=len(rendered),
        num_samples=n,
        mean_difficulty=mean_diff,
    )


# -- diversity ------------------------------------------------------------------


def bleu_similarity(a: str, b: str) -> float:
    """Return a symmetric sentence-BLEU similarity in [0, 1].

    sacrebleu's sentence BLEU with effective order, averaged over both
    directions (hypothesis/reference swapped).  Identical non-empty strings
    give 1.0; two empty strings give 1.0 too (they are identical).
    """
    if a == b:
        return 1.0
    bleu = _bleu()
    s1 = bleu.sentence_score(a, [b]).score
    s2 = bleu.sentence_score(b, [a]).score
    return float(min(1.0, max(0.0, (s1 + s2) / 200.0)))


_BLEU = None


def _bleu():  # noqa: ANN202 - sacrebleu type stays lazy
    """Return the shared sacrebleu scorer (created on first use)."""
    global _BLEU
    if _BLEU is None:
        from sacrebleu.metrics import BLEU

        _BLEU = BLEU(effective_order=True)
    return _BLEU


def bleu_distance_matrix(texts: Sequence[str]) -> np.ndarray:
    """Return the symmetric matrix of ``1 - bleu_similarity`` (zero diagonal)."""
    n = len(texts)
    dist = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(i + 1, n):
            dist[i, j] = dist[j, i] = 1.0 - bleu_similarity(texts[i], texts[j])
    return dist


def average_linkage_clusters(dist: np.ndarray, threshold: float) -> list[int]:
    """Agglomerative clustering with average linkage; return a label per item.

    Repeatedly merges the two clusters with the smallest average pairwise
    distance while that distance is ``< threshold`` (scikit-learn's
    ``distance_threshold`` semantics).  Ties break toward the lowest indices.
    Labels are numbered by first appearance (item 0 has label 0).  Uses the
    Lance-Williams update ``d(k, i+j) = (|i| d(k,i) + |j| d(k,j)) / (|i|+|j|)``.
    """
    n = int(dist.shape[0])
    if n == 0:
        return []
    d = np.array(dist, dtype=np.float64, copy=True)
    np.fill_diagonal(d, np.inf)
    size = np.ones(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    owner = np.arange(n)
    while alive.sum() > 1:
        masked = np.where(alive[:, None] & alive[None, :], d, np.inf)
        flat = int(np.argmin(masked))
        i, j = divmod(flat, n)
        if not masked[i, j] < threshold:
            break
        i, j = min(i, j), max(i, j)
        merged = (size[i] * d[i] + size[j] * d[j]) / (size[i] + size[j])
        d[i, :] = merged
        d[:, i] = merged
        d[i, i] = np.inf
        d[j, :] = np.inf
        d[:, j] = np.inf
        size[i] += size[j]
        alive[j] = False
        owner[owner == j] = i
    labels: dict[int, int] = {}
    return [labels.setdefault(int(o), len(labels)) for o in owner]


def cluster_shares(texts: Sequence[str], threshold: float = 0.25) -> list[float]:
    """Return, per text, the share of all texts in its BLEU cluster (1/n when unique)."""
    n = len(texts)
    if n == 0:
        return []
    labels = average_linkage_clusters(bleu_distance_matrix(texts), threshold)
    counts = Counter(labels)
    return [counts[lab] / n for lab in labels]


def diversity_penalties(
    captions: Sequence[str],
    easy_questions: Sequence[str],
    hard_questions: Sequence[str],
    config: ProposerRewardConfig = ProposerRewardConfig(),  # noqa: B008 - frozen
) -> list[float]:
    """Return the batch-diversity penalty (a positive number to subtract) per proposal.

    ``p_i = clip(w * n * (0.45 (cap_i - 1/n) + 0.20 (easy_i - 1/n) + 0.35 (hard_i - 1/n)),
    diversity_min, diversity_max)`` where ``x_i`` is the share of the batch in
    proposal i's cluster for field x and ``w = diversity_weight``.  All zero
    when ``n <= 1``.
    """
    n = len(captions)
    if not (len(easy_questions) == len(hard_questions) == n):
        raise ValueError("captions, easy_questions and hard_questions must have equal length")
    if n <= 1:
        return [0.0] * n
    cap = cluster_shares(captions, config.diversity_threshold)
    easy = cluster_shares(easy_questions, config.diversity_threshold)
    hard = cluster_shares(hard_questions, config.diversity_threshold)
    u = 1.0 / n
    out = []
    for i in range(n):
        excess = (
            config.w_caption * (cap[i] - u)
            + config.w_easy_question * (easy[i] - u)
            + config.w_hard_question * (hard[i] - u)
        )
        raw = config.diversity_weight * n * excess
        out.append(float(min(config.diversity_max, max(config.diversity_min, raw))))
    return out


def content_type_penalties(
    content_types: Sequence[str],
    config: ProposerRewardConfig = ProposerRewardConfig(),  # noqa: B008 - frozen
) -> list[float]:
    """Return the content-type over-representation penalty per proposal.

    ``f`` = share of the batch with the proposal's type.  When the batch holds
    at least two distinct types and ``f > threshold``:
    ``weight * (f - threshold) / (1 - threshold)``; else 0.
    """
    n = len(content_types)
    counts = Counter(content_types)
    if n <= 1 or len(counts) < 2:
        return [0.0] * n
    t = config.content_type_threshold
    out = []
    for ct in content_types:
        f = counts[ct] / n
        if f > t:
            scale = (f - t) / (1.0 - t) if t < 1.0 else 1.0
            out.append(config.content_type_weight * scale)
        else:
            out.append(0.0)
    return out


def proposer_rewards(
    proposals: Sequence[dict[str, str] | None],
    samples: Sequence[Sequence[SampleOutcome]],
    num_samples: int | None = None,
    config: ProposerRewardConfig = ProposerRewardConfig(),  # noqa: B008 - frozen
) -> list[ProposerReward]:
    """Return the full proposer reward of every proposal of a batch.

    Args:
        proposals: per proposal, its parsed fields (``caption``,
            ``easy_question``, ``hard_question``, ``content_type`` ...) or None
            for a format failure (reward ``format_penalty``).
        samples: per proposal, the outcome of each codegen sample (ignored for
            format failures).
        num_samples: ``N`` of the ``1/N`` normaliser (default: len of each sample list).
        config: the constants.
    """
    if len(proposals) != len(samples):
        raise ValueError("proposals and samples must have equal length")
    by_index = _batch_penalties(proposals, config)
    out: list[ProposerReward] = []
    for i, proposal in enumerate(proposals):
        if proposal is None:
            out.append(ProposerReward(total=config.format_penalty, format_ok=False))
            continue
        r = proposer_base_reward(samples[i], num_samples, config)
        r.diversity_penalty, r.content_type_penalty = by_index[i]
        r.total = r.base - r.easy_hard_penalty - r.diversity_penalty - r.content_type_penalty
        out.append(r)
    return out


def _batch_penalties(
    proposals: Sequence[dict[str, str] | None], config: ProposerRewardConfig
) -> dict[int, tuple[float, float]]:
    """Index of each well-formed proposal → (diversity, content-type) penalty over the batch."""
    valid = [i for i, p in enumerate(proposals) if p is not None]
    vp = [proposals[i] for i in valid]
    div = diversity_penalties(
        [p["caption"] for p in vp],  # type: ignore[index]
        [p["easy_question"] for p in vp],  # type: ignore[index]
        [p["hard_question"] for p in vp],  # type: ignore[index]
        config,
    )
    ctp = content_type_penalties([p["content_type"] for p in vp], config)  # type: ignore[index]
    return {i: (div[k], ctp[k]) for k, i in enumerate(valid)}


def rescore_proposer_batch(
    proposals: Sequence[dict[str, str] | None],
    parts: Sequence[Mapping[str, Any] | None],
    config: ProposerRewardConfig = ProposerRewardConfig(),  # noqa: B008 - frozen
) -> list[float | None]:
    """Recompute proposer totals with the batch penalties over a whole step batch.

    MM-Zero scores diversity and content-type spread over the whole rollout batch
    (every proposal the proposer wrote in the step, the G samples of each prompt
    included).  An env sees only its own episode; this takes every episode's
    proposals (None: a format failure) and their reward parts
    (:meth:`ProposerReward.as_dict`, None: no score) and returns the new totals
    ``base - easy_hard_penalty - diversity - content_type`` (the format penalty
    unchanged; None where ``parts`` is None).
    """
    if len(proposals) != len(parts):
        raise ValueError("proposals and parts must have equal length")
    by_index = _batch_penalties(proposals, config)
    out: list[float | None] = []
    for i, part in enumerate(parts):
        if part is None:
            out.append(None)
        elif i not in by_index:
            out.append(float(part["total"]))
        else:
            d, c = by_index[i]
            out.append(float(part["base"]) - float(part["easy_hard_penalty"]) - d - c)
    return out


# -- codegen & solver -----------------------------------------------------------


def codegen_reward(
    rendered: bool,
    solvability: float = 0.0,
    consistency: float | None = None,
    *,
    empty: bool = False,
    not_svg: bool = False,
    config: CodegenRewardConfig = CodegenRewardConfig(),  # noqa: B008 - frozen
) -> float:
    """Return the codegen reward of one SVG.

    Rendered: ``render_bonus + s + min(c, 1 - c)`` (``min`` term 0 when c is None).
    Not rendered: ``max(floor, -(no_render + empty_pen*[empty] + not_svg_pen*[not SVG]))``.
    """
    if rendered:
        return config.render_bonus + solvability + difficulty_term(consistency)
    penalty = (
        config.no_render_penalty
        + (config.empty_penalty if empty else 0.0)
        + (config.not_svg_penalty if not_svg else 0.0)
    )
    return max(config.floor, -penalty)


def solver_reward(
    correct: bool,
    format_ok: bool,
    config: SolverRewardConfig = SolverRewardConfig(),  # noqa: B008 - frozen
) -> float:
    """Return ``0.9 * [answer equals silver label] + 0.1 * [format ok]``."""
    return config.accuracy_weight * float(correct) + config.format_weight * float(format_ok)
