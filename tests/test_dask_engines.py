"""The air engine accepts dask-backed xarray data and gives the same results as in memory."""

import pytest
import xarray as xr

from envq.air.pipeline import city_days_from_hourly, read_air
from envq.air.rates import good_day_rates

dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def two_months(data_dir):
    h = read_air(data_dir / "air/hunan_sites_2019_wide.csv.gz")
    return h.sel(time=slice("2019-01-01T01:00", "2019-03-01T00:00"))


def test_city_days_from_dask_backed_hourly_equal_in_memory(two_months):
    eager, sd_eager, scr_eager = city_days_from_hourly(two_months)
    chunked = two_months.chunk({"time": 24 * 10, "station": 41})
    assert chunked["pm25"].chunks is not None  # really dask-backed
    lazy, sd_lazy, scr_lazy = city_days_from_hourly(chunked)
    xr.testing.assert_identical(eager, lazy.compute())
    xr.testing.assert_identical(sd_eager, sd_lazy.compute())
    assert scr_eager.equals(scr_lazy)
    r = good_day_rates(lazy.compute(), "2019-01").set_index("name")
    assert r.loc["长沙市", "valid_days"] == 31
