"""What a bulletin is: tables (program names, Chinese headers, published decimals), the text as
the official bulletins word it, the data of its charts, and where every figure comes from.

A :class:`Bulletin` is built from stored results by :func:`envq.bulletin.build_bulletin` and
written by :mod:`envq.bulletin.output` (CSV, xlsx, Markdown) and ``maps.bulletin`` (HTML, PDF);
every writer shows the same :class:`Table` objects, so the same figure is the same in all of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd

from envq.periods import Period

__all__ = ["Table", "Section", "Bulletin"]


@dataclasses.dataclass
class Table:
    """One table of the bulletin.

    Parameters
    ----------
    key : str
        Program name (file and sheet name), e.g. ``air_cities_2019-08``.
    title : str
        The title as printed (Chinese first).
    frame : pandas.DataFrame
        The values, with program column names; numbers as numbers (NaN where there is none).
    headers : mapping
        Column -> header shown (Chinese, with the unit).
    decimals : mapping
        Column -> published decimals (display format of the xlsx, text of HTML and Markdown).
    notes : list of str
        Lines printed under the table: sources, what an empty cell means and why.
    part : str
        ``air`` or ``water``.
    """

    key: str
    title: str
    frame: pd.DataFrame
    headers: Mapping[str, str]
    decimals: Mapping[str, int]
    notes: list[str] = dataclasses.field(default_factory=list)
    part: str = ""

    def header(self, column: str) -> str:
        return str(self.headers.get(column, column))

    def text(self, column: str, value) -> str:
        """A cell as printed: the published decimals for numbers, "" for a missing value."""
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return ""
        d = self.decimals.get(column)
        if isinstance(value, bool):
            return "是" if value else "否"
        if d is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{float(value):.{d}f}"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


@dataclasses.dataclass
class Section:
    """A part of the bulletin as printed: a heading, paragraphs, then tables (by key) and charts."""

    heading: str
    paragraphs: list[str]
    tables: list[str]
    charts: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Bulletin:
    """A bulletin for *period*: sections in print order, tables by key, chart data, provenance."""

    period: Period
    title: str
    generated: str
    sections: list[Section]
    tables: dict[str, Table]
    charts: dict[str, object]
    about: list[tuple[str, str]]
    notes: list[str] = dataclasses.field(default_factory=list)

    def table_list(self) -> list[Table]:
        return list(self.tables.values())
