"""The package's layers: binaries on top, libraries below them, the model core at the bottom.

Read from the source (no imports): every `film_tf` import of every module is
checked against its layer, and file and binary sizes against the style guide.
"""

from __future__ import annotations

import ast
import os
import re

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "film_tf")

# The model core: keras.ops and Keras layers, one paper component per file.
CORE = {
    "film_tf.model.options",
    "film_tf.model.warp",
    "film_tf.model.image_pyramid",
    "film_tf.model.feature_extractor",
    "film_tf.model.pyramid_flow_estimator",
    "film_tf.model.fusion",
    "film_tf.model.interpolator",
    "film_tf.model.tracking",  # Keras sub-layer tracking for the layers above
    "film_tf.model.winograd",  # the 3x3 convolution layer (direct or Winograd)
}
# Code that only binaries use: the binary pattern and the CLIs' shared flags.
BINARY_SUPPORT = {"film_tf.cli_utils", "film_tf.cli", "film_tf.cli.model_flags", "film_tf.datasets.beam_cli"}
MAX_LINES = 400
MAX_BINARY_LINES = 160


def _modules() -> dict[str, str]:
    out = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[: -len(".py")]
                module = rel.replace(os.sep, ".").removesuffix(".__init__")
                out[module] = path
    return out


MODULES = _modules()


def _source(module: str) -> str:
    with open(MODULES[module], encoding="utf-8") as f:
        return f.read()


def is_binary(module: str) -> bool:
    """A module with a console-script entry point (`run_main`), or the CLI package."""
    source = _source(module)
    return module.startswith("film_tf.cli.") or bool(
        re.search(r"^(def run_main\(|main, run_main = \w+\.entry_points\()", source, re.M)
    )


def film_imports(module: str) -> set[str]:
    """The film_tf modules `module` imports (at any depth of its code)."""
    out = set()
    for node in ast.walk(ast.parse(_source(module))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("film_tf"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("film_tf"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                out.add(candidate if candidate in MODULES else node.module)
    return out


def test_the_layer_lists_name_real_modules():
    assert CORE <= set(MODULES) and BINARY_SUPPORT <= set(MODULES)
    assert (
        is_binary("film_tf.train")
        and is_binary("film_tf.export")
        and not is_binary("film_tf.runtime.inference")
    )


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_model_core_imports_only_the_model_core(module):
    assert film_imports(module) - {"film_tf"} <= CORE, film_imports(module) - CORE


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not is_binary(m) and m not in BINARY_SUPPORT))
def test_libraries_never_import_binaries(module):
    above = {m for m in film_imports(module) if m in BINARY_SUPPORT or (m in MODULES and is_binary(m))}
    assert not above, f"{module} imports {sorted(above)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_files_are_small(module):
    lines = _source(module).count("\n")
    limit = (
        MAX_BINARY_LINES
        if module.startswith("film_tf.cli.")
        or module
        in (
            "film_tf.train",
            "film_tf.export",
            "film_tf.evaluation.eval_cli",
        )
        else MAX_LINES
    )
    assert lines <= limit, f"{module}: {lines} lines (limit {limit})"
