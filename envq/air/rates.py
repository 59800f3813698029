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
    "good_day_rates_of_periods",
    "monthly_rates",
    "period_air_statistics",
    "air_statistics",
    "air_rates_same_basis",
    "air_rates_by_edition",
    "rescored",
    "rescored_on_next_year",
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
    width = 4   # the next steps of every row still widening, judged in one call; a row needing more
    while active.any():   # (a province's pooled days: dozens) takes the next 64 at a time
        i = np.flatnonzero(active)
        ahead = x[i, None] + np.arange(1, width + 1)          # the x + 1 of each step
        step = judge((100.0 * (g[i, None] + r[i, None] - ahead) / total[i, None]).ravel(),
                     np.repeat(t[i], width)).to_numpy(dtype=bool, na_value=False).reshape(len(i), width)
        step &= ahead <= r[i, None]
        taken = np.where(step.all(axis=1), width, np.argmin(step, axis=1))   # steps up to the first not met
        x[i] += taken
        active[:] = False
        active[i[taken == width]] = True
        active &= x + 1 <= r
        width = 64
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
    (``city``) over the dates of *sel* (a tied primary day counts for each pollutant), and the
    exceedance days (AQI > 100) by primary pollutant (``exceed_<name>``, 超标天数 of the bulletins).

    *edition_day* picks the HJ 633 edition whose categories name the ``days_<category>`` columns.
    """
    # built once: a column added at a time costs more than the counting
    return pd.DataFrame(_count_days(_day_flags(sel), sel["city"].values.astype(str), None, edition_day))


def _day_flags(days: xr.Dataset) -> dict:
    """What :func:`count_days` counts, per unit and day (arrays (unit, date)): valid, good
    (:func:`is_good_day`), level, valid on all six, and the days each primary-pollutant name is
    primary of (valid days; None without ``primary_pollutant``). Computed once, the counts of
    any period are sums over its dates."""
    valid = days["valid"].values.astype(bool)
    flags = {"valid": valid, "good": is_good_day(days["aqi"].values, valid), "level": days["level"].values,
             "strict": days["valid_all_six"].values.astype(bool), "hits": None}
    if "primary_pollutant" in days:
        # each distinct primary-pollutant text is searched once (a handful among all unit-days)
        raw = days["primary_pollutant"].values
        codes, texts = pd.factorize(raw.ravel(), use_na_sentinel=False)
        prim = np.char.add(np.char.add(",", np.asarray(texts, dtype=object).astype(str)), ",")
        flags["hits"] = {name: (np.char.find(prim, f",{name},") >= 0)[codes].reshape(raw.shape) & valid
                         for name in _primary_names()}
    return flags


def _count_days(flags: dict, names: np.ndarray, at, edition_day: dt.date) -> dict[str, np.ndarray]:
    """The columns of :func:`count_days` of the dates *at* (positions; None: all) of
    :func:`_day_flags`."""
    from envq.air.aqi import category_table

    def take(a):
        return a if at is None else a[:, at]

    valid, good, level, strict = (take(flags[k]) for k in ("valid", "good", "level", "strict"))
    cols = {
        "name": names,
        "valid_days": valid.sum(axis=1),
        "valid_days_all_six": strict.sum(axis=1),
        "good_days": good.sum(axis=1),
        "good_days_all_six": (strict & good).sum(axis=1),
    }
    categories = category_table(standards.edition_for("hj633", edition_day))["category_zh"]
    for k, cat in categories.items():
        cols[f"days_{cat}"] = ((level == k) & valid).sum(axis=1)
    if flags["hits"] is not None:
        hits = {name: take(hit) for name, hit in flags["hits"].items()}
        for name, hit in hits.items():
            cols[f"primary_{name}"] = hit.sum(axis=1)
        # exceedance days (超标天数) by primary pollutant, as the bulletins count them
        for name, hit in hits.items():
            cols[f"exceed_{name}"] = (hit & ~good).sum(axis=1)
    return cols


def _province_row(num: dict, ratio, ratio_strict, province_name: str, province_method: str) -> dict:
    """The province row of one period: the summed counts *num* and the ratio of the
    ``province_method`` (:func:`good_day_rates`): the mean of the cities' ratios *ratio* (and
    *ratio_strict*, all six pollutants) or the pooled city-days, rounded to 0.1 (GB/T 8170);
    ``n_cities`` the cities with a ratio (>= 1 valid day). Warns when 湖南省 averages other than
    its 14 cities. One home for :func:`ratios` and the many-period path."""
    prov = {"scope": "province", "name": province_name, **num}
    mean = np.nanmean(ratio) if np.isfinite(ratio).any() else np.nan
    mean_strict = np.nanmean(ratio_strict) if np.isfinite(ratio_strict).any() else np.nan
    pooled = province_method == "pooled"
    prov["good_day_ratio"] = float(round_gbt8170(_pct(num["good_days"], num["valid_days"]) if pooled else mean, 1))
    prov["good_day_ratio_all_six"] = float(round_gbt8170(
        _pct(num["good_days_all_six"], num["valid_days_all_six"]) if pooled else mean_strict, 1))
    prov["province_method"] = province_method
    prov["n_cities"] = int(np.isfinite(ratio).sum())
    if province_name == "湖南省" and prov["n_cities"] != 14:
        warnings.warn(f"the 湖南省 figure averages {prov['n_cities']} cities, not 14", stacklevel=4)
    return prov


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
        rows.append(pd.DataFrame([_province_row(num.to_dict(), ratio, ratio_strict, province_name,
                                                province_method)]))
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
    one ``primary_<name>`` per primary pollutant (a tied day counts for each), one ``exceed_<name>``
    per primary pollutant (the days over 100 it is primary of: 超标天数 by pollutant), ``target``,
    ``target_met`` and (periods starting on 1 January) ``budget_non_good_days``.

    Raises
    ------
    envq.errors.NoDataError
        The period holds no day with data (the message gives the span the data covers).
    envq.errors.PeriodError
        A period the grammar does not know.
    """
    _check_by(by, province_method)
    p, sel, through = resolve_period(city_days, period)
    dates = pd.DatetimeIndex(city_days["date"].values)
    used = [v for v in ("valid", "aqi", "level", "valid_all_six", "primary_pollutant") if v in city_days]
    inside = city_days[used].isel(date=np.flatnonzero(p.contains(dates.values)))
    return _rates(count_days(inside, p.start), p, through, by=by, province_method=province_method,
                  targets=targets, province_name=province_name, scope=scope)


