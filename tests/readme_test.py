"""Every ```python block of README.md runs as written.

Each block is checked statically (it compiles; every `film_tf` module, name and
`film_tf.<attr>` it uses exists; it uses no name it never defines) and then
run as a script in a fresh temporary folder, in its own interpreter. The frames
a snippet reads under the README's placeholder names (`a.png`, `frame0.png`,
...) are copies of the bundled example pair put in that folder first.

A block is not run, only checked statically, when it needs something a test
machine does not have; the reason is given by `SKIP_RULES` (a string literal
in the code, never a comment, decides). Blocks are found afresh on every run,
so new README snippets are tested without touching this file. The API names
the prose mentions in backticks (`film_tf.formats.model_io.save_weights_with_options`)
must exist too.

Today: "The model" and "Interpolating your own frames" blocks run; the TF
Serving REST client needs a model server (skipped with that reason).

The ```sh blocks: the first screen's bundled example and every command of the
"From install to a trained model" path run as written, in order, in a
temporary folder (`test_readme_shell_commands_run_as_written`); only a
download, an install or a server is skipped, by `SH_SKIP_RULES`.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tokenize

import pytest

from film_tf.formats.model_io import EXAMPLE_FRAMES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")

# Placeholder frame names used in the README -> the bundled frame copied there.
FRAMES = {
    "a.png": EXAMPLE_FRAMES[0],
    "b.png": EXAMPLE_FRAMES[1],
    "frame0.png": EXAMPLE_FRAMES[0],
    "frame1.png": EXAMPLE_FRAMES[1],
    "photo_a.png": EXAMPLE_FRAMES[0],
    "photo_b.png": EXAMPLE_FRAMES[1],
}

# (pattern in a string literal of the code, why the block cannot run here).
SKIP_RULES = (
    (r"^https?://localhost", "needs a running TF Serving model server (not installable here)"),
    (r"pretrained_models/|film_net/(Style|L1|VGG)/", "needs the released FILM weights (not on this machine)"),
)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```python fenced block."""
    blocks = []
    for match in re.finditer(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.M | re.S):
        blocks.append((text.count("\n", 0, match.start()) + 1, match.group(1)))
    return blocks


def _string_literals(code: str) -> list[str]:
    literals = []
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.STRING:
            try:
                literals.append(ast.literal_eval(token.string))
            except ValueError:  # f-strings
                literals.append(token.string)
    return [s for s in literals if isinstance(s, str)]


def skip_reason(code: str) -> str | None:
    for literal in _string_literals(code):
        for pattern, reason in SKIP_RULES:
            if re.search(pattern, literal):
                return f"{reason}: {literal!r}"
    return None


def undefined_names(tree: ast.AST) -> list[str]:
    """Names a module-level snippet loads but never binds (nor imports, nor builtins)."""
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    loaded = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return sorted({n for n in loaded if n not in bound})


def check_film_tf_names(tree: ast.AST) -> None:
    """Every film_tf import and `film_tf.<attr>` in the snippet exists."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "film_tf":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "film_tf":
                    importlib.import_module(alias.name)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "film_tf"
        ):
            import film_tf

            assert hasattr(film_tf, node.attr), f"film_tf has no attribute {node.attr!r}"


def _blocks() -> list:
    with open(README, encoding="utf-8") as f:
        blocks = python_blocks(f.read())
    return [pytest.param(code, id=f"README.md:{line}") for line, code in blocks]


BLOCKS = _blocks()


def test_readme_has_python_blocks():
    assert BLOCKS, "no ```python block found in README.md (did the fence style change?)"


@pytest.mark.parametrize("code", BLOCKS)
def test_readme_python_block(code, tmp_path):
    tree = ast.parse(code)  # a SyntaxError fails the test
    check_film_tf_names(tree)
    assert not undefined_names(tree), f"the snippet uses names it never defines: {undefined_names(tree)}"
    reason = skip_reason(code)
    if reason:
        pytest.skip(reason)
    run_snippet(code, str(tmp_path))


def run_snippet(code: str, folder: str) -> None:
    """Runs `code` as a script in `folder` (with the placeholder frames) in a new interpreter."""
    for literal in set(_string_literals(code)) & set(FRAMES):
        shutil.copy(FRAMES[literal], os.path.join(folder, literal))
    script = os.path.join(folder, "snippet.py")
    with open(script, "w") as f:
        f.write(code)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    result = subprocess.run(
        [sys.executable, script], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"the snippet failed:\n{result.stderr[-3000:]}"


def resolve(dotted: str):
    """The object a dotted `film_tf....` name refers to (the longest importable
    module prefix, then attributes); raises if there is none."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_readme_inline_api_names_exist():
    """Every `film_tf.<name>` the README's prose mentions (in backticks) exists."""
    with open(README, encoding="utf-8") as f:
        names = sorted(set(re.findall(r"`(film_tf(?:\.[A-Za-z_]\w*)+)", f.read())))
    assert names
    missing = []
    for name in names:
        try:
            resolve(name)
        except (ImportError, AttributeError) as e:
            missing.append(f"{name} ({e})")
    assert not missing, f"README.md names API that does not exist: {missing}"


