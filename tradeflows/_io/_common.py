"""Expressions shared by the readers: header keys, periods, codes, values."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Protocol

import polars as pl

from tradeflows._errors import TradeflowsInputError
from tradeflows._reference import comtrade_to_iso3, country_names, eur_usd_monthly, iso3_codes
from tradeflows._schema import AUX_COLUMNS, CANONICAL, YEARS

__all__ = [
    "HeaderKeys",
    "column_key",
    "finish",
    "hs_code",
    "hs_revision_from_year",
    "iso3_from_code",
    "iso3_from_name",
    "number",
    "pick",
]


class RowCheck(Protocol):
    """A check of a file's rows as parsed, before any conversion: the fast path's
    width check (``tradeflows._io.WidthCheck``), which a reader runs on the
    rows it reads into memory (``scan_comtrade(check=)``, ``scan_comext_bulk(check=)``)."""

    columns: list[str]

    def __call__(self, df: pl.DataFrame) -> None: ...


def column_key(name: str) -> str:
    """Header name -> matching key: lower case, letters and digits only.

    ``"Trade Value (US$)"``, ``"trade_value_us"`` and ``"tradeValueUS"`` all
    give ``"tradevalueus"``, which is how one reader serves Comtrade+, legacy
    Comtrade and comtradr's renamed columns.

    Examples
    --------
    >>> column_key("Trade Value (US$)"), column_key("primaryValue"), column_key("2nd Partner Code")
    ('tradevalueus', 'primaryvalue', '2ndpartnercode')
    """
    return re.sub(r"[^0-9a-z]", "", name.lower().lstrip("\ufeff"))


def pick(keys: dict[str, str], *candidates: str) -> str | None:
    """The source column whose key is the first of ``candidates`` present."""
    for c in candidates:
        if c in keys:
            return keys[c]
    return None


def require(keys: dict[str, str], path: object, role: str, *candidates: str) -> str:
    """Like :func:`pick`, but a missing column is a clear error."""
    col = pick(keys, *candidates)
    if col is None:
        raise TradeflowsInputError(
            f"{path}: missing required column for {role} (one of: {', '.join(candidates)})"
        )
    return col


class HeaderKeys(dict):
    """A header's names by key (:func:`column_key`), for :func:`pick` and
    :func:`require`.

    Reading a key that two names share (``primaryValue`` and
    ``PrimaryValue``) refuses the file: which of the two holds the values
    is a guess. A twin that no reader asks for is left alone.

    Examples
    --------
    >>> keys = HeaderKeys(["Value", "VALUE", "flow"], "x.csv")
    >>> pick(keys, "flow")
    'flow'
    >>> pick(keys, "value")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: x.csv: columns 'Value', 'VALUE' name the same field; keep one
    """

    def __init__(self, names: list[str], path: object) -> None:
        super().__init__((column_key(n), n) for n in names)
        self.twins: dict[str, list[str]] = {}
        for n in names:
            self.twins.setdefault(column_key(n), []).append(n)
        self.path = path

    def __getitem__(self, key: str) -> str:
        if len(self.twins.get(key, ())) > 1:
            raise TradeflowsInputError(
                f"{self.path}: columns {', '.join(map(repr, self.twins[key]))} name the same "
                "field; keep one"
            )
        return super().__getitem__(key)


def clean_str(col: str | pl.Expr) -> pl.Expr:
    """Strip spaces; empty or blank text becomes null."""
    s = (pl.col(col) if isinstance(col, str) else col).str.strip_chars()
    return pl.when(s.str.len_bytes() > 0).then(s)


class PerValue:
    """Elementwise expressions of one column, computed once per distinct value of it.

    Codes such as the flow, the frequency or the HS code take a few
    thousand values over millions of rows: stripping and upper-casing every
    row (a new string each) costs several times more than looking the
    answer up. Given the frame in memory, ``PerValue(df)(expr)`` computes
    ``expr`` on the distinct values of its one source column and maps the
    rows to them. ``expr`` must be elementwise (no aggregation, no window).
    With ``df`` None, an ``expr`` of no column or of several, or a column of
    mostly distinct values (over a tenth of the rows), it is ``expr`` itself.

    Examples
    --------
    >>> df = pl.DataFrame({"flow": [" x", "M ", " x"] * 10})
    >>> df.select(PerValue(df)(clean_str("flow").str.to_uppercase()))["flow"].to_list()[:3]
    ['X', 'M', 'X']
    """

    def __init__(self, df: pl.DataFrame | None) -> None:
        self.df = df
        self.values: dict[str, pl.Series] = {}

    def __call__(self, expr: pl.Expr) -> pl.Expr:
        roots = set(expr.meta.root_names())
        if self.df is None or len(roots) != 1:
            return expr
        (col,) = roots
        if col not in self.values:
            self.values[col] = self.df.get_column(col).unique()
        values = self.values[col]
        if values.len() * 10 > self.df.height:
            return expr
        mapped = values.to_frame().select(expr).to_series()
        few = 0 < values.len() <= _FEW_VALUES
        if few and (values.dtype == pl.String or values.dtype.is_integer()):
            return _chosen(pl.col(col), values, mapped).alias(mapped.name)
        # Every value is mapped; an explicit default lets the GPU engine run it.
        looked_up = pl.col(col).replace_strict(
            values, mapped, default=None, return_dtype=mapped.dtype
        )
        return looked_up.alias(mapped.name)


#: Up to this many distinct values, :class:`PerValue` compares each row with
#: each of them: a flow code of three values over 2.9M rows, 20 ms against
#: 44 ms for ``replace_strict``, which joins (benchmarks/RESULTS.md, issue 27).
_FEW_VALUES = 4


def _chosen(column: pl.Expr, values: pl.Series, mapped: pl.Series) -> pl.Expr:
    """``mapped``'s value where ``column`` is the same place's of ``values`` (null as null)."""
    chain = None
    for value, out in zip(values.to_list(), mapped.to_list(), strict=True):
        hit = column.is_null() if value is None else column == pl.lit(value, values.dtype)
        then = pl.lit(out, mapped.dtype)
        chain = pl.when(hit).then(then) if chain is None else chain.when(hit).then(then)
    return chain.otherwise(pl.lit(None, mapped.dtype))


@cache
def _first_days() -> tuple[pl.Series, pl.Series]:
    """Month numbers (year * 12 + month - 1) of 1900-2100 and their first days."""
    months = [(y, m) for y in range(YEARS[0], YEARS[1] + 1) for m in range(1, 13)]
    return (
        pl.Series([y * 12 + m - 1 for y, m in months], dtype=pl.Int64),
        pl.Series([dt.date(y, m, 1) for y, m in months], dtype=pl.Date),
    )


def date_from_ym(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    """First day of ``year``-``month`` as a Date, looked up by month number.

    Much cheaper than ``pl.date``, string parsing or date arithmetic on
    millions of rows (benchmarks/RESULTS.md, design measurements). Years outside 1900-2100
    or months outside 1-12 give null. No ``Int32 -> Date`` cast: on the
    Polars GPU engine (cudf-polars 26.10) that cast read the 32-bit days as
    64-bit values, giving 1970-01-01 for every other row (RESULTS.md).

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(date_from_ym(pl.lit(2024), pl.lit(2))).item()
    datetime.date(2024, 2, 1)
    >>> pl.select(date_from_ym(pl.lit(2024), pl.lit(13))).item() is None
    True
    """
    numbers, days = _first_days()
    ok = year.is_between(*YEARS) & month.is_between(1, 12)
    index = year.cast(pl.Int64) * 12 + month.cast(pl.Int64) - 1
    return pl.when(ok).then(index.replace_strict(numbers, days, default=None))


#: Decimal text a device reads exactly (:func:`decimal_value`): digits, at
#: most one point with digits after it, a leading minus.
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
#: Powers of ten a double holds exactly (10^0 to 10^22).
_POWERS = [10.0**k for k in range(23)]


def _decimal_parts(col: str) -> tuple[pl.Expr, pl.Expr]:
    """The digits of plain decimal text as one integer, and how many follow the point."""
    s = pl.col(col)
    dot = s.str.find(".", literal=True)
    places = pl.when(dot.is_null()).then(0).otherwise(s.str.len_bytes() - dot - 1)
    bare = s.str.replace("-", "", literal=True).str.replace(".", "", literal=True)
    return bare.cast(pl.Int64, strict=False), places


def plain_decimal(col: str) -> pl.Expr:
    """Whether text reads exactly through :func:`decimal_value` (empty: no value, true).

    Examples
    --------
    >>> df = pl.DataFrame({"v": ["12.5", "-3", "", None, "1e5", " 7", "12345678901234567"]})
    >>> df.select(plain_decimal("v"))["v"].to_list()
    [True, True, True, True, False, False, False]
    """
    s = pl.col(col)
    digits, places = _decimal_parts(col)
    plain = s.str.contains(_PLAIN_DECIMAL) & (digits <= 2**53) & (places < len(_POWERS))
    return (s.is_null() | (s == "") | plain.fill_null(False)).alias(col)


def decimal_value(col: str) -> pl.Expr:
    """Plain decimal text -> Float64, bit for bit what a correctly rounding parser reads.

    The digits as one integer (exact below 2^53) divided by a power of ten
    (exact up to 10^22): one IEEE division, rounded once, gives the double
    nearest the decimal, as the CPU's CSV parser does. The GPU engine runs
    it on text its own parser would round otherwise (issue 28). Text that
    is not :func:`plain_decimal` must not come here; empty text is null.

    Examples
    --------
    >>> df = pl.DataFrame({"v": ["44439.29", "-0.1", "", "7"]})
    >>> df.select(decimal_value("v"))["v"].to_list()
    [44439.29, -0.1, None, 7.0]
    """
    s = pl.col(col)
    digits, places = _decimal_parts(col)
    scale = places.replace_strict(
        list(range(len(_POWERS))), _POWERS, default=None, return_dtype=pl.Float64
    )
    value = digits.cast(pl.Float64) / scale
    value = pl.when(s.str.starts_with("-")).then(-value).otherwise(value)
    return pl.when(s != "").then(value).alias(col)


#: ``1,234`` and ``1,234.5``: commas that group thousands.
_GROUPED_COMMA = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
#: ``1234,5``, ``1.234,5`` and ``1.234``: a decimal comma, dots that group thousands.
_DECIMAL_COMMA = r"^[+-]?(\d{1,3}(\.\d{3})+|\d*)(,\d*)?$"


#: A value of up to 15 digits (or none): an integer parse reads it exactly.
_DIGITS = r"^[0-9]{0,15}$"


def number_in(df: pl.DataFrame | None, col: str) -> pl.Expr:
    """:func:`number` of a column of ``df``, in memory: where every value of it is
    up to 15 digits or empty (a Comext bulk file's euros and kilograms), read as
    integers, the same doubles at a sixth of the time (1M values: 0.04 s against
    0.24 s). Otherwise, and without ``df``, :func:`number` itself.

    Examples
    --------
    >>> df = pl.DataFrame({"eur": ["1200", "", "007", None], "kg": ["1200", "1.5", "7", "8"]})
    >>> df.select(number_in(df, "eur"), number_in(df, "kg")).rows()
    [(1200.0, 1200.0), (None, 1.5), (7.0, 7.0), (None, 8.0)]
    """
    if df is not None and df.get_column(col).str.contains(_DIGITS).all():
        return pl.col(col).str.to_integer(strict=False).cast(pl.Float64)
    return number(col)


def number(col: str | pl.Expr, scale: float = 1.0) -> pl.Expr:
    """Text -> Float64 (null when empty or malformed; the raw text is kept apart).

    The decimal mark is the file's (the column's): a comma when any value can
    be read only with a decimal comma (``1234,56``, ``1.234,5``), as in the
    semicolon files of many European offices and in Eurostat's; then dots
    group thousands (``1.234`` is 1234). Otherwise a point, and commas group
    thousands (``1,234.5``). A value that does not fit its column's
    convention (``1,234.5`` beside ``1234,56``) is null, so that the row is
    refused with its text quoted rather than read 100 times too large.
    Surrounding spaces are removed.

    Examples
    --------
    >>> df = pl.DataFrame({"us": ["1,234.5", "12", "7.25"], "eu": ["1234,56", "1.234", "0,5"]})
    >>> df.select(number("us"), number("eu")).rows()
    [(1234.5, 1234.56), (12.0, 1234.0), (7.25, 0.5)]
    >>> pl.DataFrame({"v": ["1,234.5", "1234,56"]}).select(number("v"))["v"].to_list()
    [None, 1234.56]
    """
    s = (pl.col(col) if isinstance(col, str) else col).str.strip_chars()
    comma = s.str.contains(",", literal=True)
    grouped = s.str.contains(_GROUPED_COMMA)
    decimal = s.str.contains(_DECIMAL_COMMA)
    decimal_file = (comma & decimal & ~grouped).any()
    separators = comma | s.str.contains(".", literal=True)
    as_decimal = (
        pl.when(separators & ~decimal)
        .then(pl.lit(None, pl.String))
        .otherwise(s.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
    )
    as_point = (
        pl.when(comma & ~grouped)
        .then(pl.lit(None, pl.String))
        .otherwise(s.str.replace_all(",", "", literal=True))
    )
    v = pl.when(decimal_file).then(as_decimal).otherwise(as_point).cast(pl.Float64, strict=False)
    v = v * scale if scale != 1.0 else v
    return v.alias(col if isinstance(col, str) else col.meta.output_name())


@cache
def _code_table() -> dict[str, str]:
    """Every spelling of a country code a file may use -> ISO3 / WLD / AGG."""
    table: dict[str, str] = {}
    for code, iso3 in comtrade_to_iso3().items():
        table[str(code)] = iso3
        table[f"{code:03d}"] = iso3
    for iso3 in iso3_codes():
        table[iso3] = iso3
    table.update({"W00": "WLD", "WLD": "WLD", "_X": "AGG", "X1": "AGG", "EUR": "AGG", "AGG": "AGG"})
    return table


def iso3_from_code(col: str, *, stripped: bool = True) -> pl.Expr:
    """Comtrade numeric code (or an ISO3 / Comtrade+ ISO like ``W00``) -> ISO3.

    World gives ``WLD``, other aggregates ``AGG``; unknown codes give null.
    One hash lookup per row: the table holds every spelling.
    """
    s = pl.col(col) if stripped else pl.col(col).str.strip_chars()
    return s.replace_strict(_code_table(), default=None, return_dtype=pl.String)


#: What flow words may hold besides letters ("Re-exports", "2-Exports"); removed
#: one by one (the GPU engine has no regex replace).
NON_LETTERS = [" ", "-", "_", ".", ",", "/", "(", ")", "'", *"0123456789"]

#: A name and its trailing footnote: "Kosovo (under UNSCR 1244/99)".
_FOOTNOTE = r"^(.*?)\s*\(.*\)\s*$"


def iso3_from_name(col: str) -> pl.Expr:
    """Country name (Eurostat, national files) -> ISO3; ``AGG`` for groups; null if unknown."""
    table = country_names()
    key = (
        pl.col(col)
        .str.replace_all("\u2019", "'", literal=True)
        .str.to_lowercase()
        .str.replace_many(["\t", "\n", "\r", "\u00a0"], [" "] * 4)
        # Runs of spaces become one (literal replaces: the GPU engine has no
        # regex replace); three passes fold up to eight.
        .str.replace_all("  ", " ", literal=True)
        .str.replace_all("  ", " ", literal=True)
        .str.replace_all("  ", " ", literal=True)
        .str.strip_chars()
    )
    full = key.replace_strict(table, default=None, return_dtype=pl.String)
    bare = pl.coalesce(key.str.extract(_FOOTNOTE), key).replace_strict(
        table, default=None, return_dtype=pl.String
    )
    return pl.coalesce(full, bare)


def hs_code(col: str | pl.Expr) -> pl.Expr:
    """HS code as digits with leading zeros restored; ``TOTAL`` kept; else null.

    Codes read as numbers lose the leading zero of chapters 01-09, which makes
    their length odd: one zero is put back. Dots (``8471.50``) are removed.
    Give it a stripped column (the readers strip once, in a stage of their own).
    """
    s = (pl.col(col) if isinstance(col, str) else col).str.replace_all(".", "", literal=True)
    n = s.str.len_chars()
    is_total = s.is_in(["TOTAL", "Total", "total", "TOTAL-Total", "TOTAL-TOTAL", "TOT"])
    digits = n.is_between(1, 12) & s.cast(pl.UInt64, strict=False).is_not_null()
    padded = pl.when(n % 2 == 1).then(pl.lit("0") + s).otherwise(s)
    return pl.when(is_total).then(pl.lit("TOTAL")).when(digits).then(padded)


_REVISIONS = [
    (2022, "HS2022"),
    (2017, "HS2017"),
    (2012, "HS2012"),
    (2007, "HS2007"),
    (2002, "HS2002"),
    (1996, "HS1996"),
    (1900, "HS1992"),
]


@cache
def _revision_by_year() -> dict[int, str]:
    return {y: next(rev for start, rev in _REVISIONS if y >= start) for y in range(1900, 2101)}


def hs_revision_from_year(year: pl.Expr) -> pl.Expr:
    """The HS revision in force in ``year`` (for sources that report as-is).

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(hs_revision_from_year(pl.lit(2021))).item()
    'HS2017'
    """
    return year.replace_strict(_revision_by_year(), default=None, return_dtype=pl.String)


def eur_to_usd(value: pl.Expr, period: pl.Expr, freq: pl.Expr) -> pl.Expr:
    """Convert euros to dollars at the ECB monthly (or the year's mean) rate."""
    rates = eur_usd_monthly()
    monthly = dict(zip(rates["month"].to_list(), rates["usd_per_eur"].to_list(), strict=True))
    yearly = rates.group_by(pl.col("month").dt.year().alias("y")).agg(pl.col("usd_per_eur").mean())
    annual = dict(zip(yearly["y"].to_list(), yearly["usd_per_eur"].to_list(), strict=True))
    rate = (
        pl.when(freq == "A")
        .then(period.dt.year().replace_strict(annual, default=None, return_dtype=pl.Float64))
        .otherwise(period.replace_strict(monthly, default=None, return_dtype=pl.Float64))
    )
    return value * rate


def finish(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Select canonical + auxiliary columns in order, adding missing ones as null.

    ``chg_*`` columns a reader set (rows it changed, such as a currency
    conversion) are kept after them.
    """
    have = lf.collect_schema().names()
    cols = []
    for name, dtype in {**CANONICAL, **AUX_COLUMNS}.items():
        expr = pl.col(name) if name in have else pl.lit(None)
        cols.append(expr.cast(dtype).alias(name))
    changes = [pl.col(c).fill_null(False).cast(pl.Boolean) for c in have if c.startswith("chg_")]
    return lf.select(*cols, *changes)
