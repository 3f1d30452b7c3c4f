"""Route-months: every candidate route in every month, beside the series it reads."""

from __future__ import annotations

import polars as pl

from tradeflows._expr import with_previous_median
from tradeflows._routes.series import KINDS, SERIES_KEY, series_month

__all__ = ["EVIDENCE_READ", "of_kind", "route_months", "series_names"]

_BASE = ["v", "x", "m", "covered", "x_cov", "m_cov", "rise", "fall", "usual", "level",
         "usual_short", "level_short", "gap", "gap_history", "slip", "spike", "kg", "cum", "onset",
         "last_covered"]  # fmt: skip
_RECENT = ["rise_recent", "level_recent", "usual_recent", "onset_recent"]


def of_kind(series: pl.LazyFrame, kind: str) -> pl.LazyFrame:
    """The series-months of one kind (by its code, :func:`~tradeflows._routes.series.kind_code`)."""
    return series.filter(pl.col("_kind") == KINDS.index(kind))


def _pick(series: pl.LazyFrame, prefix: str, cols: list[str]) -> pl.LazyFrame:
    """The series-months a role reads, their columns prefixed by the role, keyed by
    :func:`series_month` (``_k_{prefix}``)."""
    return series.select(
        series_month(pl.col("_sid")).alias(f"_k_{prefix}"),
        *[pl.col(c).alias(f"{prefix}_{c}") for c in cols],
    )


#: The running sums' counts too, for the policy breaks' changes since a date.
_IN = [*_BASE, *_RECENT, "cum_n"]
#: Each role a series plays: its kind, the route's columns that name it (``_``:
#: any), the columns read.
_ROLES = {
    "in": ("leg", "origin", "hub", "hs", _IN),
    "hin": ("hub_in", "_", "hub", "hs", _IN),
    "out": ("leg", "hub", "destination", "hs", _BASE),
    "out4": ("leg4", "hub", "destination", "hs4", ["rise", "covered", "level", "usual"]),
    "dir": ("leg", "origin", "destination", "hs", [*_BASE, "cum_n"]),
    "dtot": ("dest_in", "_", "destination", "hs", ["v"]),
    "dex": ("dest_ex", "hub", "destination", "hs", ["rise"]),
}
#: The columns of the series' evidence that the route-months and the policy
#: breaks read: a run holds these only (the series' names apart, once each:
#: :func:`series_names`).
EVIDENCE_READ = ["_sid", "_kind", "mi", *_IN]


def series_names(series: pl.LazyFrame, months: pl.LazyFrame) -> pl.LazyFrame:
    """``_sid`` and ``SERIES_KEY`` of every series: a row each, not a row each month.

    What :func:`route_months` names the series by; a caller that builds the
    route-months in parts executes it once for all of them.

    Examples
    --------
    >>> s = pl.LazyFrame({"_sid": [0, 0], "kind": "leg", "a": "USA", "b": "MYS",
    ...     "p": "847150", "mi": [24288, 24289]})
    >>> series_names(s, s.select("mi")).collect().rows()
    [(0, 'leg', 'USA', 'MYS', '847150')]
    """
    # Every series has a row in every month: its first month names it once.
    first = series.join(months.select(pl.col("mi").min()), on="mi", how="semi")
    return first.select("_sid", *SERIES_KEY)


def _numbered(routes: pl.LazyFrame, names: pl.LazyFrame, roles: dict[str, tuple]) -> pl.LazyFrame:
    """``routes`` with the number of the series each role reads (``_s_{prefix}``;
    null where the data holds no such series)."""
    for prefix, (kind, a, b, p, _) in roles.items():
        key = {"a": a, "b": b, "p": p}
        on = [name for name in key.values() if not name.startswith("_")]
        routes = routes.join(
            names.filter(pl.col("kind") == kind).select(
                *(pl.col(k).alias(v) for k, v in key.items() if v in on),
                pl.col("_sid").alias(f"_s_{prefix}"),
            ),
            on=on,
            how="left",
            maintain_order="left",
        )
    return routes


