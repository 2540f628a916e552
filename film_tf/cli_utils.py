"""Shared plumbing for the command-line binaries: flags, clean errors, quiet start.

Every binary follows one pattern: `define_flags(fv)` declares its flags on a
given `FlagValues`, `_run(fv)` does the work, `main(argv)` runs it on fresh
FlagValues (for tests and other Python code) and `run_main()` is the console
script (global FLAGS, absl's --help). Flags are never defined at import, so
binaries with flags of the same name can share a process.

The console scripts (`run_binary`) also:
- exit 0 after `--help` / `--helpfull` (absl exits 1), and exit 2 with one
  `error: ...` line on a bad flag, a stray argument or another user mistake;
- keep TensorFlow quiet unless `--verbose` (or FILM_TF_VERBOSE=1) is given:
  its C++ start-up lines, its Python INFO/WARNING logs and Keras/TensorFlow
  Python warnings are dropped (`quiet_tensorflow`).

This module imports only the standard library and absl.flags, so that a
binary answers `--help` and flag mistakes before TensorFlow is imported.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
import tempfile
import threading
from typing import Callable, Iterator, Sequence

from absl import flags

from film_tf.user_errors import error_line  # noqa: F401  (the binaries' one line)

# Mistakes a user can make (missing files, bad values); reported in one line.
USER_ERRORS = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)


# Every console script's --verbose, on the global FLAGS like absl's own --verbosity
# (defined here, at import, so that wrappers splitting argv, e.g. the Beam
# binaries' pipeline options, know it is a flag of the binary).
VERBOSE_FLAG = "verbose"
if VERBOSE_FLAG not in flags.FLAGS:
    flags.DEFINE_bool(
        VERBOSE_FLAG,
        False,
        "Show TensorFlow's start-up logs and warnings (also: environment FILM_TF_VERBOSE=1).",
    )


class UserError(Exception):
    """An input problem the user can fix; reported as one line, exit code 2."""


def _fail(message: str) -> None:
    """Prints `error: message` as one line on stderr and exits 2."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(2)


def parse_global_flags(argv: Sequence[str]) -> list[str]:
    """absl's flag parser for `app.run`, for people: `--help` and
    `--helpfull` print the help and exit 0, a bad flag is one `error:` line
    and exit 2 (absl prints a FATAL banner and usage, and exits 1)."""
    try:
        return flags.FLAGS(list(argv))
    except SystemExit as e:
        if e.code == 1:  # absl's help flags exit 1 after printing the help.
            sys.exit(0)
        raise
    except flags.Error as e:
        hint = " (--help lists the flags)" if isinstance(e, flags.UnrecognizedFlagError) else ""
        _fail(f"{e}{hint}")
    raise AssertionError("unreachable")


def run_absl(main: Callable[[list[str]], None], flags_parser: Callable | None = None) -> None:
    """`absl.app.run(main)`, but user mistakes end in `error: ...` and exit 2
    (`flags_parser`: absl's own by default)."""
    from absl import app

    def guarded(argv):
        try:
            main(argv)
        except (UserError, *USER_ERRORS) as e:
            _fail(error_line(e))

    if flags_parser is None:
        app.run(guarded)
    else:
        app.run(guarded, flags_parser=flags_parser)


def define_offline_flag(fv: flags.FlagValues) -> None:
    """--offline, for every binary that takes a model handle (`film_tf.formats.hub`)."""
    flags.DEFINE_bool(
        "offline",
        False,
        "Never download: a model handle must be in its cache already (the same as HF_HUB_OFFLINE=1).",
        flag_values=fv,
    )


def apply_offline(flag_values) -> None:
    """--offline forbids downloads for the rest of the process, as
    HF_HUB_OFFLINE=1 does (`film_tf.formats.hub.offline`; huggingface_hub
    reads it when imported, which happens only after this)."""
    if flag_values.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"


# ------------------------------------------------------------ quiet start


