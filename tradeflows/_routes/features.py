"""Features: the indicators a detector reads, and the values the reasons quote, per route-month."""

from __future__ import annotations

import polars as pl

from tradeflows._expr import divided
from tradeflows._routes.policy import policy_names

__all__ = ["FEATURES", "features"]

#: The indicator columns the detectors read, in order.
FEATURES = [
    "inflow_rise",
    "outflow_rise",
    "outflow4_rise",
    "ghost",
    "booked",
    "diversion",
    "share_change",
    "gap_out_change",
    "gap_in_change",
    "reexport_share",
    "policy_did",
    "policy_did_products",
    "unit_value_ratio",
    "materiality",
]


def _extra(prefix: str, now: str = "level", usual: str = "usual") -> pl.Expr:
    """A series' monthly value over its rise's window above its usual level
    (USD a month, never negative)."""
    # A window or a history without a sound month has no mean (NaN): no excess.
    now_v = pl.col(f"{prefix}_{now}").fill_nan(None)
    return (now_v - pl.col(f"{prefix}_{usual}").fill_nan(None).fill_null(0.0)).clip(0.0)


def booked_excess() -> pl.Expr:
    """What the destination booked from the origin beyond what the origin reports
    sending, at the two sides' usual ratio (FOB, USD a month, never negative).

    Goods of the origin that reached the destination by another road show here
    when the hub does not report passing them on and the destination books
    them by origin. Null unless both sides of the direct leg filed that month.
    ``dir_gap_history`` is the usual mirror gap, ``(m - x) / max(m, x)``: the
    usual ratio of the destination's figure to the origin's is ``1 / (1 - g)``
    above 0 and ``1 + g`` below (at most 10).
    """
    g = pl.col("dir_gap_history").fill_nan(None).fill_null(0.0)
    usual_ratio = pl.when(g >= 0).then(1.0 / (1.0 - g).clip(0.1)).otherwise(1.0 + g)
    both_filed = pl.col("dir_x_cov").fill_null(False) & pl.col("dir_m_cov").fill_null(False)
    excess = pl.col("dir_m").fill_null(0.0) - pl.col("dir_x").fill_null(0.0) * usual_ratio
    return pl.when(both_filed).then(excess.clip(0.0))


def extra_value(
    out_seen: pl.Expr, ghost: pl.Expr, diversion: pl.Expr, in_extra: pl.Expr, booked_usd: pl.Expr
) -> pl.Expr:
    """What a route-month carried above its usual level, USD (see :func:`features`).

    The outflow's excess where the outflow is seen, the direct leg's where it
    shows a ghost, the smaller of the inflow's excess and the direct leg's loss
    where the origin's goods are diverted, the inflow's excess otherwise; never
    less than the part of the inflow's excess the destination booked from the
    origin beyond the origin's report.
    """
    diverted = pl.min_horizontal(
        in_extra, (pl.col("dir_usual_short") - pl.col("dir_level_short")).clip(0.0)
    )
    extra = (
        pl.when(out_seen)
        .then(_extra("out"))
        .when(ghost > 0)
        .then(_extra("dir"))
        .when(diversion > 0)
        .then(diverted)
        .otherwise(in_extra)
        .fill_null(0.0)
    )
    return pl.max_horizontal(extra, pl.min_horizontal(booked_usd, in_extra.fill_null(0.0)))


