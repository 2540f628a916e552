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
