"""Period values: readings -> daily -> monthly -> quarterly/annual means (2011 method, 2020 rule, E30)."""

import numpy as np
import pandas as pd
import pytest

from envq.periods import parse_period
from envq.water.periods import daily_values, period_values, round_assessment


def readings(rows, source_kind="automatic"):
    """rows: (section, time, item, value[, below_detection])"""
    df = pd.DataFrame([r if len(r) == 5 else (*r, False) for r in rows],
                      columns=["section", "time", "item", "value", "below_detection"])
    df["time"] = pd.to_datetime(df["time"])
    df["source_kind"] = source_kind
    return df


def test_e30_ph_mean_through_hydrogen_ions():
    # (1e-6 + 1e-8) / 2 = 5.05e-7 -> pH 6.2967 ("6.30"); arithmetic mean 7.0
    t = readings([("a", "2026-07-01 04:00", "ph", 6.0), ("a", "2026-07-01 08:00", "ph", 8.0)])
    h = period_values(t, "2026-07-01", ph_mean="hydrogen")
    assert h["value_raw"].iloc[0] == pytest.approx(-np.log10(5.05e-7))
    assert round(h["value_raw"].iloc[0], 2) == 6.30
    assert h["value"].iloc[0] == 6.0  # 2020 assessment decimals for pH: 0
    a = period_values(t, "2026-07-01")
    assert a["value_raw"].iloc[0] == 7.0


@pytest.mark.parametrize(("text", "kind", "start", "end"), [
    ("2026-07-15", "day", "2026-07-15", "2026-07-16"),
    ("2026-07", "month", "2026-07-01", "2026-08-01"),
    ("2026-Q3", "quarter", "2026-07-01", "2026-10-01"),
    ("2026-q4", "quarter", "2026-10-01", "2027-01-01"),
    ("2026", "year", "2026-01-01", "2027-01-01"),
    ("2026-07-01..2026-07-31", "range", "2026-07-01", "2026-08-01"),
])
def test_parse_period(text, kind, start, end):
    p = parse_period(text)  # one Period (envq.periods): half-open Timestamp bounds for readings
    assert (p.kind, *p.bounds()) == (kind, pd.Timestamp(start), pd.Timestamp(end))


def test_previous_periods():
    assert parse_period("2026-01").previous().label == "2025-12"
    assert parse_period("2026-Q1").previous().label == "2025-Q4"
    assert parse_period("2026").previous().label == "2025"
    assert parse_period("2026-08-01..2026-08-10").previous().label == "2026-07-22..2026-07-31"
    assert parse_period("2026-Q3").same_period_last_year().label == "2025-Q3"


@pytest.mark.parametrize("bad", ["2026-13", "2026/07", "July", "2026-07-31..2026-07-01", "2026-02-30"])
def test_bad_period_is_explained(bad):
    with pytest.raises(ValueError, match="period"):
        parse_period(bad)


def test_month_is_mean_of_daily_means_not_of_readings():
    # day 1: three readings 1, 1, 1 (mean 1); day 2: one reading 4 -> month 2.5 (readings' mean 1.75)
    t = readings([("a", "2026-07-01 00:00", "codmn", 1.0), ("a", "2026-07-01 04:00", "codmn", 1.0),
                  ("a", "2026-07-01 08:00", "codmn", 1.0), ("a", "2026-07-02 00:00", "codmn", 4.0)])
    m = period_values(t, "2026-07").iloc[0]
    assert m["value"] == 2.5 and m["n_readings"] == 4 and m["n_days"] == 2 and m["source_kind"] == "automatic"


def test_quarter_is_mean_of_monthly_values():
    # July: 30 daily values of 1.0; August: one day of 4.0 -> quarter (1 + 4) / 2 = 2.5 (not 31-day mean 1.1)
    rows = [("a", f"2026-07-{d:02d} 00:00", "codmn", 1.0) for d in range(1, 31)]
    rows.append(("a", "2026-08-05 00:00", "codmn", 4.0))
    q = period_values(readings(rows), "2026-Q3").iloc[0]
    assert q["value"] == 2.5 and q["n_months"] == 2 and q["n_days"] == 31 and q["n_readings"] == 31
    y = period_values(readings(rows), "2026").iloc[0]
    assert y["value"] == 2.5


