"""Every console script follows the one binary pattern of film_tf.cli_utils:
`define_flags(fv)`, `main(argv)` on fresh flags, `run_main()`, no flags at import."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from film_tf import cli_utils

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _console_scripts() -> dict[str, str]:
    with open(os.path.join(ROOT, "setup.py")) as f:
        return dict(re.findall(r'"([\w-]+)=([\w.]+):run_main"', f.read()))


SCRIPTS = _console_scripts()


def test_setup_lists_the_binaries():
    assert {"film-train", "film-export", "film-eval", "film-interpolate"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_binary_defines_flags_on_demand_and_rejects_stray_arguments(script):
    module = importlib.import_module(SCRIPTS[script])
    first, second = flags.FlagValues(), flags.FlagValues()
    module.define_flags(first)
    module.define_flags(second)  # A second set in the same process: no clash.
    assert len(list(first)) >= 2 and sorted(first) == sorted(second)
    with pytest.raises(cli_utils.UserError, match="Unexpected arguments: stray"):
        module.main(["prog", "stray"])


def test_importing_binaries_defines_no_global_flags():
    code = (
        "import importlib\n"
        "from absl import flags\n"
        "own = set()\n"
        f"for name in {sorted(set(SCRIPTS.values()))!r}:\n"
        "    fv = flags.FlagValues()\n"
        "    importlib.import_module(name).define_flags(fv)\n"
        "    own |= set(fv)\n"
        "print(len(own), sorted(own & set(flags.FLAGS)))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    count, clashes = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(count) > 20 and clashes == "[]"


def test_parse_flags_reads_values_into_fresh_flag_values():
    def define(fv):
        flags.DEFINE_integer("count", 1, "A count.", flag_values=fv)

    assert cli_utils.parse_flags(["prog", "--count=3"], define).count == 3
    assert cli_utils.parse_flags(["prog"], define).count == 1
    seen = []
    cli_utils.run_argv(["prog", "--count=5"], define, lambda fv: seen.append(fv.count))
    assert seen == [5]


def _run_main(module: str, *args: str) -> subprocess.CompletedProcess:
    code = f"import sys; sys.argv = ['prog', *{list(args)!r}]; from {module} import run_main; run_main()"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_console_script_help_and_stray_argument(script):
    module = SCRIPTS[script]
    fv = flags.FlagValues()
    importlib.import_module(module).define_flags(fv)
    shown = _run_main(module, "--help")
    # absl prints the usage (the library module's docstring) and the binary's flags.
    doc = importlib.import_module(module).__doc__.strip().splitlines()[0]
    assert doc in shown.stdout and all(re.search(rf"--(\[no\])?{name}:", shown.stdout) for name in fv), (
        shown.stdout[-2000:]
    )
    stray = _run_main(module, "stray")
    assert stray.returncode == 2
    assert stray.stderr.strip().splitlines()[-1] == (
        "error: Unexpected arguments: stray (all options are --flags)."
    )


@pytest.mark.parametrize("code, returncode, stderr", [("0", 0, "note\n"), ("None", 0, "note\n"), ("3", 3, "note\n"),
                                                      ("'bad'", 1, "note\nbad\n")])  # fmt: skip
def test_exit_now_keeps_the_exit_code_and_flushes_what_was_printed(code, returncode, stderr):
    # Buffered output (stdout to a pipe is block-buffered) must not be lost
    # by skipping the interpreter's teardown.
    program = ("import sys; from film_tf.cli_utils import exit_now; print('wrote out.png'); "
               f"print('note', file=sys.stderr); exit_now({code}); print('not reached')")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stdout, result.stderr) == (returncode, "wrote out.png\n", stderr)


_BINARY = """
import atexit, sys, types
if {tf_loaded}:
    sys.modules.setdefault("tensorflow", types.ModuleType("tensorflow"))  # as after the model loads
atexit.register(lambda: print("teardown ran"))
from film_tf import cli_utils

def run(fv):
    print("wrote out.png")
    if {fail}:
        raise FileNotFoundError("Model not found: 'm.h5'.")

sys.argv = ["prog"]
cli_utils.run_binary(lambda fv: None, run, fast_exit={fast})
"""


@pytest.mark.parametrize("fast, tf_loaded, fail, returncode, teardown", [
    (True, True, False, 0, False), (True, True, True, 2, False),  # skipped: success and a user error
    (True, False, False, 0, True),  # TensorFlow never loaded: nothing to save
    (False, True, False, 0, True)])  # fmt: skip
def test_run_binary_fast_exit_skips_teardown_only_when_asked(fast, tf_loaded, fail, returncode, teardown):
    program = _BINARY.format(fast=fast, tf_loaded=tf_loaded, fail=fail)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == returncode, result.stderr
    assert result.stdout == "wrote out.png\n" + ("teardown ran\n" if teardown else "")
    if fail:
        assert result.stderr.strip().splitlines()[-1] == "error: Model not found: 'm.h5'."


def test_interruptible_turns_ctrl_c_into_exit_130_even_inside_a_library_error(capsys):
    for error in (KeyboardInterrupt(), TypeError("Binding inputs to tf.function failed")):
        with pytest.raises(SystemExit) as exit_info:
            with cli_utils.interruptible() as cancel:
                cancel.set()  # what the SIGINT handler does first
                raise error
        assert exit_info.value.code == 130
        assert capsys.readouterr().err == "interrupted; rerun the same command to continue\n"
    # Without Ctrl-C a library error is not an interrupt.
    with pytest.raises(TypeError, match="tf.function"):
        with cli_utils.interruptible():
            raise TypeError("Binding inputs to tf.function failed")
