"""Spatial joins on tiny hand-drawn geometries: point in polygon, edges, CRS checks, distances."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from envq.errors import InputError
from geo import joins, pack

# Two one-degree squares side by side near Changsha (lon 112-114, lat 28-29), named A and B,
# with a vertex every 0.01 degree (as real boundaries have): projected to metres, a long
# straight edge would become a chord ~0.1 km off the parallel it stands for.
SQUARES = gpd.GeoDataFrame(
    {"name": ["A", "B"]},
    geometry=shapely.segmentize([shapely.box(112.0, 28.0, 113.0, 29.0), shapely.box(113.0, 28.0, 114.0, 29.0)], 0.01),
    crs="EPSG:4326")


def _pts(lonlat):
    df = pd.DataFrame(lonlat, columns=["lon", "lat"])
    return joins.points(df)


def test_point_in_polygon_inside_outside_edge_and_missing():
    pts = _pts([(112.5, 28.5), (113.5, 28.2), (115.0, 28.5), (113.0, 28.5), (np.nan, 28.0)])
    labels = joins.label_points(pts, SQUARES)
    # the point on the shared edge goes to the first polygon listing it; no coordinate -> ""
    assert list(labels) == ["A", "B", "", "A", ""]


def test_other_crs_is_converted_before_the_join():
    in_3857 = SQUARES.to_crs("EPSG:3857")
    labels = joins.label_points(_pts([(112.5, 28.5), (113.5, 28.5)]), in_3857)
    assert list(labels) == ["A", "B"]


def test_missing_crs_is_refused_with_a_clear_message():
    no_crs = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(112, 28, 113, 29)])
    with pytest.raises(InputError, match="CRS: the data has none"):
        joins.label_points(_pts([(112.5, 28.5)]), no_crs)
    with pytest.raises(InputError, match="crs"):
        pack.check_crs(SQUARES.to_crs(3857), convert=False)


def test_distance_to_a_named_polygon_in_km():
    # 0.1 degree of latitude at 29 N is 11.09 km on the ellipsoid; inside is 0.
    pts = _pts([(112.5, 29.1), (112.5, 28.5), (113.5, 28.5)])
    d = joins._distance_km(pts, SQUARES, np.array(["A", "A", "Z"], dtype=object))
    assert d[0] == pytest.approx(11.09, abs=0.02)
    assert d[1] == 0.0
    assert np.isnan(d[2])  # no polygon of that name


def test_join_sections_checks_stated_basin_with_tolerance():
    reg = pd.DataFrame({
        "section": ["in", "near", "far", "nocoord", "unknown", "guess", "county"],
        "system": ["甲", "甲", "甲", "甲", "unknown", "甲?", "甲"],
        "system_name": ["甲", "甲", "甲", "甲", "unknown", "甲", "甲"],
        "system_inferred": [False, False, False, False, False, True, False],
        "lon": [112.5, 113.05, 113.9, np.nan, 112.5, 112.5, 112.5],
        "lat": [28.5, 28.5, 28.5, np.nan, 28.5, 28.5, 28.5],
        "has_coordinates": [True, True, True, False, True, True, True],
        "location_confidence": ["exact", "town", "town", "unknown", "town", "town", "county"],
        "city": [""] * 7, "county": [""] * 7,
    })
    j = joins.join_sections(reg, basins=SQUARES, cities=SQUARES, counties=SQUARES, tolerance_km=10,
                            system_to_basin={"甲": "A"}, explained={})
    assert dict(zip(j["section"], j["check"])) == {
        "in": "inside", "near": "near", "far": "outside", "nocoord": "not_checked: no coordinate",
        "unknown": "not_checked: system unknown", "guess": "not_checked: system inferred",
        "county": "not_checked: location county-level"}
    assert j.set_index("section").loc["near", "distance_km"] == pytest.approx(4.9, abs=0.1)
    assert j.set_index("section").loc["far", "joined_basin"] == "B"


def test_join_stations_reports_disagreement_without_overwriting():
    st = pd.DataFrame({"name": ["x", "y"], "city": ["A", "A"], "lon": [112.5, 113.5], "lat": [28.5, 28.5]},
                      index=pd.Index(["1A", "2A"], name="code"))
    j = joins.join_stations(st, cities=SQUARES, counties=SQUARES)
    assert list(j["listed_city"]) == ["A", "A"] and list(j["joined_city"]) == ["A", "B"]
    bad = joins.station_disagreements(j)
    assert list(bad["stationcode"]) == ["2A"]
    assert bad["distance_to_listed_city_km"].iloc[0] == pytest.approx(48.9, abs=0.5)


def test_a_basin_in_several_pieces_is_one_basin():
    pieces = gpd.GeoDataFrame({"name": ["A", "A", "B"]}, geometry=[
        shapely.box(112.0, 28.0, 112.5, 29.0), shapely.box(112.5, 28.0, 113.0, 29.0), shapely.box(113.0, 28.0, 114.0, 29.0)],
        crs="EPSG:4326")
    d = joins._distance_km(_pts([(112.2, 28.5), (112.7, 28.5), (113.5, 28.5)]), pieces, np.array(["A", "A", "A"], dtype=object))
    assert d[0] == 0.0 and d[1] == 0.0
    assert d[2] == pytest.approx(48.9, abs=0.5)  # 0.5 degree of longitude at 28.5 N
