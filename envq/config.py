"""envq configuration: one TOML file, read on demand.

The file is ``$ENVQ_CONFIG`` if set, else ``./envq.toml`` if it exists; without either, every
setting has its default. Tables in use:

``[geo]``
    ``basins``: a vector file GDAL reads (GeoPackage, Shapefile, GeoJSON, ...) whose polygons
    replace the pack's county-union basins; ``basins_layer``: the layer inside it (optional);
    ``basins_field``: the attribute holding the basin name (default ``name``);
    ``system_to_basin``: a table mapping the registry's river systems to the user's basin names
    (default the pack's, ``geo/data/basins.yaml``). Relative paths are taken from the
    configuration file's folder.

``[warnings]``
    thresholds of the nightly warnings (:class:`envq.alerts.Thresholds`; docs/alerts.md).

``[[alerts]]``
    one table per delivery channel (webhook or e-mail; :mod:`envq.alerts.delivery`,
    docs/alerts.md).

``[schedule]``
    ``cron``, ``timezone`` of ``envq serve``'s nightly run (:mod:`flows.serve`).

``[store]``
    ``wait_minutes``: how long a run waits for a store another run is writing (:mod:`flows.queue`).

``[sources.air]``, ``[sources.water]``
    the nightly run's sources (:mod:`envq.sources.adapters`, docs/pipeline.md).

``[maps]``
    ``base_url``: the http(s) address the maps folder is served at (links in messages);
    ``tiles``: base tiles of the maps: ``none`` (default: the maps need no network), ``osm``,
    ``tianditu`` (with ``tianditu_key``), ``amap`` (GCJ-02; overlays are shifted to match) or a
    ``{z}/{x}/{y}`` URL template of an intranet tile server (``tiles_crs`` = ``wgs84`` or
    ``gcj02``); ``output``: the folder the nightly run renders the maps into (default
    ``maps`` under the store).

A table or key envq does not read is an error listing the valid ones (a misspelled ``[map]``
would otherwise be ignored silently). ``[warnings]`` and ``[[alerts]]`` keys are checked by their
owner (:mod:`envq.alerts`), before a run starts and wherever they are used.

Example::

    [geo]
    basins = "my_basins.gpkg"
    basins_layer = "watersheds"
    basins_field = "basin"
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from envq.errors import InputError

__all__ = ["ENV_CONFIG", "TABLES", "ARRAYS", "config_path", "load_config"]

ENV_CONFIG = "ENVQ_CONFIG"
_MAPS_KEYS = ("tiles", "tianditu_key", "tiles_crs", "output", "base_url")
#: Tables envq reads and their keys (None: the table's owner checks its keys where it is used).
TABLES = {
    "geo": ("basins", "basins_layer", "basins_field", "system_to_basin"),
    "sources": ("air", "water"),
    "schedule": ("cron", "timezone"),
    "store": ("wait_minutes",),
    "maps": _MAPS_KEYS,
    "reports": ("output", "formats"),  # the bulletins' files of a run (docs/bulletin.md)
    "warnings": None,
}
#: Arrays of tables envq reads (``[[alerts]]``).
ARRAYS = ("alerts",)
_TABLES = tuple(TABLES)


def config_path(environ=None) -> Path | None:
    """The configuration file in use, or None."""
    env = os.environ if environ is None else environ
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    local = Path("envq.toml")
    return local if local.is_file() else None


def load_config(path=None, *, environ=None) -> dict:
    """The configuration as a dict (``{}`` when there is no file).

    Paths under ``[geo]`` are made absolute against the file's folder. A malformed file raises
    :class:`envq.errors.InputError` naming the file, line and problem.
    """
    path = config_path(environ) if path is None else Path(path)
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, None, None, str(path), "is the configuration file, which does not exist") from None
    try:
        conf = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # Python 3.11: the line is only in the message
        m = re.search(r"line (\d+)", str(exc))
        line = int(m[1]) if m else None
        lines = text.splitlines()
        bad = lines[line - 1] if line and line <= len(lines) else ""
        raise InputError(path, line, None, bad, f"is not valid TOML: {exc}") from None
    known = ", ".join([f"[{t}]" for t in TABLES] + [f"[[{a}]]" for a in ARRAYS])
    for table, value in conf.items():
        if table not in TABLES and table not in ARRAYS:
            raise InputError(path, None, table, None, f"is not a table envq reads; use {known}")
        if table in _TABLES and not isinstance(value, dict):
            raise InputError(path, None, table, value, f"must be a table ([{table}])")
        keys = TABLES.get(table)
        for key in (value if keys is not None and isinstance(value, dict) else ()):
            if key not in keys:
                what = f"[{table}.{key}]" if isinstance(value[key], dict) else f"{table}.{key}"
                raise InputError(path, None, what, None, f"is not a setting of [{table}]; use {', '.join(keys)}")
    if "alerts" in conf and not (isinstance(conf["alerts"], list) and all(isinstance(t, dict) for t in conf["alerts"])):
        raise InputError(path, None, "alerts", str(conf["alerts"])[:60], "must be [[alerts]] tables, one per channel")
    geo = conf.get("geo", {})
    for key in ("basins", "basins_layer", "basins_field"):
        if key in geo and not isinstance(geo[key], str):
            raise InputError(path, None, f"geo.{key}", geo[key], "must be a string")
    if "system_to_basin" in geo and not isinstance(geo["system_to_basin"], dict):
        raise InputError(path, None, "geo.system_to_basin", geo["system_to_basin"], "must be a table")
    maps = conf.get("maps", {})
    for key, value in maps.items():
        if not isinstance(value, str):
            raise InputError(path, None, f"maps.{key}", value, "must be a string")
    if "base_url" in maps and not re.match(r"https?://[^/\s]+", maps["base_url"]):
        raise InputError(path, None, "maps.base_url", maps["base_url"],
                         "must be the http(s) address the maps folder is served at, e.g. https://envq.example.gov.cn/maps/")
    if "output" in maps:
        p = Path(maps["output"])
        maps["output"] = str(p if p.is_absolute() else (path.parent / p).resolve())
    if "basins" in geo:
        p = Path(geo["basins"])
        geo["basins"] = str(p if p.is_absolute() else (path.parent / p).resolve())
    return conf
