"""An IAQI the standard defines but the data cannot give (issue 17).

HJ 633-2012 Table 1 note (2): SO2 1-hour above 800 has no 1-hour IAQI; the SO2 IAQI is the one of
the 24-hour mean. Note (3): O3 8-hour above 800 has none either; the O3 IAQI is the 1-hour one.
Without that other value the pollutant's IAQI is unknown (anywhere up to 500), not missing. The AQI
is the maximum IAQI, capped at 500, so the result is undetermined only where the unknown IAQI could
change it: where the other pollutants' AQI is below 500. The laws below are checked against the
fully known results for every value the unknown one could take.
"""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from envq.air.aqi import PUBLICATION, UNKNOWN_IAQI, compute_aqi, daily_aqi, hourly_aqi

E12 = "hj633_2012"
HOURLY = ("pm25", "pm10", "so2", "no2", "co", "o3")
# SO2 24-hour means covering every IAQI band of its column, the top (2620 -> 500) and beyond.
SO2_24H = np.array([0, 25, 50, 100, 150, 300, 475, 600, 800, 1200, 1600, 2000, 2100, 2400, 2620, 3000.0])
# O3 daily maximum 1-hour values over the whole O3 1-hour column and beyond (-> 500). envq takes an
# unknown IAQI to lie anywhere in 0..500 and uses no lower bound the data may imply (a day's
# maximum 1-hour O3 is at least its MDA8; a 24-hour mean at least 1/24 of one hour).
O3_1H = np.array([0, 100, 160, 200, 300, 400, 800, 801, 900, 1000, 1100, 1200, 1500.0])


def _hourly_ds(when="2025-06-01T10:00", **conc):
    data = {p: (("station", "time"), np.array([[conc.get(p, np.nan)]], float)) for p in HOURLY}
    return xr.Dataset(data, coords={"station": ["X"], "time": pd.to_datetime([when])})


def _one(res, key="aqi"):
    return res[key].values.ravel()[0]


def test_so2_above_800_with_another_iaqi_at_500_gives_aqi_500():
    # aqi-hub v0.2.1 test_extreme_values: every other IAQI is 500 (PM2.5 500, PM10 600, NO2 3840,
    # CO 150, O3 1200 are their tables' tops); SO2 1-hour 2620 > 800 and no 24-hour mean.
    res = hourly_aqi(_hourly_ds(pm25=500, pm10=600, so2=2620, no2=3840, co=150, o3=1200))
    assert _one(res) == 500 and _one(res, "level") == 6 and _one(res, "category") == "严重污染"
    assert _one(res, "publication") == 5 and "determined at the cap" in PUBLICATION[5]
    # The pollutants known to be at 500; SO2's IAQI is unknown, so it is not named (default).
    assert _one(res, "primary_pollutant") == "二氧化氮,颗粒物(PM10),一氧化碳,臭氧1小时,细颗粒物(PM2.5)"
    assert _one(res, "missing_pollutants") == ""
    # aqi-hub v0.2.1 test_aqi_with_none_values: O3 2000 is above the O3 1-hour top (IAQI 500).
    res = hourly_aqi(_hourly_ds(pm25=75, pm10=150, so2=3000, no2=200, co=10, o3=2000))
    assert _one(res) == 500 and _one(res, "publication") == 5
    assert _one(res, "primary_pollutant") == "臭氧1小时" and _one(res, "over_standard") == "臭氧1小时"


def test_so2_above_800_below_the_cap_stays_undetermined():
    # The others give 50 (aqi-hub's exceed_limits vector) or 499: SO2's 24-hour IAQI could exceed
    # either, so the AQI is not known. PM2.5 498: 400 + ceil(100*(498-350)/150) = 400 + 99 = 499.
    for pm25, others in ((35, 50), (498, 499)):
        res = compute_aqi({"pm25": np.array([float(pm25)]), "so2": np.array([801.0]),
                           "no2": np.array([100.0]), "pm10": np.array([50.0]), "co": np.array([5.0])},
                          edition=E12, report="hourly")
        assert np.isnan(res["aqi"][0]) and np.isnan(res["aqi_computed"][0]) and res["publication"][0] == 4
        assert res["iaqi"]["pm25_1h"][0] == others
        # O3 was not passed: it is missing, and still said to be, beside the undetermined SO2.
        assert res["missing_labels"][res["missing_mask"][0]] == "o3"


def test_with_its_24_hour_mean_so2_above_800_is_an_ordinary_iaqi():
    # A day of hourly SO2 at 900 µg/m3 (others low): the 24-hour moving mean exists from hour 20
    # (HJ 663 validity) and is 900 -> 200 + 100*(900-800)/800 = 212.5 -> 213.
    times = pd.date_range("2025-06-01T01:00", periods=24, freq="h")
    conc = dict(pm25=10, pm10=20, so2=900, no2=10, co=0.5, o3=50)
    ds = xr.Dataset({p: (("station", "time"), np.full((1, 24), v, float)) for p, v in conc.items()},
                    coords={"station": ["X"], "time": times})
    res = hourly_aqi(ds)
    aqi, pub = res["aqi"].values[0], res["publication"].values[0]
    assert np.isnan(aqi[:19]).all() and (pub[:19] == 4).all()  # fewer than 20 hours: no 24-h mean
    assert (aqi[19:] == 213).all() and (pub[19:] == 0).all()
    assert (res["primary_pollutant"].values[0, 19:] == "二氧化硫").all()


