"""Command-line options shared by every command group: the period (``--period``, ``--through``).

Every command that takes a period takes the same grammar (:mod:`envq.periods`); the engines'
command modules (``envq.air.cli``, ``envq.water.cli``, ...) and the packages above envq import
these, never ``envq.cli`` (which sits above them).
"""

from __future__ import annotations

import argparse

__all__ = ["add_period_options", "period_from_args"]


def add_period_options(parser: argparse.ArgumentParser, *, required: bool = True, help: str | None = None) -> None:
    """``--period`` (the grammar of :mod:`envq.periods`) and ``--through`` (the last day of a year
    to date), the same in every command."""
    from envq.periods import GRAMMAR

    parser.add_argument("--period", required=required, metavar="PERIOD",
                        help=(help + "; " if help else "") + GRAMMAR)
    parser.add_argument("--through", default=None, metavar="YYYY-MM-DD", type=_day,
                        help="last day of a year to date (PERIOD 2019-YTD); default the data's last day")


def period_from_args(args):
    """The :class:`envq.periods.Period` of ``--period`` / ``--through`` (None without a period);
    a wrong one is a usage error (:class:`envq.errors.PeriodError`), raised before any data is read."""
    from envq.periods import parse_period

    text = getattr(args, "period", None)
    return None if text is None else parse_period(text, through=getattr(args, "through", None))


def _day(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None
