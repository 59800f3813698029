"""Where a store's objects live: a local folder or an S3-compatible bucket (docs/pipeline.md,
"A store a cluster can share").

The store's guarantees rest on four primitives, which both places give:

=========================  ==========================================  ==========================================
primitive                  local folder (:class:`LocalObjects`)         S3 API (:class:`S3Objects`)
=========================  ==========================================  ==========================================
replace an object whole    write ``<key>.envq.tmp``, fsync, rename       ``PutObject`` (atomic: old or new, never half)
create only if absent      write a tmp, fsync, ``link`` (fails if        ``PutObject`` with ``If-None-Match: *``
                           the name exists)
replace only if unchanged  under the writer lock (``flock``)            ``PutObject`` with ``If-Match: <ETag>``
                                                                       (compare-and-swap)
list, read, delete         ``os.scandir``, ``open``, ``unlink``          ``ListObjectsV2``, ``GetObject``,
                                                                       ``DeleteObject`` (``If-Match`` optional)
=========================  ==========================================  ==========================================

Keys are ``/``-separated paths relative to the store's root (``air/hourly/2019-01.json``); the
layout is the same in both places, so a store folder copied to a bucket (or back) is the same
store. S3 has been strongly consistent for reads after writes and lists since 2020, as are
MinIO, Ceph RGW and moto; conditional writes (``If-None-Match``/``If-Match`` on ``PutObject``)
are supported by AWS S3 since 2024, MinIO, Ceph RGW and moto.

An S3 store is named ``s3://bucket/prefix``. The endpoint and credentials are boto3's usual
settings (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, or a profile), so a Dask worker started with the same environment opens
the same store.
"""

from __future__ import annotations

import os
from pathlib import Path

from envq.store._fs import TMP_SUFFIX, atomic_write_bytes, fsync_dir, walk

__all__ = ["Objects", "LocalObjects", "S3Objects", "open_objects", "is_url"]


def is_url(root) -> bool:
    """True for an object-storage store name (``s3://...``)."""
    return isinstance(root, str) and root.startswith("s3://")


def open_objects(root) -> Objects:
    """The objects of the store named *root*: ``s3://bucket/prefix`` or a local folder."""
    if is_url(root):
        bucket, _, prefix = root[len("s3://"):].partition("/")
        return S3Objects(bucket, prefix)
    return LocalObjects(Path(root))


class Objects:
    """The primitives a store needs from where its objects live (see the module docstring).

    ``token`` is what changes when an object changes (the S3 ETag; a local file's inode, size
    and modification time): :meth:`swap` replaces an object only if its token is still the one
    read.
    """

    url: str

    def get(self, key: str) -> bytes | None:
        """The object's bytes, None when it does not exist."""
        raise NotImplementedError

    def get_with_token(self, key: str) -> tuple[bytes, str] | None:
        raise NotImplementedError

    def put(self, key: str, data: bytes) -> None:
        """Replace (or create) the object whole, atomically."""
        raise NotImplementedError

    def create(self, key: str, data: bytes) -> str | None:
        """Create the object only if no object has the key; its token, or None if one had."""
        raise NotImplementedError

    def swap(self, key: str, data: bytes, token: str) -> str | None:
        """Replace the object only if its token is still *token*; the new token, or None."""
        raise NotImplementedError

    def delete(self, key: str, token: str | None = None) -> bool:
        """Delete the object (only if its token is *token*, when given); False if it was not."""
        raise NotImplementedError

    def list(self, prefix: str = "") -> list[str]:
        """Every key under *prefix* (a folder: ``air/hourly/``), sorted."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        return self.get_with_token(key) is not None


# --------------------------------------------------------------------------------------------


class LocalObjects(Objects):
    """A local folder (today's store). One writer at a time is ``flock`` (``envq.store``)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    @staticmethod
    def _token(st: os.stat_result) -> str:
        return f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}"

    def get(self, key):
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def get_with_token(self, key):
        p = self._path(key)
        try:
            with open(p, "rb") as fh:
                return fh.read(), self._token(os.fstat(fh.fileno()))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def put(self, key, data):
        atomic_write_bytes(self._path(key), bytes(data))

    def create(self, key, data):
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f"{p.name}.{os.getpid()}{TMP_SUFFIX}")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, p)            # atomic, and fails if the name exists
        except FileExistsError:
            return None
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(p.parent)
        return self._token(p.stat())

    def swap(self, key, data, token):
        # only used under the flock writer lock: check, then replace
        cur = self.get_with_token(key)
        if cur is None or cur[1] != token:
            return None
        self.put(key, data)
        return self._token(self._path(key).stat())

    def delete(self, key, token=None):
        p = self._path(key)
        if token is not None:
            cur = self.get_with_token(key)
            if cur is None or cur[1] != token:
                return False
        try:
            p.unlink()
            return True
        except FileNotFoundError:
            return False

    def list(self, prefix=""):
        base = self._path(prefix) if prefix else self.root
        out = []
        if not base.is_dir():
            return out
        for dirpath, _, names in walk(base):  # folder links followed
            for n in names:
                out.append(Path(dirpath, n).relative_to(self.root).as_posix())
        return sorted(out)


