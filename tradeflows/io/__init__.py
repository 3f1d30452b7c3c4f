"""Readers: recognise a source file from its header and translate it once.

:func:`scan` returns a LazyFrame of canonical columns plus the auxiliary
columns the cleaning needs (see :data:`tradeflows.schema.AUX_COLUMNS`).
:func:`expand_sources` turns files, globs and folders into a list of files.
"""

from __future__ import annotations

import csv
import glob
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal, get_args

import polars as pl

from tradeflows.errors import TradeflowsInputError
from tradeflows.io._common import column_key, finish
from tradeflows.io._text import PreparedText, file_sha256, prepare_text
from tradeflows.io.comtrade import looks_like_comtrade, scan_comtrade, typed_columns
from tradeflows.io.eurostat import looks_like_comext, read_comext_xlsx, scan_comext
from tradeflows.io.generic import scan_generic
from tradeflows.schema import CANONICAL

__all__ = [
    "FORMATS",
    "Format",
    "detect_format",
    "expand_sources",
    "file_sha256",
    "is_parquet",
    "scan",
    "scan_comext",
    "scan_comtrade",
    "scan_generic",
]

Format = Literal["comtrade", "comext", "comext_xlsx", "canonical", "generic"]
FORMATS: tuple[str, ...] = get_args(Format)

_EXPECTED = (
    "expected a Comtrade+ file (reporterCode, partnerCode, flowCode, cmdCode, primaryValue), "
    "a legacy Comtrade CSV (Reporter Code, Partner Code, Trade Flow Code, Commodity Code, "
    "Trade Value (US$)), comtradr columns (reporter_iso, partner_iso, trade_flow, "
    "commodity_code, trade_value_usd), a Eurostat Comext extract (REPORTER, PARTNER, PRODUCT, "
    "FLOW, PERIOD, VALUE_IN_EUR) or workbook, or a mapping for the generic reader"
)
_DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".gz", ".xlsx", ".parquet"}


