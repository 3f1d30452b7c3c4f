"""Atomic file writes: write to a temporary name in the same folder, then rename."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl

from tradeflows.errors import TradeflowsInputError

__all__ = ["spreadsheet_safe", "write_frame_atomic", "write_text_atomic"]

#: What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would run as a formula, made inert with a leading quote.

    As OWASP recommends against CSV injection: a cell that starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front, so
    Excel and LibreOffice show it as text. Numbers are left alone.

    Examples
    --------
    >>> df = pl.DataFrame({"hub": ["=1+2", "MYS", "-x"], "v": [-1.0, 2.0, 3.0]})
    >>> spreadsheet_safe(df).rows()
    [("'=1+2", -1.0), ('MYS', 2.0), ("'-x", 3.0)]
    """
    text = [c for c, t in df.schema.items() if t == pl.String]
    if not text:
        return df
    return df.with_columns(
        pl.when(pl.any_horizontal(pl.col(c).str.starts_with(p) for p in _FORMULA_STARTS))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def _writable(path: str | Path) -> Path:
    """``path`` as a Path, its folder made; a folder of that name is an error."""
    path = Path(path)
    if path.is_dir():
        raise TradeflowsInputError(f"{path}: is a folder, not a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_text_atomic(p, "hi")
    >>> p.read_text()
    'hi'
    """
    path = _writable(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_frame_atomic(path: str | Path, df) -> None:
    """Write a polars DataFrame as ``.csv`` or ``.parquet`` (by the suffix), atomically.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.csv"
    >>> write_frame_atomic(p, pl.DataFrame({"a": [1]}))
    >>> p.read_text()
    'a\\n1\\n'
    """
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise TradeflowsInputError(f"{path}: choose a .csv or .parquet file name")
    path = _writable(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        if path.suffix == ".csv":
            spreadsheet_safe(df).write_csv(tmp)
        else:
            df.write_parquet(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
