"""The store's format marker, schema version and migrations (docs/pipeline.md, "Store").

``store.json`` at the root of a store names the format and the schema version of its layout.
Opening a store whose version is newer than :data:`SCHEMA_VERSION` is refused (upgrade envq);
an older one is migrated step by step, under the writer lock, by :data:`MIGRATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["FORMAT", "SCHEMA_VERSION", "MIGRATIONS"]

#: The ``format`` field of ``store.json``.
FORMAT = "envq-store"

#: The schema version this envq writes and reads.
SCHEMA_VERSION = 1

#: ``{from_version: function(store_root)}``: the migration from ``from_version`` to
#: ``from_version + 1``. Each runs under the writer lock; ``store.json`` is bumped atomically
#: after each step, so a migration interrupted by a crash is run again (write migrations so that
#: running one twice is harmless). Version 1 is the first layout, so there is none yet.
MIGRATIONS: dict[int, Callable[[Path], None]] = {}
