"""UN Comtrade in its three common shapes, translated to canonical columns once.

* Comtrade+ final data (``getFinalData`` CSV, 47 columns) and bulk files
  (gzipped, tab-separated, same columns);
* legacy Comtrade CSV (``Trade Flow``, ``Trade Value (US$)``, ...);
* comtradr's snake_case renames of either (``trade_value_usd``, ``partner_iso``,
  ``primary_value``, ...).

Header names are matched by :func:`column_key`, so all three share one table.
"""

from __future__ import annotations

import polars as pl

from tradeflows.io._common import (
    clean_str,
    column_key,
    finish,
    hs_code,
    hs_revision_from_year,
    iso3_from_code,
    number,
    pick,
    require,
)

__all__ = ["COMTRADE_SIGNATURE", "looks_like_comtrade", "scan_comtrade"]

#: Keys (see :func:`column_key`) that identify a Comtrade-like header: one of
#: each group must be present.
COMTRADE_SIGNATURE: list[tuple[str, ...]] = [
    ("reportercode", "reporteriso", "reporter"),
    ("partnercode", "partneriso", "partner"),
    ("flowcode", "tradeflowcode", "tradeflow", "flowdesc"),
    ("cmdcode", "commoditycode"),
    ("primaryvalue", "tradevalueus", "tradevalueusd", "primaryvalueusd"),
]

_REVISION = {
    "H0": "HS1992",
    "H1": "HS1996",
    "H2": "HS2002",
    "H3": "HS2007",
    "H4": "HS2012",
    "H5": "HS2017",
    "H6": "HS2022",
}
_LEGACY_FLOW = {"1": "M", "2": "X", "3": "RX", "4": "RM"}
_FLOW_WORDS = {
    "import": "M",
    "export": "X",
    "reexport": "RX",
    "reimport": "RM",
    "domesticexport": "DX",
    "foreignimport": "FM",
}


def looks_like_comtrade(keys: set[str]) -> bool:
    """True when a header (as keys) has one column of each signature group.

    Examples
    --------
    >>> looks_like_comtrade({"reportercode", "partnercode", "flowcode", "cmdcode", "primaryvalue"})
    True
    """
    return all(any(k in keys for k in group) for group in COMTRADE_SIGNATURE)


def _flow(keys: dict[str, str]) -> pl.Expr:
    code_col = pick(keys, "flowcode", "tradeflowcode")
    text_col = pick(keys, "tradeflow", "flowdesc")
    exprs = []
    if code_col is not None:
        code = clean_str(code_col).str.to_uppercase()
        exprs.append(code.replace(_LEGACY_FLOW))
    if text_col is not None:
        word = clean_str(text_col).str.to_lowercase().str.replace_all(r"[^a-z]", "")
        exprs.append(word.replace_strict(_FLOW_WORDS, default=None, return_dtype=pl.String))
    return pl.coalesce(exprs)


def _period(keys: dict[str, str], path: object) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    period_col = pick(keys, "period", "refperiodid")
    year_col = pick(keys, "refyear", "year")
    if period_col is None and year_col is None:
        require(keys, path, "period", "period", "refyear", "year")
    raw = clean_str(period_col if period_col is not None else year_col)
    freq_col = pick(keys, "freqcode", "freq")
    digits = raw.str.replace_all(r"[^0-9]", "").str.slice(0, 6)
    freq = (
        clean_str(freq_col).str.to_uppercase()
        if freq_col is not None
        else pl.when(digits.str.len_chars() == 6).then(pl.lit("M")).otherwise(pl.lit("A"))
    )
    year = digits.str.slice(0, 4)
    month = pl.when(freq == "M").then(digits.str.slice(4, 2)).otherwise(pl.lit("01"))
    period = (year + month + pl.lit("01")).str.strptime(pl.Date, "%Y%m%d", strict=False)
    return period, freq, raw


