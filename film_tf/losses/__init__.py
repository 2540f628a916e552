"""FILM losses: L1/L2/SSIM/PSNR, warped L1, VGG-19 perceptual and style (Gram)."""

from film_tf.losses.losses import (
    LOSS_NAMES,
    LossTerm,
    make_loss,
    piecewise_constant,
    total_loss,
)
from film_tf.losses.vgg19 import Vgg19Features, load_vgg19_weights, style_loss, vgg_loss

__all__ = [
    "LOSS_NAMES",
    "LossTerm",
    "Vgg19Features",
    "load_vgg19_weights",
    "make_loss",
    "piecewise_constant",
    "style_loss",
    "total_loss",
    "vgg_loss",
]