def good_day_rates_of_periods(city_days: xr.Dataset, periods, *, by: str = "city",
                              province_method: str = "mean_of_cities", targets: Targets | None = None,
                              province_name: str = "湖南省", scope: str = "city") -> pd.DataFrame:
    """:func:`good_day_rates` of each of *periods* with data (the others are left out), stacked:
    the days' flags (valid, good, category, primary pollutants) are found once for all the
    periods, each period's counts are sums over its dates, and the ratios, targets, verdicts and
    budgets of all the periods are computed at once (:func:`_stacked_rates`)."""
    _check_by(by, province_method)
    dates = pd.DatetimeIndex(city_days["date"].values)
    names = city_days["city"].values.astype(str)
    flags = None
    parts = []
    for period in periods:
        try:
            p, sel, through = resolve_period(city_days, period)
        except NoDataError:
            continue
        if flags is None:
            flags = _day_flags(city_days)
        parts.append((_count_days(flags, names, np.flatnonzero(p.contains(dates.values)), p.start), p, through))
    if not parts:
        return pd.DataFrame()
    kw = dict(by=by, province_method=province_method, targets=targets, province_name=province_name, scope=scope)
    if len(names) and len({tuple(c) for c, _, _ in parts}) == 1:
        return _stacked_rates(parts, **kw)
    return pd.concat([_rates(pd.DataFrame(c), p, th, **kw) for c, p, th in parts], ignore_index=True)


