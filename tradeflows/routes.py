"""Origin -> hub -> destination routes and their indicators, per route-month.

A route is an origin O, a hub H, a destination D and a product p (the HS code
as the data has it). :func:`route_indicators` builds the candidate routes from
whatever legs the data has:

- every H -> D leg into a destination of concern, with the hub's largest
  suppliers of p as origins (and an empty origin standing for all of them), and
- every O -> H leg whose origin also ships p to D directly, for data that sees
  only the origin's side (an exporter-only Eurostat file): the signal is then a
  diversion from the direct leg to the hub.

Each leg is a monthly series on a dense month grid (a month nobody reports is
zero) of its largest report, in FOB terms, so that a hub hiding its re-exports
or a destination booking them elsewhere does not hide the flow. Against the
series' own history:

- ``rise``: the log change against the median of the previous 24 months, and
  never more than the change on the same month a year earlier (so a seasonal
  peak is not a rise); in robust z units (the median month-to-month change of
  the previous 24 months, scaled as a MAD);
- ``usual``: that median in USD, for the reasons.

Per route-month the indicators (``FEATURES``) are the inflow's rise (the
largest over the last four months: goods arrive up to three months before they
leave), the outflow's rise at p and at its heading (close products, same HS4),
beyond the rise of D's imports of p from everyone else (a destination that buys
more from everyone is not evidence against the hub), the ghost pattern (D books
more from O than O reports, new), the diversion (O's
direct exports to D fall), the change of the hub's share of D's imports of p
(or of O's shipments to H and D), the change of each leg's mirror gap, the
re-export share, the break at the last policy date against the hub's imports of
other products and the origin's exports to other partners (a
difference-in-differences), the unit-value ratio of the legs, and the
materiality of the extra inflow against the data's typical monthly flow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from tradeflows._expr import all_true, any_true, month_index, with_previous_median
from tradeflows.reference import controlled_hs, destinations_of_concern, policy_dates

__all__ = ["FEATURES", "ROUTE_KEY", "route_indicators"]

#: The indicator columns the detectors read, in order.
FEATURES = [
    "inflow_rise",
    "outflow_rise",
    "outflow4_rise",
    "ghost",
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
#: One route: origin ("" when seen only from the hub), hub, destination, product.
ROUTE_KEY = ["origin", "hub", "destination", "hs"]

_SKEY = ["kind", "a", "b", "p"]
_SCALE_FLOOR = 0.25
#: A rise of this many robust z units is evidence (the reasons use the same line).
_EVIDENCE = 3.0


def _leg_value() -> pl.Expr:
    """A leg's value in a month: its largest report, in FOB terms."""
    m_fob = pl.col("value_m") / pl.col("cif_fob")
    return pl.max_horizontal(pl.col("value_x").fill_null(0.0), m_fob.fill_null(0.0))


def _hs_filter(hs: Iterable[str] | None) -> pl.Expr:
    """Rows whose HS code starts with one of the prefixes (all rows without any)."""
    if not hs:
        return pl.lit(True)
    return pl.any_horizontal(pl.col("hs").str.starts_with(h) for h in hs)


def _floor() -> pl.Expr:
    """The typical monthly flow: the median positive leg value (``v``)."""
    return pl.when(pl.col("v") > 0).then(pl.col("v")).median().fill_null(1000.0)


def _materialise(lf: pl.LazyFrame, engine: str | None) -> pl.LazyFrame:
    """Execute a shared intermediate once (through the engine) and go on lazily.

    The route plan reads the legs, the candidate routes and the leg series many
    times over; polars' ``cache()`` did not always share them (a 10M-row store
    recomputed the series some twenty times), so these three are executed once.
    """
    from tradeflows.engine import collect

    return collect(lf, engine).lazy()


