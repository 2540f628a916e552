"""A golden slice of the bundled default model's output on the bundled example pair.

Catches a changed weights file (`film_tf/assets/default_model.weights.h5`) or a
changed numeric path (model core, padding, Interpolator) by comparing, to 1e-4,
a few 8x8 patches and the channel means of the middle frame of
`film_tf/assets/examples/frame_{0,1}.png` (read with `film_tf.media.image_io.read_image`):

- `model_*`: the bare keras model (`film_tf.load_model()`) on the frames
  cropped to rows 4..355 (352x640, aligned);
- `interpolator_*`: `film_tf.Interpolator()` on the full 360x640 frames
  (reflect padding to the alignment and back, clipping).

The values live in `tests/testdata/bundled_golden.npz`. When the bundled weights
are replaced on purpose (e.g. a retrained default model), regenerate them with
one command from the repository root:

    python -m tests.formats.golden_test

and commit the new npz together with the weights.
"""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

GOLDEN = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "bundled_golden.npz"
)
ATOL = 1e-4
# Rows 4..355 of the 360-row frames: the aligned crop the bare model takes.
CROP = (slice(4, 356), slice(0, 640))
# Top-left corners of the 8x8 patches: corners (where padding matters), edges, centre.
PATCHES = ((0, 0), (0, 632), (344, 0), (344, 632), (0, 316), (176, 316), (172, 100), (100, 500))
INTERPOLATOR_PATCHES = PATCHES + ((352, 0), (352, 632), (352, 316))  # the rows the crop drops


def _weights_sha256() -> str:
    from film_tf.formats import model_io

    with open(model_io.BUNDLED_WEIGHTS_FILE, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _example_pair() -> tuple[np.ndarray, np.ndarray]:
    from tests.conftest import example_frames

    return example_frames()


def _load_bundled_model():
    """The bundled model (image output only), through the public loader."""
    import film_tf

    return film_tf.load_model()


def _slice(image: np.ndarray, patches) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) -> (len(patches), 8, 8, 3) patches and the (3,) channel means."""
    stack = np.stack([image[y : y + 8, x : x + 8] for y, x in patches]).astype(np.float32)
    return stack, image.reshape(-1, 3).mean(axis=0, dtype=np.float64).astype(np.float32)


def compute() -> dict[str, np.ndarray]:
    """Everything the golden file holds, computed from the current tree."""
    import film_tf

    x0, x1 = _example_pair()
    assert x0.shape == (360, 640, 3), x0.shape
    model = _load_bundled_model()
    inputs = {"x0": x0[None][(slice(None), *CROP)], "x1": x1[None][(slice(None), *CROP)]}
    inputs["time"] = np.full((1, 1), 0.5, np.float32)
    model_image = np.asarray(model(inputs)["image"])[0]
    interpolator_image = film_tf.Interpolator()(x0, x1)
    model_patches, model_means = _slice(model_image, PATCHES)
    interp_patches, interp_means = _slice(interpolator_image, INTERPOLATOR_PATCHES)
    return {
        "model_patches": model_patches,
        "model_means": model_means,
        "interpolator_patches": interp_patches,
        "interpolator_means": interp_means,
    }


def regenerate(path: str = GOLDEN) -> None:
    values = compute()
    values["weights_sha256"] = np.array(_weights_sha256())
    tmp = path + ".tmp.npz"
    np.savez(tmp, **values)
    os.replace(tmp, path)
    print(f"wrote {path}: " + ", ".join(f"{k} {v.shape}" for k, v in values.items()))


def test_bundled_model_matches_golden_slice():
    golden = np.load(GOLDEN)
    changed_weights = str(golden["weights_sha256"]) != _weights_sha256()
    hint = (
        "the bundled weights file changed since the golden was made: if on purpose, regenerate it "
        "with `python -m tests.formats.golden_test`"
        if changed_weights
        else "same weights file: the numeric path changed"
    )
    actual = compute()
    assert set(actual) == set(golden.files) - {"weights_sha256"}
    for key, value in actual.items():
        np.testing.assert_allclose(value, golden[key], rtol=0, atol=ATOL, err_msg=f"{key}: {hint}")


def test_golden_slice_is_not_trivial():
    """The stored patches hold real image content (the check can fail)."""
    golden = np.load(GOLDEN)
    for key in ("model_patches", "interpolator_patches"):
        patches = golden[key]
        assert patches.dtype == np.float32
        assert 0.05 < float(patches.mean()) < 0.95
        assert float(patches.std()) > 0.01
    # The two paths agree where they see the same pixels (rows 4.. of the
    # full frame are rows 0.. of the crop) only approximately: the padded
    # frame gives the model more context. They must be close, not equal.
    np.testing.assert_allclose(golden["model_means"], golden["interpolator_means"], atol=0.02)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    regenerate()
