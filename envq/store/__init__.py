"""envq's embedded store: hourly air cubes, water readings, results, reports, raw payloads.

The design is docs/pipeline.md, section "Store". In short::

    from envq.store import Store
    store = Store()                        # $ENVQ_HOME or ./envq-data (or "s3://bucket/prefix")
    with store.lock(run_id="2019-02-01"):  # one writer at a time (flock; a lease on S3)
        store.upsert_air(hourly, source="cnemc")      # the canonical hourly dataset
        store.upsert_water(long, source="cnemc-water")  # the canonical water long table
        store.write_result("air_rates", "2019-01", df)
    hourly = store.read_air(datetime.date(2019, 1, 1), datetime.date(2019, 1, 31))

:class:`Store` is a facade over small modules (``backend``, ``schema``, ``air_cubes``,
``water_readings``, ``results``, ``payloads``, ``revisions``; the formats ``air`` and ``water``).
Writes are copy-on-write with an atomic switch, so a crash leaves the previous state readable;
the next writer removes the orphans. The library never imports Prefect.
"""

from envq.store.backend import default_root
from envq.store.errors import NoResultError, StoreError, StoreLockedError
from envq.store.revisions import REVISION_COLUMNS
from envq.store.schema import FORMAT, MIGRATIONS, SCHEMA_VERSION
from envq.store.store import Store

__all__ = ["Store", "StoreError", "StoreLockedError", "NoResultError", "SCHEMA_VERSION", "MIGRATIONS", "FORMAT",
           "REVISION_COLUMNS", "default_root"]
