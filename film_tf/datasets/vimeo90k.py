r"""Vimeo-90K triplets -> TFRecord (the training set, or the 3,782-triplet test set).

Layout (the `vimeo_triplet` archive, 448x256 frames):

    <input_dir>/sequences/<5 digits>/<4 digits>/im1.png, im2.png, im3.png
    <input_dir>/tri_trainlist.txt, tri_testlist.txt   (lines like `00001/0001`)

`--input_dir` may also be the `sequences` folder itself (as in the official
builder); then pass `--input_triplet_list_filepath`. im1 -> x0, im2 -> y (the
ground truth), im3 -> x1; the PNG bytes are stored unchanged.

    python -m datasets.create_vimeo90k_tfrecord --input_dir=<vimeo_triplet> \
      --split=test --output_tfrecord_filepath=<out>/vimeo_interp_test.tfrecord --num_shards=3
"""

from __future__ import annotations

import os
from typing import Sequence

from absl import flags

from film_tf import cli_utils
from film_tf.datasets import beam_cli, common

LAYOUT = "<input_dir>/sequences/<5 digits>/<4 digits>/im{1,2,3}.png and tri_{train,test}list.txt"
FRAME_NAMES = ("im1.png", "im2.png", "im3.png")  # x0, y, x1


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_string("input_dir", None, f"Vimeo-90K triplet root. Layout: {LAYOUT}.", flag_values=fv)
    flags.DEFINE_enum(
        "split", "test", ["train", "test"], "Which list to use: tri_<split>list.txt.", flag_values=fv
    )
    flags.DEFINE_string(
        "input_triplet_list_filepath",
        None,
        "The triplet list file; default <input_dir>/tri_<split>list.txt.",
        flag_values=fv,
    )
    common.define_output_flags(fv, default_shards=3)


def read_triplet_list(list_path: str) -> list[str]:
    """Non-empty lines of a tri_*list.txt, e.g. ['00001/0001', ...]."""
    if not os.path.isfile(list_path):
        raise FileNotFoundError(f"Triplet list not found: '{list_path}'.")
    with open(list_path) as f:
        entries = [line.strip() for line in f if line.strip()]
    if not entries:
        raise ValueError(f"The triplet list '{list_path}' is empty.")
    return entries


def find_triplets(
    input_dir: str, split: str = "test", list_path: str | None = None
) -> list[common.FileTriplet]:
    """The `FileTriplet`s of one Vimeo-90K split (their frames must exist)."""
    common.require_dir(input_dir, "Vimeo-90K folder")
    sequences = os.path.join(input_dir, "sequences")
    if not os.path.isdir(sequences):
        # The official builder takes the sequences folder itself.
        sequences = input_dir
        if list_path is None:
            raise FileNotFoundError(
                f"No 'sequences' folder in '{input_dir}'; pass the dataset root (layout: {LAYOUT}) "
                "or --input_triplet_list_filepath."
            )
    list_path = list_path or os.path.join(input_dir, f"tri_{split}list.txt")
    entries = read_triplet_list(list_path)
    return common.file_triplets(
        ([os.path.join(sequences, entry, n) for n in FRAME_NAMES] for entry in entries), LAYOUT
    )


def build(
    input_dir: str,
    output: str,
    split: str = "test",
    list_path: str | None = None,
    num_workers: int = 0,
    pipeline_args: Sequence[str] = (),
) -> int:
    """Writes the split to `output` (`base@N`) on Beam (`pipeline_args`: its
    options, default in-process); returns the example count."""
    from film_tf.datasets.beam_pipeline import write_file_triplets

    triplets = find_triplets(input_dir, split, list_path)
    return write_file_triplets(triplets, output, num_workers, pipeline_args)


def _run(fv: flags.FlagValues, beam_args: list[str]) -> None:
    beam_cli.require_beam()
    output = common.sharded_output(cli_utils.required(fv, "output_tfrecord_filepath"), fv.num_shards)
    count = build(
        cli_utils.required(fv, "input_dir"),
        output,
        fv.split,
        fv.input_triplet_list_filepath,
        fv.num_workers,
        beam_args,
    )
    cli_utils.report(common.written(count, output))


main, run_main = beam_cli.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
