"""execution_choice: the cache (atomic, reused, invalidated), overrides, the static rule,
and the automatic path's outputs against the plain graph."""

import dataclasses
import json
import os

import numpy as np
import pytest

from film_tf import Options, create_model, files, load_official_weights
from film_tf.formats.model_io import save_weights_with_options
from film_tf.runtime import execution_choice
from film_tf.runtime.inference import Interpolator
from film_tf.runtime.passes import KerasPasses
from tests.conftest import reference_dir, reference_options

TINY = reference_dir("film_official_tiny")
ZEN4 = {"model": "AMD EPYC", "flags": ["avx2", "avx512f", "avx512_bf16", "fma"], "cores": 2}
SAPPHIRE_RAPIDS = {"model": "Intel Xeon", "flags": ["amx_bf16", "amx_tile", "avx512f"], "cores": 2}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder ($FILM_TF_CACHE) and this machine's CPU fixed to ZEN4."""
    monkeypatch.setenv(execution_choice.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(execution_choice, "cpu_info", lambda: dict(ZEN4))
    return tmp_path / "cache" / "execution.json"


@pytest.fixture
def measured(monkeypatch):
    """Replaces the measurement by a recorder that answers `measured.seconds`."""

    class Recorder:
        calls = 0
        seconds = {"plain": 1.0, "xla": 0.5}

        def __call__(self, model, *args, **kwargs):
            self.calls += 1
            return dict(self.seconds)

    recorder = Recorder()
    monkeypatch.setattr(execution_choice, "measure", recorder)
    return recorder


def test_cache_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(execution_choice.CACHE_ENV, str(tmp_path))
    assert execution_choice.cache_path() == str(tmp_path / "execution.json")
    monkeypatch.delenv(execution_choice.CACHE_ENV)
    expected = os.path.join(os.path.expanduser("~"), ".cache", "film_tf", "execution.json")
    assert execution_choice.cache_path() == expected


def test_measures_once_writes_atomically_and_reuses(cache, measured, monkeypatch):
    writes = []
    real = files.write_json_atomic
    monkeypatch.setattr(
        files, "write_json_atomic", lambda path, data, **kw: (writes.append(path), real(path, data, **kw))
    )
    wide = Options()
    first = execution_choice.choose(wide, model=object(), many_calls=True)
    assert (first.name, first.reason, measured.calls) == ("xla", "measured", 1)
    assert writes == [str(cache)]  # through the project's atomic writer
    assert sorted(os.listdir(cache.parent)) == ["execution.json"]  # no temporary file left
    data = json.loads(cache.read_text())
    (entry,) = data["entries"].values()
    assert data["version"] == execution_choice.CACHE_VERSION
    assert entry["choice"] == "xla" and entry["seconds"] == {"plain": 1.0, "xla": 0.5}
    again = execution_choice.choose(wide, model=object(), many_calls=True)
    assert (again.name, again.reason, measured.calls) == ("xla", "cached", 1)
    # A cached decision serves callers that would not measure, too.
    assert execution_choice.choose(wide).reason == "cached"


def test_a_different_cpu_tensorflow_or_model_measures_again(cache, measured, monkeypatch):
    wide = Options()
    execution_choice.choose(wide, model=object(), many_calls=True)
    monkeypatch.setattr(execution_choice, "cpu_info", lambda: dict(ZEN4, flags=ZEN4["flags"] + ["amx_tile"]))
    assert execution_choice.choose(wide, model=object(), many_calls=True).reason == "measured"
    monkeypatch.setattr(execution_choice, "cpu_info", lambda: dict(ZEN4))
    assert execution_choice.choose(wide, model=object(), many_calls=True).reason == "cached"
    versions = {"tensorflow": "9.99.0", "keras": execution_choice._version("keras")}
    monkeypatch.setattr(execution_choice, "_version", versions.get)
    assert execution_choice.choose(wide, model=object(), many_calls=True).reason == "measured"
    assert execution_choice.choose(Options(filters=56), model=object(), many_calls=True).reason == "measured"
    assert measured.calls == 4
    assert len(json.loads(cache.read_text())["entries"]) == 4  # older entries kept


def test_override_flags_and_bfloat16_win_over_the_cache(cache, measured):
    wide = Options()
    assert execution_choice.choose(wide, model=object(), many_calls=True).name == "xla"  # cached now
    assert execution_choice.choose(wide, jit_compile=False) == execution_choice.Choice("plain", "flag")
    measured.seconds = {"plain": 1.0, "xla": 2.0}
    other = Options(filters=56)
    assert execution_choice.choose(other, model=object(), many_calls=True).name == "plain"
    assert execution_choice.choose(other, jit_compile=True) == execution_choice.Choice("xla", "flag")
    assert execution_choice.choose(wide, "bfloat16").name == "plain"
    assert measured.calls == 2


def test_corrupt_or_foreign_cache_is_ignored_and_replaced(cache, measured):
    cache.parent.mkdir(parents=True)
    for text in ("{not json", "[1, 2]", json.dumps({"version": 999, "entries": {}}), "\x00\xff"):
        cache.write_text(text)
        assert execution_choice.read_cache() == {}
        assert execution_choice.choose(Options()).reason == "static rule"
    choice = execution_choice.choose(Options(), model=object(), many_calls=True)
    assert choice.reason == "measured"
    assert json.loads(cache.read_text())["version"] == execution_choice.CACHE_VERSION
    # An entry naming an unknown candidate is ignored too.
    data = json.loads(cache.read_text())
    for entry in data["entries"].values():
        entry["choice"] = "quantum"
    cache.write_text(json.dumps(data))
    assert execution_choice.choose(Options(), model=object(), many_calls=True).reason == "measured"


def test_static_rule_and_when_to_measure(cache, measured):
    assert execution_choice.static_choice(Options(), cpu=ZEN4) == "plain"
    assert execution_choice.static_choice(Options(), cpu=SAPPHIRE_RAPIDS) == "xla"
    assert execution_choice.static_choice(Options(), "bfloat16", cpu=SAPPHIRE_RAPIDS) == "plain"
    assert execution_choice.static_choice(Options(filters=16), cpu=SAPPHIRE_RAPIDS) == "plain"
    # Narrow models, one-shot callers and callers without a model never measure.
    assert (
        execution_choice.choose(Options(filters=16), model=object(), many_calls=True).reason == "static rule"
    )
    assert execution_choice.choose(Options(), model=object()).reason == "static rule"
    assert execution_choice.choose(Options(), many_calls=True).reason == "static rule"
    assert measured.calls == 0 and not cache.exists()


def test_the_winner_is_never_slower_than_plain():
    assert execution_choice.winner({"plain": 1.0, "xla": 0.5}) == "xla"
    assert execution_choice.winner({"plain": 1.0, "xla": 0.97}) == "plain"  # inside the margin
    assert execution_choice.winner({"plain": 1.0, "xla": 1.5, "winograd": 0.8}) == "winograd"
    assert execution_choice.winner({"plain": 1.0, "xla": 1.5}) == "plain"


def test_keys_and_size_classes():
    assert execution_choice.size_class(256, 256) == "256"
    assert execution_choice.size_class(272, 640) == "512"
    assert execution_choice.size_class(100, 100) == "128"
    assert execution_choice.model_key(Options()) != execution_choice.model_key(Options(filters=56))
    assert execution_choice.model_key(Options()) != execution_choice.model_key(Options(), "bfloat16")
    assert execution_choice.machine_key(ZEN4) != execution_choice.machine_key(SAPPHIRE_RAPIDS)
    cpu = execution_choice.cpu_info()
    assert cpu["cores"] >= 1 and isinstance(cpu["flags"], list) and cpu["model"]


@pytest.fixture(scope="module")
def tiny():
    options = reference_options("film_official_tiny")
    model = create_model(dataclasses.replace(options, use_aux_outputs=False))
    load_official_weights(model, TINY)
    return model


def test_measure_times_each_candidate_on_a_real_model(tiny):
    seconds = execution_choice.measure(tiny, ["plain", "xla"], size=32, repeats=1)
    assert set(seconds) == {"plain", "xla"} and all(0 < s < 60 for s in seconds.values())


def test_every_candidate_equals_the_plain_path(tiny):
    rng = np.random.default_rng(4)
    x0 = rng.random((1, 48, 64, 3), dtype=np.float32)
    x1 = np.roll(x0, 2, axis=1)
    execution_choice.apply(tiny, execution_choice.CANDIDATES["plain"], reset=True)
    expected = KerasPasses(tiny)(x0, x1)
    ran = []
    try:
        for name, candidate in execution_choice.CANDIDATES.items():
            execution_choice.apply(tiny, candidate, reset=True)
            got = KerasPasses(tiny, candidate.jit_compile)(x0, x1)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4, err_msg=name)
            ran.append(name)
    finally:
        execution_choice.apply(tiny, execution_choice.CANDIDATES["plain"], reset=True)
    assert ran[:2] == ["plain", "xla"]


