"""Tables handed in from outside: a flags table, a world's labels.

A flags table comes from :func:`tradeflows.detect_routes`, or back from a CSV
file it was written to, or from someone else's detector; labels come from
``tradeflows synth`` or from outside. Each is checked and typed here, once,
for the functions that read it (:func:`tradeflows.evaluate`,
:func:`tradeflows.corridors`, the figures of :mod:`tradeflows.viz`, the
command line's ``evaluate``), or refused in one line that says what is
wrong: a frame that is not a polars frame, a missing column, codes as
numbers, months or scores as text that does not read.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from tradeflows import _engine
from tradeflows._errors import TradeflowsInputError
from tradeflows._schema import YEARS, plausible_date

__all__ = [
    "FLAGS",
    "LABEL_COLUMNS",
    "flags_table",
    "labels_table",
    "read_months",
    "refuse_bad_periods",
    "refuse_missing_codes",
    "table",
    "text_codes",
]

#: What a function that reads a flags table says it reads.
FLAGS = "a flags table (tradeflows.detect_routes)"
#: The columns of a flags table that hold codes (text), the numbers and the
#: true-or-false columns its readers read: typed where a table read back from
#: CSV holds them as text.
_FLAG_CODES = ("origin", "hub", "destination", "hs")
_FLAG_NUMBERS = ("score", "evidence", "extra_usd", "extra_usd_month", "corridor_score",
                 "inflow", "outflow")  # fmt: skip
_FLAG_BOOLEANS = ("flagged", "covered")
#: The columns of text detect writes (the others are numbers or true/false).
_FLAG_TEXT = {*_FLAG_CODES, "period", "reasons", "data_quality", "policy", "origin_name",
              "hub_name", "destination_name", "hs_description", "kind"}  # fmt: skip


def table(df: object, reads: str, *needs: str) -> pl.DataFrame:
    """``df`` in memory, refused in one line unless it is a polars frame holding ``needs``.

    Parameters
    ----------
    df : DataFrame or LazyFrame
        The table handed in (a LazyFrame is collected).
    reads : str
        What the caller reads, as the error starts (``flags_bar reads a flags
        table (tradeflows.detect_routes)``).
    *needs : str
        The columns it must hold.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> table(pl.LazyFrame({"hub": ["MYS"]}), "x reads hubs", "hub").height
    1
    >>> table({"hub": ["MYS"]}, "x reads hubs")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: x reads hubs, not dict (a polars frame)
    >>> table(pl.DataFrame({"hub": ["MYS"]}), "x reads flags", "hub", "score", "flagged")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: x reads flags: this one has no columns 'score', 'flagged'
    """
    if not isinstance(df, (pl.DataFrame, pl.LazyFrame)):
        # A pandas frame has columns: polars makes one of it.
        hint = "polars.from_pandas makes one" if hasattr(df, "columns") else "a polars frame"
        raise TradeflowsInputError(f"{reads}, not {type(df).__name__} ({hint})")
    df = df.collect() if isinstance(df, pl.LazyFrame) else df
    missing = [c for c in needs if c not in df.columns]
    if missing:
        raise TradeflowsInputError(
            f"{reads}: this one has no column{'s' * (len(missing) > 1)} "
            + ", ".join(map(repr, missing))
        )
    return df


def text_codes(df: pl.DataFrame, columns: Iterable[str], where: str) -> pl.DataFrame:
    """``df`` with its code ``columns`` as text (from text, categories or nulls), or one
    line naming a column of numbers: as numbers, HS 010121 loses its leading zero.

    Examples
    --------
    >>> text_codes(pl.DataFrame({"hs": [847150]}), ["hs"], "flags.parquet")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: flags.parquet: column 'hs' is Int64: codes are text (as numbers, 010121 loses its leading zero; read a CSV file with infer_schema=False)
    """
    for c in columns:
        dtype = df.schema[c]
        if dtype == pl.Null or isinstance(dtype, (pl.Categorical, pl.Enum)):
            df = df.with_columns(pl.col(c).cast(pl.String))
        elif dtype != pl.String:
            raise TradeflowsInputError(
                f"{where}: column {c!r} is {dtype}: codes are text (as numbers, 010121 loses "
                "its leading zero; read a CSV file with infer_schema=False)"
            )
    return df


def refuse_missing_codes(df: pl.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise, naming the first row, where one of the code ``columns`` ``df`` has is null.

    Examples
    --------
    >>> refuse_missing_codes(pl.DataFrame({"hs": ["8471", None]}), ["hub", "hs"], "flags")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: flags: row 1 (from 0) has no hs
    """
    for code in columns:
        if code in df.columns and df[code].null_count():
            row = df[code].is_null().arg_true()[0]
            raise TradeflowsInputError(f"{where}: row {row} (from 0) has no {code}")


