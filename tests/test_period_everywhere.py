"""One period grammar in every command (issue 11, "Done when"): ``envq air rates``, ``envq water
rates``, ``envq geo rates``, ``envq reach show`` (from files and from the store) and ``envq maps``
take the same texts -- a year, a half, a quarter, a month, a day, a year to date, a range -- on a
small real store and small extracts of the bundled files. A period the store does not hold is
taken as the held period of the same days (a year to date ending on the last stored day, a range
of a calendar period's days) or refused with the grammar and the periods the store holds (exit 2).

And the exit codes mean one thing: input, usage and no-data errors exit 2; anything else is an
internal error, exit 1, its traceback shown under --verbose.

The files are 2019-06-01..10 of air and 2026-07-09..15 of water; the store holds 2019-06-21..30
of air (its year to date is the first half) and 2026-07-09..15 of water. Each part is asked for
with the periods of its own year.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pandas as pd
import pytest

from envq.cli import main
from envq.periods import GRAMMAR

AIR_DAYS = (dt.date(2019, 6, 21), dt.date(2019, 6, 30))
WATER_DAYS = (dt.date(2026, 7, 9), dt.date(2026, 7, 15))
AIR_PERIODS = ("2019", "2019-H1", "2019-Q2", "2019-06", "2019-06-05", "2019-YTD", "2019-06-03..2019-06-07")
WATER_PERIODS = ("2026", "2026-H2", "2026-Q3", "2026-07", "2026-07-12", "2026-YTD", "2026-07-10..2026-07-12")
REACH = "xiang-main-province"


@pytest.fixture(scope="module")
def files(tmp_path_factory, data_dir):
    """2019-06-01..10 of the Hunan air extract and 2026-07-09..15 of the water extract, as files."""
    tmp = tmp_path_factory.mktemp("period-files")
    air = tmp / "hunan_2019_06.csv"
    with gzip.open(data_dir / "air" / "hunan_sites_2019_wide.csv.gz", "rt", encoding="utf-8") as f, \
            open(air, "w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i == 0 or "20190601" <= line[:8] <= "20190610":
                out.write(line)
    water = tmp / "hunan_water_2026-07-09_15.csv"
    w = pd.read_csv(data_dir / "water" / "hunan_water_auto_20260709_20260823.csv.gz", dtype=str, encoding="utf-8-sig")
    w[w["监测时间"] <= "2026-07-15 24:00"].to_csv(water, index=False, encoding="utf-8-sig")
    return air, water


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The store a nightly run leaves for those days (the flow's own task functions, no Prefect run)."""
    from envq.periods import periods_touched
    from envq.sources.adapters import open_source
    from envq.store import Store
    from flows.parts import PARTS
    from flows.pipeline import basin_rates, compute

    st = Store(tmp_path_factory.mktemp("period-store") / "store")
    with st.lock(run_id="period-tests"):
        for part, (a, b) in (("air", AIR_DAYS), ("water", WATER_DAYS)):
            src = open_source(part, {})
            data = src.parse(src.fetch(a, b), a, b)
            (st.upsert_air if part == "air" else st.upsert_water)(data, source=part)
            touched = periods_touched([a, b])
            periods = [p.label for p in touched]
            y0 = PARTS[part].read_start(a.year, touched)
            res = compute.fn(part, str(st.root), y0, b, periods)
            res[f"{part}_basin_rates"] = basin_rates.fn(part, str(st.root), y0, b, periods)
            st.write_results(res, a.year)
    return st


def _run(capsys, *argv):
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def _table(capsys, tmp_path, *argv) -> pd.DataFrame:
    """The CSV a command writes (exit 0)."""
    path = tmp_path / "out.csv"
    code, out, err = _run(capsys, *argv, "--output", str(path))
    assert code == 0, err
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"period": str, "start": str, "end": str, "through": str,
                                                          "date": str})


def _days(period: str, last: dt.date) -> tuple[str, str]:
    """The first and last day a period's rates cover: a year to date ends on the data's last day."""
    from envq.periods import parse_period

    p = parse_period(period).until(last)
    return str(p.start), str(p.end)


# ------------------------------------------------------------------------------------------
# from files: every form works and covers its days


@pytest.mark.parametrize("period", AIR_PERIODS)
def test_envq_air_rates_takes_every_form(files, capsys, tmp_path, period):
    t = _table(capsys, tmp_path, "air", "rates", str(files[0]), "--period", period, "--by", "province")
    assert list(t["name"]) == ["湖南省"] and t["period"].iloc[0] == period
    start, end = _days(period, dt.date(2019, 6, 10))
    assert (t["start"].iloc[0], t["end"].iloc[0]) == (start, end)
    assert t["through"].iloc[0] == min(end, "2019-06-10")
    # the valid days (summed over the cities): the valid city days of `envq air city-days` in the period
    cd = _table(capsys, tmp_path, "air", "city-days", str(files[0]))
    assert int(t["valid_days"].iloc[0]) == int(cd.loc[cd["date"].between(start, end), "valid"].sum()) > 0


