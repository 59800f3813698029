"""``make demo`` (geometry part): joins and rates by river basin on the bundled real data.

Prints how the 82 air stations and 61 water sections fall in the pack's cities, counties and
basins, then the 2019 good-air-day ratio and the July/August 2026 Class III compliance of each
basin (湘江, 资水, 沅江, 澧水, 洞庭湖区), through the one join-then-aggregate path of
:mod:`geo.areas`. Tables are written as CSV into the output folder.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

from envq.tables import write_csv

AIR = "air/hunan_sites_2019_wide.csv.gz"
WATER = "water/hunan_water_auto_20260709_20260823.csv.gz"


def run(out: Path, data_dir: Path) -> str:
    from envq.air.pipeline import read_air
    from envq.targets import published
    from envq.water.cli import load_inputs
    from geo import joins, pack
    from geo.areas import air_rates_by_area, water_rates_by_area

    stations = joins.join_stations()
    sections = joins.join_sections()
    write_csv(stations, out / "geo_station_joins.csv")
    write_csv(sections, out / "geo_section_joins.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unknown-station notice is printed by the air part
        hourly = read_air(data_dir / AIR)
    air = air_rates_by_area(hourly, "basins", "2019").set_index("name")
    long = load_inputs([data_dir / WATER])[0]
    water = {p: water_rates_by_area(long, "basins", p).set_index("name") for p in ("2026-07", "2026-08")}
    rows = []
    for name in pack.layer("basins")["name"]:
        if name not in air.index and name not in water["2026-07"].index:
            continue
        row = {"流域 basin": name}
        if name in air.index:
            a = air.loc[name]
            row |= {"空气站 stations": int(a["stations"]), "2019 优良天数比例 %": a["good_day_ratio"],
                    "优良/有效 days": f"{int(a['good_days'])}/{int(a['valid_days'])}"}
        for p, w in water.items():
            if name in w.index:
                r = w.loc[name]
                row[f"{p} Ⅰ~Ⅲ类 %"] = f"{published(r['i_iii_share']):.1f} ({int(r['sections_i_iii'])}/{int(r['sections'])})"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("流域 basin")
    write_csv(table, out / "geo_basin_rates.csv", index=True)
    checks = sections["check"].value_counts()
    look = joins.section_checks(sections)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        text = table.to_string(na_rep="")
    return (
        f"Geometry joins: {int(stations['agrees'].sum())} of {len(stations)} air stations lie in the city the "
        f"station list names; water sections: " + ", ".join(f"{k} {v}" for k, v in checks.items()) + "\n"
        "Sections to look at (registry kept): " + ", ".join(look["section"]) + "\n"
        "Rates by river basin (county-union basins, geo/data/county_systems.csv):\n" + text
    )


def main(argv=None) -> int:
    from envq.air.pipeline import default_data_dir

    ap = argparse.ArgumentParser(prog="python -m geo.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--output", default="demo-output")
    ap.add_argument("--data", default=None)
    args = ap.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    print(run(out, Path(args.data) if args.data else default_data_dir()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
