"""Exceptions raised by envq: each means one thing.

========================  ==========================================================  ======
class                     meaning                                                     exit
========================  ==========================================================  ======
:class:`InputError`       a file holds a bad value (file, row, field, value)          2
:class:`UsageError`       the request cannot be carried out as asked (a wrong          2
                          period, an unknown name, options that exclude each other)
:class:`PeriodError`      a period the grammar does not know (a UsageError)           2
:class:`NoDataError`      nothing in the period asked for (period, span of the data)  2
anything else             a defect of envq: "internal error" (traceback: --verbose)   1
========================  ==========================================================  ======

Every reader in :mod:`envq.sources` fails on bad input with :class:`InputError`, whose message
names the file, the row, the field and the offending value, so that a user can find and fix the
problem without reading envq's source. ``envq.cli.main`` maps the first four to exit code 2 and
everything else to 1.
"""

from __future__ import annotations

__all__ = ["InputError", "UsageError", "PeriodError", "NoDataError", "UnknownStationWarning", "USER_ERRORS"]


class InputError(ValueError):
    """A problem with an input file, located as precisely as possible.

    Parameters
    ----------
    file : str or os.PathLike
        The file that holds the problem.
    row : int or None
        Where the problem is: for CSV files the 1-based line number in the file, counting the
        header as line 1 (so the first data row is row 2); for JSON/GeoJSON files the 1-based
        feature (record) number. None for problems of the file as a whole.
    field : str or None
        The column (or JSON property) involved, None if no single field is.
    value : object
        The offending value as found in the file (a string, bytes for undecodable input, or a
        list of column names for header problems).
    problem : str
        What is wrong with the value, phrased to follow "value '...'", e.g.
        ``"is outside 0..23"``.

    Examples
    --------
    >>> err = InputError("data.csv", 17, "hour", "24", "is outside 0..23")
    >>> str(err)
    "data.csv: row 17, field 'hour': value '24' is outside 0..23"
    >>> err.row, err.field, err.value
    (17, 'hour', '24')
    >>> str(InputError("data.csv", None, None, "", "is empty: the file has no header"))
    "data.csv: value '' is empty: the file has no header"
    """

    def __init__(self, file, row, field, value, problem):
        self.file = str(file)
        self.row = None if row is None else int(row)
        self.field = None if field is None else str(field)
        self.value = str(value) if isinstance(value, str) else value  # plain str, not numpy.str_
        self.problem = problem
        where = [self.file]
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        # "file: row 17, field 'hour': value '24' is outside 0..23"
        head = where[0] + ": " + ", ".join(where[1:]) + (": " if len(where) > 1 else "")
        super().__init__(f"{head}value {self.value!r} {problem}")

    def __reduce__(self):  # keep the attributes through pickling (pytest-xdist, multiprocessing)
        return (type(self), (self.file, self.row, self.field, self.value, self.problem))


class UnknownStationWarning(UserWarning):
    """Data for station codes that are not in the station list (no name, city or coordinates)."""


class UsageError(ValueError):
    """A request envq cannot carry out as asked: a wrong period, an unknown reach or area, options
    that exclude each other. The message says what to ask instead."""


class PeriodError(UsageError):
    """A period the grammar (:mod:`envq.periods`) does not know, or one that is not held.

    Parameters
    ----------
    text : str
        The period as given.
    problem : str
        What is wrong, phrased to follow "period '<text>': ".
    held : iterable, optional
        The periods the caller holds (e.g. the store's results), listed in the message.
    grammar : bool
        Quote the grammar (default).

    >>> str(PeriodError("2019-13", "month 13 is not 1..12", grammar=False))
    "period '2019-13': month 13 is not 1..12"
    """

    def __init__(self, text, problem, *, held=None, grammar: bool = True):
        from envq.periods import GRAMMAR

        self.text = str(text)
        self.problem = str(problem)
        self.held = [str(h) for h in held] if held is not None else []
        msg = f"period {self.text!r}: {self.problem}"
        if grammar:
            msg += f"; use {GRAMMAR}"
        if held is not None:
            msg += "; held: " + (", ".join(self.held) if self.held else "none")
        self._grammar = grammar
        super().__init__(msg)

    def __reduce__(self):
        return (_period_error, (self.text, self.problem, self.held if self.held else None, self._grammar))


def _period_error(text, problem, held, grammar):
    return PeriodError(text, problem, held=held, grammar=grammar)


class NoDataError(LookupError):
    """Nothing to compute in *period*: the data holds no value in it.

    Parameters
    ----------
    period : envq.periods.Period or str
        The period asked for.
    span : str, Period or None
        What the data covers (``2019-01-01..2019-01-10``), None when there is no data at all.
    what : str
        Which data (``air city days``, ``water readings``, ``reach xiang-main``).

    >>> str(NoDataError("2018", "2019-01-01..2019-01-10"))
    'period 2018 has no data; the data covers 2019-01-01..2019-01-10'
    """

    def __init__(self, period, span=None, what: str = ""):
        self.period = period
        self.span = span
        self.what = what
        p = str(period)
        days = ""
        if hasattr(period, "start") and getattr(period, "kind", "") not in ("range", "day"):
            days = f" ({period.start}..{period.end})"
        lead = f"{what}: " if what else ""
        covers = f"the data covers {span}" if span is not None else "there is no data at all"
        super().__init__(f"{lead}period {p}{days} has no data; {covers}")

    def __reduce__(self):
        return (type(self), (self.period, self.span, self.what))


#: The errors a user can fix (exit code 2 in the command line); anything else is internal.
USER_ERRORS = (InputError, UsageError, NoDataError)
