r"""Middlebury "Other" set with its interpolation ground truth -> TFRecord.

Layout (other-data.zip and other-gt-interp.zip unpacked side by side):

    <input_dir>/other-data/<Name>/frame10.png, frame11.png
    <input_dir>/other-gt-interp/<Name>/frame10i11.png

Every <Name> with a ground-truth folder becomes one triplet: frame10 -> x0,
frame10i11 -> y, frame11 -> x1. Sequences of other-data without ground truth
(none in the official archives) are skipped with a note. PNG bytes are stored
unchanged.

    python -m datasets.create_middlebury_tfrecord --input_dir=<middlebury> \
      --output_tfrecord_filepath=<out>/middlebury_other.tfrecord --num_shards=3
"""

from __future__ import annotations

import os
from typing import Sequence

from absl import flags, logging

from film_tf import cli_utils
from film_tf.datasets import beam_cli, common

LAYOUT = "<input_dir>/other-data/<Name>/frame10.png, frame11.png and <input_dir>/other-gt-interp/<Name>/frame10i11.png"
FRAME_FILES = (("pairs", "frame10.png"), ("golden", "frame10i11.png"), ("pairs", "frame11.png"))


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string("input_dir", None, f"Middlebury root. Layout: {LAYOUT}.", flag_values=fv)
    flags.DEFINE_string(
        "input_pairs_foldername", "other-data", "Folder with the input frame pairs.", flag_values=fv
    )
    flags.DEFINE_string(
        "golden_foldername", "other-gt-interp", "Folder with the ground-truth middle frames.", flag_values=fv
    )
    common.define_output_flags(fv, default_shards=3)


def find_triplets(
    input_dir: str, pairs_folder: str = "other-data", golden_folder: str = "other-gt-interp"
) -> list[common.FileTriplet]:
    """One `FileTriplet` per sequence that has ground truth, sorted by name."""
    common.require_dir(input_dir, "Middlebury folder")
    folders = {
        "pairs": common.require_dir(os.path.join(input_dir, pairs_folder), f"Input pairs folder ({LAYOUT})"),
        "golden": common.require_dir(
            os.path.join(input_dir, golden_folder), f"Ground-truth folder ({LAYOUT})"
        ),
    }
    names = sorted(
        n for n in os.listdir(folders["golden"]) if os.path.isdir(os.path.join(folders["golden"], n))
    )
    if not names:
        raise FileNotFoundError(f"No sequence folders in '{folders['golden']}' (expected layout: {LAYOUT}).")
    pairs = {n for n in os.listdir(folders["pairs"]) if os.path.isdir(os.path.join(folders["pairs"], n))}
    without_gt = sorted(pairs - set(names))
    if without_gt:
        logging.warning("Skipping sequences without ground truth: %s", ", ".join(without_gt))
    return common.file_triplets(
        ([os.path.join(folders[kind], name, file) for kind, file in FRAME_FILES] for name in names), LAYOUT
    )


def build(
    input_dir: str,
    output: str,
    pairs_folder: str = "other-data",
    golden_folder: str = "other-gt-interp",
    num_workers: int = 0,
    pipeline_args: Sequence[str] = (),
) -> int:
    """Writes the Middlebury-Other triplets to `output` (`base@N`) on Beam."""
    from film_tf.datasets.beam_pipeline import write_file_triplets

    triplets = find_triplets(input_dir, pairs_folder, golden_folder)
    return write_file_triplets(triplets, output, num_workers, pipeline_args)


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    beam_cli.require_beam()
    output = common.sharded_output(cli_utils.required(fv, "output_tfrecord_filepath"), fv.num_shards)
    count = build(
        cli_utils.required(fv, "input_dir"),
        output,
        fv.input_pairs_foldername,
        fv.golden_foldername,
        fv.num_workers,
        beam_args,
    )
    cli_utils.report(common.written(count, output))


main, run_main = beam_cli.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