def test_automatic_and_one_shot_paths_equal_plain(tmp_path, tiny, cache):
    weights = str(tmp_path / "tiny.weights.h5")
    save_weights_with_options(tiny, weights)
    rng = np.random.default_rng(3)
    x0 = rng.random((2, 50, 70, 3), dtype=np.float32)
    x1 = np.roll(x0, 3, axis=2)
    plain = Interpolator(weights, jit_compile=False)
    expected = plain(x0, x1)
    one_shot = Interpolator(weights, expected_calls=1)
    assert one_shot._forward.choice == execution_choice.Choice("plain", "static rule")
    np.testing.assert_allclose(one_shot(x0, x1), expected, rtol=0, atol=1e-4)  # eager first call
    np.testing.assert_allclose(one_shot(x0, x1), expected, rtol=0, atol=1e-4)  # traced from then on
    auto = Interpolator(weights, expected_calls=1000)  # narrow: static rule, nothing measured
    np.testing.assert_allclose(auto(x0, x1), expected, rtol=0, atol=1e-4)
    assert auto.mode == "plain" and not cache.exists()


def test_winograd_layers_get_their_own_memory_plan(tiny):
    from film_tf.runtime.tiling import bytes_per_pixel, execution_mode, tile_size_for_budget

    candidate = execution_choice.CANDIDATES["winograd"]
    assert execution_mode("float32", False, winograd=True) == "winograd"
    assert bytes_per_pixel(Options(), "winograd") > bytes_per_pixel(Options(), "plain")
    assert tile_size_for_budget(Options(), 8e9, 128, mode="winograd") < tile_size_for_budget(
        Options(), 8e9, 128, mode="plain"
    )
    try:
        execution_choice.apply(tiny, candidate)
        assert KerasPasses(tiny).mode == "winograd"
    finally:
        execution_choice.apply(tiny, execution_choice.CANDIDATES["plain"], reset=True)
    assert KerasPasses(tiny).mode == "plain"


