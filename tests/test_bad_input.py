"""Nothing wrong gets in (issue 12, items 1, 3, 4, 5, 6 and the first-contact input items).

Each case is a real file (the bundled CNEMC data, cut, damaged or edited the way the fault
injection round did) read through the command line: exit 2, a message naming the file, the row
and the field, bounded in length, never a traceback, never a silently wrong number.
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from envq.cli import main
from envq.errors import EncodingGuessWarning, InputError, UnknownStationWarning
from envq.sources.adapters import Payload, parse_payloads
from envq.sources.cnemc_archive import read_cnemc_archive
from envq.sources.cnemc_live import read_cnemc_live
from envq.sources.dispatch import read_air, read_water

pytestmark = pytest.mark.filterwarnings("ignore", category=UnknownStationWarning)

WATER = "water/hunan_water_auto_20260709_20260823.csv.gz"


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def text_of(path) -> str:
    raw = path.read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8-sig")


@pytest.fixture(scope="module")
def year_lines(data_dir):
    """The 2019 Hunan archive extract, line by line (CRLF, as the archive writes it)."""
    return text_of(data_dir / "air/hunan_sites_2019_wide.csv.gz").split("\r\n")


@pytest.fixture(scope="module")
def water_lines(data_dir):
    return text_of(data_dir / WATER).splitlines(keepends=True)


# --------------------------------------------------------------------------------------------
# 1. a file cut off mid-row, a row with fewer fields than its header


def test_archive_cut_inside_a_value_is_refused(tmp_path, capsys, year_lines):
    """The fault-injection case: cut inside 1520A's PM2.5 of 92 at 2019-01-03 05:00 (read as 9),
    which made its AQI 13 (优) instead of 122 (轻度污染), exit 0."""
    header = year_lines[0].split(",")
    j = header.index("1520A")
    row = year_lines[797].split(",")
    assert row[:3] == ["20190103", "5", "PM2.5"] and row[j] == "92"
    cut = ",".join(row[:j] + ["9"])
    path = tmp_path / "china_sites_20190103.csv"
    path.write_text("\r\n".join(year_lines[:797] + [cut]), encoding="utf-8")  # no line break at the end
    out = tmp_path / "aqi.csv"
    code, _, err = run(["air", "hourly-aqi", path, "-o", out], capsys)
    assert code == 2 and not out.exists()
    assert f"{path}: row 798, field '{header[j + 1]}'" in err
    assert f"has {j + 1} fields where the header has {len(header)}: it lacks {header[j + 1]}, " in err
    assert "the file ends in this row without a line break: it was cut off" in err


def test_the_same_file_whole_still_gives_122(tmp_path, capsys, year_lines):
    path = tmp_path / "china_sites_20190103.csv"
    path.write_text("\r\n".join(year_lines[:811]), encoding="utf-8")  # whole hours, no final line break
    out = tmp_path / "aqi.csv"
    assert run(["air", "hourly-aqi", path, "-o", out], capsys)[0] == 0
    aqi = pd.read_csv(out, encoding="utf-8-sig", dtype=str).set_index(["stationcode", "timepoint"])
    assert aqi.loc[("1520A", "2019-01-03T0500"), "aqi"] == "122"


def test_archive_row_that_lost_fields_in_the_middle(tmp_path, year_lines):
    lines = year_lines[:40]
    lines[20] = ",".join(lines[20].split(",")[:50])  # 35 station fields gone
    path = tmp_path / "a.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_cnemc_archive(path)
    header = year_lines[0].split(",")
    assert (info.value.row, info.value.field) == (21, header[50])
    assert "has 50 fields where the header has 85" in str(info.value) and "(a cut row or a lost separator)" in str(info.value)


def test_live_cut_row_is_refused(tmp_path, capsys, data_dir):
    text = text_of(data_dir / "air/cnemc_live_2026-03-10T09.csv")
    cut = text[: text.index("\n", 5000) - 7]  # inside the last fields of a row
    path = tmp_path / "live.csv"
    path.write_text(cut, encoding="utf-8")
    code, _, err = run(["air", "hourly-aqi", path, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "cut off" in err and f"{path}: row " in err


def test_water_cut_row_is_refused(tmp_path, capsys, water_lines):
    """A water file cut inside 小河嘴's TP at 2026-07-09 21:00 (0.037 read as 0.0) changed its class
    from Ⅲ to Ⅱ, exit 0."""
    line = water_lines[40]
    assert line.startswith("湖南省,长江流域,小河嘴,2026-07-09 21:00,3,") and ",0.037," in line
    path = tmp_path / "w.csv"
    path.write_text("".join(water_lines[:40]) + line[: line.index(",0.037,") + 4], encoding="utf-8")
    code, _, err = run(["water", "classify", path], capsys)
    assert code == 2
    assert f"{path}: row 41, field '总氮(mg/L)'" in err and "it lacks 总氮(mg/L), 叶绿素α(mg/L)" in err
    assert "cut off" in err


def test_water_whole_file_classes_小河嘴_as_iii(tmp_path, capsys, water_lines):
    path = tmp_path / "w.csv"
    path.write_text("".join(water_lines[:41]), encoding="utf-8")
    code, out, _ = run(["water", "classify", path], capsys)
    classes = pd.read_csv(io.StringIO(out.lstrip("\ufeff"))).set_index(["section", "time"])["class"]
    assert code == 0 and classes[("小河嘴", "2026-07-09 21:00")] == 3


def test_quoted_csv_short_row(tmp_path):
    path = tmp_path / "live.csv"
    path.write_text('timepoint,stationcode,pm2_5,pm10,so2,no2,co,o3\n'
                    '2026-04-15T0900,"1335A",1,2,3,4,0.5,6\n2026-04-15T0900,"1336A",1,2\n', encoding="utf-8")
    with pytest.raises(InputError, match="has 4 fields where the header has 8: it lacks so2, no2, co, o3") as info:
        read_cnemc_live(path)
    assert info.value.row == 3


# --------------------------------------------------------------------------------------------
# 3. corrupt and truncated gzip


def _damaged(data: bytes) -> bytes:
    bad = bytearray(data)
    for i in range(len(bad) // 2, len(bad) // 2 + 64):
        bad[i] ^= 0x5A
    return bytes(bad)


@pytest.mark.parametrize("damage, says", [
    (_damaged, "is a damaged gzip file"),
    (lambda b: b[: len(b) // 2], "is a truncated gzip file"),
])
@pytest.mark.parametrize("command, source", [
    (["air", "hourly-aqi", "{p}", "-o", "{o}"], "air/china_sites_20190101.csv.gz"),
    (["air", "rates", "{p}", "--period", "2019"], "air/china_sites_20190101.csv.gz"),
    (["water", "rates", "{p}", "--period", "2026-07"], "water/National_Water_20260720.csv.gz"),
    (["water", "classify", "{p}"], "water/National_Water_20260720.csv.gz"),
])
def test_damaged_gzip_exits_2_naming_the_file(tmp_path, capsys, data_dir, damage, says, command, source):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(damage((data_dir / source).read_bytes()))
    argv = [a.format(p=path, o=tmp_path / "o.csv") for a in command]
    code, _, err = run(argv, capsys)
    assert code == 2 and f"{path} {says}" in err and "fetch or copy it again" in err


def test_damaged_gzip_payload_names_its_origin(tmp_path, data_dir):
    path = tmp_path / "National_Water_20260720.csv.gz"
    path.write_bytes(_damaged((data_dir / "water/National_Water_20260720.csv.gz").read_bytes()))
    with pytest.raises(InputError, match="is a damaged gzip file") as info:
        parse_payloads("water", [Payload.from_path(path)], "2026-07-20", "2026-07-20")
    assert info.value.file == str(path)


# --------------------------------------------------------------------------------------------
# 4. huge fields: bounded, and every message quotes at most ~60 characters of a value

HUGE = "9" * 30_000_000


def test_30_mb_value_in_a_live_csv(tmp_path, capsys, data_dir):
    lines = text_of(data_dir / "air/cnemc_live_2026-03-10T09.csv").splitlines(keepends=True)
    fields = lines[5].split(",")
    fields[4] = HUGE  # area
    path = tmp_path / "live.csv"
    path.write_text("".join(lines[:5]) + ",".join(fields) + "".join(lines[6:]), encoding="utf-8")
    code, _, err = run(["air", "hourly-aqi", path, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and len(err) < 400
    assert f"{path}: row 6, field 'area': value '99999" in err
    assert "… (30,000,000 characters)' is 30,000,000 characters long, more than the 1,000 envq accepts" in err


@pytest.mark.parametrize("make", ["archive", "water", "manual", "json", "header"])
def test_every_message_is_bounded(tmp_path, capsys, make):
    path = tmp_path / ("x.json" if make == "json" else "x.csv")
    huge = "x" * 3_000_000
    body = {
        "archive": f"date,hour,type,1335A\n20190101,0,PM2.5,{huge}\n",
        "water": "section,time,nh3n(mg/L)\n" + f"{huge},2026-07-01,0.1\n",
        "manual": f"section,time,nh3n(mg/L)\n昭山,2026-07-01,{huge[:900]}\n",
        "json": '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"stationcode":"1001A",'
                f'"timepoint":"2018-02-20T07:00:00","pm2_5":"{huge}"}}}}]}}',
        "header": f"date,hour,type,{huge}\n",
    }[make]
    path.write_text(body, encoding="utf-8")
    argv = (["water", "rates", path, "--period", "2026-07"] if make in ("water", "manual")
            else ["air", "hourly-aqi", path, "-o", tmp_path / "o.csv"])
    code, _, err = run(argv, capsys)
    assert code == 2 and len(err) < 500 and str(path) in err, err


def test_input_error_bounds_any_value():
    err = InputError("f.csv", 2, "f" * 500, "v" * 10_000, "p" * 10_000)
    assert len(str(err)) < 900 and "(10,000 characters)" in str(err) and "(500 characters)" in str(err)
    assert len(err.value) < 1100  # kept shortened on the exception too
    assert "\x1b" not in str(InputError("f.csv", 2, "a\x1b[2J", "\x1b[31mred", "is \x1b bad"))


# --------------------------------------------------------------------------------------------
# 5. water plausibility: instrument ranges, every removal listed; duplicates


def _with_nh3n(water_lines, section, time, value):
    out = []
    for line in water_lines:
        f = line.split(",")
        if len(f) > 11 and f[2] == section and f[3] == time:
            f[11] = value
            line = ",".join(f)
        out.append(line)
    return "".join(out)


def test_nh3n_99999_is_screened_and_listed(tmp_path, capsys, data_dir, water_lines):
    """NH3-N 99999 at 昭山 (湘江) silently made its July class 劣V and lowered 湘江's share."""
    base = tmp_path / "base.csv"
    base.write_text("".join(water_lines), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(_with_nh3n(water_lines, "昭山", "2026-07-09 21:00", "99999"), encoding="utf-8")

    def xiang(path):
        code, out, err = run(["water", "rates", path, "--period", "2026-07", "--by", "system"], capsys)
        rates = pd.read_csv(io.StringIO(out.lstrip("\ufeff"))).set_index("name")
        return code, rates.loc["湘江"], err

    code, r_base, _ = xiang(base)
    code_bad, r_bad, err = xiang(bad)
    assert code == code_bad == 0
    assert (r_bad["i_iii_share"], r_bad["status"], r_bad["class_6"]) == (r_base["i_iii_share"], r_base["status"], 0)
    assert r_bad["i_iii_share"] == pytest.approx(95.24)
    assert "1 value(s) screened as implausible" in err
    assert "NH3-N above 100 mg/L (50 x the Class V limit of 2.0 mg/L) is not a surface-water reading" in err
    assert "bad.csv row 2: 昭山 nh3n=99999" in err

    code, out, _ = run(["water", "screen", bad], capsys)
    listed = pd.read_csv(io.StringIO(out.lstrip("\ufeff")))
    assert code == 0 and len(listed) == 1
    row = listed.iloc[0]
    assert (row["section"], row["item"], row["value"], row["rule"], row["row"]) == ("昭山", "nh3n", 99999, "plausible_range", 2)
    assert "GB 3838-2002 Class V limit" in row["source"]


def test_water_bounds_are_data_with_their_source():
    from envq.water.screen import PLAUSIBLE_RANGES, SCREENING_FILE, range_sources

    assert SCREENING_FILE.name == "screening.yaml"
    for item in ("ph", "do", "water_temp", "conductivity", "turbidity", "codmn", "nh3n", "tp", "tn", "chla",
                 "algae_density"):
        assert item in PLAUSIBLE_RANGES and range_sources()[item]


def test_a_duplicate_section_hour_with_different_values_is_an_error(tmp_path, capsys, water_lines):
    changed = water_lines[1].replace(",0.06,1.565,", ",0.07,1.565,")
    path = tmp_path / "w.csv"
    path.write_text("".join(water_lines[:30]) + changed, encoding="utf-8")
    code, _, err = run(["water", "rates", path, "--period", "2026-07"], capsys)
    assert code == 2
    assert (f"{path}: row 31, field '总磷(mg/L)': value '0.07' differs from row 2 ('0.06'), which has the same "
            "section 昭山 and time 2026-07-09 21:00: duplicate rows must be identical") in err


def test_an_identical_duplicate_is_kept_once(tmp_path, water_lines):
    path = tmp_path / "w.csv"
    path.write_text("".join(water_lines[:30]) + water_lines[1], encoding="utf-8")
    files = read_water([path])
    at = files.long[(files.long["section"] == "昭山") & (files.long["time"] == "2026-07-09 21:00")]
    assert len(at) == 8 and sorted(at["row"].unique()) == [2]  # its 8 measured items, from row 2 only
    assert files.duplicates_dropped == [f"{path}: row 31 (section 昭山, time 2026-07-09 21:00) repeats row 2"]


def test_two_files_that_disagree_on_a_reading(tmp_path, capsys, water_lines):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("".join(water_lines[:30]), encoding="utf-8")
    b.write_text(water_lines[0] + water_lines[1].replace(",0.06,1.565,", ",0.6,1.565,"), encoding="utf-8")
    code, _, err = run(["water", "rates", a, b, "--period", "2026-07"], capsys)
    assert code == 2 and f"{b}: row 2, field 'tp'" in err and f"differs from {a} row 2" in err


def test_manual_duplicate_samples(tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("section,time,nh3n(mg/L)\n昭山,2026-07-15,0.35\n昭山,2026-07-15,0.53\n", encoding="utf-8")
    code, _, err = run(["water", "rates", path, "--period", "2026-07"], capsys)
    assert code == 2 and "row 3, field 'nh3n(mg/L)': value '0.53' differs from row 2 ('0.35')" in err


# --------------------------------------------------------------------------------------------
# 6. header-only files: "FILE has a header but no data rows" everywhere


@pytest.mark.parametrize("name, body, command", [
    ("china_sites_20190101.csv", "date,hour,type,1001A,1002A\n", ["air", "hourly-aqi", "{p}", "-o", "{o}"]),
    ("china_sites_20190101.csv", "date,hour,type,1001A,1002A\r\n\r\n", ["air", "rates", "{p}", "--period", "2019"]),
    ("live.csv", "timepoint,stationcode,pm2_5,pm10,so2,no2,co,o3\n", ["air", "hourly-aqi", "{p}", "-o", "{o}"]),
    ("live.json", '{"type": "FeatureCollection", "features": []}', ["air", "hourly-aqi", "{p}", "-o", "{o}"]),
    ("w.csv", "省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),"
              "高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L)\n",
     ["water", "rates", "{p}", "--period", "2026-07"]),
    ("m.csv", "section,time,nh3n(mg/L)\n", ["water", "rates", "{p}", "--period", "2026-07"]),
    ("m.csv", "section,time,nh3n(mg/L)\n,,\n", ["water", "lake", "{p}", "--period", "2026-07"]),
])
def test_header_only_files(tmp_path, capsys, name, body, command):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    code, _, err = run([a.format(p=path, o=tmp_path / "o.csv") for a in command], capsys)
    assert code == 2
    says = "has no records" if name.endswith(".json") else "has a header but no data rows"
    assert f"{path} {says}" in err


def test_header_only_workbook(tmp_path, capsys):
    from envq.sources.manual_water import write_template

    path = write_template(tmp_path / "template.xlsx")
    code, _, err = run(["water", "rates", path, "--period", "2026-07"], capsys)
    assert code == 2 and f"{path} has a header but no data rows" in err


def test_header_only_payload(tmp_path):
    path = tmp_path / "china_sites_20191231.csv"
    path.write_text("date,hour,type,1001A\n", encoding="utf-8")
    with pytest.raises(InputError, match="has a header but no data rows"):
        parse_payloads("air", [Payload.from_path(path)], "2019-12-31", "2019-12-31")


# --------------------------------------------------------------------------------------------
# first contact: encodings, file errors in words


def test_gbk_file_is_read_with_a_warning(tmp_path, capsys, water_lines):
    path = tmp_path / "w.csv"
    path.write_bytes("".join(water_lines[:120]).encode("gbk"))
    with pytest.warns(EncodingGuessWarning, match="not UTF-8; read as GB18030"):
        long = read_water([path]).long
    assert "小河嘴" in set(long["section"])
    utf8 = tmp_path / "u.csv"
    utf8.write_text("".join(water_lines[:120]), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = read_water([utf8]).long
    pd.testing.assert_frame_equal(long.drop(columns="file"), same.drop(columns="file"))

    def envq(*args):  # a process of its own: the warning as a user sees it on stderr
        return subprocess.run([sys.executable, "-m", "envq.cli", "water", "rates", str(path), "--period", "2026-07",
                               *args], capture_output=True, text=True)

    done = envq()
    assert done.returncode == 0 and f"envq: warning: {path}: not UTF-8; read as GB18030 (GBK)" in done.stderr
    done = envq("--encoding", "gbk")
    assert done.returncode == 0 and "warning" not in done.stderr
    code, _, err = run(["water", "rates", path, "--period", "2026-07", "--encoding", "utf-8"], capsys)
    assert code == 2 and "cannot be decoded as UTF-8; the file decodes as GBK" in err and "--encoding gbk" in err


def test_a_damaged_utf8_file_is_not_guessed_as_gbk(tmp_path, water_lines):
    raw = bytearray("".join(water_lines[:50]).encode("utf-8"))
    raw[raw.index("小河嘴".encode()) + 1] = 0xFF  # one bad byte in a UTF-8 file
    path = tmp_path / "w.csv"
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="cannot be decoded as UTF-8") as info:
        read_water([path])
    assert info.value.row == 41


def test_unknown_encoding_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["water", "rates", str(tmp_path / "x.csv"), "--period", "2026-07", "--encoding", "klingon"])
    assert info.value.code == 2 and "unknown encoding 'klingon'" in capsys.readouterr().err


@pytest.mark.parametrize("target, says", [
    ("missing.csv", "missing.csv: no such file or folder; check the path"),
    ("", "is a folder where a file is expected"),
])
def test_file_errors_in_words(tmp_path, capsys, target, says):
    code, _, err = run(["water", "rates", tmp_path / target, "--period", "2026-07"], capsys)
    assert code == 2 and says in err and "Error" not in err


def test_workbook_given_as_air_file(tmp_path, capsys):
    from envq.sources.manual_water import write_template

    path = write_template(tmp_path / "t.xlsx")
    csv = tmp_path / "t.csv"
    csv.write_bytes(path.read_bytes())
    code, _, err = run(["air", "hourly-aqi", csv, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and "is a zip archive (an .xlsx workbook?), not a text CSV" in err


def test_unassigned_system_is_named_and_explained(tmp_path, capsys, data_dir):
    code, out, err = run(["water", "rates", data_dir / WATER, "--period", "2026-07", "--by", "system"], capsys)
    names = set(pd.read_csv(io.StringIO(out.lstrip("\ufeff")))["name"])
    assert code == 0 and "未归属 unassigned" in names and "unknown" not in names
    assert "have no system in the registry, shown as 未归属 unassigned" in err and "--registry-extend" in err


def test_every_option_has_help():
    import argparse

    from envq.cli import build_parser

    missing = []

    def walk(p, path):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sp in a.choices.items():
                    walk(sp, [*path, name])
            elif a.help is None and a.option_strings and path[1] in ("air", "water", "reach"):
                missing.append(f"{' '.join(path)} {a.option_strings[0]}")

    walk(build_parser(), ["envq"])
    assert missing == []


def test_water_help_has_no_restructuredtext(capsys):
    with pytest.raises(SystemExit):
        main(["water", "--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "Surface water (GB 3838-2002)" in out


# --------------------------------------------------------------------------------------------
# a hostile user's further inputs


@pytest.mark.parametrize("body, row, says", [
    ("date,hour,type,1335A\n20190101,0,PM2.5,\x0042\n", 2, "holds a NUL byte"),
    ("date;hour;type;1335A\n20190101;0;PM2.5;42\n", 1, "separated by semicolons, not commas"),
    ("date\thour\ttype\t1335A\n20190101\t0\tPM2.5\t42\n", 1, "separated by tabs, not commas"),
    ("date,hour,type,1335A\n99991231,0,PM2.5,42\n", 2, "is in the future"),  # not 1816 (ns overflow)
    ("date,hour,type,1335A\n2019013,0,PM2.5,42\n", 2, "is not a date written YYYYMMDD"),
    ("date,hour,type,1335A\n19000101,0,PM2.5,42\n", 2, "is before 1970"),
    ("date,hour,type,1335A\n20990101,0,PM2.5,42\n", 2, "is in the future"),
    ("date,hour,type,1335A\n20190101,0,PM2.5,-inf\n", 2, "is not a finite number"),
    ("date,hour,type,date\n20190101,0,PM2.5,42\n", 1, "names columns 1 and 4"),
])
def test_hostile_archive_files(tmp_path, body, row, says):
    path = tmp_path / "a.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=says) as info:
        read_air(path)
    assert info.value.row == row


def test_crlf_bom_and_lone_cr_read_the_same(tmp_path, data_dir):
    text = text_of(data_dir / "air/china_sites_20190101.csv.gz").replace("\r\n", "\n")
    ref = read_cnemc_archive(data_dir / "air/china_sites_20190101.csv.gz")
    for name, body in (("lf.csv", text.encode()), ("bom.csv", b"\xef\xbb\xbf" + text.encode()),
                       ("cr.csv", text.replace("\n", "\r").encode()), ("u16.csv", text.encode("utf-16"))):
        (tmp_path / name).write_bytes(body)
        ds = read_air(tmp_path / name)
        np.testing.assert_array_equal(ds["pm25"].values, ref["pm25"].values)


@pytest.mark.parametrize("cell, says", [("inf", "is not a finite number"), ("1e999", "is not a finite number"),
                                        ("nan%", "is not a number"), ("--5", "is not a number")])
def test_hostile_water_numbers(tmp_path, water_lines, cell, says):
    f = water_lines[1].split(",")
    f[11] = cell
    path = tmp_path / "w.csv"
    path.write_text(water_lines[0] + ",".join(f), encoding="utf-8")
    with pytest.raises(InputError, match=says) as info:
        read_water([path])
    assert (info.value.row, info.value.field) == (2, "氨氮(mg/L)")


def test_too_big_a_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(b"date,hour,type,1001A\n" + b"20190101,0,PM2.5,1\n" * 200_000))  # a small bomb
    monkeypatch.setenv("ENVQ_MAX_FILE_BYTES", "1000000")
    with pytest.raises(InputError, match="unpacks to more than 1 MiB, more than envq reads from one file"):
        read_air(path)


def test_a_device_or_a_pipe_is_not_read_without_end(tmp_path, capsys):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for target in (fifo, "/dev/zero"):
        code, _, err = run(["air", "hourly-aqi", target, "-o", tmp_path / "o.csv"], capsys)
        assert code == 2 and f"{target} is not a regular file (a device, a pipe or a socket)" in err


def test_files_joined_with_their_headers(tmp_path, data_dir):
    text = text_of(data_dir / "air/china_sites_20190101.csv.gz").replace("\r\n", "\n")
    lines = text.split("\n")
    path = tmp_path / "joined.csv"
    path.write_text("\n".join(lines[:31] + lines[:31]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="repeats the header of row 1: files joined with their headers") as info:
        read_air(path)
    assert info.value.row == 32


@pytest.mark.parametrize("make, says, row, field", [
    (lambda t: t.replace("2026-07-09 21:00", "2099-07-09 21:00", 1), "is in the future", 2, "监测时间"),
    (lambda t: t.replace("2026-07-09 21:00", "1969-07-09 21:00", 1), "is before 1970", 2, "监测时间"),
    (lambda t: t.replace("2026-07-09 21:00", "2026-02-30 21:00", 1), "is not a time", 2, "监测时间"),
    (lambda t: t.replace("氨氮(mg/L)", "总磷(mg/L)", 1), "names columns 12 and 13", 1, "总磷(mg/L)"),
    (lambda t: t.replace(",", ";"), "separated by semicolons, not commas", 1, "断面名称, 监测时间"),
    (lambda t: t.replace("\n", "\r"), None, None, None),  # old Mac line ends: read as lines
    (lambda t: "\ufeff" + t, None, None, None),
])
def test_hostile_water_files(tmp_path, water_lines, make, says, row, field):
    path = tmp_path / "w.csv"
    path.write_text(make("".join(water_lines[:60])), encoding="utf-8")
    if says is None:
        assert len(read_water([path]).long) == len(read_water([_plain(tmp_path, water_lines[:60])]).long)
        return
    with pytest.raises(InputError, match=says) as info:
        read_water([path])
    assert info.value.row == row and info.value.field.startswith(field)


def _plain(tmp_path, lines):
    p = tmp_path / "plain.csv"
    p.write_text("".join(lines), encoding="utf-8")
    return p


@pytest.mark.parametrize("body, says", [
    (b"", "is empty: the file has no header"),
    (b"\xef\xbb\xbf", "is empty: the file has no header"),
    (b"  \n\n \n", "is empty: the file has no header"),
    ("date,hour,type,1335A\n20190101,0,PM2.5,42\n".encode("utf-16-le"), "holds a NUL byte"),  # UTF-16 without BOM
])
def test_empty_and_binary_files(tmp_path, body, says):
    path = tmp_path / "x.csv"
    path.write_bytes(body)
    with pytest.raises(InputError, match=says):
        read_cnemc_archive(path)


@pytest.mark.parametrize("timepoint, says", [("1969-12-31T2300", "is before 1970"), ("2099-01-01T0000", "is in the future"),
                                             ("2026-04-15T09:00+08:00", "is not a time like 2026-04-15T0900")])
def test_hostile_live_times(tmp_path, timepoint, says):
    path = tmp_path / "live.csv"
    path.write_text(f"timepoint,stationcode,pm2_5,pm10,so2,no2,co,o3\n{timepoint},1335A,1,2,3,4,0.5,6\n", encoding="utf-8")
    with pytest.raises(InputError, match=says) as info:
        read_cnemc_live(path)
    assert (info.value.row, info.value.field) == (2, "timepoint")


@pytest.mark.parametrize("body, says", [
    ("[" * 100_000 + "]" * 100_000, "is JSON nested too deeply"),  # a RecursionError traceback before
    ('{"type": "FeatureCollection", "features": "x"}', "is not a GeoJSON feature with properties"),
    ('{"type": "FeatureCollection", "features": [{"properties": {"stationcode": "1001A", '
     '"timepoint": "2018-02-20T07:00:00", "pm2_5": [1, 2], "pm10": "1", "so2": "1", "no2": "1", "co": "1", '
     '"o3": "1"}}]}', "is not a number"),
])
def test_hostile_json(tmp_path, capsys, body, says):
    path = tmp_path / "live.json"
    path.write_text(body, encoding="utf-8")
    code, _, err = run(["air", "hourly-aqi", path, "-o", tmp_path / "o.csv"], capsys)
    assert code == 2 and says in err and str(path) in err


def test_a_workbook_formula_without_its_value(tmp_path, capsys):
    """openpyxl and other programs write formulas without the value Excel would compute: read as
    empty cells ("not measured"), they vanished silently."""
    import openpyxl

    path = tmp_path / "m.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["section", "time", "nh3n(mg/L)"])
    ws.append(["昭山", "2026-07-15", "=0.1*3"])
    wb.save(path)
    code, _, err = run(["water", "rates", path, "--period", "2026-07"], capsys)
    assert code == 2 and "row 2, field 'nh3n(mg/L)': value '=0.1*3' is a formula without a computed value" in err



@pytest.mark.parametrize("value", ["-5", "32.7", "99999", "501"])
def test_a_published_aqi_that_no_edition_gives_is_refused(tmp_path, capsys, data_dir, value):
    """A published AQI is an integer (HJ 633-2012 §6.2, HJ 633-2026 §4.2.6: rounded up) from 0 to
    500: anything else is bad input (the audit reported -5 as 优 and 32.7 as 33 before), in the live
    CSV and in the archive's AQI rows."""
    live = text_of(data_dir / "air/cnemc_live_2026-03-10T09.csv").splitlines()
    assert live[1].startswith("2026-03-10T0900,2568A,") and ",,32,27," in live[1]
    f = tmp_path / "live.csv"
    f.write_text("\n".join([live[0], live[1].replace(",,32,27,", f",,{value},27,"), *live[2:5]]) + "\n",
                 encoding="utf-8")
    code, _, err = run(["audit", "air", f, "-o", tmp_path / "out.csv"], capsys)
    assert code == 2 and f"{f}: row 2, field 'aqi': value '{value}' is not an AQI" in err, err
    assert not (tmp_path / "out.csv").exists()

    arch = text_of(data_dir / "air/china_sites_20190101.csv.gz").splitlines()
    k = arch[0].split(",").index("1001A")
    row = arch[1].split(",")
    assert row[2] == "AQI" and row[k] != ""
    row[k] = value
    g = tmp_path / "china_sites_20190101.csv"
    g.write_text("\n".join([arch[0], ",".join(row), *arch[2:16]]) + "\n", encoding="utf-8")
    code, _, err = run(["air", "hourly-aqi", g, "-o", tmp_path / "h.csv"], capsys)
    assert code == 2 and f"{g}: row 2, field '1001A': value '{value}' is not an AQI" in err, err
