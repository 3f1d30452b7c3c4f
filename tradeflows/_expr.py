"""Expressions written so that every engine runs them, the Polars GPU engine included.

cudf-polars 26.10 refuses ``any()`` and ``all()`` inside a group-by or a
window (``.over``), date offsets and rolling medians; these helpers say the
same in terms it runs.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "all_true",
    "any_true",
    "fixed_order_sum",
    "in_chapters",
    "month_index",
    "sound_months",
    "with_previous_median",
]


def sound_months(columns) -> pl.Expr:
    """Route-months that count as evidence: scored, covered, no data-quality event.

    What the corridors pool and what the overview figures draw. ``columns``:
    the flags table's; a table without ``covered`` or ``data_quality`` (a
    hand-made one) is taken as covered and clean.

    Examples
    --------
    >>> f = pl.DataFrame({"score": [1.0, None, 2.0, 3.0], "covered": [True, True, False, True],
    ...                   "data_quality": [None, None, None, "unit slip"]})
    >>> f.filter(sound_months(f.columns))["score"].to_list()
    [1.0]
    """
    ok = pl.col("score").is_not_null() & pl.col("score").is_not_nan()
    if "covered" in columns:
        ok &= pl.col("covered").fill_null(False)
    if "data_quality" in columns:
        ok &= pl.col("data_quality").is_null()
    return ok


def any_true(expr: pl.Expr) -> pl.Expr:
    """``expr.any()`` for group-by and window contexts: null counts as false.

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 2, 3], "b": [True, False, None, False]})
    >>> df.group_by("k", maintain_order=True).agg(any_true(pl.col("b")))["b"].to_list()
    [True, False, False]
    """
    return expr.fill_null(False).cast(pl.UInt32).sum() > 0


def all_true(expr: pl.Expr) -> pl.Expr:
    """``expr.all()`` for group-by and window contexts: nulls are ignored.

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 2, 3], "b": [True, False, None, True]})
    >>> df.group_by("k", maintain_order=True).agg(all_true(pl.col("b")))["b"].to_list()
    [False, True, True]
    """
    return (~expr).fill_null(False).cast(pl.UInt32).sum() == 0


def in_chapters(chapters: list[str]) -> pl.Expr:
    """Rows whose HS code starts with one of ``chapters`` (two digits each).

    Each chapter is also said as a range of codes (``"84" <= hs < "85"``):
    a parquet reader skips the row groups whose codes lie outside it, and the
    store is written sorted by chapter (``tradeflows._store``), so a chapter
    reads its own rows, not the whole store. The exact test stays beside it.

    Examples
    --------
    >>> df = pl.DataFrame({"hs": ["8471", "84", "8", "85", "0101", None]})
    >>> df.filter(in_chapters(["84", "01"]))["hs"].to_list()
    ['8471', '84', '0101']
    """
    hs = pl.col("hs")
    ranges = [
        (hs >= pl.lit(c)) & (hs < pl.lit(c[:-1] + chr(ord(c[-1]) + 1))) for c in chapters if c
    ]
    exact = hs.str.slice(0, 2).is_in(chapters)
    return (pl.any_horizontal(ranges) & exact) if ranges else exact


def fixed_order_sum(expr: pl.Expr) -> pl.Expr:
    """The sum of ``expr`` with its values added in sorted order, whatever the row order.

    Float addition is not associative: a group's sum can change in its last
    bits when its rows come in another order, and a join's output order is not
    fixed. Sums that are shown (figures, report tables) use this, so that the
    same inputs give the same report bytes (a figure's value once differed in
    the 16th digit, one build in about twelve).

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 1], "v": [0.1, 0.2, 0.3]})
    >>> rev = df.reverse()
    >>> a = df.group_by("k").agg(fixed_order_sum(pl.col("v")))["v"].item()
    >>> a == rev.group_by("k").agg(fixed_order_sum(pl.col("v")))["v"].item()
    True
    """
    return expr.sort().sum()


def exact_sum(expr: pl.Expr, scale: float = 100.0) -> pl.Expr:
    """The sum of ``expr`` to ``1 / scale`` (cents by default), the same whatever the row order.

    A float sum in a group-by depends on the order its rows are added in,
    which the engine's threads decide: two runs on the same input differed in
    the 17th digit, enough to reorder tied routes. Values are rounded to
    ``1 / scale`` and added as integers (exact, in any order, on the CPU and
    the GPU engines alike). Nulls (and NaN) are skipped.

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 1], "v": [0.1, 0.2, 0.3]})
    >>> df.group_by("k").agg(exact_sum(pl.col("v")))["v"].item()
    0.6
    """
    return (expr * scale).round().fill_nan(None).cast(pl.Int64).sum() / scale


def number_text(expr: pl.Expr, digits: int = 1) -> pl.Expr:
    """A number as text, rounded to ``digits`` (no decimal point at 0).

    Examples
    --------
    >>> pl.select(number_text(pl.lit(3.14159)), b=number_text(pl.lit(820.4), 0)).row(0)
    ('3.1', '820')
    """
    rounded = expr.round(digits)
    return (rounded.cast(pl.Int64, strict=False) if digits == 0 else rounded).cast(pl.String)


def usd_text(expr: pl.Expr) -> pl.Expr:
    """USD amounts as people write them: USD 3.4m, USD 1.9bn, USD 820.0k, USD 12.

    Examples
    --------
    >>> pl.DataFrame({"v": [3.4e6, 1.9e9, 8.2e5, 12.0]}).select(usd_text(pl.col("v"))).to_series().to_list()
    ['USD 3.4m', 'USD 1.9bn', 'USD 820.0k', 'USD 12']
    """
    out = pl.concat_str(pl.lit("USD "), number_text(expr, 0))
    for size, unit in reversed([(1e9, "bn"), (1e6, "m"), (1e3, "k")]):
        out = (
            pl.when(expr >= size)
            .then(pl.concat_str(pl.lit("USD "), number_text(expr / size), pl.lit(unit)))
            .otherwise(out)
        )
    return out


def month_index(col: str = "period") -> pl.Expr:
    """Months since year 0 (``year * 12 + month - 1``): adjacent months differ by one.

    Examples
    --------
    >>> import datetime as dt
    >>> df = pl.DataFrame({"period": [dt.date(2024, 12, 1), dt.date(2025, 1, 1)]})
    >>> df.select(month_index())["period"].to_list()
    [24299, 24300]
    """
    return pl.col(col).dt.year().cast(pl.Int32) * 12 + pl.col(col).dt.month().cast(pl.Int32) - 1


def with_previous_median(
    lf: pl.LazyFrame,
    value: str,
    name: str,
    *,
    by: list[str],
    order: str,
    window: int,
    min_samples: int,
    gpu: bool = False,
    presorted: bool = False,
) -> pl.LazyFrame:
    """Add ``name``: the median of the ``window`` values of ``value`` before each row.

    The same as ``pl.col(value).shift(1).rolling_median(window,
    min_samples=min_samples).over(by, order_by=order)``: a series is the rows of
    one ``by`` key in ``order`` (unique within it); nulls are skipped, and fewer
    than ``min_samples`` values give null. The rows keep their order. The GPU
    engine has no rolling median: with ``gpu`` (the plan will run there), each
    value is joined to the ``window`` rows after it and the median taken by a
    group-by (``window`` times the rows, which a GPU does in a blink and a CPU
    does not, so the CPU keeps the rolling median). With ``presorted``, the
    rows of each ``by`` key are already in ``order``: the CPU's window is not
    sorted again.

    Examples
    --------
    >>> lf = pl.LazyFrame({"k": [1] * 5, "t": [1, 2, 3, 4, 5], "v": [5.0, 1.0, None, 3.0, 9.0]})
    >>> kw = dict(by=["k"], order="t", window=3, min_samples=2)
    >>> with_previous_median(lf, "v", "m", **kw).collect()["m"].to_list()
    [None, None, 3.0, 3.0, 2.0]
    >>> _joined_previous_median(lf, "v", "m", **kw).collect()["m"].to_list()
    [None, None, 3.0, 3.0, 2.0]
    """
    if gpu:
        return _joined_previous_median(lf, value, name, by=by, order=order, window=window,
                                       min_samples=min_samples)  # fmt: skip
    med = pl.col(value).shift(1).rolling_median(window, min_samples=min_samples)
    over = med.over(partition_by=by) if presorted else med.over(partition_by=by, order_by=order)
    return lf.with_columns(over.alias(name))


def _joined_previous_median(lf, value, name, *, by, order, window, min_samples):
    """:func:`with_previous_median` without a rolling window (the GPU engine's way)."""
    lf = lf.with_columns(_row=pl.col(order).rank("ordinal").over(by).cast(pl.Int64))
    lf = lf.with_row_index("_pos")  # a join does not keep the order
    ahead = pl.LazyFrame({"_ahead": list(range(1, window + 1))}, schema={"_ahead": pl.Int64})
    medians = (
        lf.select(*by, "_row", value)
        .join(ahead, how="cross")
        .group_by(*by, _row=pl.col("_row") + pl.col("_ahead"))
        .agg(_med=pl.col(value).median(), _n=pl.col(value).count())
    )
    return (
        lf.join(medians, on=[*by, "_row"], how="left", nulls_equal=True)
        .sort("_pos")
        .with_columns(pl.when(pl.col("_n") >= min_samples).then(pl.col("_med")).alias(name))
        .drop("_pos", "_row", "_med", "_n")
    )
