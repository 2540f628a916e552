"""Mapping of official checkpoints onto our variables."""

import json
import os
import shutil

import numpy as np
import pytest

from film_tf import Options, create_model, load_official_weights
from film_tf.formats.official_weights import official_variable_specs
from tests.conftest import REFERENCE_MODELS, TESTDATA, reference_dir, reference_options


def read_variables_txt(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, shape = line.rstrip("\n").split("\t")
            rows.append((name, tuple(json.loads(shape))))
    return rows


@pytest.mark.parametrize("name", REFERENCE_MODELS)
def test_specs_match_official_variable_list(name):
    expected = read_variables_txt(os.path.join(reference_dir(name), "variables.txt"))
    assert official_variable_specs(reference_options(name)) == expected


def test_specs_match_released_configuration():
    expected = read_variables_txt(os.path.join(TESTDATA, "film_official_full_variables.txt"))
    specs = official_variable_specs(Options())
    assert specs == expected
    assert len(specs) == 82
    assert sum(int(np.prod(s)) for _, s in specs) == 34_436_667


def test_every_variable_is_loaded_into_the_right_place():
    import tensorflow as tf

    name = "film_official_small"
    model = create_model(reference_options(name))
    load_official_weights(model, reference_dir(name))
    reader = tf.train.load_checkpoint(os.path.join(reference_dir(name), "variables", "variables"))
    by_path = {v.path.split("/", 1)[1]: v for v in model.weights}
    for n, (official, _) in enumerate(official_variable_specs(model.film_options)):
        value = reader.get_tensor(f"variables/{n}/.ATTRIBUTES/VARIABLE_VALUE")
        np.testing.assert_array_equal(by_path[official[:-2]].numpy(), value, err_msg=official)


@pytest.mark.parametrize("form", ["saved_model_folder", "variables_folder", "prefix"])
def test_accepts_each_path_form(form):
    folder = reference_dir("film_official_tiny")
    path = {
        "saved_model_folder": folder,
        "variables_folder": os.path.join(folder, "variables"),
        "prefix": os.path.join(folder, "variables", "variables"),
    }[form]
    model = create_model(reference_options("film_official_tiny"))
    load_official_weights(model, path)


def test_mismatching_options_are_refused_and_nothing_changes():
    model = create_model(reference_options("film_official_tiny", filters=8))
    before = [v.numpy().copy() for v in model.weights]
    with pytest.raises(ValueError, match=r"cfeat_conv_0/kernel:0.*\[3, 3, 3, 4\].*\[3, 3, 3, 8\]"):
        load_official_weights(model, reference_dir("film_official_tiny"))
    for a, v in zip(before, model.weights):
        np.testing.assert_array_equal(a, v.numpy())


def test_wrong_variable_count_is_refused():
    model = create_model(reference_options("film_official_small"))
    with pytest.raises(ValueError, match="options do not match"):
        load_official_weights(model, reference_dir("film_official_tiny"))


def test_missing_or_foreign_path(tmp_path):
    model = create_model(reference_options("film_official_tiny"))
    with pytest.raises(FileNotFoundError, match="No official FILM checkpoint"):
        load_official_weights(model, str(tmp_path / "nothing"))
    bad = tmp_path / "bad"
    shutil.copytree(reference_dir("film_official_tiny"), bad)
    with open(bad / "variables" / "variables.index", "wb") as f:
        f.write(b"not a checkpoint")
    with pytest.raises(ValueError, match="Cannot read checkpoint"):
        load_official_weights(model, str(bad))
