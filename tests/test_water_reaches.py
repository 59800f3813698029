"""River-chief reaches (河长制): configuration, groups, per-reach report and the ``envq reach`` CLI."""

import warnings

import pandas as pd
import pytest
import yaml

from envq.cli import main
from envq.errors import InputError, UnknownStationWarning
from envq.water.cli import load_inputs
from envq.water.groups import evaluate
from envq.water.reaches import (
    NO_DATA,
    Reach,
    bundled_reaches_path,
    load_reaches,
    reach_groups,
    reach_report,
    status_trend,
)
from envq.water.registry import load_registry

EXTRACT = "water/hunan_water_auto_20260709_20260823.csv.gz"
MONTHS = ("2026-07", "2026-08")


@pytest.fixture(scope="module")
def long(data_dir):
    kept, _, _ = load_inputs([data_dir / EXTRACT])
    return kept


@pytest.fixture(scope="module")
def reaches():
    return load_reaches()


@pytest.fixture(scope="module")
def by_section(data_dir, tmp_path_factory):
    """``envq water rates --by section`` for July and August: one row per section, read back."""
    out = {}
    for m in MONTHS:
        p = tmp_path_factory.mktemp("rates") / f"sections_{m}.csv"
        assert main(["water", "rates", str(data_dir / EXTRACT), "--period", m, "--by", "section", "-o", str(p)]) == 0
        df = pd.read_csv(p, keep_default_na=False).set_index("name")
        # the class of each section: the k with class_k == 1 (each group is one section)
        df["section_class"] = df[[f"class_{k}" for k in range(1, 7)]].to_numpy().argmax(axis=1) + 1
        out[m] = df
    return out


def expected_share(table, sections):
    """(k, n): sections in Class I-III and sections evaluated, from the per-section table."""
    sub = table.loc[[s for s in sections if s in table.index]]
    sub = sub[sub["sections"] == 1]
    return int((sub["section_class"] <= 3).sum()), len(sub)


# --------------------------------------------------------------------------------------------
# the shipped example


def test_example_file_is_marked_and_titles_are_titles(reaches):
    raw = yaml.safe_load(bundled_reaches_path().read_text(encoding="utf-8"))
    assert raw["example"] is True
    assert "example" in bundled_reaches_path().read_text(encoding="utf-8").splitlines()[0].lower()
    assert list(reaches) == ["xiang-main-province", "xiang-changzhutan-city", "dongting-lake"]
    assert [(r.level, r.chief_title) for r in reaches.values()] == [("省", "省级河长"), ("市", "市级河长"), ("省", "省级湖长")]
    assert all(r.example and r.source and r.notes for r in reaches.values())
    # sections come out exactly in the YAML order
    assert [list(r.sections) for r in reaches.values()] == [d["sections"] for d in raw["reaches"]]


def test_every_reach_section_is_in_the_registry_and_has_data_in_both_months(reaches, long):
    reg = set(load_registry()["section"])
    month = long["time"].dt.strftime("%Y-%m")
    for r in reaches.values():
        for s in r.sections:
            assert s in reg, (r.id, s)
            assert set(MONTHS) <= set(month[long["section"] == s]), (r.id, s)


def test_xiang_main_stem_is_the_registrys_certain_main_stem_in_upstream_order(reaches):
    reg = load_registry()
    r = reaches["xiang-main-province"]
    # the registry rows whose river is plainly 湘江 (no '?', no tributary in brackets)
    main_stem = reg.loc[reg["river"] == "湘江", "section"]
    assert set(r.sections) == set(main_stem) and len(r.sections) == 8
    assert "诸葛庙" not in r.sections and reg.set_index("section").loc["诸葛庙", "river"] == "湘江?"
    assert not any("入" in s or s in ("三角洲", "捞刀河口") for s in r.sections)  # no tributary mouths
    lat = reg.set_index("section").loc[list(r.sections), "lat"]
    assert lat.is_monotonic_increasing  # the Xiang flows north
    assert r.sections[0] == "绿埠头" and r.sections[-1] == "樟树港"
    # the 长株潭 reach is a contiguous stretch of the main stem, in the same order
    czt = reaches["xiang-changzhutan-city"].sections
    i = r.sections.index(czt[0])
    assert r.sections[i:i + len(czt)] == czt


