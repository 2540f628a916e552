"""film_tf.jobs.chunk_plan on its own: boundaries, scene cuts, very short videos, one-frame chunks."""

import itertools

import pytest

from film_tf.jobs.chunk_plan import Chunk, chunk_of, pairs_per_chunk, plan_chunks
from film_tf.jobs.frame_rate import SlowMotion, plan_rate


def spans(chunks):
    return [(c.first, c.last, c.start, c.stop, c.outputs, c.cuts) for c in chunks]


def test_every_n_pairs_chunks_share_their_boundary_frame():
    plan = SlowMotion(11, 3)  # 10 pairs, 4 output frames each, 41 outputs
    chunks = plan_chunks(plan, 3)
    assert spans(chunks) == [
        (0, 3, 0, 12, 12, 0),
        (3, 6, 12, 24, 12, 0),
        (6, 9, 24, 36, 12, 0),
        (9, 10, 36, 41, 5, 0),  # the last chunk also owns the video's last frame
    ]
    assert [c.index for c in chunks] == [0, 1, 2, 3]
    assert chunks[1].name == "chunk 1 (input frames 3-6)"


def test_a_scene_cut_starts_a_chunk_at_the_new_shot():
    plan = SlowMotion(11, 1)  # cut pair 4: frames 4 and 5 are different shots
    chunks = plan_chunks(plan, 4, cuts=[4])
    assert [(c.first, c.last, c.cuts) for c in chunks] == [(0, 4, 0), (4, 5, 1), (5, 9, 0), (9, 10, 0)]
    # The counting restarts at the cut: without it the boundaries are every 4 pairs.
    assert [(c.first, c.last) for c in plan_chunks(plan, 4)] == [(0, 4), (4, 8), (8, 10)]
    # Several cuts, one on a regular boundary (no empty chunk), duplicates ignored.
    chunks = plan_chunks(plan, 4, cuts=[3, 1, 3])
    assert [(c.first, c.last, c.cuts) for c in chunks] == [(0, 2, 1), (2, 4, 1), (4, 8, 0), (8, 10, 0)]


def test_a_cut_in_the_last_pair_makes_no_extra_chunk():
    chunks = plan_chunks(SlowMotion(6, 1), 10, cuts=[4])
    assert spans(chunks) == [(0, 5, 0, 11, 11, 1)]


def test_very_short_videos():
    # Two frames: one chunk of one pair, whatever the chunk size and cuts.
    for pairs, cuts in itertools.product((1, 5), ([], [0])):
        assert spans(plan_chunks(SlowMotion(2, 7), pairs, cuts)) == [(0, 1, 0, 9, 9, len(cuts))]
    # No in-betweens: the input frames themselves.
    assert spans(plan_chunks(SlowMotion(3, 0), 1)) == [(0, 1, 0, 1, 1, 0), (1, 2, 1, 3, 2, 0)]
    with pytest.raises(ValueError, match="at least 2 frames, got 1"):
        plan_chunks(SlowMotion(1, 2), 1)
    with pytest.raises(ValueError, match="at least 1, got 0"):
        plan_chunks(SlowMotion(5, 2), 0)


def test_one_frame_chunks_and_pairs_without_output_are_merged():
    # 30 -> 10 fps: output frames show input frames 0, 3 and 6 only.
    plan = plan_rate(30, 10, target_fps=10)
    assert plan.num_outputs == 3 and list(plan.requests()) == [(0, 0), (3, 0), (6, 0)]
    chunks = plan_chunks(plan, 1)
    # A chunk of pair 1 (or 2, 7, 8) would write nothing: it joins the next one; the
    # empty tail (pairs 7, 8) joins the chunk before. Every chunk writes one frame.
    assert spans(chunks) == [(0, 1, 0, 1, 1, 0), (1, 4, 1, 2, 1, 0), (4, 9, 2, 3, 1, 0)]
    # Slow motion with one pair per chunk: one chunk per pair.
    chunks = plan_chunks(SlowMotion(5, 0), pairs_per_chunk(1, SlowMotion(5, 0)))
    assert [c.outputs for c in chunks] == [1, 1, 1, 2]


def test_pairs_per_chunk_counts_output_frames():
    assert pairs_per_chunk(120, SlowMotion(100, 7)) == 15  # 8 outputs per pair
    assert pairs_per_chunk(5, SlowMotion(100, 7)) == 1  # at least one pair
    assert pairs_per_chunk(12, plan_rate(25, 16, target_fps=60)) == 4  # 38 outputs / 15 pairs ~ 3


@pytest.mark.parametrize("frames, per_pair, pairs", [(2, 0, 1), (7, 1, 2), (30, 7, 4), (41, 2, 7)])
@pytest.mark.parametrize("rate", [None, 24, 60, 7])
def test_chunks_tile_the_video_whatever_the_size(frames, per_pair, pairs, rate):
    plan = SlowMotion(frames, per_pair) if rate is None else plan_rate(25, frames, target_fps=rate)
    cuts = sorted({c for c in (0, 3, 4, 17, frames - 2) if 0 <= c < frames - 1})
    chunks = plan_chunks(plan, pairs, cuts)
    assert chunks[0].first == 0 and chunks[-1].last == frames - 1
    assert chunks[0].start == 0 and chunks[-1].stop == plan.num_outputs
    for a, b in zip(chunks, chunks[1:]):
        assert a.last == b.first and a.stop == b.start  # no pair lost or computed twice
    sources = [plan.source(j) for j in range(plan.num_outputs)]
    for c in chunks:
        assert c.outputs == c.stop - c.start
        # A chunk's output frames are made from its own input frames only.
        owned = sources[c.start : c.stop]
        assert all(c.first <= p < c.last or (p == c.last == frames - 1 and f == 0) for p, f in owned)
        assert c.outputs >= 1 or len(chunks) == 1
        assert c.cuts == sum(c.first <= cut < c.last for cut in cuts)
    assert sum(c.outputs for c in chunks) == plan.num_outputs
    assert sum(c.cuts for c in chunks) == len(cuts)
    starts = [c.start for c in chunks]
    assert [chunk_of(starts, j) for j in range(plan.num_outputs)] == [
        c.index for c in chunks for _ in range(c.start, c.stop)
    ]


def test_chunk_is_a_plain_picklable_value():
    import pickle

    chunk = Chunk(2, 4, 8, 16, 32, 16, 1)
    assert pickle.loads(pickle.dumps(chunk)) == chunk
