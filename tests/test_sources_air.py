"""Air readers: CNEMC archive, CNEMC live (CSV and old GeoJSON feed), station list.

Real files come from data/air and envq/data/stations; expected values are read from the raw
files with the csv/json modules, independently of the readers. Bad input is hand-made in tmp_path.
"""

from __future__ import annotations

import csv
import doctest
import gzip
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import envq.errors
import envq.sources.station_list
from envq.errors import InputError, UnknownStationWarning
from envq.sources import (
    hunan_stations,
    list_archive_files,
    read_cnemc_archive,
    read_cnemc_live,
    read_station_list,
)

ROOT = Path(__file__).resolve().parent.parent
AIR = ROOT / "data" / "air"
DAY1 = AIR / "china_sites_20190101.csv.gz"
DAY2 = AIR / "china_sites_20191231.csv.gz"
HUNAN = AIR / "hunan_sites_2019_wide.csv.gz"
LIVE_2026 = AIR / "cnemc_live_2026-03-10T09.csv"
LIVE_2018 = AIR / "cnemc_live_snapshot_2018-02-20T07_all_stations.geojson.gz"
STATION_LIST = ROOT / "envq" / "data" / "stations" / "NewSiteList_TrajRF_gbk.csv"

HUNAN_CITY_COUNTS = {
    "长沙市": 10, "常德市": 8, "湘潭市": 7, "株洲市": 7, "衡阳市": 7, "岳阳市": 6, "邵阳市": 5,
    "益阳市": 5, "郴州市": 5, "永州市": 5, "怀化市": 5, "娄底市": 5, "张家界市": 4,
    "湘西土家族苗族自治州": 3,
}  # fmt: skip


