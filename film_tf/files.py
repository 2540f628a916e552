"""Files and folders: atomic writes, output-path checks, natural order, image listing.

The one place that writes outputs so that nothing is ever partially written:
a file or folder is built under a hidden temporary name beside its target
and renamed onto it only when complete (`atomic_path`, `atomic_folder`). The
checks here run before any slow work, so a bad output path is reported
first, as one clear error.

No TensorFlow or CLI imports: every library module may use this.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from typing import Any, Iterator, Sequence

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
CACHE_ENV = "FILM_TF_CACHE"


class NotAFolderError(NotADirectoryError, FileExistsError):
    """A folder was wanted where a file exists (both of the OSErrors it names)."""


class NotWritableError(PermissionError):
    """No file can be created where an output should go (a read-only or
    special file system, no permission): a PermissionError, whatever the
    errno, so that the binaries report it in one line naming the user's path."""


# ---------------------------------------------------------------- order and listing


def natural_key(name: str) -> list:
    """Sort key under which 'frame2' < 'frame10' (digit runs compare as numbers, case ignored)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_images(folder: str, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> list[str]:
    """Paths of the image files (.png, .jpg, .jpeg, any case) directly in `folder`, in natural order."""
    names = [
        n
        for n in os.listdir(folder)
        if os.path.splitext(n)[1].lower() in extensions and os.path.isfile(os.path.join(folder, n))
    ]
    return [os.path.join(folder, n) for n in sorted(names, key=natural_key)]


def list_folders(folder: str) -> list[str]:
    """Names of the sub-folders directly in `folder`, in natural order."""
    names = [n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n))]
    return sorted(names, key=natural_key)


def cache_folder(*parts: str) -> str:
    """Where film_tf keeps what it works out once per machine (measured
    execution choices, converted weights): `$FILM_TF_CACHE`, default
    `~/.cache/film_tf`, joined with `parts`. Nothing is created here."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "film_tf")
    return os.path.join(root, *parts)


# ---------------------------------------------------------------- checks


def _existing_ancestor(path: str) -> str:
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    return parent


def check_parent_is_folder(path: str, verb: str = "write") -> None:
    """Raises NotADirectoryError if the nearest existing ancestor of `path` is
    a file, so that `path` could never be created ("Cannot <verb> ..."), and
    NotWritableError if no file can be created in it (`check_writable`)."""
    parent = _existing_ancestor(path)
    if parent and not os.path.isdir(parent):
        raise NotADirectoryError(f"Cannot {verb} '{path}': '{parent}' is a file, not a folder.")
    check_writable(path, verb)


def _not_writable(path: str, verb: str, folder: str, error: OSError) -> NotWritableError:
    reason = error.strerror or type(error).__name__
    return NotWritableError(f"Cannot {verb} '{path}': no file can be created in '{folder}' ({reason}).")


def check_writable(path: str, verb: str = "write") -> None:
    """Raises NotWritableError (one line naming `path`) unless a file can be
    created in the nearest existing folder of `path` (where `atomic_path`
    puts its temporary file, or the folders it creates): an empty hidden
    probe file is created and removed. Permission bits alone cannot tell
    (root ignores them; /proc refuses new files with ENOENT; a read-only
    mount with EROFS)."""
    parent = _existing_ancestor(path)
    if not parent or not os.path.isdir(parent):
        return
    try:
        fd, probe = tempfile.mkstemp(prefix=".film_tf.", suffix=".probe", dir=parent)
    except OSError as e:
        raise _not_writable(path, verb, parent, e) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.remove(probe)


def _join_extensions(extensions: Sequence[str]) -> str:
    return extensions[0] if len(extensions) == 1 else f"{', '.join(extensions[:-1])} or {extensions[-1]}"


def check_output_file(
    path: str,
    inputs: Sequence[str] = (),
    extensions: Sequence[str] | None = None,
    what: str = "output",
) -> None:
    """Raises a clear error if a file cannot be written at `path`.

    ValueError if `path` is one of the existing `inputs` (same real path) or
    does not end in one of `extensions` (any case; None: any ending);
    IsADirectoryError if it is a folder; NotADirectoryError if a parent is a
    file. `what` names the output in the messages ("output", "output video").
    """
    real = os.path.realpath(path)
    for source in inputs:
        if os.path.exists(source) and real == os.path.realpath(source):
            raise ValueError(f"The output '{path}' is an input; choose another output path.")
    example = f"out{extensions[0]}" if extensions else "out.png"
    if os.path.isdir(path):
        raise IsADirectoryError(f"The {what} '{path}' is a folder; give a file name such as {example}.")
    if extensions is not None and os.path.splitext(path)[1].lower() not in extensions:
        raise ValueError(f"The {what} '{path}' must end in {_join_extensions(extensions)}.")
    check_parent_is_folder(path, "write")


