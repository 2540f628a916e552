r"""Fuzz harness: damaged inputs of every kind a user passes, through the real binaries.

Each case takes one clean input (`build_fixtures`: frames, videos with audio,
a TFRecord shard from the dataset writer, tiny model folders), damages one of
its files with a seeded mutation (`mutate`: bit flips, truncation, inserted
bytes, a zeroed run) and runs the binary a user would run on it:

  png, jpeg                film-interpolate --frame1 <damaged> --frame2 <clean>
  mp4, mov, mkv, webm      film-interpolate-frames --input_video <damaged> --multiplier 2
                           (frame-rate conversion: the audio is copied, the path of issue 35)
  tfrecord                 film-eval on a gin config naming the damaged shard (baseline:average)
  model_variables,         film-interpolate --model_path <damaged model> on clean frames:
  model_h5, model_export   official variables/ (+ --options_json), .weights.h5 + .json,
                           a film_tf SavedModel (film-export)

Every case must end in one of two ways (`judge`):
  success: exit 0, a valid output (the image decodes at the frames' size, the
           video decodes, results.json parses), nothing else in the output folder;
  error:   exit 2, one line `error: ...` last on stderr, no traceback, no
           output and nothing left in the output folder;
anything else (a traceback, another exit code, a signal, a hang past the
timeout, a leftover file) is `other`, reported with its command and the last
lines of its output.

The binaries run as processes: by default (`mode='fork'`) a parent that has
imported them forks one child per case, which runs the console script's own
`run_main()` on the case's argv with stdout/stderr to files (the same entry
point as the installed `film-interpolate`, without paying TensorFlow's 8 s
import per case); `mode='subprocess'` runs `python -m <binary module>` per
case instead. The fixtures are built in a subprocess (TensorFlow must not run
in the forking parent).

The larger run (the README's reliability section), e.g.:

    nice -n 19 python -m tests.fuzz.harness --cases 300 --seed 1 --work /tmp/fuzz \
      --deadline 2026-12-06T15:45 --jobs 2 --report /tmp/fuzz/report.json
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable, Iterable

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(REPO, "tests", "testdata", "film_official_tiny")
IMAGE_KINDS = ("png", "jpeg")
VIDEO_KINDS = ("mp4", "mov", "mkv", "webm")
MODEL_KINDS = ("model_variables", "model_h5", "model_export")
KINDS = (*IMAGE_KINDS, *VIDEO_KINDS, "tfrecord", *MODEL_KINDS)
MUTATIONS = ("bitflip", "truncate", "insert", "zero")
BINARIES = {
    "film-interpolate": "film_tf.cli.interpolate",
    "film-interpolate-frames": "film_tf.cli.interpolate_frames",
    "film-eval": "film_tf.evaluation.eval_cli",
}
SIZE = (48, 64)  # frames' (height, width)
VIDEO_CODECS = {  # extension: (video codec, audio codec)
    ".mp4": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "libopus"),
    ".webm": ("libvpx-vp9", "libopus"),
}
TRIPLETS = 3


# ---------------------------------------------------------------- mutations


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One seeded damage of `data`: (the damaged bytes, what was done)."""
    kind = rng.choice(MUTATIONS)
    n = len(data)
    if kind == "bitflip":
        out = bytearray(data)
        count = rng.choice((1, 1, 2, 4, 8, 32))
        positions = sorted(rng.randrange(n) for _ in range(count))
        for p in positions:
            out[p] ^= 1 << rng.randrange(8)
        return bytes(out), f"bitflip {count} bit(s) at {positions[:4]}{'...' if count > 4 else ''}"
    if kind == "truncate":
        cut = rng.randrange(n)
        return data[:cut], f"truncate to {cut} of {n} bytes"
    if kind == "insert":
        p, count = rng.randrange(n + 1), rng.choice((1, 4, 64, 1024))
        return data[:p] + rng.randbytes(count) + data[p:], f"insert {count} random byte(s) at {p}"
    p, count = rng.randrange(n), rng.choice((1, 4, 16, 256, 4096))
    return data[:p] + bytes(min(count, n - p)) + data[p + count :], f"zero {min(count, n - p)} byte(s) at {p}"


# ---------------------------------------------------------------- fixtures


