"""Spatial joins: which city, county and basin each station and section lies in.

The joins never overwrite a source's own label: the station list names a city, the section
registry a system, city and county; the join adds what the geometry says beside it, and the
disagreements are a table for a person to read (:func:`station_disagreements`,
:func:`section_checks`). Both sides of every join pass :func:`geo.pack.check_crs` first.

Distances are measured in UTM zone 49N (EPSG:32649, central meridian 111 E), which spans Hunan
(108.8-114.3 E) with a scale error under 0.1%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo import pack

__all__ = ["METRIC_CRS", "points", "label_points", "join_stations", "join_sections", "station_disagreements",
           "section_checks", "basin_settings"]

METRIC_CRS = "EPSG:32649"


def points(df: pd.DataFrame, *, lon: str = "lon", lat: str = "lat", crs: str = pack.CRS):
    """A GeoDataFrame of points from lon/lat columns (rows without both stay, with an empty geometry)."""
    import geopandas as gpd

    x = pd.to_numeric(df[lon], errors="coerce").to_numpy(float)
    y = pd.to_numeric(df[lat], errors="coerce").to_numpy(float)
    g = gpd.points_from_xy(x, y)
    g[~(np.isfinite(x) & np.isfinite(y))] = None
    return gpd.GeoDataFrame(df.copy(), geometry=g, crs=crs)


def label_points(pts, polygons, *, field: str = "name", where: str = "points") -> np.ndarray:
    """For each point, *field* of the polygon containing it ("" outside every polygon).

    A point on a shared edge goes to the first polygon of *polygons* that contains it
    (``covers``), so every point gets at most one label and the result is deterministic.
    """
    import geopandas as gpd

    pts = pack.check_crs(pts, where=where)
    polygons = pack.check_crs(polygons, where=f"{field} polygons")
    poly = gpd.GeoDataFrame({"_label": polygons[field].astype(str).to_numpy(), "_order": np.arange(len(polygons))},
                            geometry=polygons.geometry.to_numpy(), crs=polygons.crs)
    left = gpd.GeoDataFrame({"_i": np.arange(len(pts))}, geometry=pts.geometry.to_numpy(), crs=pts.crs)
    left = left[~(left.geometry.isna() | left.geometry.is_empty)]
    hit = gpd.sjoin(left, poly, how="inner", predicate="covered_by")
    hit = hit.sort_values(["_i", "_order"]).drop_duplicates("_i")
    out = np.full(len(pts), "", dtype=object)
    out[hit["_i"].to_numpy()] = hit["_label"].to_numpy()
    return out


def _distance_km(pts, polygons, targets: np.ndarray, *, field: str = "name") -> np.ndarray:
    """Distance from each point to the polygon(s) named targets[i] (0 inside; NaN if none).

    Features sharing a name are taken together (a user's basin may come in several pieces).
    """
    import shapely

    if not len(pts):
        return np.zeros(0)
    p = pts.to_crs(METRIC_CRS).geometry.to_numpy()
    metric = polygons.to_crs(METRIC_CRS)
    names = metric[field].astype(str).to_numpy()
    geoms = metric.geometry.to_numpy()
    out = np.full(len(pts), np.nan)
    valid = ~pd.isna(p)
    for name in np.unique(names):  # one vectorised call per area, not per point
        sel = np.flatnonzero((targets == name) & valid)
        if len(sel):
            shape = shapely.union_all(geoms[names == name])
            out[sel] = shapely.distance(p[sel], shape) / 1000.0
    return out


def join_stations(stations: pd.DataFrame | None = None, *, cities=None, counties=None) -> pd.DataFrame:
    """Each air station's city and county by point in polygon, beside the list's own city.

    Parameters
    ----------
    stations : pandas.DataFrame, optional
        Station table indexed by code with ``name, city, lon, lat`` (default: the Hunan stations
        of the bundled national list).
    cities, counties : GeoDataFrame, optional
        Default: the pack's layers.

    Returns
    -------
    pandas.DataFrame: ``stationcode, name, listed_city, joined_city, joined_county, agrees,
    distance_to_listed_city_km`` (0 when inside it).
    """
    if stations is None:
        from envq.sources.station_list import hunan_stations

        stations = hunan_stations()
    st = stations.reset_index().rename(columns={stations.index.name or "index": "stationcode"})
    if "code" in st.columns and "stationcode" not in st.columns:
        st = st.rename(columns={"code": "stationcode"})
    cities = pack.layer("cities") if cities is None else cities
    counties = pack.layer("counties") if counties is None else counties
    pts = points(st)
    listed = st["city"].fillna("").astype(str).to_numpy(object)
    out = pd.DataFrame({
        "stationcode": st["stationcode"].astype(str).to_numpy(),
        "name": st["name"].to_numpy() if "name" in st else "",
        "listed_city": listed,
        "joined_city": label_points(pts, cities, where="stations"),
        "joined_county": label_points(pts, counties, where="stations"),
    })
    out["agrees"] = out["listed_city"] == out["joined_city"]
    out["distance_to_listed_city_km"] = np.round(_distance_km(pts, pack.check_crs(cities, where="cities"), listed), 3)
    return out


def station_disagreements(joined: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`join_stations` whose geometry and list disagree."""
    return joined[~joined["agrees"]].reset_index(drop=True)


def basin_settings(config: dict | None = None) -> dict:
    """``system_to_basin``, ``section_tolerance_km`` and ``explained`` from
    ``geo/data/basins.yaml``; with the user's own basins (configuration), ``system_to_basin``
    comes from ``[geo] system_to_basin`` (default: empty, nothing checked against a basin the
    user's file may not have) and ``explained`` is dropped (it speaks of the pack's basins)."""
    from geo.build import basins_config

    path, _, _ = pack.basins_setting(config)
    conf = basins_config()
    if path:
        if config is None:
            from envq.config import load_config

            config = load_config()
        return {"system_to_basin": dict(config.get("geo", {}).get("system_to_basin", {})),
                "section_tolerance_km": float(conf["section_tolerance_km"]), "explained": {}}
    return {"system_to_basin": dict(conf["system_to_basin"]), "section_tolerance_km": float(conf["section_tolerance_km"]),
            "explained": dict(conf.get("explained") or {})}


def join_sections(registry: pd.DataFrame | None = None, *, basins=None, cities=None, counties=None,
                  tolerance_km: float | None = None, system_to_basin: dict | None = None,
                  explained: dict | None = None) -> pd.DataFrame:
    """Each water section's basin, city and county by point in polygon, and its distance to the
    basin of its stated system.

    Returns
    -------
    pandas.DataFrame: ``section, system, stated_basin, joined_basin, joined_city, joined_county,
    distance_km`` (to the stated basin; 0 inside; NaN without coordinate or basin),
    ``location_confidence``, ``listed_city, listed_county`` and ``check``, one of:

    - ``inside``: in its stated basin;
    - ``near``: outside it by at most *tolerance_km*;
    - ``outside``: farther (a registry or geometry problem to look at);
    - ``explained``: outside, with the reason given in ``basins.yaml`` (``explained``; the
      ``note`` column holds it);
    - ``not_checked: no coordinate`` / ``... system unknown`` / ``... system inferred`` /
      ``... location inferred (county)`` / ``... no basin for system``: reported, not guessed.
    """
    from envq.water.registry import load_registry

    settings = basin_settings()
    tolerance_km = settings["section_tolerance_km"] if tolerance_km is None else float(tolerance_km)
    system_to_basin = settings["system_to_basin"] if system_to_basin is None else system_to_basin
    explained = settings["explained"] if explained is None else explained
    reg = load_registry() if registry is None else registry
    basins = pack.layer("basins") if basins is None else pack.check_crs(basins, where="basins")
    cities = pack.layer("cities") if cities is None else cities
    counties = pack.layer("counties") if counties is None else counties
    pts = points(reg)
    system = reg["system_name"].astype(str).to_numpy(object)
    known = set(basins["name"].astype(str))
    stated = reg["system_name"].astype(str).map(lambda x: system_to_basin.get(x, "")).to_numpy(object)
    stated = np.where(np.isin(stated, list(known)), stated, "")  # only basins the layer has
    dist = _distance_km(pts, basins, stated)
    out = pd.DataFrame({
        "section": reg["section"].to_numpy(),
        "system": reg["system"].to_numpy(),
        "stated_basin": stated,
        "joined_basin": label_points(pts, basins, where="sections"),
        "joined_city": label_points(pts, cities, where="sections"),
        "joined_county": label_points(pts, counties, where="sections"),
        "distance_km": np.round(dist, 2),
        "location_confidence": reg["location_confidence"].to_numpy(),
        "listed_city": reg["city"].to_numpy(),
        "listed_county": reg["county"].to_numpy(),
    })
    has_xy = reg["has_coordinates"].to_numpy(bool)
    conf = reg["location_confidence"].astype(str).to_numpy()
    checked = has_xy & (system != "unknown") & ~reg["system_inferred"].to_numpy(bool) & (stated != "") \
        & np.isin(conf, ["exact", "town"])
    check = np.select(
        [~has_xy, system == "unknown", reg["system_inferred"].to_numpy(bool), stated == "",
         ~np.isin(conf, ["exact", "town"])],
        ["not_checked: no coordinate", "not_checked: system unknown", "not_checked: system inferred",
         "not_checked: no basin for system", "not_checked: location county-level"],
        default="")
    inside = (out["joined_basin"].to_numpy() == stated) | (dist == 0)
    within = np.where(inside, "inside", np.where(dist <= tolerance_km, "near", "outside"))
    note = out["section"].map(lambda x: explained.get(x, "")).to_numpy(object)
    within = np.where((within == "outside") & (note != ""), "explained", within)
    out["check"] = np.where(checked, within, check)
    out["note"] = np.where(out["check"] == "explained", note, "")
    out.attrs["tolerance_km"] = tolerance_km
    return out


def section_checks(joined: pd.DataFrame) -> pd.DataFrame:
    """The sections of :func:`join_sections` a person should look at: outside, near or
    explained against their stated basin, or whose joined city or county differs from the
    registry's (``city_differs``, ``county_differs`` columns added).

    A registry county written with a note (``沅陵县(五强溪镇)``) is compared by its name before
    the note; ``unknown`` and names marked ``?`` are not compared (there is nothing to contradict).
    """
    from envq.water.registry import clean_name

    def listed(col):
        names = joined[col].fillna("").astype(str).map(clean_name)
        return names.str[0].to_numpy(object), names.str[1].to_numpy(bool)

    city, city_guess = listed("listed_city")
    county, county_guess = listed("listed_county")
    county = pd.Series(county).str.split(r"[/;、]", regex=True).str[0].to_numpy(object)
    jc, jk = joined["joined_city"].to_numpy(object), joined["joined_county"].to_numpy(object)
    out = joined.copy()
    out["city_differs"] = (jc != "") & (city != "unknown") & ~city_guess & (jc != city)
    out["county_differs"] = (jk != "") & (county != "unknown") & ~county_guess & (county != "") & (jk != county)
    flag = out["check"].isin(["outside", "near", "explained"]) | out["city_differs"] | out["county_differs"]
    return out[flag].reset_index(drop=True)