def verbose_requested(flag: bool = False) -> bool:
    """True if `--verbose` was given or FILM_TF_VERBOSE is 1/true/yes."""
    return flag or os.environ.get("FILM_TF_VERBOSE", "").strip().lower() in ("1", "true", "yes")


@contextlib.contextmanager
def _stderr_fd_captured() -> Iterator[None]:
    """Sends file descriptor 2 (where TensorFlow's C++ code logs) to a
    temporary file; replays it on stderr if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            captured.seek(0)
            os.write(2, captured.read())
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of the `tensorflow` package with fd 2 captured."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with _stderr_fd_captured():
            self._loader.exec_module(module)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` until it is imported, wrapping its loader in `_QuietLoader`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or name in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_LIBRARY_DIRS = ("tensorflow", "keras", "tf_keras", "tensorflow_core", "apache_beam")


class _LibraryInfoFilter:
    """A logging filter dropping INFO and WARNING records logged from
    TensorFlow, Keras or Apache Beam code (they log through absl, like the
    binaries)."""

    def filter(self, record) -> bool:
        import logging

        if record.levelno >= logging.ERROR:
            return True
        parts = os.path.normpath(record.pathname or "").split(os.sep)
        return not any(name in parts for name in _LIBRARY_DIRS)


def quiet_tensorflow() -> None:
    """Silences TensorFlow's start-up for a console script; call it before
    TensorFlow is imported (it does nothing to an imported TensorFlow's C++ logs).

    - TF_CPP_MIN_LOG_LEVEL=3 unless already set (drops e.g. `failed call to
      cuInit` on machines without a GPU);
    - the lines TensorFlow's libraries print while they load, before its log
      level applies ("All log messages before absl::InitializeLog() ...",
      oneDNN, CUDA drivers), are captured during `import tensorflow` and
      shown only if the import fails;
    - matplotlib's INFO logs (its font cache's "generated new fontManager"
      on a fresh install; mediapy imports it) are dropped;
    - TensorFlow's and Keras's Python logs show errors only: the
      `tensorflow` logger, and records of theirs on the `absl` logger, e.g.
      SavedModel's "contains input name(s) ... with unsupported characters
      which will be renamed to unknown_0 ..." (the binaries' own absl logs
      stay); Python warnings raised from TensorFlow or Keras code are ignored.
    """
    import logging
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # Beam logs on its own loggers and, at import (e.g. "apitools not found"), on the root one.
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    # mediapy imports matplotlib.pyplot, whose first import on a fresh install
    # logs "generated new fontManager" at INFO (absl's handler would print it).
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    for logger in (logging.getLogger("absl"), logging.getLogger()):
        if not any(isinstance(f, _LibraryInfoFilter) for f in logger.filters):
            logger.addFilter(_LibraryInfoFilter())
    warnings.filterwarnings("ignore", module=r"(tensorflow|keras|tf_keras)(\.|$)")
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


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


INTERRUPTED = "interrupted; rerun the same command to continue"


@contextlib.contextmanager
def interruptible(message: str = INTERRUPTED) -> Iterator[threading.Event]:
    """For a long job: yields an Event that Ctrl-C sets, for the job to check
    at every step (so an interrupt that some library swallowed still stops
    it), and turns the KeyboardInterrupt (or any error raised once Ctrl-C was
    pressed: a library may turn the interrupt into its own) into `message`
    on stderr and exit code 130. The previous SIGINT handler is restored after."""
    import signal

    cancel = threading.Event()

    def on_sigint(signum, frame):
        cancel.set()
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if main_thread else None
    try:
        yield cancel
    except KeyboardInterrupt:
        print(message, file=sys.stderr, flush=True)
        sys.exit(130)
    except Exception:
        if not cancel.is_set():
            raise
        # Ctrl-C landed inside a library that turned it into its own error
        # (TensorFlow binding a tf.function's inputs): still an interrupt.
        print(message, file=sys.stderr, flush=True)
        sys.exit(130)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)


def bare_bool_flag(argv: Sequence[str], name: str) -> list[str]:
    """`argv` with a bare `--name` (followed by another flag or nothing) as
    `--name=true`, for a string flag that may also stand alone."""
    out = []
    for i, arg in enumerate(argv):
        following = argv[i + 1] if i + 1 < len(argv) else None
        if arg == f"--{name}" and (following is None or following.startswith("--")):
            arg = f"--{name}=true"
        out.append(arg)
    return out


def report(message: str) -> None:
    """The one line a successful command ends with, saying what it wrote
    (e.g. `wrote 9 frames to out/ (interpolated.mp4)`)."""
    print(message, flush=True)


def run_argv(argv: Sequence[str], define: Callable, run: Callable) -> None:
    """A binary's `main(argv)`: `run(parse_flags(argv, define))`."""
    run(parse_flags(argv, define))


