"""Interpolator: every model form, padding, batching, alpha, tiling, errors."""

import os
import shutil

import numpy as np
import pytest

from film_tf import Options, create_model, load_official_weights
from film_tf.formats.model_io import (
    describe,
    options_from_json,
    options_sidecar_path,
    save_weights_with_options,
)
from film_tf.runtime.inference import Interpolator, default_jit_compile
from film_tf.runtime.padding import pad_to_alignment
from film_tf.runtime.recursive import FeatureReuse
from film_tf.runtime.tiling import (
    FRAME_BYTES_PER_PIXEL,
    RUNTIME_OVERHEAD_BYTES,
    bytes_per_pixel,
    plan_tiles,
    pyramid_bytes_per_pixel,
    tiled_apply,
)
from tests.conftest import reference_dir

TINY = reference_dir("film_official_tiny")


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory, options):
    model = create_model(options)
    load_official_weights(model, TINY)
    path = str(tmp_path_factory.mktemp("weights") / "tiny.weights.h5")
    save_weights_with_options(model, path)
    return path


def test_reproduces_the_official_middle_frame(interpolator, golden):
    # golden.npz: the official implementation's output for these inputs.
    mid = interpolator(golden["x0"], golden["x1"])
    np.testing.assert_allclose(mid, np.clip(golden["image"], 0, 1), rtol=0, atol=1e-5)
    single = interpolator(golden["x0"][1], golden["x1"][1])
    np.testing.assert_allclose(single, mid[1], rtol=0, atol=1e-6)


def test_pads_to_alignment_and_crops_back(interpolator, golden, options):
    x0, x1 = golden["x0"][0, :50, :70], golden["x1"][0, :50, :70]
    mid = interpolator(x0, x1)
    assert mid.shape == (50, 70, 3) and mid.dtype == np.float32
    model = create_model(options)
    load_official_weights(model, TINY)
    a, crop = pad_to_alignment(x0[None], 16)
    b, _ = pad_to_alignment(x1[None], 16)
    assert a.shape == (1, 64, 80, 3) and crop == (slice(7, 57), slice(5, 75))
    np.testing.assert_array_equal(a[0, 7:57, 5:75], x0)
    np.testing.assert_array_equal(a[0, 6, 5:75], x0[1])  # reflected, not replicated
    direct = model({"x0": a, "x1": b, "time": np.full((1, 1), 0.5, np.float32)})["image"]
    np.testing.assert_allclose(mid, np.clip(np.asarray(direct)[0, crop[0], crop[1]], 0, 1), atol=1e-5)


def test_tiny_frames_pad_too(interpolator):
    x = np.random.default_rng(0).random((1, 5, 3), dtype=np.float32)
    assert interpolator(x, x).shape == (1, 5, 3)


def test_weights_file_with_sidecar_equals_official_weights(weights_file, interpolator, golden, options):
    assert os.path.isfile(options_sidecar_path(weights_file))
    assert options_from_json(options_sidecar_path(weights_file)) == options
    assert describe(weights_file) == "keras_weights"
    mid = Interpolator(weights_file)(golden["x0"], golden["x1"])
    np.testing.assert_array_equal(mid, interpolator(golden["x0"], golden["x1"]))


def test_official_saved_model_folder_is_detected(tmp_path, golden, interpolator, options):
    # A released folder: saved_model.pb + variables/, no film_tf marker.
    folder = tmp_path / "saved_model"
    shutil.copytree(os.path.join(TINY, "variables"), folder / "variables")
    (folder / "saved_model.pb").write_bytes(b"not parsed")
    assert describe(str(folder)) == "official_saved_model"
    mid = Interpolator(str(folder), options=options)(golden["x0"], golden["x1"])
    np.testing.assert_array_equal(mid, interpolator(golden["x0"], golden["x1"]))
    with pytest.raises(ValueError, match="options do not match"):
        Interpolator(str(folder))  # the released configuration does not fit these weights


