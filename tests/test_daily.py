"""Station daily values: natural day, GB 3095 Table 4 validity, HJ 663 MDA8 (reference/standards.md §2.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from envq._rounding import round_gbt8170
from envq.air.daily import Invalid, explain_invalid, natural_day, station_daily

NAN = np.nan


def one_day(values, pollutant="pm25", day="2019-01-01", **coords):
    """A one-station dataset of the 24 hours of natural day *day* (labels day 01:00 .. day+1 00:00)."""
    time = pd.date_range(pd.Timestamp(day) + pd.Timedelta(hours=1), periods=24, freq="h")
    values = np.asarray(values, dtype=float)
    assert values.shape == (24,)
    return xr.Dataset(
        {pollutant: (("station", "time"), values[None, :])},
        coords={"station": ["S1"], "time": time, **{k: ("station", [v]) for k, v in coords.items()}},
    )


def hours_valid(n, value=50.0):
    """24 hourly values, the first *n* valid."""
    return np.r_[np.full(n, value), np.full(24 - n, NAN)]


# ----------------------------------------------------------------------------------------------
# natural day


def test_natural_day_label_0000_belongs_to_previous_day():
    # hour-ending labels: D 01:00 is hour 01 of D, D+1 00:00 is hour 24 of D
    assert natural_day("2019-01-02 00:00") == pd.Timestamp("2019-01-01")
    assert natural_day("2019-01-01 01:00") == pd.Timestamp("2019-01-01")
    assert natural_day("2019-01-01 23:00") == pd.Timestamp("2019-01-01")
    assert natural_day("2019-01-02 01:00") == pd.Timestamp("2019-01-02")
    da = xr.DataArray(pd.to_datetime(["2019-03-01 00:00", "2019-03-01 01:00"]), dims="time")
    assert natural_day(da).values.astype("datetime64[D]").tolist() == [
        np.datetime64("2019-02-28"),
        np.datetime64("2019-03-01"),
    ]


def test_hour_24_enters_the_day_it_ends():
    # Day 2019-01-01: labels 01:00..23:00 hold 10, label 2019-01-02 00:00 (hour 24) holds 34:
    # mean = (23 x 10 + 34) / 24 = 264 / 24 = 11.0. Day 2019-01-02 holds 50 throughout.
    time = pd.date_range("2019-01-01 01:00", periods=48, freq="h")
    values = np.r_[np.full(23, 10.0), 34.0, np.full(24, 50.0)]
    hourly = xr.Dataset({"so2": (("station", "time"), [values])}, coords={"station": ["S1"], "time": time})
    d = station_daily(hourly)
    days = d.date.values.astype("datetime64[D]").tolist()
    assert days == [np.datetime64("2019-01-01"), np.datetime64("2019-01-02")]
    assert d.so2_24h.values.tolist() == [[11.0, 50.0]]
    assert d.n_hours_so2.values.tolist() == [[24, 24]]


def test_a_lone_0000_label_opens_the_previous_day():
    # Only label 2019-01-02 00:00: it is hour 24 of 2019-01-01, which therefore has 1 valid hour.
    hourly = xr.Dataset(
        {"no2": (("station", "time"), [[40.0]])},
        coords={"station": ["S1"], "time": pd.to_datetime(["2019-01-02 00:00"])},
    )
    d = station_daily(hourly)
    assert d.sizes["date"] == 1
    assert d.date.values[0] == np.datetime64("2019-01-01")
    assert int(d.n_hours_no2[0, 0]) == 1
    assert np.isnan(d.no2_24h[0, 0])
    assert explain_invalid(d, "no2_24h").item() == "1 of 20 required hours"


# ----------------------------------------------------------------------------------------------
# 24-hour means: >= 20 valid hours (GB 3095 Table 4)


def test_20_valid_hours_give_a_mean():
    # 20 valid hours of 50 and 4 missing: n = 20 >= 20 -> mean = 1000 / 20 = 50
    d = station_daily(one_day(hours_valid(20)))
    assert float(d.pm25_24h[0, 0]) == 50.0
    assert int(d.n_hours_pm25[0, 0]) == 20
    assert int(d.invalid_pm25_24h[0, 0]) == Invalid.VALID
    assert explain_invalid(d, "pm25_24h").item() == "valid"


def test_19_valid_hours_give_no_mean_and_say_why():
    # n = 19 < 20 -> NaN, coded TOO_FEW_HOURS with the count beside it
    d = station_daily(one_day(hours_valid(19)))
    assert np.isnan(d.pm25_24h[0, 0])
    assert int(d.n_hours_pm25[0, 0]) == 19
    assert int(d.invalid_pm25_24h[0, 0]) == Invalid.TOO_FEW_HOURS
    assert explain_invalid(d, "pm25_24h").item() == "19 of 20 required hours"


def test_no_hour_at_all_is_no_data():
    hourly = one_day(hours_valid(20))
    empty = hourly.assign(pm25=hourly.pm25 * NAN).assign_coords(station=["S2"])
    hourly = xr.concat([hourly, empty], "station")
    d = station_daily(hourly)
    assert int(d.invalid_pm25_24h.sel(station="S2")[0]) == Invalid.NO_DATA
    assert explain_invalid(d, "pm25_24h").sel(station="S2").item() == "no data"


def test_min_hours_is_a_parameter():
    d = station_daily(one_day(hours_valid(18)), min_hours=18)
    assert float(d.pm25_24h[0, 0]) == 50.0
    assert d.attrs["min_hours"] == 18


def test_mean_uses_only_valid_hours_and_is_unrounded():
    # CO, 20 valid hours: ten of 0.6 and ten of 0.7 mg/m3 -> 13 / 20 = 0.65 (kept, not rounded to 0.6)
    values = np.r_[np.full(10, 0.6), np.full(10, 0.7), np.full(4, NAN)]
    d = station_daily(one_day(values, pollutant="co"))
    assert float(d.co_24h[0, 0]) == pytest.approx(0.65)


def test_missing_labels_are_missing_hours_and_order_does_not_matter():
    # Labels 01:00..05:00 absent from the axis -> 19 hours -> NaN; the axis arrives shuffled.
    full = one_day(np.arange(24.0))
    gappy = full.isel(time=np.random.default_rng(0).permutation(np.arange(5, 24)))
    d = station_daily(gappy)
    assert int(d.n_hours_pm25[0, 0]) == 19
    assert np.isnan(d.pm25_24h[0, 0])
    # with 20 labels (01:00..04:00 absent): mean of 4..23 = 13.5
    d = station_daily(full.isel(time=slice(4, None)))
    assert float(d.pm25_24h[0, 0]) == 13.5


def test_days_without_any_label_are_kept_on_the_date_axis():
    a = one_day(hours_valid(24), day="2019-01-01")
    b = one_day(hours_valid(24, 70.0), day="2019-01-04")
    d = station_daily(xr.concat([a, b], "time"))
    assert d.sizes["date"] == 4
    assert d.pm25_24h.values.tolist()[0][0] == 50.0
    assert np.isnan(d.pm25_24h.values[0][1:3]).all()
    assert d.invalid_pm25_24h.values.tolist() == [[0, 1, 1, 0]]


# ----------------------------------------------------------------------------------------------
# O3: 8-hour windows and MDA8 (HJ 663 §6.1.2; windows ending 08..24)


def test_window_needs_6_valid_hours():
    # Only hours 01..06 valid (60, 80, ..., 160). The window ending 08 (hours 01..08) has 6 valid
    # hours -> valid, mean 660 / 6 = 110; the window ending 09 (hours 02..09) has 5 -> invalid.
    # With mda8_min_windows=1 the one valid window makes the MDA8.
    six = np.r_[np.arange(60.0, 161.0, 20.0), np.full(18, NAN)]
    d = station_daily(one_day(six, "o3"), mda8_min_windows=1)
    assert int(d.n_windows_o3[0, 0]) == 1
    assert float(d.o3_mda8[0, 0]) == pytest.approx(110.0)
    # hours 01..05 only: the window ending 08 has 5 valid hours -> no valid window at all
    five = np.r_[np.arange(60.0, 141.0, 20.0), np.full(19, NAN)]
    d = station_daily(one_day(five, "o3"), mda8_min_windows=1)
    assert int(d.n_windows_o3[0, 0]) == 0
    assert np.isnan(d.o3_mda8[0, 0])
    assert int(d.invalid_o3_mda8[0, 0]) == Invalid.TOO_FEW_WINDOWS


def test_full_day_has_17_windows_and_takes_their_maximum():
    # One spike of 200 at hour 12 on a flat 80: every window holding hour 12 (those ending
    # 12..19) has mean (7 x 80 + 200) / 8 = 95 -> MDA8 = 95; O3 1-h max = 200.
    values = np.full(24, 80.0)
    values[11] = 200.0
    d = station_daily(one_day(values, "o3"))
    assert int(d.n_windows_o3[0, 0]) == 17
    assert float(d.o3_mda8[0, 0]) == 95.0
    assert float(d.o3_1h_max[0, 0]) == 200.0


def test_windows_lie_inside_the_natural_day():
    # Day 1: hours 17..24 hold 300, the rest 50 -> the window ending 24 is 300.
    # Day 2: 50 throughout. Windows ending 01..07 of day 2 would reach back into day 1's 300s,
    # but they are not among the 17 windows of day 2 -> its MDA8 is 50.
    time = pd.date_range("2019-07-01 01:00", periods=48, freq="h")
    values = np.r_[np.full(16, 50.0), np.full(8, 300.0), np.full(24, 50.0)]
    hourly = xr.Dataset({"o3": (("station", "time"), [values])}, coords={"station": ["S1"], "time": time})
    d = station_daily(hourly)
    assert d.o3_mda8.values.tolist() == [[300.0, 50.0]]


def hours_1_to(n, value):
    return np.r_[np.full(n, value), np.full(24 - n, NAN)]


def test_e18_13_windows_valid_when_above_160():
    # Hours 01..18 valid: the window ending h holds min(h, 18) - (h - 7) + 1 valid hours:
    # 8 for h <= 18, 7 at 19, 6 at 20, 5 at 21 -> windows 08..20 are valid: 13 of 17.
    # Case 1 (E18): every hour 170 -> MDA8 = 170 > 160 -> valid despite 13 < 14 windows.
    d = station_daily(one_day(hours_1_to(18, 170.0), "o3"))
    assert int(d.n_windows_o3[0, 0]) == 13
    assert float(d.o3_mda8[0, 0]) == 170.0
    assert int(d.invalid_o3_mda8[0, 0]) == Invalid.VALID


def test_e18_13_windows_invalid_when_150():
    # Case 2 (E18): the same 13 windows at 150 -> not above 160 -> invalid, no O3 value that day.
    d = station_daily(one_day(hours_1_to(18, 150.0), "o3"))
    assert int(d.n_windows_o3[0, 0]) == 13
    assert np.isnan(d.o3_mda8[0, 0])
    assert int(d.invalid_o3_mda8[0, 0]) == Invalid.TOO_FEW_WINDOWS
    assert explain_invalid(d, "o3_mda8").item() == "13 of 14 required 8-h windows"


def test_14_windows_are_enough_at_any_value():
    # Hours 01..19 valid -> windows 08..21 valid (21 holds 14..19 = 6 hours): 14 windows -> valid
    d = station_daily(one_day(hours_1_to(19, 150.0), "o3"))
    assert int(d.n_windows_o3[0, 0]) == 14
    assert float(d.o3_mda8[0, 0]) == 150.0


@pytest.mark.parametrize(
    "value, valid",
    [
        (160.0, False),  # 160 is not above 160
        (160.4, False),  # rounds to 160
        (160.5, False),  # GB/T 8170: 5 after an even 0 -> 160
        (160.6, True),  # rounds to 161 > 160
        (161.5, True),  # rounds to 162
    ],
)
def test_the_exception_compares_the_rounded_mda8(value, valid):
    d = station_daily(one_day(hours_1_to(18, value), "o3"))
    assert int(d.n_windows_o3[0, 0]) == 13
    assert (not np.isnan(d.o3_mda8[0, 0])) is valid


def test_exception_can_be_switched_off():
    d = station_daily(one_day(hours_1_to(18, 170.0), "o3"), mda8_valid_if_exceeds=np.inf)
    assert np.isnan(d.o3_mda8[0, 0])


def test_o3_1h_max_needs_20_hours_by_default():
    d = station_daily(one_day(hours_1_to(20, 90.0), "o3"))
    assert float(d.o3_1h_max[0, 0]) == 90.0
    d = station_daily(one_day(hours_1_to(19, 90.0), "o3"))
    assert np.isnan(d.o3_1h_max[0, 0])
    assert explain_invalid(d, "o3_1h_max").item() == "19 of 20 required hours"
    d = station_daily(one_day(hours_1_to(19, 90.0), "o3"), o3_1h_max_min_hours=1)
    assert float(d.o3_1h_max[0, 0]) == 90.0


# ----------------------------------------------------------------------------------------------
# the dataset


def test_output_layout_and_station_coords():
    hourly = one_day(hours_valid(24), city="长沙", is_background=False, name="经开区环保局")
    for p in ("so2", "no2", "pm10", "co", "o3"):
        hourly[p] = hourly["pm25"]
    d = station_daily(hourly)
    assert d.pm25_24h.dims == ("station", "date")
    assert d["city"].item() == "长沙" and d["name"].item() == "经开区环保局"
    assert not d["is_background"].item()
    expected = {f"{p}_24h" for p in ("so2", "no2", "pm10", "pm25", "co")} | {"o3_mda8", "o3_1h_max"}
    expected |= {f"n_hours_{p}" for p in ("so2", "no2", "pm10", "pm25", "co", "o3")} | {"n_windows_o3"}
    expected |= {f"invalid_{v}" for v in list(expected) if not v.startswith("n_")}
    assert set(d.data_vars) == expected
    assert d.n_hours_pm25.dtype.kind == "i" and d.invalid_pm25_24h.dtype == np.int8
    assert d.date.dtype == np.dtype("datetime64[ns]")
    assert d.attrs["assessment"] == "hj663_2013" and d.attrs["mda8_min_windows"] == 14
    assert "GB 3095" in d.pm25_24h.attrs["validity"]


def test_2026_edition_has_the_same_numbers():
    a = station_daily(one_day(hours_1_to(18, 170.0), "o3"), assessment="hj663_2026")
    assert float(a.o3_mda8[0, 0]) == 170.0
    assert a.attrs["limits_standard"] == "gb3095_2026"


@pytest.mark.parametrize(
    "mangle, message",
    [
        (lambda h: h.assign_coords(time=h.time.values + np.timedelta64(30, "m")), "whole-hour"),
        (lambda h: h.isel(time=[0, 0, 1]), "duplicate"),
        (lambda h: h.rename(pm25="pm2_5"), "none of the pollutant"),
        (lambda h: h.rename(time="datetime"), "expected"),
    ],
)
def test_bad_input_is_refused_with_a_message(mangle, message):
    with pytest.raises((ValueError, TypeError), match=message):
        station_daily(mangle(one_day(hours_valid(24))))


def test_unknown_assessment_is_refused():
    with pytest.raises(ValueError, match="HJ 663 edition"):
        station_daily(one_day(hours_valid(24)), assessment="hj633_2012")


# ----------------------------------------------------------------------------------------------
# properties

hourly_values = st.lists(
    st.one_of(st.none(), st.floats(min_value=0, max_value=1000, allow_nan=False)), min_size=24, max_size=24
)


@settings(max_examples=60, deadline=None)
@given(hourly_values)
def test_property_daily_values_lie_within_their_hours(values):
    x = np.array([NAN if v is None else v for v in values])
    hourly = one_day(x, "pm25")
    hourly["o3"] = hourly["pm25"]
    d = station_daily(hourly)
    valid = x[~np.isnan(x)]
    assert int(d.n_hours_pm25[0, 0]) == valid.size == int(d.n_hours_o3[0, 0])
    mean = float(d.pm25_24h[0, 0])
    if valid.size >= 20:
        assert valid.min() - 1e-9 <= mean <= valid.max() + 1e-9
        assert mean == pytest.approx(valid.mean())
    else:
        assert np.isnan(mean)
    mda8 = float(d.o3_mda8[0, 0])
    if not np.isnan(mda8):
        # a mean of some hours is within their range; MDA8 valid only by the HJ 663 rule
        assert valid.min() - 1e-9 <= mda8 <= valid.max() + 1e-9
        assert int(d.n_windows_o3[0, 0]) >= 14 or round_gbt8170(mda8) > 160
    assert 0 <= int(d.n_windows_o3[0, 0]) <= 17


# ----------------------------------------------------------------------------------------------
# real data: the CNEMC archive's own 24-h and 8-h rows

CANONICAL = {"PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3"}
STATIONS = {"1508A": ("板塘", "湘潭"), "1848A": ("城陵矶", "岳阳")}


@pytest.fixture(scope="module")
def january_2019(data_dir):
    """January 2019 of two Hunan stations, hourly rows and the archive's derived rows."""
    # rows are date, hour (0..23), type; the first 12,000 rows run to 2019-02-03
    archive = data_dir / "air" / "hunan_sites_2019_wide.csv.gz"
    raw = pd.read_csv(archive, usecols=["date", "hour", "type", *STATIONS], nrows=12_000)
    day = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    raw["time"] = day + pd.to_timedelta(raw["hour"], unit="h")
    # natural days of January: labels 2019-01-01 01:00 .. 2019-02-01 00:00
    raw = raw[(raw["time"] >= "2019-01-01 01:00") & (raw["time"] <= "2019-02-01 00:00")]
    cube = raw.melt(id_vars=["time", "type"], value_vars=list(STATIONS), var_name="station")
    cube = cube.set_index(["type", "station", "time"])["value"].to_xarray()
    hourly = xr.Dataset({v: cube.sel(type=k, drop=True) for k, v in CANONICAL.items()})
    hourly = hourly.assign_coords(
        name=("station", [STATIONS[s][0] for s in hourly.station.values]),
        city=("station", [STATIONS[s][1] for s in hourly.station.values]),
    )
    return hourly, cube