# The checks above on known-bad snippets: each must be caught.


def test_a_failing_snippet_fails(tmp_path):
    with pytest.raises(AssertionError, match="the snippet failed"):
        run_snippet("from PIL import Image\nImage.open('a.png').verify()\nraise SystemExit(3)", str(tmp_path))
    assert (tmp_path / "a.png").is_file()  # the placeholder frame was provided


def test_static_checks_catch_bad_snippets():
    assert undefined_names(ast.parse("import numpy as np\nout = model(np.zeros(3))")) == ["model"]
    assert undefined_names(ast.parse("def f(p):\n    return p\nf(1)")) == []
    with pytest.raises(AssertionError, match="no attribute 'Interpolater'"):
        check_film_tf_names(ast.parse("import film_tf\nfilm_tf.Interpolater()"))
    with pytest.raises(AssertionError, match="has no nothing_here"):
        check_film_tf_names(ast.parse("from film_tf.runtime.inference import nothing_here"))


def test_resolve_fails_on_a_missing_name():
    assert resolve("film_tf.model.interpolator.create_model") is resolve("film_tf.create_model")
    with pytest.raises(AttributeError):
        resolve("film_tf.runtime.inference.no_such_function")


def test_skip_rules_read_code_not_comments():
    assert skip_reason('x = 1  # or Interpolator("film_net/Style/saved_model")') is None
    assert "released FILM weights" in skip_reason('load("pretrained_models/film_net/L1/saved_model")')
    assert "model server" in skip_reason('url = "http://localhost:8501/v1/models/film:predict"')


# ---------------------------------------------------------------- shell blocks


def sh_commands(text: str) -> list[str]:
    """Every command of the ```sh blocks, continuation lines joined, comments dropped."""
    commands = []
    for match in re.finditer(r"^```sh[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", match.group(1))
        commands += [
            line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
        ]
    return commands


# The README's first command (after its set-up prefix, which CI has already run) and every
# command of its "From install to a trained model" path run as written, in order, from a
# folder that looks like the repository root (film_tf/, gin_configs/ and eval/ linked in),
# so the source tree gets no outputs. A path command is not run only when it needs what a
# test machine does not have; `SH_SKIP_RULES` gives the reason.
FIRST_COMMAND = "film-interpolate-frames --pattern film_tf/assets/examples"
PATH_HEADING = "## From install to a trained model"
SH_SKIP_RULES = (
    (r"^pip install ", "installs a package (the test environment is fixed)"),
    (r"^tensorboard ", "starts a web server"),
    (r"pretrained_models/", "needs the released FILM weights (not on this machine)"),
    (r"--model_path film-(style|l1|vgg)\b", "downloads a released FILM model (no network here)"),
    (r"^(tensorflow_model_server|docker) ", "needs a TF Serving model server"),
)
# The programs of the path, in order: what runs, and what is only shown.
PATH_PROGRAMS = [
    "film-interpolate",
    "film-interpolate-frames",
    "film-interpolate-frames",
    "film-create-synthetic-motion-tfrecord",
    "film-train",
    "film-eval",
    "film-export",
    "film-export",
    "saved_model_cli",
]
PATH_SKIPPED = ["film-interpolate", "film-interpolate", "pip", "pip", "tensorboard"]


def section(text: str, heading: str) -> str:
    """The markdown from `heading` to the next level-2 heading."""
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def sh_skip_reason(command: str) -> str | None:
    for pattern, reason in SH_SKIP_RULES:
        if re.search(pattern, command):
            return reason
    return None


def _readme() -> str:
    with open(README, encoding="utf-8") as f:
        return f.read()


