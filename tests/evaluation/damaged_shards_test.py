"""film-eval and the Beam evaluation on damaged shards, and the test-set size check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from film_tf.data.shards import DamagedShardError
from film_tf.evaluation import beam_eval, eval_lib
from tests.data.shards_test import build, cut, flip, record_ends

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gin_file(folder, tfrecord: str, benchmark: str = "middlebury") -> str:
    path = os.path.join(folder, "b.gin")
    with open(path, "w") as f:
        f.write(f"evaluation.tfrecord = '{tfrecord}'\nevaluation.benchmark = '{benchmark}'\n")
    return path


def test_shard_cut_at_a_record_boundary_is_refused_with_its_counts(tmp_path):
    """The issue's worst case (a 6-triplet shard cut after 4 records, which
    TensorFlow reads as whole): refused before any metric, by film-eval and
    by the Beam evaluation, naming the shard and its builder's count."""
    (name,) = build(str(tmp_path / "d" / "s@1"))
    cut(name, record_ends(name)[3])
    out = tmp_path / "out"
    expected = rf"'{name}' is short: 4 of the 6 records its builder wrote"
    with pytest.raises(DamagedShardError, match=expected):
        eval_lib.run(gin_file(tmp_path, str(tmp_path / "d" / "s@1")), "baseline:average", str(out))
    assert not out.exists()  # checked before the model loads and the output folder is made
    with pytest.raises(DamagedShardError, match=expected):
        beam_eval.score_on_beam("baseline:average", str(tmp_path / "d" / "s@1"), work_dir=str(tmp_path))


def test_corrupted_record_without_counts(tmp_path):
    (name,) = build(str(tmp_path / "d" / "s@1"))
    os.remove(tmp_path / "d" / "s@1.dataset_info.json")
    ends = record_ends(name)
    flip(name, ends[0] + 50)
    with pytest.raises(
        DamagedShardError, match=rf"'{name}' is damaged: corrupted record 2 at byte {ends[0]};"
    ):
        eval_lib.run(gin_file(tmp_path, name), "baseline:average", str(tmp_path / "out"))
    assert not (tmp_path / "out" / "results.json").exists()


def test_test_set_size_flags_a_partial_set_without_counts(tmp_path, capsys):
    """12 triplets, Middlebury's test-set size: no warning. Cut at a record
    boundary to 8 without a counts file (nothing else can tell): the metrics
    come with one warning line and the counts in results.json."""
    (name,) = build(str(tmp_path / "d" / "s@1"), count=12)
    os.remove(tmp_path / "d" / "s@1.dataset_info.json")
    gin = gin_file(tmp_path, name)
    results = eval_lib.run(gin, "baseline:average", str(tmp_path / "whole"))
    assert (results["num_examples"], results["tfrecord_examples"], results["warnings"]) == (12, 12, [])
    assert "warning" not in capsys.readouterr().err
    cut(name, record_ends(name)[7])
    results = eval_lib.run(gin, "baseline:average", str(tmp_path / "cut"))
    warning = f"'{name}' holds 8 triplets but the middlebury test set has 12: these metrics are not the benchmark's."
    assert [line for line in capsys.readouterr().err.splitlines() if "warning" in line] == [
        f"warning: {warning}"
    ]
    on_disk = json.loads((tmp_path / "cut" / "results.json").read_text())
    assert on_disk["warnings"] == [warning]
    assert (on_disk["num_examples"], on_disk["tfrecord_examples"], on_disk["benchmark_examples"]) == (
        8,
        8,
        12,
    )


def test_binary_truncated_shard_is_one_line(tmp_path):
    (name,) = build(str(tmp_path / "d" / "s@1"))
    os.remove(tmp_path / "d" / "s@1.dataset_info.json")
    ends = record_ends(name)
    cut(name, ends[4] - 9)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "eval.eval_cli", f"--gin_config={gin_file(tmp_path, name)}",
         "--model_path=baseline:average", f"--output_dir={out}"],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"error: The TFRecord shard '{name}' is damaged: truncated record 5 at byte {ends[3]}; "
        "4 records readable before it. Copy or download it again."
    ]
    assert not out.exists()
