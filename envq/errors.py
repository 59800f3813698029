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

__all__ = ["InputError", "UsageError", "PeriodError", "NoDataError", "UnknownStationWarning", "USER_ERRORS",
           "EncodingGuessWarning", "shorten", "MAX_QUOTED_CHARS", "describe_os_error"]

#: At most this many characters of a value are quoted in a message (the rest is summarised).
MAX_QUOTED_CHARS = 60
#: A value is kept on the exception up to this many characters (bytes: this many bytes).
_MAX_KEPT = 1000
#: A message's problem text is kept to this many characters (its middle elided).
_MAX_PROBLEM = 600


def shorten(text, limit: int = MAX_QUOTED_CHARS):
    """``text`` (str or bytes) cut to about ``limit`` characters, saying how long it was.

    >>> shorten("x" * 30_000_000)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (30,000,000 characters)'
    >>> shorten("24")
    '24'
    """
    if not isinstance(text, (str, bytes)) or len(text) <= limit:
        return text
    unit = "characters" if isinstance(text, str) else "bytes"
    cut = text[: max(1, limit - 4)]
    return cut + ("…" if isinstance(text, str) else b"...") + (
        f" ({len(text):,} {unit})" if isinstance(text, str) else f" ({len(text):,} {unit})".encode())


def _printable(text: str) -> str:
    """Control characters (a terminal escape, a NUL...) written as escapes, never sent raw."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def _elide(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = (limit - 20) // 2
    return f"{text[:half]} … ({len(text) - 2 * half:,} characters) … {text[-half:]}"


def _quoted(value) -> str:
    if isinstance(value, (str, bytes)):
        return repr(shorten(value))
    return _printable(shorten(repr(value)))


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
        list of column names for header problems); None when the problem is the file as a
        whole (the message then reads "FILE has ..."). A very long value is kept shortened to
        1,000 characters.
    problem : str
        What is wrong with the value, phrased to follow "value '...'", e.g.
        ``"is outside 0..23"`` (or to follow the file's name when ``value`` is None).

    Notes
    -----
    Every message is bounded, whatever the file holds: at most ``MAX_QUOTED_CHARS`` (60)
    characters of the value are quoted, followed by its length; a long field name is shortened
    the same way, the problem text to 600 characters; control characters are written as escapes.

    Examples
    --------
    >>> err = InputError("data.csv", 17, "hour", "24", "is outside 0..23")
    >>> str(err)
    "data.csv: row 17, field 'hour': value '24' is outside 0..23"
    >>> err.row, err.field, err.value
    (17, 'hour', '24')
    >>> str(InputError("data.csv", None, None, "", "is empty: the file has no header"))
    "data.csv: value '' is empty: the file has no header"
    >>> str(InputError("data.csv", None, None, None, "has a header but no data rows"))
    'data.csv has a header but no data rows'
    >>> str(InputError("live.csv", 2, "area", "长" * 30_000_000, "is too long"))[:60]
    "live.csv: row 2, field 'area': value '长长长长长长长长长长长长长长长长长长长长长长"
    >>> len(str(InputError("live.csv", 2, "area", "长" * 30_000_000, "is too long"))) < 140
    True
    """

    def __init__(self, file, row, field, value, problem):
        self.file = str(file)
        self.row = None if row is None else int(row)
        self.field = None if field is None else str(field)
        if isinstance(value, str):
            value = str(value)  # plain str, not numpy.str_
        self.value = shorten(value, _MAX_KEPT) if isinstance(value, (str, bytes)) else value
        shown = value  # the message quotes the value as given (its length too), not the kept one
        self.problem = str(problem)
        where = [_printable(shorten(self.file, 300))]
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {shorten(self.field)!r}")
        problem_text = _printable(_elide(self.problem, _MAX_PROBLEM))
        if value is None:  # the file as a whole: "data.csv has a header but no data rows"
            sep = " " if len(where) == 1 else ": "
            super().__init__(where[0] + (": " + ", ".join(where[1:]) if len(where) > 1 else "") + sep + problem_text)
            return
        # "file: row 17, field 'hour': value '24' is outside 0..23"
        head = where[0] + ": " + ", ".join(where[1:]) + (": " if len(where) > 1 else "")
        super().__init__(f"{head}value {_quoted(shown)} {problem_text}")

    def __reduce__(self):  # keep the attributes through pickling (pytest-xdist, multiprocessing)
        return (type(self), (self.file, self.row, self.field, self.value, self.problem))


class EncodingGuessWarning(UserWarning):
    """A file that is not valid UTF-8 was read as GB18030 (GBK), which decodes it cleanly."""


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

def describe_os_error(exc: OSError) -> str:
    """What happened to which file and what to do, for a user (no Python class names).

    >>> describe_os_error(FileNotFoundError(2, "No such file or directory", "data/x.csv"))
    'data/x.csv: no such file or folder; check the path (a relative path starts in the current folder)'
    >>> describe_os_error(OSError(28, "No space left on device", "/srv/envq/results/x.parquet"))
    '/srv/envq/results/x.parquet: the disk is full (no space left on device); free some space and run again'
    """
    import errno

    name = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        name = f"{name} -> {exc.filename2}"
    what = {
        errno.ENOENT: "no such file or folder; check the path (a relative path starts in the current folder)",
        errno.EISDIR: "is a folder where a file is expected; give a file in it",
        errno.ENOTDIR: "is not a folder (a file stands where a folder is expected)",
        errno.EACCES: "permission denied; check the file's permissions, or run as a user who may use it",
        errno.EPERM: "operation not permitted; check the permissions of the file and its folder",
        errno.ENOSPC: "the disk is full (no space left on device); free some space and run again",
        errno.EROFS: "the file system is read-only; choose a writable folder",
        errno.EEXIST: "already exists",
        errno.ENAMETOOLONG: "the name is too long for the file system",
        errno.EDQUOT: "the disk quota is exceeded; free some space and run again",
    }.get(exc.errno)
    if what is None:
        what = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
        what = what[:1].lower() + what[1:]
    text = f"{name}: {what}" if name else what
    return _printable(shorten(text, 600))
