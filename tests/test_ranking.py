"""Ranking and comparison rules of the bulletins (envq/ranking.py, the composite index convention
in envq/air/stats.py), on worked examples of reference/standards.md §9 and reference/bulletin.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq.air.stats import composite_index
from envq.ranking import (best_and_worst, below_minimum, change_percent, change_points, change_rate_ranking,
                          change_words, competition_rank, ranking_text)


def stats_of(**c):
    return xr.Dataset({k: float(v) for k, v in c.items()})


# ------------------------------------------------------------------------------------------------
# composite index: the named rounding convention (rule 4), published examples


@pytest.mark.parametrize("name, conc, per_term, whole", [
    # E31 Heyuan 2022-02: 0.05 + 0.325->0.32 + 0.2286->0.23 + 0.3714->0.37 + 0.225->0.22 + 0.5438->0.54
    #   = 1.73 (published); unrounded sum 1.74375 -> 1.74; half-up per term would give 1.75
    ("E31", dict(so2_mean=3, no2_mean=13, pm10_mean=16, pm25_mean=13, co_p95=0.9, o3_mda8_p90=87), 1.73, 1.74),
    # E33 Puning 2025: 0.10 + 0.30 + 0.73 + 0.54 + 0.22 + 0.86 = 2.75; unrounded 2.7527 -> 2.75
    ("E33", dict(so2_mean=6, no2_mean=12, pm10_mean=51, pm25_mean=19, co_p95=0.9, o3_mda8_p90=137), 2.75, 2.75),
    # E14 Naiman Q1: 0.275 -> 0.28, 0.6571 -> 0.66: 3.14 (published); unrounded 3.1321 -> 3.13
    ("E14", dict(so2_mean=9, no2_mean=14, pm10_mean=77, co_p95=1.1, o3_mda8_p90=96, pm25_mean=23), 3.14, 3.13),
    # E12 explainer: published 3.06 = unrounded sum; per term 3.07
    ("E12", dict(pm25_mean=21, pm10_mean=39, so2_mean=9, no2_mean=15, o3_mda8_p90=192, co_p95=0.7), 3.07, 3.06),
    # E32 Wuyuan 2023-09: 2.63 both ways
    ("E32", dict(so2_mean=11, no2_mean=16, o3_mda8_p90=139, co_p95=0.6, pm10_mean=40, pm25_mean=16), 2.63, 2.63),
])
def test_composite_rounding_conventions(name, conc, per_term, whole):
    default = composite_index(stats_of(**conc))
    assert float(default.composite_index) == per_term, name
    assert default.attrs["composite_rounding"] == "per_term"          # recorded with the figure
    assert float(composite_index(stats_of(**conc), rounding="per_term").composite_index) == per_term
    s = composite_index(stats_of(**conc), rounding="sum")
    assert float(s.composite_index) == whole and s.attrs["composite_rounding"] == "sum"


def test_composite_rounding_switch_is_checked():
    with pytest.raises(ValueError, match="per_term, sum"):
        composite_index(stats_of(so2_mean=1), rounding="half_up")


# ------------------------------------------------------------------------------------------------
# ranks: direction and ties (rule 5)


def test_e37_hunan_july_2023_ranks_with_ties():
    cities = ["湘西州", "怀化市", "张家界市", "常德市", "长沙市", "郴州市", "益阳市", "永州市", "株洲市", "邵阳市",
              "衡阳市", "岳阳市", "娄底市", "湘潭市"]
    # constructed indices in the published order, with the two published ties
    index = [2.01, 2.15, 2.30, 2.41, 2.55, 2.55, 2.60, 2.71, 2.80, 2.93, 3.02, 3.10, 3.10, 3.25]
    ranks = competition_rank(index, ascending=True, decimals=2)
    assert ranks.tolist() == [1, 2, 3, 4, 5, 5, 7, 8, 9, 10, 11, 12, 12, 14]
    assert ranking_text(cities, ranks) == ("湘西州、怀化市、张家界市、常德市、长沙市、郴州市(并列第5)、益阳市、永州市、"
                                           "株洲市、邵阳市、衡阳市、岳阳市、娄底市(并列第12)、湘潭市")
    best, worst = best_and_worst(cities, ranks)
    assert best == ["湘西州", "怀化市", "张家界市"]
    assert worst == ["岳阳市", "娄底市", "湘潭市"]


def test_ties_are_on_published_values_and_directions():
    # 2.404 and 2.396 are both published 2.40: tied; unrounded they would not be
    assert competition_rank([2.404, 2.396, 2.5], decimals=2).tolist() == [1, 1, 3]
    assert competition_rank([2.404, 2.396, 2.5]).tolist() == [2, 1, 3]
    # the good-air-day ratio ranks descending: 100, 100 tie first, the next is 3rd
    assert competition_rank([96.8, 100.0, 100.0, np.nan], ascending=False, decimals=1).tolist()[:3] == [3, 1, 1]
    assert np.isnan(competition_rank([96.8, np.nan])[1])       # a city without a figure is not ranked
    # 2022 annual: two tied 11th, then 13th and 14th
    r = competition_rank(list(range(10)) + [20, 20, 30, 40])
    assert r.tolist()[-4:] == [11, 11, 13, 14]


def test_best_and_worst_include_ties():
    best, worst = best_and_worst(list("ABCDE"), [1, 1, 1, 1, 5])
    assert best == list("ABCD") and worst == list("ABCDE")
    best, worst = best_and_worst(list("ABCDE"), [1, 2, 3, 4, np.nan])
    assert best == ["A", "B", "C"] and worst == ["B", "C", "D"]


# ------------------------------------------------------------------------------------------------
# 同比/环比 (rule 8)


def test_e35_hunan_may_and_july_2023_percent_changes_from_published_values():
    # May: PM2.5 27 vs 29 -> -6.9%; PM10 42 vs 40 -> +5.0%; O3 130 vs 140 -> -7.1%; SO2 8 vs 7 -> +14.3%;
    # NO2 14 vs 17 -> -17.6%.  July: PM10 27 vs 24 +12.5%, O3 109 vs 117 -6.8%, SO2 7 vs 8 -12.5%,
    # NO2 9 vs 10 -10.0%, PM2.5 15 vs 15 and CO 0.6 vs 0.6 持平.
    now = [27, 42, 130, 8, 14, 27, 109, 7, 9, 15, 0.6]
    before = [29, 40, 140, 7, 17, 24, 117, 8, 10, 15, 0.6]
    dec = [0] * 10 + [1]
    got = change_percent(now, before, value_decimals=dec)
    assert got.tolist() == [-6.9, 5.0, -7.1, 14.3, -17.6, 12.5, -6.8, -12.5, -10.0, 0.0, 0.0]
    words = change_words(got, unit="percent")
    assert words[0] == "同比下降6.9%" and words[3] == "同比上升14.3%" and words[9] == "同比持平"


def test_percent_change_uses_the_rounded_values_not_the_raw_ones():
    # raw 26.6 and 29.4 are published 27 and 29: the change is -6.9%, not (26.6-29.4)/29.4 = -9.5%
    assert change_percent([26.6], [29.4]).tolist() == [-6.9]
    # CO to 0.1 mg/m3: 0.74 and 0.66 are both published 0.7 -> 持平
    assert change_percent([0.74], [0.66], value_decimals=1).tolist() == [0.0]
    # no base (missing or zero) -> no figure, never 0
    assert np.isnan(change_percent([5], [np.nan])).all() and np.isnan(change_percent([5], [0])).all()


def test_point_changes_of_ratios_one_decimal():
    # 98.8 vs 97.0 -> 上升1.8个百分点; 83.85 and 83.75 are both published 83.8 -> 持平
    got = change_points([98.8, 83.85, 90.32, np.nan], [97.0, 83.75, 93.55, 90.0])
    assert got[:3].tolist() == [1.8, 0.0, -3.3] and np.isnan(got[3])
    assert change_words(got, unit="points").tolist() == ["同比上升1.8个百分点", "同比持平", "同比下降3.3个百分点", ""]
    assert change_words([0.5], unit="points", prefix="环比").tolist() == ["环比上升0.5个百分点"]


def test_e32_change_rate_ranking():
    # E32: (2.63 - 2.89) / 2.89 = -8.997% -> -9.0% (published "下降9.0%")
    # B worsened but meets Grade II on all six -> not in the deterioration ranking
    r = change_rate_ranking([2.63, 3.30, 3.30, 4.00, 2.89], [2.89, 3.00, 3.00, 3.20, 2.89],
                            [False, True, False, False, False])
    assert r["change_rate"].tolist() == [-9.0, 10.0, 10.0, 25.0, 0.0]
    assert r["improvement_rank"].tolist()[0] == 1 and r["improvement_rank"].isna().sum() == 4
    assert r["deterioration_rank"].tolist()[2:4] == [2, 1]
    assert np.isnan(r["deterioration_rank"][1]) and np.isnan(r["deterioration_rank"][4])


def test_below_minimum_names_the_pollutants():
    s = pd.DataFrame({"mean_valid_so2": [True, False, True], "mean_valid_no2": [True, True, True],
                      "mean_valid_pm10": [True, False, pd.NA], "mean_valid_pm25": [True, True, False]})
    assert below_minimum(s).tolist() == ["", "so2,pm10", "pm10,pm25"]
