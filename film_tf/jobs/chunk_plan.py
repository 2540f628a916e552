"""How a video job is cut into chunks: at scene cuts, and otherwise every N pairs.

A video of F input frames has F - 1 pairs. A chunk is a run of consecutive
pairs: input frames `first..last` (inclusive), the pairs `first..last - 1`.
Neighbouring chunks share their boundary frame (one chunk's `last` is the next
one's `first`), so every pair is in exactly one chunk: none lost, none
computed twice. A chunk owns the output frames whose time (in input frames,
`film_tf.jobs.frame_rate`) is in [first, last): output frames
`plan.first_output(first) .. plan.first_output(last) - 1` (its boundary frame
belongs to the next chunk); the last chunk also owns the video's last frame
and the frames past it.

Boundaries: after every scene cut (cut pair c, frames c and c + 1: the next
chunk starts at c + 1, the first frame of the new shot, so each encoded chunk
starts a shot on a keyframe) and otherwise every `pairs_per_chunk` pairs,
counted from the last boundary. A chunk to which the plan gives no output
frame (a low target rate, tiny chunks) is merged into the next one (the last
into the one before), so every chunk writes at least one frame.

Used by both the in-process job (`film_tf.jobs.video_job`) and the Beam job
(`film_tf.jobs.beam_video`): the same chunks, hence the same encoded pieces.
Pure arithmetic; no numpy, no TensorFlow.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Iterable, Protocol


class OutputPlan(Protocol):
    """What the chunk plan needs of a `RatePlan` / `SlowMotion`."""

    num_frames: int

    @property
    def num_outputs(self) -> int: ...

    def first_output(self, p: int) -> int: ...


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Chunk `index`: input frames `first..last` (inclusive), `outputs` output frames.

    Attributes:
      index: 0-based position in the plan.
      first, last: input frame indices; the pairs are first..last - 1.
      start, stop: the output frames it owns, [start, stop).
      outputs: how many: stop - start.
      cuts: the scene cuts among its pairs.
    """

    index: int
    first: int
    last: int
    start: int
    stop: int
    outputs: int
    cuts: int

    @property
    def name(self) -> str:
        """'chunk 3 (input frames 120-240)', for messages."""
        return f"chunk {self.index} (input frames {self.first}-{self.last})"


def pairs_per_chunk(chunk_frames: int, plan: OutputPlan) -> int:
    """About `chunk_frames` output frames per chunk, in whole pairs (at least one)."""
    per_pair = round(plan.num_outputs / max(1, plan.num_frames - 1))
    return max(1, chunk_frames // max(1, per_pair))


def _boundaries(num_frames: int, pairs: int, cuts: Iterable[int]) -> list[int]:
    """The input frames where chunks start: 0, after each cut, every `pairs` pairs."""
    after_cut = sorted({c + 1 for c in cuts if 0 <= c < num_frames - 2})
    starts, segment_start = [], 0
    for segment_end in [*after_cut, num_frames - 1]:
        starts.extend(range(segment_start, segment_end, pairs))
        segment_start = segment_end
    return starts


def plan_chunks(plan: OutputPlan, pairs: int, cuts: Iterable[int] = ()) -> list[Chunk]:
    """The chunks of a job (see the module docstring).

    Args:
      plan: the whole video's output plan (`plan_rate` or `SlowMotion`),
        computed once for the video: chunks never shift output times.
      pairs: pairs per chunk, >= 1 (`pairs_per_chunk`).
      cuts: the scene-cut pairs c (frames c, c + 1 differ by more than the
        threshold), e.g. `film_tf.jobs.scene_cuts.find_cuts`.

    Returns:
      The chunks in order; their `outputs` sum to `plan.num_outputs`.
    """
    if pairs < 1:
        raise ValueError(f"pairs per chunk must be at least 1, got {pairs}.")
    if plan.num_frames < 2:
        raise ValueError(f"a video job needs at least 2 frames, got {plan.num_frames}.")
    cuts = sorted(set(cuts))
    starts = _boundaries(plan.num_frames, pairs, cuts)
    spans = list(zip(starts, [*starts[1:], plan.num_frames - 1]))
    merged: list[list[int]] = []  # [first, last, outputs]
    carry = None
    for first, last in spans:
        first = carry if carry is not None else first
        outputs = _stop(plan, last) - plan.first_output(first)
        if outputs == 0 and last != plan.num_frames - 1:
            carry = first  # nothing to write: the next chunk takes these pairs
            continue
        carry = None
        if outputs == 0 and merged:  # an empty last chunk joins the one before
            merged[-1][1] = last
        else:
            merged.append([first, last, outputs])
    chunks = []
    for index, (first, last, outputs) in enumerate(merged):
        cut_count = bisect.bisect_left(cuts, last) - bisect.bisect_left(cuts, first)
        chunks.append(
            Chunk(index, first, last, plan.first_output(first), _stop(plan, last), outputs, cut_count)
        )
    return chunks


def _stop(plan: OutputPlan, last: int) -> int:
    """The end of the outputs of a chunk ending at input frame `last` (the video's last: all the rest)."""
    return plan.num_outputs if last == plan.num_frames - 1 else plan.first_output(last)


def chunk_of(starts: list[int], index: int) -> int:
    """The position of the chunk owning output frame `index`, given the chunks' `start`s in order."""
    return bisect.bisect_right(starts, index) - 1
