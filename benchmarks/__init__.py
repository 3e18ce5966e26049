"""Benchmark of the offline render against Tutor's CLI (`python -m benchmarks.run`, see run.py)."""
