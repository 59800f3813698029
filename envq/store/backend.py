"""Where a store lives and how it is written: a local folder or an S3-compatible bucket
(docs/pipeline.md, "Store" and "A store a cluster can share").

A :class:`Backend` gives the other modules of the store everything that differs between the two
places, so that none of them asks where it is:

- keys: ``/``-separated paths relative to the root (``air/hourly/2019-01.json``); :meth:`where`
  is what a user is shown (a :class:`~pathlib.Path`, or an ``s3://`` URL);
- the atomic switch: :meth:`put` replaces an object whole (local: tmp, fsync, rename; S3:
  ``PutObject``), after checking that this writer still holds the lease; :meth:`write_tree`
  writes a new zarr version under a prefix nothing points to yet (copy-on-write);
- one writer at a time: :meth:`lock` (``fcntl.flock`` on ``.lock`` and ``.lock.json`` naming the
  holder; on S3 a lease, :mod:`envq.store.lease`), re-entrant, :meth:`require_lock`;
- the clean-up of a dead writer's temporaries (:meth:`clean_temporaries`) and of unreferenced
  trees (:meth:`remove_tree`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import shutil
import socket
import time
from pathlib import Path

import pandas as pd

from envq.store import objects as _objects
from envq.store._fs import FAULT_ENV, TMP_SUFFIX, atomic_write_bytes, fault, fsync_tree, json_bytes, walk
from envq.store.dates import now_utc
from envq.store.errors import StoreError, StoreLockedError

__all__ = ["Backend", "LocalBackend", "S3Backend", "open_backend", "default_root"]


def default_root() -> Path:
    """``$ENVQ_HOME`` if set, else ``./envq-data`` (in the current directory)."""
    env = os.environ.get("ENVQ_HOME")
    return Path(env).expanduser() if env else Path.cwd() / "envq-data"


def open_backend(root=None) -> Backend:
    """The backend of the store named *root*: ``s3://bucket/prefix``, a folder, or
    :func:`default_root`."""
    if _objects.is_url(root):
        return S3Backend(_objects.open_objects(root))
    return LocalBackend(Path(root if root is not None else default_root()).expanduser().absolute())


class Backend:
    """What every place a store can live gives (see the module docstring)."""

    #: True for object storage.
    remote = False

    def __init__(self, objects: _objects.Objects):
        self.objects = objects
        self.run_id = ""          # the run_id given to lock(): the default of the upserts under it
        self._lock_pid: int | None = None
        self._lock_depth = 0

    # -- reading ------------------------------------------------------------------------------

    def where(self, key: str):
        """Where the object *key* is, as shown to a user: a Path (local) or a URL (S3)."""
        raise NotImplementedError

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def exists(self, key: str) -> bool:
        return self.objects.exists(key)

    def list(self, prefix: str = "") -> list[str]:
        """Every key under the folder *prefix* (``results/``), sorted."""
        return self.objects.list(prefix)

    def children(self, folder: str, start: str = "") -> set[str]:
        """The names directly in *folder* (``air/hourly``) that start with *start*: files and folders."""
        raise NotImplementedError

    def read_parquet(self, key: str, **kwargs) -> pd.DataFrame | None:
        """The Parquet object *key* as a frame, None when it does not exist."""
        data = self.get(key)
        return None if data is None else pd.read_parquet(io.BytesIO(data), **kwargs)

    def open_tree(self, prefix: str):
        """The zarr tree under *prefix* (a month version), to open read-only."""
        raise NotImplementedError

    # -- writing ------------------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, fault_prefix: str | None = None):
        """Replace the object *key* whole, atomically; where it is (:meth:`where`).

        With *fault_prefix* the crash points ``<prefix>:mid-write`` and ``<prefix>:before-switch``
        (:func:`envq.store._fs.fault`) are honoured."""
        raise NotImplementedError

    def write_tree(self, prefix: str, write, *, mid_arrays=None) -> None:
        """Write a new zarr tree under *prefix* (nothing points to it yet): ``write(target)``
        writes into *target* (a folder path or a zarr store). *mid_arrays(key)* says whether a key
        is a data chunk, for the crash point ``air:mid-arrays`` (killed once three are written)."""
        raise NotImplementedError

    def remove_tree(self, prefixes: list[str]) -> None:
        """Remove the trees under *prefixes* (unreferenced versions, under the lock)."""
        raise NotImplementedError

    def clean_temporaries(self) -> None:
        """Remove the ``*.envq.tmp`` a dead writer left (under the lock)."""

    # -- the writer lock ------------------------------------------------------------------------

    @property
    def lease(self):
        """The writer's lease while it holds the lock (object storage), else None."""
        return None

    def holds_lock(self) -> bool:
        raise NotImplementedError

    def require_lock(self, what: str) -> None:
        """StoreError unless this backend's writer holds the lock (*what*: the method asked for)."""
        if not self.holds_lock():
            raise StoreError(f"{what} writes to the store and needs its writer lock held by this Store: "
                             f"use `with store.lock(run_id=...): store.{what}(...)`")

    @contextlib.contextmanager
    def lock(self, *, run_id: str = "", wait_s: float = 0.0, on_taken=None):
        """Hold the writer lock; re-entrant within this backend. *on_taken()* runs once it is
        taken (the schema check and the clean-up of a crashed writer)."""
        if self.holds_lock():
            self._lock_depth += 1
            try:
                yield self
            finally:
                self._lock_depth -= 1
            return
        with self._acquire(str(run_id), wait_s):
            pid = os.getpid()
            self._lock_pid, self._lock_depth, self.run_id = pid, 1, str(run_id)
            try:
                if on_taken is not None:
                    on_taken()
                yield self
            finally:
                if os.getpid() == pid:
                    self._lock_pid, self._lock_depth, self.run_id = None, 0, ""

    def _acquire(self, run_id: str, wait_s: float):
        raise NotImplementedError


