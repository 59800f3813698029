"""One verdict everywhere (issue 11): a rate is judged once, by its engine, with the rule of
envq.targets (the published one-decimal value against the target), and the stored table, the
headline, the Prefect artifact table and the map pages all show that verdict.

189 of 199 sections is 94.97%, published 95.0%: it meets 95%. 73 good days of 88 valid is
82.95%, published 83.0%: it meets 83%. Judging the exact share would say "not met" for both.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq import report
from envq.air.city import city_daily_aqi
from envq.air.tables import city_days_table
from envq.store import Store
from envq.water.registry import load_registry
from flows.pipeline import artifact_rows

# the 14 cities of Hunan as the geometry pack names them (the air map colours them)
CITIES = ["长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市", "张家界市", "益阳市", "郴州市",
          "永州市", "怀化市", "娄底市", "湘西土家族苗族自治州"]


def city_days_q1_2019() -> xr.Dataset:
    """Q1 2019 (90 days) in every city: 73 good days (PM2.5 60 -> AQI 82), 15 not good (76 -> 102)
    and 2 without a valid value: 73 / 88 = 82.95%."""
    dates = pd.date_range("2019-01-01", "2019-03-31", freq="D")
    day = np.array([60.0] * 73 + [76.0] * 15 + [np.nan] * 2)
    pm25 = np.tile(day, (len(CITIES), 1))
    ok = np.isfinite(pm25)
    daily = xr.Dataset({
        "pm25_24h": (("city", "date"), pm25),
        "o3_mda8": (("city", "date"), np.where(ok, 50.0, np.nan)),
        "o3_1h_max": (("city", "date"), np.where(ok, 60.0, np.nan)),
        "so2_24h": (("city", "date"), np.where(ok, 5.0, np.nan)),
        "no2_24h": (("city", "date"), np.where(ok, 10.0, np.nan)),
        "pm10_24h": (("city", "date"), np.where(ok, 20.0, np.nan)),
        "co_24h": (("city", "date"), np.where(ok, 0.5, np.nan)),
    }, coords={"city": CITIES, "date": dates})
    return xr.merge([daily, city_daily_aqi(daily)], compat="override")


def water_july_2026(tmp_path):
    """199 river sections read once on 2026-07-15: 189 in Class II (NH3-N 0.4), 10 in Class IV (1.2)."""
    names = [f"断面{i:03d}" for i in range(199)]
    reg = tmp_path / "registry.csv"
    pd.DataFrame({"section": names, "river": "湘江", "system": "湘江", "water_body": "river", "city": "长沙市",
                  "county": "", "lon": "", "lat": ""}).to_csv(reg, index=False)
    long = pd.DataFrame({"section": names, "time": pd.Timestamp("2026-07-15 08:00"), "item": "nh3n",
                         "value": [0.4] * 189 + [1.2] * 10, "below_detection": False, "source_kind": "automatic"})
    return long, load_registry(reg)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The results as a run stores them, the headline, the artifact rows and the maps."""
    from maps.render import render_maps

    tmp = tmp_path_factory.mktemp("verdict")
    cd = city_days_q1_2019()
    air = report.air_period_rates(cd, ["2019-Q1"])
    long, registry = water_july_2026(tmp)
    water = report.water_results(long, ["2026-07"], registry=registry, reaches={})
    store = Store(tmp / "store")
    with store.lock(run_id="verdict"):
        store.write_results({"air_rates": air, "air_city_days": city_days_table(cd)}, 2019)
        store.write_results(water, 2026)
    headline = report.headline_markdown(store.read_result("air_rates", "2019-Q1"),
                                        store.read_result("water_rates", "2026-07"))
    rows = artifact_rows(store.read_result("air_rates", "2019-Q1"), None) + \
        artifact_rows(store.read_result("water_rates", "2026-07"), None)
    maps = render_maps(store, tmp / "maps", period="2019-Q1", water_period="2026-07")
    return store, headline, rows, maps


def test_the_stored_tables_hold_the_engines_verdict(published):
    store = published[0]
    w = store.read_result("water_rates", "2026-07").set_index(["group", "name"]).loc[("province", "湖南省")]
    assert (w["sections_i_iii"], w["sections"]) == (189, 199) and w["i_iii_share"] < 95  # 94.97% exactly
    assert w["i_iii_target"] == 95.0 and bool(w["target_met"]) is True
    a = store.read_result("air_rates", "2019-Q1").set_index("name")
    assert (a.loc["长沙市", "good_days"], a.loc["长沙市", "valid_days"]) == (73, 88)  # 82.95% exactly
    assert a.loc["湖南省", "good_day_ratio"] == 83.0 and a.loc["湖南省", "target"] == 83.0
    assert a["target_met"].astype(bool).all()  # every city and the province


def test_the_headline_shows_the_same_verdict(published):
    md = published[1]
    assert "**湖南省 province: 95.0%** (189/199 sections; target 95%: ✅ 达标 met)" in md
    assert "**湖南省 province: 83.0%** (target 83%: ✅ 达标 met)" in md
    assert "| 长沙市 | 83.0% | 73/88 | ✅ 达标 met |" in md
    assert "未达标" not in md


def test_the_artifact_table_shows_the_same_verdict(published):
    rows = {(r["kind"], r["name"]): r for r in published[2]}
    assert rows[("water", "湖南省")] == {"kind": "water", "scope": "province", "name": "湖南省",
                                            "period": "2026-07", "value_pct": 95.0, "count": "189/199",
                                            "target": 95.0, "target_met": True}
    assert rows[("air", "湖南省")]["value_pct"] == 83.0 and rows[("air", "湖南省")]["target_met"] is True
    assert all(r["target_met"] is True for r in rows.values() if r["kind"] == "air")


def test_the_map_pages_show_the_same_verdict(published):
    maps = published[3]
    index = maps.index.read_text(encoding="utf-8")
    water_card = re.search(r'<div class="card envq-headline-water">.*?</div></div>', index, re.S)[0]
    air_card = re.search(r'<div class="card envq-headline-air">.*?</div></div>', index, re.S)[0]
    for card, value in ((water_card, "95.0%"), (air_card, "83.0%")):
        assert f'<div class="big">{value}</div>' in card
        assert "target met" in card and "short by" not in card
    water_page = maps.pages["water"].read_text(encoding="utf-8")
    assert "湖南省 95.0% (189/199，目标 target 95%，达标)" in water_page
    air_page = maps.pages["air"].read_text(encoding="utf-8")
    assert "湖南省 83.0%（目标 target 83%，达标）" in air_page
