"""Which way of running the forward pass is fastest on this machine: decided once, cached.

The float32-exact ways to run a Keras FILM model (`CANDIDATES`: a plain
`tf.function` graph, XLA, and Winograd 3x3 convolutions everywhere,
`film_tf.model.winograd`) differ in speed by CPU: XLA won on Intel
Sapphire Rapids (AMX), the plain oneDNN graph wins on AMD EPYC Zen 4
(benchmarks/RESULTS.md). `choose` answers, in this order:

1. an explicit choice (`--xla`/`--noxla`: `jit_compile` True/False);
2. bfloat16: the plain graph (XLA's CPU backend does not use AMX for it);
3. a cached decision for this machine, TensorFlow version, model
   configuration and size class (`cache_path()`: `$FILM_TF_CACHE/execution.json`,
   default `~/.cache/film_tf/execution.json`);
4. a measurement (`measure`: every candidate on one small pair, after one
   warm-up call, seconds, each set up as `apply` runs it), stored in the cache; only for wide models
   (`MEASURE_MIN_FILTERS`: narrow ones such as the bundled and test models
   take well under a second per call, where measuring costs more than any
   choice saves) and only when the caller expects many calls;
5. otherwise `static_choice`: XLA for wide models on CPUs with AMX, the
   plain graph everywhere else.

A candidate wins only if it beats the plain graph by `MARGIN`, so the choice
is never slower than the plain path as measured. `apply` then sets the
model's 3x3 convolution algorithms: the candidate's own (Winograd), else
`film_tf.model.winograd.fastest_algorithm_rule` (the per-layer choice measured by
`benchmarks/winograd_layers.py`: F(4x4) for the wide layers in graph mode).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import statistics
import sys
import time

from film_tf import files
from film_tf.files import CACHE_ENV  # noqa: F401  (the one cache folder; tests set it)
from film_tf.model.options import Options

CACHE_FILE = "execution.json"
# 2: "plain" is measured with the per-layer Winograd rule, Winograd with
# frozen kernels (version 1 entries measured all-direct: ignored).
CACHE_VERSION = 2
# Models at least this wide are measured (the released configuration has 64
# filters; the bundled model 16, the test models 4-8).
MEASURE_MIN_FILTERS = 48
# The measurement pair (a multiple of every alignment up to 64) and its size class.
MEASURE_SIZE = 128
MEASURE_REPEATS = 2
# A candidate must beat the plain graph by this fraction to be chosen.
MARGIN = 0.05


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One float32-exact way of running the pass.

    Attributes:
      name: its key in `CANDIDATES`, the cache and `KerasPasses.mode`.
      jit_compile: XLA-compile the passes.
      algorithm: the 3x3 convolution algorithm set with
        `film_tf.model.winograd.set_conv_algorithm` (None: leave the model's).
    """

    name: str
    jit_compile: bool = False
    algorithm: str | None = None


# A new way of running is one entry here (and, if it is not a graph/XLA
# switch, a case in `apply`).
CANDIDATES: dict[str, Candidate] = {
    c.name: c
    for c in (
        Candidate("plain"),
        Candidate("xla", jit_compile=True),
        Candidate("winograd", algorithm="winograd4"),
    )
}


@dataclasses.dataclass(frozen=True)
class Choice:
    """The decision: a `CANDIDATES` key and why (flag, bfloat16, cache, measured, static rule)."""

    name: str
    reason: str

    @property
    def candidate(self) -> Candidate:
        return CANDIDATES[self.name]


def cache_path() -> str:
    """`$FILM_TF_CACHE/execution.json`, default `~/.cache/film_tf/execution.json`."""
    return files.cache_folder(CACHE_FILE)


def cpu_info() -> dict[str, object]:
    """{"model": CPU model name, "flags": sorted CPU flags, "cores": count}, from /proc/cpuinfo
    (the platform's processor name and no flags elsewhere)."""
    import platform

    model, flags = "", []
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = sorted(value.split())
    return {"model": model or platform.processor() or platform.machine(), "flags": flags,
            "cores": os.cpu_count() or 1}  # fmt: skip


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def machine_key(cpu: dict | None = None) -> str:
    """CPU model, cores and a hash of its flags, TensorFlow and Keras versions,
    and the oneDNN switch: a change in any of them is a new machine."""
    cpu = cpu_info() if cpu is None else cpu
    flags = hashlib.sha1(" ".join(cpu["flags"]).encode()).hexdigest()[:12]
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
    return (
        f"{cpu['model']} x{cpu['cores']} flags:{flags} tensorflow {_version('tensorflow')} "
        f"keras {_version('keras')} onednn:{onednn}"
    )


