"""The bulletin's writers on a hand-built bulletin with hostile text: HTML (escaped, nothing
external), Markdown (inert), xlsx (= the CSV tables, formulas neutralised), the SVG charts."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from _browser import assert_clean, chromium, open_page  # noqa: F401  (chromium: fixture)

from envq.bulletin.model import Bulletin, Section, Table
from envq.bulletin.output import bulletin_markdown, sheet_name, write_bulletin_csv, write_bulletin_xlsx
from envq.periods import parse_period
from envq.tables import read_xlsx_sheet

EVIL = ['<script>alert(1)</script>', '=HYPERLINK("https://evil.example/x","点")', "+1", "-2+3", "@SUM(A1)",
        "https://evil.example/track.png", "${x}`\\", "| pipe | [link](https://x.example)"]


def hostile_bulletin() -> Bulletin:
    n = len(EVIL)
    frame = pd.DataFrame({
        "name": EVIL,
        "good_day_ratio": np.linspace(70.0, 100.0, n).round(1),
        "ratio_yoy": [np.nan] + [-6.9] * (n - 1),
        "days": np.arange(n, dtype=np.int64),
        "target_met": ["达标", "未达标"] * (n // 2),
    })
    t = Table("air_cities", "表 <b>城市</b>", frame, {"name": "城市", "good_day_ratio": "优良天数比例(%)",
                                                       "ratio_yoy": "同比(百分点)", "days": "天数", "target_met": "是否达标"},
              {"good_day_ratio": 1, "ratio_yoy": 1}, ["注 <img src=https://evil.example/a.png>", EVIL[5]], "air")
    cal = pd.DataFrame({"city": [EVIL[0]] * 3 + ["长沙市"] * 3,
                        "date": ["2019-08-01", "2019-08-02", "2019-08-03"] * 2,
                        "aqi": [45.0, 120.0, np.nan, 60.0, 210.0, 90.0], "level": [1, 3, 0, 2, 5, 2]})
    mon = pd.DataFrame({"month": [1, 2, 1, 2], "scope": ["province", "province", "city", "city"],
                        "name": ["湖南省", "湖南省", EVIL[0], EVIL[0]], "good_day_ratio": [48.5, 85.2, 40.0, 90.0],
                        "target": [83.0] * 4})
    water = pd.DataFrame({"name": ["湘江", EVIL[0], "湖南省"], "i_iii": [20, 3, 23], "iv": [1, 0, 1], "v": [0, 1, 1],
                          "worse_v": [0, 0, 0]})
    b = Bulletin(parse_period("2019-08"), "湖南省2019年8月环境质量状况 <i>x</i>", "2026-12-06 10:00",
                 [Section("一、<空气>", [f"段落 {EVIL[0]} {EVIL[5]}"], ["air_cities"], ["calendar", "monthly_ratio", "water_classes"])],
                 {"air_cities": t}, {"calendar": cal, "monthly_ratio": mon, "water_classes": water},
                 [("来源", EVIL[5]), ("x", EVIL[0])], [EVIL[1]])
    return b


def test_html_escapes_data_and_references_nothing_external():
    from maps.assets import external_urls
    from maps.bulletin import bulletin_html

    html = bulletin_html(hostile_bulletin())
    assert external_urls(html) == []
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>城市" not in html and "<i>x" not in html
    assert "https://" not in html and "http://" not in html            # a URL in data stays text
    assert "https&#58;//evil.example/track.png" in html
    assert "&#36;{x}&#96;&#92;" in html
    assert html.count("<script") == 0 and "<svg" in html
    # numbers are printed with their published decimals; an empty 同比 cell is empty
    assert re.search(r'<td data-label="优良天数比例\(%\)" class="num">70\.0</td><td data-label="同比\(百分点\)" class="num"></td>', html)


def test_html_shows_data_text_as_text_in_chromium(tmp_path, chromium):
    from maps.bulletin import bulletin_html

    page = tmp_path / "b.html"
    page.write_text(bulletin_html(hostile_bulletin()), encoding="utf-8")
    with open_page(chromium, page, wait_for="table.envq-table") as visit:
        assert_clean(visit)
        cells = visit.page.locator("table.envq-table tbody tr td:first-child").all_inner_texts()
        assert cells == EVIL                               # exactly the text, nothing executed
        assert visit.page.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
        assert visit.page.locator("svg.envq-calendar").count() == 1


def test_markdown_is_inert():
    md = bulletin_markdown(hostile_bulletin())
    assert "<script>" not in md and "\\<script\\>" in md
    assert "[link](" not in md and "\\[link\\]" in md
    # each table row keeps its columns: escaped pipes do not split a cell
    row = next(line for line in md.splitlines() if "pipe" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 6


def test_xlsx_equals_csv_tables_and_neutralises_formulas(tmp_path):
    b = hostile_bulletin()
    csvs = write_bulletin_csv(b, tmp_path / "csv")
    xlsx = write_bulletin_xlsx(b, tmp_path / "b.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["空气优良天数", "说明"]
    for t, path in zip(b.tables.values(), csvs):
        csv = pd.read_csv(path, encoding="utf-8-sig", dtype={"name": str, "target_met": str})
        back = read_xlsx_sheet(xlsx, sheet_name(t.key))
        assert list(back.columns) == [t.header(c) for c in t.frame.columns]
        back.columns = list(t.frame.columns)
        pd.testing.assert_frame_equal(back.astype(object).where(back.notna(), None),
                                      csv.astype(object).where(csv.notna(), None), check_dtype=False)
    ws = wb["空气优良天数"]
    names = [ws.cell(row=r, column=1).value for r in range(3, 3 + len(EVIL))]
    assert names[1].startswith("'=HYPERLINK") and names[2] == "'+1" and names[3] == "'-2+3" and names[4] == "'@SUM(A1)"
    assert all(ws.cell(row=r, column=c).data_type != "f" for r in range(1, ws.max_row + 1) for c in range(1, 6))
    assert ws.cell(row=4, column=3).value == -6.9 and ws.cell(row=4, column=3).number_format == "0.0"
    about = wb["说明"]
    assert about.freeze_panes == "A3"


def test_calendar_chart_month_and_strip():
    from maps.bulletin_charts import calendar_chart

    cal = hostile_bulletin().charts["calendar"]
    svg = calendar_chart(cal, start=dt.date(2019, 8, 1), end=dt.date(2019, 8, 31))
    assert svg.startswith("<svg") and "<script" not in svg and "&lt;script&gt;" in svg
    # 2 cities x 31 days; day 1 of August 2019 is a Thursday (column 四)
    assert svg.count("<rect") >= 62 + 7
    assert ">210<" in svg and "#99004C" in svg          # AQI printed, 重度污染 colour
    strip = calendar_chart(cal, start=dt.date(2019, 7, 1), end=dt.date(2019, 9, 30))
    assert "7月" in strip and "9月" in strip and strip.count("<path fill=") >= 3


def test_ratio_and_class_charts():
    from maps.bulletin_charts import class_chart, ratio_chart

    b = hostile_bulletin()
    svg = ratio_chart(b.charts["monthly_ratio"], target=83.0, year=2019)
    assert "目标 83%" in svg and ">48.5<" in svg and ">85.2<" in svg and "#D73027" in svg and "#1A9850" in svg
    svg = class_chart(b.charts["water_classes"])
    assert ">25个<" in svg and "&lt;script&gt;" in svg and "<script" not in svg


def test_ratio_chart_judges_by_the_one_rule():
    """A month at 82.95% is published 83.0% and meets 83% (envq.targets): the bar is green and
    labelled 83.0, as in every table; 82.94% is 82.9 and red. The stored target_met wins."""
    from maps.bulletin_charts import ratio_chart

    mon = pd.DataFrame({"month": [1, 2], "scope": ["province", "province"], "name": ["湖南省", "湖南省"],
                        "good_day_ratio": [82.95, 82.94]})
    svg = ratio_chart(mon, target=83.0, year=2019)
    bars = re.findall(r'<rect [^>]*fill="(#[0-9A-F]{6})"><title>\d+月', svg)
    assert bars == ["#1A9850", "#D73027"], bars
    assert ">83.0<" in svg and ">82.9<" in svg
    # the stored verdict is read, not re-judged
    svg = ratio_chart(mon.assign(target_met=pd.array([False, True], dtype="boolean")), target=83.0, year=2019)
    bars = re.findall(r'<rect [^>]*fill="(#[0-9A-F]{6})"><title>\d+月', svg)
    assert bars == ["#D73027", "#1A9850"], bars


def test_envq_report_an_internal_error_is_exit_1_a_wrong_part_exit_2(tmp_path, capsys, monkeypatch):
    """issue 11, errors that mean one thing: a ValueError inside the bulletin's code is a defect
    of envq (exit 1, said to be internal), not the user's mistake; a part envq does not know is
    a usage error (exit 2)."""
    import envq.bulletin
    from envq.cli import main
    from envq.store import Store

    Store(tmp_path / "store")   # an (empty) envq store

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast")

    argv = ["report", "--period", "2019-08", "--format", "md", "-o", str(tmp_path / "out"),
            "--store", str(tmp_path / "store")]
    code = main([*argv, "--parts", "smog"])
    err = capsys.readouterr().err
    assert code == 2 and "parts must be among air, water" in err, err
    monkeypatch.setattr(envq.bulletin, "build_bulletin", broken)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "envq: internal error: ValueError: operands could not be broadcast" in err, err


def test_the_about_sheet_names_the_targets_the_tables_were_judged_against():
    """issue 11, one table of targets: the bulletin's method notes print the targets of the stored
    rows (here a city target replaced from a file, 85%), not a literal 83% / 95%."""
    from types import SimpleNamespace

    from envq.bulletin import build
    from envq.periods import parse_period

    air = Table("air_cities", "", pd.DataFrame({"name": ["长沙市", "湖南省"], "target": [85.0, 83.0]}), {}, {}, [], "air")
    water = Table("water_systems", "", pd.DataFrame({"name": ["湘江", "全省"], "target": [np.nan, 96.0]}), {}, {}, [],
                  "water")
    rows = dict(build._about(SimpleNamespace(store=SimpleNamespace(root="store")), parse_period("2019-08"), None,
                             ["air", "water"], "now", {"air_cities": air, "water_systems": water}))
    assert rows["目标 targets"].startswith("优良天数比例 ≥ 83%、85%（")
    assert "Ⅰ~Ⅲ类目标 ≥ 96%（省级）" in rows["水质评价 water"] and "95%" not in rows["水质评价 water"]