def check_output_folder(path: str, overwrite: bool = True) -> None:
    """Raises if a folder cannot be (re)placed at `path`.

    NotAFolderError (a NotADirectoryError and a FileExistsError) if `path`
    is a file, NotADirectoryError if a parent is one; FileExistsError if
    `path` is a non-empty folder and not `overwrite`. An empty folder is
    always fine.
    """
    if os.path.lexists(path) and not os.path.isdir(path):
        raise NotAFolderError(f"The output folder '{path}' is a file, not a directory; not replacing it.")
    check_parent_is_folder(path, "create")
    if not overwrite and os.path.isdir(path) and os.listdir(path):
        raise FileExistsError(
            f"'{path}' exists and is not empty; pass overwrite=True (--overwrite) to replace it."
        )


# ---------------------------------------------------------------- atomic writes


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _replace(tmp: str, path: str, user_path: str) -> None:
    """os.replace(tmp, path), its error naming the user's path (OSError picks
    the subclass of the errno: IsADirectoryError, PermissionError, ...)."""
    try:
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(e.errno, e.strerror, user_path) from None


@contextlib.contextmanager
def atomic_path(path: str, keep_name: bool = False) -> Iterator[str]:
    """Yields a temporary path beside `path`; renamed onto `path` on success,
    removed on failure, so `path` never holds a partial file.

    The temporary file is `.<name>.<random>.tmp<ext>` (the extension kept,
    for writers that infer the format from it); with `keep_name`, it is
    `<name>` itself inside a hidden temporary folder beside `path`, for
    writers that insist on the whole name (Keras' `.weights.h5`). Parent
    folders are created; the file gets the usual umask mode.
    """
    user_path = path
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    name = os.path.basename(path)
    base, ext = os.path.splitext(name)
    try:  # Errors name the user's path, never the temporary one.
        os.makedirs(parent, exist_ok=True)
        if keep_name:
            tmp_dir = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
        else:
            fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{ext}", dir=parent)
            os.close(fd)
    except NotADirectoryError:
        raise NotADirectoryError(
            f"Cannot write '{user_path}': a parent of it is a file, not a folder."
        ) from None
    except OSError as e:
        raise _not_writable(user_path, "write", _existing_ancestor(path), e) from None
    if keep_name:
        tmp = os.path.join(tmp_dir, name)
        try:
            yield tmp
            if os.path.exists(tmp):
                os.chmod(tmp, 0o666 & ~_umask())
            _replace(tmp, path, user_path)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        return
    # mkstemp makes the file private (0600); outputs get the usual umask mode.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        _replace(tmp, path, user_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_text_atomic(path: str, text: str) -> None:
    """Writes `text` to `path` (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def write_json_atomic(path: str, data: Any, indent: int | None = 1, **dump_kwargs) -> None:
    """Writes `data` as JSON (`json.dump(data, f, indent=indent, **dump_kwargs)`) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=indent, **dump_kwargs)


def publish_folder(tmp: str, path: str, overwrite: bool = True) -> None:
    """Renames the finished folder `tmp` onto `path` (checked by `check_output_folder`).

    An existing `path` is moved aside first and deleted only once `tmp` is
    in place; if that rename fails the old folder is put back, so `path`
    always holds one complete version.
    """
    check_output_folder(path, overwrite)
    if os.path.isdir(path) and not os.listdir(path):
        os.rmdir(path)
    if not os.path.exists(path):
        os.rename(tmp, path)
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".old", dir=os.path.dirname(path))
    os.rmdir(old)
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(path: str, overwrite: bool = True) -> Iterator[str]:
    """Yields an empty temporary folder beside `path`, published onto `path`
    on success (`publish_folder`) and deleted on failure, so `path` is never
    half written.

    The target is checked first (`check_output_folder`); with `overwrite`
    (the default) an existing folder is replaced, without it a non-empty one
    is a FileExistsError. The temporary name starts with a dot, which keeps
    it out of TF Serving's version scan (all-digit names) and of listings.
    The folder gets the usual umask mode.
    """
    path = os.path.abspath(path)
    check_output_folder(path, overwrite)
    parent = os.path.dirname(path)
    try:  # Errors name the user's path, never the temporary one.
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise _not_writable(path, "create", _existing_ancestor(path), e) from None
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's folder is private; the result should not be.
    try:
        yield tmp
        publish_folder(tmp, path, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
