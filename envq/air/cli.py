"""``envq air ...``: hourly AQI, good-air-day rates, city days and screened values."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from envq.tables import write_csv

__all__ = ["register", "add_unknown_iaqi_option"]

EDITIONS = ("auto", "hj633_2012", "hj633_2026")


def _input(p: argparse.ArgumentParser, help: str | None = None) -> None:
    from envq.sources.files import add_encoding_option as encoding_option

    p.add_argument("input", help=help or "CNEMC archive file, gzip extract, or a folder of archive files")
    encoding_option(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--edition", choices=EDITIONS, default="auto",
                   help="HJ 633 edition: by date (default; 2026 edition from 2026-03-01) or forced")


def add_unknown_iaqi_option(p: argparse.ArgumentParser) -> None:
    """``--unknown-iaqi {known,possible}``: the ``unknown_iaqi`` parameter of
    :func:`envq.air.aqi.compute_aqi` (its choices are :data:`envq.air.aqi.UNKNOWN_IAQI`)."""
    from envq.air.aqi import UNKNOWN_IAQI

    p.add_argument("--unknown-iaqi", choices=tuple(UNKNOWN_IAQI), default="known",
                   help="a pollutant whose IAQI is unknown (HJ 633-2012 Table 1 notes 2-3: SO2 1-hour above 800 "
                        "without the 24-hour SO2) at an AQI of 500 (publication 5): name as primary only the "
                        "pollutants known to qualify (known, default) or also the unknown one (possible)")


def register(sub) -> None:
    from envq.cliargs import add_period_options

    air = sub.add_parser("air", help="air quality: AQI (HJ 633), daily values (HJ 663), good-air-day rates")
    cmds = air.add_subparsers(dest="air_command", metavar="COMMAND", required=True)

    p = cmds.add_parser("hourly-aqi", help="hourly (real-time) AQI of a CNEMC live or archive file")
    _input(p, "CNEMC live hourly CSV (or live JSON, archive file); an official aqi column is ignored")
    p.add_argument("--output", "-o", required=True, help="CSV: stationcode,timepoint,aqi,category,primary_pollutant,...")
    _common(p)
    p.add_argument("--variant", choices=("cnemc_platform", "standard_text"), default=None,
                   help="2012 hourly report: CNEMC platform (PM 1-hour vs 24-hour breakpoints; default) or the text (24-hour moving PM, O3 8-hour)")
    p.add_argument("--missing-rule", choices=("standard", "cnemc_platform", "available_pollutants"), default="standard",
                   help="publication with a pollutant missing: the edition's rule (default; HJ 633-2026 §5.3), "
                        "the CNEMC platform's practice, or always over the pollutants present")
    add_unknown_iaqi_option(p)
    p.add_argument("--screen", action="store_true", help="apply plausibility screening first (off: reproduce the platform)")
    p.set_defaults(func=_hourly_aqi)

    p = cmds.add_parser("rates", help="good-air-day ratio (优良天数比例) per city or for the province")
    _input(p)
    add_period_options(p)
    p.add_argument("--by", choices=("city", "province", "both"), default="city",
                   help="one row per city (default), one for the province, or both")
    p.add_argument("--output", "-o", help="CSV file (default: print)")
    _common(p)
    _city_options(p)
    p.add_argument("--province-method", choices=("mean_of_cities", "pooled"), default="mean_of_cities",
                   help="provincial ratio: mean of the city ratios (official; default) or pooled city-days")
    p.add_argument("--targets", help="CSV scope,name,year,target [%%] (or indicator,scope,name,year,target) added "
                   "over the built-in targets (envq.targets: 83%% for every city and the province)")
    p.set_defaults(func=_rates)

    p = cmds.add_parser("stats", help="HJ 663 period statistics per city: means, percentiles, composite index")
    _input(p)
    add_period_options(p)
    p.add_argument("--output", "-o", help="CSV file (default: print)")
    _city_options(p, day_rule=False)  # statistics use every valid daily value; no AQI, no day rule
    p.set_defaults(func=_stats)

    p = cmds.add_parser("city-days", help="daily AQI, category and primary pollutant of every city day")
    _input(p)
    p.add_argument("--output", "-o", required=True, help="CSV: city,date,aqi,category,primary_pollutant,...")
    _common(p)
    _city_options(p)
    p.set_defaults(func=_city_days)

    p = cmds.add_parser("screen", help="list the hourly values plausibility screening removes, with reasons")
    _input(p)
    p.add_argument("--output", "-o", help="CSV file (default: print)")
    p.set_defaults(func=_screen)


def _city_options(p, *, day_rule: bool = True) -> None:
    if day_rule:
        p.add_argument("--day-rule", choices=("pm25_o3", "all_six"), default="pm25_o3",
                       help="a city day counts when PM2.5 and O3 are valid (default) or only with all six pollutants")
    p.add_argument("--mda8-method", choices=("mean_of_station_mda8", "mda8_of_city_hourly"),
                   default="mean_of_station_mda8", help="city O3 MDA8 (see envq.air.city)")
    p.add_argument("--no-screen", action="store_true", help="skip plausibility screening")
    p.add_argument("--province", default="湖南省",
                   help="keep the stations of this province (default 湖南省; 'all' keeps every station)")


def _timepoint(t) -> np.ndarray:
    return pd.DatetimeIndex(t).strftime("%Y-%m-%dT%H%M").to_numpy()


def _hourly_aqi(args) -> int:
    from envq.air.aqi import hourly_aqi
    from envq.sources.dispatch import read_air

    ds = read_air(args.input, encoding=args.encoding)
    if args.screen:
        from envq.air.screening import DEFAULT_RULES, screen

        ds, _ = screen(ds, DEFAULT_RULES)
    ds = ds.drop_vars([v for v in ("aqi_cnemc", "primary_pollutant_cnemc") if v in ds])
    rule = None if args.missing_rule == "standard" else args.missing_rule
    res = hourly_aqi(ds, edition=args.edition, variant=args.variant, missing_rule=rule,
                     unknown_iaqi=args.unknown_iaqi)
    from envq.air.aqi import PUBLICATION

    df = pd.DataFrame({
        "stationcode": np.repeat(res["station"].values, res.sizes["time"]),
        "timepoint": np.tile(_timepoint(res["time"].values), res.sizes["station"]),
        "aqi": res["aqi"].values.ravel(),
        "category": res["category"].values.ravel(),
        "primary_pollutant": res["primary_pollutant"].values.ravel(),
        "missing_pollutants": res["missing_pollutants"].values.ravel(),
        "publication": np.array([PUBLICATION[c].split(":")[0] for c in sorted(PUBLICATION)], dtype=object)[res["publication"].values.ravel()],
    })
    # A station-hour with no value at all is a station not reporting that hour: dropped, except
    # in a one-hour file, where every listed station gets its row (aqi empty).
    if ds.sizes["time"] > 1:
        present = np.zeros(len(df), dtype=bool)
        for v in ("pm25", "pm10", "so2", "no2", "co", "o3"):
            if v in ds:
                present |= np.isfinite(ds[v].transpose("station", "time").values.ravel())
        df = df[present]
    df["aqi"] = df["aqi"].astype("Int64")
    write_csv(df, args.output)
    n = int(df["aqi"].notna().sum())
    print(f"envq: wrote {len(df)} station-hours ({n} with an AQI) to {args.output} "
          f"[{res.attrs.get('standard', res.attrs.get('edition'))}, rule: {args.missing_rule}, "
          f"unknown IAQI: {args.unknown_iaqi}]", file=sys.stderr)
    return 0


def _city_pipeline(args):
    from envq.air.pipeline import city_days_from_hourly
    from envq.sources.dispatch import read_air

    hourly = read_air(args.input, encoding=args.encoding)
    return city_days_from_hourly(hourly, edition=getattr(args, "edition", "auto"),
                                 day_rule=getattr(args, "day_rule", "pm25_o3"),
                                 mda8_method=args.mda8_method, screen=not args.no_screen,
                                 province=None if args.province == "all" else args.province)


def _write(df: pd.DataFrame, output) -> None:
    if output:
        write_csv(df, output)
        print(f"envq: wrote {len(df)} rows to {output}", file=sys.stderr)
    else:
        with pd.option_context("display.max_rows", 500, "display.width", 200):
            print(df.to_string(index=False))


def _rates(args) -> int:
    from envq.air.rates import good_day_rates
    from envq.cliargs import period_from_args
    from envq.targets import AIR, Targets

    period = period_from_args(args)  # a bad period fails before any data is read
    targets = Targets.from_csv(args.targets, indicator=AIR) if args.targets else None
    city_days, _, _ = _city_pipeline(args)
    df = good_day_rates(city_days, period, by=args.by, province_method=args.province_method,
                        targets=targets)
    _write(df, args.output)
    return 0


def _stats(args) -> int:
    from envq.air.rates import period_air_statistics
    from envq.cliargs import period_from_args

    period = period_from_args(args)
    city_days, _, _ = _city_pipeline(args)
    _write(period_air_statistics(city_days, period), args.output)
    return 0


def _city_days(args) -> int:
    from envq.air.tables import city_days_table

    city_days, _, _ = _city_pipeline(args)
    _write(city_days_table(city_days), args.output)
    return 0


def _screen(args) -> int:
    from envq.sources.dispatch import read_air
    from envq.air.screening import DEFAULT_RULES, screen

    _, log = screen(read_air(args.input, encoding=args.encoding), DEFAULT_RULES)
    _write(log, args.output)
    return 0