def archive_at_hour_24(cube, kind):
    """The archive's row *kind* at label D+1 00:00, i.e. at the end of natural day D."""
    a = cube.sel(type=kind, drop=True)
    a = a.isel(time=np.flatnonzero(a.time.dt.hour.values == 0))
    return a.assign_coords(time=a.time.values - np.timedelta64(1, "D")).rename(time="date")


def test_archive_pm25_24h_equals_our_natural_day_mean(january_2019):
    hourly, cube = january_2019
    d = station_daily(hourly)
    assert d.sizes == {"station": 2, "date": 31}
    assert d.city.values.tolist() == ["湘潭", "岳阳"]
    archive = archive_at_hour_24(cube, "PM2.5_24h")
    ours, archive = xr.align(d.pm25_24h, archive, join="inner")
    full = (d.n_hours_pm25 == 24) & archive.notnull()
    assert int(full.sum()) >= 40  # 45 of the 62 station-days have all 24 hours
    # On days with all 24 hours the archive's 24-h moving mean ending at 24:00 is the
    # natural-day mean rounded half to even (GB/T 8170): whole 2019 (82 stations): 17,230 of
    # 17,230 station-days agree; rounding half up would miss ~2%.
    same = (xr.DataArray(round_gbt8170(ours), dims=ours.dims, coords=ours.coords) == archive) & full
    assert int(same.sum()) / int(full.sum()) >= 0.99
    # With 20..23 valid hours the archive's value is not always computed from the hours the file
    # holds (whole 2019: within 1 ug/m3 on 85% of 20-hour days, 98% of 23-hour days; the archive
    # also shows a 24-h value on 2,383 station-days with fewer than 20 hours in the file).
    partial = ours.notnull() & archive.notnull() & ~full
    close = (np.abs(ours - archive) <= 1) & partial
    assert int(partial.sum()) >= 10
    assert int(close.sum()) / int(partial.sum()) >= 0.8


