"""Corridors: the flags table read as an analyst reads it, one row per route."""

from __future__ import annotations

import polars as pl

from tradeflows._errors import TradeflowsInputError
from tradeflows._expr import fixed_order_sum, sound_months
from tradeflows._names import NAME_COLUMNS, with_names
from tradeflows._routes import FEATURES, ROUTE_KEY, product_level
from tradeflows._tables import FLAGS, flags_table

__all__ = [
    "CORRIDOR_COLUMNS",
    "MONEY_SCALE",
    "MONEY_WEIGHT",
    "POOLED_FEATURES",
    "POOLED_MONTHS",
    "PRODUCT_LEVELS",
    "ROLLUP_COLUMNS",
    "ROLLUP_KEYS",
    "corridors",
    "money_term",
    "per_route",
    "pooled_features",
    "roll_up",
    "route_evidence",
]

#: A route's evidence is the mean score of its this many strongest months.
POOLED_MONTHS = 6
#: A corridor's score adds ``MONEY_WEIGHT * ln(1 + extra a month / MONEY_SCALE)``:
#: next to nothing under USD 100k a month, 1.2 at USD 10m, 2.3 at USD 100m.
MONEY_WEIGHT = 0.5
MONEY_SCALE = 1_000_000.0

#: The route-month features whose mean over a route's ``POOLED_MONTHS``
#: strongest months the corridor model reads (scale-free, as the trees'; the
#: policy breaks and unit values, rare or noisy, left out).
POOLED_INDICATORS = [
    f for f in FEATURES if f not in ("policy_did", "policy_did_products", "unit_value_ratio")
]
#: Score levels (log-odds) whose months :func:`pooled_features` counts.
POOLED_LEVELS = (0, -2, -4)
#: What the corridor model reads of a route (:func:`pooled_features`): the
#: mean score of its 1, 3, 6 and 12 strongest months, its months at or above
#: each of ``POOLED_LEVELS``, whether its hub -> destination leg is ever seen,
#: and the mean of each of ``POOLED_INDICATORS`` over its 6 strongest months.
POOLED_FEATURES = [
    "top1",
    "top3",
    "top6",
    "top12",
    *[f"over{-level}" for level in POOLED_LEVELS],
    "outflow_seen",
    *[f"top6_{c}" for c in POOLED_INDICATORS],
]

#: The columns of :func:`corridors`, in order.
CORRIDOR_COLUMNS = [
    "rank",
    *ROUTE_KEY,
    *NAME_COLUMNS,
    "score",
    "flagged",
    "evidence",
    "extra_usd",
    "extra_usd_month",
    "months",
    "first",
    "last",
    "peak_score",
    "peak_period",
    "reasons",
]


#: What ``corridors(by=)`` may name beside the route's own columns: the
#: product's HS heading (``hs4``) and chapter (``hs2``), by their digits.
PRODUCT_LEVELS = {"hs4": 4, "hs2": 2}
#: What corridors may be rolled up to (:func:`roll_up`).
ROLLUP_KEYS = [*ROUTE_KEY, *PRODUCT_LEVELS]

#: The columns of ``corridors(by=)`` after its ``by`` columns and their names.
ROLLUP_COLUMNS = [
    "score",
    "flagged",
    "routes",
    "flagged_routes",
    "extra_usd",
    "extra_usd_month",
    "first",
    "last",
    "lead_origin",
    "lead_hs",
    "peak_score",
    "peak_period",
    "reasons",
]


def money_term() -> pl.Expr:
    """What the value at stake adds to a corridor's score (:func:`corridors`):
    ``MONEY_WEIGHT * ln(1 + extra_usd_month / MONEY_SCALE)``, a fall counting as 0.

    Examples
    --------
    >>> pl.DataFrame({"extra_usd_month": [1e7, -5e6, None]}).select(
    ...     money_term().round(2)).to_series().to_list()
    [1.2, 0.0, 0.0]
    """
    # Money a route lost (a fall) adds nothing: ln of a negative would be NaN,
    # which sorts first.
    return (pl.col("extra_usd_month").fill_null(0.0).clip(0.0) / MONEY_SCALE).log1p() * MONEY_WEIGHT


