"""Running a model on frames: `Interpolator`, and how each call is executed.

  inference.py         `Interpolator(model_path)`: any model kind (through
                       `film_tf.formats.model_io`), padding, batching, tiling, precision.
  passes.py            `KerasPasses`: the compiled forward passes of a Keras model.
  execution_choice.py  the fastest float32 path per machine (plain or Winograd),
                       measured once and cached; the `--precision auto` rule.
  tiling.py            the one memory plan: overlapping tiles that fit a budget.
  memory_cost.py       its inputs: memory per pixel of a pass, a pair's state, a synthesis.
  times.py             several times of one pair: features and flows once.
  padding.py           the one padding to the model's alignment, and the crop back.
  timed.py             frames at any times between consecutive frames, streaming (the jobs' driver).
  recursive.py         recursive in-betweening (2^k - 1 frames per pair), streaming: the dyadic reference.

May import: `film_tf.formats`, `film_tf.model` and the top-level helpers; never
`media`, `jobs`, `serving` or anything above.
"""