def _series_rows(legs: pl.LazyFrame, kind: str, a, b, p) -> pl.LazyFrame:
    """Sum legs into one series kind: a, b, p are expressions naming the series."""
    return legs.group_by(kind=pl.lit(kind), a=a, b=b, p=p, mi="mi").agg(
        v=pl.col("v").sum(),
        # Null, not zero, where no report of that side exists.
        x=pl.when(any_true(pl.col("x").is_not_null())).then(pl.col("x").sum()),
        m=pl.when(any_true(pl.col("m").is_not_null())).then(pl.col("m").sum()),
        kg=pl.when(any_true(pl.col("kg").is_not_null())).then(pl.col("kg").sum()),
        gap=pl.col("gap").first() if kind == "leg" else pl.lit(None, pl.Float64),
        gap_history=pl.col("gap_history").first() if kind == "leg" else pl.lit(None, pl.Float64),
        slip=any_true(pl.col("slip")),
        silent=all_true(pl.col("importer_silent")) if kind == "leg" else pl.lit(None, pl.Boolean),
    )


def _series_features(
    rows: pl.LazyFrame, months: pl.LazyFrame, window: int, engine: str | None = None
) -> pl.LazyFrame:
    """Dense monthly series and their rise against their own (seasonal) history.

    Every series has a row for every month, sorted by series and month, so a
    value ``k`` months back is the row ``k`` rows up (within the series: its
    position ``_i`` is at least ``k``); this reads each column once instead of
    grouping it by the series' four keys for every shift.
    """
    # Numbered in sorted order: the plan may read ``keys`` twice (the GPU
    # engine's previous median joins the series to itself), so the numbers
    # must not depend on the order ``unique`` happens to give.
    keys = rows.select(_SKEY).unique().sort(_SKEY).with_row_index("_sid")
    dense = (
        keys.join(months, how="cross")
        .join(rows, on=[*_SKEY, "mi"], how="left")
        .sort("_sid", "mi")
        .with_columns(_i=pl.col("mi") - pl.col("mi").min())
    )
    last = pl.col("_i").max()

    def back(expr: pl.Expr, k: int) -> pl.Expr:
        """``expr`` ``k`` months back in the same series (``k < 0``: ahead); null outside it."""
        inside = pl.col("_i") >= k if k > 0 else pl.col("_i") <= last + k
        return pl.when(inside).then(expr.shift(k))

    lv = (pl.col("v").fill_null(0.0) / 1000.0).log1p()
    history = {"by": ["_sid"], "order": "mi", "window": window, "min_samples": 6, "engine": engine}
    dense = dense.with_columns(
        v=pl.col("v").fill_null(0.0), slip=pl.col("slip").fill_null(False), lv=lv
    ).with_columns(
        yoy=pl.col("lv") - back(pl.col("lv"), 12),
        step=(pl.col("lv") - back(pl.col("lv"), 1)).abs(),
        # order_by: the rows are in order, but an engine may group them otherwise.
        cum=pl.col("lv").cum_sum().over("_sid", order_by="mi"),
    )
    dense = with_previous_median(dense, "lv", "med", **history)
    dense = with_previous_median(dense, "step", "_step_med", **history)
    # The rise of this month and of the three before it.
    lagged = [pl.col("rise_z"), *(back(pl.col("rise_z"), k) for k in (1, 2, 3))]

    def at_k(col: str) -> pl.Expr:
        """``col`` ``_k`` months back."""
        expr = pl.when(pl.col("_k") == 0).then(pl.col(col))
        for k in (1, 2, 3):
            expr = expr.when(pl.col("_k") == k).then(back(pl.col(col), k))
        return expr

    return (
        dense.with_columns(
            scale=pl.max_horizontal(1.4826 * pl.col("_step_med"), pl.lit(_SCALE_FLOOR)),
            level=pl.col("lv") - pl.col("med"),
        )
        .with_columns(
            rise=pl.when(pl.col("yoy").is_null())
            .then(pl.col("level"))
            .otherwise(pl.min_horizontal("level", "yoy")),
            usual=(pl.col("med").exp() - 1.0) * 1000.0,
        )
        .with_columns(
            # One report far from its mirror, for one month only: a data-quality event.
            spike=(pl.col("v") > 20 * back(pl.col("v"), 1))
            & (pl.col("v") > 20 * back(pl.col("v"), -1))
            & ((pl.col("x") > 20 * pl.col("m")) | (pl.col("m") > 20 * pl.col("x"))).fill_null(
                False
            ),
        )
        .with_columns(
            # Evidence from a data-quality event does not count as a rise.
            rise_z=pl.when(pl.col("slip") | pl.col("spike"))
            .then(0.0)
            .otherwise(pl.col("rise") / pl.col("scale"))
            .fill_null(0.0),
            # A fall is measured against the median only (a fall from a seasonal
            # peak a year ago is not a fall).
            fall_z=(-pl.col("level") / pl.col("scale")).clip(0.0).fill_null(0.0),
        )
        .with_columns(
            rise_z_lagged=pl.max_horizontal(lagged),
            # Which of the last four months the lagged values quote: the earliest
            # that clears the evidence line (the strongest when none does).
            _k=pl.coalesce(
                pl.max_horizontal(
                    pl.when(rise >= _EVIDENCE).then(pl.lit(k)) for k, rise in enumerate(lagged)
                ),
                _first_max(lagged),
            ),
            # Runs of months that clear the evidence line, to date each rise's
            # onset; one month below it (a missing report) does not end a run.
            _run=(
                (pl.col("rise_z") < _EVIDENCE)
                & (back(pl.col("rise_z"), -1).fill_null(0.0) < _EVIDENCE)
            )
            .cum_sum()
            .over("_sid", order_by="mi"),
        )
        .with_columns(
            v_lagged=at_k("v"),
            usual_lagged=at_k("usual"),
            # The first month of the current rise (null when not rising).
            onset=pl.when(pl.col("rise_z") >= _EVIDENCE).then(
                pl.when(pl.col("rise_z") >= _EVIDENCE).then(pl.col("mi")).min().over("_sid", "_run")
            ),
        )
        .with_columns(
            # The onset of a rise in the last four months (goods arrive before they leave).
            onset_recent=pl.coalesce(
                [pl.col("onset")] + [back(pl.col("onset"), k) for k in (1, 2, 3)]
            )
        )
        .drop("step", "_step_med", "yoy", "_k", "_run", "_sid", "_i")
    )


