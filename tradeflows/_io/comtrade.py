"""UN Comtrade in its three common shapes, translated to canonical columns once.

* Comtrade+ final data (``getFinalData`` CSV, 47 columns) and bulk files
  (gzipped, tab-separated, same columns);
* legacy Comtrade CSV (``Trade Flow``, ``Trade Value (US$)``, ...);
* comtradr's snake_case renames of either (``trade_value_usd``, ``partner_iso``,
  ``primary_value``, ...).

Header names are matched by :func:`column_key`, so all three share one table.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from typing import Protocol

import polars as pl

from tradeflows import _engine
from tradeflows._clean import bad_period, unknown_country
from tradeflows._io._common import (
    NON_LETTERS,
    HeaderKeys,
    PerValue,
    RowCheck,
    clean_str,
    column_key,
    date_from_ym,
    decimal_value,
    finish,
    hs_code,
    hs_revision_from_year,
    iso3_from_code,
    number,
    pick,
    plain_decimal,
    require,
)
from tradeflows._reference import comtrade_to_iso3

__all__ = [
    "COMTRADE_PLUS_COLUMNS",
    "COMTRADE_SIGNATURE",
    "comtrade_batches",
    "looks_like_comtrade",
    "scan_comtrade",
    "typed_columns",
]

#: The 47 columns of Comtrade+ final data (``getFinalData``, bulk files), in order.
COMTRADE_PLUS_COLUMNS: tuple[str, ...] = (
    "typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period", "reporterCode",
    "reporterISO", "reporterDesc", "flowCode", "flowDesc", "partnerCode", "partnerISO",
    "partnerDesc", "partner2Code", "partner2ISO", "partner2Desc", "classificationCode",
    "classificationSearchCode", "isOriginalClassification", "cmdCode", "cmdDesc", "aggrLevel",
    "isLeaf", "customsCode", "customsDesc", "mosCode", "motCode", "motDesc", "qtyUnitCode",
    "qtyUnitAbbr", "qty", "isQtyEstimated", "altQtyUnitCode", "altQtyUnitAbbr", "altQty",
    "isAltQtyEstimated", "netWgt", "isNetWgtEstimated", "grossWgt", "isGrossWgtEstimated",
    "cifvalue", "fobvalue", "primaryValue", "legacyEstimationFlag", "isReported", "isAggregate",
)  # fmt: skip

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


#: Keys of columns the fast path lets the CSV parser type directly.
_INT_KEYS = (
    "reportercode",
    "partnercode",
    "partner2code",
    "2ndpartnercode",
    "motcode",
    "modeoftransportcode",
    "period",
    "refperiodid",
    "refyear",
    "year",
)
_FLOAT_KEYS = (
    "primaryvalue",
    "tradevalueus",
    "tradevalueusd",
    "primaryvalueusd",
    "netwgt",
    "netweightkg",
    "netweight",
    "qty",
)


def typed_columns(header: list[str], text_values: bool = False) -> dict[str, pl.DataType]:
    """Schema overrides for the fast path: codes and periods as Int64, values as Float64.

    The CSV parser types these in parallel, far faster than text conversions;
    a file where one does not parse is read again as text, where the bad row
    is found and named.

    Parameters
    ----------
    header : list of str
        The file's header.
    text_values : bool
        Values as text, read exactly afterwards (:func:`scan_comtrade`'s
        ``text_values``): the GPU engine's CSV parser rounds some decimals
        otherwise than the CPU's.

    Returns
    -------
    dict of str to polars.DataType

    See Also
    --------
    scan_comtrade : the reader that parses them typed.

    Examples
    --------
    >>> typed_columns(["period", "reporterCode", "reporterISO", "primaryValue"])
    {'period': Int64, 'reporterCode': Int64, 'primaryValue': Float64}
    """
    out: dict[str, pl.DataType] = {}
    for name in header:
        key = column_key(name)
        if key in _INT_KEYS:
            out[name] = pl.Int64
        elif key in _FLOAT_KEYS:
            out[name] = pl.String if text_values else pl.Float64
    return out


#: The column, computed in the same plan as a file's read, that says whether a
#: row's values read as text are all plain decimals (:func:`scan_comtrade`'s
#: ``text_values``): on the GPU engine a plan of its own would copy the whole
#: frame back to the device for one boolean.
_PLAIN = "_plain_values"


def _num(col: str, schema: pl.Schema) -> pl.Expr:
    return pl.col(col) if schema[col].is_numeric() else number(col)


def looks_like_comtrade(keys: set[str]) -> bool:
    """True when a header (as keys) has one column of each signature group.

    Parameters
    ----------
    keys : set of str
        The header's column names, folded (case and punctuation blind).

    Returns
    -------
    bool

    See Also
    --------
    scan_comtrade : the reader it chooses.
    tradeflows.detect_format : every format's test.

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
    word = (
        pl.col(text_col).str.to_lowercase().str.replace_many(NON_LETTERS, [""] * len(NON_LETTERS))
    )
    return word.replace_strict(_FLOW_WORDS, default=None, return_dtype=pl.String)


