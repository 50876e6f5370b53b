"""vzgym imitate: cloning learns (loss falls, format rises), resumes, works for plugin games."""

from __future__ import annotations

import os

import pytest
from conftest import ROOT, run_vzgym

from vzgym.trainers.imitate import ImitateConfig, ImitationTrainer
from vzgym.trainers.imitate_data import make_teacher
from vzgym.trainers.imitate_eval import evaluate
from vzgym.trainers.metrics import read_metrics

TOY = dict(env_id="toy-color", max_answer_tokens=4, eval_max_new_tokens=4, progress=False)


def test_imitation_loss_falls_and_the_format_rate_rises(tmp_path):
    config = ImitateConfig(**TOY, steps=12, batch_size=8, micro_batch_size=8, lr=1e-3,
                           eval_every=12, eval_games=32, warmup_steps=2,
                           eval_blank_images=True)  # fmt: skip
    trainer = ImitationTrainer(config, tmp_path / "run")
    before = evaluate(trainer.student, "toy-color", games=32, max_new_tokens=4)
    history = trainer.train()
    first, last = history[0]["train/loss"], history[-1]["train/loss"]
    assert last < first / 5, (first, last)
    assert before["game/well_formed"] < 0.5
    assert history[-1]["game/well_formed"] >= before["game/well_formed"] + 0.4
    assert history[-1]["game/well_formed"] >= 0.9
    # the vision ablation: the format stays, reading the colour does not
    assert history[-1]["blank/game/well_formed"] >= 0.9
    assert history[-1]["game/correct"] >= 0.9
    assert 0.2 <= history[-1]["blank/game/correct"] <= 0.8
    assert (tmp_path / "run" / "best" / "config.json").exists()
    assert (tmp_path / "run" / "final" / "config.json").exists()
    assert "train/loss_answer" in history[-1]


def test_resume_continues_without_duplicate_steps(tmp_path):
    run = tmp_path / "run"
    short = ImitateConfig(**TOY, steps=4, batch_size=2, micro_batch_size=2, eval_every=2,
                          eval_games=2)  # fmt: skip
    ImitationTrainer(short, run).train()
    with pytest.raises(ValueError, match="--resume"):
        ImitationTrainer(short, run)
    with pytest.raises(ValueError, match="lr"):
        ImitationTrainer(ImitateConfig(**{**short.__dict__, "lr": 0.5}), run, resume=True)
    longer = ImitateConfig(**{**short.__dict__, "steps": 6})
    resumed = ImitationTrainer(longer, run, resume=True)
    # 8 toy turns (one per game) used of the first block of 16 games
    assert resumed.start_step == 4 and resumed.stream.state() == {"game": 0, "offset": 8}
    resumed.train()
    assert [r["step"] for r in read_metrics(run)] == list(range(6))


def test_stream_resumes_inside_a_game():
    import vzgym
    from vzgym.envs.spy.bots import ScriptedSpyPolicy
    from vzgym.trainers.imitate_data import TeacherStream

    def make():
        return vzgym.make("spy-clevr", num_players=3, clue_rounds=1)

    full = TeacherStream(make, ScriptedSpyPolicy(), seed_base=7)
    first, rest = full.take(4), full.take(3)  # a spy game here has 3 clues + 2 votes
    state = full.state()
    assert state == {"game": 1, "offset": 2} and len(first) == 4 and len(rest) == 3
    replay = TeacherStream(make, ScriptedSpyPolicy(), seed_base=7, **state)
    assert [(t.game, t.action) for t in replay.take(7)] == [
        (t.game, t.action) for t in full.take(7)
    ]


