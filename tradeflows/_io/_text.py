"""Turn whatever bytes a user has into a UTF-8 text file polars can scan.

Handles gzip (Comtrade bulk files), 7-Zip archives of one file (Comext bulk
files), byte-order marks, and files that are UTF-8
but for a stray latin-1 byte (each invalid byte is read as latin-1 and counted,
never fatal). Files that are already clean are scanned in place.
"""

from __future__ import annotations

import atexit
import codecs
import functools
import gzip
import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tradeflows._errors import TradeflowsInputError, one_line

__all__ = [
    "PreparedText",
    "file_identity",
    "file_sha256",
    "is_gzip",
    "polars_path",
    "prepare_text",
    "shown_name",
    "starts_with",
]

_CHUNK = 1 << 24
#: How an OLE2 compound file starts: an Excel 97-2003 workbook (.xls), which
#: no reader here reads (statistics offices still publish some).
_OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")
_HASH_BUFFER = 1 << 20
_WORKDIR: tempfile.TemporaryDirectory | None = None


def _workdir() -> Path:
    global _WORKDIR
    if _WORKDIR is None:
        _WORKDIR = tempfile.TemporaryDirectory(prefix="tradeflows-")
        atexit.register(_WORKDIR.cleanup)
    return Path(_WORKDIR.name)


def polars_path(path: Path) -> Path:
    """``path``, or a link to it with a plain name when its name is not valid UTF-8.

    A file name may hold any bytes; polars (and fastexcel) take only UTF-8
    names. The link lives in this process's temporary folder.

    Examples
    --------
    >>> polars_path(Path("/data/exports.csv"))
    PosixPath('/data/exports.csv')
    """
    try:
        str(path).encode("utf-8")
        return path
    except UnicodeEncodeError:
        link = _workdir() / (hashlib.sha1(os.fsencode(path)).hexdigest() + ".link")
        if not link.is_symlink():
            link.symlink_to(Path(path).resolve())
        return link


def shown_name(text: str) -> str:
    """A name as text: bytes that are not UTF-8 (kept by Python as surrogates) become U+FFFD.

    Examples
    --------
    >>> shown_name("caf\\udce9.csv") == "caf\\ufffd.csv"
    True
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass(frozen=True)
class PreparedText:
    """A scannable UTF-8 copy (or the original) of a source file."""

    path: Path
    source: Path
    header: str
    delimiter: str
    latin1_bytes: int
    #: The mean length in bytes of the lines under the header, in the first
    #: 64 KiB (0.0 where no whole line follows the header): with the text's
    #: size, about how many rows it holds (:meth:`rows_about`).
    line_bytes: float = 0.0

    def rows_about(self) -> int:
        """About how many rows the text holds: its size over :attr:`line_bytes`.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = p.write_text("period,value\\n" + "202301,1000\\n" * 500)
        >>> prepare_text(p).rows_about()
        501
        """
        size = self.path.stat().st_size
        return round(size / self.line_bytes) if self.line_bytes else 1


def file_identity(path: Path) -> tuple[str, int, int]:
    """A file version's key for caches: its resolved path, modification time and size."""
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=256)
def _sha256(identity: tuple[str, int, int]) -> str:
    # One buffer, read into again and again: a fresh bytes object per read
    # faults in new pages every time, which took a third of the hashing time
    # (hashlib.file_digest does the same, from Python 3.11 on).
    h = hashlib.sha256()
    buf = bytearray(_HASH_BUFFER)
    view = memoryview(buf)
    with open(identity[0], "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


@functools.lru_cache(maxsize=256)
def _valid_utf8(identity: tuple[str, int, int]) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        with open(identity[0], "rb") as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (computed once per file version).

    Parameters
    ----------
    path : Path
        A file.

    Returns
    -------
    str
        The hex digest.

    See Also
    --------
    tradeflows.read_audit : where each file's digest is kept.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    return _sha256(file_identity(Path(path)))


def starts_with(path: Path, magic: bytes) -> bool:
    """Whether a file's first bytes are ``magic`` (a format's signature).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"PAR1 and more")
    >>> starts_with(p, b"PAR1"), starts_with(p, b"PK")
    (True, False)
    """
    with open(path, "rb") as f:
        return f.read(len(magic)) == magic


def ends_in_open_quote(path: Path) -> bool:
    """Whether the last line of a text file ends inside a quoted value (``"``).

    Read from the file's last 64 KiB: the text after its last newline holds
    an odd number of quotes. A truncated download ends so; so may a whole
    file whose last value holds a line break inside its quotes, which only
    a full parse tells apart.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b'a,b\\n1,"x')
    >>> ends_in_open_quote(p)
    True
    >>> _ = p.write_bytes(b'a,b\\n1,"x"\\n')
    >>> ends_in_open_quote(p)
    False
    """
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - (1 << 16)))
        tail = f.read()
    return tail.rsplit(b"\n", 1)[-1].count(b'"') % 2 == 1


def is_gzip(path: Path) -> bool:
    """Whether a file starts with gzip's magic bytes."""
    return starts_with(path, b"\x1f\x8b")


_7Z_MAGIC = b"7z\xbc\xaf\x27\x1c"


