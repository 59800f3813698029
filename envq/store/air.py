"""The air part of the store: month cubes of hourly values (docs/pipeline.md, "Store").

``air/hourly/YYYY-MM.vN.zarr`` holds the six pollutants of the natural days of one month,
``air/hourly/YYYY-MM.json`` points to the current version. Time labels are hour-ending Beijing
time; natural day D is the labels ``D 01:00 .. D+1 00:00``, so the label ``2019-02-01 00:00``
belongs to day 2019-01-31 and to the cube of 2019-01. A cube's time axis is preallocated (every
label of its natural days) and stored as one chunk per pollutant (the month, all stations).

Values are kept exactly as pulled. Since schema version 2 a pollutant's month is stored as
integers when that is exact (:func:`encode_plane`: CNEMC values are integers in ug/m3, CO in
mg/m3 with up to three decimals, so int16 of the value or of its thousandths); decoding
(:func:`decode_plane`) gives back the very float64 values, bit for bit, checked at every write.
Anything else (a value no divisor makes an integer, or too large) stays float64. Version 1
cubes (float64 throughout) are read as before.

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

__all__ = ["POLLUTANTS", "STATION_COORDS", "LONG_NAMES", "DIVISORS", "INT_TYPES", "ENC_DIVISOR", "ENC_MISSING", "CUBE_FORMAT",
           "encode_plane", "decode_plane", "decode_lazy", "Incoming", "Planes", "Cube", "natural_day", "month_labels",
           "day_labels", "text_array", "empty_coords", "coords_of", "merge", "cube_dataset", "read_cube",
           "write_cube", "open_cube", "is_data_chunk", "MonthArrays"]

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


#: The divisors tried, in order, to store a pollutant's month as integers: stored ``n``, value
#: ``n / divisor`` (an IEEE division of two exact integers: the float64 nearest to the decimal,
#: which is what parsing the decimal gives). CO is published to 0.1 mg/m3 and pulled with up to
#: three decimals; the other five are integers (HJ 663-2013 reporting; CNEMC files).
DIVISORS: tuple[int, ...] = (1, 10, 100, 1000)

#: The integer types tried, smallest first; the type's minimum marks a missing value.
INT_TYPES = (np.int16, np.int32)

#: The cube attribute naming its format: 2 = compact pollutants, a chunk per month (schema
#: version 2); absent in the float64, day-chunked cubes of schema version 1.
CUBE_FORMAT = "envq_cube_format"

#: Attributes of an integer-stored pollutant: its divisor and the stored value of "missing".
ENC_DIVISOR, ENC_MISSING = "envq_divisor", "envq_missing"


def encode_plane(values: np.ndarray) -> tuple[np.ndarray, dict]:
    """The compact stored form of one pollutant's float64 ``values``: ``(array, attrs)``.

    The first divisor ``d`` of :data:`DIVISORS` and the smallest type of :data:`INT_TYPES` such
    that every value ``v`` is ``n / d`` for an integer ``n`` the type holds (above its minimum,
    which marks a missing value), checked bit for bit by decoding (so ``-0.0`` or a value beyond
    three decimals is never stored as something else): integers, with ``attrs`` naming ``d``
    and the missing mark. Otherwise the float64 values themselves and no attrs.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if missing.all():
        info = np.iinfo(INT_TYPES[0])
        return np.full(values.shape, info.min, dtype=INT_TYPES[0]), {ENC_DIVISOR: 1, ENC_MISSING: int(info.min)}
    bits = values.view(np.int64)
    flat = values.ravel()
    sample = flat[:: max(1, flat.size // 4096)]
    sample = sample[~np.isnan(sample)]
    with np.errstate(over="ignore", invalid="ignore"):
        for d in DIVISORS:
            if sample.size and not _exact(sample, np.rint(sample * d), d):
                continue   # a sample already says no (the whole plane is checked below)
            n = np.rint(values * d) if d != 1 else np.rint(values)
            n += 0.0   # -0.0 becomes 0.0, as the integer will: a -0.0 given is then not exact
            if not _exact(values, n, d, bits=bits, missing=missing):
                continue
            lo, hi = np.fmin.reduce(n, axis=None), np.fmax.reduce(n, axis=None)   # NaN ignored
            for t in INT_TYPES:
                info = np.iinfo(t)
                if info.min < lo and hi <= info.max:
                    np.copyto(n, info.min, where=missing)
                    return n.astype(t), {ENC_DIVISOR: d, ENC_MISSING: int(info.min)}
            break   # exact with this divisor, but too large for the integer types: float64
    return values, {}


def _exact(values: np.ndarray, n: np.ndarray, d: int, *, bits=None, missing=None) -> bool:
    """Whether ``n / d`` gives back every value of *values*, bit for bit (NaN where missing)."""
    back = n / d if d != 1 else n
    bits = values.view(np.int64) if bits is None else bits
    if np.array_equal(back.view(np.int64), bits):
        return True    # NaN kept its bits too
    missing = np.isnan(values) if missing is None else missing
    return bool(((back.view(np.int64) == bits) | missing).all())


def decode_plane(raw, attrs, out: np.ndarray | None = None) -> np.ndarray:
    """The float64 values of a stored pollutant *raw* with its *attrs* (:func:`encode_plane`);
    into *out* (a float64 array of raw's shape, e.g. a slice of a larger array) when given."""
    raw = np.asarray(raw)
    if ENC_DIVISOR not in attrs:
        if out is None:
            return raw.astype(np.float64)
        out[...] = raw
        return out
    d, mark = int(attrs[ENC_DIVISOR]), int(attrs[ENC_MISSING])
    if out is None:
        out = np.empty(raw.shape, dtype=np.float64)
    np.copyto(out, raw, casting="unsafe")
    if d != 1:
        np.divide(out, d, out=out)
    np.copyto(out, np.nan, where=raw == mark)
    return out


def decode_lazy(da: xr.DataArray) -> xr.DataArray:
    """:func:`decode_plane` of an opened (possibly dask-backed) stored pollutant, as xarray
    operations (lazy on dask); float64 with the stored attributes but the encoding's."""
    attrs = {k: v for k, v in da.attrs.items() if k not in (ENC_DIVISOR, ENC_MISSING)}
    if ENC_DIVISOR not in da.attrs:
        return da.astype(np.float64).assign_attrs(attrs)
    d, mark = int(da.attrs[ENC_DIVISOR]), int(da.attrs[ENC_MISSING])
    out = da.astype(np.float64)
    if d != 1:
        out = out / d
    return out.where(da != mark).assign_attrs(attrs)


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
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        return values   # already that (a numpy str array has no missing value)
    if isinstance(values, np.ndarray) and isinstance(values.dtype, np.dtypes.StringDType) \
            and not hasattr(values.dtype, "na_object"):
        return np.array(values.tolist(), dtype=str).reshape(values.shape)   # zarr's strings: none missing
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


def coord_arrays(stations, ds: xr.Dataset) -> dict[str, np.ndarray]:
    """The station coordinates of *ds* as plain arrays in their canonical form (text str with
    "" for empty, lon/lat float64, is_background bool; a coordinate *ds* lacks: its empty value)."""
    n = len(stations)
    cols = {}
    for name, empty in STATION_COORDS.items():
        if name in ds.coords and ds[name].dims == ("station",):
            vals = ds[name].values
            if name in _TEXT:
                cols[name] = text_array(vals)
            elif name == "is_background":
                cols[name] = np.asarray(vals, dtype=bool)
            else:
                cols[name] = np.asarray(vals, dtype=float)
        else:
            cols[name] = np.full(n, empty, dtype=str if name in _TEXT else type(empty))
    return cols


def _known(cols: dict, ds: xr.Dataset) -> np.ndarray:
    """Which stations the dataset names (their coords may override the stored ones)."""
    if "is_background" not in ds.coords:
        return np.zeros(len(cols["name"]), dtype=bool)
    return (cols["name"] != "") | (cols["city"] != "") | (cols["province"] != "")


def _frame(stations, cols: dict) -> pd.DataFrame:
    return _norm_coords(pd.DataFrame(cols, index=pd.Index(np.asarray(stations, dtype=str), name="station")))


@dataclass
class Incoming:
    """A checked canonical hourly dataset: labels sorted, six ``(station, label)`` planes."""

    stations: np.ndarray      # (S,) str, sorted, unique
    labels: np.ndarray        # (L,) datetime64[ns], sorted, unique
    values: tuple             # six (S, L) float64 planes (the input's own arrays when already so)
    coords: pd.DataFrame      # index station: name, city, province, lon, lat, is_background
    known: np.ndarray         # (S,) bool: the dataset names the station (its coords may override)
    coord_arrays: dict        # the coords as arrays (:func:`coord_arrays`)

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
        # strictly increasing (what the sources give) is sorted and unique: no sort needed
        t_sorted = bool((times[1:] > times[:-1]).all())
        s_sorted = bool((stations[1:] > stations[:-1]).all())
        for name, arr, ok in (("time", times, t_sorted), ("station", stations, s_sorted)):
            if ok:
                continue
            u, c = np.unique(arr, return_counts=True)
            if (c > 1).any():
                raise ValueError(f"coordinate {name!r}{where} repeats {u[c > 1][0]!r}")
        if (stations == "").any():
            raise ValueError(f"coordinate 'station'{where} holds an empty station code")
        t_order = np.arange(times.size) if t_sorted else np.argsort(times, kind="stable")
        s_order = np.arange(stations.size) if s_sorted else np.argsort(stations, kind="stable")
        values = []
        for i, var in enumerate(POLLUTANTS):
            da = ds[var]
            extra = [d for d in da.dims if d not in ("station", "time")]
            if extra:
                raise ValueError(f"variable {var!r}{where} has dims {da.dims}; the store takes (station, time)")
            arr = np.asarray(da.transpose("station", "time").values)
            if arr.dtype.kind not in "fiu" or arr.dtype.itemsize < 8 and arr.dtype.kind == "f":
                raise ValueError(f"variable {var!r}{where} is {arr.dtype}; the store keeps values exactly as pulled "
                                 "and takes float64 (or integers)")
            if not s_sorted:
                arr = arr[s_order]
            if not t_sorted:
                arr = arr[:, t_order]
            arr = arr.astype(np.float64, copy=False)   # float64 in order: the input's array itself
            if np.isinf(arr).any():
                s, t = np.argwhere(np.isinf(arr))[0]
                raise ValueError(f"variable {var!r}{where} is {arr[s, t]} at station "
                                 f"{stations[s_order][s]!r}, time {times[t_order][t]}: not a finite number")
            values.append(arr)
        values = tuple(values)
        stations, times = stations[s_order], times[t_order]
        station_coords = ds.coords.to_dataset()   # not the data variables
        cols = coord_arrays(stations, station_coords if s_sorted else station_coords.isel(station=s_order))
        return cls(stations, times, values, _frame(stations, cols), _known(cols, ds), cols)

    def months(self) -> list[tuple[str, slice]]:
        """``(YYYY-MM, slice of labels)`` for each month of natural days present (labels are sorted)."""
        return _months(self.labels)

    def plane(self, i: int, sel: slice) -> np.ndarray:
        """The values of pollutant *i* at the labels *sel*, ``(station, label)``."""
        return self.values[i][:, sel]

    def stacked(self, sel: slice) -> np.ndarray:
        """The six pollutants at the labels *sel*, ``(pollutant, station, label)`` (a copy)."""
        return np.stack([self.plane(i, sel) for i in range(len(POLLUTANTS))])


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
    coord_arrays: dict
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
        cols = coord_arrays(stations, ds)
        return cls(stations, times, tuple(arrays), cols, _known(cols, ds))

    def months(self) -> list[tuple[str, slice]]:
        return _months(self.labels)

    def plane(self, i: int, sel: slice) -> np.ndarray:
        return self.arrays[i][:, sel]


@dataclass
class Cube:
    """One month cube in memory: ``values`` six ``(station, label)`` planes on :func:`month_labels`
    (a ``(pollutant, station, label)`` array or a sequence of planes)."""

    month: str
    stations: np.ndarray
    values: np.ndarray | tuple
    coords: pd.DataFrame

    def days_with_data(self) -> list[str]:
        """ISO dates of the natural days holding at least one value."""
        has = np.zeros(month_labels(self.month).size, dtype=bool)   # (T,)
        for plane in self.values:
            has |= ~np.isnan(plane).all(axis=0)
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
    # the incoming labels as a slice of the month when they are contiguous (basic indexing: views)
    span = slice(int(cols[0]), int(cols[-1]) + 1) if cols.size and cols[-1] - cols[0] + 1 == cols.size else cols
    old_st = old.stations if old is not None else np.array([], dtype=str)
    stations = np.union1d(old_st, inc.stations).astype(str)
    pos = np.searchsorted(stations, inc.stations)
    all_rows = pos.size == stations.size
    if old is None and all_rows and isinstance(span, slice) and span == slice(0, labels.size):
        before = None                                     # an empty month given whole: no copy
    elif old is not None and np.array_equal(old_st, stations):
        before = old.values                               # read only below
    else:
        before = np.full((len(POLLUTANTS), stations.size, labels.size), np.nan)
        if old is not None:
            before[:, np.searchsorted(stations, old_st), :] = old.values
    if before is None:   # the input's planes themselves (views), every value new
        after = tuple(inc.plane(i, sel) for i in range(len(POLLUTANTS)))
        has = [~np.isnan(plane) for plane in after]
        zeros = np.zeros(cols.size, dtype=np.int64)
        per_label = np.stack([np.sum([h.sum(axis=0) for h in has], axis=0), zeros, zeros, zeros])
        station_has = np.logical_or.reduce(has)                                  # (S, labels)
    elif all_rows:
        after = before.copy()
        after[:, :, span] = inc.stacked(sel)
    else:
        after = before.copy()
        after[:, :, span] = np.nan
        after[:, pos[:, None], cols[None, :]] = inc.stacked(sel)

    # revision counts, per label then per natural day (cols are sorted: days are contiguous)
    if before is None:
        pass
    elif old is None:   # an empty month: every value is new
        has_n = ~np.isnan(after[:, :, span])
        zeros = np.zeros(cols.size, dtype=np.int64)
        per_label = np.stack([has_n.sum(axis=(0, 1)), zeros, zeros, zeros])
        station_has = has_n.any(axis=0)
    else:
        n = after[:, :, span]
        has_n = ~np.isnan(n)
        station_has = has_n.any(axis=0)
        o = before[:, :, span]
        has_o = ~np.isnan(o)
        both = has_o & has_n
        same = both & (o == n)
        per_label = np.stack([(has_n & ~has_o).sum(axis=(0, 1)), (both & ~same).sum(axis=(0, 1)),
                              (has_o & ~has_n).sum(axis=(0, 1)), same.sum(axis=(0, 1))])
    day_idx = cols // 24
    days, starts = np.unique(day_idx, return_index=True)
    counts = np.add.reduceat(per_label, starts, axis=1)
    station_any = np.add.reduceat(station_has.astype(np.int64), starts, axis=1) > 0   # (S, D)
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
    # only the labels given can differ (the rest of *after* is a copy of *before*)
    changed = (old is None and stations.size > 0) or (old is not None and (
        stations.size != old_st.size or int(per_label[0].sum() + per_label[1].sum() + per_label[2].sum()) > 0
        or not coords.equals(old.coords)))
    return cube, rev, bool(changed)


# --------------------------------------------------------------------------------------------
# zarr versions


def cube_dataset(cube: Cube, *, data: bool = True) -> xr.Dataset:
    """The xarray form of a cube as written to zarr (strings as variable-length UTF-8; each
    pollutant in its compact stored form, :func:`encode_plane`); its coordinates only unless
    *data*."""
    labels = month_labels(cube.month)
    c = cube.coords
    planes = [encode_plane(cube.values[i]) for i in range(len(POLLUTANTS))] if data else []
    ds = xr.Dataset(
        {v: (("station", "time"), planes[i][0], _var_attrs(v, planes[i][1])) for i, v in enumerate(POLLUTANTS)}
        if data else {},
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
        attrs={"envq_store": "air/hourly", "month": cube.month, CUBE_FORMAT: 2,
               "natural_days": "labels D 01:00 .. D+1 00:00 (hour-ending Beijing time)"},
    )
    return ds


def _var_attrs(var: str, encoding: dict) -> dict:
    return {"units": AIR_UNITS[var], "long_name": LONG_NAMES[var]} | encoding


def write_cube(target, cube: Cube) -> None:
    """Write *cube* as a new zarr (v3) version into *target* (a new folder or a zarr store; the
    backend, :meth:`envq.store.backend.Backend.write_tree`, makes it durable).

    Written with zarr directly (xarray's writer cost more than the data): the coordinates, then
    the six pollutants encoded (:func:`encode_plane`) and written on two threads (numpy and the
    codec release the GIL). Chunks: one per pollutant, the whole month x all stations, Blosc LZ4
    with bit shuffle (as small as zstd on these integers, three times faster to write). Every
    reader reads whole months (a year, a month, the nightly's last days); per-day chunks in a
    month shard made writing and reading the national year twice as slow (BENCHMARKS.md, round
    4). The arrays name their dimensions, and the pollutants their coordinates (CF
    ``coordinates``), so ``xarray.open_zarr`` opens a version as the dataset of
    :func:`cube_dataset`.
    """
    from concurrent.futures import ThreadPoolExecutor

    import zarr
    from zarr.codecs import BloscCodec

    labels = month_labels(cube.month)
    c = cube.coords
    group = zarr.open_group(target, mode="w-", zarr_format=3, attributes={
        "envq_store": "air/hourly", "month": cube.month, CUBE_FORMAT: 2,
        "natural_days": "labels D 01:00 .. D+1 00:00 (hour-ending Beijing time)"})
    epoch = np.datetime64("2000-01-01T00:00", "ns")
    text = np.dtypes.StringDType()
    coords = {
        "station": (np.asarray(cube.stations, dtype=text), {"long_name": "CNEMC station code"}),
        "name": (np.asarray(c["name"].to_numpy(dtype=str), dtype=text), {}),
        "city": (np.asarray(c["city"].to_numpy(dtype=str), dtype=text), {}),
        "province": (np.asarray(c["province"].to_numpy(dtype=str), dtype=text), {}),
        "lon": (c["lon"].to_numpy(dtype=float), {"units": "degrees_east"}),
        "lat": (c["lat"].to_numpy(dtype=float), {"units": "degrees_north"}),
        "is_background": (c["is_background"].to_numpy(dtype=bool), {}),
    }
    for name, (data, attrs) in coords.items():
        group.create_array(name, data=data, dimension_names=("station",), attributes=attrs)
    group.create_array("time", data=((labels - epoch) // _HOUR.astype("timedelta64[ns]")).astype(np.int64),
                       dimension_names=("time",), attributes={
                           "long_name": "end of the hour, Beijing time (UTC+8), as labelled by CNEMC",
                           "units": "hours since 2000-01-01", "calendar": "proleptic_gregorian"})
    shape = (cube.stations.size, labels.size)
    names = " ".join(sorted(k for k in STATION_COORDS))

    def one(i: int) -> None:
        raw, encoding = encode_plane(cube.values[i])
        v = POLLUTANTS[i]
        codec = BloscCodec(cname="lz4", clevel=1, shuffle="bitshuffle", typesize=raw.dtype.itemsize)
        arr = group.create_array(v, shape=shape, dtype=raw.dtype, chunks=(max(shape[0], 1), shape[1]),
                                 compressors=(codec,), dimension_names=("station", "time"),
                                 attributes=_var_attrs(v, encoding) | {"coordinates": names})
        if raw.size:
            arr[...] = raw

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(len(POLLUTANTS))))


def is_data_chunk(key: str) -> bool:
    """Whether the zarr key *key* of a cube is a data chunk (shard) of a pollutant."""
    return key.split("/", 1)[0] in POLLUTANTS and "/c/" in key


def open_cube(path, chunks=None) -> xr.Dataset:
    """The zarr version at *path* as a lazily opened dataset (dask-backed with *chunks*), its
    pollutants decoded to float64 (:func:`decode_lazy`)."""
    ds = xr.open_zarr(path, consolidated=False, chunks=chunks, mask_and_scale=False)
    return ds.assign({v: decode_lazy(ds[v]) for v in POLLUTANTS})


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
    m = MonthArrays.open(path, month)
    values = np.empty((len(POLLUTANTS), m.stations.size, m.labels.size), dtype=np.float64)
    for i, v in enumerate(POLLUTANTS):
        m.decode(v, slice(0, m.labels.size), out=values[i])
    return Cube(month, m.stations, values, m.coords)


class MonthArrays:
    """One month version opened with zarr directly (no xarray: the store's own reads), its
    station coordinates read; :meth:`decode` reads a pollutant."""

    def __init__(self, group, month: str, where):
        self.group, self.month, self.where = group, month, where
        self.labels = month_labels(month)
        time = group["time"]
        hours = np.asarray(time[...])
        epoch = np.datetime64("2000-01-01T00:00", "ns")
        if time.attrs.get("units") not in ("hours since 2000-01-01", _TIME_ENCODING["units"]) or hours.shape != self.labels.shape \
                or not np.array_equal(epoch + hours * _HOUR.astype("timedelta64[ns]"), self.labels):
            raise ValueError(f"{where}: time axis is not the labels of the natural days of {month}")
        self.stations = text_array(group["station"][...])
        #: The station coordinates as stored: name, city, province (str), lon, lat, is_background.
        self.coord_arrays = {name: text_array(group[name][...]) for name in _TEXT} | {
            name: np.asarray(group[name][...], dtype=float) for name in ("lon", "lat")} | {
            "is_background": np.asarray(group["is_background"][...], dtype=bool)}
        self._coords = None

    @property
    def coords(self) -> pd.DataFrame:
        """The station coordinates as a frame indexed by station (:func:`coords_of`'s form)."""
        if self._coords is None:
            self._coords = _norm_coords(pd.DataFrame(self.coord_arrays, index=pd.Index(self.stations,
                                                                                        name="station")))
        return self._coords

    def same_coords(self, other: MonthArrays) -> bool:
        """Whether *other* holds the very stations and coordinates of this month."""
        a, b = self.coord_arrays, other.coord_arrays
        return np.array_equal(self.stations, other.stations) and all(
            np.array_equal(a[c], b[c], equal_nan=c in ("lon", "lat")) for c in a)

    @property
    def format(self) -> int:
        """The cube's format (:data:`CUBE_FORMAT`): 1 or 2."""
        return int(self.group.attrs.get(CUBE_FORMAT, 1))

    @classmethod
    def open(cls, path, month: str) -> MonthArrays:
        import zarr

        return cls(zarr.open_group(path, mode="r", zarr_format=3), month, path)

    def decode(self, var: str, cols: slice, out: np.ndarray | None = None) -> np.ndarray:
        """Pollutant *var* at the month's labels *cols*, float64 ``(station, label)`` (into *out*)."""
        arr = self.group[var]
        return decode_plane(arr[:, cols], arr.attrs, out=out)
