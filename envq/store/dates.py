"""Dates and times as the store uses them: the days asked for, the months they touch, when a
thing was recorded (docs/pipeline.md, "Store")."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["now_utc", "as_date", "months_between", "check_span"]


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second (``2026-12-06T07:00:00+00:00``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def as_date(x, what: str) -> dt.date:
    """*x* (a date, datetime, ISO text, numpy or pandas time) as a :class:`datetime.date`;
    TypeError naming *what* otherwise."""
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    if isinstance(x, (str, np.datetime64, pd.Timestamp)):
        return pd.Timestamp(x).date()
    raise TypeError(f"{what} must be a datetime.date, not {type(x).__name__}")


def check_span(start, end) -> tuple[dt.date, dt.date]:
    """``(start, end)`` as dates; ValueError when *end* is before *start*."""
    start, end = as_date(start, "start"), as_date(end, "end")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return start, end


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """``YYYY-MM`` of every month from *start*'s to *end*'s, in order."""
    m = np.arange(np.datetime64(start, "M"), np.datetime64(end, "M") + 1)
    return [str(x) for x in m]
