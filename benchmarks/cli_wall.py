"""End-to-end wall time of the binaries, as a user feels it: fresh process each.

    python -m benchmarks.cli_wall            # both commands, cold then warm cache

`film-interpolate` on one 640x272 pair (the bundled example pair, centre rows)
with the bundled model, and `film-interpolate-frames --times_to_interpolate 3`
on the same two frames (9 frames out). "cold" runs with an empty
`$FILM_TF_CACHE` folder, "warm" again with the folder the cold run left
(the OS file cache is warm for both). `benchmarks/performance.py --rows=cli`
runs the same rows into its table.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

EXAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "film_tf", "assets", "examples"
)
HEIGHT, WIDTH = 272, 640
COMMANDS = ("film-interpolate", "film-interpolate-frames")


def prepare(folder: str) -> str:
    """Writes the bundled pair, cropped to 640x272 (centre rows), to
    `folder`/pair/frame_{0,1}.png; returns that folder."""
    from PIL import Image

    pair = os.path.join(folder, "pair")
    os.makedirs(pair, exist_ok=True)
    for name in ("frame_0.png", "frame_1.png"):
        image = Image.open(os.path.join(EXAMPLES, name)).convert("RGB")
        top = (image.height - HEIGHT) // 2
        image.crop((0, top, WIDTH, top + HEIGHT)).save(os.path.join(pair, name))
    return pair


def command_line(command: str, pair: str, out: str) -> list[str]:
    """The argv of one timed command (through this interpreter's console scripts)."""
    binary = os.path.join(os.path.dirname(sys.executable), command)
    if command == "film-interpolate":
        return [binary, f"--frame1={pair}/frame_0.png", f"--frame2={pair}/frame_1.png",
                f"--output_frame={out}/mid.png"]  # fmt: skip
    return [binary, f"--pattern={pair}", "--times_to_interpolate=3", f"--output_dir={out}"]


def time_command(argv: list[str], cache: str) -> dict:
    """Runs argv with `$FILM_TF_CACHE=cache`; wall seconds and the child's peak RSS."""
    env = dict(os.environ, FILM_TF_CACHE=cache, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(
            f"{os.path.basename(argv[0])} failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}"
        )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
    return {"seconds": seconds, "peak_rss_gb": peak, "said": out.stdout.strip().splitlines()[-1:]}


def run(command: str, work: str, cache: str) -> dict:
    """One timed run of `command` on the pair prepared under `work`, output in a fresh folder."""
    pair = os.path.join(work, "pair")
    out = tempfile.mkdtemp(prefix="out_", dir=work)
    try:
        return time_command(command_line(command, pair, out), cache)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    work = tempfile.mkdtemp(prefix="film_tf_cli_wall_")
    try:
        prepare(work)
        for command in COMMANDS:
            cache = tempfile.mkdtemp(prefix="cache_", dir=work)
            for state in ("cold", "warm"):
                r = run(command, work, cache)
                print(
                    f"{command} ({state} cache): {r['seconds']:.2f} s wall, peak RSS {r['peak_rss_gb']:.2f} GB"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