def _breakdown(keys: dict[str, str], candidates: tuple[str, ...], totals: list[str]) -> pl.Expr:
    col = pick(keys, *candidates)
    if col is None:
        return pl.lit(None, dtype=pl.String)
    s = clean_str(col)
    return pl.when(s.is_null() | s.is_in(totals)).then(None).otherwise(s)


def scan_comtrade(lf: pl.LazyFrame, source: str, path: object = None) -> pl.LazyFrame:
    """Translate a Comtrade-like LazyFrame of text columns to canonical columns.

    Rows that are not goods trade in HS (services, SITC, processing sub-flows)
    get a ``drop`` reason; nothing is removed here.
    """
    path = path if path is not None else source
    keys = {column_key(c): c for c in lf.collect_schema().names()}
    reporter_col = require(keys, path, "reporter", "reportercode", "reporteriso")
    partner_col = require(keys, path, "partner", "partnercode", "partneriso")
    hs_col = require(keys, path, "HS code", "cmdcode", "commoditycode")
    value_col = require(keys, path, "value", *COMTRADE_SIGNATURE[4])
    if pick(keys, "flowcode", "tradeflowcode", "tradeflow", "flowdesc") is None:
        require(keys, path, "flow", "flowcode", "tradeflowcode", "tradeflow")
    period, freq, period_raw = _period(keys, path)
    class_col = pick(keys, "classificationcode", "classification")
    type_col = pick(keys, "typecode")
    flow = _flow(keys)

    revision = hs_revision_from_year(period.dt.year())
    if class_col is not None:
        cls = clean_str(class_col).str.to_uppercase()
        revision = cls.replace_strict(_REVISION, default=None, return_dtype=pl.String)
        revision = (
            pl.when(cls.is_in(["HS", "H"]) | cls.is_null())
            .then(hs_revision_from_year(period.dt.year()))
            .otherwise(revision)
        )
        not_hs = cls.is_not_null() & ~cls.is_in([*_REVISION, "HS", "H"])
    else:
        not_hs = pl.lit(False)
    not_goods = clean_str(type_col).str.to_uppercase() != "C" if type_col else pl.lit(False)
    other_flow = ~flow.is_in(["X", "M", "RX", "RM", "DX", "FM"])

    drop = (
        pl.when(not_goods.fill_null(False))
        .then(pl.lit("not_goods"))
        .when(not_hs)
        .then(pl.lit("not_hs_classification"))
        .when(other_flow.fill_null(False) & flow.is_not_null())
        .then(pl.lit("processing_subflow"))
    )
    qty_unit_col = pick(keys, "qtyunitabbr", "qtyunit")
    net_col = pick(keys, "netwgt", "netweightkg", "netweight")
    qty_col = pick(keys, "qty")
    out = lf.with_row_index("row", offset=2).select(
        period=period,
        freq=freq,
        reporter=iso3_from_code(reporter_col),
        partner=iso3_from_code(partner_col),
        raw_flow=flow,
        flow=flow.replace({"DX": "X", "FM": "M"}),
        hs=hs_code(hs_col),
        hs_revision=revision,
        value_usd=number(value_col),
        net_kg=number(net_col) if net_col else pl.lit(None, dtype=pl.Float64),
        qty=number(qty_col) if qty_col else pl.lit(None, dtype=pl.Float64),
        qty_unit=clean_str(qty_unit_col) if qty_unit_col else pl.lit(None, dtype=pl.String),
        source=pl.lit(source),
        partner2=_breakdown(keys, ("partner2code", "2ndpartnercode"), ["0", "W00"]),
        customs=_breakdown(keys, ("customscode", "customsproccode"), ["C00"]),
        mot=_breakdown(keys, ("motcode", "modeoftransportcode"), ["0"]),
        row=pl.col("row").cast(pl.Int64),
        reporter_raw=pl.col(reporter_col),
        partner_raw=pl.col(partner_col),
        hs_raw=pl.col(hs_col),
        value_raw=pl.col(value_col),
        period_raw=period_raw,
        drop=drop,
    )
    return finish(out)