def _pooled_given(columns: list[str]) -> list[str]:
    """The pooled columns a flags table carries (none, or ``evidence``,
    ``extra_usd_month`` and, from the default detector, ``corridor_score``):
    pooled when the route-months were scored, before the table was cut down to
    what an analyst reads (``detect_routes(keep=)``)."""
    if not {"evidence", "extra_usd_month"} <= set(columns):
        return []
    return [
        "evidence",
        "extra_usd_month",
        *(["corridor_score"] if "corridor_score" in columns else []),
    ]


def per_route(flags: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """One row per route: ``ROUTE_KEY`` and ``columns``, which are the same on each
    of a route's months (its first month's, as they come).

    Lazy, so that only those columns are gathered: a frame's own group-by
    gathers all of them (2.3 GiB, not 0.85, over 3M route-months of 60
    columns; benchmarks/RESULTS.md, issue 27).

    Examples
    --------
    >>> f = pl.DataFrame({"origin": "USA", "hub": "MYS", "destination": "CHN",
    ...     "hs": "847150", "months_scored": [48, 48]})
    >>> per_route(f, ["months_scored"]).rows()
    [('USA', 'MYS', 'CHN', '847150', 48)]
    """
    return flags.lazy().group_by(ROUTE_KEY).agg(pl.col(columns).first()).collect()


def route_evidence(flags: pl.DataFrame) -> pl.DataFrame:
    """Each route's evidence, pooled over its months: ``evidence`` and ``extra_usd_month``.

    ``evidence`` is the mean score of the route's ``POOLED_MONTHS`` strongest
    months (covered months without a data-quality event): an episode lasts
    months, a chance excursion rarely does. ``extra_usd_month`` is what those
    months carried above their usual level, a month on average. A flags
    table that carries them already (:func:`tradeflows.detect_routes` pools
    them before it keeps only what an analyst reads) gives them as they are.

    Parameters
    ----------
    flags : DataFrame
        A flags table (its ``score`` and ``covered`` columns).

    Returns
    -------
    DataFrame
        One row per route: its pooled ``evidence``.

    See Also
    --------
    corridors : the ranking built on it.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150",
    ...     "period": [dt.date(2024, m, 1) for m in range(1, 9)],
    ...     "score": [9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 0.0, -9.0], "extra_usd": 1e6})
    >>> route_evidence(f)["evidence"].item()
    6.5
    """
    pooled = _pooled_given(flags.columns)
    if pooled:
        return per_route(flags, pooled)
    marks = [c for c in ("covered", "data_quality") if c in flags.columns]  # sound_months'
    # Eager, on the columns read only (see per_route): a lazy plan's
    # optimiser drops the sort before the mean.
    return (
        flags.select(*ROUTE_KEY, "score", "extra_usd", *marks)
        .filter(sound_months(flags.columns))
        .group_by(ROUTE_KEY)
        .agg(
            # Sorted before the mean: the same sum whatever order top_k gives.
            evidence=pl.col("score").top_k(POOLED_MONTHS).sort().mean(),
            extra_usd_month=pl.col("extra_usd")
            .fill_nan(None)
            .top_k_by("score", POOLED_MONTHS)
            .sort()
            .mean(),
        )
    )


def pooled_features(flags: pl.DataFrame) -> pl.DataFrame:
    """What the corridor model reads of each route: its months' evidence, pooled.

    Over a route's sound months (scored, covered, no data-quality event):
    the mean score of its 1, 3, 6 and 12 strongest months (``top1`` ...
    ``top12``), how many months score at or above each of
    ``POOLED_LEVELS`` (``over0``, ``over2``, ``over4``), whether its
    hub -> destination leg is seen in any month (``outflow_seen``, 1 or 0) and the
    mean of each of ``POOLED_INDICATORS`` over its 6 strongest months
    (``top6_inflow_rise`` ...). Strongest: highest score, then earliest
    month, so that the same table gives the same numbers bit for bit.

    Parameters
    ----------
    flags : DataFrame
        Scored route-months, all of them (``score``, ``covered``,
        ``data_quality``, ``outflow_seen`` and ``POOLED_INDICATORS``).

    Returns
    -------
    DataFrame
        One row per route: ``ROUTE_KEY`` and ``POOLED_FEATURES`` (Float64).

    See Also
    --------
    corridors : where the corridor model's log-odds order the corridors.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150",
    ...     "period": [dt.date(2024, m, 1) for m in range(1, 5)],
    ...     "score": [1.0, -1.0, -3.0, -9.0], "covered": True, "data_quality": None,
    ...     "outflow_seen": True, **{c: 1.0 for c in POOLED_INDICATORS}})
    >>> pooled_features(f).select("top1", "top3", "over0", "over2", "over4", "outflow_seen").row(0)
    (1.0, -1.0, 1.0, 2.0, 3.0, 1.0)
    """
    seen = pl.col("outflow_seen").fill_null(False).any().over(ROUTE_KEY).cast(pl.Float64)
    ordered = (  # lazy: the columns read only are sorted (see route_evidence)
        flags.lazy()
        .with_columns(_seen=seen)
        .filter(sound_months(flags.columns))
        .sort([*ROUTE_KEY, "score", "period"], descending=[False] * 4 + [True, False])
    )
    top = pl.col("score").head
    return ordered.group_by(ROUTE_KEY, maintain_order=True).agg(
        top1=top(1).mean(),
        top3=top(3).mean(),
        top6=top(POOLED_MONTHS).mean(),
        top12=top(12).mean(),
        **{f"over{-lv}": (pl.col("score") >= lv).sum() for lv in POOLED_LEVELS},
        outflow_seen=pl.col("_seen").first(),
        **{f"top6_{c}": pl.col(c).head(POOLED_MONTHS).cast(pl.Float64).mean()
           for c in POOLED_INDICATORS},
    ).select(*ROUTE_KEY, *[pl.col(c).cast(pl.Float64) for c in POOLED_FEATURES]).collect()  # fmt: skip


def corridors(flags: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """One row per origin -> hub -> destination -> product, ranked by evidence and what is at stake.

    ``score`` orders the corridors: the corridor model's log-odds that the
    route carries an episode (``corridor_score``, which
    :func:`tradeflows.detect_routes` gives with the default detector: trees
    that read the route's months pooled, :func:`pooled_features`), or, from
    another detector, the route's pooled evidence (:func:`route_evidence`), plus
    ``MONEY_WEIGHT * ln(1 + extra_usd_month / MONEY_SCALE)``: what the route
    carried above its usual level in its strongest months, counted from USD
    1m a month (USD 10m adds 1.2, USD 100m 2.3), so that of two corridors
    with comparable evidence the one that grew to hundreds of millions comes
    before one of a few hundred thousand, and flows too small to matter add
    next to nothing (benchmarks/RESULTS.md). ``rank`` numbers the rows from 1.
    A corridor is ``flagged`` when any of its route-months is; ``months``,
    ``first`` and ``last`` count and bound those, ``extra_usd`` is what they
    carried above the usual level (US dollars, in all). ``reasons`` are those
    of the corridor's most suspicious month (flagged, when any is), said once.

    ``by`` rolls the corridors up to wider ones, as an analyst names them:
    ``["hub", "destination", "hs4"]`` is "Kazakhstan to Russia, HS 8471",
    whatever the origin and the eight-digit code. A wide corridor's
    ``score`` is the log of its routes' summed odds (``ln sum exp(score)``):
    about the log-odds that one of them carries an episode, were their
    evidence independent, so that twenty origins each a little suspicious
    come before one of them alone. Routes that share their evidence (one
    hub's outflow, read by every origin's route to that destination) count
    it more than once: rolled up by destination over origins, a hub's own
    records put a destination whose small flow rose steeply before one that
    grew to hundreds of millions (benchmarks/RESULTS.md). The other columns
    (:data:`ROLLUP_COLUMNS`): ``routes`` and ``flagged_routes`` count its
    routes, ``extra_usd`` and ``extra_usd_month`` add theirs up (a route's
    fall counting as no rise in the latter), ``first``
    and ``last`` bound their flagged months, and ``lead_origin``,
    ``lead_hs``, ``peak_score``, ``peak_period`` and ``reasons`` are those of
    its first-ranked route.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        A flags table (:func:`tradeflows.detect_routes`; read back from CSV,
        its months as text, as :func:`tradeflows._tables.flags_table` reads it).
    by : list of str or str, optional
        Roll up to these columns (``["hub", "hs4"]`` or ``"hub,hs4"``): among ``origin``, ``hub``, ``destination``,
        ``hs`` and the product's heading or chapter (:data:`PRODUCT_LEVELS`,
        ``hs4`` or ``hs2``). None (the default): one row per route.

    Returns
    -------
    DataFrame
        ``CORRIDOR_COLUMNS``: one row per origin, hub, destination and product,
        ranked (``rank`` 1 first). With ``by``: ``rank``, the ``by`` columns,
        the names of those that are countries, the descriptions of a heading
        or chapter (``hs4_description``, ``hs2_description``), then
        :data:`ROLLUP_COLUMNS`.

    Raises
    ------
    ValueError
        When ``by`` names a column that is none of those.

    See Also
    --------
    tradeflows.detect_routes : the flags table it ranks.
    roll_up : the same roll-up of a ranking already made.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": ["USA", "USA", "JPN"], "hub": ["MYS", "MYS", "SGP"],
    ...     "destination": "CHN", "hs": "847150",
    ...     "period": [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 1, 1)],
    ...     "score": [7.0, 9.0, 12.0], "flagged": [True, True, False],
    ...     "reasons": ["a", "b", "c"], "extra_usd": [1e6, 2e6, 0.0]})
    >>> corridors(f).select("rank", "origin", "flagged", "months", "extra_usd", "reasons").rows()
    [(1, 'JPN', False, 0, 0.0, 'c'), (2, 'USA', True, 2, 3000000.0, 'b')]
    >>> wide = corridors(f, by=["destination", "hs4"])
    >>> wide.select("destination", "hs4", "routes", "flagged_routes", "lead_origin").rows()
    [('CHN', '8471', 2, 1, 'JPN')]
    >>> [round(x, 4) for x in corridors(f)["score"]]
    [12.0, 8.4581]
    >>> round(wide["score"].item(), 4)  # ln(e^12 + e^8.4581): both routes' odds added
    12.0285
    """
    if isinstance(by, str):  # "hub,hs4", as the command line's --by
        by = [c.strip() for c in by.split(",") if c.strip()]
    if by is not None:
        return roll_up(corridors(flags), by)
    flags = flags_table(flags, f"corridors reads {FLAGS}", *ROUTE_KEY, "period", "score",
                        "flagged", "reasons", "extra_usd")  # fmt: skip
    if flags.is_empty():
        return pl.DataFrame(schema={c: _dtype(flags, c) for c in CORRIDOR_COLUMNS})
    flagged = pl.col("flagged").fill_null(False)
    peak_order = [flagged, "score", "period"]
    # Pooled already (the same for each of a route's months: read in the
    # group-by below), or pooled here.
    given = _pooled_given(flags.columns)
    pooled = None if given else route_evidence(flags)
    out = (
        # The columns read, not the whole table, sorted: a flags table's
        # indicators and words are most of its memory.
        flags.select(*ROUTE_KEY, "period", "score", "flagged", "reasons", "extra_usd", *given)
        .sort([*ROUTE_KEY, *peak_order], descending=[False] * 4 + [True, True, False])
        .group_by(ROUTE_KEY, maintain_order=True)
        .agg(
            *(pl.col(c).first() for c in given),
            flagged=flagged.any(),
            months=flagged.sum().cast(pl.Int64),
            first=pl.col("period").filter(flagged).min(),
            last=pl.col("period").filter(flagged).max(),
            extra_usd=fixed_order_sum(pl.when(flagged).then(pl.col("extra_usd")).otherwise(0.0)),
            peak_score=pl.col("score").first(),
            peak_period=pl.col("period").first(),
            reasons=pl.col("reasons").first(),
        )
    )
    if pooled is not None:
        out = out.join(pooled, on=ROUTE_KEY, how="left")
    out = (
        out.with_columns(
            score=pl.col("corridor_score" if "corridor_score" in out.columns else "evidence")
            + money_term()
        )
        # NaN would sort first: a score that cannot be computed goes last, as null.
        .with_columns(pl.col("score").fill_nan(None))
        .sort(["score", *ROUTE_KEY], descending=[True, False, False, False, False], nulls_last=True)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
    )
    return with_names(out.drop(NAME_COLUMNS, strict=False)).select(CORRIDOR_COLUMNS)


def check_roll_up(by, shown: str, *, empty_ok: bool = False) -> list[str]:
    """``by`` when it is a list of :data:`ROLLUP_KEYS` (empty only with ``empty_ok``).

    Otherwise a :class:`~tradeflows.TradeflowsInputError` (a ValueError)
    that starts with ``shown``, the option as the user gave it.

    Examples
    --------
    >>> check_roll_up(["hub", "hs4"], "--by 'hub,hs4'")
    ['hub', 'hs4']
    >>> check_roll_up(["hub", "hs6"], "--by 'hub,hs6'")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: --by 'hub,hs6': choose among origin, hub, destination, hs, hs4, hs2
    """
    if isinstance(by, list) and (by or empty_ok) and all(c in ROLLUP_KEYS for c in by):
        return by
    hint = " ([] for none)" if empty_ok else ""
    raise TradeflowsInputError(f"{shown}: choose among {', '.join(ROLLUP_KEYS)}{hint}")


def roll_up(ranked: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """A corridor ranking rolled up to the ``by`` columns: ``corridors(flags, by=by)``
    from ``ranked = corridors(flags)``, without ranking the routes again.

    Parameters
    ----------
    ranked : DataFrame
        A corridor ranking (:func:`corridors`: ``CORRIDOR_COLUMNS``, ranked).
    by : list of str
        Among :data:`ROLLUP_KEYS`: the route's columns, ``hs4`` and ``hs2``.

    Returns
    -------
    DataFrame
        ``rank``, the ``by`` columns, the names of those that are countries,
        the descriptions of a heading or chapter (``hs4_description``,
        ``hs2_description``), then :data:`ROLLUP_COLUMNS` (see :func:`corridors`).

    Raises
    ------
    ValueError
        (:class:`~tradeflows.TradeflowsInputError`) When ``by`` is empty or names a
        column not in :data:`ROLLUP_KEYS`.

    See Also
    --------
    corridors : the ranking it rolls up, and how a wide corridor is scored.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": ["USA", "JPN"], "hub": "MYS", "destination": "CHN",
    ...     "hs": ["847150", "847130"], "period": dt.date(2024, 1, 1), "score": [1.0, 1.0],
    ...     "flagged": True, "reasons": "r", "extra_usd": 0.0})
    >>> ranked = corridors(f)
    >>> wide = roll_up(ranked, ["hub", "hs4"])
    >>> wide.select("hub", "hs4", "routes", "lead_origin").rows()
    [('MYS', '8471', 2, 'JPN')]
    >>> round(wide["score"].item(), 4)  # 1 + ln 2: two routes' odds added
    1.6931
    """
    by = list(by)
    check_roll_up(by, f"by {by!r}")
    # The routes come ranked, the best first and null scores last: the first
    # of a group is its lead, and its score is the largest.
    top = pl.col("score").first()
    flagged = pl.col("flagged").fill_null(False)
    out = (
        ranked.with_columns(**{k: product_level(n) for k, n in PRODUCT_LEVELS.items() if k in by})
        .group_by(by, maintain_order=True)
        .agg(
            # ln sum exp, from the largest: no overflow, and the same sum in any row order.
            score=top + fixed_order_sum((pl.col("score") - top).exp()).log(),
            flagged=flagged.any(),
            routes=pl.len().cast(pl.Int64),
            flagged_routes=flagged.sum().cast(pl.Int64),
            extra_usd=fixed_order_sum(pl.col("extra_usd").fill_null(0.0)),
            extra_usd_month=fixed_order_sum(pl.col("extra_usd_month").fill_null(0.0).clip(0.0)),
            first=pl.col("first").min(),
            last=pl.col("last").max(),
            lead_origin=pl.col("origin").first(),
            lead_hs=pl.col("hs").first(),
            peak_score=pl.col("peak_score").first(),
            peak_period=pl.col("peak_period").first(),
            reasons=pl.col("reasons").first(),
        )
        .with_columns(pl.col("score").fill_nan(None))
        .sort(["score", *by], descending=[True] + [False] * len(by), nulls_last=True)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
    )
    names = with_names(out.select(by)).drop(by)
    return out.select("rank", *by).hstack(names).hstack(out.select(ROLLUP_COLUMNS))


def _dtype(flags: pl.DataFrame, column: str) -> pl.DataType:
    known = {"rank": pl.Int64, "score": pl.Float64, "flagged": pl.Boolean, "evidence": pl.Float64,
             "extra_usd": pl.Float64, "extra_usd_month": pl.Float64, "months": pl.Int64,
             "first": pl.Date, "last": pl.Date, "peak_score": pl.Float64, "peak_period": pl.Date,
             "reasons": pl.String}  # fmt: skip
    return known.get(column) or flags.schema.get(column, pl.String)
