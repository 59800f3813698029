"""Period statistics (HJ 663 percentiles, GB 3095 Table 4 counts) and the composite index (§2.3, §2.6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from envq._rounding import round_gbt8170
from envq.air.daily import station_daily
from envq.air.stats import composite_index, percentile_hj663, period_statistics, round_statistics

NAN = np.nan


# ----------------------------------------------------------------------------------------------
# HJ 663 Appendix A percentile


def test_e13_percentile():
    # sorted {2, 3, 4, 4, 5, 8}; k = 1 + 5 x 0.9 = 5.5, s = 5; m = X(5) + (X(6) - X(5)) x 0.5
    #   = 5 + (8 - 5) x 0.5 = 6.5
    assert percentile_hj663([3, 4, 8, 2, 5, 4], 0.9) == 6.5


def test_e15_co_p95():
    # sorted 0.5 0.6 0.7 0.8 0.8 0.9 1.0 1.1 1.2 1.3; k = 1 + 9 x 0.95 = 9.55, s = 9
    # m = 1.2 + 0.55 x (1.3 - 1.2) = 1.255 -> GB/T 8170 to 0.1: "55" is a 5 then non-zero -> 1.3
    m = percentile_hj663([0.6, 0.8, 0.7, 1.1, 0.9, 1.3, 0.5, 1.0, 1.2, 0.8], 0.95)
    assert m == pytest.approx(1.255)
    assert round_gbt8170(m, 1) == 1.3


def test_e16_o3_p90():
    # sorted 99 110 120 128 135 145 150 161 170 176 182 188; k = 1 + 11 x 0.9 = 10.9, s = 10
    # m = 176 + 0.9 x (182 - 176) = 181.4 -> 181, above 160
    m = percentile_hj663([120, 135, 150, 161, 170, 182, 145, 128, 110, 99, 188, 176], 0.9)
    assert m == pytest.approx(181.4)
    assert round_gbt8170(m) == 181


def test_percentile_ignores_nan_row_by_row():
    values = np.array(
        [
            [3, 4, 8, 2, 5, 4, NAN, NAN],  # E13 with two gaps -> 6.5
            [NAN, NAN, NAN, NAN, NAN, NAN, NAN, 7],  # n = 1 -> X(1) = 7
            [NAN] * 8,  # n = 0 -> NaN
            [1, 2, 3, 4, 5, 6, 7, 8],  # k = 1 + 7 x 0.9 = 7.3 -> 7 + 0.3 x 1 = 7.3
        ]
    )
    m = percentile_hj663(values, 0.9, axis=1)
    assert m[0] == 6.5 and m[1] == 7 and np.isnan(m[2]) and m[3] == pytest.approx(7.3)
    assert percentile_hj663(values.T, 0.9, axis=0)[3] == pytest.approx(7.3)


def test_percentile_ends_and_exact_ranks():
    x = [5.0, 1.0, 3.0]
    assert percentile_hj663(x, 0.0) == 1.0  # k = 1 -> X(1)
    assert percentile_hj663(x, 1.0) == 5.0  # k = n -> X(n)
    # n = 51, p = 0.98: k = 1 + 50 x 0.98 = 50 exactly -> X(50), with no float artefact
    assert percentile_hj663(np.arange(1.0, 52.0), 0.98) == 50.0


def test_percentile_wants_a_fraction():
    with pytest.raises(ValueError, match="fraction"):
        percentile_hj663([1, 2, 3], 95)


row = st.lists(st.one_of(st.just(NAN), st.floats(0, 1000, allow_nan=False)), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(row, st.floats(0, 1), st.floats(0, 1))
def test_property_percentile_between_min_and_max_monotone_and_numpy_linear(values, p1, p2):
    x = np.array(values)
    valid = x[~np.isnan(x)]
    lo, hi = sorted((p1, p2))
    a, b = percentile_hj663(x, lo), percentile_hj663(x, hi)
    if valid.size == 0:
        assert np.isnan(a) and np.isnan(b)
        return
    assert valid.min() <= a <= b + 1e-9 <= valid.max() + 2e-9
    # numpy's "linear" method, up to float noise (ranks within 1e-12 of an integer snap to it)
    assert a == pytest.approx(np.percentile(valid, 100 * lo, method="linear"), abs=1e-9)


# ----------------------------------------------------------------------------------------------
# period statistics

YEAR = pd.date_range("2019-01-01", "2019-12-31", freq="D")


def drop_leading_days(per_month):
    """Valid-day mask of 2019 with the first k days of each month missing (k by month number)."""
    keep = np.ones(len(YEAR), bool)
    for month, k in per_month.items():
        idx = np.flatnonzero(YEAR.month == month)[:k]
        keep[idx] = False
    return keep


def test_annual_mean_validity_324_days_and_every_month():
    # the most a month may lose and keep >= 27 (Feb >= 25) valid days: 4 (31 days), 3 (30), 3 (Feb)
    most = {m: (3 if m in (2, 4, 6, 9, 11) else 4) for m in range(1, 13)}  # 43 days -> 322 valid
    masks = {
        "all": np.ones(len(YEAR), bool),  # 365 -> valid
        "feb24": drop_leading_days({2: 4}),  # 361 >= 324 but February 24 < 25 -> invalid
        "n323": drop_leading_days({**most, 1: 3}),  # 42 lost -> 323 < 324 -> invalid
        "n324": drop_leading_days({**most, 1: 2}),  # 41 lost -> 324 -> valid
    }
    values = np.array([np.where(m, 30.0, NAN) for m in masks.values()])
    daily = xr.Dataset(
        {"pm25_24h": (("station", "date"), values)}, coords={"station": list(masks), "date": YEAR}
    )
    s = period_statistics(daily, every="year")
    assert s.n_days_pm25.sel(period="2019").values.ravel().tolist() == [365, 361, 323, 324]
    assert s.mean_valid_pm25.values.ravel().tolist() == [True, False, False, True]
    # a flag, not a filter: every mean is there
    assert s.pm25_mean.values.ravel().tolist() == [30.0] * 4
    # reading Table 4 as "324 per year" only: February's 24 no longer matter
    s = period_statistics(daily, every="year", require_every_month=False)
    assert s.mean_valid_pm25.values.ravel().tolist() == [True, True, False, True]


def test_monthly_mean_validity_27_days_25_in_february():
    masks = drop_leading_days({1: 5, 2: 3, 3: 4})  # January 26, February 25, March 27
    daily = xr.Dataset({"no2_24h": ("date", np.where(masks, 20.0, NAN))}, coords={"date": YEAR})
    s = period_statistics(daily, every="month")
    assert s.sizes["period"] == 12
    assert s.n_days_no2.values[:3].tolist() == [26, 25, 27]
    assert s.mean_valid_no2.values[:4].tolist() == [False, True, True, True]
    assert str(s.period_end.values[1])[:10] == "2019-02-28"


def test_means_and_percentiles_of_a_month():
    # January, days valued 1..31:
    #   mean = 16; P98: k = 1 + 30 x 0.98 = 30.4 -> 30 + 0.4 x (31 - 30) = 30.4 -> 30
    #   P95: k = 1 + 30 x 0.95 = 29.5 -> 29 + 0.5 = 29.5 -> GB/T 8170: 5 after odd 9 -> 30
    jan = pd.date_range("2019-01-01", periods=31, freq="D")
    v = np.arange(1.0, 32.0)
    daily = xr.Dataset(
        {"so2_24h": ("date", v), "pm10_24h": ("date", v), "co_24h": ("date", v / 10), "o3_mda8": ("date", v)},
        coords={"date": jan},
    )
    s = period_statistics(daily, every="month")
    assert float(s.so2_mean[0]) == 16.0
    assert float(s.so2_p98[0]) == pytest.approx(30.4)
    assert float(s.pm10_p95[0]) == pytest.approx(29.5)
    assert float(s.co_p95[0]) == pytest.approx(2.95)  # 2.9 + 0.5 x 0.1
    assert float(s.o3_mda8_p90[0]) == pytest.approx(28.0)  # k = 1 + 30 x 0.9 = 28 -> X(28)
    r = period_statistics(daily, every="month", rounded=True)
    assert [float(r[v][0]) for v in ("so2_mean", "so2_p98", "pm10_p95", "co_p95", "o3_mda8_p90")] == [
        16.0,
        30.0,
        30.0,
        3.0,  # 2.95 -> 5 after odd 9 -> 3.0
        28.0,
    ]
    assert "co_mean" not in s and "o3_mean" not in s  # no annual-mean statistic for CO, O3
    assert int(s.n_days_o3[0]) == 31


def test_e16_as_a_period_statistic_with_missing_days():
    # the 12 MDA8 values of E16 spread over January with the other 19 days invalid
    jan = pd.date_range("2019-01-01", periods=31, freq="D")
    mda8 = np.full(31, NAN)
    mda8[0:24:2] = [120, 135, 150, 161, 170, 182, 145, 128, 110, 99, 188, 176]
    daily = xr.Dataset({"o3_mda8": (("station", "date"), [mda8])}, coords={"station": ["S1"], "date": jan})
    s = period_statistics(daily, every=None, rounded=True)
    assert s.o3_mda8_p90.dims == ("station", "period")
    assert float(s.o3_mda8_p90[0, 0]) == 181.0
    assert int(s.n_days_o3[0, 0]) == 12


def test_period_statistics_from_station_daily_keeps_stations():
    time = pd.date_range("2019-01-01 01:00", periods=24 * 59, freq="h")
    rng = np.random.default_rng(3)
    hourly = xr.Dataset(
        {
            p: (("station", "time"), rng.uniform(10, 100, (3, time.size)))
            for p in ("so2", "no2", "pm10", "pm25", "co", "o3")
        },
        coords={"station": ["A", "B", "C"], "time": time, "city": ("station", ["x", "x", "y"])},
    )
    daily = station_daily(hourly)
    s = period_statistics(daily, every="month")
    assert s.pm25_mean.dims == ("station", "period")
    assert s.city.values.tolist() == ["x", "x", "y"]
    # January: 31 days, every one valid; its mean of daily means is the mean of its 744 hours
    jan_hours = hourly.pm25.isel(time=slice(0, 744))
    np.testing.assert_allclose(s.pm25_mean.isel(period=0), jan_hours.mean("time"))
    assert s.n_days_pm25.isel(period=0).values.tolist() == [31, 31, 31]
    ci = composite_index(s)
    assert ci.composite_index.dims == ("station", "period")
    assert ci.max_index_pollutant.dims == ("station", "period")


def test_round_statistics_leaves_counts_and_flags():
    s = xr.Dataset({"co_p95": ("p", [1.255]), "pm25_mean": ("p", [34.5]), "n_days_co": ("p", [10]),
                    "mean_valid_pm25": ("p", [True])})
    r = round_statistics(s)
    assert r.co_p95.item() == 1.3 and r.pm25_mean.item() == 34.0
    assert r.n_days_co.item() == 10 and r.mean_valid_pm25.item()


def test_period_statistics_refuses_what_it_cannot_use():
    with pytest.raises(ValueError, match="none of the daily variables"):
        period_statistics(xr.Dataset({"x": ("date", [1.0])}, coords={"date": YEAR[:1]}))
    with pytest.raises(ValueError, match="'date' dimension"):
        period_statistics(xr.Dataset({"pm25_24h": ("day", [1.0])}))


# ----------------------------------------------------------------------------------------------
# composite index


def stats_of(**c):
    return xr.Dataset({k: float(v) for k, v in c.items()})


E12 = dict(pm25_mean=21, pm10_mean=39, so2_mean=9, no2_mean=15, o3_mda8_p90=192, co_p95=0.7)
E14 = dict(so2_mean=9, no2_mean=14, pm10_mean=77, co_p95=1.1, o3_mda8_p90=96, pm25_mean=23)


def test_e12_composite_index():
    # I = 21/35 + 39/70 + 9/60 + 15/40 + 192/160 + 0.7/4
    #   = 0.600 + 0.5571 + 0.150 + 0.375 + 1.200 + 0.175 = 3.0571 -> 3.06 (the published value)
    ci = composite_index(stats_of(**E12), term_decimals=None)
    assert float(ci.composite_index) == 3.06
    # Max index: O3, 192 / 160 = 1.20
    assert ci.max_index_pollutant.item() == "o3"
    assert float(ci.max_index) == pytest.approx(1.20)
    # Default convention (each I_i to 0.01 by GB/T 8170 first): 0.375 -> 0.38 (7 odd),
    # 0.175 -> 0.18 (7 odd), 0.557 -> 0.56: 0.60 + 0.56 + 0.15 + 0.38 + 1.20 + 0.18 = 3.07.
    # The published 3.06 is therefore the rounded sum of unrounded indices (see the docstring).
    ci = composite_index(stats_of(**E12))
    assert [float(ci[f"index_{p}"]) for p in ("so2", "no2", "pm10", "pm25", "co", "o3")] == [
        0.15, 0.38, 0.56, 0.60, 0.18, 1.20,
    ]
    assert float(ci.composite_index) == 3.07
    assert float(ci.max_index) == 1.2 and ci.max_index_pollutant.item() == "o3"


def test_e14_composite_index_rounding_convention():
    # 9/60 + 14/40 + 77/70 + 1.1/4 + 96/160 + 23/35 = 0.15 + 0.35 + 1.10 + 0.275 + 0.60 + 0.6571
    #   unrounded sum 3.1321 -> 3.13;  each I_i to 0.01 first: 0.275 -> 0.28, 0.657 -> 0.66 -> 3.14
    # (the local report publishes 3.14)
    assert float(composite_index(stats_of(**E14), term_decimals=None).composite_index) == 3.13
    ci = composite_index(stats_of(**E14))
    assert float(ci.composite_index) == 3.14
    assert ci.max_index_pollutant.item() == "pm10" and float(ci.max_index) == 1.1


def test_composite_index_rounds_concentrations_first():
    # unrounded period statistics give the same index as the published (rounded) ones:
    # 20.6 -> 21, 38.5 -> 38 (even), 0.74 -> 0.7 ...
    raw = dict(E12, pm25_mean=20.6, pm10_mean=39.4, co_p95=0.74, o3_mda8_p90=191.5)
    assert float(composite_index(stats_of(**raw), term_decimals=None).composite_index) == 3.06


def test_composite_index_ties_missing_terms_and_vectorised():
    # station T: PM2.5 35/35 = 1.00 and PM10 70/70 = 1.00 tie -> both listed
    # station M: CO missing -> no index
    base = dict(so2_mean=[6, 6], no2_mean=[4, 4], pm10_mean=[70, 70], pm25_mean=[35, 35],
                co_p95=[0.4, NAN], o3_mda8_p90=[16, 16])
    s = xr.Dataset({k: ("station", v) for k, v in base.items()}, coords={"station": ["T", "M"]})
    ci = composite_index(s)
    assert ci.max_index_pollutant.values.tolist() == ["pm10,pm25", ""]
    # 0.10 + 0.10 + 1.00 + 1.00 + 0.10 + 0.10 = 2.40
    assert ci.composite_index.values[0] == pytest.approx(2.40)
    assert np.isnan(ci.composite_index.values[1]) and np.isnan(ci.max_index.values[1])


def test_composite_index_weights_are_a_parameter_not_the_default():
    # the unverified HJ 663-2026 variant (PM2.5 x3, NO2 x2, O3 x2), E12 with per-term rounding:
    # 0.15 + 2 x 0.38 + 0.56 + 3 x 0.60 + 0.18 + 2 x 1.20 = 5.85
    ci = composite_index(stats_of(**E12), weights={"pm25": 3, "no2": 2, "o3": 2})
    assert float(ci.composite_index) == pytest.approx(5.85)
    assert float(composite_index(stats_of(**E12), assessment="hj663_2026").composite_index) == 3.07
    with pytest.raises(ValueError, match="unknown pollutants"):
        composite_index(stats_of(**E12), weights={"pm2.5": 3})


def test_composite_index_names_missing_statistics():
    with pytest.raises(ValueError, match="co_p95"):
        composite_index(stats_of(**{k: v for k, v in E12.items() if k != "co_p95"}))