def _stacked_rates(parts: list, *, by, province_method, targets, province_name, scope) -> pd.DataFrame:
    """The rows of :func:`_rates` of each ``(counts, period, through)`` of *parts* (counts: the
    same columns, at least one unit), stacked as their concatenation: the same ratios
    (:func:`ratios`), labels and judgement (:func:`judge_rates`) computed on all the periods'
    rows at once, with the same columns, dtypes and order (a period's units, then its province)."""
    targets = targets or Targets()
    cols = list(parts[0][0])
    sizes = np.array([len(c["name"]) for c, _, _ in parts])
    bounds = np.r_[0, np.cumsum(sizes)]
    counts = {c: np.concatenate([part[0][c] for part in parts]) for c in cols}
    ratio = _pct(counts["good_days"], counts["valid_days"])
    ratio_strict = _pct(counts["good_days_all_six"], counts["valid_days_all_six"])
    units = pd.DataFrame(counts)
    units["good_day_ratio"] = round_gbt8170(ratio, 1)
    units["good_day_ratio_all_six"] = round_gbt8170(ratio_strict, 1)
    units.insert(0, "scope", "unit")
    frames, key = [units], [np.repeat(np.arange(len(parts)), sizes)]
    if by in ("province", "both"):   # the province row of each period, as ratios() makes it
        rows = []
        for k in range(len(parts)):
            sl = slice(bounds[k], bounds[k + 1])
            num = {c: int(counts[c][sl].sum()) for c in cols if c != "name"}
            rows.append(_province_row(num, ratio[sl], ratio_strict[sl], province_name, province_method))
        frames.append(pd.DataFrame(rows))
        key.append(np.arange(len(parts)))
    out = pd.concat(frames, ignore_index=True)
    key = np.concatenate(key)
    order = np.argsort(key, kind="stable")   # a period's units, then its province
    if by == "province":   # (after the concatenation with the units, as ratios() does: the same dtypes)
        order = order[(out["scope"].to_numpy() == "province")[order]]
    out, key = out.iloc[order].reset_index(drop=True), key[order]
    out["scope"] = out["scope"].replace("unit", scope)
    ps = [p for _, p, _ in parts]
    labels = (("period", [p.label for p in ps]), ("through", [th.isoformat() for _, _, th in parts]),
              ("start", [p.start.isoformat() for p in ps]), ("end", [p.end.isoformat() for p in ps]))
    for i, (col, values) in enumerate(labels):
        out.insert(2 + i, col, np.asarray(values, dtype=object)[key])
    out.insert(6, "calendar_days", np.array([p.days for p in ps], dtype=np.int64)[key])
    tail = [c for c in ("province_method", "n_cities") if c in out]
    out = out[[c for c in out.columns if c not in tail] + tail]

    # judge (judge_rates), each row by its period
    year = np.array([p.year for p in ps], dtype=object)[key]
    out["target"] = targets.lookup(AIR, out["scope"], out["name"], year)
    out["target_met"] = judge(out["good_day_ratio"].to_numpy(float), out["target"].to_numpy(float))
    eligible = np.array([p.start == dt.date(p.year, 1, 1) and p.end <= dt.date(p.year, 12, 31) for p in ps])
    if eligible.any():
        remaining = np.array([(dt.date(p.year, 12, 31) - p.end).days for p in ps], dtype=np.int64)[key]
        n = out["n_cities"].fillna(1).astype(int).to_numpy() if "n_cities" in out else np.ones(len(out), int)
        t = out["target"].to_numpy(float)
        rows = eligible[key]
        has = np.isfinite(t) & rows
        budget = np.full(len(out), np.nan)
        budget[has] = _budgets(out["good_days"].to_numpy()[has], out["valid_days"].to_numpy()[has],
                               (remaining * n)[has], t[has])
        # int64 as each period's list of ints made it when every period has one for every row
        out["budget_non_good_days"] = budget.astype(np.int64) if has.all() else budget
        basis = np.where(out["scope"] == "province", "pooled city-days of its cities", "the city's days").astype(object)
        basis[~rows] = np.nan
        out["budget_basis"] = basis
    return out


