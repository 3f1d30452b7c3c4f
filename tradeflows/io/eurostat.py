"""Eurostat Comext: long CSV extracts and the original XLSX workbooks.

Long layouts: the "Relational view" download (``REPORTER, PARTNER, PRODUCT,
FLOW, STAT_PROCEDURE, PERIOD, VALUE_IN_EUR``, names with footnotes, periods
like ``Aug. 2024`` or ``Y2019``) and melted extracts (``product_code``,
``reporter``, ``partner``, ``period``, ``value_raw``). Workbooks: one sheet per
CN8 code, reporters x partners down, months across, ``:`` for confidential.
Values are in euros and are converted to dollars at the ECB monthly rate
(``chg_eur_to_usd`` in the audit).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from tradeflows.errors import TradeflowsInputError, one_line
from tradeflows.io._common import (
    clean_str,
    column_key,
    eur_to_usd,
    finish,
    hs_code,
    hs_revision_from_year,
    iso3_from_name,
    number,
    pick,
    require,
)
from tradeflows.io._text import polars_path

__all__ = ["looks_like_comext", "read_comext_xlsx", "scan_comext"]

_FLOWS = {"EXPORT": "X", "IMPORT": "M", "1": "M", "2": "X", "EXPORTS": "X", "IMPORTS": "M"}


def looks_like_comext(keys: set[str]) -> bool:
    """True for a Comext long header (names, product, period, value in euros).

    Examples
    --------
    >>> looks_like_comext({"reporter", "partner", "product", "flow", "period", "valueineur"})
    True
    """
    return (
        {"reporter", "partner", "period"} <= keys
        and bool(keys & {"product", "productcode"})
        and bool(keys & {"valueineur", "valueineuros", "valueraw", "value"})
    )


def _strip_digit_dash(s: pl.Expr) -> pl.Expr:
    """``1-IMPORT`` -> ``IMPORT`` (no regex replace: the GPU engine has none)."""
    return pl.when(s.str.contains(r"^\d-")).then(s.str.slice(2)).otherwise(s)


def _period(col: str) -> tuple[pl.Expr, pl.Expr]:
    raw = clean_str(col)
    annual = raw.str.contains(r"^Y?\d{4}$")
    year = raw.str.extract(r"(\d{4})")
    monthly = pl.coalesce(
        raw.str.strptime(pl.Date, "%b. %Y", strict=False, cache=False),
        raw.str.strptime(pl.Date, "%b %Y", strict=False, cache=False),
        (raw.str.extract(r"^(\d{4}-\d{2})") + "-01").str.strptime(
            pl.Date, "%Y-%m-%d", strict=False, cache=False
        ),
        (raw.str.extract(r"^(\d{6})") + "01").str.strptime(
            pl.Date, "%Y%m%d", strict=False, cache=False
        ),
    )
    period = (
        pl.when(annual)
        .then((year + "-01-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False, cache=False))
        .otherwise(monthly)
    )
    freq = pl.when(annual).then(pl.lit("A")).otherwise(pl.lit("M"))
    return period, freq


def scan_comext(lf: pl.LazyFrame, source: str, path: object = None) -> pl.LazyFrame:
    """Translate a Comext long LazyFrame of text columns to canonical columns."""
    path = path if path is not None else source
    keys = {column_key(c): c for c in lf.collect_schema().names()}
    reporter_col = require(keys, path, "reporter", "reporter")
    partner_col = require(keys, path, "partner", "partner")
    product_col = require(keys, path, "product", "productcode", "product")
    value_col = require(keys, path, "value", "valueineur", "valueineuros", "valueraw", "value")
    period_col = require(keys, path, "period", "period")
    flow_col = pick(keys, "flow")
    indicator_col = pick(keys, "indicator", "indicators")
    customs_col = pick(keys, "statprocedure")

    period, freq = _period(period_col)
    flow_text = _strip_digit_dash(clean_str(flow_col).str.to_uppercase()) if flow_col else None
    flow = (
        flow_text.replace_strict(_FLOWS, default=None, return_dtype=pl.String)
        if flow_text is not None
        else pl.lit("X")
    )
    value_text = clean_str(value_col)
    confidential = value_text.is_in([":", ":c", "c"])
    not_value = (
        ~clean_str(indicator_col).str.to_uppercase().str.starts_with("VALUE")
        if indicator_col
        else pl.lit(False)
    )
    if customs_col is not None:
        proc = clean_str(customs_col).str.to_uppercase()
        customs = pl.when(proc.is_in(["TOTAL", "T-TOTAL", "NORMAL", "1-NORMAL"]) | proc.is_null())
        customs = customs.then(None).otherwise(proc)
    else:
        customs = pl.lit(None, dtype=pl.String)
    eur = number(value_col)
    if "row" not in lf.collect_schema().names():
        lf = lf.with_row_index("row", offset=2)
    lf = lf.with_columns(_hs=pl.col(product_col).str.strip_chars())
    out = lf.select(
        period=period,
        freq=freq,
        reporter=iso3_from_name(reporter_col),
        partner=iso3_from_name(partner_col),
        flow=flow,
        raw_flow=flow,
        hs=hs_code("_hs"),
        hs_revision=hs_revision_from_year(period.dt.year()),
        value_usd=eur_to_usd(eur, period, freq),
        source=pl.lit(source),
        customs=customs,
        row=pl.col("row").cast(pl.Int64),
        reporter_raw=pl.col(reporter_col),
        partner_raw=pl.col(partner_col),
        hs_raw=pl.col(product_col),
        value_raw=pl.col(value_col),
        period_raw=pl.col(period_col),
        drop=pl.when(confidential)
        .then(pl.lit("confidential"))
        .when(not_value.fill_null(False))
        .then(pl.lit("not_a_value")),
        chg_eur_to_usd=eur.is_not_null(),
    )
    return finish(out)


_CODE_IN_LABEL = re.compile(r"\[(\d{2,10})\]\s*$")


def _sheet(reader, name: str, path: Path) -> pl.DataFrame:
    """One sheet of the workbook as a polars grid; a broken sheet is an error."""
    try:
        return reader.load_sheet(name, header_row=None).to_polars()
    except Exception as exc:  # fastexcel raises its own types for broken sheets
        raise TradeflowsInputError(
            f"{path}: sheet {name!r} cannot be read ({one_line(exc, 200)})"
        ) from None


def _product_codes(structure: pl.DataFrame) -> dict[str, str]:
    """Sheet name -> product code, from each sheet's label or the Structure sheet."""
    labels = {}
    for row in structure.iter_rows():
        cells = [str(c) if c is not None else "" for c in row]
        if len(cells) >= 5 and cells[2] == "PRODUCT" and cells[3].isdigit():
            labels[cells[4].strip()] = cells[3]
    return labels


