"""What film-eval scores and where its frames go: the predictor of a
`--model_path` (a model or a classical baseline) and a predicted frame's file
name. Shared by the in-process loop (`eval_lib`) and the Beam workers
(`beam_eval`), so both load and name alike.
"""

from __future__ import annotations

import os
import re

from film_tf.evaluation.evaluator import Predictor
from film_tf.formats import hub

BASELINE_PREFIX = "baseline:"


def load_predictor(model_path: str, memory_budget_gb: float | None = None) -> Predictor:
    """`baseline:average`, `baseline:dis_flow`, or a model for
    `film_tf.runtime.inference.Interpolator` (our SavedModel, an official released
    SavedModel, our .weights.h5, or a model handle such as film-style), which pads to its alignment itself and
    tiles frames too large for `memory_budget_gb` (None: its default)."""
    from film_tf.evaluation.baselines import BASELINES

    if model_path.startswith(BASELINE_PREFIX):
        name = model_path[len(BASELINE_PREFIX) :]
        if name not in BASELINES:
            raise ValueError(
                f"Unknown baseline '{name}' in --model_path; choose from "
                + ", ".join(BASELINE_PREFIX + b for b in BASELINES)
                + "."
            )
        return BASELINES[name]
    if not (hub.is_handle(model_path) or os.path.exists(model_path)):
        raise FileNotFoundError(f"Model not found: '{model_path}'.")
    from film_tf.runtime.inference import Interpolator

    if memory_budget_gb is None:
        return Interpolator(model_path)
    return Interpolator(model_path, memory_budget_gb=memory_budget_gb)


def frame_name(index: int, path: str) -> str:
    """A unique, readable file name for example `index`'s predicted frame:
    the index, then the last three components of its path."""
    stem = os.path.splitext(path)[0].replace("\\", "/").replace("#", "_")
    tail = "_".join(p for p in stem.split("/")[-3:] if p)
    return f"{index:05d}_{re.sub(r'[^A-Za-z0-9._-]+', '_', tail)[:100]}.png"
