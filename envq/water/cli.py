"""envq water: classify readings, rates per group and period, lakes, warnings, screening, sections.

Sub-commands (each leaf sets ``func(args) -> int``):

* ``envq water classify INPUT.csv --output OUT.csv`` -- class of every reading of a CNEMC
  automatic-station CSV: ``section,time,class,limiting_items`` (class 1..6, 6 = 劣V, empty when no
  classification item was measured). Lakes come from the registry; unknown sections are
  classified as rivers and listed on stderr.
* ``envq water rates INPUT... --period PERIOD --by system|river|city|county|section|province|custom|reach``
  -- Class III compliance rate, class counts, 劣V share and status per group (``reach``: the
  river-chief reaches of ``--reaches FILE``, default ``$ENVQ_REACHES`` or the bundled example;
  see :mod:`envq.water.reaches` and ``envq reach``).
* ``envq water lake INPUT... --period PERIOD [--lake 洞庭湖]`` -- lake-wide class and TLI.
* ``envq water warn INPUT... [--margin 0.1]`` -- sections near or above their target-class limit.
* ``envq water screen INPUT...`` -- every value plausibility screening removes, with its rule and
  reason (bounds: ``envq/data/water/screening.yaml``).
* ``envq water sections`` -- the registry in use, with coordinate labels.

Inputs may be CNEMC automatic CSVs or manual data in the template (CSV/XLSX; docs/water.md),
recognised by their header. The registry is the bundled one unless ``--registry FILE`` or
``$ENVQ_SECTIONS`` replaces it; ``--registry-extend FILE`` / ``$ENVQ_SECTIONS_EXTRA`` extend it.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

__all__ = ["register", "load_inputs", "registry_of", "report_screened", "write_table"]

_RATE_COLUMNS = ["group", "name", "period", "sections"] + [f"class_{k}" for k in range(1, 7)] + [
    "i_iii_share", "worse_v_share", "status"]


def _err(msg: str) -> None:
    print(f"envq water: {msg}", file=sys.stderr)


def registry_of(args):
    """The section registry of the command's ``--registry``/``--registry-extend`` options."""
    from envq.water.registry import load_registry

    return load_registry(args.registry, extend=args.registry_extend or ())


def load_inputs(paths, *, spike_factor=None, encoding="auto", report: bool = False):
    """Read CNEMC and manual files into one canonical long table, screened.

    Files are read by the reader dispatcher (:func:`envq.sources.dispatch.read_water`: formats
    recognised by their header; a reading given by two files must agree).
    Returns ``(long, screened, readings)``: the plausible values, the screened values with reasons,
    and the wide CNEMC readings (None when there were none).
    """
    from envq.sources.dispatch import read_water
    from envq.water.screen import screen

    files = read_water(paths, encoding=encoding)
    if report and files.duplicates_dropped:
        _err(f"{len(files.duplicates_dropped)} repeated reading(s) kept once (identical values): "
             + "; ".join(files.duplicates_dropped[:5]) + (" ..." if len(files.duplicates_dropped) > 5 else ""))
    kept, screened = screen(files.long, spike_factor=spike_factor)
    return kept, screened, files.wide


def report_screened(screened: pd.DataFrame) -> None:
    """Summarise the screened values on stderr (count and an example per reason)."""
    if len(screened):
        _err(f"{len(screened)} value(s) screened as implausible (not used; `envq water screen INPUT...` "
             "lists every one):")
        for reason, grp in screened.groupby("reason"):
            ex = grp.iloc[0]
            _err(f"  {len(grp)} x {reason} (e.g. {ex['file']} row {ex['row']}: {ex['section']} {ex['item']}={ex['value']:g})")


def _report_unknown(unknown) -> None:
    if unknown:
        shown = ", ".join(list(unknown)[:20]) + (f", ... ({len(unknown)} in all; `envq water sections` "
                                                  "lists the registry)" if len(unknown) > 20 else "")
        _err(f"{len(unknown)} section(s) not in the registry, treated as rivers with target class III: {shown}")


#: How a section without a system (river, city, county) in the registry is shown.
UNASSIGNED = "未归属 unassigned"
_UNASSIGNED_GROUPS = {"system": "system", "river": "river", "city": "city", "county": "county"}


def _report_unassigned(sections: pd.DataFrame, by: str) -> None:
    col = f"{by}_name"
    if col not in sections or "section" not in sections:
        return
    names = sorted(set(sections.loc[sections[col].astype(str) == "unknown", "section"].astype(str)))
    if names:
        _err(f"{len(names)} section(s) have no {by} in the registry, shown as {UNASSIGNED}: {', '.join(names[:20])}"
             f"{' ...' if len(names) > 20 else ''}. Assign them with --registry-extend FILE, a CSV "
             f"section,{by} (e.g. '{names[0]},湘江'); `envq water sections` lists the registry")


