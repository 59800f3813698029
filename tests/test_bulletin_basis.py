"""同口径: a day scored by the AQI edition of the same day a year later (envq/air/city.py), and the
bulletin's edition bookkeeping (envq/bulletin/air.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq.air.city import city_daily_aqi_on_basis, editions_on_basis
from envq.bulletin.air import basis_editions, edition_label, editions_of
from envq.periods import parse_period


def _daily(dates, pm25):
    n = len(dates)
    one = np.ones((1, n))
    return xr.Dataset({"pm25_24h": (("city", "date"), one * np.asarray(pm25, float)),
                       "pm10_24h": (("city", "date"), one * 50.0), "so2_24h": (("city", "date"), one * 10.0),
                       "no2_24h": (("city", "date"), one * 20.0), "co_24h": (("city", "date"), one * 0.8),
                       "o3_mda8": (("city", "date"), one * 80.0), "o3_1h_max": (("city", "date"), one * 100.0)},
                      coords={"city": ["长沙市"], "date": pd.DatetimeIndex(dates)})


def test_e2_pm25_80_under_each_basis():
    # E2: PM2.5 80 -> 2012: 100 + 50/40 x 5 = 106.25 -> 107; 2026: 100 + 50/55 x 20 = 118.2 -> 119
    d = _daily(["2025-08-01", "2026-08-01"], [80, 80])
    auto = city_daily_aqi_on_basis(d, "auto")
    assert auto["aqi"].values.ravel().tolist() == [107, 119] and auto.attrs["edition"] == "hj633_2012+hj633_2026"
    same = city_daily_aqi_on_basis(d, "next_year")      # August 2025 as the base of August 2026
    assert same["aqi"].values.ravel().tolist() == [119, 119] and same.attrs["edition"] == "hj633_2026"
    old = city_daily_aqi_on_basis(d, "hj633_2012")      # --editions both: everything under 2012
    assert old["aqi"].values.ravel().tolist() == [107, 107]


def test_pm25_70_is_good_in_2012_and_light_pollution_in_2026():
    # 2012: 50 + 50/40 x 35 = 93.75 -> 94 (良); 2026: 100 + 50/55 x 10 = 109.1 -> 110 (轻度污染)
    d = _daily(["2025-08-15"], [70])
    assert city_daily_aqi_on_basis(d, "auto")["category"].values.ravel().tolist() == ["良"]
    assert city_daily_aqi_on_basis(d, "next_year")["category"].values.ravel().tolist() == ["轻度污染"]


def test_editions_on_basis_around_the_change_and_leap_day():
    days = ["2025-02-28", "2025-03-01", "2026-02-28", "2026-03-01", "2024-02-29"]
    assert editions_on_basis(days, "auto").tolist() == ["hj633_2012", "hj633_2012", "hj633_2012", "hj633_2026",
                                                        "hj633_2012"]
    assert editions_on_basis(days, "next_year").tolist() == ["hj633_2012", "hj633_2026", "hj633_2026", "hj633_2026",
                                                             "hj633_2012"]
    with pytest.raises(ValueError, match="hj633"):
        editions_on_basis(days, "hj633_2099")


def test_bulletin_edition_labels():
    assert editions_of([parse_period("2026-Q1").start, parse_period("2026-Q1").end]) == ["hj633_2012", "hj633_2026"]
    assert basis_editions(parse_period("2025-Q1"), parse_period("2026-Q1")) == ["hj633_2012", "hj633_2026"]
    assert basis_editions(parse_period("2025-08"), parse_period("2026-08")) == ["hj633_2026"]
    assert edition_label(["hj633_2012", "hj633_2026"]) == "HJ 633-2012+HJ 633-2026"
