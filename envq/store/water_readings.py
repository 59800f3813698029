"""Water readings in the store: ``water/readings/YYYY-MM.parquet`` (docs/pipeline.md, "Store").

The table format, its checks and the merge are :mod:`envq.store.water`; this module files them
by month, switches each month file atomically and records the revisions.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from envq.store import water as _water
from envq.store.dates import check_span, month_of_name, months_between
from envq.store.parquet import parquet_bytes
from envq.store.revisions import empty_revisions

__all__ = ["WaterReadings"]


class WaterReadings:
    """The water readings of the store on *backend*; revisions recorded in *revisions*
    (a :class:`envq.store.revisions.Revisions`)."""

    def __init__(self, backend, revisions):
        self.backend, self.revisions = backend, revisions

    def _month(self, month: str) -> pd.DataFrame | None:
        df = self.backend.read_parquet(f"water/readings/{month}.parquet")
        return None if df is None else _water.normalize(df, check=False)

    def upsert(self, long: pd.DataFrame, *, source: str, run_id: str = "") -> pd.DataFrame:
        """See :meth:`envq.store.Store.upsert_water`."""
        self.backend.require_lock("upsert_water")
        inc = _water.normalize(long)
        run_id = str(run_id or self.backend.run_id)
        if not len(inc):
            return empty_revisions()
        months = _water.month_of(inc)
        out = []
        for month in np.unique(months):
            part = inc[months == month].reset_index(drop=True)
            new, rev, changed = _water.merge(self._month(str(month)), part)
            out.append(self.revisions.record("water", rev, source, run_id))
            if changed:
                self.backend.put(f"water/readings/{month}.parquet", parquet_bytes(new), fault_prefix="water")
        return pd.concat(out, ignore_index=True)

    def read(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """The stored readings with ``start <= time.date() <= end``, in the stored order."""
        start, end = check_span(start, end)
        parts = []
        for month in months_between(start, end):
            df = self._month(month)
            if df is None:
                continue
            day = df["time"].to_numpy().astype("datetime64[D]")
            keep = (day >= np.datetime64(start, "D")) & (day <= np.datetime64(end, "D"))
            parts.append(df[keep])
        if not parts:
            return _water.empty()
        return pd.concat(parts, ignore_index=True)

    def days(self) -> list[dt.date]:
        """The days (``time.date()``) holding at least one stored reading, sorted."""
        keys = [k for k in self.backend.list("water/readings/") if month_of_name(k.split("/")[-1], ".parquet")
                and k.count("/") == 2]
        days = [np.unique(self.backend.read_parquet(k, columns=["time"])["time"].to_numpy().astype("datetime64[D]"))
                for k in keys]
        return [x.item() for x in np.unique(np.concatenate(days))] if days else []
