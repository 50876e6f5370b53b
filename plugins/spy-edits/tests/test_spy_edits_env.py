"""The spy-edits env: a folder of photos becomes seeded spy pairs; the env contract holds."""

import warnings

import numpy as np
import pytest
import vzgym
from PIL import Image
from spy_edits_helpers import CORRUPT, GOOD, IMAGES, copy_images
from vzgym.registration import get_registry
from vzgym.utils import check_env, to_pettingzoo

from vzgym_spy_edits.edits import EDIT_KINDS
from vzgym_spy_edits.env import SpyEditsEnv
from vzgym_spy_edits.folder import ImageFolderWarning

FOLDER = str(IMAGES)


def make(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageFolderWarning)
        return vzgym.make("spy-edits", folder=kwargs.pop("folder", FOLDER), **kwargs)


def pair_bytes(env, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageFolderWarning)
        env.reset(seed=seed)
    pair = env._pair
    return pair.original.tobytes(), pair.modified.tobytes(), pair.changes, pair.source


def test_registered_through_the_plugin_hook():
    spec = get_registry().spec("spy-edits")
    assert spec.plugin == "spy_edits"
    assert spec.scripted_policy == "vzgym_spy_edits.bots:EditsSpyBot"
    assert spec.load() is SpyEditsEnv


def test_same_seed_gives_the_identical_pair_in_a_fresh_or_a_used_env():
    used = make()
    for seed in range(8):
        pair_bytes(used, seed)  # finds the corrupt files on the way
    fresh = make()
    for seed in (0, 3, 5):
        assert pair_bytes(fresh, seed) == pair_bytes(used, seed)
    pairs = {pair_bytes(fresh, s)[1] for s in range(6)}
    assert len(pairs) > 1


def test_the_spy_image_differs_exactly_inside_the_logged_boxes():
    env = make(num_edits=2)
    for seed in range(12):
        original, modified, changes, source = pair_bytes(env, seed)
        assert source in GOOD
        size = env._pair.original.size
        a = np.frombuffer(original, np.uint8).reshape(size[1], size[0], 3)
        b = np.frombuffer(modified, np.uint8).reshape(size[1], size[0], 3)
        inside = np.zeros(a.shape[:2], bool)
        for change in changes:
            assert change["kind"] in EDIT_KINDS
            x0, y0, x1, y1 = change["box"]
            inside[y0:y1, x0:x1] = True
        moved = (a != b).any(axis=2)
        assert moved.any() and not (moved & ~inside).any()


def test_corrupt_files_are_skipped_counted_and_reported():
    env = make()
    seen = {}
    with pytest.warns(ImageFolderWarning, match="zz_"):
        for seed in range(40):
            env.reset(seed=seed)
            obs = {"x": None}
            while obs:
                agents = env.pending_agents
                obs, *_, infos = env.step({a: "\\boxed{N/A}" for a in agents})
            game = next(iter(infos.values()))["game"]
            seen[seed] = game["skipped_images"]
            assert game["pair_source"] in GOOD
    assert set(env.bad_files) == set(CORRUPT)
    assert env.images.ignored == 1  # notes.txt
    # The last two sorted files are corrupt: a draw landing on the first of them
    # passes over both (wrapping to the first image), one on the last over one.
    assert set(seen.values()) <= {0, 1, 2} and max(seen.values()) > 0


def test_a_folder_of_only_corrupt_files_fails_at_construction(tmp_path):
    copy_images(tmp_path, CORRUPT)
    with pytest.raises(ValueError, match="none of the 2 image"):
        make(folder=tmp_path)


@pytest.mark.parametrize("setup", ["missing", "empty", "other-files", "no-option"])
def test_missing_or_empty_folder_is_a_clear_error(tmp_path, setup):
    if setup == "no-option":
        with pytest.raises(ValueError, match="needs folder=DIR"):
            vzgym.make("spy-edits")
        return
    folder = tmp_path / "photos"
    if setup != "missing":
        folder.mkdir()
    if setup == "other-files":
        (folder / "readme.txt").write_text("hi")
    match = "does not exist" if setup == "missing" else "no images"
    with pytest.raises(ValueError, match=match):
        make(folder=folder)


