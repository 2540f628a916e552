r"""UCF101 interpolation test set (the DVF split, 379 triplets of 256x256) -> TFRecord.

Layout (e.g. `UCF101_results/ucf101_interp_ours` of the DVF release):

    <input_dir>/<id>/frame_00.png, frame_01_gt.png, frame_02.png

Other files in the folders (frame_01_ours.png, ...) are ignored. frame_00 ->
x0, frame_01_gt -> y, frame_02 -> x1; PNG bytes are stored unchanged.

    python -m datasets.create_ucf101_tfrecord --input_dir=<ucf101_interp_ours> \
      --output_tfrecord_filepath=<out>/ucf101_interp.tfrecord --num_shards=2
"""

from __future__ import annotations

import os
from typing import Sequence

from absl import flags

from film_tf import cli_utils, files
from film_tf.datasets import beam_cli, common

LAYOUT = "<input_dir>/<id>/frame_00.png, frame_01_gt.png, frame_02.png"
FRAME_NAMES = ("frame_00.png", "frame_01_gt.png", "frame_02.png")  # x0, y, x1


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string("input_dir", None, f"UCF101 test folder. Layout: {LAYOUT}.", flag_values=fv)
    common.define_output_flags(fv, default_shards=2)


def find_triplets(input_dir: str) -> list[common.FileTriplet]:
    """One `FileTriplet` per sub-folder, in natural order of the ids."""
    common.require_dir(input_dir, "UCF101 folder")
    ids = files.list_folders(input_dir)
    if not ids:
        raise FileNotFoundError(f"No triplet folders in '{input_dir}' (expected layout: {LAYOUT}).")
    return common.file_triplets(
        ([os.path.join(input_dir, triplet_id, n) for n in FRAME_NAMES] for triplet_id in ids), LAYOUT
    )


def build(input_dir: str, output: str, num_workers: int = 0, pipeline_args: Sequence[str] = ()) -> int:
    """Writes the UCF101 triplets to `output` (`base@N`) on Beam."""
    from film_tf.datasets.beam_pipeline import write_file_triplets

    triplets = find_triplets(input_dir)
    return write_file_triplets(triplets, output, num_workers, pipeline_args)


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    beam_cli.require_beam()
    output = common.sharded_output(cli_utils.required(fv, "output_tfrecord_filepath"), fv.num_shards)
    count = build(cli_utils.required(fv, "input_dir"), output, fv.num_workers, beam_args)
    cli_utils.report(common.written(count, output))


main, run_main = beam_cli.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