def refuse_bad_periods(rows: pl.LazyFrame, where: str) -> None:
    """Raise where a row of ``rows`` has no period or one outside :data:`YEARS`
    (canonical rows, the mirror's pairs, a flags table), naming the first.

    Examples
    --------
    >>> refuse_bad_periods(pl.LazyFrame({"period": [None]}, schema={"period": pl.Date}), "pairs")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: pairs: row 0 (from 0) holds no period: periods run from 1900 to 2100
    """
    period = pl.col("period")
    odd = rows.select(period, year=period.dt.year()).with_row_index("_row")
    odd = _engine.collect(odd.filter(plausible_date(period).is_null()).head(1), "cpu")
    if odd.height:
        year = odd["year"].item()
        held = "no period" if year is None else f"a period of year {year}"
        raise TradeflowsInputError(
            f"{where}: row {odd['_row'].item()} (from 0) holds {held}: "
            f"periods run from {YEARS[0]} to {YEARS[1]}"
        )


def flags_table(flags: object, reads: str = f"expected {FLAGS}", *needs: str) -> pl.DataFrame:
    """A flags table as the functions that read one read it, or one line saying what is wrong.

    A flags table read back from CSV holds its months as text, and with
    ``infer_schema=False`` (which keeps the codes' leading zeros) its scores
    and flags too; one made elsewhere may hold datetimes, categories or
    integer scores. The codes (``origin``, ``hub``, ``destination``, ``hs``)
    become text, a column of numbers refused; ``period`` becomes dates
    (:func:`read_months`); the scores, evidence and amounts its readers read
    become Float64 and ``flagged`` and ``covered`` booleans, a value that is
    neither refused. Any other text column but the names and reasons
    (``_FLAG_TEXT``) becomes booleans or numbers where every value reads as
    one (a route's legs and features, as detect wrote them), and is left as
    text otherwise. ``needs`` must be there.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        The flags table.
    reads : str
        What the caller reads, as the errors start.
    *needs : str
        The columns it must hold.

    Returns
    -------
    DataFrame
        The flags, typed.

    Raises
    ------
    TradeflowsInputError
        In one line, starting with ``reads``.

    Examples
    --------
    >>> f = flags_table(pl.DataFrame({"hub": "MYS", "period": ["2024-05"], "score": ["2.5"]}))
    >>> f.row(0)
    ('MYS', datetime.date(2024, 5, 1), 2.5)
    >>> flags_table(f.with_columns(score=pl.lit("high")), "flags.csv")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: flags.csv: score 'high' is not a number
    """
    df = table(flags, reads, *needs)
    df = text_codes(df, [c for c in _FLAG_CODES if c in df.columns], reads)
    refuse_missing_codes(df, ("hub", "destination", "hs"), reads)  # "" origin: all origins
    if "period" in df.columns:
        df = df.with_columns(period=read_months(df["period"], reads))
        # detect gives every route-month its month (year 0 would stop a
        # figure where it names the month)
        refuse_bad_periods(df.lazy(), reads)
    numbers = [c for c in _FLAG_NUMBERS if c in df.columns]
    booleans = [c for c in _FLAG_BOOLEANS if c in df.columns]
    df = df.with_columns(
        *(_number(df[c], reads) for c in numbers), *(_boolean(df[c], reads) for c in booleans)
    )
    # The rest of what detect writes is numbers or true/false: read back from
    # text where every value reads so (a route's legs, its features).
    rest = [c for c in df.columns if df.schema[c] == pl.String and c not in _FLAG_TEXT]
    return df.with_columns(_typed_text(df[c]) for c in rest)


#: The columns of a labels table (``truth.parquet``); ``is_transshipment`` and ``kind`` may follow.
LABEL_COLUMNS = ["origin", "hub", "destination", "hs", "period"]
_TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def labels_table(truth: pl.DataFrame | pl.LazyFrame, where: str = "the labels") -> pl.DataFrame:
    """A labels table as :func:`evaluate` reads it, or one line saying what is wrong.

    Labels come from outside as often as from ``tradeflows synth``: a CSV
    file reads as text, a table made elsewhere may hold its months as text
    or as datetimes. The codes must be text (as numbers, HS 010121 loses its
    leading zero); ``period`` may be dates, datetimes or text as
    ``2024-05-01`` or ``2024-05``; ``is_transshipment`` (every row a true
    case without it) may be booleans, 0/1 or true/false. ``origin`` names the
    episode's origin ("" for all origins: the hub's total imports).

    Parameters
    ----------
    truth : DataFrame or LazyFrame
        The labels (:data:`LABEL_COLUMNS`, then optionally ``is_transshipment``).
    where : str
        What the errors name.

    Returns
    -------
    DataFrame
        The labels, their columns typed, with ``is_transshipment``.

    Raises
    ------
    TradeflowsInputError
        A column missing or of a type that cannot be read, in one line.

    Examples
    --------
    >>> t = labels_table(pl.DataFrame({"origin": "USA", "hub": "MYS", "destination": "CHN",
    ...     "hs": "847150", "period": ["2024-05"]}))
    >>> t.row(0)
    ('USA', 'MYS', 'CHN', '847150', datetime.date(2024, 5, 1), True)
    >>> labels_table(t.with_columns(pl.col("hs").cast(pl.Int64)), "truth.csv")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: truth.csv: column 'hs' is Int64: codes are text (as numbers, 010121 loses its leading zero; read a CSV file with infer_schema=False)
    """
    truth = table(truth, f"{where}: expected a labels table")
    missing = [c for c in LABEL_COLUMNS if c not in truth.columns]
    if missing:
        raise TradeflowsInputError(
            f"{where}: not a labels table (no column {', '.join(map(repr, missing))}; labels have "
            f"{', '.join(LABEL_COLUMNS)}, origin '' for all origins, as a world's truth.parquet)"
        )
    truth = text_codes(truth, LABEL_COLUMNS[:-1], where)
    truth = truth.with_columns(period=read_months(truth["period"], where))
    if "is_transshipment" not in truth.columns:
        return truth.with_columns(is_transshipment=pl.lit(True))
    return truth.with_columns(is_transshipment=_boolean(truth["is_transshipment"], where))


