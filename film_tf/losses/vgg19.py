"""VGG-19 features for FILM's perceptual (VGG) and style (Gram) losses.

The released FILM configs load ImageNet VGG-19 from the MatConvNet file
`imagenet-vgg-verydeep-19.mat` and build the network by hand with 2x2
AVERAGE pooling in place of max pooling. Inputs are RGB scaled to [0, 255]
with the ImageNet mean (123.68, 116.779, 103.939) subtracted.

Keras' `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5` holds the same
network converted from Caffe, which expects BGR input: its first kernel's
input channels are reversed on load, so both files are used identically.

MatConvNet file structure (as read by `scipy.io.loadmat`): `layers` is a
1xL cell array of structs; a conv layer has `name` ('conv1_1', ...), `type`
('conv') and `weights`, a 1x2 cell {kernel (kh, kw, cin, cout), bias (cout,
1)}. ReLU and pooling layers have no weights.
"""

from __future__ import annotations

import os
import re

import numpy as np
import tensorflow as tf

# conv layers of VGG-19 up to the deepest one FILM uses (conv5_2), in order;
# a 2x2 average pool follows the last conv of each of the first four blocks.
BLOCK_DEPTHS = (2, 2, 4, 4, 2)
CONV_LAYERS = tuple(f"conv{b + 1}_{c + 1}" for b, n in enumerate(BLOCK_DEPTHS) for c in range(n))
FEATURE_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
LAYER_WEIGHTS = (1.0 / 2.6, 1.0 / 4.8, 1.0 / 3.7, 1.0 / 5.6, 10.0 / 1.5)
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)

MAT_FILE = "imagenet-vgg-verydeep-19.mat"
MAT_URL = "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat"
H5_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
H5_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
)

Weights = dict[str, tuple[np.ndarray, np.ndarray]]


def missing_weights_message(path: str | None, binding: str = "vgg.vgg_model_file") -> str:
    where = f"not found at '{path}'" if path else "not configured"
    return (
        f"VGG-19 weights {where}: the vgg and style losses need the MatConvNet file {MAT_FILE} "
        f"({MAT_URL}) or Keras' {H5_FILE} ({H5_URL}); download one (nothing is downloaded for you) "
        f"and pass it with --gin_bindings=\"{binding}='/path/to/file'\"."
    )


def _read_mat(path: str) -> Weights:
    import scipy.io

    with tf.io.gfile.GFile(path, "rb") as f:
        try:
            data = scipy.io.loadmat(f)
        except Exception as e:  # scipy raises several types for foreign files.
            raise ValueError(f"Cannot read MatConvNet file '{path}': {e}") from None
    if "layers" not in data:
        raise ValueError(f"'{path}' has no 'layers' cell array; is it a MatConvNet VGG-19 model?")
    weights = {}
    for cell in np.asarray(data["layers"]).ravel():
        layer = cell.ravel()[0] if isinstance(cell, np.ndarray) and cell.dtype == object else cell
        layer = np.asarray(layer).ravel()[0]
        names = layer.dtype.names or ()
        if "name" not in names or "weights" not in names:
            continue
        name = str(np.asarray(layer["name"]).ravel()[0])
        if not re.fullmatch(r"conv\d_\d", name):
            continue
        w = np.asarray(layer["weights"]).ravel()
        kernel = np.asarray(w[0], np.float32)
        bias = np.asarray(w[1], np.float32).reshape(-1)
        weights[name] = (kernel, bias)
    return weights


def _read_h5(path: str) -> Weights:
    import h5py

    weights = {}
    with tf.io.gfile.GFile(path, "rb") as f, h5py.File(f, "r") as h5:
        for name in CONV_LAYERS:
            block, conv = name[4], name[6]
            key = f"block{block}_conv{conv}"
            if "layers" in h5 and key in h5["layers"]:  # Keras 3 `.weights.h5`.
                group = h5["layers"][key]["vars"]
                kernel, bias = group["0"][()], group["1"][()]
            elif key in h5:  # Keras 2 `save_weights` HDF5 (the applications file).
                group = h5[key]
                names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
                kernel, bias = group[names[0]][()], group[names[1]][()]
            else:
                continue
            weights[name] = (np.asarray(kernel, np.float32), np.asarray(bias, np.float32).reshape(-1))
    if "conv1_1" in weights:
        # Caffe-converted weights expect BGR input; reverse to take RGB.
        kernel, bias = weights["conv1_1"]
        weights["conv1_1"] = (kernel[:, :, ::-1, :].copy(), bias)
    return weights


