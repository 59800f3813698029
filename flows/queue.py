"""Queue, don't collide: runs that write one store wait for each other instead of failing.

A manual backfill still running when the nightly run starts used to make the nightly fail at once
with "store locked" (exit 4). Now a run waits its turn, up to ``[store] wait_minutes`` (default
:data:`DEFAULT_WAIT_MINUTES`; ``envq run|backfill --wait MINUTES``), and fails with exit 4 only
when the wait runs out.

Two mechanisms, because Prefect's global concurrency limits bind only the runs of one server:

- **Served** (``PREFECT_API_URL`` points at a Prefect server, as under ``envq serve`` or a work
  pool): the run first takes a slot of the global concurrency limit ``envq-store-<hash of the
  store's path>`` (limit 1, created when missing), so a queued run is visible in Prefect as
  waiting on that limit. The slot is a lease the server reclaims
  :data:`LEASE_SECONDS` after its holder dies.
- **Serverless** (no ``PREFECT_API_URL``: each process starts its own temporary API, Prefect's or
  :func:`flows.local_api.local_api`'s): the limit
  cannot queue reliably. Each temporary server stores limits in the SQLite database of its
  process's ``PREFECT_HOME``: runs started from different folders (cron, a shell) do not see
  each other's limit at all; runs sharing a ``PREFECT_HOME`` do queue, but the lease lives in the
  memory of the holder's temporary server, so a holder killed with ``kill -9`` leaves the slot
  taken for good and every later run times out (both measured with Prefect 3.9). So without a
  server the run waits on the store's writer lock itself (``fcntl.flock``, released by the
  kernel when its process dies; see :meth:`envq.store.Store.lock`).

In both cases the writer lock is then taken, waiting as long: it stays the last line of defence
(a run against the same store from another Prefect server, or a serverless run beside a served
one).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path

from envq.store.errors import StoreLockedError

__all__ = ["QueueTimeout", "DEFAULT_WAIT_MINUTES", "LEASE_SECONDS", "limit_name", "served", "wait_seconds", "exclusive_store"]

#: How long a run waits for the store by default: a nightly run at 02:00 behind a long backfill
#: still finishes before office hours.
DEFAULT_WAIT_MINUTES = 180.0
#: Lease of a slot of the global concurrency limit; renewed while the run lives, reclaimed by the
#: server this long after a holder dies.
LEASE_SECONDS = 60.0
_MIN_TIMEOUT_S = 10.0


def limit_name(root) -> str:
    """The global concurrency limit of a store: ``envq-store-`` and a hash of its absolute path,
    or of its URL for a store on object storage (``s3://bucket/prefix``: the same store from
    whatever folder a run starts in).

    >>> limit_name("/srv/envq-data") == limit_name("/srv/envq-data/")
    True
    >>> limit_name("s3://envq-data/hunan") == limit_name("s3://envq-data/hunan/")
    True
    """
    text = str(root)
    if "://" in text:  # a URL names the store by itself; a path would make it relative to the cwd
        path = text.rstrip("/")
    else:
        path = str(Path(root).expanduser().absolute()).rstrip("/")
    return "envq-store-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:12]


def served() -> bool:
    """True when Prefect talks to a configured server (``PREFECT_API_URL``), False when the run
    has its own temporary API (Prefect's, or the one :func:`flows.local_api.local_api` started)."""
    from prefect.settings import get_current_settings

    from flows.local_api import is_temporary

    url = get_current_settings().api.url
    return bool(url) and not is_temporary(url)


def wait_seconds(minutes: float | None = None, config: dict | None = None) -> float:
    """The wait in seconds: *minutes*, else ``[store] wait_minutes``, else the default.

    Raises ValueError for a negative or non-numeric setting.
    """
    if minutes is None:
        from envq.config import load_config

        conf = load_config() if config is None else config
        minutes = (conf.get("store") or {}).get("wait_minutes", DEFAULT_WAIT_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes < 0:
        raise ValueError(f"store.wait_minutes: {minutes!r} is not a number of minutes >= 0")
    return float(minutes) * 60.0


class QueueTimeout(StoreLockedError):
    """The run waited its whole turn on the store's global concurrency limit (exit 4, as a lock)."""

    def __init__(self, root, name: str, wait_s: float):
        super().__init__(root, {})
        self.limit, self.wait_s = name, wait_s
        self.args = (f"{root}: the store stayed in use by another run: waited {wait_s / 60:.0f} min on the "
                     f"global concurrency limit {name} (envq run|backfill --wait MINUTES, [store] wait_minutes)",)

    def __str__(self) -> str:
        return self.args[0]

    def __reduce__(self):
        return (type(self), (self.root, self.limit, self.wait_s))


def _log(log, msg: str, *args) -> None:
    if log is not None:
        log.warning(msg, *args)


def _ensure_limit(name: str) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, 1)
        except Exception:  # created meanwhile by the other run: it is there now
            client.read_global_concurrency_limit_by_name(name)


def _busy(name: str) -> bool:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots >= 1


@contextlib.contextmanager
def _queue_slot(store, name: str, wait_s: float, log):
    from prefect.concurrency.sync import concurrency

    _ensure_limit(name)
    if _busy(name):
        if wait_s <= 0:
            raise QueueTimeout(store.root, name, wait_s)
        _log(log, "the store %s is in use by another run: queued on the global concurrency limit %s "
                  "(waiting up to %.0f min)", store.root, name, wait_s / 60)
    t0 = time.monotonic()
    try:  # a free slot is taken at once; Prefect times out a zero timeout before asking
        ctx = concurrency(name, occupy=1, timeout_seconds=max(wait_s, _MIN_TIMEOUT_S), lease_duration=LEASE_SECONDS,
                          strict=True, raise_on_lease_renewal_failure=False)
        ctx.__enter__()
    except TimeoutError:
        raise QueueTimeout(store.root, name, wait_s) from None
    try:
        if time.monotonic() - t0 > 1:
            _log(log, "the store's turn came after %.0f s", time.monotonic() - t0)
        yield
    finally:
        ctx.__exit__(None, None, None)


@contextlib.contextmanager
def exclusive_store(store, *, run_id: str = "", wait_s: float = DEFAULT_WAIT_MINUTES * 60, log=None,
                    use_limit: bool | None = None):
    """Wait for the store (module docstring), then hold its writer lock for the block.

    Raises :class:`envq.store.StoreLockedError` (exit 4) when *wait_s* runs out.
    """
    with contextlib.ExitStack() as stack:
        if served() if use_limit is None else use_limit:
            stack.enter_context(_queue_slot(store, limit_name(store.root), wait_s, log))
        try:
            stack.enter_context(store.lock(run_id=run_id))
        except StoreLockedError as exc:
            if wait_s <= 0:
                raise
            _log(log, "the store is locked by another writer (%s): waiting up to %.0f min", exc.holder or "?",
                 wait_s / 60)
            t0 = time.monotonic()
            stack.enter_context(store.lock(run_id=run_id, wait_s=wait_s))
            _log(log, "the store's lock came after %.0f s", time.monotonic() - t0)
        yield store