def test_dongting_reach_is_the_registrys_lake_points_west_to_east(reaches):
    reg = load_registry()
    r = reaches["dongting-lake"]
    pts = reg.loc[(reg["water_body"] == "lake") & (reg["system"] == "洞庭湖"), "section"]
    assert set(r.sections) == set(pts) and r.water_body == "lake"
    assert reg.set_index("section").loc[list(r.sections), "lon"].is_monotonic_increasing
    assert r.sections[-1] == "岳阳楼"  # next to the outflow


# --------------------------------------------------------------------------------------------
# report on the real data


@pytest.mark.parametrize("month", MONTHS)
def test_xiang_main_share_equals_the_per_section_rates(month, reaches, long, by_section):
    r = reaches["xiang-main-province"]
    rep = reach_report(long, r, month)
    k, n = expected_share(by_section[month], r.sections)
    assert (rep.sections_i_iii, rep.sections_evaluated) == (k, n)
    assert rep.i_iii_share == pytest.approx(100 * k / n)
    # observed on the bundled data: all 8 main-stem sections in Class I-III in both months
    assert rep.i_iii_share == pytest.approx(100 * 8 / 8)
    assert rep.sections_listed == 8 and rep.status == "优" and rep.rates["method"] == "class_proportion"
    # each section's class is the class `water rates --by section` gives it
    s = rep.sections.set_index("section")
    assert s["class"].astype(int).to_dict() == by_section[month].loc[list(r.sections), "section_class"].to_dict()


@pytest.mark.parametrize(("month", "k", "n"), [("2026-07", 2, 4), ("2026-08", 3, 4)])
def test_dongting_lake_share_equals_the_per_section_rates(month, k, n, reaches, long, by_section):
    r = reaches["dongting-lake"]
    rep = reach_report(long, r, month)
    assert expected_share(by_section[month], r.sections) == (k, n)
    assert (rep.sections_i_iii, rep.sections_evaluated) == (k, n)
    assert rep.i_iii_share == pytest.approx(100 * k / n)
    assert rep.sections_meeting_target == k  # target class III = the Class I-III test
    assert rep.rates["method"] == "average_indicators"  # fewer than 5 points


def test_report_columns_order_and_trend_on_real_data(reaches, long, by_section):
    r = reaches["dongting-lake"]
    rep = reach_report(long, r, "2026-08")
    s = rep.sections
    assert list(s.columns) == ["order", "section", "river", "class", "class_name", "status", "target_class",
                               "section_target_class", "meets_target", "limiting_items", "previous_class",
                               "previous_status", "trend", "n", "n_days", "in_registry"]
    assert s["section"].tolist() == list(r.sections) and s["order"].tolist() == [1, 2, 3, 4]
    assert rep.previous_period.label == "2026-07"
    jul = by_section["2026-07"].loc[list(r.sections), "status"].tolist()
    aug = by_section["2026-08"].loc[list(r.sections), "status"].tolist()
    assert s["status"].tolist() == aug and s["previous_status"].tolist() == jul
    assert s["trend"].tolist() == status_trend(aug, jul).tolist()
    # observed: 蒋家嘴 II -> III (优 -> 良好), 岳阳楼 IV -> III; 南嘴 stays IV on total phosphorus
    assert s["class"].tolist() == [3, 4, 3, 3] and s["previous_class"].tolist() == [2, 4, 3, 4]
    assert s["trend"].tolist() == ["有所变差", "无明显变化", "无明显变化", "有所好转"]
    assert s["class_name"].tolist() == ["Ⅲ类", "Ⅳ类", "Ⅲ类", "Ⅲ类"]
    assert s.loc[1, "limiting_items"].startswith("总磷(") and s["meets_target"].tolist() == [True, False, True, True]
    assert (s["n"] > 0).all() and (s["n_days"] == 23).all()


