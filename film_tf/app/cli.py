"""film-app: a local web page for frame interpolation (pip install -e ".[app]").

  film-app [--port 7860] [--host 127.0.0.1] [--model_path film_net/Style/saved_model]

serves http://HOST:PORT/: upload two or more photos or one video, pick the
number of new frames per pair (any N, or levels k: 2^k - 1) and the frame
rate, and get the video (played in the page, downloadable) and, for photos,
the frames as a zip. It
runs the same jobs as film-interpolate-frames (same model, same frames, same
one-line errors), one at a time through a queue. Files live only in a
temporary folder removed when the server stops; each request's own folder is
removed as soon as its results are handed to the page. Nothing is fetched
from or sent to the internet (no share links, no analytics).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile

from absl import flags

from film_tf import cli_utils
from film_tf.cli_utils import UserError


def define_flags(fv: flags.FlagValues) -> None:
    flags.DEFINE_integer("port", 7860, "Port to serve on.", flag_values=fv)
    flags.DEFINE_string(
        "host", "127.0.0.1", "Address to serve on (0.0.0.0: every network interface).", flag_values=fv
    )
    flags.DEFINE_string(
        "model_path",
        None,
        "The page's default model: any --model_path of film-interpolate-frames (default: the bundled model).",
        flag_values=fv,
    )
    flags.DEFINE_float(
        "memory_budget_gb", 8.0, "Peak memory of the process (larger frames are tiled).", flag_values=fv
    )
    flags.DEFINE_integer("max_upload_mb", 200, "Largest uploaded file, in MB.", flag_values=fv)
    flags.DEFINE_integer(
        "max_frames", 1000, "Most output frames of one request (inputs included).", flag_values=fv
    )
    flags.DEFINE_integer("times_to_interpolate", 3, "The page's default levels k.", flag_values=fv)
    cli_utils.define_offline_flag(fv)


def _check(fv: flags.FlagValues) -> None:
    if not 1 <= fv.port <= 65535:
        raise UserError(f"--port must be in 1..65535, got {fv.port}.")
    for name in ("max_upload_mb", "max_frames"):
        if fv[name].value <= 0:
            raise UserError(f"--{name} must be positive, got {fv[name].value}.")
    if fv.memory_budget_gb <= 0:
        raise UserError(f"--memory_budget_gb must be positive, got {fv.memory_budget_gb}.")
    if not 0 <= fv.times_to_interpolate <= 12:
        raise UserError(f"--times_to_interpolate must be in 0..12, got {fv.times_to_interpolate}.")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _fetch_default_model(model_path: str | None) -> None:
    """A model handle as --model_path is downloaded now, before the page turns
    the Hugging Face libraries offline (HF_HUB_OFFLINE=1, so that Gradio
    fetches nothing): the page then runs on the cached copy. Handles typed
    into the page must be in the cache already (one line there otherwise)."""
    from film_tf.formats import hub  # Standard library only.

    if hub.is_handle(model_path):
        from film_tf.formats import model_io

        model_io.resolve(model_path)


def _run(fv: flags.FlagValues) -> None:
    _check(fv)
    cli_utils.apply_offline(fv)
    _fetch_default_model(fv.model_path)
    # Before Gradio loads: no analytics or version checks, nothing from the Hub.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if os.environ["HF_HUB_OFFLINE"] == "1" and "huggingface_hub.constants" in sys.modules:
        # Imported by the default model's download: it read HF_HUB_OFFLINE then.
        sys.modules["huggingface_hub.constants"].HF_HUB_OFFLINE = True
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup requests
    root = tempfile.mkdtemp(prefix="film-app-")
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(root, "gradio")  # uploads and served results
    try:
        from film_tf.app import jobs, page
        from film_tf.formats import model_io

        # A wrong, truncated or damaged default model fails now, in one line.
        model_io.check_files(model_io.resolve(fv.model_path), model_io.describe(fv.model_path))
        runner = jobs.JobRunner(
            jobs.ModelCache(fv.memory_budget_gb),
            jobs.Limits(max_upload_bytes=fv.max_upload_mb * 1_000_000, max_frames=fv.max_frames),
            os.path.join(root, "jobs"),
        )
        demo = page.build(runner, fv.model_path, fv.times_to_interpolate)
        _, url, _ = demo.launch(
            server_name=fv.host,
            server_port=fv.port,
            share=False,
            quiet=True,
            prevent_thread_lock=True,
            ssr_mode=False,
            max_file_size=fv.max_upload_mb * 1_000_000,
            allowed_paths=[root],
            footer_links=[],
        )
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does, cleaning up.
        cli_utils.report(f"serving {url} (files in {root}, removed on exit; Ctrl-C stops it)")
        try:
            demo.block_thread()
        finally:
            demo.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


main, run_main = cli_utils.entry_points(define_flags, _run, __doc__)


if __name__ == "__main__":
    run_main()