def test_o3_8h_above_800_without_the_1_hour_value_is_undetermined_not_missing():
    # 2012 daily report: O3 MDA8 850 > 800, no daily maximum 1-hour value. Before issue 17 O3 was
    # counted missing and the day got the others' AQI (here 20, 优).
    day = dict(so2_24h=5, no2_24h=10, pm10_24h=20, co_24h=0.5, pm25_24h=10, o3_mda8=850)
    ds = xr.Dataset({k: (("station", "date"), np.array([[v]], float)) for k, v in day.items()},
                    coords={"station": ["X"], "date": pd.to_datetime(["2025-06-01"])})
    res = daily_aqi(ds)
    assert np.isnan(_one(res)) and _one(res, "publication") == 4 and _one(res, "missing_pollutants") == ""
    # ... and determined when another pollutant is at 500 (PM2.5 daily 600 > 500).
    ds["pm25_24h"][:] = 600
    res = daily_aqi(ds)
    assert _one(res) == 500 and _one(res, "publication") == 5
    assert _one(res, "primary_pollutant") == "细颗粒物(PM2.5)"


def test_possible_names_the_unknown_pollutant_as_a_co_primary_at_the_cap():
    inputs = {"pm25": np.array([75.0]), "pm10": np.array([150.0]), "so2": np.array([3000.0]),
              "no2": np.array([200.0]), "co": np.array([10.0]), "o3": np.array([2000.0])}
    res = compute_aqi(inputs, edition=E12, report="hourly", unknown_iaqi="possible")
    assert res["aqi"][0] == 500 and res["publication"][0] == 5
    assert res["primary_labels"][res["primary_mask"][0]] == "二氧化硫,臭氧1小时"
    assert res["primary_labels"][res["over_mask"][0]] == "二氧化硫,臭氧1小时"
    assert set(UNKNOWN_IAQI) == {"known", "possible"}
    with pytest.raises(ValueError, match="unknown_iaqi"):
        compute_aqi(inputs, edition=E12, report="hourly", unknown_iaqi="guess")


# ---- the law, against every value the unknown IAQI could take ---------------------------------

def _conc(top):
    return st.one_of(st.none(), st.floats(0, top, allow_nan=False), st.sampled_from([top / 2, top, 2 * top]))


def _check_against_every_completion(report, conc, name, grid):
    """The result without input *name* against the results with each value of *grid* for it."""
    one = {k: np.array([np.nan if v is None else v]) for k, v in conc.items()}
    every = {k: np.repeat(v, len(grid)) for k, v in one.items()} | {name: grid}
    unknown_res = compute_aqi(one, edition=E12, report=report)
    possible_res = compute_aqi(one, edition=E12, report=report, unknown_iaqi="possible")
    complete = compute_aqi(every, edition=E12, report=report)
    aqis = complete["aqi_computed"]
    if np.all(aqis == aqis[0]):  # the AQI does not depend on the unknown value
        assert unknown_res["publication"][0] == 5 and unknown_res["aqi"][0] == aqis[0]
        assert unknown_res["level"][0] == complete["level"][0]
        # "known": the pollutants primary (over-standard) whatever the value; "possible": those
        # primary (over-standard) for some value.
        for mask in ("primary_mask", "over_mask"):
            assert unknown_res[mask][0] == np.bitwise_and.reduce(complete[mask]), mask
            assert possible_res[mask][0] == np.bitwise_or.reduce(complete[mask]), mask
    else:
        assert unknown_res["publication"][0] == 4 and np.isnan(unknown_res["aqi"][0])
        assert np.isnan(unknown_res["aqi_computed"][0]) and unknown_res["level"][0] == 0
        assert unknown_res["primary_mask"][0] == 0 and unknown_res["over_mask"][0] == 0


@settings(max_examples=300, deadline=None)
@given(pm25=_conc(500), pm10=_conc(600), no2=_conc(3840), co=_conc(150), o3=_conc(1200),
       so2=st.floats(800.51, 5000, allow_nan=False))
def test_hourly_so2_undetermined_exactly_when_its_24_hour_value_could_change_the_aqi(pm25, pm10, no2, co, o3, so2):
    conc = dict(pm25=pm25, pm10=pm10, no2=no2, co=co, o3=o3, so2=so2)
    _check_against_every_completion("hourly", conc, "so2_24h_moving", SO2_24H)


@settings(max_examples=200, deadline=None)
@given(pm25=_conc(500), pm10=_conc(600), no2=_conc(940), co=_conc(60), so2=_conc(2620),
       mda8=st.floats(800.51, 2000, allow_nan=False))
def test_daily_o3_undetermined_exactly_when_its_1_hour_value_could_change_the_aqi(pm25, pm10, no2, co, so2, mda8):
    conc = dict(pm25_24h=pm25, pm10_24h=pm10, no2_24h=no2, co_24h=co, so2_24h=so2, o3_mda8=mda8)
    _check_against_every_completion("daily", conc, "o3_1h_max", O3_1H)
