"""The air compute step a month at a time gives exactly the results of one pass (issue 16).

:func:`envq.air.pipeline.station_daily_by_month` screens and reduces a month of natural days at a
time, with the hours around the month that the screening rules look at. Its station daily
values (and every NaN's reason), screening log and screened hours must be identical to one
:func:`envq.air.screening.screen` + :func:`envq.air.daily.station_daily` over the whole series:
checked on the real Hunan year and on series built to break a piecewise computation (a stuck
run, a spike and its neighbours across a month's end, hours missing across a month boundary, a
whole month without a label).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq.air.daily import station_daily
from envq.air.pipeline import city_days_from_hourly, read_air, station_daily_by_month
from envq.air.screening import DEFAULT_RULES, Negative, PieceScreening, Rule, Spike, Stuck, screen

POLLUTANTS = ("pm25", "pm10", "so2", "no2", "co", "o3")


def one_pass(hourly, rules=DEFAULT_RULES, assessment="hj663_2013"):
    clean, log = screen(hourly, rules)
    return station_daily(clean, assessment=assessment), log, clean


def assert_same(hourly, rules=DEFAULT_RULES):
    sd, log, clean = one_pass(hourly, rules)
    sd_m, log_m, kept = station_daily_by_month(hourly, screening_rules=rules, keep_hourly=("o3", "pm25"))
    xr.testing.assert_identical(sd, sd_m)
    assert sd.attrs == sd_m.attrs
    pd.testing.assert_frame_equal(log, log_m, check_exact=True)
    xr.testing.assert_identical(clean[["o3", "pm25"]].drop_attrs(), kept.drop_attrs())
    return sd_m, log_m


@pytest.fixture(scope="module")
def hunan(data_dir):
    return read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz")


def test_hunan_year_by_month_equals_one_pass(hunan):
    sd, log = assert_same(hunan)
    # 366 days: the first label, 2019-01-01 00:00, is hour 24 of 2018-12-31
    assert sd.sizes["date"] == 366 and len(log) == 80   # the 80 values of the screening module docstring
    # a stuck run crosses no month here, so also a stricter rule set whose runs and spikes do
    rules = (Negative(), Spike(jumps={p: 40.0 for p in POLLUTANTS[:4]} | {"co": 1.0, "o3": 60.0}, max_gap_hours=5),
             Stuck(hours=6, minima={p: 5.0 for p in POLLUTANTS[:4]} | {"co": 0.5, "o3": 5.0}))
    _, strict = assert_same(hunan, rules)
    day = (pd.DatetimeIndex(strict["time"]) - pd.Timedelta(hours=1)).normalize()
    month_end = (day + pd.Timedelta(days=1)).day == 1
    assert len(strict) > 5000 and month_end.sum() > 100   # verdicts at months' ends do occur


def _series(times, n_st=4, seed=0):
    rng = np.random.default_rng(seed)
    t = pd.DatetimeIndex(times)
    data = {p: (("station", "time"), rng.integers(5, 80, (n_st, len(t))).astype(float)) for p in POLLUTANTS}
    data["co"] = (("station", "time"), rng.integers(2, 30, (n_st, len(t))) / 10)   # mg/m3, one decimal
    return xr.Dataset(data, coords={"station": [f"S{i}" for i in range(n_st)], "time": t,
                                    "city": ("station", ["X"] * n_st), "is_background": ("station", [False] * n_st)})


def test_runs_spikes_and_gaps_across_months_equal_one_pass():
    times = pd.date_range("2019-01-20 01:00", "2019-03-10 00:00", freq="h")
    ds = _series(times)
    v = ds["pm25"].values
    # PM2.5 stuck at 43 for 30 h across the end of January (hour 24 of Jan 31 is labelled Feb 1 00:00)
    i = times.get_loc(pd.Timestamp("2019-01-31 10:00"))
    v[0, i: i + 30] = 43.0
    # a run of 20 h on each side of the boundary: two runs of 20, neither stuck
    v[1, i: i + 20] = 50.0
    v[1, i + 20: i + 40] = 51.0
    # O3 spike at Feb 1 01:00, its previous hour (Jan 31's hour 24) is in January
    o3 = ds["o3"].values
    j = times.get_loc(pd.Timestamp("2019-02-01 01:00"))
    o3[2, j] = 1200.0
    o3[2, j - 1] = 40.0
    ds["pm25"].values[:], ds["o3"].values[:] = v, o3
    # labels missing across the end of February, and a day of NaN
    ds = ds.sel(time=(ds.time < np.datetime64("2019-02-27T05:00")) | (ds.time > np.datetime64("2019-03-02T07:00")))
    ds["so2"].loc[{"time": slice("2019-02-10T01:00", "2019-02-11T00:00")}] = np.nan
    sd, log = assert_same(ds)
    assert set(zip(log["rule"], log["variable"])) == {("stuck", "pm25"), ("spike", "o3")}
    assert len(log[log["rule"] == "stuck"]) == 30 and sd.sizes["date"] == 49
    assert (sd["invalid_so2_24h"].sel(date="2019-02-28").values == 1).all()   # no label that day: no data


def test_a_month_without_any_label_and_months_of_one_day():
    times = list(pd.date_range("2019-01-30 01:00", "2019-02-01 00:00", freq="h")) \
        + list(pd.date_range("2019-03-31 01:00", "2019-04-01 03:00", freq="h"))
    sd, _ = assert_same(_series(times, seed=3))
    assert sd.sizes["date"] == 1 + 28 + 31 + 1 + 1 and pd.Timestamp(sd.date.values[-1]) == pd.Timestamp("2019-04-01")


def test_dask_backed_hourly_is_read_a_month_at_a_time(hunan):
    lazy = hunan.sel(time=slice("2019-01-01T01:00", "2019-04-01T00:00")).chunk({"time": 24})
    eager = lazy.compute()
    sd_l, log_l, _ = station_daily_by_month(lazy)
    sd_e, log_e, _ = station_daily_by_month(eager)
    assert sd_l["pm25_24h"].chunks is None   # computed, a month at a time
    xr.testing.assert_identical(sd_l, sd_e)
    pd.testing.assert_frame_equal(log_l, log_e)


def test_city_days_identical_for_both_mda8_methods(hunan):
    part = hunan.sel(time=slice("2019-05-25T01:00", "2019-07-05T00:00"))
    for method in ("mean_of_station_mda8", "mda8_of_city_hourly"):
        got = city_days_from_hourly(part, mda8_method=method)
        clean, log = screen(part)
        sd = station_daily(clean, assessment="hj663_2013")
        from envq.air.city import city_daily, city_daily_aqi

        cd = city_daily(sd, hourly=clean, mda8_method=method)
        want = xr.merge([cd, city_daily_aqi(cd)], compat="override", combine_attrs="drop_conflicts")
        xr.testing.assert_identical(got[0], want)
        pd.testing.assert_frame_equal(got[2], log)


def test_without_screening_and_with_a_rule_of_unknown_reach():
    times = pd.date_range("2019-01-25 01:00", "2019-02-05 00:00", freq="h")
    ds = _series(times, seed=5)
    ds["no2"][0, 100:130] = 33.0
    sd, log, _ = station_daily_by_month(ds, screen=False)
    xr.testing.assert_identical(sd, station_daily(ds))
    assert log.empty

    @dataclasses.dataclass(frozen=True)
    class Anything(Rule):   # does not say how far it looks: one pass
        name: str = "anything"

        def flag(self, values, *, variable, time, city):
            return values > np.nanmean(values)

        def reason(self, variable, units):
            return "above the series' mean"

    with pytest.raises(ValueError, match="context_hours"):
        PieceScreening([Anything()])
    assert_same(ds, (Negative(), Anything()))
