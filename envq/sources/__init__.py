"""Readers for envq's data sources, one module per source (parse at the edge).

Entry point: the reader dispatcher :mod:`envq.sources.dispatch` (:func:`read_air`,
:func:`read_water`), which recognises a file's format in one place and calls its reader.

Air (the canonical hourly air dataset, see :func:`read_cnemc_archive`):

- :mod:`envq.sources.cnemc_archive` -- CNEMC archive daily files ``china_sites_YYYYMMDD.csv``
- :mod:`envq.sources.cnemc_live` -- CNEMC live hourly CSV and the older JSON/GeoJSON feed
- :mod:`envq.sources.station_list` -- the national air-station list

Water (the canonical long table of readings):

- :mod:`envq.sources.cnemc_water` -- CNEMC automatic surface-water stations CSV
- :mod:`envq.sources.manual_water` -- manual (laboratory) data in envq's template, CSV or XLSX

Shared steps: :mod:`envq.sources.files` (opening files: gzip, encodings, size bounds),
:mod:`envq.sources.csvfile` (CSV checks: cut rows, huge fields, header-only files),
:mod:`envq.sources.air_dataset` (the canonical air dataset), :mod:`envq.sources.checks`.
:mod:`envq.sources.adapters` fetches the nightly run's raw files. Nothing here imports an engine
(``envq.air``, ``envq.water``, ``envq.report``, ``envq.store``).

Every reader fails on bad input with :class:`envq.errors.InputError` (re-exported here), whose
message names the file, row, field and (shortened) value.
"""

from envq.errors import InputError, UnknownStationWarning
from envq.sources.cnemc_archive import list_archive_files, read_cnemc_archive
from envq.sources.cnemc_live import read_cnemc_live
from envq.sources.dispatch import read_air, read_water, sniff_format
from envq.sources.station_list import attach_station_coords, hunan_stations, read_station_list

__all__ = [
    "InputError",
    "UnknownStationWarning",
    "read_air",
    "read_water",
    "sniff_format",
    "read_cnemc_archive",
    "list_archive_files",
    "read_cnemc_live",
    "read_station_list",
    "hunan_stations",
    "attach_station_coords",
]