def _first_max(values: list[pl.Expr]) -> pl.Expr:
    """The position of the first largest of ``values`` (nulls skipped)."""
    top = pl.max_horizontal(values)
    expr = pl.when(values[0] == top).then(pl.lit(0, pl.UInt32))
    for k, v in enumerate(values[1:], 1):
        expr = expr.when(v == top).then(pl.lit(k, pl.UInt32))
    return expr


def _pick(series: pl.LazyFrame, kind: str, prefix: str, a: str, b: str, p: str, cols: list[str]):
    """The series of one role, renamed to join route-months on (a, b, p, mi)."""
    return series.filter(pl.col("kind") == kind).select(
        pl.col("a").alias(a),
        pl.col("b").alias(b),
        pl.col("p").alias(p),
        "mi",
        *[pl.col(c).alias(f"{prefix}_{c}") for c in cols],
    )


def _policy_epochs(months: pl.LazyFrame, destinations: list[str]) -> pl.LazyFrame:
    """For each destination and month: the month index of the last control date
    aimed at it (within 36 months), or null."""
    pairs = [
        (target, date.year * 12 + date.month - 1)
        for date, targets in zip(policy_dates()["date"], policy_dates()["targets"], strict=True)
        for target in targets
        if target in destinations
    ]
    dates = pl.LazyFrame(pairs, schema={"destination": pl.String, "d_mi": pl.Int32}, orient="row")
    return (
        months.join(dates, how="cross")
        .filter((pl.col("mi") >= pl.col("d_mi")) & (pl.col("mi") < pl.col("d_mi") + 36))
        .group_by("destination", "mi")
        .agg(pl.col("d_mi").max())
    )


def _policy_names() -> dict[int, str]:
    return {
        d.year * 12 + d.month - 1: f"{name} ({d.isoformat()})"
        for d, name in zip(policy_dates()["date"], policy_dates()["name"], strict=True)
    }


