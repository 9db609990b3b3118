"""Argument validation shared by ops and layers.

Every error names the argument, the value it got, and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def positive_int(name: str, value: Any) -> int:
    """Returns ``value`` as an int, or raises if it is not an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name}={value} is out of range: it must be an integer >= 1")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    """Returns ``value`` as an int, or raises if it is not an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 0, got {value!r} ({type(value).__name__})")
    if value < 0:
        raise ValueError(f"{name}={value} is out of range: it must be an integer >= 0")
    return int(value)


def positive_float(name: str, value: Any) -> float:
    """Returns ``value`` as a float, or raises if it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number > 0, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value} is out of range: it must be a finite number > 0")
    return float(value)


def number_in(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Returns ``value`` as a float after checking ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    lo_ok = low is None or (value >= low if low_inclusive else value > low)
    hi_ok = high is None or (value <= high if high_inclusive else value < high)
    if not (np.isfinite(value) and lo_ok and hi_ok):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        lb = "[" if low_inclusive and low is not None else "("
        hb = "]" if high_inclusive and high is not None else ")"
        raise ValueError(f"{name}={value:g} is out of range: allowed {lb}{lo}, {hi}{hb}")
    return value


def one_of(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Returns ``value`` if it is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported: allowed values are {allowed}")
    return value