# --------------------------------------------------------------------------------------------


class S3Objects(Objects):
    """A bucket (and a key prefix) of an S3-compatible object storage, through boto3.

    Conditional writes give what a local folder gets from ``rename`` and ``link``: ``PutObject``
    with ``If-None-Match: *`` creates an object only if absent (the writer's lease,
    :mod:`envq.store.lease`), with ``If-Match`` replaces it only if unchanged (renewing or taking
    over the lease). A refused condition is HTTP 412 (``PreconditionFailed``; 409
    ``ConditionalRequestConflict`` when two writes race).
    """

    def __init__(self, bucket: str, prefix: str = "", *, client=None):
        if not bucket:
            raise ValueError("an S3 store is named s3://bucket/prefix; the bucket is missing")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            # the endpoint, region and credentials come from boto3's usual settings
            # (AWS_ENDPOINT_URL, AWS_* variables, profiles); retries for a busy server
            self._client = boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))
        return self._client

    def __getstate__(self):   # a Dask worker builds its own client
        return {"bucket": self.bucket, "prefix": self.prefix, "url": self.url, "_client": None}

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _code(exc) -> str:
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))

    def _refused(self, exc) -> bool:
        return self._code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")

    def _missing(self, exc) -> bool:
        return self._code(exc) in ("NoSuchKey", "404", "NotFound")

    def get(self, key):
        got = self.get_with_token(key)
        return None if got is None else got[0]

    def get_with_token(self, key):
        from botocore.exceptions import ClientError

        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise
        return r["Body"].read(), r["ETag"]

    def put(self, key, data):
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(data))

    def create(self, key, data):
        from botocore.exceptions import ClientError

        try:
            r = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(data), IfNoneMatch="*")
        except ClientError as exc:
            if self._refused(exc):
                return None
            raise
        return r["ETag"]

    def swap(self, key, data, token):
        from botocore.exceptions import ClientError

        try:
            r = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(data), IfMatch=token)
        except ClientError as exc:
            if self._refused(exc) or self._missing(exc):
                return None
            raise
        return r["ETag"]

    def delete(self, key, token=None):
        from botocore.exceptions import ClientError

        kw = {"IfMatch": token} if token is not None else {}
        try:
            if token is None and not self.exists(key):
                return False
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key), **kw)
            return True
        except ClientError as exc:
            if self._refused(exc) or self._missing(exc):
                return False
            raise

    def delete_many(self, keys: list[str]) -> None:
        """Delete *keys* (1,000 a request)."""
        for i in range(0, len(keys), 1000):
            batch = [{"Key": self._key(k)} for k in keys[i: i + 1000]]
            if batch:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def list(self, prefix=""):
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        out = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            out.extend(o["Key"][strip:] for o in page.get("Contents", ()))
        return sorted(out)

    def exists(self, key):
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise
