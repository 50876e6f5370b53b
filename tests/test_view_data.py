"""What the trajectories hold for ``vzgym view``: info images, change-log boxes, advantages."""

from __future__ import annotations

import json

from PIL import Image

import vzgym
from vzgym.envs.clevr import object_bbox
from vzgym.rollout.writer import TrajectoryWriter, to_jsonable


def test_info_images_are_stored_as_png_references(tmp_path):
    writer = TrajectoryWriter(tmp_path)
    image = Image.new("RGB", (7, 5), (10, 200, 30))
    out = to_jsonable({"rendered_image": image, "n": 1}, image_ref=writer.image_ref)
    ref = out["rendered_image"]["$image"]
    assert ref.startswith("images/") and ref.endswith(".png")
    with Image.open(tmp_path / ref) as back:
        assert back.size == (7, 5) and back.getpixel((0, 0)) == (10, 200, 30)
    # without a writer the old short string stays
    assert to_jsonable({"rendered_image": image}) == {"rendered_image": "<image 7x5>"}
    # an image PNG cannot hold becomes the short string, not a dangling reference
    empty = Image.new("RGB", (0, 0))
    assert to_jsonable(empty, image_ref=writer.image_ref) == "<image 0x0>"


def test_spy_clevr_change_log_has_pixel_boxes_of_both_images():
    env = vzgym.make("spy-clevr", num_objects=(4, 4), num_changes=2, edit_kind="move")
    env.reset(seed=3)
    pair = env._pair
    assert len(pair.changes) == 2
    for change in pair.changes:
        before = object_bbox(pair.original_scene, change["id"])
        after = object_bbox(pair.modified_scene, change["id"])
        assert change["box_before"] == list(before)
        assert change["box_after"] == list(after)
        assert change["box_before"] != change["box_after"]  # moved: the box moved too
        x0, y0, x1, y1 = change["box_after"]
        assert 0 <= x0 < x1 <= pair.modified.width and 0 <= y0 < y1 <= pair.modified.height
    json.dumps(pair.changes)  # stays JSON


def test_removed_and_added_objects_have_a_box_on_one_side_only():
    env = vzgym.make("spy-clevr", num_objects=(4, 4), num_changes=1, edit_kind="remove")
    env.reset(seed=0)
    (change,) = env._pair.changes
    assert change["box_after"] is None and len(change["box_before"]) == 4
    env = vzgym.make("spy-clevr", num_objects=(4, 4), num_changes=1, edit_kind="add")
    env.reset(seed=0)
    (change,) = env._pair.changes
    assert change["box_before"] is None and len(change["box_after"]) == 4
