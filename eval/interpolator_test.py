"""`python -m eval.interpolator_test`, the official command: see film_tf/cli/official_commands.py."""

from film_tf.cli.official_commands import interpolator_test_run_main

if __name__ == "__main__":
    interpolator_test_run_main()
