"""``envq maps``: render the maps of a period from the store.

Registered in ``envq`` through the ``envq.commands`` entry point (``envq`` does not import
``maps`` otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from maps.render import tiles_from_config

__all__ = ["register"]


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(sub) -> argparse.ArgumentParser:
    """Add the ``maps`` command to the ``envq`` parser."""
    from envq.cliargs import add_period_options

    p = sub.add_parser("maps", help="render the interactive maps (air, water, river-chief reaches, index) from the store",
                       description="Render index.html, air.html, water.html and reaches/<id>.html of a period "
                                   "from the results in the store. The pages are self-contained: they open "
                                   "without network.")
    add_period_options(p, help="the air period (water too unless --water-period); the store holds months, "
                       "quarters, halves and years")
    p.add_argument("--date", type=_date, default=None, help="the day the stations show first (default: the last day with data)")
    p.add_argument("--water-period", default=None, help="the water period when it differs (e.g. 2026-08), same grammar")
    p.add_argument("--output", "-o", required=True, help="folder for the pages")
    p.add_argument("--store", default=None, help="store folder (default $ENVQ_HOME or ./envq-data)")
    p.add_argument("--tiles", default=None, help="base tiles: none (default), osm, tianditu, amap or a URL template")
    p.set_defaults(func=_maps)
    return p


def _maps(args) -> int:
    from envq.cliargs import period_from_args
    from envq.store import Store, StoreError
    from maps.assets import ExternalReferenceError
    from maps.render import render_maps

    period = period_from_args(args)
    try:
        store = Store(args.store, create=False)
        done = render_maps(store, args.output, period=period, day=args.date, water_period=args.water_period,
                           tiles=tiles_from_config(args.tiles))
    except (StoreError, ExternalReferenceError) as exc:
        print(f"envq maps: {exc}", file=sys.stderr)
        return 2
    for key, path in done.pages.items():
        print(f"{key}\t{path.stat().st_size / 1e6:.2f} MB\t{path}")
    for n in done.notes:
        print(f"note: {n}", file=sys.stderr)
    print(f"Index: {done.index.resolve()}")
    return 0
