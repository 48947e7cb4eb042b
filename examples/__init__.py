"""Runnable examples and benchmarks for wsdiag (not part of the installed package)."""