def test_archive_o3_8h_rows_give_our_mda8(january_2019):
    hourly, cube = january_2019
    d = station_daily(hourly)
    full = d.n_hours_o3 == 24
    assert int(full.sum()) >= 40  # 43 of 62
    rounded = xr.DataArray(round_gbt8170(d.o3_mda8), dims=d.o3_mda8.dims, coords=d.o3_mda8.coords)
    # (1) the archive's O3_8h row at labels 08:00 .. 24:00 (= the 17 windows), maximum per day
    o3_8h = cube.sel(type="O3_8h", drop=True)
    hour = o3_8h.time.dt.hour.values
    o3_8h = o3_8h.isel(time=np.flatnonzero((hour >= 8) | (hour == 0)))
    o3_8h = o3_8h.assign_coords(date=("time", natural_day(o3_8h.time.values)))
    archive_max = o3_8h.groupby("date").max()
    ok = full & archive_max.notnull()
    assert int(((rounded == archive_max) & ok).sum()) / int(ok.sum()) >= 0.99
    # (2) the archive's O3_8h_24h at 24:00 is that same natural-day maximum (whole 2019: 17,244
    # of 17,244 full station-days), not a max over the 24 windows ending in the last 24 hours
    archive_day = archive_at_hour_24(cube, "O3_8h_24h")
    rounded, archive_day = xr.align(rounded, archive_day, join="inner")
    ok = full & archive_day.notnull()
    assert int(((rounded == archive_day) & ok).sum()) / int(ok.sum()) >= 0.99
