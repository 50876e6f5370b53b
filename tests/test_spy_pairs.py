import warnings

import pytest
from PIL import Image

import vzgym
from vzgym.envs.spy.pairs_env import PairFolderWarning, index_pair_folder


def write(path, color):
    Image.new("RGB", (32, 24), color).save(path)


@pytest.fixture
def pair_folder(tmp_path):
    write(tmp_path / "a_original.png", "red")
    write(tmp_path / "a_modified.png", "blue")
    write(tmp_path / "b_original.jpg", "green")
    write(tmp_path / "b_modified.jpg", "yellow")
    write(tmp_path / "lonely_original.png", "white")  # missing partner
    (tmp_path / "c").mkdir()
    write(tmp_path / "c" / "original.png", "black")
    write(tmp_path / "c" / "modified.png", "gray")
    (tmp_path / "d").mkdir()
    write(tmp_path / "d" / "1.png", "purple")
    write(tmp_path / "d" / "2.png", "orange")
    (tmp_path / "e_original.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    write(tmp_path / "e_modified.png", "pink")
    return tmp_path


def test_index_both_layouts_and_count_skips(pair_folder):
    with pytest.warns(PairFolderWarning, match="lonely"):
        index = index_pair_folder(pair_folder)
    assert [p.name for p in index.pairs] == ["a", "b", "e", "c", "d"]
    assert index.skipped == 1
    assert index.pairs[-1].original.name == "1.png"


def test_corrupt_pairs_are_skipped_when_drawn(pair_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PairFolderWarning)
        env = vzgym.make("spy-pairs", folder=str(pair_folder), num_players=3, clue_rounds=1)
    sources = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed in range(40):
            env.reset(seed=seed)
            sources.add(env._pair.source)
    assert sources == {"a", "b", "c", "d"}
    assert env.skipped == 2  # the lonely file and the corrupt pair "e"
    assert any("corrupt" in str(w.message) for w in caught)


def test_same_seed_same_pair(pair_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PairFolderWarning)
        env = vzgym.make("spy-pairs", folder=str(pair_folder))
    env.reset(seed=11)
    first = (env._pair.source, env.spy_seat)
    env.reset(seed=11)
    assert (env._pair.source, env.spy_seat) == first


def test_empty_folder_and_missing_folder_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no image pairs"):
        vzgym.make("spy-pairs", folder=str(tmp_path))
    with pytest.raises(ValueError, match="not a folder"):
        vzgym.make("spy-pairs", folder=str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="needs folder"):
        vzgym.make("spy-pairs")


def test_all_corrupt_is_a_clear_error(tmp_path):
    (tmp_path / "x_original.png").write_bytes(b"junk")
    (tmp_path / "x_modified.png").write_bytes(b"junk")
    env = vzgym.make("spy-pairs", folder=str(tmp_path))
    with pytest.raises(ValueError, match="every pair"), warnings.catch_warnings():
        warnings.simplefilter("ignore", PairFolderWarning)
        env.reset(seed=0)


def test_seed_gives_the_same_pair_before_and_after_a_corrupt_one_is_found(pair_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PairFolderWarning)
        fresh = vzgym.make("spy-pairs", folder=str(pair_folder), num_players=3, clue_rounds=1)
        used = vzgym.make("spy-pairs", folder=str(pair_folder), num_players=3, clue_rounds=1)
        for seed in range(100, 150):  # finds the corrupt pair "e" on the way
            used.reset(seed=seed)
        assert used.skipped == 2
        for seed in range(12):
            fresh.reset(seed=seed)
            used.reset(seed=seed)
            assert fresh._pair.source == used._pair.source, seed


def test_one_tagged_image_in_a_sub_folder_decides(tmp_path):
    (tmp_path / "p").mkdir()
    write(tmp_path / "p" / "modified.png", "blue")
    write(tmp_path / "p" / "source.png", "red")  # sorts after "modified"
    (pair,) = index_pair_folder(tmp_path).pairs
    assert (pair.original.name, pair.modified.name) == ("source.png", "modified.png")
