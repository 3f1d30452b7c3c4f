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
    "Flow",
    "Freq",
    "HSRevision",
    "canonical_columns",
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
