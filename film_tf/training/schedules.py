"""Learning-rate and loss-weight schedules (by training step)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras

from film_tf.losses.losses import ConstantSchedule, piecewise_constant


def learning_rate_schedule(
    learning_rate: float,
    decay_steps: int,
    decay_rate: float,
    staircase: bool = True,
    kind: str = "exponential",
    alpha: float = 0.0,
) -> keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate by step.

    'exponential': lr(step) = learning_rate * decay_rate^(step / decay_steps),
    floored if staircase (released: 1e-4 * 0.464158^floor(step / 750000)).
    'cosine': from learning_rate down to learning_rate * alpha at step
    decay_steps, then constant (for short fine-tuning stages).
    """
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=decay_steps, alpha=alpha)
    if kind != "exponential":
        raise ValueError(f"Unknown learning-rate schedule {kind!r}: 'exponential' or 'cosine'.")
    return keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=decay_steps, decay_rate=decay_rate, staircase=staircase
    )


def loss_weight_schedules(
    num_losses: int,
    weights: Sequence[float] | None = None,
    schedules: Sequence[Callable] | None = None,
    parameters: Sequence[dict[str, Any]] | None = None,
) -> list[Callable]:
    """Per-loss weight schedules.

    Either constant `weights`, or the released form: `schedules` (callables,
    e.g. PiecewiseConstantDecay) built with `parameters` (kwargs dicts, e.g.
    {'boundaries': [1500000], 'values': [1.0, 0.25]}). With neither, every
    weight is 1.
    """
    if schedules is not None or parameters is not None:
        schedules = list(schedules or [])
        parameters = list(parameters or [])
        if len(parameters) != num_losses:
            raise ValueError(
                f"training_losses.loss_weight_parameters has {len(parameters)} entries for {num_losses} losses."
            )
        if not schedules:
            schedules = [None] * num_losses
        if len(schedules) != num_losses:
            raise ValueError(
                f"training_losses.loss_weight_schedules has {len(schedules)} entries for {num_losses} losses."
            )
        out = []
        for schedule, params in zip(schedules, parameters):
            if not isinstance(params, dict):
                raise ValueError(f"A loss weight parameter must be a dict, got {params!r}.")
            if schedule is None or getattr(schedule, "__name__", "") == "PiecewiseConstantDecay":
                out.append(piecewise_constant(**params))
            else:
                out.append(schedule(**params))
        return out
    if weights is None:
        weights = [1.0] * num_losses
    if len(weights) != num_losses:
        raise ValueError(f"training_losses.loss_weights has {len(weights)} entries for {num_losses} losses.")
    return [ConstantSchedule(w) for w in weights]
