"""The top-level API is what the README documents, and `import film_tf` stays light."""

import json
import os
import subprocess
import sys

import pytest

import film_tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (module that owns it, its name there): the real function, not a copy.
PUBLIC = {
    "Interpolator": ("film_tf.runtime.inference", "Interpolator"),
    "create_model": ("film_tf.model.interpolator", "create_model"),
    "FilmNet": ("film_tf.model.interpolator", "FilmNet"),
    "Options": ("film_tf.model.options", "Options"),
    "load_official_weights": ("film_tf.formats.official_weights", "load_official_weights"),
    "load_model": ("film_tf.formats.model_io", "load_model"),
    "save_weights_with_options": ("film_tf.formats.model_io", "save_weights_with_options"),
    "export_saved_model": ("film_tf.serving", "export_saved_model"),
    "warp": ("film_tf.model.warp", "warp"),
    "dense_image_warp": ("film_tf.model.warp", "dense_image_warp"),
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_name_is_the_owning_modules_object(name):
    import importlib

    module_name, attr = PUBLIC[name]
    assert getattr(film_tf, name) is getattr(importlib.import_module(module_name), attr)
    assert name in film_tf.__all__
    assert name in dir(film_tf)


def test_all_lists_exactly_the_public_names():
    assert sorted(film_tf.__all__) == sorted(PUBLIC)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Interpolater'"):
        film_tf.Interpolater  # noqa: B018


def test_warp_is_the_function_even_after_importing_the_submodule():
    """The module lives in film_tf.model, so `film_tf.warp` needs no override to stay the function."""
    import film_tf.model.warp

    assert type(film_tf).__name__ == "module"  # the plain module class
    assert callable(film_tf.warp) and film_tf.warp is film_tf.model.warp.warp
    assert film_tf.warp.__module__ == "film_tf.model.warp"


def test_the_issue_command_and_a_light_import():
    """In a fresh interpreter: the issue's one-liner works, and `import film_tf`
    alone loads neither inference, model files, serving nor the CLI."""
    code = (
        "import sys, json, film_tf\n"
        "heavy = ['film_tf.runtime.inference', 'film_tf.formats.model_io', 'film_tf.serving', 'film_tf.export', "
        "'film_tf.cli', 'film_tf.runtime.tiling', 'film_tf.media.image_io']\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "film_tf.Interpolator; film_tf.export_saved_model; film_tf.load_model\n"
        "print(json.dumps(loaded))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_module_paths_the_readme_documented_before_the_move_still_import():
    """`from film_tf.inference import Interpolator` (the README's old example)
    gives the same objects as the new paths, with a DeprecationWarning, and
    importing film_tf imports none of them."""
    code = (
        "import importlib, json, sys, warnings\n"
        "import film_tf\n"
        "before = [m for m in film_tf.MOVED_MODULES.values() if m in sys.modules]\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from film_tf.inference import Interpolator\n"
        "    from film_tf.image_io import read_image, write_image\n"
        "    same = [importlib.import_module(old) is importlib.import_module(new)\n"
        "            for old, new in film_tf.MOVED_MODULES.items()]\n"
        "from film_tf.media import image_io\n"
        "same += [Interpolator is film_tf.Interpolator, read_image is image_io.read_image]\n"
        "moved = sorted({str(w.message).split()[0] for w in caught if w.category is DeprecationWarning})\n"
        "print(json.dumps([before, same, moved]))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    before, same, moved = json.loads(result.stdout.strip().splitlines()[-1])
    assert before == [] and all(same) and len(same) == len(film_tf.MOVED_MODULES) + 2
    assert moved == sorted(film_tf.MOVED_MODULES)


def test_no_film_tf_code_uses_an_old_module_path():
    """The old paths are for users' code: the package, tests and benchmarks use the new ones."""
    import re

    pattern = re.compile("|".join(re.escape(name) + r"\b" for name in film_tf.MOVED_MODULES))
    skip = {os.path.join(ROOT, "film_tf", "__init__.py"), os.path.abspath(__file__)}
    found = []
    for folder in ("film_tf", "tests", "benchmarks", "datasets", "eval"):
        for root, _, names in os.walk(os.path.join(ROOT, folder)):
            for name in names:
                path = os.path.join(root, name)
                if name.endswith(".py") and path not in skip:
                    with open(path, encoding="utf-8") as f:
                        found += [f"{path}: {m.group(0)}" for m in pattern.finditer(f.read())]
    assert not found, found
