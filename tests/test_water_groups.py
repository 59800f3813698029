"""Groups of sections: shares, status, main pollutants, targets and change (2011 method; E25-E27)."""

import pandas as pd
import pytest

from envq.water.groups import (
    compare_periods,
    evaluate,
    group_rates,
    load_custom_groups,
    proportion_status,
    section_table,
)
from envq.targets import Targets
from envq.water.registry import load_registry


def sections_with_classes(classes, *, river="r", lake=False, period="2026-07", extra=None):
    """A section table of hand-made sections; NH3-N chosen to give each class."""
    nh3n = {1: 0.1, 2: 0.4, 3: 0.8, 4: 1.2, 5: 1.8, 6: 2.5}
    rows = []
    for i, c in enumerate(classes):
        rows.append({"section": f"s{i}", "period": period, "item": "nh3n", "value": nh3n[c],
                     "value_raw": nh3n[c], "below_detection": False, "source_kind": "automatic",
                     "n_readings": 6, "n_days": 1, "n_months": 0, "n_nondetect": 0})
        for item, v in (extra or {}).items():
            rows.append({**rows[-1], "item": item, "value": v[i], "value_raw": v[i]})
    values = pd.DataFrame(rows)
    reg = pd.DataFrame({"section": [f"s{i}" for i in range(len(classes))], "water_body": "lake" if lake else "river",
                        "river": river, "system": river, "city": "c", "county": "", "lon": "", "lat": ""})
    return values, reg


def rated(classes, registry_file, by="river", **kw):
    values, reg = sections_with_classes(classes, **kw)
    reg.to_csv(registry_file, index=False)
    secs, unknown = section_table(values, load_registry(registry_file))
    assert unknown == []
    return group_rates(secs, by=by).iloc[0], secs


def test_e25_ten_sections_80_percent_is_good(tmp_path):
    # 8 in I-III, 1 IV, 1 劣V -> 80% -> 良好 (75 <= 80 < 90)
    r, _ = rated([1, 2, 2, 3, 3, 3, 2, 2, 4, 6], tmp_path / "reg.csv")
    assert (r["sections"], r["class_4"], r["class_6"]) == (10, 1, 1)
    assert r["i_iii_share"] == 80.0 and r["worse_v_share"] == 10.0
    assert r["method"] == "class_proportion" and r["status"] == "良好"


def test_e26_twelve_sections_moderately_polluted(tmp_path):
    # 7 in I-III (58.3%), 2 IV, 3 劣V (25.0%) -> I-III < 75 and 20 <= 劣V < 40 -> 中度污染
    r, _ = rated([2] * 7 + [4, 4] + [6] * 3, tmp_path / "reg.csv")
    assert r["i_iii_share"] == pytest.approx(58.333, abs=1e-3) and r["worse_v_share"] == 25.0
    assert r["status"] == "中度污染"
    assert r["main_pollutants"] == "氨氮(41.7%)"  # 5 of 12 sections exceed III for NH3-N


def test_e27_four_sections_use_averaged_indicators(tmp_path):
    # NH3-N 0.4, 0.6, 1.3, 0.9 -> mean 0.8 -> III 良好 (not class proportions: one section is IV)
    values, reg = sections_with_classes([2, 3, 3, 3])
    values.loc[:, "value"] = [0.4, 0.6, 1.3, 0.9]
    reg.to_csv(tmp_path / "reg.csv", index=False)
    secs, _ = section_table(values, load_registry(tmp_path / "reg.csv"))
    assert secs["class"].tolist() == [2, 3, 4, 3]
    r = group_rates(secs, by="river").iloc[0]
    assert r["method"] == "average_indicators" and r["average_class"] == 3 and r["status"] == "良好"
    assert r["i_iii_share"] == 75.0


def test_exactly_five_sections_use_the_proportion_method(tmp_path):
    r, _ = rated([2, 2, 2, 2, 4], tmp_path / "reg.csv")
    assert r["method"] == "class_proportion" and r["status"] == "良好"  # 80%


@pytest.mark.parametrize(("good", "bad", "n", "status"), [
    (9, 0, 10, "优"),        # exactly 90% -> 优
    (27, 0, 30, "优"),
    (15, 0, 20, "良好"),     # exactly 75% -> 良好
    (7, 1, 10, "轻度污染"),
    (7, 2, 10, "中度污染"),  # exactly 20% 劣V -> 中度
    (5, 4, 10, "重度污染"),  # exactly 40% -> 重度
    (0, 0, 0, ""),
])
def test_proportion_thresholds_are_exact(good, bad, n, status):
    assert proportion_status([good], [bad], [n]).tolist() == [status]


def test_lake_sections_average_with_lake_limits(tmp_path):
    # two lake points, TP 0.04 and 0.08 -> mean 0.06 -> lake column IV
    values, reg = sections_with_classes([1, 1], lake=True, extra={"tp": [0.04, 0.08]})
    reg.to_csv(tmp_path / "reg.csv", index=False)
    secs, _ = section_table(values, load_registry(tmp_path / "reg.csv"))
    assert secs["class"].tolist() == [3, 4]
    r = group_rates(secs, by="river").iloc[0]
    assert r["average_class"] == 4 and r["status"] == "轻度污染" and r["main_pollutants"] == "总磷(0.20)"


def test_sections_without_coordinates_still_count(tmp_path):
    r, secs = rated([2, 3, 4], tmp_path / "reg.csv")
    assert not secs["has_coordinates"].any()
    assert r["sections"] == 3 and r["sections_without_coordinates"] == 3


