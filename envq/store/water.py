"""The water part of the store: month Parquet files of the canonical long table.

``water/readings/YYYY-MM.parquet`` holds the readings whose ``time.date()`` falls in that month
(docs/pipeline.md, "Store"). An upsert replaces the rows of the ``(day, source_kind)`` pairs
present in the incoming table; the key of a reading is ``(section, time, item, source_kind)``.
Rows are sorted by ``time, section, item, source_kind`` so that a re-run writes the same bytes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envq.errors import InputError

__all__ = ["COLUMNS", "KEY", "normalize", "empty", "merge"]

#: The canonical long table's columns, in the stored order.
COLUMNS = ["section", "time", "item", "value", "below_detection", "source_kind", "file", "row"]
#: What identifies a reading.
KEY = ["section", "time", "item", "source_kind"]
_SORT = ["time", "section", "item", "source_kind"]
_TEXT = ["section", "item", "source_kind", "file"]


def empty() -> pd.DataFrame:
    """An empty long table with the stored dtypes."""
    return normalize(pd.DataFrame({c: [] for c in COLUMNS}).astype(
        {"time": "datetime64[ns]", "value": float, "below_detection": bool, "row": np.int64}), check=False)


def _locate(df: pd.DataFrame, i: int):
    """(file, row) of the i-th row, for an InputError."""
    f = df["file"].iloc[i]
    r = df["row"].iloc[i]
    return ("" if pd.isna(f) else str(f)), (None if pd.isna(r) else int(r))


def normalize(long: pd.DataFrame, *, check: bool = True) -> pd.DataFrame:
    """The canonical columns of *long* with the stored dtypes, sorted; bad input raises.

    Extra columns are not stored. Raises ValueError naming a missing column or a column of the
    wrong type, and :class:`envq.errors.InputError` (file, row, field, value from the row's own
    ``file``/``row``) for an empty key field, a missing time or below_detection flag, an infinite
    value, or two rows with the same key.
    """
    if not isinstance(long, pd.DataFrame):
        raise TypeError(f"upsert_water takes the canonical long table (a pandas.DataFrame), not {type(long).__name__}")
    missing = [c for c in COLUMNS if c not in long.columns]
    if missing:
        raise ValueError(f"the water long table lacks column(s) {missing}; the canonical columns are {COLUMNS}")
    df = long[COLUMNS].reset_index(drop=True)
    t = df["time"]
    if not pd.api.types.is_datetime64_dtype(t.dtype) or isinstance(t.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"column 'time' must be datetime64 (naive Beijing time), not {t.dtype}")
    if not (pd.api.types.is_numeric_dtype(df["value"].dtype) and not pd.api.types.is_bool_dtype(df["value"].dtype)):
        raise ValueError(f"column 'value' must be numeric, not {df['value'].dtype}")
    if check and len(df):
        nat = np.flatnonzero(t.isna().to_numpy())
        if nat.size:
            raise InputError(*_locate(df, nat[0]), "time", "NaT", "is not a time")
        for c in ("section", "item", "source_kind"):
            bad = np.flatnonzero((df[c].isna() | (df[c].astype(str) == "")).to_numpy())
            if bad.size:
                raise InputError(*_locate(df, bad[0]), c, "" if pd.isna(df[c].iloc[bad[0]]) else df[c].iloc[bad[0]],
                                 "is empty: every reading needs a section, an item and a source_kind")
        flag = df["below_detection"]
        bad = np.flatnonzero(flag.isna().to_numpy())
        if bad.size:
            raise InputError(*_locate(df, bad[0]), "below_detection", "", "is missing (True or False)")
        if not pd.api.types.is_bool_dtype(flag.dtype):
            bad = np.flatnonzero(~flag.isin([True, False]).to_numpy())
            if bad.size:
                raise InputError(*_locate(df, bad[0]), "below_detection", str(flag.iloc[bad[0]]),
                                 "is not True or False")
        val = df["value"].to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(np.isinf(val))
        if bad.size:
            raise InputError(*_locate(df, bad[0]), "value", str(val[bad[0]]), "is not a finite number")
    out = pd.DataFrame({
        "section": df["section"].astype(str).astype("str"),
        "time": t.astype("datetime64[ns]"),
        "item": df["item"].astype(str).astype("str"),
        "value": df["value"].to_numpy(dtype=float, na_value=np.nan),
        "below_detection": df["below_detection"].astype(bool).to_numpy(),
        "source_kind": df["source_kind"].astype(str).astype("str"),
        "file": df["file"].where(df["file"].notna(), "").astype(str).astype("str"),
        "row": pd.to_numeric(df["row"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64),
    })
    if check and len(out):
        dup = out.duplicated(KEY, keep=False).to_numpy()
        if dup.any():
            first_rows = np.flatnonzero(dup)
            key = out.iloc[first_rows[0]]
            same = np.flatnonzero((out[KEY] == key[KEY]).all(axis=1).to_numpy())
            a, b = same[0], same[1]
            fa, ra = _locate(out, a)
            raise InputError(*_locate(out, b), "item", key["item"],
                             f"repeats the reading of section {key['section']!r} at {key['time']} "
                             f"({key['source_kind']}) already given at {fa} row {ra}: one value per key")
    return out.sort_values(_SORT, kind="mergesort").reset_index(drop=True)


def month_of(df: pd.DataFrame) -> np.ndarray:
    """``YYYY-MM`` of each row's ``time.date()``."""
    return df["time"].to_numpy().astype("datetime64[M]").astype(str)


