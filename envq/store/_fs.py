"""File-system primitives of the store: atomic writes, fsync, fault injection, safe names.

Every file of the store is replaced, never modified in place (docs/pipeline.md, "Store"): a new
content goes to ``<name>.envq.tmp``, is flushed and fsynced, then ``os.replace``-d over the old
name and the directory is fsynced. A crash leaves the old file and, at worst, a ``*.envq.tmp``
orphan that the next writer removes.

Fault injection (for the crash tests): when the environment variable ``ENVQ_STORE_FAULT`` names
a point (:data:`FAULT_POINTS`), the process kills itself with SIGKILL when it reaches it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

__all__ = ["FAULT_ENV", "FAULT_POINTS", "TMP_SUFFIX", "fault", "atomic_write_bytes", "json_bytes",
           "fsync_dir", "fsync_tree", "check_name", "walk"]

FAULT_ENV = "ENVQ_STORE_FAULT"

#: The named points where :func:`fault` can kill the process.
FAULT_POINTS = (
    "air:mid-arrays",        # a new month version has some of its six arrays written
    "air:before-switch",     # the new version is complete (and revisions recorded), pointer not switched
    "air:after-switch",      # a pointer is switched (upsert, or a month of compact_air), the superseded version not yet cleaned
    "water:mid-write",       # half of the new month Parquet file is in its .envq.tmp
    "water:before-switch",   # the .envq.tmp is complete and synced, not yet renamed
    "revisions:mid-write",
    "revisions:before-switch",
)

#: Suffix of files being written (orphans when a writer died).
TMP_SUFFIX = ".envq.tmp"


def fault(point: str) -> None:
    """Kill this process with SIGKILL if ``$ENVQ_STORE_FAULT`` is *point* (crash tests only)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def walk(path):
    """:func:`os.walk` that follows symbolic links to folders (a store's folder may live on another
    disk), each real folder once (a link loop ends)."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        yield dirpath, dirnames, filenames


def fsync_tree(path: Path) -> None:
    """fsync every file and directory under *path* (a new zarr version before its switch)."""
    for dirpath, _, filenames in walk(path):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def atomic_write_bytes(path: Path, data: bytes, *, fault_prefix: str | None = None) -> Path:
    """Replace *path* by *data* atomically (tmp, fsync, ``os.replace``, fsync of the directory).

    A failed write (a full disk) removes the temporary and raises an :class:`OSError` whose
    ``filename`` is *path*; the previous content is left as it was.

    With *fault_prefix* (e.g. ``"water"``) the points ``<prefix>:mid-write`` and
    ``<prefix>:before-switch`` of :func:`fault` are honoured.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    view = memoryview(data)
    try:
        with open(tmp, "wb") as fh:
            if fault_prefix:
                half = len(view) // 2
                fh.write(view[:half])
                fh.flush()
                fault(f"{fault_prefix}:mid-write")
                fh.write(view[half:])
            else:
                fh.write(view)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:  # a full disk, a quota: no temporary left, the error names the file
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    if fault_prefix:
        fault(f"{fault_prefix}:before-switch")
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


def json_bytes(obj) -> bytes:
    """Deterministic JSON (sorted keys, UTF-8, one trailing newline)."""
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def check_name(kind: str, name: str) -> str:
    """*name* if it is usable as one path component of the store, else ValueError."""
    if not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".") \
            or "/" in name or "\\" in name or "\0" in name or name.endswith(TMP_SUFFIX):
        raise ValueError(f"{kind} {name!r} is not usable as a file name in the store (non-empty, no '/', "
                         f"'\\\\' or NUL, not starting with '.', not ending with {TMP_SUFFIX!r})")
    return name
