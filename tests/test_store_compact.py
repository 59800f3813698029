"""The compact air cube (schema version 2): exact integers where exact, float64 otherwise.

`envq.store.air.encode_plane` / `decode_plane` must give back every float64 value bit for bit;
a value the integers cannot hold exactly keeps the whole month's pollutant in float64.
"""

import numpy as np
import pytest

from envq.store.air import DIVISORS, ENC_DIVISOR, ENC_MISSING, decode_plane, encode_plane

NAN = np.nan


def roundtrip(values):
    values = np.asarray(values, dtype=np.float64).reshape(2, -1)
    raw, attrs = encode_plane(values)
    back = decode_plane(raw, attrs)
    assert back.dtype == np.float64 and back.shape == values.shape
    same = (back.view(np.int64) == values.view(np.int64)) | (np.isnan(back) & np.isnan(values))
    assert same.all(), (values, back)
    return raw, attrs


@pytest.mark.parametrize("values, dtype, divisor", [
    ([35, 0, NAN, 1071, 2, 999], np.int16, 1),             # PM2.5 in ug/m3: integers
    ([0.7, 1.2, NAN, 0.1, 5.9, 0.0], np.int16, 10),         # CO to 0.1 mg/m3
    ([0.723, 1.2, NAN, 0.001, 5.95, 0.0], np.int16, 1000),  # CO pulled with three decimals
    ([35.5, 12, NAN, 8, 9, 10], np.int16, 10),              # a PM value with a decimal
    ([40000, 1, NAN, 2, 3, 4], np.int32, 1),                # beyond int16
    ([-32768, 1, NAN, 2, 3, 4], np.int32, 1),               # int16's minimum marks "missing"
    ([-5, 1, NAN, 2, 3, 4], np.int16, 1),                   # a negative value is kept as given
])
def test_exact_integers(values, dtype, divisor):
    raw, attrs = roundtrip(values)
    assert raw.dtype == dtype and attrs[ENC_DIVISOR] == divisor
    assert raw.reshape(-1)[2] == np.iinfo(dtype).min == attrs[ENC_MISSING]


@pytest.mark.parametrize("values", [
    [0.0001, 1, NAN, 2, 3, 4],                # four decimals: no divisor makes it an integer
    [0.1 + 0.2, 1, NAN, 2, 3, 4],             # 0.30000000000000004 is not the decimal 0.3
    [-0.0, 1, NAN, 2, 3, 4],                  # -0.0 would come back as 0.0
    [1e12, 1, NAN, 2, 3, 4],                  # exact, but beyond int32
])
def test_float64_when_not_exact(values):
    raw, attrs = roundtrip(values)
    assert raw.dtype == np.float64 and attrs == {}
    assert np.signbit(raw.reshape(-1)[0]) == np.signbit(values[0])


def test_all_missing_and_decode_into_a_slice():
    raw, attrs = roundtrip([NAN] * 6)
    assert raw.dtype == np.int16 and (raw == attrs[ENC_MISSING]).all()
    values = np.array([[1.0, NAN, 3.5], [0.25, 7.0, NAN]])
    raw, attrs = encode_plane(values)
    assert attrs[ENC_DIVISOR] == 100 and DIVISORS.index(100) == 2
    big = np.full((2, 7), -1.0)
    decode_plane(raw, attrs, out=big[:, 2:5])     # a non-contiguous place in a larger array
    np.testing.assert_array_equal(big[:, 2:5], values)
    assert (big[:, :2] == -1).all() and (big[:, 5:] == -1).all()


def test_real_hunan_year_is_compact_and_exact(data_dir):
    """The bundled 2019 Hunan file: every pollutant of every month is stored as int16, exactly
    (PM, SO2, NO2, O3 as integers, CO in tenths or finer)."""
    from envq.air.pipeline import read_air

    hourly = read_air(data_dir / "air" / "hunan_sites_2019_wide.csv.gz")
    jan = hourly.sel(time=slice("2019-01-01T01:00", "2019-02-01T00:00"))
    assert jan.sizes["time"] == 31 * 24
    months = hourly["time"].values.astype("datetime64[M]")
    for m in np.unique(months):
        part = hourly.isel(time=np.flatnonzero(months == m))
        for v in ("pm25", "pm10", "so2", "no2", "co", "o3"):
            raw, attrs = roundtrip(part[v].values)
            assert raw.dtype == np.int16, (m, v)
            assert attrs[ENC_DIVISOR] == 1 if v != "co" else attrs[ENC_DIVISOR] in (10, 100, 1000), (m, v)
