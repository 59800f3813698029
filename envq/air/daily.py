"""Station daily values per HJ 663 and the GB 3095 Table 4 validity rules.

A day here is the *natural day* of Beijing time. CNEMC labels an hourly value by the end of its
hour, so the natural day ``D`` is made of the values labelled ``D 01:00`` ... ``D+1 00:00``
(hours 01..24); :func:`natural_day` maps a label to its day.

:func:`station_daily` turns the canonical hourly dataset (dims ``station, time``) into one value
per station and natural day: 24-hour means of SO2, NO2, PM10, PM2.5 and CO, the O3 daily maximum
8-hour mean (MDA8) and the O3 daily maximum 1-hour value. Every value that is NaN says why, in a
small integer code (:class:`Invalid`, decoded by :func:`explain_invalid`), next to the number of
valid hours (and 8-hour windows) it had.

The work is vectorised: the hourly series is put on a complete hourly axis, folded into
``(station, date, hour)`` and reduced along ``hour`` with NumPy kernels (:func:`daily_arrays`),
one pollutant at a time to keep memory low; a dask-backed input goes through
:func:`xarray.apply_ufunc` (``dask="parallelized"``) with the same kernels. :func:`daily_dataset`
makes the result dataset (every variable saying what it is, the rules in the attrs), so that
:func:`envq.air.pipeline.station_daily_by_month` can run the kernels on a month's arrays and make
the dataset once.
"""

from __future__ import annotations

import enum
import functools

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards
from envq._rounding import round_gbt8170
from envq.canonical import AIR_POLLUTANTS, AIR_UNITS

__all__ = [
    "POLLUTANTS",
    "DAILY_MEAN_POLLUTANTS",
    "Invalid",
    "natural_day",
    "station_daily",
    "daily_rules",
    "daily_arrays",
    "daily_dataset",
    "station_coords",
    "explain_invalid",
]

#: Canonical hourly variables, in the order the daily dataset lists them.
POLLUTANTS: tuple[str, ...] = AIR_POLLUTANTS

#: Pollutants with a 24-hour mean (GB 3095 Table 4, "24 h mean" row).
DAILY_MEAN_POLLUTANTS: tuple[str, ...] = tuple(p for p in AIR_POLLUTANTS if p != "o3")

_UNITS = AIR_UNITS
_HOURS_PER_DAY = 24
_ONE_HOUR = np.timedelta64(1, "h")


class Invalid(enum.IntEnum):
    """Why a daily value is NaN; stored as ``int8`` in the ``invalid_<var>`` variables.

    ``VALID`` (0) means the value is present. The counts that explain a code are stored beside it
    (``n_hours_<pollutant>``, ``n_windows_o3``); :func:`explain_invalid` spells them out.
    """

    VALID = 0
    #: No valid hourly value at all in the natural day.
    NO_DATA = 1
    #: Fewer valid hourly values than the rule asks for (``min_hours`` / ``o3_1h_max_min_hours``).
    TOO_FEW_HOURS = 2
    #: MDA8: fewer valid 8-hour means than ``mda8_min_windows`` and the value does not exceed the
    #: limit (``mda8_valid_if_exceeds``), HJ 663 §6.1.2.
    TOO_FEW_WINDOWS = 3


_FLAG_ATTRS = {
    "flag_values": np.array([c.value for c in Invalid], dtype=np.int8),
    "flag_meanings": " ".join(c.name.lower() for c in Invalid),
}


# --------------------------------------------------------------------------------------------
# natural day


