"""``make demo``: the main job on the bundled real data.

Air: Hunan's 2019 good-air-day ratios (优良天数比例) per city and for the province, by month and
for the year, from the real CNEMC station-hourly archive, exactly as HJ 633-2012 / HJ 663 define
them. Water (when the water engine is present): July and August 2026 Class III compliance.
Tables are written as CSV into the output folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import pandas as pd

from envq.air.pipeline import default_data_dir
from envq.tables import write_csv

AIR_EXTRACT = "air/hunan_sites_2019_wide.csv.gz"


def run_air(data_dir: Path, out: Path) -> str:
    from envq.air.tables import city_days_table
    from envq.air.pipeline import city_days_from_hourly, read_air
    from envq.air.rates import good_day_rates, monthly_rates, period_air_statistics
    from envq.periods import parse_period

    t0 = time.perf_counter()
    hourly = read_air(data_dir / AIR_EXTRACT)
    city_days, _, screened = city_days_from_hourly(hourly)
    year = good_day_rates(city_days, "2019", by="both")
    months = monthly_rates(city_days, 2019, by="both")
    stats = period_air_statistics(city_days, "2019")
    elapsed = time.perf_counter() - t0
    write_csv(stats, out / "air_2019_city_statistics.csv")

    write_csv(year, out / "air_2019_good_day_rates_year.csv")
    write_csv(months, out / "air_2019_good_day_rates_monthly.csv")
    write_csv(city_days_table(city_days), out / "air_2019_city_days.csv")
    write_csv(screened, out / "air_2019_screened_values.csv")

    table = months.pivot(index="name", columns="period", values="good_day_ratio")
    table.columns = [f"{parse_period(c).start.month:02d}" for c in table.columns]
    yr = year.set_index("name")
    table["2019"] = yr["good_day_ratio"]
    table["有效天 valid"] = yr["valid_days"]
    table["优良天 good"] = yr["good_days"]
    table["目标 target"] = yr["target"]
    table["达标 met"] = yr["target_met"].map({True: "是 yes", False: "否 no"})
    order = list(year.loc[year["scope"] == "city", "name"]) + ["湖南省"]
    table = table.loc[order]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        text = table.to_string(float_format=lambda v: f"{v:.1f}")
    prov = year[year["scope"] == "province"].iloc[0]
    return (
        "湖南省 2019 优良天数比例 (good-air-day ratio, %) by month and year — HJ 633-2012 daily AQI, "
        "HJ 663 daily values, city = mean of assessment stations; a day counts when PM2.5 and O3 are valid\n"
        f"{text}\n"
        f"Province (mean of {int(prov['n_cities'])} city ratios): {prov['good_day_ratio']:.1f}% "
        f"against a target of {prov['target']:.0f}% -> {'met' if prov['target_met'] else 'not met'}; "
        f"strict rule (all six pollutants): {prov['good_day_ratio_all_six']:.1f}% on "
        f"{int(prov['valid_days_all_six'])} of {int(prov['valid_days'])} valid city-days.\n"
        f"Screened hourly values: {len(screened)}. Computed in {elapsed:.1f} s."
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m envq.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--output", default="demo-output", help="folder for the CSV tables")
    ap.add_argument("--data", default=None, help="bundled data folder (default: the repository's data/)")
    args = ap.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data) if args.data else default_data_dir()
    print(run_air(data_dir, out))
    if importlib.util.find_spec("envq.water.demo") is not None:
        from envq.water import demo as water_demo

        print()
        print(water_demo.run(out))
    print(f"\nTables written to {out.resolve()}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
