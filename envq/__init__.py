"""envq: environmental-quality monitoring aggregator for Hunan province.

Air: hourly and daily AQI (HJ 633-2012 / HJ 633-2026, chosen by date), daily values and
validity (HJ 663, GB 3095), good-air-day ratios (优良天数比例) and targets.
Water: GB 3838-2002 classes and the 2011 surface-water evaluation method.

Standards live as data in :mod:`envq.standards`; readers for each data source in
:mod:`envq.sources`. Nothing is read at import time.
"""

__version__ = "0.1.0"
