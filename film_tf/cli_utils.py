"""Shared plumbing for the command-line binaries: clean errors, atomic writes."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Callable, Iterator

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


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path beside `path`; renamed onto `path` on success,
    removed on failure, so `path` never holds a partial file."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{ext}", dir=parent)
    os.close(fd)
    # mkstemp makes the file private (0600); outputs get the usual umask mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def check_parent_is_folder(path: str, verb: str = "write") -> None:
    """Raises NotADirectoryError if the nearest existing ancestor of `path` is
    a file, so that `path` could never be created ("Cannot <verb> ...")."""
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise NotADirectoryError(f"Cannot {verb} '{path}': '{parent}' is a file, not a folder.")