def write_table(df: pd.DataFrame, output) -> None:
    """Write a table as CSV to ``output`` (the shared writer: UTF-8 with BOM, formula-safe), or to
    stdout when ``output`` is None."""
    from envq.tables import write_csv

    write_csv(df, output or None)


# --------------------------------------------------------------------------------------------
# commands


def _cmd_classify(args) -> int:
    from envq.errors import InputError
    from envq.sources.dispatch import read_water_file
    from envq.water.classify import classify
    from envq.water.registry import match_sections
    from envq.water.screen import screen_readings

    reg = registry_of(args)
    _, readings = read_water_file(args.input, province=args.province, encoding=args.encoding)
    if readings is None:
        raise InputError(args.input, 1, None, None, "is not a CNEMC automatic-station CSV (header with 断面名称 and "
                         "水质类别): classify reads those; use `envq water rates` for manual data")
    items = ["water_temp", "ph", "do", "codmn", "nh3n", "tp", "tn", "chla"]
    readings, screened = screen_readings(readings, items, spike_factor=args.screen_spikes)
    report_screened(screened)
    meta, unknown = match_sections(readings["section"].to_numpy(), reg)
    _report_unknown(unknown)
    res = classify(readings, lake=meta["is_lake"].to_numpy(bool), target_class=meta["target_class"].to_numpy(),
                   nondetect=args.nondetect, details=args.details)
    out = pd.DataFrame({
        "section": readings["section"],
        "time": readings["time"].dt.strftime("%Y-%m-%d %H:%M"),
        "class": res["class"],
        "limiting_items": res["limiting_items"],
    })
    if args.details:
        for c in ("class_name", "status", "over_iii", "main_pollutants", "tn_class", "target_class", "meets_target"):
            out[c] = res[c]
        out["official_class"] = readings["official_class"]
        out["lake"] = meta["is_lake"].to_numpy()
    write_table(out, args.output)
    off = readings["official_class"].astype("Int64")
    has = off.notna() & res["class"].notna()
    if has.any():
        agree = int((off[has] == res["class"].astype("Int64")[has]).sum())
        _err(f"{len(out)} readings classified; agreement with the published class: {agree}/{int(has.sum())}")
    return 0


def _cmd_rates(args) -> int:
    from envq.cliargs import period_from_args
    from envq.errors import NoDataError, UsageError
    from envq.targets import WATER, Targets
    from envq.water.groups import evaluate, load_custom_groups

    period = period_from_args(args)  # a wrong period fails before any data is read
    reg = registry_of(args)
    long, screened, _ = load_inputs(args.input, spike_factor=args.screen_spikes, encoding=args.encoding, report=True)
    report_screened(screened)
    custom = load_custom_groups(args.groups) if args.groups else None
    by = "custom" if (custom and args.by is None) else (args.by or "system")
    targets = Targets.from_csv(args.targets, indicator=WATER) if args.targets else None
    reaches, scope = None, None
    if by == "reach":  # river-chief reaches: custom groups named by reach id, reported as group "reach"
        from envq.water.reaches import load_reaches, reach_groups

        if custom:
            raise UsageError("--by reach and --groups exclude each other (--groups defines custom groups)")
        reaches = load_reaches(args.reaches, registry=reg)
        custom, by, scope = reach_groups(reaches), "custom", "reach"
    elif args.reaches:
        raise UsageError("--reaches is only used with --by reach")
    prev = None
    if args.previous:
        prev = True if args.previous == "auto" else args.previous
    ev = evaluate(long, period, by=by, registry=reg, source=args.source, ph_mean=args.ph_mean, custom=custom,
                  targets=targets, previous=prev, province_name=args.province_name, scope=scope)
    _report_unknown(ev.unknown_sections)
    rates = ev.rates.copy()
    if not len(rates) or not len(ev.values):
        times = long["time"] if len(long) else pd.Series([], dtype="datetime64[ns]")
        span = f"{times.min():%Y-%m-%d}..{times.max():%Y-%m-%d}" if len(times) else None
        raise NoDataError(ev.period, span, what="water readings")
    if by in _UNASSIGNED_GROUPS:
        _report_unassigned(ev.sections, by)
        rates["name"] = rates["name"].replace("unknown", UNASSIGNED)
    if reaches is not None:
        rates["reach_name"] = rates["name"].map({k: r.name for k, r in reaches.items()})
    for c in ("i_iii_share", "worse_v_share", "target_compliance_share", "delta_g", "delta_d", "change_index",
              "previous_i_iii_share", "previous_worse_v_share"):
        if c in rates:
            rates[c] = rates[c].astype(float).round(2)
    extra = [c for c in rates.columns if c not in _RATE_COLUMNS + ["reach_name"]]
    lead = _RATE_COLUMNS[:2] + (["reach_name"] if "reach_name" in rates else []) + _RATE_COLUMNS[2:]
    write_table(rates[lead + extra], args.output)
    if args.sections_output:
        write_table(ev.sections, args.sections_output)
    return 0