def test_half_year_and_year_to_date_are_means_of_monthly_values():
    # July: 30 days of 1.0; August: one day of 4.0 -> H2 and YTD (1 + 4) / 2 = 2.5, as the quarter
    rows = [("a", f"2026-07-{d:02d} 00:00", "codmn", 1.0) for d in range(1, 31)]
    rows.append(("a", "2026-08-05 00:00", "codmn", 4.0))
    for text in ("2026-H2", "2026-YTD"):
        v = period_values(readings(rows), text).iloc[0]
        assert (v["value"], v["n_months"], v["n_days"], v["period"]) == (2.5, 2, 31, text)
    # a range of the same days is the mean of the 31 daily values
    assert period_values(readings(rows), "2026-07-01..2026-08-31")["value"].iloc[0] == pytest.approx(1.1)


def test_class_of_period_uses_means_not_worst_reading():
    # NH3-N 0.4, 0.6, 1.3 (IV!), 0.9 on four days -> mean 0.8 -> III
    rows = [("a", f"2026-07-0{d} 00:00", "nh3n", v) for d, v in zip(range(1, 5), [0.4, 0.6, 1.3, 0.9])]
    assert period_values(readings(rows), "2026-07")["value"].iloc[0] == 0.8


def test_nondetects_count_half_their_limit_and_all_nondetect_stays_nondetect():
    t = readings([("a", "2026-07-01 00:00", "cd", 0.002, True), ("a", "2026-07-02 00:00", "cd", 0.003, False),
                  ("b", "2026-07-01 00:00", "cd", 0.002, True), ("b", "2026-07-02 00:00", "cd", 0.001, True)])
    v = period_values(t, "2026-07").set_index("section")
    assert v.loc["a", "value_raw"] == pytest.approx((0.001 + 0.003) / 2) and not v.loc["a", "below_detection"]
    assert v.loc["b", "value"] == 0.002 and v.loc["b", "below_detection"]  # the largest limit
    assert v.loc["a", "n_nondetect"] == 1 and v.loc["b", "n_nondetect"] == 2
    other = period_values(t, "2026-07", nondetect_fraction=0.0).set_index("section")
    assert other.loc["a", "value_raw"] == pytest.approx(0.0015)


def test_values_are_rounded_to_assessment_decimals_gbt8170():
    # TP 0.0425 -> 0.042 (half to even); NH3-N 0.125 -> 0.12
    t = readings([("a", "2026-07-01", "tp", 0.0425), ("a", "2026-07-01", "nh3n", 0.125)])
    v = period_values(t, "2026-07").set_index("item")["value"]
    assert v["tp"] == 0.042 and v["nh3n"] == 0.12
    assert round_assessment("codmn", [2.25, 2.35]).tolist() == [2.2, 2.4]
    raw = period_values(t, "2026-07", round_values=False).set_index("item")["value"]
    assert raw["tp"] == 0.0425


def test_automatic_and_manual_are_never_mixed_silently():
    auto = readings([("a", "2026-07-01", "nh3n", 0.3)])
    man = readings([("a", "2026-07-10", "nh3n", 0.9), ("a", "2026-07-10", "hg", 0.00002)], source_kind="manual")
    both = pd.concat([auto, man])
    with pytest.raises(ValueError, match="both automatic and manual"):
        period_values(both, "2026-07")
    v = period_values(both, "2026-07", source="prefer_automatic").set_index("item")
    assert v.loc["nh3n", "value"] == 0.3 and v.loc["nh3n", "source_kind"] == "automatic"  # 2020 rule
    assert v.loc["hg", "source_kind"] == "manual"
    m = period_values(both, "2026-07", source="manual").set_index("item")
    assert m.loc["nh3n", "value"] == 0.9
    with pytest.raises(ValueError, match="source"):
        period_values(both, "2026-07", source="both")


def test_only_readings_inside_the_period():
    t = readings([("a", "2026-06-30 23:00", "tp", 0.9), ("a", "2026-07-01 00:00", "tp", 0.1),
                  ("a", "2026-08-01 00:00", "tp", 0.9)])
    assert period_values(t, "2026-07")["value"].tolist() == [0.1]


def test_daily_minimum_readings_parameter():
    t = readings([("a", "2026-07-01 00:00", "tp", 0.1), ("a", "2026-07-02 00:00", "tp", 0.2),
                  ("a", "2026-07-02 04:00", "tp", 0.2)])
    assert len(daily_values(t, min_readings=2)) == 1
    with pytest.raises(ValueError, match="ph_mean"):
        daily_values(t, ph_mean="geometric")
