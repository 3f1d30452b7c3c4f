"""Route-months: every candidate route in every month, beside the series it reads."""

from __future__ import annotations

import polars as pl

from tradeflows._expr import with_previous_median

__all__ = ["route_months"]

_BASE = ["v", "x", "m", "covered", "x_cov", "m_cov", "rise", "fall", "usual", "level",
         "usual_short", "level_short", "gap", "gap_history", "slip", "spike", "kg", "cum", "onset",
         "last_covered"]  # fmt: skip
_RECENT = ["rise_recent", "level_recent", "usual_recent", "onset_recent"]


def _pick(series: pl.LazyFrame, kind: str, prefix: str, a: str, b: str, p: str, cols: list[str]):
    """The series of one role, renamed to join route-months on (a, b, p, mi)."""
    return series.filter(pl.col("kind") == kind).select(
        pl.col("a").alias(a),
        pl.col("b").alias(b),
        pl.col("p").alias(p),
        "mi",
        *[pl.col(c).alias(f"{prefix}_{c}") for c in cols],
    )


def route_months(
    routes: pl.LazyFrame,
    series: pl.LazyFrame,
    months: pl.LazyFrame,
    *,
    window: int = 24,
    history: int = 12,
    gpu: bool = False,
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
        The leg series with their evidence.
    months : LazyFrame
        The calendar.
    window, history : int
        As :func:`tradeflows.collect_route_indicators`.
    gpu : bool
        Build the plan for the GPU engine (no rolling median there).

    Returns
    -------
    LazyFrame

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
    >>> changes = series_changes(*series_rows(legs, routes), cal.select('mi'), coverage_from_pairs(pairs))
    >>> from tradeflows._routes.route_months import route_months
    >>> series = series_evidence(changes, null_table(null_counts(changes).collect()))
    >>> rm = route_months(routes, series, cal.select('mi'))
    >>> rm.select('origin', 'hub', 'destination').unique().sort('origin').collect().rows()
    [('', 'MYS', 'CHN'), ('USA', 'MYS', 'CHN')]
    """
    # The running sums' counts too, for the policy breaks' changes since a date.
    in_cols = [*_BASE, *_RECENT, "cum_n"]
    inflow_leg = _pick(series, "leg", "in", "origin", "hub", "hs", in_cols)
    inflow_hub = _pick(series, "hub_in", "hin", "origin", "hub", "hs", in_cols)
    outflow = _pick(series, "leg", "out", "hub", "destination", "hs", _BASE)
    outflow4 = _pick(
        series, "leg4", "out4", "hub", "destination", "hs4", ["rise", "covered", "level", "usual"]
    )
    direct = _pick(series, "leg", "dir", "origin", "destination", "hs", [*_BASE, "cum_n"])
    dest_tot = _pick(series, "dest_in", "dtot", "_a", "destination", "hs", ["v"]).drop("_a")
    dest_ex = _pick(series, "dest_ex", "dex", "hub", "destination", "hs", ["rise"])
    rm = (
        routes.join(months, how="cross")
        .join(inflow_leg, on=["origin", "hub", "hs", "mi"], how="left")
        .join(inflow_hub.drop("origin"), on=["hub", "hs", "mi"], how="left")
        .join(outflow, on=["hub", "destination", "hs", "mi"], how="left")
        .join(outflow4, on=["hub", "destination", "hs4", "mi"], how="left")
        .join(direct, on=["origin", "destination", "hs", "mi"], how="left")
        .join(dest_tot, on=["destination", "hs", "mi"], how="left")
        .join(dest_ex, on=["hub", "destination", "hs", "mi"], how="left")
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
