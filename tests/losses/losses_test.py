"""Tests of FILM's losses against independent numpy computations.

The VGG-19 tests use a small synthetic MatConvNet file of the real file's
structure (a `layers` cell array of structs: name, type, weights {kernel
(kh, kw, cin, cout), bias (cout, 1)}; relu/pool layers without weights) and
the Keras h5 layout (block<b>_conv<c> groups, BGR first kernel).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import tensorflow as tf

from film_tf.losses import losses, vgg19

# Channels per VGG block of the synthetic network (the real one: 64..512).
_CHANNELS = (4, 6, 8, 8, 8)
_DEPTHS = (2, 2, 4, 4, 4)  # the full VGG-19, conv5_3/conv5_4 included


def _synthetic_weights(seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    weights = {}
    cin = 3
    for b, (channels, depth) in enumerate(zip(_CHANNELS, _DEPTHS)):
        for c in range(depth):
            kernel = rng.normal(0, np.sqrt(2.0 / (9 * cin)), (3, 3, cin, channels)).astype(np.float32)
            bias = rng.normal(0, 0.5, (channels,)).astype(np.float32)
            weights[f"conv{b + 1}_{c + 1}"] = (kernel, bias)
            cin = channels
    return weights


def write_matconvnet_vgg(path: str, weights) -> None:
    """A MatConvNet-style VGG-19 .mat: conv, relu, pool layers (+ fc6 as a conv)."""
    layers = []
    for b, depth in enumerate(_DEPTHS):
        for c in range(depth):
            name = f"conv{b + 1}_{c + 1}"
            cell = np.empty((1, 2), dtype=object)
            kernel, bias = weights[name]
            cell[0, 0], cell[0, 1] = kernel, bias.reshape(-1, 1)
            layers.append(
                {
                    "name": name,
                    "type": "conv",
                    "weights": cell,
                    "size": np.array(kernel.shape, float),
                    "pad": np.zeros((1, 4)),
                    "stride": np.ones((1, 2)),
                }
            )
            layers.append({"name": f"relu{b + 1}_{c + 1}", "type": "relu"})
        layers.append({"name": f"pool{b + 1}", "type": "pool", "method": "max", "pool": np.array([[2, 2]])})
    fc = np.empty((1, 2), dtype=object)
    fc[0, 0], fc[0, 1] = np.zeros((1, 1, 8, 5), np.float32), np.zeros((5, 1), np.float32)
    layers.append({"name": "fc6", "type": "conv", "weights": fc})
    cells = np.empty((1, len(layers)), dtype=object)
    for i, layer in enumerate(layers):
        cells[0, i] = layer
    scipy.io.savemat(
        path, {"layers": cells, "meta": {"normalization": {"averageImage": [123.68, 116.779, 103.939]}}}
    )


def write_keras_vgg_h5(path: str, weights) -> None:
    """The Keras applications layout (Keras 2 save_weights HDF5), BGR first kernel."""
    import h5py

    with h5py.File(path, "w") as f:
        names = []
        for b, depth in enumerate(_DEPTHS):
            for c in range(depth):
                layer = f"block{b + 1}_conv{c + 1}"
                kernel, bias = weights[f"conv{b + 1}_{c + 1}"]
                if (b, c) == (0, 0):
                    kernel = kernel[:, :, ::-1, :]  # Caffe order: BGR
                group = f.create_group(layer)
                group.attrs["weight_names"] = [f"{layer}/kernel:0".encode(), f"{layer}/bias:0".encode()]
                group.create_dataset(f"{layer}/kernel:0", data=kernel)
                group.create_dataset(f"{layer}/bias:0", data=bias)
                names.append(layer.encode())
            names.append(f"block{b + 1}_pool".encode())
            f.create_group(f"block{b + 1}_pool").attrs["weight_names"] = []
        f.attrs["layer_names"] = names


# ---------------------------------------------------------------- numpy reference


def _np_conv_relu(x, kernel, bias):
    """3x3 'SAME' convolution (cross-correlation) + bias + ReLU, NHWC."""
    kh, kw = kernel.shape[:2]
    padded = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    h, w = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (kernel.shape[3],), np.float64)
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("bhwc,cd->bhwd", padded[:, i : i + h, j : j + w], kernel[i, j])
    return np.maximum(out + bias, 0.0)


def _np_avg_pool(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _np_vgg_features(image_255, weights):
    net = image_255.astype(np.float64) - np.array([123.68, 116.779, 103.939])
    features = {}
    for b, depth in enumerate((2, 2, 4, 4, 2)):
        if b:
            net = _np_avg_pool(net)
        for c in range(depth):
            name = f"conv{b + 1}_{c + 1}"
            net = _np_conv_relu(net, *weights[name])
            features[name] = net
    return features


_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
_W = (1 / 2.6, 1 / 4.8, 1 / 3.7, 1 / 5.6, 10 / 1.5)


def _np_vgg_loss(y, pred, weights):
    fy, fp = _np_vgg_features(y * 255.0, weights), _np_vgg_features(pred * 255.0, weights)
    return sum(w * np.mean(np.abs(fy[n] - fp[n])) for n, w in zip(_LAYERS, _W)) / 255.0


def _np_gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bnc,bnd->bcd", flat, flat) / (h * w)


def _np_style_loss(y, pred, weights):
    fy, fp = _np_vgg_features(y * 255.0, weights), _np_vgg_features(pred * 255.0, weights)
    return sum(
        w * np.mean((_np_gram(fy[n] / 255.0) - _np_gram(fp[n] / 255.0)) ** 2) for n, w in zip(_LAYERS, _W)
    )


@pytest.fixture(scope="module")
def vgg_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vgg")
    weights = _synthetic_weights()
    mat = str(folder / "imagenet-vgg-verydeep-19.mat")
    h5 = str(folder / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    write_matconvnet_vgg(mat, weights)
    write_keras_vgg_h5(h5, weights)
    return mat, h5, weights


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(3)
    y = rng.random((2, 32, 32, 3)).astype(np.float32)
    pred = np.clip(y + rng.normal(0, 0.1, y.shape), 0, 1).astype(np.float32)
    return y, pred


def test_mat_loader_reads_the_matconvnet_structure(vgg_files):
    mat, _, weights = vgg_files
    loaded = vgg19.load_vgg19_weights(mat)
    assert list(loaded) == list(vgg19.CONV_LAYERS)  # conv1_1 .. conv5_2; fc6, conv5_3+ ignored
    for name, (kernel, bias) in loaded.items():
        np.testing.assert_array_equal(kernel, weights[name][0])
        np.testing.assert_array_equal(bias, weights[name][1])
        assert bias.shape == (kernel.shape[3],)


def test_vgg_and_style_losses_match_numpy(vgg_files, images):
    mat, _, weights = vgg_files
    y, pred = images
    vgg = vgg19.Vgg19Features(vgg19.load_vgg19_weights(mat))
    ours = float(vgg19.vgg_loss(vgg, tf.constant(y), tf.constant(pred)))
    expected = _np_vgg_loss(y, pred, weights)
    assert expected > 1e-3
    np.testing.assert_allclose(ours, expected, rtol=1e-4)

    ours_style = float(vgg19.style_loss(vgg, tf.constant(y), tf.constant(pred)))
    expected_style = _np_style_loss(y, pred, weights)
    assert expected_style > 1e-8
    np.testing.assert_allclose(ours_style, expected_style, rtol=1e-3)

    # The named losses over example/prediction dicts are the same functions.
    loss = losses.make_loss("vgg", vgg)
    np.testing.assert_allclose(float(loss({"y": y}, {"image": pred})), expected, rtol=1e-4)
    loss = losses.make_loss("style", vgg)
    np.testing.assert_allclose(float(loss({"y": y}, {"image": pred})), expected_style, rtol=1e-3)
    # Identical images: zero loss.
    assert float(vgg19.vgg_loss(vgg, tf.constant(y), tf.constant(y))) == 0.0

    # Differentiable with respect to the prediction.
    p = tf.Variable(pred)
    with tf.GradientTape() as tape:
        value = vgg19.vgg_loss(vgg, tf.constant(y), p) + vgg19.style_loss(vgg, tf.constant(y), p)
    grad = tape.gradient(value, p).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0


def test_keras_h5_gives_the_same_features(vgg_files, images):
    mat, h5, _ = vgg_files
    y, _ = images
    from_mat = vgg19.Vgg19Features(vgg19.load_vgg19_weights(mat))(tf.constant(y * 255.0))
    from_h5 = vgg19.Vgg19Features(vgg19.load_vgg19_weights(h5))(tf.constant(y * 255.0))
    for name in _LAYERS:
        np.testing.assert_allclose(from_h5[name].numpy(), from_mat[name].numpy(), rtol=1e-5, atol=1e-4)


def test_missing_or_bad_vgg_file(tmp_path):
    missing = str(tmp_path / "imagenet-vgg-verydeep-19.mat")
    with pytest.raises(FileNotFoundError) as e:
        vgg19.load_vgg19_weights(missing)
    message = str(e.value)
    assert (
        "imagenet-vgg-verydeep-19.mat" in message
        and "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    )
    assert "https://" in message and missing in message and "\n" not in message
    with pytest.raises(FileNotFoundError, match="not configured"):
        vgg19.load_vgg19_weights(None)
    bad = tmp_path / "other.mat"
    scipy.io.savemat(str(bad), {"x": np.zeros(3)})
    with pytest.raises(ValueError, match="no 'layers'"):
        vgg19.load_vgg19_weights(str(bad))
    txt = tmp_path / "weights.txt"
    txt.write_text("x")
    with pytest.raises(ValueError, match="expected a MatConvNet"):
        vgg19.load_vgg19_weights(str(txt))


def test_pixel_losses_match_numpy(images):
    from skimage.metrics import structural_similarity

    y, pred = images
    example, prediction = {"y": tf.constant(y)}, {"image": tf.constant(pred)}
    diff = pred.astype(np.float64) - y
    np.testing.assert_allclose(float(losses.l1_loss(example, prediction)), np.abs(diff).mean(), rtol=1e-5)
    np.testing.assert_allclose(float(losses.l2_loss(example, prediction)), (diff**2).mean(), rtol=1e-5)
    psnr = np.mean([10 * np.log10(1.0 / (diff[i] ** 2).mean()) for i in range(2)])
    np.testing.assert_allclose(float(losses.make_loss("psnr")(example, prediction)), -psnr, rtol=1e-4)
    ssim = np.mean(
        [
            structural_similarity(
                y[i],
                pred[i],
                channel_axis=-1,
                data_range=1.0,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
            for i in range(2)
        ]
    )
    np.testing.assert_allclose(float(losses.make_loss("ssim")(example, prediction)), 1 - ssim, atol=2e-3)

    warped = {"image": pred, "x0_warped": tf.constant(y + 0.1), "x1_warped": tf.constant(y - 0.2)}
    np.testing.assert_allclose(float(losses.make_loss("l1_warped")(example, warped)), 0.3, rtol=1e-5)
    with pytest.raises(ValueError, match="aux outputs"):
        losses.l1_warped_loss(example, prediction)
    with pytest.raises(ValueError, match="Unknown loss 'perceptual'"):
        losses.make_loss("perceptual")
    with pytest.raises(ValueError, match="needs VGG-19 weights"):
        losses.make_loss("vgg")


def test_weight_schedules_and_total_loss(images):
    from film_tf.training.schedules import loss_weight_schedules

    y, pred = images
    style_weight = losses.piecewise_constant([1_500_000], [0.0, 40.0])
    vgg_weight = losses.piecewise_constant([1_500_000], [1.0, 0.25])
    for step, sw, vw in (
        (0, 0.0, 1.0),
        (1_500_000, 0.0, 1.0),
        (1_500_001, 40.0, 0.25),
        (3_000_000, 40.0, 0.25),
    ):
        assert float(style_weight(tf.constant(step, tf.int64))) == sw
        assert float(vgg_weight(tf.constant(step, tf.int64))) == vw
    with pytest.raises(ValueError, match="len\\(values\\)"):
        losses.piecewise_constant([1, 2], [1.0])

    schedules = loss_weight_schedules(
        2, parameters=[{"boundaries": [0], "values": [1.0, 1.0]}, {"boundaries": [10], "values": [0.0, 2.0]}]
    )
    terms = [
        losses.LossTerm("l1", losses.l1_loss, schedules[0]),
        losses.LossTerm("l2", losses.l2_loss, schedules[1]),
    ]
    example, prediction = {"y": tf.constant(y)}, {"image": tf.constant(pred)}
    l1 = float(losses.l1_loss(example, prediction))
    l2 = float(losses.l2_loss(example, prediction))
    total, values, weights = losses.total_loss(terms, example, prediction, tf.constant(5, tf.int64))
    np.testing.assert_allclose(float(total), l1, rtol=1e-6)
    assert float(weights["l2"]) == 0.0 and float(values["l2"]) == pytest.approx(l2, rel=1e-6)
    total, _, weights = losses.total_loss(terms, example, prediction, tf.constant(11, tf.int64))
    np.testing.assert_allclose(float(total), l1 + 2 * l2, rtol=1e-6)
    constant = loss_weight_schedules(2, weights=[0.5, 3.0])
    assert [float(s(tf.constant(0, tf.int64))) for s in constant] == [0.5, 3.0]
