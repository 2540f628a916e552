"""film-interpolate: the middle frame of two photos, or the frame at any time t between them.

film-interpolate --frame1 a.png --frame2 b.png --output_frame mid.png
    [--time 0.5] [--model_path film-style | film_net/Style/saved_model] [--memory_budget_gb 8]
film-interpolate --list_models    (the released models' names, handles, licences, sizes)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from absl import flags

from film_tf import cli_utils
from film_tf.cli.model_flags import check_model_flags, define_model_flags, make_interpolator

# film_tf.media.image_io (numpy, Pillow) and the model load inside the functions, so
# --help and flag mistakes answer before any heavy import.
if TYPE_CHECKING:
    from film_tf.media.image_io import Image


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string("frame1", None, "The first photo (PNG or JPEG).", flag_values=fv)
    flags.DEFINE_string("frame2", None, "The second photo, of the same size.", flag_values=fv)
    flags.DEFINE_string(
        "output_frame", None, "Where to write the middle frame (.png; .jpg for 8-bit RGB).", flag_values=fv
    )
    flags.DEFINE_float(
        "time",
        0.5,
        "The time of the frame in [0, 1]: 0 is --frame1, 1 is --frame2, 0.5 the middle (the released "
        "models were trained on 0.5 only).",
        flag_values=fv,
    )
    flags.DEFINE_bool(
        "list_models", False, "List the released models --model_path takes by name.", flag_values=fv
    )
    define_model_flags(fv)


def check_pair(frame1: str, frame2: str) -> tuple:
    """Header checks of both inputs: readable, same displayed size."""
    from film_tf.media.image_io import image_info

    info1, info2 = image_info(frame1), image_info(frame2)
    if (info1.height, info1.width) != (info2.height, info2.width):
        raise ValueError(
            f"The frames differ in size: '{frame1}' is {info1.width}x{info1.height}, "
            f"'{frame2}' is {info2.width}x{info2.height}."
        )
    return info1, info2


def middle_image(interpolator, image1: Image, image2: Image, time: float = 0.5) -> Image:
    """The frame at `time` (default the middle) of two decoded photos.

    If either photo has an alpha channel, the alpha is interpolated too (a
    second model pass on the matte); a photo without one counts as opaque.
    The result keeps the higher bit depth of the two, and is grayscale if
    both photos are.
    """
    from film_tf.media.image_io import Image

    bit_depth = max(image1.bit_depth, image2.bit_depth)
    grayscale = image1.grayscale and image2.grayscale
    if image1.alpha is None and image2.alpha is None:
        return Image(interpolator(image1.rgb, image2.rgb, time), None, bit_depth, grayscale)
    mid = interpolator(image1.rgba(), image2.rgba(), time)
    return Image(mid[..., :3], mid[..., 3], bit_depth, grayscale)


def check_time(time: float) -> float:
    """--time, or a one-line error outside [0, 1] (NaN included; the rule is
    `runtime.times.check_times`, worded here for the flags)."""
    from film_tf.runtime.times import check_times  # numpy only: no TensorFlow before the checks

    try:
        check_times(time)
    except ValueError:
        raise cli_utils.UserError(
            f"--time must be in [0, 1] (0: --frame1, 1: --frame2, 0.5: the middle), got {time:g}."
        ) from None
    return time


def run(frame1: str, frame2: str, output_frame: str, interpolator_factory, time: float = 0.5) -> None:
    """Checks the paths, reads both frames, writes the frame at `time` atomically."""
    from film_tf.media.image_io import check_output_path, read_image, write_image

    check_output_path(output_frame, [frame1, frame2])
    check_pair(frame1, frame2)
    image1, image2 = read_image(frame1), read_image(frame2)
    if image1.size != image2.size:  # Headers agreed; guard against odd decoders.
        raise ValueError(f"The frames differ in size: {image1.size} vs {image2.size}.")
    mid = middle_image(interpolator_factory(), image1, image2, time)
    write_image(output_frame, mid.rgb, mid.alpha, mid.bit_depth, mid.grayscale)


def _run(fv: flags.FlagValues) -> None:
    if fv.list_models:
        from film_tf.formats import hub  # Standard library only.

        print(hub.list_models())
        return
    for name in ("frame1", "frame2", "output_frame"):
        cli_utils.required(fv, name)
    time = check_time(fv.time)
    from film_tf.media.image_io import check_output_path

    # The output first (cheap), then the model's flags and files (a download,
    # a damaged file: before any image is read).
    check_output_path(fv.output_frame, [fv.frame1, fv.frame2])
    check_model_flags(fv)

    def interpolator():
        # One pair, one forward call: no tracing when that is faster. 16-bit
        # frames keep --precision auto in float32 (headers only: cheap).
        bit_depth = max(info.bit_depth for info in check_pair(fv.frame1, fv.frame2))
        return make_interpolator(fv, progress=True, expected_calls=1, bit_depth=bit_depth)

    run(fv.frame1, fv.frame2, fv.output_frame, interpolator, time)
    what = "the middle frame" if time == 0.5 else f"the frame at time {time:g}"
    cli_utils.report(f"wrote {what} to {fv.output_frame}")


# Everything is written when _run returns: skip the ~1.5 s teardown at exit.
main, run_main = cli_utils.entry_points(define_flags, _run, __doc__, fast_exit=True)


if __name__ == "__main__":
    run_main()
