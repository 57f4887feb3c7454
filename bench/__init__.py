"""Benchmarks: `python bench/run.py` (see BENCHMARKS.md)."""
