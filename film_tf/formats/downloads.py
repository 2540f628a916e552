"""Downloads of model handles, for `film_tf.formats.hub`: TF Hub's compressed
format through tensorflow_hub's cache, Hugging Face repositories through
huggingface_hub's cache; both atomic (a download is complete under its final
name, or absent), both quiet unless FILM_TF_VERBOSE=1, both with a progress bar
on a terminal.

Each fetcher returns (folder, fresh, evict): the local folder, whether it was
downloaded now, and a function that removes it from the cache again (for a
download that is not a FILM model). Errors are `DownloadError`s, one line.
The optional packages are imported only when a fetcher runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import sys
from typing import Callable, Iterator

from film_tf.user_errors import error_line

HF_PREFIX = "hf://"
# The query tensorflow_hub's HttpCompressedFileResolver appends to every URL.
COMPRESSED_QUERY = ("tf-hub-format", "compressed")
OFFLINE_ENV = "HF_HUB_OFFLINE"
# Seconds without any bytes before a download is given up.
SOCKET_TIMEOUT_S = 60
LOCAL_FOLDER_HINT = "the model can also be passed as a local folder: see README"
INSTALL_HINT = 'pip install "film_tf[hub]"'


class DownloadError(ValueError):
    """A handle that could not be fetched (network, missing package, offline
    without a cached copy): one line for the user."""


def offline() -> bool:
    """Whether downloads are forbidden: HF_HUB_OFFLINE is 1/true/yes/on."""
    return os.environ.get(OFFLINE_ENV, "").strip().upper() in ("1", "TRUE", "YES", "ON")


def failed(handle: str, reason: str) -> DownloadError:
    """The one line of a download that did not work (network, HTTP, archive)."""
    return DownloadError(f"could not download {handle} ({reason}); {LOCAL_FOLDER_HINT}")


def not_cached(handle: str, where: str) -> DownloadError:
    """The one line of a handle missing from its cache `where` while offline."""
    return DownloadError(
        f"{handle} is not in the cache ({where}) and downloads are off (--offline or {OFFLINE_ENV}=1); "
        f"run once with a network, or {LOCAL_FOLDER_HINT}"
    )


def _import(module: str, handle: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise DownloadError(
            f"{handle} needs the package {module.split('.')[0]} ({INSTALL_HINT}): {e}; {LOCAL_FOLDER_HINT}"
        ) from None


# ------------------------------------------------------------------ TF Hub


def compressed_url(url: str) -> str:
    """`url` with tf-hub-format=compressed added to its query, as tensorflow_hub asks for it."""
    import urllib.parse

    parsed = list(urllib.parse.urlparse(url))
    parsed[4] = urllib.parse.urlencode([*urllib.parse.parse_qsl(parsed[4]), COMPRESSED_QUERY])
    return urllib.parse.urlunparse(parsed)


def tfhub_module_dir(url: str) -> str:
    """Where tensorflow_hub caches `url` (it need not exist): its cache
    folder (`resolver.tfhub_cache_dir`: $TFHUB_CACHE_DIR or <tmp>/tfhub_modules) / sha1(url)."""
    resolver = _import("tensorflow_hub.resolver", url)
    with _quiet_logs():
        cache = resolver.tfhub_cache_dir(use_temp=True)
    return os.path.join(cache, hashlib.sha1(url.encode("utf8")).hexdigest())


# The loggers of the download libraries, quiet while they work.
_CHATTY_LOGGERS = ("httpx", "httpx2", "huggingface_hub")


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """The download libraries' INFO logs (tensorflow_hub's 'Using ... to cache
    modules', httpx's 'HTTP Request: GET ...') hidden, so that an error stays
    one line; FILM_TF_VERBOSE=1 keeps them."""
    import logging as std_logging

    from absl import logging

    if os.environ.get("FILM_TF_VERBOSE", "").strip().lower() in ("1", "true", "yes"):
        yield
        return
    verbosity = logging.get_verbosity()
    loggers = [std_logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    logging.set_verbosity(min(verbosity, logging.WARNING))  # absl: larger is more verbose.
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), std_logging.WARNING))
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _remove_stale_lock(module_dir: str) -> None:
    """Removes the lock (and partial folder) of a download killed on this
    machine: tensorflow_hub would wait for it for 10 minutes before stealing it."""
    lock = module_dir + ".lock"
    try:
        with open(lock) as f:
            host, pid, task = f.read().rsplit(".", 2)
        alive = host != socket.gethostname() or _pid_alive(int(pid))
    except (OSError, ValueError):
        return  # No lock, or one this process cannot judge.
    if not alive:
        shutil.rmtree(f"{module_dir}.{task}.tmp", ignore_errors=True)
        try:
            os.remove(lock)
        except FileNotFoundError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Progress:
    """A readable wrapper of an HTTP response that counts bytes into a tqdm
    bar (on stderr, shown when it is a terminal) with the response's size."""

    def __init__(self, response, url: str):
        from tqdm import tqdm

        size = response.headers.get("Content-Length")
        self._response = response
        self._bar = tqdm(
            total=int(size) if size and size.isdigit() else None,
            unit="B",
            unit_scale=True,
            desc=f"downloading {url}",
            file=sys.stderr,
            disable=None,  # Only on a terminal: logs and tests keep one line per error.
            leave=False,
        )

    def read(self, n: int = -1) -> bytes:
        data = self._response.read(n)
        self._bar.update(len(data))
        return data

    def close(self) -> None:
        self._bar.close()


