"""Evaluation: metrics vs independent computations, baselines, film-eval end to end."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from film_tf.datasets import vimeo90k
from film_tf.evaluation import baselines, eval_cli, eval_lib, predictors
from film_tf.evaluation.metrics import compute_metrics
from tests.conftest import video_frames

TEST_SET_KEYS = ["tfrecord_examples", "benchmark", "benchmark_examples", "warnings"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# (first frame, gap) of each Vimeo-layout triplet: frames k, k + g, k + 2g.
TRIPLETS = {"00001/0001": (0, 1), "00001/0002": (10, 2), "00002/0001": (40, 3)}


@pytest.fixture(scope="module")
def carphone() -> np.ndarray:
    return video_frames("carphone_pristine.mp4", 0, 50)


@pytest.fixture(scope="module")
def vimeo_set(tmp_path_factory, carphone):
    """A Vimeo-90K-layout test set of real 176x144 triplets, as a 2-shard TFRecord.

    Returns (tfrecord, {middle path: (x0, y, x1) uint8}).
    """
    root = str(tmp_path_factory.mktemp("vimeo"))
    triplets = {}
    for entry, (k, g) in TRIPLETS.items():
        frames = [carphone[k], carphone[k + g], carphone[k + 2 * g]]
        for name, frame in zip(vimeo90k.FRAME_NAMES, frames):
            path = os.path.join(root, "sequences", entry, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            assert cv2.imwrite(path, frame[..., ::-1])
        triplets[os.path.join(root, "sequences", entry, "im2.png")] = frames
    with open(os.path.join(root, "tri_testlist.txt"), "w") as f:
        f.write("\n".join(TRIPLETS) + "\n")
    tfrecord = os.path.join(root, "vimeo_test.tfrecord@2")
    assert vimeo90k.build(root, tfrecord) == 3
    return tfrecord, triplets


def write_gin(path, tfrecord: str, extra: str = "") -> str:
    with open(path, "w") as f:
        f.write(f"evaluation.tfrecord = '{tfrecord}'\n{extra}")
    return str(path)


def numpy_psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Independent PSNR (max value 1) in float64."""
    mse = np.mean((np.clip(prediction.astype(np.float64), 0, 1) - target.astype(np.float64)) ** 2)
    return 10 * np.log10(1.0 / mse)


# ---------------------------------------------------------------- metrics