def test_first_month_has_no_previous_data(reaches, long):
    rep = reach_report(long, reaches["xiang-changzhutan-city"], "2026-07")
    assert rep.previous_period.label == "2026-06"
    assert (rep.sections["trend"] == NO_DATA).all() and rep.sections["previous_class"].isna().all()
    assert rep.change == ""
    off = reach_report(long, reaches["xiang-changzhutan-city"], "2026-07", previous=False)
    assert off.previous_period is None and (off.sections["trend"] == "").all()


def test_period_without_data_keeps_the_listed_sections(reaches, long):
    rep = reach_report(long, reaches["dongting-lake"], "2026-06")
    assert rep.sections["section"].tolist() == list(reaches["dongting-lake"].sections)
    assert rep.sections["class"].isna().all() and rep.sections_evaluated == 0


def test_a_section_in_two_reaches_counts_in_both(reaches, long):
    groups = reach_groups(reaches)
    shared = set(groups["xiang-main-province"]) & set(groups["xiang-changzhutan-city"])
    assert shared == {"马家河", "昭山", "桔子洲", "樟树港"}
    ev = evaluate(long, "2026-08", by="custom", custom=groups)
    rates = ev.rates.set_index("name")
    assert rates.loc["xiang-main-province", "sections"] == 8
    assert rates.loc["xiang-changzhutan-city", "sections"] == 4
    # every reach's class counts are those of all its sections, shared ones included
    cls = ev.sections.set_index("section")["class"].astype(int)
    for rid, secs in groups.items():
        counts = cls[secs].value_counts()
        assert [rates.loc[rid, f"class_{k}"] for k in range(1, 7)] == [counts.get(k, 0) for k in range(1, 7)], rid
    assert cls["樟树港"] == 3  # observed: counted in the class_3 of both Xiang reaches
    assert rates.loc["xiang-main-province", "class_3"] == rates.loc["xiang-changzhutan-city", "class_3"] == 1
    assert rates["sections"].sum() == 16 > len(set().union(*groups.values())) == 12


# --------------------------------------------------------------------------------------------
# trend rule and small constructed tables

NH3N = {1: 0.1, 2: 0.4, 3: 0.8, 4: 1.2, 5: 1.8, 6: 2.5}  # NH3-N (mg/L) giving each river class


def long_table(rows):
    """Canonical long table from (section, day, NH3-N)."""
    return pd.DataFrame({"section": [r[0] for r in rows], "time": pd.to_datetime([r[1] for r in rows]),
                         "item": "nh3n", "value": [r[2] for r in rows], "below_detection": False,
                         "source_kind": "automatic"})


@pytest.fixture
def small_registry(tmp_path):
    p = tmp_path / "reg.csv"
    names = [f"s{i}" for i in range(1, 8)]
    pd.DataFrame({"section": names, "river": "r", "system": "r", "water_body": "river"}).to_csv(p, index=False)
    return load_registry(p)


def reach(sections, target=3, rid="r1"):
    return Reach(id=rid, name="测试河段", river="r", from_="a", to="b", level="县", chief_title="县级河长",
                 sections=tuple(sections), target_class=target)


@pytest.mark.parametrize(("prev", "cur", "label"), [
    ("优", "优", "无明显变化"),
    ("轻度污染", "良好", "有所好转"),
    ("中度污染", "优", "明显好转"),
    ("良好", "轻度污染", "有所变差"),
    ("良好", "重度污染", "明显变差"),
    ("", "优", NO_DATA),
    ("优", None, NO_DATA),
])
def test_status_trend_rule(prev, cur, label):
    assert status_trend([cur], [prev]).tolist() == [label]


