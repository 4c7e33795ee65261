"""Benchmarks for Steady: synthetic voices, noise, accuracy, latency, speed and pacing.

Run ``python -m bench --help`` for the whole benchmark (docs/benchmarks.md), or
``python -m bench.accuracy --help`` for the detailed accuracy report. See bench/README.md.
"""
