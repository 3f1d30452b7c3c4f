"""Cleaning verbs: pure ``LazyFrame -> LazyFrame`` steps that leave an audit.

No verb removes a row. A verb that would remove one writes its reason in the
``drop`` column (the first reason wins; null = kept) and a verb that changes a
row sets a ``chg_<reason>`` column, so that after the single collect
:func:`audit` can count rows read, kept, dropped by reason and changed by
reason, with ``read == kept + sum(dropped)`` by construction. :func:`split`
then separates the kept canonical rows from the dropped ones.

Each verb accepts a DataFrame or a LazyFrame and returns the same kind.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import TypeVar

import polars as pl

from tradeflows import _engine as engine
from tradeflows._errors import TradeflowsInputError
from tradeflows._expr import any_true
from tradeflows._reference import AGGREGATE, WORLD, hs_codes, hs_concordance
from tradeflows._schema import (
    AUX_COLUMNS,
    CANONICAL,
    FLOWS,
    FREQS,
    KEY,
    casts_to,
    conform,
)
from tradeflows._tables import refuse_bad_periods, table

__all__ = [
    "AMOUNTS",
    "AMOUNT_LIMITS",
    "INPUT_ERRORS",
    "MAX_QUANTITY",
    "MAX_VALUE_USD",
    "audit",
    "bad_period",
    "canonical_rows",
    "clean",
    "drop_aggregates",
    "drop_hs_parents",
    "ensure_aux",
    "first_bad_amount",
    "flag_unit_slips",
    "mark_invalid",
    "merge_breakdowns",
    "merge_duplicates",
    "refuse_bad_rows",
    "resolve_flows",
    "split",
    "to_revision",
    "unknown_country",
]
# Also defined here, as the building blocks of the chunked ingest
# (tradeflows._chunked) and of the verbs above: clean_within_periods,
# idle_verbs, slip_keys, slip_candidates, unit_slip_rows, mark_unit_slips,
# audit_from_counts, first_input_error.

#: Drop reasons that mean the input itself is wrong: ingest refuses the file
#: unless asked to be lenient, in which case they are dropped and counted.
INPUT_ERRORS: dict[str, str] = {
    "unknown_country": "unknown country code",
    "bad_period": "unreadable period",
    "unknown_hs": "unknown HS code",
    "bad_value": "value is not a number",
    "bad_amount": "value or quantity is negative, not finite, or above USD 10 trillion "
    "(1e14 kg or units)",
    "bad_flow": "unknown trade flow",
    "ragged_row": "row does not split into the header's columns (an unquoted delimiter?)",
}

#: The largest value a single reported flow may have (world goods trade is
#: about USD 25 trillion a year): anything above is a misread number.
MAX_VALUE_USD = 1e13

#: The largest quantity (kg or units) a single reported flow may have: the
#: world's seaborne trade is about 1.2e13 kg a year. Above it a number is
#: misread, and the exact sums in cents (:func:`tradeflows._expr.exact_sum`)
#: would overflow their 64-bit integers: a net weight of 1e30 kg stopped a
#: detection as an internal error (found 2026-12-07).
MAX_QUANTITY = 1e14

#: Smallest ratio to the series median (and to the mirror report) read as a
#: slip of x1000; the largest is 1e6 / SLIP_RATIO.
SLIP_RATIO = 300.0

_BREAKDOWNS = ("partner2", "customs", "mot")
_GROUP = ["period", "freq", "reporter", "partner", "flow"]

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def ensure_aux(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Give a frame every canonical and auxiliary column, with canonical dtypes.

    Missing columns are added as null; present canonical columns are cast
    (so a ``value_usd`` of integers becomes Float64).

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows, with or without the auxiliary columns.

    Returns
    -------
    LazyFrame
        The same rows with every auxiliary column (null where it was missing).

    See Also
    --------
    clean : the verbs that need them.

    Examples
    --------
    >>> lf = pl.LazyFrame({"reporter": ["MYS"], "value_usd": [5]})
    >>> out = ensure_aux(lf).collect()
    >>> out["value_usd"].dtype, "drop" in out.columns
    (Float64, True)
    """
    schema = lf.collect_schema()
    wanted = {**CANONICAL, **AUX_COLUMNS}
    exprs = [
        (pl.col(n).cast(d) if n in schema else pl.lit(None, dtype=d)).alias(n)
        for n, d in wanted.items()
        if n not in schema or schema[n] != d
    ]
    lf = lf.with_columns(exprs) if exprs else lf
    # Rows from a store or a canonical file have no source flow code: their
    # flow is it (so a stored X is seen as the total beside a new file's DX).
    return lf.with_columns(
        pl.col("slip_suspect").fill_null(False),
        pl.col("raw_flow").fill_null(pl.col("flow")),
    )


def _verb(fn: Callable[..., pl.LazyFrame]) -> Callable[..., Frame]:
    @functools.wraps(fn)
    def wrapper(df, *args, **kwargs):
        lazy = df.lazy() if isinstance(df, pl.DataFrame) else df
        out = fn(ensure_aux(lazy), *args, **kwargs)
        return engine.collect(out, "cpu") if isinstance(df, pl.DataFrame) else out

    return wrapper


def _live() -> pl.Expr:
    return pl.col("drop").is_null()


def _dx_or_fm() -> pl.Expr:
    """Rows :func:`resolve_flows` resolves: domestic exports and foreign imports."""
    return pl.col("raw_flow").is_in(["DX", "FM"])


def _breakdown_row() -> pl.Expr:
    """Rows :func:`merge_breakdowns` merges: second-partner, customs or transport detail."""
    return pl.any_horizontal(pl.col(d).is_not_null() for d in _BREAKDOWNS)


def _maybe_parent() -> pl.Expr:
    """Rows :func:`drop_hs_parents` may drop: TOTAL, or a code shorter than the longest of its source."""
    n = pl.col("hs").str.len_chars()
    return (pl.col("hs") == "TOTAL") | (n < n.max().over("source"))


def _mark(reason: str, condition: pl.Expr) -> pl.Expr:
    """Set ``drop`` to ``reason`` where ``condition`` holds on a kept row."""
    return (
        pl.when(_live() & condition.fill_null(False))
        .then(pl.lit(reason))
        .otherwise(pl.col("drop"))
        .alias("drop")
    )


def _or_changed(lf: pl.LazyFrame, name: str, condition: pl.Expr) -> pl.LazyFrame:
    """Set ``chg_<name>`` where ``condition`` holds, keeping earlier marks."""
    col = f"chg_{name}"
    cond = condition.fill_null(False)
    if col in lf.collect_schema().names():
        cond = cond | pl.col(col)
    return lf.with_columns(cond.alias(col))


@cache
def _valid_hs() -> dict[int, list[str]]:
    codes = pl.concat([hs_codes("HS2017"), hs_codes("HS2022")]).select("hs", "level")
    return {
        level: sorted(set(codes.filter(pl.col("level") == level)["hs"].to_list()))
        for level in (2, 4, 6)
    }


def _not_in(col: str, values: tuple[str, ...]) -> pl.Expr:
    return pl.col(col).is_null() | ~pl.col(col).is_in(values)


def unknown_country() -> pl.Expr:
    """Rows whose reporter or partner could not be read: ``unknown_country``.

    The readers use it to keep the source text of those rows only.

    Returns
    -------
    Expr
        True on those rows.

    See Also
    --------
    mark_invalid : the verb that uses it.

    Examples
    --------
    >>> pl.DataFrame({"reporter": ["USA", None], "partner": ["MYS", "CHN"]}).select(
    ...     unknown_country()).to_series().to_list()
    [False, True]
    """
    return pl.col("reporter").is_null() | pl.col("partner").is_null()


