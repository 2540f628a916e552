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
CASES = {"png": 8, "jpeg": 8, "mp4": 3, "mov": 3, "mkv": 3, "webm": 3, "tfrecord": 6,
         "model_variables": 4, "model_h5": 4, "model_export": 4}  # fmt: skip
# Damaged model files and TFRecord shards are fixed on other branches of issue 35.
PENDING = pytest.mark.xfail(
    strict=False, reason="fixed on branch wt-35model/wt-35data; integrator removes this"
)
PENDING_KINDS = {"tfrecord", "model_variables", "model_h5", "model_export"}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def report(work):
    """The harness's summary of CASES, per kind (run as its own process: it forks one child per case)."""
    path = work / "report.json"
    kinds = ",".join(f"{kind}:{count}" for kind, count in CASES.items())
    subprocess.run(
        [sys.executable, "-m", "tests.fuzz.harness", f"--work={work}", f"--kinds={kinds}", f"--seed={SEED}",
         "--jobs=2", "--timeout=240", f"--report={path}"],
        cwd=harness.REPO, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    with open(path) as f:
        summary = json.load(f)
    return {
        kind: dict(
            row,
            failures=[f for f in summary["failures"] if f["kind"] == kind],
            statuses={i: status for k, i, status in summary["statuses"] if k == kind},
        )
        for kind, row in summary["kinds"].items()
    }


@pytest.mark.parametrize("kind", [pytest.param(k, marks=PENDING) if k in PENDING_KINDS else k for k in CASES])
def test_every_damaged_input_ends_in_success_or_one_error_line(report, kind):
    row = report[kind]
    assert row["cases"] == CASES[kind]
    assert row["success"] + row["error"] == row["cases"], "\n\n".join(
        f"{f['mutation']}: {f['why']}\n{f['command']}\n{f['tail']}" for f in row["failures"]
    )


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
    os.makedirs(tmp_path / "out")
    (tmp_path / "out" / ".mid.abc.tmp.png").write_bytes(b"x")
    assert judge(case, 2, "", "error: x\n", 1.0, False).why == "exit 2 but left ['.mid.abc.tmp.png']"


def test_forked_cases_end_as_the_console_scripts_do(report, work):
    """The harness forks children that run each binary's `run_main()`; the
    same cases run as their own `python -m <binary>` processes end the same way."""
    cases = [("png", 0), ("jpeg", 1), ("mp4", 0), ("model_h5", 0)]
    results = harness.run_cases(cases, SEED, str(work), mode="subprocess", jobs=2, timeout=240)
    assert sorted((c.kind, c.index, o.status) for c, o in results) == sorted(
        (kind, index, report[kind]["statuses"][index]) for kind, index in cases
    )
