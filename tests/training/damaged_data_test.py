"""Training on damaged shards: one line before the first step, or skipped and counted."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from film_tf.data import shards
from film_tf.data.tfrecord import shard_names
from film_tf.training import summaries, train_lib
from tests.data.shards_test import build, cut, flip, record_ends
from tests.training.train_lib_test import tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "gin_configs", "testing", "tiny.gin")


def damaged_data(folder, counts: bool) -> tuple[str, str, int]:
    """6 triplets of 32x32 frames over 2 shards, record 2 of shard 1 corrupted;
    returns (the data, the damaged shard, the record's offset)."""
    path = str(folder / "d.tfrecord@2")
    build(path, count=6, h=32, w=32)
    if not counts:
        os.remove(folder / "d.tfrecord@2.dataset_info.json")
    name = shard_names(path)[1]
    offset = record_ends(name)[0]
    flip(name, offset + 60)
    return path, name, offset


def test_a_damaged_record_stops_training_before_the_first_step(tmp_path):
    path, name, offset = damaged_data(tmp_path, counts=False)
    run = str(tmp_path / "run")
    with pytest.raises(shards.DamagedShardError) as e:
        train_lib.train(tiny_config(path, num_steps=2), run)
    assert str(e.value) == (
        f"The TFRecord shard '{name}' is damaged: corrupted record 2 at byte {offset}; "
        "1 record readable before it. Copy or download it again."
    )
    assert tf.train.latest_checkpoint(os.path.join(run, "train")) is None


def test_skipping_damaged_records_counts_them(tmp_path, capsys):
    """With the counts file, the 2 records of shard 1 from the damaged one on
    are known: said once, in the log and in every summary step."""
    path, name, _ = damaged_data(tmp_path, counts=True)
    run = str(tmp_path / "run")
    result = train_lib.train(tiny_config(path, num_steps=3, skip_damaged_records=True), run)
    assert result.final_step == 3
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"warning: skipping damaged records: 2 records of 1 shard left out (The TFRecord shard '{name}' "
        "is changed since it was built: 1 of the 3 records its builder wrote"
    )
    scalars = summaries.read_scalars(os.path.join(run, "train"))
    assert scalars["data/skipped_damaged_records"] == {1: 2.0, 2: 2.0, 3: 2.0}
    assert scalars["data/damaged_shards"] == {1: 1.0, 2: 1.0, 3: 1.0}


def test_film_train_truncated_shard_one_line_or_skipped(tmp_path):
    """The binary: a shard cut inside a record is one error line (exit 2, no
    traceback); with --skip_damaged_records it trains on the rest and says so."""
    path = str(tmp_path / "d.tfrecord@2")
    build(path, count=6, h=32, w=32)
    os.remove(tmp_path / "d.tfrecord@2.dataset_info.json")
    name = shard_names(path)[0]
    ends = record_ends(name)
    cut(name, ends[1] + 30)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT, CUDA_VISIBLE_DEVICES="")

    def command(label: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", "film_tf.train", "--gin_config", TINY, "--base_folder", str(tmp_path),
                "--label", label, "--mode", "cpu", "--gin_bindings", f"training_dataset.files = ['{path}']",
                "--gin_bindings", "training_dataset.crop_sizes = [32]", "--gin_bindings", "training.num_steps = 2",
                "--gin_bindings", "training.export_saved_model = False", *extra]  # fmt: skip

    kw = dict(cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = subprocess.Popen(command("stop"), **kw)
    skip = subprocess.Popen(command("skip", "--skip_damaged_records"), **kw)
    _, err = stop.communicate(timeout=300)
    assert stop.returncode == 2, err[-2000:]
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: The TFRecord shard '{name}' is damaged: truncated record 3 at byte {ends[1]}; "
        "2 records readable before it. Copy or download it again."
    ]
    assert not os.path.exists(tmp_path / "stop" / "train" / "checkpoint")
    out, err = skip.communicate(timeout=300)
    assert skip.returncode == 0, err[-2000:]
    assert [line for line in err.splitlines() if line.startswith("warning:")] == [
        f"warning: skipping damaged records: at least 1 record of 1 shard left out (The TFRecord shard "
        f"'{name}' is damaged: truncated record 3 at byte {ends[1]}; 2 records readable before it)."
    ]
    assert "trained to step 2" in out


def test_data_damaged_while_training_names_the_shard(tmp_path):
    """A DataLossError in the loop (a file changed after the check): the
    shards are checked again to name the damaged one."""
    from film_tf.training.damaged_data import error_while_training

    path = str(tmp_path / "d.tfrecord@2")
    build(path, count=4, h=32, w=32)
    config = tiny_config(path)
    error = tf.errors.DataLossError(None, None, "corrupted record at 12")
    assert str(error_while_training(config, error, 7)) == (
        "The training data became unreadable at step 7: corrupted record at 12"
    )
    name = shard_names(path)[1]
    cut(name, record_ends(name)[0])
    assert str(error_while_training(config, error, 7)).startswith(
        f"At step 7: The TFRecord shard '{name}' is short: 1 of the 2 records its builder wrote"
    )
