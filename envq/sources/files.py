"""Opening input files: bytes (gzip by content), text (encoding, byte-order marks), bounds.

Every reader of :mod:`envq.sources` opens its files here, so that a file is read the same way
whatever its format, and every problem of the file as a whole is an
:class:`envq.errors.InputError` naming it:

- gzip is recognised by its content (magic bytes), not its name; a damaged or truncated gzip
  file is an error naming the file (never a ``zlib.error`` traceback);
- a file larger than :data:`MAX_FILE_BYTES` (after unpacking) is refused before it fills the
  memory (a gzip bomb included);
- text: a UTF-8 byte-order mark is dropped; with ``encoding="auto"`` (the command line's
  default) a file that is not valid UTF-8 but decodes cleanly as GB18030 (a superset of GBK,
  what Chinese Windows writes) is read as GB18030 with an :class:`envq.errors.EncodingGuessWarning`;
  a UTF-16 file with its byte-order mark is read as UTF-16; an undecodable byte is reported with
  its line, column and bytes and the encoding that does decode the file;
- a workbook or another binary file given where a CSV is expected is named as such.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import stat
import warnings
import zlib
from pathlib import Path

import numpy as np

from envq.errors import EncodingGuessWarning, InputError

__all__ = [
    "MAX_FILE_BYTES",
    "ENCODINGS_HELP",
    "read_bytes",
    "read_head",
    "read_text",
    "decode_text",
    "binary_kind",
    "check_encoding",
    "codec_label",
    "as_paths",
    "add_encoding_option",
    "default_data_dir",
]

#: Largest input file envq reads, in bytes after unpacking (``$ENVQ_MAX_FILE_BYTES`` overrides).
#: A national year of the CNEMC archive in one CSV is about 0.6 GB.
MAX_FILE_BYTES = 2 * 1024**3

#: What ``--encoding`` accepts (for help texts).
ENCODINGS_HELP = ("text encoding of the input files: auto (default: UTF-8, or GB18030/GBK with a warning "
                  "when the file is not UTF-8 but decodes cleanly as GB18030), utf-8, gbk, gb18030, ...")

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls
_BOMS = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


def _limit(limit: int | None) -> int:
    if limit is not None:
        return int(limit)
    env = os.environ.get("ENVQ_MAX_FILE_BYTES", "").strip()
    return int(env) if env.isdigit() else MAX_FILE_BYTES


def _size_text(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB" if n >= 1024**3 else f"{n / 1024**2:.0f} MiB"


def _gunzip(path, raw: bytes, limit: int) -> bytes:
    """Unpack gzip bytes (several members allowed); located errors, bounded size."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
            out = gz.read(limit + 1)
    except EOFError:
        raise InputError(path, None, None, None,
                         f"is a truncated gzip file: its {len(raw):,} bytes end before the end of the "
                         "compressed data (an interrupted download or copy?); fetch or copy it again") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise InputError(path, None, None, None,
                         f"is a damaged gzip file ({exc}); fetch or copy it again") from None
    if len(out) > limit:
        raise InputError(path, None, None, None,
                         f"unpacks to more than {_size_text(limit)}, more than envq reads from one file; "
                         "split it (e.g. one file per day) or raise $ENVQ_MAX_FILE_BYTES")
    return out


def read_bytes(path, *, limit: int | None = None) -> bytes:
    """The file's bytes, gunzipped when the file is gzip (by its magic number, not its name).

    Parameters
    ----------
    path : str or os.PathLike
    limit : int, optional
        Largest size accepted, in bytes after unpacking (default :data:`MAX_FILE_BYTES`).

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        As :func:`open` (the command line words them for users).
    envq.errors.InputError
        A damaged or truncated gzip file, or a file above the limit, naming the file.
    """
    limit = _limit(limit)
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        raise InputError(path, None, None, None, "is not a regular file (a device, a pipe or a socket): give a "
                         "file, a device or pipe would be read without end")
    size = st.st_size
    if size > limit:
        raise InputError(path, None, None, None,
                         f"is {_size_text(size)}, more than envq reads from one file ({_size_text(limit)}); "
                         "split it (e.g. one file per day) or raise $ENVQ_MAX_FILE_BYTES")
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == _GZIP_MAGIC:
        raw = _gunzip(path, raw, limit)
    return raw