def test_eager_first_call_only_once(tiny):
    passes = KerasPasses(tiny, eager_first_call=True)
    calls = []
    passes._eager_forward = lambda a, b, t: calls.append("eager") or a
    passes._forward = lambda a, b, t: calls.append("graph") or a
    x = np.zeros((1, 32, 32, 3), np.float32)
    passes(x, x), passes(x, x), passes(x, x)
    assert calls == ["eager", "graph", "graph"]


AVX2_ONLY = {"model": "AMD EPYC", "flags": ["avx2", "fma"], "cores": 2}


def test_auto_precision_is_bfloat16_only_with_bfloat16_arithmetic(monkeypatch):
    monkeypatch.setattr(execution_choice, "gpu_present", lambda: False)
    resolve = execution_choice.resolve_precision
    assert resolve("auto", cpu=ZEN4) == "bfloat16"  # AVX-512-BF16
    assert resolve("auto", cpu=SAPPHIRE_RAPIDS) == "bfloat16"  # AMX
    assert resolve("auto", cpu=AVX2_ONLY) == "float32"  # emulated: slower
    assert resolve("auto", 16, cpu=ZEN4) == "float32"  # 16-bit frames keep their precision
    assert resolve("auto", cpu=ZEN4, jit_compile=True) == "float32"  # XLA runs bfloat16 slowly
    assert resolve("auto", cpu=ZEN4, jit_compile=False) == "bfloat16"
    for explicit in ("float32", "bfloat16"):
        assert resolve(explicit, 16, cpu=AVX2_ONLY) == explicit
    monkeypatch.setattr(execution_choice, "gpu_present", lambda: True)
    assert resolve("auto", cpu=ZEN4) == "float32"  # not measured on GPUs
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        resolve("float16")


def test_auto_precision_reaches_the_interpolator(tmp_path, tiny, monkeypatch):
    path = str(tmp_path / "tiny.weights.h5")
    save_weights_with_options(tiny, path)
    monkeypatch.setattr(execution_choice, "gpu_present", lambda: False)
    for cpu, bit_depth, precision, mode in ((ZEN4, 8, "bfloat16", "bf16"), (ZEN4, 16, "float32", "plain"),
                                            (AVX2_ONLY, 8, "float32", "plain")):  # fmt: skip
        monkeypatch.setattr(execution_choice, "cpu_info", lambda cpu=cpu: dict(cpu))
        interp = Interpolator(path, precision="auto", jit_compile=False, input_bit_depth=bit_depth)
        assert (interp.precision, interp.mode) == (precision, mode)
    assert Interpolator(path).precision == "float32"  # The library's default stays exact.


def test_measure_runs_winograd_with_frozen_kernels_and_leaves_the_model_direct(tiny, monkeypatch):
    from film_tf.model import winograd

    layers = winograd.conv3x3_layers(tiny)
    frozen_during_calls = []
    real_call = KerasPasses.__call__

    def spy(self, x0, x1):
        frozen_during_calls.append(sum(layer.frozen for layer in layers))
        return real_call(self, x0, x1)

    monkeypatch.setattr(KerasPasses, "__call__", spy)
    seconds = execution_choice.measure(tiny, ["winograd"], size=32, repeats=1, freeze=True)
    assert set(seconds) == {"winograd"}
    # Every call (warm-up and timed) ran all 3x3 layers on transformed kernels.
    assert frozen_during_calls == [len(layers)] * 2
    assert winograd.winograd_layer_count(tiny) == 0 and not any(layer.frozen for layer in layers)