def natural_day(time):
    """Natural day (Beijing time) of hour-ending CNEMC labels.

    Parameters
    ----------
    time : datetime-like scalar, array-like, pandas.DatetimeIndex, pandas.Series or xarray.DataArray
        Hour labels, naive Beijing time; a value labelled ``X`` is the mean of the hour ending at
        ``X``.

    Returns
    -------
    Same kind as *time* (a scalar gives a :class:`pandas.Timestamp`, an array a
    :class:`pandas.DatetimeIndex`): midnight of the natural day each label belongs to.

    Notes
    -----
    ``day = floor_to_midnight(label - 1 h)``: the labels ``D 01:00`` ... ``D+1 00:00`` are the
    hours 01..24 of day ``D``; the label ``D+1 00:00`` is the 23:00-24:00 hour of ``D``.

    References
    ----------
    HJ 663-2013 Table A.1 as quoted by GB/T 34302-2017 §2.2-2.3 (reference/standards.md §2.1).

    Examples
    --------
    >>> natural_day("2019-01-02 00:00")
    Timestamp('2019-01-01 00:00:00')
    >>> labels = ["2019-01-01 01:00", "2019-01-01 23:00", "2019-01-02 00:00", "2019-01-02 01:00"]
    >>> natural_day(labels).strftime("%Y-%m-%d").tolist()
    ['2019-01-01', '2019-01-01', '2019-01-01', '2019-01-02']
    """
    if isinstance(time, xr.DataArray):
        return (time - _ONE_HOUR).dt.floor("D")
    if isinstance(time, pd.Series):
        return (time - pd.Timedelta(hours=1)).dt.floor("D")
    if np.ndim(time) == 0 and not isinstance(time, pd.Index):
        return (pd.Timestamp(time) - pd.Timedelta(hours=1)).floor("D")
    return (pd.DatetimeIndex(time) - pd.Timedelta(hours=1)).floor("D")


# --------------------------------------------------------------------------------------------
# rules


@functools.cache
def _rules(assessment: str) -> dict:
    """The validity numbers of an HJ 663 edition and the GB 3095 edition in force with it."""
    hj, gb = standards.assessment_pair(assessment)
    by_stat = {r["statistic"]: r for r in gb["validity"]["rules"]}
    m = hj["mda8"]
    return {
        "min_hours": by_stat["daily_mean"]["min_hours"],
        "mda8_min_window_hours": m["window_min_hours"],
        "mda8_min_windows": m["min_valid_windows"],
        "mda8_valid_if_exceeds": m["valid_if_exceeds_limit"],
        "window_hours": m["window_hours"],
        "first_window_end_hour": m["first_window_end_hour"],
        "last_window_end_hour": m["last_window_end_hour"],
        "mda8_clause": f"{hj['number']} {m['clause']}",
        "daily_clause": f"{gb['number']} {gb['validity']['clause']}",
        "gb3095": gb["id"],
    }


# --------------------------------------------------------------------------------------------
# kernels: NumPy, reduce the last axis (the 24 hours of a natural day, hour 01 first)


def _codes(n_hours, ok):
    code = np.full(n_hours.shape, Invalid.TOO_FEW_HOURS, dtype=np.int8)
    code[ok] = Invalid.VALID
    code[n_hours == 0] = Invalid.NO_DATA
    return code


def _daily_mean_kernel(x, *, min_hours):
    # NumPy sums a contiguous last axis pairwise and a strided one in sequence, which can differ
    # in the last bit (CO's decimals): sum the 24 hours the same way whatever the array's layout
    contiguous = np.ascontiguousarray(x)
    missing = np.isnan(contiguous)
    n = (x.shape[-1] - missing.sum(axis=-1, dtype=np.int16)).astype(np.int16)
    if contiguous is x:
        total = np.where(missing, 0.0, x).sum(axis=-1)
    else:   # our own copy: the missing hours set to 0 in place (the same array np.where makes)
        np.copyto(contiguous, 0.0, where=missing)
        total = contiguous.sum(axis=-1)
    ok = (n >= min_hours) & (n > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, total / np.maximum(n, 1), np.nan)
    return mean, n, _codes(n, ok)


def _o3_kernel(x, *, window, first_end, last_end, min_window_hours, min_windows, limit, max1h_min_hours):
    valid = ~np.isnan(x)
    xf = np.where(valid, x, 0.0)
    n_hours = valid.sum(axis=-1, dtype=np.int16)

    # The window ending at hour h (01..24) holds hours h-window+1 .. h, i.e. indices h-window .. h-1;
    # summing `window` shifted slices keeps memory at a few day-sized arrays.
    n_win = last_end - first_end + 1
    first = first_end - window
    wsum = xf[..., first : first + n_win].copy()
    wcount = valid[..., first : first + n_win].astype(np.int8)
    for j in range(1, window):
        wsum += xf[..., first + j : first + j + n_win]
        wcount += valid[..., first + j : first + j + n_win]
    del xf
    wok = wcount >= min_window_hours
    with np.errstate(invalid="ignore", divide="ignore"):
        wmean = np.where(wok, wsum / np.maximum(wcount, 1), np.nan)
    n_windows = wok.sum(axis=-1, dtype=np.int16)
    mda8 = np.fmax.reduce(wmean, axis=-1)  # NaN only when no window is valid
    exceeds = round_gbt8170(mda8) > limit  # NaN compares False
    mda8_ok = ((n_windows >= min_windows) | exceeds) & (n_windows > 0)
    mda8_code = np.full(n_hours.shape, Invalid.TOO_FEW_WINDOWS, dtype=np.int8)
    mda8_code[mda8_ok] = Invalid.VALID
    mda8_code[n_hours == 0] = Invalid.NO_DATA
    mda8 = np.where(mda8_ok, mda8, np.nan)

    max1h = np.fmax.reduce(x, axis=-1)
    max1h_ok = (n_hours >= max1h_min_hours) & (n_hours > 0)
    max1h = np.where(max1h_ok, max1h, np.nan)
    return mda8, n_windows, mda8_code, max1h, _codes(n_hours, max1h_ok), n_hours


