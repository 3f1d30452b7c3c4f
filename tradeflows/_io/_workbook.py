"""Workbooks: opening one, reading a sheet, and the table the generic reader reads of one.

Read through fastexcel (calamine), whose errors, of its own types, become one
line each (:class:`tradeflows._errors.TradeflowsInputError`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from tradeflows._errors import TradeflowsInputError, one_line
from tradeflows._io._text import polars_path, starts_with

__all__ = ["is_xlsx", "load_sheet", "open_workbook", "xlsx_table"]


def is_xlsx(path: Path) -> bool:
    """Whether a file starts as a zip archive does, as an XLSX workbook does."""
    return starts_with(path, b"PK\x03\x04")


def xlsx_table(path: Path, columns: Iterable[str]) -> pl.LazyFrame:
    """The sheet of a workbook that holds ``columns`` (the first, where several
    do), as text under its first row as the header: what the generic reader
    reads of a workbook.

    Every cell comes as text (a date ``2020-01-01 00:00:00``, a number as
    written), as the generic reader reads a CSV file's; a data row's ``row``
    is then its line in the sheet when the header is the sheet's first row.
    Blank rows after the last one holding anything (cells formatted and
    left empty, which Excel does not show) are not read. A workbook of one
    sheet gives it, whatever its header; where no sheet of several holds the
    columns, the error names the sheets.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "mine.xlsx"
    >>> _ = pl.DataFrame({"country": ["Russia", "China"], "export": [5.0, 6.5]}).write_excel(p)
    >>> xlsx_table(p, ["country", "export"]).collect().rows()
    [('Russia', '5'), ('China', '6.5')]
    """
    reader = open_workbook(path)
    names = reader.sheet_names
    if not names:
        raise TradeflowsInputError(f"{path}: workbook has no sheets")
    wanted = set(columns)
    chosen = names[0]
    if len(names) > 1:
        holding = (
            name for name in names
            if wanted <= set(load_sheet(reader, name, path, n_rows=0, dtypes="string").columns)
        )  # fmt: skip
        chosen = next(holding, None)
        if chosen is None:
            raise TradeflowsInputError(
                f"{path}: no sheet has the mapped columns {', '.join(sorted(wanted))} "
                f"under its first row (sheets: {', '.join(names[:12])})"
            )
    table = load_sheet(reader, chosen, path, dtypes="string")
    if not table.columns:
        raise TradeflowsInputError(f"{path}: sheet {chosen!r} is empty")
    filled = pl.any_horizontal(pl.col(c).str.strip_chars() != "" for c in table.columns)
    last = table.select(filled.fill_null(False).arg_true().max()).item()
    return table.head(0 if last is None else last + 1).lazy()


def open_workbook(path: Path):
    """``path``'s fastexcel reader; a file it cannot open is an error (one line)."""
    import fastexcel

    try:
        return fastexcel.read_excel(polars_path(path))
    except Exception as exc:  # fastexcel raises its own types for corrupt files
        raise TradeflowsInputError(
            f"{path}: not a readable XLSX workbook ({one_line(exc, 200)})"
        ) from None


def load_sheet(reader, name: str | int, path: Path, **options) -> pl.DataFrame:
    """One sheet of the workbook (fastexcel's ``load_sheet`` ``options``) as a polars
    frame; a broken sheet is an error (one line)."""
    try:
        return reader.load_sheet(name, **options).to_polars()
    except Exception as exc:  # fastexcel raises its own types for broken sheets
        raise TradeflowsInputError(
            f"{path}: sheet {name!r} cannot be read ({one_line(exc, 200)})"
        ) from None