def read_months(period: pl.Series, where: str) -> pl.Series:
    """Months as dates, from dates, datetimes or text (``2024-05``, ``2024-05-01``,
    ``2024-05-01T00:00:00``), or one line naming the first that is none of them.

    Parameters
    ----------
    period : Series
        The months of a labels or flags table made elsewhere.
    where : str
        What the error names.

    Returns
    -------
    Series
        Dates, named ``period``.

    Examples
    --------
    >>> read_months(pl.Series(["2024-05", "2024-06-01T00:00:00", None]), "x").to_list()
    [datetime.date(2024, 5, 1), datetime.date(2024, 6, 1), None]
    >>> read_months(pl.Series(["2024-05", "May 2024"]), "flags.csv")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: flags.csv: period 'May 2024' is not a month (2024-05 or 2024-05-01)
    """
    if period.dtype == pl.Date:
        return period.alias("period")
    if isinstance(period.dtype, pl.Datetime):
        return period.dt.date().alias("period")
    if period.dtype not in (pl.String, pl.Null):
        raise TradeflowsInputError(f"{where}: column 'period' is {period.dtype}, not dates")
    text = period.cast(pl.String).str.strip_chars()
    read = pl.select(
        pl.coalesce(
            text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
            (text + "-01").str.to_date("%Y-%m-%d", strict=False),
        )
    ).to_series()
    unread = period.filter(read.is_null() & period.is_not_null())
    if unread.len():
        raise TradeflowsInputError(
            f"{where}: period {unread[0]!r} is not a month (2024-05 or 2024-05-01)"
        )
    return read.alias("period")


def _boolean(flag: pl.Series, where: str) -> pl.Series:
    """``flag`` as booleans (from booleans, 0/1 or true/false), or one line naming
    the first value that is none of them."""
    if flag.dtype == pl.Boolean:
        return flag
    text = flag.cast(pl.String).str.strip_chars().str.to_lowercase()
    read = text.replace_strict(_TRUE_FALSE, default=None, return_dtype=pl.Boolean)
    unread = flag.filter(read.is_null() & flag.is_not_null())
    if unread.len():
        raise TradeflowsInputError(f"{where}: {flag.name} {unread[0]!r} is not true or false")
    return read.alias(flag.name)


def _typed_text(values: pl.Series) -> pl.Series:
    """A text column as booleans or numbers where every value reads as one; else as it is.

    Examples
    --------
    >>> _typed_text(pl.Series("x", ["true", None, "false"])).to_list()
    [True, None, False]
    >>> _typed_text(pl.Series("x", ["1.5", "", "7"])).to_list()
    [1.5, None, 7.0]
    >>> _typed_text(pl.Series("x", ["1.5", "n/a"])).dtype
    String
    """
    text = values.str.strip_chars()
    given = text.is_not_null() & (text != "")
    lowered = text.str.to_lowercase()
    if given.any() and lowered.filter(given).is_in(["true", "false"]).all():
        return (lowered == "true").alias(values.name).set(~given, None)
    read = text.cast(pl.Float64, strict=False)
    if read.filter(given).is_null().any():
        return values
    return read.alias(values.name)


def _number(values: pl.Series, where: str) -> pl.Series:
    """``values`` as Float64 (from numbers or text), or one line naming the first
    value that is no number."""
    if values.dtype == pl.Float64:
        return values
    if values.dtype == pl.Boolean or not (
        values.dtype.is_numeric() or values.dtype in (pl.String, pl.Null)
    ):
        raise TradeflowsInputError(
            f"{where}: column {values.name!r} is {values.dtype}, not numbers"
        )
    read = values.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    unread = values.filter(read.is_null() & values.is_not_null())
    if unread.len():
        raise TradeflowsInputError(f"{where}: {values.name} {unread[0]!r} is not a number")
    return read.alias(values.name)