def _breakdown(
    col: str | None, totals: list[str], schema: pl.Schema, per_value: PerValue
) -> pl.Expr:
    """A breakdown code; null for the total level (empty, or one of ``totals``)."""
    if col is None:
        return pl.lit(None, dtype=pl.String)
    if schema[col].is_integer():
        return per_value(pl.when(pl.col(col) != 0).then(pl.col(col).cast(pl.String)))
    s = pl.col(col).str.strip_chars()
    return per_value(pl.when((s.str.len_bytes() > 0) & ~s.is_in(totals)).then(s))


def _country(col: str, schema: pl.Schema) -> pl.Expr:
    if schema[col].is_integer():
        # Read from a table indexed by the code (a code outside it: null): two
        # columns of 2.9M codes, 13 ms against 42 ms for replace_strict, a join
        # (benchmarks/RESULTS.md, issue 27).
        table = _iso3_by_code()
        code = pl.col(col)
        inside = pl.when(code.is_between(0, table.len() - 1)).then(code)
        return pl.lit(table).gather(inside).alias(col)
    return iso3_from_code(col, stripped=False)


@functools.cache
def _iso3_by_code() -> pl.Series:
    """ISO3 at each Comtrade code's place (null where no country has the code)."""
    codes = comtrade_to_iso3()
    return pl.Series([codes.get(i) for i in range(max(codes) + 1)], dtype=pl.String)


def _raw(col: str, schema: pl.Schema) -> pl.Expr:
    """The source text of a value, for error messages.

    Parsed numbers cannot be malformed, so a typed value column keeps none;
    a typed code or period stays an integer here, and :func:`_quote_unread`
    writes it back as text where it is needed.
    """
    if schema[col] == pl.String or schema[col].is_integer():
        return pl.col(col)
    return pl.lit(None, dtype=pl.String)


