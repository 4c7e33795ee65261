"""Steady: an offline voice companion for coping skills."""

__version__ = "0.1.0"
