"""Procedural CLEVR-like scenes and spy image pairs (numpy + PIL only, no torch).

>>> import numpy as np
>>> pair = make_pair(np.random.default_rng(0), num_changes=2)
>>> pair.original_image.size
(480, 320)
"""

from vzgym.envs.clevr.edits import EDIT_KINDS, edit_scene
from vzgym.envs.clevr.pair import ImagePair, make_pair, png_bytes
from vzgym.envs.clevr.render import render_scene
from vzgym.envs.clevr.scene import (
    COLORS,
    FACT_KINDS,
    MATERIALS,
    SHAPES,
    SIZES,
    Scene,
    SceneObject,
    common_facts,
    fact_kind,
    object_bbox,
    sample_scene,
    scene_facts,
)

__all__ = [
    "COLORS",
    "EDIT_KINDS",
    "FACT_KINDS",
    "MATERIALS",
    "SHAPES",
    "SIZES",
    "ImagePair",
    "Scene",
    "SceneObject",
    "common_facts",
    "edit_scene",
    "fact_kind",
    "make_pair",
    "object_bbox",
    "png_bytes",
    "render_scene",
    "sample_scene",
    "scene_facts",
]
