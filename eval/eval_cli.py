"""`python -m eval.eval_cli`: see film_tf/evaluation/eval_cli.py for the flags."""

from film_tf.evaluation.eval_cli import run_main

if __name__ == "__main__":
    run_main()
