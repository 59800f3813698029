"""Every figure of a bulletin is a stored result, computed by the library function the flow calls
(envq.report.air_results / water_results), and the bulletin reads only the store (issue 13).

- the 2019-08 bulletin of the bundled 2019 data: the cities at 100%, ranks 1..14 following the
  composite index, 同比 empty with its reason, every concentration and index present, the year to
  date beside the month; the figures equal the stored results;
- water: the July -> August 2026 环比 of every system equals the difference of the stored rates;
- constructed stores (a few stations, two years): 同比 in points and percent from published
  values (a published 27 against 29 is -6.9%), ties sharing a rank, and August 2026 compared
  with August 2025 on the same basis (HJ 633-2026).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from envq.errors import NoDataError

from _bulletin_store import real_store, store_of, synthetic_hourly
from envq.bulletin import build_bulletin
from envq.targets import published

pytestmark = pytest.mark.slow

CITIES_14 = ("长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市", "张家界市", "益阳市", "郴州市",
             "永州市", "怀化市", "娄底市", "湘西州")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return real_store(tmp_path_factory.mktemp("bulletin-real") / "store")


@pytest.fixture(scope="module")
def aug(store):
    return build_bulletin(store, "2019-08", generated="2026-12-06 10:00")


def test_the_flow_library_stores_what_the_bulletin_reads(store):
    held = set(store.result_names())
    assert {"air_statistics", "water_lakes"} <= held
    assert "2019-01-01..2019-08-31" in {p.label for p in store.result_periods("air_statistics")}
    assert "2026-01-01..2026-08-31" in {p.label for p in store.result_periods("water_rates")}
    # exceedance days by primary pollutant are counted with the rates
    r = store.read_result("air_rates", "2019-08").set_index("name")
    exceed = [c for c in r.columns if c.startswith("exceed_")]
    assert exceed and (r[exceed].sum(axis=1) >= r["valid_days"] - r["good_days"]).all()
    assert int(r.loc["湖南省", "exceed_臭氧8小时"]) == 33


def test_2019_08_cities_ranks_and_missing_yoy(aug, store):
    air = aug.facts["air"]
    assert air["cities_100"] == ["张家界市", "郴州市", "湘西州"]
    t = aug.tables["air_pollutants"].frame
    cities = t[t["name"].isin(CITIES_14)]
    assert len(cities) == 14
    assert sorted(cities["rank_index"].astype(int)) == list(range(1, 15))  # no tie in August 2019
    by_index = cities.sort_values("composite_index")
    assert by_index["rank_index"].astype(int).tolist() == list(range(1, 15))
    assert air["best"] == ["湘西州", "张家界市", "永州市"] and air["worst"] == ["娄底市", "邵阳市", "湘潭市"]
    # 同比: empty, with the reason
    assert aug.tables["air_cities"].frame["ratio_yoy"].isna().all()
    assert "no 2018 data in the store" in air["yoy_note"]
    assert any("no 2018 data in the store" in n for n in aug.tables["air_pollutants"].notes)


def test_2019_08_every_figure_is_the_stored_one(aug, store):
    t = aug.tables["air_pollutants"].frame
    for col in ("pm25", "pm10", "o3", "so2", "no2", "co", "composite_index"):
        assert t[col].notna().all(), col  # 14 cities and the province
    from envq.bulletin.words import published_name

    stats = store.read_result("air_statistics", "2019-08")
    stats = stats.assign(name=stats["name"].map(published_name)).set_index("name")
    mine = t.set_index("name")
    for name in CITIES_14:
        assert mine.loc[name, "composite_index"] == stats.loc[name, "composite_index"]
        assert mine.loc[name, "pm25"] == stats.loc[name, "pm25_mean"]
        assert mine.loc[name, "o3"] == stats.loc[name, "o3_mda8_p90"]
        assert mine.loc[name, "co"] == stats.loc[name, "co_p95"]
    # the province: the mean of the cities' published concentrations, rounded (GB/T 8170)
    city_pm25 = stats.loc[list(CITIES_14), "pm25_mean"].mean()
    assert mine.loc["湖南省", "pm25"] == stats.loc["湖南省", "pm25_mean"] == round(city_pm25)
    rates = store.read_result("air_rates", "2019-08")
    rates = rates.assign(name=rates["name"].map(published_name)).set_index("name")
    cities = aug.tables["air_cities"].frame.set_index("name")
    assert cities.loc["湖南省", "good_day_ratio"] == rates.loc["湖南省", "good_day_ratio"] == 90.3
    assert cities.loc["长沙市", "exceed_days"] == rates.loc["长沙市", "valid_days"] - rates.loc["长沙市", "good_days"]
    # 环比 from the stored July figures
    july = store.read_result("air_rates", "2019-07").set_index("name")
    assert cities.loc["湖南省", "ratio_mom"] == pytest.approx(90.3 - july.loc["湖南省", "good_day_ratio"])
    # the year to date beside the month, from its own stored results
    ytd = aug.tables["air_cities_ytd"].frame.set_index("name")
    stored = store.read_result("air_rates", "2019-01-01..2019-08-31").set_index("name")
    assert ytd.loc["湖南省", "good_day_ratio"] == stored.loc["湖南省", "good_day_ratio"]
    assert aug.tables["air_pollutants_ytd"].frame["composite_index"].notna().all()


def test_report_command_on_the_store(store, tmp_path, capsys):
    from openpyxl import load_workbook

    from envq.cli import main

    code = main(["report", "--period", "2019-08", "--format", "xlsx,md,csv", "--output", str(tmp_path),
                 "--store", str(store.root)])
    assert code == 0, capsys.readouterr().err
    wb = load_workbook(tmp_path / "2019-08" / "bulletin.xlsx")
    assert "空气污染物与综合指数" in wb.sheetnames and "空气污染物与综合指数(累计)" in wb.sheetnames
    csv = pd.read_csv(tmp_path / "2019-08" / "csv" / "air_pollutants.csv", encoding="utf-8-sig")
    assert csv["composite_index"].notna().all() and len(csv) == 15
    md = (tmp_path / "2019-08" / "bulletin.md").read_text(encoding="utf-8")
    assert "从好到差依次为：湘西州、张家界市、永州市" in md


def test_a_period_the_store_holds_nothing_of_is_no_data_not_an_empty_bulletin(store, tmp_path, capsys):
    """2018-08 (the store holds 2019 air and 2026 water): exit 2 with what the store covers, and no
    file written; an empty bulletin handed round would read as a month without pollution."""
    from envq.cli import main

    with pytest.raises(NoDataError) as err:
        build_bulletin(store, "2018-08", generated="x")
    assert err.value.span.startswith("air 2019-") and "water 2026-" in err.value.span
    code = main(["report", "--period", "2018-08", "--format", "md", "--output", str(tmp_path), "--store", str(store.root)])
    assert code == 2 and "period 2018-08 (2018-08-01..2018-08-31) has no data" in capsys.readouterr().err
    assert not (tmp_path / "2018-08").exists()


def test_water_july_to_august_2026_mom_of_every_system(store):
    b = build_bulletin(store, "2026-08", parts=["water"], generated="x")
    t = b.tables["water_systems"].frame
    jul = store.read_result("water_rates", "2026-07")
    augr = store.read_result("water_rates", "2026-08")
    key = ["group", "name"]
    both = augr.merge(jul, on=key, suffixes=("_aug", "_jul"))
    from envq.bulletin.words import published_name

    both["display"] = both["name"].map(published_name)
    assert len(both) >= 7  # six systems (and the unassigned), the province
    got = t.set_index("name")
    for _, r in both.iterrows():
        want = round(float(published(r["i_iii_share_aug"])) - float(published(r["i_iii_share_jul"])), 1)
        assert got.loc[r["display"], "i_iii_mom"] == pytest.approx(want), r["display"]
        assert got.loc[r["display"], "i_iii_share"] == float(published(r["i_iii_share_aug"]))
    prov = got.loc["湖南省"]
    assert (prov["i_iii_share"], prov["i_iii_mom"]) == (96.7, 1.6)  # make demo: 95.1% July, 96.7% August
    # Dongting Lake, from the stored lake result
    lake = store.read_result("water_lakes", "2026-08")
    dt_row = b.tables["water_dongting"].frame
    assert dt_row["tli"].to_numpy() == pytest.approx(lake["tli"].to_numpy())
    # the year to date beside the month
    assert "water_systems_ytd" in b.tables


def _same_rows(stored: pd.DataFrame, computed: pd.DataFrame) -> None:
    """The stored rows equal the computed ones (every column, the Parquet dtypes aside)."""
    assert len(computed) and list(stored.columns) == list(computed.columns)
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), computed.reset_index(drop=True), check_dtype=False)


def test_basin_rates_of_the_year_to_date_are_stored(store):
    # the run files the basin rates of the years to date beside each period, like the city and
    # system rates (the bulletins' 1-8月累计): the same rows as geo.areas computes for that range
    from envq.periods import parse_period
    from envq.water.screen import screen
    from geo.areas import air_rates_by_area, water_rates_by_area

    ytd = "2019-01-01..2019-08-31"
    assert ytd in {p.label for p in store.result_periods("air_basin_rates")}
    hourly = store.read_air(dt.date(2019, 1, 1), dt.date(2019, 12, 31))  # as the run read the year
    want = air_rates_by_area(hourly, "basins", parse_period(ytd), scope="basin")
    got = store.read_result("air_basin_rates", ytd)
    _same_rows(got, want)
    assert set(got["name"]) >= {"湘江", "资水", "沅江", "澧水"} and (got["period"] == ytd).all()
    # eight months, not the month: more valid days than August's rows
    aug = store.read_result("air_basin_rates", "2019-08").set_index("name")
    assert (got.set_index("name")["valid_days"] > aug.loc[got["name"], "valid_days"].to_numpy()).all()

    wytd = "2026-01-01..2026-08-31"
    assert wytd in {p.label for p in store.result_periods("water_basin_rates")}
    long, _ = screen(store.read_water(dt.date(2026, 6, 1), dt.date(2026, 8, 31)))
    wwant = water_rates_by_area(long, "basins", parse_period(wytd), scope="basin")
    _same_rows(store.read_result("water_basin_rates", wytd), wwant)
    # the 2026-08 bulletin's 1-8月 basin table, from the stored result (no missing reason)
    b = build_bulletin(store, "2026-08", parts=["water"], generated="x")
    tab = b.tables["water_basins_ytd"]
    assert set(tab.frame["name"]) >= {"湘江", "洞庭湖区"}
    assert not any("no results for" in n or "no 2026 data" in n for n in tab.notes)
    assert not any("no results for" in p or "no 2026 data" in p for s in b.sections for p in s.paragraphs)


# ------------------------------------------------------------------------------------------------
# constructed stores


def _month(year: int, month: int = 8) -> list[dt.date]:
    first = dt.date(year, month, 1)
    return [first + dt.timedelta(days=i) for i in range(31)]


STATIONS = {"A1": "长沙市", "B1": "株洲市", "C1": "湘潭市", "D1": "衡阳市"}


def _pm25_2019(code, day):
    # 长沙 27, 株洲 and 湘潭 30 (tied), 衡阳 5 days at 100 (light pollution) and 26 at 30
    return {"A1": 27, "B1": 30, "C1": 30}.get(code, 100 if day.day <= 5 else 30)


def _pm25_2018(code, day):
    return {"A1": 29, "B1": 30, "C1": 33}.get(code, 40)


def test_yoy_from_published_values_and_ties(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the province averages 4 cities, not 14
        store = store_of(tmp_path, (synthetic_hourly(STATIONS, _month(2018), _pm25_2018), _month(2018)),
                         (synthetic_hourly(STATIONS, _month(2019), _pm25_2019), _month(2019)))
    b = build_bulletin(store, "2019-08", parts=["air"], generated="x")
    s = b.tables["air_pollutants"].frame.set_index("name")
    # a published 27 against a published 29: -6.9%; 30 against 30: 0.0 (持平)
    assert (s.loc["长沙市", "pm25"], s.loc["长沙市", "pm25_yoy"]) == (27.0, -6.9)
    assert s.loc["株洲市", "pm25_yoy"] == 0.0
    assert s.loc["湘潭市", "pm25_yoy"] == round(100 * (30 - 33) / 33, 1) == -9.1
    # 衡阳: (5 x 100 + 26 x 30) / 31 = 41.3 -> 41
    assert s.loc["衡阳市", "pm25"] == 41.0
    # ties: 株洲 and 湘潭 have the same published index and share rank 2; 衡阳 is 4th
    assert s.loc[["长沙市", "株洲市", "湘潭市", "衡阳市"], "rank_index"].astype(int).tolist() == [1, 2, 2, 4]
    assert s.loc["株洲市", "composite_index"] == s.loc["湘潭市", "composite_index"]
    # the ratio in percentage points from the published ratios: 26/31 = 83.9% against 100.0%
    c = b.tables["air_cities"].frame.set_index("name")
    assert (c.loc["衡阳市", "good_day_ratio"], c.loc["衡阳市", "ratio_yoy"]) == (83.9, -16.1)
    assert c.loc["长沙市", "ratio_yoy"] == 0.0
    # the composite index in percent, from the published indexes
    stats18 = store.read_result("air_statistics", "2018-08").set_index("name")
    want = round(100 * (s.loc["长沙市", "composite_index"] - stats18.loc["长沙市", "composite_index"])
                 / stats18.loc["长沙市", "composite_index"], 1)
    assert s.loc["长沙市", "composite_yoy"] == want != 0


def test_2026_compared_with_2025_on_the_same_basis(tmp_path):
    import warnings

    # PM2.5 70 every day: good under HJ 633-2012 (IAQI 95), light pollution under HJ 633-2026
    # (IAQI 100 at 60); 株洲 at 40 is good under both
    def pm25(code, day):
        return 70 if code == "A1" else 40

    two = {"A1": "长沙市", "B1": "株洲市"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = store_of(tmp_path, (synthetic_hourly(two, _month(2025), pm25), _month(2025)),
                         (synthetic_hourly(two, _month(2026), pm25), _month(2026)))
    as_published = store.read_result("air_rates", "2025-08").set_index("name")
    assert as_published.loc["长沙市", "good_day_ratio"] == 100.0  # 2025: HJ 633-2012
    same = store.read_result("air_rates_same_basis", "2025-08").set_index("name")
    assert same.loc["长沙市", "good_day_ratio"] == 0.0 and set(same["edition"]) == {"hj633_2026"}
    b = build_bulletin(store, "2026-08", parts=["air"], editions="both", generated="x")
    c = b.tables["air_cities"].frame.set_index("name")
    assert c.loc["长沙市", "good_day_ratio"] == 0.0
    assert c.loc["长沙市", "ratio_yoy"] == 0.0  # like with like: not -100
    assert c.loc["株洲市", "ratio_yoy"] == 0.0
    notes = " ".join(b.tables["air_cities"].notes)
    assert "同口径" in notes and "HJ 633-2026" in notes
    # --editions both: the period under each edition
    e = b.tables["air_editions"].frame.set_index("name")
    assert e.loc["长沙市", "ratio_hj633_2012"] == 100.0 and e.loc["长沙市", "ratio_hj633_2026"] == 0.0
    assert np.isfinite(e["official"]).all()