# --------------------------------------------------------------------------------------------
# validate, compute, assemble


def _check_hourly(hourly) -> pd.DatetimeIndex:
    if not isinstance(hourly, xr.Dataset):
        raise TypeError(f"hourly must be an xarray.Dataset, got {type(hourly).__name__}")
    for dim in ("station", "time"):
        if dim not in hourly.dims:
            raise ValueError(f"hourly has dims {tuple(hourly.dims)}; expected ('station', 'time')")
    present = [p for p in POLLUTANTS if p in hourly.data_vars]
    if not present:
        raise ValueError(
            f"hourly has none of the pollutant variables {', '.join(POLLUTANTS)} "
            f"(it has {', '.join(map(str, hourly.data_vars)) or 'no variables'})"
        )
    if hourly.sizes["time"] == 0:
        raise ValueError("hourly has an empty time axis")
    values = hourly["time"].values
    if not np.issubdtype(values.dtype, np.datetime64):
        raise TypeError(
            f"hourly.time must be naive datetime64 (Beijing time, hour-ending labels), got {values.dtype}"
        )
    t = pd.DatetimeIndex(values)
    if t.hasnans:
        raise ValueError(f"hourly.time has NaT at position {int(np.flatnonzero(t.isna())[0])}")
    off = t != t.floor("h")
    if off.any():
        raise ValueError(
            f"hourly.time must hold whole-hour labels; {int(off.sum())} do not, first {t[off][0]}"
        )
    if t.has_duplicates:
        raise ValueError(f"hourly.time has duplicate labels, first {t[t.duplicated()][0]}")
    return t


