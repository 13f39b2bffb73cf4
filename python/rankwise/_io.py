"""The one place where rankwise opens a text file and splits it into lines.

Every reader (TREC runs and qrels, topics, documents, request files,
recordings) goes through :func:`read_text` and :func:`split_lines` (or their
lazy twin :func:`stream_lines`), so they agree on these rules:

* a gzip-compressed file (``.gz``, told by its first two bytes) is read
  decompressed;
* the file is UTF-8; a leading byte-order mark (U+FEFF) is dropped, and bytes
  that are not UTF-8 raise :class:`~rankwise.InvalidInputError` naming the
  file, the line and the byte;
* lines end at ``\\n`` only (a ``\\r`` before it is dropped): a JSON string
  may hold a raw U+2028, U+0085 or form feed (``json.dumps(...,
  ensure_ascii=False)`` writes them so), a TSV passage may hold ``\\x0c``, and
  neither splits a record the way :meth:`str.splitlines` would;
* JSON errors, including nesting too deep to parse, name the file and line.
"""

from __future__ import annotations

import gzip
import json
import math
import numbers
import os
import zlib
from pathlib import Path
from typing import Any, Iterable, Iterator, Tuple, Union

from ._errors import InvalidInputError

__all__ = [
    "BOM",
    "decode",
    "finite",
    "parse_json",
    "read_bytes",
    "read_lines",
    "read_text",
    "split_lines",
    "stream_lines",
    "where_of",
    "write_text_atomic",
]

PathLike = Union[str, "os.PathLike[str]"]

BOM = "\ufeff"
GZIP_MAGIC = b"\x1f\x8b"


def where_of(path: PathLike, what: str = "path") -> str:
    """How a file is named in messages: its path as given.

    Raises:
        InvalidInputError: ``path`` is not a ``str`` or ``os.PathLike`` (bytes
            are decoded as the file system does), or holds a NUL byte.
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(f"{what}: expected a file path (str or os.PathLike), got {type(path).__name__}")
    where = os.fspath(path)
    if isinstance(where, bytes):
        where = os.fsdecode(where)
    if "\x00" in where:
        raise InvalidInputError(f"{what}: a file path cannot hold a NUL byte: {where!r}")
    return where


def decode(data: bytes, what: str, where: str) -> str:
    """``data`` as UTF-8 text without leading byte-order marks; invalid
    bytes raise :class:`InvalidInputError` naming ``where`` and the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start : e.start + 1].hex()
        raise InvalidInputError(
            f"{what}: {where}, line {line}: not valid UTF-8 (byte 0x{bad} at offset {e.start}: {e.reason})"
        ) from None
    return text.lstrip(BOM)  # one mark, or several where files were concatenated


def read_text(path: PathLike, what: str) -> str:
    """The whole file as text (UTF-8, BOM dropped, gzip decompressed).

    Raises:
        InvalidInputError: ``"{what}: file not found: PATH"``, a directory or
            an unreadable file, or bytes that are not UTF-8 (with the line).
    """
    return decode(read_bytes(path, what), what, where_of(path, what))


def read_bytes(path: PathLike, what: str) -> bytes:
    """The whole file as bytes, for readers that decode it themselves (a
    recording cuts a torn last line before decoding); a gzip file (told by
    its first two bytes, which UTF-8 text never starts with) is decompressed.

    Raises:
        InvalidInputError: ``"{what}: file not found: PATH"``, a directory,
            an unreadable file or a path that is not one.
    """
    where = where_of(path, what)
    try:
        data = Path(where).read_bytes()
    except OSError as e:
        raise _unreadable(e, what, where) from None
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise InvalidInputError(f"{what}: {where} is not a readable gzip file ({e})") from None
    return data


def _unreadable(e: OSError, what: str, where: str) -> InvalidInputError:
    if isinstance(e, FileNotFoundError):
        return InvalidInputError(f"{what}: file not found: {where}")
    if isinstance(e, IsADirectoryError):
        return InvalidInputError(f"{what}: {where} is a directory, not a file")
    return InvalidInputError(f"{what}: cannot read {where}: {e.strerror or e}")


