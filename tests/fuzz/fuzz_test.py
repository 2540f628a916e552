"""Damaged inputs of every kind a user passes, through the real binaries (issue 35).

One run of `tests.fuzz.harness` (fixed seed, a few cases per kind, about two
minutes on 2 cores): every case must end in success with a valid output or in
one `error:` line with exit 2 and nothing left behind; never a traceback, a
signal or a hang. The larger run's figures are in the README (Reliability).
"""

import json
import os
import subprocess
import sys

import pytest

from tests.fuzz import harness

SEED = 0
# Cases per kind, in groups that each run the harness once (one test each, so that
# pytest-xdist workers never run the same cases twice).
GROUPS = {
    "images": {"png": 8, "jpeg": 8},
    "videos": {"mp4": 3, "mov": 3, "mkv": 3, "webm": 3},
    "tfrecords": {"tfrecord": 6},
    "models": {"model_variables": 4, "model_h5": 4, "model_export": 4},
}


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory) -> str:
    """The clean inputs' folder, shared by this session's tests (and pytest-xdist workers:
    the harness builds it once, under a lock)."""
    base = tmp_path_factory.getbasetemp()
    return str((base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "fuzz_fixtures")


def run_harness(work, fixtures: str, counts: dict[str, int]) -> dict:
    """`python -m tests.fuzz.harness` on `counts` ({kind: cases}); its JSON summary."""
    path = work / "report.json"
    kinds = ",".join(f"{kind}:{count}" for kind, count in counts.items())
    done = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.harness", f"--work={work}", f"--kinds={kinds}", f"--seed={SEED}",
         "--jobs=2", "--timeout=240", f"--report={path}", f"--fixtures={fixtures}"],
        cwd=harness.REPO, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert os.path.exists(path), done.stderr[-3000:]
    with open(path) as f:
        return json.load(f)


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_damaged_input_ends_in_success_or_one_error_line(group, tmp_path, fixtures):
    summary = run_harness(tmp_path, fixtures, GROUPS[group])
    assert {kind: row["cases"] for kind, row in summary["kinds"].items()} == GROUPS[group]
    assert summary["failures"] == [], "\n\n".join(
        f"{f['kind']} #{f['index']} ({f['mutation']}): {f['why']}\n{f['command']}\n{f['tail']}"
        for f in summary["failures"]
    )
    for row in summary["kinds"].values():
        assert row["success"] + row["error"] == row["cases"]


def test_mutations_are_seeded_and_of_every_kind():
    import random

    data = bytes(range(256)) * 4
    first = [harness.mutate(data, random.Random(f"{SEED}/x/{i}")) for i in range(40)]
    assert first == [harness.mutate(data, random.Random(f"{SEED}/x/{i}")) for i in range(40)]
    assert {m.split()[0] for _, m in first} == set(harness.MUTATIONS)
    for damaged, mutation in first:
        kind = mutation.split()[0]
        if kind == "truncate":
            assert len(damaged) < len(data) and data.startswith(damaged)
        elif kind == "insert":
            assert len(damaged) > len(data)
        else:
            assert len(damaged) == len(data) and damaged != data or kind == "zero"


def test_judge_tells_tracebacks_leftovers_and_error_lines_apart(tmp_path):
    case = harness.Case("png", 0, str(tmp_path), "a.png", "x", ["film-interpolate"], str(tmp_path / "out" / "mid.png"),
                        str(tmp_path / "out"))  # fmt: skip
    judge = harness.judge
    assert judge(case, 2, "", "note\nerror: Cannot read image 'a.png'.\n", 1.0, False).status == "error"
    assert judge(case, 2, "", "error: one\nerror: two\n", 1.0, False).why.startswith(
        "exit 2 with 2 error line(s)"
    )
    assert judge(
        case, 1, "", "Traceback (most recent call last):\n  ...\nValueError: x\n", 1.0, False
    ).why == ("traceback, exit 1")
    assert judge(case, -11, "", "", 1.0, False).why == "killed by signal 11 (SIGSEGV)"
    assert judge(case, None, "", "", 60.0, True).why == "hang: killed after the timeout"
    assert judge(case, 0, "wrote", "", 1.0, False).why == "exit 0 without the output"
    evaluated = harness.Case("tfrecord", 0, str(tmp_path), "s", "x", ["film-eval"], str(tmp_path / "ev" / "results.json"),
                             str(tmp_path / "ev"))  # fmt: skip
    os.makedirs(tmp_path / "ev")
    (tmp_path / "ev" / "results.json").write_text('{"num_examples": 1}')
    assert (
        judge(evaluated, 0, "", "", 1.0, False).why
        == "exit 0 with results.json of 1 of the shard's 3 examples"
    )
    (tmp_path / "ev" / "results.json").write_text('{"num_examples": 3}')
    assert judge(evaluated, 0, "", "", 1.0, False).status == "success"
    os.makedirs(tmp_path / "out")
    (tmp_path / "out" / ".mid.abc.tmp.png").write_bytes(b"x")
    assert judge(case, 2, "", "error: x\n", 1.0, False).why == "exit 2 but left ['.mid.abc.tmp.png']"


def test_forked_cases_end_as_the_console_scripts_do(tmp_path, fixtures):
    """The harness forks children that run each binary's `run_main()`; the
    same cases run as their own `python -m <binary>` processes end the same way."""
    counts = {"png": 1, "mp4": 1, "model_h5": 1}
    forked = run_harness(tmp_path / "fork", fixtures, counts)["statuses"]
    results = harness.run_cases(
        [(kind, 0) for kind in counts],
        SEED,
        str(tmp_path / "subprocess"),
        mode="subprocess",
        jobs=2,
        timeout=240,
    )
    assert sorted([c.kind, c.index, o.status] for c, o in results) == sorted(forked)
