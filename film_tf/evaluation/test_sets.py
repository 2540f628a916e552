"""The benchmarks' test sets: how many triplets each holds (FILM paper, official data).

`film-eval` compares a benchmark TFRecord's record count with its test set's
size, so that a metric on a partial (or padded) test set is never taken for
the benchmark's. A benchmark is named by `evaluation.benchmark` in
`eval/config/*.gin`, or by `experiment.name` in the official configs (the
same names).
"""

from __future__ import annotations

# name -> triplets in the test set.
TEST_SET_SIZES = {
    "vimeo_90K": 3782,  # tri_testlist.txt of vimeo_triplet
    "ucf101": 379,  # the DVF test split
    "middlebury": 12,  # "Other" sequences with interpolation ground truth
    "xiph_2K": 392,  # 8 clips x 49 triplets
    "xiph_4K": 392,
}


def expected_size(benchmark: str | None) -> int | None:
    """The test set's size, or None for an unknown (or no) benchmark name."""
    return TEST_SET_SIZES.get(benchmark) if benchmark else None


def size_warning(benchmark: str | None, tfrecord: str, count: int) -> str | None:
    """One line when `tfrecord` holds another number of triplets than the
    benchmark's test set; None when it matches or the benchmark is unknown."""
    expected = expected_size(benchmark)
    if expected is None or count == expected:
        return None
    return (
        f"'{tfrecord}' holds {count:,} triplets but the {benchmark} test set has {expected:,}: "
        "these metrics are not the benchmark's."
    )