def load_vgg19_weights(path: str | None, binding: str = "vgg.vgg_model_file") -> Weights:
    """Reads VGG-19 conv weights (conv1_1 .. conv5_2) from a `.mat` or `.h5` file.

    Returns:
      {layer name: (kernel (kh, kw, cin, cout) float32, bias (cout,) float32)},
      the first kernel taking RGB input.

    Raises:
      FileNotFoundError: no file (the message names both accepted files and
        where to get them).
      ValueError: the file is not a VGG-19 model of the expected structure.
    """
    if not path or not tf.io.gfile.exists(path):
        raise FileNotFoundError(missing_weights_message(path, binding))
    ext = os.path.splitext(path)[1].lower()
    if ext == ".mat":
        weights = _read_mat(path)
    elif ext in (".h5", ".hdf5", ".keras"):
        weights = _read_h5(path)
    else:
        raise ValueError(f"'{path}': expected a MatConvNet {MAT_FILE} (.mat) or Keras {H5_FILE} (.h5).")
    missing = [n for n in CONV_LAYERS if n not in weights]
    if missing:
        raise ValueError(f"'{path}' lacks VGG-19 layers {missing}; is it {MAT_FILE} or {H5_FILE}?")
    cin = 3
    for name in CONV_LAYERS:
        kernel, bias = weights[name]
        if kernel.ndim != 4 or kernel.shape[2] != cin or bias.shape != (kernel.shape[3],):
            raise ValueError(
                f"'{path}': layer {name} has kernel {list(kernel.shape)} and bias {list(bias.shape)}; "
                f"expected (kh, kw, {cin}, cout) and (cout,)."
            )
        cin = kernel.shape[3]
    return {n: weights[n] for n in CONV_LAYERS}


class Vgg19Features:
    """VGG-19 (average pooling) up to conv5_2, weights as frozen tf.Variables.

    Create it under the distribution strategy's scope so the weights are
    mirrored to every replica.
    """

    def __init__(self, weights: Weights):
        self.kernels = {}
        self.biases = {}
        for name in CONV_LAYERS:
            kernel, bias = weights[name]
            self.kernels[name] = tf.Variable(kernel, trainable=False, name=f"vgg19/{name}/kernel")
            self.biases[name] = tf.Variable(bias, trainable=False, name=f"vgg19/{name}/bias")

    def __call__(self, image_255: tf.Tensor) -> dict[str, tf.Tensor]:
        """Features of (B, H, W, 3) RGB images in [0, 255] (mean not yet removed).

        Returns:
          {conv name: (B, h, w, c)} after ReLU, for every conv up to conv5_2.
        """
        net = tf.cast(image_255, tf.float32) - tf.constant(IMAGENET_MEAN_RGB, tf.float32)
        features = {}
        for b, depth in enumerate(BLOCK_DEPTHS):
            if b > 0:
                net = tf.nn.avg_pool2d(net, ksize=2, strides=2, padding="SAME")
            for c in range(depth):
                name = f"conv{b + 1}_{c + 1}"
                net = tf.nn.conv2d(net, self.kernels[name], strides=1, padding="SAME")
                net = tf.nn.relu(net + self.biases[name])
                features[name] = net
        return features


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """(B, H, W, C) -> (B, C, C) Gram matrices F^T F / (H * W)."""
    shape = tf.shape(features)
    flat = tf.reshape(features, (shape[0], shape[1] * shape[2], shape[3]))
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(shape[1] * shape[2], features.dtype)


def vgg_loss(
    vgg: Vgg19Features, y: tf.Tensor, prediction: tf.Tensor, layer_weights=LAYER_WEIGHTS
) -> tf.Tensor:
    """Perceptual loss: sum_l w_l mean|phi_l(255 y) - phi_l(255 pred)|, divided by 255."""
    ref = vgg(tf.cast(y, tf.float32) * 255.0)
    out = vgg(tf.cast(prediction, tf.float32) * 255.0)
    loss = tf.add_n(
        [w * tf.reduce_mean(tf.abs(ref[n] - out[n])) for n, w in zip(FEATURE_LAYERS, layer_weights)]
    )
    return loss / 255.0


def style_loss(
    vgg: Vgg19Features, y: tf.Tensor, prediction: tf.Tensor, layer_weights=LAYER_WEIGHTS
) -> tf.Tensor:
    """Style (Gram) loss: sum_l w_l mean((G(phi_l / 255)(y) - G(phi_l / 255)(pred))^2)."""
    ref = vgg(tf.cast(y, tf.float32) * 255.0)
    out = vgg(tf.cast(prediction, tf.float32) * 255.0)
    terms = []
    for n, w in zip(FEATURE_LAYERS, layer_weights):
        diff = gram_matrix(ref[n] / 255.0) - gram_matrix(out[n] / 255.0)
        terms.append(w * tf.reduce_mean(tf.square(diff)))
    return tf.add_n(terms)
