"""Atomic file writes: write to a temporary name in the same folder, then rename."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl

from tradeflows._errors import TradeflowsInputError

__all__ = [
    "spreadsheet_safe",
    "workbook_bytes",
    "write_frame_atomic",
    "write_text_atomic",
    "write_workbook_atomic",
]

#: What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(df: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Text cells a spreadsheet would run as a formula, made inert with a leading quote.

    As OWASP recommends against CSV injection: a cell that starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front, so
    Excel and LibreOffice show it as text. Numbers are left alone. A
    LazyFrame gives a LazyFrame (to stream to a file).

    Examples
    --------
    >>> df = pl.DataFrame({"hub": ["=1+2", "MYS", "-x"], "v": [-1.0, 2.0, 3.0]})
    >>> spreadsheet_safe(df).rows()
    [("'=1+2", -1.0), ('MYS', 2.0), ("'-x", 3.0)]
    """
    text = [c for c, t in df.collect_schema().items() if t == pl.String]
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
            # Streamed: the text columns made safe a batch at a time, not
            # copied whole (1.35 GiB for 3M route-months, 0.38 streamed).
            spreadsheet_safe(df.lazy()).sink_csv(tmp)
        else:
            df.write_parquet(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: Rows of an Excel sheet, the header included.
_EXCEL_ROWS = 1_048_576
#: Columns are fitted to their text up to this many rows (a scan of every cell).
_AUTOFIT_ROWS = 20_000
#: Columns of US dollars, shown with thousands separators in a workbook.
_USD_HINTS = ("usd", "inflow", "outflow", "direct")


def workbook_bytes(sheets: dict[str, pl.DataFrame], where: object = "workbook") -> bytes:
    """An ``.xlsx`` workbook of one sheet per frame, as bytes (the same frames, the same bytes).

    Typed cells (numbers as numbers, months as ``yyyy-mm``, US dollars with
    thousands separators), a frozen header row, an autofilter and fitted
    column widths; a number that is not finite (NaN, inf) is an empty cell.
    Text is always stored as text: a cell that starts with ``=`` is never a
    formula, a URL never a link (xlsxwriter's ``strings_to_formulas`` and
    ``strings_to_urls`` off). The document's dates are fixed, so that a
    report that embeds it is the same for the same inputs.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"hub": ["=1+2"], "v": [1.5]})
    >>> workbook_bytes({"flags": df}) == workbook_bytes({"flags": df})
    True
    """
    import datetime as dt
    import io

    import xlsxwriter

    for name, df in sheets.items():
        if df.height >= _EXCEL_ROWS:
            raise TradeflowsInputError(
                f"{where}: {df.height:,} rows for the sheet {name!r}, more than Excel holds "
                f"({_EXCEL_ROWS - 1:,}); write .parquet or .csv, or fewer rows (--flagged-only)"
            )
    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
               "in_memory": True}  # fmt: skip
    with xlsxwriter.Workbook(buffer, options) as book:
        book.set_properties({"created": dt.datetime(2000, 1, 1), "author": "tradeflows"})
        for name, df in sheets.items():
            # A number that is not finite is an empty cell (Excel has no NaN).
            floats = [c for c, t in df.schema.items() if t.is_float()]
            df = df.with_columns(
                pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats
            )
            usd = [c for c in floats if any(h in c for h in _USD_HINTS)]
            df.write_excel(
                workbook=book,
                worksheet=name[:31],
                table_style="Table Style Light 9",
                autofilter=True,
                autofit=df.height <= _AUTOFIT_ROWS,
                freeze_panes=(1, 0),
                dtype_formats={pl.Date: "yyyy-mm"},
                column_formats=dict.fromkeys(usd, "#,##0"),
                float_precision=2,
            )
    return buffer.getvalue()


def write_workbook_atomic(path: str | Path, sheets: dict[str, pl.DataFrame]) -> None:
    """Write :func:`workbook_bytes` of ``sheets`` to ``path`` (``.xlsx``), atomically.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.xlsx"
    >>> write_workbook_atomic(p, {"flags": pl.DataFrame({"hub": ["=1+2"], "v": [1.5]})})
    >>> pl.read_excel(p, sheet_name="flags").rows()
    [('=1+2', 1.5)]
    """
    path = Path(path)
    if path.suffix != ".xlsx":
        raise TradeflowsInputError(f"{path}: choose an .xlsx file name")
    data = workbook_bytes(sheets, path)
    path = _writable(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
