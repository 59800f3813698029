"""Payloads -> canonical data, shared by every kind (docs/pipeline.md, "Sources").

The existing readers work on paths: a payload held as bytes is written to a temporary file with
the payload's name (the readers recognise formats and gzip by name and content), read, and the
file removed. An :class:`envq.errors.InputError` of a reader is raised again with the payload's
origin (URL or path) as its file, keeping row, field, value and problem.

Both go through the reader dispatcher (:mod:`envq.sources.dispatch`), the same as the command
line, with ``encoding="auto"``.

Air
    Each payload is read with :func:`envq.sources.dispatch.read_air` and restricted to the hour labels
    of the natural days ``start..end`` (``start 01:00 .. end+1 00:00``); the parts are merged
    onto the union of stations and labels. Where two payloads give the same label for a
    station, the later payload wins (its NaN included); a station the later file lacks keeps the
    earlier file's values. Only labels present in some payload are in the result (the store
    replaces exactly the labels it receives).
Water
    Each payload is read with :func:`envq.sources.dispatch.read_water_file` (CNEMC automatic CSVs
    and manual data); no screening. Readings
    whose ``time.date()`` is in ``start..end`` are kept; a (section, time, item, source_kind)
    given by several payloads is taken from the last of them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from envq.errors import InputError

__all__ = ["materialised", "parse_air", "parse_water"]


@contextlib.contextmanager
def materialised(payloads):
    """Paths of the payloads: local files as they are, bodies written to a temporary folder."""
    with contextlib.ExitStack() as stack:
        tmp = None
        paths = []
        for i, p in enumerate(payloads):
            if p.data is None:
                paths.append(Path(p.path))
                continue
            if tmp is None:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="envq-payloads-")))
            folder = tmp / str(i)  # one folder each: two payloads may share a name
            folder.mkdir()
            f = folder / (Path(p.name).name or "payload")
            f.write_bytes(p.data)
            paths.append(f)
        yield paths


def _relocated(exc: InputError, path: Path, origin: str) -> InputError:
    """The reader's error with the payload origin as file (temporary paths replaced)."""
    def fix(x):
        return x.replace(str(path), origin) if isinstance(x, str) else x

    return InputError(origin, exc.row, exc.field, fix(exc.value), fix(exc.problem))


# --------------------------------------------------------------------------------------------
# air


def _label_bounds(start: _dt.date, end: _dt.date) -> tuple[np.datetime64, np.datetime64]:
    """Labels ``lo < t <= hi``: ``start 00:00`` exclusive to ``end+1 00:00`` inclusive."""
    lo = np.datetime64(start, "ns")
    hi = np.datetime64(end + _dt.timedelta(days=1), "ns")
    return lo, hi


def parse_air(payloads, start: _dt.date, end: _dt.date) -> xr.Dataset:
    """The canonical hourly dataset of the natural days ``start..end`` (module docstring)."""
    from envq.sources.dispatch import read_air

    lo, hi = _label_bounds(start, end)
    parts, origins = [], []
    with materialised(payloads) as paths:
        for payload, path in zip(payloads, paths, strict=True):
            try:
                ds = read_air(path)
            except InputError as exc:
                raise _relocated(exc, path, payload.origin) from None
            t = ds["time"].values
            ds = ds.isel(time=np.flatnonzero((t > lo) & (t <= hi)))
            ds.attrs["duplicates_dropped"] = [s.replace(str(path), payload.origin)
                                              for s in ds.attrs.get("duplicates_dropped", [])]
            origins.append(payload.origin)
            if ds.sizes["time"]:
                parts.append(ds)
    if not parts:
        from envq.sources.air_dataset import empty_air_dataset

        return empty_air_dataset(attrs={"source": origins})
    return _merge_air(parts, origins)


