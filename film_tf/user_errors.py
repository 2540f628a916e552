"""How a user's mistake reads: one line, for the binaries and the web page alike.

Library code (the web page's jobs) and the binaries' plumbing
(`film_tf.cli_utils`, which prefixes `error: `) both use `error_line`, so a
missing file or a bad value reads the same everywhere.
"""

from __future__ import annotations


def error_line(error: BaseException) -> str:
    """A user error as one line, without the `error: ` prefix: an OSError as
    `<reason>: '<file>'`, anything else as its message with line breaks
    folded (the class name when it has no message). The binaries and the web
    page both report errors through this."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.strerror}: '{error.filename}'"
    return " ".join(str(error).split()) or type(error).__name__
