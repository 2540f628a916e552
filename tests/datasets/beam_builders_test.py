"""The builders on Apache Beam: other runner modes, the reference encoder's
bytes, a killed build, Beam options on the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from film_tf import cli_utils
from film_tf.data.shards import check_shards
from film_tf.datasets import beam_cli, beam_pipeline, common, ucf101, writer
from film_tf.datasets import synthetic_motion as sm
from film_tf.datasets.photos import load_photos
from tests.datasets import datasets_test, synthetic_motion_test, video_builder_test
from tests.datasets.datasets_test import bikes, carphone  # noqa: F401 (fixtures)
from tests.datasets.video_builder_test import clip  # noqa: F401 (fixture)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MULTI_PROCESSING = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]


def shard_bytes(folder) -> dict[str, bytes]:
    """file name -> bytes of the files (not folders) in `folder`."""
    names = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
    return {n: open(os.path.join(folder, n), "rb").read() for n in names}


@pytest.fixture
def multi_processing(monkeypatch):
    """Every builder run in the test gets `--direct_num_workers=2
    --direct_running_mode=multi_processing`, as if given on its command line."""
    default = beam_pipeline.default_pipeline_args
    seen = []

    def with_multi_processing(args=(), num_workers=0):
        result = default([*args, *MULTI_PROCESSING], num_workers)
        seen.append(result)
        return result

    monkeypatch.setattr(beam_pipeline, "default_pipeline_args", with_multi_processing)
    return seen


# The existing builder tests, unchanged, with two worker processes.
EXISTING = {
    "vimeo90k": (datasets_test.test_vimeo90k_test_split, ["carphone"]),
    "different_sizes": (
        datasets_test.test_frames_of_different_sizes_fail_without_partial_output,
        ["carphone"],
    ),
    "xiph": (datasets_test.test_xiph_2k_and_4k, ["bikes"]),
    "video": (video_builder_test.test_drop_repeated_frames_cuts_triplets_from_kept_frames, ["clip"]),
}


@pytest.mark.parametrize("name", sorted(EXISTING))
def test_existing_builder_tests_with_two_worker_processes(name, multi_processing, request, tmp_path):
    test, fixtures = EXISTING[name]
    test(tmp_path=tmp_path, **{f: request.getfixturevalue(f) for f in fixtures})
    assert multi_processing and all(
        "--direct_running_mode=multi_processing" in args and "--runner=FnApiRunner" in args
        for args in multi_processing
    )


def test_same_bytes_as_the_reference_encoder_on_every_mode(tmp_path, monkeypatch):
    """Synthetic triplets over 3 shards: the in-process default, one worker and
    two worker processes write exactly the reference encoder's files."""
    photo_dir = tmp_path / "photos"
    for i in range(3):
        synthetic_motion_test.write_png(str(photo_dir / f"p{i}.png"), synthetic_motion_test.noise_photo(i))
    photos = load_photos([str(photo_dir)], builtin=False, min_side=32)
    config = sm.MotionConfig(crop_size=32, max_motion=10.0)
    encode = lambda i: sm.encode_triplet(i, photos, config, 3, "png")  # noqa: E731
    assert writer.write_tfrecord(range(7), encode, str(tmp_path / "ref" / "s@3"), num_workers=2) == 7
    reference = shard_bytes(tmp_path / "ref")  # the shards and their counts file
    assert len(reference) == 4 and all(reference.values())
    assert json.loads(reference["s@3.dataset_info.json"])["num_examples"] == 7
    for mode, args in {
        "default": [],
        "one": ["--direct_num_workers=1", "--direct_running_mode=in_memory"],
        "processes": MULTI_PROCESSING,
    }.items():
        assert sm.build(photos, str(tmp_path / mode / "s@3"), 7, config, seed=3, pipeline_args=args) == 7
        assert shard_bytes(tmp_path / mode) == reference, mode
    # Fewer examples than shards: the empty shards exist too, as with the reference.
    assert sm.build(photos, str(tmp_path / "few" / "s@3"), 2, config, seed=3) == 2
    sizes = [len(b) for b in shard_bytes(tmp_path / "few").values()]
    assert sizes[0] > 0 and sizes[1] > 0 and sizes[2] == 0
    counts = json.loads((tmp_path / "few" / "s@3.dataset_info.json").read_text())
    assert [e["num_records"] for e in counts["shards"]] == [1, 1, 0]
    assert [s.num_records for s in check_shards(str(tmp_path / "few" / "s@3"))] == [1, 1, 0]


