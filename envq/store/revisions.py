"""What each upsert changed: ``revisions.parquet`` (docs/pipeline.md, "Store").

One row per (upsert call, kind, natural day): the values new, changed, removed and unchanged.
Rows are recorded *before* the data they describe is switched in: a crash between the two leaves
a row for a change that did not land (the re-run records it again), never a landed change
without its row, so "what changed" may over-report but never misses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envq.store.parquet import parquet_bytes

__all__ = ["REVISION_COLUMNS", "COUNT_COLUMNS", "empty_revisions", "Revisions"]

#: Columns of :meth:`envq.store.Store.revisions` and of what the upserts return.
REVISION_COLUMNS = ["kind", "day", "source", "run_id", "stations", "values_new", "values_changed",
                    "values_removed", "values_unchanged", "recorded"]
#: The counts of a revision row, as the engines of the store give them (with ``day``, ``stations``).
COUNT_COLUMNS = REVISION_COLUMNS[5:9]
KEY = "revisions.parquet"


def empty_revisions() -> pd.DataFrame:
    """No revision rows, with the stored dtypes."""
    return pd.DataFrame({
        "kind": pd.Series([], dtype="str"), "day": pd.Series([], dtype=object),
        "source": pd.Series([], dtype="str"), "run_id": pd.Series([], dtype="str"),
        **{c: pd.Series([], dtype=np.int64) for c in REVISION_COLUMNS[4:9]},
        "recorded": pd.Series([], dtype="datetime64[us, UTC]"),
    })


class Revisions:
    """The revision rows of the store on *backend* (a :class:`envq.store.backend.Backend`)."""

    def __init__(self, backend):
        self.backend = backend

    def read(self) -> pd.DataFrame:
        """Every revision row recorded, in the order recorded (:data:`REVISION_COLUMNS`)."""
        df = self.backend.read_parquet(KEY)
        return empty_revisions() if df is None else df

    def record(self, kind: str, rev: pd.DataFrame, source: str, run_id: str) -> pd.DataFrame:
        """Append the rows *rev* (``day, stations`` and :data:`COUNT_COLUMNS`) as *kind*, *source*,
        *run_id*, recorded now; the rows as stored. Atomic (crash points ``revisions:*``)."""
        rows = pd.DataFrame({
            "kind": pd.Series(kind, index=rev.index, dtype="str"),
            "day": rev["day"].astype(object),
            "source": pd.Series(str(source), index=rev.index, dtype="str"),
            "run_id": pd.Series(str(run_id), index=rev.index, dtype="str"),
            **{c: rev[c].astype(np.int64) for c in REVISION_COLUMNS[4:9]},
            "recorded": pd.Series(pd.Timestamp.now(tz="UTC").floor("s"), index=rev.index).astype("datetime64[us, UTC]"),
        }).reset_index(drop=True)
        old = self.read()
        allrows = pd.concat([old, rows], ignore_index=True) if len(old) else rows
        self.backend.put(KEY, parquet_bytes(allrows), fault_prefix="revisions")
        return rows
