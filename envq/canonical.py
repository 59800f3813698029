"""Canonical names and units of envq's air data, defined once.

Every reader parses into these names and units at the edge (style guide §5); every engine reads
them. Concentrations [ug/m3], CO [mg/m3], at the states GB 3095 prescribes (gases at the reference
state 298.15 K / 1013.25 hPa since 2018-09-01, particles at actual conditions).
"""

__all__ = ["AIR_POLLUTANTS", "AIR_UNITS"]

#: The six pollutants of the canonical hourly dataset, in its order (the ``pollutant`` coordinate).
AIR_POLLUTANTS: tuple[str, ...] = ("pm25", "pm10", "so2", "no2", "co", "o3")

#: Canonical unit of each pollutant.
AIR_UNITS: dict[str, str] = {"pm25": "ug/m3", "pm10": "ug/m3", "so2": "ug/m3", "no2": "ug/m3",
                             "co": "mg/m3", "o3": "ug/m3"}
