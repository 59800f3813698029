"""Periods: one type for every output (engines, store keys, CLI, maps, bulletins, configuration).

A :class:`Period` is a closed range of natural days (Beijing time) with its kind and label. One
grammar, everywhere (:func:`parse_period`):

========================  =========  ==================================================
text                      kind       days
========================  =========  ==================================================
``2019``                  year       2019-01-01 .. 2019-12-31
``2019-H1``, ``2019-H2``  half       Jan-Jun, Jul-Dec (半年)
``2019-Q2``               quarter    2019-04-01 .. 2019-06-30
``2019-04``               month      2019-04-01 .. 2019-04-30
``2019-04-05``            day        that day
``2019-YTD``              ytd        2019-01-01 .. *through* (1-M月累计; year to date)
``2019-01-01..2019-06-30``  range    both ends included
========================  =========  ==================================================

``H``, ``Q`` and ``YTD`` may be written in lower case; the label is always the canonical form,
and ``str(period)`` is its label. The round trip ``parse_period(str(p), through=p.end) == p``
holds for every period (*through* matters only for a year to date).

**Year to date.** ``2019-YTD`` ends on *through*: the ``--through`` option, or the last day with
data (the engines resolve it with :meth:`Period.until`); without either it runs to 31 December.

**Comparisons.** 环比 (:meth:`Period.previous`) is the period of the same kind just before: the
day, month, quarter, half or year before; a range of the same length ending the day before it
starts. A year to date has no 环比 (``None``): the provincial bulletins compare cumulative
periods (1-M月) only with the same span a year earlier. 同比
(:meth:`Period.same_period_last_year`) is the same span one year earlier; for a year to date
1 January .. the same month-day. A 29 February becomes 28 February in a year without one.

Nothing outside this module parses or slices a period label; everything else holds a
:class:`Period` and asks it (``kind``, ``year``, ``start``, ``end``, ``contains``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from envq.errors import PeriodError

__all__ = ["KINDS", "GRAMMAR", "TOUCHED_KINDS", "Period", "parse_period", "as_period", "periods_of", "kinds_of", "latest",
           "periods_touched", "calendar_periods", "check_held", "labels_of_days",
           "resolve_held", "days_period", "as_date"]

#: The kinds of period, finest first.
KINDS = ("day", "month", "quarter", "half", "year", "ytd", "range")

#: The grammar, as error messages show it.
GRAMMAR = ("2019 (year), 2019-H1 (half), 2019-Q2 (quarter), 2019-04 (month), 2019-04-05 (day), "
           "2019-YTD (year to date, through --through or the data's last day) or "
           "2019-01-01..2019-06-30 (a range of days, both ends included)")

_DAY = r"(\d{4})-(\d{2})-(\d{2})"
_FORMS = (
    ("range", re.compile(_DAY + r"\.\." + _DAY)),
    ("day", re.compile(_DAY)),
    ("month", re.compile(r"(\d{4})-(\d{2})")),
    ("quarter", re.compile(r"(\d{4})-[Qq]([1-4])")),
    ("half", re.compile(r"(\d{4})-[Hh]([12])")),
    ("ytd", re.compile(r"(\d{4})-[Yy][Tt][Dd]")),
    ("year", re.compile(r"(\d{4})")),
)
_ONE_DAY = dt.timedelta(days=1)


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return nxt - _ONE_DAY


def _year_back(d: dt.date, years: int = 1) -> dt.date:
    """The same month-day *years* earlier (29 February -> 28 February)."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


