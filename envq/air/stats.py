"""Period statistics of daily air values (HJ 663) and the composite index used for city rankings.

- :func:`percentile_hj663` is the HJ 663 Appendix A percentile, vectorised along an axis with
  NaN ignored row by row.
- :func:`period_statistics` reduces a daily dataset (station or city daily values, dims
  ``(X, date)``) to one row per period: means of the daily means, the HJ 663 percentiles, counts
  of valid days and the GB 3095 Table 4 flag saying whether the period mean is a valid one.
- :func:`composite_index` turns those statistics into the single-pollutant indices
  ``I_i = C_i / S_i``, their sum and the pollutant with the largest index.

Every function reads its numbers (percentile per pollutant, limits, minimum days) from the
standards files in :mod:`envq.standards`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards
from envq._rounding import round_gbt8170
from envq.canonical import AIR_UNITS

__all__ = [
    "percentile_hj663",
    "period_statistics",
    "statistics_of_periods",
    "round_statistics",
    "composite_index",
    "COMPOSITE_ROUNDINGS",
]

#: The two conventions for rounding the composite index (reference/bulletin.md rule 4,
#: standards.md §9 rule 6): ``"per_term"`` rounds each single index I_i to 2 decimals
#: (GB/T 8170, half to even) and sums them, which reproduces E14, E31 and E33 from their published
#: concentrations and is what CNEMC's contractor code does [S] (the default); ``"sum"`` sums the
#: unrounded I_i and rounds the sum, which reproduces E12 and E34. Name -> decimals of each term.
COMPOSITE_ROUNDINGS = {"per_term": 2, "sum": None}



@functools.cache
def _decimals() -> dict[str, int]:
    """Decimals a concentration keeps under GB/T 8170 (HJ 633-2026 §4.2.2-4.2.3: integers in
    ug/m3, CO to 0.1 mg/m3), read from the standards file."""
    return dict(standards.load("hj633_2026")["concentration_decimals"])

_UNITS = AIR_UNITS
# the daily variable each (pollutant, statistic) of the standards files is computed from
_DAILY_VAR = {"daily_mean": "{p}_24h", "mda8": "{p}_mda8"}


# --------------------------------------------------------------------------------------------
# percentile


def percentile_hj663(values, p: float, axis: int = -1) -> np.ndarray:
    """HJ 663 percentile of the valid (non-NaN) values along an axis.

    Parameters
    ----------
    values : array_like
        Concentrations in any unit (e.g. daily means [ug/m3]); NaN marks a missing value.
    p : float
        The percentile as a fraction, 0 <= p <= 1 (0.98, 0.95, 0.90).
    axis : int
        Axis to reduce.

    Returns
    -------
    numpy.ndarray
        *values* with *axis* removed: the percentile of each row's valid values, NaN for a row
        with none. Unrounded.

    Notes
    -----
    With the n valid values of a row sorted ascending, X(1) <= ... <= X(n):

    .. math:: k = 1 + (n - 1) p,\\quad s = \\lfloor k \\rfloor,\\quad
              m_p = X(s) + (X(s+1) - X(s)) (k - s)

    and m_p = X(n) when s = n. This equals ``numpy.nanpercentile(values, 100 * p,
    method="linear")``. Rows are sorted with NaN last and each row uses its own n, so no Python
    loop runs over rows. ``(n - 1) p`` is snapped to the nearest integer when within 1e-12
    (relative) of it, so that a float artefact never moves s.

    References
    ----------
    HJ 663-2013 Appendix A (percentile formula); reference/standards.md §2.3.

    Examples
    --------
    E13: {3, 4, 8, 2, 5, 4}, p = 0.9: k = 1 + 5 x 0.9 = 5.5, s = 5, m = 5 + (8 - 5) x 0.5

    >>> float(percentile_hj663([3, 4, 8, 2, 5, 4], 0.9))
    6.5
    >>> percentile_hj663([[3, 4, 8, 2, 5, 4], [1, 2, np.nan, np.nan, np.nan, np.nan]], 0.5).tolist()
    [4.0, 1.5]
    """
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a fraction in [0, 1] (e.g. 0.95, not 95); got {p}")
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0:
        raise ValueError("values must have at least one dimension")
    a = np.sort(np.moveaxis(a, axis, -1), axis=-1)  # NaN sort last
    n = np.sum(~np.isnan(a), axis=-1)
    k0 = np.maximum(n - 1, 0) * p  # k - 1, 0-based rank
    snapped = np.rint(k0)
    k0 = np.where(np.abs(k0 - snapped) <= 1e-12 * np.maximum(1.0, k0), snapped, k0)
    s0 = np.floor(k0).astype(np.int64)  # s - 1
    frac = k0 - s0
    hi = np.minimum(s0 + 1, np.maximum(n - 1, 0))  # s + 1 - 1, clipped at X(n)
    x_s = np.take_along_axis(a, s0[..., None], axis=-1)[..., 0]
    x_s1 = np.take_along_axis(a, hi[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        m = np.where(frac > 0, x_s + (x_s1 - x_s) * frac, x_s)
    return np.where(n > 0, m, np.nan)


# --------------------------------------------------------------------------------------------
# rules


@functools.cache
def _rules(assessment: str) -> dict:
    hj, gb = standards.assessment_pair(assessment)
    annual = next(r for r in gb["validity"]["rules"] if r["statistic"] == "annual_mean")
    return {
        "percentiles": [
            (s["pollutant"], _DAILY_VAR[s["statistic"]].format(p=s["pollutant"]), s["percentile"])
            for s in hj["percentiles"]["statistics"]
        ],
        "percentile_clause": f"{hj['number']} {hj['percentiles']['clause']}",
        "mean_pollutants": list(annual["pollutants"]),
        "min_days_year": annual["min_daily_values_per_year"],
        "min_days_month": annual["min_daily_values_per_month"],
        "min_days_february": annual["min_daily_values_february"],
        "validity_clause": f"{gb['number']} {gb['validity']['clause']}",
        "gb3095": gb["id"],
        "composite": hj["composite_index"],
        "composite_number": hj["number"],
    }


def _stat_name(daily_var: str, percentile: int) -> str:
    """so2_24h, 98 -> so2_p98; o3_mda8, 90 -> o3_mda8_p90."""
    return f"{daily_var.replace('_24h', '')}_p{percentile}"


# --------------------------------------------------------------------------------------------
# period statistics


#: Months in each calendar kind of period (envq.periods) the statistics can be split into.
_MONTHS_PER = {"month": 1, "quarter": 3, "half": 6, "year": 12}


def _periods_of(dates: pd.DatetimeIndex, every: str | None, period) -> list:
    """The periods the statistics are taken over: *period*, the calendar periods of kind *every*
    the dates touch, or the whole record (a range of days)."""
    from envq.periods import Period, calendar_periods, parse_period

    if period is not None:
        return [parse_period(period)]
    if every is None:
        return [Period.range_of(dates.min().date(), dates.max().date())]
    if every not in _MONTHS_PER:
        raise ValueError(f"every must be one of {', '.join(_MONTHS_PER)} or None, got {every!r}")
    return calendar_periods(dates.min().date(), dates.max().date(), every)


def _codes(dates: pd.DatetimeIndex, periods: list) -> np.ndarray:
    """Index of the period holding each date (the periods are consecutive and cover the dates)."""
    starts = np.array([np.datetime64(p.start, "D") for p in periods])
    return np.searchsorted(starts, dates.values.astype("datetime64[D]"), side="right") - 1


def _percentile_over(da: xr.DataArray, p: float, dim: str) -> xr.DataArray:
    return xr.apply_ufunc(
        percentile_hj663,
        da,
        input_core_dims=[[dim]],
        kwargs={"p": p, "axis": -1},
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"allow_rechunk": True},
    )


def _reduce(da: xr.DataArray, codes: np.ndarray, n: int, dim: str, how: str, **kw) -> xr.DataArray:
    """Reduce *da* over each period (dates labelled by *codes* 0..n-1).

    *how* is a reduction method name (``"mean"``, ``"sum"``, ``"min"``) or ``"percentile"`` (with
    ``p=``).
    """
    if n == 1:
        out = _percentile_over(da, kw["p"], dim) if how == "percentile" else getattr(da, how)(dim, **kw)
        return out.expand_dims(period=1)
    grouped = da.groupby(xr.DataArray(codes, dims=dim, name="period"))
    if how == "percentile":  # one call per period, each vectorised over the other dims
        out = grouped.map(_percentile_over, p=kw["p"], dim=dim)
    else:
        out = getattr(grouped, how)(**kw)
    return out.drop_vars("period").transpose(..., "period")


def _finish_statistics(ds, rules, assessment, periods, rounded: bool, require_every_month: bool):
    """The attributes every statistics dataset carries (the assessment, its GB 3095 edition, the
    periods, the completeness rules), then rounded when asked."""
    ds.attrs.update(
        assessment=assessment,
        limits_standard=rules["gb3095"],
        periods=",".join(p.label for p in periods),
        rounded=int(rounded),
        min_days_year=rules["min_days_year"],
        min_days_month=rules["min_days_month"],
        min_days_february=rules["min_days_february"],
        require_every_month=int(require_every_month),
    )
    return round_statistics(ds) if rounded else ds


def _check_daily(daily, dim: str, assessment):
    """*daily* checked for :func:`period_statistics` / :func:`statistics_of_periods`: the rules of
    *assessment*, the mean and percentile variables present, the dates (no duplicate)."""
    if not isinstance(daily, xr.Dataset):
        raise TypeError(f"daily must be an xarray.Dataset, got {type(daily).__name__}")
    if dim not in daily.dims:
        raise ValueError(f"daily has dims {tuple(daily.dims)}; expected a {dim!r} dimension")
    rules = _rules(assessment)
    mean_vars = [(p, f"{p}_24h") for p in rules["mean_pollutants"] if f"{p}_24h" in daily]
    pct_vars = [(p, v, q) for p, v, q in rules["percentiles"] if v in daily]
    if not mean_vars and not pct_vars:
        wanted = sorted({v for _, v in mean_vars} | {v for _, v, _ in rules["percentiles"]})
        raise ValueError(f"daily has none of the daily variables {', '.join(wanted)}")
    dates = pd.DatetimeIndex(daily[dim].values)
    if dates.has_duplicates:
        raise ValueError(f"daily.{dim} has duplicate dates, first {dates[dates.duplicated()][0]}")
    return rules, mean_vars, pct_vars, dates


def period_statistics(
    daily: xr.Dataset,
    *,
    every: str | None = "year",
    period=None,
    dim: str = "date",
    assessment: str = "hj663_2013",
    rounded: bool = False,
    require_every_month: bool = True,
) -> xr.Dataset:
    """Period means, HJ 663 percentiles and valid-day counts of daily air values.

    Parameters
    ----------
    daily : xarray.Dataset
        Daily values with a ``date`` dimension (and any others, e.g. ``station`` or ``city``):
        any of ``so2_24h no2_24h pm10_24h pm25_24h co_24h`` [ug/m3; CO mg/m3] and ``o3_mda8``
        [ug/m3], NaN where a day is not valid; e.g. the output of
        :func:`envq.air.daily.station_daily` or a city mean of it.
    every : {"year", "half", "quarter", "month"} or None
        Split the record into the calendar periods of this kind (:mod:`envq.periods`); ``None``
        takes the whole record as one period.
    period : envq.periods.Period or str, optional
        Take exactly this period (its every day, those the data lacks included, as GB 3095 Table 4
        counts them); *every* is then ignored.
    dim : str
        Name of the daily time dimension.
    assessment : {"hj663_2013", "hj663_2026"}
        HJ 663 edition giving the percentile of each pollutant; the GB 3095 edition in force with
        it gives the minimum numbers of daily values.
    rounded : bool
        Round the concentration statistics per GB/T 8170 (integers; CO to 0.1 mg/m3), as they
        are published. Default False: unrounded (see :func:`round_statistics`).
    require_every_month : bool
        Whether a valid annual mean needs, besides >= 324 daily values in the year, >= 27 in every
        month (25 in February), as GB 3095 Table 4 lists both on the annual-mean row.

    Returns
    -------
    xarray.Dataset
        Dims ``(…, period)`` (``period`` = first day of the period; coordinates ``period_end`` =
        its last day and ``period_label`` = its :class:`envq.periods.Period` label), with, for the
        pollutants present:

        - ``<p>_mean`` (SO2, NO2, PM10, PM2.5) [ug/m3]: mean of the valid daily means;
        - ``so2_p98 no2_p98 pm10_p95 pm25_p95 co_p95`` and ``o3_mda8_p90`` (percentiles per the
          *assessment* file; CO [mg/m3]);
        - ``n_days_<p>`` (int): valid daily values in the period (``o3``: valid MDA8 days);
        - ``mean_valid_<p>`` (bool, SO2, NO2, PM10, PM2.5): the period mean meets the GB 3095
          Table 4 minimum number of daily values. A flag, not a filter: the mean is always given.

    Notes
    -----
    ``mean = sum(C_d) / n`` over the n valid days; percentiles per :func:`percentile_hj663` over
    the same days. The daily values are used as given (a caller that wants statistics of rounded
    daily values rounds them first).

    ``mean_valid_<p>`` is True when every calendar month of the period holds >= 27 valid days
    (>= 25 in February) and, for a period that is a whole calendar year, the year holds >= 324.
    Applying the monthly minimum to a quarter or to the whole record is envq's reading [U]. A
    month outside the dates of *daily* but inside the period counts as a month with no values.

    References
    ----------
    HJ 663-2013 Table 1/2 (statistics) and Appendix A (percentile); GB 3095-2012 / GB 3095-2026
    Table 4 (minimum numbers of daily values); reference/standards.md §2.3, §2.1.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> dates = pd.date_range("2019-01-01", periods=10, freq="D")
    >>> daily = xr.Dataset({"co_24h": ("date", [0.6, 0.8, 0.7, 1.1, 0.9, 1.3, 0.5, 1.0, 1.2, 0.8])},
    ...                    coords={"date": dates})
    >>> s = period_statistics(daily, every=None)
    >>> round(float(s.co_p95[0]), 6), int(s.n_days_co[0]), str(s.period_label.values[0])
    (1.255, 10, '2019-01-01..2019-01-10')
    >>> float(period_statistics(daily, every=None, rounded=True).co_p95[0])
    1.3
    """
    rules, mean_vars, pct_vars, dates = _check_daily(daily, dim, assessment)
    periods = _periods_of(dates, every, period)
    # a complete daily axis over whole periods, so that counts per month and period are right
    start, end = pd.Timestamp(periods[0].start), pd.Timestamp(periods[-1].end)
    full = pd.date_range(start, end, freq="D", unit=dates.unit)
    daily = daily.reindex({dim: full})
    codes = _codes(full, periods)
    n = len(periods)

    out: dict[str, xr.DataArray] = {}
    for p, v in mean_vars:
        out[f"{p}_mean"] = _reduce(daily[v], codes, n, dim, "mean", skipna=True).assign_attrs(
            units=_UNITS[p], long_name=f"{p.upper()} mean of the valid 24-hour means",
        )
    for p, v, q in pct_vars:
        out[_stat_name(v, q)] = _reduce(daily[v], codes, n, dim, "percentile", p=q / 100).assign_attrs(
            units=_UNITS[p],
            long_name=f"{q}th percentile of the {'MDA8' if v.endswith('mda8') else '24-hour mean'} values",
            formula=rules["percentile_clause"],
        )
    for p, v in dict(mean_vars + [(p, v) for p, v, _ in pct_vars]).items():
        out[f"n_days_{p}"] = (
            _reduce(daily[v].notnull(), codes, n, dim, "sum")
            .astype(np.int32)
            .assign_attrs(long_name=f"valid daily {v} values in the period")
        )

    period_index = pd.DatetimeIndex([pd.Timestamp(p.start) for p in periods])
    period_end = pd.DatetimeIndex([pd.Timestamp(p.end) for p in periods])
    for p, v in mean_vars:
        out[f"mean_valid_{p}"] = _mean_valid(
            daily[v], codes, periods, dim, rules, require_every_month
        ).assign_attrs(
            long_name=f"{p}_mean is a valid period mean ({rules['validity_clause']})",
        )

    ds = xr.Dataset(out)
    ds = ds.assign_coords(
        period=("period", period_index.as_unit("ns").values),
        period_end=("period", period_end.as_unit("ns").values),
        period_label=("period", np.array([p.label for p in periods], dtype=object)),
    )
    ds = ds.transpose(..., "period")
    return _finish_statistics(ds, rules, assessment, periods, rounded, require_every_month)


def _mean_valid(da, codes, periods, dim, rules, require_every_month) -> xr.DataArray:
    """GB 3095 Table 4 flag: enough valid daily values for a period mean."""
    from envq.periods import calendar_periods

    valid = da.notnull()
    dates = pd.DatetimeIndex(da[dim].values)
    months = calendar_periods(dates[0].date(), dates[-1].date(), "month")
    per_month = _reduce(valid, _codes(dates, months), len(months), dim, "sum")
    need = xr.DataArray([rules["min_days_february"] if m.start.month == 2 else rules["min_days_month"]
                         for m in months], dims="period")
    month_ok = (per_month >= need).astype(np.int8).rename(period="month")
    # the period of each month (a month lies in one period: the periods are whole months or more)
    month_code = _codes(pd.DatetimeIndex([pd.Timestamp(m.start) for m in months]), periods)
    month_code = np.maximum(month_code, 0)
    if len(periods) == 1:
        months_ok = month_ok.min("month").expand_dims(period=1)
    else:
        months_ok = month_ok.groupby(xr.DataArray(month_code, dims="month", name="period")).min()
        months_ok = months_ok.drop_vars("period").transpose(..., "period")
    n = _reduce(valid, codes, len(periods), dim, "sum")
    months_ok = months_ok.astype(bool)
    whole_year = xr.DataArray(
        [p.start == p.start.replace(month=1, day=1) and p.end == p.start.replace(month=12, day=31) for p in periods],
        dims="period",
    )
    year_ok = ~whole_year | (n >= rules["min_days_year"])
    if require_every_month:
        return year_ok & months_ok
    return year_ok & (whole_year | months_ok)


def statistics_of_periods(
    daily: xr.Dataset,
    periods,
    *,
    dim: str = "date",
    assessment: str = "hj663_2013",
    rounded: bool = False,
    require_every_month: bool = True,
) -> xr.Dataset:
    """:func:`period_statistics` of each of *periods* (any periods, overlapping or not: months,
    quarters, years to date...), at once: the values of each period are exactly those of
    ``period_statistics(daily, period=p, ...)``, along a ``period`` dimension in the order given.

    The same rules (HJ 663 Table 1/2 and Appendix A; GB 3095 Table 4 minimum numbers of daily
    values) on NumPy arrays: each variable is read once, and each period is a slice of it put on
    the period's complete daily axis (days the data lacks are NaN, as GB 3095 Table 4 counts
    them), reduced with the same NumPy functions :func:`period_statistics` reaches through
    xarray (:func:`numpy.nanmean` along the date axis of the same layout, :func:`percentile_hj663`,
    counts of valid values). The many small xarray operations of one call per period cost far
    more than the arithmetic (27 periods of 370 cities: seconds against milliseconds).

    Parameters and the variables returned are those of :func:`period_statistics` (*periods*
    replaces *period* and *every*).
    """
    from envq.periods import calendar_periods, parse_period

    rules, mean_vars, pct_vars, dates = _check_daily(daily, dim, assessment)
    periods = [parse_period(p) for p in periods]
    if not periods:
        raise ValueError("no period given")

    # each period's complete daily axis, and the month of each of its days
    where = []
    for p in periods:
        full = pd.date_range(pd.Timestamp(p.start), pd.Timestamp(p.end), freq="D", unit=dates.unit)
        months = calendar_periods(full[0].date(), full[-1].date(), "month")
        need = np.array([rules["min_days_february"] if m.start.month == 2 else rules["min_days_month"]
                         for m in months])
        whole_year = p.start == p.start.replace(month=1, day=1) and p.end == p.start.replace(month=12, day=31)
        where.append((full, _codes(full, months), need, whole_year))
    var_of = dict(mean_vars + [(p, v) for p, v, _ in pct_vars])
    used = daily[list(dict.fromkeys(var_of.values()))]

    template = daily[next(iter(var_of.values()))]
    other = tuple(d for d in template.dims if d != dim)
    coords = {c: template.coords[c] for c in template.coords if dim not in template.coords[c].dims}

    def stack(values: list, dtype=None) -> xr.DataArray:
        data = np.stack(values, axis=-1)
        return xr.DataArray(data if dtype is None else data.astype(dtype), dims=other + ("period",), coords=coords)

    means: dict[str, list] = {p: [] for p, _ in mean_vars}
    pcts: dict[str, list] = {_stat_name(v, q): [] for _, v, q in pct_vars}
    counts: dict[str, list] = {p: [] for p in var_of}
    valid_mean: dict[str, list] = {p: [] for p, _ in mean_vars}
    for k, (full, month_of_day, need, whole_year) in enumerate(where):
        # the period on its complete daily axis, as period_statistics reindexes it: the memory
        # layout of the result (which NumPy's sums follow) is the reindex's, so the means are too
        on = used.reindex({dim: full})
        got = {v: (np.asarray(on[v].values), on[v].dims.index(dim)) for v in used.data_vars}
        for p, v in var_of.items():
            vals, axis = got[v]
            counts[p].append((~np.isnan(vals)).sum(axis=axis))
        for p, v in mean_vars:
            vals, axis = got[v]
            with warnings.catch_warnings():   # what DataArray.mean(skipna=True) runs: np.nanmean
                warnings.filterwarnings("ignore", r"Mean of empty slice", category=RuntimeWarning)
                means[p].append(np.nanmean(vals, axis=axis))
            # GB 3095 Table 4: enough valid daily values in every month, and in a whole year
            valid = np.moveaxis(~np.isnan(vals), axis, -1)
            per_month = np.stack([valid[..., month_of_day == m].sum(axis=-1) for m in range(len(need))], axis=-1)
            months_ok = (per_month >= need).all(axis=-1)
            year_ok = (valid.sum(axis=-1) >= rules["min_days_year"]) if whole_year else np.ones(months_ok.shape, bool)
            valid_mean[p].append(year_ok & months_ok if require_every_month else year_ok & (whole_year | months_ok))
        for _, v, q in pct_vars:
            vals, axis = got[v]
            pcts[_stat_name(v, q)].append(percentile_hj663(vals, q / 100, axis=axis))

    out: dict[str, xr.DataArray] = {}
    for p, v in mean_vars:
        out[f"{p}_mean"] = stack(means[p]).assign_attrs(
            units=_UNITS[p], long_name=f"{p.upper()} mean of the valid 24-hour means",
        )
    for p, v, q in pct_vars:
        out[_stat_name(v, q)] = stack(pcts[_stat_name(v, q)]).assign_attrs(
            units=_UNITS[p],
            long_name=f"{q}th percentile of the {'MDA8' if v.endswith('mda8') else '24-hour mean'} values",
            formula=rules["percentile_clause"],
        )
    for p, v in var_of.items():
        out[f"n_days_{p}"] = stack(counts[p], np.int32).assign_attrs(long_name=f"valid daily {v} values in the period")
    for p, v in mean_vars:
        out[f"mean_valid_{p}"] = stack(valid_mean[p], bool).assign_attrs(
            long_name=f"{p}_mean is a valid period mean ({rules['validity_clause']})",
        )
    ds = xr.Dataset(out)
    ds = ds.assign_coords(
        period=("period", pd.DatetimeIndex([pd.Timestamp(p.start) for p in periods]).as_unit("ns").values),
        period_end=("period", pd.DatetimeIndex([pd.Timestamp(p.end) for p in periods]).as_unit("ns").values),
        period_label=("period", np.array([p.label for p in periods], dtype=object)),
    )
    return _finish_statistics(ds, rules, assessment, periods, rounded, require_every_month)


def round_statistics(stats: xr.Dataset) -> xr.Dataset:
    """Round the concentration statistics of :func:`period_statistics` per GB/T 8170.

    Parameters
    ----------
    stats : xarray.Dataset
        Variables named ``<pollutant>_<statistic>`` (``pm25_mean``, ``co_p95``, ``o3_mda8_p90``,
        ...); counts and flags are left alone.

    Returns
    -------
    xarray.Dataset
        A copy with [ug/m3] statistics rounded to integers and CO [mg/m3] to 0.1, half to even.

    References
    ----------
    GB/T 8170-2008 §3.2; HJ 633-2026 §4.2.2-4.2.3 (decimals kept); reference/standards.md §1.3-1.4.

    Examples
    --------
    >>> import xarray as xr
    >>> s = xr.Dataset({"co_p95": ("period", [1.255]), "o3_mda8_p90": ("period", [181.4]),
    ...                 "pm25_mean": ("period", [22.5]), "n_days_co": ("period", [10])})
    >>> r = round_statistics(s)
    >>> float(r.co_p95[0]), float(r.o3_mda8_p90[0]), float(r.pm25_mean[0]), int(r.n_days_co[0])
    (1.3, 181.0, 22.0, 10)
    """
    out = stats.copy()
    for name, da in stats.data_vars.items():
        pollutant = str(name).split("_")[0]
        if pollutant in _decimals() and da.dtype.kind == "f":
            out[name] = xr.apply_ufunc(
                round_gbt8170,
                da,
                kwargs={"decimals": _decimals()[pollutant]},
                dask="parallelized",
                output_dtypes=[np.float64],
            ).assign_attrs(da.attrs, rounding="GB/T 8170-2008")
    out.attrs["rounded"] = 1
    return out


# --------------------------------------------------------------------------------------------
# composite index


def _term_var(term: Mapping) -> str:
    # "mean" -> so2_mean, "p95" -> co_p95, "mda8_p90" -> o3_mda8_p90: period_statistics' names
    return f"{term['pollutant']}_{term['statistic']}"


def composite_index(
    stats: xr.Dataset,
    *,
    assessment: str = "hj663_2013",
    weights: Mapping[str, float] | None = None,
    limits: Mapping[str, float] | None = None,
    rounding: str | None = None,
    term_decimals: int | None = 2,
    decimals: int = 2,
) -> xr.Dataset:
    """Ambient air quality composite index (环境空气质量综合指数) of period statistics.

    Parameters
    ----------
    stats : xarray.Dataset
        Output of :func:`period_statistics` (rounded or not), or any dataset with the variables
        ``so2_mean no2_mean pm10_mean pm25_mean`` [ug/m3], ``co_p95`` [mg/m3] and
        ``o3_mda8_p90`` [ug/m3]; any dims (station, city, period, ...).
    assessment : {"hj663_2013", "hj663_2026"}
        Edition whose ``composite_index`` block gives the terms and limits S_i (GB 3095-2012
        Grade II: SO2 60, NO2 40, PM10 70, PM2.5 35 annual; CO 4 mg/m3 24-h; O3 160 8-h).
    weights : mapping of pollutant to float, optional
        Weight of each single index in the sum. Default: the file's weights, all 1. A weighted
        HJ 663-2026 index (PM2.5 x3, NO2 x2, O3 x2) is claimed by one unverified third-party
        source only [U]; it is not the default and should not be used until checked.
    limits : mapping of pollutant to float, optional
        Replace the limits S_i of the file (the 2012 Grade II basis), e.g. the GB 3095-2026
        transitional Grade II limits ``{"pm10": 60, "pm25": 30}`` for a post-2026 basis, which
        the reference leaves open [U] (standards.md §2.6, §7 item 8).
    rounding : {"per_term", "sum"}, optional
        The named convention (:data:`COMPOSITE_ROUNDINGS`): ``"per_term"`` (the default) rounds
        each I_i to 2 decimals half to even before summing; ``"sum"`` sums the unrounded I_i.
        Recorded in the result (``composite_rounding``). Overrides *term_decimals* when given.
    term_decimals : int or None
        Decimals each I_i is rounded to (GB/T 8170) before summing; default 2, the convention of
        the ranking rules as implemented by CNEMC's contractor [S]. ``None`` sums unrounded I_i
        (the ``"sum"`` convention).
    decimals : int
        Decimals of the sum (GB/T 8170).

    Returns
    -------
    xarray.Dataset
        Same dims as *stats*: ``index_<p>`` (I_i), ``composite_index`` (sum of w_i I_i),
        ``max_index`` (largest I_i) and ``max_index_pollutant`` (its pollutant; tied pollutants
        joined by ``","``). NaN / ``""`` where any term is missing. The attribute
        ``composite_rounding`` names the convention (``per_term`` or ``sum``; ``per_term_<d>``
        for other term decimals).

    Notes
    -----
    .. math:: I_i = C_i / S_i,\\qquad I_{sum} = \\sum_i w_i I_i,\\qquad I_{max} = \\max_i I_i

    C_i is first rounded per GB/T 8170 (integers; CO 0.1 mg/m3), which leaves already-rounded
    statistics unchanged; then each I_i is rounded to *term_decimals* and the sum to *decimals*.
    The two published examples disagree on the order [U]: E12 (PM2.5 21, PM10 39, SO2 9, NO2 15,
    O3 192, CO 0.7) is published as 3.06, which is the rounded sum of unrounded I_i (3.057);
    rounding each I_i first gives 3.07 (0.375 -> 0.38 and 0.175 -> 0.18). E14 (SO2 9, NO2 14,
    PM10 77, CO 1.1, O3 96, PM2.5 23) is published as 3.14, which is what rounding each I_i
    gives; the unrounded sum is 3.13.

    References
    ----------
    城市环境空气质量排名技术规定 (环办〔2014〕64号); GB 3095-2012 Table 1; GB/T 8170-2008;
    reference/standards.md §2.6 and §7 items 5, 8, 9.

    Examples
    --------
    E12, summing unrounded single indices as the published value does:

    >>> import xarray as xr
    >>> s = xr.Dataset({"pm25_mean": 21.0, "pm10_mean": 39.0, "so2_mean": 9.0, "no2_mean": 15.0,
    ...                 "o3_mda8_p90": 192.0, "co_p95": 0.7})
    >>> ci = composite_index(s, term_decimals=None)
    >>> float(ci.composite_index), ci.max_index_pollutant.item(), float(ci.max_index)
    (3.06, 'o3', 1.2)
    >>> float(composite_index(s).composite_index)  # each I_i rounded to 0.01 first
    3.07
    >>> float(composite_index(s, rounding="sum").composite_index), composite_index(s).attrs["composite_rounding"]
    (3.06, 'per_term')
    """
    if not isinstance(stats, xr.Dataset):
        raise TypeError(f"stats must be an xarray.Dataset, got {type(stats).__name__}")
    if rounding is not None:
        if rounding not in COMPOSITE_ROUNDINGS:
            raise ValueError(f"rounding must be one of {', '.join(COMPOSITE_ROUNDINGS)}, not {rounding!r}")
        term_decimals = COMPOSITE_ROUNDINGS[rounding]
    convention = ("sum" if term_decimals is None else
                  "per_term" if term_decimals == COMPOSITE_ROUNDINGS["per_term"] else f"per_term_{term_decimals}")
    block = _rules(assessment)["composite"]
    terms = block["terms"]
    w = dict(block["weights"])
    if weights is not None:
        unknown = set(weights) - set(w)
        if unknown:
            raise ValueError(f"weights has unknown pollutants {sorted(unknown)}; known: {sorted(w)}")
        w.update(weights)
    if limits is not None:
        unknown = set(limits) - {t["pollutant"] for t in terms}
        if unknown:
            raise ValueError(f"limits has unknown pollutants {sorted(unknown)}")
        terms = [{**t, "limit": limits.get(t["pollutant"], t["limit"])} for t in terms]
    missing = [_term_var(t) for t in terms if _term_var(t) not in stats]
    if missing:
        raise ValueError(
            f"stats lacks {', '.join(missing)}, needed for the composite index "
            f"(compute them with period_statistics)"
        )

    def rnd(x, d):
        return xr.apply_ufunc(
            round_gbt8170, x, kwargs={"decimals": d}, dask="parallelized", output_dtypes=[np.float64]
        )

    out: dict[str, xr.DataArray] = {}
    for t in terms:
        p = t["pollutant"]
        c = rnd(stats[_term_var(t)], _decimals()[p])
        i = c / t["limit"]
        if term_decimals is not None:
            i = rnd(i, term_decimals)
        out[f"index_{p}"] = i.assign_attrs(
            long_name=f"single index of {_term_var(t)}: C / {t['limit']}", units="1", weight=w[p]
        )
    names = [t["pollutant"] for t in terms]
    stacked = xr.concat([out[f"index_{p}"] for p in names], dim="pollutant", coords="minimal").assign_coords(
        pollutant=names
    )
    weight = xr.DataArray([float(w[p]) for p in names], dims="pollutant", coords={"pollutant": names})
    total = rnd((stacked * weight).sum("pollutant", skipna=False), decimals)
    imax = stacked.max("pollutant", skipna=False)
    # ties are all listed, like 并列 primary pollutants: a bit per pollutant, then a lookup table
    bits = sum((out[f"index_{p}"] == imax).astype(np.int64) << k for k, p in enumerate(names))
    table = np.array(
        [",".join(p for k, p in enumerate(names) if code >> k & 1) for code in range(2 ** len(names))],
        dtype=object,
    )
    label = xr.apply_ufunc(table.take, bits, dask="parallelized", output_dtypes=[object])
    ds = xr.Dataset(out)
    ds["composite_index"] = total.assign_attrs(
        long_name="ambient air quality composite index (sum of weighted single indices)",
        units="1",
        clause=f"{_rules(assessment)['composite_number']}: {block['clause']}",
    )
    ds["max_index"] = imax.assign_attrs(long_name="largest single index", units="1")
    ds["max_index_pollutant"] = label.astype(str).assign_attrs(
        long_name="pollutant(s) with the largest single index"
    )
    ds.attrs.update(
        assessment=assessment,
        term_decimals=str(term_decimals),
        composite_rounding=convention,
        decimals=decimals,
        weights=", ".join(f"{p}={w[p]:g}" for p in names),
    )
    return ds


# --------------------------------------------------------------------------------------------
# dust days


#: Daily variables a dust day is removed from (PM only: the good-air-day ratio keeps dust days).
DUST_VARIABLES = ("pm10_24h", "pm25_24h")


def exclude_dust_days(daily: xr.Dataset, dust_days, *, dim: str = "date", by: str = "city",
                      variables=DUST_VARIABLES) -> tuple[xr.Dataset, xr.DataArray]:
    """PM10 and PM2.5 daily values of dust-affected days set to NaN, for the composite index.

    Parameters
    ----------
    daily : xarray.Dataset
        Daily values with dims ``(by, dim)`` (e.g. city, date).
    dust_days : pandas.DataFrame or None
        The affected city-days, columns ``city`` (or *by*) and ``date``; None or empty: none.
        CNEMC decides them from satellite, sand-storm network and meteorological data; no data
        source envq reads says which days they are, so they are an input.
    variables : sequence of str
        The daily variables removed (PM10 and PM2.5).

    Returns
    -------
    (xarray.Dataset, xarray.DataArray)
        The dataset with those values removed, and the number of dust days removed per *by*.

    References
    ----------
    环办监测〔2016〕120号《受沙尘天气过程影响城市空气质量评价补充规定》: PM10, PM2.5 and the composite
    index exclude sand-dust days, the good-day ratio keeps them (reference/standards.md §2.5,
    bulletin.md rule 6) [S].

    Examples
    --------
    >>> d = xr.Dataset({"pm10_24h": (("city", "date"), [[300.0, 60.0]]), "pm25_24h": (("city", "date"), [[80.0, 30.0]]),
    ...                 "o3_mda8": (("city", "date"), [[90.0, 100.0]])},
    ...                coords={"city": ["长沙市"], "date": pd.to_datetime(["2019-03-01", "2019-03-02"])})
    >>> out, n = exclude_dust_days(d, pd.DataFrame({"city": ["长沙市"], "date": ["2019-03-01"]}))
    >>> out["pm10_24h"].values.tolist(), out["o3_mda8"].values.tolist(), int(n.sum())
    ([[nan, 60.0]], [[90.0, 100.0]], 1)
    """
    keys = daily[by].values.astype(str)
    dates = pd.DatetimeIndex(daily[dim].values).normalize()
    mask = np.zeros((len(keys), len(dates)), dtype=bool)
    if dust_days is not None and len(dust_days):
        col = by if by in dust_days else "city"
        want = pd.DataFrame({"k": dust_days[col].astype(str).to_numpy(),
                             "d": pd.to_datetime(dust_days["date"]).dt.normalize().to_numpy()})
        ki = pd.Index(keys).get_indexer(want["k"])
        di = dates.get_indexer(pd.DatetimeIndex(want["d"]))
        ok = (ki >= 0) & (di >= 0)
        mask[ki[ok], di[ok]] = True
    m = xr.DataArray(mask, dims=(by, dim), coords={by: daily[by], dim: daily[dim]})
    out = daily.copy()
    for v in variables:
        if v in out:
            out[v] = out[v].transpose(by, dim, ...).where(~m)
    return out, m.sum(dim).astype(np.int32).rename("dust_days_excluded")
