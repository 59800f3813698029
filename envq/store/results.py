"""Results, keyed by (name, Period): ``results/<name>/<Period label>.parquet`` (docs/pipeline.md,
"Store"; docs/architecture.md: a result is computed once, stored, and only read by the outputs)."""

from __future__ import annotations

import pandas as pd

from envq.periods import Period, parse_period
from envq.store._fs import check_name
from envq.store.errors import NoResultError, StoreError
from envq.store.parquet import parquet_bytes

__all__ = ["Results"]

_SUFFIX = ".parquet"


class Results:
    """The result tables of the store on *backend* (a :class:`envq.store.backend.Backend`)."""

    def __init__(self, backend):
        self.backend = backend

    def _files(self, name: str) -> list[str]:
        return [k for k in self.backend.list(f"results/{name}/") if k.endswith(_SUFFIX) and k.count("/") == 2]

    @staticmethod
    def _label(key: str) -> str:
        return key.split("/")[-1][: -len(_SUFFIX)]

    def write(self, name: str, period, df: pd.DataFrame):
        """Write *df* as ``results/<name>/<period label>.parquet`` (atomic replace); where it is."""
        self.backend.require_lock("write_result")
        check_name("result name", name)
        label = parse_period(period).label
        check_name("period", label)
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"write_result takes a pandas.DataFrame, not {type(df).__name__}")
        return self.backend.put(f"results/{name}/{label}{_SUFFIX}", parquet_bytes(df, index=None))

    def write_many(self, results: dict[str, pd.DataFrame], year) -> list:
        """A run's tables: a table with a ``period`` column as one file per period, any other (day
        tables) as the file of *year*; empty tables skipped. Where they are."""
        written = []
        for name, df in results.items():
            if not len(df):
                continue
            if "period" in df.columns:
                for period, sub in df.groupby("period", sort=True):
                    written.append(self.write(name, str(period), sub.reset_index(drop=True)))
            else:
                written.append(self.write(name, Period.year_of(int(year)), df))
        return written

    def names(self) -> list[str]:
        """The names of the results stored, sorted."""
        return sorted({k.split("/")[1] for k in self.backend.list("results/")
                       if k.endswith(_SUFFIX) and k.count("/") == 2})

    def periods(self, name: str) -> list[Period]:
        """The periods result *name* is held for, in time order."""
        check_name("result name", name)
        return sorted(parse_period(self._label(k)) for k in self._files(name))

    def read(self, name: str, period=None) -> pd.DataFrame:
        """The result *name* of *period*, or of every period concatenated (see
        :meth:`envq.store.Store.read_result`)."""
        check_name("result name", name)
        if period is not None:
            label = parse_period(period).label
            check_name("period", label)
            df = self.backend.read_parquet(f"results/{name}/{label}{_SUFFIX}")
            if df is None:
                raise NoResultError(self.backend.root, name, label, self.periods(name))
            return df
        files = self._files(name)
        if not files:
            raise StoreError(f"{self.backend.root}: no result {name!r}")
        frames = []
        for k in files:
            df = self.backend.read_parquet(k)
            if "period" not in df.columns:
                df.insert(0, "period", self._label(k))
            frames.append(df)
        plain = all(isinstance(f.index, pd.RangeIndex) and f.index.name is None for f in frames)
        return pd.concat(frames, ignore_index=plain)
