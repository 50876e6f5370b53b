"""check_env and PettingZoo's parallel_api_test and seed tests over every registered env."""

import warnings

import numpy as np
import pytest
from PIL import Image

import vzgym
from vzgym.registration import get_registry
from vzgym.utils import check_env, to_pettingzoo
from vzgym.utils.env_checker import EnvCheckError


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory):
    """A folder of data for the envs that need one: pairs/ (spy-pairs), photos/ (spy-edits)."""
    root = tmp_path_factory.mktemp("env-data")
    pairs, photos = root / "pairs", root / "photos"
    pairs.mkdir()
    photos.mkdir()
    for i, (a, b) in enumerate([("red", "blue"), ("green", "yellow")]):
        Image.new("RGB", (40, 30), a).save(pairs / f"p{i}_original.png")
        Image.new("RGB", (40, 30), b).save(pairs / f"p{i}_modified.png")
    rng = np.random.default_rng(0)
    for i in range(3):  # self-made "photos": a gradient with a few coloured blocks
        pixels = np.linspace(40, 220, 160, dtype=np.uint8)[None, :, None].repeat(120, 0)
        pixels = pixels.repeat(3, 2).copy()
        for _ in range(4):
            x, y = rng.integers(0, 120), rng.integers(0, 80)
            pixels[y : y + 40, x : x + 40] = rng.integers(0, 256, 3)
        Image.fromarray(pixels).save(photos / f"photo{i}.png")
    return root


# Envs that need constructor arguments to exist at all.
REQUIRED_KWARGS = {
    "spy-pairs": lambda root: {"folder": str(root / "pairs")},
    "spy-edits": lambda root: {"folder": str(root / "photos")},
}
# Small settings to keep the suite fast; the defaults are exercised elsewhere.
FAST_KWARGS = {
    "svg-propose": {"num_proposals": 2},
    "svg-codegen": {"num_proposals": 2},
    "svg-solve": {"num_items": 2},
}


def make(env_id, pair_folder):
    kwargs = REQUIRED_KWARGS.get(env_id, lambda _: {})(pair_folder)
    spec = get_registry().spec(env_id)
    params = spec.load().__init__.__code__.co_varnames
    kwargs.update({k: v for k, v in FAST_KWARGS.get(env_id, {}).items() if k in params})
    return vzgym.make(env_id, **kwargs)


BUILTIN_IDS = get_registry().ids()


@pytest.mark.parametrize("env_id", BUILTIN_IDS)
def test_check_env_every_registered_env(env_id, pair_folder):
    check_env(make(env_id, pair_folder))


@pytest.mark.parametrize("env_id", BUILTIN_IDS)
def test_pettingzoo_parallel_api(env_id, pair_folder):
    from pettingzoo.test import parallel_api_test

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        parallel_api_test(to_pettingzoo(make(env_id, pair_folder)), num_cycles=200)


@pytest.mark.parametrize("env_id", BUILTIN_IDS)
def test_pettingzoo_seed_test(env_id, pair_folder):
    """Same seed, same actions => the same observations, rewards and infos (AEC view)."""
    from pettingzoo.test import seed_test
    from pettingzoo.utils.conversions import parallel_to_aec

    seed_test(lambda: parallel_to_aec(to_pettingzoo(make(env_id, pair_folder))), num_cycles=50)


@pytest.mark.parametrize("env_id", BUILTIN_IDS)
def test_pettingzoo_parallel_seed_test(env_id, pair_folder):
    """The same check through the parallel API the adapter speaks natively."""
    from pettingzoo.test import parallel_seed_test

    parallel_seed_test(lambda: to_pettingzoo(make(env_id, pair_folder)), num_cycles=50)


def test_seed_test_catches_a_nondeterministic_env(pair_folder):
    """The seed test is not vacuous: an env whose images ignore the seed fails it."""
    from pettingzoo.test import seed_test
    from pettingzoo.utils.conversions import parallel_to_aec

    from vzgym.envs.spy.clevr_env import SpyClevrEnv

    class Drifting(SpyClevrEnv):
        made = 0

        def sample_pair(self):
            Drifting.made += 1
            self.np_random = np.random.default_rng(Drifting.made)
            return super().sample_pair()

    with pytest.raises(AssertionError, match="Incorrect observation"):
        seed_test(lambda: parallel_to_aec(to_pettingzoo(Drifting(num_players=3))), num_cycles=5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"decision": "observer", "observer_samples": 2},
        {"spy_view": "identical"},
        {"spy_view": "blank", "reveal_roles": False, "num_players": 5, "clue_rounds": 1},
    ],
)
def test_check_env_spy_variants(kwargs):
    check_env(vzgym.make("spy-clevr", **kwargs))


def test_check_env_catches_global_rng_and_nondeterminism():
    import random

    from vzgym.envs.spy.clevr_env import SpyClevrEnv

    class Sloppy(SpyClevrEnv):
        def _reset(self, options):
            random.random()
            return super()._reset(options)

    with pytest.raises(EnvCheckError, match="global `random`"):
        check_env(Sloppy(num_players=3, clue_rounds=1))

    class Moody(SpyClevrEnv):
        calls = 0

        def _reset(self, options):
            Moody.calls += 1
            self.clue_rounds = Moody.calls
            return super()._reset(options)

    with pytest.raises(EnvCheckError, match="same seed gave a different episode"):
        check_env(Moody(num_players=3))