def test_our_saved_model(tmp_path, golden, interpolator, options):
    from film_tf.serving import export_saved_model

    model = create_model(options)
    load_official_weights(model, TINY)
    path = export_saved_model(model, str(tmp_path / "export"))
    assert describe(path) == "film_tf_saved_model"
    for kwargs, setting in (({"precision": "bfloat16"}, "precision 'bfloat16'"), ({"jit_compile": True}, "XLA"),
                            ({"precision": "auto", "jit_compile": True}, "XLA")):  # fmt: skip
        with pytest.raises(ValueError, match=f"^{setting}.*runs as it was exported"):
            Interpolator(path, **kwargs)
    ours = Interpolator(path)
    assert ours.options == options  # read from the export's marker
    assert ours.precision == "as exported"
    # The binaries' default precision runs an export as it is.
    np.testing.assert_array_equal(Interpolator(path, precision="auto")(golden["x0"], golden["x1"]),
                                  ours(golden["x0"], golden["x1"]))  # fmt: skip
    x0, x1 = golden["x0"][:, :50, :70], golden["x1"][:, :50, :70]
    np.testing.assert_allclose(ours(x0, x1), interpolator(x0, x1), rtol=0, atol=1e-5)


def test_from_an_in_memory_model(interpolator, golden, options):
    model = create_model(options)  # with aux outputs: only `image` is used
    load_official_weights(model, TINY)
    ours = Interpolator.from_model(model)
    assert ours.options == options
    np.testing.assert_allclose(
        ours(golden["x0"], golden["x1"]), interpolator(golden["x0"], golden["x1"]), atol=1e-6
    )


def test_rgba_interpolates_alpha_as_a_gray_image(interpolator, golden):
    rng = np.random.default_rng(1)
    alpha0, alpha1 = rng.random((2, 64, 96, 1), dtype=np.float32)
    x0 = np.concatenate([golden["x0"][0], alpha0], axis=-1)
    x1 = np.concatenate([golden["x1"][0], alpha1], axis=-1)
    mid = interpolator(x0, x1)
    assert mid.shape == (64, 96, 4)
    np.testing.assert_allclose(mid[..., :3], interpolator(golden["x0"][0], golden["x1"][0]), atol=1e-6)
    gray = interpolator(np.repeat(alpha0, 3, -1), np.repeat(alpha1, 3, -1))
    np.testing.assert_allclose(mid[..., 3], gray.mean(-1), atol=1e-5)


def test_large_frames_go_through_overlapping_tiles(golden, options, interpolator):
    rng = np.random.default_rng(2)
    # 150 x 220, padded to 160 x 224: six overlapping 96-px tiles.
    x0 = np.tile(golden["x0"][0], (3, 3, 1))[:150, :220] + 0.01 * rng.random((150, 220, 3), dtype=np.float32)
    x1 = np.tile(golden["x1"][0], (3, 3, 1))[:150, :220]
    tiled = Interpolator(TINY, options=options, tile_size=96, overlap=32)
    shapes = []
    forward = tiled._forward
    tiled._forward = lambda a, b, t: shapes.append(a.shape) or forward(a, b, t)
    result = tiled(x0, x1)
    assert {s[1:3] for s in shapes} == {(96, 96)} and sum(s[0] for s in shapes) == 6
    a, crop = pad_to_alignment(x0[None], 16)
    b, _ = pad_to_alignment(x1[None], 16)
    expected = tiled_apply(
        lambda a, b: forward(a, b, np.full((len(a), 1), 0.5, np.float32)),
        a[0],
        b[0],
        plan_tiles(160, 224, 96, 32, 16),
        batch_size=6,
    )
    np.testing.assert_allclose(result, np.clip(expected[crop], 0, 1), rtol=0, atol=1e-6)
    whole = interpolator(x0, x1)
    assert np.abs(result - whole).mean() < 0.05 * whole.max()


def test_memory_budget_picks_tiles(options):
    # The tiny model needs ~600 bytes per pixel without XLA (tiling.bytes_per_pixel);
    # just over the runtime allowance, a 160 x 224 frame must be tiled.
    small = Interpolator(TINY, options=options, memory_budget_gb=1.52)
    assert small._tile_for(160, 224) is not None and small._tile_for(160, 224) % 16 == 0
    assert Interpolator(TINY, options=options)._tile_for(160, 224) is None