def _full_hours(t: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    days = natural_day(t)
    first, last = days.min(), days.max()
    dates = pd.date_range(first, last, freq="D", unit=t.unit)
    hours = pd.date_range(
        first + pd.Timedelta(hours=1), periods=_HOURS_PER_DAY * len(dates), freq="h", unit=t.unit
    )
    return dates, hours


def _on_hours(da: xr.DataArray, hours: pd.DatetimeIndex) -> xr.DataArray:
    """*da* on the complete hourly axis *hours*, missing labels as NaN, time last."""
    da = da.drop_vars([c for c in da.coords if c != "time" and "time" in da[c].dims])
    da = da.transpose(..., "time")
    if da.chunks is not None:
        # lazy reindex, then chunks that hold whole days so the fold below stays blockwise
        return da.reindex(time=hours).chunk(time=_HOURS_PER_DAY * 31)
    pos = hours.get_indexer(pd.DatetimeIndex(da["time"].values))
    if len(pos) == len(hours) and (pos == np.arange(len(hours))).all():
        return da.assign_coords(time=hours)
    # NumPy-backed: one allocation and a scatter, ~3x faster than DataArray.reindex's take
    filled = np.full(da.shape[:-1] + (len(hours),), np.nan)
    filled[..., pos] = da.values
    return xr.DataArray(filled, dims=da.dims, coords={**da.drop_vars("time").coords, "time": hours})


def _by_day(da: xr.DataArray, hours: pd.DatetimeIndex) -> xr.DataArray:
    """(…, time) → (…, date, hour) on the complete hourly axis, hour 01 first; lazy for dask."""
    da = _on_hours(da, hours)
    return da.drop_vars("time").coarsen(time=_HOURS_PER_DAY).construct(time=("date", "hour"))


def station_daily(
    hourly: xr.Dataset,
    *,
    min_hours: int | None = None,
    mda8_min_window_hours: int | None = None,
    mda8_min_windows: int | None = None,
    mda8_valid_if_exceeds: float | None = None,
    o3_1h_max_min_hours: int = 20,
    assessment: str = "hj663_2013",
) -> xr.Dataset:
    """Station daily values (24-h means, O3 MDA8, O3 1-h max) of the natural day, with validity.

    Parameters
    ----------
    hourly : xarray.Dataset
        The canonical hourly dataset: dims ``(station, time)``; variables among ``so2 no2 pm10
        pm25 co o3`` (float, [ug/m3], CO [mg/m3], NaN = missing); ``time`` naive datetime64,
        hour-ending Beijing-time labels. Gaps in the time axis are treated as missing hours.
        Station coordinates are carried to the result; coordinates along ``time`` are dropped.
    min_hours : int, optional
        Valid hourly values needed for a 24-hour mean (GB 3095 Table 4: >= 20). Default: the
        GB 3095 edition in force with *assessment*.
    mda8_min_window_hours : int, optional
        Valid hourly values needed for an 8-hour mean (GB 3095 Table 4: >= 6). Default: the
        *assessment* file (``mda8.window_min_hours``).
    mda8_min_windows : int, optional
        Valid 8-hour means needed for MDA8 (HJ 663 §6.1.2: >= 14 of the 17). Default: the
        *assessment* file.
    mda8_valid_if_exceeds : float, optional
        An MDA8 with fewer valid windows is still valid when its GB/T 8170-rounded value exceeds
        this [ug/m3] (HJ 663 §6.1.2; read as the Grade II 8-h limit, 160 [U]). Default: the
        *assessment* file. Pass ``numpy.inf`` to switch the exception off.
    o3_1h_max_min_hours : int
        Valid hourly values needed for the O3 daily maximum 1-hour value. No rule for it was
        verified in the standards; 20 (as for a 24-hour mean) is envq's choice [U].
    assessment : {"hj663_2013", "hj663_2026"}
        HJ 663 edition whose rules supply the defaults; the GB 3095 edition is the one in force
        when it took effect. The two editions currently agree on every number used here.

    Returns
    -------
    xarray.Dataset
        Dims ``(station, date)`` (``date`` = midnight of the natural day, datetime64[ns], every
        day from the first to the last one touched by *hourly*), the station coordinates of
        *hourly*, and per present pollutant:

        - ``<p>_24h`` for SO2, NO2, PM10, PM2.5 [ug/m3] and CO [mg/m3]: 24-hour mean, unrounded;
        - ``o3_mda8`` [ug/m3]: daily maximum 8-hour mean, unrounded;
        - ``o3_1h_max`` [ug/m3]: daily maximum 1-hour value;
        - ``n_hours_<p>`` (int16): valid hourly values in the day; ``n_windows_o3`` (int16):
          valid 8-hour means among the day's 17;
        - ``invalid_<var>`` (int8, :class:`Invalid`): why ``<var>`` is NaN (0 when valid).

    Notes
    -----
    Hours of natural day D are labelled D 01:00 ... D+1 00:00 (:func:`natural_day`).

    - 24-hour mean: ``C = sum(c_h) / n`` over the n valid hours, valid when ``n >= min_hours``.
    - 8-hour mean ending at hour h: ``mean(c_{h-7} .. c_h)`` over its valid hours, valid with
      ``>= mda8_min_window_hours`` of them. Only the 17 windows ending at 08..24 count: each lies
      wholly in the day (HJ 663 Table A.1; GB 3095-2026 §3.9).
    - ``MDA8 = max`` of the valid 8-hour means; valid when at least ``mda8_min_windows`` windows
      are valid, or, with fewer, when ``round_gbt8170(MDA8) > mda8_valid_if_exceeds``.
      An MDA8 valid only by that exception is recognisable as ``n_windows_o3 < mda8_min_windows``
      with a non-NaN ``o3_mda8``.
    - ``o3_1h_max = max(c_h)``, valid when ``n_hours_o3 >= o3_1h_max_min_hours``.

    Values are **not rounded**: GB/T 8170 rounding (integers; CO 0.1 mg/m3) belongs to the step
    that uses them (AQI, reporting), so that city means and period statistics start from the
    unrounded daily values. The result's ``attrs`` record the edition and every rule applied.

    References
    ----------
    GB 3095-2012 / GB 3095-2026 Table 4 (data validity); HJ 663-2013 / HJ 663-2026 §6.1.2 and
    Table A.1 (MDA8); reference/standards.md §2.1.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> time = pd.date_range("2019-01-01 01:00", periods=24, freq="h")
    >>> hourly = xr.Dataset(
    ...     {"pm25": (("station", "time"), [np.r_[np.full(20, 30.0), np.full(4, np.nan)]])},
    ...     coords={"station": ["1001A"], "time": time},
    ... )
    >>> d = station_daily(hourly)
    >>> float(d.pm25_24h[0, 0]), int(d.n_hours_pm25[0, 0]), int(d.invalid_pm25_24h[0, 0])
    (30.0, 20, 0)
    >>> d = station_daily(hourly.where(hourly.time > time[1]))  # 18 valid hours
    >>> explain_invalid(d, "pm25_24h").item()
    '18 of 20 required hours'
    """
    t = _check_hourly(hourly)
    rules = daily_rules(assessment, min_hours=min_hours, mda8_min_window_hours=mda8_min_window_hours,
                        mda8_min_windows=mda8_min_windows, mda8_valid_if_exceeds=mda8_valid_if_exceeds)
    if o3_1h_max_min_hours < 0:
        raise ValueError(f"o3_1h_max_min_hours must be >= 0, got {o3_1h_max_min_hours}")

    dates, hours = _full_hours(t)
    present = [p for p in POLLUTANTS if p in hourly.data_vars]
    if not any(hourly[p].chunks for p in present):
        # NumPy-backed: the kernels on the (station, date, hour) arrays directly
        by_day = {}
        for p in present:
            da = _on_hours(hourly[p].astype(np.float64, copy=False), hours)
            if da.dims != ("station", "time"):
                by_day = None   # other dims: through xarray below
                break
            by_day[p] = da.values.reshape(da.shape[0], len(dates), _HOURS_PER_DAY)
        if by_day is not None:
            coords = station_coords(hourly)
            return daily_dataset(daily_arrays(by_day, rules, o3_1h_max_min_hours), coords, dates, rules,
                                 o3_1h_max_min_hours, assessment)

    out: dict[str, xr.DataArray] = {}

    def ufunc(kernel, da, n_out, dtypes, **kw):
        return xr.apply_ufunc(
            kernel,
            da,
            input_core_dims=[["hour"]],
            output_core_dims=[[]] * n_out,
            dask="parallelized",
            output_dtypes=dtypes,
            kwargs=kw,
            # each output says what it is below; inheriting the hourly variable's attrs gave a
            # count "units: ug/m3", and only when the input's labels were already complete
            keep_attrs=False,
        )

    for p in DAILY_MEAN_POLLUTANTS:
        if p not in hourly.data_vars:
            continue
        out[f"{p}_24h"], out[f"n_hours_{p}"], out[f"invalid_{p}_24h"] = ufunc(
            _daily_mean_kernel, _by_day(hourly[p].astype(np.float64, copy=False), hours), 3,
            [np.float64, np.int16, np.int8], min_hours=rules["min_hours"],
        )
    if "o3" in hourly.data_vars:
        (out["o3_mda8"], out["n_windows_o3"], out["invalid_o3_mda8"], out["o3_1h_max"], out["invalid_o3_1h_max"],
         out["n_hours_o3"]) = ufunc(
            _o3_kernel, _by_day(hourly["o3"].astype(np.float64, copy=False), hours), 6,
            [np.float64, np.int16, np.int8, np.float64, np.int8, np.int16], **_o3_kw(rules, o3_1h_max_min_hours),
        )
    return daily_dataset(out, {}, dates, rules, o3_1h_max_min_hours, assessment)


def station_coords(hourly: xr.Dataset) -> dict:
    """The coordinates of *hourly* the daily values keep, as :func:`xarray.apply_ufunc` leaves
    them on the dask path: those along ``station`` alone (and scalars), without their attributes
    (another dimension, e.g. ``in_plan (station, pollutant)``, would become one of the result's)."""
    out = {}
    for k, c in hourly.coords.items():
        if set(c.dims) <= {"station"}:
            out[k] = c.variable.copy(deep=False)
            out[k].attrs = {}
    return out


def daily_rules(assessment: str = "hj663_2013", **given) -> dict:
    """The validity numbers :func:`station_daily` applies: those of *assessment* (HJ 663 and the
    GB 3095 edition in force with it), replaced by the ones *given* that are not None
    (``min_hours``, ``mda8_min_window_hours``, ``mda8_min_windows``, ``mda8_valid_if_exceeds``)."""
    rules = dict(_rules(assessment))
    rules.update({k: v for k, v in given.items() if v is not None})
    for key in ("min_hours", "mda8_min_window_hours", "mda8_min_windows"):
        if rules[key] < 0:
            raise ValueError(f"{key} must be >= 0, got {rules[key]}")
    return rules


def _o3_kw(rules: dict, o3_1h_max_min_hours: int) -> dict:
    return dict(window=rules["window_hours"], first_end=rules["first_window_end_hour"],
                last_end=rules["last_window_end_hour"], min_window_hours=rules["mda8_min_window_hours"],
                min_windows=rules["mda8_min_windows"], limit=rules["mda8_valid_if_exceeds"],
                max1h_min_hours=o3_1h_max_min_hours)


def daily_arrays(by_day: dict, rules: dict, o3_1h_max_min_hours: int = 20) -> dict[str, np.ndarray]:
    """The kernels of :func:`station_daily` on NumPy arrays: *by_day* maps each pollutant present
    to its float64 hourly values folded ``(station, date, hour)`` on the complete hourly axis
    (hour 01 first, missing hours NaN); *rules* as :func:`daily_rules`. Returns the daily
    variables of :func:`station_daily` as arrays ``(station, date)`` (values, counts, codes)."""
    out = {}
    for p in DAILY_MEAN_POLLUTANTS:
        if p in by_day:
            out[f"{p}_24h"], out[f"n_hours_{p}"], out[f"invalid_{p}_24h"] = _daily_mean_kernel(
                by_day[p], min_hours=rules["min_hours"])
    if "o3" in by_day:
        (out["o3_mda8"], out["n_windows_o3"], out["invalid_o3_mda8"], out["o3_1h_max"], out["invalid_o3_1h_max"],
         out["n_hours_o3"]) = _o3_kernel(by_day["o3"], **_o3_kw(rules, o3_1h_max_min_hours))
    return out


def daily_dataset(out: dict, coords: dict, dates: pd.DatetimeIndex, rules: dict, o3_1h_max_min_hours: int,
                  assessment: str) -> xr.Dataset:
    """The station daily dataset of :func:`station_daily` from its variables *out* (arrays
    ``(station, date)`` of :func:`daily_arrays`, or DataArrays), the station coordinates
    *coords*, the natural days *dates*: each variable with what it is, the rules in the attrs."""
    n_windows_day = rules["last_window_end_hour"] - rules["first_window_end_hour"] + 1
    attrs = {}
    for p in DAILY_MEAN_POLLUTANTS:
        attrs[f"{p}_24h"] = dict(
            units=_UNITS[p],
            long_name=f"{p.upper()} 24-hour mean of the natural day (unrounded)",
            cell_methods="date: mean (hours 01-24)",
            validity=f">= {rules['min_hours']} valid hours ({rules['daily_clause']})",
        )
        attrs[f"n_hours_{p}"] = dict(long_name=f"valid hourly {p.upper()} values in the natural day")
        attrs[f"invalid_{p}_24h"] = dict(long_name=f"why {p}_24h is NaN (0 = valid)", **_FLAG_ATTRS)
    attrs["o3_mda8"] = dict(
        units="ug/m3",
        long_name="O3 daily maximum 8-hour mean of the natural day (unrounded)",
        cell_methods=f"date: maximum of {n_windows_day} 8-hour means ending at hours "
        f"{rules['first_window_end_hour']:02d}-{rules['last_window_end_hour']:02d}",
        validity=f"8-h mean: >= {rules['mda8_min_window_hours']} valid hours; MDA8: >= "
        f"{rules['mda8_min_windows']} valid 8-h means, or fewer if the GB/T 8170-rounded value "
        f"> {rules['mda8_valid_if_exceeds']} ({rules['mda8_clause']})",
    )
    attrs["o3_1h_max"] = dict(
        units="ug/m3",
        long_name="O3 daily maximum 1-hour value of the natural day",
        cell_methods="date: maximum (hours 01-24)",
        validity=f">= {o3_1h_max_min_hours} valid hours (envq's choice [U]; no rule verified)",
    )
    attrs["n_hours_o3"] = dict(long_name="valid hourly O3 values in the natural day")
    attrs["n_windows_o3"] = dict(long_name=f"valid 8-hour O3 means among the day's {n_windows_day}")
    attrs["invalid_o3_mda8"] = dict(long_name="why o3_mda8 is NaN (0 = valid)", **_FLAG_ATTRS)
    attrs["invalid_o3_1h_max"] = dict(long_name="why o3_1h_max is NaN (0 = valid)", **_FLAG_ATTRS)

    order = [f"{p}_24h" for p in DAILY_MEAN_POLLUTANTS] + ["o3_mda8", "o3_1h_max"]
    order += [f"n_hours_{p}" for p in POLLUTANTS] + ["n_windows_o3"]
    order += [f"invalid_{v}" for v in order[:7]]
    data = {}
    for k in order:
        if k in out:
            v = out[k]
            v = v if isinstance(v, xr.DataArray) else xr.DataArray(v, dims=("station", "date"))
            data[k] = v.assign_attrs(attrs[k])
    ds = xr.Dataset(data, coords=coords)
    ds = ds.assign_coords(date=("date", dates.as_unit("ns").values)).transpose("station", "date", ...)
    ds["date"].attrs.update(long_name="natural day (Beijing time), hours 01-24", standard_name="time")
    ds.attrs.update(
        assessment=assessment,
        limits_standard=rules["gb3095"],
        min_hours=rules["min_hours"],
        mda8_min_window_hours=rules["mda8_min_window_hours"],
        mda8_min_windows=rules["mda8_min_windows"],
        mda8_valid_if_exceeds=rules["mda8_valid_if_exceeds"],
        o3_1h_max_min_hours=o3_1h_max_min_hours,
        rounding="none (GB/T 8170 rounding is applied where the values are used)",
    )
    return ds


# --------------------------------------------------------------------------------------------
# reasons


def explain_invalid(daily: xr.Dataset, var: str) -> xr.DataArray:
    """Why each value of ``daily[var]`` is NaN, in words (``"valid"`` when it is not).

    Parameters
    ----------
    daily : xarray.Dataset
        Output of :func:`station_daily`.
    var : str
        A daily variable, e.g. ``"pm25_24h"``, ``"o3_mda8"``, ``"o3_1h_max"``.

    Returns
    -------
    xarray.DataArray of str, like ``daily[var]``: ``"valid"``, ``"no data"``,
    ``"13 of 20 required hours"`` or ``"12 of 14 required 8-h windows"``.

    Notes
    -----
    Builds Python strings: meant for reports and selections, not for a whole national year.

    Examples
    --------
    >>> import xarray as xr
    >>> d = xr.Dataset(
    ...     {"invalid_o3_mda8": ("date", [0, 1, 3]), "n_windows_o3": ("date", [17, 0, 12]),
    ...      "n_hours_o3": ("date", [24, 0, 15])},
    ...     attrs={"min_hours": 20, "mda8_min_windows": 14, "o3_1h_max_min_hours": 20},
    ... )
    >>> explain_invalid(d, "o3_mda8").values.tolist()
    ['valid', 'no data', '12 of 14 required 8-h windows']
    """
    code_name = f"invalid_{var}"
    if code_name not in daily:
        raise KeyError(f"{code_name!r} is not in the dataset; is {var!r} a station_daily variable?")
    code = daily[code_name]
    pollutant = var.split("_")[0]
    if var == "o3_1h_max":
        required = daily.attrs["o3_1h_max_min_hours"]
    else:
        required = daily.attrs["min_hours"]
    hours = daily[f"n_hours_{pollutant}"].astype(str)
    text = xr.full_like(code, "valid", dtype=object)
    text = xr.where(code == Invalid.NO_DATA, "no data", text)
    text = xr.where(code == Invalid.TOO_FEW_HOURS, hours + f" of {required} required hours", text)
    if var == "o3_mda8":
        windows = daily["n_windows_o3"].astype(str)
        need = daily.attrs["mda8_min_windows"]
        text = xr.where(code == Invalid.TOO_FEW_WINDOWS, windows + f" of {need} required 8-h windows", text)
    return text.rename(f"why_{var}")