def test_metrics_match_independent_computations(carphone):
    from skimage.metrics import structural_similarity

    y = carphone[5].astype(np.float32) / 255
    prediction = carphone[6].astype(np.float32) / 255 * 1.05 - 0.02  # leaves [0, 1] at the ends
    clipped = np.clip(prediction, 0, 1).astype(np.float64)
    values = compute_metrics(prediction, y)
    assert list(values) == ["l1", "l2", "psnr", "ssim"]
    np.testing.assert_allclose(values["l1"], np.mean(np.abs(clipped - y)), rtol=1e-5)
    np.testing.assert_allclose(values["l2"], np.mean((clipped - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(values["psnr"], numpy_psnr(prediction, y), atol=1e-3)
    # tf.image.ssim: 11x11 Gaussian window (sigma 1.5), valid region, population statistics.
    ssim = structural_similarity(
        clipped, y.astype(np.float64), data_range=1.0, channel_axis=-1,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    )  # fmt: skip
    np.testing.assert_allclose(values["ssim"], ssim, atol=1e-4)
    assert 0.3 < ssim < 0.99
    assert compute_metrics(y, y)["psnr"] == float("inf")
    with pytest.raises(ValueError, match="lpips"):
        compute_metrics(y, y, ("psnr", "lpips"))


# ---------------------------------------------------------------- baselines


def test_average_baseline(carphone):
    x0, x1 = carphone[0].astype(np.float32) / 255, carphone[2].astype(np.float32) / 255
    np.testing.assert_allclose(baselines.average(x0, x1), (x0 + x1) / 2, atol=1e-7)
    batch = baselines.average(np.stack([x0, x1]), np.stack([x1, x0]))
    np.testing.assert_allclose(batch, np.stack([(x0 + x1) / 2] * 2), atol=1e-7)


def test_dis_flow_baseline_follows_motion():
    # A real frame translated by a known motion: x0 at -3 px, y at 0, x1 at +3 px.
    image = video_frames("bikes.mp4", 100, 1)[0].astype(np.float32) / 255
    y = image[40:232, 100:500]
    x0 = image[40:232, 97:497]
    x1 = image[40:232, 103:503]
    dis = baselines.dis_flow(x0, x1)
    inner = (slice(8, -8), slice(8, -8))  # away from what enters across the border
    psnr_dis = numpy_psnr(dis[inner], y[inner])
    psnr_avg = numpy_psnr(baselines.average(x0, x1)[inner], y[inner])
    assert psnr_dis > 35 and psnr_dis > psnr_avg + 10, (psnr_dis, psnr_avg)
    # Batches give the same frames as single pairs.
    np.testing.assert_allclose(baselines.dis_flow(x0[None], x1[None])[0], dis, atol=1e-6)


def test_dis_flow_baseline_at_a_time():
    # x0 at -3 px, y at 0, x1 at +6 px: y is the frame at t = 1/3.
    image = video_frames("bikes.mp4", 100, 1)[0].astype(np.float32) / 255
    y = image[40:232, 100:500]
    x0 = image[40:232, 97:497]
    x1 = image[40:232, 106:506]
    inner = (slice(12, -12), slice(12, -12))
    at_third = baselines.dis_flow(x0, x1, time=1 / 3)
    psnr_third = numpy_psnr(at_third[inner], y[inner])
    psnr_middle = numpy_psnr(baselines.dis_flow(x0, x1)[inner], y[inner])
    assert psnr_third > 33 and psnr_third > psnr_middle + 8, (psnr_third, psnr_middle)
    np.testing.assert_array_equal(baselines.dis_flow(x0, x1, time=0.5), baselines.dis_flow(x0, x1))


# ---------------------------------------------------------------- film-eval


def test_eval_average_baseline_psnr_matches_numpy(tmp_path, vimeo_set):
    tfrecord, triplets = vimeo_set
    gin_file = write_gin(tmp_path / "vimeo.gin", tfrecord)
    out = tmp_path / "eval"
    eval_cli.main(
        [
            "prog",
            f"--gin_config={gin_file}",
            "--model_path=baseline:average",
            f"--output_dir={out}",
            "--save_frames",
        ]
    )
    with open(out / "results.json") as f:
        results = json.load(f)
    assert list(results) == ["num_examples", "l1", "l2", "psnr", "ssim", *TEST_SET_KEYS, "examples"]
    assert results["num_examples"] == results["tfrecord_examples"] == 3
    assert (results["benchmark"], results["benchmark_examples"], results["warnings"]) == (None, None, [])
    expected = {}
    for path, (x0, y, x1) in triplets.items():
        prediction = (x0.astype(np.float64) + x1) / 2 / 255
        expected[path] = numpy_psnr(prediction, y / 255.0)
    assert sorted(e["path"] for e in results["examples"]) == sorted(triplets)
    for example in results["examples"]:
        assert list(example) == ["path", "l1", "l2", "psnr", "ssim"]
        assert abs(example["psnr"] - expected[example["path"]]) < 0.01
    assert abs(results["psnr"] - np.mean(list(expected.values()))) < 0.01
    for name in ("l1", "l2", "ssim"):
        np.testing.assert_allclose(results[name], np.mean([e[name] for e in results["examples"]]), rtol=1e-6)

    # One predicted frame per example, named by index and path, equal to the rounded average.
    saved = sorted(glob.glob(str(out / "frames" / "*.png")))
    assert [os.path.basename(p) for p in saved] == [
        predictors.frame_name(i, e["path"]) for i, e in enumerate(results["examples"])
    ]
    for saved_path, example in zip(saved, results["examples"]):
        x0, _, x1 = triplets[example["path"]]
        expected_frame = np.floor((x0.astype(np.float64) + x1) / 2 + 0.5).astype(np.uint8)
        got = cv2.imread(saved_path)[..., ::-1]
        assert np.abs(got.astype(int) - expected_frame).max() <= 1
        assert np.mean(got != expected_frame) < 0.001
    assert "evaluation.tfrecord" in (out / "config.gin").read_text()


def test_eval_with_model_callable_and_max_examples(tmp_path, vimeo_set, tiny_options):
    """Any predict(x0, x1) callable: a tiny film_net on aligned 176x144 frames."""
    import film_tf

    tfrecord, triplets = vimeo_set
    model = film_tf.create_model(tiny_options)

    def predict(x0, x1):
        inputs = {"x0": x0[None], "x1": x1[None], "time": np.full((1, 1), 0.5, np.float32)}
        return np.asarray(model(inputs, training=False)["image"])[0]

    results = eval_lib.evaluate(predict, tfrecord, str(tmp_path / "eval"), max_examples=2)
    assert results["num_examples"] == 2
    for example in results["examples"]:
        x0, y, x1 = (f.astype(np.float32) / 255 for f in triplets[example["path"]])
        expected = numpy_psnr(predict(x0, x1), y)
        assert abs(example["psnr"] - expected) < 0.01


def test_eval_saved_model_psnr_equals_its_own_outputs(tmp_path, vimeo_set, tiny_options):
    """For a SavedModel (film_tf.serving) and a .weights.h5: the eval PSNR is
    the PSNR of that model's own outputs."""
    import film_tf
    from film_tf.formats.model_io import save_weights_with_options
    from film_tf.serving import export_saved_model

    tfrecord, triplets = vimeo_set
    model = film_tf.create_model(tiny_options)
    saved_model = export_saved_model(model, str(tmp_path / "saved_model"))
    weights = str(tmp_path / "tiny.weights.h5")
    save_weights_with_options(model, weights)
    gin_file = write_gin(tmp_path / "vimeo.gin", tfrecord)
    expected = {}
    for path, frames in triplets.items():
        x0, y, x1 = (f[None].astype(np.float32) / 255 for f in frames)
        own = np.asarray(model({"x0": x0, "x1": x1, "time": np.full((1, 1), 0.5, np.float32)})["image"])[0]
        expected[path] = numpy_psnr(own, y[0])
    for model_path in (saved_model, weights):
        out = tmp_path / ("eval_" + os.path.basename(model_path))
        eval_cli.main(
            ["prog", f"--gin_config={gin_file}", f"--model_path={model_path}", f"--output_dir={out}"]
        )
        results = json.loads((out / "results.json").read_text())
        assert results["num_examples"] == 3
        for example in results["examples"]:
            assert abs(example["psnr"] - expected[example["path"]]) < 0.01, model_path
        assert abs(results["psnr"] - np.mean(list(expected.values()))) < 0.01


def test_official_style_gin_file(tmp_path, vimeo_set):
    """An official FILM eval config (experiment.name, metrics in its order) loads;
    results.json keeps the fixed key order."""
    tfrecord, _ = vimeo_set
    gin_file = write_gin(
        tmp_path / "official.gin",
        tfrecord,
        "experiment.name = 'vimeo_90K'\nevaluation.max_examples = 1\n"
        "evaluation.metrics = ['l1', 'l2', 'ssim', 'psnr']\n",
    )
    results = eval_cli.run(gin_file, "baseline:average", str(tmp_path / "out"))
    assert list(results) == ["num_examples", "l1", "l2", "psnr", "ssim", *TEST_SET_KEYS, "examples"]
    assert results["num_examples"] == 1
    # experiment.name names the benchmark: 3 triplets are not its test set.
    assert (results["benchmark"], results["benchmark_examples"], results["tfrecord_examples"]) == (
        "vimeo_90K",
        3782,
        3,
    )
    assert results["warnings"] == [
        f"'{tfrecord}' holds 3 triplets but the vimeo_90K test set has 3,782: "
        "these metrics are not the benchmark's."
    ]
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == results


def test_eval_errors(tmp_path, vimeo_set):
    tfrecord, _ = vimeo_set
    good = write_gin(tmp_path / "good.gin", tfrecord)
    out = str(tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"missing\.tfrecord-00000-of-00002"):
        eval_cli.run(
            write_gin(tmp_path / "m.gin", str(tmp_path / "missing.tfrecord@2")), "baseline:average", out
        )
    with pytest.raises(ValueError, match="baseline:average, baseline:dis_flow"):
        eval_cli.run(good, "baseline:median", out)
    with pytest.raises(FileNotFoundError, match="no_model"):
        eval_cli.run(good, str(tmp_path / "no_model"), out)
    with pytest.raises(FileNotFoundError, match="nope.gin"):
        eval_cli.run(str(tmp_path / "nope.gin"), "baseline:average", out)
    empty = tmp_path / "empty.gin"
    empty.write_text("evaluation.max_examples = 1\n")
    with pytest.raises(ValueError, match="tfrecord"):
        eval_cli.run(str(empty), "baseline:average", out)
    assert not os.path.exists(os.path.join(out, "results.json"))


def test_benchmark_configs_bind_their_tfrecords():
    import gin

    expected = {
        "vimeo_90K": "vimeo_interp_test.tfrecord@3",
        "middlebury": "middlebury_other.tfrecord@3",
        "ucf101": "ucf101_interp.tfrecord@2",
        "xiph_2K": "xiph_2K.tfrecord@2",
        "xiph_4K": "xiph_4K.tfrecord@2",
    }
    for name, tfrecord in expected.items():
        gin.clear_config()
        gin.parse_config_file(os.path.join(REPO, "eval", "config", f"{name}.gin"))
        settings = eval_cli.evaluation_settings()
        assert settings["tfrecord"].endswith(tfrecord), name
        assert settings["max_examples"] == -1
        assert settings["benchmark"] == name
        assert set(settings["metrics"]) == {"l1", "l2", "psnr", "ssim"}
    gin.clear_config()


def test_eval_binary(tmp_path, vimeo_set):
    """`python -m eval.eval_cli`: a run with the DIS-flow baseline, then a one-line error."""
    tfrecord, _ = vimeo_set
    gin_file = write_gin(tmp_path / "v.gin", tfrecord)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "eval.eval_cli", f"--gin_config={gin_file}", "--model_path=baseline:dis_flow",
         f"--output_dir={out}", "--gin_bindings=evaluation.max_examples = 2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["num_examples"] == 2
    assert f"{results['psnr']:.4f}" in result.stdout  # the printed table
    result = subprocess.run(
        [sys.executable, "-m", "eval.eval_cli", f"--gin_config={gin_file}", "--model_path=baseline:nope",
         f"--output_dir={out}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: Unknown baseline 'nope' in --model_path; choose from baseline:average, baseline:dis_flow."
    ]
    assert "Traceback" not in result.stderr


def test_each_record_is_predicted_at_its_time():
    """A record's `time` reaches the predictor (records at 0.5 call it as before,
    with two frames); the blend baseline is exact on a linear fade at t = 0.3."""
    from film_tf.evaluation.evaluator import evaluate_examples

    rng = np.random.default_rng(3)
    x0, x1 = rng.random((2, 16, 16, 3)).astype(np.float32)
    examples = [
        {"x0": x0, "x1": x1, "y": 0.5 * (x0 + x1), "path": "mid"},
        {"x0": x0, "x1": x1, "y": 0.7 * x0 + 0.3 * x1, "path": "third", "time": 0.3},
    ]
    calls = []

    def spy(*args):
        calls.append(args[2:])
        return baselines.average(*args)

    result = evaluate_examples(spy, examples, metrics=("l1",))
    assert calls == [(), (0.3,)]
    assert [row["l1"] for row in result.examples] == pytest.approx([0.0, 0.0], abs=1e-6)
