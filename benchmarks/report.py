"""The results table (markdown), the PNG charts and docs/benchmarks.md, from the benchmarks' JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load(out_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(Path(out_dir).glob("*.json"))]


def _value(fig: dict[str, Any]) -> str:
    value = fig["value"]
    text = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text}×" if fig["unit"] == "x" else f"{text} {fig['unit']}"


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| benchmark | figure | rayplane | baseline | target | met |", "|---|---|---|---|---|---|"]
    for result in results:
        for fig in result["figures"]:
            met = {True: "yes", False: "**no**", None: "—"}[fig["met"]]
            lines.append(f"| {result['benchmark']} | {fig['figure']} | {_value(fig)} | {fig['baseline']} | "
                         f"{fig['target'] or 'report'} | {met} |")
    return "\n".join(lines)


START, END = "<!-- results:start -->", "<!-- results:end -->"


def write_docs(results: list[dict[str, Any]], command: str, docs_dir: Path) -> Path:
    """Charts into docs/benchmarks/, and the table between the results markers of docs/benchmarks.md."""
    charts = write_charts(results, docs_dir / "benchmarks")
    load = max((r["machine"]["load_average"][0] for r in results), default=0.0)
    first = results[0]["machine"] if results else {}
    lines = [START, "", f"Made by `{command}` (size {', '.join(sorted({r['size'] for r in results}))}), finished "
             f"{max((r['finished_at'] for r in results), default='-')} on {first.get('cpus')} CPUs "
             f"(Ray {first.get('ray')}, torch {first.get('torch')}); 1-minute load average when a benchmark finished: up to {load:.1f}.",
             "", table(results), ""]
    lines += [f"![{chart.stem}](benchmarks/{chart.name})" for chart in charts]
    lines += ["", END]
    page = docs_dir / "benchmarks.md"
    text = page.read_text() if page.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    page.write_text(head + "\n".join(lines) + tail)
    return page


def write_charts(results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    by_name = {r["benchmark"]: r for r in results}
    charts = []
    for name, draw in CHARTS.items():
        if name == "ratios" or name in by_name:
            fig, ax = plt.subplots(figsize=(7, 3.6))
            draw(ax, by_name)
            fig.tight_layout()
            path = out_dir / f"{name}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            charts.append(path)
    return charts


def _ratios(ax, by_name) -> None:
    figs = [f for r in by_name.values() for f in r["figures"] if f["unit"] == "x" and f["target"]]
    names = [f["figure"] for f in figs]
    ax.barh(names, [f["value"] for f in figs], color=["tab:green" if f["met"] else "tab:red" for f in figs])
    for i, f in enumerate(figs):
        target = float(f["target"].split()[1])
        ax.plot([target, target], [i - 0.4, i + 0.4], color="black")
    ax.set_xscale("log")
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10]
    ax.set_xticks(ticks, [f"{t:g}×" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("rayplane / baseline (black: target; green met, red not)")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)


def _training(ax, by_name) -> None:
    m = by_name["training"]["measurements"]
    labels = ["plain PyTorch", "naive Ray Train", "rayplane"]
    values = [m["plain_pytorch"]["samples_per_s"], m["naive_ray_train"]["samples_per_s"], m["rayplane"]["samples_per_s"]]
    ax.bar(labels, values, color=["tab:gray", "tab:gray", "tab:blue"])
    ax.set_ylabel("training samples/s (last epoch)")
    ax.set_title(f"{m['train_rows']:,} training rows, batch {m['batch_size']}", fontsize=9)


def _serving(ax, by_name) -> None:
    m = by_name["serving"]["measurements"]
    sides = [("plain uvicorn", m["plain_uvicorn"]), ("rayplane (Ray Serve)", m["rayplane"])]
    ax.bar([s for s, _ in sides], [v["req_per_s"] for _, v in sides], color=["tab:gray", "tab:blue"])
    ax.set_ylabel("req/s at 16 connections")
    for i, (_, v) in enumerate(sides):
        ax.annotate(f"p50 {v['p50_ms']:.0f} ms\np99 {v['p99_ms']:.0f} ms", (i, v["req_per_s"]), ha="center",
                    va="bottom", fontsize=8)


def _scaling(ax, by_name) -> None:
    m = by_name["scaling"]["measurements"]
    rows = [p["rows"] / 1e6 for p in m["points"]]
    ax.plot(rows, [p["wall_s"] for p in m["points"]], "o", color="tab:blue", label="wall time")
    ax.plot(rows, [m["slope_s_per_million_rows"] * r + m["intercept_s"] for r in rows], "-", color="tab:blue",
            label=f"fit: {m['slope_s_per_million_rows']:.1f} s/M rows")
    ax.set_xlabel("rows (millions)")
    ax.set_ylabel("rayplane.train wall time (s)")
    mem = ax.twinx()
    mem.plot(rows, [p["peak_pss_bytes"] / 2**30 for p in m["points"]], "s--", color="tab:orange")
    mem.set_ylabel("peak PSS (GiB)", color="tab:orange")
    ax.legend(loc="upper left", fontsize=8)


def _search(ax, by_name) -> None:
    m = by_name["search"]["measurements"]
    for offset, (sampler, counts) in zip((-0.2, 0.2), m["trials_to_target"].items()):
        ax.bar([i + offset for i in range(len(counts))], counts, width=0.4, label=sampler)
    ax.axhline(m["budget"] + 1, color="black", linewidth=0.8, linestyle=":")
    ax.set_xlabel("seed")
    ax.set_ylabel(f"trials to AUC {m['target_auc']:.3f}")
    ax.legend(fontsize=8)


CHARTS = {"ratios": _ratios, "training": _training, "serving": _serving, "scaling": _scaling, "search": _search}
