"""Benchmark evaluation: metrics, baselines, the evaluation loop and the film-eval binary.

  metrics.py     the one metric code (L1, L2, PSNR, SSIM), shared with training.
  evaluator.py   the one evaluator: predictions over triplets -> per-example rows and means.
  predictors.py  what a --model_path scores (a model or a baseline) and frame file names.
  baselines.py   classical baselines: average, DIS optical flow.
  eval_lib.py    film-eval's work in one process; beam_eval.py: the same on Apache Beam.
  eval_cli.py    the film-eval binary.

May import every layer below training/ (runtime, media, data, datasets' Beam pipeline).
"""
