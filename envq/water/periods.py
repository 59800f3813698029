"""Period values of sections: readings -> daily -> monthly -> quarterly / annual means.

Per the 2011 method and the 2020 statistics rule:

* a day's value is the arithmetic mean of the day's readings (calendar day of the reading time,
  Beijing time);
* a month's value (and any date range's) is the arithmetic mean of its daily values;
* a quarter's, half-year's, year's or year-to-date's value is the arithmetic mean of its monthly
  values;
* the class of a period is the single-factor class of those means (never the worst or most
  frequent class of shorter periods).

pH can be averaged through the hydrogen-ion concentration (2020 rule, E30) with
``ph_mean="hydrogen"``. Values below the detection limit count as ``nondetect_fraction`` (default
0.5) times their limit in a mean; a mean of non-detects only stays a non-detect (the largest
limit). Period values are rounded (GB/T 8170) to the assessment decimals of the 2020 rule before
they are classed (``round_values``).

Automatic and manual data are never mixed silently: if a section's item has both in the period,
``source`` must say which to use (``"automatic"``, ``"manual"`` or ``"prefer_automatic"``, the 2020
rule: automatic for pH, DO, CODMn, NH3-N, TP and TN where present, manual otherwise). Every period
value records its ``source_kind`` and how many readings, days and months it rests on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from envq._rounding import round_gbt8170
from envq.errors import UsageError
from envq.periods import parse_period
from envq.water._table import gb3838

__all__ = [
    "PH_MEANS",
    "SOURCES",
    "MONTHLY_MEAN_KINDS",
    "daily_values",
    "period_values",
    "wide_values",
    "round_assessment",
]

PH_MEANS = ("arithmetic", "hydrogen")
SOURCES = ("automatic", "manual", "prefer_automatic")
#: Kinds of period (envq.periods) whose value is the mean of monthly values (2011 method: a
#: quarter's or year's value; a half-year and a year to date (1-M月) by the same rule); a month, a
#: day and a range of days take the mean of daily values.
MONTHLY_MEAN_KINDS = ("quarter", "half", "year", "ytd")


# --------------------------------------------------------------------------------------------
# means


def _mean(df: pd.DataFrame, keys: list[str], *, ph_mean: str, fraction: float) -> pd.DataFrame:
    """Mean of ``value`` over ``keys`` with the non-detect and pH rules; counts carried along."""
    v = df["value"].to_numpy(np.float64)
    bdl = df["below_detection"].to_numpy(bool)
    x = np.where(bdl, fraction * v, v)
    if ph_mean == "hydrogen":
        x = np.where(df["item"].to_numpy(object) == "ph", 10.0 ** (-x), x)
    work = df[keys].copy()
    work["_x"] = x
    work["_bdl"] = bdl
    work["_dl"] = np.where(bdl, v, -np.inf)
    work["_n"] = df["n_readings"].to_numpy(np.int64) if "n_readings" in df else 1
    work["_nd"] = df["n_nondetect"].to_numpy(np.int64) if "n_nondetect" in df else bdl.astype(np.int64)
    g = work.groupby(keys, sort=True, observed=True)
    out = g.agg(_x=("_x", "mean"), _all=("_bdl", "all"), _dl=("_dl", "max"), n_readings=("_n", "sum"),
                n_nondetect=("_nd", "sum"), n=("_x", "size")).reset_index()
    val = out["_x"].to_numpy(np.float64)
    if ph_mean == "hydrogen":
        isph = out["item"].to_numpy(object) == "ph"
        with np.errstate(divide="ignore"):
            val = np.where(isph, -np.log10(val), val)
    allb = out["_all"].to_numpy(bool)
    out["value"] = np.where(allb, out["_dl"].to_numpy(np.float64), val)
    out["below_detection"] = allb
    return out.drop(columns=["_x", "_all", "_dl"])


def _check(long: pd.DataFrame) -> pd.DataFrame:
    need = ["section", "time", "item", "value"]
    miss = [c for c in need if c not in long]
    if miss:
        raise ValueError(f"the long table lacks column(s) {', '.join(miss)} (see envq.sources.cnemc_water.to_long)")
    df = long
    if "below_detection" not in df:
        df = df.assign(below_detection=False)
    if "source_kind" not in df:
        df = df.assign(source_kind="automatic")
    df = df[np.isfinite(df["value"].to_numpy(np.float64))]
    return df.drop_duplicates(["source_kind", "section", "time", "item"], keep="first")


def daily_values(long: pd.DataFrame, *, ph_mean: str = "arithmetic", nondetect_fraction: float | None = None,
                 min_readings: int = 1) -> pd.DataFrame:
    """Daily means of each section and item (arithmetic; pH optionally via [H+]).

    Parameters
    ----------
    long : pandas.DataFrame
        Canonical long table (``section, time, item, value, below_detection, source_kind``),
        values in canonical units.
    ph_mean : {"arithmetic", "hydrogen"}
        ``hydrogen``: mean of 10^-pH, then -log10 (2020 rule, reference E30).
    nondetect_fraction : float, optional
        Weight of a detection limit in a mean (default 0.5, standards file).
    min_readings : int
        Days with fewer readings of an item get no value [U: the 2020 thresholds are not verified].

    Returns
    -------
    pandas.DataFrame
        ``source_kind, section, date, item, value, below_detection, n_readings, n_nondetect``.

    Examples
    --------
    >>> t = pd.DataFrame({"section": ["a", "a"], "time": pd.to_datetime(["2026-07-01 04:00", "2026-07-01 08:00"]),
    ...                   "item": ["ph", "ph"], "value": [6.0, 8.0]})
    >>> round(float(daily_values(t, ph_mean="hydrogen")["value"].iloc[0]), 2)   # E30
    6.3
    >>> float(daily_values(t)["value"].iloc[0])
    7.0
    """
    if ph_mean not in PH_MEANS:
        raise ValueError(f"ph_mean must be one of {PH_MEANS}, got {ph_mean!r}")
    frac = gb3838().nondetect["average_fraction"] if nondetect_fraction is None else nondetect_fraction
    df = _check(long)
    df = df.assign(date=df["time"].dt.normalize())
    out = _mean(df, ["source_kind", "section", "date", "item"], ph_mean=ph_mean, fraction=frac)
    out = out[out["n"] >= min_readings].drop(columns=["n"])
    return out.reset_index(drop=True)


def _choose_source(df: pd.DataFrame, source: str | None) -> pd.DataFrame:
    kinds = df.groupby(["section", "item"])["source_kind"].nunique()
    mixed = kinds[kinds > 1]
    if source is None:
        if len(mixed):
            ex = ", ".join(f"{s}/{i}" for s, i in list(mixed.index)[:5])
            raise UsageError(
                f"both automatic and manual data for {len(mixed)} section item(s) (e.g. {ex}); "
                "choose source='automatic', 'manual' or 'prefer_automatic' (2020 rule; --source)"
            )
        return df
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES} or None, got {source!r}")
    if source in ("automatic", "manual"):
        return df[df["source_kind"] == source]
    preferred = set(gb3838().statistics_2020["automatic_preferred_items"])
    has_auto = df.assign(_a=df["source_kind"].eq("automatic")).groupby(["section", "item"])["_a"].transform("any")
    has_man = df.assign(_m=df["source_kind"].eq("manual")).groupby(["section", "item"])["_m"].transform("any")
    pref_auto = df["item"].isin(preferred)
    keep = np.where(pref_auto, df["source_kind"].eq("automatic") | ~has_auto,
                    df["source_kind"].eq("manual") | ~has_man)
    return df[keep]


def period_values(long: pd.DataFrame, period, *, source: str | None = None, ph_mean: str = "arithmetic",
                  nondetect_fraction: float | None = None, round_values: bool = True,
                  min_readings_per_day: int = 1, min_days: int = 1, min_months: int = 1) -> pd.DataFrame:
    """Values of each section and item for a period, per the 2011 method and the 2020 rule.

    Parameters
    ----------
    long : pandas.DataFrame
        Canonical long table (readings in canonical units).
    period : str or envq.periods.Period
        Any period of :mod:`envq.periods` (a year to date ends on the last reading).
    source : {"automatic", "manual", "prefer_automatic"}, optional
        Which data to use where a section item has both kinds (required then).
    ph_mean : {"arithmetic", "hydrogen"}
    nondetect_fraction : float, optional
        Default 0.5 (standards file).
    round_values : bool
        Round each period value (GB/T 8170) to the 2020 assessment decimals of its item.
    min_readings_per_day, min_days, min_months : int
        Minimum data for a daily, monthly/range and quarterly/annual value [U: the 2020 and 2011
        minimum counts are not verified; the defaults accept any data].

    Returns
    -------
    pandas.DataFrame
        ``section, period, item, value`` (canonical unit; rounded), ``value_raw``,
        ``below_detection``, ``source_kind``, ``n_readings``, ``n_days``, ``n_months``,
        ``n_nondetect``.

    References
    ----------
    环办〔2011〕22号 (reference/standards.md §5.6); 2020 statistics rule (§6) [S1].
    """
    df = _check(long)
    p = parse_period(period)
    if p.kind == "ytd" and len(df):
        p = p.until(df["time"].max())
    df = df[p.contains(df["time"].to_numpy())]
    df = _choose_source(df, source)
    frac = gb3838().nondetect["average_fraction"] if nondetect_fraction is None else nondetect_fraction
    day = daily_values(df, ph_mean=ph_mean, nondetect_fraction=frac, min_readings=min_readings_per_day)
    keys = ["source_kind", "section", "item"]
    if p.kind in MONTHLY_MEAN_KINDS:
        day = day.assign(month=day["date"].dt.to_period("M").dt.start_time)
        mon = _mean(day, keys + ["month"], ph_mean=ph_mean, fraction=frac)
        mon = mon[mon["n"] >= min_days].rename(columns={"n": "n_days"})
        out = _mean(mon.assign(n_readings=mon["n_readings"]), keys, ph_mean=ph_mean, fraction=frac)
        out = out.rename(columns={"n": "n_months"})
        out = out[out["n_months"] >= min_months]
        nd = mon.groupby(keys)["n_days"].sum().rename("n_days").reset_index()
        out = out.merge(nd, on=keys, how="left")
    else:
        out = _mean(day, keys, ph_mean=ph_mean, fraction=frac).rename(columns={"n": "n_days"})
        out = out[out["n_days"] >= (1 if p.kind == "day" else min_days)]
        out["n_months"] = {"day": 0.0, "month": 1.0}.get(p.kind, np.nan)
    out["period"] = p.label
    out["value_raw"] = out["value"]
    if round_values and len(out):
        g = gb3838()
        dec = out["item"].map(lambda c: g.items[c].decimals if c in g.items else None)
        vals = out["value"].to_numpy(np.float64).copy()
        for d in sorted({int(x) for x in dec.dropna()}):
            m = (dec == d).to_numpy() & ~out["below_detection"].to_numpy(bool)
            vals[m] = round_gbt8170(vals[m], d)
        out["value"] = vals
    cols = ["section", "period", "item", "value", "value_raw", "below_detection", "source_kind", "n_readings",
            "n_days", "n_months", "n_nondetect"]
    return out[cols].sort_values(["section", "item"]).reset_index(drop=True)


def round_assessment(item: str, values) -> np.ndarray:
    """Round values of an item (GB/T 8170) to its 2020 assessment decimals; unchanged if none.

    Examples
    --------
    >>> round_assessment("tp", [0.04125, 0.0415]).tolist(), round_assessment("chla", [9.03]).tolist()
    ([0.041, 0.042], [9.03])
    """
    it = gb3838().items.get(item)
    v = np.asarray(values, dtype=np.float64)
    if it is None or it.decimals is None:
        return v
    return round_gbt8170(v, it.decimals)


def wide_values(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Period values as three section x item tables: values, below-detection flags, source kinds."""
    idx = ["section"]
    v = values.pivot_table(index=idx, columns="item", values="value", aggfunc="first")
    b = values.pivot_table(index=idx, columns="item", values="below_detection", aggfunc="first")
    s = values.pivot(index=idx, columns="item", values="source_kind")
    b = b.reindex_like(v).fillna(False).astype(bool)
    v.columns.name = b.columns.name = s.columns.name = None
    return v, b, s.reindex_like(v)
