"""envq's embedded local store: hourly air cubes, water readings, results, raw payloads.

The design is docs/pipeline.md, section "Store". In short::

    from envq.store import Store
    store = Store()                        # $ENVQ_HOME or ./envq-data; created when missing
    with store.lock(run_id="2019-02-01"):  # one writer at a time (fcntl.flock)
        store.upsert_air(hourly, source="cnemc")      # the canonical hourly dataset
        store.upsert_water(long, source="cnemc-water")  # the canonical water long table
        store.write_result("air_rates", "2019-01", df)
    hourly = store.read_air(datetime.date(2019, 1, 1), datetime.date(2019, 1, 31))

Writes are copy-on-write with an atomic switch, so a crash leaves the previous state readable;
the next writer removes the orphans. The library never imports Prefect.
"""

from envq.store.errors import NoResultError, StoreError, StoreLockedError
from envq.store.schema import FORMAT, MIGRATIONS, SCHEMA_VERSION
from envq.store.store import REVISION_COLUMNS, Store, default_root

__all__ = ["Store", "StoreError", "StoreLockedError", "NoResultError", "SCHEMA_VERSION", "MIGRATIONS", "FORMAT",
           "REVISION_COLUMNS", "default_root"]
