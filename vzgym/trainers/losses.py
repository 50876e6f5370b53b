"""GRPO loss pieces as pure torch functions (token level, masked).

* :func:`clipped_surrogate`: ``-min(ρ·A, clip(ρ, 1-ε_low, 1+ε_high)·A)`` per token with
  ``ρ = exp(logp_new - logp_old)`` (DAPO's asymmetric "clip-higher").
* :func:`k3_kl`: the low-variance estimator of KL(π_new ‖ π_ref) per token,
  ``exp(r) - r - 1`` with ``r = logp_ref - logp_new`` (always ≥ 0).
* :func:`token_mean`: the mean over all unmasked tokens of the batch (every token
  weighs the same, whatever its sequence's length).
* :func:`seq_mean_token_mean`: each sequence's token mean, then the mean over
  sequences (every sequence weighs the same; TRL's original GRPO, Vision-Zero's
  trainer, EasyR1's ``loss_avg_mode="seq"``).
* :func:`aggregate`: one of the two by name (:data:`LOSS_AGGREGATIONS`).

Dual-clip (Ye et al. 2019, EasyR1's ``clip_ratio_dual``): for a negative advantage
the clipped loss ``max(-ρA, -clip(ρ)A)`` grows without bound in ρ; dual-clip caps it
at ``-c·A`` (``c > 1``, EasyR1 default 3.0), so one token whose probability rose a lot
cannot dominate the update.  Positive advantages are untouched.
"""

from __future__ import annotations

import torch

#: ``loss_agg`` choices: token mean over the batch, or per-sequence mean then batch mean.
LOSS_AGGREGATIONS = ("token-mean", "seq-mean-token-mean")


def token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the tokens where ``mask`` is 1 (0 when nothing is unmasked)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def seq_mean_token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over sequences (rows with an unmasked token) of each row's token mean."""
    mask = mask.to(values.dtype)
    if values.dim() == 1:
        values, mask = values.unsqueeze(0), mask.unsqueeze(0)
    lengths = mask.sum(dim=-1)
    rows = lengths > 0
    per_seq = (values * mask).sum(dim=-1) / lengths.clamp(min=1.0)
    return per_seq[rows].sum() / rows.sum().clamp(min=1).to(values.dtype)


def aggregate(values: torch.Tensor, mask: torch.Tensor, mode: str = "token-mean") -> torch.Tensor:
    """Reduce per-token ``values`` to a scalar with ``mode`` (one of :data:`LOSS_AGGREGATIONS`)."""
    if mode == "token-mean":
        return token_mean(values, mask)
    if mode == "seq-mean-token-mean":
        return seq_mean_token_mean(values, mask)
    raise ValueError(f"loss aggregation must be one of {LOSS_AGGREGATIONS}, got {mode!r}")


def clipped_surrogate(
    logp_new: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
    dual_clip: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token clipped policy-gradient loss and a 0/1 tensor of where clipping bit.

    ``advantages`` broadcasts over tokens (shape ``[B, 1]`` or ``[B, T]``).  With
    ``dual_clip = c`` (``c > 1``), tokens with a negative advantage have their loss
    capped at ``-c·A`` (counted as clipped where the cap bites).
    """
    if dual_clip is not None and not dual_clip > 1.0:
        raise ValueError(f"dual_clip must be > 1 (or None), got {dual_clip!r}")
    ratio = torch.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    loss = -torch.minimum(unclipped, clipped)
    was_clipped = clipped < unclipped
    if dual_clip is not None:
        advantages = torch.broadcast_to(advantages, loss.shape)
        cap = -dual_clip * advantages
        bites = (advantages < 0) & (loss > cap)
        loss = torch.where(bites, cap, loss)
        was_clipped = was_clipped | bites
    return loss, was_clipped.to(logp_new.dtype)


def k3_kl(logp_new: torch.Tensor, logp_ref: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(π_new ‖ π_ref): ``exp(r) - r - 1``, ``r = ref - new``."""
    r = logp_ref - logp_new
    return torch.exp(r) - r - 1.0


def grpo_loss(
    logp_new: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
    kl_coef: float = 0.0,
    logp_ref: torch.Tensor | None = None,
    dual_clip: float | None = None,
    loss_agg: str = "token-mean",
) -> tuple[torch.Tensor, dict[str, float]]:
    """GRPO loss with optional k3 KL to a reference; returns (loss, stats).

    ``loss_agg`` reduces the per-token loss (see :func:`aggregate`); ``dual_clip``
    as in :func:`clipped_surrogate`.
    """
    per_token, was_clipped = clipped_surrogate(
        logp_new, logp_old, advantages, clip_low=clip_low, clip_high=clip_high, dual_clip=dual_clip
    )
    stats: dict[str, float] = {}
    if kl_coef and logp_ref is not None:
        kl = k3_kl(logp_new, logp_ref)
        per_token = per_token + kl_coef * kl
        stats["kl"] = float(token_mean(kl.detach(), mask))
    loss = aggregate(per_token, mask, loss_agg)
    stats["clip_frac"] = float(token_mean(was_clipped, mask))
    stats["ratio_mean"] = float(token_mean(torch.exp(logp_new - logp_old).detach(), mask))
    return loss, stats
