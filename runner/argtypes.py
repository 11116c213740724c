"""Argument types shared by the command parsers (runner/cli.py and the parsers it adds)."""

from __future__ import annotations

import argparse


def positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def seconds(value: str) -> float:
    n = float(value)
    if not 0 < n <= 86_400:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 86400 seconds, not {value}")
    return n
