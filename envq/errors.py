"""Exceptions raised by envq.

Every reader in :mod:`envq.sources` fails on bad input with :class:`InputError`, whose message
names the file, the row, the field and the offending value, so that a user can find and fix the
problem without reading envq's source.
"""

from __future__ import annotations

__all__ = ["InputError", "UnknownStationWarning"]


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
