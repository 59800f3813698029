"""``envq water ...`` command line: classify, rates, lake, warn, sections."""

from pathlib import Path

import pandas as pd
import pytest

from envq.cli import main
from envq.sources.cnemc_water import VARIABLE_MAP

DATA = Path(__file__).resolve().parents[1] / "data" / "water"
HUNAN = DATA / "hunan_water_auto_20260709_20260823.csv.gz"
HEADER = ",".join(VARIABLE_MAP)
SMALL = "\ufeff" + HEADER + "\n" + "\n".join([
    "湖南省,长江流域,昭山,2026-07-10 00:00,2,29.7,7.45,6.43,209.5,20.6,1.22,,0.06,1.565,,,2026-07-10 00:25:00",
    "湖南省,长江流域,南嘴,2026-07-10 00:00,4,30.1,8.1,7.1,190,30,2.1,0.05,0.06,1.4,0.021,,2026-07-10 00:25:00",
    "湖南省,长江流域,新断面,2026-07-10 00:00,3,30.1,8.1,7.1,190,30,2.1,0.05,0.15,1.4,,,2026-07-10 00:25:00",
    "湖南省,长江流域,江口,2026-07-10 00:00,-1,,,,,,,,,,,,2026-07-10 00:25:00",
]) + "\n"


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The first week of August 2026 of the bundled file, as a CNEMC CSV (keeps the suite fast)."""
    import gzip

    text = gzip.decompress(HUNAN.read_bytes()).decode("utf-8-sig").splitlines()
    keep = [text[0]] + [line for line in text[1:] if "2026-08-01" <= line.split(",")[3][:10] <= "2026-08-07"]
    p = tmp_path_factory.mktemp("week") / "week.csv"
    p.write_text("\ufeff" + "\n".join(keep) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "in.csv"
    p.write_text(SMALL, encoding="utf-8")
    return p


def test_classify_writes_section_time_class_limiting_items(small, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["water", "classify", str(small), "--output", str(out)]) == 0
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["section", "time", "class", "limiting_items"]
    # 昭山 river: TP 0.06 II, DO 6.43 II; 南嘴 lake: TP 0.06 -> IV; 新断面 unknown -> river, TP 0.15 III
    assert df.values.tolist() == [
        ["昭山", "2026-07-10 00:00", "2", "do;tp"],
        ["南嘴", "2026-07-10 00:00", "4", "tp"],
        ["新断面", "2026-07-10 00:00", "3", "tp"],
        ["江口", "2026-07-10 00:00", "", ""],
    ]
    err = capsys.readouterr().err
    assert "not in the registry" in err and "新断面" in err and "agreement with the published class: 3/3" in err


def test_classify_bundled_file_agrees_with_published_class(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["water", "classify", str(HUNAN), "-o", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) == 37204
    assert "37196/37200" in capsys.readouterr().err


def test_classify_with_registry_option(small, tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text("section,water_body\n新断面,lake\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["water", "classify", str(small), "--registry-extend", str(reg), "-o", str(out), "--details"]) == 0
    df = pd.read_csv(out)
    assert df.loc[2, "class"] == 5  # TP 0.15 with the lake column: V
    assert {"status", "main_pollutants", "official_class", "tn_class"} <= set(df.columns)


def test_classify_bad_input_exits_2_with_location(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text(SMALL.replace("0.06,1.565", "abc,1.565"), encoding="utf-8")
    assert main(["water", "classify", str(p), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "总磷(mg/L)" in err and "'abc'" in err


@pytest.mark.parametrize("by", ["system", "river", "city", "section", "province"])
def test_rates_columns(tmp_path, week, by):
    out = tmp_path / "rates.csv"
    assert main(["water", "rates", str(week), "--period", "2026-08", "--by", by, "--output", str(out)]) == 0
    df = pd.read_csv(out)
    need = ["group", "name", "period", "sections"] + [f"class_{k}" for k in range(1, 7)] + [
        "i_iii_share", "worse_v_share", "status"]
    assert list(df.columns[: len(need)]) == need
    assert (df["group"] == by).all() and (df["period"] == "2026-08").all()
    assert df["sections"].sum() == 61


@pytest.mark.parametrize("period", ["2026-08", "2026-Q3", "2026", "2026-08-01..2026-08-07", "2026-08-03"])
def test_rates_periods(tmp_path, week, period):
    out = tmp_path / "rates.csv"
    assert main(["water", "rates", str(week), "--period", period, "--by", "province", "-o", str(out)]) == 0
    r = pd.read_csv(out, dtype={"period": str}).iloc[0]
    assert r["period"] == period
    assert 55 <= r["sections"] <= 61 and 85 <= r["i_iii_share"] <= 100 and r["status"] in ("优", "良好")


def test_rates_period_without_data(tmp_path, week, capsys):
    # no data in the period: a user's error (exit 2, envq.errors.NoDataError), naming what the data covers
    assert main(["water", "rates", str(week), "--period", "2025-01", "-o", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert "no data" in err and "the data covers 2026-08-01..2026-08-07" in err


def test_rates_previous_and_custom_groups(tmp_path):
    groups = tmp_path / "g.csv"
    groups.write_text("group,section\n湘江长株潭段,马家河\n湘江长株潭段,昭山\n湘江长株潭段,桔子洲\n", encoding="utf-8")
    out = tmp_path / "rates.csv"
    assert main(["water", "rates", str(HUNAN), "--period", "2026-08", "--groups", str(groups),
                 "--previous", "2026-07", "-o", str(out)]) == 0
    r = pd.read_csv(out).iloc[0]
    assert r["group"] == "custom" and r["name"] == "湘江长株潭段" and r["sections"] == 3
    assert r["previous_period"] == "2026-07" and isinstance(r["change"], str)


def test_rates_with_manual_data_and_source_choice(tmp_path, week, capsys):
    man = tmp_path / "manual.csv"
    man.write_text("section,time,nh3n(mg/L),hg(ug/L)\n昭山,2026-08-05,0.4,0.02L\n", encoding="utf-8")
    out = tmp_path / "r.csv"
    assert main(["water", "rates", str(week), str(man), "--period", "2026-08", "--by", "section", "-o", str(out)]) == 2
    assert "both automatic and manual" in capsys.readouterr().err
    assert main(["water", "rates", str(week), str(man), "--period", "2026-08", "--by", "section",
                 "--source", "prefer_automatic", "-o", str(out)]) == 0


def test_lake_warn_and_sections(tmp_path, week):
    out = tmp_path / "lake.csv"
    assert main(["water", "lake", str(week), "--period", "2026-08", "-o", str(out)]) == 0
    lake = pd.read_csv(out)
    assert lake["scope"].tolist() == ["point"] * 4 + ["lake"] and lake["tli"].notna().all()
    assert main(["water", "warn", str(week), "--margin", "0.1", "-o", str(tmp_path / "w.csv")]) == 0
    w = pd.read_csv(tmp_path / "w.csv")
    assert set(w["state"]) <= {"near", "over"}
    assert main(["water", "sections", "-o", str(tmp_path / "s.csv")]) == 0
    s = pd.read_csv(tmp_path / "s.csv")
    assert len(s) == 61 and "coordinate_note" in s


def test_registry_replaced_by_environment(tmp_path, monkeypatch, small):
    reg = tmp_path / "reg.csv"
    reg.write_text("section,water_body\n昭山,lake\n", encoding="utf-8")
    monkeypatch.setenv("ENVQ_SECTIONS", str(reg))
    out = tmp_path / "out.csv"
    assert main(["water", "classify", str(small), "-o", str(out)]) == 0
    df = pd.read_csv(out)
    assert df.loc[0, "class"] == 4 and df.loc[1, "class"] == 2  # 昭山 now a lake; 南嘴 unknown -> river