def _cmd_lake(args) -> int:
    from envq.cliargs import period_from_args
    from envq.water.lakes import lake_assessment
    from envq.water.periods import period_values

    reg = registry_of(args)
    long, screened, _ = load_inputs(args.input, encoding=args.encoding, report=True)
    report_screened(screened)
    pv = period_values(long, period_from_args(args), source=args.source, ph_mean=args.ph_mean)
    res = lake_assessment(pv, reg, lake=args.lake, points=args.points.split(",") if args.points else None,
                          ph_mean=args.ph_mean)
    write_table(res.round({"tli": 2}), args.output)
    return 0


def _cmd_warn(args) -> int:
    from envq.cliargs import period_from_args
    from envq.water.groups import section_table
    from envq.water.periods import period_values
    from envq.water.warning import early_warning, latest_values

    reg = registry_of(args)
    long, screened, _ = load_inputs(args.input, encoding=args.encoding, report=True)
    report_screened(screened)
    if args.period:
        cur, unknown = section_table(period_values(long, period_from_args(args), source=args.source), reg)
        _report_unknown(unknown)
    else:
        cur = latest_values(long, window_hours=args.window_hours)
    w = early_warning(cur, reg, margin=args.margin, ph_margin=args.ph_margin)
    write_table(w, args.output)
    return 0


def _cmd_screen(args) -> int:
    from envq.water.screen import SCREENED_COLUMNS, range_sources

    _, screened, _ = load_inputs(args.input, spike_factor=args.screen_spikes, encoding=args.encoding, report=True)
    cols = ["section", "time", "item", "value", "source_kind", *SCREENED_COLUMNS, "file", "row"]
    out = screened.reindex(columns=cols)
    out["source"] = out["item"].map(range_sources()).where(out["rule"] == "plausible_range", "")
    write_table(out, args.output)
    _err(f"{len(out)} value(s) screened" + (f" (written to {args.output})" if args.output else ""))
    return 0


def _cmd_sections(args) -> int:
    reg = registry_of(args)
    cols = ["section", "river", "system", "water_body", "city", "county", "target_class", "lon", "lat",
            "location_confidence", "coordinate_note"]
    write_table(reg[cols], args.output)
    return 0


# --------------------------------------------------------------------------------------------
# parser

_SPIKES_HELP = ("also screen isolated spikes: a value above FACTOR x the section's running median and the "
                "Class I limit (off by default; e.g. 10)")
