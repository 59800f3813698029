"""Source adapters: where the nightly run gets its raw files (docs/pipeline.md, "Sources").

A source (``air`` or ``water``) is an adapter chosen in the configuration file (``envq.toml`` or
``$ENVQ_CONFIG``, read by :func:`envq.config.load_config`)::

    [sources.air]
    kind = "http"                                  # module envq/sources/adapters/http.py
    base_url = "http://127.0.0.1:8000/air/"
    template = "china_sites_{date:%Y%m%d}.csv"     # str.format with date=datetime.date
    timeout_s = 30
    retries = 3                                    # Prefect task retries (the flow applies them)
    retry_delays_s = [10, 60, 300]
    repull_days = 3                                # re-pull the last N days to catch revisions

    [sources.water]
    kind = "local"                                 # module envq/sources/adapters/local.py
    path = "data/water"                            # relative to the configuration file's folder
    pattern = "hunan_water_auto_*.csv.gz"

Without a ``[sources.<name>]`` table the embedded default reads the bundled real data: air
``local`` from ``data/air`` (``hunan_sites_*.csv.gz``), water ``local`` from ``data/water``
(``hunan_water_auto_*.csv.gz``), the folder found by :func:`envq.sources.files.default_data_dir`.

Registry: the kind name is the module ``envq.sources.adapters.<kind>``, imported on demand, so
adding a source kind means adding one module. Such a module defines

- ``check_options(options: dict, base: pathlib.Path) -> dict``: the kind's own keys of the table
  (every key but the common ``kind, timeout_s, retries, retry_delays_s, repull_days``), checked
  and normalised (relative paths taken from ``base``, the configuration file's folder); raises
  :class:`OptionError` naming the key and value;
- ``SOURCE``: its :class:`Source` subclass, which implements ``fetch``.

Adapter contract (every kind, docs/pipeline.md):

- ``fetch(start, end) -> list[Payload]``: the raw files covering the natural days
  ``start..end`` (air also the file of ``end + 1``, whose 00:00 row is hour 24 of ``end``);
  raises :class:`FetchError` on a timeout, an HTTP error or a truncated body, and
  :class:`NotPublished` (not retried) when a day's file does not exist yet.
- ``parse(payloads, start, end)``: air -> the canonical hourly :class:`xarray.Dataset` restricted
  to the hour labels of the natural days (``start 01:00 .. end+1 00:00``); water -> the canonical
  long table (:data:`envq.sources.cnemc_water.LONG_COLUMNS`) restricted to readings whose date is
  in ``start..end``, values as pulled (no screening: screening happens at compute time). The
  readers are the existing ones of :mod:`envq.sources`; their :class:`envq.errors.InputError`
  names the payload's origin (URL or path) as the file.

This package never imports Prefect: the flows call these functions and apply ``retries``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import importlib.util
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path

from envq.errors import InputError

__all__ = [
    "SOURCE_NAMES",
    "Payload",
    "FetchError",
    "NotPublished",
    "RejectedPayloads",
    "OptionError",
    "SourceConfig",
    "Source",
    "available_kinds",
    "default_source_table",
    "source_config",
    "make_source",
    "open_source",
    "parse_payloads",
    "materialised",
]

#: The sources envq knows, each a ``[sources.<name>]`` table.
SOURCE_NAMES = ("air", "water")

#: Keys every ``[sources.<name>]`` table may hold whatever its kind (see :class:`SourceConfig`).
COMMON_KEYS = ("kind", "timeout_s", "retries", "retry_delays_s", "repull_days")

_DEFAULT_PATTERNS = {"air": "hunan_sites_*.csv.gz", "water": "hunan_water_auto_*.csv.gz"}
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------------------------
# shared types


@dataclass(frozen=True)
class Payload:
    """One raw file as fetched (docs/pipeline.md, "Sources").

    Attributes
    ----------
    name : str
        The file name (``china_sites_20191231.csv.gz``); the readers recognise formats by it.
    origin : str
        Where it came from: the URL, or the local path as str.
    data : bytes or None
        The body (http); None when the file is referenced by ``path`` (local).
    path : pathlib.Path or None
        The local file; None for a body held in ``data``.
    sha256 : str
        Hex SHA-256 of the content.
    """

    name: str
    origin: str
    data: bytes | None = field(repr=False)
    path: Path | None
    sha256: str

    def __post_init__(self):
        if (self.data is None) == (self.path is None):
            raise ValueError(f"payload {self.origin}: exactly one of data and path must be set")

    def content(self) -> bytes:
        """The raw bytes (``data``, or the file's content)."""
        return self.data if self.data is not None else Path(self.path).read_bytes()

    @classmethod
    def from_bytes(cls, name: str, origin: str, data: bytes) -> "Payload":
        """A payload holding ``data`` (its sha256 computed)."""
        return cls(name=name, origin=origin, data=bytes(data), path=None, sha256=hashlib.sha256(data).hexdigest())

    @classmethod
    def from_path(cls, path, origin: str | None = None) -> "Payload":
        """A payload referencing a local file (its sha256 computed from the file)."""
        p = Path(path)
        with open(p, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        return cls(name=p.name, origin=str(p) if origin is None else origin, data=None, path=p, sha256=digest)


class FetchError(Exception):
    """A source could not deliver a file: timeout, HTTP error, truncated body, missing folder.

    The message names the source, the origin (URL or path) and the reason::

        >>> str(FetchError("air", "http://h/air/x.csv", "timed out after 30 s"))
        'air source: http://h/air/x.csv: timed out after 30 s'

    ``status`` is the HTTP status when there was one. A flow retries it (``retries``).
    """

    def __init__(self, source: str, origin: str, reason: str, status: int | None = None):
        self.source, self.origin, self.reason, self.status = str(source), str(origin), str(reason), status
        super().__init__(f"{self.source} source: {self.origin}: {self.reason}")

    def __reduce__(self):  # keep the attributes through pickling (Prefect, multiprocessing)
        return (type(self), (self.source, self.origin, self.reason, self.status))


class NotPublished(FetchError):
    """The file of a requested day does not exist (yet), e.g. HTTP 404: not retried."""


class RejectedPayloads(InputError):
    """The readers refused what a source delivered (a cut body, a damaged file...).

    The :class:`envq.errors.InputError` of the reader (same file, row, field, value and
    problem), with ``payloads``: everything fetched for the span, so that the caller can keep the
    raw bytes for inspection (the nightly flow keeps them under ``raw/<source>-rejected/``).
    Not retried: the same bytes fail the same way.
    """

    def __init__(self, error: InputError, payloads):
        super().__init__(error.file, error.row, error.field, error.value, error.problem)
        self.payloads = list(payloads)

    def __reduce__(self):  # keep the payloads through pickling (Prefect, Dask)
        return (_rejected, (self.file, self.row, self.field, self.value, self.problem, self.payloads))


def _rejected(file, row, field, value, problem, payloads):
    return RejectedPayloads(InputError(file, row, field, value, problem), payloads)


class OptionError(ValueError):
    """Raised by a kind's ``check_options``: ``key`` holds ``value``, which ``problem``."""

    def __init__(self, key: str, value, problem: str):
        self.key, self.value, self.problem = key, value, problem
        super().__init__(f"{key}: value {value!r} {problem}")


@dataclass
class SourceConfig:
    """One ``[sources.<name>]`` table, checked (see :func:`source_config`).

    ``options`` holds the kind's own keys (``path``/``pattern`` for local, ``base_url``/
    ``template`` for http), paths made absolute. ``retries``, ``retry_delays_s`` and
    ``repull_days`` are for the flow (Prefect task retries, days re-pulled each night).
    """

    name: str
    kind: str
    options: dict = field(default_factory=dict)
    timeout_s: float = 30
    retries: int = 3
    retry_delays_s: tuple = (10, 60, 300)
    repull_days: int = 3


class Source:
    """Base of every adapter (docs/pipeline.md, "Sources").

    Subclasses implement :meth:`fetch`; :meth:`parse` is shared (it only depends on the source
    name: air or water).
    """

    kind = ""

    def __init__(self, config: SourceConfig):
        if config.name not in SOURCE_NAMES:
            raise ValueError(f"unknown source {config.name!r}; expected one of {', '.join(SOURCE_NAMES)}")
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    def __repr__(self):
        return f"{type(self).__name__}({self.config!r})"

    def file_days(self, start, end) -> tuple[_dt.date, _dt.date]:
        """First and last day whose file is needed for the natural days ``start..end``.

        Air: ``start .. end + 1`` (a CNEMC day file D holds labels D 00:00..23:00, and D 00:00 is
        hour 24 of day D-1). Water: ``start .. end``.
        """
        start, end = day_range(start, end)
        return start, end + _dt.timedelta(days=1 if self.name == "air" else 0)

    def fetch(self, start, end) -> list[Payload]:
        """The raw files covering the days ``start..end`` (dates, inclusive)."""
        raise NotImplementedError

    def parse(self, payloads, start, end):
        """Air: ``xarray.Dataset``; water: ``pandas.DataFrame`` (see :func:`parse_payloads`)."""
        return parse_payloads(self.name, payloads, start, end)

    def pull(self, start, end):
        """``(payloads, data)``: :meth:`fetch`, then :meth:`parse`. A payload the readers refuse
        raises :class:`RejectedPayloads`, which carries the payloads (for inspection)."""
        payloads = self.fetch(start, end)
        try:
            return payloads, self.parse(payloads, start, end)
        except RejectedPayloads:
            raise
        except InputError as exc:
            raise RejectedPayloads(exc, payloads) from None


def day_range(start, end) -> tuple[_dt.date, _dt.date]:
    """``(start, end)`` as :class:`datetime.date` (dates, datetimes or ISO strings accepted)."""
    s, e = _as_date(start), _as_date(end)
    if e < s:
        raise ValueError(f"end {e} is before start {s}")
    return s, e


def _as_date(x) -> _dt.date:
    if isinstance(x, _dt.datetime):
        return x.date()
    if isinstance(x, _dt.date):
        return x
    if isinstance(x, str):
        return _dt.date.fromisoformat(x)
    import pandas as pd

    return pd.Timestamp(x).date()


def materialised(payloads):
    """A context manager giving the paths of *payloads*: local files as they are, bodies written
    to a temporary folder removed on exit (for readers that take paths, e.g. the audit)."""
    from envq.sources.adapters import _parse

    return _parse.materialised(payloads)


def parse_payloads(name: str, payloads, start, end):
    """Parse payloads of source ``name`` (``"air"``/``"water"``) for the days ``start..end``.

    Works on payloads kept in the store as well as freshly fetched ones (replay). See
    :mod:`envq.sources.adapters._parse` for the details.
    """
    from envq.sources.adapters import _parse

    start, end = day_range(start, end)
    if name == "air":
        return _parse.parse_air(list(payloads), start, end)
    if name == "water":
        return _parse.parse_water(list(payloads), start, end)
    raise ValueError(f"unknown source {name!r}; expected one of {', '.join(SOURCE_NAMES)}")


# --------------------------------------------------------------------------------------------
# configuration and registry


def available_kinds() -> list[str]:
    """The kinds this installation has: the public modules of this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def default_source_table(name: str) -> dict:
    """The embedded default ``[sources.<name>]`` table: the bundled real data, local."""
    from envq.sources.files import default_data_dir

    if name not in SOURCE_NAMES:
        raise ValueError(f"unknown source {name!r}; expected one of {', '.join(SOURCE_NAMES)}")
    return {"kind": "local", "path": str(default_data_dir() / name), "pattern": _DEFAULT_PATTERNS[name]}


def _kind_module(kind: str):
    return importlib.import_module(f"{__name__}.{kind}")


def source_config(name: str, config: dict | None = None) -> SourceConfig:
    """The checked configuration of source ``name`` (``"air"`` or ``"water"``).

    Parameters
    ----------
    name : {"air", "water"}
    config : dict, optional
        The whole configuration as :func:`envq.config.load_config` returns it (default: that
        function's result). Its ``[sources.<name>]`` table is used, or the embedded default
        (:func:`default_source_table`) when there is none.

    Returns
    -------
    SourceConfig
        Relative paths resolved against the folder of the configuration file
        (:func:`envq.config.config_path`; the working folder when there is no file).

    Raises
    ------
    envq.errors.InputError
        An unknown kind, a missing or bad option: the message names the configuration file,
        the table ``[sources.<name>]``, the field and the value.
    """
    from envq.config import config_path, load_config

    if name not in SOURCE_NAMES:
        raise ValueError(f"unknown source {name!r}; expected one of {', '.join(SOURCE_NAMES)}")
    file = config_path()
    where = str(file) if file is not None else "configuration"
    conf = load_config() if config is None else config
    table_name = f"[sources.{name}]"

    def bad(key, value, problem):
        return InputError(where, None, key, value, f"{problem} (in table {table_name})")

    sources = conf.get("sources", {})
    if not isinstance(sources, dict):
        raise InputError(where, None, "sources", sources, "is not a table: write [sources.air] and [sources.water] tables")
    table = sources.get(name)
    if table is None:
        table = default_source_table(name)
    elif not isinstance(table, dict):
        raise InputError(where, None, f"sources.{name}", table, f"is not a table: write {table_name} with kind = ...")
    base = file.resolve().parent if file is not None else Path.cwd()

    kind = table.get("kind")
    kinds = available_kinds()
    if kind is None:
        raise bad("kind", "", f"is missing: every source needs a kind ({', '.join(kinds)})")
    if not isinstance(kind, str) or not _KIND.match(kind) or importlib.util.find_spec(f"{__name__}.{kind}") is None:
        raise bad("kind", kind, f"is not a source kind (known: {', '.join(kinds)}; a kind is a module "
                  "envq/sources/adapters/<kind>.py)")

    defaults = SourceConfig(name=name, kind=kind)
    timeout_s = table.get("timeout_s", defaults.timeout_s)
    if not _is_number(timeout_s) or not timeout_s > 0:
        raise bad("timeout_s", timeout_s, "is not a positive number of seconds")
    retries = table.get("retries", defaults.retries)
    if not _is_int(retries) or retries < 0:
        raise bad("retries", retries, "is not a whole number >= 0")
    delays = table.get("retry_delays_s", defaults.retry_delays_s)
    delays = [delays] if _is_number(delays) else delays
    if not isinstance(delays, (list, tuple)) or not all(_is_number(d) and d >= 0 for d in delays):
        raise bad("retry_delays_s", delays, "is not a list of seconds >= 0 (e.g. [10, 60, 300])")
    repull = table.get("repull_days", defaults.repull_days)
    if not _is_int(repull) or repull < 0:
        raise bad("repull_days", repull, "is not a whole number of days >= 0")

    module = _kind_module(kind)
    own = {k: v for k, v in table.items() if k not in COMMON_KEYS}
    try:
        options = module.check_options(own, base)
    except OptionError as exc:
        raise bad(exc.key, exc.value, exc.problem) from None
    return SourceConfig(name=name, kind=kind, options=options, timeout_s=timeout_s, retries=int(retries),
                        retry_delays_s=tuple(delays), repull_days=int(repull))


def make_source(config: SourceConfig) -> Source:
    """The adapter of a :class:`SourceConfig` (its kind's module ``SOURCE`` class)."""
    return _kind_module(config.kind).SOURCE(config)


def open_source(name: str, config: dict | None = None) -> Source:
    """The configured adapter of source ``name`` (see :func:`source_config`).

    >>> src = open_source("water", {})          # the embedded default: the bundled data
    >>> src.kind, src.config.options["pattern"]
    ('local', 'hunan_water_auto_*.csv.gz')
    """
    return make_source(source_config(name, config))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)
