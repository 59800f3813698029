"""Readers at the edge: CNEMC automatic-station CSV and manual data (CSV, XLSX) into canonical tables."""

import functools
import gzip
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from envq.errors import InputError
from envq.sources.cnemc_water import VARIABLE_MAP, read_cnemc_water, to_long
from envq.sources.manual_water import parse_header, read_manual_water, write_template
from envq.water.classify import classify

DATA = Path(__file__).resolve().parents[1] / "data" / "water"
HUNAN = DATA / "hunan_water_auto_20260709_20260823.csv.gz"
NATIONAL = DATA / "National_Water_20260720.csv.gz"
EXCERPTS = DATA / "hunan_auto_station_weekly_excerpts.csv"

HEADER16 = ",".join(list(VARIABLE_MAP)[:-1])
ROW = "湖南省,长江流域,昭山,2026-07-09 21:00,2,29.7,7.45,6.43,209.5,20.6,1.22,,0.06,1.565,,"


@functools.cache
def hunan():
    return read_cnemc_water(HUNAN)


def write(tmp_path, text, name="w.csv", bom=True):
    p = tmp_path / name
    p.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------------------------
# CNEMC automatic stations


def test_bundled_hunan_file():
    r = hunan()
    assert len(r) == 37204 and r["section"].nunique() == 61
    assert (r["province"] == "湖南省").all()
    assert r["official_class"].isna().sum() == 4  # the four -1 rows
    # the first national file (2026-07-09) lacks 抓取时间: its rows, at the top, have none
    missing = r["fetched_at"].isna().to_numpy()
    k = int(missing.sum())
    assert 0 < k < 1000 and missing[:k].all() and not missing[k:].any()
    assert r["row"].iloc[0] == 2 and r["row"].iloc[-1] == 37205


def test_chlorophyll_is_converted_from_mg_per_l_to_mg_per_m3():
    r = hunan()
    chla = r["chla"].dropna()
    # header says mg/L: values 0.0003-0.084 mg/L -> 0.3-84 ug/L (= mg/m3), a plausible range
    assert 0.1 < chla.min() and chla.max() < 100 and 0.5 < chla.median() < 50
    assert r.attrs["units"]["chla"] == "mg/m3"


def test_national_day_and_province_filter():
    all_ = read_cnemc_water(NATIONAL)
    hn = read_cnemc_water(NATIONAL, province="湖南省")
    assert len(all_) == 21552 and 0 < len(hn) < len(all_) and (hn["province"] == "湖南省").all()


def test_sixteen_columns_without_fetch_time(tmp_path):
    r = read_cnemc_water(write(tmp_path, HEADER16 + "\n" + ROW + "\n"))
    assert r.loc[0, "ph"] == 7.45 and np.isnan(r.loc[0, "nh3n"]) and pd.isna(r.loc[0, "fetched_at"])
    assert r.loc[0, "official_class"] == 2


