"""Benchmark suite: `python -m benchmarks.run_all` (or `make bench`).

Each module measures one thing and returns a plain dict of numbers; `run_all` runs them in
one process, prints a table per section, and writes every number to bench-results/bench.json.
"""
