"""Air and water rates for any polygon layer: join, then aggregate with the engines' own rules.

One path for every area kind (cities, counties, basins, a user's polygons):

1. :func:`resolve_layer` gives the polygons (a pack layer by name, or a vector file);
2. :func:`geo.joins.label_points` puts each air station and each water section in an area;
3. the envq engines aggregate by that label exactly as they do by city or river system:

   - air: the area's daily concentrations are the means over its assessment stations
     (城市环境空气质量排名技术规定 §三(一), the city rule applied to the area), then the area's
     daily AQI and good-air-day ratio (:func:`envq.air.city.city_daily`,
     :func:`envq.air.rates.good_day_rates`);
   - water: the area's sections form a group rated by the 2011 method
     (:func:`envq.water.groups.group_rates` with custom groups).

Both functions have one shape: input data, areas, one period or a list of them, a table of rows
(``scope`` / ``group`` = ``area``, or ``basin`` as the nightly flow stores them), targets judged by
the engines (:mod:`envq.targets`).

For the 14 cities the air path reproduces the city figures of ``envq air rates`` exactly (all
82 Hunan stations lie in the city the station list names; see ``tests/test_geo_areas.py``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from geo import joins, pack

__all__ = ["resolve_layer", "station_areas", "station_labels", "section_areas", "area_groups", "air_rates_by_area",
           "water_rates_by_area"]


def resolve_layer(spec, *, name_field: str = "name", variant: str = "analysis"):
    """Polygons with a ``name`` column, in EPSG:4326, from a GeoDataFrame (its *name_field*), a
    pack layer name (``cities``, ``counties``, ``basins``, ``province``) or a vector file path
    (``PATH`` or ``PATH::LAYER``, its *name_field*)."""
    import geopandas as gpd

    if isinstance(spec, gpd.GeoDataFrame):
        g = pack.check_crs(spec, where="areas")
        return g.rename(columns={name_field: "name"}) if name_field != "name" else g
    spec = str(spec)
    if spec in pack.LAYERS:
        g = pack.layer(spec, variant)
        if not g.geom_type.isin(["Polygon", "MultiPolygon"]).all():
            raise ValueError(f"layer {spec!r} is not a polygon layer")
        return g
    path, _, lyr = spec.partition("::")
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: not a pack layer ({', '.join(pack.LAYERS)}) nor an existing file")
    return pack.read_polygons(path, layer=lyr or None, name_field=name_field)


def station_areas(hourly, polygons, *, field: str = "name") -> np.ndarray:
    """The area of each station of an air dataset (its ``lon``/``lat`` coordinates)."""
    df = pd.DataFrame({"lon": hourly["lon"].values, "lat": hourly["lat"].values})
    return joins.label_points(joins.points(df), polygons, field=field, where="air stations")


#: Station-to-area memberships already computed, keyed by the polygons' content (names and
#: geometries: a geometry-pack version, or a user's layer) and the stations' codes and coordinates.
_MEMBERSHIP: dict[tuple[str, str], pd.Series] = {}


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(np.ascontiguousarray(part).tobytes() if isinstance(part, np.ndarray) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def station_labels(hourly, polygons, *, field: str = "name") -> pd.Series:
    """The area of each station of an air dataset, indexed by station code ("" outside every
    polygon): :func:`station_areas`, joined once per version of the polygons (their names and
    geometries) and of the stations (codes and coordinates), then remembered; stations never
    move between areas unless one of them changes."""
    polygons = resolve_layer(polygons, name_field=field)
    codes = hourly["station"].values.astype(str)
    lon = np.asarray(hourly["lon"].values, dtype=np.float64)
    lat = np.asarray(hourly["lat"].values, dtype=np.float64)
    key = (_digest(polygons["name"].astype(str).to_numpy().astype(str), *polygons.geometry.to_wkb()),
           _digest(codes, lon, lat))
    got = _MEMBERSHIP.get(key)
    if got is None:
        got = pd.Series(station_areas(hourly, polygons), index=codes, name="area")
        _MEMBERSHIP[key] = got
    return got.copy()


def section_areas(registry: pd.DataFrame, polygons, *, field: str = "name") -> pd.Series:
    """The area of each registry section with a coordinate ("" outside every polygon or without one)."""
    return pd.Series(joins.label_points(joins.points(registry), polygons, field=field, where="sections"),
                     index=registry["section"].to_numpy(), name="area")


def _periods(period) -> list:
    """One period or a list of them, as a list of Periods (a wrong one fails before any work)."""
    from envq.periods import parse_period

    many = isinstance(period, (list, tuple))
    return [parse_period(p) for p in (period if many else [period])]


def air_rates_by_area(hourly, areas, period, *, field: str = "name", scope: str = "area",
                      province: str | None = "湖南省", day_rule: str = "pm25_o3", edition: str = "auto",
                      targets=None, skip_empty: bool = False, **kwargs) -> pd.DataFrame:
    """Good-air-day ratio of every area of *areas* that holds at least one assessment station.

    Parameters
    ----------
    hourly : xarray.Dataset
        Canonical hourly air data (from :func:`envq.air.pipeline.read_air`).
    areas : GeoDataFrame or str
        Polygons, or a spec for :func:`resolve_layer`.
    period : envq.periods.Period, str, or a list of them
        Several periods are computed from one pass over the data (rows of each, in order);
        ``skip_empty=True`` leaves out periods without data instead of raising
        :class:`envq.errors.NoDataError`.
    field : str
        The area name field of a user's polygons (default ``name``).
    scope : str
        The ``scope`` of the rows (``area``; ``basin`` for river basins), which picks their
        targets (:mod:`envq.targets`).
    province, day_rule, edition, kwargs : see :func:`envq.air.pipeline.city_days_from_hourly`.

    Returns
    -------
    pandas.DataFrame: the columns of :func:`envq.air.rates.good_day_rates`, plus ``stations``
    (assessment stations in the area). ``attrs["areas_without_stations"]`` lists the areas with
    none (no air figure can be given for them).
    """
    from envq.air.pipeline import station_daily_from_hourly
    from envq.report import area_period_rates

    periods = _periods(period)
    polygons = resolve_layer(areas, name_field=field)
    labels = station_labels(hourly, polygons)
    sdaily, _, clean = station_daily_from_hourly(hourly, province=province, **kwargs)
    rates = area_period_rates(sdaily, labels, periods, scope=scope, targets=targets, clean=clean, edition=edition,
                              day_rule=day_rule, skip_empty=skip_empty,
                              mda8_method=kwargs.get("mda8_method", "mean_of_station_mda8"))
    names = polygons["name"].astype(str)
    rates.attrs["areas_without_stations"] = sorted(set(names) - set(rates.attrs.pop("area_stations", {})))
    return rates


def area_groups(registry: pd.DataFrame, areas, *, field: str = "name") -> tuple[dict[str, list[str]], list[str]]:
    """The sections of each area (by registry coordinate), in the layer's order, and the sections
    without an area (no coordinate, or outside every polygon)."""
    polygons = resolve_layer(areas, name_field=field)
    area = section_areas(registry, polygons)
    placed = area[area != ""]
    groups = {name: list(secs.index) for name, secs in placed.groupby(placed, sort=False)}
    order = [n for n in polygons["name"].astype(str) if n in groups]
    return {n: groups[n] for n in order}, sorted(area.index[area == ""])


def water_rates_by_area(long: pd.DataFrame, areas, period, *, field: str = "name", scope: str = "area",
                        registry=None, targets=None, skip_empty: bool = False, **kwargs) -> pd.DataFrame:
    """Class III compliance and the 2011-method rating of every area's sections.

    The same shape as :func:`air_rates_by_area`: screened readings, areas, one period or a list
    of them (``skip_empty``), a table of rows (:func:`envq.water.groups.group_rates` with the
    areas as custom groups, ``group`` = *scope*). Sections are placed by their registry
    coordinate; sections without one are listed in ``attrs["sections_without_area"]`` (they
    cannot be put in an area by geometry). *kwargs* go to
    :func:`envq.water.groups.period_sections` (``source``, ``ph_mean``, ``nondetect``).
    """
    from envq.errors import NoDataError
    from envq.water.groups import group_rates, period_sections
    from envq.water.registry import load_registry

    periods = _periods(period)
    registry = load_registry() if registry is None else registry
    groups, unplaced = area_groups(registry, areas, field=field)
    out = []
    for p in periods:
        p, sections, _ = period_sections(long, p, registry=registry, **kwargs)
        if not len(sections):
            if skip_empty:
                continue
            t = pd.DatetimeIndex(long["time"]) if len(long) else pd.DatetimeIndex([])
            raise NoDataError(p, f"{t.min():%Y-%m-%d}..{t.max():%Y-%m-%d}" if len(t) else None, what="water readings")
        out.append(group_rates(sections, by="custom", custom=groups, scope=scope, period=p, targets=targets,
                               ph_mean=kwargs.get("ph_mean", "arithmetic")))
    rates = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    rates.attrs["sections_without_area"] = unplaced
    return rates