def expand_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Files, globs and folders -> sorted list of data files.

    Examples
    --------
    >>> expand_sources(["/nonexistent/*.csv"])
    Traceback (most recent call last):
    ...
    tradeflows.errors.TradeflowsInputError: /nonexistent/*.csv: no such file, folder or matching files
    """
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in _DATA_SUFFIXES and not f.name.startswith(".")
            )
            if not found:
                raise TradeflowsInputError(
                    f"{p}: folder holds no data files ({', '.join(sorted(_DATA_SUFFIXES))})"
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            matched = sorted(Path(m) for m in glob.glob(str(src)) if Path(m).is_file())
            if not matched:
                raise TradeflowsInputError(f"{src}: no such file, folder or matching files")
            files.extend(matched)
    return list(dict.fromkeys(files))


def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def is_parquet(path: Path) -> bool:
    """True when the file starts with parquet's magic bytes."""
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _header_fields(text: PreparedText) -> tuple[list[str], bool, list[list[str]]]:
    """Header names, whether data rows carry one extra trailing empty field, a sample."""
    with open(text.path, encoding="utf-8", errors="replace", newline="") as f:
        rows = csv.reader(f, delimiter=text.delimiter)
        header = next(rows)
        sample = [r for _, r in zip(range(5), rows, strict=False) if r]
    header = [h.lstrip("\ufeff") for h in header]
    trailing = bool(sample) and all(len(r) == len(header) + 1 and r[-1] == "" for r in sample)
    return header, trailing, sample


def _check_shape(text: PreparedText, header: list[str], trailing: bool, sample: list) -> None:
    """Refuse a file with no data rows, or whose rows do not split like its header."""
    if not sample:
        raise TradeflowsInputError(f"{text.source}: no data rows (header only)")
    width = len(header) + trailing
    for line, row in enumerate(sample, start=2):
        if len(row) != width:
            raise TradeflowsInputError(
                f"{text.source}: line {line}: {len(row)} fields where the header has "
                f"{len(header)} (delimiter {text.delimiter!r}); wrong delimiter or a broken row?"
            )


def _scan_text(
    text: PreparedText,
    types: Callable[[list[str]], Mapping[str, pl.DataType]] | None = None,
) -> pl.LazyFrame:
    """Scan a prepared text file; ``types`` gives dtypes for some header names."""
    header, trailing, sample = _header_fields(text)
    typed = types(header) if types else {}
    _check_shape(text, header, trailing, sample)
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise TradeflowsInputError(f"{text.path}: duplicate column names {dupes}")
    names = header + (["_trailing"] if trailing else [])
    return pl.scan_csv(
        text.path,
        separator=text.delimiter,
        has_header=False,
        skip_rows=1,
        new_columns=names,
        schema={n: typed.get(n, pl.String) for n in names},
        encoding="utf8",
    ).drop(["_trailing"] if trailing else [])


def detect_format(path: str | Path) -> Format:
    """Name the format of ``path`` from its magic bytes and header.

    Raises :class:`TradeflowsInputError`, naming the columns expected, when the
    layout is unknown.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("REPORTER,PARTNER,PRODUCT,FLOW,PERIOD,VALUE_IN_EUR\\n")
    >>> detect_format(p)
    'comext'
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise TradeflowsInputError(f"{path}: file is empty")
    if _is_xlsx(path):
        return "comext_xlsx"
    if is_parquet(path):
        names = pl.read_parquet_schema(path)
        return "canonical" if set(CANONICAL) <= set(names) else "generic"
    text = prepare_text(path, validate=False)  # the header is enough here
    header, _, _ = _header_fields(text)
    keys = {column_key(h) for h in header}
    if looks_like_comtrade(keys):
        return "comtrade"
    if looks_like_comext(keys):
        return "comext"
    raise TradeflowsInputError(
        f"{path}: unknown layout (columns: {', '.join(header[:12])}"
        f"{', ...' if len(header) > 12 else ''}); {_EXPECTED}"
    )


def scan(
    path: str | Path,
    *,
    format: Format | None = None,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    value_scale: float = 1.0,
    fast: bool = False,
) -> pl.LazyFrame:
    """Read one source file lazily into canonical (+ auxiliary) columns.

    Parameters
    ----------
    path : str or Path
        A CSV/TSV (optionally gzipped), XLSX workbook or parquet file.
    format : {"comtrade", "comext", "comext_xlsx", "canonical", "generic"}, optional
        Skip recognition. ``generic`` needs ``mapping``.
    mapping, constants, value_scale
        For the generic reader: see :func:`tradeflows.io.generic.scan_generic`.
    fast : bool
        Let the CSV parser type codes and values and skip the UTF-8 check. A
        file that then fails to parse must be read again with ``fast=False``,
        which reads text and names the bad row (ingest does this itself).
        For a Comtrade file it also reads the columns used at once, so the
        scan is no longer lazy: ingest reads whole files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("period,reporterCode,partnerCode,flowCode,cmdCode,primaryValue\\n"
    ...                  "202301,490,458,X,847150,1000\\n")
    >>> scan(p).select("period", "reporter", "partner", "flow", "hs", "value_usd").collect().row(0)
    (datetime.date(2023, 1, 1), 'TWN', 'MYS', 'X', '847150', 1000.0)
    """
    path = Path(path)
    source = path.name
    fmt = "generic" if mapping is not None and format is None else format
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise TradeflowsInputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "comext_xlsx":
        return read_comext_xlsx(path, source)
    if is_parquet(path):
        lf = pl.scan_parquet(path)
        if fmt == "canonical":
            return finish(lf.with_columns(source=pl.lit(source)).with_row_index("row", offset=1))
        lf = lf.select(pl.all().cast(pl.String))
    else:
        types = typed_columns if fast and fmt == "comtrade" else None
        lf = _scan_text(prepare_text(path, validate=not fast), types)
    if fmt == "comtrade":
        return scan_comtrade(lf, source, path, in_memory=fast)
    if fmt == "comext":
        return scan_comext(lf, source, path)
    if mapping is None:
        raise TradeflowsInputError(f"{path}: the generic reader needs a column mapping")
    return scan_generic(lf, mapping, source=source, constants=constants, value_scale=value_scale)
