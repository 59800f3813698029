"""The parts of a run (``air``, ``water``): what differs between them, in one place.

A :class:`Part` knows how to tell whether pulled data holds anything, which natural days it
touches, how to upsert it into the store and read it back, which library functions compute its
results and its rates by river basin, and which of its tables the headline and the artifacts
read. The flows loop over parts; they never branch on a part's name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from envq.periods import Period

__all__ = ["Part", "AIR", "WATER", "PARTS", "part"]


@dataclasses.dataclass(frozen=True)
class Part:
    """One part of a run; :data:`AIR` and :data:`WATER` are the two."""

    name: str

    # ---------------------------------------------------------------- pulled data
    def has_data(self, data) -> bool:
        raise NotImplementedError

    def days_of(self, data) -> list[dt.date]:
        """The natural days of pulled data, sorted."""
        raise NotImplementedError

    def shape(self, data) -> str:
        raise NotImplementedError

    # ---------------------------------------------------------------- the store
    def upsert(self, store, data, *, run_id: str) -> pd.DataFrame:
        raise NotImplementedError

    def read(self, store, start: dt.date, end: dt.date, *, chunks=None):
        raise NotImplementedError

    def read_start(self, year: int, periods: list[Period]) -> dt.date:
        """The first day a computation of *periods* of *year* reads."""
        return dt.date(year, 1, 1)

    # ---------------------------------------------------------------- results
    def results(self, data, periods: list[Period]) -> dict[str, pd.DataFrame]:
        raise NotImplementedError

    def basin_rates(self, data, periods: list[Period]) -> pd.DataFrame:
        """Rates by river basin of *periods* and of the years to date beside them (the
        bulletins' 1-M月累计, filed like the other results: :func:`envq.report.with_year_to_date`)."""
        raise NotImplementedError

    #: True when :meth:`results` already holds the basin rates (``basin_name``), computed from
    #: the same daily values; the flow then runs no basin-rates task for the part.
    basins_in_results = False

    @property
    def rates_name(self) -> str:
        """The result the headline and the artifact table read (``air_rates``, ``water_rates``)."""
        return f"{self.name}_rates"

    @property
    def basin_name(self) -> str:
        return f"{self.name}_basin_rates"

    @property
    def screened_name(self) -> str:
        return f"{self.name}_screened"


class _Air(Part):
    def has_data(self, data) -> bool:
        return bool(data.sizes.get("time", 0))

    def days_of(self, data) -> list[dt.date]:
        from envq.air.daily import natural_day  # hour-ending labels: 00:00 closes the day before

        return list(pd.Index(natural_day(data["time"].values).unique()).sort_values().date)

    def shape(self, data) -> str:
        return f"{data.sizes.get('station', 0)} stations x {data.sizes.get('time', 0)} hours"

    def upsert(self, store, data, *, run_id: str) -> pd.DataFrame:
        return store.upsert_air(data, source=self.name, run_id=run_id)

    def read(self, store, start, end, *, chunks=None):
        return store.read_air(start, end, chunks=chunks)

    basins_in_results = True

    def results(self, data, periods):
        # the basin rates from the station daily values of the city results (no second
        # screening and daily pass); station-to-basin membership joined once per pack version
        from envq import report
        from geo.areas import station_labels

        return report.air_results(data, periods, areas={self.basin_name: ("basin", station_labels(data, "basins"))})

    def basin_rates(self, data, periods):
        from envq.report import with_year_to_date
        from geo.areas import air_rates_by_area

        return air_rates_by_area(data, "basins", with_year_to_date(periods), scope="basin", skip_empty=True)


class _Water(Part):
    def has_data(self, data) -> bool:
        return bool(len(data))

    def days_of(self, data) -> list[dt.date]:
        t = pd.DatetimeIndex(data["time"]) if len(data) else pd.DatetimeIndex([])
        return list(pd.Index(t.normalize().unique()).sort_values().date)

    def shape(self, data) -> str:
        return f"{len(data)} readings"

    def upsert(self, store, data, *, run_id: str) -> pd.DataFrame:
        return store.upsert_water(data, source=self.name, run_id=run_id)

    def read(self, store, start, end, *, chunks=None):
        return store.read_water(start, end)

    def read_start(self, year, periods):
        # the river-chief reaches compare each period with the one before (环比): read from there
        starts = [p.previous().start for p in periods if p.previous() is not None]
        return min([dt.date(year, 1, 1), *starts])

    def results(self, data, periods):
        from envq import report

        return report.water_results(data, periods)

    def basin_rates(self, data, periods):
        from envq.report import with_year_to_date
        from envq.water.screen import screen
        from geo.areas import water_rates_by_area

        long, _ = screen(data)
        return water_rates_by_area(long, "basins", with_year_to_date(periods), scope="basin", skip_empty=True)


AIR = _Air("air")
WATER = _Water("water")
#: The parts, in the order a run takes them.
PARTS = {p.name: p for p in (AIR, WATER)}


def part(name: str) -> Part:
    """The part called *name*."""
    return PARTS[name]
