"""The package's layers: the folders are layers, each imports only the ones below it, no cycles.

Read from the source (no imports): every `film_tf` import of every module, at
any depth of its code (imports inside functions count: they still make the
dependency), is checked against the layer of its folder; the whole import graph
is checked for cycles; file and binary sizes against the style guide.
"""

from __future__ import annotations

import ast
import os
import re

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "film_tf")

# Bottom to top. A module may import its own layer and the layers below it.
LAYERS = [
    ("helpers", {"film_tf", "film_tf.files", "film_tf.user_errors"}),
    ("model", {"film_tf.model"}),
    ("losses, data", {"film_tf.losses", "film_tf.data"}),
    ("formats", {"film_tf.formats"}),
    ("media", {"film_tf.media"}),
    ("runtime", {"film_tf.runtime"}),
    ("jobs", {"film_tf.jobs"}),
    ("serving", {"film_tf.serving"}),
    ("datasets", {"film_tf.datasets"}),
    ("evaluation", {"film_tf.evaluation"}),
    ("training", {"film_tf.training"}),
    ("binaries", {"film_tf.app", "film_tf.cli", "film_tf.cli_utils", "film_tf.train", "film_tf.export"}),
]
# Binaries inside library folders (their console scripts' modules) and their support:
# these stand in the top layer, whatever their folder.
BINARY_SUPPORT = {"film_tf.cli_utils", "film_tf.cli.model_flags", "film_tf.datasets.beam_cli"}
MAX_TOP_LEVEL_MODULES = 8
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
    """A module with a console-script entry point (`run_main`)."""
    return bool(re.search(r"^(def run_main\(|main, run_main = \w+\.entry_points\()", _source(module), re.M))


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
    return {m for m in out if m in MODULES} - {module}


def layer(module: str) -> int:
    """The index in LAYERS of the module's layer (binaries and their support: the top)."""
    if module in BINARY_SUPPORT or is_binary(module):
        return len(LAYERS) - 1
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (i, len(prefix))
    assert best is not None, f"{module} is in no layer: add its folder to LAYERS"
    return best[0]


GRAPH = {m: film_imports(m) for m in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_in_a_layer_and_the_top_level_is_small():
    for module in MODULES:
        layer(module)
    top = sorted(os.path.basename(p) for p in MODULES.values() if os.path.dirname(p) == PACKAGE)
    assert "__init__.py" in top and len(top) <= MAX_TOP_LEVEL_MODULES, top
    assert is_binary("film_tf.train") and is_binary("film_tf.datasets.xiph")
    assert not is_binary("film_tf.runtime.inference")


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(GRAPH) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    mine = layer(module)
    above = sorted(m for m in GRAPH[module] if layer(m) > mine)
    assert not above, f"{module} ({LAYERS[mine][0]}) imports higher layers: {above}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("film_tf.model")))
def test_the_model_imports_only_the_model(module):
    """Stricter than the layer rule: the network does no file I/O, so not even the helpers."""
    outside = {m for m in GRAPH[module] if not m.startswith("film_tf.model")}
    assert not outside, outside


def test_loading_a_model_walks_runtime_formats_model_only():
    """From `Interpolator` to a loaded model, the imports stay in runtime -> formats -> model."""
    seen, todo = set(), ["film_tf.runtime.inference"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(GRAPH[module])
    allowed = ("film_tf.runtime", "film_tf.formats", "film_tf.model")
    assert {m for m in seen if not m.startswith(allowed)} <= {
        "film_tf",
        "film_tf.files",
        "film_tf.user_errors",
    }


@pytest.mark.parametrize("module", sorted(MODULES))
def test_files_are_small(module):
    lines = _source(module).count("\n")
    # The dataset builders keep their Beam builder beside the flags: the library limit.
    thin = (module.startswith("film_tf.cli.") and module not in BINARY_SUPPORT) or module in (
        "film_tf.train",
        "film_tf.export",
    )
    limit = MAX_BINARY_LINES if thin or module == "film_tf.evaluation.eval_cli" else MAX_LINES
    assert lines <= limit, f"{module}: {lines} lines (limit {limit})"