def raw_rows(path):
    """All rows of a (gzipped) CSV, with the csv module."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def quiet(reader, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownStationWarning)
        return reader(*args, **kwargs)


def assert_located(err: InputError, file, row, field, value):
    """The error carries and names the file, row, field and value."""
    msg = str(err)
    assert err.file == str(file) and str(file) in msg
    assert err.row == row
    if row is not None:
        assert f"row {row}" in msg
    assert err.field == field
    if field is not None:
        assert repr(field) in msg
    assert err.value == value and repr(value) in msg


@pytest.fixture(scope="module")
def hunan():
    return read_cnemc_archive(HUNAN)


@pytest.fixture(scope="module")
def day1():
    return quiet(read_cnemc_archive, DAY1)


# --------------------------------------------------------------------------------------------
# archive: real files


def test_archive_national_day_matches_raw_csv(day1):
    rows = raw_rows(DAY1)
    header = rows[0]
    assert day1.sizes["station"] == len(header) - 3 == 1605
    # hour-ending labels as CNEMC writes them: date 20190101 hour 0 -> 2019-01-01T00:00
    assert day1.time.values[0] == np.datetime64("2019-01-01T00:00")
    assert day1.time.values[-1] == np.datetime64("2019-01-01T23:00")
    assert day1.sizes["time"] == 24 and str(day1.time.dtype) == "datetime64[ns]"

    # the brief's anchor: 1335A at 20190101 hour 0 has PM2.5 42 and AQI 59
    at = {"station": "1335A", "time": "2019-01-01T00:00"}
    assert float(day1.pm25.sel(at)) == 42.0
    assert float(day1.aqi_cnemc.sel(at)) == 59.0

    # every cell of 1335A and 2484A, all hours, all kept types, against the csv module
    mapping = {"PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3",
               "AQI": "aqi_cnemc", "PM2.5_24h": "pm25_24h_moving", "CO_24h": "co_24h_moving",
               "O3_8h": "o3_8h_moving"}  # fmt: skip
    checked = 0
    for code in ("1335A", "2484A"):
        col = header.index(code)
        for row in rows[1:]:
            var = mapping.get(row[2])
            if var is None:
                continue
            got = float(day1[var].sel(station=code, time=f"2019-01-01T{int(row[1]):02d}:00"))
            if row[col] == "":
                assert math.isnan(got)
            else:
                assert got == float(row[col])
            checked += 1
    assert checked == 2 * 24 * 10
    # the daily running statistics are not kept
    assert "o3_24h_moving" not in day1 and "o3_8h_24h" not in day1
    assert day1.pm25.attrs["units"] == "ug/m3" and day1.co.attrs["units"] == "mg/m3"


def test_archive_station_coords_and_unknown_stations(day1):
    # 1777A and 1946A report in the archive but are not in the station list
    assert day1.attrs["unknown_stations"] == ["1777A", "1946A"]
    unknown = day1.sel(station="1777A")
    assert str(unknown.name.values) == "" and str(unknown.city.values) == ""
    assert math.isnan(float(unknown.lon)) and not bool(unknown.is_background)
    s = day1.sel(station="2492A")
    assert str(s.city.values) == "湘西土家族苗族自治州" and str(s.province.values) == "湖南省"
    assert bool(s.is_background)
    assert bool(day1.in_plan.all())  # the archive does not say: all True
    assert list(day1.pollutant.values) == ["pm25", "pm10", "so2", "no2", "co", "o3"]
    assert day1.attrs["source"] == str(DAY1)
    with pytest.warns(UnknownStationWarning, match="1777A, 1946A"):
        read_cnemc_archive(DAY1, variables=["pm25"])


def test_archive_two_days_union_of_stations():
    h1, h2 = raw_rows(DAY1)[0][3:], raw_rows(DAY2)[0][3:]
    # the national file of 2019-12-31 really has the column 3207A twice, identical
    assert len(h2) == len(set(h2)) + 1
    ds = quiet(read_cnemc_archive, [DAY1, DAY2])
    assert set(ds.station.values) == set(h1) | set(h2)
    assert ds.sizes["time"] == 48
    assert ds.attrs["source"] == [str(DAY1), str(DAY2)]
    assert any("3207A" in d for d in ds.attrs["duplicates_dropped"])
    only_day2 = sorted(set(h2) - set(h1))[0]
    assert bool(ds.pm25.sel(station=only_day2, time="2019-01-01").isnull().all())
    # the bogus O3 at 2484A, 2019-12-31 hour 18
    assert float(ds.o3.sel(station="2484A", time="2019-12-31T18:00")) == 1200.0


def test_archive_folder_and_list_archive_files(tmp_path):
    for src in (DAY1, DAY2):
        (tmp_path / src.name).write_bytes(src.read_bytes())
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / "hunan_sites_2019_wide.csv.gz").write_bytes(b"")  # not a china_sites_ file
    files = list_archive_files(tmp_path)
    assert [f.name for f in files] == [DAY1.name, DAY2.name]
    ds = quiet(read_cnemc_archive, tmp_path, variables=["pm25", "o3"])
    assert list(ds.data_vars) == ["pm25", "o3"] and ds.sizes["time"] == 48


def test_archive_plain_and_mislabelled_gzip(tmp_path):
    body = "date,hour,type,1335A\n20190101,0,PM2.5,42\n20190101,1,PM2.5,41\n"
    plain = tmp_path / "china_sites_20190101.csv"
    plain.write_text(body)
    disguised = tmp_path / "disguised.csv"  # gzip content under a .csv name
    disguised.write_bytes(gzip.compress(body.encode()))
    for path in (plain, disguised):
        ds = read_cnemc_archive(path)
        assert ds.pm25.sel(station="1335A").values.tolist() == [42.0, 41.0]


def test_archive_hunan_extract(hunan):
    assert hunan.sizes["station"] == 82
    assert set(hunan.station.values) == set(hunan_stations().index)
    assert hunan.attrs["unknown_stations"] == []
    keys = pd.read_csv(HUNAN, usecols=["date", "hour"], dtype=str).drop_duplicates()
    assert hunan.sizes["time"] == len(keys) == 8467
    # 3399A (衡阳 师范学院) never reports in 2019, nor do the stopped 常德 sites 1853A/1855A/1856A
    empty = [s for s in hunan.station.values if bool(hunan.aqi_cnemc.sel(station=s).isnull().all())]
    assert empty == ["1853A", "1855A", "1856A", "3399A"]
    # 2019-04-08 is missing upstream; the time axis is the hours present, not a calendar
    assert hunan.time.sel(time="2019-04-08").size == 0
    assert float(hunan.o3.sel(station="2484A", time="2019-12-31T18:00")) == 1200.0
    # Spring Festival fireworks, real: PM10 670 on 2019-02-05
    assert float(hunan.pm10.sel(time="2019-02-05").max()) == 670.0
    assert hunan.time.values[0] == np.datetime64("2019-01-01T00:00")


# --------------------------------------------------------------------------------------------
# live: real files


@pytest.fixture(scope="module")
def live2026():
    return quiet(read_cnemc_live, LIVE_2026)


def test_live_csv_2026(live2026):
    ds = live2026
    rows = raw_rows(LIVE_2026)
    header, body = rows[0], rows[1:]
    assert len(body) == 1601 and ds.sizes == {"station": 1601, "time": 1, "pollutant": 6}
    assert ds.time.values[0] == np.datetime64("2026-03-10T09:00")
    col = {name: i for i, name in enumerate(header)}

    # every value of three fields against the raw text: NA -> NaN, '/' -> NaN and not in plan
    for field, var, pol in (("pm2_5", "pm25", "pm25"), ("so2", "so2", "so2"), ("co", "co", "co")):
        got = ds[var].isel(time=0).to_series()
        plan = ds.in_plan.sel(pollutant=pol).to_series()
        for row in body:
            code, text = row[col["stationcode"]], row[col[field]]
            if text in ("NA", "/"):
                assert math.isnan(got[code])
            else:
                assert got[code] == float(text)
            assert bool(plan[code]) == (text != "/")
    n_slash = {f: sum(r[col[f]] == "/" for r in body) for f in ("so2", "co")}
    assert n_slash == {"so2": 54, "co": 81}
    assert int((~ds.in_plan.sel(pollutant="so2")).sum()) == 54
    assert int((~ds.in_plan.sel(pollutant="co")).sum()) == 81

    s = ds.sel(station="1957A", time="2026-03-10T09:00")  # so2 and co '/'
    assert math.isnan(float(s.so2)) and not bool(s.in_plan.sel(pollutant="so2"))
    assert bool(s.in_plan.sel(pollutant="pm25"))
    s = ds.sel(station="1335A", time="2026-03-10T09:00")
    assert (float(s.pm25), float(s.aqi_cnemc), float(s.o3), float(s.co)) == (43.0, 66.0, 12.0, 0.8)
    assert str(s.primary_pollutant_cnemc.values) == "细颗粒物(PM2.5)"
    assert float(s.pm25_24h_moving) == 53.0 and float(s.o3_8h_moving) == 38.0
    # o3_24h holds values in this file, so auto picks it (here o3 == o3_24h everywhere)
    assert ds.attrs["o3_field"] == "o3_24h"
    # AQI NA -> NaN, primary pollutant "NA" kept, empty kept empty
    na = [r[col["stationcode"]] for r in body if r[col["aqi"]] == "NA"]
    assert len(na) == 53
    assert bool(ds.aqi_cnemc.sel(station=na).isnull().all())
    assert set(ds.primary_pollutant_cnemc.sel(station=na).values.ravel()) == {"NA"}
    assert int((ds.primary_pollutant_cnemc == "").sum()) == 650


def test_live_csv_unknown_stations_take_file_metadata(live2026):
    assert len(live2026.attrs["unknown_stations"]) == 262
    s = live2026.sel(station="3994A")  # not in the 2,026-station list
    assert "3994A" in live2026.attrs["unknown_stations"]
    assert str(s.name.values) == "马尔康中学西区" and str(s.city.values) == "阿坝藏族羌族自治州"
    assert (float(s.lon), float(s.lat)) == (102.2174, 31.9016)
    with pytest.warns(UnknownStationWarning, match="262 station"):
        read_cnemc_live(LIVE_2026, variables=["pm25"])


def test_live_geojson_2018():
    ds = read_cnemc_live(LIVE_2018)
    doc = json.loads(gzip.decompress(LIVE_2018.read_bytes()))
    props = {f["properties"]["stationcode"]: f["properties"] for f in doc["features"]}
    assert len(props) == ds.sizes["station"] == 1495
    assert ds.time.values[0] == np.datetime64("2018-02-20T07:00")
    assert ds.attrs["o3_field"] == "o3_24h"
    s = ds.sel(station="1001A", time="2018-02-20T07:00")
    # 1001A: pm10 '-;' -> NaN; the 1-hour O3 is the o3_24h field (62), not o3 (84)
    assert props["1001A"]["pm10"] == "-;" and math.isnan(float(s.pm10))
    assert (props["1001A"]["o3"], props["1001A"]["o3_24h"]) == ("84", "62")
    assert float(s.o3) == 62.0 and float(s.pm25) == 38.0 and float(s.aqi_cnemc) == 54.0
    assert str(s.primary_pollutant_cnemc.values) == "细颗粒物(PM2.5)"
    assert props["1002A"]["primarypollutant"] == "-;"
    assert str(ds.primary_pollutant_cnemc.sel(station="1002A").values[0]) == ""
    # every '-;' became NaN, every other value its number
    for field, var in (("pm10", "pm10"), ("o3_24h", "o3"), ("aqi", "aqi_cnemc")):
        got = ds[var].isel(time=0).to_series()
        for code, p in props.items():
            assert math.isnan(got[code]) if p[field] == "-;" else got[code] == float(p[field])
    assert bool(ds.in_plan.all())
    # Hunan: 78 stations report in this snapshot
    assert int((ds.province == "湖南省").sum()) == 78

    forced = read_cnemc_live(LIVE_2018, o3_field="o3")
    assert float(forced.o3.sel(station="1001A")[0]) == 84.0 and forced.attrs["o3_field"] == "o3"


def test_live_mixed_sources_record_o3_choice(tmp_path, live2026):
    ds = quiet(read_cnemc_live, [LIVE_2018, LIVE_2026], variables=["o3"])
    assert ds.sizes["time"] == 2
    assert ds.attrs["o3_field"] == "o3_24h"
    late = tmp_path / "late2026.csv"  # a later-2026 file: o3_24h all NA, o3 current
    late.write_text(
        "timepoint,stationcode,pm2_5,pm10,so2,no2,co,o3,o3_24h\n"
        "2026-09-01T1000,1335A,20,30,5,10,0.5,88,NA\n"
    )
    ds = read_cnemc_live([LIVE_2018, late], variables=["o3"])
    assert float(ds.o3.sel(station="1335A", time="2026-09-01T10:00")) == 88.0
    assert ds.attrs["o3_field"].startswith("mixed:") and f"{late}=o3" in ds.attrs["o3_field"]


# --------------------------------------------------------------------------------------------
# station list


def test_station_list():
    st = read_station_list()
    assert len(st) == 2026 and st.index.name == "code"
    assert list(st.columns) == ["name", "city", "city_short", "province", "lon", "lat", "is_background", "stopped"]
    hn = hunan_stations()
    assert len(hn) == 82
    assert hn["city"].value_counts().to_dict() == HUNAN_CITY_COUNTS
    assert int(hn["is_background"].sum()) == 17
    assert bool(st.loc["1344A", "is_background"]) and not bool(st.loc["1335A", "is_background"])
    # stopped 常德 city sites flagged Y
    assert st.loc[["1853A", "1855A", "1856A"], "is_background"].all()
    assert bool(st.loc["1013A", "stopped"]) and not bool(st.loc["1853A", "stopped"])
    assert int(st["lon"].isna().sum()) == 10 and not hn["lon"].isna().any()
    assert st.loc["2492A", "city_short"] == "湘西州"
    assert st.loc["3399A", "city"] == "衡阳市"
    # cached default, but each call returns an independent copy
    st.loc["1335A", "name"] = "changed"
    assert read_station_list().loc["1335A", "name"] == "经开区环保局"


def test_station_list_explicit_path_same_as_default():
    pd.testing.assert_frame_equal(read_station_list(STATION_LIST), read_station_list())


def test_module_doctests():
    for module in (envq.errors, envq.sources.station_list):
        assert doctest.testmod(module).failed == 0


# --------------------------------------------------------------------------------------------
# bad input: archive

ARCHIVE_HEADER = "date,hour,type,1335A,1336A\n"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    "body, row, field, value, problem",
    [
        ("20190101,0,PM2.5,42,31\n20190101,24,PM2.5,1,2\n", 3, "hour", "24", "is outside 0..23"),
        ("20190101,-1,PM2.5,42,31\n", 2, "hour", "-1", "is outside 0..23"),
        ("20190101,1.5,PM2.5,42,31\n", 2, "hour", "1.5", "is not an integer hour"),
        ("20190101,0,PM2.5,42,31\n2019-01-1,1,PM2.5,1,2\n", 3, "date", "2019-01-1", "YYYYMMDD"),
        ("20191332,0,PM2.5,42,31\n", 2, "date", "20191332", "YYYYMMDD"),
        ("20190101,0,PM2.5,42,31\n20190101,0,PM10,4x2,31\n", 3, "1335A", "4x2", "is not a number"),
        ("20190101,0,PM2.5,42,NaN\n", 2, "1336A", "NaN", "is not a number"),
        ("20190101,0,PM2.5,inf,3\n", 2, "1335A", "inf", "is not a finite number"),
        ("20190101,0,PM1,42,31\n", 2, "type", "PM1", "is not an archive type"),
        # a blank line keeps the line numbering of the file
        ("20190101,0,PM2.5,42,31\n\n20190101,0,PM10,4x2,31\n", 4, "1335A", "4x2", "is not a number"),
    ],
)
def test_archive_bad_cells(tmp_path, body, row, field, value, problem):
    path = write(tmp_path, "data.csv", ARCHIVE_HEADER + body)
    with pytest.raises(InputError, match=problem) as info:
        read_cnemc_archive(path)
    assert_located(info.value, path, row, field, value)


def test_archive_bad_input_is_a_value_error(tmp_path):
    path = write(tmp_path, "data.csv", ARCHIVE_HEADER + "20190101,24,PM2.5,42,31\n")
    with pytest.raises(ValueError, match=r"data.csv: row 2, field 'hour': value '24' is outside 0\.\.23"):
        read_cnemc_archive(path)


def test_archive_sentinels_read_as_missing(tmp_path):
    path = write(tmp_path, "data.csv", ARCHIVE_HEADER + "20190101,0,PM2.5,NA,-;\n20190101,0,PM10,,7\n")
    ds = read_cnemc_archive(path)
    assert np.isnan(ds.pm25.values).all()
    assert math.isnan(float(ds.pm10.sel(station="1335A")[0])) and float(ds.pm10.sel(station="1336A")[0]) == 7.0


def test_archive_missing_columns(tmp_path):
    path = write(tmp_path, "data.csv", "date,type,1335A\n20190101,PM2.5,4\n")
    with pytest.raises(InputError) as info:
        read_cnemc_archive(path)
    err = info.value
    assert_located(err, path, 1, "hour", "date,type,1335A")
    assert "lacks the required column(s) hour" in str(err) and "found: date, type, 1335A" in str(err)


def test_archive_empty_file(tmp_path):
    path = write(tmp_path, "data.csv", "")
    with pytest.raises(InputError, match="is empty"):
        read_cnemc_archive(path)


def test_archive_ragged_row(tmp_path):
    path = write(tmp_path, "data.csv", ARCHIVE_HEADER + "20190101,0,PM2.5,42,31\n20190101,0,PM10,50,31,7\n")
    with pytest.raises(InputError, match="has 6 fields where the header has 5") as info:
        read_cnemc_archive(path)
    assert_located(info.value, path, 3, None, "20190101,0,PM10,50,31,7")


def test_archive_wrong_encoding(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(ARCHIVE_HEADER.encode() + "20190101,0,PM2.5,长沙,31\n".encode("gbk"))
    with pytest.raises(InputError, match="cannot be decoded as UTF-8; the file decodes as GBK") as info:
        read_cnemc_archive(path)
    assert_located(info.value, path, 2, "1335A", "长沙".encode("gbk"))
    assert "encoding='gbk'" in str(info.value)


def test_archive_conflicting_duplicate_rows(tmp_path):
    body = "20190101,0,PM2.5,42,31\n20190101,0,PM10,50,31\n20190101,0,PM2.5,43,31\n"
    path = write(tmp_path, "data.csv", ARCHIVE_HEADER + body)
    with pytest.raises(InputError, match="differs from row 2") as info:
        read_cnemc_archive(path)
    assert_located(info.value, path, 4, "1335A", "43")
    assert "'42'" in str(info.value) and "date 20190101, hour 0, type PM2.5" in str(info.value)


def test_archive_identical_duplicate_rows_kept_once(tmp_path):
    body = "20190101,0,PM2.5,42,31\n20190101,0,PM10,50,\n20190101,0,PM2.5,42,31\n20190101,0,PM10,50,NA\n"
    path = write(tmp_path, "data.csv", ARCHIVE_HEADER + body)
    ds = read_cnemc_archive(path)
    assert ds.pm25.values.ravel().tolist() == [42.0, 31.0]
    assert ds.attrs["duplicates_dropped"] == [
        f"{path}: row 4 (date 20190101, hour 0, type PM2.5) repeats row 2",
        f"{path}: row 5 (date 20190101, hour 0, type PM10) repeats row 3",
    ]


def test_archive_duplicates_between_files(tmp_path):
    a = write(tmp_path, "a.csv", ARCHIVE_HEADER + "20190101,0,PM2.5,42,31\n")
    b = write(tmp_path, "b.csv", "date,hour,type,1335A,1337A\n20190101,0,PM2.5,41,5\n")
    with pytest.raises(InputError, match=f"differs from {a} row 2") as info:
        read_cnemc_archive([a, b])
    assert_located(info.value, b, 2, "1335A", "41")
    # same value on the common station: kept once, the other stations merged
    b.write_text("date,hour,type,1335A,1337A\n20190101,0,PM2.5,42,5\n")
    ds = read_cnemc_archive([a, b])
    assert ds.pm25.sel(time="2019-01-01T00:00").to_series().to_dict() == {"1335A": 42.0, "1336A": 31.0, "1337A": 5.0}
    assert ds.attrs["duplicates_dropped"] == [f"{b}: row 2 (date 20190101, hour 0, type PM2.5) repeats {a} row 2"]


def test_archive_duplicate_station_columns(tmp_path):
    same = write(tmp_path, "same.csv", "date,hour,type,1335A,1335A\n20190101,0,PM2.5,42,42\n")
    ds = read_cnemc_archive(same)
    assert ds.sizes["station"] == 1 and "column 1335A" in ds.attrs["duplicates_dropped"][0]
    differ = write(tmp_path, "differ.csv", "date,hour,type,1335A,1335A\n20190101,0,PM2.5,42,40\n")
    with pytest.raises(InputError, match="other column named 1335A") as info:
        read_cnemc_archive(differ)
    assert_located(info.value, differ, 2, "1335A", "40")


# --------------------------------------------------------------------------------------------
# bad input: live CSV and JSON

LIVE_HEADER = (
    "timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,pm10,pm10_24h,"
    "pm2_5,pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,co,co_24h\n"
)
LIVE_ROW = "2026-04-15T0900,1335A,113.08,28.24,长沙市,经开区环保局,,40,30,35,20,25,80,NA,70,90,20,22,5,6,0.6,0.7\n"
LIVE_NEW = "2026-04-15T0900,9999A,113.0,28.0,长沙市,新站,细颗粒物(PM2.5),NA,NA,/,20,25,80,NA,70,90,20,22,/,/,0.6,0.7\n"


def test_live_small_file_with_bom_sentinels_and_new_station(tmp_path):
    path = tmp_path / "live.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (LIVE_HEADER + LIVE_ROW + LIVE_NEW).encode())
    with pytest.warns(UnknownStationWarning, match="9999A"):
        ds = read_cnemc_live(path)
    assert ds.time.values.tolist() == [np.datetime64("2026-04-15T09:00", "ns").astype(int)]
    assert ds.attrs["o3_field"] == "o3"  # o3_24h is NA throughout
    new = ds.sel(station="9999A", time="2026-04-15T09:00")
    assert math.isnan(float(new.aqi_cnemc)) and math.isnan(float(new.pm10)) and math.isnan(float(new.so2))
    assert new.in_plan.values.tolist() == [True, True, False, True, True, True]
    assert str(new.name.values) == "新站" and float(new.lon) == 113.0
    assert str(new.primary_pollutant_cnemc.values) == "细颗粒物(PM2.5)"
    assert str(ds.primary_pollutant_cnemc.sel(station="1335A").values[0]) == ""
    assert float(ds.o3.sel(station="1335A")[0]) == 80.0


@pytest.mark.parametrize(
    "body, row, field, value, problem",
    [
        (LIVE_ROW + LIVE_NEW.replace("T0900", "T2500"), 3, "timepoint", "2026-04-15T2500", "is not a time"),
        (LIVE_ROW.replace("2026-04-15T0900", "15/04/2026 09:00"), 2, "timepoint", "15/04/2026 09:00", "is not a time"),
        (LIVE_ROW.replace("T0900", "T0930"), 2, "timepoint", "2026-04-15T0930", "is not on the hour"),
        (LIVE_ROW + LIVE_NEW.replace(",20,25,", ",2o,25,"), 3, "pm2_5", "2o", "is not a number"),
        (LIVE_ROW.replace(",0.6,0.7", ",-,0.7"), 2, "co", "-", "is not a number"),
        (LIVE_ROW.replace("1335A", ""), 2, "stationcode", "", "is empty"),
        (LIVE_ROW + LIVE_ROW.replace(",40,30,", ",41,30,"), 3, "aqi", "41", "differs from row 2"),
    ],
)
def test_live_bad_cells(tmp_path, body, row, field, value, problem):
    path = write(tmp_path, "live.csv", LIVE_HEADER + body)
    with pytest.raises(InputError, match=problem) as info:
        quiet(read_cnemc_live, path)
    assert_located(info.value, path, row, field, value)


def test_live_identical_duplicate_rows_kept_once(tmp_path):
    path = write(tmp_path, "live.csv", LIVE_HEADER + LIVE_ROW + LIVE_NEW + LIVE_ROW)
    ds = quiet(read_cnemc_live, path)
    assert ds.sizes["station"] == 2
    assert ds.attrs["duplicates_dropped"] == [
        f"{path}: row 4 (timepoint 2026-04-15T09:00, station 1335A) repeats row 2"
    ]


def test_live_missing_columns(tmp_path):
    path = write(tmp_path, "live.csv", "timepoint,stationcode,aqi,pm10\n2026-04-15T0900,1335A,40,30\n")
    with pytest.raises(InputError, match="lacks the required column") as info:
        read_cnemc_live(path)
    assert_located(info.value, path, 1, "pm2_5, so2, no2, co, o3", "timepoint,stationcode,aqi,pm10")
    assert "found: timepoint, stationcode, aqi, pm10" in str(info.value)


def test_live_wrong_encoding(tmp_path):
    path = write(tmp_path, "live.csv", LIVE_HEADER + LIVE_ROW, encoding="gbk")
    with pytest.raises(InputError, match="the file decodes as GBK") as info:
        read_cnemc_live(path)
    assert_located(info.value, path, 2, "area", "长沙市".encode("gbk"))
    ds = read_cnemc_live(path, encoding="gbk")
    assert str(ds.name.values[0]) == "经开区环保局"


def test_live_forced_o3_field_missing(tmp_path):
    path = write(tmp_path, "live.csv", "timepoint,stationcode,pm2_5,pm10,so2,no2,co,o3\n2026-04-15T0900,1335A,1,2,3,4,0.5,6\n")
    assert read_cnemc_live(path).attrs["o3_field"] == "o3"
    with pytest.raises(InputError, match="o3_24h"):
        read_cnemc_live(path, o3_field="o3_24h")
    with pytest.raises(ValueError, match="o3_field"):
        read_cnemc_live(path, o3_field="o3_8h")


def _geojson(props_list):
    feats = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.1, 28.2]}, "properties": p}
        for p in props_list
    ]
    return {"type": "FeatureCollection", "features": feats}


GEO_PROPS = {
    "stationcode": "1335A", "timepoint": "2018-02-20T07:00:00", "aqi": "-;", "pm2_5": "-;", "pm10": "50",
    "so2": "3", "no2": "4", "co": "0.5", "o3": "90", "o3_24h": "60", "primarypollutant": "-;",
}  # fmt: skip


def test_geojson_bad_value_names_feature(tmp_path):
    path = tmp_path / "feed.geojson.gz"
    second = GEO_PROPS | {"stationcode": "1336A", "aqi": "x"}
    path.write_bytes(gzip.compress(json.dumps(_geojson([GEO_PROPS, second])).encode()))
    with pytest.raises(InputError, match="is not a number") as info:
        read_cnemc_live(path)
    assert_located(info.value, path, 2, "aqi", "x")  # row = feature number


def test_geojson_unknown_station_takes_geometry_and_names(tmp_path):
    path = tmp_path / "feed.geojson"
    new = GEO_PROPS | {"stationcode": "9998A", "positionname": "新点", "area": "长沙市"}
    path.write_text(json.dumps(_geojson([GEO_PROPS, new]), ensure_ascii=False))
    with pytest.warns(UnknownStationWarning):
        ds = read_cnemc_live(path)
    s = ds.sel(station="9998A")
    assert (str(s.name.values), str(s.city.values), float(s.lon), float(s.lat)) == ("新点", "长沙市", 113.1, 28.2)
    assert float(s.o3[0]) == 60.0 and math.isnan(float(s.pm25[0]))
    assert str(s.primary_pollutant_cnemc.values[0]) == ""


def test_geojson_invalid_json(tmp_path):
    path = write(tmp_path, "feed.json", '{"features": [\n {"a": 1,}\n]}')
    with pytest.raises(InputError, match="is not valid JSON") as info:
        read_cnemc_live(path)
    assert info.value.row == 2 and str(path) in str(info.value)


# --------------------------------------------------------------------------------------------
# bad input: station list

LIST_HEADER = "监测点编码,监测点名称,城市,经度,纬度,对照点,省级行政区,地级行政区\n"
LIST_ROWS = "1001A,万寿西宫,北京,116.3621,39.8784,N,北京市,北京市\n1002A,定陵(对照点),北京,116.2202,40.2915,Y,北京市,北京市\n"


def test_station_list_utf8_given_as_gbk(tmp_path):
    path = write(tmp_path, "list.csv", LIST_HEADER + LIST_ROWS, encoding="utf-8")
    with pytest.raises(InputError, match="cannot be decoded as GBK; the file decodes as UTF-8") as info:
        read_station_list(path)
    assert_located(info.value, path, 1, None, "监测点编码".encode("utf-8"))
    assert "encoding='utf-8'" in str(info.value)
    assert list(read_station_list(path, encoding="utf-8").index) == ["1001A", "1002A"]


def test_station_list_mojibake_header(tmp_path):
    # read as latin-1 every byte decodes, into nonsense: the header shows the real encoding
    path = write(tmp_path, "list.csv", LIST_HEADER + LIST_ROWS, encoding="gbk")
    with pytest.raises(InputError, match="looks GBK-encoded, not latin-1: pass encoding='gbk'") as info:
        read_station_list(path, encoding="latin-1")
    assert info.value.row == 1 and "监测点编码" in info.value.field


def test_station_list_undecodable_bytes(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes((LIST_HEADER + LIST_ROWS).encode("gbk") + b"1003A,\xff\xfe,x,1,2,N,a,b\n")
    with pytest.raises(InputError, match="cannot be decoded as GBK") as info:
        read_station_list(path)
    assert_located(info.value, path, 4, "监测点名称", b"\xff\xfe")


@pytest.mark.parametrize(
    "rows, row, field, value, problem",
    [
        (LIST_ROWS.replace("116.2202", "116.22x"), 3, "经度", "116.22x", "is not a number"),
        (LIST_ROWS.replace("40.2915", "140.2"), 3, "纬度", "140.2", "is outside -90..90"),
        (LIST_ROWS.replace(",Y,", ",是,"), 3, "对照点", "是", "is not Y or N"),
        (LIST_ROWS + LIST_ROWS.splitlines(True)[0], 4, "监测点编码", "1001A", "duplicates the station code of row 2"),
    ],
)
def test_station_list_bad_cells(tmp_path, rows, row, field, value, problem):
    path = write(tmp_path, "list.csv", LIST_HEADER + rows, encoding="gbk")
    with pytest.raises(InputError, match=problem) as info:
        read_station_list(path)
    assert_located(info.value, path, row, field, value)


def test_station_list_missing_columns(tmp_path):
    path = write(tmp_path, "list.csv", "监测点编码,监测点名称,城市,经度,纬度\n1001A,a,b,1,2\n", encoding="gbk")
    with pytest.raises(InputError, match="lacks the required column") as info:
        read_station_list(path)
    assert_located(info.value, path, 1, "对照点, 省级行政区, 地级行政区", "监测点编码,监测点名称,城市,经度,纬度")


def test_input_error_pickles():
    import pickle

    err = pickle.loads(pickle.dumps(InputError("f.csv", 3, "hour", "24", "is outside 0..23")))
    assert (err.file, err.row, err.field, err.value) == ("f.csv", 3, "hour", "24")
    assert str(err) == "f.csv: row 3, field 'hour': value '24' is outside 0..23"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_cnemc_archive(tmp_path / "nope.csv")
