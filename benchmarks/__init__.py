"""Benchmarks: rayplane against plain baselines on the same data, model and machine.

Each benchmark measures rayplane and its baseline in one run and writes one JSON file (``<name>.json``) whose
``figures`` are ratios against that baseline; ``python -m benchmarks report`` turns the JSON files into the
table and PNG charts of ``docs/benchmarks.md``. Run ``python -m benchmarks --help``.
"""
