"""The table of `benchmarks/performance.py`: row labels, the "vs plain"
baseline of each row, the machine line (CPU model, flags, matmul rate)."""

from __future__ import annotations


def label(row: dict) -> str:
    if row["kind"] == "training":
        return "training, 256x256 crops"
    if row["kind"] == "cli":
        return f"{row['command']}, 640x272"
    size = f"{row['width']}x{row['height']}"
    if row["kind"] == "threads":
        return f"threads, {size}"
    return f"recursive x8, {size}" if row["kind"] == "recursive" else size


def baseline_key(row: dict) -> tuple | None:
    """Rows sharing a key compare with its plain float32 row (threads: the 0:0 row)."""
    if row["kind"] in ("cli", "training"):
        return None
    return (row["kind"], label(row), row.get("model"), row.get("reuse"))


def is_baseline(row: dict) -> bool:
    if row["kind"] == "threads":
        return row["threads"] == "0:0"
    return row["mode"] in ("plain", "tf") if row["kind"] != "formats" else row["mode"] == "tf"


CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")


def machine_line(matmul: float) -> str:
    from film_tf.runtime.execution_choice import cpu_info

    cpu = cpu_info()
    present = [f for f in CPU_FLAGS if f in cpu["flags"]]
    return (
        f"{cpu['model']} ({cpu['cores']} cores; {' '.join(present) or 'no AVX2/AVX-512/AMX flags'}), "
        f"float32 matmul (numpy 4096^3) {matmul:.0f} GFLOP/s"
    )


def format_lines(rows: list[dict], results: list[dict | str], matmul: float) -> list[str]:
    """Table lines; results[i] is the row's result, or its error line."""
    base = {baseline_key(row): r["seconds"] for row, r in zip(rows, results)
            if isinstance(r, dict) and is_baseline(row) and baseline_key(row)}  # fmt: skip
    lines = []
    for row, r in zip(rows, results):
        if not isinstance(r, dict):
            lines.append(f"| {label(row)} | {row['mode']} | failed | | | | | | {r} |")
            continue
        plain = base.get(baseline_key(row))
        ratio = f"{r['seconds'] / plain:.2f}x" if plain else ""
        if r.get("flop"):
            rate = r["flop"] / r["seconds"] / 1e9
            executed = r.get("executed_flop", r["flop"]) / r["seconds"] / 1e9
            rates = f"{rate:.0f} | {executed:.0f} | {rate / matmul:.0%}"
        else:
            rates = " | | "
        lines.append(
            f"| {label(row)} | {row['mode']} | {r['seconds']:.3f} | {ratio} | {rates} | "
            f"{r['peak_rss_gb']:.2f} | {r['note']} |"
        )
    return lines
