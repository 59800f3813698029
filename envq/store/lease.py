"""One writer at a time on object storage: a lease (docs/pipeline.md, "A store a cluster can share").

A local store's lock is ``flock``: the kernel releases it when its process dies. Object storage
has no such thing, and ``flock`` is unreliable on NFS, so a store on S3 is guarded by a *lease*:

- taking it is creating the object ``.lock`` only if it does not exist (``If-None-Match: *``):
  of two writers racing, exactly one succeeds;
- the object names its holder (pid, host, run) and when the lease ``expires``; the holder renews
  it every ``ttl_s / 3`` seconds by replacing it only if it is unchanged (``If-Match`` its ETag);
- a writer that dies (killed, machine lost) stops renewing: once its lease has expired, the next
  writer takes it over by replacing the object only if it is still the dead writer's (so of two
  writers taking over, one wins), then cleans what the dead writer left half-written;
- before switching anything in (a pointer, a result), a writer checks that its lease is still
  its own and not about to expire (:meth:`Lease.check`): a writer that was paused past its
  lease (and was taken over) stops instead of writing over its successor.

Expiry compares wall clocks: the writers' clocks must agree to well within ``ttl_s`` (NTP).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid

from envq.store.errors import StoreError, StoreLockedError

__all__ = ["Lease", "DEFAULT_TTL_S", "TTL_ENV"]

#: Seconds a lease lasts without renewal (``$ENVQ_STORE_LEASE_S`` overrides it).
DEFAULT_TTL_S = 60.0
TTL_ENV = "ENVQ_STORE_LEASE_S"
LOCK_KEY = ".lock"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Lease:
    """The writer lease of the store whose objects are *objects* (an :class:`~envq.store.objects.Objects`).

    Use :meth:`acquire` / :meth:`release` (the store's ``lock()`` does). *ttl_s* default
    ``$ENVQ_STORE_LEASE_S`` or :data:`DEFAULT_TTL_S`.
    """

    def __init__(self, objects, *, run_id: str = "", ttl_s: float | None = None):
        self.objects = objects
        self.run_id = str(run_id)
        self.ttl_s = float(ttl_s if ttl_s is not None else os.environ.get(TTL_ENV, DEFAULT_TTL_S))
        self.lease_id = uuid.uuid4().hex
        self.started = _now().isoformat(timespec="seconds")
        self._token: str | None = None
        self._expires: dt.datetime | None = None
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._mutex = threading.Lock()
        self.took_over: dict | None = None   # the expired holder this lease replaced, if any

    # ------------------------------------------------------------------------------------

    def _body(self) -> tuple[bytes, dt.datetime]:
        expires = _now() + dt.timedelta(seconds=self.ttl_s)
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": self.started, "run_id": self.run_id,
                  "lease_id": self.lease_id, "ttl_s": self.ttl_s, "expires": expires.isoformat(timespec="milliseconds")}
        return (json.dumps(holder, sort_keys=True) + "\n").encode("utf-8"), expires

    def holder(self) -> tuple[dict, str] | None:
        """The current holder's description and the lease object's token (None: no lease)."""
        got = self.objects.get_with_token(LOCK_KEY)
        if got is None:
            return None
        try:
            holder = json.loads(got[0].decode("utf-8"))
        except ValueError:
            holder = {}
        return (holder if isinstance(holder, dict) else {}), got[1]

    @staticmethod
    def expired(holder: dict) -> bool:
        try:
            return _now() > dt.datetime.fromisoformat(holder["expires"])
        except (KeyError, TypeError, ValueError):
            return True   # an unreadable lease object names no live writer

    def acquire(self, wait_s: float = 0.0) -> Lease:
        """Take the lease, waiting up to *wait_s* seconds for the holder to release it or for its
        lease to expire; :class:`StoreLockedError` naming the holder otherwise."""
        deadline = time.monotonic() + max(float(wait_s), 0.0)
        while True:
            body, expires = self._body()
            token = self.objects.create(LOCK_KEY, body)
            if token is None:
                cur = self.holder()
                if cur is not None and self.expired(cur[0]):
                    token = self.objects.swap(LOCK_KEY, body, cur[1])   # take over a dead writer's
                    if token is not None:
                        self.took_over = cur[0]
            if token is not None:
                self._token, self._expires = token, expires
                self._renewer = threading.Thread(target=self._renew_loop, name="envq-store-lease", daemon=True)
                self._renewer.start()
                return self
            left = deadline - time.monotonic()
            if left <= 0:
                cur = self.holder()
                raise StoreLockedError(self.objects.url, cur[0] if cur else {})
            time.sleep(min(0.2, left))

    def renew(self) -> bool:
        """Extend the lease by ``ttl_s``; False (and the lease is lost) if it is no longer ours."""
        with self._mutex:
            if self._lost or self._token is None:
                return False
            body, expires = self._body()
            token = self.objects.swap(LOCK_KEY, body, self._token)
            if token is None:
                self._lost = "the lease object was replaced (this writer's lease expired and another took it)"
                return False
            self._token, self._expires = token, expires
            return True

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                if not self.renew():
                    return
            except Exception as exc:   # the storage unreachable: keep trying until the lease expires
                if self._expires is not None and _now() > self._expires:
                    self._lost = f"could not renew the lease before it expired ({type(exc).__name__}: {exc})"
                    return

    def check(self) -> None:
        """Raise :class:`StoreError` unless the lease is ours with at least a third of ``ttl_s`` left
        (called before every switch)."""
        if self._lost:
            raise StoreError(f"{self.objects.url}: this writer lost the store's lease: {self._lost}; nothing "
                             "more is written")
        if self._expires is None or _now() + dt.timedelta(seconds=self.ttl_s / 3) > self._expires:
            if not self.renew():
                raise StoreError(f"{self.objects.url}: this writer lost the store's lease: {self._lost}")

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        with self._mutex:
            if self._token is not None and not self._lost:
                self.objects.delete(LOCK_KEY, token=self._token)
            self._token = None