def route_indicators(
    pairs: pl.LazyFrame,
    *,
    destinations: Iterable[str] | None = None,
    hubs: Iterable[str] | None = None,
    hs: Iterable[str] | None = None,
    since: str | None = None,
    max_origins: int = 5,
    window: int = 24,
    floor: float | None = None,
    span: tuple[int, int] | None = None,
    engine: str | None = None,
) -> pl.LazyFrame:
    """Candidate routes and their indicators per route-month.

    Parameters
    ----------
    pairs : LazyFrame
        The result of :func:`tradeflows.mirror.mirror` (monthly rows are used).
    destinations : iterable of str, optional
        Destinations of concern (ISO3); default the reference list
        (:func:`tradeflows.reference.destinations_of_concern`). ``["all"]``
        treats every partner as a possible destination.
    hubs : iterable of str, optional
        Restrict hubs to these; default every country in the data.
    hs : iterable of str, optional
        HS code prefixes to keep; default every product.
    since : str, optional
        ``YYYY-MM``: keep route-months from this month on (history before it
        still counts).
    max_origins : int
        Origins per hub and product: the hub's largest suppliers.
    window : int
        Months of history a series' rise is measured against.
    floor : float, optional
        A material monthly amount (USD): ``materiality`` reaches 3.5 when a
        route's extra inflow equals it. Default: the median monthly flow in the
        data, so that a rise from nothing to a few thousand dollars does not
        outrank a rise of millions.
    span : tuple of int, optional
        First and last month (``year * 12 + month - 1``) of the monthly grid;
        default the data's. With ``floor``, what a part of the data (an HS
        chapter) needs to give the same indicators as the whole.
    engine : str, optional
        Where the three shared intermediates (legs, candidate routes, leg
        series) are executed; the rest stays lazy.

    Returns
    -------
    LazyFrame
        ``ROUTE_KEY``, ``period``, ``FEATURES`` and the values the reasons quote
        (``inflow``, ``outflow``, ``inflow_ratio``, ``outflow_ratio``, ``lag``,
        ``gap_out``, ``hub_share``, ``data_quality``).

    Examples
    --------
    >>> import datetime as dt
    >>> from tradeflows.mirror import mirror
    >>> months = [dt.date(2022 + k // 12, k % 12 + 1, 1) for k in range(36)]
    >>> grow = [1e6 * (1 if k < 24 else 6) for k in range(36)]
    >>> rows = {"freq": "M", "period": months * 2, "reporter": ["USA"] * 36 + ["MYS"] * 36,
    ...     "partner": ["MYS"] * 36 + ["CHN"] * 36, "flow": "X", "hs": "847150",
    ...     "value_usd": grow + [0.8 * g - 7e5 for g in grow], "net_kg": None,
    ...     "slip_suspect": False}
    >>> lf = pl.LazyFrame(rows).with_columns(pl.col("net_kg").cast(pl.Float64))
    >>> r = route_indicators(mirror(lf).collect().lazy(), destinations=["CHN"]).collect()
    >>> top = r.filter(origin="USA").sort("inflow_rise", descending=True).row(0, named=True)
    >>> top["hub"], top["destination"], top["period"], top["inflow_rise"] > 5
    ('MYS', 'CHN', datetime.date(2024, 1, 1), True)
    """
    monthly = pairs.filter(pl.col("freq") == "M")
    legs = monthly.select(
        "exporter",
        "importer",
        "hs",
        "gap",
        "gap_history",
        "slip",
        "importer_silent",
        mi=month_index(),
        x=pl.col("value_x"),
        m=pl.col("value_m") / pl.col("cif_fob"),
        v=_leg_value(),
        kg=pl.max_horizontal("kg_x", "kg_m"),
    ).filter(_hs_filter(hs))
    legs = _materialise(legs, engine)
    dest = list(destinations or destinations_of_concern())
    everyone = [d.lower() for d in dest] == ["all"]
    is_dest = pl.lit(True) if everyone else pl.col("importer").is_in(dest)
    hub_ok = pl.col("exporter").is_in(list(hubs)) if hubs else pl.lit(True)

    # Routes seen from the hub's side: H -> D legs, with the hub's largest
    # suppliers of the product or a close one (same heading: a hub may re-export
    # under a sibling code).
    out_legs = (
        legs.filter(is_dest & hub_ok)
        .select(hub="exporter", destination="importer", hs="hs")
        .unique()
        .with_columns(hs4=pl.col("hs").str.slice(0, 4))
    )
    # The largest suppliers, and those whose shipments grew the most (a new
    # supplier of an episode is small beside the established ones).
    n_months = legs.select(n_months=pl.col("mi").max() - pl.col("mi").min() + 1)
    suppliers = (
        legs.group_by(origin="exporter", hub="importer", hs="hs")
        .agg(
            total=pl.col("v").sum(),
            peak=(pl.col("v").max() / 1000).log1p(),
            usual=(pl.col("v").median() / 1000).log1p(),
            n=pl.len(),
        )
        .filter(pl.col("total") > 0)
        .join(n_months, how="cross")
        .with_columns(
            # The peak over the usual month, a month without shipments counting as zero.
            growth=pl.col("peak")
            - pl.when(2 * pl.col("n") < pl.col("n_months")).then(0.0).otherwise(pl.col("usual"))
        )
        .with_columns(
            by_size=pl.col("total").rank("ordinal", descending=True).over("hub", "hs"),
            by_growth=pl.col("growth").rank("ordinal", descending=True).over("hub", "hs"),
        )
        .filter((pl.col("by_size") <= max_origins) | (pl.col("by_growth") <= max_origins))
        .select("origin", "hub", "hs", hs4=pl.col("hs").str.slice(0, 4))
    )
    seen_from_hub = pl.concat(
        [
            out_legs.select("hub", "destination", "hs4")
            .unique()
            .join(suppliers, on=["hub", "hs4"]),
            out_legs.with_columns(origin=pl.lit("")),
        ],
        how="diagonal",
    )
    # Routes seen from the origin's side: O -> H and O -> D for the same product.
    direct = (
        legs.filter(is_dest).select(origin="exporter", destination="importer", hs="hs").unique()
    )
    inflow_legs = (
        legs.filter(pl.col("exporter").is_in(dest).not_() if not everyone else pl.lit(True))
        .select(origin="exporter", hub="importer", hs="hs")
        .unique()
    )
    if hubs:
        inflow_legs = inflow_legs.filter(pl.col("hub").is_in(list(hubs)))
    if not everyone:
        inflow_legs = inflow_legs.filter(pl.col("hub").is_in(dest).not_())
    seen_from_origin = inflow_legs.join(direct, on=["origin", "hs"], how="inner")
    routes = (
        pl.concat([seen_from_hub.select(ROUTE_KEY), seen_from_origin.select(ROUTE_KEY)])
        .unique()
        .filter(
            (pl.col("origin") != pl.col("hub"))
            & (pl.col("origin") != pl.col("destination"))
            & (pl.col("hub") != pl.col("destination"))
        )
        .with_columns(hs4=pl.col("hs").str.slice(0, 4))
    )
    # A route's number (``_rid``): its series are grouped by one integer, not four strings.
    routes = _materialise(routes.with_row_index("_rid"), engine)

    span = (
        legs.select(lo=pl.col("mi").min(), hi=pl.col("mi").max())
        if span is None
        else pl.LazyFrame(
            {"lo": [span[0]], "hi": [span[1]]}, schema={"lo": pl.Int32, "hi": pl.Int32}
        )
    )
    # No legs (an --hs or --hubs that matches nothing): an empty month range.
    from tradeflows.engine import collect

    lo, hi = collect(span, engine).row(0)
    mis = range(lo or 0, (hi if hi is not None else -1) + 1)
    # Built here: the GPU engine makes no dates from integers.
    calendar = pl.LazyFrame(
        {"mi": mis, "period": [dt.date(m // 12, m % 12 + 1, 1) for m in mis]},
        schema={"mi": pl.Int32, "period": pl.Date},
    )
    months = calendar.select("mi")

    # Only the series a route needs: its legs, the hub's and the destination's totals.
    need_hubs = routes.select(h="hub").unique()
    need_dest = routes.select(d="destination").unique()
    leg_keys = pl.concat(
        [
            routes.select(a="origin", b="hub", p="hs"),
            routes.select(a="hub", b="destination", p="hs"),
            routes.select(a="origin", b="destination", p="hs"),
        ]
    ).unique()
    legs_kept = legs.join(
        leg_keys, left_on=["exporter", "importer", "hs"], right_on=["a", "b", "p"], how="semi"
    )
    hub_in = legs.join(need_hubs, left_on="importer", right_on="h", how="semi")
    dest_in = legs.join(need_dest, left_on="importer", right_on="d", how="semi")
    # The destination's imports from everyone but the hub: a destination that
    # buys more from everyone is not evidence against the hub.
    dest_others = (
        dest_in.join(
            routes.select("hub", "destination", "hs").unique(),
            left_on=["importer", "hs"],
            right_on=["destination", "hs"],
        )
        .filter(pl.col("exporter") != pl.col("hub"))
        .with_columns(exporter=pl.col("hub"))
    )
    out4 = legs.join(
        routes.select(a="hub", b="destination").unique(),
        left_on=["exporter", "importer"],
        right_on=["a", "b"],
        how="semi",
    )
    series_rows = pl.concat(
        [
            _series_rows(legs_kept, "leg", pl.col("exporter"), pl.col("importer"), pl.col("hs")),
            _series_rows(hub_in, "hub_in", pl.lit(""), pl.col("importer"), pl.col("hs")),
            _series_rows(dest_in, "dest_in", pl.lit(""), pl.col("importer"), pl.col("hs")),
            _series_rows(
                dest_others, "dest_ex", pl.col("exporter"), pl.col("importer"), pl.col("hs")
            ),
            _series_rows(
                out4, "leg4", pl.col("exporter"), pl.col("importer"), pl.col("hs").str.slice(0, 4)
            ),
        ]
    )
    series = _materialise(_series_features(series_rows, months, window, engine), engine)

    base = ["v", "rise_z", "usual", "gap", "gap_history", "slip", "spike", "kg", "cum"]
    in_cols = [*base, "rise_z_lagged", "onset_recent", "v_lagged", "usual_lagged"]
    inflow_leg = _pick(series, "leg", "in", "origin", "hub", "hs", in_cols)
    inflow_hub = _pick(series, "hub_in", "hin", "origin", "hub", "hs", in_cols)
    outflow = _pick(
        series, "leg", "out", "hub", "destination", "hs", [*base, "x", "m", "silent", "onset"]
    )
    outflow4 = _pick(series, "leg4", "out4", "hub", "destination", "hs4", ["rise_z"])
    direct_s = _pick(
        series,
        "leg",
        "dir",
        "origin",
        "destination",
        "hs",
        ["v", "rise_z", "fall_z", "usual", "gap", "gap_history"],
    )
    dest_tot = _pick(series, "dest_in", "dtot", "_a", "destination", "hs", ["v"]).drop("_a")
    dest_ex = _pick(series, "dest_ex", "dex", "hub", "destination", "hs", ["rise_z"])

    rm = (
        routes.join(months, how="cross")
        .join(inflow_leg, on=["origin", "hub", "hs", "mi"], how="left")
        .join(inflow_hub.drop("origin"), on=["hub", "hs", "mi"], how="left")
        .join(outflow, on=["hub", "destination", "hs", "mi"], how="left")
        .join(outflow4, on=["hub", "destination", "hs4", "mi"], how="left")
        .join(direct_s, on=["origin", "destination", "hs", "mi"], how="left")
        .join(dest_tot, on=["destination", "hs", "mi"], how="left")
        .join(dest_ex, on=["hub", "destination", "hs", "mi"], how="left")
    )
    # An empty origin reads the hub's imports from everyone as its inflow.
    no_origin = pl.col("origin") == ""
    for c in in_cols:
        rm = rm.with_columns(
            pl.when(no_origin)
            .then(pl.col(f"hin_{c}"))
            .otherwise(pl.col(f"in_{c}"))
            .alias(f"in_{c}")
        )
    rm = rm.drop([c for c in rm.collect_schema().names() if c.startswith("hin_")])

    share = pl.col("out_v") / pl.col("dtot_v")
    div_share = pl.col("in_v") / (pl.col("in_v") + pl.col("dir_v"))
    rm = rm.with_columns(
        share=pl.when(pl.col("dtot_v") > 0).then(share),
        div_share=pl.when((pl.col("in_v") + pl.col("dir_v")) > 0).then(div_share),
    )
    history = {"by": ["_rid"], "order": "mi", "window": window, "min_samples": 6, "engine": engine}
    rm = with_previous_median(rm, "share", "_share_med", **history)
    rm = with_previous_median(rm, "div_share", "_div_med", **history)
    rm = rm.with_columns(
        share_change=pl.coalesce(
            pl.col("share") - pl.col("_share_med"), pl.col("div_share") - pl.col("_div_med")
        )
    ).drop("_share_med", "_div_med")

    # Difference-in-differences at the last control date aimed at the destination.
    epochs = _policy_epochs(
        months,
        dest if not everyone else sorted({t for ts in policy_dates()["targets"] for t in ts}),
    )
    # The months a change is read at: before the control date, a year before
    # it, and the months since it.
    epoch_months = {
        "d_prev": pl.col("d_mi") - 1,
        "d_pre": pl.col("d_mi") - 13,
        "n_post": pl.col("mi") - pl.col("d_mi") + 1,
    }
    rm = rm.join(epochs, on=["destination", "mi"], how="left").with_columns(**epoch_months)
    cum = series.select(*_SKEY, "mi", "cum")

    def change(prefix: str) -> pl.Expr:
        """Mean log level since the control date minus over the 12 months before it."""
        post = (pl.col(f"{prefix}_ct") - pl.col(f"{prefix}_cd")) / pl.col("n_post")
        return post - (pl.col(f"{prefix}_cd") - pl.col(f"{prefix}_cp")) / 12.0

    def attach(frame: pl.LazyFrame, src: pl.LazyFrame, prefix: str, on: list[str]) -> pl.LazyFrame:
        for k, col in (("t", "mi"), ("d", "d_prev"), ("p", "d_pre")):
            frame = frame.join(
                src.rename({"mi": col, "cum": f"{prefix}_c{k}"}), on=[*on, col], how="left"
            )
        return frame

    leg_cum = cum.filter(pl.col("kind") == "leg")
    hub_cum = cum.filter(pl.col("kind") == "hub_in").select(hub="b", hs="p", mi="mi", cum="cum")
    rm = attach(
        rm,
        leg_cum.select(origin="a", hub="b", hs="p", mi="mi", cum="cum"),
        "cin",
        ["origin", "hub", "hs"],
    )
    rm = attach(rm, hub_cum, "chub", ["hub", "hs"])
    rm = attach(
        rm,
        leg_cum.select(origin="a", destination="b", hs="p", mi="mi", cum="cum"),
        "cdir",
        ["origin", "destination", "hs"],
    )
    rm = rm.with_columns(in_change=pl.when(no_origin).then(change("chub")).otherwise(change("cin")))
    # Control 1: the hub's imports of uncontrolled products of the same HS chapter
    # (of all its products when the chapter holds controlled ones only), at the
    # same control date. Within the chapter: similar goods, and a chapter is a
    # self-contained part of the work (see tradeflows.detect partitioning).
    controlled = sorted(controlled_hs())
    # It depends on the destination only through its control date: computed
    # once per date, not once per destination sharing it (Russia, Belarus).
    hub_epochs = (
        routes.select("hub", "destination")
        .unique()
        .join(epochs, on="destination")
        .select("hub", "mi", "d_mi")
        .unique()
        .with_columns(**epoch_months)
        .join(hub_cum.select("hub", "hs").unique(), on="hub")
    )
    control_products = (
        attach(hub_epochs, hub_cum, "chub", ["hub", "hs"])
        .with_columns(
            dchg=change("chub"),
            uncontrolled=pl.col("hs").str.slice(0, 6).is_in(controlled).not_(),
            chapter=pl.col("hs").str.slice(0, 2),
        )
        .group_by("hub", "d_mi", "mi", "chapter")
        .agg(
            ctrl_products=pl.coalesce(
                pl.when(pl.col("uncontrolled")).then(pl.col("dchg")).median(),
                pl.col("dchg").median(),
            )
        )
    )
    # Control 2: the origin's shipments of the product to its other partners on
    # the hub side (the direct leg to the destination when it has none).
    partner_ctrl = (
        rm.select("origin", "hs", "mi", "destination", "hub", "in_change")
        .filter(pl.col("origin") != "")
        .unique()
        .with_columns(
            total=pl.col("in_change").sum().over("origin", "hs", "mi", "destination"),
            n=pl.col("in_change").count().over("origin", "hs", "mi", "destination"),
        )
        .select(
            "origin",
            "hs",
            "mi",
            "destination",
            "hub",
            ctrl_partners=pl.when(pl.col("n") > 1).then(
                (pl.col("total") - pl.col("in_change")) / (pl.col("n") - 1)
            ),
        )
    )
    rm = (
        rm.with_columns(chapter=pl.col("hs").str.slice(0, 2))
        .join(control_products, on=["hub", "d_mi", "mi", "chapter"], how="left")
        .join(partner_ctrl, on=["origin", "hs", "mi", "destination", "hub"], how="left")
        .with_columns(
            policy_did=pl.col("in_change") - pl.coalesce("ctrl_partners", change("cdir")),
            policy_did_products=pl.col("in_change") - pl.col("ctrl_products"),
        )
    )

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
    typical = (
        legs.select(floor=_floor()) if floor is None else pl.LazyFrame({"floor": [float(floor)]})
    )
    rm = rm.join(typical, how="cross").join(calendar, on="mi", how="left")
    # The inflow above its usual level, at its peak of the last four months.
    extra = (
        pl.max_horizontal("in_v_lagged", "in_v") - pl.col("in_usual_lagged").fill_null(0.0)
    ).clip(0.0)
    result = rm.select(
        *ROUTE_KEY,
        "period",
        inflow_rise=pl.col("in_rise_z_lagged").fill_null(0.0),
        # Beyond the rise of the destination's imports from everyone else.
        outflow_rise=(
            pl.col("out_rise_z").fill_null(0.0) - pl.col("dex_rise_z").clip(0.0).fill_null(0.0)
        ),
        outflow4_rise=(
            pl.col("out4_rise_z").fill_null(0.0) - pl.col("dex_rise_z").clip(0.0).fill_null(0.0)
        ),
        ghost=pl.when(ghost_gap > 0.3)
        .then(pl.col("dir_rise_z").clip(0.0))
        .otherwise(0.0)
        .fill_null(0.0),
        diversion=pl.col("dir_fall_z").fill_null(0.0),
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
        # The extra inflow against the data's typical monthly flow, in z-like
        # units: 3.5 when the extra equals the floor, +3.5 for each doubling.
        materiality=(3.5 * (1.0 + extra / pl.col("floor")).log(2)).fill_null(0.0),
        inflow=pl.col("in_v").fill_null(0.0),
        outflow=pl.col("out_v").fill_null(0.0),
        direct=pl.col("dir_v").fill_null(0.0),
        inflow_peak=pl.max_horizontal("in_v_lagged", "in_v").fill_null(0.0),
        inflow_usual=pl.col("in_usual_lagged"),
        extra_inflow=extra.fill_null(0.0),
        outflow_usual=pl.col("out_usual"),
        outflow_by_hub=pl.col("out_x").fill_null(0.0),
        outflow_by_destination=pl.col("out_m").fill_null(0.0),
        destination_silent=pl.col("out_silent").fill_null(False),
        # Months from the inflow's rise to the outflow's (null unless both rose).
        lag=(pl.col("out_onset") - pl.col("in_onset_recent")).cast(pl.Int32),
        gap_out=pl.col("out_gap"),
        gap_in=pl.col("in_gap"),
        hub_share=pl.col("share"),
        direct_usual=pl.col("dir_usual"),
        policy=pl.col("d_mi").replace_strict(_policy_names(), default=None, return_dtype=pl.String),
        data_quality=quality,
    )
    for c in FEATURES:
        result = result.with_columns(
            pl.when(pl.col(c).is_infinite()).then(0.0).otherwise(pl.col(c)).alias(c)
        )
    if since:
        year, month = (int(x) for x in since.split("-"))
        result = result.filter(pl.col("period") >= pl.lit(dt.date(year, month, 1)))
    return result
