"""``envq maps``: render the maps of a period from the store.

Registered in ``envq`` through the ``envq.commands`` entry point (``envq`` does not import
``maps`` otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

__all__ = ["register", "tiles_from_config"]


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def tiles_from_config(spec: str | None = None, config: dict | None = None, environ=None):
    """The :class:`maps.base.Tiles` of *spec* (a command-line value) or ``[maps] tiles``."""
    from envq.config import load_config
    from maps.base import tiles_setting

    env = os.environ if environ is None else environ
    conf = (load_config(environ=env) if config is None else config).get("maps", {})
    key = conf.get("tianditu_key") or env.get("ENVQ_TIANDITU_KEY")
    return tiles_setting(spec if spec is not None else conf.get("tiles"), tianditu_key=key,
                         crs=conf.get("tiles_crs", "wgs84"))


def register(sub) -> argparse.ArgumentParser:
    """Add the ``maps`` command to the ``envq`` parser."""
    p = sub.add_parser("maps", help="render the interactive maps (air, water, river-chief reaches, index) from the store",
                       description="Render index.html, air.html, water.html and reaches/<id>.html of a period "
                                   "from the results in the store. The pages are self-contained: they open "
                                   "without network.")
    p.add_argument("--period", required=True, help="period: 2019, 2019-Q3, 2019-07 (air; water too unless --water-period)")
    p.add_argument("--date", type=_date, default=None, help="the day the stations show first (default: the last day with data)")
    p.add_argument("--water-period", default=None, help="the water period when it differs (e.g. 2026-08)")
    p.add_argument("--output", "-o", required=True, help="folder for the pages")
    p.add_argument("--store", default=None, help="store folder (default $ENVQ_HOME or ./envq-data)")
    p.add_argument("--tiles", default=None, help="base tiles: none (default), osm, tianditu, amap or a URL template")
    p.set_defaults(func=_maps)
    return p


def _maps(args) -> int:
    from envq.store import Store, StoreError
    from maps.assets import ExternalReferenceError
    from maps.render import render_maps

    try:
        store = Store(args.store, create=False)
        done = render_maps(store, args.output, period=args.period, day=args.date, water_period=args.water_period,
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