def test_images_are_resized_and_nested_folders_read(tmp_path):
    big = tmp_path / "a" / "b"
    big.mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (700, 1000, 3), dtype=np.uint8)).save(big / "big.png")
    (tmp_path / ".hidden").mkdir()
    Image.new("RGB", (50, 50), "red").save(tmp_path / ".hidden" / "skip.png")
    env = make(folder=tmp_path, resize=200)
    env.reset(seed=0)
    assert env._pair.original.size == (200, 140) and env._pair.source == "a/b/big.png"
    assert make(folder=tmp_path, resize=0).images.try_load(0).shape == (700, 1000, 3)


def test_exif_orientation_and_transparency_are_honoured(tmp_path):
    from vzgym_spy_edits.folder import load_image

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.new("RGB", (60, 40), "red").save(tmp_path / "phone.jpg", exif=exif)
    assert load_image(tmp_path / "phone.jpg", None).shape == (60, 40, 3)
    clear = Image.new("RGBA", (30, 20), (0, 0, 0, 0))
    clear.putpixel((0, 0), (255, 0, 0, 255))
    clear.save(tmp_path / "logo.png")
    pixels = load_image(tmp_path / "logo.png", None)
    assert tuple(pixels[0, 0]) == (255, 0, 0) and tuple(pixels[10, 10]) == (255, 255, 255)


def test_options_are_checked():
    assert make(edit_kinds="shape, mirror").edit_kinds == ("shape", "mirror")
    with pytest.raises(ValueError, match="edit_kinds"):
        make(edit_kinds="blur")
    with pytest.raises(ValueError, match="num_edits"):
        make(num_edits=0)
    with pytest.raises(ValueError, match="min_region"):
        make(min_region=0.5, max_region=0.2)
    with pytest.raises(ValueError, match="resize"):
        make(resize=-3)


def test_only_the_allowed_edit_kinds_are_drawn():
    env = make(edit_kinds=["recolor", "shape"], num_edits=3)
    kinds = {c["kind"] for s in range(10) for c in pair_bytes(env, s)[2]}
    assert kinds <= {"recolor", "shape"} and kinds


def test_facts_extend_the_spy_facts_with_per_kind_panels():
    from vzgym.envs.spy.game import SPY_FACTS

    facts = get_registry().spec("spy-edits").facts
    assert [s.name for s in facts.stages] == ["clue", "decision"]
    assert facts.advantages()["clue"] == "rae" and facts.switch == SPY_FACTS.switch
    assert set(SPY_FACTS.stats) <= set(facts.stats)
    keys = {k for panel in facts.plots for k in panel.keys}
    assert {f"game/vote_accuracy_{k}" for k in EDIT_KINDS} <= keys
    assert all(facts.stat(k.split("/", 1)[1]) is not None for k in keys)


def test_game_info_reports_accuracy_per_edit_kind():
    env = make(num_edits=1)
    obs, _ = env.reset(seed=2)
    spy = env.spy_seat
    while obs:
        agents = env.pending_agents
        obs, rewards, *_, infos = env.step({a: f"\\boxed{{{spy}}}" for a in agents})
    game = next(iter(infos.values()))["game"]
    kind = env._pair.changes[0]["kind"]
    assert game["vote_accuracy"] == 1.0 and game[f"vote_accuracy_{kind}"] == 1.0
    assert not any(f"vote_accuracy_{k}" in game for k in EDIT_KINDS if k != kind)
    w, h = env._pair.original.size
    assert game["edit_area"] == pytest.approx(env._pair.changes[0]["changed_pixels"] / (w * h))
    facts = env.facts.aggregate([game])
    assert facts[f"vote_accuracy_{kind}"] == 1.0 and facts["spy_found"] == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"decision": "observer", "observer_samples": 2},
        {"spy_view": "identical", "num_edits": 3},
        {"spy_view": "blank", "reveal_roles": False, "num_players": 5, "clue_rounds": 1},
    ],
)
def test_check_env(kwargs):
    check_env(make(**kwargs))


def test_pettingzoo_parallel_api():
    from pettingzoo.test import parallel_api_test

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ImageFolderWarning)
        parallel_api_test(to_pettingzoo(make()), num_cycles=200)


def test_pettingzoo_seed_tests():
    from pettingzoo.test import parallel_seed_test, seed_test
    from pettingzoo.utils.conversions import parallel_to_aec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageFolderWarning)
        parallel_seed_test(lambda: to_pettingzoo(make()), num_cycles=50)
        seed_test(lambda: parallel_to_aec(to_pettingzoo(make())), num_cycles=50)
