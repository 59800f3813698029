"""One table of targets and one rule for 'met' (envq.targets)."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envq.errors import InputError
from envq.targets import AIR, WATER, Targets, is_met, judge, published, shortfall


def test_defaults_from_the_provincial_plan():
    t = Targets()
    assert t.get(AIR, "province", "湖南省", 2019) == 83.0 and t.get(AIR, "city", "长沙市", 2026) == 83.0
    assert t.get(WATER, "province", "湖南省", 2026) == 95.0 and t.get(WATER, "basin", "湘江流域", 2026) == 95.0
    assert math.isnan(t.get(WATER, "system", "湘江", 2026)) and math.isnan(t.get(WATER, "city", "长沙市", 2026))
    assert all(r.source for r in t.rows)
    assert t.lookup(AIR, ["city", "province", "system"], ["长沙市", "湖南省", "x"], 2019)[:2].tolist() == [83.0, 83.0]


def test_the_air_file_format_still_works(tmp_path):
    f = tmp_path / "targets.csv"
    f.write_text("scope,name,year,target\ncity,长沙市,2019,80\ncity,*,,85\n", encoding="utf-8")
    t = Targets.from_csv(f, indicator=AIR)
    assert t.get(AIR, "city", "长沙市", 2019) == 80 and t.get(AIR, "city", "长沙市", 2020) == 85
    assert t.get(AIR, "province", "湖南省", 2019) == 83.0  # the defaults stay under the file's rows
    assert t.get(WATER, "province", "湖南省", 2019) == 95.0


def test_the_water_file_format_and_the_indicator_column(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("group,name,year,i_iii_target\nprovince,*,,95\nriver,r,2026,85\nriver,r,2027,90\n"
                 "province,湖南省,2026,97\n", encoding="utf-8")
    t = Targets.from_csv(f)
    assert t.get(WATER, "river", "r", 2026) == 85 and t.get(WATER, "river", "r", 2027) == 90
    assert math.isnan(t.get(WATER, "river", "r", 2028))
    assert t.get(WATER, "province", "湖南省", 2026) == 97 and t.get(WATER, "province", "湖南省", 2025) == 95
    g = tmp_path / "both.csv"
    g.write_text("\ufeffindicator,scope,name,year,target\nair_good_day_ratio,city,*,2026,85\n"
                 "water_i_iii_share,reach,*,,90\n", encoding="utf-8")
    t = Targets.from_csv(g)
    assert t.get(AIR, "city", "岳阳市", 2026) == 85 and t.get(AIR, "city", "岳阳市", 2025) == 83
    assert t.get(WATER, "reach", "xiang-main-province", 2026) == 90


@pytest.mark.parametrize(("text", "row", "field", "value"), [
    ("scope,name,year,target\ncity,长沙市,2019,eighty\n", 2, "target/year", "eighty/2019"),
    ("scope,name,year,target\ncity,长沙市,2019,130\n", 2, "target", "130"),
    ("scope,name,year,target\ncity,长沙市,2019,80\ncountry,x,,80\n", 3, "scope", "country"),
    ("scope,name,target\ncity,,80\n", 2, "name", ""),
    ("scope,year,target\ncity,2019,80\n", 1, "name", None),
    ("indicator,scope,name,year,target\nno2,city,*,,80\n", 2, "indicator", "no2"),
])
def test_a_bad_file_names_row_field_and_value(tmp_path, text, row, field, value):
    f = tmp_path / "targets.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        Targets.from_csv(f, indicator=None if text.startswith("indicator") else AIR)
    assert (e.value.file, e.value.row, e.value.field) == (str(f), row, field)
    if value is not None:
        assert e.value.value == value


def test_the_rule_judges_the_published_value():
    # 82.95% is published 83.0% and meets 83%; 189 of 199 sections is 94.97%, published 95.0%
    assert is_met(82.95, 83) is True and is_met(82.94, 83) is False
    assert is_met(100 * 189 / 199, 95) is True and is_met(100 * 188 / 199, 95) is False
    assert is_met(None, 83) is None and is_met(90.0, float("nan")) is None and is_met(pd.NA, 83) is None
    got = judge(np.array([82.95, 82.94, np.nan, 100 * 189 / 199]), [83, 83, 83, 95])
    assert got.dtype == "boolean" and got.tolist() == [True, False, pd.NA, True]
    assert judge([], []).tolist() == []


def test_published_is_gbt8170_half_to_even():
    assert published(23 / 80 * 100) == 28.8  # binary float 28.749999..., half-to-even 28.8
    assert published(28.65) == 28.6 and published(28.75) == 28.8 and math.isnan(published(None))
    assert published(np.array([[82.95, 94.974]])).tolist() == [[83.0, 95.0]]


@given(st.integers(1, 400), st.integers(0, 400), st.sampled_from([80.0, 83.0, 95.0, 97.5]))
def test_the_rule_on_counts_is_exact(n, k, target):
    k = min(k, n)
    # published to one decimal, half to even, computed exactly in integers: 1000 k / n
    num, den = 1000 * k, n
    q, r = divmod(num, den)
    up = 2 * r > den or (2 * r == den and q % 2 == 1)
    exact = (q + up) / 10
    assert published(100 * k / n) == exact
    assert is_met(100 * k / n, target) is (exact >= target)


def test_shortfall_for_the_colour_bands():
    assert shortfall(82.9, 83) == 0.1 and shortfall(82.95, 83) == 0.0 and shortfall(77.9, 83) == 5.1
    assert math.isnan(shortfall(None, 83))