def bad_period() -> pl.Expr:
    """Rows whose period or frequency could not be read: ``bad_period``.

    Returns
    -------
    Expr
        True on those rows.

    See Also
    --------
    mark_invalid : the verb that uses it.

    Examples
    --------
    >>> import datetime as dt
    >>> pl.DataFrame({"period": [dt.date(2024, 1, 1), None], "freq": ["M", "M"]}).select(
    ...     bad_period()).to_series().to_list()
    [False, True]
    """
    return pl.col("period").is_null() | _not_in("freq", FREQS)


def _hs_known() -> pl.Expr:
    """A code of a known chapter and, in HS2017 or HS2022, a known heading or subheading.

    Six digits or more: its first six are a known subheading; four: a known
    heading; two: the chapter; another length: its chapter only. One list
    holds the codes of all three lengths, so that each row is looked up once
    (24 ms against 38 ms for a choice by length, over 845k rows).
    """
    valid = _valid_hs()
    hs = pl.col("hs")
    n = hs.str.len_chars()
    chapter = hs.str.slice(0, 2)
    special = ["98", "99"]
    chapter_ok = chapter.is_in([*valid[2], *special])
    # Revisions before HS2017 are only checked to the chapter: their codes were
    # split and merged since, and we ship the 2017 and 2022 nomenclatures.
    old = ~pl.col("hs_revision").is_in(["HS2017", "HS2022"])
    # A string of six characters can only equal a code of six digits, and so on.
    listed = hs.str.slice(0, 6).is_in([*valid[6], *valid[4], *valid[2], *special])
    other_length = (n < 6) & (n != 4) & (n != 2)
    exact = listed | other_length
    return (hs == "TOTAL") | (chapter_ok & (old | exact | chapter.is_in(special)))


#: The amounts a row carries and the largest each may be: what :func:`bad_amount` reads.
AMOUNT_LIMITS = {"value_usd": MAX_VALUE_USD, "net_kg": MAX_QUANTITY, "qty": MAX_QUANTITY}
AMOUNTS = tuple(AMOUNT_LIMITS)


def bad_amount(limits: Mapping[str, float] = AMOUNT_LIMITS) -> pl.Expr:
    """An amount that is NaN, infinite, negative, or above its limit: a row's value above
    :data:`MAX_VALUE_USD`, a quantity above :data:`MAX_QUANTITY` (:data:`AMOUNT_LIMITS`),
    or the amounts of another table and theirs (``limits``: the mirror's pairs).

    What the cleaning drops (``bad_amount``), and what a store may therefore
    not hold (:func:`tradeflows._store.scan_store` checks).

    Examples
    --------
    >>> df = pl.DataFrame({"value_usd": [5.0, -1.0, 2e13], "net_kg": [1.0, 1.0, None],
    ...     "qty": [None, None, None]})
    >>> df.select(bad_amount())["value_usd"].to_list()
    [False, True, True]
    """
    # inf is above any limit, -inf below 0
    bad = [pl.col(c).is_nan() | (pl.col(c) < 0) | (pl.col(c) > top) for c, top in limits.items()]
    return pl.any_horizontal(bad).fill_null(False)


def first_bad_amount(
    lf: pl.LazyFrame, *keep: str, limits: Mapping[str, float] = AMOUNT_LIMITS
) -> dict | None:
    """The first row of ``lf`` that :func:`bad_amount` refuses: its amounts and ``keep``
    columns, with ``shown`` (``value_usd inf``, ...); None where there is none.
    ``limits``: the amounts read and their limits (another table's, as :func:`bad_amount`).

    A frame without ``net_kg`` or ``qty`` has none of them to refuse. One
    pass over the amounts (a scan reads those columns only).

    Examples
    --------
    >>> lf = pl.LazyFrame({"value_usd": [5.0, float("inf")], "net_kg": [1.0, None]})
    >>> first_bad_amount(lf)["shown"]
    'value_usd inf'
    >>> first_bad_amount(lf.head(1)) is None
    True
    """
    names = lf.collect_schema().names()
    amounts = [
        pl.col(c).cast(pl.Float64, strict=False)
        if c in names
        else pl.lit(None, pl.Float64).alias(c)
        for c in limits
    ]
    found = engine.collect(lf.select(*keep, *amounts).filter(bad_amount(limits)).head(1), "cpu")
    if found.is_empty():
        return None
    row = found.row(0, named=True)
    shown = ", ".join(f"{c} {row[c]:g}" for c in limits if row[c] is not None)
    return {**row, "shown": shown}


def refuse_bad_rows(rows: pl.LazyFrame, where: str = "the rows given") -> None:
    """Raise where canonical ``rows`` of one's own hold what the cleaning drops.

    A frame of one's own is not cleaned: an amount the cleaning refuses
    (inf, 1e17, a negative) would stop an exact sum deep inside a detection
    as an internal error, or give a mirror gap of inf; a date of year 0
    (polars holds it, Python's dates do not) would stop it where it names
    months; a row with no period has no month to be placed in (the cleaning
    drops both as ``bad_period``). Two passes, over the amounts and the
    periods (0.15 s at 10M rows).

    Raises
    ------
    TradeflowsInputError
        Naming the first such row (from 0) and what it holds.

    Examples
    --------
    >>> import datetime as dt
    >>> rows = pl.LazyFrame({"period": [dt.date(2024, 1, 1)] * 2, "value_usd": [5.0, -1.0]})
    >>> refuse_bad_rows(rows)
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: the rows given: row 1 (from 0) holds value_usd -1: \
value or quantity is negative, not finite, or above USD 10 trillion (1e14 kg or units) \
(tradeflows.clean.clean drops such rows)
    >>> refuse_bad_rows(rows.head(1)) is None
    True
    """
    amounts = [c for c in AMOUNTS if c in rows.collect_schema()]
    bad = first_bad_amount(rows.select(amounts).with_row_index("_row"), "_row")
    if bad is not None:
        raise TradeflowsInputError(
            f"{where}: row {bad['_row']} (from 0) holds {bad['shown']}: "
            f"{INPUT_ERRORS['bad_amount']} (tradeflows.clean.clean drops such rows)"
        )
    refuse_bad_periods(rows, where)