def _is_7z(path: Path) -> bool:
    return starts_with(path, _7Z_MAGIC)


def _un7z(path: Path) -> Path:
    """The one file of a 7-Zip archive (Eurostat's bulk files), extracted to the work folder."""
    try:
        import py7zr
    except ImportError:  # pragma: no cover - an install without the extra
        raise TradeflowsInputError(
            f"{path}: a 7-Zip archive; install tradeflows[eurostat] (py7zr) to read it, "
            "or extract it first"
        ) from None
    out = _workdir() / hashlib.sha1(str(path.resolve()).encode()).hexdigest()
    try:
        with py7zr.SevenZipFile(path, "r") as archive:
            members = [m for m in archive.list() if not m.is_directory]
            if len(members) != 1:
                raise TradeflowsInputError(
                    f"{path}: a 7-Zip archive of {len(members)} files; expected one data file "
                    "(extract it and give the files)"
                )
            archive.extract(path=out, targets=[members[0].filename])
    except TradeflowsInputError:
        raise
    except Exception as exc:  # py7zr raises its own types for broken archives
        raise TradeflowsInputError(
            f"{path}: compressed file is truncated or corrupt ({one_line(exc, 200)})"
        ) from None
    found = [f for f in out.rglob("*") if f.is_file()]
    if len(found) != 1:
        raise TradeflowsInputError(f"{path}: the 7-Zip archive did not extract to one file")
    return found[0]


def _latin1_fallback(err: UnicodeDecodeError) -> tuple[str, int]:
    bad = err.object[err.start : err.end]
    _latin1_fallback.count += len(bad)  # type: ignore[attr-defined]
    return bad.decode("latin-1"), err.end


_latin1_fallback.count = 0  # type: ignore[attr-defined]
codecs.register_error("tradeflows-latin1", _latin1_fallback)


def _transcode(path: Path, *, gz: bool) -> tuple[Path, int]:
    out = _workdir() / (hashlib.sha1(str(path.resolve()).encode()).hexdigest() + ".csv")
    _latin1_fallback.count = 0  # type: ignore[attr-defined]
    decoder = codecs.getincrementaldecoder("utf-8")("tradeflows-latin1")
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
    except (EOFError, OSError, zlib.error) as exc:
        raise TradeflowsInputError(
            f"{path}: compressed file is truncated or corrupt ({exc})"
        ) from None
    return out, _latin1_fallback.count  # type: ignore[attr-defined]


def _sniff_delimiter(header: str, path: Path) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        raise TradeflowsInputError(
            f"{path}: line 1 has a single column ({header[:60]!r}); "
            "expected a delimited header (comma, tab, semicolon or |)"
        )
    return best


def prepare_text(path: Path, *, validate: bool = True) -> PreparedText:
    """Return a scannable UTF-8 version of ``path`` with its header and delimiter.

    Raises :class:`TradeflowsInputError` for an empty file, a truncated gzip or
    a binary file. ``validate=False`` skips the UTF-8 check of a plain file
    (the fast path of ingest, which retries with it when polars objects).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b"\\xef\\xbb\\xbfa;b\\ncaf\\xe9;1\\n")
    >>> t = prepare_text(p)
    >>> t.header, t.delimiter, t.latin1_bytes
    ('a;b', ';', 1)
    """
    return _prepare(file_identity(Path(path)), str(path), validate)


@functools.lru_cache(maxsize=256)
def _prepare(identity: tuple[str, int, int], shown: str, validate: bool) -> PreparedText:
    path = Path(shown)
    if identity[2] == 0:
        raise TradeflowsInputError(f"{path}: file is empty")
    # A 7-Zip archive (Eurostat's bulk files) is read as the one file it holds.
    packed = _is_7z(path)
    source = _un7z(path) if packed else path
    gz = is_gzip(source)
    if starts_with(source, _OLE2):  # before any transcoding changes its bytes
        raise TradeflowsInputError(
            f"{path}: an Excel 97-2003 workbook (.xls) or another OLE2 file; "
            "save the sheet as .xlsx or CSV and read that"
        )
    latin1 = 0
    # Without validation the file is scanned as it is: polars checks the
    # columns it reads, and the caller falls back to validating on an error.
    if gz or (validate and not _valid_utf8(file_identity(source) if packed else identity)):
        text_path, latin1 = _transcode(source, gz=gz)
    else:
        text_path = polars_path(source)
    with open(text_path, "rb") as f:
        head = f.read(1 << 16)
    if b"\x00" in head:
        raise TradeflowsInputError(f"{path}: binary file, not delimited text")
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
    if not first or not first[0].strip():
        raise TradeflowsInputError(f"{path}: no header on line 1")
    header = first[0]
    return PreparedText(
        text_path, path, header, _sniff_delimiter(header, path), latin1, _line_bytes(head)
    )


def _line_bytes(head: bytes) -> float:
    """The mean length of the whole lines under the first line of ``head`` (0.0: none)."""
    start, end = head.find(b"\n") + 1, head.rfind(b"\n") + 1
    lines = head.count(b"\n", start, end)
    return (end - start) / lines if lines else 0.0