def _check_by(by: str, province_method: str) -> None:
    if by not in ("city", "province", "both"):
        raise ValueError(f"by must be 'city', 'province' or 'both', not {by!r}")
    if province_method not in ("mean_of_cities", "pooled"):
        raise ValueError(f"province_method must be 'mean_of_cities' or 'pooled', not {province_method!r}")


def _rates(counts: pd.DataFrame, p: Period, through: dt.date, *, by, province_method, targets, province_name,
           scope) -> pd.DataFrame:
    """The rows of :func:`good_day_rates` from the day counts of period *p*."""
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
    p, _, _ = resolve_period(city_days, period)
    return _city_statistics(city_days, [p], assessment=assessment)


def _city_statistics(city_days: xr.Dataset, periods: list[Period], *, assessment: str | None = None) -> pd.DataFrame:
    """The rows of :func:`period_air_statistics` of each of *periods* (resolved periods with data),
    one after the other: the statistics of all the periods of one HJ 663 edition at once
    (:func:`envq.air.stats.statistics_of_periods`) and their composite index, one table."""
    from envq.air.stats import composite_index, statistics_of_periods

    keep = [v for v in ("so2_24h", "no2_24h", "pm10_24h", "pm25_24h", "co_24h", "o3_mda8") if v in city_days]
    editions = [assessment or standards.edition_for("hj663", p.start) for p in periods]
    parts, order = [], []
    for ed in dict.fromkeys(editions):
        at = [k for k, e in enumerate(editions) if e == ed]
        stats = statistics_of_periods(city_days[keep], [periods[k] for k in at], assessment=ed, rounded=True)
        ci = composite_index(stats, assessment=ed)
        ds = xr.merge([stats, ci], compat="override")
        df = ds.to_dataframe(dim_order=["period", *(d for d in ds.dims if d != "period")])
        df = df.reset_index(level="period", drop=True)
        df = df.drop(columns=[c for c in ("period_end", "period_label") if c in df])
        n = len(df) // len(at) if at else 0
        df = df.reset_index()
        df.insert(1, "period", np.repeat([periods[k].label for k in at], n))
        parts.append(df)
        order += [(k, i) for k in at for i in range(n)]
    if len(parts) == 1:
        return parts[0]
    rows = pd.concat(parts, ignore_index=True)
    return rows.iloc[np.lexsort(np.array(order).T[::-1])].reset_index(drop=True)


#: The six statistics of a bulletin (HJ 663): those the province row averages.
BULLETIN_STATISTICS = ("pm25_mean", "pm10_mean", "o3_mda8_p90", "so2_mean", "no2_mean", "co_p95")


