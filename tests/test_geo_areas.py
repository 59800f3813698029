"""Rates for any polygon layer (geo.areas) and the geo command line, on the bundled real data."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from envq.air.pipeline import city_days_from_hourly, read_air
from envq.air.rates import good_day_rates
from envq.errors import NoDataError
from envq.cli import main
from envq.water.cli import load_inputs
from envq.water.groups import evaluate
from envq.water.registry import load_registry
from geo import areas, pack

WATER = "water/hunan_water_auto_20260709_20260823.csv.gz"


@pytest.fixture(scope="module")
def hourly(data_dir):
    return read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz")


@pytest.fixture(scope="module")
def long(data_dir):
    return load_inputs([data_dir / WATER])[0]


def test_air_by_city_polygons_equals_the_city_engine(hourly):
    by_area = areas.air_rates_by_area(hourly, "cities", "2019").set_index("name")
    days, _, _ = city_days_from_hourly(hourly)
    by_city = good_day_rates(days, "2019").set_index("name")
    assert len(by_area) == 14
    cols = ["valid_days", "good_days", "good_day_ratio", "days_优", "days_良"]
    pd.testing.assert_frame_equal(by_area.loc[by_city.index, cols], by_city[cols])
    assert by_area.loc["长沙市", "good_day_ratio"] == 76.1
    assert by_area.loc["长沙市", "stations"] == 9  # 10 listed, 1 background (对照点)


def test_air_by_basin(hourly):
    r = areas.air_rates_by_area(hourly, "basins", "2019").set_index("name")
    assert r.attrs["areas_without_stations"] == ["珠江"]
    assert r["stations"].to_dict() == {"沅江": 10, "洞庭湖区": 5, "湘江": 39, "澧水": 3, "资水": 8}
    assert r.loc["湘江", "good_days"] == 286 and r.loc["湘江", "valid_days"] == 347
    assert r.loc["湘江", "good_day_ratio"] == pytest.approx(round(100 * 286 / 347, 1))


def test_air_by_a_users_polygon_file(hourly, tmp_path):
    # one hand-drawn box round Changsha's urban stations, in another CRS: converted, then joined
    box = gpd.GeoDataFrame({"区域": ["长沙城区"]}, geometry=[shapely.box(112.85, 28.1, 113.1, 28.3)], crs=4326)
    box.to_crs(3857).to_file(tmp_path / "box.geojson", driver="GeoJSON")
    r = areas.air_rates_by_area(hourly, str(tmp_path / "box.geojson"), "2019-01", field="区域")
    assert list(r["name"]) == ["长沙城区"]
    assert r["stations"].iloc[0] == 9  # the 9 assessment stations of Changsha (马坡岭 ... 湖南师范大学)
    days, _, _ = city_days_from_hourly(hourly)
    changsha = good_day_rates(days, "2019-01").set_index("name").loc["长沙市"]
    assert r["good_day_ratio"].iloc[0] == changsha["good_day_ratio"]
    assert r["valid_days"].iloc[0] == changsha["valid_days"] == 31


def test_water_by_basin_matches_system_groups_for_placed_sections(long):
    rates = areas.water_rates_by_area(long, "basins", "2026-07")  # a table, as air_rates_by_area
    r = rates.set_index("name")
    assert (rates["group"] == "area").all()
    assert r.loc["湘江", "sections"] == 20 and r.loc["湘江", "i_iii_share"] == pytest.approx(95.0)
    assert r.loc["洞庭湖区", "sections"] == 9 and r.loc["洞庭湖区", "class_4"] == 2
    # the same sections grouped by hand give the same figures through the engine
    placed = areas.section_areas(load_registry(), pack.layer("basins"))
    xiang = sorted(placed.index[placed == "湘江"])
    hand = evaluate(long, "2026-07", by="custom", custom={"x": xiang}).rates.iloc[0]
    assert hand["sections"] == 20 and hand["class_4"] == r.loc["湘江", "class_4"]
    assert "绿埠头" in rates.attrs["sections_without_area"]  # its point lies 3 km inside Guangxi
    # several periods in one call, the same shape as air; basins judged against their target
    both = areas.water_rates_by_area(long, "basins", ["2026-07", "2026-08", "2025-01"], scope="basin", skip_empty=True)
    assert both["period"].unique().tolist() == ["2026-07", "2026-08"] and (both["group"] == "basin").all()
    assert (both["i_iii_target"] == 95.0).all() and both.set_index(["period", "name"]).loc[("2026-07", "湘江"),
                                                                                         "target_met"]
    with pytest.raises(NoDataError, match="2025-01"):
        areas.water_rates_by_area(long, "basins", "2025-01")


def test_cli_join_stations_and_sections(tmp_path, capsys):
    assert main(["geo", "join-stations", "--output", str(tmp_path / "s.csv")]) == 0
    s = pd.read_csv(tmp_path / "s.csv", dtype=str)
    assert list(s.columns) == ["stationcode", "listed_city", "joined_city", "joined_county"]
    assert len(s) == 82 and (s["listed_city"] == s["joined_city"]).all()
    assert "82 of 82 stations" in capsys.readouterr().err
    assert main(["geo", "join-sections", "--output", str(tmp_path / "w.csv")]) == 0
    w = pd.read_csv(tmp_path / "w.csv", dtype={"distance_km": float})
    assert list(w.columns) == ["section", "system", "joined_basin", "joined_city", "joined_county", "distance_km"]
    assert len(w) == 61
    row = w.set_index("section").loc["坡头"]
    assert row["joined_basin"] == "洞庭湖区" and row["distance_km"] == pytest.approx(20.3, abs=0.2)
    err = capsys.readouterr().err
    assert "塘渡口" in err and "explained 1" in err


def test_cli_rates_by_county(data_dir, tmp_path):
    out = tmp_path / "r.csv"
    assert main(["geo", "rates", "--layer", "counties", "--period", "2026-08", "--water", str(data_dir / WATER),
                 "--output", str(out)]) == 0
    r = pd.read_csv(out)
    assert set(r["kind"]) == {"water"}
    assert r.set_index("name").loc["开福区", "sections"] == 2  # 三角洲 and 捞刀河口
    assert main(["geo", "rates", "--layer", "counties", "--period", "2026-08"]) == 2


def test_cli_layers(tmp_path):
    assert main(["geo", "layers", "--output", str(tmp_path / "l.csv")]) == 0
    t = pd.read_csv(tmp_path / "l.csv").set_index("layer")
    assert t.loc["counties", "features"] == 122 and (t["crs"] == "EPSG:4326").all()
