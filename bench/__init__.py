"""Benchmarks for Steady: synthetic voices, noise, and the intent-accuracy measurement.

Run ``python -m bench.accuracy --help`` for the accuracy report.
"""