# --------------------------------------------------------------------------------------------


class LocalBackend(Backend):
    """A local folder. The writer lock is ``fcntl.flock`` on ``root/.lock`` (released by the
    kernel when its process dies), described by ``root/.lock.json``."""

    def __init__(self, root: Path):
        super().__init__(_objects.LocalObjects(root))
        self.root = Path(root)
        self.url = str(self.root)
        self._lock_fd: int | None = None

    def where(self, key):
        return self.root / key

    def get(self, key):
        return self.objects.get(key)

    def exists(self, key):
        return (self.root / key).exists()

    def children(self, folder, start=""):
        d = self.root / folder
        return {x.name for x in d.iterdir() if x.name.startswith(start)} if d.is_dir() else set()

    def read_parquet(self, key, **kwargs):
        p = self.root / key
        return pd.read_parquet(p, **kwargs) if p.exists() else None

    def open_tree(self, prefix):
        return self.root / prefix

    def put(self, key, data, *, fault_prefix=None):
        return atomic_write_bytes(self.root / key, data, fault_prefix=fault_prefix)

    def write_tree(self, prefix, write, *, mid_arrays=None):
        path = self.root / prefix
        path.parent.mkdir(parents=True, exist_ok=True)
        target = path
        if mid_arrays is not None and os.environ.get(FAULT_ENV) == "air:mid-arrays":
            target = _mid_arrays_fault_store(path, mid_arrays)
        write(target)
        fsync_tree(path)

    def remove_tree(self, prefixes):
        for p in prefixes:
            shutil.rmtree(self.root / p, ignore_errors=True)

    def clean_temporaries(self):
        for dirpath, dirnames, filenames in walk(self.root):  # folder links followed
            for name in dirnames + filenames:
                if name.endswith(TMP_SUFFIX):
                    p = Path(dirpath) / name
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                        dirnames.remove(name)
                    else:
                        with contextlib.suppress(FileNotFoundError):
                            p.unlink()

    # -- lock

    def holds_lock(self):
        return self._lock_fd is not None and self._lock_pid == os.getpid()

    def holder(self) -> dict:
        """The description of the lock's holder (``.lock.json``), {} when there is none."""
        try:
            holder = json.loads((self.root / ".lock.json").read_text(encoding="utf-8"))
            return holder if isinstance(holder, dict) else {}
        except (OSError, ValueError):
            return {}

    @contextlib.contextmanager
    def _acquire(self, run_id, wait_s):
        if not self.root.is_dir():
            raise StoreError(f"{self.root}: the store's directory is gone")
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            deadline = time.monotonic() + max(float(wait_s), 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StoreLockedError(self.root, self.holder()) from None
                    time.sleep(min(0.05, left))
        except BaseException:
            os.close(fd)
            raise
        pid = os.getpid()
        try:
            holder = {"pid": pid, "host": socket.gethostname(), "started": now_utc(), "run_id": run_id}
            atomic_write_bytes(self.root / ".lock.json", json_bytes(holder))
            self._lock_fd = fd
            yield
        finally:
            if os.getpid() == pid:
                self._lock_fd = None
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root / ".lock.json")
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _mid_arrays_fault_store(path: Path, is_data_chunk):
    """A local zarr store that calls the ``air:mid-arrays`` fault once three data chunks are
    written (used only when ``$ENVQ_STORE_FAULT`` names that point)."""
    from zarr.storage import LocalStore

    class MidArraysFault(LocalStore):
        written = 0

        async def set(self, key, value):
            await super().set(key, value)
            if is_data_chunk(key):
                type(self).written += 1
                if type(self).written >= 3:
                    fault("air:mid-arrays")

    return MidArraysFault(str(path))


