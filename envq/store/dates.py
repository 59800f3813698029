"""Dates and times as the store uses them: the days asked for, the months they touch, when a
thing was recorded (docs/pipeline.md, "Store")."""

from __future__ import annotations

import datetime as dt

import numpy as np

from envq.periods import as_date

__all__ = ["now_utc", "as_date", "months_between", "check_span", "month_of_name", "month_version_of_name"]


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second (``2026-12-06T07:00:00+00:00``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")




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


def month_of_name(name: str, suffix: str) -> str | None:
    """The month of a store file named ``<month><suffix>`` (``2019-07.json``), as its label
    (:mod:`envq.periods` reads it); None for any other name.

    >>> month_of_name("2019-07.parquet", ".parquet"), month_of_name("2019-Q3.parquet", ".parquet")
    ('2019-07', None)
    >>> month_of_name("2019-07.parquet.envq.tmp", ".parquet"), month_of_name("2019-13.json", ".json")
    (None, None)
    """
    from envq.errors import PeriodError
    from envq.periods import parse_period

    if not name.endswith(suffix):
        return None
    stem = name[: len(name) - len(suffix)]
    try:
        p = parse_period(stem)
    except PeriodError:
        return None
    return stem if p.kind == "month" and p.label == stem else None


def month_version_of_name(name: str) -> tuple[str, int] | None:
    """``(month, version)`` of an air cube version folder named ``<month>.v<version>.zarr``; None
    for any other name.

    >>> month_version_of_name("2019-07.v12.zarr"), month_version_of_name("2019-07.vx.zarr")
    (('2019-07', 12), None)
    """
    stem, sep, version = name.removesuffix(".zarr").rpartition(".v")
    if not name.endswith(".zarr") or not sep or not (version.isascii() and version.isdigit()):
        return None
    month = month_of_name(stem, "")
    return None if month is None else (month, int(version))