def model_key(options: Options, precision: str = "float32") -> str:
    """The model configuration (every option) and precision, hashed."""
    text = json.dumps({"options": options.to_dict(), "precision": precision}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def size_class(height: int, width: int) -> str:
    """Frames are grouped by the power of two nearest their mean side ("128", "256", ...)."""
    import math

    return str(2 ** round(math.log2(max(1.0, math.sqrt(height * width)))))


def entry_key(options: Options, precision: str, size: str, cpu: dict | None = None) -> str:
    return f"{machine_key(cpu)} | model {model_key(options, precision)} | size {size}"


def read_cache(path: str | None = None) -> dict[str, dict]:
    """The cache's entries; {} when it is missing, unreadable or not ours
    (a corrupt file is ignored, and replaced at the next write)."""
    path = cache_path() if path is None else path
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    entries = data.get("entries")
    return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def write_cache_entry(key: str, entry: dict, path: str | None = None) -> None:
    """Adds or replaces one entry, atomically (`film_tf.files.write_json_atomic`).
    A cache that cannot be written (read-only home) is skipped silently."""
    from film_tf import files

    path = cache_path() if path is None else path
    entries = read_cache(path)
    entries[key] = entry
    with contextlib.suppress(OSError):
        files.write_json_atomic(path, {"version": CACHE_VERSION, "entries": entries})


# What `--precision auto` may pick, and the CPU flags of bfloat16 arithmetic:
# Intel AMX and AVX-512-BF16 (Sapphire Rapids, AMD EPYC Zen 4). Elsewhere
# bfloat16 is emulated and slower than float32.
PRECISION_CHOICES = ("auto", "float32", "bfloat16")
BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def check_precision(precision: str) -> None:
    """Raises ValueError (one line) unless `precision` is one of `PRECISION_CHOICES`."""
    if precision not in PRECISION_CHOICES:
        raise ValueError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, got '{precision}'.")


def gpu_present() -> bool:
    """Whether TensorFlow sees a GPU (False when TensorFlow is not installed)."""
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return bool(tf.config.list_physical_devices("GPU"))


def resolve_precision(
    precision: str, bit_depth: int = 8, cpu: dict | None = None, jit_compile: bool | None = None
) -> str:
    """The compute precision "auto" stands for on this machine; others unchanged.

    "bfloat16" on CPUs with bfloat16 arithmetic (`BFLOAT16_CPU_FLAGS`) for
    8-bit frames: 0.45-0.49x the float32 time on AMD EPYC Zen 4, 0.33-0.40x
    on Sapphire Rapids, at a measured cost of at most 0.01 dB PSNR on the
    held-out clips (benchmarks/RESULTS.md). "float32" for 16-bit frames
    (`bit_depth` 16: bfloat16 keeps about 3 significant digits, fewer than
    the frames have), on CPUs without those flags (emulated: slower), when
    a GPU is present (not measured there) and when XLA is asked for
    (`jit_compile` True: XLA's CPU backend runs bfloat16 slower than
    float32, 1.33 s vs 0.48 s at 256x256 on Sapphire Rapids). Decided from
    the CPU's flags, which do not change, so nothing is cached.
    """
    check_precision(precision)
    if precision != "auto":
        return precision
    cpu = cpu_info() if cpu is None else cpu
    native = any(flag in cpu["flags"] for flag in BFLOAT16_CPU_FLAGS)
    if not native or bit_depth > 8 or jit_compile or gpu_present():
        return "float32"
    return "bfloat16"


def static_choice(options: Options, precision: str = "float32", cpu: dict | None = None) -> str:
    """The rule without measuring: XLA for wide float32 models on CPUs with
    AMX (measured faster on Sapphire Rapids), the plain oneDNN graph elsewhere
    (measured faster on AMD EPYC Zen 4, AVX-512 without AMX; even on the AVX2
    EPYC of issue 20)."""
    cpu = cpu_info() if cpu is None else cpu
    wide = options.filters >= MEASURE_MIN_FILTERS
    return "xla" if precision == "float32" and wide and "amx_tile" in cpu["flags"] else "plain"


def apply(
    model, candidate: Candidate, precision: str = "float32", reset: bool = False, freeze: bool = False
) -> None:
    """Sets `model`'s 3x3 convolution algorithms for `candidate` (call before
    tracing): the candidate's own algorithm if it has one; with `reset`,
    "direct" everywhere (the plain path itself); otherwise, in float32,
    `film_tf.model.winograd.fastest_algorithm_rule` (Winograd only for the layers
    where it measured faster). `freeze`: transform the Winograd kernels once
    now (fixed weights only: `film_tf.model.winograd.Conv3x3.freeze`)."""
    from film_tf.model import winograd

    if candidate.algorithm is not None:
        algorithm = candidate.algorithm
    elif reset:
        algorithm = "direct"
    elif precision == "float32":
        algorithm = winograd.fastest_algorithm_rule(candidate.jit_compile)
    else:
        return
    winograd.set_conv_algorithm(model, algorithm, freeze=freeze)


def measure(
    model,
    candidates: list[str] | None = None,
    size: int = MEASURE_SIZE,
    repeats: int = MEASURE_REPEATS,
    freeze: bool = False,
) -> dict[str, float]:
    """Seconds per call of each candidate on one (size x size) pair
    (median of `repeats` after one untimed warm-up call that traces/compiles),
    each set up as `apply` would run it (`freeze`: with the Winograd kernels
    transformed once, as for fixed weights). Leaves the model's convolutions
    direct ("plain" with `reset`)."""
    import numpy as np

    from film_tf.runtime.passes import KerasPasses

    rng = np.random.default_rng(0)
    x0 = rng.random((1, size, size, 3), dtype=np.float32)
    x1 = np.roll(x0, 2, axis=2)
    seconds = {}
    try:
        for name in candidates or list(CANDIDATES):
            candidate = CANDIDATES[name]
            apply(model, candidate, freeze=freeze)
            passes = KerasPasses(model, candidate.jit_compile)
            passes(x0, x1)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                passes(x0, x1)
                times.append(time.perf_counter() - start)
            seconds[name] = statistics.median(times)
    finally:
        apply(model, CANDIDATES["plain"], reset=True)
    return seconds


def winner(seconds: dict[str, float]) -> str:
    """The fastest candidate, if it beats "plain" by `MARGIN`; else "plain"."""
    plain = seconds.get("plain")
    best = min(seconds, key=seconds.get, default="plain")
    if plain is None or seconds[best] < (1 - MARGIN) * plain:
        return best
    return "plain"


def choose(
    options: Options,
    precision: str = "float32",
    jit_compile: bool | None = None,
    model=None,
    many_calls: bool = False,
    cache: str | None = None,
    freeze: bool = False,
) -> Choice:
    """How to run `options`' model here (see the module docstring for the order).

    Args:
      options: the model's options.
      precision: "float32" or "bfloat16".
      jit_compile: an explicit choice (flag), which wins; None: decide.
      model: the built model, needed to measure (None: never measure).
      many_calls: the caller expects enough calls (a video, a long
        recursion) for a one-time measurement of a few seconds to pay off.
      cache: the cache file (default `cache_path()`).
      freeze: the weights are fixed (measure Winograd with its kernels
        transformed once, as it will run).
    """
    if jit_compile is not None:
        return Choice("xla" if jit_compile else "plain", "flag")
    if precision != "float32":
        return Choice("plain", "bfloat16 runs without XLA")
    cpu = cpu_info()
    key = entry_key(options, precision, str(MEASURE_SIZE), cpu)
    entry = read_cache(cache).get(key)
    if entry and entry.get("choice") in CANDIDATES:
        return Choice(entry["choice"], "cached")
    if model is None or not many_calls or options.filters < MEASURE_MIN_FILTERS:
        return Choice(static_choice(options, precision, cpu), "static rule")
    print(
        f"film_tf: measuring the fastest way to run this model here, once (cached in {cache or cache_path()})",
        file=sys.stderr,
    )
    seconds = measure(model, freeze=freeze)
    best = winner(seconds)
    write_cache_entry(
        key,
        {
            "choice": best,
            "seconds": seconds,
            "size": MEASURE_SIZE,
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        },
        cache,
    )
    return Choice(best, "measured")
