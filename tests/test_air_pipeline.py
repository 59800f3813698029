"""The air chain as a user runs it: edition switch by natural day, real-data figures, the CLI."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq.air.aqi import PUBLICATION, compute_aqi, hourly_aqi
from envq.air.pipeline import city_days_from_hourly, read_air
from envq.air.rates import good_day_rates


def _hourly(times, **values):
    n = len(times)
    data = {p: (("station", "time"), np.full((1, n), values.get(p, np.nan), float))
            for p in ("pm25", "pm10", "so2", "no2", "co", "o3")}
    return xr.Dataset(data, coords={"station": ["X"], "time": pd.to_datetime(times)})


def test_hourly_edition_switches_with_the_natural_day_not_the_label():
    # PM2.5 70: 2012 -> 50 + 50/40*35 = 93.75 -> 94; 2026 -> 100 + 50/55*10 = 109.09 -> 110.
    # The label 2026-03-01 00:00 is hour 24 of 2026-02-28, still under HJ 633-2012.
    ds = _hourly(["2026-02-28T23:00", "2026-03-01T00:00", "2026-03-01T01:00"],
                 pm25=70, pm10=20, so2=5, no2=10, co=0.5, o3=50)
    res = hourly_aqi(ds)
    assert res["aqi"].values[0].tolist() == [94.0, 94.0, 110.0]
    assert res.attrs["edition"] == "hj633_2012+hj633_2026"


def test_2012_so2_above_800_without_a_24h_value_is_undetermined_not_missing():
    res = compute_aqi({"pm25": np.array([10.0]), "pm10": np.array([20.0]), "so2": np.array([900.0]),
                       "no2": np.array([10.0]), "co": np.array([0.5]), "o3": np.array([50.0])},
                      edition="hj633_2012", report="hourly")
    assert np.isnan(res["aqi"][0]) and res["publication"][0] == 4 and res["missing_mask"][0] == 0
    assert "SO2 1-hour above 800" in PUBLICATION[4]


@pytest.fixture(scope="module")
def hunan_city_days(data_dir):
    hourly = read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz")
    return city_days_from_hourly(hourly)[0]


def test_changsha_january_2019_day_rules(hunan_city_days):
    # The archive lacks PM10 for Changsha on most January days: the strict rule keeps 5 of 31.
    r = good_day_rates(hunan_city_days, "2019-01").set_index("name").loc["长沙市"]
    assert (r.valid_days, r.valid_days_all_six) == (31, 5)


def test_2019_province_is_the_mean_of_its_14_cities(hunan_city_days):
    r = good_day_rates(hunan_city_days, "2019", by="both")
    cities = r[r.scope == "city"]
    prov = r[r.scope == "province"].iloc[0]
    assert len(cities) == 14 and prov.n_cities == 14
    unrounded = (100 * cities.good_days / cities.valid_days).mean()
    assert prov.good_day_ratio == round(unrounded, 1) == 83.8
    assert cities.valid_days.between(330, 365).all()


def test_city_mda8_method_is_a_parameter_that_matters(data_dir):
    hourly = read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz").isel(time=slice(24 * 180, 24 * 211))
    a = city_days_from_hourly(hourly, screen=False)[0]["o3_mda8"]
    b = city_days_from_hourly(hourly, screen=False, mda8_method="mda8_of_city_hourly")[0]["o3_mda8"]
    both = np.isfinite(a.values) & np.isfinite(b.values)
    assert both.sum() > 300
    assert 0 < np.abs(a.values - b.values)[both].mean() < 15  # a few ug/m3 on average, not equal


def _envq(*args):
    return subprocess.run([sys.executable, "-m", "envq.cli", *map(str, args)], capture_output=True, text=True)


def test_cli_rates_province_and_city(data_dir, tmp_path):
    out = tmp_path / "q.csv"
    run = _envq("air", "rates", data_dir / "air/hunan_sites_2019_wide.csv.gz", "--period", "2019",
                "--by", "both", "--output", out)
    assert run.returncode == 0, run.stderr
    df = pd.read_csv(out)
    for col in ("scope", "name", "period", "valid_days", "good_days", "good_day_ratio"):
        assert col in df.columns
    prov = df[df.scope == "province"].iloc[0]
    assert (prov["name"], prov.good_day_ratio, bool(prov.target_met)) == ("湖南省", 83.8, True)


def test_cli_keeps_hunan_from_national_files(data_dir, tmp_path):
    out = tmp_path / "r.csv"
    run = _envq("air", "rates", data_dir / "air/china_sites_20190101.csv.gz", "--period",
                "2019-01-01..2019-01-01", "--output", out)
    assert run.returncode == 0, run.stderr
    names = set(pd.read_csv(out)["name"])
    assert names <= {"长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市", "张家界市", "益阳市",
                     "郴州市", "永州市", "怀化市", "娄底市", "湘西土家族苗族自治州"} and len(names) == 14
    run = _envq("air", "rates", data_dir / "air/china_sites_20190101.csv.gz", "--period",
                "2019-01-01..2019-01-01", "--province", "all", "--output", out)
    assert run.returncode == 0 and len(pd.read_csv(out)) > 300


def test_cli_stats_screen_and_city_days(data_dir, tmp_path):
    src = data_dir / "air/hunan_sites_2019_wide.csv.gz"
    run = _envq("air", "stats", src, "--period", "2019", "--output", tmp_path / "s.csv")
    assert run.returncode == 0, run.stderr
    stats = pd.read_csv(tmp_path / "s.csv").set_index("city")
    assert len(stats) == 14 and stats.loc["长沙市", "pm25_mean"] == 48
    assert 4 < stats.loc["长沙市", "composite_index"] < 5
    run = _envq("air", "screen", src, "--output", tmp_path / "x.csv")
    assert run.returncode == 0, run.stderr
    log = pd.read_csv(tmp_path / "x.csv", dtype=str)
    hit = log[(log.station == "2484A") & (log.variable == "o3")]
    assert hit.value.astype(float).tolist() == [1200.0] and hit.rule.iloc[0] == "spike"
    run = _envq("air", "city-days", src, "--output", tmp_path / "d.csv")
    assert run.returncode == 0, run.stderr
    days = pd.read_csv(tmp_path / "d.csv", dtype={"date": str})
    # Every calendar day from the first to the last one touched, invalid ones included:
    # 2018-12-31 holds the data's first label (2019-01-01 00:00 is its hour 24), and 2019-04-08,
    # missing upstream, is listed as invalid for every city rather than left out.
    assert days["date"].min() == "2018-12-31" and len(days) == 14 * 366
    for gap in ("2018-12-31", "2019-04-08"):
        rows = days[days["date"] == gap]
        assert len(rows) == 14 and not rows["valid"].any()
    assert set(days.columns) >= {"city", "date", "aqi", "category", "primary_pollutant", "valid", "missing_pollutants"}


@pytest.mark.parametrize(("args", "message"), [
    (["air", "rates", "nope.csv", "--period", "2019"], "nope.csv"),
    (["air", "rates", "{data}/air/hunan_sites_2019_wide.csv.gz", "--period", "2019-13"], "period '2019-13'"),
    (["air", "rates", "{data}/air/hunan_sites_2019_wide.csv.gz", "--period", "2018"], "has no data"),
])
def test_cli_bad_input_exits_2_with_a_message(data_dir, args, message):
    run = _envq(*[a.format(data=data_dir) for a in args])
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


def test_statistics_of_periods_are_those_of_each_period_bit_for_bit(hunan_city_days):
    # air_statistics takes every period of a run at once; each period's numbers must be exactly
    # those of period_statistics(period=p): same means (to the last bit), percentiles, counts, flags
    from envq.air.stats import period_statistics, statistics_of_periods

    keep = ["so2_24h", "no2_24h", "pm10_24h", "pm25_24h", "co_24h", "o3_mda8"]
    days = hunan_city_days[keep]
    periods = ["2019-02", "2019-Q1", "2019", "2019-01-01..2019-08-31", "2019-03-05..2019-03-20",
               "2018-12-20..2019-01-10"]   # the last: days before the data count as days without values
    for layout in (days, days.transpose("date", "city")):
        many = statistics_of_periods(layout, periods, rounded=False)
        assert many.sizes["period"] == len(periods)
        assert many.period_label.values.tolist() == periods
        for k, p in enumerate(periods):
            one = period_statistics(layout, period=p, rounded=False)
            assert list(one.data_vars) == list(many.data_vars)
            for v in one.data_vars:
                a, b = one[v].isel(period=0).values, many[v].isel(period=k).values
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), (p, v)
    jan = statistics_of_periods(days, ["2019-01"], rounded=True).sel(city="长沙市").isel(period=0)
    assert int(jan.n_days_pm10) == int(days.pm10_24h.sel(city="长沙市").isel(date=slice(0, 31)).notnull().sum())


def test_rates_of_many_periods_are_those_of_each_period(hunan_city_days):
    # the run's rates of all its periods at once: the very rows good_day_rates gives period by
    # period (values, dtypes, column order), whatever the periods (a budget for those from
    # 1 January only, a period without data left out) and the grouping
    from envq.air.rates import good_day_rates_of_periods
    from envq.errors import NoDataError
    from envq.targets import AIR, Target, Targets

    periods = ["2019-02", "2019-01", "2019-Q1", "2019", "2019-01-01..2019-08-31", "2018-12", "2019-03-05..2019-03-20"]
    targets = Targets().with_rows([Target(AIR, "city", "长沙市", 2019, 90.0, "test")])
    for kw in ({"by": "both"}, {"by": "province", "province_method": "pooled"}, {"by": "city", "targets": targets}):
        rows = []
        for p in periods:
            try:
                rows.append(good_day_rates(hunan_city_days, p, **kw))
            except NoDataError:
                continue
        one_by_one = pd.concat(rows, ignore_index=True)
        at_once = good_day_rates_of_periods(hunan_city_days, periods, **kw)
        pd.testing.assert_frame_equal(at_once, one_by_one, check_exact=True)
        assert list(at_once.dtypes.astype(str)) == list(one_by_one.dtypes.astype(str))
    assert at_once.set_index(["name", "period"]).loc[("长沙市", "2019"), "target"] == 90.0


def test_station_daily_of_the_csv_year_keeps_its_dims_whatever_the_path(data_dir):
    """The Hunan 2019 file read as CSV carries an ``in_plan (station, pollutant)`` coord: the
    station daily values stay (station, date) with the station coords, the same whether the
    hourly values are NumPy arrays, dask arrays or taken a month at a time (before the NumPy
    kernels path, every path gave that; it then added a ``pollutant`` dimension)."""
    from envq.air.daily import station_daily
    from envq.air.pipeline import station_daily_by_month
    from envq.air.screening import screen

    hourly = read_air(data_dir / "air" / "hunan_sites_2019_wide.csv.gz")
    assert hourly["in_plan"].dims == ("station", "pollutant")
    part = hourly.sel(time=slice("2019-01-01T01:00", "2019-03-01T00:00"))
    numpy_path = station_daily(part)
    assert numpy_path.sizes == {"station": 82, "date": 59}
    xr.testing.assert_identical(numpy_path, station_daily(part.chunk({"time": 24 * 10})).compute())
    by_month, _, _ = station_daily_by_month(part)
    xr.testing.assert_identical(by_month, station_daily(screen(part)[0]))
    assert by_month.sizes == {"station": 82, "date": 59}
