"""Ranking and comparison rules of the bulletins: ranks with ties, 同比/环比, change rates.

Pure, vectorised functions over arrays of published values; the bulletin tables
(:mod:`envq.bulletin`) apply them to stored results. Every rule carries its source, tagged as in
reference/standards.md (§9, "City ranking by the composite index, and 同比") and summarised in
reference/bulletin.md ("City ranking rules"):

- **Direction** (:data:`DIRECTIONS`, bulletin.md rule 5 [S]): the composite index and PM2.5 rank
  ascending (1 is best), the good-air-day ratio descending.
- **Ties** (:func:`competition_rank`, rule 5 [S]): equal *published* values share a rank and the
  next rank skips ("1, 2, 2, 4"): Hunan's 2022 annual ranking has two cities tied 11th and the
  last two 13th and 14th; MEE's "从第1名至并列第19名" lists 20 cities. Equality is tested on the
  value as published (2 decimals for the index, 1 for a ratio) [U: presumed, consistent with
  every tie seen].
- **同比/环比** (:func:`change_points`, :func:`change_percent`, rule 8 [S]): ratios change in
  percentage points, concentrations and the composite index in percent, both to one decimal,
  computed from the published (rounded) values: a published 27 against 29 is -6.9%. Zero change
  is "持平". Whether point changes of ratios are taken from rounded or unrounded ratios could not
  be told from publications [U]; envq differences the published ratios, the same rule as for
  concentrations, so that the change always equals the difference of the two figures printed.
- **Change-rate ranking** (:func:`change_rate_ranking`, rule 9 [S], 环办监测函〔2017〕197号): the
  composite index's change rate (I_now - I_last) / I_last x 100% to one decimal; > 0 is worse;
  ties shared; cities meeting Grade II on all six pollutants are left out of the deterioration
  ranking.
- **Best and worst three** (:func:`best_and_worst`): by rank, ties included (a tie at third
  place names every tied city).
- **Ranked cities and data** (:func:`below_minimum`, rule 7 [U]): the minimum data for a city to
  be ranked is not in the documents read; envq ranks every city with an index and flags those
  whose period means miss the GB 3095 Table 4 minimums (27 daily values a month, 25 in
  February).

Rounding is GB/T 8170-2008 (half to even), as every envq figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from envq._rounding import round_gbt8170

__all__ = ["DIRECTIONS", "competition_rank", "best_and_worst", "ranking_text", "change_points",
           "change_percent", "change_words", "change_rate_ranking", "below_minimum", "UNCHANGED"]

#: Indicator -> ranking direction and the decimals its published value has (rule 5, rule 6).
DIRECTIONS: Mapping[str, tuple[str, int]] = {
    "composite_index": ("ascending", 2),
    "pm25_mean": ("ascending", 0),
    "good_day_ratio": ("descending", 1),
    "i_iii_share": ("descending", 1),
    "composite_change_rate": ("ascending", 1),
}

#: The word for no change (同比持平).
UNCHANGED = "持平"


def _float(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()), errors="coerce").to_numpy(np.float64)


def competition_rank(values, *, ascending: bool = True, decimals: int | None = None) -> np.ndarray:
    """Competition ranks ("1, 2, 2, 4") of *values*; NaN for a missing value (not ranked).

    Parameters
    ----------
    values : array_like of float
        The figures ranked (e.g. the composite index of each city).
    ascending : bool
        True: the smallest value is 1st (composite index, PM2.5); False: the largest is 1st
        (good-air-day ratio).
    decimals : int, optional
        Compare the values as published, rounded to *decimals* (GB/T 8170): 2.405 and 2.395 both
        published 2.40 share a rank.

    Returns
    -------
    numpy.ndarray of float: rank 1..n, NaN where *values* is missing.

    References
    ----------
    reference/bulletin.md rule 5; standards.md §9 rule 7 and E37 [S].

    Examples
    --------
    E37, Hunan July 2023 (长沙 = 郴州 5th; 岳阳 = 娄底 12th; 湘潭 14th):

    >>> competition_rank([2.1, 2.3, 2.2, 2.5, 2.6, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 3.2, 3.3]).tolist()
    [1.0, 3.0, 2.0, 4.0, 5.0, 5.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 12.0, 14.0]
    >>> competition_rank([100.0, 96.8, 100.0, None], ascending=False).tolist()
    [1.0, 3.0, 1.0, nan]
    >>> competition_rank([2.404, 2.396], decimals=2).tolist()   # both published 2.40
    [1.0, 1.0]
    """
    v = _float(values)
    if decimals is not None:
        v = round_gbt8170(v, decimals)
    return pd.Series(v).rank(method="min", ascending=ascending, na_option="keep").to_numpy(np.float64)


def best_and_worst(names: Sequence[str], ranks, n: int = 3) -> tuple[list[str], list[str]]:
    """The best *n* and the worst *n* by rank, ties included, each in rank order (worst last).

    A city is among the worst *n* when fewer than *n* cities rank strictly below it.

    >>> best_and_worst(list("ABCDEF"), [1, 2, 3, 3, 5, 6])
    (['A', 'B', 'C', 'D'], ['C', 'D', 'E', 'F'])
    """
    r = _float(ranks)
    names = np.asarray(list(names), dtype=object)
    ok = np.isfinite(r)
    order = np.argsort(np.where(ok, r, np.inf), kind="stable")
    below = (r[None, :] > r[:, None]).sum(axis=1)  # cities ranked strictly worse
    best = [str(names[i]) for i in order if ok[i] and r[i] <= n]
    worst = [str(names[i]) for i in order if ok[i] and below[i] < n]
    return best, worst


def ranking_text(names: Sequence[str], ranks) -> str:
    """The published ranking sentence's list, best to worst, ties written inline as Hunan's
    bulletins do ("常德市、怀化市并列第4"): ``湘西州、怀化市、…、长沙市、郴州市(并列第5)、益阳市…``.

    >>> ranking_text(["甲", "乙", "丙", "丁"], [1, 2, 2, 4])
    '甲、乙、丙(并列第2)、丁'
    """
    r = _float(ranks)
    ok = np.isfinite(r)
    order = [i for i in np.argsort(np.where(ok, r, np.inf), kind="stable") if ok[i]]
    parts, k = [], 0
    while k < len(order):
        group = [order[k]]
        while k + len(group) < len(order) and r[order[k + len(group)]] == r[order[k]]:
            group.append(order[k + len(group)])
        text = "、".join(str(names[i]) for i in group)
        parts.append(text + (f"(并列第{int(r[group[0]])})" if len(group) > 1 else ""))
        k += len(group)
    return "、".join(parts)


def change_points(now, before, *, decimals: int = 1) -> np.ndarray:
    """Change of a ratio in percentage points, from the published values: round each to
    *decimals* (GB/T 8170), subtract, and keep *decimals*. NaN where either is missing.

    >>> change_points([98.8, 90.0, 100.0], [97.0, 90.0, None]).tolist()   # 上升1.8个百分点, 持平
    [1.8, 0.0, nan]
    >>> change_points([83.85], [83.75]).tolist()   # published 83.8 and 83.8: no change
    [0.0]
    """
    a = round_gbt8170(_float(now), decimals)
    b = round_gbt8170(_float(before), decimals)
    return round_gbt8170(a - b, decimals)


def change_percent(now, before, *, decimals: int = 1, value_decimals=0) -> np.ndarray:
    """Change of a concentration (or index) in percent, from the published values.

    Parameters
    ----------
    now, before : array_like of float
        The two figures; each is first rounded to its published decimals (*value_decimals*: an
        int, or an array of ints, one per value; 0 for ug/m3, 1 for CO in mg/m3, 2 for the
        composite index).
    decimals : int
        Decimals of the change (one, in every publication read).

    Returns
    -------
    numpy.ndarray: ``(now - before) / before x 100``, rounded; NaN where either is missing or
    *before* is not positive (no base to compare with).

    References
    ----------
    reference/bulletin.md rule 8; standards.md §9 rule 13, E35 (Hunan May 2023: PM2.5 27 against
    29 is -6.9%), E36 (CNEMC July 2021) [S].

    Examples
    --------
    >>> change_percent([27, 42, 8, 15, 0.6], [29, 40, 7, 15, 0.6], value_decimals=[0, 0, 0, 0, 1]).tolist()
    [-6.9, 5.0, 14.3, 0.0, 0.0]
    >>> change_percent([2.63], [2.89], value_decimals=2).tolist()   # E32: -8.997% -> -9.0%
    [-9.0]
    >>> change_percent([16.4], [19.4]).tolist()   # published 16 and 19: -15.8% (E36)
    [-15.8]
    """
    vd = np.broadcast_to(np.asarray(value_decimals, dtype=np.int64), _float(now).shape)
    a = _round_each(_float(now), vd)
    b = _round_each(_float(before), vd)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(b > 0, 100.0 * (a - b) / np.where(b > 0, b, 1.0), np.nan)
    return round_gbt8170(rate, decimals)


def _round_each(x: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    out = np.full_like(x, np.nan)
    for d in np.unique(decimals):  # a handful of distinct decimals, not a loop over values
        sel = decimals == d
        out[sel] = round_gbt8170(x[sel], int(d))
    return out


def change_words(change, *, unit: str, prefix: str = "同比") -> np.ndarray:
    """The bulletin's words for a change: ``同比上升1.8个百分点``, ``同比下降6.9%``, ``同比持平``;
    "" where the change is missing (the caller says why).

    *unit* is ``"points"`` (ratios: 个百分点) or ``"percent"`` (concentrations, index: %).

    >>> change_words([1.8, -6.9, 0.0, None], unit="points").tolist()
    ['同比上升1.8个百分点', '同比下降6.9个百分点', '同比持平', '']
    >>> change_words([-6.9], unit="percent", prefix="环比").tolist()
    ['环比下降6.9%']
    """
    if unit not in ("points", "percent"):
        raise ValueError(f"unit must be 'points' or 'percent', not {unit!r}")
    c = _float(change)
    suffix = "个百分点" if unit == "points" else "%"
    mag = np.char.mod("%.1f", np.abs(np.nan_to_num(c)))
    word = np.where(c > 0, "上升", np.where(c < 0, "下降", ""))
    text = np.char.add(np.char.add(np.char.add(prefix, word.astype(str)), mag), suffix)
    out = np.where(c == 0, prefix + UNCHANGED, text).astype(object)
    out[~np.isfinite(c)] = ""
    return out


def change_rate_ranking(now, last, all_grade_ii=None) -> pd.DataFrame:
    """The composite index's year-on-year change rate and its two rankings (变化程度排名).

    Parameters
    ----------
    now, last : array_like of float
        Composite index of each city in the period and in the same period a year earlier
        (published, 2 decimals).
    all_grade_ii : array_like of bool, optional
        The city meets Grade II on all six pollutants in the period: left out of the
        deterioration ranking (it may still rank as improved).

    Returns
    -------
    pandas.DataFrame with ``change_rate`` [%] (1 decimal; NaN without both indices),
    ``improvement_rank`` (1 = improved most; cities whose index fell, ties shared) and
    ``deterioration_rank`` (1 = worsened most; cities whose index rose, not all-Grade-II).

    References
    ----------
    环办监测函〔2017〕197号 城市环境空气质量变化程度排名方案; standards.md §9 rule 12, E32 [S].

    Examples
    --------
    >>> change_rate_ranking([2.63, 3.00, 3.30], [2.89, 3.00, 3.00], [True, False, True]).to_dict("list")
    {'change_rate': [-9.0, 0.0, 10.0], 'improvement_rank': [1.0, nan, nan], 'deterioration_rank': [nan, nan, nan]}
    """
    rate = change_percent(now, last, value_decimals=2)
    ok_grade = np.zeros(len(rate), bool) if all_grade_ii is None else np.asarray(all_grade_ii, dtype=bool)
    improved = np.where(rate < 0, rate, np.nan)
    worsened = np.where((rate > 0) & ~ok_grade, rate, np.nan)
    return pd.DataFrame({
        "change_rate": rate,
        "improvement_rank": competition_rank(improved, ascending=True),
        "deterioration_rank": competition_rank(worsened, ascending=False),
    })


def below_minimum(stats: pd.DataFrame, pollutants: Sequence[str] = ("so2", "no2", "pm10", "pm25")) -> np.ndarray:
    """The pollutants whose period mean misses the GB 3095 Table 4 minimum, joined by ``,``
    ("" when all are met), from the ``mean_valid_<p>`` flags of
    :func:`envq.air.stats.period_statistics`.

    >>> below_minimum(pd.DataFrame({"mean_valid_so2": [True, False], "mean_valid_pm25": [True, False]})).tolist()
    ['', 'so2,pm25']
    """
    cols = [p for p in pollutants if f"mean_valid_{p}" in stats]
    out = np.full(len(stats), "", dtype=object)
    for p in cols:  # a loop over the four pollutants, vectorised over cities
        bad = ~stats[f"mean_valid_{p}"].astype("boolean").fillna(False).to_numpy(bool)
        out = np.where(bad, np.where(out == "", p, out + "," + p), out)
    return out