# --------------------------------------------------------------------------------------------


class S3Backend(Backend):
    """An S3-compatible bucket (and a key prefix). The writer lock is a lease
    (:mod:`envq.store.lease`); every switch checks it first."""

    remote = True

    def __init__(self, objects: _objects.S3Objects):
        super().__init__(objects)
        self.root = objects.url
        self.url = objects.url
        self._lease = None

    def where(self, key):
        return f"{self.root}/{key}"

    def children(self, folder, start=""):
        prefix = folder.rstrip("/") + "/"
        return {k[len(prefix):].split("/", 1)[0] for k in self.objects.list(prefix + start)}

    def open_tree(self, prefix):
        """The version's objects fetched into memory (a month is a few MB compressed; decoding
        stays lazy)."""
        from concurrent.futures import ThreadPoolExecutor

        from zarr.core.buffer import default_buffer_prototype
        from zarr.storage import MemoryStore

        prefix = prefix.rstrip("/") + "/"
        keys = self.objects.list(prefix)
        with ThreadPoolExecutor(8) as pool:
            datas = list(pool.map(self.objects.get, keys))
        buf = default_buffer_prototype().buffer
        return MemoryStore(store_dict={k[len(prefix):]: buf.from_bytes(d) for k, d in zip(keys, datas)},
                           read_only=True)

    def put(self, key, data, *, fault_prefix=None):
        if self._lease is not None:
            self._lease.check()   # a writer that lost its lease switches nothing in
        if fault_prefix:
            fault(f"{fault_prefix}:mid-write")
            fault(f"{fault_prefix}:before-switch")
        self.objects.put(key, data)
        return self.where(key)

    def write_tree(self, prefix, write, *, mid_arrays=None):
        # the tree is written in memory, then each of its objects is put under the new prefix
        # (copy-on-write: nothing points to it yet)
        from concurrent.futures import ThreadPoolExecutor

        from zarr.storage import MemoryStore

        objs: dict = {}
        write(MemoryStore(store_dict=objs))
        items = sorted(objs.items())
        prefix = prefix.rstrip("/")
        if mid_arrays is not None and os.environ.get(FAULT_ENV) == "air:mid-arrays":
            for k in [k for k, _ in items if mid_arrays(k)][:3]:
                self.objects.put(f"{prefix}/{k}", objs[k].to_bytes())
            fault("air:mid-arrays")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda kv: self.objects.put(f"{prefix}/{kv[0]}", kv[1].to_bytes()), items))

    def remove_tree(self, prefixes):
        if self._lease is not None:
            self._lease.check()   # a writer that lost its lease removes nothing (a successor's tree)
        keys = [k for p in prefixes for k in self.objects.list(p.rstrip("/") + "/")]
        self.objects.delete_many(keys)

    # -- lock

    @property
    def lease(self):
        return self._lease if self.holds_lock() else None

    def holds_lock(self):
        return self._lease is not None and self._lock_pid == os.getpid()

    @contextlib.contextmanager
    def _acquire(self, run_id, wait_s):
        from envq.store.lease import Lease

        lease = Lease(self.objects, run_id=run_id).acquire(wait_s)
        pid = os.getpid()
        try:
            self._lease = lease
            yield
        finally:
            if os.getpid() == pid:
                self._lease = None
                lease.release()