def read_head(path, size: int = 1 << 16) -> bytes:
    """The first ``size`` bytes of the file's content (gunzipped), for sniffing its format.

    A gzip file damaged in its first bytes raises the same located error as :func:`read_bytes`;
    damage further on is found when the whole file is read.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        return read_bytes(path)[:size]  # the located error (a folder: the OS error)
    with open(path, "rb") as fh:
        head = fh.read(size)
    if head[:2] != _GZIP_MAGIC:
        return head
    try:
        with gzip.open(path, "rb") as gz:
            return gz.read(size)
    except EOFError:  # shorter than `size` once unpacked, and cut: read what there is
        d = zlib.decompressobj(wbits=31)
        try:
            with open(path, "rb") as fh:
                return d.decompress(fh.read(size * 4), size)
        except zlib.error as exc:
            raise InputError(path, None, None, None, f"is a damaged gzip file ({exc}); fetch or copy it again") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise InputError(path, None, None, None, f"is a damaged gzip file ({exc}); fetch or copy it again") from None


def check_encoding(name: str | None) -> str | None:
    """The encoding name checked (``None`` or ``"auto"`` -> None: automatic).

    >>> check_encoding("GBK"), check_encoding("auto")
    ('gbk', None)
    """
    if name is None or str(name).strip().lower() == "auto":
        return None
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}; use auto, utf-8, gbk or gb18030") from None
    return str(name).strip().lower()


def codec_label(encoding: str) -> str:
    """The usual name of an encoding (``"gbk"`` -> ``"GBK"``)."""
    name = encoding.lower().replace("_", "-")
    return {"gbk": "GBK", "gb18030": "GB18030", "utf-8": "UTF-8", "utf8": "UTF-8", "utf-8-sig": "UTF-8",
            "utf-16": "UTF-16"}.get(name, encoding)


def _suggest_encoding(raw: bytes, tried: str) -> str:
    """A hint naming an encoding that does decode ``raw`` (or a generic hint)."""
    for candidate in ("utf-8", "gbk", "gb18030", "utf-16"):
        if candidate.replace("-", "") == tried.lower().replace("-", "").replace("sig", ""):
            continue
        try:
            raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        return (f"the file decodes as {codec_label(candidate)}: pass encoding={candidate!r} "
                f"(--encoding {candidate} on the command line)")
    return "check the file's encoding (pass encoding=..., --encoding on the command line)"


def _mostly_not_utf8(raw: bytes) -> bool:
    """True when most non-ASCII bytes do not form valid UTF-8 (a GBK file, not a damaged UTF-8 one)."""
    b = np.frombuffer(raw, dtype=np.uint8)
    n_ascii = int(np.count_nonzero(b < 0x80))
    non_ascii = len(raw) - n_ascii
    if non_ascii == 0:
        return False
    valid = len(raw.decode("utf-8", errors="ignore").encode("utf-8")) - n_ascii
    return valid < 0.5 * non_ascii


def binary_kind(raw: bytes) -> str | None:
    """What a binary file given as text is (a workbook...), phrased to follow its name; None for text."""
    if raw[:4] == _ZIP_MAGIC:
        return ("is a zip archive (an .xlsx workbook?), not a text CSV: save it as CSV (UTF-8) or, for manual "
                "water data, give it the .xlsx extension")
    if raw[:8] == _OLE_MAGIC:
        return "is an Excel 97-2003 workbook (.xls), not a text CSV: save it as CSV (UTF-8) or .xlsx"
    return None


def decode_text(path, raw: bytes, encoding: str | None = "utf-8") -> str:
    """Decode a file's bytes (see :func:`read_text`)."""
    if (kind := binary_kind(raw)) is not None:
        raise InputError(path, None, None, None, kind)
    encoding = check_encoding(encoding)
    auto = encoding is None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        if auto or encoding.replace("_", "-") in ("utf-8", "utf8", "utf-8-sig"):
            encoding = "utf-8"
    elif raw[:2] in (b"\xff\xfe", b"\xfe\xff") and (auto or encoding.startswith("utf-16")):
        encoding = "utf-16"
    elif auto:
        encoding = "utf-8"
    if encoding != "utf-16" and (nul := raw.find(b"\x00")) >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise InputError(path, line, None, None, "holds a NUL byte: the file is binary or damaged, not a "
                         "text CSV (a workbook or a UTF-16 file without its byte-order mark?)")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if auto and encoding == "utf-8" and _mostly_not_utf8(raw):
            try:
                text = raw.decode("gb18030")
            except UnicodeDecodeError:
                pass
            else:
                warnings.warn(f"{path}: not UTF-8; read as GB18030 (GBK), which decodes every byte of it. "
                              "Check the names in the output; pass --encoding gbk (or gb18030) to say so, "
                              "or --encoding utf-8 to refuse such files", EncodingGuessWarning, stacklevel=3)
                return text
        raise _undecodable(path, raw, encoding, exc) from None


