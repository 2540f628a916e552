"""`python -m eval.interpolator_cli`, the official command: see film_tf/cli/official_commands.py."""

from film_tf.cli.official_commands import interpolator_cli_run_main

if __name__ == "__main__":
    interpolator_cli_run_main()
