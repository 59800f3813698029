"""Lakes: trophic-state index TLI(Σ) (E28, E29), renormalised weights, Dongting Lake as a water body."""

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from envq.sources.cnemc_water import read_cnemc_water, to_long
from envq.water.lakes import lake_assessment, lake_points, tli, tli_components, trophic_state
from envq.water.periods import period_values
from envq.water.registry import load_registry

HUNAN = Path(__file__).resolve().parents[1] / "data" / "water" / "hunan_water_auto_20260709_20260823.csv.gz"


@functools.cache
def august():
    return period_values(to_long(read_cnemc_water(HUNAN)), "2026-08")


def test_e28_tli_48_02_mesotrophic():
    # chla 10 mg/m3, TP 0.05, TN 1.0, SD 1.0 m, CODMn 4.0
    c = tli_components(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0)
    expected = {"chla": 50.006, "tp": 45.709, "tn": 54.530, "sd": 51.180, "codmn": 37.979}
    for k, v in expected.items():
        assert float(c[k]) == pytest.approx(v, abs=5e-4)
    r = tli(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0).iloc[0]
    assert round(r["tli"], 2) == 48.02 and r["state"] == "中营养"
    assert r["n_params"] == 5 and not r["renormalised"]


def test_e29_tli_64_80_middle_eutrophic():
    # chla 40, TP 0.15, TN 2.5, SD 0.4, CODMn 8.0 -> 65.061, 63.551, 70.052, 68.956, 56.424
    c = tli_components(chla=40, tp=0.15, tn=2.5, sd=0.4, codmn=8.0)
    for k, v in {"chla": 65.061, "tp": 63.551, "tn": 70.052, "sd": 68.956, "codmn": 56.424}.items():
        assert float(c[k]) == pytest.approx(v, abs=5e-4)
    r = tli(chla=40, tp=0.15, tn=2.5, sd=0.4, codmn=8.0).iloc[0]
    assert round(r["tli"], 2) == 64.80 and r["state"] == "中度富营养"


def test_weights_from_the_table_give_the_same_e28():
    c = tli_components(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0)
    w = {"chla": 0.2663, "tp": 0.1879, "tn": 0.1790, "sd": 0.1834, "codmn": 0.1834}
    assert round(sum(w[k] * float(c[k]) for k in w), 2) == 48.02


def test_missing_sd_renormalises_and_flags():
    # without SD: weights r²/Σr² over chla, TP, TN, CODMn (Σ r² = 1 + .7056 + .6724 + .6889 = 3.0669)
    r = tli(chla=10, tp=0.05, tn=1.0, codmn=4.0).iloc[0]
    c = tli_components(chla=10, tp=0.05, tn=1.0, codmn=4.0)
    expected = (1 * c["chla"] + 0.7056 * c["tp"] + 0.6724 * c["tn"] + 0.6889 * c["codmn"]) / 3.0669
    assert r["tli"] == pytest.approx(float(expected)) and r["renormalised"] and r["params"] == "chla;tp;tn;codmn"
    strict = tli(chla=10, tp=0.05, tn=1.0, codmn=4.0, renormalise=False).iloc[0]
    assert np.isnan(strict["tli"])


def test_vectorised_and_missing_values():
    r = tli(chla=[10, np.nan], tp=[0.05, 0.05], tn=[1.0, 1.0], sd=[1.0, np.nan], codmn=[4.0, 4.0])
    assert r["n_params"].tolist() == [5, 3] and r["renormalised"].tolist() == [False, True]
    assert np.isnan(tli(tp=[np.nan])["tli"].iloc[0])


@pytest.mark.parametrize(("value", "state"), [
    (29.99, "贫营养"), (30, "中营养"), (50, "中营养"), (50.001, "轻度富营养"), (60, "轻度富营养"),
    (60.5, "中度富营养"), (70, "中度富营养"), (70.01, "重度富营养"),
])
def test_trophic_state_bounds_follow_cnemc(value, state):
    assert trophic_state([value]).tolist() == [state]


def test_dongting_lake_points_from_the_registry():
    assert lake_points(load_registry()) == sorted(["南嘴", "岳阳楼", "小河嘴", "蒋家嘴"])


def test_dongting_lake_wide_class_from_averaged_indicators():
    res = lake_assessment(august())
    points, lake = res[res["scope"] == "point"], res[res["scope"] == "lake"].iloc[0]
    assert len(points) == 4
    # lake-wide TP is the mean of the point means, classed with the lake column
    assert lake["tp"] == pytest.approx(round(points["tp"].mean(), 3), abs=1e-12)
    assert lake["class"] >= 1 and lake["status"] != ""
    assert pd.notna(lake["tn_class"])  # TN reported separately, not in the class
    # no SD in automatic data: TLI uses chla, TP, TN, CODMn and says so
    assert lake["tli_params"] == "chla;tp;tn;codmn" and "missing sd" in lake["tli_flag"]
    assert 20 < lake["tli"] < 70
    # chla magnitudes are plausible mg/m3 (converted from the CSV's mg/L)
    assert points["chla"].between(0.5, 100).all()


def test_lake_assessment_needs_data():
    with pytest.raises(ValueError, match="no period values"):
        lake_assessment(august(), lake="不存在湖")