@dataclasses.dataclass(frozen=True)
class Period:
    """A closed range of natural days with its kind; see the module docstring for the grammar.

    Build one with :func:`parse_period` (or the constructors :meth:`year_of`, :meth:`month_of`,
    ...). Two periods are equal when kind, start and end are.

    Examples
    --------
    >>> p = parse_period("2019-Q2")
    >>> p
    Period('2019-Q2')
    >>> p.kind, p.start, p.end, p.days, p.year
    ('quarter', datetime.date(2019, 4, 1), datetime.date(2019, 6, 30), 91, 2019)
    >>> str(p.previous()), str(p.same_period_last_year())
    ('2019-Q1', '2018-Q2')
    >>> [str(m) for m in p.months()]
    ['2019-04', '2019-05', '2019-06']
    """

    kind: str
    start: dt.date
    end: dt.date  # included

    def __post_init__(self):
        if self.kind not in KINDS:
            raise PeriodError(str(self.kind), f"kind must be one of {', '.join(KINDS)}")
        for name in ("start", "end"):
            v = getattr(self, name)
            if isinstance(v, dt.datetime) or not isinstance(v, dt.date):
                raise TypeError(f"Period.{name} must be a datetime.date, not {type(v).__name__}")
        if self.end < self.start:
            raise PeriodError(self.label, f"ends ({self.end}) before it starts ({self.start})")
        y = self.start.year
        expected = {"year": (dt.date(y, 1, 1), dt.date(y, 12, 31)),
                    "month": (self.start.replace(day=1), _month_end(y, self.start.month))}
        if self.kind == "quarter":
            q0 = (self.start.month - 1) // 3 * 3 + 1
            expected["quarter"] = (dt.date(y, q0, 1), _month_end(y, q0 + 2))
        if self.kind == "half":
            h0 = 1 if self.start.month <= 6 else 7
            expected["half"] = (dt.date(y, h0, 1), _month_end(y, h0 + 5))
        if self.kind in expected and (self.start, self.end) != expected[self.kind]:
            raise PeriodError(f"{self.start}..{self.end}", f"is not a calendar {self.kind}")
        if self.kind == "day" and self.start != self.end:
            raise PeriodError(f"{self.start}..{self.end}", "is not one day")
        if self.kind == "ytd" and (self.start != dt.date(y, 1, 1) or self.end.year != y):
            raise PeriodError(f"{self.start}..{self.end}", "is not a year to date (1 January .. a day of that year)")

    # -------------------------------------------------------------------------------- naming

    @property
    def label(self) -> str:
        """The canonical text of the period (what :func:`parse_period` reads back)."""
        s = self.start
        if self.kind == "year":
            return f"{s.year}"
        if self.kind == "half":
            return f"{s.year}-H{1 if s.month <= 6 else 2}"
        if self.kind == "quarter":
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{s.year}-{s.month:02d}"
        if self.kind == "day":
            return s.isoformat()
        if self.kind == "ytd":
            return f"{s.year}-YTD"
        return f"{s.isoformat()}..{self.end.isoformat()}"

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        extra = f", through={self.end.isoformat()!r}" if self.kind == "ytd" else ""
        return f"Period({self.label!r}{extra})"

    @property
    def year(self) -> int:
        """The year the period starts in."""
        return self.start.year

    @property
    def days(self) -> int:
        """Calendar days in the period."""
        return (self.end - self.start).days + 1

    @property
    def is_calendar(self) -> bool:
        """A month, quarter, half or year (the periods means of monthly values are taken over)."""
        return self.kind in ("month", "quarter", "half", "year")

    # -------------------------------------------------------------------------------- constructors

    @classmethod
    def year_of(cls, year: int) -> "Period":
        return cls("year", dt.date(year, 1, 1), dt.date(year, 12, 31))

    @classmethod
    def month_of(cls, year: int, month: int) -> "Period":
        return cls("month", dt.date(year, month, 1), _month_end(year, month))

    @classmethod
    def quarter_of(cls, year: int, quarter: int) -> "Period":
        m = 3 * quarter - 2
        return cls("quarter", dt.date(year, m, 1), _month_end(year, m + 2))

    @classmethod
    def half_of(cls, year: int, half: int) -> "Period":
        m = 6 * half - 5
        return cls("half", dt.date(year, m, 1), _month_end(year, m + 5))

    @classmethod
    def day_of(cls, day: dt.date) -> "Period":
        day = as_date(day)
        return cls("day", day, day)

    @classmethod
    def ytd_of(cls, year: int, through: dt.date | None = None) -> "Period":
        end = dt.date(year, 12, 31) if through is None else min(as_date(through), dt.date(year, 12, 31))
        return cls("ytd", dt.date(year, 1, 1), end)

    @classmethod
    def range_of(cls, start: dt.date, end: dt.date) -> "Period":
        return cls("range", as_date(start), as_date(end))

    @classmethod
    def containing(cls, day, kind: str) -> "Period":
        """The calendar period of *kind* (day, month, quarter, half, year) holding *day*.

        >>> str(Period.containing(dt.date(2019, 8, 15), "half")), str(Period.containing(dt.date(2019, 8, 15), "quarter"))
        ('2019-H2', '2019-Q3')
        """
        d = as_date(day)
        if kind == "day":
            return cls.day_of(d)
        if kind == "month":
            return cls.month_of(d.year, d.month)
        if kind == "quarter":
            return cls.quarter_of(d.year, (d.month - 1) // 3 + 1)
        if kind == "half":
            return cls.half_of(d.year, 1 if d.month <= 6 else 2)
        if kind == "year":
            return cls.year_of(d.year)
        raise PeriodError(kind, "is not a calendar kind (day, month, quarter, half, year)", grammar=False)

    # -------------------------------------------------------------------------------- days

    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Half-open Timestamp bounds ``[start 00:00, end + 1 day 00:00)`` for timestamped data.

        >>> parse_period("2026-07").bounds()
        (Timestamp('2026-07-01 00:00:00'), Timestamp('2026-08-01 00:00:00'))
        """
        return pd.Timestamp(self.start), pd.Timestamp(self.end + _ONE_DAY)

    def contains(self, when) -> np.ndarray | bool:
        """Whether each date or instant lies in the period (its natural day is one of the days).

        Vectorised over dates, datetime64 arrays, DatetimeIndex or Series; a scalar gives a bool.
        Air hour-ending labels (00:00 belongs to the day before) are the caller's to shift.

        >>> p = parse_period("2019-04")
        >>> p.contains(np.array(["2019-03-31T23:59", "2019-04-30T23:00", "2019-05-01"], "datetime64[m]")).tolist()
        [False, True, False]
        >>> p.contains(dt.date(2019, 4, 30))
        True
        """
        a, b = self.bounds()
        if np.ndim(when) == 0 and not isinstance(when, (pd.Index, pd.Series, np.ndarray)):
            t = pd.Timestamp(when)
            return bool(a <= t < b)
        t = np.asarray(when)
        if t.dtype.kind != "M":
            t = pd.to_datetime(pd.Index(np.ravel(t))).to_numpy().reshape(t.shape)
        t = t.astype("datetime64[ns]")
        return (t >= a.to_datetime64()) & (t < b.to_datetime64())

    def dates(self) -> pd.DatetimeIndex:
        """Every day of the period (midnight timestamps)."""
        return pd.date_range(self.start, self.end, freq="D")

    def months(self) -> list["Period"]:
        """The calendar months the period touches (whole months, in order).

        >>> [str(m) for m in parse_period("2019-03-30..2019-05-02").months()]
        ['2019-03', '2019-04', '2019-05']
        """
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(Period.month_of(y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def until(self, last_day) -> "Period":
        """A year to date ended on *last_day* (the data's last day) when that comes before its end
        (never later: a ``--through`` day stays); any other kind unchanged.

        >>> str(parse_period("2019-YTD").until(dt.date(2019, 5, 17)).end)
        '2019-05-17'
        >>> str(parse_period("2019-YTD", through=dt.date(2019, 3, 1)).until(dt.date(2019, 5, 17)).end)
        '2019-03-01'
        """
        if self.kind != "ytd" or last_day is None:
            return self
        last = as_date(last_day)
        return Period.ytd_of(self.year, max(min(last, self.end), self.start))

    # -------------------------------------------------------------------------------- comparisons

    def previous(self) -> "Period | None":
        """环比: the period of the same kind just before; ``None`` for a year to date (see the
        module docstring).

        >>> [str(parse_period(t).previous()) for t in ("2026-01", "2026-Q1", "2026-H1", "2026", "2026-03-01")]
        ['2025-12', '2025-Q4', '2025-H2', '2025', '2026-02-28']
        >>> str(parse_period("2026-08-01..2026-08-10").previous())
        '2026-07-22..2026-07-31'
        >>> parse_period("2026-YTD", through=dt.date(2026, 7, 31)).previous() is None
        True
        """
        s = self.start
        if self.kind == "day":
            return Period.day_of(s - _ONE_DAY)
        if self.kind == "month":
            return Period.month_of(s.year - 1, 12) if s.month == 1 else Period.month_of(s.year, s.month - 1)
        if self.kind == "quarter":
            q = (s.month - 1) // 3 + 1
            return Period.quarter_of(s.year - 1, 4) if q == 1 else Period.quarter_of(s.year, q - 1)
        if self.kind == "half":
            return Period.half_of(s.year - 1, 2) if s.month == 1 else Period.half_of(s.year, 1)
        if self.kind == "year":
            return Period.year_of(s.year - 1)
        if self.kind == "ytd":
            return None
        return Period.range_of(s - dt.timedelta(days=self.days), s - _ONE_DAY)

    def same_period_last_year(self) -> "Period":
        """同比: the same span one year earlier.

        >>> [str(parse_period(t).same_period_last_year()) for t in ("2026-Q3", "2024-02-29", "2026-07")]
        ['2025-Q3', '2023-02-28', '2025-07']
        >>> parse_period("2026-YTD", through=dt.date(2026, 7, 31)).same_period_last_year()
        Period('2025-YTD', through='2025-07-31')
        """
        if self.kind == "month":  # February has 28 or 29 days
            return Period.month_of(self.year - 1, self.start.month)
        return dataclasses.replace(self, start=_year_back(self.start), end=_year_back(self.end))

    # -------------------------------------------------------------------------------- ordering

    def sort_key(self) -> tuple:
        """Order by start, then by length (a month before its quarter), then kind."""
        return (self.start, self.days, KINDS.index(self.kind))

    def __lt__(self, other: "Period") -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self.sort_key() < other.sort_key()


def as_date(x, what: str = "a date") -> dt.date:
    """*x* (a date, datetime, ISO text, numpy or pandas time) as a :class:`datetime.date`;
    TypeError naming *what* otherwise (the one conversion: the store's days use it too).

    >>> as_date("2019-08-31"), as_date(np.datetime64("2019-08-31T23:00"))
    (datetime.date(2019, 8, 31), datetime.date(2019, 8, 31))
    """
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    if isinstance(x, (str, np.datetime64, pd.Timestamp)):
        return pd.Timestamp(x).date()
    raise TypeError(f"{what} must be a datetime.date, not {type(x).__name__}")


def parse_period(text, *, through=None, held: Iterable | None = None) -> Period:
    """The :class:`Period` a text names (grammar in the module docstring).

    Parameters
    ----------
    text : str or Period
        A Period is returned as it is (a year to date resolved with *through* if given).
    through : date, optional
        The last day of a year to date (``--through``, or the data's last day); ignored for other
        kinds. Without it a year to date runs to 31 December (the engines end it on their data's
        last day, :meth:`Period.until`).
    held : iterable of Period or str, optional
        The periods the caller holds (e.g. the store's results): listed in the error when *text*
        is not understood.

    Raises
    ------
    envq.errors.PeriodError
        A usage error (exit 2) quoting the text and the grammar (and *held*).

    Examples
    --------
    >>> [str(parse_period(t)) for t in ("2019", "2019-h1", "2019-q2", "2019-04", "2019-04-05", "2019-ytd")]
    ['2019', '2019-H1', '2019-Q2', '2019-04', '2019-04-05', '2019-YTD']
    >>> parse_period("2019-YTD", through=dt.date(2019, 5, 17)).end
    datetime.date(2019, 5, 17)
    >>> parse_period("2019-01-01..2019-06-30").days
    181
    >>> parse_period("2019-13")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envq.errors.PeriodError: period '2019-13': month 13 is not 1..12; use 2019 (year), 2019-H1 (half), ...
    """
    if isinstance(text, Period):
        return Period.ytd_of(text.year, through) if through is not None and text.kind == "ytd" else text
    s = str(text).strip()
    kind = m = None
    for k, rx in _FORMS:
        if (m := rx.fullmatch(s)) is not None:
            kind = k
            break
    if m is None:
        raise PeriodError(s, "is not understood", held=held)
    g = [int(x) for x in m.groups()]
    try:
        if kind == "year":
            return Period.year_of(g[0])
        if kind == "half":
            return Period.half_of(*g)
        if kind == "quarter":
            return Period.quarter_of(*g)
        if kind == "ytd":
            return Period.ytd_of(g[0], through)
        if kind == "month":
            if not 1 <= g[1] <= 12:
                raise PeriodError(s, f"month {g[1]} is not 1..12", held=held)
            return Period.month_of(*g)
        if kind == "day":
            return Period.day_of(dt.date(*g))
        a, b = dt.date(*g[:3]), dt.date(*g[3:])
        if b < a:
            raise PeriodError(s, f"ends ({b}) before it starts ({a})", held=held)
        return Period.range_of(a, b)
    except PeriodError as exc:
        if exc.held or held is None:
            raise
        raise PeriodError(s, exc.problem, held=held) from None
    except ValueError as exc:  # dt.date: day is out of range for month, ...
        raise PeriodError(s, str(exc), held=held) from None


@functools.lru_cache(maxsize=4096)
def _parsed(label: str) -> Period:
    return parse_period(label)


def periods_of(labels) -> list[Period]:
    """The Periods of a column of labels (each distinct label parsed once).

    >>> [p.kind for p in periods_of(["2019-07", "2019-Q3", "2019", "2019-07"])]
    ['month', 'quarter', 'year', 'month']
    """
    return [_parsed(str(x)) for x in labels]


def kinds_of(labels) -> np.ndarray:
    """The kind of each label of a column (e.g. to keep the year rows of a results table)."""
    return np.array([p.kind for p in periods_of(labels)], dtype=object)


def latest(labels, kind: str | None = None) -> str | None:
    """The label of the latest period (of *kind*) among *labels*: the one ending last, the longest
    of those (a year over its December); None when there is none.

    >>> latest(["2019-11", "2019-12", "2019-Q4", "2019"]), latest(["2019-11", "2019-12", "2019"], "month")
    ('2019', '2019-12')
    """
    ps = [p for p in periods_of(labels) if kind is None or p.kind == kind]
    return max(ps, key=lambda p: (p.end, p.days)).label if ps else None


def as_period(value, *, through=None) -> Period:
    """A Period from a Period or a text (:func:`parse_period`)."""
    return parse_period(value, through=through)


#: The kinds of calendar period a run computes for the days it touches.
TOUCHED_KINDS = ("month", "quarter", "half", "year")


def periods_touched(days: Iterable[dt.date], kinds: Iterable[str] = TOUCHED_KINDS) -> list[Period]:
    """The month, quarter, half-year and year of each day, each once: months, then quarters,
    halves and years, each in time order (what a nightly run recomputes and stores).

    >>> [str(p) for p in periods_touched([dt.date(2019, 3, 31), dt.date(2019, 4, 1)])]
    ['2019-03', '2019-04', '2019-Q1', '2019-Q2', '2019-H1', '2019']
    """
    d = {as_date(x) for x in days}
    return [p for kind in kinds for p in sorted({Period.containing(x, kind) for x in d})]


def labels_of_days(days, kind: str = "month") -> np.ndarray:
    """The label of the calendar period of *kind* holding each day (dates, ``YYYY-MM-DD`` texts
    or Timestamps), e.g. to group days by month; each distinct day converted once.

    >>> labels_of_days(["2019-07-31", "2019-08-01", "2019-07-02"]).tolist()
    ['2019-07', '2019-08', '2019-07']
    >>> labels_of_days([dt.date(2019, 8, 15)], "quarter").tolist()
    ['2019-Q3']
    """
    values = pd.Series(np.asarray(days, dtype=object))
    distinct = {d: Period.containing(d, kind).label for d in pd.unique(values)}
    return values.map(distinct).to_numpy(object)


def calendar_periods(first, last, kind: str) -> list[Period]:
    """The consecutive calendar periods of *kind* (day, month, quarter, half, year) from the one
    holding *first* to the one holding *last*.

    >>> [str(p) for p in calendar_periods(dt.date(2019, 5, 20), dt.date(2019, 12, 1), "quarter")]
    ['2019-Q2', '2019-Q3', '2019-Q4']
    """
    out, last = [], as_date(last)
    p = Period.containing(first, kind)
    while p.start <= last:
        out.append(p)
        p = Period.containing(p.end + _ONE_DAY, kind)
    return out


def check_held(period, held: Iterable, *, what: str = "results") -> Period:
    """*period* as a Period if it is one of *held* (Periods or texts), else a
    :class:`~envq.errors.PeriodError` listing them (a usage error: ask for a period that exists).

    >>> str(check_held("2019", ["2019-07", "2019"]))
    '2019'
    >>> check_held("2019-H1", ["2019-07", "2019"])
    Traceback (most recent call last):
    ...
    envq.errors.PeriodError: period '2019-H1': has no results; held: 2019-07, 2019
    """
    p = parse_period(period)
    have = [parse_period(h) for h in held]
    if p not in have:
        raise PeriodError(p.label, f"has no {what}", held=have, grammar=False)
    return p


def resolve_held(period, held: Iterable, *, last_day=None, what: str = "results") -> Period:
    """*period* as one of the *held* periods (e.g. those a store holds results for): itself when
    held, else the held period of the same days (a year to date ended on *last_day*, the data's
    last day; a range of a calendar period's days), else a :class:`~envq.errors.PeriodError`
    quoting the grammar and listing *held* (a usage error: ask for a period that is held).

    >>> held = ["2019-06", "2019-Q2", "2019-H1", "2019"]
    >>> str(resolve_held("2019-YTD", held, last_day=dt.date(2019, 6, 30)))
    '2019-H1'
    >>> str(resolve_held("2019-04-01..2019-06-30", held)), str(resolve_held("2019-q2", held))
    ('2019-Q2', '2019-Q2')
    >>> resolve_held("2019-06-05", held)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    envq.errors.PeriodError: period '2019-06-05': has no results; use 2019 (year), ...; held: 2019-06, 2019-Q2, 2019-H1, 2019
    """
    p = parse_period(period)
    have = [parse_period(h) for h in held]
    for h in have:
        if h.label == p.label:
            return h
    if p.kind == "ytd" and last_day is not None and as_date(last_day) >= p.start:
        p = p.until(last_day)
    same = [h for h in have if (h.start, h.end) == (p.start, p.end)]
    if same:
        return min(same, key=lambda h: KINDS.index(h.kind))
    days = f"{p.start}..{p.end} " if p.kind == "ytd" else ""
    raise PeriodError(p.label, f"{days}has no {what}", held=have)


def days_period(start, end) -> Period:
    """The period of exactly the days *start..end*: the calendar period (month, quarter, half-year,
    year) of those days when there is one, else the range. A year to date is filed so (through
    June it is 2019-H1, through August the range).

    >>> [days_period(dt.date(2019, 1, 1), dt.date(2019, m, d)).label for m, d in ((1, 31), (6, 30), (8, 31))]
    ['2019-01', '2019-H1', '2019-01-01..2019-08-31']
    """
    a, b = as_date(start), as_date(end)
    for kind in ("month", "quarter", "half", "year"):
        c = Period.containing(a, kind)
        if (c.start, c.end) == (a, b):
            return c
    return parse_period(f"{a.isoformat()}..{b.isoformat()}")