def merge(old: pd.DataFrame | None, inc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Replace, in *old* (one month file), the rows of the ``(day, source_kind)`` pairs of *inc*.

    Returns the new table, the revision counts per day of *inc* (``day, stations`` = sections
    read that day, ``values_new, values_changed, values_removed, values_unchanged``: by key; a
    reading is changed when its value or below_detection flag differs) and whether the table
    changed.
    """
    inc_day = inc["time"].to_numpy().astype("datetime64[D]")
    pairs = pd.MultiIndex.from_arrays([inc_day, inc["source_kind"].to_numpy()]).unique()
    if old is not None and len(old):
        old_day = old["time"].to_numpy().astype("datetime64[D]")
        hit = pd.MultiIndex.from_arrays([old_day, old["source_kind"].to_numpy()]).isin(pairs)
        replaced, kept = old[hit], old[~hit]
    else:
        replaced, kept = empty(), (old if old is not None else empty())
    new = pd.concat([kept, inc], ignore_index=True) if len(kept) else inc.copy()
    new = new.sort_values(_SORT, kind="mergesort").reset_index(drop=True)

    cols = KEY + ["value", "below_detection"]
    m = replaced[cols].merge(inc[cols], on=KEY, how="outer", suffixes=("_old", "_new"), indicator=True)
    both = (m["_merge"] == "both").to_numpy()
    vo, vn = m["value_old"].to_numpy(dtype=float), m["value_new"].to_numpy(dtype=float)
    same_v = (vo == vn) | (np.isnan(vo) & np.isnan(vn))
    same_b = m["below_detection_old"].to_numpy() == m["below_detection_new"].to_numpy()
    unchanged = both & same_v & same_b
    flags = pd.DataFrame({
        "day": m["time"].to_numpy().astype("datetime64[D]"),
        "values_new": (m["_merge"] == "right_only").to_numpy(),
        "values_changed": both & ~unchanged,
        "values_removed": (m["_merge"] == "left_only").to_numpy(),
        "values_unchanged": unchanged,
    })
    counts = flags.groupby("day").sum().astype(np.int64)
    stations = pd.Series(inc["section"].to_numpy(), index=inc_day).groupby(level=0).nunique()
    days = np.unique(inc_day)
    rev = counts.reindex(days, fill_value=0)
    rev.insert(0, "stations", stations.reindex(days).to_numpy(dtype=np.int64))
    rev = rev.reset_index(names="day")
    rev["day"] = [d.item() for d in days]
    changed = old is None or not new.equals(old)
    return new, rev, bool(changed)