@pytest.mark.parametrize("period", WATER_PERIODS)
def test_envq_water_rates_takes_every_form(files, capsys, tmp_path, period):
    t = _table(capsys, tmp_path, "water", "rates", str(files[1]), "--period", period, "--by", "province")
    assert list(t["name"]) == ["湖南省"] and t["period"].iloc[0] == period
    assert 50 <= int(t["sections"].iloc[0]) <= 61


@pytest.mark.parametrize("period", AIR_PERIODS)
def test_envq_geo_rates_takes_every_form_for_air(files, capsys, tmp_path, period):
    t = _table(capsys, tmp_path, "geo", "rates", "--layer", "province", "--air", str(files[0]), "--period", period)
    assert (t["kind"] == "air").all() and len(t) == 1 and t["period"].iloc[0] == period


@pytest.mark.parametrize("period", WATER_PERIODS)
def test_envq_geo_rates_takes_every_form_for_water(files, capsys, tmp_path, period):
    t = _table(capsys, tmp_path, "geo", "rates", "--layer", "province", "--water", str(files[1]), "--period", period)
    assert (t["kind"] == "water").all() and len(t) == 1 and t["period"].iloc[0] == period


@pytest.mark.parametrize("period", WATER_PERIODS)
def test_envq_reach_show_from_files_takes_every_form(files, capsys, period):
    code, out, err = _run(capsys, "reach", "show", REACH, str(files[1]), "--period", period)
    assert code == 0, err
    assert f"period {period}" in out


# ------------------------------------------------------------------------------------------
# from the store: the periods it holds, a year to date or a range taken as the held period of
# the same days, anything else refused with the grammar and the periods held

STORED_WATER = ("2026-01-01..2026-07-31", "2026-01-01..2026-09-30", "2026", "2026-07", "2026-Q3", "2026-H2")  # by start, then
# length; the years to date beside July and the third quarter are kept for the bulletins (issue 13)
STORED_REACHES = ("2026", "2026-07", "2026-Q3", "2026-H2")  # the river-chief reaches: the calendar periods


@pytest.mark.parametrize("period, shown", [
    ("2026", "2026"), ("2026-H2", "2026-H2"), ("2026-Q3", "2026-Q3"), ("2026-07", "2026-07"),
    ("2026-07-01..2026-07-31", "2026-07"), ("2026-07-01..2026-12-31", "2026-H2"),
])
def test_envq_reach_show_from_the_store(store, capsys, period, shown):
    code, out, err = _run(capsys, "reach", "show", REACH, "--store", str(store.root), "--period", period)
    assert code == 0, err
    assert f"period {shown}" in out
    # the numbers of the stored result of that period (the reach's row is named by its id)
    from envq.targets import published

    rates = store.read_result("water_reach_rates", shown)
    row = rates[rates["name"] == REACH]
    assert len(row) == 1, rates["name"].tolist()
    row = row.iloc[0]
    n = int(row["sections"])
    assert n > 0
    assert f"Ⅰ~Ⅲ类比例 {published(row['i_iii_share']):.1f}% ({int(row['sections_i_iii'])}/{n}); sections evaluated {n} of " in out