def test_gzip_is_recognised_by_content(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes(gzip.compress(("\ufeff" + HEADER16 + "\n" + ROW + "\n").encode("utf-8")))
    assert len(read_cnemc_water(p)) == 1


def test_to_long_is_the_canonical_long_table():
    t = to_long(hunan().head(3))
    assert list(t.columns) == ["section", "time", "item", "value", "below_detection", "source_kind", "file", "row"]
    assert (t["source_kind"] == "automatic").all() and not t["below_detection"].any()
    assert "nh3n" not in set(t.loc[t["row"] == 2, "item"])  # missing values are not rows


@pytest.mark.parametrize(("row", "field", "value", "problem"), [
    (ROW.replace("7.45", "7,45"), None, None, None),  # shifts columns -> a non-number somewhere
    (ROW.replace(",0.06,", ",0.06x,"), "总磷(mg/L)", "0.06x", "is not a number"),
    (ROW.replace("2026-07-09 21:00", "09/07/2026"), "监测时间", "09/07/2026", "is not a time"),
    (ROW.replace("昭山,2026-07-09 21:00,2,", "昭山,2026-07-09 21:00,7,"), "水质类别", "7", "is not a class"),
    (ROW.replace("昭山", ""), "断面名称", "", "is empty"),
])
def test_bad_cnemc_input_names_file_row_field_value(tmp_path, row, field, value, problem):
    p = write(tmp_path, HEADER16 + "\n" + ROW + "\n" + row + "\n")
    with pytest.raises(InputError) as exc:
        read_cnemc_water(p)
    e = exc.value
    assert e.file == str(p) and e.row == 3
    if field is not None:
        assert e.field == field and e.value == value and problem in str(e)
        assert f"row 3, field {field!r}: value {value!r}" in str(e)


def test_missing_column_is_reported_on_the_header(tmp_path):
    p = write(tmp_path, HEADER16.replace(",总磷(mg/L)", "") + "\n")
    with pytest.raises(InputError, match="lacks the column.*总磷") as exc:
        read_cnemc_water(p)
    assert exc.value.row == 1


def test_empty_file(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_cnemc_water(write(tmp_path, "", bom=False))


# --------------------------------------------------------------------------------------------
# manual data: template, detection limits, units


MANUAL_CSV = (
    "section,time,ph,do(mg/L),codmn(mg/L),nh3n(mg/L),tp(mg/L),hg(ug/L),cd(mg/L),氟化物(mg/L),fecal_coliform(MPN/100mL)\n"
    "昭山,2026-07-15,7.6,6.8,3.1,0.35,0.082,0.02L,0.0005,-,350\n"
    "南嘴,2026-07-15 10:30,8.1,7.2,2.4,0.12L,0.061,0.03,0.002L,0.21,\n"
)
EXPECTED = [  # (section, item, value in canonical unit, below detection)
    ("昭山", "ph", 7.6, False), ("昭山", "do", 6.8, False), ("昭山", "codmn", 3.1, False),
    ("昭山", "nh3n", 0.35, False), ("昭山", "tp", 0.082, False), ("昭山", "hg", 0.00002, True),  # 0.02 ug/L
    ("昭山", "cd", 0.0005, False), ("昭山", "fecal_coliform", 3500.0, False),  # 350 per 100 mL
    ("南嘴", "ph", 8.1, False), ("南嘴", "do", 7.2, False), ("南嘴", "codmn", 2.4, False),
    ("南嘴", "nh3n", 0.12, True), ("南嘴", "tp", 0.061, False), ("南嘴", "hg", 0.00003, False),
    ("南嘴", "cd", 0.002, True), ("南嘴", "f", 0.21, False),
]


def check_expected(long):
    assert (long["source_kind"] == "manual").all()
    got = [(r.section, r.item, r.value, r.below_detection) for r in long.itertuples()]
    assert len(got) == len(EXPECTED)
    for (s, i, v, b), (s2, i2, v2, b2) in zip(got, EXPECTED):
        assert (s, i, b) == (s2, i2, b2) and v == pytest.approx(v2, rel=1e-12)


def test_manual_csv_template(tmp_path):
    long = read_manual_water(write(tmp_path, MANUAL_CSV, bom=False))
    check_expected(long)
    assert long.loc[long["section"] == "南嘴", "time"].iloc[0] == pd.Timestamp("2026-07-15 10:30")
    assert long["row"].tolist()[:1] == [2] and long["row"].iloc[-1] == 3


def test_manual_xlsx_round_trip_equals_csv(tmp_path):
    # the same samples typed into Excel: numbers as numbers, a real date cell, "0.02L" as text
    wb = openpyxl.Workbook()
    ws = wb.active
    lines = [line.split(",") for line in MANUAL_CSV.strip().splitlines()]
    ws.append(lines[0])
    for cells in lines[1:]:
        out = []
        for j, c in enumerate(cells):
            if j == 1:
                out.append(pd.Timestamp(c).to_pydatetime())
            elif c in ("", "-") or c.endswith("L") or j == 0:
                out.append(None if c == "" else c)
            else:
                out.append(float(c))
        ws.append(out)
    p = tmp_path / "manual.xlsx"
    wb.save(p)
    xl = read_manual_water(p)
    csv = read_manual_water(write(tmp_path, MANUAL_CSV, bom=False))
    check_expected(xl)
    cols = ["section", "time", "item", "value", "below_detection", "source_kind", "row"]
    pd.testing.assert_frame_equal(xl[cols], csv[cols])


def test_template_writer_round_trip(tmp_path):
    for name in ("t.csv", "t.xlsx"):
        p = write_template(tmp_path / name)
        long = read_manual_water(p)
        assert len(long) == 0 and set(long.attrs["units"]) >= {"ph", "nh3n", "tp", "hg", "sd", "chla"}


@pytest.mark.parametrize(("header", "expected"), [
    ("氨氮(mg/L)", ("nh3n", 1.0)), ("NH3-N (mg/L)", ("nh3n", 1.0)), ("hg(μg/L)", ("hg", 1e-3)),
    ("汞（ng/L）", ("hg", 1e-6)), ("TP_mg_L", ("tp", 1.0)), ("chla(ug/L)", ("chla", 1.0)),
    ("叶绿素a(mg/L)", ("chla", 1000.0)), ("sd(cm)", ("sd", 0.01)), ("铬(六价)(mg/L)", ("cr6", 1.0)),
])
def test_headers_with_units(header, expected):
    code, _, factor, problem = parse_header(header)
    assert (code, factor) == expected and problem == ""


@pytest.mark.parametrize(("header_or_row", "field", "value", "problem"), [
    ("section,time,nh3n\n昭山,2026-07-15,0.3\n", "nh3n", "nh3n", "has no unit"),
    ("section,time,nh3n(ppm)\n昭山,2026-07-15,0.3\n", "nh3n(ppm)", "nh3n(ppm)", "cannot convert"),
    ("section,time,colour(Hazen)\n昭山,2026-07-15,5\n", "colour(Hazen)", "colour(Hazen)", "not an item"),
    ("section,time,nh3n(mg/L)\n昭山,2026-07-15,0.3\n昭山,2026-07-16,abc\n", "nh3n(mg/L)", "abc", "is not a number"),
    ("section,time,nh3n(mg/L)\n昭山,2026-07-15,ND\n", "nh3n(mg/L)", "ND", "without its detection limit"),
    ("section,time,nh3n(mg/L)\n昭山,15/07/2026,0.3\n", "time", "15/07/2026", "is not a date"),
    ("section,time,nh3n(mg/L)\n,2026-07-15,0.3\n", "section", "", "is empty"),
    ("station,time,nh3n(mg/L)\n昭山,2026-07-15,0.3\n", "section", None, "lacks the required column"),
])
def test_bad_manual_input_names_file_row_field_value(tmp_path, header_or_row, field, value, problem):
    p = write(tmp_path, header_or_row, bom=False)
    with pytest.raises(InputError) as exc:
        read_manual_water(p)
    e = exc.value
    assert e.file == str(p) and e.field == field and problem in str(e)
    if value is not None:
        assert e.value == value
    assert e.row in (1, 2, 3)


def test_bad_xlsx_cell_names_the_sheet_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["section", "time", "tp(mg/L)"])
    ws.append(["昭山", "2026-07-15", 0.05])
    ws.append(["昭山", "2026-07-16", "0.05?"])
    p = tmp_path / "bad.xlsx"
    wb.save(p)
    with pytest.raises(InputError) as exc:
        read_manual_water(p)
    assert (exc.value.row, exc.value.field, exc.value.value) == (3, "tp(mg/L)", "0.05?")


def test_weekly_report_excerpts_classify_like_the_report():
    # 湖南省环境监测中心站 weekly reports: 0.002L Cd is classed by its detection limit (II), and
    # then every row's class equals the published class of the week.
    long = read_manual_water(EXCERPTS, section_field="station", time_field="week_end", ignore_unknown=True)
    assert long["below_detection"].sum() == 8
    wide = long.pivot_table(index="section", columns="item", values="value", aggfunc="first")
    bdl = long.pivot_table(index="section", columns="item", values="below_detection", aggfunc="first")
    bdl = bdl.reindex_like(wide).fillna(False).astype(bool)
    r = classify(wide, below_detection=bdl)
    published = pd.read_csv(EXCERPTS).set_index("station")["class_this_week"].dropna()
    roman = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
    for station, cls in published.items():
        assert r.loc[station, "class"] == roman[cls], station
    # with the "best" rule (non-detects as Class I) three rows would disagree
    best = classify(wide, below_detection=bdl, nondetect="best")
    assert sum(best.loc[s, "class"] != roman[c] for s, c in published.items()) == 3
