"""Every console script answers `--help` and mistakes at once, without TensorFlow.

Each case runs a console script's `run_main` in a fresh interpreter, as the
installed script does, and records which heavy modules were imported when
the process exited. Timing lives in benchmarks/cli_startup.py, not here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("tensorflow", "keras", "gin", "jax")


def _console_scripts() -> dict[str, str]:
    with open(os.path.join(ROOT, "setup.py")) as f:
        return dict(re.findall(r'"([\w-]+)=([\w.]+):run_main"', f.read()))


SCRIPTS = _console_scripts()


def run_script(script: str, args: list[str], tmp_path, env: dict | None = None) -> tuple:
    """(returncode, stdout, stderr, heavy modules imported) of `script args`."""
    record = tmp_path / "modules.json"
    code = textwrap.dedent(
        f"""
        import atexit, json, sys
        atexit.register(lambda: open({str(record)!r}, "w").write(
            json.dumps([m for m in {HEAVY!r} if m in sys.modules])))
        sys.argv = [{script!r}, *{args!r}]
        from {SCRIPTS[script]} import run_main
        sys.exit(run_main())
        """
    )
    full_env = {k: v for k, v in os.environ.items() if k not in ("FILM_TF_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    full_env.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    heavy = json.loads(record.read_text()) if record.exists() else None
    return out.returncode, out.stdout, out.stderr, heavy


def test_setup_lists_the_binaries():
    assert {"film-train", "film-export", "film-eval", "film-interpolate", "film-interpolate-frames"} <= set(
        SCRIPTS
    )


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_exits_0_without_tensorflow(script, tmp_path):
    rc, stdout, stderr, heavy = run_script(script, ["--help"], tmp_path)
    assert rc == 0, stderr[-2000:]
    assert heavy == [], f"{script} --help imported {heavy}"
    assert re.search(r"--\[no\]verbose:", stdout) and "flags:" in stdout
    assert stderr == ""


def test_verbose_is_a_flag_of_every_binary():
    """--verbose is on the global FLAGS once cli_utils is imported, so argv
    splitters (the Beam binaries' pipeline options) keep it for the binary."""
    from absl import flags

    from film_tf import cli_utils
    from film_tf.datasets import beam_cli, video

    assert cli_utils.VERBOSE_FLAG == "verbose" and "verbose" in flags.FLAGS
    absl_args, beam_args = beam_cli.split_argv(["prog", "--verbose", "--runner=X"], video.define_flags)
    assert (absl_args, beam_args) == (["prog", "--verbose"], ["--runner=X"])


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_bad_flag_is_one_line_and_exit_2_without_tensorflow(script, tmp_path):
    rc, stdout, stderr, heavy = run_script(script, ["--no_such_flag=1"], tmp_path)
    assert rc == 2, stderr[-2000:]
    assert stderr.splitlines() == [
        "error: Unknown command line flag 'no_such_flag' (--help lists the flags)"
    ], stderr[-2000:]
    assert stdout == "" and heavy == [], heavy


@pytest.mark.parametrize(
    "script, args, message",
    [
        (
            "film-interpolate",
            ["--frame1=missing0.png", "--frame2=missing1.png", "--output_frame=mid.png"],
            "error: Image not found: 'missing0.png'.",
        ),
        (
            "film-interpolate",
            ["--frame1=a.png", "--frame2=b.png", "--output_frame=mid.png", "--model_path=no/such/model"],
            "error: Model not found: 'no/such/model'.",
        ),
        ("film-interpolate", ["--frame1=a.png", "--frame2=b.png"], "error: --output_frame is required."),
        (
            "film-train",
            ["--gin_config=missing.gin", "--base_folder=runs"],
            "error: gin config not found: 'missing.gin'.",
        ),
        ("film-train", ["--gin_config=missing.gin"], "error: --base_folder is required."),
    ],
)
def test_missing_input_is_one_line_and_exit_2_without_tensorflow(script, args, message, tmp_path):
    rc, stdout, stderr, heavy = run_script(script, args, tmp_path)
    assert (rc, stderr.splitlines(), heavy) == (2, [message], []), stderr[-2000:]
    assert stdout == "" and os.listdir(tmp_path) == ["modules.json"]  # nothing written


def test_bad_flag_value_is_one_line(tmp_path):
    rc, _, stderr, heavy = run_script("film-interpolate", ["--memory_budget_gb=lots"], tmp_path)
    assert rc == 2 and heavy == []
    assert stderr.splitlines() == [
        "error: flag --memory_budget_gb=lots: could not convert string to float: 'lots'"
    ]


def test_memory_budget_default_is_the_tiling_default():
    from film_tf.cli import model_flags as cli
    from film_tf.runtime import tiling

    assert cli.DEFAULT_MEMORY_BUDGET_GB == tiling.DEFAULT_MEMORY_BUDGET_GB


# ---------------------------------------------- quiet TensorFlow start-up

# A stand-in `tensorflow` package that, like the real one, writes to file
# descriptor 2 from native code while it loads (os.write bypasses sys.stderr).
FAKE_TF = """
import os
os.write(2, b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\\n")
if os.environ.get("FAKE_TF_FAIL"):
    raise ImportError("libtensorflow_cc.so.2: cannot open shared object file")
VALUE = 42


def save():
    from absl import logging

    logging.info("Function contains input name(s) a/b with unsupported characters ... unknown_0")
    logging.warning("`a/b` is not a valid tf.function parameter name.")
    logging.error("a real error")
"""


def _fake_tf_run(tmp_path, code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    package = tmp_path / "site" / "tensorflow"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(FAKE_TF)
    full_env = {k: v for k, v in os.environ.items() if k not in ("FILM_TF_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), ROOT])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
    )


QUIET_IMPORT = """
    import os, sys
    from film_tf import cli_utils
    cli_utils.quiet_tensorflow()
    import importlib.util
    assert importlib.util.find_spec("tensorflow") is not None  # a look before the import
    import tensorflow
    print(tensorflow.VALUE, type(tensorflow.__loader__).__name__, os.environ["TF_CPP_MIN_LOG_LEVEL"])
    print("after", file=sys.stderr)
"""

LOGS = """
    import sys
    from absl import logging
    logging.use_absl_handler()
    logging.set_verbosity(logging.INFO)
    from film_tf import cli_utils
    if sys.argv[-1] == "quiet":
        cli_utils.quiet_tensorflow()
    import tensorflow
    tensorflow.save()
    logging.info("the binary's own progress")
"""


@pytest.mark.parametrize("quiet", [True, False])
def test_quiet_drops_tensorflow_info_and_warning_logs_but_not_ours(tmp_path, quiet):
    out = _fake_tf_run(tmp_path, LOGS.replace('sys.argv[-1] == "quiet"', repr(quiet)))
    assert out.returncode == 0, out.stderr
    messages = [line.split("] ", 1)[-1] for line in out.stderr.splitlines() if "] " in line]
    tf_lines = [
        "Function contains input name(s) a/b with unsupported characters ... unknown_0",
        "`a/b` is not a valid tf.function parameter name.",
    ]
    native = ["oneDNN custom operations are on."]  # FAKE_TF's start-up line
    expected = ([] if quiet else native + tf_lines) + ["a real error", "the binary's own progress"]
    assert messages == expected


def test_quiet_import_drops_native_start_up_lines(tmp_path):
    out = _fake_tf_run(tmp_path, QUIET_IMPORT)
    assert out.returncode == 0, out.stderr
    # The real loader is restored on the module; stderr works again afterwards.
    assert out.stdout.split() == ["42", "SourceFileLoader", "3"]
    assert out.stderr == "after\n"


def test_quiet_import_shows_the_captured_lines_when_the_import_fails(tmp_path):
    out = _fake_tf_run(tmp_path, QUIET_IMPORT, {"FAKE_TF_FAIL": "1"})
    assert out.returncode == 1
    assert "oneDNN custom operations are on" in out.stderr
    assert "ImportError: libtensorflow_cc.so.2" in out.stderr and "after" not in out.stderr


def test_quiet_import_keeps_an_explicit_log_level(tmp_path):
    out = _fake_tf_run(tmp_path, QUIET_IMPORT, {"TF_CPP_MIN_LOG_LEVEL": "1"})
    assert out.stdout.split()[-1] == "1"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_verbose_brings_the_start_up_lines_back(tmp_path, how):
    """Through a console script: quiet by default, --verbose / FILM_TF_VERBOSE=1
    leave TensorFlow's start-up output alone."""
    code = """
        import sys
        sys.argv = ["film-train", "--gin_config=missing.gin", "--base_folder=runs", *ARGS]
        from film_tf.train import run_main
        import film_tf.cli_utils as cli_utils, film_tf.train as train
        real = train._run
        def _run(fv):
            import tensorflow  # what the real _run does after its checks
            real(fv)
        train.run_main = cli_utils.entry_points(train.define_flags, _run)[1]
        train.run_main()
    """
    args, env = (["--verbose"], {}) if how == "flag" else ([], {"FILM_TF_VERBOSE": "1"})
    loud = _fake_tf_run(tmp_path, code.replace("ARGS", repr(args)), env)
    quiet = _fake_tf_run(tmp_path, code.replace("ARGS", "[]"))
    assert quiet.stderr.splitlines() == ["error: gin config not found: 'missing.gin'."], quiet.stderr
    assert loud.stderr.splitlines() == [
        "I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.",
        "error: gin config not found: 'missing.gin'.",
    ], loud.stderr
    assert quiet.returncode == loud.returncode == 2


def test_report_prints_one_line(capsys):
    from film_tf import cli_utils

    cli_utils.report("wrote out/mid.png")
    assert capsys.readouterr().out == "wrote out/mid.png\n"


def test_a_fresh_matplotlib_font_cache_is_not_announced(tmp_path):
    """mediapy (the video binaries) imports matplotlib.pyplot; on a fresh
    install its first import logs 'generated new fontManager' at INFO, which
    absl's handler would print: a console script keeps it quiet."""
    code = """
        import sys
        from film_tf import cli_utils
        sys.argv = ["film-x"]
        def run(fv):
            import matplotlib.pyplot
            from absl import logging
            logging.info("the binary's own progress")
        cli_utils.run_binary(lambda fv: None, run)
    """
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "fresh"), "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert os.listdir(tmp_path / "fresh")  # The font cache was built now.
    assert [line.split("] ", 1)[-1] for line in out.stderr.splitlines()] == ["the binary's own progress"]