def split_lines(text: str) -> Iterator[Tuple[int, str]]:
    """``(line number from 1, line)`` for each line of ``text``, split at
    ``\\n`` only, a trailing ``\\r`` dropped; no empty line after a final
    ``\\n``. Blank lines are yielded: skipping them is the reader's choice."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    for i, line in enumerate(parts, 1):
        yield i, line[:-1] if line.endswith("\r") else line


def stream_lines(path: PathLike, what: str) -> Iterator[Tuple[int, str]]:
    """:func:`read_lines` lazily, for files too large to hold: the same lines
    (``\\n`` only, ``\\r`` before it and leading BOMs dropped; gzip files
    decompressed), each decoded as it is read, so a bad byte raises only
    when its line is reached."""
    where = where_of(path, what)
    try:
        f = open(where, "rb")
    except OSError as e:
        raise _unreadable(e, what, where) from None
    with f:
        if f.peek(2)[:2] != GZIP_MAGIC:
            yield from _decoded_lines(f, what, where)
            return
        with gzip.GzipFile(fileobj=f, mode="rb") as g:
            try:
                yield from _decoded_lines(g, what, where)
            except (OSError, EOFError, zlib.error) as e:  # a damaged gzip stream
                raise InvalidInputError(f"{what}: {where} is not a readable gzip file ({e})") from None


def _decoded_lines(f: Iterable[bytes], what: str, where: str) -> Iterator[Tuple[int, str]]:
    """The decoded lines of an open binary file, as :func:`stream_lines` gives them."""
    for n, raw in enumerate(f, 1):  # binary files split at b"\n" only
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidInputError(
                f"{what}: {where}, line {n}: not valid UTF-8 (byte 0x{raw[e.start : e.start + 1].hex()}: {e.reason})"
            ) from None
        if n == 1:
            line = line.lstrip(BOM)
            if not line:  # the file was only byte-order marks
                return
        line = line[:-1] if line.endswith("\n") else line
        yield n, line[:-1] if line.endswith("\r") else line


def read_lines(path: PathLike, what: str) -> Iterator[Tuple[int, str]]:
    """:func:`split_lines` of :func:`read_text`; the file is read (and
    checked) before the first line is yielded."""
    return split_lines(read_text(path, what))


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def parse_json(text: str, what: str, where: str) -> Any:
    """``json.loads(text)``, with ``NaN``/``Infinity`` refused and every
    failure (syntax, nesting too deep, a number too large) an
    :class:`InvalidInputError` starting ``"{what}: {where}"``.

    ``where`` names the file (and the line, for JSONL); a syntax error inside
    a multi-line document adds its own line and column."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        at = f" (line {e.lineno}, column {e.colno})" if "\n" in text else f" (column {e.colno})"
        raise InvalidInputError(f"{what}: {where}: invalid JSON{at}: {e.msg}") from None
    except RecursionError:
        raise InvalidInputError(f"{what}: {where}: JSON nested too deeply to read") from None
    except ValueError as e:  # NaN/Infinity, or an integer with too many digits
        raise InvalidInputError(f"{what}: {where}: invalid JSON: {e}") from None


def finite(value: Any) -> bool:
    """Whether ``value`` is a real number (not a bool) with a finite float value."""
    if type(value) is float:  # the common case, without the ABC check
        return math.isfinite(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def write_text_atomic(path: PathLike, text: str, what: str = "path") -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same
    folder, fsynced and renamed over ``path``: a crash leaves the old file or
    the new one, never half of one.

    Raises:
        InvalidInputError: ``"{what}: cannot write PATH: reason"`` (a
            directory, a missing folder, no permission, a full disk), the
            temporary file removed.
    """
    where = where_of(path, what)
    target = Path(where)
    if target.is_dir():
        raise InvalidInputError(f"{what}: {where} is a directory")
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        raise InvalidInputError(f"{what}: cannot write {where}: {e.strerror or e}") from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
