"""Surface water: GB 3838-2002 classes and the 2011 evaluation method (环办〔2011〕22号).

The numbers live in ``envq/standards/gb3838_2002.yaml``; these modules apply them:

* :mod:`envq.water.classify` -- item classes, section class, exceedance multiples, main
  pollutants (vectorised, exact at the limits);
* :mod:`envq.water.periods` -- daily, monthly, quarterly, half-year, annual, year-to-date and
  date-range values of any :class:`envq.periods.Period`
  (2020 statistics rule: pH via [H+] on request, GB/T 8170 rounding, non-detects);
* :mod:`envq.water.groups` -- Class III compliance rate, class shares, status, main pollutants,
  targets and change (ΔG−ΔD) for systems, rivers, cities, counties, the province, custom groups;
* :mod:`envq.water.lakes` -- lake-wide class (lake limits) and trophic-state index TLI(Σ);
* :mod:`envq.water.warning` -- sections near or above their target-class limit;
* :mod:`envq.water.registry` -- the section registry (bundled, replaceable, extendable);
* :mod:`envq.water.screen` -- plausibility screening with reasons.

Readers are in :mod:`envq.sources.cnemc_water` (automatic stations) and
:mod:`envq.sources.manual_water` (bureau data, CSV/XLSX template). Nothing is read at import time.
"""

from envq.water.classify import (
    class_table,
    classification_items,
    classify,
    exceedance_multiple,
    item_class,
    main_pollutants,
    section_class,
)
from envq.water.groups import compare_periods, evaluate, group_rates, section_table
from envq.water.lakes import lake_assessment, tli, trophic_state
from envq.water.periods import period_values
from envq.water.registry import load_registry, match_sections
from envq.water.screen import screen
from envq.water.warning import early_warning, latest_values

__all__ = [
    "class_table",
    "classification_items",
    "classify",
    "compare_periods",
    "early_warning",
    "evaluate",
    "exceedance_multiple",
    "group_rates",
    "item_class",
    "lake_assessment",
    "latest_values",
    "load_registry",
    "main_pollutants",
    "match_sections",
    "period_values",
    "screen",
    "section_class",
    "section_table",
    "tli",
    "trophic_state",
]
