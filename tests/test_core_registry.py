"""The one registry helper (vzgym.core.registry) and the four registries built on it."""

import pytest

from vzgym.core.registry import (
    BUILTIN,
    Registry,
    RegistryCollision,
    UnknownNameError,
    did_you_mean,
)
from vzgym.plugins import hookimpl
from vzgym.plugins.manager import PluginWarning, failures, get_plugin_manager


def test_did_you_mean_hand_checked():
    assert did_you_mean("group_nrom", ["group_norm", "rae", "rloo"]) == (
        " Did you mean 'group_norm'?"
    )
    assert did_you_mean("zzz", ["group_norm", "rae"]) == ""
    assert did_you_mean("rlo", ["rloo", "rae"], n=1) == " Did you mean 'rloo'?"


def test_registry_owner_first_come_and_one_entry():
    reg = Registry("widget")
    a, b = object(), object()
    reg.add("a", a, BUILTIN, builtin=True)
    assert reg.add("a", a, BUILTIN, builtin=True) is reg.entry("a")  # same again: one entry
    with pytest.raises(RegistryCollision, match="already registered by vzgym itself"):
        reg.add("a", b, "plug")
    reg.add("b", b, "plug")
    with pytest.raises(RegistryCollision, match="'b' is already registered by plugin 'plug'"):
        reg.add("b", a, "other")
    assert reg.get("a") is a and reg.entry("b").owner == "plug" and reg.entry("a").builtin
    assert reg.names() == ["a", "b"] and len(reg) == 2 and "a" in reg and 3 not in reg
    with pytest.raises(ValueError, match="non-empty string"):
        reg.add(" ", a, "plug")


def test_unknown_name_is_a_key_and_value_error_with_hint():
    reg = Registry("advantage estimator")
    reg.add("group_norm", 1)
    with pytest.raises(UnknownNameError) as err:
        reg.get("group_nrom")
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    assert str(err.value) == (
        "Unknown advantage estimator 'group_nrom'. Did you mean 'group_norm'? Known: group_norm."
    )


class _PolicyPlugin:
    @hookimpl
    def register_policies(self, register):
        register("hf", lambda rest, **kw: None)  # a built-in prefix: refused
        register("echo", _echo)


def _echo(rest, **options):
    from vzgym.agents.scripted import ScriptedSpyPolicy

    return ScriptedSpyPolicy()


def test_policy_registry_keeps_builtins_and_records_the_collision():
    from vzgym.agents.hf_policy import HFPolicy  # noqa: F401 - the real built-in stays
    from vzgym.agents.spec import _hf, make_policy, policy_factories

    pm = get_plugin_manager()
    pm.register(_PolicyPlugin(), name="test-policy-plugin")
    try:
        with pytest.warns(PluginWarning, match="'hf' is already registered by vzgym itself"):
            factories = policy_factories()
        assert factories["hf"] is _hf and factories["echo"] is _echo
        assert ("test-policy-plugin", "register_policies") in {
            (f.plugin, f.stage) for f in failures()
        }
        assert make_policy("echo").name
        with pytest.raises(ValueError, match="Unknown policy 'ech:x'. Did you mean 'echo'"):
            make_policy("ech:x")
    finally:
        pm.unregister(name="test-policy-plugin")