_PH_HELP = "mean of pH over the period: arithmetic (default) or of the hydrogen-ion activity (hydrogen)"
_SOURCE_HELP = ("which data to use where a section's item has both automatic and manual readings "
                "(required then; prefer_automatic: the 2020 rule)")


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``water`` command group to the ``envq`` parser."""
    from envq.cliargs import add_period_options
    from envq.sources.files import add_encoding_option as encoding_option

    water = subparsers.add_parser("water", help="surface water: GB 3838-2002 classes, Class III compliance rates",
                                  description="Surface water (GB 3838-2002): classes of readings, Class III "
                                  "compliance rates per group and period, lakes, warnings, screening, sections.")
    sub = water.add_subparsers(dest="water_command", metavar="COMMAND", required=True)

    def common(p, *, inputs=True):
        if inputs:
            p.add_argument("input", nargs="+", help="CNEMC automatic-station CSV(s) and/or manual CSV/XLSX files")
            encoding_option(p)
        p.add_argument("--registry", default=None, help="section registry CSV replacing the bundled one "
                       "(default $ENVQ_SECTIONS or the bundled Hunan registry)")
        p.add_argument("--registry-extend", action="append", default=[], metavar="FILE",
                       help="CSV adding or overriding registry rows (repeatable; also $ENVQ_SECTIONS_EXTRA)")
        p.add_argument("--output", "-o", default=None, help="output CSV (default stdout)")

    p = sub.add_parser("classify", help="class of every reading of a CNEMC automatic-station CSV")
    p.add_argument("input", help="CNEMC automatic-station CSV (.csv or .csv.gz)")
    encoding_option(p)
    p.add_argument("--registry", default=None, help="section registry CSV replacing the bundled one")
    p.add_argument("--registry-extend", action="append", default=[], metavar="FILE",
                   help="CSV adding or overriding registry rows (repeatable; also $ENVQ_SECTIONS_EXTRA)")
    p.add_argument("--output", "-o", default=None, help="output CSV (default stdout)")
    p.add_argument("--province", default=None, help="keep only this 省份 (e.g. 湖南省)")
    p.add_argument("--nondetect", choices=["limit", "best"], default=None,
                   help="how a value below the detection limit is classed: at the limit (limit, the default of "
                        "the standards file) or in the best class (best)")
    p.add_argument("--screen-spikes", type=float, default=None, metavar="FACTOR", help=_SPIKES_HELP)
    p.add_argument("--details", action="store_true", help="add status, over-standard items, main pollutants, "
                   "TN class of lakes, the published class")
    p.set_defaults(func=_cmd_classify)

    p = sub.add_parser("rates", help="Class III compliance rate, class shares and status per group and period")
    common(p)
    add_period_options(p)
    p.add_argument("--by", choices=["system", "river", "city", "county", "section", "province", "custom", "reach"],
                   default=None, help="group the sections by river system (default), river, city, county, section, "
                   "the whole province, the --groups CSV (custom) or the river-chief reaches (reach)")
    p.add_argument("--groups", default=None, help="CSV group,section defining custom groups (e.g. river-chief reaches)")
    p.add_argument("--reaches", default=None, metavar="FILE",
                   help="river-chief reaches YAML for --by reach (default $ENVQ_REACHES or the bundled example)")
    p.add_argument("--previous", default=None, metavar="PERIOD|auto", help="compare with a previous period (ΔG−ΔD)")
    p.add_argument("--targets", default=None, help="CSV indicator,scope,name,year,target or group,name,year,"
                   "i_iii_target added over the built-in targets (envq.targets: province and basins 95%%)")
    p.add_argument("--source", choices=["automatic", "manual", "prefer_automatic"], default=None, help=_SOURCE_HELP)
    p.add_argument("--ph-mean", choices=["arithmetic", "hydrogen"], default="arithmetic", help=_PH_HELP)
    p.add_argument("--province-name", default="湖南省",
                   help="name of the province row (default 湖南省); it counts every section of the input")
    p.add_argument("--screen-spikes", type=float, default=None, metavar="FACTOR", help=_SPIKES_HELP)
    p.add_argument("--sections-output", default=None, help="also write the class of each section")
    p.set_defaults(func=_cmd_rates)

    p = sub.add_parser("lake", help="lake-wide class (lake limits) and trophic-state index TLI")
    common(p)
    add_period_options(p)
    p.add_argument("--lake", default="洞庭湖", help="the lake, as the registry's system or river names it (default 洞庭湖)")
    p.add_argument("--points", default=None, help="comma-separated points (default: from the registry)")
    p.add_argument("--source", choices=["automatic", "manual", "prefer_automatic"], default=None, help=_SOURCE_HELP)
    p.add_argument("--ph-mean", choices=["arithmetic", "hydrogen"], default="arithmetic", help=_PH_HELP)
    p.set_defaults(func=_cmd_lake)

    p = sub.add_parser("warn", help="sections near or above their target-class limit")
    common(p)
    p.add_argument("--margin", type=float, default=0.1, help="relative margin to the limit (default 0.1)")
    p.add_argument("--ph-margin", type=float, default=0.5, help="pH units from 6 or 9 that count as near the limit (default 0.5)")
    add_period_options(p, required=False, help="use the values of this period instead of the latest readings")
    p.add_argument("--window-hours", type=float, default=24.0,
                   help="without --period: per item the latest reading within this many hours of the section's "
                        "latest reading (default 24)")
    p.add_argument("--source", choices=["automatic", "manual", "prefer_automatic"], default=None, help=_SOURCE_HELP)
    p.set_defaults(func=_cmd_warn)

    p = sub.add_parser("screen", help="every value plausibility screening removes, with its rule, reason and source")
    common(p)
    p.add_argument("--screen-spikes", type=float, default=None, metavar="FACTOR", help=_SPIKES_HELP)
    p.set_defaults(func=_cmd_screen)

    p = sub.add_parser("sections", help="the section registry in use")
    common(p, inputs=False)
    p.set_defaults(func=_cmd_sections)
    return water
