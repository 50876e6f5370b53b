"""The edits: seeded, visible, and confined to the box written in the change log."""

import numpy as np
import pytest
from PIL import Image
from spy_edits_helpers import GOOD, IMAGES

from vzgym_spy_edits.edits import (
    EDIT_KINDS,
    EDITS,
    MIN_CHANGED_SHARE,
    draw_box,
    edit_image,
    shift_boxes,
)


def load(name):
    return np.asarray(Image.open(IMAGES / name).convert("RGB")).copy()


def outside(before, after, box):
    x0, y0, x1, y1 = box
    moved = (before != after).any(axis=2)
    moved[y0:y1, x0:x1] = False
    return int(moved.sum())


@pytest.mark.parametrize("kind", EDIT_KINDS)
def test_each_kind_changes_pixels_only_inside_its_logged_box(kind):
    for seed, name in enumerate(GOOD * 2):
        image = load(name)
        before = image.copy()
        edited, changes = edit_image(np.random.default_rng(seed), image, kinds=(kind,), num_edits=1)
        assert np.array_equal(image, before), "the input must not be modified"
        (entry,) = changes
        assert entry["kind"] == kind
        x0, y0, x1, y1 = entry["box"]
        assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
        assert outside(image, edited, entry["box"]) == 0, (kind, name, entry)
        inside = (image[y0:y1, x0:x1] != edited[y0:y1, x0:x1]).any(axis=2).sum()
        assert inside > 0, (kind, name, entry)


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_single_edit_functions_stay_in_box_on_random_boxes(kind):
    rng = np.random.default_rng(7)
    for name in GOOD:
        image = load(name)
        for _ in range(5):
            box = draw_box(rng, *image.shape[:2], 0.1, 0.5)
            edited, _ = EDITS[kind](rng, image, box)
            assert outside(image, edited, box) == 0


def test_shift_moves_a_patch_within_the_box():
    rng = np.random.default_rng(3)
    image = load("street.png")
    for _ in range(20):
        box = draw_box(rng, *image.shape[:2], 0.2, 0.4)
        src, dst = shift_boxes(np.random.default_rng(int(rng.integers(1 << 30))), box)
        for b in (src, dst):
            assert box[0] <= b[0] < b[2] <= box[2] and box[1] <= b[1] < b[3] <= box[3]
        assert src != dst and (src[2] - src[0], src[3] - src[1]) == (
            dst[2] - dst[0],
            dst[3] - dst[1],
        )
    edited, changes = edit_image(np.random.default_rng(5), image, kinds=("shift",), num_edits=1)
    src, dst = changes[0]["from"], changes[0]["to"]
    patch = image[src[1] : src[3], src[0] : src[2]]
    assert np.array_equal(edited[dst[1] : dst[3], dst[0] : dst[2]], patch)


def test_same_seed_same_edit_and_log_different_seed_differs():
    image = load("wall.jpg")
    a, log_a = edit_image(np.random.default_rng(11), image)
    b, log_b = edit_image(np.random.default_rng(11), image)
    c, log_c = edit_image(np.random.default_rng(12), image)
    assert np.array_equal(a, b) and log_a == log_b
    assert not (np.array_equal(a, c) and log_a == log_c)


def test_edits_are_visible_and_on_separate_boxes_when_there_is_room():
    for seed, name in enumerate(GOOD):
        image = load(name)
        edited, changes = edit_image(np.random.default_rng(seed), image, num_edits=3)
        assert len(changes) == 3
        boxes = [c["box"] for c in changes]
        for i, a in enumerate(boxes):
            area = (a[2] - a[0]) * (a[3] - a[1])
            assert changes[i]["changed_pixels"] >= MIN_CHANGED_SHARE * area
            for b in boxes[i + 1 :]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
        union = np.zeros(image.shape[:2], bool)
        for x0, y0, x1, y1 in boxes:
            union[y0:y1, x0:x1] = True
        assert not ((image != edited).any(axis=2) & ~union).any()


def test_a_flat_image_still_gets_a_visible_edit():
    flat = np.full((30, 40, 3), 120, np.uint8)  # mirror/shift/inpaint cannot change it
    for seed in range(10):
        edited, changes = edit_image(np.random.default_rng(seed), flat, num_edits=1)
        assert changes[0]["changed_pixels"] > 0 and (edited != flat).any()


def test_the_change_log_is_plain_json():
    import json

    _, changes = edit_image(np.random.default_rng(0), load("beach.webp"), num_edits=4)
    assert json.loads(json.dumps(changes)) == changes


def test_bad_input_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="too small"):
        edit_image(rng, np.zeros((5, 40, 3), np.uint8))
    with pytest.raises(ValueError, match="subset"):
        edit_image(rng, load("room.png"), kinds=("blur",))
    with pytest.raises(ValueError, match="RGB"):
        edit_image(rng, np.zeros((40, 40), np.uint8))
