"""Exceptions of :mod:`envq.store` (design: docs/pipeline.md, section "Store")."""

from __future__ import annotations

from envq.errors import PeriodError

__all__ = ["StoreError", "StoreLockedError", "NoResultError"]


class StoreError(RuntimeError):
    """The store cannot do what was asked: not a store, a newer schema, a write without the lock,
    a missing result, a damaged pointer."""


class StoreLockedError(StoreError):
    """Another writer holds the store's lock (``.lock``, described by ``.lock.json``).

    Attributes ``root`` (the store), ``holder`` (the dict of ``.lock.json``, empty when the holder
    has not written it yet) and its fields ``pid``, ``host``, ``started``, ``run_id``.
    """

    def __init__(self, root, holder: dict | None = None):
        self.root = str(root)
        self.holder = dict(holder or {})
        self.pid = self.holder.get("pid")
        self.host = self.holder.get("host")
        self.started = self.holder.get("started")
        self.run_id = self.holder.get("run_id")
        if self.holder:
            who = (f"pid {self.pid} on host {self.host!r}, started {self.started}, "
                   f"run {self.run_id!r}")
        else:
            who = "a process that has not described itself yet (no .lock.json)"
        super().__init__(f"{self.root}: the store is locked by another writer: {who}; wait for it to "
                         "finish, or let the run wait its turn: envq run|backfill --wait MINUTES (or [store] "
                         "wait_minutes in envq.toml)")

    def __reduce__(self):
        return (type(self), (self.root, self.holder))


class NoResultError(PeriodError, StoreError):
    """The store holds no result *name* for the period asked for: a usage error (ask for a period it
    holds) that lists the periods it holds; also a :class:`StoreError`."""

    def __init__(self, root, name: str, period, held):
        self.root, self.name = str(root), str(name)
        PeriodError.__init__(self, str(period), f"{self.root}: no result {self.name!r} for this period",
                             held=held, grammar=False)

    def __reduce__(self):
        return (type(self), (self.root, self.name, self.text, self.held))
