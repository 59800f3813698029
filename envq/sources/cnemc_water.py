"""CNEMC national surface-water automatic stations (国家地表水水质自动监测实时数据发布系统) CSV.

The files scraped from CNEMC's real-time release (e.g. ``National_Water_YYYYMMDD.csv``, and the
Hunan extract ``hunan_water_auto_20260709_20260823.csv.gz``) are UTF-8 with a byte-order mark and
have 16 or 17 columns::

    省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),
    高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L)[,抓取时间]

``水质类别`` is the platform's class of the reading (1..6, 6 = 劣V; -1 = none); empty cells are
missing values. :func:`read_cnemc_water` parses a file into envq's canonical wide table of
readings (canonical item names and units, :data:`WATER_VARIABLES`); :func:`to_long` turns it into
the canonical long table shared with manual data (:mod:`envq.sources.manual_water`).

Units are converted here, once: chlorophyll a is published in mg/L and becomes mg/m3 (= ug/L,
the unit of the trophic-state index). Readings are kept as published (no screening here; see
:func:`envq.water.screen.screen`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from envq.errors import InputError
from envq.sources.checks import check_times
from envq.sources.csvfile import read_csv_table, separator_hint

__all__ = [
    "VARIABLE_MAP",
    "WATER_VARIABLES",
    "UNIT_FACTORS",
    "LONG_COLUMNS",
    "read_cnemc_water",
    "to_long",
]

#: CSV header -> canonical variable.
VARIABLE_MAP = {
    "省份": "province",
    "流域": "basin",
    "断面名称": "section",
    "监测时间": "time",
    "水质类别": "official_class",
    "水温(℃)": "water_temp",
    "pH(无量纲)": "ph",
    "溶解氧(mg/L)": "do",
    "电导率(μS/cm)": "conductivity",
    "浊度(NTU)": "turbidity",
    "高锰酸盐指数(mg/L)": "codmn",
    "氨氮(mg/L)": "nh3n",
    "总磷(mg/L)": "tp",
    "总氮(mg/L)": "tn",
    "叶绿素α(mg/L)": "chla",
    "藻密度(cells/L)": "algae_density",
    "抓取时间": "fetched_at",
}

#: Canonical measured variables of the automatic stations -> canonical unit.
WATER_VARIABLES = {
    "water_temp": "degC",
    "ph": "1",
    "do": "mg/L",
    "conductivity": "uS/cm",
    "turbidity": "NTU",
    "codmn": "mg/L",
    "nh3n": "mg/L",
    "tp": "mg/L",
    "tn": "mg/L",
    "chla": "mg/m3",
    "algae_density": "cells/L",
}

#: Factor from the unit in the CSV header to the canonical unit (chla: mg/L -> mg/m3).
UNIT_FACTORS = {"chla": 1000.0}

#: Columns of the canonical long table (see :func:`to_long`).
LONG_COLUMNS = ["section", "time", "item", "value", "below_detection", "source_kind", "file", "row"]

_REQUIRED = ["断面名称", "监测时间", "水质类别"]
_MISSING = {"", "--", "NA", "NaN", "nan"}
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M")


# --------------------------------------------------------------------------------------------
# helpers


def _numeric(path, df: pd.DataFrame, column: str, *, rows: np.ndarray, missing=_MISSING) -> np.ndarray:
    """Column as float64; sentinels -> NaN; any other non-number raises a located InputError."""
    s = df[column].astype(str).str.strip()
    miss = s.isin(missing)
    v = pd.to_numeric(s.where(~miss, None), errors="coerce").to_numpy(np.float64)
    bad = (np.isnan(v) & ~miss.to_numpy()) | np.isinf(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, int(rows[i]), column, s.iloc[i],
                         "is not a finite number" if np.isinf(v[i]) else
                         "is not a number (expected a decimal number or an empty cell)")
    return v


def _times(path, df: pd.DataFrame, column: str, *, rows: np.ndarray) -> pd.Series:
    s = df[column].astype(str).str.strip()
    out = None
    for fmt in _TIME_FORMATS:
        t = pd.to_datetime(s, format=fmt, errors="coerce")
        out = t if out is None else out.fillna(t)
    bad = out.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, int(rows[i]), column, s.iloc[i], "is not a time of the form YYYY-MM-DD HH:MM")
    return pd.Series(check_times(path, out.to_numpy(), rows, column, s.to_numpy()), index=out.index)


def _require(path, found: list, required: list) -> None:
    missing = list(dict.fromkeys(c for c in required if c not in found))
    if missing:
        hint = separator_hint(found)
        raise InputError(path, 1, ", ".join(missing), ",".join(found[:17]),
                         f"is the header, which lacks the column(s) {', '.join(missing)} "
                         f"(a CNEMC water CSV has {', '.join(VARIABLE_MAP)})" + (f"; {hint}" if hint else ""))


def _drop_duplicates(path, out: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """Readings of the same section and time: identical ones kept once (listed in
    ``attrs["duplicates_dropped"]``), different ones an error naming both rows."""
    dup = out.duplicated(["section", "time"], keep=False).to_numpy()
    if not dup.any():
        return out
    sub = out[dup]
    compared = ["official_class", *columns]
    values = sub[compared].astype("float64").to_numpy()
    first = sub.groupby(["section", "time"], sort=False)["row"].transform("first").to_numpy()
    first_pos = pd.Series(np.arange(len(sub))).groupby([sub["section"].to_numpy(), sub["time"].to_numpy()],
                                                       sort=False).transform("first").to_numpy()
    a = values[first_pos]
    same = (a == values) | (np.isnan(a) & np.isnan(values))
    conflict = ~same.all(axis=1)
    if conflict.any():
        i = int(np.flatnonzero(conflict)[0])
        j = int(np.flatnonzero(~same[i])[0])
        name = compared[j]
        header = next((h for h, v in VARIABLE_MAP.items() if v == name), name)
        factor = UNIT_FACTORS.get(name, 1.0)
        fmt = lambda x: "" if np.isnan(x) else f"{x / factor:g}"  # noqa: E731 - as written in the file
        row = sub.iloc[i]
        raise InputError(path, int(row["row"]), header, fmt(values[i, j]),
                         f"differs from row {int(first[i])} ({fmt(a[i, j])!r}), which has the same section "
                         f"{row['section']} and time {row['time']:%Y-%m-%d %H:%M}: duplicate rows must be identical")
    later = sub.index[first != sub["row"].to_numpy()]
    dropped = [f"{path}: row {int(out.at[k, 'row'])} (section {out.at[k, 'section']}, time "
               f"{out.at[k, 'time']:%Y-%m-%d %H:%M}) repeats row {int(f)}"
               for k, f in zip(later, first[first != sub["row"].to_numpy()])]
    kept = out.drop(index=later).reset_index(drop=True)
    kept.attrs = dict(out.attrs) | {"duplicates_dropped": dropped}
    return kept


# --------------------------------------------------------------------------------------------
# public


def read_cnemc_water(path, *, province: str | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CNEMC automatic-station surface-water CSV into canonical readings (one row each).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV (``.gz`` accepted; gzip is recognised by its content). 16 or 17 columns; a
        byte-order mark is dropped.
    province : str, optional
        Keep only the rows of this ``省份`` (e.g. ``"湖南省"``).
    encoding : str or None, default "utf-8"
        ``None`` or ``"auto"``: UTF-8, or GB18030 with a warning (see
        :func:`envq.sources.files.read_text`).

    Returns
    -------
    pandas.DataFrame
        One row per reading, in file order: ``province, basin, section, time`` (datetime64,
        Beijing time, as published), ``official_class`` (Int8: 1..6, NA for -1 or empty),
        ``water_temp [degC], ph [1], do [mg/L], conductivity [uS/cm], turbidity [NTU],
        codmn, nh3n, tp, tn [mg/L], chla [mg/m3], algae_density [cells/L]`` (float, NaN =
        missing), ``fetched_at`` (datetime64, NaT when the column is absent or empty), ``file``
        and ``row`` (1-based line number in the file, header = 1). ``attrs["units"]`` maps each
        variable to its unit.

    Raises
    ------
    envq.errors.InputError
        Missing columns, a cell that is not a (finite) number, a time that cannot be read or lies
        before 1970 or in the future, a class outside -1, 1..6, two readings of the same section
        and time that differ (identical ones are kept once and listed in
        ``attrs["duplicates_dropped"]``), and every problem of the file as a table (a cut or
        long row, a huge field, a header without data rows: :mod:`envq.sources.csvfile`), with
        the file, row, field and value.

    Examples
    --------
    >>> import tempfile, os
    >>> text = ("\\ufeff省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),"
    ...         "浊度(NTU),高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L)\\n"
    ...         "湖南省,长江流域,昭山,2026-07-09 21:00,2,29.7,7.45,6.43,209.5,20.6,1.22,,0.06,1.565,0.0021,\\n")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "w.csv")
    ...     _ = open(p, "w", encoding="utf-8").write(text)
    ...     r = read_cnemc_water(p)
    >>> print(r.loc[0, "section"], r.loc[0, "ph"], r.loc[0, "tp"], r.loc[0, "chla"], r.loc[0, "row"])
    昭山 7.45 0.06 2.1 2
    """
    required = _REQUIRED + [c for c in VARIABLE_MAP if c not in ("省份", "流域", "抓取时间")]
    df, rows = read_csv_table(path, encoding, header_check=lambda names: _require(path, names, required))
    if province is not None and "省份" in df:
        keep = (df["省份"].str.strip() == province).to_numpy()
        if not keep.any():
            there = sorted(set(df["省份"].str.strip()) - {""})
            raise InputError(path, None, "省份", province, "matches no row of the file (provinces in it: "
                             + ", ".join(there[:40]) + (" ..." if len(there) > 40 else "") + ")")
        df, rows = df[keep].reset_index(drop=True), rows[keep]
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    out["province"] = df["省份"].str.strip() if "省份" in df else ""
    out["basin"] = df["流域"].str.strip() if "流域" in df else ""
    sec = df["断面名称"].str.strip()
    if (sec == "").any():
        i = int(np.flatnonzero((sec == "").to_numpy())[0])
        raise InputError(path, int(rows[i]), "断面名称", "", "is empty: every reading needs a section name")
    out["section"] = sec
    out["time"] = _times(path, df, "监测时间", rows=rows)
    cls = _numeric(path, df, "水质类别", rows=rows)
    ok = np.isnan(cls) | np.isin(cls, [-1, 1, 2, 3, 4, 5, 6])
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(path, int(rows[i]), "水质类别", df["水质类别"].iloc[i], "is not a class (expected -1 or 1..6)")
    out["official_class"] = pd.array(np.where(np.isnan(cls) | (cls < 1), 0, cls).astype(np.int8), dtype="Int8")
    out.loc[np.isnan(cls) | (cls < 1), "official_class"] = pd.NA
    for header, var in VARIABLE_MAP.items():
        if var in WATER_VARIABLES:
            out[var] = _numeric(path, df, header, rows=rows) * UNIT_FACTORS.get(var, 1.0)
    if "抓取时间" in df:
        fetched = pd.to_datetime(df["抓取时间"].str.strip().replace("", None), errors="coerce")
        ok = fetched.isna() | ((fetched >= pd.Timestamp("1970-01-01")) & (fetched <= pd.Timestamp("2200-01-01")))
        out["fetched_at"] = fetched.where(ok).astype("datetime64[ns]")  # an impossible fetch time: NaT
    else:
        out["fetched_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out["file"] = os.fspath(Path(path).name)
    out["row"] = rows
    out.attrs["units"] = dict(WATER_VARIABLES)
    out.attrs["source_kind"] = "automatic"
    out.attrs["duplicates_dropped"] = []
    return _drop_duplicates(path, out, [v for v in VARIABLE_MAP.values() if v in WATER_VARIABLES])


def to_long(readings: pd.DataFrame, *, items=None, source_kind: str = "automatic") -> pd.DataFrame:
    """Canonical long table (one row per section, time and item) from canonical wide readings.

    Parameters
    ----------
    readings : pandas.DataFrame
        Output of :func:`read_cnemc_water` (or any table with ``section, time`` and item columns).
    items : iterable of str, optional
        Items to keep (default every variable of :data:`WATER_VARIABLES` present).
    source_kind : {"automatic", "manual"}

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LONG_COLUMNS`: ``section, time, item, value`` (canonical units),
        ``below_detection`` (False: automatic stations report numbers), ``source_kind``, ``file``,
        ``row``. Missing values are not rows.
    """
    codes = [c for c in (items or WATER_VARIABLES) if c in readings.columns]
    n = len(readings)
    vals = readings[codes].to_numpy(np.float64)
    present = np.isfinite(vals)
    ii, jj = np.nonzero(present)
    file_col = readings["file"].to_numpy(object) if "file" in readings else np.full(n, "", object)
    row_col = readings["row"].to_numpy(np.int64) if "row" in readings else np.arange(2, n + 2)
    out = pd.DataFrame({
        "section": readings["section"].to_numpy(object)[ii],
        "time": readings["time"].to_numpy("datetime64[ns]")[ii],
        "item": np.asarray(codes, dtype=object)[jj],
        "value": vals[ii, jj],
        "below_detection": np.zeros(len(ii), dtype=bool),
        "source_kind": source_kind,
        "file": file_col[ii],
        "row": row_col[ii],
    })
    out.attrs["units"] = {c: WATER_VARIABLES.get(c, "") for c in codes}
    return out
