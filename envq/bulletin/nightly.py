"""The bulletins a run publishes (docs/bulletin.md, "The nightly run").

Every night the run publishes the bulletin of the month to date (the month of the night's day);
the first run of a month also publishes the final bulletin of the month before: the first run
that finds results of that month in the store and no final bulletin of it among the store's
reports (``reports/bulletin-<YYYY-MM>.md``, written by the flow when it publishes one). A night
that was missed does not lose the final bulletin: the next run publishes it.

Only the store is read: the figures are the results the run has just written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from envq.bulletin.build import PARTS, build_bulletin
from envq.bulletin.model import Bulletin
from envq.bulletin.output import bulletin_markdown
from envq.bulletin.results import StoredResults
from envq.bulletin.words import period_zh
from envq.periods import Period, parse_period

__all__ = ["RunBulletin", "parts_with_results", "run_bulletins", "final_report_name", "LATEST_REPORT"]

#: The store report holding the latest month-to-date bulletin (Markdown).
LATEST_REPORT = "bulletin"


def final_report_name(period: Period) -> str:
    """The store report of the final bulletin of *period*: ``bulletin-2026-07``."""
    return f"bulletin-{period.label}"


@dataclasses.dataclass
class RunBulletin:
    """A bulletin a run publishes: ``kind`` (``month-to-date``, ``final``, or ``period`` for one
    asked for), the bulletin, its Markdown, and the store report to keep it under ("" for none)."""

    kind: str
    bulletin: Bulletin
    markdown: str
    report: str

    @property
    def period(self) -> Period:
        return self.bulletin.period

    @property
    def artifact_key(self) -> str:
        """The Prefect artifact key: ``envq-bulletin`` (month to date), ``envq-bulletin-final``,
        ``envq-bulletin-<period>`` (one asked for)."""
        if self.kind == "period":
            return f"envq-bulletin-{self.period.label.lower()}"
        return "envq-bulletin" if self.kind == "month-to-date" else "envq-bulletin-final"


def parts_with_results(store, period, parts=PARTS) -> list[str]:
    """The parts (of *parts*) whose rates the store holds for *period* (``air_rates``,
    ``water_rates``)."""
    results = StoredResults(store)
    p = parse_period(period)
    return [part for part in parts if results.get(f"{part}_rates", p) is not None]


def _final_published(store, period: Period) -> bool:
    from envq.store.errors import StoreError

    try:
        store.read_report(final_report_name(period))
    except StoreError:
        return False
    return True


def run_bulletins(store, day: dt.date | None, parts=PARTS, *, periods=(), generated: str | None = None
                  ) -> list[RunBulletin]:
    """The bulletins a run publishes, from the store.

    For a nightly run's *day*: the month to date of *day*'s month (for the parts with results),
    preceded by the final bulletin of the month before when the store holds its results and no
    final bulletin of it was published (the first run of a month). For each of *periods* (any
    run): its bulletin (kind ``period``) for the parts the store holds results of. Nothing for a
    period without results.
    """
    out: list[RunBulletin] = []
    if day is not None:
        month = Period.month_of(day.year, day.month)
        before = month.previous()
        held = parts_with_results(store, before, parts)
        if held and not _final_published(store, before):
            b = build_bulletin(store, before, parts=held, generated=generated)
            out.append(RunBulletin("final", b, bulletin_markdown(b), final_report_name(before)))
        held = parts_with_results(store, month, parts)
        if held:
            b = build_bulletin(store, month, parts=held, generated=generated,
                               title=f"湖南省{period_zh(month)}环境质量状况（截至{day.month}月{day.day}日）")
            out.append(RunBulletin("month-to-date", b, bulletin_markdown(b), LATEST_REPORT))
    for p in map(parse_period, periods):
        held = parts_with_results(store, p, PARTS)
        if held:
            b = build_bulletin(store, p, parts=held, generated=generated)
            out.append(RunBulletin("period", b, bulletin_markdown(b), ""))
    return out