def _ffmpeg() -> str:
    from film_tf.media import video_io

    return video_io.ensure_ffmpeg()


def build_fixtures(folder: str) -> None:
    """The clean inputs, in `folder` (built once; `folder/done` marks them complete).

    frames/a.png, b.png, a.jpg, b.jpg: two 64x48 frames of a moving test pattern;
    clip.<mp4|mov|mkv|webm>: 6 frames at 10 fps with a 0.6 s tone;
    shard/triplets.tfrecord-00000-of-00001 (3 triplets, `datasets.writer`) and eval.gin;
    model_variables/ (the official tiny checkpoint's variables/ and options.json),
    model_h5/tiny.weights.h5 + tiny.json, model_export/ (film_tf SavedModel).
    """
    if os.path.exists(os.path.join(folder, "done")):
        return
    import numpy as np
    from PIL import Image

    from film_tf import create_model, load_official_weights, serving
    from film_tf.datasets import writer
    from film_tf.datasets.common import FileTriplet
    from film_tf.formats.model_io import save_weights_with_options
    from film_tf.model.options import Options

    os.makedirs(folder, exist_ok=True)
    frames = os.path.join(folder, "frames")
    os.makedirs(frames, exist_ok=True)
    h, w = SIZE
    y, x = np.mgrid[0:h, 0:w]

    def frame(shift: int) -> np.ndarray:
        r = (x * 4 + shift * 3) % 256
        g = (y * 5 + ((x + shift) // 8) * 40) % 256
        b = (((x + shift) // 8 + y // 8) % 2) * 200
        return np.stack([r, g, b], -1).astype(np.uint8)

    for name, shift in (("a", 0), ("b", 4), ("c", 8)):
        Image.fromarray(frame(shift)).save(os.path.join(frames, f"{name}.png"))
        Image.fromarray(frame(shift)).save(os.path.join(frames, f"{name}.jpg"), quality=90)
    ffmpeg = _ffmpeg()
    for ext, (vcodec, acodec) in VIDEO_CODECS.items():
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={w}x{h}:rate=10",
             "-f", "lavfi", "-i", "sine=frequency=440:duration=0.6", "-frames:v", "6",
             "-c:v", vcodec, "-pix_fmt", "yuv420p", "-c:a", acodec, os.path.join(folder, f"clip{ext}")],
            check=True,
        )  # fmt: skip
    shard = os.path.join(folder, "shard")
    os.makedirs(shard, exist_ok=True)
    triplet = tuple(os.path.join(frames, f"{n}.png") for n in "abc")
    written = writer.write_file_triplets(
        [FileTriplet(triplet, f"t/{i}/b.png") for i in range(TRIPLETS)],
        os.path.join(shard, "triplets.tfrecord@1"), num_workers=1,
    )  # fmt: skip
    assert written == TRIPLETS
    with open(os.path.join(TINY, "config.json")) as f:
        options = Options(**json.load(f))
    variables = os.path.join(folder, "model_variables")
    shutil.copytree(os.path.join(TINY, "variables"), os.path.join(variables, "variables"), dirs_exist_ok=True)
    shutil.copy(os.path.join(TINY, "config.json"), os.path.join(variables, "options.json"))
    model = create_model(options)
    load_official_weights(model, TINY)
    os.makedirs(os.path.join(folder, "model_h5"), exist_ok=True)
    save_weights_with_options(model, os.path.join(folder, "model_h5", "tiny.weights.h5"))
    serving.export_saved_model(model, os.path.join(folder, "model_export"), overwrite=True)
    with open(os.path.join(folder, "done"), "w") as f:
        f.write("ok\n")


# ---------------------------------------------------------------- cases


@dataclasses.dataclass
class Case:
    """One damaged input and the command that reads it.

    Attributes:
      kind: one of KINDS; index: its number in the run; folder: its own folder.
      damaged: the damaged file (relative to `folder`); mutation: what was done.
      argv: the binary's name and arguments; output: the path it should write
        (a file, or results.json for film-eval); out_dir: the folder holding it.
    """

    kind: str
    index: int
    folder: str
    damaged: str
    mutation: str
    argv: list[str]
    output: str
    out_dir: str

    def command(self) -> str:
        return " ".join([self.argv[0], *(f"'{a}'" if " " in a else a for a in self.argv[1:])])


def _tree_files(root: str) -> list[str]:
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def make_case(kind: str, index: int, seed: int, fixtures: str, work: str) -> Case:
    """Case `index` of `kind` (seeded by `seed`, kind and index): copies the
    clean input into its own folder, damages one file, builds the command."""
    rng = random.Random(f"{seed}/{kind}/{index}")
    folder = os.path.join(work, f"{kind}-{index:05d}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    out_dir = os.path.join(folder, "out")
    tiny = [f"--model_path={os.path.join(fixtures, 'model_variables', 'variables')}",
            f"--options_json={os.path.join(fixtures, 'model_variables', 'options.json')}"]  # fmt: skip
    frames = os.path.join(fixtures, "frames")
    if kind in IMAGE_KINDS:
        ext = ".png" if kind == "png" else ".jpg"
        damaged = f"a{ext}"
        shutil.copy(os.path.join(frames, damaged), os.path.join(folder, damaged))
        output = os.path.join(out_dir, "mid.png")
        argv = ["film-interpolate", f"--frame1={os.path.join(folder, damaged)}",
                f"--frame2={os.path.join(frames, 'b' + ext)}", f"--output_frame={output}", *tiny]  # fmt: skip
    elif kind in VIDEO_KINDS:
        damaged = f"clip.{kind}"
        shutil.copy(os.path.join(fixtures, damaged), os.path.join(folder, damaged))
        output = os.path.join(out_dir, f"out.{kind}")
        argv = ["film-interpolate-frames", f"--input_video={os.path.join(folder, damaged)}", "--multiplier=2",
                f"--output_video={output}", *tiny]  # fmt: skip
    elif kind == "tfrecord":
        shutil.copytree(os.path.join(fixtures, "shard"), os.path.join(folder, "shard"))
        damaged = os.path.join("shard", "triplets.tfrecord-00000-of-00001")
        gin = os.path.join(folder, "eval.gin")
        with open(gin, "w") as f:
            f.write(f"evaluation.tfrecord = '{os.path.join(folder, 'shard', 'triplets.tfrecord')}@1'\n")
            f.write("evaluation.max_examples = -1\nevaluation.metrics = ['l1', 'psnr']\n")
        output = os.path.join(out_dir, "results.json")
        argv = [
            "film-eval",
            f"--gin_config={gin}",
            "--model_path=baseline:average",
            f"--output_dir={out_dir}",
        ]
    elif kind in MODEL_KINDS:
        shutil.copytree(os.path.join(fixtures, kind), os.path.join(folder, kind))
        candidates = _tree_files(os.path.join(folder, kind))
        if kind == "model_variables":
            candidates = [c for c in candidates if c.startswith("variables")]
            model = [f"--model_path={os.path.join(folder, kind, 'variables')}",
                     f"--options_json={os.path.join(folder, kind, 'options.json')}"]  # fmt: skip
        elif kind == "model_h5":
            model = [f"--model_path={os.path.join(folder, kind, 'tiny.weights.h5')}"]
        else:
            model = [f"--model_path={os.path.join(folder, kind)}"]
        damaged = os.path.join(kind, rng.choice(candidates))
        output = os.path.join(out_dir, "mid.png")
        argv = ["film-interpolate", f"--frame1={os.path.join(frames, 'a.png')}",
                f"--frame2={os.path.join(frames, 'b.png')}", f"--output_frame={output}", *model]  # fmt: skip
    else:
        raise ValueError(f"Unknown kind '{kind}'; one of {', '.join(KINDS)}.")
    path = os.path.join(folder, damaged)
    with open(path, "rb") as f:
        data, mutation = mutate(f.read(), rng)
    with open(path, "wb") as f:
        f.write(data)
    return Case(kind, index, folder, damaged, mutation, argv, output, out_dir)


# ---------------------------------------------------------------- judging


@dataclasses.dataclass
class Outcome:
    """How a case ended: status 'success', 'error' or 'other' (`why`: what was wrong)."""

    status: str
    why: str
    returncode: int | None
    seconds: float
    tail: str


def _valid_output(case: Case) -> str | None:
    """None when the case's output is valid, else what is wrong with it."""
    try:
        if case.kind == "tfrecord":
            with open(case.output) as f:
                results = json.load(f)
            count = results.get("num_examples")
            if count != TRIPLETS:  # A shard cut at a record boundary must not pass as the whole set.
                return f"results.json of {count} of the shard's {TRIPLETS} examples"
            return None
        if case.kind in VIDEO_KINDS:
            from film_tf.media import video_io

            frames = sum(1 for _ in video_io.iter_frames(case.output))
            return None if frames >= 2 else f"the output video has {frames} frame(s)"
        from PIL import Image

        with Image.open(case.output) as image:
            image.load()
            return None if image.size == (SIZE[1], SIZE[0]) else f"an output image of {image.size}"
    except Exception as e:  # noqa: BLE001 (any failure is an invalid output)
        return f"invalid output: {type(e).__name__}: {e}"


def judge(
    case: Case, returncode: int | None, stdout: str, stderr: str, seconds: float, timed_out: bool
) -> Outcome:
    """Classifies one finished case (see the module docstring)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    tail = "\n".join((stdout.strip().splitlines() + lines)[-8:])
    left = _tree_files(case.out_dir) if os.path.isdir(case.out_dir) else []
    hidden = (
        sorted({p.split(os.sep)[0] for p in os.listdir(case.out_dir)}) if os.path.isdir(case.out_dir) else []
    )

    def other(why: str) -> Outcome:
        return Outcome("other", why, returncode, seconds, tail)

    if timed_out:
        return other("hang: killed after the timeout")
    if returncode is not None and returncode < 0:
        return other(f"killed by signal {-returncode} ({signal.Signals(-returncode).name})")
    if "Traceback (most recent call last)" in stderr or "Traceback (most recent call last)" in stdout:
        return other(f"traceback, exit {returncode}")
    output_name = os.path.relpath(case.output, case.out_dir)
    if returncode == 0:
        expected = {output_name, "config.gin"} if case.kind == "tfrecord" else {output_name}
        if extra := [p for p in left if p not in expected] + [p for p in hidden if p.startswith(".")]:
            return other(f"exit 0 but left {extra[:3]}")
        if output_name not in left:
            return other("exit 0 without the output")
        if problem := _valid_output(case):
            return other(f"exit 0 with {problem}")
        return Outcome("success", "", 0, seconds, tail)
    if returncode == 2:
        errors = [line for line in lines if line.startswith("error:")]
        if len(errors) != 1 or lines[-1] != errors[0]:
            return other(f"exit 2 with {len(errors)} error line(s), last line {lines[-1:]!r}")
        if left or hidden:
            return other(f"exit 2 but left {(left or hidden)[:3]}")
        return Outcome("error", errors[0], 2, seconds, tail)
    return other(f"exit {returncode}")


# ---------------------------------------------------------------- running


class _Forked:
    """A case running in a forked child of this (prepared) process."""

    def __init__(self, case: Case):
        self.case, self.start = case, time.time()
        self.out_path = os.path.join(case.folder, "stdout.txt")
        self.err_path = os.path.join(case.folder, "stderr.txt")
        pid = os.fork()
        if pid == 0:  # The child: the binary's console-script entry point.
            code = 1
            try:
                os.setpgid(0, 0)
                null = os.open(os.devnull, os.O_RDONLY)
                out = os.open(self.out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                err = os.open(self.err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(null, 0), os.dup2(out, 1), os.dup2(err, 2)
                os.chdir(case.folder)
                sys.argv = list(case.argv)
                module = sys.modules[BINARIES[case.argv[0]]]
                try:
                    module.run_main()
                    code = 0
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                    if e.code is not None and not isinstance(e.code, int):
                        print(e.code, file=sys.stderr)
                except BaseException:  # What the interpreter does with an uncaught exception.
                    import traceback

                    traceback.print_exc()
                    code = 1
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        self.pid = pid

    def poll(self, timeout: float) -> Outcome | None:
        done, status = os.waitpid(self.pid, os.WNOHANG)
        timed_out = False
        if not done:
            if time.time() - self.start < timeout:
                return None
            with _suppress():
                os.killpg(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
            timed_out = True
        with _suppress():
            os.killpg(self.pid, signal.SIGKILL)  # ffmpeg children a crash left behind
        code = os.waitstatus_to_exitcode(status)
        return judge(
            self.case, code, _read(self.out_path), _read(self.err_path), time.time() - self.start, timed_out
        )


class _Subprocess:
    """A case running as `python -m <binary module> ...`."""

    def __init__(self, case: Case, env: dict[str, str] | None = None):
        self.case, self.start = case, time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", BINARIES[case.argv[0]], *case.argv[1:]], cwd=case.folder,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            errors="replace", start_new_session=True, env=env,
        )  # fmt: skip

    def poll(self, timeout: float) -> Outcome | None:
        timed_out = False
        if self.proc.poll() is None:
            if time.time() - self.start < timeout:
                return None
            with _suppress():
                os.killpg(self.proc.pid, signal.SIGKILL)
            timed_out = True
        stdout, stderr = self.proc.communicate()
        return judge(self.case, self.proc.returncode, stdout, stderr, time.time() - self.start, timed_out)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def prepare_fork_parent() -> None:
    """Imports the binaries' modules (quiet, as a console script starts) so that forked children share them."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from film_tf import cli_utils

    cli_utils.quiet_tensorflow()
    import importlib

    import tensorflow  # noqa: F401  (imported once, here)

    for module in BINARIES.values():
        importlib.import_module(module)


def ensure_fixtures(fixtures: str) -> None:
    """Builds the fixtures in a subprocess (TensorFlow must not run in the forking parent),
    once: concurrent harnesses on one folder wait for the first (a lock file beside it)."""
    import fcntl

    os.makedirs(os.path.dirname(os.path.abspath(fixtures)), exist_ok=True)
    with open(os.path.abspath(fixtures) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(fixtures, "done")):
            return
        subprocess.run(
            [sys.executable, "-m", "tests.fuzz.harness", "--build_fixtures", fixtures], cwd=REPO, check=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True,
        )  # fmt: skip


def run_cases(
    cases: Iterable[tuple[str, int]],
    seed: int,
    work: str,
    mode: str = "fork",
    jobs: int = 1,
    timeout: float = 120.0,
    deadline: float | None = None,
    keep: bool = False,
    on_result: Callable[[Case, Outcome], None] | None = None,
    fixtures: str | None = None,
) -> list[tuple[Case, Outcome]]:
    """Runs the cases (kind, index), `jobs` at a time, until done or `deadline` (a time.time()).

    `fixtures`: the clean inputs' folder (built if needed; default `work`/fixtures).
    Returns (case, outcome) pairs in the order they finished; the folders of
    cases that ended as expected are removed unless `keep`.
    """
    fixtures = fixtures or os.path.join(work, "fixtures")
    ensure_fixtures(fixtures)
    env = {"FILM_TF_CACHE": os.environ.get("FILM_TF_CACHE", os.path.join(work, "film_tf_cache"))}
    if mode == "fork":  # This process is the children's parent: its environment is theirs.
        os.environ.update(env)
        prepare_fork_parent()
        start = _Forked
    else:
        start = functools.partial(_Subprocess, env={**os.environ, **env})
    todo, running, results = list(cases), [], []
    todo.reverse()
    while todo or running:
        while todo and len(running) < jobs and (deadline is None or time.time() < deadline):
            kind, index = todo.pop()
            running.append(start(make_case(kind, index, seed, fixtures, work)))
        if not running:
            break
        time.sleep(0.05)
        for item in list(running):
            outcome = item.poll(timeout)
            if outcome is None:
                continue
            running.remove(item)
            results.append((item.case, outcome))
            if on_result is not None:
                on_result(item.case, outcome)
            if outcome.status != "other" and not keep:
                shutil.rmtree(item.case.folder, ignore_errors=True)
    return results


def summarize(results: list[tuple[Case, Outcome]]) -> dict:
    """Counts per kind: {'kinds': {kind: {'cases', 'success', 'error', 'other', 'seconds'}},
    'failures': [the 'other' cases, with command and output tail], 'statuses': [[kind, index, status]]}."""
    table: dict[str, dict] = {}
    failures = []
    statuses = sorted([case.kind, case.index, outcome.status] for case, outcome in results)
    for case, outcome in results:
        row = table.setdefault(case.kind, {"cases": 0, "success": 0, "error": 0, "other": 0, "seconds": 0.0})
        row["cases"] += 1
        row[outcome.status] += 1
        row["seconds"] = round(row["seconds"] + outcome.seconds, 1)
        if outcome.status == "other":
            failures.append(
                {"kind": case.kind, "index": case.index, "mutation": case.mutation, "why": outcome.why,
                 "command": case.command(), "damaged": os.path.join(case.folder, case.damaged),
                 "tail": outcome.tail}
            )  # fmt: skip
    return {"kinds": table, "failures": failures, "statuses": statuses}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build_fixtures", metavar="FOLDER", help=argparse.SUPPRESS)
    parser.add_argument("--work", default="/tmp/film_fuzz", help="Cases (and fixtures) go here.")
    parser.add_argument("--fixtures", help="The clean inputs' folder, built once (default: WORK/fixtures).")
    parser.add_argument(
        "--kinds", default=",".join(KINDS),
        help="Comma-separated kinds, each optionally with its own count (png:8): " + ", ".join(KINDS),
    )  # fmt: skip
    parser.add_argument("--cases", type=int, default=10, help="Cases per kind without a count.")
    parser.add_argument("--first", type=int, default=0, help="Index of the first case of each kind.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=("fork", "subprocess"), default="fork")
    parser.add_argument("--jobs", type=int, default=1, help="Cases run at a time.")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="Seconds per case before it counts as a hang."
    )
    parser.add_argument("--deadline", help="Start no case after this UTC time (YYYY-MM-DDTHH:MM).")
    parser.add_argument("--keep", action="store_true", help="Keep every case's folder.")
    parser.add_argument("--report", help="Write the summary (and every failing case) here as JSON.")
    args = parser.parse_args(argv)
    if args.build_fixtures:
        build_fixtures(args.build_fixtures)
        return 0
    counts = {}
    for item in filter(None, args.kinds.split(",")):
        kind, _, count = item.partition(":")
        counts[kind] = int(count) if count else args.cases
    if unknown := [k for k in counts if k not in KINDS]:
        parser.error(f"unknown kind(s) {unknown}; one of {', '.join(KINDS)}")
    deadline = None
    if args.deadline:
        when = datetime.datetime.fromisoformat(args.deadline).replace(tzinfo=datetime.timezone.utc)
        deadline = when.timestamp()
    # Interleaved (png 0, jpeg 0, ..., png 1, ...): a run cut by its deadline covers every kind.
    most = max(counts.values(), default=0)
    cases = [(k, args.first + i) for i in range(most) for k, n in counts.items() if i < n]
    os.makedirs(args.work, exist_ok=True)
    log = open(os.path.join(args.work, "cases.jsonl"), "a", encoding="utf-8")

    def on_result(case: Case, outcome: Outcome) -> None:
        entry = {"kind": case.kind, "index": case.index, "mutation": case.mutation, "status": outcome.status,
                 "why": outcome.why, "rc": outcome.returncode, "seconds": round(outcome.seconds, 2)}  # fmt: skip
        if outcome.status == "other":
            entry.update(command=case.command(), tail=outcome.tail)
        log.write(json.dumps(entry) + "\n")
        log.flush()

    started = time.time()
    results = run_cases(cases, args.seed, args.work, args.mode, args.jobs, args.timeout, deadline, args.keep,
                        on_result, args.fixtures)  # fmt: skip
    summary = summarize(results)
    summary.update(
        seed=args.seed, mode=args.mode, jobs=args.jobs, wall_seconds=round(time.time() - started, 1)
    )
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
    print(f"{'kind':16} {'cases':>6} {'success':>8} {'error':>6} {'other':>6}")
    for kind, row in summary["kinds"].items():
        print(f"{kind:16} {row['cases']:6} {row['success']:8} {row['error']:6} {row['other']:6}")
    for failure in summary["failures"]:
        print(f"\nOTHER {failure['kind']} #{failure['index']} ({failure['mutation']}): {failure['why']}")
        print(f"  {failure['command']}")
        print("  " + failure["tail"].replace("\n", "\n  "))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
