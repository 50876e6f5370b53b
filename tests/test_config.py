"""Typed run config: TOML + overrides, type errors, did-you-mean, validation, round-trip."""

import datetime as dt
import json
import textwrap

import pytest

from vzgym.config import (
    ConfigError,
    RunConfig,
    TrainerConfig,
    estimator_names,
    format_run_dir,
    from_dict,
    load_config,
    to_dict,
    to_toml,
)


def write(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_are_the_tiny_cpu_run():
    config = load_config(None, [])
    assert config == RunConfig()
    assert config.env.id == "spy-clevr" and config.policy.model == "tiny"
    t = config.trainer
    assert (t.backend, t.steps, t.games_per_step, t.group_size) == ("local", 4, 4, 4)
    assert (t.lr, t.betas, t.clip_low, t.clip_high) == (1e-4, (0.9, 0.999), 0.2, 0.28)
    assert config.sampling.max_new_tokens == 48 and config.sampling.max_prompt_tokens is None
    assert config.logging.run_dir == "runs/{env}-{time}" and config.logging.wandb_mode == "offline"


def test_toml_file_sections_and_types(tmp_path):
    path = write(
        tmp_path,
        """
        [env]
        id = "spy-pairs"
        [env.options]
        num_players = 5
        pairs_dir = "/data/pairs"
        [policy]
        model = "hf:/models/qwen"
        role_models = {spy = "tiny"}
        frozen_roles = ["civilian"]
        lora = true
        lora_dropout = 0          # int accepted for a float
        [sampling]
        max_prompt_tokens = 1024
        [trainer]
        lr = 3e-5
        betas = [0.9, 0.95]
        phase = "fixed-cycle:10"
        [trainer.advantages]
        clue = "rloo"
        [trainer.advantage_options.rae]
        alpha = 0.9
        [logging]
        wandb = true
        """,
    )
    c = load_config(path, [])
    assert c.env.id == "spy-pairs" and c.env.options == {
        "num_players": 5,
        "pairs_dir": "/data/pairs",
    }
    assert c.policy.role_models == {"spy": "tiny"} and c.policy.frozen_roles == ["civilian"]
    assert c.policy.lora is True and c.policy.lora_dropout == 0.0
    assert isinstance(c.policy.lora_dropout, float)
    assert c.sampling.max_prompt_tokens == 1024
    assert c.trainer.lr == 3e-5 and c.trainer.betas == (0.9, 0.95)
    assert c.trainer.advantages == {"clue": "rloo"}
    assert c.trainer.advantage_options == {"rae": {"alpha": 0.9}}
    assert c.trainer.steps == 4  # untouched keys keep defaults


def test_overrides_parse_toml_values_else_strings(tmp_path):
    path = write(tmp_path, "[env.options]\nnum_players = 4\nseed_offset = 1\n")
    c = load_config(
        path,
        [
            "trainer.lr=3e-5",
            "env.options.num_players=5",
            "sampling.max_new_tokens=64",
            "trainer.backend=openrlhf",  # bare word -> string
            "policy.model=123",  # str field keeps the text
            'policy.attn_implementation="sdpa"',
            "policy.frozen_roles=spy, civilian",  # comma list
            "trainer.advantages.clue=rae",
            "trainer.advantage_options.rae.alpha=0.8",
            "trainer.betas=[0.8, 0.99]",
            "logging.progress=false",
            "env.options.tag=hello world",
        ],
    )
    assert c.trainer.lr == 3e-5 and c.sampling.max_new_tokens == 64
    assert c.env.options == {"num_players": 5, "seed_offset": 1, "tag": "hello world"}
    assert c.trainer.backend == "openrlhf" and c.policy.model == "123"
    assert c.policy.attn_implementation == "sdpa"
    assert c.policy.frozen_roles == ["spy", "civilian"]
    assert c.trainer.advantages == {"clue": "rae"}
    assert c.trainer.advantage_options == {"rae": {"alpha": 0.8}}
    assert c.trainer.betas == (0.8, 0.99) and c.logging.progress is False
    # optional fields are unset with none; later overrides win; whole tables replace
    c2 = load_config(
        None,
        [
            "policy.attn_implementation=eager",
            "policy.attn_implementation=none",
            "env.options.a=1",
            "env.options={}",
        ],
    )
    assert c2.policy.attn_implementation is None and c2.env.options == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.lrr=1e-5"], r"unknown key trainer\.lrr\. Did you mean 'lr'\?"),
        (["trainr.lr=1e-5"], r"unknown section 'trainr'\. Did you mean 'trainer'\?"),
        (["sampling.temprature=0.5"], r"Did you mean 'temperature'\?"),
        (["trainer.lr"], r"bad override.*section\.key=value"),
        (["lr=3"], r"bad override"),
        (["trainer.lr.x=1"], r"trainer\.lr is a float, not a table"),
        (["trainer.lr=abc"], r"trainer\.lr: expected float, got 'abc' \(str\)"),
        (["trainer.steps=two"], r"trainer\.steps: expected int"),
        (["trainer.steps=2.5"], r"trainer\.steps: expected int, got 2\.5"),
        (["policy.lora=yes"], r"policy\.lora: expected bool"),
        (["trainer.betas=[0.9]"], r"trainer\.betas: expected list of 2 floats"),
        (["policy.frozen_roles=[1, 2]"], r"policy\.frozen_roles\[0\]: expected str"),
        (["policy.role_models=[1]"], r"policy\.role_models: expected table of str"),
        (["trainer.steps=none"], r"trainer\.steps: expected int, got 'none'"),
    ],
)
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_unknown_keys_in_file_are_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config section \[trainr\].*'trainer'"):
        load_config(write(tmp_path, "[trainr]\nlr = 1.0\n"), [])
    with pytest.raises(ConfigError, match=r"unknown key policy\.modle\. Did you mean 'model'"):
        load_config(write(tmp_path, "[policy]\nmodle = 'tiny'\n"), [])
    with pytest.raises(ConfigError, match=r"\[env\] must be a table"):
        load_config(write(tmp_path, "env = 'spy-clevr'\n"), [])
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[env\n"), [])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", [])
    with pytest.raises(ConfigError, match=r"policy\.role_models\.spy: expected str, got 1"):
        load_config(write(tmp_path, "[policy.role_models]\nspy = 1\n"), [])
    # a str leaf given on the command line keeps the text as written
    assert load_config(None, ["policy.role_models.spy=[1]"]).policy.role_models == {"spy": "[1]"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.backend=ray"], "trainer.backend must be one of"),
        (["policy.dtype=fp64"], "policy.dtype must be one of"),
        (["trainer.steps=0"], "trainer.steps must be >= 1"),
        (["trainer.clip_low=-0.1"], "trainer.clip_low must be >= 0"),
        (["trainer.clip_low=1"], "trainer.clip_low must be >= 0 and < 1"),
        (["trainer.group_size=1"], "group_size = 1 every advantage is 0"),
        (["trainer.warmup_steps=50", "trainer.steps=10"], "longer than the run"),
        (["sampling.temperature=inf"], "sampling.temperature must be a finite"),
        (["logging.run_dir=runs/{time:%Y}"], "logging.run_dir"),
        (["trainer.clip_high=-1"], "trainer.clip_high must be >= 0"),
        (["trainer.lr=0"], "trainer.lr must be > 0"),
        (["trainer.betas=[0.9, 1.0]"], "trainer.betas"),
        (["sampling.top_p=0"], "sampling.top_p"),
        (["sampling.max_prompt_tokens=0"], "sampling.max_prompt_tokens"),
        (["policy.lora_dropout=1.0"], "policy.lora_dropout"),
        (["trainer.device=gpu"], "trainer.device"),
        (["trainer.phase=fixed-cycle:0"], "trainer.phase"),
        (["trainer.phase=adaptiv"], "Did you mean 'adaptive'"),
        (["trainer.phase_options.kmin=3"], "Did you mean 'k_min'"),
        (["trainer.advantages.clue=raee"], r"trainer\.advantages\.clue: .*Did you mean 'rae'"),
        (["trainer.advantage_options.rea.alpha=0.9"], "unknown estimator 'rea'"),
        (["trainer.advantage_options.rae.alpha=1.5"], "alpha must be in"),
        (["trainer.advantage_options.rae=3"], "must be a table"),
        (["logging.wandb_mode=cloud"], "logging.wandb_mode"),
        (["logging.run_dir=runs/{model}"], r"unknown placeholder \{model\}"),
        (["env.id="], "env.id must not be empty"),
    ],
)
def test_validation_of_choices_and_ranges(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_valid_edge_values():
    c = load_config(
        None,
        [
            "trainer.clip_low=0",
            "trainer.kl_coef=0.1",
            "trainer.device=cuda:1",
            "trainer.phase=fixed:clue",
            "trainer.checkpoint_every=0",
            "sampling.temperature=0",
        ],
    )
    assert c.trainer.device == "cuda:1" and c.sampling.temperature == 0.0


def test_to_toml_round_trips(tmp_path):
    c = load_config(
        None,
        [
            "env.id=spy-pairs",
            'env.options.pairs_dir="C:\\\\data\\\\pairs \\"q\\""',
            "env.options.sizes=[1, 2]",
            "env.options.nested={a = 1, b = {c = true}}",
            'env.options."odd key"=1',
            "policy.role_models.spy=hf:/m",
            "policy.frozen_roles=civilian",
            "trainer.lr=3e-5",
            "trainer.advantages.*=rloo",
            "trainer.advantage_options.rae.alpha=0.9",
            "trainer.phase_options.k_min=3",
            "sampling.max_prompt_tokens=512",
        ],
    )
    assert c.env.options["pairs_dir"] == 'C:\\data\\pairs "q"'
    text = to_toml(c)
    assert "[env.options]" in text and "# attn_implementation = (unset)" in text
    path = tmp_path / "out.toml"
    path.write_text(text)
    assert load_config(path, []) == c
    assert load_config(None, []) == from_dict({}) == RunConfig()
    default_path = tmp_path / "default.toml"
    default_path.write_text(to_toml(RunConfig()))
    assert load_config(default_path, []) == RunConfig()
    odd = RunConfig()
    odd.env.options["a\n"] = 1  # "$" matched before a final newline: written bare, unparsable
    newline_path = tmp_path / "newline.toml"
    newline_path.write_text(to_toml(odd))
    assert load_config(newline_path, []).env.options == {"a\n": 1}


def test_to_dict_is_json_safe():
    d = to_dict(load_config(None, ["env.options.n=3"]))
    assert d["trainer"]["betas"] == [0.9, 0.999]
    assert d["env"] == {"id": "spy-clevr", "options": {"n": 3}}
    assert set(d) == {"env", "policy", "sampling", "trainer", "logging", "eval"}
    json.dumps(d)
    assert from_dict(d) == load_config(None, ["env.options.n=3"])


def test_estimator_names_merge_env_defaults():
    spy = {"clue": "rae", "decision": "group_norm", "*": "group_norm"}  # declared by the game
    assert estimator_names("spy-clevr", {}) == spy
    assert estimator_names("spy-clevr", {"clue": "rloo"}) == {**spy, "clue": "rloo"}
    assert estimator_names("spy-clevr", {"*": "rloo"}) == {"*": "rloo"}
    assert estimator_names("svg-solve", {"solve": "rloo"}) == {"*": "group_norm", "solve": "rloo"}


def test_format_run_dir():
    c = load_config(None, ["env.id=svg-solve"])
    when = dt.datetime(2025, 1, 2, 3, 4, 5)
    assert format_run_dir(c, when) == "runs/svg-solve-20250102-030405"


def test_trainer_config_is_a_plain_dataclass():
    t = TrainerConfig(lr=1e-3)
    assert t.lr == 1e-3 and t.advantages == {} and TrainerConfig().advantages is not t.advantages


def test_build_estimators_and_phase_schedule_from_config():
    from vzgym.config import build_estimators, build_phase_schedule
    from vzgym.trainers.advantages import RAE, RLOO, GroupNorm
    from vzgym.trainers.phase import FixedCycle, PhaseController

    c = load_config(None, ["trainer.advantage_options.rae.alpha=0.5"])
    ests = build_estimators(c)
    assert set(ests) == {"clue", "decision", "*"}
    assert isinstance(ests["clue"], RAE) and ests["clue"].alpha == 0.5
    assert isinstance(ests["decision"], GroupNorm)
    assert isinstance(build_estimators(load_config(None, ["env.id=svg-solve"]))["*"], GroupNorm)
    c2 = load_config(None, ["trainer.advantages.decision=rloo", "trainer.phase=fixed-cycle:3"])
    assert isinstance(build_estimators(c2)["decision"], RLOO)
    assert isinstance(build_phase_schedule(c2), FixedCycle)
    sched = build_phase_schedule(load_config(None, ["trainer.phase_options.k_min=2"]))
    assert isinstance(sched, PhaseController) and sched.k_min == 2
