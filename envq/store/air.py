"""The air part of the store: month cubes of hourly values (docs/pipeline.md, "Store").

``air/hourly/YYYY-MM.vN.zarr`` holds the six pollutants of the natural days of one month,
``air/hourly/YYYY-MM.json`` points to the current version. Time labels are hour-ending Beijing
time; natural day D is the labels ``D 01:00 .. D+1 00:00``, so the label ``2019-02-01 00:00``
belongs to day 2019-01-31 and to the cube of 2019-01. A cube's time axis is preallocated (every
label of its natural days) and chunked by 24 labels, one chunk per natural day, all stations.

This module holds the pure parts: checking an incoming canonical dataset, merging it into a
cube and counting the revision (:func:`merge`), and reading and writing one cube version. The
:class:`envq.store.Store` does the locking, versioning and switching.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
import numpy as np
import pandas as pd
import xarray as xr

from envq.canonical import AIR_POLLUTANTS, AIR_UNITS

__all__ = ["POLLUTANTS", "STATION_COORDS", "LONG_NAMES", "Incoming", "Planes", "Cube", "natural_day", "month_labels",
           "day_labels", "text_array", "empty_coords", "coords_of", "merge", "cube_dataset", "read_cube",
           "write_cube", "open_cube", "is_data_chunk"]

#: The variables kept by the store, in order.
POLLUTANTS: tuple[str, ...] = AIR_POLLUTANTS

#: Station coordinates kept by the store and their empty value.
STATION_COORDS = {"name": "", "city": "", "province": "", "lon": np.nan, "lat": np.nan, "is_background": False}
_TEXT = ("name", "city", "province")
_HOUR = np.timedelta64(1, "h")
_DAY = np.timedelta64(1, "D")
_TIME_ENCODING = {"units": "hours since 2000-01-01 00:00:00", "calendar": "proleptic_gregorian", "dtype": "int64"}
LONG_NAMES = {"pm25": "PM2.5, 1-hour mean", "pm10": "PM10, 1-hour mean", "so2": "SO2, 1-hour mean",
               "no2": "NO2, 1-hour mean", "co": "CO, 1-hour mean", "o3": "O3, 1-hour mean"}


def natural_day(labels: np.ndarray) -> np.ndarray:
    """The natural day (datetime64[D]) of hour-ending labels: ``label - 1 h``, floored to the day."""
    return (np.asarray(labels, dtype="datetime64[ns]") - _HOUR).astype("datetime64[D]")


def month_labels(month: str) -> np.ndarray:
    """Every hour label of the natural days of *month* (``"YYYY-MM"``), datetime64[ns]."""
    first = np.datetime64(month, "M").astype("datetime64[D]")
    last = (np.datetime64(month, "M") + 1).astype("datetime64[D]")  # exclusive
    n = int((last - first) / _DAY) * 24
    return (first.astype("datetime64[ns]") + _HOUR) + np.arange(n) * _HOUR.astype("timedelta64[ns]")


def day_labels(start: dt.date, end: dt.date) -> np.ndarray:
    """The hour labels of the natural days start..end: ``start 01:00 .. end+1 00:00``."""
    first = np.datetime64(start, "D").astype("datetime64[ns]") + _HOUR
    n = ((np.datetime64(end, "D") - np.datetime64(start, "D")) // _DAY + 1) * 24
    return first + np.arange(max(int(n), 0)) * _HOUR.astype("timedelta64[ns]")


def text_array(values) -> np.ndarray:
    """Strings (``""`` for missing) as a plain numpy str array, from any str-like array."""
    s = pd.Series(np.asarray(values, dtype=object), dtype=object)
    return np.asarray(s.where(s.notna(), "").astype(str).to_numpy(dtype=object), dtype=str)


def _norm_coords(df: pd.DataFrame) -> pd.DataFrame:
    """Station coords with their canonical dtypes (text "str" with "" for empty, lon/lat float64,
    is_background bool), index ``station`` (str)."""
    out = pd.DataFrame(index=pd.Index(np.asarray(df.index, dtype=str), name="station"))
    for c in _TEXT:
        out[c] = pd.Series(text_array(df[c].to_numpy(dtype=object)), index=out.index, dtype="str")
    for c in ("lon", "lat"):
        out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
    out["is_background"] = df["is_background"].fillna(False).to_numpy(dtype=bool)
    return out


def empty_coords(stations) -> pd.DataFrame:
    idx = pd.Index(np.asarray(stations, dtype=str), name="station")
    return _norm_coords(pd.DataFrame({"name": "", "city": "", "province": "", "lon": np.nan, "lat": np.nan,
                                      "is_background": False}, index=idx))


def _coords_frame(stations, ds: xr.Dataset) -> pd.DataFrame:
    out = empty_coords(stations)
    for name in STATION_COORDS:
        if name in ds.coords and ds[name].dims == ("station",):
            vals = ds[name].values
            if name in _TEXT:
                out[name] = text_array(vals)
            elif name == "is_background":
                out[name] = np.asarray(vals, dtype=bool)
            else:
                out[name] = np.asarray(vals, dtype=float)
    return _norm_coords(out)


@dataclass
class Incoming:
    """A checked canonical hourly dataset: labels sorted, values ``(pollutant, station, label)``."""

    stations: np.ndarray      # (S,) str, sorted, unique
    labels: np.ndarray        # (L,) datetime64[ns], sorted, unique
    values: np.ndarray        # (6, S, L) float64
    coords: pd.DataFrame      # index station: name, city, province, lon, lat, is_background
    known: np.ndarray         # (S,) bool: the dataset names the station (its coords may override)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Incoming:
        """Check *ds* (see :meth:`envq.store.Store.upsert_air`) and take its six pollutants."""
        if not isinstance(ds, xr.Dataset):
            raise TypeError(f"upsert_air takes the canonical hourly xarray.Dataset, not {type(ds).__name__}")
        src = ds.attrs.get("source", "")
        where = f" ({src})" if isinstance(src, str) and src else ""
        for dim in ("station", "time"):
            if dim not in ds.dims:
                raise ValueError(f"the hourly dataset{where} has no {dim!r} dimension (dims {tuple(ds.dims)}); "
                                 "the canonical hourly dataset has dims (station, time)")
        missing = [v for v in POLLUTANTS if v not in ds.data_vars]
        if missing:
            raise ValueError(f"the hourly dataset{where} lacks variable(s) {missing}; the store keeps "
                             f"{list(POLLUTANTS)} and would otherwise erase them at the labels given")
        times = np.asarray(ds["time"].values)
        if times.dtype.kind != "M":
            raise ValueError(f"coordinate 'time'{where} must be datetime64 (naive, hour-ending Beijing time), "
                             f"not {times.dtype}")
        times = times.astype("datetime64[ns]")
        if np.isnat(times).any():
            at = int(np.flatnonzero(np.isnat(times))[0])
            raise ValueError(f"coordinate 'time'{where} holds NaT at position {at}")
        off = times - times.astype("datetime64[h]")
        if (off != np.timedelta64(0, "ns")).any():
            bad = times[np.flatnonzero(off != np.timedelta64(0, "ns"))[0]]
            raise ValueError(f"coordinate 'time'{where}: label {bad} is not on the hour (labels are hour-ending)")
        stations = np.asarray(ds["station"].values)
        stations = text_array(stations) if stations.dtype.kind not in "U" else stations.astype(str)
        for name, arr in (("time", times), ("station", stations)):
            u, c = np.unique(arr, return_counts=True)
            if (c > 1).any():
                raise ValueError(f"coordinate {name!r}{where} repeats {u[c > 1][0]!r}")
        if (stations == "").any():
            raise ValueError(f"coordinate 'station'{where} holds an empty station code")
        t_order = np.argsort(times, kind="stable")
        s_order = np.argsort(stations, kind="stable")
        values = np.empty((len(POLLUTANTS), stations.size, times.size), dtype=np.float64)
        for i, var in enumerate(POLLUTANTS):
            da = ds[var]
            extra = [d for d in da.dims if d not in ("station", "time")]
            if extra:
                raise ValueError(f"variable {var!r}{where} has dims {da.dims}; the store takes (station, time)")
            arr = np.asarray(da.transpose("station", "time").values)
            if arr.dtype.kind not in "fiu" or arr.dtype.itemsize < 8 and arr.dtype.kind == "f":
                raise ValueError(f"variable {var!r}{where} is {arr.dtype}; the store keeps values exactly as pulled "
                                 "and takes float64 (or integers)")
            values[i] = arr.astype(np.float64)[s_order][:, t_order]
        if np.isinf(values).any():
            i, s, t = np.argwhere(np.isinf(values))[0]
            raise ValueError(f"variable {POLLUTANTS[i]!r}{where} is {values[i, s, t]} at station "
                             f"{stations[s_order][s]!r}, time {times[t_order][t]}: not a finite number")
        stations, times = stations[s_order], times[t_order]
        coords = _coords_frame(stations, ds.isel(station=s_order))
        known = ((coords["name"] != "") | (coords["city"] != "") | (coords["province"] != "")).to_numpy()
        if "is_background" not in ds.coords:
            known[:] = False
        return cls(stations, times, values, coords, known)

    def months(self) -> list[tuple[str, slice]]:
        """``(YYYY-MM, slice of labels)`` for each month of natural days present (labels are sorted)."""
        return _months(self.labels)

    def plane(self, i: int, sel: slice) -> np.ndarray:
        """The values of pollutant *i* at the labels *sel*, ``(station, label)``."""
        return self.values[i][:, sel]


def _months(labels: np.ndarray) -> list[tuple[str, slice]]:
    month = natural_day(labels).astype("datetime64[M]")
    keys, first = np.unique(month, return_index=True)
    bounds = list(first) + [month.size]
    return [(str(k), slice(int(bounds[i]), int(bounds[i + 1]))) for i, k in enumerate(keys)]


@dataclass
class Planes:
    """An hourly dataset already in the store's order, taken as it is (no copy, no check of its
    values): stations and hour labels sorted and unique, the six pollutants float64 ``(station,
    time)`` in memory. It has what :func:`envq.store.air_cubes.input_digest` and
    ``unchanged_revision`` read, with the same bytes :class:`Incoming` would hold, so an upsert
    can recognise the very input that made the stored months before checking, copying or sorting
    anything: an input whose digest equals a stored one is one the store has already checked.
    """

    stations: np.ndarray
    labels: np.ndarray
    arrays: tuple
    coords: pd.DataFrame
    known: np.ndarray

    @classmethod
    def of(cls, ds) -> Planes | None:
        """The planes of *ds*, or None when it is not already in that form (then the upsert
        takes :meth:`Incoming.from_dataset`, which checks and sorts)."""
        if not isinstance(ds, xr.Dataset) or "station" not in ds.dims or "time" not in ds.dims:
            return None
        arrays = []
        for var in POLLUTANTS:
            da = ds.data_vars.get(var)
            if da is None or set(da.dims) != {"station", "time"} or da.chunks is not None:
                return None
            arr = da.transpose("station", "time").values
            if arr.dtype != np.float64:
                return None
            arrays.append(arr)
        times = np.asarray(ds["time"].values)
        if times.dtype.kind != "M":
            return None
        times = times.astype("datetime64[ns]")
        if times.size == 0 or np.isnat(times).any() or (times[1:] <= times[:-1]).any() \
                or (times != times.astype("datetime64[h]")).any():
            return None
        stations = np.asarray(ds["station"].values)
        if stations.dtype.kind != "U":
            return None
        stations = stations.astype(str)
        if stations.size == 0 or (stations[1:] <= stations[:-1]).any() or (stations == "").any():
            return None
        coords = _coords_frame(stations, ds)
        known = ((coords["name"] != "") | (coords["city"] != "") | (coords["province"] != "")).to_numpy()
        if "is_background" not in ds.coords:
            known[:] = False
        return cls(stations, times, tuple(arrays), coords, known)

    def months(self) -> list[tuple[str, slice]]:
        return _months(self.labels)

    def plane(self, i: int, sel: slice) -> np.ndarray:
        return self.arrays[i][:, sel]


@dataclass
class Cube:
    """One month cube in memory: ``values (pollutant, station, label)`` on :func:`month_labels`."""

    month: str
    stations: np.ndarray
    values: np.ndarray
    coords: pd.DataFrame

    def days_with_data(self) -> list[str]:
        """ISO dates of the natural days holding at least one value."""
        has = ~np.isnan(self.values).all(axis=(0, 1))             # (T,)
        per_day = has.reshape(-1, 24).any(axis=1)
        first = np.datetime64(self.month, "M").astype("datetime64[D]")
        return [str(d) for d in first + np.flatnonzero(per_day)]


def merge(old: Cube | None, inc: Incoming, sel: slice, month: str) -> tuple[Cube, pd.DataFrame, bool]:
    """Merge the labels *sel* of *inc* (all in *month*) into *old*.

    Every present label is replaced for every station (a station absent or NaN there becomes
    NaN); other labels are untouched. Returns the new cube, the revision counts per natural day
    (``day, stations, values_new, values_changed, values_removed, values_unchanged`` over the six
    pollutants: new = was missing, now a value; removed = was a value, now missing; changed /
    unchanged = a value before and after, different / equal) and whether anything changed.
    """
    labels = month_labels(month)
    cols = ((inc.labels[sel] - labels[0]) // _HOUR.astype("timedelta64[ns]")).astype(np.int64)
    old_st = old.stations if old is not None else np.array([], dtype=str)
    stations = np.union1d(old_st, inc.stations).astype(str)
    before = np.full((len(POLLUTANTS), stations.size, labels.size), np.nan)
    if old is not None:
        before[:, np.searchsorted(stations, old_st), :] = old.values
    after = before.copy()
    after[:, :, cols] = np.nan
    pos = np.searchsorted(stations, inc.stations)
    after[:, pos[:, None], cols[None, :]] = inc.values[:, :, sel]

    # revision counts, per label then per natural day (cols are sorted: days are contiguous)
    o, n = before[:, :, cols], after[:, :, cols]
    has_o, has_n = ~np.isnan(o), ~np.isnan(n)
    both = has_o & has_n
    same = both & (o == n)
    per_label = np.stack([(has_n & ~has_o).sum(axis=(0, 1)), (both & ~same).sum(axis=(0, 1)),
                          (has_o & ~has_n).sum(axis=(0, 1)), same.sum(axis=(0, 1))])
    day_idx = cols // 24
    days, starts = np.unique(day_idx, return_index=True)
    counts = np.add.reduceat(per_label, starts, axis=1)
    station_any = np.add.reduceat(has_n.any(axis=0).astype(np.int64), starts, axis=1) > 0   # (S, D)
    first_day = np.datetime64(month, "M").astype("datetime64[D]")
    rev = pd.DataFrame({
        "day": [d.item() for d in first_day + days],
        "stations": station_any.sum(axis=0).astype(np.int64),
        "values_new": counts[0].astype(np.int64), "values_changed": counts[1].astype(np.int64),
        "values_removed": counts[2].astype(np.int64), "values_unchanged": counts[3].astype(np.int64),
    })

    # station coordinates: the latest non-empty value wins
    coords = _norm_coords(old.coords.reindex(stations)) if old is not None else empty_coords(stations)
    new_c = inc.coords.reindex(stations)
    inc_here = pd.Series(False, index=coords.index)
    inc_here.loc[inc.stations] = True
    for c in _TEXT:
        take = (inc_here & new_c[c].fillna("").ne("")).to_numpy()
        coords.loc[take, c] = new_c[c].to_numpy()[take]
    for c in ("lon", "lat"):
        take = (inc_here & new_c[c].notna()).to_numpy()
        coords.loc[take, c] = new_c[c].to_numpy()[take]
    known = pd.Series(False, index=coords.index)
    known.loc[inc.stations] = inc.known
    take = known.to_numpy()
    coords.loc[take, "is_background"] = new_c["is_background"].to_numpy()[take].astype(bool)
    coords = _norm_coords(coords)

    cube = Cube(month, stations, after, coords)
    changed = (old is None and stations.size > 0) or (old is not None and (
        stations.size != old_st.size or not np.array_equal(before, after, equal_nan=True)
        or not coords.equals(old.coords)))
    return cube, rev, bool(changed)


# --------------------------------------------------------------------------------------------
# zarr versions


def cube_dataset(cube: Cube) -> xr.Dataset:
    """The xarray form of a cube as written to zarr (strings as variable-length UTF-8)."""
    labels = month_labels(cube.month)
    c = cube.coords
    ds = xr.Dataset(
        {v: (("station", "time"), cube.values[i], {"units": AIR_UNITS[v], "long_name": LONG_NAMES[v]})
         for i, v in enumerate(POLLUTANTS)},
        coords={
            "station": ("station", cube.stations.astype(object), {"long_name": "CNEMC station code"}),
            "time": ("time", labels, {"long_name": "end of the hour, Beijing time (UTC+8), as labelled by CNEMC"}),
            "name": ("station", c["name"].to_numpy(dtype=object)),
            "city": ("station", c["city"].to_numpy(dtype=object)),
            "province": ("station", c["province"].to_numpy(dtype=object)),
            "lon": ("station", c["lon"].to_numpy(dtype=float), {"units": "degrees_east"}),
            "lat": ("station", c["lat"].to_numpy(dtype=float), {"units": "degrees_north"}),
            "is_background": ("station", c["is_background"].to_numpy(dtype=bool)),
        },
        attrs={"envq_store": "air/hourly", "month": cube.month,
               "natural_days": "labels D 01:00 .. D+1 00:00 (hour-ending Beijing time)"},
    )
    return ds


def write_cube(target, cube: Cube) -> None:
    """Write *cube* as a new zarr (v3) version into *target* (a new folder or a zarr store; the
    backend, :meth:`envq.store.backend.Backend.write_tree`, makes it durable).

    Chunks: 24 labels (one natural day) x all stations, stored as one shard per array (the
    whole month: one file per pollutant instead of one per day; a day is still read alone, and
    dask chunks are days).
    """
    ds = cube_dataset(cube)
    n = max(cube.stations.size, 1)
    chunk = {"chunks": (n, 24), "shards": (n, cube.values.shape[2])}
    enc = {v: dict(chunk) for v in POLLUTANTS} | {"time": dict(_TIME_ENCODING)}
    ds.to_zarr(target, mode="w-", zarr_format=3, consolidated=False, encoding=enc)


def is_data_chunk(key: str) -> bool:
    """Whether the zarr key *key* of a cube is a data chunk (shard) of a pollutant."""
    return key.split("/", 1)[0] in POLLUTANTS and "/c/" in key


def open_cube(path, chunks=None) -> xr.Dataset:
    """The zarr version at *path* as a lazily opened dataset (dask-backed with *chunks*)."""
    return xr.open_zarr(path, consolidated=False, chunks=chunks)


def coords_of(ds: xr.Dataset) -> pd.DataFrame:
    """The station coordinates of an opened cube as a frame indexed by station."""
    stations = text_array(ds["station"].values)
    out = empty_coords(stations)
    for c in _TEXT:
        out[c] = text_array(ds[c].values)
    for c in ("lon", "lat"):
        out[c] = np.asarray(ds[c].values, dtype=float)
    out["is_background"] = np.asarray(ds["is_background"].values, dtype=bool)
    return _norm_coords(out)


def read_cube(path, month: str) -> Cube:
    """Load the zarr version at *path* into memory."""
    with open_cube(path) as ds:
        ds = ds.load()
    labels = month_labels(month)
    if ds.sizes["time"] != labels.size or not np.array_equal(ds["time"].values.astype("datetime64[ns]"), labels):
        raise ValueError(f"{path}: time axis is not the labels of the natural days of {month}")
    values = np.stack([np.asarray(ds[v].transpose("station", "time").values, dtype=np.float64) for v in POLLUTANTS])
    return Cube(month, text_array(ds["station"].values), values, coords_of(ds))
