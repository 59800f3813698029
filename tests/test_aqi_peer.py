"""aqi-hub's HJ 633 test vectors, run against envq as a new user runs it (issue 17).

The vectors are data: ``tests/data/aqihub_hj633_vectors.csv`` (origin, commits, licence and the
meaning of each column in its header). Each vector goes through the public functions with their
defaults: ``hourly_aqi`` / ``daily_aqi`` on a dataset dated in the edition's period (the default
edition ``"auto"`` chooses HJ 633-2012 for 2025-06-01, HJ 633-2026 for 2026-06-01), and
``compute_aqi`` on the same arrays, which must give the same results. An IAQI vector is one
pollutant alone in the report its item belongs to (``*_1H`` hourly, ``*_24H`` and ``O3_8H``
daily); a level vector is looked up in ``category_table``.

A vector either agrees, or is listed in the table (``right``) with envq's value and the clause
that decides it. The test fails when envq disagrees with a vector that is not listed, agrees with
one that is, or gives another value than the one listed.
"""

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from envq.air.aqi import category_table, compute_aqi, daily_aqi, hourly_aqi, iaqi

TABLE = Path(__file__).parent / "data" / "aqihub_hj633_vectors.csv"
ARGS = ("pm25", "pm10", "so2", "no2", "co", "o3")  # aqi-hub's arguments
NAMES = dict(zip(ARGS, ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3")))  # aqi-hub's IAQI keys
NAMES_CN = {"PM2.5": "细颗粒物", "PM10": "可吸入颗粒物", "SO2": "二氧化硫", "NO2": "二氧化氮",
            "CO": "一氧化碳", "O3": "臭氧"}  # aqi-hub's primary_pollutant_cn
# envq's (CNEMC's) pollutant labels -> aqi-hub's names
FROM_LABEL = {"二氧化硫": "SO2", "二氧化氮": "NO2", "颗粒物(PM10)": "PM10", "一氧化碳": "CO",
              "臭氧1小时": "O3", "臭氧8小时": "O3", "细颗粒物(PM2.5)": "PM2.5"}
# The envq input and IAQI term each aqi-hub argument feeds, per report.
INPUT = {"hourly": dict(zip(ARGS, ARGS)),
         "daily": dict(zip(ARGS, ("pm25_24h", "pm10_24h", "so2_24h", "no2_24h", "co_24h", "o3_mda8")))}
TERM = {"hourly": dict(zip(ARGS, ("pm25_1h", "pm10_1h", "so2_1h", "no2_1h", "co_1h", "o3_1h"))),
        "daily": dict(zip(ARGS, ("pm25_24h", "pm10_24h", "so2_24h", "no2_24h", "co_24h", "o3_8h")))}
# aqi-hub item -> (report, argument)
ITEM = {f"{p}_{h}": ("hourly" if h == "1H" else "daily", a)
        for a, p in zip(ARGS, ("PM25", "PM10", "SO2", "NO2", "CO", "O3")) for h in ("1H", "24H")}
ITEM["O3_8H"] = ("daily", "o3")
del ITEM["O3_24H"]
DAY = {"hj633_2012": "2025-06-01", "hj633_2026": "2026-06-01"}  # the edition "auto" picks by date


def _read_table() -> list[dict]:
    with TABLE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


ROWS = _read_table()
COMPARABLE = [r for r in ROWS if r["kind"] != "bad_input"]


def _num(s: str) -> float:
    return np.nan if s in ("", "None") else float(s)


def _concentrations(row) -> dict:
    """aqi-hub argument -> concentration of one vector (NaN where None or not passed)."""
    if row["kind"] == "iaqi":
        return {ITEM[row["item"]][1]: _num(row["value"])}
    return {a: _num(row[a]) for a in ARGS}


def _report(row) -> str:
    return ITEM[row["item"]][0] if row["kind"] == "iaqi" else row["item"]


def _int_or_none(x):
    return None if not np.isfinite(x) else int(x)


def _names(label: str) -> list[str]:
    return list(dict.fromkeys(FROM_LABEL[s] for s in label.split(",") if s))


def _run_group(edition: str, report: str, rows: list[dict]) -> tuple[xr.Dataset, dict]:
    """One dataset of the vectors of one edition and report: (dataset result, compute_aqi result)."""
    conc = [_concentrations(r) for r in rows]
    arrays = {INPUT[report][a]: np.array([[c.get(a, np.nan)] for c in conc]) for a in ARGS}
    station = [r["id"] for r in rows]
    if report == "hourly":
        time = pd.DatetimeIndex([pd.Timestamp(DAY[edition]) + pd.Timedelta(hours=10)])
        ds = xr.Dataset({k: (("station", "time"), v) for k, v in arrays.items()},
                        coords={"station": station, "time": time})
        res = hourly_aqi(ds)
    else:
        ds = xr.Dataset({k: (("station", "date"), v) for k, v in arrays.items()},
                        coords={"station": station, "date": pd.DatetimeIndex([DAY[edition]])})
        res = daily_aqi(ds)
    assert res.attrs["edition"] == edition
    core = compute_aqi({k: v[:, 0] for k, v in arrays.items()}, edition=edition, report=report)
    return res, core


@pytest.fixture(scope="module")
def envq():
    """Vector id -> envq's observation in aqi-hub's vocabulary; also each vector's core result."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in COMPARABLE:
        if r["kind"] in ("iaqi", "aqi"):
            groups.setdefault((r["edition"], _report(r)), []).append(r)
    obs, core = {}, {}
    for (edition, report), rows in groups.items():
        res, c = _run_group(edition, report, rows)
        for i, r in enumerate(rows):
            one = res.isel({"station": i}).isel({res["aqi"].dims[1]: 0})
            o = {
                "AQI": _int_or_none(float(one["aqi"])),
                "IAQI": {NAMES[a]: _int_or_none(float(one[f"iaqi_{TERM[report][a]}"])) for a in ARGS},
                "primary_pollutant": _names(str(one["primary_pollutant"].values)),
                "exceed_pollutant": _names(str(one["over_standard"].values)),
                "aqi_level": int(one["level"]) or None,
            }
            o["primary_pollutant_cn"] = [NAMES_CN[n] for n in o["primary_pollutant"]]
            if r["kind"] == "iaqi":
                o = {"value": o["IAQI"][NAMES[ITEM[r["item"]][1]]]}
            obs[r["id"]] = o
            core[r["id"]] = {k: c[k][i] for k in ("aqi", "publication", "primary_mask", "over_mask", "level")} | {
                f"iaqi_{t}": c["iaqi"][t][i] for t in c["iaqi"]}
    for r in COMPARABLE:
        if r["kind"] == "level":
            cats = category_table(r["edition"])
            v = _num(r["value"])
            hit = cats.index[(cats["aqi_min"] <= v) & (v <= cats["aqi_max"])]
            obs[r["id"]] = {"value": int(hit[0]) if len(hit) else None}
    return obs, core


# ---- aqi-hub's assertions, as written in the table --------------------------------------------

def _value(s: str):
    return None if s == "None" else int(s)


def _render(key: str, o: dict) -> str:
    """envq's value for the assertion on *key*, written as the table writes it."""
    if key == "AQI":
        return f"AQI={o['AQI']}"
    if key == "IAQI":
        return "IAQI=" + ",".join(f"{k}:{v}" for k, v in o["IAQI"].items())
    if key.startswith("IAQI["):
        return f"{key}={o['IAQI'][key[5:-1]]}"
    if key == "aqi_level":
        return f"aqi_level={o['aqi_level']}"
    return f"{key}=" + ",".join(o[key])


def _check(assertion: str, o: dict) -> tuple[str, bool]:
    """(key, holds) for one of aqi-hub's assertions against envq's observation *o*."""
    if m := re.fullmatch(r"AQI=(\S+)", assertion):
        return "AQI", o["AQI"] == _value(m[1])
    if m := re.fullmatch(r"AQI<(\d+)", assertion):
        return "AQI", o["AQI"] is not None and o["AQI"] < int(m[1])
    if m := re.fullmatch(r"IAQI=(.+)", assertion):
        want = {k: _value(v) for k, v in (kv.split(":") for kv in m[1].split(","))}
        return "IAQI", o["IAQI"] == want
    if m := re.fullmatch(r"(IAQI\[.+\])=(\S+)", assertion):
        return m[1], o["IAQI"][m[1][5:-1]] == _value(m[2])
    if m := re.fullmatch(r"(primary_pollutant(?:_cn)?)>=(.+)", assertion):
        return m[1], set(m[2].split(",")) <= set(o[m[1]])
    if m := re.fullmatch(r"len\((\w+)\)([=>])0", assertion):
        return m[1], (len(o[m[1]]) > 0) == (m[2] == ">")
    if m := re.fullmatch(r"aqi_level=(\d+)", assertion):
        return "aqi_level", o["aqi_level"] == int(m[1])
    raise ValueError(f"unknown assertion {assertion!r} in {TABLE.name}")


def disagreement(row, o: dict) -> str:
    """'' if envq agrees with the vector, else envq's value for what fails (table syntax)."""
    if row["kind"] in ("iaqi", "level"):
        return "" if o["value"] == _value(row["expected"]) else str(o["value"])
    failing = [key for key, ok in (_check(a, o) for a in row["expected"].split("; ")) if not ok]
    return "; ".join(dict.fromkeys(_render(k, o) for k in failing))


@pytest.mark.parametrize("row", COMPARABLE, ids=[r["id"] for r in COMPARABLE])
def test_vector(row, envq):
    got = disagreement(row, envq[0][row["id"]])
    if not row["right"]:
        assert got == "", (f"envq disagrees with aqi-hub's {row['test']} ({row['expected']}): envq "
                           f"{got}. Decide who is right and list it in {TABLE.name}, or fix envq.")
    else:
        assert got != "", f"listed as a disagreement ({row['right']} right) but envq agrees now: update {TABLE.name}"
        assert got == row["envq"], f"envq's value changed: the table says {row['envq']!r}, envq gives {got!r}"


def test_every_listed_disagreement_says_who_is_right_and_why():
    listed = [r for r in ROWS if r["right"] or r["envq"] or r["clause"]]
    for r in listed:
        assert r["right"] in ("envq", "aqi-hub", "moot") and r["envq"] and r["clause"], r["id"]
    assert not [r["id"] for r in listed if r["right"] == "aqi-hub"]  # none left where envq is wrong


def test_the_counts_the_readme_gives(envq):
    # README's table of checks: 292 comparable, 279 equal, 13 listed (12 envq right, 1 moot).
    agree = sum(disagreement(r, envq[0][r["id"]]) == "" for r in COMPARABLE)
    right = pd.Series([r["right"] for r in COMPARABLE if r["right"]]).value_counts().to_dict()
    assert (len(COMPARABLE), agree, right) == (292, 279, {"envq": 12, "moot": 1})


def test_the_table_holds_all_306_vectors_of_aqi_hub():
    # Issue 17's count: 226 IAQI values, 30 AQI results, 36 levels, 14 bad inputs.
    kinds = pd.Series([r["kind"] for r in ROWS]).value_counts().to_dict()
    assert kinds == {"iaqi": 226, "aqi": 30, "level": 36, "bad_input": 14}
    assert len({r["id"] for r in ROWS}) == 306
    assert {(r["commit"], r["edition"]) for r in ROWS} == {("2aad62b", "hj633_2012"), ("82b4808", "hj633_2026")}


def test_the_dataset_functions_and_compute_aqi_give_the_same_results(envq):
    # Same arrays, two public entry points: the per-vector results must be identical.
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in COMPARABLE:
        if r["kind"] in ("iaqi", "aqi"):
            groups.setdefault((r["edition"], _report(r)), []).append(r)
    for (edition, report), rows in groups.items():
        res, _ = _run_group(edition, report, rows)
        for i, r in enumerate(rows):
            c = envq[1][r["id"]]
            flat = {k: res[k].values[i, 0] for k in c}
            np.testing.assert_array_equal(np.array(list(flat.values()), float),
                                          np.array(list(c.values()), float), err_msg=r["id"])


@pytest.mark.parametrize("row", [r for r in ROWS if r["kind"] == "bad_input"],
                         ids=[r["id"] for r in ROWS if r["kind"] == "bad_input"])
def test_bad_inputs_are_refused(row):
    """aqi-hub raises on these; envq must refuse them too (an error or no category), never a number."""
    if row["file"].endswith("test_get_aqi_level.py"):  # an AQI outside 0..500
        cats = category_table(row["edition"])
        v = float(row["value"])
        assert not ((cats["aqi_min"] <= v) & (v <= cats["aqi_max"])).any()
    elif row["item"] == "invalid":  # an unknown report (aqi-hub's data_type)
        with pytest.raises(ValueError, match="report"):
            compute_aqi({a: np.array([_num(row[a])]) for a in ARGS}, edition=row["edition"], report="invalid")
    elif row["item"] == "INVALID":  # an unknown pollutant item
        with pytest.raises(ValueError, match="INVALID"):
            iaqi([float(row["value"])], "INVALID", edition=row["edition"])
    else:  # a concentration that is not a number
        with pytest.raises(ValueError):
            iaqi([row["value"]], "pm25_24h", edition=row["edition"])