def fetch_tfhub(url: str) -> tuple[str, bool, Callable[[], None]]:
    """(folder, fresh, evict) of a TF Hub compressed-format URL, through
    tensorflow_hub's own cache protocol (`resolver.atomic_download`: a lock
    file beside the module folder, the archive unpacked into
    `<module>.<uid>.tmp` and renamed into place only when complete)."""
    module_dir = tfhub_module_dir(url)
    cache = os.path.dirname(module_dir)
    created = not os.path.isdir(cache)  # A cache folder this download makes goes with it.

    def evict() -> None:
        # Renamed first, so that no other process finds half a folder.
        doomed = f"{module_dir}.{os.getpid()}.evicted"
        if os.path.isdir(module_dir):
            os.rename(module_dir, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
        for stray in (module_dir + ".descriptor.txt",):
            if os.path.exists(stray):
                os.remove(stray)
        if created:
            _remove_if_empty(cache)

    if os.path.isdir(module_dir) and os.listdir(module_dir):
        return module_dir, False, evict  # tensorflow_hub's own test of a cached module.
    if offline():
        raise not_cached(url, module_dir)
    resolver = _import("tensorflow_hub.resolver", url)
    file_utils = _import("tensorflow_hub.file_utils", url)
    downloaded = []

    def download(handle: str, tmp_dir: str) -> None:
        import urllib.request

        response = urllib.request.urlopen(compressed_url(handle), timeout=SOCKET_TIMEOUT_S)
        progress = _Progress(response, handle)
        try:
            file_utils.extract_tarfile_to_destination(progress, tmp_dir)
        finally:
            progress.close()
        downloaded.append(True)

    _remove_stale_lock(module_dir)
    try:
        os.makedirs(os.path.dirname(module_dir), exist_ok=True)
        with _quiet_logs():
            folder = resolver.atomic_download(url, download, module_dir)
    except Exception as e:  # HTTP errors, refused connections, a truncated or foreign archive.
        if created:
            _remove_if_empty(cache)
        raise failed(url, _reason(e)) from None
    return folder, bool(downloaded), evict


def _remove_if_empty(folder: str) -> None:
    """Removes `folder` if it is empty (another process may have filled it meanwhile)."""
    with contextlib.suppress(OSError):
        os.rmdir(folder)


def _reason(error: BaseException) -> str:
    """Why a download failed, in a few words."""
    import tarfile
    import urllib.error
    import zlib

    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, (tarfile.TarError, EOFError, zlib.error)):
        return f"not a complete .tar.gz archive: {error_line(error)}"
    return error_line(error)


# ------------------------------------------------------------ Hugging Face


def hf_parts(handle: str) -> tuple[str, str]:
    """(repo_id, subfolder) of hf://owner/repo[/subfolder] ('' for the top).

    Raises:
      ValueError: not owner/repo after hf://.
    """
    parts = [p for p in handle[len(HF_PREFIX) :].split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"'{handle}' is not a Hugging Face handle: expected hf://owner/repo[/subfolder].")
    return "/".join(parts[:2]), "/".join(parts[2:])


def fetch_hf(handle: str) -> tuple[str, bool, Callable[[], None]]:
    """(folder, fresh, evict) of an hf:// handle: the cached snapshot of the
    repository's main branch if complete (no network: `local_files_only`),
    else `snapshot_download` (each file downloaded to `<blob>.incomplete` and
    renamed when complete; huggingface_hub's progress bars show sizes)."""
    repo_id, subfolder = hf_parts(handle)
    hub = _import("huggingface_hub", handle)
    errors = _import("huggingface_hub.errors", handle)
    constants = _import("huggingface_hub.constants", handle)
    file_download = _import("huggingface_hub.file_download", handle)
    patterns = [f"{subfolder}/*"] if subfolder else None
    storage = os.path.join(
        constants.HF_HUB_CACHE, file_download.repo_folder_name(repo_id=repo_id, repo_type="model")
    )

    existed = os.path.isdir(storage)  # Other revisions, subfolders or tools' files: never evicted.
    snapshot = ""

    def evict() -> None:
        if not existed:
            shutil.rmtree(storage, ignore_errors=True)
        elif snapshot:  # Only what this download added: its snapshot's links (blobs stay).
            shutil.rmtree(os.path.join(snapshot, subfolder) if subfolder else snapshot, ignore_errors=True)

    fresh = False
    try:
        snapshot = hub.snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True)
    except errors.LocalEntryNotFoundError:
        if offline():
            raise not_cached(handle, storage) from None
        try:
            with _quiet_logs(), _hf_bars(_import("huggingface_hub.utils", handle)):
                snapshot = hub.snapshot_download(repo_id, allow_patterns=patterns)
        except Exception as e:  # No network, no such repository, a gated one.
            evict()  # A repository folder this attempt created: no stray refs or tree cache.
            raise failed(handle, _hf_reason(e)) from None
        fresh = True
    folder = os.path.join(snapshot, subfolder) if subfolder else snapshot
    if not os.path.isdir(folder):
        if fresh:
            evict()
        raise FileNotFoundError(f"'{handle}': the repository has no folder '{subfolder}'.")
    return folder, fresh, evict


@contextlib.contextmanager
def _hf_bars(utils) -> Iterator[None]:
    """huggingface_hub's progress bars (file count and sizes) only on a
    terminal, as ours: logs and piped output keep one line per error."""
    hide = not sys.stderr.isatty() and not utils.are_progress_bars_disabled()
    if hide:
        utils.disable_progress_bars()
    try:
        yield
    finally:
        if hide:
            utils.enable_progress_bars()


def _hf_reason(error: BaseException) -> str:
    """Why huggingface_hub failed, in a few words: the HTTP status as for TF
    Hub URLs ('HTTP 404 Not Found'), else its first sentence."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status:
        return f"HTTP {status} {getattr(response, 'reason_phrase', '')}".rstrip()
    cause = error.__cause__ or error  # LocalEntryNotFoundError wraps the network's error.
    return error_line(cause).split(". ")[0]