def test_mixed_stream_shuffles_whole_games_and_resumes_inside_a_block():
    import vzgym
    from vzgym.envs.spy.bots import ScriptedSpyPolicy
    from vzgym.trainers.imitate_data import TeacherStream

    def make():
        return vzgym.make("spy-clevr", num_players=3, clue_rounds=1)

    plain = TeacherStream(make, ScriptedSpyPolicy(), seed_base=7)
    mixed = TeacherStream(make, ScriptedSpyPolicy(), seed_base=7, mix=4)
    in_order, shuffled = plain.take(20), mixed.take(20)  # 4 games of 5 turns each
    key = [(t.game, t.observation.agent, t.observation.phase, t.action) for t in in_order]
    assert sorted(key) == sorted(
        (t.game, t.observation.agent, t.observation.phase, t.action) for t in shuffled
    )  # the same turns, none lost or repeated ...
    assert key != [(t.game, t.observation.agent, t.observation.phase, t.action) for t in shuffled]
    assert len({t.game for t in shuffled[:5]}) > 1  # ... and a batch spans several games
    # resume inside a block: the block is replayed and its used turns skipped
    again = TeacherStream(make, ScriptedSpyPolicy(), seed_base=7, mix=4)
    again.take(6)
    assert again.state() == {"game": 0, "offset": 6}
    replay = TeacherStream(make, ScriptedSpyPolicy(), seed_base=7, mix=4, **again.state())
    assert [(t.game, t.action) for t in replay.take(30)] == [
        (t.game, t.action) for t in again.take(30)
    ]
    with pytest.raises(ValueError, match="mix"):
        TeacherStream(make, ScriptedSpyPolicy(), seed_base=7, mix=0)


