"""Shared plumbing for the command-line binaries: flags and clean errors.

Every binary follows one pattern: `define_flags(fv)` declares its flags on a
given `FlagValues`, `_run(fv)` does the work, `main(argv)` runs it on fresh
FlagValues (for tests and other Python code) and `run_main()` is the console
script (global FLAGS, absl's --help). Flags are never defined at import, so
binaries with flags of the same name can share a process.
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

from absl import flags

# Mistakes a user can make (missing files, bad values); reported in one line.
USER_ERRORS = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)


class UserError(Exception):
    """An input problem the user can fix; reported as one line, exit code 2."""


def run_absl(main: Callable[[list[str]], None]) -> None:
    """`absl.app.run(main)`, but user mistakes end in `error: ...` and exit 2."""
    from absl import app

    def guarded(argv):
        try:
            main(argv)
        except (UserError, *USER_ERRORS) as e:
            message = str(e) or type(e).__name__
            if isinstance(e, OSError) and e.filename and e.strerror:
                message = f"{e.strerror}: '{e.filename}'"
            print(f"error: {message}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded)


def _reject_positional(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise UserError(f"Unexpected arguments: {' '.join(argv[1:])} (all options are --flags).")


def parse_flags(argv: Sequence[str], define: Callable) -> flags.FlagValues:
    """Fresh FlagValues holding `define`'s flags, parsed from `argv` (program
    name first); positional arguments are a UserError."""
    fv = flags.FlagValues()
    define(fv)
    _reject_positional(fv(list(argv)))
    return fv


def required(fv: flags.FlagValues, name: str):
    """The value of flag `name`, or a one-line UserError if it is unset."""
    value = fv[name].value
    if value is None or value == "":
        raise UserError(f"--{name} is required.")
    return value


def report(message: str) -> None:
    """The one line a successful command ends with, saying what it wrote
    (e.g. `wrote 9 frames to out/ (interpolated.mp4)`)."""
    print(message, flush=True)


def run_argv(argv: Sequence[str], define: Callable, run: Callable) -> None:
    """A binary's `main(argv)`: `run(parse_flags(argv, define))`."""
    run(parse_flags(argv, define))


def entry_points(
    define: Callable, run: Callable, usage: str | None = None
) -> tuple[Callable[[Sequence[str]], None], Callable[[], None]]:
    """A binary's two entry points: `main(argv)` (fresh FlagValues, program
    name first: for tests and Python callers, see `run_argv`) and `run_main()`
    (the console script, see `run_binary`). A binary module writes

        main, run_main = cli_utils.entry_points(define_flags, _run, __doc__)
    """

    def main(argv: Sequence[str]) -> None:
        run_argv(argv, define, run)

    def run_main() -> None:
        run_binary(define, run, usage)

    return main, run_main


def run_binary(define: Callable, run: Callable, usage: str | None = None) -> None:
    """A binary's `run_main()`: defines its flags on the global FLAGS, parses
    sys.argv with absl and calls `run(FLAGS)`, reporting user mistakes in one
    line (`run_absl`).

    The new flags are registered as the main module's key flags, so `--help`
    lists them whether started by `python -m` or a console script; `usage`
    (the library module's docstring) replaces a thin wrapper's in --help.
    """
    before = set(flags.FLAGS)
    define(flags.FLAGS)
    for name in sorted(set(flags.FLAGS) - before):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])
    main_module = sys.modules.get("__main__")
    # The __main__ module is a console-script or `python -m` wrapper here, whose
    # own docstring only points at the library module.
    if usage and main_module is not None:
        main_module.__doc__ = usage

    def absl_main(argv: list[str]) -> None:
        _reject_positional(argv)
        run(flags.FLAGS)

    run_absl(absl_main)