def test_examples_a_runner_drops_publish_nothing(tmp_path, monkeypatch):
    """The examples are counted on a branch apart from the shards: if the shard
    branch gets fewer (as an in-process runner under load once did), the build
    fails in one line and writes no shard."""
    photo_dir = tmp_path / "photos"
    for i in range(2):
        synthetic_motion_test.write_png(str(photo_dir / f"p{i}.png"), synthetic_motion_test.noise_photo(i))
    photos = load_photos([str(photo_dir)], builtin=False, min_side=32)
    config = sm.MotionConfig(crop_size=32, max_motion=10.0)
    write_shard = beam_pipeline._write_shard

    def dropping(item, names, tmp_dir):  # shard 0 loses its first example
        shard, values = item
        values = sorted(v for v in values if v is not None)
        return write_shard((shard, values[1:] if shard == 0 else values), names, tmp_dir)

    monkeypatch.setattr(beam_pipeline, "_write_shard", dropping)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"^The Beam runner delivered 4 of the 5 examples to the shards of .*"
                       r"nothing was published \(run the build again\)\.$"):  # fmt: skip
        sm.build(photos, str(out / "s@2"), 5, config, seed=3, pipeline_args=["--direct_num_workers=1",
                 "--direct_running_mode=in_memory"])  # fmt: skip
    assert not out.exists() or os.listdir(out) == []


