"""Scenes of still photos moving with known motion, rendered at t = -1, 0, +1.

The library of the synthetic-motion builder (`film_tf.datasets.synthetic_motion`,
whose docstring describes the layers, the motion distribution and the
sampling): a triplet is a function of (photos, config, seed, index) only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import cv2
import numpy as np

from film_tf.datasets.photos import Photo

MASK_KINDS = ("rectangle", "ellipse", "polygon", "soft_polygon")
# Motion magnitude bands, as fractions of --max_motion, drawn with equal probability.
MOTION_BANDS = ((0.0, 0.1), (0.1, 0.4), (0.4, 1.0))


@dataclasses.dataclass(frozen=True)
class LayerMotion:
    """The affine path of one layer (see the module docstring).

    Attributes:
      anchor: (x, y) source-image point that sits at `position` at t = 0.
      position: (x, y) output point of the anchor at t = 0.
      displacement: (dx, dy) motion of the content from x0 to x1, output px.
      log_zoom: log of the scale change from x0 to x1.
      rotation: rotation from x0 to x1, radians (counter-clockwise on screen).
    """

    anchor: tuple[float, float]
    position: tuple[float, float]
    displacement: tuple[float, float] = (0.0, 0.0)
    log_zoom: float = 0.0
    rotation: float = 0.0

    def matrix(self, t: float) -> np.ndarray:
        """(2, 3) float64 map from output (x, y) to source (x, y) at time t."""
        scale = math.exp(t * self.log_zoom / 2)
        angle = t * self.rotation / 2
        c, s = math.cos(angle) / scale, math.sin(angle) / scale
        a = np.array([[c, -s], [s, c]])  # inverse of (scale * rotation by -angle), y pointing down
        position = np.asarray(self.position) + t * np.asarray(self.displacement) / 2
        return np.concatenate([a, (np.asarray(self.anchor) - a @ position)[:, None]], axis=1)


@dataclasses.dataclass(frozen=True)
class Patch:
    """A foreground layer: uint8 (h, w, 3) colours, float32 (h, w) mask in [0, 1]."""

    image: np.ndarray
    mask: np.ndarray
    motion: LayerMotion


@dataclasses.dataclass(frozen=True)
class Scene:
    """A background photo and its motion, patches pasted in order, square output side."""

    background: np.ndarray
    motion: LayerMotion
    patches: tuple[Patch, ...]
    size: int


def _warp(image: np.ndarray, m: np.ndarray, size: int, interpolation: int, border: int) -> np.ndarray:
    return cv2.warpAffine(
        image, m, (size, size), flags=interpolation | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0
    )


def render(scene: Scene, t: float) -> np.ndarray:
    """The scene at time t: uint8 (size, size, 3)."""
    n = scene.size
    frame = _warp(
        scene.background.astype(np.float32),
        scene.motion.matrix(t),
        n,
        cv2.INTER_CUBIC,
        cv2.BORDER_REFLECT_101,
    )
    for patch in scene.patches:
        m = patch.motion.matrix(t)
        colours = _warp(patch.image.astype(np.float32), m, n, cv2.INTER_CUBIC, cv2.BORDER_REPLICATE)
        alpha = _warp(patch.mask, m, n, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)[..., None]
        frame = frame * (1 - alpha) + colours * alpha
    return np.clip(np.round(frame), 0, 255).astype(np.uint8)


def render_triplet(scene: Scene) -> list[np.ndarray]:
    """[x0, y, x1] = the scene at t = -1, 0, +1."""
    return [render(scene, t) for t in (-1.0, 0.0, 1.0)]


@dataclasses.dataclass(frozen=True)
class MotionConfig:
    """Sampling ranges (the flags of the same names; angles in degrees)."""

    crop_size: int = 256
    max_motion: float = 100.0
    max_zoom: float = 0.08
    max_rotation: float = 4.0
    max_patches: int = 3

    def __post_init__(self):
        if self.crop_size < 16 or self.max_motion < 0 or self.max_patches < 0:
            raise ValueError("--crop_size must be >= 16, --max_motion >= 0 and --max_patches >= 0.")
        if not 0 <= self.max_zoom < 1 or not 0 <= self.max_rotation <= 90:
            raise ValueError("--max_zoom must be in [0, 1) and --max_rotation in [0, 90] degrees.")


def draw_motion(rng: np.random.Generator, config: MotionConfig) -> tuple[tuple[float, float], float, float]:
    """(displacement, log_zoom, rotation in radians) from the documented distribution."""
    low, high = MOTION_BANDS[rng.integers(len(MOTION_BANDS))]
    magnitude = rng.uniform(low, high) * config.max_motion
    direction = rng.uniform(0, 2 * math.pi)
    log_zoom = rng.uniform(-1, 1) * math.log1p(config.max_zoom)
    rotation = math.radians(rng.uniform(-1, 1) * config.max_rotation)
    return (magnitude * math.cos(direction), magnitude * math.sin(direction)), log_zoom, rotation


def _place(rng: np.random.Generator, motion: LayerMotion, n: int, width: int, height: int) -> LayerMotion:
    """`motion` with a random anchor such that every source pixel the output reads
    at t = -1, 0, 1 (bicubic support included) lies inside a width x height photo;
    centred on an axis where that cannot be."""
    grid = np.array([[x, y, 1.0] for x in (-2, n + 1) for y in (-2, n + 1)])
    origin = dataclasses.replace(motion, anchor=(0.0, 0.0))
    points = np.concatenate([grid @ origin.matrix(t).T for t in (-1.0, 0.0, 1.0)])
    low, high = points.min(axis=0), points.max(axis=0)
    anchor = []
    for lo, hi, length in zip(low, high, (width, height)):
        start, stop = -lo, length - 1 - hi
        anchor.append(float(rng.uniform(start, stop)) if stop > start else (start + stop) / 2)
    return dataclasses.replace(motion, anchor=tuple(anchor))


def make_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A float32 (h, w) mask in [0, 1] of a random kind from `MASK_KINDS`.

    The soft kinds are drawn inset by 2 sigma and blurred, so they fade to 0
    inside the patch rectangle."""
    kind = MASK_KINDS[rng.integers(len(MASK_KINDS))]
    if kind == "rectangle":
        return np.ones((h, w), np.float32)
    sigma = rng.uniform(1.0, 4.0) if kind != "polygon" else 0.0
    inset = min(2 * sigma, min(h, w) / 4)
    k = 4  # drawn at 4x and averaged down: anti-aliased edges
    canvas = np.zeros((h * k, w * k), np.uint8)
    rx, ry = (w / 2 - inset) * k, (h / 2 - inset) * k
    if kind == "ellipse":
        cv2.ellipse(canvas, (w * k // 2, h * k // 2), (round(rx) - 1, round(ry) - 1), 0, 0, 360, 255, -1)
    else:
        count = int(rng.integers(6, 13))
        angles = np.sort(rng.uniform(0, 2 * math.pi, count))
        radii = rng.uniform(0.55, 1.0, count)
        points = np.stack(
            [w * k / 2 + radii * rx * np.cos(angles), h * k / 2 + radii * ry * np.sin(angles)], 1
        )
        cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 255)
    mask = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    if sigma:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        mask /= max(float(mask.max()), 1e-6)  # a thin shape keeps an opaque core
    return mask


def sample_scene(
    photos: Sequence[Photo], config: MotionConfig, rng: np.random.Generator
) -> tuple[Scene, str]:
    """A random scene and a description '<background photo> bg=<|d|>px patches=<n>'."""
    n = config.crop_size
    index = int(rng.integers(len(photos)))
    background = photos[index]
    displacement, log_zoom, rotation = draw_motion(rng, config)
    h, w = background.image.shape[:2]
    motion = LayerMotion((0.0, 0.0), (n / 2, n / 2), displacement, log_zoom, rotation)
    motion = _place(rng, motion, n, w, h)
    patches = []
    num_patches = int(rng.integers(1, config.max_patches + 1)) if config.max_patches else 0
    for _ in range(num_patches):
        others = [i for i in range(len(photos)) if i != index] or [index]
        source = photos[others[rng.integers(len(others))]].image
        ph, pw = (int(rng.integers(n // 6, n // 2 + 1)) for _ in range(2))
        ph, pw = min(ph, source.shape[0]), min(pw, source.shape[1])
        top, left = (
            int(rng.integers(0, source.shape[0] - ph + 1)),
            int(rng.integers(0, source.shape[1] - pw + 1)),
        )
        d, z, r = draw_motion(rng, config)
        patch_motion = LayerMotion(
            anchor=((pw - 1) / 2, (ph - 1) / 2),
            position=tuple(rng.uniform(0, n, 2)),
            displacement=d,
            log_zoom=z,
            rotation=r,
        )
        image = np.ascontiguousarray(source[top : top + ph, left : left + pw])
        patches.append(Patch(image, make_mask(rng, ph, pw), patch_motion))
    description = f"{background.name} bg={math.hypot(*displacement):.1f}px patches={num_patches}"
    return Scene(background.image, motion, tuple(patches), n), description


def triplet(
    photos: Sequence[Photo], config: MotionConfig, seed: int, index: int
) -> tuple[list[np.ndarray], str]:
    """Triplet `index` ([x0, y, x1] uint8) and its `path`: a function of (seed, index) only."""
    scene, description = sample_scene(photos, config, np.random.default_rng([seed, index]))
    return render_triplet(scene), f"synthetic_motion/{index:06d} {description}"
