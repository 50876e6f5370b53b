import math

import pytest
import torch

from vzgym.trainers.losses import (
    aggregate,
    clipped_surrogate,
    grpo_loss,
    k3_kl,
    seq_mean_token_mean,
    token_mean,
)


def test_token_mean_weights_every_token_equally():
    values = torch.tensor([[1.0, 2.0, 3.0], [10.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    # (1 + 2 + 3 + 10) / 4 = 4.0 (a sequence-mean would give (2 + 10) / 2 = 6)
    assert token_mean(values, mask).item() == pytest.approx(4.0)
    assert token_mean(values, torch.zeros_like(mask)).item() == 0.0


def test_clipped_surrogate_hand_computed():
    old = torch.zeros(4)
    new = torch.log(torch.tensor([1.5, 0.5, 1.1, 0.7]))
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0])
    loss, clipped = clipped_surrogate(new, old, adv, clip_low=0.2, clip_high=0.28)
    # ratio 1.5, A=+1: min(1.5, 1.28) = 1.28 -> loss -1.28 (clipped)
    # ratio 0.5, A=+1: min(0.5, 0.8) = 0.5   -> loss -0.5  (not clipped)
    # ratio 1.1, A=-1: min(-1.1, -1.1) = -1.1 -> loss 1.1
    # ratio 0.7, A=-1: min(-0.7, -0.8) = -0.8 -> loss 0.8 (clipped)
    assert loss.tolist() == pytest.approx([-1.28, -0.5, 1.1, 0.8])
    assert clipped.tolist() == [1.0, 0.0, 0.0, 1.0]


def test_k3_kl_is_zero_at_equal_and_positive_elsewhere():
    a = torch.tensor([-1.0, -2.0])
    assert k3_kl(a, a).tolist() == [0.0, 0.0]
    # r = ref - new = -1 -> e^-1 + 1 - 1 = 0.3679
    assert k3_kl(torch.tensor([0.0]), torch.tensor([-1.0])).item() == pytest.approx(math.exp(-1))


def test_gradient_of_on_policy_loss_is_minus_advantage_times_score():
    logits = torch.tensor([0.3, -0.2], requires_grad=True)
    logp = torch.log_softmax(logits, dim=0)[0:1]
    loss, stats = grpo_loss(logp, logp.detach(), torch.tensor([2.0]), torch.ones(1))
    loss.backward()
    p0 = torch.softmax(logits.detach(), dim=0)[0].item()
    # d/dlogit0 of -A*logp0 = -A*(1-p0); d/dlogit1 = -A*(-p1) = A*(1-p0)
    assert logits.grad.tolist() == pytest.approx([-2.0 * (1 - p0), 2.0 * (1 - p0)])
    assert stats["ratio_mean"] == pytest.approx(1.0) and stats["clip_frac"] == 0.0


def test_kl_term_added_with_coefficient():
    new = torch.tensor([[0.0, 0.0]])
    ref = torch.tensor([[-1.0, 0.0]])
    adv = torch.zeros(1, 1)
    loss, stats = grpo_loss(new, new, adv, torch.ones(1, 2), kl_coef=0.5, logp_ref=ref)
    # kl per token: [e^-1, 0], token-mean = e^-1 / 2; loss = 0.5 * that
    assert stats["kl"] == pytest.approx(math.exp(-1) / 2)
    assert loss.item() == pytest.approx(0.5 * math.exp(-1) / 2)


def test_dual_clip_caps_negative_advantage_loss_only():
    old = torch.zeros(4)
    new = torch.log(torch.tensor([5.0, 2.0, 5.0, 0.5]))
    adv = torch.tensor([-1.0, -1.0, 1.0, -2.0])
    loss, clipped = clipped_surrogate(new, old, adv, clip_low=0.2, clip_high=0.3, dual_clip=3.0)
    # ratio 5, A=-1: max(5, 1.3) = 5 > 3 -> capped at 3 (dual clip bites)
    # ratio 2, A=-1: max(2, 1.3) = 2 <= 3 -> 2 (unchanged, not clipped)
    # ratio 5, A=+1: min(5, 1.3) = 1.3 -> -1.3 (ordinary clip; dual clip never applies)
    # ratio 0.5, A=-2: max(1.0, 1.6) = 1.6 (ordinary clip at 0.8), cap 6 not reached
    assert loss.tolist() == pytest.approx([3.0, 2.0, -1.3, 1.6])
    assert clipped.tolist() == [1.0, 0.0, 1.0, 1.0]
    plain, _ = clipped_surrogate(new, old, adv, clip_low=0.2, clip_high=0.3)
    assert plain.tolist() == pytest.approx([5.0, 2.0, -1.3, 1.6])


def test_dual_clip_cap_has_no_gradient():
    new = torch.log(torch.tensor([5.0])).requires_grad_()
    loss, _ = clipped_surrogate(new, torch.zeros(1), torch.tensor([-1.0]), dual_clip=3.0)
    loss.sum().backward()
    assert new.grad.tolist() == [0.0]


def test_dual_clip_must_exceed_one():
    with pytest.raises(ValueError, match="dual_clip"):
        clipped_surrogate(torch.zeros(1), torch.zeros(1), torch.ones(1), dual_clip=1.0)


def test_seq_mean_token_mean_weighs_every_sequence_equally():
    values = torch.tensor([[1.0, 2.0, 3.0], [10.0, 0.0, 0.0], [7.0, 7.0, 7.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    # row means 2 and 10; the empty row is not a sequence: (2 + 10) / 2 = 6
    assert seq_mean_token_mean(values, mask).item() == pytest.approx(6.0)
    assert aggregate(values, mask, "seq-mean-token-mean").item() == pytest.approx(6.0)
    assert aggregate(values, mask, "token-mean").item() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="loss aggregation"):
        aggregate(values, mask, "sum")


def test_grpo_loss_aggregation_option_changes_the_loss():
    new = torch.zeros(2, 3)
    adv = torch.tensor([[1.0], [-1.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    tok, _ = grpo_loss(new, new, adv, mask)
    seq, _ = grpo_loss(new, new, adv, mask, loss_agg="seq-mean-token-mean")
    # on-policy: per-token loss = -A; token mean (-1*3 + 1*1) / 4 = -0.5; seq mean (-1 + 1)/2 = 0
    assert tok.item() == pytest.approx(-0.5)
    assert seq.item() == pytest.approx(0.0)
