"""How long film-interpolate takes to answer before any real work (issue 19).

  python benchmarks/cli_startup.py [--repeats 5] [--script film-interpolate]

Runs the installed console script (found beside this Python, else on PATH)
`--repeats` times for `--help`, a mistyped flag and a missing input file, and
prints the median wall time and the exit code of each as a markdown table.
The target on a 2-core CPU machine: well under 2 s for each (TensorFlow,
which takes 10-30 s to load, must not be imported for any of them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "--help": ["--help"],
    "bad flag": ["--frame3=a.png"],
    "missing file": ["--frame1=missing0.png", "--frame2=missing1.png", "--output_frame=mid.png"],
}


def find_script(name: str) -> str:
    beside = os.path.join(os.path.dirname(sys.executable), name)
    found = beside if os.path.exists(beside) else shutil.which(name)
    if not found:
        sys.exit(f"error: console script {name} not found (pip install -e .)")
    return found


def measure(command: list[str], repeats: int, cwd: str) -> tuple[float, int]:
    """(median wall seconds, exit code of the last run)."""
    times, code = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        code = subprocess.run(command, cwd=cwd, capture_output=True).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--script", default="film-interpolate")
    args = parser.parse_args()
    script = find_script(args.script)
    print(f"| {args.script} | median of {args.repeats} (s) | exit code |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as cwd:
        for label, extra in CASES.items():
            seconds, code = measure([script, *extra], args.repeats, cwd)
            print(f"| {label} | {seconds:.2f} | {code} |")


if __name__ == "__main__":
    main()
