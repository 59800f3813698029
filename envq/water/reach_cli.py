"""``envq reach ...``: river-chief reaches (河长制) -- list them, report one for a period.

* ``envq reach list [--reaches FILE]`` -- ``id, name, level, river, from, to, sections`` (count)
  of every reach, as CSV.
* ``envq reach show REACH_ID --period PERIOD [INPUT ...] [--reaches FILE] [--registry FILE]
  [--output CSV]`` -- the reach's Class III compliance rate (Ⅰ~Ⅲ类比例) and its sections from
  upstream to downstream: class, status, compliance with the reach's target class, limiting items
  and the change of status against the previous period. INPUT defaults to the bundled automatic-
  station extract (``data/water/hunan_water_auto_20260709_20260823.csv.gz``, as ``make demo``),
  computed as the nightly flow computes it (:func:`envq.water.reaches.reach_report`).
* ``envq reach show REACH_ID --period PERIOD --store DIR`` -- the same report read from the
  results the nightly flow stored (``water_reach_rates``, ``water_reach_sections``): what the
  maps' reach page shows. A period the store does not hold is taken as the held period of the
  same days (``2026-YTD`` ending on the last stored day, a range of a month's days) or refused
  with the grammar and the periods held.

The reaches are the bundled example (``envq/data/water/reaches_example.yaml``) unless
``--reaches FILE`` or ``$ENVQ_REACHES`` names another file (format in ``docs/water.md``).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

__all__ = ["register"]


def _err(msg: str) -> None:
    print(f"envq reach: {msg}", file=sys.stderr)


def _load(args, registry=None):
    from envq.water.reaches import load_reaches

    return load_reaches(args.reaches, registry=registry)


def _cmd_list(args) -> int:
    from envq.water.cli import write_table

    reaches = _load(args)
    rows = [{"id": r.id, "name": r.name, "level": r.level, "river": r.river, "from": r.from_, "to": r.to,
             "sections": len(r.sections)} for r in reaches.values()]
    write_table(pd.DataFrame(rows, columns=["id", "name", "level", "river", "from", "to", "sections"]), args.output)
    return 0


def _default_inputs() -> list[str]:
    from envq.water.demo import WATER_EXTRACT, data_dir

    return [str(data_dir() / WATER_EXTRACT)]


def _pct(x) -> str:
    from envq.targets import published

    return "—" if x is None or not np.isfinite(x) else f"{published(x):.1f}%"


def _format(rep) -> str:
    """The printed report: two header lines, then one line per section (upstream first)."""
    from envq.water.classify import class_table
    from envq.display import pad

    r = rep.reach
    cname = class_table()["name_zh"].to_dict()
    prev = rep.previous_period.label if rep.previous_period else ""
    head = (f"{r.name} [{r.id}]  {r.river} {r.from_} → {r.to}  |  {r.level}级 · {r.chief_title}  |  "
            f"period {rep.period.label}" + (f" (previous {prev})" if prev else "")
            + ("  |  example reaches" if r.example else ""))
    n = rep.sections_evaluated
    line2 = (f"Ⅰ~Ⅲ类比例 {_pct(rep.i_iii_share)} ({rep.sections_i_iii}/{n}); sections evaluated {n} of "
             f"{rep.sections_listed}; target {cname[r.target_class]}: {rep.sections_meeting_target}/{n} meet "
             f"({_pct(rep.target_compliance_share)}); 水质状况 {rep.status or '—'}"
             + (f" ({rep.rates['method']})" if rep.status else "")
             + (f"; change vs {prev}: {rep.change}" if rep.change else ""))
    cols = [("order", 5, True), ("section 断面", 16, False), ("class 类别", 11, False), ("status 状况", 12, False),
            ("target 目标", 12, False), ("meets 达标", 11, False), ("previous 上期", 14, False),
            ("trend 变化", 12, False), ("n", 6, True), ("days", 5, True), ("limiting items 超标项目", 0, False)]
    lines = [head, line2, "  ".join(pad(h, w, right) for h, w, right in cols)]
    s = rep.sections
    for row in s.itertuples(index=False):  # one line per listed section (a handful), not per reading
        tgt = cname[int(row.target_class)] + ("" if row.section_target_class == row.target_class
                                             else f" (reg {cname[int(row.section_target_class)]})")
        meets = "" if pd.isna(row.meets_target) else ("是 yes" if row.meets_target else "否 no")
        prev_c = "" if pd.isna(row.previous_class) else cname[int(row.previous_class)]
        cells = [row.order, row.section, row.class_name or "无数据", row.status, tgt, meets, prev_c, row.trend,
                 "" if pd.isna(row.n) else int(row.n), "" if pd.isna(row.n_days) else int(row.n_days),
                 row.limiting_items]
        lines.append("  ".join(pad(c, w, right) for c, (_, w, right) in zip(cells, cols)).rstrip())
    if rep.unknown_sections:
        lines.append("not in the registry (evaluated as rivers, target class III): " + ", ".join(rep.unknown_sections))
    return "\n".join(lines)


def _cmd_show(args) -> int:
    from envq.cliargs import period_from_args
    from envq.errors import NoDataError, UsageError
    from envq.water.cli import write_table

    period = period_from_args(args)
    if args.store:
        if args.input:
            raise UsageError("INPUT files and --store exclude each other (--store reads the stored results)")
        rep = _stored_report(args, period)
    else:
        rep = _computed_report(args, period)
    print(_format(rep))
    if args.output:
        write_table(rep.sections, args.output)
    if rep.sections_evaluated == 0:
        raise NoDataError(rep.period, None, what=f"reach {args.reach_id!r}")
    return 0


def _known(reaches, rid):
    from envq.errors import UsageError

    if rid not in reaches:
        raise UsageError(f"unknown reach {rid!r}; known reaches: {', '.join(reaches)}")
    return reaches[rid]


def _computed_report(args, period):
    from envq.water.cli import load_inputs, registry_of, report_screened
    from envq.water.reaches import reach_report

    reg = registry_of(args)
    reach = _known(_load(args, registry=reg), args.reach_id)
    long, screened, _ = load_inputs(args.input or _default_inputs(), spike_factor=args.screen_spikes,
                                    encoding=args.encoding)
    report_screened(screened)
    prev = {"auto": True, "none": False}.get(args.previous, args.previous)
    return reach_report(long, reach, period, registry=reg, previous=prev, source=args.source, ph_mean=args.ph_mean)


def _stored_report(args, period):
    from envq.store import Store
    from envq.water.reaches import reports_from_tables

    from envq.periods import resolve_held

    store = Store(args.store, create=False)
    held = store.result_periods("water_reach_rates") if "water_reach_rates" in store.result_names() else []
    days = store.water_days()
    # the period as stored: a year to date ends on the last stored day; a range of a calendar
    # period's days is that period; else a usage error quoting the grammar and the periods held
    period = resolve_held(period, held, last_day=max(days) if days else None, what="result 'water_reach_rates'")
    rates = store.read_result("water_reach_rates", period)
    sections = store.read_result("water_reach_sections", period)
    return _known(reports_from_tables(rates, sections), args.reach_id)


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``reach`` command group to the ``envq`` parser."""
    from envq.cliargs import add_period_options
    from envq.sources.files import add_encoding_option as encoding_option

    reach = subparsers.add_parser("reach", help="river-chief reaches (河长制): list them, report one for a period",
                                  description="River-chief reaches (河长制): list them, report one for a period.")
    sub = reach.add_subparsers(dest="reach_command", metavar="COMMAND", required=True)
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument("--reaches", default=None, metavar="FILE",
                       help="reaches YAML (default $ENVQ_REACHES or the bundled example)")
    files.add_argument("--output", "-o", default=None, help="output CSV (default: list to stdout; show: none)")

    p = sub.add_parser("list", parents=[files], help="the reaches: id, name, level, river, from, to, sections")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", parents=[files], help="one reach for a period: compliance rate and sections in order")
    p.add_argument("reach_id", metavar="REACH_ID", help="reach id (envq reach list)")
    p.add_argument("input", nargs="*", help="CNEMC automatic-station CSV(s) and/or manual CSV/XLSX files "
                   "(default: the bundled 2026-07-09..08-23 Hunan extract)")
    encoding_option(p)
    add_period_options(p)
    p.add_argument("--store", default=None, metavar="DIR",
                   help="read the report the nightly flow stored (what the maps show) instead of computing it")
    p.add_argument("--previous", default="auto", metavar="PERIOD|auto|none",
                   help="period to compare each section's status with (default auto: the period just before)")
    p.add_argument("--registry", default=None, help="section registry CSV replacing the bundled one")
    p.add_argument("--registry-extend", action="append", default=[], metavar="FILE",
                   help="CSV adding or overriding registry rows (repeatable; also $ENVQ_SECTIONS_EXTRA)")
    p.add_argument("--source", choices=["automatic", "manual", "prefer_automatic"], default=None,
                   help="which data to use where a section's item has both automatic and manual readings "
                        "(required then; prefer_automatic: the 2020 rule)")
    p.add_argument("--ph-mean", choices=["arithmetic", "hydrogen"], default="arithmetic",
                   help="mean of pH over the period: arithmetic (default) or of the hydrogen-ion activity (hydrogen)")
    p.add_argument("--screen-spikes", type=float, default=None, metavar="FACTOR",
                   help="also screen isolated spikes: a value above FACTOR x the section's running median and "
                        "the Class I limit (off by default; e.g. 10)")
    p.set_defaults(func=_cmd_show)
    return reach
