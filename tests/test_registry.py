import gymnasium
import pytest

import vzgym
from vzgym.registration import EnvRegistry, RegistrationError, UnknownEnvError, get_registry


def test_unknown_id_did_you_mean():
    with pytest.raises(UnknownEnvError) as err:
        vzgym.make("spy-clever")
    assert "Did you mean 'spy-clevr'" in str(err.value)
    assert "Known envs:" in str(err.value)


def test_gym_style_ids_resolve():
    assert get_registry().spec("vzgym/spy-clevr-v0").id == "spy-clevr"
    assert "vzgym/spy-clevr-v0" in get_registry()
    assert "vzgym/spy-clevr" in get_registry()
    assert "vzgym/spy-clevr-v7" not in get_registry()  # only -v0 exists, as in Gymnasium


def test_gymnasium_make_works():
    env = gymnasium.make("vzgym/spy-clevr-v0", num_players=3)
    obs, infos = env.reset(seed=0)
    assert list(obs) == ["player_1"]
    assert env.unwrapped.num_players == 3


@pytest.mark.parametrize("bad", ["Spy", "spy_clevr", "-x", "a--b", "", "sp y"])
def test_bad_ids_rejected(bad):
    with pytest.raises(RegistrationError):
        EnvRegistry().register(bad, "x.y:Z")


def test_duplicate_and_bad_entry_point():
    reg = EnvRegistry()
    reg.register("toy-game", "vzgym.envs.spy.clevr_env:SpyClevrEnv", plugin="a")
    with pytest.raises(RegistrationError, match="already registered by plugin 'a'"):
        reg.register("toy-game", "vzgym.envs.spy.clevr_env:SpyClevrEnv", plugin="b")
    with pytest.raises(RegistrationError, match="entry point"):
        reg.register("other-game", "not an entry point")
    reg.register("missing-game", "vzgym.nope:Nothing")
    with pytest.raises(RegistrationError, match="cannot load entry point"):
        reg.make("missing-game")


def test_spec_defaults_are_overridable():
    reg = EnvRegistry()
    reg.register("small-spy", "vzgym.envs.spy.clevr_env:SpyClevrEnv", num_players=3)
    assert reg.make("small-spy").num_players == 3
    assert reg.make("small-spy", num_players=5).num_players == 5
