"""FILM's training losses and test metrics, selectable by name.

A loss is `fn(example, prediction) -> scalar`, with `example` holding the
ground truth `y` (B, H, W, 3) and `prediction` the model's output dict
(`image`, and `x0_warped`/`x1_warped` when the model has aux outputs).
Losses are minimised; the metrics with the same names report the usual
values (SSIM and PSNR with max value 1, higher is better):

  l1        mean |pred - y|                       (metric: the same)
  l2        mean (pred - y)^2                      (metric: the same, MSE)
  ssim      1 - mean SSIM(pred, y)                 (metric: mean SSIM)
  psnr      -mean PSNR(pred, y)                    (metric: mean PSNR, dB)
  l1_warped sum over warped inputs of mean |warped - y|
  vgg       perceptual VGG-19 loss (vgg19.vgg_loss)
  style     Gram-matrix style loss (vgg19.style_loss)

Each training term has a per-step weight schedule (`LossTerm`), piecewise
constant by step in the released configs.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import keras
import tensorflow as tf

from film_tf.losses import vgg19
from film_tf.model.interpolator import WARPED_OUTPUTS

LossFn = Callable[[dict, dict], tf.Tensor]


def _pred(prediction: dict) -> tf.Tensor:
    return tf.cast(prediction["image"], tf.float32)


def _y(example: dict) -> tf.Tensor:
    return tf.cast(example["y"], tf.float32)


def l1_loss(example: dict, prediction: dict) -> tf.Tensor:
    return tf.reduce_mean(tf.abs(_pred(prediction) - _y(example)))


def l2_loss(example: dict, prediction: dict) -> tf.Tensor:
    return tf.reduce_mean(tf.square(_pred(prediction) - _y(example)))


def _ssim(example: dict, prediction: dict) -> tf.Tensor:
    return tf.reduce_mean(tf.image.ssim(_pred(prediction), _y(example), max_val=1.0))


def _psnr(example: dict, prediction: dict) -> tf.Tensor:
    return tf.reduce_mean(tf.image.psnr(_pred(prediction), _y(example), max_val=1.0))


def ssim_loss(example: dict, prediction: dict) -> tf.Tensor:
    return 1.0 - _ssim(example, prediction)


def psnr_loss(example: dict, prediction: dict) -> tf.Tensor:
    return -_psnr(example, prediction)


def l1_warped_loss(example: dict, prediction: dict) -> tf.Tensor:
    """L1 of each warped input (x0 and x1 warped to the middle) against y."""
    terms = [
        tf.reduce_mean(tf.abs(tf.cast(prediction[k], tf.float32) - _y(example)))
        for k in WARPED_OUTPUTS
        if k in prediction
    ]
    if not terms:
        raise ValueError(
            "The l1_warped loss needs a model with aux outputs (film_net.use_aux_outputs = True)."
        )
    return tf.add_n(terms)


SIMPLE_LOSSES: dict[str, LossFn] = {
    "l1": l1_loss,
    "l2": l2_loss,
    "ssim": ssim_loss,
    "psnr": psnr_loss,
    "l1_warped": l1_warped_loss,
}
VGG_LOSSES = ("vgg", "style")
LOSS_NAMES = (*SIMPLE_LOSSES, *VGG_LOSSES)


def check_loss_names(names: Sequence[str], known: Sequence[str] = LOSS_NAMES, what: str = "loss") -> None:
    """Raises ValueError naming the first unknown name."""
    for name in names:
        if name not in known:
            raise ValueError(f"Unknown {what} '{name}'; known: {list(known)}.")


def make_loss(name: str, vgg: vgg19.Vgg19Features | None = None) -> LossFn:
    """The loss `name`; `vgg` (VGG-19 features) is needed for 'vgg' and 'style'."""
    check_loss_names([name])
    if name in SIMPLE_LOSSES:
        return SIMPLE_LOSSES[name]
    if vgg is None:
        raise ValueError(f"The '{name}' loss needs VGG-19 weights.")
    if name == "vgg":
        return lambda example, prediction: vgg19.vgg_loss(vgg, _y(example), _pred(prediction))
    return lambda example, prediction: vgg19.style_loss(vgg, _y(example), _pred(prediction))


class ConstantSchedule:
    """A weight that never changes (callable like a keras schedule)."""

    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self, step):
        return tf.constant(self.value, tf.float32)


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]):
    """values[0] for step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i],
    values[-1] after the last boundary (keras' PiecewiseConstantDecay, as the released configs)."""
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            f"A piecewise constant weight needs len(values) == len(boundaries) + 1, got "
            f"boundaries={list(boundaries)} values={list(values)}."
        )
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(b) for b in boundaries], [float(v) for v in values]
    )


@dataclasses.dataclass
class LossTerm:
    """One weighted term of the training loss."""

    name: str
    fn: LossFn
    weight: Callable  # step (int64 tensor) -> float32 weight

    def weight_at(self, step: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.weight(step), tf.float32)


def total_loss(
    terms: Sequence[LossTerm], example: dict, prediction: dict, step: tf.Tensor
) -> tuple[tf.Tensor, dict[str, tf.Tensor], dict[str, tf.Tensor]]:
    """sum_i weight_i(step) * loss_i; returns (total, {name: loss}, {name: weight}).

    A term whose weight is 0 at this step is still computed (so summaries
    show it), but contributes nothing.
    """
    values, weights = {}, {}
    total = tf.constant(0.0, tf.float32)
    for term in terms:
        value = tf.cast(term.fn(example, prediction), tf.float32)
        weight = term.weight_at(step)
        values[term.name] = value
        weights[term.name] = weight
        total += weight * value
    return total, values, weights
