"""The bundled default model: files, loading, and quality on held-out footage."""

import json
import os

import numpy as np
import pytest

from film_tf import default_model
from tests.conftest import reference_options, video_frames


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def test_bundled_files():
    assert os.path.getsize(default_model.WEIGHTS_FILE) <= 25 * 2**20
    with open(default_model.OPTIONS_FILE) as f:
        stored = json.load(f)
    options = default_model.default_options()
    assert options.to_dict() == stored
    assert options.alignment == 16
    x0, x1 = default_model.example_frames()
    assert x0.shape == x1.shape == (360, 640, 3)
    # The pair is there to show motion: the frames must differ visibly.
    assert np.abs(x0 - x1).mean() > 0.02
    with open(os.path.join(default_model.EXAMPLES_DIR, "ATTRIBUTION.txt")) as f:
        assert "Blender Foundation" in f.read()


@pytest.fixture(scope="module")
def model():
    return default_model.load_default_model()


def _middle(model, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """The model's t = 0.5 frame of an (H, W, 3) pair, padded and cropped as users get it."""
    from film_tf.inference import Interpolator

    return Interpolator.from_model(model)(x0, x1)


def test_example_pair(model):
    x0, x1 = default_model.example_frames()
    mid = _middle(model, x0, x1)
    assert mid.shape == x0.shape and np.isfinite(mid).all()
    # The middle frame is a new image between the inputs, not a copy of either.
    d0, d1 = np.abs(mid - x0).mean(), np.abs(mid - x1).mean()
    assert 0.2 < d0 / d1 < 5
    assert min(d0, d1) > 0.01


@pytest.mark.xfail(
    strict=True,
    reason="the CPU-trained bundled model scores 33.5 dB here vs 33.9 dB for frame "
    "averaging; strict, so this fails loudly once a better model makes it pass",
)
def test_beats_frame_averaging_on_held_out_carphone(model):
    # carphone_pristine.mp4 is never trained on; frames 40, 42, 44 move visibly.
    frames = video_frames("carphone_pristine.mp4", start=40, count=3, step=2).astype(np.float32) / 255.0
    x0, y, x1 = frames
    model_psnr = _psnr(_middle(model, x0, x1), y)
    average_psnr = _psnr(0.5 * (x0 + x1), y)
    assert model_psnr > average_psnr + 0.5, (model_psnr, average_psnr)


def test_training_data_refuses_held_out_clips(tmp_path):
    from benchmarks.default_model.data import load_real_frames

    for clip in ("bikes.mp4", "carphone_pristine.mp4"):
        with pytest.raises(ValueError, match="held out"):
            load_real_frames(str(tmp_path), clip=clip)


def test_dedupe_and_sampler():
    from benchmarks.default_model.data import TripletSampler, dedupe_frames

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 40, 48, 3), dtype=np.uint8)
    frames[3] = frames[2]  # a repeated frame, as in bigbuckbunny.mp4's rate conversion
    kept = dedupe_frames(frames)
    assert len(kept) == 5 and not any((kept[i] == kept[i + 1]).all() for i in range(4))

    photo = rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)
    sampler = TripletSampler({1: kept}, [photo], crop=32, gaps=(1, 2), synthetic_fraction=0.5, seed=1)
    inputs, target = sampler.batch(6)
    assert inputs["x0"].shape == inputs["x1"].shape == target["image"].shape == (6, 32, 32, 3)
    assert inputs["time"].shape == (6, 1) and (inputs["time"] == 0.5).all()
    assert 0.0 <= target["image"].min() and target["image"].max() <= 1.0


def test_synthetic_middle_frame_is_exact_on_a_ramp():
    from benchmarks.default_model.data import TripletSampler

    # On a linear ramp bilinear warping is exact, so without translation (only
    # the random zoom, with a static foreground patch) the synthetic middle frame
    # must be the mean of the outer frames up to uint8 rounding.
    y, x = np.mgrid[0:200, 0:200]
    ramp = np.stack([x, y, np.full_like(x, 100)], axis=-1).astype(np.uint8)
    still = TripletSampler(
        {1: ramp[None].repeat(3, 0)}, [ramp], crop=48, synthetic_fraction=1.0, max_shift=0.0, seed=3
    )
    for _ in range(5):
        x0, mid, x1 = still.sample()
        assert np.abs(mid - 0.5 * (x0 + x1)).max() < 1.01 / 255
    # With translation the frames move by several pixels along the ramp.
    moving = TripletSampler({1: ramp[None].repeat(3, 0)}, [ramp], crop=48, synthetic_fraction=1.0, seed=3)
    motion = [np.abs(a - b).mean() for a, _, b in (moving.sample() for _ in range(5))]
    assert np.mean(motion) > 3 / 255


