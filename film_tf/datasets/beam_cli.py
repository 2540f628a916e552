"""Command lines that take both absl flags and Beam pipeline options.

absl rejects flags it does not know, and Beam's options (`--runner`,
`--direct_num_workers`, `--project`, `--flink_master`, ...) are open-ended, so
the command line is split before absl sees it: every `--name[=value]` (with
its value when given as the next word) whose name is one of the binary's absl
flags (or `--no<name>`, or absl's own `--help`, `--flagfile`, ...) goes to
absl, every other one is a Beam pipeline option, passed to Beam untouched.
Beam then rejects options it does not know either (`check_pipeline_args`), so
a typo is still one clear error.

Imports only the standard library, absl.flags and film_tf.cli_utils: binaries
built with it answer `--help` without importing TensorFlow or Beam.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Callable, Sequence

from absl import flags

from film_tf import cli_utils
from film_tf.datasets.beam_pipeline import INSTALL_HINT

# absl.app's own flags (defined when a binary starts).
_ABSL_FLAGS = {
    "help", "helpshort", "helpfull", "helpxml", "flagfile", "undefok", "only_check_args",
    "pdb", "pdb_post_mortem", "run_with_pdb", "run_with_profiling", "profile_file",
    "use_cprofile_for_profiling", "verbose",
}  # fmt: skip

BEAM_USAGE = """
Beam pipeline options: any flag that is not one of the above is passed to Beam
untouched. Default: the in-process runner on every core, as if given
`--runner=FnApiRunner --direct_num_workers=0 --direct_running_mode=multi_threading`
(a builder's --num_workers sets --direct_num_workers).
Other examples: `--direct_num_workers=2 --direct_running_mode=multi_processing`,
`--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp`,
`--runner=SparkRunner --spark_master_url=spark://host:7077`.
"""


def split_argv(argv: Sequence[str], define: Callable) -> tuple[list[str], list[str]]:
    """(the program name and absl's flags, the Beam options) of `argv`."""
    fv = flags.FlagValues()
    define(fv)
    known = set(fv) | set(flags.FLAGS) | _ABSL_FLAGS
    absl_args, beam_args = [argv[0]], []
    target = absl_args
    for arg in argv[1:]:
        if arg.startswith("--") and len(arg) > 2:
            name = arg[2:].split("=", 1)[0]
            is_absl = name in known or (name.startswith("no") and name[2:] in known)
            target = absl_args if is_absl else beam_args
        elif arg == "--":
            target = absl_args
        target.append(arg)
    return absl_args, beam_args


def check_beam_args(beam_args: Sequence[str]) -> None:
    """Fails fast, before any TensorFlow import, on an option that is neither
    this binary's flag nor a Beam pipeline option (a typo), with the same one
    line as absl's unknown-flag error. Without Beam installed nothing is
    checked here: the builder then says what to install."""
    if not beam_args or importlib.util.find_spec("apache_beam") is None:
        return
    from film_tf.jobs.beam_options import unknown_pipeline_args

    unknown = [a for a in unknown_pipeline_args(beam_args) if a.startswith("--")]
    if unknown:
        name = unknown[0][2:].split("=", 1)[0]
        raise cli_utils.UserError(f"Unknown command line flag '{name}' (--help lists the flags)")


def require_beam(hint: str = INSTALL_HINT) -> None:
    """A one-line UserError (`hint`) saying what to install when Beam is missing."""
    if importlib.util.find_spec("apache_beam") is None:
        raise cli_utils.UserError(hint)


def entry_points(
    define: Callable,
    run: Callable[[flags.FlagValues, list[str]], None],
    usage: str | None = None,
    fast_exit: bool = False,
    prepare: Callable[[Sequence[str]], list[str]] = list,
) -> tuple[Callable[[Sequence[str]], None], Callable[[], None]]:
    """`main(argv)` and `run_main()` as in `cli_utils.entry_points` (`fast_exit`
    likewise), for a `run(fv, beam_args)` that also takes the Beam pipeline
    options; `prepare` rewrites the command line first (e.g.
    `cli_utils.bare_bool_flag`)."""
    usage = (usage or "") + BEAM_USAGE

    def checked_run(fv: flags.FlagValues, beam_args: list[str]) -> None:
        check_beam_args(beam_args)
        run(fv, beam_args)

    def main(argv: Sequence[str]) -> None:
        absl_argv, beam_args = split_argv(prepare(argv), define)
        cli_utils.run_argv(absl_argv, define, lambda fv: checked_run(fv, beam_args))

    def run_main() -> None:
        absl_argv, beam_args = split_argv(prepare(sys.argv), define)
        sys.argv[:] = absl_argv
        cli_utils.run_binary(define, lambda fv: checked_run(fv, beam_args), usage, fast_exit)

    return main, run_main
