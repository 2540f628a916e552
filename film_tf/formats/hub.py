"""Released FILM models by name or URL: downloaded once, cached, verified.

A model handle is one of
  a short name  of `RELEASED` (`film-style`, `film-l1`, `film-vgg`), which
                stands for its handle;
  a URL         (http:// or https://) of a SavedModel in TF Hub's compressed
                format: a .tar.gz of the SavedModel folder, fetched as
                `URL?tf-hub-format=compressed` (how tensorflow_hub asks
                tfhub.dev and Kaggle; a plain .tar.gz URL ignores the query).
                Cached where tensorflow_hub caches it (`$TFHUB_CACHE_DIR`, by
                default `<tmp>/tfhub_modules`), in a folder named
                sha1(URL), so `hub.load(URL)` and film_tf share downloads;
  hf://owner/repo[/subfolder]  a Hugging Face model repository (its main
                branch), fetched by `huggingface_hub.snapshot_download` into
                its cache (`$HF_HOME/hub`, default ~/.cache/huggingface/hub).

`resolve(handle, verify)` returns the local folder, downloading it only if
it is not cached: a cached copy is used with no network access at all. The
folder is checked by `verify` once per process (film_tf.formats.model_io
checks that it is a FILM model for the options it will be loaded with); one
that fails is refused in one line, and removed from the cache if it was
downloaded now; a truncated or damaged file in it
(`film_tf.formats.integrity`) is named as a damaged download. Offline (`HF_HUB_OFFLINE=1`,
which the binaries' `--offline` sets) nothing touches the network and a
handle that is not cached is refused, naming the folder it was looked for in.

The optional packages (`pip install "film_tf[hub]"`: tensorflow_hub,
huggingface_hub) are imported only when a handle is resolved; this module
itself imports only the standard library, so `is_handle` is cheap. The
downloads themselves: `film_tf.formats.downloads`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

from film_tf.formats.downloads import (  # noqa: F401  (DownloadError, offline: part of this API)
    HF_PREFIX,
    DownloadError,
    fetch_hf,
    fetch_tfhub,
    offline,
)
from film_tf.formats.file_checks import DamagedModelError
from film_tf.user_errors import error_line

URL_PREFIXES = ("http://", "https://")


@dataclasses.dataclass(frozen=True)
class Released:
    """A released FILM model: its short name and where it is published.

    `approx_mb`: the download, about the size of its float32 weights (the
    released configuration's 34,436,667 parameters: 138 MB) plus its graph;
    not measured (no network where this table was written).
    """

    name: str
    handle: str
    loss: str  # The paper's training loss: what the model is good at.
    source: str
    licence: str
    approx_mb: int


# The paper's three models (Reda et al. 2022), all in the released
# configuration (film_tf.Options() defaults). The Style model is the one Google
# serves on TF Hub (the handle of TF Hub's FILM tutorial and OpenVINO's FILM
# notebook). L1 and VGG are not on TF Hub: their handles are Hugging Face
# copies of the released SavedModels that public FILM demos load with the
# official code (the Style copy is hf://akhaliq/frame-interpolation-film-style).
# None could be downloaded where this table was written: film_tf checks each
# download's variables before it is used, and refuses one that does not fit.
RELEASED = {
    r.name: r
    for r in (
        Released("film-style", "https://tfhub.dev/google/film/1", "Style: the sharpest-looking frames",
                 "Google (TF Hub)", "Apache-2.0", 140),
        Released("film-l1", "hf://NimaBoscarino/frame-interpolation_film_l1", "L1: the paper's PSNR/SSIM",
                 "community copy (Hugging Face)", "Apache-2.0 (the release's)", 140),
        Released("film-vgg", "hf://NimaBoscarino/frame_interpolation_film_vgg", "VGG: perceptual",
                 "community copy (Hugging Face)", "Apache-2.0 (the release's)", 140),
    )
}  # fmt: skip


def is_handle(path) -> bool:
    """True for a short name, an http(s) URL or an hf:// handle (cheap: no
    imports). A file or folder named like a short name (./film-l1/) is that
    local path, not the download."""
    if not isinstance(path, str):
        return False
    return (path in RELEASED and not os.path.exists(path)) or path.startswith((*URL_PREFIXES, HF_PREFIX))


def list_models() -> str:
    """The `RELEASED` table as text (film-interpolate --list_models)."""
    rows = [("name", "handle", "model", "source", "licence", "download")]
    rows += [(r.name, r.handle, r.loss, r.source, r.licence, f"~{r.approx_mb} MB") for r in RELEASED.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


_resolved: dict[str, str] = {}  # handle -> local folder, once resolved in this process


def resolve(handle: str, verify: Callable[[str], None] | None = None) -> str:
    """The local folder holding the model of `handle` (see the module docstring).

    Args:
      handle: a short name, URL or hf:// handle (`is_handle`).
      verify: called with the folder once per process, cached or not (a
        download interrupted between its rename and its check, or one that
        another tool cached, is checked too); raising ValueError or
        FileNotFoundError there refuses it, and removes a fresh download
        from the cache.

    Raises:
      DownloadError: it could not be downloaded, or offline and not cached.
      ValueError: the folder is not a FILM model.
    """
    target = RELEASED[handle].handle if handle in RELEASED else handle
    if target not in _resolved:
        fetch = fetch_hf if target.startswith(HF_PREFIX) else fetch_tfhub
        folder, fresh, evict = fetch(target)
        if verify is not None:
            try:
                verify(folder)
            except (ValueError, FileNotFoundError) as e:
                if fresh:
                    evict()
                if isinstance(e, DamagedModelError):  # Cut short or changed on the way.
                    done = (
                        "removed it from the cache; run again to download it again"
                        if fresh
                        else f"remove its cached copy {folder} and run again to download it again"
                    )
                    where = os.path.relpath(e.file, folder)
                    message = f"The download of '{handle}' is damaged ({where} is {e.what}); {done}."
                    raise DamagedModelError(e.file, e.what, done, message) from None
                done = "removed the download from the cache" if fresh else f"its cached copy is {folder}"
                raise ValueError(f"'{handle}' is not a FILM model ({error_line(e)}); {done}.") from None
        _resolved[target] = folder
    return _resolved[target]
