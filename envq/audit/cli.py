"""``envq audit air|water FILE... --output OUT.csv``: published figures against envq's.

Prints the agreement of each file (agreeing / compared) with the disagreements by reason, and
writes one row per disagreement (UTF-8 CSV with BOM) with its ``reason`` (never empty) and a
``detail`` sentence. See :mod:`envq.audit` and docs/alerts.md.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(sub) -> None:
    from envq.air.cli import add_unknown_iaqi_option

    audit = sub.add_parser("audit", help="audit published figures: envq's AQI and water classes against the feed's",
                           description=__doc__.splitlines()[0])
    cmds = audit.add_subparsers(dest="audit_command", metavar="PART", required=True)

    p = cmds.add_parser("air", help="hourly AQI, category and primary pollutant of every station-hour",
                        description="Compare envq's hourly AQI, category and primary pollutant with the published "
                                    "ones (CNEMC live CSV or JSON, or archive files with an AQI row).")
    p.add_argument("input", nargs="+", metavar="FILE", help="CNEMC live hourly files (CSV/JSON) or archive files")
    p.add_argument("--output", "-o", required=True, metavar="OUT.csv",
                   help="disagreements: stationcode,timepoint,published_aqi,computed_aqi,published_primary,"
                        "computed_primary,reason,...")
    p.add_argument("--edition", choices=("auto", "hj633_2012", "hj633_2026"), default="auto",
                   help="HJ 633 edition: the one in force on each day (default) or forced")
    p.add_argument("--missing-rule", choices=("standard", "cnemc_platform", "available_pollutants"),
                   default="standard", help="publication with a pollutant missing: the edition's rule (default), "
                                            "the CNEMC platform's practice, or always over the pollutants present")
    p.add_argument("--no-screen", action="store_true",
                   help="do not screen implausible values first (envq screens them for every figure it publishes)")
    add_unknown_iaqi_option(p)
    p.set_defaults(func=_air)

    p = cmds.add_parser("water", help="GB 3838 class of every reading against the published 水质类别",
                        description="Compare envq's class of every reading with the published class: CNEMC "
                                    "automatic-station CSVs (水质类别), or manual files with a class column.")
    p.add_argument("input", nargs="+", metavar="FILE", help="CNEMC automatic-station CSVs, or manual CSV/XLSX files "
                                                            "with a published class column")
    p.add_argument("--output", "-o", required=True, metavar="OUT.csv",
                   help="disagreements: section,time,published_class,computed_class,reason,...")
    p.add_argument("--registry", default=None, help="section registry replacing the bundled one")
    p.add_argument("--spike-factor", type=float, default=None, metavar="FACTOR",
                   help="factor of envq's spike rule used to recognise values the platform did not use (default 10)")
    p.add_argument("--section-field", default=None, help="manual files: the section column (default auto)")
    p.add_argument("--time-field", default=None, help="manual files: the time column (default auto)")
    p.add_argument("--class-field", default=None, help="manual files: the published class column (default auto)")
    p.set_defaults(func=_water)


def _report(results, paths) -> None:
    from envq.audit import concat_results

    for path, r in zip(paths, results):
        print(r.line(str(path)))
    if len(results) > 1:
        print(concat_results(results).line("all files"))


def _air(args) -> int:
    from envq.air.pipeline import read_air
    from envq.audit import audit_air, concat_results
    from envq.tables import write_csv

    rule = None if args.missing_rule == "standard" else args.missing_rule
    results = [audit_air(read_air(p), edition=args.edition, missing_rule=rule, screen=not args.no_screen,
                         source=str(p), unknown_iaqi=args.unknown_iaqi) for p in args.input]
    _report(results, args.input)
    out = write_csv(concat_results(results).disagreements, args.output)
    print(f"envq: wrote {len(concat_results(results).disagreements)} disagreement(s) to {out}", file=sys.stderr)
    return 0


def _water_readings(path, args):
    """(readings, below_detection) of one file: a CNEMC automatic CSV, else a manual file."""
    from envq.audit import manual_readings
    from envq.sources.cnemc_water import read_cnemc_water
    from envq.sources.dispatch import sniff_format

    if sniff_format(path) == "water_cnemc":  # the one place that recognises formats
        return read_cnemc_water(path), None
    return manual_readings(path, section_field=args.section_field, time_field=args.time_field,
                           class_field=args.class_field)


def _water(args) -> int:
    from envq.audit import audit_water, concat_results
    from envq.audit.water import DEFAULT_SPIKE_FACTOR
    from envq.tables import write_csv
    from envq.water.registry import load_registry

    reg = load_registry(args.registry)
    factor = DEFAULT_SPIKE_FACTOR if args.spike_factor is None else args.spike_factor
    results = []
    for p in args.input:
        readings, bdl = _water_readings(p, args)
        results.append(audit_water(readings, registry=reg, below_detection=bdl, spike_factor=factor, source=str(p)))
    _report(results, args.input)
    dis = concat_results(results).disagreements
    out = write_csv(dis, args.output)
    print(f"envq: wrote {len(dis)} disagreement(s) to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="envq")
    register(parser.add_subparsers(dest="command", required=True))
    a = parser.parse_args()
    sys.exit(a.func(a))