def test_trend_of_all_five_outcomes_through_the_report(small_registry):
    # (previous class, current class): I and II are both 优 -> no change; IV->III one level better;
    # 劣V->III three levels better; III->IV one worse; II->V (优 -> 中度污染) three worse;
    # s6 has no June data; s7 has no data at all.
    pairs = {"s1": (2, 1), "s2": (4, 3), "s3": (6, 3), "s4": (3, 4), "s5": (2, 5), "s6": (None, 2)}
    rows = []
    for s, (p, c) in pairs.items():
        if p is not None:
            rows.append((s, "2026-06-15 08:00", NH3N[p]))
        rows.append((s, "2026-07-15 08:00", NH3N[c]))
    order = ["s3", "s1", "s7", "s2", "s4", "s5", "s6"]
    rep = reach_report(long_table(rows), reach(order), "2026-07", registry=small_registry)
    s = rep.sections.set_index("section")
    assert rep.sections["section"].tolist() == order
    assert s["trend"].to_dict() == {"s1": "无明显变化", "s2": "有所好转", "s3": "明显好转", "s4": "有所变差",
                                    "s5": "明显变差", "s6": NO_DATA, "s7": NO_DATA}
    assert pd.isna(s.loc["s7", "class"]) and s.loc["s7", "class_name"] == "" and pd.isna(s.loc["s7", "meets_target"])
    # July: classes 1,3,3,4,5,2 -> 4 of 6 in I-III
    assert (rep.sections_i_iii, rep.sections_evaluated, rep.sections_listed) == (4, 6, 7)
    assert rep.i_iii_share == pytest.approx(100 * 4 / 6)
    assert rep.rates["missing_sections"] == "s7"


def test_limiting_items_are_against_the_reach_target(small_registry):
    # NH3-N 0.8 is Class III; a reach with target II: over by (0.8 - 0.5) / 0.5 = 0.60 (Class II limit 0.5)
    rep = reach_report(long_table([("s1", "2026-07-01 04:00", 0.8)]), reach(["s1"], target=2), "2026-07",
                       registry=small_registry, previous=False)
    row = rep.sections.iloc[0]
    assert (row["class"], row["target_class"], row["section_target_class"]) == (3, 2, 3)
    assert not row["meets_target"] and row["limiting_items"] == "氨氮(0.60)"
    assert rep.sections_meeting_target == 0 and rep.i_iii_share == 100.0
    # with target III the same section meets it; Class IV shows its main pollutant instead
    rep4 = reach_report(long_table([("s1", "2026-07-01 04:00", 1.2)]), reach(["s1"], target=4), "2026-07",
                        registry=small_registry, previous=False)
    assert rep4.sections.loc[0, "meets_target"] and rep4.sections.loc[0, "limiting_items"] == "氨氮(0.20)"


def test_shared_section_is_counted_in_both_reaches(small_registry):
    from envq.water.groups import group_rates, section_table
    from envq.water.periods import period_values

    lt = long_table([("s1", "2026-07-01 04:00", NH3N[4]), ("s2", "2026-07-01 04:00", NH3N[2]),
                     ("s3", "2026-07-01 04:00", NH3N[2])])
    secs, _ = section_table(period_values(lt, "2026-07"), small_registry)
    groups = reach_groups([reach(["s1", "s2"], rid="a"), reach(["s3", "s1"], rid="b")])
    r = group_rates(secs, by="custom", custom=groups).set_index("name")
    assert r.loc["a", "class_4"] == 1 and r.loc["b", "class_4"] == 1
    assert r.loc["a", "i_iii_share"] == 50.0 and r.loc["b", "i_iii_share"] == 50.0


# --------------------------------------------------------------------------------------------
# validation

BASE = {"id": "r-one", "name": "甲河乙段", "river": "甲河", "from": "甲镇", "to": "乙镇", "level": "县",
        "chief_title": "县级河长", "sections": ["昭山", "桔子洲"], "target_class": "III"}


def write_reaches(tmp_path, reaches_list, **top):
    p = tmp_path / "reaches.yaml"
    p.write_text(yaml.safe_dump({**top, "reaches": reaches_list}, allow_unicode=True), encoding="utf-8")
    return p


