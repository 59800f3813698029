"""Early warning: within a margin of the target-class limit, or above it, with the limiting item."""

import pandas as pd
import pytest

from envq.water.warning import early_warning, latest_values, warning_summary


def test_near_and_over_the_class_iii_limit():
    cur = pd.DataFrame({"section": ["昭山", "三角洲", "胜利"], "nh3n": [0.92, 0.5, 1.05], "tp": [0.15, 0.19, 0.1],
                        "do": [7.0, 5.3, 4.9]})
    w = early_warning(cur, margin=0.1)
    got = {(r.section, r.item): r.state for r in w.itertuples()}
    # 0.92 >= 0.9 x 1.0 near; 0.19 >= 0.18 near; DO 5.3 <= 5.5 near; NH3-N 1.05 > 1.0 and DO 4.9 < 5 over
    assert got == {("昭山", "nh3n"): "near", ("三角洲", "tp"): "near", ("三角洲", "do"): "near",
                   ("胜利", "nh3n"): "over", ("胜利", "do"): "over"}
    assert w["state"].iloc[0] == "over"
    s = warning_summary(w).set_index("section")
    assert s.loc["胜利", "state"] == "over" and s.loc["胜利", "limiting_item"] in ("nh3n", "do")
    assert s.loc["昭山", "limiting_item"] == "nh3n"


def test_margin_is_configurable_and_lake_limits_apply():
    cur = pd.DataFrame({"section": ["南嘴"], "tp": [0.046]})  # lake: Class III TP limit 0.05
    assert early_warning(cur, margin=0.1)["state"].tolist() == ["near"]
    assert early_warning(cur, margin=0.05).empty
    with pytest.raises(ValueError, match="margin"):
        early_warning(cur, margin=1.5)


def test_target_class_from_registry(tmp_path):
    p = tmp_path / "reg.csv"
    p.write_text("section,target_class\nA,2\n", encoding="utf-8")
    from envq.water.registry import load_registry

    cur = pd.DataFrame({"section": ["A"], "nh3n": [0.6]})
    w = early_warning(cur, load_registry(p, environ={}))
    assert w.loc[0, "state"] == "over" and w.loc[0, "limit"] == 0.5 and w.loc[0, "target_class"] == 2


def test_latest_values_take_each_items_latest_reading():
    t = pd.DataFrame({"section": ["a", "a", "a"], "item": ["nh3n", "nh3n", "tp"],
                      "time": pd.to_datetime(["2026-08-22 20:00", "2026-08-23 04:00", "2026-08-23 00:00"]),
                      "value": [0.5, 0.7, 0.1]})
    cur = latest_values(t)
    assert cur.loc[0, "nh3n"] == 0.7 and cur.loc[0, "tp"] == 0.1 and cur.loc[0, "time"] == pd.Timestamp("2026-08-23 04:00")
