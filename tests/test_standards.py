"""Every standards file validates against the one schema, and carries the standard's numbers."""

import copy

import pytest

from envq import standards


@pytest.mark.parametrize("standard_id", standards.available())
def test_every_file_validates_against_the_schema(standard_id):
    doc = standards.load(standard_id)  # load() validates
    assert doc["id"] == standard_id


def test_schema_rejects_a_rule_without_its_clause():
    doc = copy.deepcopy(standards.load("hj633_2012"))
    del doc["breakpoints"]["pm25_24h"]["clause"]
    with pytest.raises(ValueError, match="breakpoints/pm25_24h.*clause"):
        standards.validate(doc, name="broken.yaml")


def test_schema_rejects_an_unknown_pollutant_in_a_report():
    doc = copy.deepcopy(standards.load("hj633_2026"))
    doc["reports"]["daily"]["variants"]["standard_text"]["terms"][0]["pollutant"] = "nox"
    with pytest.raises(ValueError, match="broken.yaml"):
        standards.validate(doc, name="broken.yaml")


def test_every_family_edition_is_shipped():
    for family, editions in standards.FAMILIES.items():
        for ed in editions:
            assert ed in standards.available(), (family, ed)


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2019-07-01", "hj633_2012"), ("2026-02-28", "hj633_2012"), ("2026-03-01", "hj633_2026")],
)
def test_edition_in_force_is_chosen_by_date(day, expected):
    assert standards.edition_for("hj633", day) == expected


def test_edition_can_be_forced_for_a_back_cast():
    assert standards.edition_for("hj633", "2025-01-01", force="hj633_2026") == "hj633_2026"
    with pytest.raises(ValueError, match="not an edition of hj633"):
        standards.edition_for("hj633", "2025-01-01", force="gb3095_2026")


def test_limit_and_assessment_editions_switch_on_the_same_day():
    assert standards.edition_for("gb3095", "2026-02-28") == "gb3095_2012"
    assert standards.edition_for("gb3095", "2026-03-01") == "gb3095_2026"
    assert standards.edition_for("hj663", "2026-03-01") == "hj663_2026"


def test_hj633_2012_breakpoints_are_table_1():
    # HJ 633-2012 Table 1 (reference/standards.md §1.1), cell by cell.
    bp = {k: v["values"] for k, v in standards.load("hj633_2012")["breakpoints"].items()}
    assert bp["so2_24h"] == [0, 50, 150, 475, 800, 1600, 2100, 2620]  # not aqi-hub's 150/500/650/800
    assert bp["so2_1h"] == [0, 150, 500, 650, 800, None, None, None]
    assert bp["no2_24h"] == [0, 40, 80, 180, 280, 565, 750, 940]
    assert bp["no2_1h"] == [0, 100, 200, 700, 1200, 2340, 3090, 3840]
    assert bp["pm10_24h"] == [0, 50, 150, 250, 350, 420, 500, 600]
    assert bp["co_24h"] == [0, 2, 4, 14, 24, 36, 48, 60]
    assert bp["co_1h"] == [0, 5, 10, 35, 60, 90, 120, 150]
    assert bp["o3_1h"] == [0, 160, 200, 300, 400, 800, 1000, 1200]
    assert bp["o3_8h"] == [0, 100, 160, 215, 265, 800, None, None]
    assert bp["pm25_24h"] == [0, 35, 75, 115, 150, 250, 350, 500]


def test_hj633_2026_differs_only_at_pm_iaqi_100():
    old = standards.load("hj633_2012")["breakpoints"]
    new = standards.load("hj633_2026")["breakpoints"]
    diffs = {
        (k, i): (a, b)
        for k in old
        for i, (a, b) in enumerate(zip(old[k]["values"], new[k]["values"]))
        if a != b
    }
    assert diffs == {("pm10_24h", 2): (150, 120), ("pm25_24h", 2): (75, 60)}


def test_2026_special_rules_and_publication():
    new = standards.load("hj633_2026")
    assert new["special_rules"]["so2_1h_above_800"]["iaqi"] == 200
    assert new["special_rules"]["o3_8h_above_800"]["iaqi"] == 300
    assert new["aqi_range"]["min"] == 1
    assert new["over_standard_pollutant"]["defined"] is False
    assert "o3_1h" not in [t["term"] for t in new["reports"]["daily"]["variants"]["standard_text"]["terms"]]


@pytest.mark.parametrize("standard_id", ["hj633_2012", "hj633_2026"])
def test_categories_cover_the_whole_range_with_official_colours(standard_id):
    doc = standards.load(standard_id)
    cats = doc["categories"]
    assert [c["category_zh"] for c in cats] == ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]
    assert [c["hex"] for c in cats] == ["#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"]
    for c in cats:
        assert c["hex"] == "#{:02X}{:02X}{:02X}".format(*c["rgb"])
    for lo, hi in zip(cats, cats[1:]):
        assert hi["aqi_min"] == lo["aqi_max"] + 1
    assert cats[0]["aqi_min"] == doc["aqi_range"]["min"] and cats[-1]["aqi_max"] == 500


def test_gb3095_limits():
    def limits(doc, stage):
        st = next(s for s in doc["stages"] if s["name"] == stage)
        return {(x["pollutant"], x["averaging"]): x["grade_2"] for x in st["limits"]}

    old = limits(standards.load("gb3095_2012"), "standard")
    trans = limits(standards.load("gb3095_2026"), "transitional")
    final = limits(standards.load("gb3095_2026"), "final")
    assert old[("pm25", "24h")] == 75 and trans[("pm25", "24h")] == 60 and final[("pm25", "24h")] == 50
    assert old[("pm10", "annual")] == 70 and trans[("pm10", "annual")] == 60 and final[("pm10", "annual")] == 50
    assert old[("o3", "8h")] == trans[("o3", "8h")] == final[("o3", "8h")] == 160
    # The AQI-100 breakpoint of HJ 633-2026 equals the transitional daily Grade II limit (§3.3).
    bp26 = standards.load("hj633_2026")["breakpoints"]
    assert bp26["pm25_24h"]["values"][2] == trans[("pm25", "24h")]
    assert bp26["pm10_24h"]["values"][2] == trans[("pm10", "24h")]


def test_validity_minimums():
    for sid in ("gb3095_2012", "gb3095_2026"):
        rules = {r["statistic"]: r for r in standards.load(sid)["validity"]["rules"]}
        assert rules["daily_mean"]["min_hours"] == 20
        assert rules["mean_8h"]["min_hours"] == 6
        assert rules["annual_mean"]["min_daily_values_per_year"] == 324
        assert rules["annual_mean"]["min_daily_values_per_month"] == 27
        assert rules["annual_mean"]["min_daily_values_february"] == 25
    for sid in ("hj663_2013", "hj663_2026"):
        mda8 = standards.load(sid)["mda8"]
        assert (mda8["min_valid_windows"], mda8["first_window_end_hour"], mda8["last_window_end_hour"]) == (14, 8, 24)