def features(rm: pl.LazyFrame, *, floor: pl.LazyFrame, calendar: pl.LazyFrame) -> pl.LazyFrame:
    """The features of each route-month whose legs say something that month.

    A route-month none of whose legs is covered (no side filed) is left out.
    ``covered`` is true where the inflow is covered and so is the leg the
    outflow evidence rests on (the outflow, its heading, or the direct leg
    where it shows a ghost, goods booked by origin or a diversion): only
    those months can be flagged. ``extra_usd`` is what the route carried
    above its usual level, destination by destination where the data shows
    it: the outflow's excess where the outflow is seen, the destination's
    excess imports from the origin where it books them by origin, the
    smaller of the inflow's excess and the direct leg's loss where the
    origin's goods are diverted, the inflow's excess otherwise; and never
    less than the part of the inflow's excess the destination booked from
    the origin beyond what the origin reports sending (``booked``: a hub
    that does not report the re-export hides it from the outflow).

    Parameters
    ----------
    rm : LazyFrame
        :func:`tradeflows._routes.route_months.route_months` with the policy breaks.
    floor : LazyFrame
        One row, ``floor``: the typical monthly flow (USD).
    calendar : LazyFrame
        :func:`tradeflows._routes.coverage.calendar`.

    Returns
    -------
    LazyFrame
        ``ROUTE_KEY``, ``period`` and the indicators.

    See Also
    --------
    tradeflows._routes.FEATURES : the features' names.
    tradeflows.detect_routes : what scores them.

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
    >>> from tradeflows._routes.policy import policy_breaks
    >>> rm = policy_breaks(rm, routes, series, cal.select('mi'), ['CHN'])
    >>> f = features(rm, floor=pl.LazyFrame({'floor': [1e6]}), calendar=cal).collect()
    >>> from tradeflows._routes import FEATURES
    >>> set(FEATURES) <= set(f.columns)
    True
    """
    in_seen, out_seen = (
        pl.col("in_covered").fill_null(False),
        pl.col("out_covered").fill_null(False),
    )
    side_seen = (
        out_seen | pl.col("out4_covered").fill_null(False) | pl.col("dir_covered").fill_null(False)
    )
    rm = rm.filter(in_seen | side_seen).join(floor, how="cross").join(calendar, on="mi", how="left")
    gap_out = pl.col("out_gap") - pl.col("out_gap_history").fill_null(0.0)
    gap_in = pl.col("in_gap") - pl.col("in_gap_history").fill_null(0.0)
    ghost_gap = pl.col("dir_gap") - pl.col("dir_gap_history").fill_null(0.0)
    uv_out = pl.col("out_v") / pl.col("out_kg")
    uv_in = pl.col("in_v") / pl.col("in_kg")
    quality = (
        pl.when(pl.col("out_slip") | pl.col("in_slip"))
        .then(pl.lit("unit slip suspected by the cleaning"))
        .when(pl.col("out_spike") | pl.col("in_spike"))
        .then(pl.lit("one report far from its mirror for one month"))
    )
    ghost = (
        pl.when(ghost_gap > 0.3).then(pl.col("dir_rise").clip(0.0)).otherwise(0.0).fill_null(0.0)
    )
    # A fall of the direct leg is evidence only in a month its exporter filed.
    diversion = pl.when(pl.col("dir_x_cov")).then(pl.col("dir_fall")).fill_null(0.0)
    in_extra = _extra("in", "level_recent", "usual_recent")
    booked_usd = booked_excess().fill_null(0.0)
    extra = extra_value(out_seen, ghost, diversion, in_extra, booked_usd)
    # Against the origin's own figure (the data's typical flow at least): scale-free.
    booked = (
        (booked_usd / pl.max_horizontal(pl.col("dir_x"), pl.col("floor"))).log1p().clip(0.0, 5.0)
    )
    result = rm.select(
        "_rid",
        "origin",
        "hub",
        "destination",
        "hs",
        "period",
        inflow_rise=pl.col("in_rise_recent").fill_null(0.0),
        # Beyond the rise of the destination's imports from everyone else.
        outflow_rise=(
            pl.col("out_rise").fill_null(0.0) - pl.col("dex_rise").clip(0.0).fill_null(0.0)
        ),
        outflow4_rise=(
            pl.col("out4_rise").fill_null(0.0) - pl.col("dex_rise").clip(0.0).fill_null(0.0)
        ),
        ghost=ghost,
        # The destination books goods from the origin that the origin does not
        # report sending: ln(1 + that excess / the origin's figure).
        booked=booked,
        diversion=diversion,
        share_change=pl.col("share_change").fill_null(0.0),
        gap_out_change=gap_out.abs().fill_null(0.0),
        gap_in_change=gap_in.abs().fill_null(0.0),
        reexport_share=(pl.col("out_v") / pl.col("in_v"))
        .clip(0.0, 2.0)
        .fill_nan(None)
        .fill_null(0.0),
        policy_did=pl.col("policy_did").fill_nan(None).fill_null(0.0),
        policy_did_products=pl.col("policy_did_products").fill_nan(None).fill_null(0.0),
        unit_value_ratio=(uv_out / uv_in).log().fill_nan(None).fill_null(0.0),
        # What the route carried above its usual level against the data's typical
        # monthly flow, in z-like units: 3.5 when it equals the floor, +3.5 a doubling.
        # The floor is one number: divided as every engine divides by one.
        materiality=(3.5 * (1.0 + divided(extra, pl.col("floor"))).log(2)).fill_null(0.0),
        # Flaggable: the inflow is seen, and so is the side the outflow evidence
        # rests on (the outflow, its heading, or the direct leg when it testifies).
        covered=in_seen
        & (
            out_seen
            | pl.col("out4_covered").fill_null(False)
            | (
                pl.col("dir_covered").fill_null(False)
                & ((ghost > 0) | (booked > 0) | (diversion > 0))
            )
        ),
        # The hub -> destination leg is seen (at the product or its heading):
        # without it, only the inflow and the direct leg speak.
        outflow_seen=out_seen | pl.col("out4_covered").fill_null(False),
        extra_usd=extra,
        inflow=pl.col("in_v"),
        outflow=pl.col("out_v"),
        direct=pl.col("dir_v"),
        outflow_level=pl.col("out_level"),
        direct_level=pl.col("dir_level_short"),
        inflow_peak=pl.col("in_level_recent"),
        inflow_usual=pl.col("in_usual_recent"),
        extra_inflow=in_extra.fill_null(0.0),
        booked_usd=booked_usd,
        outflow_usual=pl.col("out_usual"),
        outflow4_level=pl.col("out4_level"),
        outflow4_usual=pl.col("out4_usual"),
        inflow_by_origin=pl.col("in_x"),
        inflow_by_hub=pl.col("in_m"),
        outflow_by_hub=pl.col("out_x"),
        outflow_by_destination=pl.col("out_m"),
        destination_silent=~pl.col("out_m_cov").fill_null(False),
        origin_silent=(pl.col("origin") != "") & ~pl.col("in_x_cov").fill_null(False),
        # Months from the inflow's rise to the outflow's (null unless both rose).
        lag=(pl.col("out_onset") - pl.col("in_onset_recent")).cast(pl.Int32),
        gap_out=pl.col("out_gap"),
        gap_in=pl.col("in_gap"),
        hub_share=pl.col("share"),
        direct_usual=pl.col("dir_usual_short"),
        policy=pl.col("d_mi").replace_strict(policy_names(), default=None, return_dtype=pl.String),
        data_quality=quality,
    )
    # No evidence where a feature cannot be computed (no history, nothing to divide by).
    return result.with_columns(
        pl.when(pl.col(c).is_infinite())
        .then(0.0)
        .otherwise(pl.col(c))
        .fill_nan(0.0)
        .fill_null(0.0)
        .alias(c)
        for c in FEATURES
    )