def entry_points(
    define: Callable, run: Callable, usage: str | None = None, fast_exit: bool = False
) -> tuple[Callable[[Sequence[str]], None], Callable[[], None]]:
    """A binary's two entry points: `main(argv)` (fresh FlagValues, program
    name first: for tests and Python callers, see `run_argv`) and `run_main()`
    (the console script, see `run_binary`; `fast_exit` likewise). A binary
    module writes

        main, run_main = cli_utils.entry_points(define_flags, _run, __doc__)
    """

    def main(argv: Sequence[str]) -> None:
        run_argv(argv, define, run)

    def run_main() -> None:
        run_binary(define, run, usage, fast_exit)

    return main, run_main


def run_binary(define: Callable, run: Callable, usage: str | None = None, fast_exit: bool = False) -> None:
    """A binary's `run_main()`: defines its flags (and `--verbose`) on the
    global FLAGS, parses sys.argv with absl (`parse_global_flags`), keeps
    TensorFlow quiet unless verbose (`quiet_tensorflow`) and calls
    `run(FLAGS)`, reporting user mistakes in one line (`run_absl`).

    The new flags are registered as the main module's key flags, so `--help`
    lists them whether started by `python -m` or a console script; `usage`
    (the library module's docstring) replaces a thin wrapper's in --help.

    `fast_exit`: once TensorFlow is loaded, end the process with `exit_now`
    on every exit code (success, a user error's 2, Ctrl-C's 130): for
    binaries whose every output is written, closed and renamed into place
    (or whose work folder is left resumable) by then; not training, whose
    summary writers flush at exit. Other exceptions end as usual.
    """
    before = set(flags.FLAGS)
    define(flags.FLAGS)
    for name in sorted(set(flags.FLAGS) - before) + [VERBOSE_FLAG]:
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])
    main_module = sys.modules.get("__main__")
    # The __main__ module is a console-script or `python -m` wrapper here, whose
    # own docstring only points at the library module.
    if usage and main_module is not None:
        main_module.__doc__ = usage

    def absl_main(argv: list[str]) -> None:
        _reject_positional(argv)
        if not verbose_requested(flags.FLAGS[VERBOSE_FLAG].value):
            quiet_tensorflow()
        run(flags.FLAGS)

    try:
        run_absl(absl_main, parse_global_flags)
    except SystemExit as e:
        if fast_exit and "tensorflow" in sys.modules:
            exit_now(e.code)
        raise


def exit_now(code: int | str | None = 0) -> None:
    """Ends the process at once, as `sys.exit(code)` would end it but without
    Python's and TensorFlow's teardown (freeing the graph runtime, thread
    pools and modules: about 1.5 s of a 7.5 s film-interpolate on 2 cores,
    benchmarks/RESULTS.md).
    Flushes stdout, stderr and logging first; nothing else may be pending."""
    import logging

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # What `sys.exit("message")` prints.
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # A closed pipe (`| head`) loses nothing of ours.
            stream.flush()
    os._exit(code or 0)
