"""GRPO loss pieces as pure torch functions (token level, masked).

* :func:`clipped_surrogate`: ``-min(ρ·A, clip(ρ, 1-ε_low, 1+ε_high)·A)`` per token with
  ``ρ = exp(logp_new - logp_old)`` (DAPO's asymmetric "clip-higher").
* :func:`k3_kl`: the low-variance estimator of KL(π_new ‖ π_ref) per token,
  ``exp(r) - r - 1`` with ``r = logp_ref - logp_new`` (always ≥ 0).
* :func:`token_mean`: the mean over all unmasked tokens of the batch (every token
  weighs the same, whatever its sequence's length).
"""

from __future__ import annotations

import torch


def token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the tokens where ``mask`` is 1 (0 when nothing is unmasked)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def clipped_surrogate(
    logp_new: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token clipped policy-gradient loss and a 0/1 tensor of where clipping bit.

    ``advantages`` broadcasts over tokens (shape ``[B, 1]`` or ``[B, T]``).
    """
    ratio = torch.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    loss = -torch.minimum(unclipped, clipped)
    was_clipped = (clipped < unclipped).to(logp_new.dtype)
    return loss, was_clipped


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
) -> tuple[torch.Tensor, dict[str, float]]:
    """Token-mean GRPO loss with optional k3 KL to a reference; returns (loss, stats)."""
    per_token, was_clipped = clipped_surrogate(
        logp_new, logp_old, advantages, clip_low=clip_low, clip_high=clip_high
    )
    stats: dict[str, float] = {}
    if kl_coef and logp_ref is not None:
        kl = k3_kl(logp_new, logp_ref)
        per_token = per_token + kl_coef * kl
        stats["kl"] = float(token_mean(kl.detach(), mask))
    loss = token_mean(per_token, mask)
    stats["clip_frac"] = float(token_mean(was_clipped, mask))
    stats["ratio_mean"] = float(token_mean(torch.exp(logp_new - logp_old).detach(), mask))
    return loss, stats
