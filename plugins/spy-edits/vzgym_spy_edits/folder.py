"""A folder of single images: find them, load them robustly, remember which are broken.

Files are found recursively (hidden folders skipped) and sorted by their path
relative to the folder, so an index is the same on every machine.  The
extensions are those of ``spy-pairs`` (png, jpg, jpeg, webp, bmp); other files are
ignored and counted.  A file that cannot be decoded (truncated, not really an
image, a decompression bomb, smaller than :data:`MIN_SIDE` pixels) is *corrupt*:
it is skipped and counted, never fatal, unless no image in the folder loads.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from vzgym.envs.spy.pairs_env import IMAGE_EXTS

from vzgym_spy_edits.edits import MIN_SIDE


class ImageFolderWarning(UserWarning):
    """An image in the folder was skipped because it could not be used."""


def find_images(folder: str | Path) -> tuple[list[Path], int]:
    """Image files under ``folder`` (sorted) and how many other files were ignored.

    Raises ``ValueError`` when ``folder`` is not a folder or holds no image file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"spy-edits: folder {str(root)!r} does not exist or is not a folder")
    images: list[Path] = []
    ignored = 0
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_EXTS:
            images.append(path)
        else:
            ignored += 1
    if not images:
        extra = f" ({ignored} other file(s) ignored)" if ignored else ""
        raise ValueError(
            f"spy-edits: no images in {str(root)!r}{extra}; expected "
            f"{', '.join(e.lstrip('.') for e in IMAGE_EXTS)} files"
        )
    images.sort(key=lambda p: p.relative_to(root).as_posix())
    return images, ignored


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB pixels; transparent parts are laid over white (not the black under them)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def load_image(path: Path, resize: int | None) -> np.ndarray:
    """Decode ``path`` as RGB, shrunk so its longer side is at most ``resize`` (None: as is).

    A camera's EXIF orientation is applied (the picture stands as it was taken);
    transparency is flattened onto white.

    Raises ``ValueError`` for a file that is corrupt, unreadable or too small.
    """
    try:
        with Image.open(path) as img:
            if resize and img.format == "JPEG":
                img.draft("RGB", (resize, resize))  # let libjpeg decode at a reduced scale
            img.load()
            rgb = _to_rgb(ImageOps.exif_transpose(img))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{path}: {type(exc).__name__}: {exc}") from exc
    if resize and max(rgb.size) > resize:
        rgb.thumbnail((resize, resize), Image.Resampling.LANCZOS)
    if min(rgb.size) < MIN_SIDE:
        raise ValueError(f"{path}: {rgb.size[0]}x{rgb.size[1]} is smaller than {MIN_SIDE} pixels")
    return np.asarray(rgb, dtype=np.uint8).copy()


class ImageFolder:
    """The images of one folder, with a small cache and a record of corrupt files.

    Attributes:
        root: the folder.
        files: image files, sorted by relative path.
        ignored: files of other types that were left out.
        bad: indices of files found corrupt so far (each warned about once).
    """

    def __init__(self, folder: str | Path, resize: int | None = 480, cache_size: int = 16):
        self.root = Path(folder)
        self.files, self.ignored = find_images(self.root)
        self.resize = resize
        self.bad: dict[int, str] = {}
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        # Fail at construction, not at the first reset, when no image loads at all.
        if all(self.try_load(i) is None for i in range(len(self.files))):
            raise ValueError(
                f"spy-edits: none of the {len(self.files)} image(s) in {str(self.root)!r} "
                f"could be read ({len(self.bad)} corrupt)"
            )

    def name(self, index: int) -> str:
        """The file's path relative to the folder."""
        return self.files[index].relative_to(self.root).as_posix()

    def try_load(self, index: int) -> np.ndarray | None:
        """The image at ``index`` (a cached array: do not modify), or None if it is corrupt."""
        if index in self.bad:
            return None
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        try:
            image = load_image(self.files[index], self.resize)
        except ValueError as exc:
            self.bad[index] = str(exc)
            warnings.warn(f"spy-edits: skipped {exc}", ImageFolderWarning, stacklevel=2)
            return None
        self._cache[index] = image
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return image

    def draw(self, rng: np.random.Generator) -> tuple[int, np.ndarray, int]:
        """Draw an image with ``rng``: (index, pixels, corrupt files passed over).

        One draw over *all* files, then the first readable one from there on
        (wrapping around), so a seed gives the same image and the same count
        whichever corrupt files earlier draws happened to find.
        """
        n = len(self.files)
        start = int(rng.integers(n))
        for step in range(n):
            index = (start + step) % n
            image = self.try_load(index)
            if image is not None:
                return index, image, step
        raise ValueError(f"spy-edits: every image in {str(self.root)!r} is corrupt")
