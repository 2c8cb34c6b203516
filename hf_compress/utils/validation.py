"""Validation helpers whose error messages name the field, the bad value and what is allowed."""

from collections.abc import Iterable
from typing import Any


def check_choice(owner: str, field: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise a `ValueError` unless `value` is one of `allowed`."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{owner}.{field}={value!r} is not supported; allowed values: {allowed}.")


def check_range(
    owner: str,
    field: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Raise a `ValueError` unless `low (<|<=) value (<|<=) high`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner}.{field} must be a number, got {value!r} ({type(value).__name__}).")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "-inf" if low is None else f"{'[' if low_inclusive else '('}{low}"
        right = "+inf" if high is None else f"{high}{']' if high_inclusive else ')'}"
        raise ValueError(f"{owner}.{field}={value!r} is out of range; allowed range: {left}, {right}.")


def check_int(owner: str, field: str, value: Any, low: int | None = None, allow_none: bool = False) -> None:
    """Raise a `ValueError` unless `value` is an integer `>= low` (or `None` when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{field} must be an integer, got {value!r} ({type(value).__name__}).")
    if low is not None and value < low:
        raise ValueError(f"{owner}.{field}={value!r} is out of range; allowed range: [{low}, +inf).")


def check_regex_list(owner: str, field: str, value: Any) -> None:
    """Raise a `ValueError` unless `value` is `None` or a list of valid regular expressions."""
    import re

    if value is None:
        return
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{owner}.{field} must be a list of regular expressions, got {value!r}.")
    for pattern in value:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as err:
            raise ValueError(f"{owner}.{field} contains an invalid regular expression {pattern!r}: {err}.") from None
