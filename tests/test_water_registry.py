"""The section registry: bundled, replaced or extended by configuration, unknown sections reported."""

import pandas as pd
import pytest

from envq.errors import InputError
from envq.water.registry import ENV_REGISTRY, ENV_REGISTRY_EXTRA, clean_name, load_registry, match_sections


def test_bundled_registry_has_the_61_sections():
    reg = load_registry(environ={})
    assert len(reg) == 61 and reg["section"].is_unique
    assert sorted(reg.loc[reg["is_lake"], "section"]) == sorted(["南嘴", "岳阳楼", "小河嘴", "蒋家嘴", "头山"])
    assert (~reg["has_coordinates"]).sum() == 18
    assert (reg["target_class"] == 3).all()  # default target: Class III
    assert set(reg["system_name"]) == {"湘江", "资水", "沅江", "澧水", "洞庭湖", "长江干流/荆江三口", "unknown"}


def test_inferred_names_are_flagged_and_cleaned():
    reg = load_registry(environ={}).set_index("section")
    assert reg.loc["坪口", "system_name"] == "资水" and reg.loc["坪口", "system_inferred"]
    assert reg.loc["三角洲", "river_name"] == "浏阳河" and not reg.loc["三角洲", "river_inferred"]
    assert clean_name("unknown(资水水系?)") == ("unknown", True)


def test_approximate_coordinates_are_labelled():
    reg = load_registry(environ={}).set_index("section")
    assert "NOT the section" in reg.loc["城北水厂", "coordinate_note"]  # county seat
    assert reg.loc["岳阳楼", "location_confidence"] == "exact"
    assert reg.loc["万家嘴", "coordinate_note"] == "no coordinate"


def test_replace_by_environment_variable(tmp_path):
    p = tmp_path / "official.csv"
    p.write_text("section,code,river,system,water_body,city,target_class,lon,lat,location_confidence\n"
                 "昭山,A4300001,湘江,湘江,river,湘潭市,II,112.99,27.97,exact\n", encoding="utf-8")
    reg = load_registry(environ={ENV_REGISTRY: str(p)})
    assert reg["section"].tolist() == ["昭山"] and reg.loc[0, "target_class"] == 2
    assert reg.loc[0, "code"] == "A4300001"


def test_extend_adds_and_overrides(tmp_path):
    ext = tmp_path / "ext.csv"
    ext.write_text("section,system,water_body,target_class\n八仙桥,湘江,,2\n新断面,沅江,reservoir,\n", encoding="utf-8")
    reg = load_registry(extend=[ext], environ={}).set_index("section")
    assert len(reg) == 62
    assert reg.loc["八仙桥", "system_name"] == "湘江" and reg.loc["八仙桥", "target_class"] == 2
    assert reg.loc["八仙桥", "water_body"] == "river"  # empty cells keep the registry's value
    assert reg.loc["新断面", "is_lake"] and reg.loc["新断面", "target_class"] == 3
    env = load_registry(environ={ENV_REGISTRY_EXTRA: str(ext)})
    assert len(env) == 62


@pytest.mark.parametrize(("line", "field", "problem"), [
    ("昭山,湘江,sea,3,112.9,27.9", "water_body", "is not one of"),
    ("昭山,湘江,river,VI,112.9,27.9", "target_class", "is not a class"),
    ("昭山,湘江,river,3,212.9,27.9", "lon", "is not a longitude"),
    ("昭山,湘江,river,3,112.9,north", "lat", "is not a latitude"),
])
def test_bad_registry_rows(tmp_path, line, field, problem):
    p = tmp_path / "r.csv"
    p.write_text("section,river,water_body,target_class,lon,lat\n昭山2,湘江,river,3,,\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_registry(p, environ={})
    assert exc.value.row == 3 and exc.value.field == field and problem in str(exc.value)


def test_registry_needs_section_column_and_known_columns(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("name,river\n昭山,湘江\n", encoding="utf-8")
    with pytest.raises(InputError, match="section"):
        load_registry(p, environ={})
    p.write_text("section,colour\n昭山,blue\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a registry column"):
        load_registry(p, environ={})
    p.write_text("section\n昭山\n昭山\n", encoding="utf-8")
    with pytest.raises(InputError, match="appears twice"):
        load_registry(p, environ={})


def test_unknown_sections_are_listed_not_dropped():
    reg = load_registry(environ={})
    rows, unknown = match_sections(["昭山", "无名断面", "南嘴", "无名断面"], reg)
    assert unknown == ["无名断面"]
    assert len(rows) == 4 and rows["in_registry"].tolist() == [True, False, True, False]
    assert rows.loc[1, "water_body"] == "river" and not rows.loc[1, "is_lake"]
    assert rows.loc[1, "target_class"] == 3 and rows.loc[1, "system_name"] == "unknown"
    assert rows.loc[2, "is_lake"]


def test_validity_dates_choose_the_version(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("section,target_class,valid_from,valid_to\n昭山,3,2020-01-01,2025-12-31\n昭山,2,2026-01-01,\n",
                 encoding="utf-8")
    reg = load_registry(p, environ={})
    rows, _ = match_sections(["昭山", "昭山"], reg, at=pd.to_datetime(["2025-06-01", "2026-07-01"]))
    assert rows["target_class"].tolist() == [3, 2]
