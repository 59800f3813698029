"""gb3838_2002.yaml: GB 3838-2002 Table 1, the 2011 method and TLI as data, validated by the schema."""

import copy

import numpy as np
import pytest

from envq import standards
from envq.water._table import gb3838

DOC = standards.load("gb3838_2002")


def test_file_validates_and_is_the_gb3838_family():
    assert DOC["kind"] == "water_quality"
    assert standards.edition_for("gb3838", "2026-07-15") == "gb3838_2002"


def test_table_1_has_24_items_in_order():
    assert [i["table_row"] for i in DOC["items"]] == list(range(1, 25))
    assert len({i["item"] for i in DOC["items"]}) == 24


@pytest.mark.parametrize(("item", "limits"), [
    # GB 3838-2002 Table 1, read row by row (reference/standards.md §4)
    ("do", [7.5, 6, 5, 3, 2]),
    ("codmn", [2, 4, 6, 10, 15]),
    ("cod", [15, 15, 20, 30, 40]),
    ("bod5", [3, 3, 4, 6, 10]),
    ("nh3n", [0.15, 0.5, 1.0, 1.5, 2.0]),
    ("tp", [0.02, 0.1, 0.2, 0.3, 0.4]),
    ("cu", [0.01, 1.0, 1.0, 1.0, 1.0]),
    ("zn", [0.05, 1.0, 1.0, 2.0, 2.0]),
    ("f", [1.0, 1.0, 1.0, 1.5, 1.5]),
    ("se", [0.01, 0.01, 0.01, 0.02, 0.02]),
    ("as", [0.05, 0.05, 0.05, 0.1, 0.1]),
    ("hg", [0.00005, 0.00005, 0.0001, 0.001, 0.001]),
    ("cd", [0.001, 0.005, 0.005, 0.005, 0.01]),
    ("cr6", [0.01, 0.05, 0.05, 0.05, 0.1]),
    ("pb", [0.01, 0.01, 0.05, 0.05, 0.1]),
    ("cn", [0.005, 0.05, 0.2, 0.2, 0.2]),
    ("phenol", [0.002, 0.002, 0.005, 0.01, 0.1]),
    ("petroleum", [0.05, 0.05, 0.05, 0.5, 1.0]),
    ("las", [0.2, 0.2, 0.2, 0.3, 0.3]),
    ("sulfide", [0.05, 0.1, 0.2, 0.5, 1.0]),
    ("fecal_coliform", [200, 2000, 10000, 20000, 40000]),
])
def test_table_1_limits(item, limits):
    assert list(gb3838().item(item).limits) == limits


def test_lake_columns_for_tp_and_tn():
    assert list(gb3838().item("tp").lake_limits) == [0.01, 0.025, 0.05, 0.1, 0.2]
    tn = gb3838().item("tn")
    assert tn.limits is None and list(tn.lake_limits) == [0.2, 0.5, 1.0, 1.5, 2.0]


def test_ph_range_and_water_temperature():
    assert gb3838().item("ph").ph_range == (6, 9)
    assert gb3838().item("water_temp").direction == "none"


def test_21_classification_items_exclude_temperature_tn_fecal_coliform():
    cls = gb3838().classification_items
    assert len(cls) == 21
    assert set(gb3838().items) - set(cls) == {"water_temp", "tn", "fecal_coliform"}
    assert all(gb3838().items[c].classification for c in cls)


def test_toxic_items_are_cyanide_and_heavy_metals():
    toxic = {c for c, it in gb3838().items.items() if it.toxic}
    assert {"cn", "pb", "cr6", "hg", "cd"} <= toxic
    assert not toxic & {"codmn", "nh3n", "tp", "do", "ph"}


def test_assessment_decimals_of_the_2020_rule():
    dec = {c: it.decimals for c, it in gb3838().items.items()}
    assert dec["ph"] == 0 and dec["do"] == 1 and dec["codmn"] == 1 and dec["nh3n"] == 2 and dec["tp"] == 3
    assert dec["hg"] == 5 and dec["fecal_coliform"] == 0


def test_classes_status_and_colours_are_data():
    classes = DOC["classes"]
    assert [c["status_zh"] for c in classes] == ["优", "优", "良好", "轻度污染", "中度污染", "重度污染"]
    assert classes[5]["hex"] == "#FF0000" and classes[5]["colour_confidence"] == "S1"
    assert all(c["colour_confidence"] == "U" for c in classes[:5])  # unverified colours are marked


def test_2011_method_thresholds():
    ev = DOC["evaluation"]
    assert ev["group_rating"]["section_count_threshold"] == 5
    t = ev["group_rating"]["proportion_thresholds"]
    assert [r["i_iii_min"] for r in t[:2]] == [90, 75]
    assert [r.get("worse_v_below") for r in t[2:]] == [20, 40, None]
    assert (ev["trend"]["no_change_max"], ev["trend"]["some_change_max"]) == (10, 20)
    assert ev["exceedance"]["reference_class"] == 3


def test_tli_weights_follow_from_the_correlations():
    par = DOC["trophic_state"]["parameters"]
    r2 = np.array([p["r"] ** 2 for p in par])
    w = r2 / r2.sum()
    np.testing.assert_allclose(w, [p["weight"] for p in par], atol=5e-5)  # table given to 4 decimals
    assert abs(sum(p["weight"] for p in par) - 1) < 1e-3


def test_every_rule_has_a_clause():
    def walk(node, path):
        if isinstance(node, dict):
            if any(k in node for k in ("limits", "section_count_threshold", "a", "average_fraction", "ph_mean")):
                assert "clause" in node, path
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")
    walk(DOC, "")


@pytest.mark.parametrize("path", [
    ("items", 6, "clause"),
    ("evaluation", "group_rating", "clause"),
    ("trophic_state", "parameters", 0, "clause"),
    ("nondetect", "clause"),
    ("classes", 2, "clause"),
])
def test_schema_rejects_a_rule_without_its_clause(path):
    doc = copy.deepcopy(DOC)
    node = doc
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]
    with pytest.raises(ValueError, match="broken.yaml"):
        standards.validate(doc, name="broken.yaml")


def test_schema_rejects_a_table_row_with_four_limits():
    doc = copy.deepcopy(DOC)
    doc["items"][6]["limits"] = [0.15, 0.5, 1.0, 1.5]
    with pytest.raises(ValueError, match="items/6"):
        standards.validate(doc, name="broken.yaml")
