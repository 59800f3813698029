"""Good-air-day ratio (优良天数比例), day counts, and targets, for any period.

Definitions (reference/standards.md §2.4):

- a day is good (优良, 达标) when its daily AQI <= 100 (HJ 633-2012 §3.4: IAQI 100 is the Grade II
  limit);
- ratio = good days / days with a valid daily AQI (有效监测天数), not calendar days [S], reported in
  percent to one decimal (GB/T 8170);
- the provincial figure is the arithmetic mean of the city ratios, as the provincial plan and
  MEE releases report it; the pooled ratio (all good city-days / all valid city-days) is offered.

Periods are :class:`envq.periods.Period` (any text of its grammar); a year to date ends on the
last day with data. Targets come from :mod:`envq.targets` (83% for every city and the province by
default) and are judged by its one rule, on the ratio as published (one decimal): 82.95% is shown
and met as 83.0%. The *budget* of a period that starts on 1 January is how many more non-good
days the rest of the year can take while still meeting the target, assuming every remaining day
is valid: floor(g + r - T (v + r)) with g good and v valid days so far and r calendar days left
(negative: the target can no longer be met). For the province (a mean of ratios) the budget is
computed on the pooled days of its cities (column ``budget_basis``).

:func:`good_day_rates` is three small steps: :func:`count_days` (compute: days per unit),
:func:`ratios` (compute: the ratios and the provincial row), :func:`judge_rates` (judge: target,
``target_met``, budget); the labels (scope, name, period, through) are set between them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import xarray as xr

from envq import standards
from envq._rounding import round_gbt8170
from envq.errors import NoDataError
from envq.periods import Period, parse_period
from envq.targets import AIR, Targets, is_met, judge

__all__ = [
    "GOOD_DAY_MAX_AQI",
    "is_good_day",
    "days_with_data",
    "resolve_period",
    "count_days",
    "ratios",
    "judge_rates",
    "good_day_rates",
    "monthly_rates",
    "period_air_statistics",
]


@functools.cache
def _primary_names() -> tuple[str, ...]:
    """Every primary-pollutant name of every HJ 633 edition, in the standards' pollutant order,
    so that tables of periods under either edition have the same columns."""
    names: list[str] = []
    for ed in standards.FAMILIES["hj633"]:
        doc = standards.load(ed)
        for pol in doc["pollutant_order"]:
            for term, label in doc["pollutant_labels"].items():
                if term.split("_")[0] == pol and label["zh"] not in names:
                    names.append(label["zh"])
    return tuple(names)


def _pct(num, den) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.asarray(den) > 0, 100.0 * np.asarray(num, float) / np.asarray(den, float), np.nan)


def _budget(good: int, valid: int, remaining: int, target_pct: float) -> int:
    """Most non-good days of the *remaining* ones that keep the published ratio >= target.

    floor(g + r - T (v + r)) exactly in rationals, then widened while the ratio rounded to one
    decimal (GB/T 8170), the figure the target is judged on, still meets the target.
    """
    t = Fraction(str(target_pct)) / 100
    x = math.floor(good + remaining - t * (valid + remaining))
    total = valid + remaining
    while total and x + 1 <= remaining and is_met(100.0 * (good + remaining - (x + 1)) / total, target_pct):
        x += 1
    return x


def _budgets(good, valid, remaining, target_pct) -> np.ndarray:
    """:func:`_budget` of every row at once (equal-length arrays; *target_pct* finite): the same
    rule in exact integer arithmetic. A target ``t`` is the decimal its ``str`` spells (as
    ``Fraction(str(t))``), ``a / b``; then ``T = a / (100 b)`` and
    ``floor(g + r - T (v + r)) = (100 b (g + r) - a (v + r)) // (100 b)``, floor division of
    integers. The widening steps are the same float expressions judged by the one rule
    (:func:`envq.targets.judge`), a step for every row still widening at once.
    """
    g = np.asarray(good, dtype=np.int64)
    v = np.asarray(valid, dtype=np.int64)
    r = np.asarray(remaining, dtype=np.int64)
    t = np.asarray(target_pct, dtype=np.float64)
    x = np.empty(len(g), dtype=np.int64)
    for tv in np.unique(t):
        at = t == tv
        f = Fraction(str(float(tv)))
        num, den = f.numerator, f.denominator * 100
        x[at] = (den * (g[at] + r[at]) - num * (v[at] + r[at])) // den
    total = v + r
    active = (total > 0) & (x + 1 <= r)
    while active.any():
        i = np.flatnonzero(active)
        step = judge(100.0 * (g[i] + r[i] - (x[i] + 1)) / total[i], t[i]).to_numpy(dtype=bool, na_value=False)
        x[i[step]] += 1
        active[:] = False
        active[i[step]] = True
        active &= x + 1 <= r
    return x


def days_with_data(city_days: xr.Dataset) -> np.ndarray:
    """Boolean per date: some unit has a daily value (a lone hour-24 label makes an empty day
    before the data starts, which is not a day with data)."""
    n = city_days.sizes.get("date", 0)
    if "aqi_computed" in city_days:
        return np.isfinite(city_days["aqi_computed"].values).any(axis=0)
    return np.ones(n, bool)


def resolve_period(city_days: xr.Dataset, period: Period | str) -> tuple[Period, np.ndarray, dt.date]:
    """The period (a year to date ended on the data's last day), the mask of its dates with data,
    and the last such day. Raises :class:`envq.errors.NoDataError` when it holds none."""
    dates = pd.DatetimeIndex(city_days["date"].values)
    has = days_with_data(city_days)
    last = dates[has].max().date() if has.any() else None
    p = parse_period(period).until(last)
    sel = p.contains(dates.values) & has
    if not sel.any():
        d = dates[has]
        raise NoDataError(p, f"{d.min().date()}..{d.max().date()}" if len(d) else None, what="air city days")
    return p, sel, dates[sel].max().date()


#: The highest daily AQI of a good day (优良: 优 and 良, AQI 0..100; HJ 633-2012 §3.4 and Table 2,
#: unchanged in HJ 633-2026; reference/standards.md §2.4).
GOOD_DAY_MAX_AQI = 100


def is_good_day(aqi, valid) -> np.ndarray:
    """The one rule of a good day (优良天): a valid daily AQI of at most :data:`GOOD_DAY_MAX_AQI`.

    >>> is_good_day([50, 100, 101, np.nan, 80], [True, True, True, False, False]).tolist()
    [True, True, False, False, False]
    """
    a = np.asarray(aqi, dtype=float)
    return np.asarray(valid, dtype=bool) & (np.nan_to_num(a, nan=np.inf) <= GOOD_DAY_MAX_AQI)


def count_days(sel: xr.Dataset, edition_day: dt.date) -> pd.DataFrame:
    """Compute: valid, good, per-category and per-primary-pollutant day counts of each unit
    (``city``) over the dates of *sel* (a tied primary day counts for each pollutant).

    *edition_day* picks the HJ 633 edition whose categories name the ``days_<category>`` columns.
    """
    from envq.air.aqi import category_table

    valid = sel["valid"].values.astype(bool)
    good = is_good_day(sel["aqi"].values, valid)
    level = sel["level"].values
    strict = sel["valid_all_six"].values.astype(bool)
    cols = {
        "name": sel["city"].values.astype(str),
        "valid_days": valid.sum(axis=1),
        "valid_days_all_six": strict.sum(axis=1),
        "good_days": good.sum(axis=1),
        "good_days_all_six": (strict & good).sum(axis=1),
    }
    categories = category_table(standards.edition_for("hj633", edition_day))["category_zh"]
    for k, cat in categories.items():
        cols[f"days_{cat}"] = ((level == k) & valid).sum(axis=1)
    if "primary_pollutant" in sel:
        # each distinct primary-pollutant text is searched once (a handful among all unit-days)
        raw = sel["primary_pollutant"].values
        codes, texts = pd.factorize(raw.ravel(), use_na_sentinel=False)
        prim = np.char.add(np.char.add(",", np.asarray(texts, dtype=object).astype(str)), ",")
        for name in _primary_names():
            hit = (np.char.find(prim, f",{name},") >= 0)[codes].reshape(raw.shape)
            cols[f"primary_{name}"] = (hit & valid).sum(axis=1)
    return pd.DataFrame(cols)   # built once: a column added at a time costs more than the counting


def ratios(counts: pd.DataFrame, *, by: str = "city", province_method: str = "mean_of_cities",
           province_name: str = "湖南省") -> pd.DataFrame:
    """Compute: the good-air-day ratios [%, published to one decimal] of each unit and, for
    ``by`` in ``province``/``both``, the provincial row (mean of the city ratios or pooled
    city-days, with ``province_method`` and ``n_cities``). Column ``scope``: ``unit`` / ``province``.
    """
    df = counts.copy()
    ratio = _pct(df["good_days"], df["valid_days"])
    ratio_strict = _pct(df["good_days_all_six"], df["valid_days_all_six"])
    df["good_day_ratio"] = round_gbt8170(ratio, 1)
    df["good_day_ratio_all_six"] = round_gbt8170(ratio_strict, 1)
    df.insert(0, "scope", "unit")
    rows = [df]
    if by in ("province", "both") and len(df):
        num = counts.drop(columns=["name"]).sum()
        prov = {"scope": "province", "name": province_name, **num.to_dict()}
        mean = np.nanmean(ratio) if np.isfinite(ratio).any() else np.nan
        mean_strict = np.nanmean(ratio_strict) if np.isfinite(ratio_strict).any() else np.nan
        pooled = province_method == "pooled"
        prov["good_day_ratio"] = float(round_gbt8170(_pct(num["good_days"], num["valid_days"]) if pooled else mean, 1))
        prov["good_day_ratio_all_six"] = float(round_gbt8170(
            _pct(num["good_days_all_six"], num["valid_days_all_six"]) if pooled else mean_strict, 1))
        prov["province_method"] = province_method
        prov["n_cities"] = int(np.isfinite(ratio).sum())  # cities with a ratio (>= 1 valid day)
        if province_name == "湖南省" and prov["n_cities"] != 14:
            warnings.warn(f"the 湖南省 figure averages {prov['n_cities']} cities, not 14", stacklevel=3)
        rows.append(pd.DataFrame([prov]))
    out = pd.concat(rows, ignore_index=True)
    if by == "province":
        out = out[out["scope"] == "province"].reset_index(drop=True)
    return out


def judge_rates(rates: pd.DataFrame, period: Period, *, targets: Targets | None = None,
                target_scope=None) -> pd.DataFrame:
    """Judge: ``target`` (:mod:`envq.targets`, indicator ``air_good_day_ratio``, by ``scope`` and
    ``name``, or by *target_scope* / the ``target_name`` column where given) and ``target_met``
    (the one rule, on the published ratio), then the budget of non-good days for periods starting
    on 1 January."""
    targets = targets or Targets()
    out = rates.copy()
    scope = out["scope"] if target_scope is None else target_scope
    names = out["target_name"] if "target_name" in out else out["name"]
    out["target"] = targets.lookup(AIR, scope, names, period.year)
    out["target_met"] = judge(out["good_day_ratio"].to_numpy(float), out["target"].to_numpy(float))
    out = out.drop(columns=[c for c in ("target_name",) if c in out])
    if period.start == dt.date(period.year, 1, 1) and period.end <= dt.date(period.year, 12, 31):
        remaining = (dt.date(period.year, 12, 31) - period.end).days
        n = out["n_cities"].fillna(1).astype(int) if "n_cities" in out else pd.Series(1, index=out.index)
        t = out["target"].to_numpy(float)
        has = np.isfinite(t)
        if not len(out):
            out["budget_non_good_days"] = []  # as the list of one budget a row made it
        else:
            x = _budgets(out["good_days"].to_numpy()[has], out["valid_days"].to_numpy()[has],
                         remaining * n.to_numpy()[has], t[has])
            if has.all():
                out["budget_non_good_days"] = x  # int64, as a list of ints made it
            else:  # float64 with NaN where no target is set, as a list of ints and NaN made it
                b = np.full(len(out), np.nan)
                b[has] = x
                out["budget_non_good_days"] = b
        out["budget_basis"] = np.where(out["scope"] == "province", "pooled city-days of its cities",
                                       "the city's days")
    return out


def good_day_rates(city_days: xr.Dataset, period: Period | str, *, by: str = "city",
                   province_method: str = "mean_of_cities", targets: Targets | None = None,
                   province_name: str = "湖南省", scope: str = "city") -> pd.DataFrame:
    """Good-air-day ratio and day counts per unit (city) and for the province over *period*.

    Parameters
    ----------
    city_days : xarray.Dataset
        Output of :func:`envq.air.city.city_daily_aqi`: dims (city, date) with ``aqi``, ``level``,
        ``valid``, ``valid_all_six``, ``primary_pollutant``.
    period : Period or str
        Any period of :mod:`envq.periods`; a year to date ends on the last day with data.
    by : {"city", "province", "both"}
    province_method : {"mean_of_cities", "pooled"}
        The provincial ratio: the mean of the city ratios (official) or pooled city-days.
    targets : envq.targets.Targets, optional
        Default: the built-in table (83% for every city and the province).
    scope : str
        The ``scope`` of the unit rows (``city``; ``station`` or ``basin`` when the units are
        stations or areas), which also picks their targets.

    Returns
    -------
    pandas.DataFrame with columns ``scope, name, period, through`` (last day with data),
    ``start, end, calendar_days, valid_days, valid_days_all_six, good_days, good_day_ratio`` [% to
    1 decimal], ``good_day_ratio_all_six``, one ``days_<category>`` per category (优 .. 严重污染),
    one ``primary_<name>`` per primary pollutant (a tied day counts for each), ``target``,
    ``target_met`` and (periods starting on 1 January) ``budget_non_good_days``.

    Raises
    ------
    envq.errors.NoDataError
        The period holds no day with data (the message gives the span the data covers).
    envq.errors.PeriodError
        A period the grammar does not know.
    """
    if by not in ("city", "province", "both"):
        raise ValueError(f"by must be 'city', 'province' or 'both', not {by!r}")
    if province_method not in ("mean_of_cities", "pooled"):
        raise ValueError(f"province_method must be 'mean_of_cities' or 'pooled', not {province_method!r}")
    p, sel, through = resolve_period(city_days, period)
    dates = pd.DatetimeIndex(city_days["date"].values)
    used = [v for v in ("valid", "aqi", "level", "valid_all_six", "primary_pollutant") if v in city_days]
    inside = city_days[used].isel(date=np.flatnonzero(p.contains(dates.values)))
    counts = count_days(inside, p.start)
    out = ratios(counts, by=by, province_method=province_method, province_name=province_name)
    out["scope"] = out["scope"].replace("unit", scope)
    for i, (col, value) in enumerate((("period", p.label), ("through", through.isoformat()),
                                      ("start", p.start.isoformat()), ("end", p.end.isoformat()),
                                      ("calendar_days", p.days))):
        out.insert(2 + i, col, value)
    cols = [c for c in out.columns if c not in ("province_method", "n_cities")]
    tail = [c for c in ("province_method", "n_cities") if c in out]
    return judge_rates(out[cols + tail], p, targets=targets)


def monthly_rates(city_days: xr.Dataset, year: int, **kwargs) -> pd.DataFrame:
    """:func:`good_day_rates` for each month of *year* that has data, stacked."""
    dates = pd.DatetimeIndex(city_days["date"].values)
    months = sorted({d.month for d in dates if d.year == year})
    return pd.concat([good_day_rates(city_days, Period.month_of(year, m), **kwargs) for m in months],
                     ignore_index=True)


def period_air_statistics(city_days: xr.Dataset, period: Period | str, *,
                          assessment: str | None = None) -> pd.DataFrame:
    """HJ 663 statistics of each city over *period*: means, percentiles, composite index.

    Concentrations are rounded per GB/T 8170 as published (integers; CO 0.1 mg/m3); the composite
    index follows :func:`envq.air.stats.composite_index` (2012 Grade II basis, unweighted). The
    statistics are taken over the whole period, so that GB 3095 Table 4 counts the days the data
    lacks too (:func:`envq.air.stats.period_statistics` with ``period=``).
    """
    from envq.air.stats import composite_index, period_statistics

    p, _, _ = resolve_period(city_days, period)
    assessment = assessment or standards.edition_for("hj663", p.start)
    keep = [v for v in ("so2_24h", "no2_24h", "pm10_24h", "pm25_24h", "co_24h", "o3_mda8") if v in city_days]
    stats = period_statistics(city_days[keep], period=p, assessment=assessment, rounded=True)
    ci = composite_index(stats, assessment=assessment)
    df = xr.merge([stats, ci], compat="override").squeeze("period", drop=True).to_dataframe().reset_index()
    df = df.drop(columns=[c for c in ("period_end", "period_label") if c in df])
    df.insert(1, "period", p.label)
    return df