def test_a_valid_file_loads_and_accepts_roman_or_digit_classes(tmp_path):
    p = write_reaches(tmp_path, [BASE, {**BASE, "id": "r-two", "target_class": 2}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = load_reaches(p)
    assert [x.target_class for x in r.values()] == [3, 2] and r["r-one"].stretch == "甲镇–乙镇"
    assert not r["r-one"].example and r["r-one"].index == 1 and r["r-two"].index == 2


@pytest.mark.parametrize(("change", "row", "field", "value", "words"), [
    (lambda rs: rs[0].pop("chief_title"), 1, "chief_title", "", "missing"),
    (lambda rs: rs.append(dict(BASE)), 2, "id", "r-one", "appears twice"),
    (lambda rs: rs[0].update(level="国"), 1, "level", "国", "省, 市, 县, 乡"),
    (lambda rs: rs[0].update(target_class="VI"), 1, "target_class", "VI", "I..V"),
    (lambda rs: rs[0].update(target_class=6), 1, "target_class", 6, "I..V"),
    (lambda rs: rs[0].update(sections=[]), 1, "sections", [], "empty"),
    (lambda rs: rs[0].update(sections=["昭山", "桔子洲", "昭山"]), 1, "sections", "昭山", "twice"),
    (lambda rs: rs[0].update(chief_title="张三"), 1, "chief_title", "张三", "title"),
    (lambda rs: rs[0].update(section=["昭山"]), 1, "section", ["昭山"], "unknown key"),
    (lambda rs: rs[0].update(id="湘江 main"), 1, "id", "湘江 main", "ascii slug"),
])
def test_validation_errors_name_file_row_field_and_value(tmp_path, change, row, field, value, words):
    rs = [dict(BASE)]
    change(rs)
    p = write_reaches(tmp_path, rs)
    with pytest.raises(InputError) as ei:
        load_reaches(p)
    e = ei.value
    assert (e.file, e.row, e.field, e.value) == (str(p), row, field, value)
    msg = str(e)
    assert str(p) in msg and repr(field) in msg and repr(value) in msg and words in msg


def test_file_without_reaches_and_bad_yaml(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("example: true\n", encoding="utf-8")
    with pytest.raises(InputError, match="'reaches'"):
        load_reaches(p)
    p.write_text("reaches:\n  - id: a\n    sections: [x, y\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML") as ei:
        load_reaches(p)
    assert ei.value.row is not None


def test_unknown_section_warns_and_is_kept(tmp_path):
    p = write_reaches(tmp_path, [{**BASE, "sections": ["昭山", "不存在断面"]}])
    with pytest.warns(UnknownStationWarning, match="不存在断面"):
        r = load_reaches(p)
    assert r["r-one"].sections == ("昭山", "不存在断面")


def test_environment_variable_replaces_the_example(tmp_path):
    p = write_reaches(tmp_path, [BASE])
    assert list(load_reaches(environ={"ENVQ_REACHES": str(p)})) == ["r-one"]
    assert "dongting-lake" in load_reaches(environ={})


# --------------------------------------------------------------------------------------------
# command line


def test_cli_reach_list(capsys, tmp_path):
    assert main(["reach", "list"]) == 0
    from io import StringIO

    df = pd.read_csv(StringIO(capsys.readouterr().out))
    assert list(df.columns) == ["id", "name", "level", "river", "from", "to", "sections"]
    assert df["id"].tolist() == ["xiang-main-province", "xiang-changzhutan-city", "dongting-lake"]
    assert df["sections"].tolist() == [8, 4, 4] and df["level"].tolist() == ["省", "市", "省"]
    p = write_reaches(tmp_path, [BASE])
    out = tmp_path / "list.csv"
    assert main(["reach", "list", "--reaches", str(p), "-o", str(out)]) == 0
    assert pd.read_csv(out)["id"].tolist() == ["r-one"]


def test_cli_reach_show_default_input(capsys, tmp_path, by_section):
    out = tmp_path / "reach.csv"
    assert main(["reach", "show", "dongting-lake", "--period", "2026-08", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    k, n = expected_share(by_section["2026-08"], ["蒋家嘴", "南嘴", "小河嘴", "岳阳楼"])
    assert "洞庭湖省级湖区" in lines[0] and "省级湖长" in lines[0] and "2026-08" in lines[0]
    assert f"Ⅰ~Ⅲ类比例 {100 * k / n:.1f}% ({k}/{n})" in lines[1]
    assert "Ⅰ~Ⅲ类比例 75.0% (3/4)" in lines[1]  # observed
    df = pd.read_csv(out, keep_default_na=False)
    assert df["section"].tolist() == ["蒋家嘴", "南嘴", "小河嘴", "岳阳楼"]
    assert df["class"].tolist() == by_section["2026-08"].loc[df["section"], "section_class"].tolist()
    assert df["trend"].tolist() == ["有所变差", "无明显变化", "无明显变化", "有所好转"]
    # printed sections in the same order, upstream (west) first
    body = [ln for ln in lines[3:] if ln.strip()]
    assert [ln.split()[1] for ln in body] == df["section"].tolist()


def test_cli_reach_show_unknown_id_exits_2(capsys):
    assert main(["reach", "show", "no-such-reach", "--period", "2026-08"]) == 2
    err = capsys.readouterr().err
    assert "no-such-reach" in err and "xiang-main-province" in err and "dongting-lake" in err


def test_cli_reach_bad_file_exits_2(tmp_path, capsys):
    p = write_reaches(tmp_path, [{**BASE, "level": "国"}])
    assert main(["reach", "list", "--reaches", str(p)]) == 2
    assert "'level'" in capsys.readouterr().err


def test_cli_water_rates_by_reach(data_dir, tmp_path, by_section):
    out = tmp_path / "rates.csv"
    assert main(["water", "rates", str(data_dir / EXTRACT), "--period", "2026-07", "--by", "reach",
                 "-o", str(out)]) == 0
    df = pd.read_csv(out, keep_default_na=False)
    assert (df["group"] == "reach").all()
    assert df["name"].tolist() == ["xiang-main-province", "xiang-changzhutan-city", "dongting-lake"]
    assert df["reach_name"].tolist() == ["湘江干流省级河段", "湘江长株潭河段", "洞庭湖省级湖区"]
    reaches = load_reaches()
    for row in df.itertuples():
        k, n = expected_share(by_section["2026-07"], reaches[row.name].sections)
        assert row.sections == n and row.i_iii_share == pytest.approx(round(100 * k / n, 2))
    assert df["i_iii_share"].tolist() == [100.0, 100.0, 50.0]  # observed: 8/8, 4/4, 2/4


def test_cli_water_rates_by_reach_with_groups_is_usage_error(data_dir, tmp_path, capsys):
    g = tmp_path / "g.csv"
    g.write_text("group,section\na,昭山\n", encoding="utf-8")
    assert main(["water", "rates", str(data_dir / EXTRACT), "--period", "2026-07", "--by", "reach",
                 "--groups", str(g)]) == 2
    assert "exclude" in capsys.readouterr().err


def test_cli_water_rates_by_reach_applies_reach_targets(data_dir, tmp_path):
    t = tmp_path / "targets.csv"
    t.write_text("group,name,year,i_iii_target\nreach,dongting-lake,,80\nreach,*,,95\n", encoding="utf-8")
    out = tmp_path / "rates.csv"
    assert main(["water", "rates", str(data_dir / EXTRACT), "--period", "2026-07", "--by", "reach",
                 "--targets", str(t), "-o", str(out)]) == 0
    df = pd.read_csv(out).set_index("name")
    assert df["i_iii_target"].to_dict() == {"xiang-main-province": 95.0, "xiang-changzhutan-city": 95.0,
                                            "dongting-lake": 80.0}
    # met when the share reaches the target: 100 >= 95; Dongting 50 < 80
    assert df["target_met"].tolist() == [True, True, False]
