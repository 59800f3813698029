"""Item and section classes per GB 3838-2002 Table 1 and the 2011 method (reference §4, §5, E19-E24)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envq.water.classify import (
    class_name,
    classification_items,
    classify,
    exceedance_multiple,
    item_class,
    limit_of,
    section_class,
    status_of,
)


# --------------------------------------------------------------------------------------------
# worked examples E19-E24


def test_e19_nh3n_1_2_is_class_iv_multiple_0_2():
    # 1.0 < 1.2 <= 1.5 -> IV; (1.2 - 1.0) / 1.0 = 0.2 -> "氨氮(0.20)"
    assert item_class("nh3n", [1.2]).tolist() == [4]
    assert exceedance_multiple("nh3n", [1.2])[0] == pytest.approx(0.2)
    r = classify(pd.DataFrame({"nh3n": [1.2]}))
    assert r.loc[0, "over_iii"] == "氨氮(0.20)"


def test_e20_tp_0_06_river_ii_lake_iv():
    # river: 0.02 < 0.06 <= 0.1 -> II; lake: 0.05 < 0.06 <= 0.1 -> IV, (0.06 - 0.05) / 0.05 = 0.2
    assert item_class("tp", [0.06, 0.06], lake=[False, True]).tolist() == [2, 4]
    m = exceedance_multiple("tp", [0.06, 0.06], lake=[False, True])
    assert np.isnan(m[0]) and m[1] == pytest.approx(0.2)


def test_e21_dissolved_oxygen_lower_limits():
    # 7.5 -> I; 5.0 -> III (>= 5); 4.0 -> IV (>= 3, < 5); 1.5 -> 劣V; no multiple for DO
    assert item_class("do", [7.5, 5.0, 4.0, 1.5]).tolist() == [1, 3, 4, 6]
    assert np.isnan(exceedance_multiple("do", [1.5])).all()


def test_e22_ph_range():
    # 9.2 -> 劣V, no multiple; 8.6 does not limit the class
    assert item_class("ph", [9.2, 8.6]).tolist() == [6, 1]
    assert np.isnan(exceedance_multiple("ph", [9.2])).all()


E23 = {"ph": 7.8, "do": 6.5, "codmn": 4.5, "nh3n": 0.6, "tp": 0.25, "cod": 15, "bod5": 3, "cu": 0.005,
       "hg": 0.00004, "pb": 0.005, "cn": 0.004}


def test_e23_section_class_iv_main_pollutant_tp():
    # DO II, CODMn III, NH3-N III, TP (river) IV, others I/II -> IV 轻度污染; 总磷 (0.25-0.2)/0.2 = 0.25
    r = classify(pd.DataFrame([E23])).iloc[0]
    assert r["class"] == 4 and r["status"] == "轻度污染" and r["class_name"] == "Ⅳ"
    assert r["main_pollutants"] == "总磷(0.25)"
    assert r["limiting_items"] == "tp"
    assert (r["do_class"], r["codmn_class"], r["nh3n_class"], r["tp_class"]) == (2, 3, 3, 4)


def test_e24_tn_does_not_change_the_class():
    # TN = 1.8 is excluded from the 21 items: still Class IV
    r = classify(pd.DataFrame([{**E23, "tn": 1.8}])).iloc[0]
    assert r["class"] == 4 and pd.isna(r["tn_class"])  # rivers: TN not assessed
    # a lake reports TN separately: 1.5 < 1.8 <= 2.0 -> V, while the class stays that of the 21 items
    # (TP 0.25 with the lake column is already worse than V: 劣V)
    lake = classify(pd.DataFrame([{**E23, "tn": 1.8}]), lake=True).iloc[0]
    assert lake["tn_class"] == 5
    assert lake["class"] == 6 and lake["limiting_items"] == "tp"


def test_tn_has_no_river_class():
    assert item_class("tn", [0.1, 5.0]).tolist() == [0, 0]


# --------------------------------------------------------------------------------------------
# limits compared exactly


@pytest.mark.parametrize(("item", "value", "expected"), [
    ("tp", 0.2, 3), ("tp", 0.1 + 0.1, 3), ("tp", 0.2000001, 4), ("nh3n", 0.15, 1), ("nh3n", 0.1 + 0.05, 1),
    ("nh3n", 0.151, 2), ("codmn", 6.0, 3), ("do", 6.0, 2), ("do", 5.999, 3), ("ph", 9.0, 1), ("ph", 9.01, 6),
    ("ph", 6.0, 1), ("ph", 5.99, 6), ("hg", 0.00005, 1), ("hg", 0.00006, 3), ("fecal_coliform", 10000, 3),
])
def test_values_at_limits_are_compared_exactly(item, value, expected):
    assert item_class(item, [value])[0] == expected


def test_equal_limits_fall_in_the_better_class():
    # COD I = II = 15 -> I; BOD5 3 -> I; Cu 1.0 (II = III = IV = V) -> II
    assert item_class("cod", [15]).tolist() == [1]
    assert item_class("bod5", [3]).tolist() == [1]
    assert item_class("cu", [1.0]).tolist() == [2]
    assert item_class("f", [1.0, 1.5, 1.6]).tolist() == [1, 4, 6]


def test_worse_than_v_and_missing():
    assert item_class("codmn", [15.0, 15.01, np.nan]).tolist() == [5, 6, 0]
    assert item_class("water_temp", [30.0]).tolist() == [0]


def test_limit_of():
    assert limit_of("nh3n", [1, 3, 5]).tolist() == [0.15, 1.0, 2.0]
    assert np.isnan(limit_of("nh3n", [6])).all()


def test_section_class_is_worst_item_and_none_without_items():
    assert section_class([[1, 2, 5, 0], [0, 0, 0, 0]]).tolist() == [5, 0]
    r = classify(pd.DataFrame({"ph": [np.nan], "tn": [3.0]}))
    assert r["class"].isna().all() and r.loc[0, "limiting_items"] == ""


def test_classification_items_are_21():
    assert len(classification_items()) == 21


def test_names_and_status():
    assert class_name([1, 6]).tolist() == ["Ⅰ", "劣Ⅴ"]
    assert status_of([1, 2, 3, 4, 5, 6]).tolist() == ["优", "优", "良好", "轻度污染", "中度污染", "重度污染"]


# --------------------------------------------------------------------------------------------
# main pollutants and target class


def test_main_pollutants_worst_class_then_multiple_top_three():
    # CODMn 12 (V, 1.00), NH3-N 1.8 (V, 0.80), TP 0.35 (V, 0.75), COD 35 (V, 0.75), BOD5 5 (IV, 0.25)
    t = pd.DataFrame([{"codmn": 12, "nh3n": 1.8, "tp": 0.35, "cod": 35, "bod5": 5}])
    r = classify(t).iloc[0]
    assert r["class"] == 5
    assert r["main_pollutants"] == "高锰酸盐指数(1.00);氨氮(0.80);化学需氧量(0.75)"


def test_toxic_items_come_first():
    # Pb 0.06 is only IV (multiple 0.2) but a heavy metal: listed before the Class V CODMn
    t = pd.DataFrame([{"codmn": 12, "nh3n": 1.8, "tp": 0.35, "pb": 0.06}])
    r = classify(t).iloc[0]
    assert r["main_pollutants"].split(";")[0] == "铅(0.20)"
    assert len(r["main_pollutants"].split(";")) == 3


def test_no_main_pollutants_for_class_i_to_iii():
    r = classify(pd.DataFrame([{"codmn": 5.5, "nh3n": 0.9}])).iloc[0]
    assert r["class"] == 3 and r["main_pollutants"] == "" and r["over_iii"] == ""


def test_ph_and_do_are_main_pollutants_without_multiple():
    r = classify(pd.DataFrame([{"ph": 9.5, "do": 1.0, "codmn": 16}])).iloc[0]
    # all three 劣V: CODMn (16 - 6) / 6 = 1.67 first, then pH and DO (no multiple)
    assert r["main_pollutants"] == "高锰酸盐指数(1.67);pH值;溶解氧"


def test_multiples_against_the_target_class():
    # target II: NH3-N 0.6 exceeds the II limit 0.5 by 0.2; against III it complies
    r = classify(pd.DataFrame([{"nh3n": 0.6}]), target_class=2).iloc[0]
    assert r["class"] == 3 and not r["meets_target"] and r["over_target"] == "氨氮(0.20)"
    assert r["over_iii"] == ""


# --------------------------------------------------------------------------------------------
# detection limits


def test_nondetect_classed_by_its_detection_limit():
    # Cd "0.002L": the value is below 0.002, which meets II (0.005) but not I (0.001)
    assert item_class("cd", [0.002], below_detection=[True]).tolist() == [2]
    assert item_class("cd", [0.002], below_detection=[True], nondetect="best").tolist() == [1]
    # a detection limit above Class V gives no class rather than 劣V
    assert item_class("hg", [0.01], below_detection=[True]).tolist() == [0]


def test_nondetect_never_exceeds():
    t = pd.DataFrame([{"hg": 0.0005, "codmn": 3}])
    bdl = pd.DataFrame([{"hg": True, "codmn": False}])
    r = classify(t, below_detection=bdl).iloc[0]
    assert r["over_iii"] == "" and r["main_pollutants"] == ""
    assert np.isnan(exceedance_multiple("hg", [0.0005], below_detection=[True])).all()


def test_unknown_nondetect_rule_is_rejected():
    with pytest.raises(ValueError, match="nondetect"):
        item_class("cd", [0.002], below_detection=[True], nondetect="zero")


# --------------------------------------------------------------------------------------------
# properties


ITEMS = ["ph", "do", "codmn", "nh3n", "tp", "cod", "hg", "pb", "cn"]
values = st.fixed_dictionaries({
    "ph": st.floats(4, 11), "do": st.floats(0, 15), "codmn": st.floats(0, 30), "nh3n": st.floats(0, 4),
    "tp": st.floats(0, 1), "cod": st.floats(0, 60), "hg": st.floats(0, 0.002), "pb": st.floats(0, 0.2),
    "cn": st.floats(0, 0.4),
})


@settings(max_examples=150, deadline=None)
@given(values, st.booleans())
def test_section_class_is_never_better_than_any_item(v, lake):
    r = classify(pd.DataFrame([v]), lake=lake, details=False).iloc[0]
    for c in ITEMS:
        assert r["class"] >= r[f"{c}_class"]
    assert r["class"] == max(r[f"{c}_class"] for c in ITEMS)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["codmn", "nh3n", "tp", "cod", "hg", "pb", "cn", "tn", "fecal_coliform"]),
       st.floats(0, 50), st.floats(0, 50), st.booleans())
def test_raising_a_concentration_never_improves_the_class(item, a, b, lake):
    lo, hi = sorted([a, b])
    c = item_class(item, [lo, hi], lake=lake)
    assert c[1] >= c[0]


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 20), st.floats(0, 20))
def test_lowering_do_never_improves_the_class(a, b):
    lo, hi = sorted([a, b])
    c = item_class("do", [lo, hi])
    assert c[0] >= c[1]


@settings(max_examples=100, deadline=None)
@given(values, st.sampled_from(["codmn", "nh3n", "tp", "cod", "hg", "pb", "cn"]), st.floats(0, 10))
def test_raising_one_item_never_improves_the_section(v, item, extra):
    a = classify(pd.DataFrame([v]), details=False)["class"].iloc[0]
    b = classify(pd.DataFrame([{**v, item: v[item] + extra}]), details=False)["class"].iloc[0]
    assert b >= a


def test_vectorised_over_many_rows():
    rng = np.random.default_rng(1)
    n = 20000
    t = pd.DataFrame({"ph": rng.normal(7.5, 1, n), "do": rng.gamma(8, 0.8, n), "codmn": rng.gamma(3, 1, n),
                      "nh3n": rng.gamma(1, 0.3, n), "tp": rng.gamma(2, 0.05, n)})
    lake = rng.random(n) < 0.1
    r = classify(t, lake=lake)
    m = np.column_stack([item_class(c, t[c], lake=lake) for c in t.columns]).max(axis=1)
    assert (r["class"].to_numpy(np.int64) == m).all()