def _quote_unread(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The codes and periods the parser typed, as text on the rows that quote them.

    Those are the rows whose country or period could not be read (an
    unknown code, a month 13): the input errors ``unknown_country`` and
    ``bad_period``. Elsewhere the text would be written for nothing, 12% of
    a parsed file's memory.
    """
    typed = [c for c, t in lf.collect_schema().items() if c.endswith("_raw") and t.is_integer()]
    if not typed:
        return lf
    unread = unknown_country() | bad_period()  # as clean.mark_invalid marks them
    return lf.with_columns(pl.when(unread).then(pl.col(c).cast(pl.String)).alias(c) for c in typed)


class BatchCheck(RowCheck, Protocol):
    """A row check that also reads a file batch by batch (:func:`comtrade_batches`)."""

    def batch(self, df: pl.DataFrame, first_line: int) -> None:
        """Check one batch as parsed, its first row on line ``first_line``."""

    def done(self, rows: int) -> None:
        """After the last batch (``rows`` in all): what needs every batch seen."""


class NotPlainDecimal(pl.exceptions.ComputeError):
    """A value read as text is not plain decimal text (``1e5``, `` 7``): the file is
    read again with the CPU's parser (:func:`scan_comtrade`'s ``text_values``)."""


def scan_comtrade(
    lf: pl.LazyFrame,
    source: str,
    path: object = None,
    *,
    in_memory: bool = False,
    check: RowCheck | None = None,
    engine: str = "cpu",
    text_values: bool = False,
    first_row: int = 2,
) -> pl.LazyFrame:
    """Translate a Comtrade-like LazyFrame of text columns to canonical columns.

    Rows that are not goods trade in HS (services, SITC, processing sub-flows)
    get a ``drop`` reason; nothing is removed here. The work is done in stages
    (clean text once, then derive from it) so that no expression is repeated
    inside another on millions of rows. With ``in_memory`` the source columns
    used are read into memory, in one piece each, before the conversions:
    the CSV parser hands over thousands of small chunks, and the conversions
    run faster on whole columns (benchmarks/RESULTS.md, design measurements).

    Parameters
    ----------
    lf : LazyFrame
        The file's columns as text.
    source : str
        The name its rows carry (``source``).
    path : object, optional
        The file, for error messages.
    in_memory : bool
        Read the columns used into memory, whole, before converting them.
    check : callable, optional
        With ``in_memory``: called on the frame read, with the columns used
        and those named by its ``columns``, before any conversion; it raises
        to refuse the file (the fast path's width check,
        :class:`tradeflows._io.WidthCheck`).
    engine : str
        With ``in_memory``: where the columns are read (``gpu``: by the GPU
        engine's CSV parser, with ``text_values``).
    text_values : bool
        The value columns (:data:`_FLOAT_KEYS`) came as text
        (``typed_columns(..., text_values=True)``): they are read exactly
        (:func:`tradeflows._io._common.decimal_value`), to the same doubles
        as the CPU's parser gives. A value that is not plain decimal text
        raises :class:`NotPlainDecimal` (read the file with the CPU's parser).
    first_row : int
        The first row's number (``row``): 2, the line under a CSV header;
        1, the first record of a JSON answer.

    Returns
    -------
    LazyFrame
        Canonical columns and the cleaning's auxiliary columns.

    See Also
    --------
    looks_like_comtrade : how the format is recognised.
    tradeflows.scan : any supported file.

    Examples
    --------
    >>> raw = pl.LazyFrame({'freqCode': ['M'], 'period': ['202403'], 'reporterCode': ['458'],
    ...     'partnerCode': ['156'], 'flowCode': ['X'], 'cmdCode': ['847150'],
    ...     'classificationCode': ['H6'], 'primaryValue': ['1200000.5'], 'netWgt': ['']})
    >>> scan_comtrade(raw, 'example.csv').select('period', 'reporter', 'partner', 'flow', 'hs', 'value_usd').collect().row(0)
    (datetime.date(2024, 3, 1), 'MYS', 'CHN', 'X', '847150', 1200000.5)
    """
    if check is not None and not in_memory:
        raise ValueError("a row check runs on the rows read into memory: in_memory=True")
    path = path if path is not None else source
    schema = lf.collect_schema()
    cols = _ComtradeColumns.of(schema.names(), source, path)
    if not in_memory:
        return cols.rows(lf.select(cols.used), None, first_row)
    # The value columns that came as text, to be read exactly (text_values).
    texts = [
        c for c in cols.used
        if text_values and column_key(c) in _FLOAT_KEYS and schema[c] == pl.String
    ]  # fmt: skip
    plain = [pl.all_horizontal(plain_decimal(c) for c in texts).alias(_PLAIN)] if texts else []
    df = _engine.collect(cols.read(lf, check).with_columns(plain), engine)
    if check is not None:
        check(df)
    if texts and not df.get_column(_PLAIN).all():
        raise NotPlainDecimal(f"{path}: a value is not plain decimal text")
    df = df.select(cols.used).rechunk()
    lf = df.lazy().with_columns(decimal_value(c) for c in texts)
    return cols.rows(lf, df, first_row)


def comtrade_batches(
    lf: pl.LazyFrame,
    source: str,
    path: object,
    *,
    check: BatchCheck | None,
    rows: int,
) -> Iterator[pl.LazyFrame]:
    """:func:`scan_comtrade` of a file too large to read at once, a batch of ``rows``
    rows at a time: the canonical rows of each batch, in file order.

    The columns used are read on the streaming engine, which hands them
    over in batches; each batch is converted as :func:`scan_comtrade`
    converts a whole file read into memory (``in_memory``), its rows
    numbered where they are in the file. Memory holds a batch, not the file
    (and a 12M-row file is read faster so: no whole-file frame to allocate
    and copy; benchmarks/RESULTS.md, issue 27). ``check`` reads each batch
    as parsed; its last call, after the last batch, may still refuse the
    file: a caller keeps what it did with the batches undoable until then.

    Parameters
    ----------
    lf : LazyFrame
        The file's typed scan (the fast path's).
    source : str
        The name its rows carry (``source``).
    path : object
        The file, for error messages.
    check : BatchCheck, optional
        The fast path's width check.
    rows : int
        Rows a batch.

    Yields
    ------
    LazyFrame
        Canonical columns and the cleaning's auxiliary columns, over a batch in memory.
    """
    cols = _ComtradeColumns.of(lf.collect_schema().names(), source, path)
    first = 2
    for raw in cols.read(lf, check).collect_batches(chunk_size=rows):
        if check is not None:
            check.batch(raw, first)
        df = raw.select(cols.used)
        yield cols.rows(df.lazy(), df, first)
        first += raw.height
    if check is not None:
        check.done(first - 2)


@dataclasses.dataclass(frozen=True, eq=False)
class _ComtradeColumns:
    """A Comtrade file's columns as :func:`scan_comtrade` reads them: which header
    name holds each field (None where the file has none), and what it reads."""

    source: str
    reporter_col: str
    partner_col: str
    hs_col: str
    value_col: str
    period_col: str
    freq_col: str | None
    class_col: str | None
    type_col: str | None
    qty_unit_col: str | None
    net_col: str | None
    qty_col: str | None
    breakdowns: dict[str, str | None]
    flow_from: pl.Expr

    @classmethod
    def of(cls, names: list[str], source: str, path: object) -> _ComtradeColumns:
        """The columns of a header (``path`` for its error messages)."""
        keys = HeaderKeys(names, path)
        reporter = require(keys, path, "reporter", "reportercode", "reporteriso")
        partner = require(keys, path, "partner", "partnercode", "partneriso")
        hs = require(keys, path, "HS code", "cmdcode", "commoditycode")
        value = require(keys, path, "value", *COMTRADE_SIGNATURE[4])
        if pick(keys, "flowcode", "tradeflowcode", "tradeflow", "flowdesc") is None:
            require(keys, path, "flow", "flowcode", "tradeflowcode", "tradeflow")
        period = pick(keys, "period", "refperiodid") or require(
            keys, path, "period", "period", "refyear", "year"
        )
        return cls(
            source=source, reporter_col=reporter, partner_col=partner, hs_col=hs,
            value_col=value, period_col=period,
            freq_col=pick(keys, "freqcode", "freq"),
            class_col=pick(keys, "classificationcode", "classification"),
            type_col=pick(keys, "typecode"),
            qty_unit_col=pick(keys, "qtyunitabbr", "qtyunit"),
            net_col=pick(keys, "netwgt", "netweightkg", "netweight"),
            qty_col=pick(keys, "qty"),
            breakdowns={
                "partner2": pick(keys, "partner2code", "2ndpartnercode"),
                "customs": pick(keys, "customscode", "customsproccode"),
                "mot": pick(keys, "motcode", "modeoftransportcode"),
            },
            flow_from=_flow(keys),
        )  # fmt: skip

    @functools.cached_property
    def used(self) -> list[str]:
        """The columns read, each once."""
        used = [self.reporter_col, self.partner_col, self.hs_col, self.value_col,
                *self.flow_from.meta.root_names(), self.period_col, self.freq_col,
                self.class_col, self.type_col, self.qty_unit_col, self.net_col, self.qty_col,
                *self.breakdowns.values()]  # fmt: skip
        return list(dict.fromkeys(c for c in used if c is not None))

    def read(self, lf: pl.LazyFrame, check: RowCheck | None) -> pl.LazyFrame:
        """What is read of the file's scan ``lf``: the columns used, and those ``check`` reads."""
        return lf.select(*dict.fromkeys([*self.used, *(check.columns if check else [])]))

    def rows(self, lf: pl.LazyFrame, df: pl.DataFrame | None, first_row: int) -> pl.LazyFrame:
        """The columns used (``lf``; ``df`` when they are in memory) as canonical rows,
        the first numbered ``first_row``."""
        schema = lf.collect_schema()
        per_value = PerValue(df)

        # Stage 1: clean text once (or take the parser's integers as they are).
        canonical_flow = self.flow_from.replace({"DX": "X", "FM": "M"})
        lf = lf.with_row_index("row", offset=first_row).with_columns(
            _x=(
                pl.col(self.period_col)
                if schema[self.period_col].is_integer()
                else clean_str(self.period_col).cast(pl.Int64, strict=False)
            ),
            _hs=per_value(hs_code(pl.col(self.hs_col).str.strip_chars())),
            _f=per_value(clean_str(self.freq_col).str.to_uppercase())
            if self.freq_col
            else pl.lit(None, pl.String),
            _cls=per_value(clean_str(self.class_col).str.to_uppercase())
            if self.class_col
            else pl.lit(None, pl.String),
            _flow=per_value(self.flow_from),
            _canon_flow=per_value(canonical_flow),
        )
        # Stage 2: YYYY, YYYYMM or YYYYMMDD as integers.
        x = pl.col("_x")
        n = pl.when(x < 10_000).then(4).when(x < 1_000_000).then(6).otherwise(8)
        lf = lf.with_columns(
            _year=pl.when(n == 4).then(x).when(n == 6).then(x // 100).otherwise(x // 10000),
            _month=pl.when(n == 6).then(x % 100).when(n == 8).then(x // 100 % 100).otherwise(1),
            _f=pl.col("_f")
            if self.freq_col
            else pl.when(n >= 6).then(pl.lit("M")).otherwise(pl.lit("A")),
        )
        month = pl.when(pl.col("_f") == "M").then(pl.col("_month")).otherwise(1)
        cls, flow = pl.col("_cls"), pl.col("_flow")
        revision = (
            pl.when(cls.is_null() | cls.is_in(["HS", "H"]))
            .then(hs_revision_from_year(pl.col("_year")))
            .otherwise(cls.replace_strict(_REVISION, default=None, return_dtype=pl.String))
        )
        not_hs = cls.is_not_null() & ~cls.is_in([*_REVISION, "HS", "H"])
        not_goods = (
            per_value(pl.col(self.type_col).str.strip_chars() != "C")
            if self.type_col
            else pl.lit(False)
        )
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
            reporter=_country(self.reporter_col, schema),
            partner=_country(self.partner_col, schema),
            raw_flow=flow,
            flow=pl.col("_canon_flow"),
            hs=pl.col("_hs"),
            hs_revision=revision,
            value_usd=_num(self.value_col, schema),
            net_kg=_num(self.net_col, schema) if self.net_col else pl.lit(None, dtype=pl.Float64),
            qty=_num(self.qty_col, schema) if self.qty_col else pl.lit(None, dtype=pl.Float64),
            qty_unit=per_value(clean_str(self.qty_unit_col))
            if self.qty_unit_col
            else pl.lit(None, dtype=pl.String),
            source=pl.lit(self.source),
            partner2=_breakdown(self.breakdowns["partner2"], ["0", "W00"], schema, per_value),
            customs=_breakdown(self.breakdowns["customs"], ["C00"], schema, per_value),
            mot=_breakdown(self.breakdowns["mot"], ["0"], schema, per_value),
            row=pl.col("row").cast(pl.Int64),
            reporter_raw=_raw(self.reporter_col, schema),
            partner_raw=_raw(self.partner_col, schema),
            hs_raw=pl.col(self.hs_col),
            value_raw=_raw(self.value_col, schema),
            period_raw=_raw(self.period_col, schema),
            drop=drop,
        )
        return finish(_quote_unread(out))
