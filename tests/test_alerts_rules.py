"""Warnings on the bundled data: sections near or over their targets in 2026-08, the 2019 cities
whose budget ran out (and the day it did, checked against the rates engine's own budget), runs of
non-good days, a station silenced by cutting its rows, an empty source."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from envq.alerts import Thresholds, day_warnings
from envq.periods import parse_period
from envq.alerts.rules import air_run_warnings, air_target_warnings, budget_exhausted_days
from envq.errors import InputError
from envq.store import Store


@pytest.fixture(scope="module")
def water_store(tmp_path_factory, data_dir):
    """A store with the bundled July-August 2026 readings and the water results of 2026-08, as the
    nightly run computes them (envq.report.water_results)."""
    from envq import report
    from envq.sources.cnemc_water import read_cnemc_water, to_long

    store = Store(tmp_path_factory.mktemp("water-store") / "s")
    long = to_long(read_cnemc_water(data_dir / "water/hunan_water_auto_20260709_20260823.csv.gz"))
    from flows.parts import PARTS

    with store.lock(run_id="test"):
        store.upsert_water(long, source="water")
        # as the run: the month before too (the reaches compare with it), the basins by geometry
        data = store.read_water(dt.date(2026, 7, 1), dt.date(2026, 8, 23))
        res = report.water_results(data, ["2026-08"])
        res["water_basin_rates"] = PARTS["water"].basin_rates(data, [parse_period("2026-08")])
        store.write_results(res, 2026)
    return store


def test_water_sections_near_or_over_their_targets_in_2026_08(water_store):
    w = day_warnings(water_store, "2026-08-23", parts=["water"])
    assert set(w["part"]) == {"water"}
    sec = w[w["scope"] == "section"].set_index("name")
    # every section whose August class misses its target (the stored verdict) is warned as over
    stored = water_store.read_result("water_sections", "2026-08")
    missing = set(stored.loc[stored["meets_target"].eq(False), "section"])
    assert missing == {"南嘴", "胜利"}
    assert missing <= set(sec.index[sec["rule"] == "water.over_target"])
    # 南嘴 (a Dongting Lake point, lake TP limit 0.05): the month's mean TP 0.056, 0.12 times over
    msg = sec.loc["南嘴", "message"]
    assert "总磷 0.056 mg/L，超过Ⅲ类限值 0.05 mg/L（超标 0.12 倍，Ⅳ类）" in msg and "2026-08（截至 2026-08-23） 均值" in msg
    assert sec.loc["南嘴", "severity"] == "warning"
    assert "洞庭湖省级湖区 省级湖长" in sec.loc["南嘴", "audience"] and "益阳市生态环境局" in sec.loc["南嘴", "audience"]
    # 胜利: DO below the Class III limit, in the latest readings and in the month
    assert sec.loc["胜利", "message"].count("低于Ⅲ类限值 5 mg/L") == 2
    items = json.loads(sec.loc["胜利", "figures"])["items"]
    assert {i["basis"] for i in items} == {"latest", "period"} and {i["item"] for i in items} == {"do"}
    # near only: pH of 马家河 (湘江, in two river-chief reaches) within 0.5 of 9
    assert sec.loc["马家河", "rule"] == "water.near_target" and sec.loc["马家河", "severity"] == "info"
    assert sec.loc["马家河", "reaches"] == "xiang-main-province;xiang-changzhutan-city"
    assert sec.loc["马家河", "link"] == "reaches/xiang-main-province.html"
    assert sec.loc["马家河", "cities"] == "株洲市" and sec.loc["马家河", "basins"] == "湘江"
    # a wider margin warns more sections, never fewer
    wide = day_warnings(water_store, "2026-08-23", parts=["water"], thresholds=Thresholds(water_margin=0.3))
    assert set(sec.index) < set(wide.loc[wide["scope"] == "section", "name"])
    # every section reported that day: no silence, no empty source
    assert not w["rule"].str.startswith("data.").any()
    # the stored verdicts: the 洞庭湖区 basin below the provincial 95%, the Dongting Lake reach with a
    # section missing the reach's target class (its chief is told, the reach page linked)
    share = w[w["rule"] == "water.share_below_target"].set_index("name")
    assert list(share.index) == ["dongting-lake", "洞庭湖区"]
    assert share.loc["洞庭湖区", "message"] == "洞庭湖区 2026-08 Ⅰ~Ⅲ类水质断面比例 88.9%（8/9），低于目标 95%"
    assert share.loc["dongting-lake", "message"] == ("洞庭湖省级湖区 2026-08（截至 2026-08-23） 仅 3/4 个断面达到河段目标"
                                                     "Ⅲ类；Ⅰ~Ⅲ类水质断面比例 75.0%（3/4）")
    assert share.loc["dongting-lake", "audience"] == "洞庭湖省级湖区 省级湖长"
    assert share.loc["dongting-lake", "link"] == "reaches/dongting-lake.html"


def test_water_share_below_target_reads_the_stored_verdict(water_store):
    from envq.alerts.rules import water_share_warnings

    rates = water_store.read_result("water_rates", "2026-08")
    lost = rates.assign(i_iii_target=97.0, target_met=False)  # as a table judged against 97%
    w = water_share_warnings(lost[lost["group"] == "province"], day=dt.date(2026, 8, 23))
    assert w["message"].tolist() == ["湖南省 2026-08（截至 2026-08-23） Ⅰ~Ⅲ类水质断面比例 96.7%（59/61），低于目标 97%"]
    assert w["scope"].tolist() == ["province"] and w["audience"].tolist() == ["湖南省生态环境厅"]
    assert not len(water_share_warnings(rates, day=dt.date(2026, 8, 23)))  # met, or no target: nothing


@pytest.fixture(scope="module")
def city_year(data_dir):
    from envq.air.tables import city_days_table
    from envq.air.pipeline import city_days_from_hourly, read_air

    days, _, _ = city_days_from_hourly(read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz"))
    return days, city_days_table(days)


@pytest.mark.slow
def test_2019_cities_whose_budget_ran_out_and_the_day_it_did(city_year):
    from envq.air.rates import good_day_rates

    days, table = city_year
    w = air_target_warnings(table, day=dt.date(2019, 12, 31))
    lost = w[w["rule"] == "air.budget_exhausted"].set_index("name")
    assert set(lost.index) == {"长沙市", "株洲市", "湘潭市", "岳阳市", "常德市", "益阳市"}
    assert (lost["severity"] == "critical").all()
    on = {n: json.loads(f)["lost_on"] for n, f in lost["figures"].items()}
    assert on == {"益阳市": "2019-09-13", "常德市": "2019-09-24", "长沙市": "2019-09-30", "湘潭市": "2019-10-04",
                  "株洲市": "2019-11-06", "岳阳市": "2019-11-24"}
    assert "长沙市 2019 年（截至 2019-12-31）优良天数比例 76.1%（264/347 天），目标 83%：全年目标已无法完成" \
           "（非优良天数额度已于 2019-09-30 用完）" == lost.loc["长沙市", "message"]
    # the day agrees with the rates engine's own budget: >= 0 through the day before, < 0 that day
    for name, day in on.items():
        d = dt.date.fromisoformat(day)
        before = good_day_rates(days, f"2019-01-01..{d - dt.timedelta(days=1)}").set_index("name")
        that = good_day_rates(days, f"2019-01-01..{d}").set_index("name")
        assert before.loc[name, "budget_non_good_days"] >= 0 > that.loc[name, "budget_non_good_days"], name
    # the province met its target (83.8%): no warning; no city still met and short of budget at year end
    assert "湖南省" not in set(w["name"]) and not (w["rule"] == "air.budget_low").any()


@pytest.mark.slow
def test_budget_low_and_ratio_below_target_in_the_year(city_year):
    from envq.air.rates import good_day_rates

    days, table = city_year
    d = dt.date(2019, 7, 15)
    rates = good_day_rates(days, f"2019-01-01..{d}", by="both")  # the engine, on its own dataset
    w = air_target_warnings(table, day=d, thresholds=Thresholds(budget_days=30))
    r = rates.set_index("name")
    low = w[w["rule"] == "air.budget_low"]
    want_low = r[(r["target_met"] == True) & (r["budget_non_good_days"] <= 30)].index  # noqa: E712
    assert set(low["name"]) == set(want_low) and len(want_low)
    below = w[w["rule"] == "air.ratio_below_target"].set_index("name")
    want = r[(r["target_met"] == False) & (r["budget_non_good_days"] >= 0)].index  # noqa: E712
    assert set(below.index) == set(want) and len(want)
    name = want[0]
    assert f"至多还可有 {int(r.loc[name, 'budget_non_good_days'])} 个非优良天" in below.loc[name, "message"]
    assert "余下 169 天" in below.loc[name, "message"]
    # nothing lost by mid-July
    assert budget_exhausted_days(table[pd.to_datetime(table["date"]) <= pd.Timestamp(d)],
                                 r["target"], year=2019).empty


@pytest.mark.slow
def test_runs_of_non_good_days_at_the_end_of_2019(city_year):
    _, table = city_year
    w = air_run_warnings(table, day=dt.date(2019, 12, 31)).set_index("name")
    f = {n: json.loads(x) for n, x in w["figures"].items()}
    assert {n: v["days"] for n, v in f.items()} == {"益阳市": 6, "湘潭市": 5, "衡阳市": 5, "永州市": 4, "株洲市": 3}
    t = table.assign(date=pd.to_datetime(table["date"])).set_index(["city", "date"])
    for city, v in f.items():  # the run really is non-good, and the day before it is not
        run = t.loc[city].loc[v["start"]:"2019-12-31"]
        assert (run["aqi"] > 100).all() and len(run) == v["days"]
        before = t.loc[(city, pd.Timestamp(v["start"]) - pd.Timedelta(days=1))]
        assert not (before["valid"] and before["aqi"] > 100)
    assert "益阳市已连续 6 天空气质量非优良（2019-12-26 至 2019-12-31）" in w.loc["益阳市", "message"]
    assert air_run_warnings(table, day=dt.date(2019, 12, 31), thresholds=Thresholds(non_good_run_days=6)) \
        ["name"].tolist() == ["益阳市"]


def _air_store(root, hourly, *, cut=None):
    store = Store(root)
    ds = hourly
    if cut is not None:
        code, since = cut
        ds = hourly.copy(deep=True)
        t = pd.DatetimeIndex(ds["time"].values) > pd.Timestamp(since)
        for v in ("pm25", "pm10", "so2", "no2", "co", "o3"):
            a = ds[v].transpose("station", "time").values.copy()
            a[list(ds["station"].values).index(code), t] = np.nan
            ds[v] = (("station", "time"), a)
    with store.lock(run_id="test"):
        store.upsert_air(ds, source="air")
    return store


@pytest.fixture(scope="module")
def july(data_dir):
    from envq.air.pipeline import read_air

    ds = read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz")
    return ds.sel(time=slice("2019-07-09T01:00", "2019-07-16T00:00"))


def test_a_station_silenced_by_cutting_its_rows(tmp_path, july):
    store = _air_store(tmp_path / "s", july, cut=("1520A", "2019-07-13T12:00"))
    w = day_warnings(store, "2019-07-15", parts=["air"])
    silent = w[w["rule"] == "data.silent"].set_index("name")
    assert "1520A" in silent.index
    assert silent.loc["1520A", "message"] == "空气站点 1520A 火车站（株洲市） 最后数据 2019-07-13 12:00，已 60 小时无数据"
    assert silent.loc["1520A", "severity"] == "warning" and silent.loc["1520A", "cities"] == "株洲市"
    assert "株洲市生态环境局" in silent.loc["1520A", "audience"]
    assert json.loads(silent.loc["1520A", "figures"])["hours"] == 60
    # the stations that never report in the 2019 extract are silent for the whole window
    assert "7 天内（2019-07-09 起）无任何数据" in silent.loc["1853A", "message"]
    # a longer threshold: 1520A is not silent yet
    w72 = day_warnings(store, "2019-07-15", parts=["air"], thresholds=Thresholds(silent_hours=72))
    assert "1520A" not in set(w72.loc[w72["rule"] == "data.silent", "name"])
    # the uncut store: 1520A reported that day
    full = day_warnings(_air_store(tmp_path / "full", july), "2019-07-15", parts=["air"])
    assert "1520A" not in set(full.loc[full["rule"] == "data.silent", "name"])


def test_an_empty_source_and_an_incomplete_day(tmp_path, july):
    store = _air_store(tmp_path / "s", july.sel(time=slice(None, "2019-07-15T00:00")))
    w = day_warnings(store, "2019-07-15", parts=["air"])
    empty = w[w["rule"] == "data.source_empty"]
    assert empty["message"].tolist() == ["空气数据源 2019-07-15 无任何数据"] and empty["severity"].tolist() == ["critical"]
    store = _air_store(tmp_path / "t", july.sel(time=slice(None, "2019-07-15T18:00")))
    w = day_warnings(store, "2019-07-15", parts=["air"])
    inc = w[(w["rule"] == "data.day_incomplete") & (w["scope"] == "source")]
    assert inc["message"].tolist() == ["空气数据源 2019-07-15 仅 18/24 小时有数据（缺 19时、20时、21时、22时、23时、24时）"]


def test_thresholds_from_the_configuration():
    assert Thresholds.from_config({"budget_days": 8, "water_margin": 0.2}) == Thresholds(budget_days=8, water_margin=0.2)
    with pytest.raises(InputError, match="warnings.budget_day.*is not a setting"):
        Thresholds.from_config({"budget_day": 8})
    with pytest.raises(InputError, match="warnings.silent_hours.*non-negative number"):
        Thresholds.from_config({"silent_hours": "24"})
    with pytest.raises(InputError, match="below 1"):
        Thresholds.from_config({"water_margin": 10})



def test_a_station_day_left_incomplete_cites_the_validity_rule_in_force(tmp_path, july):
    """1861A reported PM2.5 in only 16 hours of 2019-07-15 (the bundled extract, as published): its
    daily mean is invalid by GB 3095-2012 Table 4 (a 24-hour mean needs 20 hourly values), and the
    message names that rule, not HJ 663."""
    store = _air_store(tmp_path / "s", july)
    w = day_warnings(store, "2019-07-15", parts=["air"])
    inc = w[(w["rule"] == "data.day_incomplete") & (w["scope"] == "station")].set_index("name")
    assert inc.loc["1861A", "severity"] == "info"
    assert inc.loc["1861A", "message"].endswith("2019-07-15 仅 16 小时 PM2.5 有效，日均值无效（GB 3095-2012 表4：至少 20 小时）")
    assert json.loads(inc.loc["1861A", "figures"]) == {"pm25_hours": 16, "min_hours": 20}
    assert {"1518A", "2031A", "2486A"} <= set(inc.index)  # 6, 13 and 1 hours