def test_killed_build_leaves_no_final_file_and_rerun_matches(tmp_path):
    photo_dir = tmp_path / "photos"
    for i in range(3):
        synthetic_motion_test.write_png(str(photo_dir / f"p{i}.png"), synthetic_motion_test.noise_photo(i))
    args = [
        sys.executable, "-m", "datasets.create_synthetic_motion_tfrecord", f"--photo_dirs={photo_dir}",
        "--num_triplets=40", "--crop_size=48", "--seed=1", "--num_shards=3",
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    final = [f"s.tfrecord-{i:05d}-of-00003" for i in range(3)]

    killed = tmp_path / "killed"
    killed.mkdir()
    process = subprocess.Popen(
        [*args, f"--output_tfrecord_filepath={killed / 's.tfrecord'}", *MULTI_PROCESSING],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while not any(n.endswith(".tmp") for n in os.listdir(killed)) and time.time() < deadline:
        assert process.poll() is None, "the build ended before it could be killed"
        time.sleep(0.02)
    time.sleep(0.5)  # into the pipeline
    assert process.poll() is None, "the build ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the builder and its Beam worker processes
    process.wait(timeout=30)
    left = os.listdir(killed)
    assert left and not set(left) & set(final)
    assert all(n.startswith(".s.tfrecord-00000-of-00003.beam-") and n.endswith(".tmp") for n in left)

    # Rerun into the same folder, and an uninterrupted run elsewhere: the same shards.
    whole = tmp_path / "whole"
    for out in (killed, whole):
        result = subprocess.run(
            [*args, f"--output_tfrecord_filepath={out / 's.tfrecord'}"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == (
            f"wrote 40 examples to 3 shard(s) {out / 's.tfrecord'}-*-of-00003 from 3 photo(s)"
        )
        cleaned = "removed 1 leftover temporary folder(s) of an interrupted build." in result.stderr
        assert cleaned == (out == killed), result.stderr
    # The killed build's hidden folder is gone: only the final shards and their counts are left.
    published = [*final, "s.tfrecord@3.dataset_info.json"]
    assert sorted(os.listdir(killed)) == published
    rerun = shard_bytes(killed)
    assert sorted(rerun) == published and rerun == shard_bytes(whole)


def test_temporaries_of_live_or_remote_builds_are_kept(tmp_path):
    import socket

    from film_tf.datasets import beam_pipeline

    prefix = ".s.tfrecord-00000-of-00001.beam-"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    owners = {
        "dead": f"{socket.gethostname()}\n{dead.stdout.strip()}\n",
        "live": f"{socket.gethostname()}\n{os.getpid()}\n",
        "remote": f"another-host-{socket.gethostname()}\n{dead.stdout.strip()}\n",
        "unreadable": "",
    }
    for name, owner in owners.items():
        (tmp_path / f"{prefix}{name}.tmp").mkdir()
        (tmp_path / f"{prefix}{name}.tmp" / "owner").write_text(owner)
    (tmp_path / ".other.tfrecord-00000-of-00001.beam-x.tmp").mkdir()  # another output's: not ours
    assert beam_pipeline.remove_dead_temporaries(str(tmp_path), prefix) == 1
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"{prefix}{n}.tmp" for n in ("live", "remote", "unreadable")]
        + [".other.tfrecord-00000-of-00001.beam-x.tmp"]
    )


# ---------------------------------------------------------------- command line


def test_split_argv_sends_unknown_flags_to_beam():
    argv = [
        "prog", "--input_dir", "/data", "--runner", "DataflowRunner", "--num_shards=4",
        "--project=p", "--nonum_workers", "--direct_num_workers=2", "--help",
    ]  # fmt: skip
    absl_args, beam_args = beam_cli.split_argv(argv, ucf101.define_flags)
    assert absl_args == ["prog", "--input_dir", "/data", "--num_shards=4", "--nonum_workers", "--help"]
    assert beam_args == ["--runner", "DataflowRunner", "--project=p", "--direct_num_workers=2"]
    assert beam_pipeline.default_pipeline_args(["--runner=X", "--direct-num-workers=3"], 5) == [
        "--runner=X",
        "--direct-num-workers=3",
        "--direct_running_mode=multi_threading",
    ]
    assert beam_pipeline.default_pipeline_args([], 2) == [
        "--runner=FnApiRunner",
        "--direct_num_workers=2",
        "--direct_running_mode=multi_threading",
    ]


def test_unknown_option_and_missing_beam_are_one_line_errors(tmp_path, carphone, monkeypatch):  # noqa: F811
    root = str(tmp_path / "ucf")
    datasets_test.make_ucf101(root, carphone, ["1"])
    out = str(tmp_path / "out" / "u")
    # Caught before anything is imported or built, in absl's words for an unknown flag.
    with pytest.raises(cli_utils.UserError, match=r"^Unknown command line flag 'num_shard' \(--help"):
        ucf101.main(["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out}", "--num_shard=3"])
    assert not os.path.exists(tmp_path / "out") or os.listdir(tmp_path / "out") == []

    monkeypatch.setattr(beam_cli.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(cli_utils.UserError) as error:
        ucf101.main(["prog", f"--input_dir={root}", f"--output_tfrecord_filepath={out}"])
    assert str(error.value) == (
        'The dataset builders run on Apache Beam: pip install -e ".[beam]" (or pip install apache-beam).'
    )


def test_binary_takes_beam_options_and_reports_one_line(tmp_path, carphone):  # noqa: F811
    root = str(tmp_path / "ucf")
    triplets = datasets_test.make_ucf101(root, carphone, ["1", "2", "3"])
    out = str(tmp_path / "out" / "u.tfrecord")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "datasets.create_ucf101_tfrecord", f"--input_dir={root}",
         f"--output_tfrecord_filepath={out}", "--num_shards=2", "--runner=FnApiRunner",
         "--direct_num_workers=2", "--direct_running_mode=multi_threading"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"wrote 3 examples to 2 shard(s) {out}-*-of-00002"]
    records = datasets_test.read_records(out + "@2")
    for triplet_id, frames in triplets.items():
        datasets_test.check_record(records[os.path.join(root, triplet_id, "frame_01_gt.png")], frames)
    # Shard contents: triplets 0 and 2 in shard 0, triplet 1 in shard 1 (round-robin, in order).
    names = [os.path.join(root, i, "frame_01_gt.png") for i in ("1", "2", "3")]
    assert list(datasets_test.read_records(out + "-00000-of-00002")) == [names[0], names[2]]
    assert list(datasets_test.read_records(out + "-00001-of-00002")) == [names[1]]


def test_common_written_line():
    assert common.written(5, "/o/x.tfrecord@3") == "wrote 5 examples to 3 shard(s) /o/x.tfrecord-*-of-00003"
    assert common.written(1, "/o/x.tfrecord") == "wrote 1 examples to 1 shard(s) /o/x.tfrecord"
