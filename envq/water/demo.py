"""The water part of ``make demo``: July and August 2026 Class III compliance in Hunan.

From the bundled CNEMC automatic-station readings (``data/water/hunan_water_auto_20260709_20260823
.csv.gz``: 61 sections, 2026-07-09 .. 2026-08-23, so both months are partial), computes each
section's monthly class (means of daily means, single-factor per GB 3838-2002 and the 2011 method;
lake limits for the five lake points), then the Class III compliance rate (Ⅰ~Ⅲ类水质断面比例) per
system and for the province, with the August change against July (ΔG−ΔD), the province target
(95%) and Dongting Lake's lake-wide class and trophic-state index.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from envq.tables import write_csv

__all__ = ["WATER_EXTRACT", "data_dir", "run"]

WATER_EXTRACT = "water/hunan_water_auto_20260709_20260823.csv.gz"
MONTHS = ("2026-07", "2026-08")


def data_dir() -> Path:
    """The bundled data folder (``data/`` beside ``envq/``; ``$ENVQ_SAMPLE_DATA`` overrides)."""
    from envq.sources.files import default_data_dir

    return default_data_dir()


def run(output_dir: Path, *, data: Path | None = None) -> str:
    """Compute the July and August 2026 compliance tables, write them as CSV, return a summary.

    Parameters
    ----------
    output_dir : pathlib.Path
        Folder for ``water_2026_rates.csv`` (per system and province, both months),
        ``water_2026_sections.csv`` (class of every section per month),
        ``water_2026_dongting_lake.csv`` and ``water_2026_screened_values.csv``.
    data : pathlib.Path, optional
        Bundled data folder (default :func:`data_dir`).

    Returns
    -------
    str
        A printable summary.
    """
    from envq.display import pad
    from envq.sources.cnemc_water import read_cnemc_water, to_long
    from envq.targets import published
    from envq.water.classify import class_name
    from envq.water.groups import compare_periods, group_rates, section_table
    from envq.water.lakes import lake_assessment
    from envq.water.periods import period_values
    from envq.water.registry import load_registry
    from envq.water.screen import screen

    t0 = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = (data or data_dir()) / WATER_EXTRACT
    readings = read_cnemc_water(path)
    long, screened = screen(to_long(readings))
    reg = load_registry()

    rates, sections, lakes = {}, [], []
    for m in MONTHS:
        pv = period_values(long, m)
        sec, unknown = section_table(pv, reg)
        sections.append(sec)
        by_sys = group_rates(sec, by="system")
        prov = group_rates(sec, by="province")
        rates[m] = pd.concat([by_sys, prov], ignore_index=True)
        lakes.append(lake_assessment(pv, reg))
    aug = compare_periods(rates[MONTHS[1]], rates[MONTHS[0]])
    table = pd.concat([rates[MONTHS[0]], aug], ignore_index=True)
    elapsed = time.perf_counter() - t0

    write_csv(table.round(2), output_dir / "water_2026_rates.csv")
    keep = ["section", "period", "class", "class_name", "status", "main_pollutants", "tn_class", "target_class",
            "meets_target", "system_name", "river_name", "city_name", "is_lake", "has_coordinates",
            "location_confidence", "coordinate_note", "source_kind", "n_readings", "ph", "do", "codmn", "nh3n",
            "tp", "tn"]
    secs = pd.concat(sections, ignore_index=True)
    write_csv(secs[[c for c in keep if c in secs]], output_dir / "water_2026_sections.csv")
    write_csv(pd.concat(lakes, ignore_index=True).round({"tli": 2}), output_dir / "water_2026_dongting_lake.csv")
    write_csv(screened, output_dir / "water_2026_screened_values.csv")

    jul = rates[MONTHS[0]].set_index(["group", "name"])
    augi = aug.set_index(["group", "name"])
    lines = [pad("group", 22) + "".join(pad(h, w, True) for h, w in (
        ("Jul n", 7), ("Jul I-III %", 13), ("Jul status", 12), ("Aug n", 7), ("Aug I-III %", 13),
        ("Aug status", 12))) + "   change (ΔG−ΔD; status level below 5 sections)"]
    for key in augi.index:
        a = augi.loc[key]
        name = key[1] if key[0] != "province" else f"{key[1]} (province)"
        cells = []
        for r in (jul.loc[key] if key in jul.index else None, a):
            cells += ["", "", ""] if r is None else [int(r["sections"]), f"{published(r['i_iii_share']):.1f}", r["status"]]
        widths = (7, 13, 12, 7, 13, 12)
        lines.append(pad(name, 22) + "".join(pad(c, w, True) for c, w in zip(cells, widths)) + f"   {a['change']}")
    pj = jul.loc[("province", "湖南省")]
    pa = augi.loc[("province", "湖南省")]
    lk = pd.concat(lakes, ignore_index=True)
    lk = lk[lk["scope"] == "lake"]
    lake_txt = "; ".join(f"{r.period}: class {r.class_name} ({r.status}), TN class {class_name([r.tn_class])[0]}, "
                         f"TLI {r.tli:.1f} {r.trophic_state}" for r in lk.itertuples())
    return (
        "湖南省 2026 Class III compliance (Ⅰ~Ⅲ类水质断面比例) by system, national automatic stations\n"
        "GB 3838-2002 single-factor class of monthly means (daily means of readings), 21 items as measured "
        "(pH, DO, CODMn, NH3-N, TP); lake limits for 5 lake points; TN not in the class.\n"
        "Data 2026-07-09..08-23: July and August are partial months. System names from the best-effort "
        "registry ('unknown' = not identified; a trailing ? in the registry marks an inference).\n"
        + "\n".join(lines) + "\n"
        f"Province: July {published(pj['i_iii_share']):.1f}% ({int(pj['sections_i_iii'])}/{int(pj['sections'])}), "
        f"August {published(pa['i_iii_share']):.1f}% ({int(pa['sections_i_iii'])}/{int(pa['sections'])}); "
        f"target {pa['i_iii_target']:.0f}%: July {'met' if pj['target_met'] else 'not met'}, "
        f"August {'met' if pa['target_met'] else 'not met'}; 劣V share July {published(pj['worse_v_share']):.1f}%, "
        f"August {published(pa['worse_v_share']):.1f}%.\n"
        f"Dongting Lake (4 points, lake limits, TLI without SD: weights renormalised): {lake_txt}.\n"
        f"Screened values: {len(screened)}. Computed in {elapsed:.1f} s."
    )
