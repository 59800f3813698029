"""Run reports and raw payloads (docs/pipeline.md, "Store"): ``reports/<name>.md`` (the latest
run's) and ``raw/<source>/YYYY/YYYY-MM-DD/<file>`` (what a source sent, kept for replay)."""

from __future__ import annotations

from envq.store._fs import check_name
from envq.store.dates import as_date
from envq.store.errors import StoreError

__all__ = ["Reports", "RawPayloads"]


class Reports:
    """The latest run's reports in the store on *backend*."""

    def __init__(self, backend):
        self.backend = backend

    def write(self, name: str, text: str):
        """Write ``reports/<name>.md`` (atomic replace); where it is."""
        self.backend.require_lock("write_report")
        check_name("report name", name)
        return self.backend.put(f"reports/{name}.md", text.encode("utf-8"))

    def read(self, name: str) -> str:
        """The latest run's report *name* (markdown); StoreError when no run published one."""
        check_name("report name", name)
        raw = self.backend.get(f"reports/{name}.md")
        if raw is None:
            raise StoreError(f"{self.backend.root}: no report {name!r} (no run has published one)")
        return raw.decode("utf-8")


class RawPayloads:
    """The raw payloads kept in the store on *backend*."""

    def __init__(self, backend):
        self.backend = backend

    def keep(self, source: str, day, name: str, data: bytes):
        """Keep *data* as ``raw/<source>/YYYY/YYYY-MM-DD/<name>`` (atomic; not rewritten when the
        same bytes are already there); where it is."""
        self.backend.require_lock("keep_raw")
        check_name("source", source)
        check_name("payload name", name)
        day = as_date(day, "day")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"keep_raw takes bytes, not {type(data).__name__}")
        key = f"raw/{source}/{day:%Y}/{day.isoformat()}/{name}"
        if self.backend.get(key) == bytes(data):
            return self.backend.where(key)
        return self.backend.put(key, bytes(data))
