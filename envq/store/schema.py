"""The store's format marker, schema version and migrations (docs/pipeline.md, "Store").

``store.json`` at the root of a store names the format and the schema version of its layout.
Opening a store whose version is newer than :data:`SCHEMA_VERSION` is refused (upgrade envq);
an older one is migrated step by step, under the writer lock, by :data:`MIGRATIONS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from envq.store._fs import json_bytes
from envq.store.dates import now_utc
from envq.store.errors import StoreError

__all__ = ["FORMAT", "SCHEMA_VERSION", "MIGRATIONS", "META_KEY", "MIGRATING", "read_meta", "check_not_newer", "open_schema",
           "migrate"]

#: The ``format`` field of ``store.json``.
FORMAT = "envq-store"

#: The schema version this envq writes and reads. 2: the air month cubes store each pollutant
#: as exact integers where it can (:func:`envq.store.air.encode_plane`), one chunk per month; an
#: envq of version 1 would read those integers as values, so it must refuse such a store.
SCHEMA_VERSION = 2


def _compact_air(store) -> None:
    """1 -> 2: every air month rewritten in the compact format (the same values, bit for bit)."""
    store.compact_air()


#: ``{from_version: function(store)}``: the migration from ``from_version`` to
#: ``from_version + 1`` of the :class:`envq.store.Store` *store*. Each runs under the writer lock.
#: ``store.json`` names the new version (and :data:`MIGRATING` the old one) before the step
#: changes anything, so an envq that reads only the old version refuses the store from then on
#: (it would misread what the step has already rewritten, e.g. 1 -> 2's integer cubes), and the
#: version is final once the step ends; a migration interrupted by a crash is run again at the
#: next opening. So write migrations that running twice is harmless and whose half-done store
#: this envq reads correctly.
MIGRATIONS: dict[int, Callable] = {1: _compact_air}

META_KEY = "store.json"

#: The ``store.json`` field naming the version a migration under way (or interrupted) started from.
MIGRATING = "migrating_from"


def _envq_version() -> str:
    from envq import __version__

    return __version__


def read_meta(backend) -> dict:
    """``store.json`` of the store on *backend*, checked (format, integer schema version)."""
    where = backend.where(META_KEY)
    try:
        raw = backend.get(META_KEY)
        if raw is None:
            raise FileNotFoundError("no store.json")
        meta = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{where}: cannot be read as the store's description ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise StoreError(f"{where}: not an envq store (format {found!r}, expected {FORMAT!r})")
    if not isinstance(meta.get("schema_version"), int):
        raise StoreError(f"{where}: schema_version {meta.get('schema_version')!r} is not an integer")
    return meta


def check_not_newer(root, version: int) -> None:
    """StoreError when a store's schema *version* is newer than this envq reads."""
    if version > SCHEMA_VERSION:
        raise StoreError(f"{root}: the store has schema version {version}, newer than this envq "
                         f"({_envq_version()}) reads (schema version {SCHEMA_VERSION}); upgrade envq "
                         "to use this store")


def _new_meta() -> dict:
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "created": now_utc(), "envq_version": _envq_version()}


def open_schema(backend, create: bool) -> int | None:
    """Open the store on *backend*: its schema version, or None when it is older and must be
    migrated (:func:`migrate`). Creates it (an empty folder or prefix) when *create*; refuses a
    place holding something else."""
    if backend.remote:
        if backend.exists(META_KEY):
            meta = read_meta(backend)
        elif backend.list(""):
            raise StoreError(f"{backend.root}: objects that are not an envq store (no store.json); refusing to "
                             "write there: choose an empty prefix")
        elif not create:
            raise StoreError(f"{backend.root}: no envq store here (create=False)")
        elif backend.objects.create(META_KEY, json_bytes(_new_meta())) is None:
            return open_schema(backend, create=False)   # another process created it first
        else:
            return SCHEMA_VERSION
    else:
        root = backend.root
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root}: exists and is not a directory, so it cannot be an envq store")
        if backend.where(META_KEY).exists():
            meta = read_meta(backend)
        else:
            if root.is_dir() and any(not p.name.startswith(META_KEY) for p in root.iterdir()):
                raise StoreError(f"{root}: a non-empty directory that is not an envq store (no store.json); "
                                 "refusing to write into it: choose an empty or new directory ($ENVQ_HOME)")
            if not create:
                raise StoreError(f"{root}: no envq store here (create=False)")
            root.mkdir(parents=True, exist_ok=True)
            backend.put(META_KEY, json_bytes(_new_meta()))
            return SCHEMA_VERSION
    version = meta["schema_version"]
    check_not_newer(backend.root, version)
    if MIGRATING in meta:
        return None   # a migration was interrupted: run it again
    return version if version == SCHEMA_VERSION else None


def migrate(store) -> int:
    """Run the registered migrations of *store* (an :class:`envq.store.Store`) up to
    :data:`SCHEMA_VERSION`, under its writer lock; the version reached."""
    backend = store.backend
    with store.lock(run_id="schema-migration"):
        meta = read_meta(backend)   # another process may have migrated meanwhile
        check_not_newer(backend.root, meta["schema_version"])
        version = meta.get(MIGRATING, meta["schema_version"])   # an interrupted migration is run again
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise StoreError(f"{backend.root}: no migration from schema version {version} to {version + 1} "
                                 "in this envq")
            # the new version named first: an envq of the old one refuses the store from now on
            backend.put(META_KEY, json_bytes(meta | {"schema_version": version + 1, MIGRATING: version}))
            step(store)
            version += 1
            meta = {k: v for k, v in meta.items() if k != MIGRATING} | {
                "schema_version": version, "migrated": now_utc(), "envq_version": _envq_version()}
            backend.put(META_KEY, json_bytes(meta))
        store.schema_version = version
        store.clean_orphans()
    return version
