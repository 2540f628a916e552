"""End-to-end tests of film-train as a subprocess: train + SIGKILL + resume,
SavedModel, bad configs, MirroredStrategy parity, MultiWorkerMirroredStrategy."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from film_tf.formats import checkpoint_io, model_io
from film_tf.training import summaries
from tests.data.data_pipeline_test import write_triplets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "gin_configs", "testing", "tiny.gin")
pytestmark = pytest.mark.slow


def _env(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT, CUDA_VISIBLE_DEVICES="")
    env.update(extra)
    return env


def train_command(base: str, data: str, *bindings: str, label: str = "tiny", mode: str = "cpu") -> list[str]:
    cmd = [sys.executable, "-m", "film_tf.train", "--gin_config", TINY, "--base_folder", base]
    cmd += ["--label", label, "--mode", mode, "--gin_bindings", f"training_dataset.files = ['{data}']"]
    for b in bindings:
        cmd += ["--gin_bindings", b]
    return cmd


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    path = os.path.join(tmp_path_factory.mktemp("data"), "bikes.tfrecord@2")
    write_triplets(path, count=12)
    return path


def _latest_step(train_dir: str) -> int:
    latest = tf.train.latest_checkpoint(train_dir)
    return int(latest.rsplit("-", 1)[1]) if latest else 0


@pytest.fixture(scope="module")
def killed_and_resumed_run(data, tmp_path_factory):
    """A 200-step tiny run, SIGKILLed once it has a checkpoint past step 40, then
    started again with the same command."""
    base = str(tmp_path_factory.mktemp("runs"))
    cmd = train_command(
        base,
        data,
        "training.num_steps = 200",
        "training.checkpoint_every = 20",
        "training.log_every = 20",
        "training.image_summary_every = 50",
        f"eval_datasets.files = ['{data}']",
        "eval_datasets.max_examples = 2",
    )
    run = os.path.join(base, "tiny")
    train_dir = os.path.join(run, "train")
    first = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    killed_at = None
    while time.time() < deadline and first.poll() is None:
        if os.path.isdir(train_dir) and _latest_step(train_dir) >= 40:
            first.send_signal(signal.SIGKILL)
            killed_at = _latest_step(train_dir)
            break
        time.sleep(0.05)
    first_log = first.communicate(timeout=60)[0].decode()
    assert killed_at is not None, f"no checkpoint past step 40 before exit/timeout:\n{first_log[-3000:]}"
    assert first.returncode == -signal.SIGKILL

    # After the kill: the latest checkpoint is complete and restorable.
    from film_tf import create_model
    from tests.conftest import reference_options

    latest_after_kill = tf.train.latest_checkpoint(train_dir)
    restored_step = model_io.restore_checkpoint(
        create_model(reference_options("film_official_tiny")), latest_after_kill
    )
    state = tf.train.get_checkpoint_state(train_dir)
    for path in state.all_model_checkpoint_paths:
        assert os.path.exists(path + ".index"), path

    second = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=400)
    assert second.returncode == 0, second.stderr[-3000:]
    return {
        "cmd": cmd,
        "run": run,
        "killed_at": killed_at,
        "restored_step": restored_step,
        "latest_after_kill": latest_after_kill,
        "second_log": second.stderr,
    }


def test_resume_after_sigkill_continues_the_step_counter(killed_and_resumed_run):
    r = killed_and_resumed_run
    run = r["run"]
    assert 40 <= r["restored_step"] < 200
    assert f"Resuming from {r['latest_after_kill']} (step {r['restored_step']})" in r["second_log"]
    assert tf.train.latest_checkpoint(os.path.join(run, "train")).endswith("ckpt-200")
    assert checkpoint_io.checkpoint_step(os.path.join(run, "train", "ckpt-200")) == 200
    # The resumed process logged steps after the restored one only.
    logged = [
        int(line.split("step ")[1].split("/")[0])
        for line in r["second_log"].splitlines()
        if "] step " in line
    ]
    assert logged and min(logged) > r["restored_step"] and max(logged) == 200
    # Summaries cover every step 1..200 across the two processes.
    scalars = summaries.read_scalars(os.path.join(run, "train"))
    assert set(scalars["loss/l1"]) == set(range(1, 201))
    assert {"loss/total", "loss_weight/l1", "learning_rate", "steps_per_sec"} <= set(scalars)


def test_l1_loss_falls_over_200_steps(killed_and_resumed_run):
    l1 = summaries.read_scalars(os.path.join(killed_and_resumed_run["run"], "train"))["loss/l1"]
    first = np.mean([l1[s] for s in range(1, 21)])
    last = np.mean([l1[s] for s in range(181, 201)])
    print(f"L1 mean of steps 1-20: {first:.4f}, of steps 181-200: {last:.4f}")
    assert last < 0.7 * first


def test_run_folder_holds_config_summaries_and_a_working_saved_model(killed_and_resumed_run, data):
    run = killed_and_resumed_run["run"]
    config = open(os.path.join(run, "config.gin")).read()
    assert "film_net.filters = 4" in config and "model.name = 'film_net'" in config
    assert "training.num_steps = 200" in config
    eval_scalars = summaries.read_scalars(os.path.join(run, "eval", "bikes"))
    assert 200 in eval_scalars["psnr"] and eval_scalars["psnr"][200] > 15.0
    image_tags = set()
    for path in tf.io.gfile.glob(os.path.join(run, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            image_tags |= {
                v.tag for v in event.summary.value if v.metadata.plugin_data.plugin_name == "images"
            }
    assert {"x0", "x1", "y", "prediction", "x0_warped", "x1_warped"} <= image_tags

    from film_tf import create_model
    from film_tf.evaluation.evaluator import iterate_examples
    from tests.conftest import reference_options

    saved = os.path.join(run, "saved_model")
    assert os.path.isfile(os.path.join(saved, "saved_model.pb"))
    loaded = tf.saved_model.load(saved)
    serve = loaded.signatures["serving_default"]
    model = create_model(reference_options("film_official_tiny"))
    model_io.restore_checkpoint(model, os.path.join(run, "train"))
    example = next(iterate_examples(data))  # 68x160: the SavedModel pads to alignment itself
    batch = {k: example[k][None] for k in ("x0", "x1", "y")}
    batch["time"] = np.full((1, 1), 0.5, np.float32)
    out = serve(x0=batch["x0"], x1=batch["x1"], time=batch["time"])["image"].numpy()
    assert out.shape == (1, 68, 160, 3)
    psnr = float(tf.image.psnr(out, batch["y"], 1.0)[0])
    assert psnr > 15.0, psnr
    # On aligned frames (no padding) the SavedModel computes exactly the checkpointed model.
    aligned = {k: batch[k][:, :64] for k in ("x0", "x1")}
    exported = serve(x0=aligned["x0"], x1=aligned["x1"], time=batch["time"])["image"].numpy()
    ours = model({**aligned, "time": batch["time"]})["image"].numpy()
    np.testing.assert_allclose(exported, ours, atol=1e-5)


def test_rerunning_a_finished_run_changes_nothing(killed_and_resumed_run):
    r = killed_and_resumed_run
    saved = os.path.join(r["run"], "saved_model", "saved_model.pb")
    before = os.stat(saved).st_mtime_ns
    again = subprocess.run(r["cmd"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Already trained to step 200" in again.stderr
    assert os.stat(saved).st_mtime_ns == before
    assert tf.train.latest_checkpoint(os.path.join(r["run"], "train")).endswith("ckpt-200")


def test_checkpoints_restore_through_the_export_contract(killed_and_resumed_run):
    """film-export's reader, and a plain tf.train.Checkpoint(model=model), give the trained weights."""
    from film_tf import create_model
    from film_tf.formats import model_io
    from tests.conftest import reference_options

    run = killed_and_resumed_run["run"]
    reference = create_model(reference_options("film_official_tiny"))
    assert model_io.restore_checkpoint(reference, os.path.join(run, "train")) == 200
    model, source = model_io.load_model_and_source(run)
    assert source.step == 200
    plain = create_model(reference_options("film_official_tiny"))
    latest = tf.train.latest_checkpoint(os.path.join(run, "train"))
    tf.train.Checkpoint(model=plain).restore(latest).expect_partial().assert_existing_objects_matched()
    fresh = create_model(reference_options("film_official_tiny"))
    for a, b, c in zip(reference.get_weights(), model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert not all(np.array_equal(a, d) for a, d in zip(reference.get_weights(), fresh.get_weights()))


def test_bad_configs_fail_at_start_with_one_line(data, tmp_path):
    empty = str(tmp_path / "empty.tfrecord")
    tf.io.TFRecordWriter(empty).close()
    cases = {
        "missing": ([], str(tmp_path / "missing.tfrecord@3"), "missing.tfrecord-00000-of-00003"),
        "loss": (["training_losses.loss_names = ['l1', 'lpips']"], data, "Unknown loss 'lpips'"),
        "crop": (["training_dataset.crop_sizes = [128]"], data, "larger than the frames"),
        "empty": ([], empty, "no examples"),
        "vgg": (
            [
                "training_losses.loss_names = ['l1', 'vgg']",
                "training_losses.loss_weight_parameters = None",
                "training_losses.loss_weight_schedules = None",
            ],
            data,
            "imagenet-vgg-verydeep-19.mat",
        ),
        "gin": (["training.no_such_option = 3"], data, "no_such_option"),
    }
    procs = {
        name: subprocess.Popen(
            train_command(str(tmp_path / "runs"), path, *bindings, label=name),
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (bindings, path, _) in cases.items()
    }
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=240)
        expected = cases[name][2]
        assert proc.returncode == 2, (name, err[-2000:])
        assert "Traceback" not in err, (name, err[-2000:])
        error_lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(error_lines) == 1 and expected in error_lines[0], (name, err[-2000:])
        # Failed before any training.
        assert not os.path.exists(str(tmp_path / "runs" / name / "train" / "checkpoint"))


_PARITY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from film_tf.training import distribute
    distribute.split_cpu(2)  # before TF initialises
    import numpy as np
    import tensorflow as tf
    from film_tf.training import train_lib
    from film_tf import create_model
    from film_tf.formats.model_io import restore_checkpoint
    from tests.conftest import reference_options
    from tests.training.train_lib_test import tiny_config

    data, base = sys.argv[1], sys.argv[2]
    config = tiny_config(data, num_steps=4, batch_size=4, crop_sizes=[32], checkpoint_every=100,
                         image_summary_every=0)
    one = train_lib.train(config, base + "/one", tf.distribute.OneDeviceStrategy("/cpu:0"))
    two = train_lib.train(config, base + "/two", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    weights = []
    for name in ("one", "two"):
        model = create_model(reference_options("film_official_tiny"))
        restore_checkpoint(model, base + "/" + name + "/train")
        weights.append(model.get_weights())
    diff = np.concatenate([np.abs(a - b).ravel() for a, b in zip(*weights)])
    print(json.dumps({"one": one.losses, "two": two.losses, "max_diff": float(diff.max()),
                      "rms_diff": float(np.sqrt(np.mean(diff**2))), "lr": config.learning_rate}))
    """
)


def test_mirrored_strategy_over_two_cpus_matches_one_device(data, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _PARITY_SCRIPT, data, str(tmp_path)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    one = [result["one"][str(s)] for s in range(1, 5)]
    two = [result["two"][str(s)] for s in range(1, 5)]
    print(
        "one device:",
        one,
        "mirrored x2:",
        two,
        "weight diff max / rms:",
        result["max_diff"],
        result["rms_diff"],
    )
    np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-6)
    # Adam moves a weight by about lr per step whatever its gradient's size, so a
    # gradient that is zero but for rounding (which differs between one batch of 4
    # and two of 2) can move a few weights by a fraction of lr either way; on an
    # AVX2-only CPU: max 0.3 lr, rms 0.006 lr after 4 steps. Replicas whose
    # gradients were not combined over the whole batch differ by steps of lr.
    assert result["max_diff"] < result["lr"]
    assert result["rms_diff"] < 0.02 * result["lr"]
    assert len(set(one)) == 4  # the losses do change from step to step


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_mirrored_strategy_two_local_workers(data, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    base = str(tmp_path / "runs")
    scratch = [tmp_path / f"tmp{i}" for i in range(2)]
    procs = []
    for i in range(2):
        scratch[i].mkdir()
        env = _env(
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            TMPDIR=str(scratch[i]),
        )
        cmd = train_command(
            base,
            data,
            "training.num_steps = 4",
            "training.checkpoint_every = 2",
            "training.log_every = 1",
            "training.export_saved_model = False",
            "training_dataset.crop_sizes = [32]",
            label="mw",
            mode="multi_worker",
        )
        procs.append(
            subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=400)[1])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for i, (proc, err) in enumerate(zip(procs, outputs)):
        assert proc.returncode == 0, (i, err[-3000:])
        assert "step 4/4" in err, (i, err[-3000:])
        assert "2 replica(s)" in err
    # One checkpoint series, written by the chief (worker 0); the other worker's scratch is gone.
    train_dir = os.path.join(base, "mw", "train")
    names = sorted(n for n in os.listdir(train_dir) if n.endswith(".index"))
    assert names == ["ckpt-2.index", "ckpt-4.index"]
    assert checkpoint_io.checkpoint_step(os.path.join(train_dir, "ckpt-4")) == 4
    assert os.listdir(os.path.join(base)) == ["mw"]
    assert not any(p.name.startswith("film_worker_") for p in scratch[1].iterdir())
    assert os.path.isfile(os.path.join(base, "mw", "config.gin"))
