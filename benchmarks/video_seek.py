"""Reading a Beam worker's chunk: by index vs by a time seek matched by digest.

`film_tf.media.video_seek.read_frame_range` reads `--chunk` frames at several positions of a
long synthetic H.264 clip (ffmpeg's testsrc2, keyframe every 250 frames), once by index
(ffmpeg decodes every frame before the chunk) and once from a time seek with the frames'
digests (what Beam workers do), checking that both give the same frames. Also times the
launcher's one decoding pass that takes the digests.

    python -m benchmarks.video_seek [--seconds 300] [--width 640] [--height 360]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time

import numpy as np

from film_tf.media import video_io
from film_tf.media.video_seek import frame_digest, read_frame_range


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--chunk", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "long.mp4")
        subprocess.run(
            [video_io.ensure_ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
             f"testsrc2=size={args.width}x{args.height}:rate=30", "-t", str(args.seconds),
             "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "250", clip],
            check=True,
        )  # fmt: skip
        with video_io.open_video(clip) as reader:
            shape, fps, count = reader.shape, reader.fps, reader.num_images
        start_time = time.perf_counter()
        digests = [frame_digest(frame) for frame in video_io.iter_frames(clip)]
        print(f"{count} frames at {fps:g} fps: digests in {time.perf_counter() - start_time:.1f} s")
        print("| chunk starts at frame | by index (s) | time seek + digests (s) | same frames |")
        print("|---:|---:|---:|---|")
        for start in (count // 9, count * 4 // 9, count - args.chunk):
            results = []
            for seek in (False, True):
                stats: dict = {}
                tic = time.perf_counter()
                frames = list(read_frame_range(clip, start, start + args.chunk, shape, fps=fps if seek else None,
                                               digests=digests if seek else None, stats=stats))  # fmt: skip
                results.append((time.perf_counter() - tic, np.stack(frames), stats))
            same = np.array_equal(results[0][1], results[1][1]) and results[1][2]["index_frames"] == 0
            print(f"| {start} | {results[0][0]:.2f} | {results[1][0]:.2f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
