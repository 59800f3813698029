"""The exact-arithmetic claims where a peer library slips (issue 17), as properties of envq.

- IAQI = IAQI_Lo + (IAQI_Hi - IAQI_Lo)/(BP_Hi - BP_Lo) * (C - BP_Lo), rounded *up* (HJ 633-2012
  §6.2, HJ 633-2026 §4.2.6). Evaluated in binary floating point, the ceiling of a value that is
  exactly an integer can land one above it: CO 2.2 mg/m3 (24-hour) is exactly 55, a float gives
  55.000000000000004 -> 56. Over the CO columns in 0.1 mg/m3 steps that happens 23 times; aqi-hub
  (v0.2.1 and 0.3.3, the CO columns are the same in both editions) gives all 23 one too high.
- Concentrations are rounded per GB/T 8170 (half to even; µg/m3 to integers, CO to 0.1 mg/m3)
  before the lookup (HJ 633-2026 §4.2.2-4.2.3; the 2012 practice, reference/standards.md §1.3):
  PM2.5 150.4 is 150 -> IAQI 200 (中度污染), not 200.4 -> 201 (重度污染) as aqi-hub gives.
"""

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from envq import standards
from envq.air.aqi import aqi_edition, compute_aqi, daily_aqi, hourly_aqi, iaqi

EDITIONS = ("hj633_2012", "hj633_2026")


def exact_iaqi(c: Fraction, table: str, edition: str) -> int:
    """The standard's formula in rationals, on an already rounded concentration below the top."""
    doc = standards.load(edition)
    bps = [Fraction(v).limit_denominator(10) for v in doc["breakpoints"][table]["values"] if v is not None]
    levels = doc["iaqi_levels"]
    k = next(i for i in range(1, len(bps)) if c <= bps[i]) if c > 0 else 1
    return levels[k - 1] + math.ceil(Fraction(levels[k] - levels[k - 1]) * (c - bps[k - 1]) / (bps[k] - bps[k - 1]))


def float_iaqi(c: float, table: str, edition: str) -> int:
    """The same formula evaluated in binary floating point, then ceiled: the trap."""
    doc = standards.load(edition)
    bps = [v for v in doc["breakpoints"][table]["values"] if v is not None]
    levels = doc["iaqi_levels"]
    k = next(i for i in range(1, len(bps)) if c <= bps[i]) if c > 0 else 1
    return math.ceil((levels[k] - levels[k - 1]) / (bps[k] - bps[k - 1]) * (c - bps[k - 1]) + levels[k - 1])


# The 23 CO values in 0.1 mg/m3 steps where the float ceiling is one above the exact IAQI.
CO_OFF_BY_ONE = [("co_24h", 2.2, 55)] + [("co_1h", c, i) for c, i in (
    (65.4, 218), (66.9, 223), (68.4, 228), (69.9, 233), (71.4, 238), (72.9, 243), (74.4, 248),
    (75.9, 253), (129.3, 431), (130.8, 436), (132.3, 441), (133.8, 446), (135.3, 451), (136.8, 456),
    (138.3, 461), (139.8, 466), (141.3, 471), (142.8, 476), (144.3, 481), (145.8, 486), (147.3, 491),
    (148.8, 496))]


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize(("table", "c", "exact"), CO_OFF_BY_ONE)
def test_co_values_a_float_ceiling_gets_wrong(table, c, exact, edition):
    # CO 1-hour 65.4: 200 + 100/30 * 5.4 = 218 exactly; the float product is 218.00000000000003.
    assert exact_iaqi(Fraction(c).limit_denominator(10), table, edition) == exact
    assert float_iaqi(c, table, edition) == exact + 1
    assert iaqi([c], table, edition=edition)[0] == exact


