"""Readers for envq's data sources, one module per source (parse at the edge).

Air (the canonical hourly air dataset, see :func:`read_cnemc_archive`):

- :mod:`envq.sources.cnemc_archive` -- CNEMC archive daily files ``china_sites_YYYYMMDD.csv``
- :mod:`envq.sources.cnemc_live` -- CNEMC live hourly CSV and the older JSON/GeoJSON feed
- :mod:`envq.sources.station_list` -- the national air-station list

Every reader fails on bad input with :class:`envq.errors.InputError` (re-exported here), whose
message names the file, row, field and value.
"""

from envq.errors import InputError, UnknownStationWarning
from envq.sources.cnemc_archive import list_archive_files, read_cnemc_archive
from envq.sources.cnemc_live import read_cnemc_live
from envq.sources.station_list import attach_station_coords, hunan_stations, read_station_list

__all__ = [
    "InputError",
    "UnknownStationWarning",
    "read_cnemc_archive",
    "list_archive_files",
    "read_cnemc_live",
    "read_station_list",
    "hunan_stations",
    "attach_station_coords",
]
