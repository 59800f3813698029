"""From input files to city days: read, screen, daily values, city values, daily AQI.

The steps are public functions of their own modules; this module only chains them, so that the
command line, the demo and the Prefect flows run the very same computation. Reading is
:func:`envq.sources.dispatch.read_air` (the one reader dispatcher), re-exported here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards
from envq.sources.dispatch import read_air  # the reader dispatcher (re-exported: the first step of the chain)
from envq.sources.files import default_data_dir  # re-exported for the demo and the tests

__all__ = ["read_air", "city_days_from_hourly", "station_daily_from_hourly", "city_days_from_station_daily",
           "station_daily_by_month", "default_data_dir"]


def city_days_from_hourly(hourly: xr.Dataset, *, edition: str = "auto", day_rule: str = "pm25_o3",
                          mda8_method: str = "mean_of_station_mda8", screen: bool = True,
                          screening_rules=None, province: str | None = "湖南省",
                          ) -> tuple[xr.Dataset, xr.Dataset, pd.DataFrame]:
    """Screen, compute station daily values, city daily values and city daily AQI.

    *province* keeps only that province's stations (the station list's 省级行政区; default
    湖南省, whose 14 cities the provincial figure averages); ``None`` keeps every station.

    The hourly data is screened and reduced to station daily values a month of natural days at
    a time (:func:`station_daily_by_month`), so the work arrays are a month's, whatever the
    length of *hourly*; a dask-backed *hourly* (``Store.read_air(..., chunks=...)``) is read a
    month at a time. The results are exactly those of one pass over the whole series.

    Returns
    -------
    (city_days, station_daily, screened): the city daily AQI dataset (dims city, date) merged with
    the city daily concentrations; the station daily values; the log of screened hourly values.
    """
    sdaily, screened, clean = station_daily_from_hourly(hourly, screen=screen, screening_rules=screening_rules,
                                                        province=province, mda8_method=mda8_method)
    city_days = city_days_from_station_daily(sdaily, clean=clean, edition=edition, day_rule=day_rule,
                                             mda8_method=mda8_method)
    return city_days, sdaily, screened


def station_daily_from_hourly(hourly: xr.Dataset, *, screen: bool = True, screening_rules=None,
                              province: str | None = "湖南省", mda8_method: str = "mean_of_station_mda8",
                              ) -> tuple[xr.Dataset, pd.DataFrame, xr.Dataset | None]:
    """The first half of :func:`city_days_from_hourly`: the stations of *province*, screened
    (the spatial reference of a spike is the other stations of the station's city) and reduced
    to station daily values, a month at a time.

    Returns ``(station_daily, screened, clean)``: *clean* is the screened hourly O3 that
    ``mda8_method="mda8_of_city_hourly"`` needs (None otherwise). Any grouping of the stations
    (cities, river basins, a user's polygons) is then :func:`city_days_from_station_daily` of
    the same station daily values with the group in the ``city`` coordinate.
    """
    from envq.air.screening import DEFAULT_RULES

    if province is not None:
        prov = hourly["province"].values.astype(str) if "province" in hourly.coords else None
        if prov is None or not (prov == province).any():
            raise ValueError(f"no station of {province} in the input ({hourly.attrs.get('source', '')}); "
                             "use province='all' (--province all) for other regions")
        hourly = hourly.isel(station=np.flatnonzero(prov == province))
    times = pd.DatetimeIndex(hourly["time"].values)
    first_day = (times.min() - pd.Timedelta(hours=1)).date() if len(times) else "2019-01-01"
    assessment = standards.edition_for("hj663", max(str(first_day), "2013-10-01"))
    return station_daily_by_month(
        hourly, screen=screen, screening_rules=screening_rules or DEFAULT_RULES, assessment=assessment,
        keep_hourly=("o3",) if mda8_method == "mda8_of_city_hourly" else ())


def city_days_from_station_daily(station_daily: xr.Dataset, *, clean: xr.Dataset | None = None,
                                 edition: str = "auto", day_rule: str = "pm25_o3",
                                 mda8_method: str = "mean_of_station_mda8") -> xr.Dataset:
    """The second half of :func:`city_days_from_hourly`: the city daily values of the stations
    grouped by their ``city`` coordinate (:func:`envq.air.city.city_daily`) and their daily AQI,
    merged (dims city, date)."""
    from envq.air.city import city_daily, city_daily_aqi

    cdaily = city_daily(station_daily, hourly=clean, mda8_method=mda8_method)
    caqi = city_daily_aqi(cdaily, edition=edition, day_rule=day_rule)
    return xr.merge([cdaily, caqi], compat="override", combine_attrs="drop_conflicts")


_HOUR = np.timedelta64(1, "h")


def _month_pieces(time: np.ndarray) -> list[tuple[np.datetime64, np.datetime64]] | None:
    """``(first label, last label)`` of each month of natural days from the first day of *time*
    to its last (every label of those days, whether *time* has it or not); None when *time* is
    not a strictly increasing axis of whole-hour labels (then it is computed in one pass, whose
    checks say what is wrong)."""
    if time.size == 0 or time.dtype.kind != "M":
        return None
    t = time.astype("datetime64[ns]")
    if np.isnat(t).any() or (t.size > 1 and not (np.diff(t) > np.timedelta64(0, "ns")).all()) \
            or (t != t.astype("datetime64[h]")).any():
        return None
    first = (t[0] - _HOUR).astype("datetime64[D]")
    last = (t[-1] - _HOUR).astype("datetime64[D]")
    out = []
    for m in np.arange(first.astype("datetime64[M]"), last.astype("datetime64[M]") + 1):
        d0 = max(m.astype("datetime64[D]"), first)
        d1 = min((m + 1).astype("datetime64[D]") - 1, last)
        out.append(((d0 + _HOUR).astype("datetime64[ns]"), (d1 + 1).astype("datetime64[ns]")))
    return out


#: Months screened and reduced at once (threads) by :func:`station_daily_by_month`.
_MONTH_THREADS = 2


def _add_month(parts: dict, days: list, kept: list, out: dict, month_days, inner) -> None:
    for k, v in out.items():
        parts.setdefault(k, []).append(v)
    days.append(month_days)
    if inner is not None:
        kept.append(inner)


class _Months:
    """The labels ``lo..hi`` of *hourly*, a month at a time. A NumPy-backed dataset is sliced; a
    dask-backed one is computed a month at a time, each month once, and kept only while the next
    month's context still needs it (so the store is read once, and two or three months are in
    memory)."""

    def __init__(self, hourly: xr.Dataset, bounds: list[tuple[int, int]]):
        self.hourly, self.bounds = hourly, bounds
        self.lazy = bool(hourly.chunks)
        self.loaded: dict[int, xr.Dataset] = {}

    def get(self, lo: int, hi: int) -> xr.Dataset:
        if not self.lazy:
            return self.hourly.isel(time=slice(lo, hi))
        parts = []
        for k, (i0, i1) in enumerate(self.bounds):
            if i1 <= lo:
                self.loaded.pop(k, None)   # behind us: no later month needs it
                continue
            if i0 >= hi:
                break
            if k not in self.loaded:
                self.loaded[k] = self.hourly.isel(time=slice(i0, i1)).compute()
            parts.append(self.loaded[k].isel(time=slice(max(lo, i0) - i0, min(hi, i1) - i0)))
        if len(parts) == 1:
            return parts[0]
        return xr.concat(parts, dim="time", data_vars="all", coords="minimal", compat="override", join="exact",
                         combine_attrs="override")


def station_daily_by_month(hourly: xr.Dataset, *, screen: bool = True, screening_rules=None,
                           assessment: str = "hj663_2013", keep_hourly=()):
    """Screen *hourly* and compute the station daily values, a month of natural days at a time.

    Each month is taken with the hours around it that the screening rules look at
    (:func:`envq.air.screening.context_hours`, 26 h for the defaults), screened as NumPy arrays
    (:meth:`envq.air.screening.PieceScreening.screen_values`), put on the complete hourly axis of
    its days and reduced by the kernels of :func:`envq.air.daily.station_daily`
    (:func:`envq.air.daily.daily_arrays`); the months' daily values are then put end to end and
    made a dataset once (:func:`envq.air.daily.daily_dataset`). Two months are worked on at once,
    on two threads (NumPy's loops release the GIL). Verdicts, log, values and every NaN's reason
    are exactly those of one pass over the whole series (``tests/test_air_by_month.py``); the
    work arrays are two months'. A dask-backed *hourly* is computed a month at a time.

    One pass is used instead when the series holds a single month, when its time axis is not
    strictly increasing whole-hour labels (one pass raises the checks' errors), or when a rule
    does not say how far it looks.

    Returns
    -------
    (station_daily, screened, hourly_kept): the station daily values; the screening log; the
    screened hourly variables named in *keep_hourly* (a dataset, or None when none is asked).
    """
    from envq.air.daily import POLLUTANTS, daily_arrays, daily_dataset, daily_rules, station_coords, station_daily
    from envq.air.screening import DEFAULT_RULES, PieceScreening, context_hours, rule_variables, station_info
    from envq.air.screening import screen as run_screen

    rules = tuple(screening_rules or DEFAULT_RULES)
    time = np.asarray(hourly["time"].values)
    pieces = _month_pieces(time)
    halo = context_hours(rules) if screen else 0.0
    if pieces is None or len(pieces) < 2 or halo is None or not any(p in hourly.data_vars for p in POLLUTANTS):
        if screen:
            hourly, screened = run_screen(hourly, rules)
        else:
            screened = pd.DataFrame(columns=["station", "time", "variable", "value", "rule", "reason"])
        kept = hourly[list(keep_hourly)] if keep_hourly else None
        return station_daily(hourly, assessment=assessment), screened, kept

    t = time.astype("datetime64[ns]")
    pad = np.timedelta64(int(np.ceil(halo)), "h")
    screening = PieceScreening(rules) if screen else None
    months = _Months(hourly, [(np.searchsorted(t, a, "left"), np.searchsorted(t, b, "right")) for a, b in pieces])
    # the months as NumPy arrays (station, time): screened in place, folded into (station, date,
    # hour) and reduced by the daily kernels; one dataset is made at the end, not one per month
    info = station_info(hourly)
    screened_vars = rule_variables(hourly, rules) if screen else []
    pollutants = [p for p in POLLUTANTS if p in hourly.data_vars]
    drules = daily_rules(assessment)

    def month(first, last, lo, hi, piece):
        """Screen one month (with its context) and reduce it to daily values."""
        # the piece's own arrays: the screening copies a variable only when it rejects values of it
        work = {v: piece[v].transpose("station", "time").values.astype(float, copy=False) for v in screened_vars}
        if screening is not None:
            i0, i1 = screening.screen_values(work, first, last, **{**info, "time": time[lo:hi]})
        else:
            i0, i1 = np.searchsorted(t[lo:hi], first, "left"), np.searchsorted(t[lo:hi], last, "right")
        inner = None
        if keep_hourly:
            inner = piece.isel(time=slice(i0, i1))
            if screening is not None:
                inner = screening.dataset(inner, {v: np.ascontiguousarray(a[:, i0:i1]) for v, a in work.items()})
            inner = inner[list(keep_hourly)]
        labels = first + np.arange(int((last - first) // _HOUR) + 1) * _HOUR.astype("timedelta64[ns]")
        n_days = labels.size // 24
        at = None if i1 - i0 == labels.size else np.searchsorted(labels, t[lo + i0:lo + i1])
        by_day = {}
        for p in pollutants:
            x = work[p][:, i0:i1] if p in work else \
                piece[p].transpose("station", "time").values[:, i0:i1].astype(np.float64, copy=False)
            if at is not None:   # put on the complete hourly axis of the month's days
                filled = np.full((x.shape[0], labels.size), np.nan)
                filled[:, at] = x
                x = filled
            by_day[p] = x.reshape(x.shape[0], n_days, 24)
        return daily_arrays(by_day, drules), labels[::24] - _HOUR, inner

    # two months at a time on two threads (NumPy's loops release the GIL): the pieces are taken
    # in order by this thread (a dask-backed input is read here), the results kept in order, and
    # the screening log is ordered by rule, variable, station and time whatever the order of the
    # months' verdicts; memory: two months' work arrays
    parts: dict[str, list] = {}
    days, kept = [], []
    with ThreadPoolExecutor(max_workers=_MONTH_THREADS) as pool:
        pending = []
        for first, last in pieces:
            lo, hi = np.searchsorted(t, first - pad, "left"), np.searchsorted(t, last + pad, "right")
            pending.append(pool.submit(month, first, last, lo, hi, months.get(lo, hi)))
            if len(pending) >= _MONTH_THREADS:
                done = pending.pop(0).result()
                _add_month(parts, days, kept, *done)
        for f in pending:
            _add_month(parts, days, kept, *f.result())
    coords = station_coords(hourly)
    sdaily = daily_dataset({k: np.concatenate(v, axis=1) for k, v in parts.items()}, coords,
                           pd.DatetimeIndex(np.concatenate(days)), drules, 20, assessment)
    if screening is not None:
        screened = screening.log()
    else:
        screened = pd.DataFrame(columns=["station", "time", "variable", "value", "rule", "reason"])
    hourly_kept = None
    if keep_hourly:
        hourly_kept = xr.concat(kept, dim="time", data_vars="all", coords="minimal", compat="identical",
                                join="exact", combine_attrs="override")
        if screen:
            hourly_kept.attrs["screened_values"] = len(screened)
    return sdaily, screened, hourly_kept
