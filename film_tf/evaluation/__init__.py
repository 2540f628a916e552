"""Benchmark evaluation: metrics, baselines, the evaluation loop and the film-eval binary."""
