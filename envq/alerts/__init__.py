"""Warnings computed by the library each night: what needs attention, for whom.

:func:`day_warnings` reads what the store holds for a day (the engines' stored results and the
day's data) and applies the rules of :mod:`envq.alerts.rules`: water sections near or over their
target class (the early-warning engine), reaches, basins, river systems and the province below
their Ⅰ~Ⅲ target, cities below their good-air-day target or short of non-good-day budget, runs of
non-good days, and data problems (silent stations and sections, empty sources, incomplete days,
screened values). The result is one table (:data:`WARNING_COLUMNS`), which the nightly flow
stores and delivers (:mod:`envq.alerts.delivery`). Thresholds: :class:`Thresholds`
(``[warnings]`` in envq.toml); rules, thresholds and channels: docs/alerts.md.
"""

from envq.alerts.day import day_warnings, merge_day
from envq.alerts.model import RULES, SEVERITIES, WARNING_COLUMNS, Thresholds, severity_rank, sort_warnings
from envq.alerts.report import warnings_markdown

__all__ = ["day_warnings", "merge_day", "Thresholds", "WARNING_COLUMNS", "SEVERITIES", "RULES", "severity_rank",
           "sort_warnings", "warnings_markdown"]
