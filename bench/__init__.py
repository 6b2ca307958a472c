"""Benchmarks: `make bench` (or `python -m bench [scenario ...]`). Not part of the test run."""
