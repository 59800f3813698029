"""The audit: envq's hourly AQI and water classes against the published ones, on the bundled files.

The figures are those the engine tests already establish (tests/test_aqi_real.py,
tests/test_water_agreement.py), now with every disagreement named by its reason.
"""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from envq.audit import REASONS, audit_air, audit_water, manual_readings
from envq.sources.cnemc_live import read_cnemc_live
from envq.sources.cnemc_water import read_cnemc_water

SIX = ("pm25", "pm10", "so2", "no2", "co", "o3")
LIVE_2026 = "air/cnemc_live_2026-03-10T09.csv"


def _live(data_dir, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stations outside the bundled list
        return read_cnemc_live(data_dir / name)


@pytest.fixture(scope="module")
def live_2026(data_dir):
    return _live(data_dir, LIVE_2026)


def _six_valid(ds):
    return np.all([np.isfinite(ds[v].values[:, 0]) for v in SIX], axis=0)


def test_2026_hour_every_station_with_six_values_agrees_and_the_rest_is_the_publication_rule(live_2026):
    r = audit_air(live_2026)
    # 1,601 rows, 11 of them without any value or AQI (nothing to compare)
    assert (r.compared, r.agreeing) == (1590, 1538)
    d = r.disagreements
    six = set(live_2026["station"].values[_six_valid(live_2026)])
    assert len(six) == 1360 and not six & set(d["stationcode"])
    assert (d["reason"] == "publication_rule").all()
    # 51 stations with a pollutant missing and AQI <= 100 that the platform still published (§5.3
    # withholds them: envq leaves AQI empty), and 3567A, which envq publishes (AQI 113 > 100) and
    # the platform withheld.
    withheld = d[d["computed_aqi"].isna()]
    assert len(withheld) == 51 and (withheld["published_aqi"] <= 100).all()
    assert set(withheld["missing_pollutants"]) == {"pm10"}
    row = d.set_index("stationcode").loc["3567A"]
    assert pd.isna(row["published_aqi"]) and row["computed_aqi"] == 113 and row["computed_category"] == "轻度污染"
    assert "envq publishes 113" in row["detail"] and "§5.3" in row["detail"]
    row = d.set_index("stationcode").loc["3994A"]
    assert row["published_aqi"] == 25 and "withholds" in row["detail"] and "25 over the pollutants present" in row["detail"]
    assert r.by_day.to_dict("records") == [{"part": "air", "day": "2026-03-10", "compared": 1590, "agreeing": 1538,
                                            "agreement_pct": 96.73}]


def test_2026_hour_under_the_platform_rule_leaves_the_two_stations_the_engine_tests_know(live_2026):
    r = audit_air(live_2026, missing_rule="cnemc_platform")
    d = r.disagreements
    # exactly the engine test's two: 1690A (PM10 missing, SO2 and CO outside the plan: NA on the
    # platform) and 3567A (PM2.5 missing, AQI 113, yet NA on the platform); both a publication rule
    assert list(d["stationcode"]) == ["1690A", "3567A"]
    assert (d["reason"] == "publication_rule").all() and d["published_aqi"].isna().all()
    assert r.agreeing == r.compared - 2


def test_2018_snapshot_every_complete_station_agrees(data_dir):
    ds = _live(data_dir, "air/cnemc_live_snapshot_2018-02-20T07_all_stations.geojson.gz")
    r = audit_air(ds)
    assert (r.compared, r.agreeing) == (1477, 1475)
    complete = set(ds["station"].values[_six_valid(ds)])
    assert len(complete) >= 1214 and not complete & set(r.disagreements["stationcode"])
    d = r.disagreements.set_index("stationcode")
    assert list(d.index) == ["1452A", "2242A"] and (d["reason"] == "publication_rule").all()
    assert d.loc["2242A", "computed_aqi"] == 79 and d.loc["2242A", "missing_pollutants"] == "pm25"


@pytest.mark.slow
def test_2019_archive_year(data_dir):
    from envq.sources.cnemc_archive import read_cnemc_archive

    ds = read_cnemc_archive(data_dir / "air/hunan_sites_2019_wide.csv.gz")
    r = audit_air(ds)
    assert (r.compared, r.agreeing) == (644_762, 629_852)
    d = r.disagreements
    assert d["reason"].value_counts().to_dict() == {"publication_rule": 14_827, "value_not_in_file": 73,
                                                    "screened": 10}
    # the 73 are the engine test's station-hours with a pollutant missing whose official AQI
    # used a value the archive lacks (92,874 of 92,947 reproduced)
    vnf = d[d["reason"] == "value_not_in_file"]
    assert vnf["published_aqi"].notna().all()
    # no station-hour with all six values disagrees, except where envq screened a value out
    complete = np.all([np.isfinite(ds[v].values) for v in SIX], axis=0)
    si = pd.Index(ds["station"].values).get_indexer(d["stationcode"])
    ti = pd.Index(pd.DatetimeIndex(ds["time"].values).strftime("%Y-%m-%dT%H%M")).get_indexer(d["timepoint"])
    assert set(d["reason"][complete[si, ti]]) <= {"screened"}
    scr = d[d["reason"] == "screened"].iloc[0]
    assert scr["stationcode"] == "2462A" and "pm25=43 (stuck" in scr["detail"]
    # natural days: the file's first label (2019-01-01 00:00) is hour 24 of 2018-12-31, and
    # 2019-04-08, missing upstream, still has its hour 24 (2019-04-09 00:00)
    assert len(r.by_day) == 366 and r.by_day["day"].iloc[0] == "2018-12-31"


def _one_hour(values: dict, published: float, time="2026-03-10T09:00", primary=""):
    import xarray as xr

    data = {v: (("station", "time"), [[values.get(v, np.nan)]]) for v in SIX}
    data["aqi_cnemc"] = (("station", "time"), [[published]])
    data["primary_pollutant_cnemc"] = (("station", "time"), np.array([[primary]], dtype=object))
    return xr.Dataset(data, coords={"station": ["X1"], "time": [np.datetime64(time, "ns")],
                                    "city": ("station", ["测试市"])})


def test_reasons_edition_and_rounding_and_screened_are_named():
    base = {"pm10": 20.0, "so2": 5.0, "no2": 10.0, "co": 0.4, "o3": 30.0}
    # edition: PM2.5 80 is IAQI 107 under 2012 and 119 under 2026 (E2, HJ 633 worked examples)
    r = audit_air(_one_hour({**base, "pm25": 80.0}, 107.0, primary="细颗粒物(PM2.5)"))
    row = r.disagreements.iloc[0]
    assert (row["computed_aqi"], row["reason"]) == (119, "edition") and "HJ 633-2012" in row["detail"]
    # rounding: PM2.5 35.4 is rounded to 35 (IAQI 50); unrounded it would be 50.5 -> 51
    r = audit_air(_one_hour({**base, "pm25": 35.4}, 51.0, primary="细颗粒物(PM2.5)"))
    row = r.disagreements.iloc[0]
    assert (row["computed_aqi"], row["reason"]) == (50, "rounding")
    # screened: O3 above the analyser's full scale, which the publisher used (IAQI 500)
    r = audit_air(_one_hour({**base, "pm25": 20.0, "o3": 5000.0}, 500.0, primary="臭氧1小时"))
    row = r.disagreements.iloc[0]
    assert row["reason"] == "screened" and "o3=5000" in row["detail"]
    # an AQI nobody can explain
    r = audit_air(_one_hour({**base, "pm25": 20.0}, 250.0, primary="细颗粒物(PM2.5)"))
    assert r.disagreements["reason"].tolist() == ["unexplained"]
    assert set(REASONS) >= {"screened", "publication_rule", "value_not_in_file", "edition", "rounding", "unexplained"}


def test_water_hunan_file_the_four_nh3n_spikes(data_dir):
    r = audit_water(read_cnemc_water(data_dir / "water/hunan_water_auto_20260709_20260823.csv.gz"))
    assert (r.compared, r.agreeing) == (37200, 37196)
    d = r.disagreements
    assert set(d["section"]) == {"澧水三江口"}
    assert list(d["time"]) == [f"2026-08-04 0{h}:00" for h in (1, 2, 3, 4)]
    assert (d["reason"] == "platform_screened").all()
    assert (d["published_class"] == 2).all() and (d["computed_class"] == 6).all()
    assert d["detail"].str.contains("nh3n=3 (劣Ⅴ)", regex=False).all()
    assert d["detail"].str.contains("the platform did not use it").all()
    assert len(r.by_day) == 46 and r.by_day.set_index("day").loc["2026-08-04", "agreeing"] == \
        r.by_day.set_index("day").loc["2026-08-04", "compared"] - 4


def test_water_national_day_unknown_sections(data_dir):
    r = audit_water(read_cnemc_water(data_dir / "water/National_Water_20260720.csv.gz"))
    assert (r.compared, r.agreeing) == (21493, 21014)
    d = r.disagreements
    assert not d["in_registry"].any()  # every Hunan section agrees; the rest are not in Hunan's registry
    assert d["reason"].value_counts().to_dict() == {"unknown_section": 478, "unexplained": 1}
    last = d[d["reason"] == "unexplained"].iloc[0]
    assert last["section"] == "下槐镇" and "nh3n=1 (Ⅲ)" in last["detail"]


def test_water_weekly_excerpts_all_agree(data_dir):
    readings, bdl = manual_readings(data_dir / "water/hunan_auto_station_weekly_excerpts.csv")
    r = audit_water(readings, below_detection=bdl)
    assert (r.compared, r.agreeing) == (6, 6)  # 屈原 has no published class


def test_reason_is_never_empty_and_csv_columns(data_dir, tmp_path):
    out = tmp_path / "air.csv"
    run = subprocess.run([sys.executable, "-m", "envq.cli", "audit", "air", str(data_dir / LIVE_2026),
                          str(data_dir / "air/cnemc_live_snapshot_2018-02-20T07_all_stations.geojson.gz"),
                          "--output", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"{data_dir / LIVE_2026}: 1538/1590 agree (96.73%); 52 differ: publication_rule 52"
    assert lines[-1] == "all files: 3013/3067 agree (98.24%); 54 differ: publication_rule 54"
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows
    df = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    need = ["stationcode", "timepoint", "published_aqi", "computed_aqi", "published_primary", "computed_primary",
            "reason"]
    assert list(df.columns[1:]) [:1] == ["stationcode"] and set(need) <= set(df.columns)
    assert len(df) == 54 and (df["reason"] != "").all()

    out = tmp_path / "water.csv"
    files = sorted(str(p) for p in (data_dir / "water").iterdir())
    run = subprocess.run([sys.executable, "-m", "envq.cli", "audit", "water", *files, "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "37196/37200 agree (99.99%); 4 differ: platform_screened 4" in run.stdout
    assert "hunan_auto_station_weekly_excerpts.csv: 6/6 agree (100.00%)" in run.stdout
    df = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert {"section", "time", "published_class", "computed_class", "reason"} <= set(df.columns)
    assert len(df) == 483 and (df["reason"] != "").all()


def test_a_file_without_a_published_figure_is_refused(data_dir, tmp_path):
    p = tmp_path / "noaqi.csv"
    src = pd.read_csv(data_dir / LIVE_2026, dtype=str, keep_default_na=False).drop(columns=["aqi"])
    src.head(5).to_csv(p, index=False)
    run = subprocess.run([sys.executable, "-m", "envq.cli", "audit", "air", str(p), "-o", str(tmp_path / "x.csv")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "no published AQI" in run.stderr


def test_an_archive_file_without_its_aqi_rows_is_refused_not_audited_as_0_percent(data_dir, tmp_path):
    """The archive reader gives an empty published AQI when the file has no AQI rows: nothing was
    published, so there is nothing to audit (it printed 0/2376 agree, 2376 unexplained or
    publication_rule disagreements, exit 0)."""
    p = tmp_path / "china_sites_20190101.csv"
    src = pd.read_csv(data_dir / "air/china_sites_20190101.csv.gz", dtype=str, keep_default_na=False)
    src[src["type"] != "AQI"].head(28).to_csv(p, index=False)
    out = tmp_path / "x.csv"
    run = subprocess.run([sys.executable, "-m", "envq.cli", "audit", "air", str(p), "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "no published AQI" in run.stderr, run.stdout + run.stderr
    assert not out.exists()


def _so2_above_800_file(tmp_path, rows):
    """A live CSV of 2019 (HJ 633-2012) with SO2 1-hour above 800 and no SO2 24-hour mean (NA):
    the SO2 IAQI is unknown (Table 1 note 2); *rows* are (code, overrides)."""
    head = ("timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,pm10,pm10_24h,pm2_5,"
            "pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,co,co_24h")
    base = {"pm10": "20", "pm10_24h": "20", "pm2_5": "10", "pm2_5_24h": "10", "o3": "30", "o3_24h": "30",
            "o3_8h": "30", "o3_8h_24h": "30", "no2": "10", "no2_24h": "10", "so2": "900", "so2_24h": "NA",
            "co": "0.4", "co_24h": "0.4"}
    lines = [head]
    for code, over in rows:
        v = {**base, **over}
        lines.append(",".join(["2019-06-01T0900", code, "113.0", "28.2", "测试市", f"测试{code}",
                               f'"{v.pop("primary")}"', v.pop("aqi"), *[v[k] for k in head.split(",")[8:]]]))
    p = tmp_path / "so2_above_800.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_an_unknown_so2_iaqi_is_named_not_unexplained(tmp_path):
    # U1: PM2.5 80 (IAQI 107) and SO2 900 without its 24-hour mean: the SO2 IAQI could be anything
    # up to 500, so the AQI is undetermined (publication 4, envq leaves it empty); the platform
    # published 107. U2: PM10 700 is above the top breakpoint (IAQI 500): the AQI is 500 whatever
    # SO2's IAQI (publication 5); the platform named SO2 a primary pollutant too, which envq's
    # default (unknown_iaqi="known") does not. U3: the same hour as envq names it.
    p = _so2_above_800_file(tmp_path, [
        ("U1", {"pm2_5": "80", "aqi": "107", "primary": "细颗粒物(PM2.5)"}),
        ("U2", {"pm10": "700", "aqi": "500", "primary": "二氧化硫,颗粒物(PM10)"}),
        ("U3", {"pm10": "700", "aqi": "500", "primary": "颗粒物(PM10)"})])
    ds = _live(tmp_path, p.name)
    r = audit_air(ds)
    assert (r.compared, r.agreeing) == (3, 1)
    d = r.disagreements.set_index("stationcode")
    assert list(d.index) == ["U1", "U2"] and (d["reason"] == "unknown_iaqi").all()
    assert pd.isna(d.loc["U1", "computed_aqi"]) and d.loc["U1", "published_aqi"] == 107
    assert "SO2 1-hour 900 > 800 without the SO2 24-hour mean" in d.loc["U1", "detail"]
    assert "the other pollutants give 107 < 500" in d.loc["U1", "detail"] and "publication 4" in d.loc["U1", "detail"]
    assert (d.loc["U2", "published_aqi"], d.loc["U2", "computed_aqi"]) == (500, 500)
    assert d.loc["U2", "computed_primary"] == "颗粒物(PM10)"
    assert 'unknown_iaqi="possible" gives' in d.loc["U2", "detail"]
    # the other choice: U2 agrees, U3 disagrees for the same named reason
    r = audit_air(ds, unknown_iaqi="possible")
    d = r.disagreements.set_index("stationcode")
    assert list(d.index) == ["U1", "U3"] and (d["reason"] == "unknown_iaqi").all()
    assert d.loc["U3", "computed_primary"] == "二氧化硫,颗粒物(PM10)"
    assert "unknown_iaqi" in REASONS


def test_unknown_iaqi_on_the_command_line(tmp_path):
    p = _so2_above_800_file(tmp_path, [
        ("U1", {"pm2_5": "80", "aqi": "107", "primary": "细颗粒物(PM2.5)"}),
        ("U2", {"pm10": "700", "aqi": "500", "primary": "二氧化硫,颗粒物(PM10)"})])
    rows = {}
    for choice in ("known", "possible"):
        out = tmp_path / f"aqi_{choice}.csv"
        run = subprocess.run([sys.executable, "-m", "envq.cli", "air", "hourly-aqi", str(p), "-o", str(out),
                              "--unknown-iaqi", choice], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert f"unknown IAQI: {choice}" in run.stderr
        rows[choice] = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig").set_index("stationcode")
    for choice, df in rows.items():
        assert df.loc["U1", "aqi"] == "" and df.loc["U1", "publication"] == "undetermined"
        assert df.loc["U2", "aqi"] == "500" and df.loc["U2", "publication"] == "determined at the cap"
    assert rows["known"].loc["U2", "primary_pollutant"] == "颗粒物(PM10)"
    assert rows["possible"].loc["U2", "primary_pollutant"] == "二氧化硫,颗粒物(PM10)"
    run = subprocess.run([sys.executable, "-m", "envq.cli", "audit", "air", str(p), "-o", str(tmp_path / "a.csv"),
                          "--unknown-iaqi", "possible"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"{p}: 1/2 agree (50.00%); 1 differ: unknown_iaqi 1"
    bad = subprocess.run([sys.executable, "-m", "envq.cli", "air", "hourly-aqi", str(p), "-o", str(tmp_path / "b.csv"),
                          "--unknown-iaqi", "maybe"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'maybe'" in bad.stderr


def test_a_month_stored_by_an_earlier_version_merges_with_a_new_days_rows(data_dir):
    """An audit table stored before a column existed (``station_known``, ``edition``...) keeps its
    other days; the new column is empty for them. It raised KeyError, and every later run of that
    month lost its audit."""
    from envq.audit import audit_water
    from envq.audit.results import merge
    from envq.sources.cnemc_water import read_cnemc_water

    readings = read_cnemc_water(data_dir / "water/hunan_water_auto_20260709_20260823.csv.gz")
    new = audit_water(readings[readings["time"].dt.date == pd.Timestamp("2026-08-04").date()]).disagreements
    new.insert(0, "day", "2026-08-04")
    assert len(new) == 4
    old = new.drop(columns=["in_registry", "detail"]).assign(day="2026-08-03")
    both = merge(old, new, ["2026-08-04"])
    assert list(both.columns) == list(new.columns)
    assert both["day"].tolist() == ["2026-08-03"] * 4 + ["2026-08-04"] * 4
    assert both["detail"].iloc[:4].isna().all() and (both["detail"].iloc[4:] == new["detail"].to_numpy()).all()
    assert (both["reason"] == "platform_screened").all()
