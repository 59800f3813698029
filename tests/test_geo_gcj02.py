"""GCJ-02 <-> WGS-84 (geo.gcj02): published control points, round trip, Hunan offsets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.gcj02 import gcj02_to_wgs84, in_china, wgs84_to_gcj02

# Published forward results of the formula (WGS-84 -> GCJ-02), from two independent public
# implementations' own tests: wandergis/coordtransform test/app.js (Beijing) and
# cuihw/collection PositionUtilTest.java (Zhengzhou).
CONTROL = [
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ((113.647881, 34.829793), (113.65396374215176, 34.8287280094783)),
]


def _metres(lon1, lat1, lon2, lat2):
    """Great-circle distance on a 6371 km sphere (enough for sub-metre checks)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371000.0 * np.arcsin(np.sqrt(a))


@pytest.mark.parametrize("wgs,gcj", CONTROL)
def test_forward_matches_published_control_points(wgs, gcj):
    lon, lat = wgs84_to_gcj02(*wgs)
    assert float(lon) == pytest.approx(gcj[0], abs=1e-11)
    assert float(lat) == pytest.approx(gcj[1], abs=1e-11)


@pytest.mark.parametrize("wgs,gcj", CONTROL)
def test_inverse_recovers_control_points_under_1_m(wgs, gcj):
    lon, lat = gcj02_to_wgs84(*gcj)
    assert _metres(lon, lat, *wgs) < 0.01  # 1 cm; the single-step inverse is off by ~1 m


def test_round_trip_over_hunan_grid_under_1_m():
    lon, lat = np.meshgrid(np.linspace(108.7, 114.3, 57), np.linspace(24.6, 30.2, 57))
    glon, glat = wgs84_to_gcj02(lon.ravel(), lat.ravel())
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    err = _metres(wlon, wlat, lon.ravel(), lat.ravel())
    assert err.max() < 1.0
    assert err.max() < 1e-3  # in fact sub-millimetre


def test_offset_in_hunan_is_about_600_m_north_west_of_gcj():
    # Changsha (湘江 at 橘子洲) and the other corners of the province: GCJ-02 lies east and south
    # of WGS-84 here, by 0.5-0.7 km (data MANIFEST: "about 0.6 km").
    for lon, lat in [(112.96, 28.19), (109.74, 28.31), (113.02, 25.79), (111.61, 26.42)]:
        glon, glat = wgs84_to_gcj02(lon, lat)
        assert glon > lon and glat < lat
        d = _metres(lon, lat, glon, glat)
        assert 450 < d < 750, (lon, lat, d)


def test_outside_china_is_not_shifted():
    lon, lat = wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])
    np.testing.assert_array_equal(lon, [2.35, -74.0])
    np.testing.assert_array_equal(lat, [48.85, 40.7])
    assert in_china(112.9, 28.2) and not in_china(2.35, 48.85)


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_round_trip_property(lon, lat):
    g = wgs84_to_gcj02(lon, lat)
    w = gcj02_to_wgs84(*g)
    assert _metres(w[0], w[1], lon, lat) < 1.0