def test_province_target_default_95(tmp_path):
    r, secs = rated([2] * 19 + [4], tmp_path / "reg.csv", by="province")
    assert r["name"] == "湖南省" and r["i_iii_share"] == 95.0
    assert r["i_iii_target"] == 95.0 and r["target_met"]  # exactly 95% meets it
    r2 = group_rates(secs.iloc[:10].assign(**{"class": [2] * 9 + [4]}), by="province").iloc[0]
    assert r2["i_iii_share"] == 90.0 and not r2["target_met"]


def test_the_target_is_judged_on_the_published_share(tmp_path):
    # 189 of 199 sections: 94.97%, published 95.0%, meets 95% (envq.targets: one rule everywhere)
    r, secs = rated([2] * 189 + [4] * 10, tmp_path / "reg.csv", by="province")
    assert (r["sections"], r["sections_i_iii"]) == (199, 189) and r["i_iii_share"] == pytest.approx(94.9749, abs=1e-4)
    assert r["target_met"]
    r2 = group_rates(secs.assign(**{"class": [2] * 188 + [4] * 11}), by="province").iloc[0]
    assert r2["sections_i_iii"] == 188 and not r2["target_met"]  # 94.47% -> 94.5%


def test_targets_configurable_per_group_and_year(tmp_path):
    (tmp_path / "t.csv").write_text(
        "group,name,year,i_iii_target\nprovince,*,,95\nriver,r,2026,85\nriver,r,2027,90\nprovince,湖南省,2026,97\n",
        encoding="utf-8")
    targets = Targets.from_csv(tmp_path / "t.csv")  # the water command's format (envq.targets)
    values, reg = sections_with_classes([2] * 9 + [4])
    reg.to_csv(tmp_path / "reg.csv", index=False)
    secs, _ = section_table(values, load_registry(tmp_path / "reg.csv"))
    r = group_rates(secs, by="river", targets=targets).iloc[0]
    assert r["i_iii_target"] == 85 and r["target_met"]
    p = group_rates(secs, by="province", targets=targets).iloc[0]
    assert p["i_iii_target"] == 97 and not p["target_met"]


def test_each_section_against_its_target_class(tmp_path):
    values, reg = sections_with_classes([2, 3, 3])
    reg["target_class"] = ["II", "2", "3"]
    reg.to_csv(tmp_path / "reg.csv", index=False)
    secs, _ = section_table(values, load_registry(tmp_path / "reg.csv"))
    assert secs["meets_target"].tolist() == [True, False, True]
    assert secs.loc[1, "over_target"] == "氨氮(0.60)"  # (0.8 - 0.5) / 0.5
    r = group_rates(secs, by="river").iloc[0]
    assert r["sections_meeting_target"] == 2 and r["i_iii_share"] == 100.0


def test_custom_groups_like_a_river_chief_reach(tmp_path):
    (tmp_path / "g.csv").write_text("group,section\n河长段A,s0\n河长段A,s1\n河长段A,s9\n河长段B,s2\n", encoding="utf-8")
    custom = load_custom_groups(tmp_path / "g.csv")
    values, reg = sections_with_classes([2, 4, 6])
    reg.to_csv(tmp_path / "reg.csv", index=False)
    secs, _ = section_table(values, load_registry(tmp_path / "reg.csv"))
    r = group_rates(secs, by="custom", custom=custom).set_index("name")
    assert r.loc["河长段A", "sections"] == 2 and r.loc["河长段A", "missing_sections"] == "s9"
    assert r.loc["河长段B", "class_6"] == 1


@pytest.mark.parametrize(("prev", "cur", "change"), [
    # (I-III count, 劣V count) out of 10 sections each
    ((8, 1), (9, 1), "无明显变化"),   # ΔG−ΔD = 10 exactly -> no obvious change
    ((7, 1), (9, 1), "有所好转"),     # 20 -> some change
    ((7, 2), (9, 1), "明显好转"),     # 20 + 10 = 30
    ((9, 0), (7, 1), "明显变差"),     # -20 - 10
    ((9, 1), (8, 2), "有所变差"),     # -10 - 10 = -20
])
def test_change_by_delta_g_minus_delta_d(tmp_path, prev, cur, change):
    def table(good, bad):
        return pd.DataFrame([{"group": "river", "name": "r", "period": "p", "sections": 10,
                              "class_1": 0, "class_2": good, "class_3": 0, "class_4": 10 - good - bad,
                              "class_5": 0, "class_6": bad, "sections_i_iii": good, "i_iii_share": 10.0 * good,
                              "worse_v_share": 10.0 * bad, "status": proportion_status([good], [bad], [10])[0]}])
    r = compare_periods(table(*cur), table(*prev)).iloc[0]
    assert r["change"] == change and r["change_method"] == "delta_g_minus_delta_d"
    assert r["change_index"] == pytest.approx(10 * (cur[0] - prev[0]) - 10 * (cur[1] - prev[1]))


def test_evaluate_on_bundled_data_with_previous_period():
    from envq.sources.cnemc_water import read_cnemc_water, to_long
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "water" / "hunan_water_auto_20260709_20260823.csv.gz"
    long = to_long(read_cnemc_water(path))
    ev = evaluate(long, "2026-08", by="province", previous="2026-07")
    r = ev.rates.iloc[0]
    assert r["sections"] == 61 and ev.unknown_sections == []
    assert r["sections_without_coordinates"] == 18  # they count anyway
    assert r["previous_period"] == "2026-07" and r["change"] != ""
    lakes = ev.sections[ev.sections["is_lake"]]
    assert sorted(lakes["section"]) == sorted(["南嘴", "岳阳楼", "小河嘴", "蒋家嘴", "头山"])
    assert lakes["tn_class"].notna().all()  # lakes report TN separately
