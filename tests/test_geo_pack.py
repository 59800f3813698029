"""The geometry pack on real data: contents, laziness, size, and the consistency checks."""

import hashlib
import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from envq.errors import InputError
from geo import joins, pack


def test_layers_counts_and_crs():
    n = {name: len(pack.layer(name)) for name in pack.LAYERS}
    assert n["province"] == 1 and n["cities"] == 14 and n["counties"] == 122 and n["stations"] == 82
    assert list(pack.layer("basins")["name"]) == ["湘江", "资水", "沅江", "澧水", "洞庭湖区", "珠江"]
    for name in pack.LAYERS:
        for variant in pack.VARIANTS:
            assert pack.layer(name, variant).crs.to_epsg() == 4326


def test_city_names_match_the_station_list():
    from envq.sources.station_list import hunan_stations

    assert set(pack.layer("cities")["name"]) == set(hunan_stations()["city"])


def test_nothing_is_read_at_import_time():
    code = ("import sys, geo, geo.pack, geo.joins, geo.areas, geo.cli; "
            "print('geopandas' in sys.modules, geo.pack._read.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "0"]


def test_manifest_hashes_match_the_files():
    manifest = json.loads((pack.PACK_DIR / "manifest.json").read_text(encoding="utf-8"))
    for name, variants in manifest["layers"].items():
        for v in variants.values():
            data = (pack.PACK_DIR / v["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == v["sha256"], v["file"]


def _km2(g):
    return g.to_crs(joins.METRIC_CRS).area.sum() / 1e6


def test_counties_tile_the_province_and_basins_are_their_unions():
    prov, counties, basins = pack.layer("province"), pack.layer("counties"), pack.layer("basins")
    assert _km2(prov) == pytest.approx(211_800, rel=0.01)  # Hunan: 21.18 万 km²
    assert _km2(counties) == pytest.approx(_km2(prov), rel=0.002)
    assert _km2(basins) == pytest.approx(_km2(counties), rel=1e-6)
    assert basins["county_count"].sum() == 122
    xiang = basins.set_index("name").loc["湘江"]
    assert "430102" in xiang["counties"] and "430624" in xiang["counties"]  # 芙蓉区, 湘阴县


def test_all_82_air_stations_fall_in_the_city_their_list_names():
    j = joins.join_stations()
    assert len(j) == 82
    assert joins.station_disagreements(j).empty
    assert (j["joined_county"] != "").all()
    by = j.set_index("stationcode")
    assert by.loc["1337A", "joined_county"] == "芙蓉区"  # 马坡岭, the Changsha urban station


def test_sections_lie_in_their_stated_basin_or_are_explained():
    j = joins.join_sections()
    checked = j[~j["check"].str.startswith("not_checked")]
    # every exact/town coordinate with a known, non-inferred system is checked ...
    from envq.water.registry import load_registry

    reg = load_registry().set_index("section")
    want = reg[reg["has_coordinates"] & reg["location_confidence"].isin(["exact", "town"])
               & (reg["system_name"] != "unknown") & ~reg["system_inferred"]].index
    assert set(checked["section"]) == set(want)
    # ... and none is farther than the stated tolerance, except the one explained in basins.yaml
    assert not (checked["check"] == "outside").any()
    by = checked.set_index("section")
    assert set(by.index[by["check"] == "near"]) == {"塘渡口", "绿埠头"}
    assert set(by.index[by["check"] == "explained"]) == {"坡头"}
    assert by.loc["坡头", "distance_km"] == pytest.approx(20.3, abs=0.2)
    assert (by.loc[by["check"] == "near", "distance_km"] <= j.attrs["tolerance_km"]).all()
    # 塘渡口's registry coordinate (111.76, 27.0) lies in 祁东县, ~10 km east of 邵阳县: reported
    assert by.loc["塘渡口", ["joined_city", "joined_county"]].tolist() == ["衡阳市", "祁东县"]
    look = joins.section_checks(j).set_index("section")
    assert {"塘渡口", "归阳镇", "浦市上游", "绿埠头", "坡头"} <= set(look.index)
    # same city, other county than the registry says: reported too (the 湘江 is often the border)
    assert look.loc["马家河", "county_differs"] and not look.loc["马家河", "city_differs"]
    assert look.loc["马家河", ["listed_county", "joined_county"]].tolist() == ["天元区(马家河)", "石峰区"]
    assert {"昭山", "蒸水入湘江口", "城陵矶"} <= set(look.index[look["county_differs"]])


def _length_inside(lines, polygon):
    m = lines.to_crs(joins.METRIC_CRS)
    poly = gpd.GeoSeries([polygon], crs=pack.CRS).to_crs(joins.METRIC_CRS).iloc[0]
    return m.intersection(poly).length.sum() / 1000


def test_xiang_line_inside_hunan_lies_in_the_xiang_basin():
    prov = pack.layer("province").geometry.iloc[0]
    basins = pack.layer("basins").set_index("name").geometry
    rivers = pack.layer("rivers")
    xiang = rivers[rivers["name"] == "湘江"]
    in_hunan = _length_inside(xiang, prov)
    in_basin = _length_inside(xiang, shapely.intersection(basins["湘江"], prov))
    assert in_hunan == pytest.approx(1173.7, abs=1)  # NGCC 单线河 labelled 湘江 (main stem + 潇水 etc.)
    assert in_basin / in_hunan >= 0.95
    assert in_basin / in_hunan == pytest.approx(1.0, abs=1e-3)
    yuan = rivers[rivers["name"] == "沅江"]
    share = _length_inside(yuan, basins["沅江"]) / _length_inside(yuan, prov)
    assert share == pytest.approx(0.963, abs=0.005)  # the rest: 汉寿县 (洞庭湖区), the 沅江 mouth


def test_display_layers_together_are_well_under_3_mb_of_geojson():
    total = sum(len(pack.layer(name, "display").to_json(drop_id=True).encode("utf-8")) for name in pack.LAYERS)
    assert total < 2_000_000, total


def test_display_is_simplified_but_close():
    a = pack.layer("counties").to_crs(joins.METRIC_CRS)
    d = pack.layer("counties", "display").to_crs(joins.METRIC_CRS)
    assert shapely.get_num_coordinates(d.geometry.to_numpy()).sum() < 0.3 * shapely.get_num_coordinates(
        a.geometry.to_numpy()).sum()
    assert np.allclose(d.area, a.area, rtol=0.02)
    assert shapely.is_valid(d.geometry.to_numpy()).all()


# ------------------------------------------------------------------------------------------
# the user's own basins


@pytest.fixture
def user_basins(tmp_path):
    boxes = shapely.segmentize([shapely.box(108, 27.5, 115, 31), shapely.box(108, 24, 115, 27.5)], 0.01)
    g = gpd.GeoDataFrame({"basin": ["北片", "南片"]}, geometry=boxes, crs="EPSG:4326")
    path = tmp_path / "mine.gpkg"
    g.to_crs("EPSG:3857").to_file(path, layer="watersheds")
    return path


def test_user_basins_from_environment(user_basins, monkeypatch):
    monkeypatch.setenv("ENVQ_BASINS", f"{user_basins}::watersheds")
    monkeypatch.setenv("ENVQ_BASINS_FIELD", "basin")
    pack.clear_cache()
    b = pack.layer("basins")
    assert list(b["name"]) == ["北片", "南片"] and b.crs.to_epsg() == 4326
    assert b.total_bounds == pytest.approx([108, 24, 115, 31], abs=1e-6)  # converted back from 3857
    j = joins.join_sections(system_to_basin={"湘江": "北片"})
    assert j.set_index("section").loc["桔子洲", "joined_basin"] == "北片"
    assert j.set_index("section").loc["桔子洲", "check"] == "inside"
    # without a mapping to the user's basin names nothing is checked against a basin they lack
    j = joins.join_sections()
    assert set(j["check"]) <= {"not_checked: no basin for system", "not_checked: no coordinate",
                               "not_checked: system unknown", "not_checked: system inferred",
                               "not_checked: location county-level"}
    assert (j.set_index("section").loc["坡头", ["check", "note"]] == ["not_checked: no basin for system", ""]).all()
    pack.clear_cache()


def test_user_basins_from_config_file(user_basins, tmp_path, monkeypatch):
    conf = tmp_path / "envq.toml"
    conf.write_text('[geo]\nbasins = "mine.gpkg"\nbasins_layer = "watersheds"\nbasins_field = "basin"\n'
                    '[geo.system_to_basin]\n"湘江" = "北片"\n"沅江" = "南片"\n', encoding="utf-8")
    monkeypatch.setenv("ENVQ_CONFIG", str(conf))
    pack.clear_cache()
    assert set(pack.layer("basins")["name"]) == {"北片", "南片"}
    j = joins.join_sections().set_index("section")
    assert j.loc["桔子洲", ["stated_basin", "check"]].tolist() == ["北片", "inside"]
    # 五强溪 (沅江, 28.77 N) lies in the northern box, 1.27 degree of latitude from the southern one
    assert j.loc["五强溪", "stated_basin"] == "南片" and j.loc["五强溪", "check"] == "outside"
    assert j.loc["五强溪", "distance_km"] == pytest.approx(140.8, abs=0.5)
    pack.clear_cache()


def test_bad_configuration_is_refused_with_file_line_and_value(tmp_path):
    from envq.config import load_config

    bad = tmp_path / "envq.toml"
    bad.write_text("[geo]\nbasins = \n", encoding="utf-8")
    with pytest.raises(InputError, match=r"envq.toml: row 2: value 'basins = ' is not valid TOML"):
        load_config(bad)
    bad.write_text('geo = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"field 'geo': value 'x' must be a table"):
        load_config(bad)
    bad.write_text("[geo]\nbasins = 5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"field 'geo.basins': value 5 must be a string"):
        load_config(bad)


def test_user_basins_errors_name_file_field_and_feature(tmp_path):
    pts = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(112, 28)], crs="EPSG:4326")
    pts.to_file(tmp_path / "p.gpkg")
    with pytest.raises(InputError, match=r"p\.gpkg: row 1, field 'geometry': value 'Point' is not a polygon"):
        pack.read_polygons(tmp_path / "p.gpkg")
    with pytest.raises(InputError, match=r"field 'basin'.*name field 'basin' is missing"):
        pack.read_polygons(tmp_path / "p.gpkg", name_field="basin")
    with pytest.raises(InputError, match="does not exist"):
        pack.read_polygons(tmp_path / "nope.gpkg")
    with pytest.raises(InputError, match=r"field 'layer': value 'zones' is not a layer of the file; it has p"):
        pack.read_polygons(tmp_path / "p.gpkg", layer="zones")
    noname = gpd.GeoDataFrame({"name": ["a", None]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
                              crs="EPSG:4326")
    noname.to_file(tmp_path / "n.gpkg")
    with pytest.raises(InputError, match=r"n\.gpkg: row 2, field 'name': value '' is empty"):
        pack.read_polygons(tmp_path / "n.gpkg")