def _merge_air(parts: list[xr.Dataset], origins: list[str]) -> xr.Dataset:
    """Union of stations and labels; for a (station, label) the later part wins."""
    from envq.sources.air_dataset import AIR_VARIABLES

    all_codes = np.concatenate([p["station"].values for p in parts])
    codes = np.unique(all_codes)
    times = np.unique(np.concatenate([p["time"].values for p in parts]))
    index = [(np.searchsorted(codes, p["station"].values), np.searchsorted(times, p["time"].values)) for p in parts]
    names = [v for v in AIR_VARIABLES if any(v in p.data_vars for p in parts)]
    data_vars = {}
    for var in names:
        having = [i for i, p in enumerate(parts) if var in p.data_vars]
        text = any(parts[i][var].dtype == object for i in having)
        arr = np.full((codes.size, times.size), "" if text else np.nan, dtype=object if text else float)
        for i in having:
            si, ti = index[i]
            arr[np.ix_(si, ti)] = parts[i][var].values
        data_vars[var] = (("station", "time"), arr, dict(parts[having[-1]][var].attrs))

    # station metadata and in_plan: from the last part that has the station
    last = np.flatnonzero(~pd.Index(all_codes).duplicated(keep="last"))
    last = last[np.argsort(all_codes[last], kind="stable")]  # aligned with `codes`
    coords = {"station": ("station", codes, dict(parts[-1]["station"].attrs)),
              "time": ("time", times, dict(parts[-1]["time"].attrs)),
              "pollutant": parts[-1]["pollutant"]}
    for name, c in parts[-1].coords.items():
        if name in ("station", "time", "pollutant") or c.dims[:1] != ("station",):
            continue
        if not all(name in p.coords for p in parts):
            continue
        values = np.concatenate([p[name].values for p in parts], axis=0)[last]
        coords[name] = (c.dims, values, dict(c.attrs))
    out = xr.Dataset(data_vars, coords=coords)

    attrs = dict(parts[-1].attrs)
    attrs["source"] = origins[0] if len(origins) == 1 else list(origins)
    attrs["duplicates_dropped"] = [s for p in parts for s in p.attrs.get("duplicates_dropped", [])]
    attrs["unknown_stations"] = sorted({s for p in parts for s in p.attrs.get("unknown_stations", [])})
    fields = [p.attrs["o3_field"] for p in parts if "o3_field" in p.attrs]
    if fields:
        attrs["o3_field"] = fields[0] if len(set(fields)) == 1 else "mixed: " + "; ".join(fields)
    out.attrs = attrs
    return out


# --------------------------------------------------------------------------------------------
# water


def _empty_water() -> pd.DataFrame:
    from envq.sources.cnemc_water import LONG_COLUMNS

    return pd.DataFrame({
        "section": pd.Series([], dtype=str), "time": pd.Series([], dtype="datetime64[ns]"),
        "item": pd.Series([], dtype=str), "value": pd.Series([], dtype=float),
        "below_detection": pd.Series([], dtype=bool), "source_kind": pd.Series([], dtype=str),
        "file": pd.Series([], dtype=str), "row": pd.Series([], dtype=np.int64),
    })[LONG_COLUMNS]


def parse_water(payloads, start: _dt.date, end: _dt.date) -> pd.DataFrame:
    """The canonical long table of the readings of days ``start..end`` (module docstring)."""
    from envq.sources.cnemc_water import LONG_COLUMNS
    from envq.sources.dispatch import read_water_file

    lo = pd.Timestamp(start)
    hi = pd.Timestamp(end + _dt.timedelta(days=1))
    longs, units = [], {}
    with materialised(payloads) as paths:
        for i, (payload, path) in enumerate(zip(payloads, paths, strict=True)):
            try:
                long, _ = read_water_file(path)
            except InputError as exc:
                raise _relocated(exc, path, payload.origin) from None
            units.update(long.attrs.get("units", {}))
            t = long["time"]
            long = long[((t >= lo) & (t < hi)).to_numpy()]
            longs.append(long.assign(_payload=i))
    if not longs:
        return _empty_water()
    df = pd.concat(longs, ignore_index=True)
    if len(longs) > 1 and len(df):
        key = ["section", "time", "item", "source_kind"]
        newest = df.groupby(key, sort=False)["_payload"].transform("max")
        df = df[(df["_payload"] == newest).to_numpy()]
    df = df[LONG_COLUMNS].reset_index(drop=True)
    df.attrs = {"units": units}  # nothing else (the store writes attrs)
    return df
