"""One Period for every output (envq.periods): grammar, round trip, comparisons, days."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from envq.errors import PeriodError, UsageError
from envq.periods import GRAMMAR, KINDS, Period, check_held, parse_period, periods_touched

D = dt.date


@pytest.mark.parametrize(("text", "kind", "label", "start", "end"), [
    ("2019", "year", "2019", D(2019, 1, 1), D(2019, 12, 31)),
    ("2019-H1", "half", "2019-H1", D(2019, 1, 1), D(2019, 6, 30)),
    ("2019-h2", "half", "2019-H2", D(2019, 7, 1), D(2019, 12, 31)),
    ("2019-Q2", "quarter", "2019-Q2", D(2019, 4, 1), D(2019, 6, 30)),
    ("2026-q4", "quarter", "2026-Q4", D(2026, 10, 1), D(2026, 12, 31)),
    ("2019-04", "month", "2019-04", D(2019, 4, 1), D(2019, 4, 30)),
    ("2020-02", "month", "2020-02", D(2020, 2, 1), D(2020, 2, 29)),
    ("2019-04-05", "day", "2019-04-05", D(2019, 4, 5), D(2019, 4, 5)),
    ("2019-YTD", "ytd", "2019-YTD", D(2019, 1, 1), D(2019, 12, 31)),
    ("2019-01-01..2019-06-30", "range", "2019-01-01..2019-06-30", D(2019, 1, 1), D(2019, 6, 30)),
    (" 2019-04 ", "month", "2019-04", D(2019, 4, 1), D(2019, 4, 30)),
])
def test_the_grammar(text, kind, label, start, end):
    p = parse_period(text)
    assert (p.kind, p.label, str(p), p.start, p.end) == (kind, label, label, start, end)
    assert p.days == (end - start).days + 1 and p.year == start.year


def test_year_to_date_ends_on_through_or_the_data():
    p = parse_period("2019-YTD", through=D(2019, 5, 17))
    assert (p.start, p.end, p.days) == (D(2019, 1, 1), D(2019, 5, 17), 137)
    assert parse_period("2019-YTD").until(D(2019, 5, 17)) == p
    assert parse_period("2019-YTD", through=D(2020, 3, 1)).end == D(2019, 12, 31)  # at most the year
    assert parse_period("2019-04", through=D(2019, 4, 10)).end == D(2019, 4, 30)  # other kinds: ignored


@pytest.mark.parametrize(("bad", "problem"), [
    ("2019-13", "month 13 is not 1..12"), ("2019-Q5", "not understood"), ("19", "not understood"),
    ("2019-06-30..2019-01-01", "ends (2019-01-01) before it starts (2019-06-30)"),
    ("last year", "not understood"), ("2026-02-30", "day is out of range"), ("2026/07", "not understood"),
    ("July", "not understood"), ("2019-H3", "not understood"), ("", "not understood"),
])
def test_a_wrong_period_is_a_usage_error_quoting_the_grammar(bad, problem):
    with pytest.raises(PeriodError) as e:
        parse_period(bad)
    assert isinstance(e.value, UsageError) and isinstance(e.value, ValueError)
    assert str(e.value).startswith(f"period {bad.strip()!r}: ") and problem in str(e.value)
    assert GRAMMAR in str(e.value)


def test_a_wrong_period_lists_the_periods_held():
    with pytest.raises(PeriodError, match=r"held: 2019-07, 2019-Q3, 2019$"):
        parse_period("2019-7", held=["2019-07", "2019-Q3", parse_period("2019")])
    with pytest.raises(PeriodError, match=r"period '2019-H1': has no results; held: 2019-07, 2019$"):
        check_held("2019-H1", ["2019-07", "2019"])
    assert check_held(parse_period("2019"), ["2019"]) == Period.year_of(2019)


_day = st.dates(min_value=D(1990, 1, 1), max_value=D(2099, 12, 31))


@st.composite
def periods(draw):
    kind = draw(st.sampled_from(KINDS))
    d = draw(_day)
    if kind == "year":
        return Period.year_of(d.year)
    if kind == "half":
        return Period.half_of(d.year, 1 + (d.month > 6))
    if kind == "quarter":
        return Period.quarter_of(d.year, (d.month - 1) // 3 + 1)
    if kind == "month":
        return Period.month_of(d.year, d.month)
    if kind == "day":
        return Period.day_of(d)
    if kind == "ytd":
        return Period.ytd_of(d.year, d)
    return Period.range_of(d, d + dt.timedelta(days=draw(st.integers(0, 800))))


@given(periods())
def test_str_round_trips(p):
    assert parse_period(str(p), through=p.end) == p
    assert parse_period(p) is p


@given(periods())
def test_previous_and_same_period_last_year_keep_the_kind(p):
    prev = p.previous()
    if p.kind == "ytd":
        assert prev is None
    else:
        assert prev.kind == p.kind and prev.end == p.start - dt.timedelta(days=1)
        if p.kind in ("day", "range"):
            assert prev.days == p.days
    last = p.same_period_last_year()
    assert last.kind == p.kind and last.year == p.year - 1
    assert (last.start.month, last.end.month) == (p.start.month, p.end.month)


@pytest.mark.parametrize(("text", "previous", "last_year"), [
    ("2026-01", "2025-12", "2025-01"),
    ("2026-Q1", "2025-Q4", "2025-Q1"),
    ("2026-Q3", "2026-Q2", "2025-Q3"),
    ("2026-H1", "2025-H2", "2025-H1"),
    ("2026-H2", "2026-H1", "2025-H2"),
    ("2026", "2025", "2025"),
    ("2024-03-01", "2024-02-29", "2023-03-01"),
    ("2024-02-29", "2024-02-28", "2023-02-28"),
    ("2025-02", "2025-01", "2024-02"),
    ("2026-08-01..2026-08-10", "2026-07-22..2026-07-31", "2025-08-01..2025-08-10"),
])
def test_previous_and_same_period_last_year(text, previous, last_year):
    p = parse_period(text)
    assert (str(p.previous()), str(p.same_period_last_year())) == (previous, last_year)
    assert parse_period("2025-02").same_period_last_year().end == D(2024, 2, 29)


def test_year_to_date_compares_with_the_same_span_a_year_earlier_only():
    p = parse_period("2024-YTD", through=D(2024, 2, 29))
    assert p.previous() is None
    last = p.same_period_last_year()
    assert (last.kind, last.start, last.end) == ("ytd", D(2023, 1, 1), D(2023, 2, 28))


def test_contains_is_vectorised_over_dates_and_instants():
    p = parse_period("2019-04")
    t = np.array(["2019-03-31T23:59", "2019-04-01T00:00", "2019-04-30T23:59", "2019-05-01T00:00"], "datetime64[m]")
    assert p.contains(t).tolist() == [False, True, True, False]
    assert p.contains(pd.DatetimeIndex(t)).tolist() == [False, True, True, False]
    assert p.contains(pd.Series(pd.DatetimeIndex(t))).tolist() == [False, True, True, False]
    assert p.contains([D(2019, 3, 31), D(2019, 4, 30)]).tolist() == [False, True]
    assert p.contains(D(2019, 4, 30)) is True and p.contains(pd.Timestamp("2019-05-01")) is False
    assert p.contains(t.reshape(2, 2)).shape == (2, 2)
    assert p.bounds() == (pd.Timestamp("2019-04-01"), pd.Timestamp("2019-05-01"))
    assert len(p.dates()) == 30


def test_months_and_periods_touched():
    assert [str(m) for m in parse_period("2019-Q2").months()] == ["2019-04", "2019-05", "2019-06"]
    assert [str(m) for m in parse_period("2019-12-30..2020-01-02").months()] == ["2019-12", "2020-01"]
    assert [str(m) for m in parse_period("2019-YTD", through=D(2019, 2, 3)).months()] == ["2019-01", "2019-02"]
    got = periods_touched([D(2019, 3, 31), D(2019, 4, 1), D(2019, 3, 1)])
    assert [str(p) for p in got] == ["2019-03", "2019-04", "2019-Q1", "2019-Q2", "2019-H1", "2019"]
    assert [str(p) for p in periods_touched([D(2019, 6, 30), D(2019, 7, 1)], kinds=("half",))] == ["2019-H1", "2019-H2"]
    assert all(isinstance(p, Period) for p in got)
    assert periods_touched([]) == []


def test_a_period_is_checked_when_built():
    with pytest.raises(PeriodError, match="not a calendar month"):
        Period("month", D(2019, 4, 2), D(2019, 4, 30))
    with pytest.raises(PeriodError, match="kind must be one of"):
        Period("week", D(2019, 4, 1), D(2019, 4, 7))
    with pytest.raises(TypeError, match="datetime.date"):
        Period("day", dt.datetime(2019, 4, 1), dt.datetime(2019, 4, 1))
    assert sorted([parse_period("2019"), parse_period("2019-Q1"), parse_period("2019-01")]) == \
        [parse_period("2019-01"), parse_period("2019-Q1"), parse_period("2019")]
    assert len({parse_period("2019-04"), parse_period("2019-04"), parse_period("2019-04-01..2019-04-30")}) == 2