def test_phases_keep_only_those_turns_and_unknown_phases_are_refused(tmp_path):
    import vzgym
    from vzgym.envs.spy.bots import ScriptedSpyPolicy
    from vzgym.trainers.imitate_data import TeacherStream

    def make():
        return vzgym.make("spy-clevr", num_players=3, clue_rounds=1)

    clues = TeacherStream(make, ScriptedSpyPolicy(), seed_base=7, phases=("clue",)).take(9)
    assert {t.observation.phase for t in clues} == {"clue"}
    assert sorted({t.game for t in clues}) == [7, 8, 9]  # 3 clue turns per game, votes skipped
    with pytest.raises(RuntimeError, match="no turns of phases"):
        TeacherStream(make, ScriptedSpyPolicy(), seed_base=7, phases=("nope",)).take(1)
    bad = ImitateConfig("spy-clevr", {"num_objects": 1}, phases=["vote"], progress=False)
    with pytest.raises(ValueError, match="not stages of spy-clevr"):
        ImitationTrainer(bad, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_run_saved_before_mix_games_resumes_as_game_order(tmp_path):
    import json

    run = tmp_path / "run"
    old = ImitateConfig(**TOY, steps=2, batch_size=2, micro_batch_size=2, eval_every=2,
                        eval_games=2, mix_games=1)  # fmt: skip
    ImitationTrainer(old, run).train()
    saved = json.loads((run / "imitate.json").read_text())
    del saved["mix_games"]  # what a run from before the option wrote
    (run / "imitate.json").write_text(json.dumps(saved))
    resumed = ImitationTrainer(ImitateConfig(**{**old.__dict__, "steps": 3}), run, resume=True)
    assert resumed.stream.state() == {"game": 4, "offset": 0}
    with pytest.raises(ValueError, match="mix_games"):
        ImitationTrainer(ImitateConfig(**{**old.__dict__, "mix_games": 16}), run, resume=True)


def test_a_failed_start_leaves_no_run_dir(tmp_path):
    bad = ImitateConfig("spy-clevr", {"num_objects": 99}, progress=False)
    with pytest.raises(ValueError, match="16 objects"):
        ImitationTrainer(bad, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_distils_from_a_model_teacher(tmp_path):
    from vzgym.agents.tiny_model import default_model_dir

    teacher = f"hf:{default_model_dir()}"
    config = ImitateConfig(**TOY, teacher=teacher, steps=2, batch_size=2, micro_batch_size=2,
                           eval_every=2, eval_games=2)  # fmt: skip
    trainer = ImitationTrainer(config, tmp_path / "run")
    turns = trainer.stream.take(3)
    # the turns are the teacher model's own greedy answers (the same prompt, the same answer)
    from vzgym.core.policy import SamplingParams

    greedy = SamplingParams(temperature=0.0, max_new_tokens=4)
    assert [t.action for t in turns] == [trainer.teacher.act(t.observation, greedy) for t in turns]
    history = trainer.train()
    assert len(history) == 2 and "eval/finished_rate" in history[-1]


def test_a_game_without_a_bot_needs_a_teacher():
    from vzgym.registration import get_registry

    spec = get_registry().spec("toy-color")
    assert make_teacher("scripted", "toy-color") is not None
    object.__setattr__(spec, "scripted_policy", None)
    try:
        with pytest.raises(ValueError, match="declares no scripted bot"):
            make_teacher("scripted", "toy-color")
    finally:
        object.__setattr__(spec, "scripted_policy", "vzgym.envs.toy:ToyColorBot")


def test_blank_images_ablation_hides_the_colour():
    from vzgym.envs.toy import ToyColorBot

    class ReadsPixels(ToyColorBot):
        """Answers from the image's centre pixel (red -> A, else B)."""

        def generate(self, observations, sampling=None):
            from vzgym.core.policy import Completion

            out = []
            for o in observations:
                img = o.images()[0]
                r, g, b = img.getpixel((img.width // 2, img.height // 2))
                out.append([Completion("A" if r > 150 and g < 100 else "B", finish_reason="stop")])
            return out

    seeing = evaluate(ReadsPixels(), "toy-color", games=40)
    blind = evaluate(ReadsPixels(), "toy-color", games=40, blank_images=True)
    assert seeing["game/correct"] == 1.0
    assert 0.2 < blind["game/correct"] < 0.8  # always "B": right only on blue squares


def test_cli_imitates_a_plugin_game_and_plots(tmp_path):
    site = tmp_path / "site"
    info = site / "vzgym_odd_one_out-0.1.0.dist-info"
    info.mkdir(parents=True)
    meta = "Metadata-Version: 2.1\nName: vzgym-odd-one-out\nVersion: 0.1.0\n"
    (info / "METADATA").write_text(meta)
    (info / "entry_points.txt").write_text("[vzgym]\nodd_one_out = vzgym_odd_one_out.plugin\n")
    src = ROOT / "examples" / "plugin-odd-one-out"
    path = os.pathsep.join(p for p in [str(site), str(src), os.environ.get("PYTHONPATH", "")] if p)
    env = {"PYTHONPATH": path, "VZGYM_LOAD_PLUGINS": "odd_one_out"}
    run = tmp_path / "run"
    args = ["--env", "odd-one-out", "--steps", "2", "--eval-every", "2", "--eval-games", "2"]
    out = run_vzgym("imitate", *args, "--batch-size", "2", "--run-dir", str(run),
                    "--max-answer-tokens", "8", "--no-progress", env=env, timeout=900)  # fmt: skip
    assert "last evaluation" in out.stdout
    rows = read_metrics(run)
    assert len(rows) == 2 and "eval/finished_rate" in rows[-1]
    plots = run_vzgym("plot", str(run), env=env).stdout
    assert "loss.png" in plots


def test_cosine_schedule_warms_up_then_falls_to_a_tenth(tmp_path):
    config = ImitateConfig(**TOY, steps=110, warmup_steps=10, lr=1e-3, lr_schedule="cosine")
    trainer = ImitationTrainer(config, tmp_path / "run")
    assert trainer._lr(0) == pytest.approx(1e-4)  # warm-up: (0 + 1) / 10 of lr
    assert trainer._lr(10) == pytest.approx(1e-3)  # cosine starts at lr
    assert trainer._lr(60) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))  # half way
    assert trainer._lr(110) == pytest.approx(1e-4)  # ends at 10 %
    with pytest.raises(ValueError, match="lr_schedule"):
        ImitationTrainer(ImitateConfig(**TOY, lr_schedule="step"), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_the_teacher_also_plays_the_roles_the_env_consults():
    """svg-solve's pictures come from its codegen role: with a compact-style teacher the
    student's images are the teacher's compact charts (the env's default bot draws full ones)."""
    import vzgym
    from vzgym.envs.svg.bots import ScriptedCodegen
    from vzgym.trainers.imitate_data import TeacherStream, teacher_role_calls

    teacher = make_teacher("scripted:style=compact,fail_rate=0", "svg-solve")
    calls = teacher_role_calls("svg-solve", teacher)
    assert sorted(calls) == ["codegen_call", "label_call", "proposer_call"]
    assert teacher_role_calls("spy-clevr", make_teacher("scripted", "spy-clevr")) == {}

    def sizes(**kwargs):
        stream = TeacherStream(lambda: vzgym.make("svg-solve", batch_size=2, **kwargs),
                               teacher, seed_base=5)  # fmt: skip
        return [t.observation.images()[0].size for t in stream.take(2)]

    compact = sizes(**calls)
    default = sizes(codegen_call=ScriptedCodegen(fail_rate=0.0))
    assert compact and all(size == (160, 120) for size in compact), compact
    assert all(size == (480, 360) for size in default), default