def first_command() -> str:
    (command,) = [c for c in sh_commands(_readme()) if FIRST_COMMAND in c][:1]
    return command[command.index(FIRST_COMMAND) :]


def path_commands() -> list[tuple[str, str | None]]:
    """(command, skip reason or None) of the path section, in order."""
    return [(c, sh_skip_reason(c)) for c in sh_commands(section(_readme(), PATH_HEADING))]


def test_the_path_runs_every_step_and_skips_only_downloads_and_servers():
    commands = path_commands()
    assert [c.split()[0] for c, reason in commands if reason is None] == PATH_PROGRAMS, commands
    assert [c.split()[0] for c, reason in commands if reason is not None] == PATH_SKIPPED, commands
    # Console scripts, not `python -m` module paths that work only from the repository root.
    assert not [c for c, _ in commands if c.startswith("python")]
    # The data the training step reads is made before it.
    steps = [c for c, _ in commands]
    make = next(i for i, c in enumerate(steps) if "--output_tfrecord_filepath=/tmp/film/tiny.tfrecord" in c)
    train = next(i for i, c in enumerate(steps) if c.startswith("film-train"))
    assert make < train and "/tmp/film/tiny.tfrecord@2" in steps[train]


def test_sh_skip_rules():
    assert sh_skip_reason("pip install tensorboard") and sh_skip_reason("tensorboard --logdir x")
    assert "released FILM weights" in sh_skip_reason(
        "film-interpolate --model_path pretrained_models/film_net/L1"
    )
    assert "downloads a released" in sh_skip_reason("film-interpolate --model_path film-style --frame1 a")
    assert sh_skip_reason("film-train --gin_config gin_configs/testing/tiny.gin") is None


def test_readme_shell_commands_run_as_written(tmp_path):
    """The bundled example (first screen), then the path from install to a trained model."""
    commands = [first_command()] + [c for c, reason in path_commands() if reason is None]
    assert [c.split()[0] for c in commands] == ["film-interpolate-frames", *PATH_PROGRAMS], commands
    for name in ("film_tf", "gin_configs", "eval"):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the tools keep TensorFlow quiet themselves
    # The path writes under /tmp/film as the README says; run it in a private /tmp-like
    # prefix so parallel runs do not meet.
    private = tmp_path / "tmp"
    private.mkdir()
    outputs = {}
    for command in commands:
        command = command.replace("/tmp/", f"{private}/")
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200
        )
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        outputs.setdefault(command.split()[0], []).append(done)
    frames = sorted(os.listdir(tmp_path / "slowmo" / "interpolated_frames"))
    assert frames == [f"frame_{i:03d}.png" for i in range(17)]
    assert os.path.getsize(tmp_path / "slowmo" / "example.gif") > 0
    film = private / "film"
    assert os.path.isfile(film / "tiny" / "train" / "checkpoint")
    # What the tools say they wrote, in one last line.
    (interpolated,) = outputs["film-interpolate"]
    assert interpolated.stdout.splitlines() == [f"wrote the middle frame to {film}/middle.png"]
    assert (film / "middle.png").is_file() and (film / "clip_30fps.mp4").stat().st_size > 0
    from film_tf.media import video_io

    converted = video_io.open_video(str(film / "clip_30fps.mp4"))  # 5 frames at 10 fps -> 30 fps
    assert (converted.fps, converted.num_images) == (30.0, 15)
    (trained,) = outputs["film-train"]
    assert trained.stdout.splitlines()[-1].startswith(f"trained to step 20: wrote {film}/tiny")
    with open(film / "tiny_eval" / "results.json") as f:
        assert json.load(f)["num_examples"] == 32
    assert (film / "exports" / "1" / "saved_model.pb").is_file()
    (shown,) = outputs["saved_model_cli"]
    assert "x0" in shown.stdout and "image" in shown.stdout


def test_readme_test_command_is_what_ci_runs():
    """The first screen's test command installs the extras `.ci/run` installs and runs its pytest line."""
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        ci = f.read()
    (extras,) = re.findall(r'pip install --quiet -e "\.\[([a-z,-]+)\]"', ci)
    (command,) = [c for c in sh_commands(_readme()) if "python -m pytest" in c]
    assert f'pip install -e ".[{extras}]"' in command
    assert command.endswith("python -m pytest -n 2 tests") and "\npython -m pytest -n 2 tests\n" in ci