def _undecodable(path, raw: bytes, encoding: str, exc: UnicodeDecodeError) -> InputError:
    """The located error for an undecodable byte: line, column (from the header), bytes."""
    start = exc.start
    line_no = raw.count(b"\n", 0, start) + 1
    line_start = raw.rfind(b"\n", 0, start) + 1
    line_end = raw.find(b"\n", start)
    line_end = len(raw) if line_end < 0 else line_end
    col = raw.count(b",", line_start, start)
    header = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)]
    names = header.decode(encoding, errors="replace").strip("\r").split(",")
    field = names[col] if col < len(names) and line_no > 1 else None
    cell_start = raw.rfind(b",", line_start, start) + 1 if col else line_start
    cell_end = raw.find(b",", start, line_end)
    cell = raw[cell_start : line_end if cell_end < 0 else cell_end].rstrip(b"\r")
    return InputError(path, line_no, field, cell,
                      f"cannot be decoded as {codec_label(encoding)}; {_suggest_encoding(raw, encoding)}")


def read_text(path, encoding: str | None = "utf-8") -> str:
    """Read a (possibly gzipped) text file, failing with a located :class:`InputError`.

    Parameters
    ----------
    path : str or os.PathLike
    encoding : str or None, default "utf-8"
        The file's encoding; ``None`` or ``"auto"``: UTF-8, or GB18030 (with an
        :class:`envq.errors.EncodingGuessWarning`) when the file is not UTF-8, most of its
        non-ASCII bytes are not UTF-8 (not a damaged UTF-8 file) and it decodes cleanly as
        GB18030; UTF-16 when the file starts with a UTF-16 byte-order mark.

    Notes
    -----
    A UTF-8 byte-order mark is dropped whatever ``encoding`` says. On an undecodable byte the
    error names the line (1-based, header = line 1), the column (from the header, counting
    commas) and the offending bytes, and suggests an encoding that does decode the file. A NUL
    byte, a workbook (zip or OLE) or another binary file is refused as not a text file.
    """
    return decode_text(path, read_bytes(path), encoding)


def add_encoding_option(parser) -> None:
    """Add ``--encoding NAME`` (default ``auto``) to an :mod:`argparse` command that reads files."""
    import argparse

    def encoding(text):
        try:
            return check_encoding(text) or "auto"
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument("--encoding", type=encoding, default="auto", metavar="NAME", help=ENCODINGS_HELP)


def as_paths(path_or_paths) -> list:
    """A list of paths from one path or an iterable of paths."""
    if isinstance(path_or_paths, (str, os.PathLike)):
        return [path_or_paths]
    return list(path_or_paths)


def default_data_dir() -> Path:
    """The bundled real data folder of a source checkout (``data/`` beside ``envq/``), or
    ``$ENVQ_SAMPLE_DATA``."""
    env = os.environ.get("ENVQ_SAMPLE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"
