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
    date_from_ym,
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
    if code_col is not None:
        return pl.col(code_col).str.strip_chars().str.to_uppercase().replace(_LEGACY_FLOW)
    text_col = pick(keys, "tradeflow", "flowdesc")
    word = pl.col(text_col).str.to_lowercase().str.replace_all(r"[^a-z]", "")
    return word.replace_strict(_FLOW_WORDS, default=None, return_dtype=pl.String)


def _breakdown(col: str | None, totals: list[str]) -> pl.Expr:
    """A breakdown code; null for the total level (empty, or one of ``totals``)."""
    if col is None:
        return pl.lit(None, dtype=pl.String)
    s = pl.col(col).str.strip_chars()
    return pl.when((s.str.len_bytes() > 0) & ~s.is_in(totals)).then(s)


def scan_comtrade(lf: pl.LazyFrame, source: str, path: object = None) -> pl.LazyFrame:
    """Translate a Comtrade-like LazyFrame of text columns to canonical columns.

    Rows that are not goods trade in HS (services, SITC, processing sub-flows)
    get a ``drop`` reason; nothing is removed here. The work is done in stages
    (clean text once, then derive from it) so that no expression is repeated
    inside another on millions of rows.
    """
    path = path if path is not None else source
    keys = {column_key(c): c for c in lf.collect_schema().names()}
    reporter_col = require(keys, path, "reporter", "reportercode", "reporteriso")
    partner_col = require(keys, path, "partner", "partnercode", "partneriso")
    hs_col = require(keys, path, "HS code", "cmdcode", "commoditycode")
    value_col = require(keys, path, "value", *COMTRADE_SIGNATURE[4])
    if pick(keys, "flowcode", "tradeflowcode", "tradeflow", "flowdesc") is None:
        require(keys, path, "flow", "flowcode", "tradeflowcode", "tradeflow")
    period_col = pick(keys, "period", "refperiodid") or require(
        keys, path, "period", "period", "refyear", "year"
    )
    freq_col = pick(keys, "freqcode", "freq")
    class_col = pick(keys, "classificationcode", "classification")
    type_col = pick(keys, "typecode")
    qty_unit_col = pick(keys, "qtyunitabbr", "qtyunit")
    net_col = pick(keys, "netwgt", "netweightkg", "netweight")
    qty_col = pick(keys, "qty")

    # Stage 1: clean text once.
    lf = lf.with_row_index("row", offset=2).with_columns(
        _p=clean_str(period_col),
        _hs=pl.col(hs_col).str.strip_chars(),
        _rep=pl.col(reporter_col).str.strip_chars(),
        _par=pl.col(partner_col).str.strip_chars(),
        _f=clean_str(freq_col).str.to_uppercase() if freq_col else pl.lit(None, pl.String),
        _cls=clean_str(class_col).str.to_uppercase() if class_col else pl.lit(None, pl.String),
        _flow=_flow(keys),
    )
    # Stage 2: YYYY, YYYYMM or YYYYMMDD as integers.
    n, x = pl.col("_p").str.len_chars(), pl.col("_p").cast(pl.Int64, strict=False)
    lf = lf.with_columns(
        _year=pl.when(n == 4).then(x).when(n == 6).then(x // 100).when(n == 8).then(x // 10000),
        _month=pl.when(n == 6).then(x % 100).when(n == 8).then(x // 100 % 100).otherwise(1),
        _f=pl.col("_f") if freq_col else pl.when(n >= 6).then(pl.lit("M")).otherwise(pl.lit("A")),
    )
    month = pl.when(pl.col("_f") == "M").then(pl.col("_month")).otherwise(1)
    cls, flow = pl.col("_cls"), pl.col("_flow")
    revision = (
        pl.when(cls.is_null() | cls.is_in(["HS", "H"]))
        .then(hs_revision_from_year(pl.col("_year")))
        .otherwise(cls.replace_strict(_REVISION, default=None, return_dtype=pl.String))
    )
    not_hs = cls.is_not_null() & ~cls.is_in([*_REVISION, "HS", "H"])
    not_goods = pl.col(type_col).str.strip_chars() != "C" if type_col else pl.lit(False)
    other_flow = flow.is_not_null() & ~flow.is_in(["X", "M", "RX", "RM", "DX", "FM"])
    drop = (
        pl.when(not_goods.fill_null(False))
        .then(pl.lit("not_goods"))
        .when(not_hs)
        .then(pl.lit("not_hs_classification"))
        .when(other_flow)
        .then(pl.lit("processing_subflow"))
    )
    out = lf.select(
        period=date_from_ym(pl.col("_year"), month),
        freq=pl.col("_f"),
        reporter=iso3_from_code("_rep"),
        partner=iso3_from_code("_par"),
        raw_flow=flow,
        flow=flow.replace({"DX": "X", "FM": "M"}),
        hs=hs_code("_hs"),
        hs_revision=revision,
        value_usd=number(value_col),
        net_kg=number(net_col) if net_col else pl.lit(None, dtype=pl.Float64),
        qty=number(qty_col) if qty_col else pl.lit(None, dtype=pl.Float64),
        qty_unit=clean_str(qty_unit_col) if qty_unit_col else pl.lit(None, dtype=pl.String),
        source=pl.lit(source),
        partner2=_breakdown(pick(keys, "partner2code", "2ndpartnercode"), ["0", "W00"]),
        customs=_breakdown(pick(keys, "customscode", "customsproccode"), ["C00"]),
        mot=_breakdown(pick(keys, "motcode", "modeoftransportcode"), ["0"]),
        row=pl.col("row").cast(pl.Int64),
        reporter_raw=pl.col(reporter_col),
        partner_raw=pl.col(partner_col),
        hs_raw=pl.col(hs_col),
        value_raw=pl.col(value_col),
        period_raw=pl.col("_p"),
        drop=drop,
    )
    return finish(out)
