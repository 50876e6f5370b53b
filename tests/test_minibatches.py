"""Optimizer minibatches: seeded shuffling and an explicit number of optimizer steps."""

from types import SimpleNamespace

import pytest

from vzgym.config import ConfigError, load_config
from vzgym.trainers.local import LocalGRPOTrainer, warmup_steps


def _split(samples, step, *overrides):
    config = load_config(None, list(overrides))
    return LocalGRPOTrainer.minibatches(SimpleNamespace(config=config), samples, step)


def test_storage_order_when_not_shuffled():
    samples = list(range(20))
    out = _split(samples, 3, "trainer.shuffle_minibatches=false", "trainer.micro_batch_size=8")
    assert out == [list(range(8)), list(range(8, 16)), list(range(16, 20))]


def test_shuffled_order_is_seeded_by_seed_and_step():
    samples = list(range(64))
    a = _split(samples, 5)
    assert a == _split(samples, 5)  # the same after a resume (same seed, same step)
    assert a != _split(samples, 6) and a != _split(samples, 5, "trainer.seed=1")
    assert sorted(x for mb in a for x in mb) == samples  # every sample exactly once


def test_shuffling_mixes_groups_into_every_optimizer_step():
    # 8 GRPO groups of 8 samples stored group after group, 8 optimizer steps of 8 samples:
    # in storage order each optimizer step saw exactly one group (the old behaviour)
    groups = [g for g in range(8) for _ in range(8)]
    old = _split(groups, 0, "trainer.shuffle_minibatches=false")
    assert all(len(set(mb)) == 1 for mb in old)
    new = _split(groups, 0)
    assert len(new) == 8 and all(len(mb) == 8 for mb in new)
    assert min(len(set(mb)) for mb in new) >= 3


def test_optimizer_steps_sets_the_number_of_minibatches():
    samples = list(range(512))
    out = _split(samples, 0, "trainer.optimizer_steps=2", "trainer.micro_batch_size=8")
    assert [len(mb) for mb in out] == [256, 256]
    out = _split(list(range(10)), 0, "trainer.optimizer_steps=4")
    assert sorted(len(mb) for mb in out) == [2, 2, 3, 3]
    assert len(_split([1], 0, "trainer.optimizer_steps=4")) == 1


def test_new_trainer_settings_are_checked():
    for bad in ("trainer.dual_clip=0.5", "trainer.loss_agg=sum", "trainer.optimizer_steps=-1"):
        with pytest.raises(ConfigError):
            load_config(None, [bad])
    with pytest.raises(ConfigError, match="warmup_ratio"):
        load_config(None, ["trainer.warmup_ratio=1.5"])


def test_warmup_ratio():
    tcfg = load_config(None, ["trainer.steps=40", "trainer.warmup_ratio=0.1"]).trainer
    assert warmup_steps(tcfg) == 4
    tcfg = load_config(None, ["trainer.steps=40", "trainer.warmup_steps=2"]).trainer
    assert warmup_steps(tcfg) == 2


def test_loss_aggregation_names_agree():
    from vzgym.config import LOSS_AGGREGATIONS as CONFIG_NAMES
    from vzgym.trainers.losses import LOSS_AGGREGATIONS

    assert CONFIG_NAMES == LOSS_AGGREGATIONS
