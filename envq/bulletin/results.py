"""The bulletin's one door to the store: stored results by (name, Period), read only.

Every figure of a bulletin is a stored result (computed once, by the library function the flow
calls); this module only reads them, caches them for the build, and says why one is missing
("no 2018 data in the store") so that an empty cell always carries its reason.
"""

from __future__ import annotations

import datetime as dt  # noqa: F401  (the doctests use it)

import pandas as pd

from envq.periods import Period, days_period, parse_period

__all__ = ["StoredResults", "store_key"]


def store_key(period: Period) -> str:
    """The key a result of *period* is filed under in the store: the period's label; a year to
    date is filed as its range of days (``2019-01-01..2019-08-31``), so that the year to date
    through each month is kept apart, or as the calendar period of the same days (through June:
    ``2019-H1``; :func:`envq.periods.days_period`).

    >>> store_key(parse_period("2019-08")), store_key(parse_period("2019-YTD", through=dt.date(2019, 8, 31)))
    ('2019-08', '2019-01-01..2019-08-31')
    >>> store_key(parse_period("2019-YTD", through=dt.date(2019, 6, 30)))
    '2019-H1'
    """
    if period.kind == "ytd":
        return days_period(period.start, period.end).label
    return period.label


class StoredResults:
    """Read-only view of a store's results for one bulletin build (each file read once)."""

    def __init__(self, store):
        self.store = store
        self._cache: dict[tuple[str, str], pd.DataFrame | None] = {}
        self._held: dict[str, list[str]] = {}

    def get(self, name: str, period: Period | str) -> pd.DataFrame | None:
        """The result *name* of *period*, or None when the store has none (or it is empty)."""
        from envq.store.errors import StoreError

        key = store_key(period) if isinstance(period, Period) else str(period)
        if (name, key) not in self._cache:
            try:
                df = self.store.read_result(name, key)
            except StoreError:
                df = None
            self._cache[(name, key)] = df if df is not None and len(df) else None
        df = self._cache[(name, key)]
        return None if df is None else df.copy()

    def held(self, name: str) -> list[str]:
        """The keys (periods) the store holds for *name*."""
        if name not in self._held:   # through the store: a local folder or a bucket
            self._held[name] = sorted(p.label for p in self.store.result_periods(name))
        return self._held[name]

    def years(self, name: str) -> set[int]:
        """Years with at least one result *name* in the store."""
        out = set()
        for k in self.held(name):
            try:
                out.add(parse_period(k).year)
            except ValueError:
                continue
        return out

    def missing_reason(self, name: str, period: Period, *, part: str) -> str:
        """Why the result *name* of *period* is not there, as printed in an empty cell's note:
        ``存储中无2018年数据 no 2018 data in the store`` when the store has nothing of that year,
        else ``存储中无2018-08的结果 no results for 2018-08 in the store``."""
        what = {"air": "空气", "water": "水质"}.get(part, "")
        if period.year not in self.years(name):
            return f"存储中无{period.year}年{what}数据 no {period.year} data in the store"
        return f"存储中无{period.label}的{what}结果 no results for {period.label} in the store"