def test_the_23_are_all_the_co_values_in_0_1_steps_a_float_ceiling_gets_wrong():
    for edition in EDITIONS:
        found = []
        for table in ("co_24h", "co_1h"):
            top = aqi_edition(edition).tables[table].bp[-1]  # in 0.1 mg/m3
            for k in range(top + 1):
                if float_iaqi(k / 10, table, edition) != exact_iaqi(Fraction(k, 10), table, edition):
                    found.append((table, k / 10))
        assert found == [(t, c) for t, c, _ in CO_OFF_BY_ONE], edition


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("table", ["co_24h", "co_1h"])
def test_every_co_value_in_0_1_steps_gives_the_exact_iaqi(table, edition):
    top = aqi_edition(edition).tables[table].bp[-1]
    k = np.arange(top + 1)
    want = [exact_iaqi(Fraction(int(i), 10), table, edition) for i in k]
    assert iaqi(k / 10, table, edition=edition).tolist() == want


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EDITIONS), st.sampled_from(["hourly", "daily"]), st.integers(0, 1500))
def test_co_alone_gives_the_exact_aqi_through_the_report(edition, report, k):
    # CO 1-hour (hourly report) or 24-hour (daily report), 0.1 mg/m3 steps, as a user passes them.
    name, table = ("co", "co_1h") if report == "hourly" else ("co_24h", "co_24h")
    t = aqi_edition(edition).tables[table]
    res = compute_aqi({name: np.array([k / 10])}, edition=edition, report=report, missing_rule="available_pollutants")
    want = exact_iaqi(Fraction(k, 10), table, edition) if k <= t.bp[-1] else 500
    assert res["aqi_computed"][0] == max(want, aqi_edition(edition).aqi_min)


def test_co_2_2_is_55_and_pm25_150_4_is_200_through_the_daily_report():
    # A new user's day: CO 2.2 mg/m3 (exact 55; a float ceiling gives 56) and, on another day,
    # PM2.5 150.4 (rounded to 150 -> 200, 中度污染; unrounded 200.4 -> 201, 重度污染).
    days = pd.to_datetime(["2025-06-01", "2025-06-02", "2026-06-01", "2026-06-02"])
    base = dict(so2_24h=5, no2_24h=10, pm10_24h=20, co_24h=0.5, pm25_24h=10, o3_1h_max=50, o3_mda8=40)
    data = {k: (("station", "date"), np.full((1, 4), v, float)) for k, v in base.items()}
    ds = xr.Dataset(data, coords={"station": ["X"], "date": days})
    ds["co_24h"][0, [0, 2]] = 2.2
    ds["pm25_24h"][0, [1, 3]] = 150.4
    res = daily_aqi(ds)
    assert res["aqi"].values[0].tolist() == [55, 200, 55, 200]
    assert res["category"].values[0].tolist() == ["良", "中度污染", "良", "中度污染"]
    assert res["primary_pollutant"].values[0].tolist() == ["一氧化碳", "细颗粒物(PM2.5)"] * 2


def test_pm25_150_4_is_200_in_the_hourly_report():
    ds = xr.Dataset({"pm25": (("station", "time"), [[150.4]])},
                    coords={"station": ["X"], "time": pd.to_datetime(["2025-06-01T10:00"])})
    assert hourly_aqi(ds)["aqi"].values[0, 0] == 200


def _terms():
    """(edition, table, report, input) for every breakpoint column a report reads."""
    out = {}
    for ed in EDITIONS:
        for report in ("hourly", "daily"):
            for t in aqi_edition(ed).report(report)[1]:
                out.setdefault((ed, t.table), (report, t.input))
    return sorted((ed, table, report, inp) for (ed, table), (report, inp) in out.items())


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_terms()), st.data())
def test_a_value_that_rounds_to_a_breakpoint_gets_its_level_exactly(term, data):
    # GB/T 8170 first: breakpoint b plus less than half a unit rounds to b, whose IAQI is the level
    # itself, never level + 1. A half exactly goes to the even neighbour.
    edition, table, report, inp = term
    t = aqi_edition(edition).tables[table]
    k = data.draw(st.integers(0, len(t.bp) - 1), label="breakpoint")
    unit = 10.0 ** -t.decimals
    frac = data.draw(st.floats(0, 0.499, allow_nan=False), label="fraction of a unit")
    c = t.bp[k] * unit + frac * unit
    res = compute_aqi({inp: np.array([c])}, edition=edition, report=report, missing_rule="available_pollutants")
    term_name = next(x.term for x in aqi_edition(edition).report(report)[1] if x.input == inp)
    assert res["iaqi"][term_name][0] == t.levels[k]
    half = t.bp[k] * unit + 0.5 * unit
    even = t.bp[k] if t.bp[k] % 2 == 0 else t.bp[k] + 1
    want = iaqi([even * unit], table, edition=edition, rounded=True)[0]
    got = compute_aqi({inp: np.array([half])}, edition=edition, report=report,
                      missing_rule="available_pollutants")["iaqi"][term_name][0]
    assert got == want or (np.isnan(got) and np.isnan(want))