@_verb
def mark_invalid(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Mark rows whose country, period, HS code, flow or value could not be read.

    Their reasons are :data:`INPUT_ERRORS`; also counts zero-padded HS codes.

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> df = pl.DataFrame({"period": [dt.date(2023, 1, 1)] * 2, "freq": ["M", "M"],
    ...     "reporter": ["MYS", None], "partner": ["CHN", "CHN"], "flow": ["X", "X"],
    ...     "hs": ["847150", "847150"], "hs_revision": ["HS2022"] * 2,
    ...     "value_usd": [1.0, 2.0]})
    >>> mark_invalid(df)["drop"].to_list()
    [None, 'unknown_country']
    """
    raw_value = pl.col("value_raw").str.strip_chars()
    lf = lf.with_columns(_mark("unknown_country", unknown_country())).with_columns(
        _mark("bad_period", bad_period())
    )
    lf = lf.with_columns(_mark("bad_flow", _not_in("flow", FLOWS)))
    lf = lf.with_columns(_mark("unknown_hs", pl.col("hs").is_null() | ~_hs_known()))
    value_missing = pl.col("value_usd").is_null()
    lf = (
        lf.with_columns(
            _mark("bad_value", value_missing & raw_value.is_not_null() & (raw_value != ""))
        )
        .with_columns(_mark("bad_amount", bad_amount()))
        .with_columns(_mark("missing_value", value_missing))
    )
    # The readers' codes are the raw text, stripped, without dots, and padded
    # (io._common.hs_code): its length before padding counts the raw digits,
    # without a regular expression on every row.
    raw_digits = pl.col("hs_raw").str.strip_chars().str.replace_all(".", "", literal=True)
    padded = (pl.col("hs") != "TOTAL") & (pl.col("hs").str.len_bytes() > raw_digits.str.len_bytes())
    return _or_changed(lf, "hs_zero_padded", padded & pl.col("hs_raw").is_not_null())


@_verb
def drop_aggregates(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Drop rows whose reporter or partner is a group of countries.

    Group partners (Areas nes, EU, regions) and group reporters (EU27, euro
    area, World) are dropped. A World partner is dropped beside the country
    detail of the same source, reporter, flow, product and period
    (``partner_world_beside_detail``); where a source gives only World (a pull
    of exports "to World") the row is kept with partner ``WLD``, since it is
    the only number there is.

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2020, 1, 1)
    >>> df = pl.DataFrame({"period": [d] * 4, "reporter": ["CHN", "CHN", "CHN", "KOR"],
    ...     "partner": ["USA", "AGG", "WLD", "WLD"], "flow": ["X"] * 4, "hs": ["8542"] * 4})
    >>> drop_aggregates(df)["drop"].to_list()
    [None, 'partner_aggregate', 'partner_world_beside_detail', None]
    """
    lf = lf.with_columns(
        _mark("reporter_aggregate", pl.col("reporter").is_in([AGGREGATE, WORLD]))
    ).with_columns(_mark("partner_aggregate", pl.col("partner") == AGGREGATE))
    group = [c for c in (*_GROUP, "hs", "source") if c != "partner"]
    # The live World rows with a live detail row in their group: semi-joins,
    # three times faster than a window over every group that has a World row
    # (most groups of a Comtrade file have one). The detail rows are probed
    # against the World rows' groups, then those groups' World rows against
    # the detail found: no hash table of every detail row is built (a Comext
    # bulk month of 4M rows, none of them World: 0.29 s against 0.45-0.51 s).
    lf = lf.with_row_index("_i").cache()
    live = lf.filter(_live()).select("_i", *group, _world=pl.col("partner") == WORLD)
    world = live.filter("_world")
    detail = live.filter(~pl.col("_world")).join(
        world.select(group), on=group, how="semi", nulls_equal=True
    )
    beside = world.join(detail.select(group), on=group, how="semi", nulls_equal=True).select(
        "_i", _beside=pl.lit(True)
    )
    return (
        lf.join(beside, on="_i", how="left", maintain_order="left")
        .with_columns(_mark("partner_world_beside_detail", pl.col("_beside")))
        .drop("_i", "_beside")
    )


def _within(
    lf: pl.LazyFrame,
    selector: pl.Expr,
    key: list[str],
    step: Callable[[pl.LazyFrame], pl.LazyFrame],
    columns: list[str],
    *,
    whole_groups: bool = False,
) -> pl.LazyFrame:
    """Run ``step`` only on the groups (by ``key``) that hold a row matching ``selector``.

    Most files have no such rows (no DX flows, no breakdowns), so a window
    step over every row would be wasted: the groups are picked with one
    semi-join, ``step`` runs on them, and ``columns`` (plus any ``chg_*``
    column ``step`` sets) go back by row number. With ``whole_groups`` the
    selector holds on all rows of a group or on none, so the rows it selects
    are the groups, and no join is needed to find them.
    """
    lf = lf.with_row_index("_i").cache()
    if whole_groups:
        cur = step(lf.filter(selector))
    else:
        groups = lf.filter(selector).select(key).unique()
        # In file order: steps such as is_first_distinct depend on it, and a
        # join on the GPU engine does not keep it.
        cur = step(lf.join(groups, on=key, how="semi", nulls_equal=True).sort("_i"))
    have = lf.collect_schema().names()
    changes = [c for c in cur.collect_schema().names() if c.startswith("chg_")]
    back = [*columns, *changes]
    lf = lf.join(
        cur.select("_i", *(pl.col(c).alias(f"_new_{c}") for c in back), _hit=pl.lit(True)),
        on="_i",
        how="left",
        maintain_order="left",
    )
    hit = pl.col("_hit").fill_null(False)
    lf = lf.with_columns(
        pl.when(hit)
        .then(pl.col(f"_new_{c}"))
        .otherwise(pl.col(c) if c in have else pl.lit(False) if c.startswith("chg_") else None)
        .alias(c)
        for c in back
    )
    return lf.drop("_i", "_hit", *(f"_new_{c}" for c in back))


@_verb
def merge_breakdowns(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Keep one level of second-partner, customs-procedure and transport-mode detail.

    Breakdown rows beside their total are dropped (``partner2_breakdown``,
    ``customs_breakdown``, ``mot_breakdown``); where no total exists the
    breakdowns are summed into one row (``chg_summed_<dim>``), the others being
    dropped as ``summed_into_total``.

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2016, 1, 1)
    >>> df = pl.DataFrame({"period": [d] * 3, "freq": ["A"] * 3, "reporter": ["CHN"] * 3,
    ...     "partner": ["USA"] * 3, "flow": ["M"] * 3, "hs": ["8542"] * 3,
    ...     "partner2": [None, "458", "702"], "value_usd": [10.0, 4.0, 6.0]})
    >>> merge_breakdowns(df)["drop"].to_list()
    [None, 'partner2_breakdown', 'partner2_breakdown']
    """
    sums = ("value_usd", "net_kg", "qty")

    def merge_groups(cur: pl.LazyFrame) -> pl.LazyFrame:
        # ``cur`` holds the row numbers ``_i`` of :func:`_within`, in order.
        for dim in _BREAKDOWNS:
            # Each group is named by its first row's number, so that the
            # windows below group one integer instead of eight columns (benchmarks/RESULTS.md, design measurements).
            key = [*KEY, *(d for d in _BREAKDOWNS if d != dim)]
            cur = cur.with_columns(_g=pl.col("_i").min().over(key))
            is_detail = pl.col(dim).is_not_null()
            live_total = any_true(_live() & pl.col(dim).is_null()).over("_g")
            cur = cur.with_columns(_mark(f"{dim}_breakdown", is_detail & live_total))
            # No total: sum the live breakdowns into the first of them.
            detail_live = _live() & is_detail
            cur = cur.with_columns(
                _first=detail_live
                & (pl.col("_i") == pl.when(detail_live).then(pl.col("_i")).min().over("_g")),
                _n=detail_live.cast(pl.Int32).sum().over("_g"),
            )
            first = pl.col("_first")
            cur = cur.with_columns(
                pl.when(first).then(_sum_live(c, "_g")).otherwise(pl.col(c)).alias(c) for c in sums
            )
            cur = _or_changed(cur, f"summed_{dim}", first & (pl.col("_n") > 1))
            cur = cur.with_columns(_mark("summed_into_total", detail_live & ~first)).with_columns(
                pl.when(first).then(None).otherwise(pl.col(dim)).alias(dim)
            )
        return cur.drop("_g", "_first", "_n")

    lf, added = _with_several(lf)
    # A flow of one row is its own total: a live row's breakdown codes are
    # cleared and nothing else changes, as the windows of ``merge_groups``
    # would do. Those run on the flows of several rows only, found by one
    # hash of the flow key (``_several``) that merge_duplicates reads too: in a
    # Comext bulk file every row names its statistical regime, and one flow
    # in about 500 has more than one. Before, the flows holding a breakdown
    # row were picked by a semi-join of every row, which there is every flow
    # (benchmarks/RESULTS.md, issue 27).
    alone = ~pl.col("_several") & _live()
    lf = lf.with_columns(
        pl.when(alone).then(None).otherwise(pl.col(d)).alias(d) for d in _BREAKDOWNS
    )
    lf = _within(lf, pl.col("_several"), KEY, merge_groups, ["drop", *sums, *_BREAKDOWNS],
                 whole_groups=True)  # fmt: skip
    return lf.drop("_several") if added else lf


def _with_several(lf: pl.LazyFrame) -> tuple[pl.LazyFrame, bool]:
    """``lf`` with ``_several`` (the row's flow key, :data:`KEY`, is on more rows than
    it), and whether it was added here (not there already)."""
    if "_several" in lf.collect_schema().names():
        return lf, False
    return lf.with_columns(_several=pl.struct(*KEY).is_duplicated()), True


def _sum_live(col: str, key: str | list[str]) -> pl.Expr:
    live_value = pl.when(_live()).then(pl.col(col))
    return pl.when(live_value.count().over(key) > 0).then(live_value.sum().over(key))


@_verb
def resolve_flows(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Keep X/M as total exports/imports and never count re-exports twice.

    Comtrade's X already includes RX (and M includes RM), so both stay as
    separate flows that must not be added. Domestic exports (DX) and foreign
    imports (FM) beside X/M are dropped as subsets; without X, DX + RX becomes
    X (``chg_x_from_dx_plus_rx``), and FM becomes M (``chg_m_from_fm``).

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2020, 1, 1)
    >>> df = pl.DataFrame({"period": [d] * 2, "freq": ["A"] * 2, "reporter": ["SGP"] * 2,
    ...     "partner": ["CHN"] * 2, "flow": ["X", "RX"], "raw_flow": ["DX", "RX"],
    ...     "hs": ["8542"] * 2, "value_usd": [5.0, 3.0]})
    >>> resolve_flows(df).select("flow", "value_usd", "drop").rows()
    [('X', 8.0, None), ('RX', 3.0, None)]
    """
    key = ["period", "freq", "reporter", "partner", "hs"]
    raw = pl.col("raw_flow")

    def resolve(lf: pl.LazyFrame) -> pl.LazyFrame:
        has_x = any_true(_live() & (raw == "X")).over(key)
        has_m = any_true(_live() & (raw == "M")).over(key)
        lf = lf.with_columns(
            _mark("domestic_export_beside_total", (raw == "DX") & has_x)
        ).with_columns(_mark("foreign_import_beside_total", (raw == "FM") & has_m))
        rx = pl.when(_live() & (raw == "RX")).then(pl.col("value_usd")).sum().over(key)
        promote_dx = _live() & (raw == "DX")
        lf = lf.with_columns(
            pl.when(promote_dx)
            .then(pl.col("value_usd") + rx)
            .otherwise(pl.col("value_usd"))
            .alias("value_usd")
        )
        lf = _or_changed(lf, "x_from_dx_plus_rx", promote_dx)
        lf = _or_changed(lf, "m_from_fm", _live() & (raw == "FM"))
        return lf.with_columns(
            pl.when(_live() & raw.is_in(["DX", "FM"]))
            .then(pl.col("flow"))
            .otherwise(raw)
            .alias("raw_flow")
        )

    return _within(lf, _dx_or_fm(), key, resolve, ["drop", "value_usd", "raw_flow"])


@_verb
def merge_duplicates(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Merge repeated reports of one flow.

    Rows equal in every canonical column but ``source`` (the same download
    twice, overlapping downloads) keep the first (``duplicate_exact``). Rows
    with the same key but other values (a revised download) keep the last one
    read, the newer (``duplicate_superseded``).

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2020, 1, 1)
    >>> df = pl.DataFrame({"period": [d] * 3, "freq": ["M"] * 3, "reporter": ["ARM"] * 3,
    ...     "partner": ["RUS"] * 3, "flow": ["X"] * 3, "hs": ["8471"] * 3,
    ...     "value_usd": [1.0, 1.0, 2.0], "source": ["a", "b", "c"]})
    >>> merge_duplicates(df)["drop"].to_list()
    ['duplicate_superseded', 'duplicate_exact', None]
    """
    values = [c for c in CANONICAL if c not in ("source", "slip_suspect")]
    key = [*KEY, *_BREAKDOWNS]

    def merge(cur: pl.LazyFrame) -> pl.LazyFrame:
        # A row is a duplicate when an earlier live row has the same values
        # (liveness is part of the identity, so dropped rows never count).
        exact = pl.struct(*values, *_BREAKDOWNS, _live()).is_first_distinct()
        cur = cur.with_columns(_mark("duplicate_exact", ~exact))
        latest = pl.struct(*key, _live()).is_last_distinct()
        return cur.with_columns(_mark("duplicate_superseded", ~latest))

    # Every row of a flow of several rows (a repeated key is one: the key
    # holds the flow's), live or not: ``merge`` leaves alone a key of one row,
    # and a group without live rows, as it marks live rows only.
    lf, added = _with_several(lf)
    lf = _within(lf, pl.col("_several"), key, merge, ["drop"], whole_groups=True)
    return lf.drop("_several") if added else lf


def _prefixes(lf: pl.LazyFrame) -> pl.LazyFrame:
    group = [*_GROUP, "source"]
    detail = lf.filter(_live() & (pl.col("hs") != "TOTAL")).select(*group, "hs")
    parts = [
        detail.filter(pl.col("hs").str.len_chars() > k).select(*group, pl.col("hs").str.slice(0, k))
        for k in (2, 4, 6, 8)
    ]
    parts.append(detail.select(*group, hs=pl.lit("TOTAL")))
    return pl.concat(parts).unique().with_columns(_has_detail=pl.lit(True))


@_verb
def drop_hs_parents(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Drop HS rows (and TOTAL rows) that sit beside their own more detailed codes.

    Comtrade returns a chapter, its headings and their subheadings together
    when asked for several levels; summing them counts each dollar two or
    three times. Reasons: ``hs_parent_of_detail``, ``total_beside_detail``.
    Only detail from the same source counts: a total from one file beside a
    few CN8 lines from another is information the lines do not hold.

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2020, 1, 1)
    >>> df = pl.DataFrame({"period": [d] * 3, "freq": ["A"] * 3, "reporter": ["ARM"] * 3,
    ...     "partner": ["RUS"] * 3, "flow": ["X"] * 3, "hs": ["8471", "847130", "TOTAL"],
    ...     "value_usd": [3.0, 3.0, 9.0]})
    >>> drop_hs_parents(df)["drop"].to_list()
    ['hs_parent_of_detail', None, 'total_beside_detail']
    """
    group = [*_GROUP, "source"]
    on = [*group, "hs"]

    def mark_parents(cur: pl.LazyFrame) -> pl.LazyFrame:
        cur = cur.cache()  # used twice below: compute the upstream plan once
        cur = cur.join(_prefixes(cur), on=on, how="left", nulls_equal=True, maintain_order="left")
        is_parent = pl.col("_has_detail").fill_null(False)
        return (
            cur.with_columns(_mark("total_beside_detail", is_parent & (pl.col("hs") == "TOTAL")))
            .with_columns(_mark("hs_parent_of_detail", is_parent))
            .drop("_has_detail")
        )

    # Only the groups holding a possible parent need the prefix join.
    return _within(lf, _live() & _maybe_parent(), group, mark_parents, ["drop"])


@_verb
def flag_unit_slips(lf: pl.LazyFrame, ratio: float = SLIP_RATIO) -> pl.LazyFrame:
    """Flag values that look like unit slips (x1000 or /1000), without changing them.

    A slip is an isolated jump in a steady series: the value sits a factor
    near 1000 (between ``ratio`` and 1e6/``ratio``) from both the previous and
    the next report of its series (reporter, partner, flow, HS code,
    frequency), which agree with each other (within x3), and the series is
    otherwise steady (at least five reports, median absolute deviation of
    log10 values under 0.3). At the ends of a series, where one neighbour
    is missing, the partner's mirror report of the same period must confirm
    it. Wherever the mirror report exists and agrees with the value, it is not
    a slip. In a lumpy series (most real monthly series: they double or halve
    from month to month) a jump of x1000 alone is no evidence of a slip; it
    is one when the partner's report of the same flow and period confirms it:
    the value sits a factor near 1000 above that report and at least
    ``ratio`` above both neighbours, which are then free to differ. A month 1000 times
    below its neighbours is not read as a slip there: a tiny month beside
    large ones is common in such series (a small shipment; a partner who
    books the month before).
    A lasting change of level (exports to Russia after February 2022)
    is never a slip. ``slip_suspect`` is set and counted as
    ``chg_unit_slip_flagged``. On a LazyFrame the pass is one step of the
    plan that executes its input, on the CPU: a filter or a projection after
    it is not pushed below it.

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).
    ratio : float
        The smallest ratio to the series' usual level read as a slip of x1000.

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> df = pl.DataFrame({"period": [dt.date(2020, m, 1) for m in range(1, 7)],
    ...     "freq": ["M"] * 6, "reporter": ["ARM"] * 6, "partner": ["RUS"] * 6,
    ...     "flow": ["X"] * 6, "hs": ["8471"] * 6,
    ...     "value_usd": [10.0, 12.0, 11000.0, 9.0, 10.0, 11.0]})
    >>> flag_unit_slips(df)["slip_suspect"].to_list()
    [False, False, True, False, False, False]
    """
    # The slip pass reads its input through some ten nested caches, and polars
    # converts and optimises such a plan in time that grows with the size of
    # the plan below it times the paths to it (pola-rs/polars#25413): on the
    # reader's and the other verbs' plan, 8.5 s for clean() of a one-row file.
    # It runs on its input executed instead, a step the optimiser does not
    # cross (no filter or projection after it is pushed below it).
    marked = functools.partial(_slips_marked, ratio=ratio)
    schema = _slip_plan(pl.LazyFrame(schema=lf.collect_schema()), ratio).collect_schema()
    # Said, not left to the defaults: polars 1.35 pushes all three through.
    no_pushdown = {
        "predicate_pushdown": False,
        "projection_pushdown": False,
        "slice_pushdown": False,
    }
    return lf.map_batches(marked, schema=schema, **no_pushdown)


def _slip_plan(lf: pl.LazyFrame, ratio: float) -> pl.LazyFrame:
    """:func:`flag_unit_slips` as one plan over ``lf``."""
    lf = lf.with_row_index("_i").cache()
    return mark_unit_slips(lf, unit_slip_rows(lf, "_i", ratio), "_i").drop("_i")


def _slips_marked(df: pl.DataFrame, ratio: float) -> pl.DataFrame:
    """:func:`_slip_plan` of rows in memory, executed (on the CPU, as the readers' verbs)."""
    return engine.collect(_slip_plan(df.lazy(), ratio), "cpu")


_SERIES = ["reporter", "partner", "flow", "hs", "freq"]


def slip_keys() -> list[pl.Expr]:
    """A row's series (``_s``) and its partner's mirror series (``_m``), as 64-bit hashes.

    :func:`unit_slip_rows` works on these instead of five strings per row, so
    that the slip pass of a large store fits in memory. The mirror series of a report
    is the partner's report of the same flow (reporter and partner swapped,
    exports for imports), so ``_m`` of a row equals ``_s`` of its mirror.

    Examples
    --------
    >>> df = pl.DataFrame({"reporter": ["ARM", "RUS"], "partner": ["RUS", "ARM"],
    ...     "flow": ["X", "M"], "hs": ["8471"] * 2, "freq": ["M"] * 2})
    >>> k = df.select(slip_keys())
    >>> k["_m"][0] == k["_s"][1], k["_s"][0] == k["_m"][1]
    (True, True)
    """
    # A when-then chain, four times as fast as ``replace`` with a mapping here
    # (4 ms against 16 ms on 1.4M rows; the same strings).
    flow = pl.col("flow")
    swapped = pl.when(flow == "X").then(pl.lit("M")).when(flow == "M").then(pl.lit("X"))
    swapped = swapped.otherwise(flow)
    mirror = {"reporter": pl.col("partner"), "partner": pl.col("reporter"), "flow": swapped}
    return [
        pl.struct(_SERIES).hash().alias("_s"),
        pl.struct(**{c: mirror.get(c, pl.col(c)) for c in _SERIES}).hash().alias("_m"),
    ]


def slip_candidates() -> pl.Expr:
    """The rows :func:`unit_slip_rows` reads: live, with a positive value.

    Examples
    --------
    >>> df = pl.DataFrame({"drop": [None, None, "duplicate_exact"], "value_usd": [5.0, 0.0, 5.0]})
    >>> df.select(slip_candidates())["drop"].to_list()
    [True, False, False]
    """
    return _live() & (pl.col("value_usd") > 0)


def unit_slip_rows(
    lf: pl.LazyFrame, on: str, ratio: float = SLIP_RATIO, *, carry: Sequence[str] = ()
) -> pl.LazyFrame:
    """The ``on`` column (and the ``carry`` columns) of every row :func:`flag_unit_slips`
    flags, as a LazyFrame.

    ``lf`` needs ``on`` (unique per row), ``period``, ``value_usd``, ``drop``
    and either the series columns or their hashes (:func:`slip_keys`). Split
    from the verb so that a store too large to clean at once can be cleaned
    a few periods at a time and the slips, which need whole series, found in
    one pass over the result (:func:`tradeflows._store.ingest`). A series is
    named by a 64-bit hash: two series sharing one (a chance of about one in
    ten million for a million series) would be read as one. Two live reports
    of one series in one period are neighbours in the order of ``on``.
    """
    lo, hi = math.log10(ratio), 6 - math.log10(ratio)

    def near_1000(dev: pl.Expr) -> pl.Expr:
        return dev.abs().is_between(lo, hi)

    if "_s" not in lf.collect_schema().names():
        lf = lf.with_columns(slip_keys())
    lf = lf.filter(slip_candidates()).select(
        on, *carry, "_s", "_m", "period", "value_usd", _log=pl.col("value_usd").log10()
    )
    lf = lf.cache()  # read twice: the series, and the mirror of the candidates
    # Only steady series of five reports or more can show a slip. A flagged
    # row is `lo` or more (in log10) from a neighbour, so its series spans
    # at least `lo`. Most series span less: one group-by of each series'
    # range leaves them out, and the medians are taken over the others only
    # (benchmarks/RESULTS.md, design measurements).
    ranges = lf.group_by("_s").agg(_n=pl.len(), _lo=pl.col("_log").min(), _hi=pl.col("_log").max())
    wide = ranges.filter((pl.col("_n") >= 5) & (pl.col("_hi") - pl.col("_lo") >= lo - 1e-9))
    cand = lf.join(wide.select("_s"), on="_s", how="semi").cache()
    center = cand.group_by("_s").agg(_center=pl.col("_log").median())
    cand = cand.join(center, on="_s").cache()
    # It or its neighbour is then at least lo/2 from the series' centre: a
    # series with no such row cannot have a slip, and is not sorted.
    dev = pl.col("_log") - pl.col("_center")
    spread = cand.group_by("_s").agg(_spread=dev.abs().median(), _far=dev.abs().max()).cache()
    steady = spread.filter((pl.col("_spread") < 0.3) & (pl.col("_far") >= lo / 2 - 1e-9))
    value, prev, nxt, mirror_log = (pl.col(c) for c in ("_log", "_prev", "_next", "_mirror"))
    up = (value - prev).sign() == (value - nxt).sign()
    inner = near_1000(value - prev) & near_1000(value - nxt) & up & ((prev - nxt).abs() < 0.5)
    edge = (prev.is_null() & near_1000(value - nxt)) | (nxt.is_null() & near_1000(value - prev))
    in_steady = (
        _neighbours(cand.join(steady, on="_s", how="semi"), on)
        .filter((inner | edge).fill_null(False))
        .cache()
    )
    # In a lumpy series only the partner's report can confirm a slip, and only
    # a slip up (a tiny month beside large ones is common there: a small
    # shipment, or the partner booking the month before). Its rows a hundred
    # times the series' median or more (a slip of x1000 of a month not under a
    # tenth of it) are looked up in the mirror, and the few series with one
    # confirmed are then sorted.
    lumpy = spread.filter(pl.col("_spread") >= 0.3).select("_s")
    far = cand.filter(dev >= lo / 2 - 1e-9).join(lumpy, on="_s", how="semi")
    # The partner's report of the same flow, looked up once for both.
    wanted = pl.concat([in_steady.select("_m", "period"), far.select("_m", "period")]).unique()
    mirror = (
        lf.join(wanted.select(pl.col("_m").alias("_s"), "period"), on=["_s", "period"], how="semi")
        .group_by("_s", "period")
        .agg(_mirror=pl.col("value_usd").sum().log10())
        .select(pl.col("_s").alias("_m"), "period", "_mirror")
        .cache()
    )
    above_mirror = near_1000(value - mirror_log) & (value > mirror_log)
    confirmed = far.join(mirror, on=["_m", "period"]).filter(above_mirror).select("_s").unique()
    in_lumpy = _neighbours(cand.join(confirmed, on="_s", how="semi"), on).filter(
        (value - prev >= lo) & (value - nxt >= lo)
    )
    in_steady = in_steady.join(mirror, on=["_m", "period"], how="left").filter(
        pl.when(mirror_log.is_null())
        .then(inner)
        .otherwise(near_1000(value - mirror_log) & (inner | edge))
        .fill_null(False)
    )
    in_lumpy = in_lumpy.join(mirror, on=["_m", "period"]).filter(above_mirror)
    return pl.concat([in_steady.select(on, *carry), in_lumpy.select(on, *carry)])


def _neighbours(rows: pl.LazyFrame, on: str) -> pl.LazyFrame:
    """``rows`` sorted by series and period, with ``_prev`` and ``_next``: the log
    values of the reports before and after in the same series (:func:`unit_slip_rows`)."""
    same = pl.col("_s") == pl.col("_s").shift(1)
    same_next = pl.col("_s") == pl.col("_s").shift(-1)
    return rows.sort("_s", "period", on).with_columns(
        _prev=pl.when(same).then(pl.col("_log").shift(1)),
        _next=pl.when(same_next).then(pl.col("_log").shift(-1)),
    )


def mark_unit_slips(lf: pl.LazyFrame, rows: pl.LazyFrame, on: str) -> pl.LazyFrame:
    """Set ``slip_suspect`` and ``chg_unit_slip_flagged`` on the ``rows`` (matched by ``on``)."""
    flags = rows.select(on, _suspect=pl.lit(True))
    lf = lf.join(flags, on=on, how="left", maintain_order="left")
    suspect = pl.col("_suspect").fill_null(False)
    lf = lf.with_columns(slip_suspect=pl.col("slip_suspect").fill_null(False) | suspect)
    return _or_changed(lf, "unit_slip_flagged", suspect).drop("_suspect")


@_verb
def to_revision(lf: pl.LazyFrame, revision: str = "HS2017") -> pl.LazyFrame:
    """Convert HS2022 codes to HS2017 through the shipped concordance.

    The first six digits are looked up. A code whose subheading is the same in
    both revisions keeps all its digits and is relabelled
    (``chg_relabelled_hs2017``); one that moved becomes the six-digit HS2017
    code (``chg_concorded_to_hs2017``). Where one HS2022 code maps to several
    HS2017 codes (1:n, n:n) the whole value goes to the first of them and the
    row is also counted as ``chg_concorded_ambiguous`` (no conversion weights
    are shipped). Codes without a correspondence keep their code and label.

    Parameters
    ----------
    lf : DataFrame or LazyFrame
        Rows in the canonical columns, with the auxiliary columns the readers
        add (``drop``, ``row``, the raw values).
    revision : {"HS2017"}
        The revision converted to.

    Returns
    -------
    DataFrame or LazyFrame
        The same kind and rows, marked (``drop`` reasons, ``chg_*`` columns).

    See Also
    --------
    clean : every verb in order.
    audit : the counts they leave.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"hs": ["880621"], "hs_revision": ["HS2022"], "value_usd": [1.0]})
    >>> to_revision(df).select("hs", "hs_revision").row(0)
    ('852580', 'HS2017')
    """
    if revision != "HS2017":
        raise TradeflowsInputError(f"concordance to {revision!r} is not shipped; use HS2017")
    conc = (
        hs_concordance()
        .sort("hs2022", "hs2017")
        .group_by("hs2022", maintain_order=True)
        .agg(_target=pl.col("hs2017").first(), _n=pl.len())
        .lazy()
    )
    todo = (pl.col("hs_revision") == "HS2022") & (pl.col("hs").str.len_chars() >= 6)
    lf = lf.with_columns(_hs6=pl.when(todo).then(pl.col("hs").str.slice(0, 6)))
    lf = lf.join(conc, left_on="_hs6", right_on="hs2022", how="left", maintain_order="left")
    mapped = pl.col("_target").is_not_null()
    # An unchanged six-digit code keeps its national digits (CN8, HTS10), so
    # a series does not switch from eight to six digits at the revision.
    moved = mapped & (pl.col("_target") != pl.col("_hs6"))
    lf = _or_changed(lf, "concorded_to_hs2017", moved)
    lf = _or_changed(lf, "concorded_ambiguous", moved & (pl.col("_n") > 1))
    lf = _or_changed(lf, "relabelled_hs2017", mapped & ~moved)
    return lf.with_columns(
        hs=pl.when(moved).then(pl.col("_target")).otherwise(pl.col("hs")),
        hs_revision=pl.when(mapped).then(pl.lit("HS2017")).otherwise(pl.col("hs_revision")),
    ).drop("_hs6", "_target", "_n")


#: The verbs of :func:`clean_within_periods` that act only on groups holding
#: rows of one kind (:func:`idle_traces` says which): DX and FM flows
#: (:func:`_dx_or_fm`), breakdowns (:func:`_breakdown_row`), a TOTAL or a code
#: shorter than the longest (:func:`_maybe_parent`). The kinds are read from
#: columns that no verb before them changes, so where no row is of its kind,
#: the verb has nothing to do.
_SKIPPABLE = ("resolve_flows", "merge_breakdowns", "drop_hs_parents")


def idle_traces() -> list[pl.Expr]:
    """Aggregations of a group of rows that :func:`idle_from_traces` combines into :func:`idle_verbs`.

    For each verb of :data:`_SKIPPABLE`, what its test needs to be answered over
    any union of groups: whether a row of the group is a DX or FM flow, or a
    breakdown; whether one is a TOTAL, and the group's shortest and longest
    HS code (a code shorter than the longest of the whole frame may be a
    parent; :func:`_maybe_parent` asks less, shorter than the longest of its
    source). Ingest aggregates them per period as it reads a file, so that
    a chunk of periods is tested without reading its rows again
    (:func:`tradeflows._chunked.clean_chunk`). They read the columns
    :func:`ensure_aux` gives.

    Examples
    --------
    >>> df = pl.DataFrame({"period": [1, 1, 2], "raw_flow": ["X", "X", "DX"],
    ...     "partner2": [None] * 3, "customs": [None] * 3, "mot": [None] * 3,
    ...     "hs": ["847150", "8471", "847150"]})
    >>> t = df.group_by("period", maintain_order=True).agg(idle_traces())
    >>> idle_from_traces(t.filter(pl.col("period") == 2).lazy()).collect().row(0)
    (False, True, True)
    """
    n = pl.col("hs").str.len_chars()
    # max, not any: the GPU engine refuses any() in a group-by (both pass over nulls).
    return [
        _dx_or_fm().max().alias("_t_dx_or_fm"),
        _breakdown_row().max().alias("_t_breakdown"),
        (pl.col("hs") == "TOTAL").max().alias("_t_total"),
        n.min().alias("_t_hs_shortest"),
        n.max().alias("_t_hs_longest"),
    ]


def period_traces(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Each period's rows (``len``) and :func:`idle_traces`, periods in the order met.

    Examples
    --------
    >>> import datetime as dt
    >>> may, june = dt.date(2024, 5, 1), dt.date(2024, 6, 1)
    >>> df = pl.DataFrame({"period": [june, may, june], "hs": ["8471", "847150", "847150"]})
    >>> period_traces(df.lazy()).select("len", "_t_hs_shortest").collect().rows()
    [(2, 4), (1, 6)]
    """
    return ensure_aux(lf).group_by("period", maintain_order=True).agg(pl.len(), *idle_traces())


def idle_from_traces(traces: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`idle_verbs` of the rows whose :func:`idle_traces` are the rows of ``traces``."""
    shorter = pl.col("_t_hs_shortest").min() < pl.col("_t_hs_longest").max()
    return traces.select(
        resolve_flows=~pl.col("_t_dx_or_fm").any(),
        merge_breakdowns=~pl.col("_t_breakdown").any(),
        drop_hs_parents=~(pl.col("_t_total").any() | shorter.fill_null(False)),
    )


def idle_verbs(lf: pl.LazyFrame) -> pl.LazyFrame:
    """One row of booleans: which verbs of :func:`clean_within_periods` have nothing to do on ``lf``.

    For the verbs that act only on some rows (DX and FM flows, breakdowns,
    HS codes shorter than others): true where ``lf`` has none. Ingest leaves
    those verbs out of each chunk's plan (``skip``): even with nothing to do,
    a verb joins every row twice.

    Examples
    --------
    >>> df = pl.DataFrame({"flow": ["X", "X"], "raw_flow": ["X", "DX"],
    ...     "hs": ["847150", "847130"], "source": ["a.csv", "a.csv"]})
    >>> idle_verbs(df.lazy()).collect().row(0, named=True)
    {'resolve_flows': False, 'merge_breakdowns': True, 'drop_hs_parents': True}
    """
    return idle_from_traces(ensure_aux(lf).select(idle_traces()))


def clean_within_periods(lf: pl.LazyFrame, *, skip: Iterable[str] = ()) -> pl.LazyFrame:
    """The verbs of :func:`clean` that compare rows of the same period only.

    Every verb but :func:`flag_unit_slips` (whole series) and
    :func:`to_revision` (row by row) looks only at rows of one period, so a
    large ingest can run this one year at a time (:func:`tradeflows._store.ingest`).
    The verbs named in ``skip`` are left out; only those :func:`idle_verbs`
    finds idle on ``lf`` may be, and the result is then the same but for
    their ``chg_*`` columns, all false, which are missing.
    """
    skip = set(skip)
    if skip - set(_SKIPPABLE):
        raise ValueError(
            f"only {', '.join(_SKIPPABLE)} can be skipped, not {sorted(skip - set(_SKIPPABLE))}"
        )
    lf = ensure_aux(lf).pipe(mark_invalid).pipe(drop_aggregates)
    if "resolve_flows" not in skip:
        lf = resolve_flows(lf)
    # The flows of several rows, found once for both verbs (their keys are
    # not changed by resolve_flows nor by merge_breakdowns).
    lf, _ = _with_several(lf)
    if "merge_breakdowns" not in skip:
        lf = merge_breakdowns(lf)
    lf = merge_duplicates(lf).drop("_several")
    return lf if "drop_hs_parents" in skip else drop_hs_parents(lf)


def clean(df: Frame, *, revision: str | None = None, slip_ratio: float = SLIP_RATIO) -> Frame:
    """Run every cleaning verb in order; rows are marked, never removed.

    Parameters
    ----------
    df : DataFrame or LazyFrame
        Rows read by :func:`tradeflows.scan`.
    revision : str, optional
        Convert HS codes to this revision (:func:`to_revision`).
    slip_ratio : float
        As :func:`flag_unit_slips`.

    Returns
    -------
    DataFrame or LazyFrame
        The same kind: every row, marked (:func:`audit` counts them,
        :func:`split` separates them).

    See Also
    --------
    audit : count the rows.
    split : kept and dropped rows.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.date(2023, 1, 1)
    >>> df = pl.DataFrame({"period": [d] * 3, "freq": ["M"] * 3, "reporter": ["MYS"] * 3,
    ...     "partner": ["CHN", "AGG", "CHN"], "flow": ["X"] * 3, "hs": ["847150"] * 3,
    ...     "hs_revision": ["HS2022"] * 3, "value_usd": [5.0, 9.0, 5.0]})
    >>> clean(df)["drop"].to_list()
    [None, 'partner_aggregate', 'duplicate_exact']
    """
    reads = "clean reads rows (tradeflows.scan)"
    if not isinstance(df, (pl.DataFrame, pl.LazyFrame)):
        table(df, reads)  # refused in one line
    lazy = df.lazy() if isinstance(df, pl.DataFrame) else df
    # Typed as the readers type them: text where a number or a flag is meant
    # (rows read back from CSV) is refused in one line, not deep inside a verb.
    lazy = lazy.with_columns(casts_to(lazy.collect_schema(), CANONICAL, reads))
    lf = clean_within_periods(lazy).pipe(flag_unit_slips, slip_ratio)
    if revision is not None:
        lf = lf.pipe(to_revision, revision)
    return engine.collect(lf, "cpu") if isinstance(df, pl.DataFrame) else lf


def audit(df: pl.DataFrame) -> dict:
    """Count rows read, kept, dropped by reason and changed by reason.

    Parameters
    ----------
    df : DataFrame
        Rows marked by the cleaning verbs (``drop``, ``chg_*``).

    Returns
    -------
    dict
        ``rows_read``, ``rows_kept``, ``rows_dropped``, ``dropped`` and
        ``changed`` by reason.

    See Also
    --------
    clean : every verb in order.

    Examples
    --------
    >>> import polars as pl
    >>> audit(pl.DataFrame({"drop": [None, "partner_aggregate"], "chg_x": [True, False]}))
    {'rows_read': 2, 'rows_kept': 1, 'rows_dropped': 1, 'dropped': {'partner_aggregate': 1}, 'changed': {'x': 1}}
    """
    df = table(df, "audit reads rows the cleaning marked (tradeflows.clean.clean)", "drop")
    dropped = df.filter(pl.col("drop").is_not_null()).group_by("drop").len()
    changed = {c.removeprefix("chg_"): int(df[c].sum()) for c in df.columns if c.startswith("chg_")}
    return audit_from_counts(
        df.height,
        dict(zip(dropped["drop"].to_list(), dropped["len"].to_list(), strict=True)),
        changed,
    )


def audit_from_counts(read: int, dropped: Mapping[str, int], changed: Mapping[str, int]) -> dict:
    """The audit of :func:`audit` from counts: rows read, dropped and changed by reason.

    Reasons are sorted and zero counts left out, so audits summed over parts
    (the years of a large ingest) read exactly like the audit of the whole.

    Examples
    --------
    >>> audit_from_counts(3, {"b": 1, "a": 1}, {"x": 0})
    {'rows_read': 3, 'rows_kept': 1, 'rows_dropped': 2, 'dropped': {'a': 1, 'b': 1}, 'changed': {}}
    """
    by_reason = {k: int(dropped[k]) for k in sorted(dropped) if dropped[k]}
    n_dropped = sum(by_reason.values())
    return {
        "rows_read": read,
        "rows_kept": read - n_dropped,
        "rows_dropped": n_dropped,
        "dropped": by_reason,
        "changed": {k: int(changed[k]) for k in sorted(changed) if changed[k]},
    }


def split(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Kept rows (canonical columns only) and dropped rows (with ``drop`` and ``row``).

    Parameters
    ----------
    df : DataFrame
        Rows marked by the verbs.

    Returns
    -------
    tuple of DataFrame
        The kept rows (canonical columns), then the dropped ones (with ``drop``).

    See Also
    --------
    audit : count them.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date(2023, 1, 1)
    >>> df = clean(pl.DataFrame({"period": [d] * 2, "freq": "M", "reporter": "MYS",
    ...     "partner": ["CHN", "AGG"], "flow": "X", "hs": "847150", "hs_revision": "HS2022",
    ...     "value_usd": [5.0, 9.0]}))
    >>> kept, dropped = split(df)
    >>> kept["partner"].to_list(), dropped["drop"].to_list()
    (['CHN'], ['partner_aggregate'])
    """
    df = table(df, "split reads rows the cleaning marked (tradeflows.clean.clean)", "drop")
    kept = df.filter(pl.col("drop").is_null()).select(list(CANONICAL))
    dropped = df.filter(pl.col("drop").is_not_null())
    return kept, dropped


def canonical_rows(lf: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """The rows a store would hold of ``lf``.

    Canonical rows (a store's, a bundled dataset's, a frame of one's own)
    pass as they are, checked and completed by :func:`tradeflows._schema.conform`
    (a frame of one's own may leave out ``net_kg``, ``qty`` and the other
    optional columns; a missing ``partner`` or a ``period`` of text is
    refused in one line). Rows with the readers' ``drop`` column are marked rows:
    those read by :func:`tradeflows.scan` and not cleaned yet are cleaned
    first (:func:`clean`, the cleaning of ``tradeflows ingest``); of those,
    or of rows :func:`clean` marked, only the kept ones are read, in the
    canonical columns, executed once (on the CPU, as the cleaning is).
    Without this, a mirror or a detection would count the rows the cleaning
    dropped: World beside its detail, aggregates, duplicates.

    Parameters
    ----------
    lf : LazyFrame
        Canonical or marked rows.

    Returns
    -------
    LazyFrame
        The rows a store would hold, in the canonical columns (no ``drop``).

    See Also
    --------
    split : the kept and the dropped rows of a frame in memory.
    tradeflows.detect_routes : reads its rows through this, as do
        :func:`tradeflows.collect_mirror` and :class:`tradeflows.Report`.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date(2023, 1, 1)
    >>> marked = clean(pl.DataFrame({"period": [d] * 3, "freq": "M", "reporter": "MYS",
    ...     "partner": ["CHN", "AGG", "CHN"], "flow": "X", "hs": "847150",
    ...     "hs_revision": "HS2022", "value_usd": [5.0, 9.0, 5.0]}))
    >>> marked["drop"].to_list()
    [None, 'partner_aggregate', 'duplicate_exact']
    >>> canonical_rows(marked.lazy()).collect()["partner"].to_list()
    ['CHN']
    """
    if not isinstance(lf, (pl.LazyFrame, pl.DataFrame)) or "drop" not in lf.collect_schema():
        return conform(lf)  # canonical rows of one's own: checked, completed
    lf = lf.lazy()
    names = lf.collect_schema().names()
    if "chg_unit_slip_flagged" not in names:  # read, not cleaned: every cleaning marks slips
        lf = clean(lf)
    kept = lf.filter(pl.col("drop").is_null()).select(list(CANONICAL))
    return engine.collect(kept, "cpu").lazy()


def first_input_error(df: pl.DataFrame, source: str, unit: str = "line") -> str | None:
    """One line describing the first row dropped for an :data:`INPUT_ERRORS` reason.

    ``unit`` names what ``row`` counts: a file's ``line``, a JSON answer's ``record``.
    """
    bad = df.filter(pl.col("drop").is_in(list(INPUT_ERRORS))).sort("row").head(1)
    if bad.is_empty():
        return None
    r = bad.row(0, named=True)
    reason = r["drop"]
    quoted = {
        # Only the side that could not be read (a valid partner named beside
        # an unknown reporter reads as a second error).
        "unknown_country": ", ".join(
            f"{side} {r[f'{side}_raw']!r}" for side in ("reporter", "partner") if r[side] is None
        ),
        "bad_period": f"period {r['period_raw']!r}",
        "unknown_hs": f"HS code {r['hs_raw']!r}",
        "bad_value": f"value {r['value_raw']!r}",
        "bad_amount": ", ".join(
            f"{name} {v!r}"
            for name, v in (
                ("value", r["value_raw"] or r["value_usd"]),
                ("net weight", r["net_kg"]),
                ("quantity", r["qty"]),
            )
            if v is not None
        ),
        "bad_flow": "flow",
        "ragged_row": f"value read as {r['value_raw']!r}",
    }[reason]
    count = df.filter(pl.col("drop") == reason).height
    more = f" ({count} rows like it)" if count > 1 else ""
    return f"{source}: {unit} {r['row']}: {INPUT_ERRORS[reason]}: {quoted}{more}"
