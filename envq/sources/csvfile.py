"""CSV tables: the checks every CSV reader of :mod:`envq.sources` makes before parsing.

:func:`open_csv` reads a file's text (:func:`envq.sources.files.read_text`) and checks it as a
table, so that no reader can take a damaged file for data:

- the header: present, no empty name, the required columns, no name twice (readers that accept
  repeated columns say so), a file separated by ``;``, a tab or ``|`` named as such;
- every row has as many fields as the header: a short row (a file cut off mid-row, a lost
  separator) names the row and the fields it lacks, and a file that does not end with a line
  break is checked for a cut last row; a long row names the row;
- no field longer than :data:`MAX_FIELD_CHARS` characters (a 30 MB value is refused before
  parsing, so it can never ask for a huge array);
- at least one data row: a header-only file is "FILE has a header but no data rows".

Line endings are normalised (CRLF and CR become LF); row numbers are 1-based lines of the file,
the header being line 1. The checks are vectorised over the file's bytes (a CSV without quotes)
or use :mod:`csv` (quoted fields).

What cannot be checked: a CSV cut exactly at the end of a row, or inside the last field of its
last row, is a shorter file of whole rows. Gzip files carry their own end marker
(:mod:`envq.sources.files` refuses a truncated one); the http source refuses a body shorter than
its ``Content-Length``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from envq.errors import InputError, shorten
from envq.sources.files import read_text

__all__ = [
    "MAX_FIELD_CHARS",
    "CsvText",
    "open_csv",
    "check_csv",
    "normalise_newlines",
    "require_columns",
    "separator_hint",
    "read_csv_text",
    "read_csv_table",
    "no_rows_error",
]

#: Longest field accepted, in characters (CNEMC fields are under 40; a note or a URL under 1,000).
MAX_FIELD_CHARS = 1000

_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclass(frozen=True)
class CsvText:
    """A checked CSV file: its text (LF line endings) and header names (stripped)."""

    text: str
    names: list


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR line endings as LF (pandas and the checks then count the same lines)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _header(path, text: str) -> list[str]:
    if not text.strip():
        raise InputError(path, None, None, "", "is empty: the file has no header")
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise InputError(path, 1, None, "", "is an empty first line: the header must be on line 1")
    if len(first) > MAX_FIELD_CHARS * 64:
        raise InputError(path, 1, None, first, f"is a header of {len(first):,} characters: not a CSV header")
    return [n.strip() for n in next(csv.reader([first]))]


def separator_hint(names: list[str]) -> str | None:
    """What to do when a header of one column holds another separator (``;``, tab, ``|``)."""
    if len(names) == 1:
        for sep, what in _SEPARATORS.items():
            if sep in names[0]:
                return f"the file is separated by {what}, not commas: save it as comma-separated CSV"
    return None


def require_columns(path, found, required, *, text_hint: str | None = None) -> None:
    """Raise an :class:`InputError` naming the missing columns and the ones found."""
    missing = [c for c in required if c not in found]
    if not missing:
        return
    shown = [shorten(str(c), 40) for c in found[:12]] + ([f"... ({len(found)} columns in all)"] if len(found) > 12 else [])
    problem = (
        f"is the header, which lacks the required column(s) {', '.join(missing)} "
        f"(required: {', '.join(required)}; found: {', '.join(shown)})"
    )
    hint = text_hint or separator_hint([str(c) for c in found])
    if hint:
        problem += f"; {hint}"
    raise InputError(path, 1, ", ".join(missing), ",".join(map(str, found[:12])), problem)


def _check_names(path, first: str, names: list[str], required, *, repeats_ok: bool, empty_ok: bool) -> None:
    require_columns(path, names, required)
    if not empty_ok:
        for i, n in enumerate(names):
            if n == "":
                raise InputError(path, 1, None, first, f"has an empty column name (column {i + 1})")
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen and n != "" and (not repeats_ok or n in required):
            raise InputError(path, 1, n, n, f"names columns {seen[n] + 1} and {i + 1}: a column name may appear once")
        seen.setdefault(n, i)


def _lacks(names: list[str], k: int) -> str:
    missing = names[k:]
    shown = ", ".join(shorten(n, 30) for n in missing[:6])
    return shown + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")


def _row_error(path, names, line_no: int, line: str, k: int, *, last_unterminated: bool) -> InputError:
    n = len(names)
    if k < n:
        problem = f"has {k} field{'s' * (k != 1)} where the header has {n}: it lacks {_lacks(names, k)}"
        if last_unterminated:
            problem += ("; the file ends in this row without a line break: it was cut off (an interrupted "
                        "download or copy?); fetch or copy it again")
        else:
            problem += " (a cut row or a lost separator)"
        return InputError(path, line_no, names[k] or None, line, problem)
    return InputError(path, line_no, None, line, f"has {k} fields where the header has {n}")


def _field_error(path, names, line_no: int, col: int, value: str) -> InputError:
    field = names[col] if col < len(names) else None
    return InputError(path, line_no, field or None, value,
                      f"is {len(value):,} characters long, more than the {MAX_FIELD_CHARS:,} envq accepts in a field")


def _check_rows_plain(path, text: str, names: list[str]) -> int:
    """Field counts and sizes of a CSV without quotes, vectorised over its bytes; the number of
    data rows (non-blank lines after the header)."""
    raw = text.encode("utf-8")
    b = np.frombuffer(raw, dtype=np.uint8)
    delim = np.flatnonzero((b == 0x2C) | (b == 0x0A))  # ',' and '\n'
    nl_at = np.flatnonzero(b[delim] == 0x0A)  # index in `delim` of each '\n'
    nl = delim[nl_at]
    unterminated = bool(len(raw)) and raw[-1:] != b"\n"
    # lines: [start, end) in bytes; the last line ends at len(raw) when unterminated
    ends = np.append(nl, len(raw)) if unterminated else nl
    starts = np.r_[0, nl + 1][: len(ends)]
    if len(ends) < 2:
        return 0
    # fields of a line = its commas + 1 = delimiters between two line breaks
    ends_at = np.append(nl_at, len(delim)) if unterminated else nl_at
    counts = np.diff(np.r_[-1, ends_at])
    blank = ends == starts
    data = np.arange(len(ends)) >= 1
    # field sizes (bytes >= characters: check the candidates exactly); no line longer than the
    # limit, no field longer either
    if (ends - starts).max() > MAX_FIELD_CHARS:
        bounds = np.r_[-1, delim, len(raw)]
        sizes = np.diff(bounds) - 1
        for j in np.flatnonzero(sizes > MAX_FIELD_CHARS):
            value = raw[bounds[j] + 1: bounds[j + 1]].decode("utf-8", errors="replace")
            if len(value) > MAX_FIELD_CHARS:
                pos = bounds[j] + 1
                line = int(np.searchsorted(nl, pos, side="right"))
                col = int(np.count_nonzero((delim >= starts[line]) & (delim < pos))) if line < len(starts) else 0
                raise _field_error(path, names, line + 1, col, value)
    bad = np.flatnonzero(data & ~blank & (counts != len(names)))
    if bad.size:
        i = int(bad[0])
        line = raw[starts[i]:ends[i]].decode("utf-8", errors="replace")
        raise _row_error(path, names, i + 1, line, int(counts[i]),
                         last_unterminated=(i == len(ends) - 1 and unterminated))
    return int(np.count_nonzero(data & ~blank))


def _check_rows_quoted(path, text: str, names: list[str]) -> int:
    """As :func:`_check_rows_plain` for a CSV with quoted fields (Python's csv reader)."""
    reader = csv.reader(io.StringIO(text))
    n_rows, prev_line = 0, 0
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # sizes are checked here, with the row and field
    try:
        for row in reader:
            line_no, prev_line = prev_line + 1, reader.line_num
            if line_no == 1 or not row:
                continue
            for col, value in enumerate(row):
                if len(value) > MAX_FIELD_CHARS:
                    raise _field_error(path, names, line_no, col, value)
            if len(row) != len(names):
                last = reader.line_num == text.count("\n") + (0 if text.endswith("\n") else 1)
                raise _row_error(path, names, line_no, ",".join(row), len(row),
                                 last_unterminated=last and not text.endswith("\n"))
            n_rows += 1
    except csv.Error as exc:
        line_no = prev_line + 1
        lines = text.split("\n", line_no)
        line = lines[line_no - 1] if len(lines) >= line_no else ""
        raise InputError(path, line_no, None, line, f"cannot be read as CSV ({exc}): an unclosed quote?") from None
    finally:
        csv.field_size_limit(limit)
    return n_rows


def check_csv(path, text: str, required=(), *, repeats_ok: bool = False, empty_names_ok: bool = False,
              header_check=None, rows_required: bool = True) -> list[str]:
    """Check a CSV's text (LF line endings) as a table; its header names.

    Parameters
    ----------
    path : str or os.PathLike
        For the messages.
    text : str
        The file's text, line endings normalised (:func:`normalise_newlines`).
    required : sequence of str
        Columns the header must have (each once).
    repeats_ok : bool
        Other columns may repeat (the archive's station columns: the reader checks them).
    empty_names_ok : bool
        Columns without a name are accepted.
    header_check : callable, optional
        Called with the header names before the rows are checked (a reader's own header rules,
        so that a wrong header is reported before anything else).
    rows_required : bool, default True
        A header without data rows is an error ("FILE has a header but no data rows").

    Raises
    ------
    envq.errors.InputError
        See the module docstring.
    """
    names = _header(path, text)
    first = text.split("\n", 1)[0]
    _check_names(path, first, names, list(required), repeats_ok=repeats_ok, empty_ok=empty_names_ok)
    if header_check is not None:
        header_check(names)
    again = text.find("\n" + first + "\n") if first.strip() else -1
    if again >= 0:  # before the field counts: the header's fields would pass them
        row = text.count("\n", 0, again) + 2
        raise InputError(path, row, None, first, "repeats the header of row 1: files joined with their headers? "
                         "Keep the first header only")
    n_rows = (_check_rows_quoted if '"' in text else _check_rows_plain)(path, text, names)
    if n_rows == 0 and rows_required:
        raise no_rows_error(path)
    return names


def no_rows_error(path) -> InputError:
    """The error of a file (or sheet) with a header but no data rows."""
    return InputError(path, None, None, None, "has a header but no data rows")


def open_csv(path, encoding: str | None = "utf-8", required=(), *, repeats_ok: bool = False,
             empty_names_ok: bool = False, header_check=None, rows_required: bool = True) -> CsvText:
    """Read and check a CSV file (:func:`check_csv`): its text and header names."""
    text = normalise_newlines(read_text(path, encoding))
    return CsvText(text, check_csv(path, text, required, repeats_ok=repeats_ok, empty_names_ok=empty_names_ok,
                                   header_check=header_check, rows_required=rows_required))


def read_csv_text(path, text: str, dtype=None, *, na_values=None) -> pd.DataFrame:
    """pandas.read_csv of a checked CSV text, one frame row per file line (blank lines kept).

    With ``na_values`` those cells become NaN; without, every cell stays text (empty as "").
    """
    try:
        return pd.read_csv(
            io.StringIO(text),
            dtype=dtype,
            keep_default_na=False,
            na_values=na_values,
            na_filter=na_values is not None,
            skip_blank_lines=False,
            low_memory=False,
            index_col=False,
        )
    except pd.errors.EmptyDataError:
        raise InputError(path, None, None, "", "is empty: the file has no header") from None
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if not m:
            raise InputError(path, None, None, None, f"cannot be parsed as CSV ({shorten(str(exc), 200)})") from None
        n_header, line, n_seen = map(int, m.groups())
        bad_line = text.split("\n", line)[line - 1] if line >= 1 else ""
        raise InputError(path, line, None, bad_line, f"has {n_seen} fields where the header has {n_header}") from None


def read_csv_table(path, encoding: str | None = "utf-8", required=(), *, header_check=None,
                   rows_required: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """A checked CSV file as ``(frame of strings, file line of each row)``.

    Column names are stripped, empty cells are "". Rows are the non-blank lines, in file order;
    their line numbers count the header as line 1. Raises :class:`envq.errors.InputError` as
    :func:`check_csv`.
    """
    f = open_csv(path, encoding, required, header_check=header_check, rows_required=rows_required)
    df = read_csv_text(path, f.text, dtype=str)
    df.columns = f.names
    lines = np.arange(2, len(df) + 2)
    blank = (df.fillna("") == "").all(axis=1).to_numpy() if len(df.columns) else np.zeros(len(df), bool)
    return df[~blank].fillna("").reset_index(drop=True), lines[~blank]