def test_model_path_errors(tmp_path, options):
    with pytest.raises(FileNotFoundError, match="Model not found"):
        Interpolator(str(tmp_path / "nowhere"))
    text = tmp_path / "model.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="is not a FILM model"):
        Interpolator(str(text))
    with pytest.raises(ValueError, match="is not a FILM model"):
        Interpolator(str(tmp_path))  # an empty folder
    lone = tmp_path / "lone.weights.h5"
    lone.write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="lone.json"):
        Interpolator(str(lone))
    with pytest.raises(ValueError, match="Cannot load weights"):
        Interpolator(str(lone), options=options)
    broken = tmp_path / "broken"
    (broken / "assets").mkdir(parents=True)
    (broken / "saved_model.pb").write_bytes(b"garbage")
    (broken / "assets" / "film_tf.json").write_text('{"options": {"pyramid_levels": 5}}')
    # A garbage saved_model.pb: the damaged-file check names it before TensorFlow reads it.
    with pytest.raises(ValueError, match="saved_model.pb' is damaged"):
        Interpolator(str(broken))


def test_bad_inputs(interpolator):
    x = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(ValueError, match="differ in size"):
        interpolator(x, np.zeros((32, 48, 3), np.float32))
    with pytest.raises(ValueError, match="Expected frames"):
        interpolator(x[..., :2], x[..., :2])


def test_xla_and_plain_graphs_agree(golden, options, weights_file):
    xla = Interpolator(weights_file, jit_compile=True)
    plain = Interpolator(weights_file)  # the tiny model is narrow: no XLA by default
    assert not default_jit_compile(options) and default_jit_compile(Options())
    assert not default_jit_compile(Options(), "bfloat16")
    assert (xla.mode, plain.mode) == ("xla", "plain")
    x0, x1 = golden["x0"][:, :50, :70], golden["x1"][:, :50, :70]
    np.testing.assert_allclose(xla(x0, x1), plain(x0, x1), rtol=0, atol=1e-4)


def test_bfloat16_precision(golden, weights_file, interpolator):
    bf16 = Interpolator(weights_file, precision="bfloat16")
    assert bf16.mode == "bf16"
    layer = bf16._forward.model.get_layer("film_net")
    assert layer.compute_dtype == "bfloat16" and layer.weights[0].dtype == "float32"
    mid, exact = bf16(golden["x0"], golden["x1"]), interpolator(golden["x0"], golden["x1"])
    assert mid.dtype == np.float32
    # Really computed in bfloat16 (8-bit mantissa), yet close.
    assert 1e-4 < np.abs(mid - exact).max() < 0.05
    reuse = bf16.feature_reuse(golden["x0"].shape[1:], 2)
    np.testing.assert_allclose(
        reuse.middle(reuse.encode(golden["x0"][0]), reuse.encode(golden["x1"][0])), mid[0], rtol=0, atol=1e-4
    )
    with pytest.raises(ValueError, match="precision must be one of"):
        Interpolator(weights_file, precision="float16")


def test_feature_reuse_only_where_it_applies(weights_file, options):
    interp = Interpolator(weights_file, jit_compile=True)
    assert isinstance(interp.feature_reuse((48, 64, 3), 3), FeatureReuse)
    assert interp.feature_reuse((48, 64, 4), 3) is None  # RGBA: alpha needs a second pass
    assert Interpolator(weights_file, tile_size=32, overlap=8).feature_reuse((48, 64, 3), 3) is None
    # The cached pyramids of k + 2 frames must fit the budget beside one pass.
    pixels = 1024 * 1024
    one_pass = RUNTIME_OVERHEAD_BYTES + (FRAME_BYTES_PER_PIXEL + bytes_per_pixel(options, "xla")) * pixels
    budget = one_pass + 3.5 * pyramid_bytes_per_pixel(options) * pixels
    tight = Interpolator(weights_file, memory_budget_gb=budget / 1e9, jit_compile=True)
    assert tight._tile_for(1024, 1024) is None
    assert tight.feature_reuse((1024, 1024, 3), 1) is not None  # 3 frames' pyramids
    assert tight.feature_reuse((1024, 1024, 3), 2) is None  # 4 would not fit
