"""HJ 633 IAQI/AQI against the worked examples of reference/standards.md §8 (E1-E11) and laws.

Each expected value is derived in the comment beside it from the standard's Table 1/Table 3.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from envq.air.aqi import aqi_edition, compute_aqi, iaqi

E12, E26 = "hj633_2012", "hj633_2026"


def daily(edition=E12, **conc):
    """Daily AQI of one day from keyword concentrations (missing ones NaN)."""
    res = compute_aqi({k: np.array([v], float) for k, v in conc.items()}, edition=edition, report="daily")
    return {
        "aqi": res["aqi"][0],
        "level": int(res["level"][0]),
        "primary": res["primary_labels"][res["primary_mask"][0]],
        "over": res["primary_labels"][res["over_mask"][0]],
        "publication": int(res["publication"][0]),
    }


def hourly(edition=E12, variant=None, **conc):
    res = compute_aqi({k: np.array([v], float) for k, v in conc.items()}, edition=edition,
                      report="hourly", variant=variant)
    return {"aqi": res["aqi"][0], "primary": res["primary_labels"][res["primary_mask"][0]],
            "iaqi": {k: v[0] for k, v in res["iaqi"].items()}, "publication": int(res["publication"][0])}


CLEAN_DAY = dict(so2_24h=5, no2_24h=10, pm10_24h=20, co_24h=0.5, pm25_24h=10, o3_1h_max=50, o3_mda8=40)


def test_e1_breakpoints_exact_and_over_standard():
    # PM2.5 115 -> IAQI 150 exactly; O3-8h 160 -> IAQI 100 exactly; AQI 150 -> 轻度污染.
    d = daily(**{**CLEAN_DAY, "pm25_24h": 115, "o3_mda8": 160})
    assert d["aqi"] == 150 and d["level"] == 3
    assert d["primary"] == "细颗粒物(PM2.5)"
    assert d["over"] == "细颗粒物(PM2.5)"  # O3 at IAQI exactly 100 is not over-standard
    d26 = daily(E26, **{**CLEAN_DAY, "pm25_24h": 115, "o3_mda8": 160})
    assert d26["aqi"] == 150 and d26["over"] == ""  # no over-standard concept in 2026


def test_e2_pm25_80():
    # 2012: 100 + 50/40*(80-75) = 106.25 -> 107; 2026: 100 + 50/55*(80-60) = 118.18 -> 119
    assert iaqi([80], "pm25_24h", edition=E12)[0] == 107
    assert iaqi([80], "pm25_24h", edition=E26)[0] == 119


def test_e3_no_primary_pollutant_at_50():
    d = daily(**{**CLEAN_DAY, "pm25_24h": 35})
    assert d["aqi"] == 50 and d["level"] == 1 and d["primary"] == ""


def test_e4_pm25_36():
    # 2012: 50 + 50/40*1 = 51.25 -> 52; 2026: 50 + 50/25*1 = 52
    assert daily(**{**CLEAN_DAY, "pm25_24h": 36})["aqi"] == 52
    assert daily(E26, **{**CLEAN_DAY, "pm25_24h": 36})["aqi"] == 52
    assert daily(**{**CLEAN_DAY, "pm25_24h": 36})["primary"] == "细颗粒物(PM2.5)"


def test_e5_tie_lists_both_in_cnemc_order():
    d = daily(**{**CLEAN_DAY, "pm10_24h": 150, "pm25_24h": 75})
    assert d["aqi"] == 100 and d["level"] == 2
    assert d["primary"] == "颗粒物(PM10),细颗粒物(PM2.5)"
    assert d["over"] == ""
    # 2026: PM10 100 + 50/130*30 = 111.54 -> 112; PM2.5 100 + 50/55*15 = 113.64 -> 114
    d26 = daily(E26, **{**CLEAN_DAY, "pm10_24h": 150, "pm25_24h": 75})
    assert d26["aqi"] == 114 and d26["primary"] == "细颗粒物(PM2.5)"


def test_e6_ceiling_not_rounding():
    assert iaqi([51], "pm10_24h")[0] == 51  # 50 + 50/100*1 = 50.5 -> 51


def test_e7_concentration_rounded_before_lookup():
    # 150.4 -> 150 (GB/T 8170) -> IAQI 200 (中度污染), not 200.4 -> 201 (重度污染)
    d = daily(**{**CLEAN_DAY, "pm25_24h": 150.4})
    assert d["aqi"] == 200 and d["level"] == 4
    # 150.5 -> 150 (half to even), 151.5 -> 152
    assert iaqi([150.5, 151.5], "pm25_24h").tolist() == [200.0, 202.0]


def test_e8_so2_hourly_above_800():
    # 2012: SO2 1h 900 > 800 -> IAQI from the 24h moving 300: 100 + 50/325*150 = 123.08 -> 124
    h = hourly(pm25=10, pm10=20, so2=900, no2=10, co=0.5, o3=50, so2_24h_moving=300)
    assert h["aqi"] == 124 and h["primary"] == "二氧化硫"
    # 2026: SO2 1h > 800 -> IAQI 200
    h26 = hourly(E26, pm25=10, pm10=20, so2=900, no2=10, co=0.5, o3=50)
    assert h26["aqi"] == 200 and h26["primary"] == "二氧化硫"
    # Exactly 800 is inside the 1h column: IAQI 200 in both editions
    assert hourly(pm25=10, pm10=20, so2=800, no2=10, co=0.5, o3=50)["aqi"] == 200


def test_e9_o3_8h_above_800():
    # 2012 daily: O3-8h 850 > 800 -> O3 from the 1h max 900: 300 + 100/200*100 = 350 (严重污染)
    d = daily(**{**CLEAN_DAY, "o3_mda8": 850, "o3_1h_max": 900})
    assert d["aqi"] == 350 and d["level"] == 6 and d["primary"] == "臭氧1小时"
    # 2026 daily: no O3-1h term; O3-8h > 800 -> IAQI 300 (重度污染)
    d26 = daily(E26, **{**CLEAN_DAY, "o3_mda8": 850, "o3_1h_max": 900})
    assert d26["aqi"] == 300 and d26["level"] == 5 and d26["primary"] == "臭氧8小时"


def test_e10_co_daily_5():
    assert iaqi([5.0], "co_24h")[0] == 105  # 100 + 50/10*1


def test_e11_no2_hourly_250():
    assert iaqi([250], "no2_1h")[0] == 105  # 100 + 50/500*50


def test_co_rounds_to_one_decimal_half_even():
    # CO 4.05 -> 4.0 (5 after an even digit) -> IAQI 100; 4.15 -> 4.2 -> 100 + 50/10*0.2 = 101
    assert iaqi([4.05, 4.15, 4.25], "co_24h").tolist() == [100.0, 101.0, 101.0]


def test_every_breakpoint_maps_exactly_to_its_level():
    # No floating-point drift: each breakpoint C gives its IAQI level exactly, never level + 1.
    for ed in (E12, E26):
        for name, t in aqi_edition(ed).tables.items():
            c = t.bp / 10**t.decimals
            assert iaqi(c, name, edition=ed).tolist() == t.levels.astype(float).tolist(), (ed, name)


def test_above_top_capped_at_500_or_left_undefined():
    assert iaqi([650], "pm10_24h")[0] == 500
    assert np.isnan(iaqi([650], "pm10_24h", cap_above_top=False)[0])
    assert np.isnan(iaqi([801], "so2_1h")[0])  # the special rule decides, not the table


def test_2026_aqi_is_at_least_one():
    d = daily(E26, so2_24h=0, no2_24h=0, pm10_24h=0, co_24h=0, pm25_24h=0, o3_mda8=0)
    assert d["aqi"] == 1
    assert daily(so2_24h=0, no2_24h=0, pm10_24h=0, co_24h=0, pm25_24h=0, o3_1h_max=0, o3_mda8=0)["aqi"] == 0


def test_2026_missing_pollutant_withholds_aqi_at_or_below_100():
    # §5.3: PM10 missing; AQI from the others is 52 -> not published (NA), publication code 2
    h = hourly(E26, pm25=36, so2=5, no2=10, co=0.5, o3=50)
    assert np.isnan(h["aqi"]) and h["publication"] == 2
    # ... but published when above 100
    h = hourly(E26, pm25=80, so2=5, no2=10, co=0.5, o3=50)
    assert h["aqi"] == 119 and h["publication"] == 1
    # 2012 publishes over the pollutants present
    h = hourly(E12, pm25=36, so2=5, no2=10, co=0.5, o3=50)
    assert h["aqi"] == 52 and h["publication"] == 1


def test_2026_platform_rule_does_not_block_on_pm10():
    res = compute_aqi({"pm25": np.array([36.0]), "so2": np.array([5.0]), "no2": np.array([10.0]),
                       "co": np.array([0.5]), "o3": np.array([50.0])},
                      edition=E26, report="hourly", missing_rule="cnemc_platform")
    assert res["aqi"][0] == 52 and res["publication"][0] == 1


def test_not_in_plan_is_not_missing():
    res = compute_aqi({"pm25": np.array([36.0]), "pm10": np.array([40.0]), "no2": np.array([10.0]),
                       "co": np.array([0.5]), "o3": np.array([50.0])},
                      edition=E26, report="hourly", in_plan={"so2": np.array([False])})
    assert res["aqi"][0] == 52 and res["publication"][0] == 0


def test_2012_standard_text_hourly_uses_moving_means_and_o3_8h():
    h = hourly(variant="standard_text", pm25=200, pm10=20, so2=5, no2=10, co=0.5, o3=50,
               pm25_24h_moving=36, pm10_24h_moving=20, o3_8h_moving=170)
    # PM2.5 from the 24h moving 36 -> 52; O3-8h 170 -> 100 + 50/55*10 = 109.09 -> 110
    assert h["iaqi"]["pm25_24h"] == 52 and h["iaqi"]["o3_8h"] == 110
    assert h["aqi"] == 110 and h["primary"] == "臭氧8小时"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(aqi_edition(E12).tables)), st.sampled_from([E12, E26]),
       st.floats(0, 3000, allow_nan=False), st.floats(0, 100, allow_nan=False))
def test_iaqi_never_decreases_as_concentration_rises(table, edition, c, dc):
    a, b = iaqi([c, c + dc], table, edition=edition)
    if np.isfinite(a) and np.isfinite(b):
        assert b >= a
    assert not (np.isnan(a) and np.isfinite(b) and aqi_edition(edition).tables[table].full)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 700, allow_nan=False), min_size=6, max_size=6))
def test_aqi_is_the_maximum_iaqi_and_integer(values):
    conc = dict(zip(["pm25", "pm10", "so2", "no2", "o3", "co"], values[:5] + [values[5] / 20]))
    res = compute_aqi({k: np.array([v]) for k, v in conc.items()}, edition=E12, report="hourly")
    sub = [v[0] for v in res["iaqi"].values() if np.isfinite(v[0])]
    assert res["aqi"][0] == max(sub) and float(res["aqi"][0]).is_integer()


def _iaqi_by_the_formula(c, table, edition):
    """HJ 633 §6.2 / 4.2.6 written out in exact rationals from the standards file."""
    import math
    from decimal import ROUND_HALF_EVEN, Decimal
    from fractions import Fraction

    from envq import standards

    doc = standards.load(edition)
    dec = doc["concentration_decimals"][table.split("_")[0]]
    cr = Fraction(Decimal(repr(c)).quantize(Decimal(1).scaleb(-dec), rounding=ROUND_HALF_EVEN))
    bps = [v for v in doc["breakpoints"][table]["values"] if v is not None]
    levels = doc["iaqi_levels"]
    if cr > bps[-1]:
        return 500 if len(bps) == len(levels) else None
    for k in range(1, len(bps)):
        if cr <= bps[k]:
            lo, hi = Fraction(bps[k - 1]), Fraction(bps[k])
            return levels[k - 1] + math.ceil((levels[k] - levels[k - 1]) * (cr - lo) / (hi - lo))
    return 0


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(aqi_edition(E12).tables)), st.sampled_from([E12, E26]),
       st.decimals(0, 4000, places=2, allow_nan=False))
def test_iaqi_equals_the_formula_in_exact_rationals(table, edition, c):
    expected = _iaqi_by_the_formula(float(c), table, edition)
    got = iaqi([float(c)], table, edition=edition)[0]
    assert (np.isnan(got) and expected is None) or got == expected