def route_months(
    routes: pl.LazyFrame,
    series: pl.LazyFrame,
    months: pl.LazyFrame,
    *,
    window: int = 24,
    history: int = 12,
    gpu: bool = False,
    names: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Each route in each month with the series it reads, prefixed by their role.

    ``in_``: the inflow, origin -> hub (for an empty origin, the hub's imports
    from everyone); ``out_``: the outflow, hub -> destination; ``out4_``: the
    same at the product's heading; ``dir_``: the direct leg, origin ->
    destination; ``dtot_``: the destination's imports of the product from
    everyone, ``dex_``: from everyone but the hub. ``share_change`` is the
    change of the hub's share of the destination's imports (or, seen from the
    origin, of the hub's share of the origin's shipments to the hub and the
    destination) against its median of the previous ``window`` months.

    Parameters
    ----------
    routes : LazyFrame
        The candidate routes.
    series : LazyFrame
        The leg series with their evidence, executed (a frame in memory: the
        plan reads it once for each role and for the series' names, and an
        unexecuted plan would be computed again each time).
    months : LazyFrame
        The calendar.
    window, history : int
        As :func:`tradeflows.collect_route_indicators`.
    gpu : bool
        Build the plan for the GPU engine (no rolling median there).
    names : LazyFrame, optional
        :func:`series_names` of ``series``: what a series without its names
        (:data:`EVIDENCE_READ` only) is read with.

    Returns
    -------
    LazyFrame
        With the numbers of the series read as the inflow, the hub's imports
        from everyone and the direct leg (``_s_in``, ``_s_hin``, ``_s_dir``):
        :func:`~tradeflows._routes.policy.policy_breaks` reads them.

    See Also
    --------
    tradeflows._routes.features.features : the indicators computed from them.

    Examples
    --------
    >>> from tradeflows import collect_mirror
    >>> from tradeflows.datasets import toy_trade
    >>> from tradeflows._routes import calendar, candidate_routes, monthly_legs
    >>> from tradeflows._routes.coverage import coverage_from_pairs
    >>> pairs = collect_mirror(toy_trade()).lazy()
    >>> legs = monthly_legs(pairs)
    >>> routes = candidate_routes(legs, ['CHN'])
    >>> from tradeflows._routes.series import null_counts, null_table, series_changes, series_evidence, series_rows
    >>> cal = calendar(*legs.select(lo=pl.col('mi').min(), hi=pl.col('mi').max()).collect().row(0))
    >>> changes = series_changes(*series_rows(legs, routes), cal.select('mi'), coverage_from_pairs(pairs)).collect().lazy()
    >>> from tradeflows._routes.route_months import route_months
    >>> series = series_evidence(changes, null_table(null_counts(changes).collect())).collect().lazy()
    >>> rm = route_months(routes, series, cal.select('mi'))
    >>> rm.select('origin', 'hub', 'destination').unique().sort('origin').collect().rows()
    [('', 'MYS', 'CHN'), ('USA', 'MYS', 'CHN')]
    """
    roles, in_cols = _ROLES, _IN
    # Each route-month reads a role's series-month by one integer (series_month):
    # 0.45 s against 0.94 s for joins on the names and month at 11.9M report rows.
    if names is None:
        names = series_names(series, months)
    numbered = _numbered(routes, names, roles)
    rm = numbered.join(months.sort("mi"), how="cross", maintain_order="left_right")
    for prefix, (*_, cols) in roles.items():
        # Of the series, those these routes read in this role: a part of a
        # group's routes copies its own, not every series of the kind (the
        # one-chapter 11M store's parts: 4.6-5.1 s -> 3.1-3.5 s each;
        # benchmarks/RESULTS.md, issue 27).
        read = numbered.select(_sid=f"_s_{prefix}").drop_nulls().unique()
        rm = rm.join(
            _pick(series.join(read, on="_sid", how="semi"), prefix, cols),
            left_on=series_month(pl.col(f"_s_{prefix}")),
            right_on=f"_k_{prefix}",
            how="left",
            maintain_order="left",
        )
    # The inflow's and the direct leg's numbers stay for the policy breaks.
    keep = ("_s_in", "_s_hin", "_s_dir")
    rm = rm.drop(
        c for c in rm.collect_schema().names() if c.startswith(("_s_", "_k_")) and c not in keep
    )
    # An empty origin reads the hub's imports from everyone as its inflow.
    no_origin = pl.col("origin") == ""
    rm = rm.with_columns(
        pl.when(no_origin).then(pl.col(f"hin_{c}")).otherwise(pl.col(f"in_{c}")).alias(f"in_{c}")
        for c in in_cols
    )
    rm = rm.drop([c for c in rm.collect_schema().names() if c.startswith("hin_")])
    share = pl.col("out_v") / pl.col("dtot_v")
    div_share = pl.col("in_v") / (pl.col("in_v") + pl.col("dir_v"))
    rm = rm.with_columns(
        share=pl.when(pl.col("dtot_v") > 0).then(share),
        div_share=pl.when((pl.col("in_v") + pl.col("dir_v")) > 0).then(div_share),
    )
    opts = {"by": ["_rid"], "order": "mi", "window": window, "min_samples": history // 2,
            "gpu": gpu}  # fmt: skip
    rm = with_previous_median(rm, "share", "_share_med", **opts)
    rm = with_previous_median(rm, "div_share", "_div_med", **opts)
    return rm.with_columns(
        share_change=pl.coalesce(
            pl.col("share") - pl.col("_share_med"), pl.col("div_share") - pl.col("_div_med")
        )
    ).drop("_share_med", "_div_med")
