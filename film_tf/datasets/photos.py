"""Still photos for synthetic training motion: found in folders or shipped by packages.

Every PNG/JPEG/WebP file under the given folders (searched recursively, in
natural name order; one file per picture where a folder holds the same picture
at several sizes named `WxH` or `<name>_WxH`, as KDE wallpaper packages do:
the largest is kept), then optionally the photos bundled in the scikit-image
wheel (`skimage.data`) and scikit-learn's `load_sample_images` when
scikit-learn is installed. Photos are shrunk (INTER_AREA) so their longer side
is at most `max_side`; photos whose shorter side is then below `min_side` are
skipped (never upscaled). Grey photos are repeated to RGB, alpha is dropped.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Sequence

import cv2
import numpy as np
from absl import logging

from film_tf.datasets import common
from film_tf.files import natural_key

PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
# skimage.data photos that ship in the wheel (no download); stereo_motorcycle is a pair.
SKIMAGE_PHOTOS = (
    "astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket", "stereo_motorcycle",
)  # fmt: skip
_SIZE_SUFFIX = re.compile(r"_?(\d+)x(\d+)$")


@dataclasses.dataclass(frozen=True)
class Photo:
    """A named uint8 (H, W, 3) RGB image."""

    name: str
    image: np.ndarray


def find_photo_files(folder: str) -> list[str]:
    """Photo files under `folder`, recursively, in natural order; of the files of
    one folder that differ only by a `WxH` size suffix, the largest only."""
    common.require_dir(folder, "Photo folder")
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort(key=natural_key)
        groups: dict[str, tuple[int, str]] = {}
        for name in sorted(files, key=natural_key):
            if not name.lower().endswith(PHOTO_EXTENSIONS):
                continue
            stem = os.path.splitext(name)[0]
            m = _SIZE_SUFFIX.search(stem)
            area = int(m.group(1)) * int(m.group(2)) if m else 0
            key = stem[: m.start()] if m else stem
            if key not in groups or area > groups[key][0]:
                groups[key] = (area, name)
        found += [
            os.path.join(root, name) for _, name in sorted(groups.values(), key=lambda g: natural_key(g[1]))
        ]
    return found


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return np.ascontiguousarray(image[..., :3], dtype=np.uint8)


def builtin_photos() -> list[tuple[str, np.ndarray]]:
    """(name, uint8 RGB) photos bundled with scikit-image, and scikit-learn's if installed."""
    import skimage.data

    photos = []
    for name in SKIMAGE_PHOTOS:
        image = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":
            image = image[0]  # the left view; the right one is nearly the same picture
        photos.append((f"skimage:{name}", _as_rgb(image)))
    try:
        from sklearn.datasets import load_sample_images
    except ImportError:
        return photos
    sample = load_sample_images()
    for filename, image in zip(sample.filenames, sample.images):
        photos.append((f"sklearn:{os.path.basename(filename)}", _as_rgb(image)))
    return photos


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_photos(photo_dirs: Sequence[str], builtin: bool, min_side: int, max_side: int = 1024) -> list[Photo]:
    """The photos of the sources, shrunk to `max_side`; those with a shorter side
    below `min_side` are skipped. Raises when no photo is left."""
    if not photo_dirs and not builtin:
        raise ValueError("No photo source: give --photo_dirs and/or --builtin_photos.")
    files = [f for folder in photo_dirs for f in find_photo_files(folder)]
    if photo_dirs and not files and not builtin:
        raise FileNotFoundError(f"No photos ({', '.join(PHOTO_EXTENSIONS)}) under {', '.join(photo_dirs)}.")
    sources: list[tuple[str, np.ndarray | None]] = [(f, None) for f in files]
    if builtin:
        sources += builtin_photos()
    photos, skipped = [], 0
    for name, image in sources:
        if image is None:
            image = cv2.imread(name, cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"Cannot read photo '{name}'.")
            image = image[..., ::-1]
        image = np.ascontiguousarray(_shrink(image, max_side))
        if min(image.shape[:2]) < min_side:
            skipped += 1
            continue
        photos.append(Photo(name, image))
    if skipped:
        logging.info("Skipped %d photo(s) with a shorter side below %d px.", skipped, min_side)
    if not photos:
        raise ValueError(f"None of the {len(sources)} photo(s) has a shorter side of at least {min_side} px.")
    return photos