def read_comext_xlsx(path: Path, source: str) -> pl.LazyFrame:
    """Read an original Comext XLSX workbook (one sheet per product) to canonical rows.

    Every cell of every product sheet becomes one row, ``:`` included (dropped
    as ``confidential`` by the audit), so that rows read counts cells.
    """
    import fastexcel

    try:
        reader = fastexcel.read_excel(polars_path(path))
    except Exception as exc:  # fastexcel raises its own types for corrupt files
        raise TradeflowsInputError(
            f"{path}: not a readable XLSX workbook ({one_line(exc, 200)})"
        ) from None
    if not {"Summary", "Structure"} <= set(reader.sheet_names):
        raise TradeflowsInputError(
            f"{path}: unknown workbook layout; expected a Comext export with "
            "'Summary', 'Structure' and one sheet per product"
        )
    codes = _product_codes(_sheet(reader, "Structure", path))
    frames = []
    for name in reader.sheet_names:
        if not name.startswith("Sheet"):
            continue
        grid = _sheet(reader, name, path)
        cells = [[None if c is None else str(c) for c in r] for r in grid.iter_rows()]
        meta = {r[0]: r[2] for r in cells if r and r[0] and len(r) > 2}
        label = (meta.get("PRODUCT [PRODUCT]") or "").strip()
        match = _CODE_IN_LABEL.search(label)
        code = match.group(1) if match else codes.get(label)
        if code is None:
            raise TradeflowsInputError(f"{path}: sheet {name!r}: no product code in {label[:60]!r}")
        time_row = next((i for i, r in enumerate(cells) if r and r[0] == "TIME"), None)
        if time_row is None:
            raise TradeflowsInputError(f"{path}: sheet {name!r}: no TIME row above the table")
        months = cells[time_row][2:]
        data = cells[time_row + 3 :]
        records = []
        for offset, r in enumerate(data):
            if not r or not r[0]:
                break  # a blank row ends the table; the 'Special value' legend follows
            for month, value in zip(months, r[2:], strict=False):
                if month:
                    records.append((r[0], r[1], month, value, time_row + 4 + offset))
        frames.append(
            pl.DataFrame(
                records,
                schema={
                    "reporter": pl.String,
                    "partner": pl.String,
                    "period": pl.String,
                    "value_in_euros": pl.String,
                    "row": pl.Int64,
                },
                orient="row",
            ).with_columns(
                product_code=pl.lit(code),
                flow=pl.lit(meta.get("FLOW")),
                indicator=pl.lit(meta.get("INDICATORS")),
            )
        )
    if not frames:
        raise TradeflowsInputError(f"{path}: workbook has no product sheets")
    # ``row`` is the sheet row, so errors point at the cell's line in Excel.
    return scan_comext(pl.concat(frames).lazy(), source, path)
