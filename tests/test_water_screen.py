"""Plausibility screening: impossible values are removed with their reason, never silently."""

import numpy as np
import pandas as pd

from envq.water.screen import PLAUSIBLE_RANGES, screen, screen_readings


def long(rows):
    df = pd.DataFrame(rows, columns=["section", "time", "item", "value"])
    df["time"] = pd.to_datetime(df["time"])
    df["source_kind"] = "automatic"
    return df


def test_ph_15_and_negative_concentrations_are_screened_with_reasons():
    t = long([("a", "2026-07-01", "ph", 15.0), ("a", "2026-07-01", "nh3n", -0.02),
              ("a", "2026-07-01", "tp", 0.05), ("a", "2026-07-01", "do", 45.0), ("a", "2026-07-01", "ph", 14.0)])
    kept, out = screen(t)
    assert kept["item"].tolist() == ["tp", "ph"]
    assert out["reason"].tolist() == [PLAUSIBLE_RANGES["ph"][2], "a negative concentration is physically impossible",
                                      PLAUSIBLE_RANGES["do"][2]]


def test_ranges_are_parameters():
    t = long([("a", "2026-07-01", "ph", 10.5)])
    kept, out = screen(t, ranges={"ph": (4.0, 10.0, "pH outside 4-10")})
    assert len(kept) == 0 and out["reason"].iloc[0] == "pH outside 4-10"


def test_spike_rule_is_optional():
    times = pd.date_range("2026-08-03", periods=30, freq="h")
    vals = np.full(30, 0.003)
    vals[15:19] = 3.0  # the 澧水三江口 pattern: NH3-N 3.0 for four hours between values near 0.003
    t = long([("澧水三江口", tm, "nh3n", v) for tm, v in zip(times, vals)])
    kept, out = screen(t)
    assert len(out) == 0
    kept, out = screen(t, spike_factor=10)
    assert len(out) == 4 and out["reason"].str.contains("isolated spike").all()


def test_screen_readings_blanks_cells_and_keeps_rows():
    r = pd.DataFrame({"section": ["a", "b"], "time": pd.to_datetime(["2026-07-01", "2026-07-01"]),
                      "ph": [15.0, 7.0], "tp": [0.1, -1.0], "file": "f.csv", "row": [2, 3]})
    out, screened = screen_readings(r, ["ph", "tp"])
    assert len(out) == 2 and np.isnan(out.loc[0, "ph"]) and out.loc[0, "tp"] == 0.1 and np.isnan(out.loc[1, "tp"])
    assert screened[["row", "item"]].values.tolist() == [[2, "ph"], [3, "tp"]]