def test_motion_stats_measures_a_known_shift():
    import cv2

    from benchmarks.default_model.motion_stats import pair_motion, summary

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.random((96, 128, 3)).astype(np.float32), (0, 0), 2)
    x0, x1 = texture[:, 8:120], texture[:, 5:117]  # content moves 3 px right
    median, p90, _ = summary([pair_motion(x0, x1)])
    assert 2.5 < median < 3.5 and p90 < 4.5
    assert summary([pair_motion(x0, x0)])[1] < 0.2


def test_static_triplets():
    from benchmarks.default_model.data import TripletSampler

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 40, 40, 3), dtype=np.uint8)
    kwargs = dict(crop=32, gaps=(1,), synthetic_fraction=0.0, seed=0)
    sampler = TripletSampler({1: frames}, [], static_fraction=1.0, **kwargs)
    for _ in range(3):
        x0, y, x1 = sampler.sample()
        assert (x0 == y).all() and (x1 == y).all()
    moving = TripletSampler({1: frames}, [], **kwargs)
    assert any(not (x0 == y).all() for x0, y, _ in (moving.sample() for _ in range(3)))


@pytest.mark.parametrize(
    "train_parts, trained",
    [("all", ("feat_net", "predict_flow", "fusion")), ("flow", ("predict_flow",)), ("fusion", ("fusion",))],
)
def test_training_model_trains_only_its_parts(train_parts, trained):
    from benchmarks.default_model.train import training_model

    options = reference_options("film_official_tiny", use_aux_outputs=False)
    outputs = ("x0_warped", "forward_flow") if train_parts == "flow" else ("image",)
    model = training_model(options, outputs=outputs, train_parts=train_parts)
    assert list(model.output) == list(outputs)
    net = model.get_layer("film_net")
    parts = {"feat_net": net.feature_extractor, "predict_flow": net.flow_estimator, "fusion": net.fusion}
    expected = sum(int(np.prod(v.shape)) for name in trained for v in parts[name].weights)
    assert sum(int(np.prod(v.shape)) for v in model.trainable_weights) == expected
    # Frozen parts still hold (and save) their weights: the files stay those of create_model.
    assert len(model.weights) == len(net.weights)


def test_deeper_pyramid_has_the_same_weights(tmp_path):
    from film_tf import create_model

    # From specialized_levels on every level shares the extractor and the flow
    # estimator, so a model trained with 5 levels runs (and fine-tunes) with 6.
    shallow = create_model(reference_options("film_official_tiny"))
    deep = create_model(reference_options("film_official_tiny", pyramid_levels=6))
    assert [tuple(v.shape) for v in shallow.weights] == [tuple(v.shape) for v in deep.weights]
    path = str(tmp_path / "m.weights.h5")
    shallow.save_weights(path)
    deep.load_weights(path)
    for a, b in zip(shallow.weights, deep.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_teacher_flows_follow_the_models_convention():
    import cv2

    from benchmarks.default_model.train import teacher_flows
    from film_tf.warp import warp

    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.random((64, 96, 3)).astype(np.float32), (0, 0), 2)
    x0, y, x1 = texture[:, 8:72], texture[:, 6:70], texture[:, 4:68]  # content moves 2 px per step
    flows = teacher_flows(x0[None], x1[None])
    assert flows["forward_flow"].shape == flows["backward_flow"].shape == (1, 64, 64, 2)
    # forward: x0(p) ~ x1(p + F(p)), content moved right by 4 px -> dx ~ +4; backward the opposite.
    inner = np.s_[8:-8, 8:-8]
    assert abs(np.median(flows["forward_flow"][0][inner][..., 0]) - 4) < 0.5
    assert abs(np.median(flows["backward_flow"][0][inner][..., 0]) + 4) < 0.5
    # FILM warps x0 to the middle with half the backward flow (the model's own warp).
    mid0 = np.asarray(warp(x0[None], 0.5 * flows["backward_flow"]))[0]
    assert np.abs(mid0 - y)[inner].mean() < 0.25 * np.abs(x0 - y)[inner].mean()
