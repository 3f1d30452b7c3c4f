"""The canonical trade record: column names, dtypes and validation.

Source-specific names live only in :mod:`tradeflows.io`; everything downstream
speaks this vocabulary.
"""

from __future__ import annotations

from typing import Literal, get_args

import polars as pl

from tradeflows._errors import TradeflowsInputError

__all__ = [
    "AUX_COLUMNS",
    "CANONICAL",
    "FLOWS",
    "FREQS",
    "KEY",
    "MIRROR_KEY",
    "MIRROR_SCHEMA",
    "YEARS",
    "Flow",
    "Freq",
    "HSRevision",
    "canonical_columns",
    "casts_to",
    "conform",
    "plausible_date",
    "validate",
]

Flow = Literal["X", "M", "RX", "RM"]
Freq = Literal["A", "M"]
HSRevision = Literal["HS1992", "HS1996", "HS2002", "HS2007", "HS2012", "HS2017", "HS2022", "HS"]

FLOWS: tuple[str, ...] = get_args(Flow)
FREQS: tuple[str, ...] = get_args(Freq)

#: Canonical columns and their dtypes, in order.
CANONICAL: dict[str, pl.DataType] = {
    "period": pl.Date(),
    # String, not Enum: the Polars GPU engine (cudf-polars 26.10) refuses Enum
    # and Categorical columns, and CPU and GPU run the same code. The cleaning
    # checks the values (bad_period, bad_flow).
    "freq": pl.String(),
    "reporter": pl.String(),
    "partner": pl.String(),
    "flow": pl.String(),
    "hs": pl.String(),
    "hs_revision": pl.String(),
    "value_usd": pl.Float64(),
    "net_kg": pl.Float64(),
    "qty": pl.Float64(),
    "qty_unit": pl.String(),
    "slip_suspect": pl.Boolean(),
    "source": pl.String(),
}

#: Columns readers may add for the cleaning to use; they never reach the store.
#: ``partner2``/``customs``/``mot`` hold breakdown codes (null = the total
#: level), ``raw_flow`` the source's own flow code (DX, FM, ...), ``row`` the
#: line (or sheet row) in the source, ``*_raw`` the source text of a value, kept
#: so an error can quote it, and ``drop`` the reason a row is removed (null =
#: kept). Columns starting with ``chg_`` mark rows a step changed.
AUX_COLUMNS: dict[str, pl.DataType] = {
    "partner2": pl.String(),
    "customs": pl.String(),
    "mot": pl.String(),
    "raw_flow": pl.String(),
    "row": pl.Int64(),
    "reporter_raw": pl.String(),
    "partner_raw": pl.String(),
    "hs_raw": pl.String(),
    "value_raw": pl.String(),
    "period_raw": pl.String(),
    "drop": pl.String(),
}

#: The columns that identify one reported flow; two rows with the same key are
#: two reports of the same number (duplicates or revisions).
KEY: list[str] = ["period", "freq", "reporter", "partner", "flow", "hs"]

#: What names one of the mirror's pairs: a flow (exporter, importer, HS code) and its month.
MIRROR_KEY: list[str] = ["freq", "period", "exporter", "importer", "hs"]

#: The mirror's columns and their types (:func:`tradeflows.collect_mirror`:
#: one row per :data:`MIRROR_KEY`, both reports side by side).
MIRROR_SCHEMA: dict[str, pl.DataType] = {
    "freq": pl.String(), "period": pl.Date(), "exporter": pl.String(), "importer": pl.String(),
    "hs": pl.String(), "value_x": pl.Float64(), "value_rx": pl.Float64(),
    "value_m": pl.Float64(), "kg_x": pl.Float64(), "kg_m": pl.Float64(), "slip": pl.Boolean(),
    "side": pl.String(), "exporter_silent": pl.Boolean(), "importer_silent": pl.Boolean(),
    "cif_fob": pl.Float64(), "weight_x": pl.Float64(), "weight_m": pl.Float64(),
    "value": pl.Float64(), "gap": pl.Float64(), "gap_history": pl.Float64(),
    "gap_change": pl.Float64(),
}  # fmt: skip


def canonical_columns() -> list[str]:
    """Names of the canonical columns, in order.

    Returns
    -------
    list of str

    See Also
    --------
    validate : the rows checked against them.

    Examples
    --------
    >>> canonical_columns()[:3]
    ['period', 'freq', 'reporter']
    """
    return list(CANONICAL)


def validate(df: pl.DataFrame | pl.LazyFrame, *, where: str = "frame") -> None:
    """Raise :class:`TradeflowsInputError` unless ``df`` has the canonical schema.

    Only the schema is checked (cheap on a LazyFrame); values are checked by
    the readers and the cleaning.

    Parameters
    ----------
    df : DataFrame or LazyFrame
        The frame checked (its schema only).
    where : str
        What the error names.

    See Also
    --------
    canonical_columns : the columns it expects.

    Examples
    --------
    >>> import polars as pl
    >>> validate(pl.LazyFrame({"period": [None]}, schema={"period": pl.Date}))
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: frame: missing canonical column 'freq'
    """
    schema = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    for name, dtype in CANONICAL.items():
        if name not in schema:
            raise TradeflowsInputError(f"{where}: missing canonical column {name!r}")
        if schema[name] != dtype:
            raise TradeflowsInputError(
                f"{where}: column {name!r} has dtype {schema[name]}, expected {dtype}"
            )


