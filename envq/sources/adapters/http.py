"""Kind ``http``: one file per day from a web server (docs/pipeline.md, "Sources").

Options of a ``[sources.<name>]`` table with ``kind = "http"``:

- ``base_url``: ``http://`` or ``https://`` folder URL;
- ``template``: the file of a day, ``str.format`` with ``date=datetime.date``
  (``"china_sites_{date:%Y%m%d}.csv"``), appended to ``base_url``;
- ``timeout_s`` (a common key of the table): seconds without a byte before giving up.

:meth:`HttpSource.fetch` makes one GET per day (standard library ``urllib``, no extra
dependency). Air also asks for the file of ``end + 1``, whose 00:00 row is hour 24 of ``end``;
that one may be missing (404) without error. Failures raise
:class:`envq.sources.adapters.FetchError` naming the source, the URL and the reason:

- no answer within ``timeout_s`` -> ``timed out after N s``;
- HTTP 404 -> :class:`envq.sources.adapters.NotPublished` (not retried);
- other HTTP errors -> ``HTTP 500 Internal Server Error`` (``status`` set);
- a body shorter than its ``Content-Length`` -> ``truncated: got X of Y bytes``;
- a gzip body (name ending ``.gz`` or gzip magic bytes) that does not decompress to its end.

Payloads hold the body as bytes (``path`` None), to be kept in the store before parsing.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import http.client
import io
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path, PurePosixPath

from envq.sources.adapters import FetchError, NotPublished, OptionError, Payload, Source, day_range

__all__ = ["HttpSource", "SOURCE", "check_options", "get"]

_OPTIONS = ("base_url", "template")
_CHUNK = 1 << 16


def check_options(options: dict, base: Path) -> dict:
    """``base_url`` (http/https) and ``template`` (formattable with ``date=``), both required."""
    for key in options:
        if key not in _OPTIONS:
            raise OptionError(key, options[key], f"is not an option of kind 'http' (options: {', '.join(_OPTIONS)}, "
                              "and timeout_s, retries, retry_delays_s, repull_days)")
    url = options.get("base_url")
    if url is None:
        raise OptionError("base_url", "", "is missing: kind 'http' needs the server folder, e.g. "
                          "\"http://127.0.0.1:8000/air/\"")
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise OptionError("base_url", url, "is not an http:// or https:// URL")
    template = options.get("template")
    if template is None:
        raise OptionError("template", "", "is missing: kind 'http' needs the file name of a day, e.g. "
                          "\"china_sites_{date:%Y%m%d}.csv\"")
    if not isinstance(template, str):
        raise OptionError("template", template, "is not a string")
    try:
        template.format(date=_dt.date(2019, 12, 31))
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise OptionError("template", template, f"cannot be formatted with date=datetime.date ({exc!r}); "
                          "write e.g. \"china_sites_{date:%Y%m%d}.csv\"") from None
    return {"base_url": url, "template": template}


def _name_of(url: str) -> str:
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return name or "index"


def get(url: str, *, source: str, timeout_s: float) -> Payload:
    """GET ``url`` into a :class:`Payload`; failures raise :class:`FetchError` (see module doc)."""
    timed_out = f"timed out after {timeout_s:g} s"
    req = urllib.request.Request(url, headers={"User-Agent": "envq", "Accept-Encoding": "identity"})
    chunks, incomplete = [], None
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            expected = resp.headers.get("Content-Length")
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except http.client.IncompleteRead as exc:  # chunked transfer cut short
                    chunks.append(exc.partial)
                    incomplete = exc
                    break
                if not chunk:
                    break
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        exc.close()
        reason = f"HTTP {exc.code} {exc.reason}"
        if exc.code == 404:
            raise NotPublished(source, url, f"{reason}: not published (yet)", status=404) from None
        raise FetchError(source, url, reason, status=exc.code) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FetchError(source, url, timed_out) from None
        raise FetchError(source, url, f"cannot connect: {exc.reason}") from None
    except TimeoutError:
        raise FetchError(source, url, timed_out) from None
    except (http.client.HTTPException, OSError) as exc:
        raise FetchError(source, url, f"connection failed: {type(exc).__name__}: {exc}") from None
    body = b"".join(chunks)
    if expected is not None and expected.strip().isdigit() and len(body) < int(expected):
        raise FetchError(source, url, f"truncated: got {len(body)} of {int(expected)} bytes")
    if incomplete is not None:
        raise FetchError(source, url, f"truncated: got {len(body)} bytes, then the connection closed "
                         "in the middle of a chunk")
    name = _name_of(url)
    if name.lower().endswith(".gz") or body[:2] == b"\x1f\x8b":
        _check_gzip(body, source=source, url=url)
    return Payload.from_bytes(name, url, body)


def _check_gzip(body: bytes, *, source: str, url: str) -> None:
    """Decompress (and discard) the whole body: a truncated gzip stream raises FetchError."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as gz:
            while gz.read(1 << 20):
                pass
    except EOFError:
        raise FetchError(source, url, f"truncated: the gzip body of {len(body)} bytes ends before its "
                         "end-of-stream marker") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise FetchError(source, url, f"corrupt gzip body ({len(body)} bytes): {exc}") from None


class HttpSource(Source):
    """One file per day from ``base_url`` + ``template`` (see the module docstring)."""

    kind = "http"

    def url_for(self, day: _dt.date) -> str:
        """The URL of the file of ``day``."""
        opts = self.config.options
        return opts["base_url"].rstrip("/") + "/" + opts["template"].format(date=day).lstrip("/")

    def fetch(self, start, end) -> list[Payload]:
        """GET the file of every day ``start..end`` (air: and ``end + 1``), in date order.

        A URL several days share (a monthly template) is fetched once.
        """
        start, end = day_range(start, end)
        first, last = self.file_days(start, end)
        out, seen = [], set()
        for k in range((last - first).days + 1):
            day = first + _dt.timedelta(days=k)
            url = self.url_for(day)
            if url in seen:
                continue
            seen.add(url)
            try:
                out.append(get(url, source=self.name, timeout_s=self.config.timeout_s))
            except NotPublished:
                if day > end:  # hour 24 of `end` lives in tomorrow's file, which may not exist yet
                    continue
                raise
        return out


SOURCE = HttpSource