@pytest.mark.parametrize("period", ["2026-07-12", "2026-YTD", "2026-07-10..2026-07-12"])
def test_envq_reach_show_refuses_a_period_the_store_does_not_hold(store, capsys, period):
    code, out, err = _run(capsys, "reach", "show", REACH, "--store", str(store.root), "--period", period)
    assert code == 2
    assert f"period '{period}'" in err and GRAMMAR in err
    assert "held: " + ", ".join(STORED_REACHES) in err
    if period == "2026-YTD":  # ended on the last stored day
        assert "2026-01-01..2026-07-15 has no result 'water_reach_rates'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("period, air, note", [
    ("2019", "2019", None), ("2019-H1", "2019-H1", None), ("2019-Q2", "2019-Q2", None), ("2019-06", "2019-06", None),
    ("2019-YTD", "2019-H1", "2019-YTD 即 2019-H1（2019-01-01..2019-06-30）"),
    ("2019-01-01..2019-06-30", "2019-H1", "即 2019-H1"), ("2019-06-01..2019-06-30", "2019-06", "即 2019-06"),
])
def test_envq_maps_takes_the_periods_the_store_holds(store, tmp_path, capsys, period, air, note):
    code, out, err = _run(capsys, "maps", "--store", str(store.root), "--period", period, "--water-period", "2026-07",
                          "--output", str(tmp_path / "m"))
    assert code == 0, err
    manifest = json.loads((tmp_path / "m" / "maps.json").read_text(encoding="utf-8"))
    assert (manifest["period"], manifest["water_period"]) == (air, "2026-07")
    assert {"air", "water"} <= set(manifest["pages"])
    if note:
        assert any(note in n for n in manifest["notes"]), manifest["notes"]
    # the index shows the stored province ratio of that period
    rates = store.read_result("air_rates", air)
    prov = rates[rates["scope"] == "province"].iloc[0]
    assert f'{prov["good_day_ratio"]:.1f}%' in (tmp_path / "m" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("period", ["2019-06-05", "2019-06-01..2019-06-10", "2018", "2026-YTD"])
def test_envq_maps_refuses_a_period_neither_part_holds(store, tmp_path, capsys, period):
    code, out, err = _run(capsys, "maps", "--store", str(store.root), "--period", period,
                          "--output", str(tmp_path / "m"))
    assert code == 2, err
    assert GRAMMAR in err and f"period {period!r}" in err
    assert "the store holds air_rates of 2019-H1, 2019, 2019-Q2, 2019-06" in err  # by start, then length
    assert "the store holds water_rates of " + ", ".join(STORED_WATER) in err
    assert not (tmp_path / "m").exists()


def test_envq_maps_with_a_year_to_date_of_each_part(store, tmp_path, capsys):
    """2019-YTD is the first half of air as stored; 2026-YTD (to 15 July) is no water period held:
    the water page is not drawn and the index says so."""
    code, out, err = _run(capsys, "maps", "--store", str(store.root), "--period", "2019-YTD", "--water-period",
                          "2026-YTD", "--output", str(tmp_path / "m"))
    assert code == 0, err
    manifest = json.loads((tmp_path / "m" / "maps.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2019-H1" and set(manifest["pages"]) >= {"air"} and "water" not in manifest["pages"]
    assert "no results for 2026-YTD" in (tmp_path / "m" / "index.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# exit codes


def test_a_wrong_period_is_exit_2_in_every_command(files, store, tmp_path, capsys):
    for argv in (["air", "rates", str(files[0])], ["water", "rates", str(files[1])],
                 ["geo", "rates", "--layer", "province", "--air", str(files[0])],
                 ["reach", "show", REACH, str(files[1])], ["reach", "show", REACH, "--store", str(store.root)],
                 ["maps", "--store", str(store.root), "--output", str(tmp_path / "m")]):
        code, out, err = _run(capsys, *argv, "--period", "2019-13")
        assert code == 2, (argv, err)
        assert "2019-13" in err and "month 13 is not 1..12" in err and GRAMMAR in err, (argv, err)


def test_no_data_in_the_period_is_exit_2(files, capsys):
    code, out, err = _run(capsys, "air", "rates", str(files[0]), "--period", "2018")
    assert code == 2
    assert "no data" in err and "2018" in err


def test_an_internal_error_is_exit_1_with_the_traceback_under_verbose(files, capsys, monkeypatch):
    """A defect of envq (here a KeyError and a ValueError raised inside the engine) is exit 1 and
    said to be internal, never dressed up as the user's mistake; --verbose shows the traceback."""
    import envq.air.rates

    for exc in (KeyError("good_days"), ValueError("operands could not be broadcast")):
        def broken(*args, exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr(envq.air.rates, "good_day_rates", broken)
        code, out, err = _run(capsys, "air", "rates", str(files[0]), "--period", "2019-06")
        assert code == 1, err
        assert f"envq: internal error: {type(exc).__name__}" in err and "--verbose" in err
        assert "Traceback" not in err
        code, out, err = _run(capsys, "--verbose", "air", "rates", str(files[0]), "--period", "2019-06")
        assert code == 1
        assert "Traceback (most recent call last)" in err and "in broken" in err


def test_envq_maps_an_internal_error_is_exit_1_a_day_outside_the_period_exit_2(store, tmp_path, capsys, monkeypatch):
    """A ValueError inside the air map's code is a defect (exit 1), not the user's mistake; a --date
    outside the period is the user's (exit 2)."""
    import maps.air

    argv = ["maps", "--store", str(store.root), "--period", "2019-06", "--water-period", "2026-07"]
    code, out, err = _run(capsys, *argv, "--date", "2019-07-02", "--output", str(tmp_path / "a"))
    assert code == 2 and "day 2019-07-02 is outside period 2019-06" in err, err

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast")

    monkeypatch.setattr(maps.air, "air_map", broken)
    code, out, err = _run(capsys, *argv, "--output", str(tmp_path / "b"))
    assert code == 1 and "envq: internal error: ValueError: operands could not be broadcast" in err, err