def air_statistics(city_days: xr.Dataset, periods, *, dust_days=None, province_name: str = "湖南省") -> pd.DataFrame:
    """HJ 663 statistics and the composite index of each city and of the province for each period
    with data (periods without are left out): the ``air_statistics`` result the bulletins read.

    Parameters
    ----------
    city_days : xarray.Dataset
        City daily concentrations (dims city, date), e.g. the first output of
        :func:`envq.air.pipeline.city_days_from_hourly`.
    periods : iterable of Period or str
    dust_days : pandas.DataFrame, optional
        Dust-affected city-days (columns ``city``, ``date``): their PM10 and PM2.5 are left out of
        the statistics and the index (环办监测〔2016〕120号, :func:`envq.air.stats.exclude_dust_days`);
        ``dust_days_excluded`` counts them per city and period. None: nothing is excluded.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`period_air_statistics` with ``scope`` (``city``, ``province``) and
        ``name`` for ``city``, ``dust_days_excluded`` and ``composite_rounding``. The province row
        holds the mean of the cities' published (GB/T 8170 rounded) statistics, rounded again,
        and the composite index of those means (reference/bulletin.md, air item 3: "the province
        mean"); its ``mean_valid_<p>`` is true when every city's is.

    Notes
    -----
    The statistics of all the periods are computed at once (:func:`_city_statistics`), and the
    province rows of all the periods with one rounding and one composite index: the same values
    as one period at a time, without the per-period overhead of many small xarray operations.
    """
    from envq.air.stats import composite_index, exclude_dust_days, round_statistics

    days = city_days
    dust = None
    if dust_days is not None and len(dust_days):
        days, _ = exclude_dust_days(city_days, dust_days)
        dust = pd.DataFrame({"city": dust_days["city"].astype(str).to_numpy(),
                             "date": pd.to_datetime(dust_days["date"]).to_numpy()})
    resolved = []
    for period in periods:
        try:
            resolved.append(resolve_period(days, period)[0])
        except NoDataError:
            continue
    if not resolved:
        return pd.DataFrame()
    s = _city_statistics(days, resolved).rename(columns={"city": "name"})
    s.insert(0, "scope", "city")
    label = s["period"].to_numpy()
    if dust is not None:
        excluded = np.zeros(len(s), dtype=np.int64)
        for p in resolved:
            at = label == p.label
            inside = dust[p.contains(dust["date"].to_numpy())]
            excluded[at] = s.loc[at, "name"].map(inside.groupby("city").size()).fillna(0).astype(int).to_numpy()
        s["dust_days_excluded"] = excluded
    else:
        s["dust_days_excluded"] = 0

    # the province row of each period: the mean of its cities' published statistics
    is_city = (s["name"] != province_name).to_numpy()
    with_cities = [p for p in resolved if (is_city & (label == p.label)).any()]
    rows = None
    if with_cities:
        stats = [c for c in BULLETIN_STATISTICS if c in s]
        means = {c: [] for c in stats}
        flags = {c: [] for c in s.columns if c.startswith("mean_valid_")}
        counts = {c: [] for c in s.columns if c.startswith("n_days_")}
        dust_sum = []
        for p in with_cities:
            at = label == p.label
            cities = s[at & is_city]
            for c in stats:
                x = cities[c].to_numpy(float)
                means[c].append(float(np.nanmean(x)) if np.isfinite(x).any() else np.nan)
            for c in flags:
                flags[c].append(bool(cities[c].astype(bool).all()))
            for c in counts:
                counts[c].append(int(cities[c].sum()))
            dust_sum.append(int(s.loc[at, "dust_days_excluded"].sum()))
        editions = [standards.edition_for("hj663", p.start) for p in with_cities]
        parts = []
        for ed in dict.fromkeys(editions):
            at = [k for k, e in enumerate(editions) if e == ed]
            prov = round_statistics(xr.Dataset({c: ("row", [means[c][k] for k in at]) for c in stats},
                                               coords={"row": at}))
            ci = composite_index(prov, assessment=ed)
            parts.append(xr.merge([prov, ci], compat="override").to_dataframe())
        rows = pd.concat(parts).sort_index().reset_index(drop=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        rows.insert(0, "scope", "province")
        rows.insert(1, "name", province_name)
        rows.insert(2, "period", [p.label for p in with_cities])
        for c in flags:
            rows[c] = np.array(flags[c], dtype=bool)
        for c in counts:
            rows[c] = np.array(counts[c], dtype=np.int64)
        rows["dust_days_excluded"] = np.array(dust_sum, dtype=np.int64)
        rows = rows[[c for c in rows.columns if c in s.columns]]
    # each period's cities, then its province row
    pos = {p.label: k for k, p in enumerate(resolved)}
    key = np.array([pos[x] for x in label])
    if rows is not None:
        out = pd.concat([s, rows], ignore_index=True)
        key = np.concatenate([key, [pos[p.label] for p in with_cities]])
        last = np.r_[np.zeros(len(s), int), np.ones(len(rows), int)]
        out = out.iloc[np.lexsort((np.arange(len(out)), last, key))].reset_index(drop=True)
    else:
        out = s
    out["composite_rounding"] = "per_term"
    return out


def _aqi_variables(city_days: xr.Dataset) -> list[str]:
    """The variables :func:`envq.air.city.city_daily_aqi` adds to the daily concentrations."""
    from envq.air.city import city_daily_aqi

    conc = [v for v in city_days.data_vars if v.endswith(("_24h", "_mda8", "_1h_max")) and not v.startswith("iaqi_")]
    probe = city_daily_aqi(city_days[conc].isel(date=slice(0, 1)))
    return [v for v in probe.data_vars if v in city_days.data_vars]


def rescored(city_days: xr.Dataset, basis: str) -> xr.Dataset:
    """*city_days* with each day's AQI, category and validity rescored on *basis*
    (:func:`envq.air.city.city_daily_aqi_on_basis`: ``next_year`` or an edition id)."""
    from envq.air.city import city_daily_aqi_on_basis

    conc = city_days.drop_vars(_aqi_variables(city_days))
    aqi = city_daily_aqi_on_basis(conc, basis, day_rule=city_days.attrs.get("day_rule", "pm25_o3"))
    out = xr.merge([conc, aqi], compat="override", combine_attrs="drop_conflicts")
    out.attrs.update(basis=basis, edition=aqi.attrs.get("edition", ""))
    return out


def _days_of(p: Period) -> pd.DatetimeIndex:
    return pd.date_range(p.start, p.end, freq="D")


def rescored_on_next_year(p: Period) -> bool:
    """Whether some day of *p* is scored by another HJ 633 edition on the basis of the same day a
    year later (同口径 of a 同比 whose later period is under a newer edition)."""
    from envq.air.city import editions_on_basis

    d = _days_of(p)
    try:
        return bool((editions_on_basis(d, "next_year") != editions_on_basis(d, "auto")).any())
    except ValueError:  # a day before the first HJ 633 edition
        return False


def air_rates_same_basis(city_days: xr.Dataset, periods, *, targets: Targets | None = None) -> pd.DataFrame:
    """Good-air-day rates of the *periods* some of whose days a 同比 a year later scores by another
    edition (:func:`rescored_on_next_year`), recomputed with each day under the edition in force
    on the same day a year later (result ``air_rates_same_basis``, keyed by the earlier period;
    columns of :func:`good_day_rates` plus ``basis`` and ``edition``). Other periods: no row."""
    need = [parse_period(p) for p in periods if rescored_on_next_year(parse_period(p))]
    if not need:
        return pd.DataFrame()
    cd = rescored(city_days, "next_year")
    out = []
    for p in need:
        try:
            r = good_day_rates(cd, p, by="both", targets=targets)
        except NoDataError:
            continue
        from envq.air.city import editions_on_basis

        eds = "+".join(dict.fromkeys(editions_on_basis(_days_of(p), "next_year")))
        out.append(r.assign(basis="next_year", edition=eds))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def air_rates_by_edition(city_days: xr.Dataset, periods, *, targets: Targets | None = None) -> pd.DataFrame:
    """Good-air-day rates of the *periods* that end on or after the first day of the newest HJ 633
    edition, once under each edition for every day (``--editions both``; result
    ``air_rates_by_edition``, column ``edition``)."""
    eds = list(standards.FAMILIES["hj633"])
    newest = dt.date.fromisoformat(str(standards.load(eds[-1])["in_force_from"]))
    need = [parse_period(p) for p in periods if parse_period(p).end >= newest]
    if not need or len(eds) < 2:
        return pd.DataFrame()
    out = []
    for ed in eds:
        cd = rescored(city_days, ed)
        for p in need:
            try:
                out.append(good_day_rates(cd, p, by="both", targets=targets).assign(edition=ed))
            except NoDataError:
                continue
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()