#: The years a period may fall in: the readers' dates outside them are unreadable periods.
YEARS = (1900, 2100)


def plausible_date(date: pl.Expr) -> pl.Expr:
    """``date`` where its year is in :data:`YEARS` (as the readers' dates are), else null.

    Text read as a date can give any year ("0000-05", a value in a column
    mapped as the period): polars holds year 0, Python's dates do not, and
    a period outside the span is no trade month. Null, the cleaning drops
    the row as ``bad_period``, quoting its text.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> pl.select(plausible_date(pl.lit("0000-05-01").str.to_date())).item() is None
    True
    >>> pl.select(plausible_date(pl.lit(dt.date(2024, 5, 1)))).item()
    datetime.date(2024, 5, 1)
    """
    return pl.when(date.dt.year().is_between(*YEARS)).then(date)


#: Canonical columns a frame of one's own may leave out, and what they then hold.
OPTIONAL: dict[str, pl.Expr] = {
    "hs_revision": pl.lit(None, pl.String),
    "net_kg": pl.lit(None, pl.Float64),
    "qty": pl.lit(None, pl.Float64),
    "qty_unit": pl.lit(None, pl.String),
    "slip_suspect": pl.lit(False),
    "source": pl.lit(None, pl.String),
}

#: What to do about a column of the wrong type, where it is not a plain cast.
_HINTS = {
    "period": " (dates: pl.col('period').str.to_date('%Y-%m') reads '2024-01')",
    "hs": " (codes are text: as numbers, 010121 loses its leading zero)",
    "reporter": " (ISO3 codes as text: tradeflows.scan reads Comtrade's numbers)",
    "partner": " (ISO3 codes as text: tradeflows.scan reads Comtrade's numbers)",
    "exporter": " (ISO3 codes as text)",
    "importer": " (ISO3 codes as text)",
}


def conform(lf: pl.LazyFrame, *, where: str = "the rows given") -> pl.LazyFrame:
    """``lf`` in the canonical columns: optional ones it lacks added, other widths cast.

    A frame of one's own needs ``period`` (dates), ``freq``, ``reporter``,
    ``partner``, ``flow``, ``hs`` (text) and ``value_usd`` (numbers); the
    other canonical columns (:data:`OPTIONAL`) are added as unknown where
    missing. Numbers of another width become Float64, categoricals text,
    datetimes dates, all-null columns the canonical type; any other type is
    refused in one line, naming the column. Only the schema is read. A frame
    already canonical is returned as it is.

    Parameters
    ----------
    lf : LazyFrame
        Rows of one's own.
    where : str
        What the errors name.

    Returns
    -------
    LazyFrame

    See Also
    --------
    validate : the strict check of a canonical frame.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"period": [dt.date(2024, 1, 1)], "freq": "M", "reporter": "DEU",
    ...     "partner": "ARM", "flow": "X", "hs": "847150", "value_usd": [5]})
    >>> conform(lf).collect_schema()["value_usd"], conform(lf).collect_schema().len()
    (Float64, 13)
    >>> conform(lf.with_columns(period=pl.lit("2024-01")))
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: the rows given: column 'period' is String, expected Date (dates: pl.col('period').str.to_date('%Y-%m') reads '2024-01')
    """
    if not isinstance(lf, (pl.LazyFrame, pl.DataFrame)):
        raise TradeflowsInputError(
            f"{where}: expected a polars frame of canonical rows, not {type(lf).__name__}"
        )
    lf = lf.lazy()
    schema = lf.collect_schema()
    missing = [c for c in CANONICAL if c not in schema and c not in OPTIONAL]
    if missing:
        raise TradeflowsInputError(
            f"{where}: no column{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}; "
            f"canonical rows have "
            f"{', '.join(CANONICAL)} (tradeflows.scan reads a file into them)"
        )
    changes = [expr.alias(c) for c, expr in OPTIONAL.items() if c not in schema]
    changes += casts_to(schema, CANONICAL, where)
    return lf.with_columns(changes) if changes else lf


def casts_to(schema: pl.Schema, want: dict, where: str) -> list[pl.Expr]:
    """The casts that give the columns of ``schema`` that ``want`` names its types,
    or one line naming a column that cannot be one without losing what it says.

    Examples
    --------
    >>> [str(e) for e in casts_to(pl.Schema({"value_usd": pl.Int32}), CANONICAL, "rows")]
    ['col("value_usd").strict_cast(Float64)']
    >>> casts_to(pl.Schema({"hs": pl.Int64}), CANONICAL, "rows")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: rows: column 'hs' is Int64, expected String (codes are text: as numbers, 010121 loses its leading zero)
    """
    changes = []
    for name, dtype in want.items():
        have = schema.get(name)
        if have is None or have == dtype:
            continue
        if not _casts(have, dtype):
            raise TradeflowsInputError(
                f"{where}: column {name!r} is {have}, expected {dtype}{_HINTS.get(name, '')}"
            )
        changes.append(pl.col(name).cast(dtype))
    return changes


def _casts(have: pl.DataType, want: pl.DataType) -> bool:
    """Whether a column of ``have`` becomes ``want`` without losing what it says."""
    if have == pl.Null:
        return True
    if want == pl.Float64:
        return have.is_numeric()
    if want == pl.String:
        return isinstance(have, (pl.Categorical, pl.Enum))
    if want == pl.Date:
        return isinstance(have, pl.Datetime)
    return False
