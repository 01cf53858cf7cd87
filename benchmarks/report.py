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
