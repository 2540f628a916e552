r"""Still photos moved with known motion -> training triplets with exact middle frames.

Each triplet is a scene of layers, rendered at times t = -1 (x0), 0 (the
ground truth y) and +1 (x1). Every layer moves along an affine path: at time t
its content is translated by t * d / 2, scaled by exp(t * log_zoom / 2) and
rotated by t * rotation / 2 about its anchor, so d, exp(log_zoom) and rotation
are the motion from x0 to x1 and the middle frame is the scene at t = 0 exactly,
by construction (no interpolation is involved in defining it).

- Background: a `--crop_size` square of a photo, moving as a whole (camera
  motion); where the swept region leaves the photo, the photo is mirrored.
- Foreground: 1 to `--max_patches` patches cut from another photo, each with
  its own motion and a mask (a hard rectangle, a soft-edged ellipse or an
  irregular polygon, optionally softened), pasted in order over the
  background, so they occlude and disocclude it and each other.

Motion distribution (per layer, independently; M = `--max_motion`): the
magnitude |d| is drawn from three equally likely bands, small U[0, 0.1 M),
medium U[0.1 M, 0.4 M) and large U[0.4 M, M] (for M = 100: 0-10, 10-40 and
40-100 px), in a uniform direction; log_zoom is uniform in
+-log(1 + `--max_zoom`) and rotation uniform in +-`--max_rotation` degrees.
Zoom and rotation add up to about r * (zoom + rotation in radians) px at
radius r from the anchor (14 px + 13 px at the corner of a 256 crop with the
defaults), on top of d.

Sampling is bilinear for masks and bicubic for colours; the t = 0 anchor has a
random sub-pixel phase, so all three frames are resampled alike.

Photos: every PNG/JPEG/WebP file under `--photo_dirs` (searched recursively,
natural name order; one file per picture where a folder holds the same picture
at several sizes named `WxH` or `<name>_WxH`, as KDE wallpaper packages do:
the largest is kept), then with `--builtin_photos` the photos bundled in the
scikit-image wheel (`skimage.data`) and scikit-learn's `load_sample_images`
when scikit-learn is installed. Photos are shrunk (INTER_AREA) so their longer
side is at most `--photo_max_side`; photos whose shorter side is then below
`--crop_size` are skipped (never upscaled). Grey photos are repeated to RGB,
alpha is dropped.

Deterministic: triplet i uses its own generator seeded with (`--seed`, i), so
the output does not depend on `--num_workers`.

    python -m datasets.create_synthetic_motion_tfrecord --builtin_photos \
      --photo_dirs=/usr/share/backgrounds,/usr/share/wallpapers --num_triplets=4000 \
      --output_tfrecord_filepath=<out>/synthetic_motion.tfrecord --num_shards=4
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Sequence

from absl import flags

from film_tf import cli_utils
from film_tf.datasets import beam_cli, common

if TYPE_CHECKING:
    from film_tf.datasets.motion_scenes import MotionConfig
    from film_tf.datasets.photos import Photo

# Names that lived here before the split into this binary and `motion_scenes`.
_MOVED = (
    "MASK_KINDS", "MOTION_BANDS", "LayerMotion", "Patch", "Scene", "render", "render_triplet",
    "MotionConfig", "draw_motion", "make_mask", "sample_scene", "triplet", "_place", "_warp",
)  # fmt: skip


def __getattr__(name: str):
    """Lazy aliases of the moved names (`motion_scenes`), so importing this
    binary does not import OpenCV or NumPy."""
    if name in _MOVED:
        from film_tf.datasets import motion_scenes

        return getattr(motion_scenes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_list(
        "photo_dirs", [], "Folders searched recursively for PNG/JPEG/WebP photos.", flag_values=fv
    )
    flags.DEFINE_bool(
        "builtin_photos",
        False,
        "Also use skimage.data's photos (and scikit-learn's, if installed).",
        flag_values=fv,
    )
    flags.DEFINE_integer("num_triplets", 1000, "Triplets to write.", 1, flag_values=fv)
    flags.DEFINE_integer("crop_size", 256, "Side of the square frames, px.", 16, flag_values=fv)
    flags.DEFINE_float("max_motion", 100.0, "Largest translation between x0 and x1, px.", 0.0, flag_values=fv)
    flags.DEFINE_float(
        "max_zoom", 0.08, "Largest zoom between x0 and x1 (0.08: x1.08).", 0.0, 1.0, flag_values=fv
    )
    flags.DEFINE_float(
        "max_rotation", 4.0, "Largest rotation between x0 and x1, degrees.", 0.0, 90.0, flag_values=fv
    )
    flags.DEFINE_integer(
        "max_patches", 3, "Foreground patches per triplet: 1 .. this; 0 = none.", 0, flag_values=fv
    )
    flags.DEFINE_integer(
        "photo_max_side", 1024, "Shrink photos to at most this longer side, px.", 16, flag_values=fv
    )
    flags.DEFINE_integer("seed", 0, "Random seed; triplet i uses (seed, i).", flag_values=fv)
    flags.DEFINE_enum(
        "image_format", "png", ["png", "jpg"], "Frame encoding (png is lossless).", flag_values=fv
    )
    common.define_output_flags(fv, default_shards=1)


def encode_triplet(
    index: int, photos: Sequence[Photo], config: MotionConfig, seed: int, image_format: str
) -> bytes:
    """A serialized Example of synthetic triplet `index`."""
    from film_tf.datasets.motion_scenes import triplet

    frames, path = triplet(photos, config, seed, index)
    return common.encode_array_triplet(frames, path, image_format)


def build(
    photos: Sequence[Photo],
    output: str,
    num_triplets: int,
    config: MotionConfig | None = None,
    seed: int = 0,
    image_format: str = "png",
    num_workers: int = 0,
    pipeline_args: Sequence[str] = (),
) -> int:
    """Writes `num_triplets` synthetic triplets to `output` (`base@N`) on Beam
    (config None: `MotionConfig()`)."""
    from film_tf.datasets.beam_pipeline import write_examples
    from film_tf.datasets.motion_scenes import MotionConfig

    config = config or MotionConfig()
    encode = functools.partial(
        encode_triplet, photos=photos, config=config, seed=seed, image_format=image_format
    )
    return write_examples(range(num_triplets), encode, output, None, pipeline_args, num_workers)


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    from film_tf.datasets.motion_scenes import MotionConfig
    from film_tf.datasets.photos import load_photos

    beam_cli.require_beam()
    output = common.sharded_output(cli_utils.required(fv, "output_tfrecord_filepath"), fv.num_shards)
    config = MotionConfig(fv.crop_size, fv.max_motion, fv.max_zoom, fv.max_rotation, fv.max_patches)
    photos = load_photos(fv.photo_dirs, fv.builtin_photos, config.crop_size, fv.photo_max_side)
    count = build(
        photos, output, fv.num_triplets, config, fv.seed, fv.image_format, fv.num_workers, beam_args
    )
    cli_utils.report(common.written(count, output) + f" from {len(photos)} photo(s)")


main, run_main = beam_cli.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
