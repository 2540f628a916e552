"""film-eval on Apache Beam: the same results.json and frames as the single-process default."""

from __future__ import annotations

import json
import os

import pytest

from film_tf import cli_utils
from film_tf.evaluation import eval_cli
from tests.evaluation.evaluation_test import carphone, vimeo_set, write_gin  # noqa: F401 (fixtures)


def run_eval(gin_file: str, out, *extra: str) -> dict:
    eval_cli.main(
        ["prog", f"--gin_config={gin_file}", "--model_path=baseline:dis_flow", f"--output_dir={out}",
         "--save_frames", *extra]
    )  # fmt: skip
    return json.loads((out / "results.json").read_text())


def frames(out) -> dict[str, bytes]:
    folder = out / "frames"
    return {n: (folder / n).read_bytes() for n in sorted(os.listdir(folder))}


@pytest.mark.parametrize("max_examples", [-1, 2])
def test_beam_eval_equals_single_process(tmp_path, vimeo_set, max_examples):  # noqa: F811
    tfrecord, triplets = vimeo_set
    gin_file = write_gin(tmp_path / "v.gin", tfrecord, f"evaluation.max_examples = {max_examples}\n")
    single = run_eval(gin_file, tmp_path / "single")
    beam = run_eval(gin_file, tmp_path / "beam", "--runner=FnApiRunner", "--direct_num_workers=2")
    assert single["num_examples"] == (3 if max_examples < 0 else 2)
    assert beam == single  # every value, the file order of the examples, the means
    assert single["psnr"] > 20 and len({e["path"] for e in single["examples"]}) == single["num_examples"]
    assert frames(tmp_path / "beam") == frames(tmp_path / "single")
    assert len(frames(tmp_path / "single")) == single["num_examples"]
    assert (tmp_path / "beam" / "config.gin").read_text() == (tmp_path / "single" / "config.gin").read_text()
    assert [n for n in os.listdir(tmp_path / "beam") if n.startswith(".")] == []  # no temporaries left


def test_beam_eval_errors_are_one_line(tmp_path, vimeo_set):  # noqa: F811
    tfrecord, _ = vimeo_set
    gin_file = write_gin(tmp_path / "v.gin", tfrecord)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"^Unknown baseline 'nope'"):
        eval_cli.main(
            ["prog", f"--gin_config={gin_file}", "--model_path=baseline:nope", f"--output_dir={out}",
             "--runner=FnApiRunner"]
        )  # fmt: skip
    with pytest.raises(cli_utils.UserError, match=r"^Unknown command line flag 'save_frame' \(--help"):
        eval_cli.main(
            ["prog", f"--gin_config={gin_file}", "--model_path=baseline:average", f"--output_dir={out}",
             "--save_frame"]
        )  # fmt: skip


def test_beam_eval_predicts_each_record_at_its_time(tmp_path, carphone):  # noqa: F811
    """Records at t = 0.25 and 0.75 (and one without a time, 0.5) whose ground truth is the
    linear blend at that t: baseline:average (which blends at the record's time) is exact
    on every record, on Beam as in one process; at 0.5 the off-middle records would score low."""
    import numpy as np
    import tensorflow as tf

    from film_tf.data.tfrecord import atomic_sharded_writer, make_example

    x0, x1 = carphone[0].astype(np.float32), carphone[12].astype(np.float32)
    tfrecord = str(tmp_path / "t.tfrecord@2")
    with atomic_sharded_writer(tfrecord) as writers:
        for i, t in enumerate((0.25, 0.5, 0.75)):
            y = np.round((1 - t) * x0 + t * x1).astype(np.uint8)
            triplet = [x0.astype(np.uint8), y, x1.astype(np.uint8)]
            encoded = [tf.io.encode_png(f).numpy() for f in triplet]
            example = make_example(encoded, ["png"] * 3, [f.shape[:2] for f in triplet], f"t{i}", t)
            writers[i % 2].write(example.SerializeToString())
    gin_file = write_gin(tmp_path / "t.gin", tfrecord)

    def scores(out, *extra):
        eval_cli.main(["prog", f"--gin_config={gin_file}", "--model_path=baseline:average",
                       f"--output_dir={out}", *extra])  # fmt: skip
        return json.loads((out / "results.json").read_text())

    single = scores(tmp_path / "single")
    beam = scores(tmp_path / "beam", "--runner=FnApiRunner", "--direct_num_workers=2")
    assert beam == single
    assert sorted(e["path"] for e in beam["examples"]) == ["t0", "t1", "t2"]
    # Rounding to 8 bits is the only error at the record's time: PSNR above 50 dB each.
    assert all(e["psnr"] > 50 for e in beam["examples"]), beam["examples"]
