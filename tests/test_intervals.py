"""Hand-computed 95 % intervals."""

import pytest

from vzgym.core.intervals import fmt_share, mean_interval, wilson_interval


def test_wilson_hand_computed():
    # p=0.5, n=10: centre 0.5, half = 1.96*sqrt(0.025+0.0096)/1.384 = 0.2632
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27755), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert fmt_share(5, 10) == "0.500 [0.24, 0.76] (n=10)"


def test_mean_interval_hand_computed():
    # mean 2, sd 1, n 3: half = 4.303 / sqrt(3) = 2.4843
    assert mean_interval([1, 2, 3]) == pytest.approx((2.0, -0.4843, 4.4843), abs=1e-4)
    assert mean_interval([0.7]) == (0.7, 0.7, 0.7)
    with pytest.raises(ValueError):
        mean_interval([])
