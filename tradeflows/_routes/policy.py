"""Policy breaks: a difference-in-differences at the last control date aimed at a destination."""

from __future__ import annotations

import polars as pl

from tradeflows._expr import exact_sum
from tradeflows._reference import controlled_hs, policy_dates
from tradeflows._routes.route_months import of_kind, series_names
from tradeflows._routes.series import series_month

__all__ = ["control_products", "hub_changes", "policy_breaks", "policy_epochs", "policy_names"]


def policy_epochs(months: pl.LazyFrame, destinations: list[str]) -> pl.LazyFrame:
    """For each destination and month: the month index of the last control date
    aimed at it (within 36 months), or no row.

    Parameters
    ----------
    months : LazyFrame
        The calendar.
    destinations : list of str
        The destinations of concern.

    Returns
    -------
    LazyFrame

    See Also
    --------
    policy_breaks : the breaks measured on them.

    Examples
    --------
    >>> months = pl.LazyFrame({"mi": [24265, 24266]}, schema={"mi": pl.Int32})  # 2022-02, -03
    >>> policy_epochs(months, ["RUS"]).collect().sort("mi")["mi"].to_list()
    [24265, 24266]
    """
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


def policy_names() -> dict[int, str]:
    """Month index of each control date -> its plain words and date, ``the export bans on
    Russia and Belarus (2022-02-24)``.

    Returns
    -------
    dict of int to str

    See Also
    --------
    policy_breaks : where the names are quoted.

    Examples
    --------
    >>> any('Russia' in name for name in policy_names().values())
    True
    """
    table = policy_dates()
    return {
        d.year * 12 + d.month - 1: f"{label} ({d.isoformat()})"
        for d, label in zip(table["date"], table["label"], strict=True)
    }


def _change(prefix: str) -> pl.Expr:
    """Mean log level of the covered months since the control date minus over the
    covered months of the 12 before it (null where either holds none)."""
    n_post = pl.col(f"{prefix}_nt") - pl.col(f"{prefix}_nd")
    n_pre = pl.col(f"{prefix}_nd") - pl.col(f"{prefix}_np")
    post = (pl.col(f"{prefix}_ct") - pl.col(f"{prefix}_cd")) / n_post
    pre = (pl.col(f"{prefix}_cd") - pl.col(f"{prefix}_cp")) / n_pre
    return pl.when((n_post > 0) & (n_pre > 0)).then(post - pre)


def _at_dates(src: pl.LazyFrame, on: list[str], dates: pl.LazyFrame) -> pl.LazyFrame:
    """The running sums ``cum``/``cum_n`` of ``src`` the month before each control date
    (``cd``/``nd``) and a year before that (``cp``/``np``): a row per key and date
    (``d_mi``), joined once where a row per month would be joined twice."""
    at = []
    for k, before in (("d", 1), ("p", 13)):
        when = dates.select("d_mi", mi=pl.col("d_mi") - before)
        at.append(
            src.join(when, on="mi").select(*on, "d_mi", pl.col("cum").alias(f"c{k}"),
                                           pl.col("cum_n").alias(f"n{k}"))
        )  # fmt: skip
    return at[0].join(at[1], on=[*on, "d_mi"], how="full", coalesce=True)


def _prefixed(lf: pl.LazyFrame, prefix: str) -> pl.LazyFrame:
    """:func:`_at_dates`'s sums named for :func:`_change`'s ``prefix``."""
    return lf.rename({k: f"{prefix}_{k}" for k in ("cd", "nd", "cp", "np")})


def policy_breaks(
    rm: pl.LazyFrame, routes: pl.LazyFrame, series: pl.LazyFrame, months: pl.LazyFrame,
    destinations: list[str], names: pl.LazyFrame | None = None,
    control: pl.LazyFrame | None = None,
) -> pl.LazyFrame:  # fmt: skip
    """Add ``d_mi`` (the control date in force), ``policy_did`` and ``policy_did_products``.

    The inflow's change since the date, against two controls: the origin's
    shipments of the product to its other partners on the hub side (the
    direct leg to the destination when it has none), and the hub's imports of
    uncontrolled products of the same HS chapter (of all its products when
    the chapter holds controlled ones only). Within the chapter: similar
    goods, and a chapter is a self-contained part of the work (see
    :mod:`tradeflows.detect`).

    Parameters
    ----------
    rm : LazyFrame
        Route-months (:func:`tradeflows._routes.route_months.route_months`),
        with the numbers of the series they read as their inflow and direct
        leg (``_s_in``, ``_s_hin``, ``_s_dir``), which are dropped here.
    routes : LazyFrame
        The candidate routes.
    series : LazyFrame
        The leg series with their evidence, executed (a frame in memory: the
        plan reads it once for each role and for the series' names, and an
        unexecuted plan would be computed again each time).
    months : LazyFrame
        The calendar.
    destinations : list of str
        The destinations of concern.
    names : LazyFrame, optional
        As :func:`tradeflows._routes.route_months.route_months`.
    control : LazyFrame, optional
        :func:`control_products` of the hubs' whole chapters, where ``series``
        holds only some of a chapter's products (a run a group of headings at
        a time); default: computed from ``series``.

    Returns
    -------
    LazyFrame

    See Also
    --------
    policy_epochs : the months before and after each date.

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
    >>> pb = policy_breaks(rm, routes, series, cal.select('mi'), ['CHN']).collect()
    >>> 'policy_did' in pb.columns, pb.height == rm.collect().height
    (True, True)
    """
    epochs = _epochs(months, destinations)
    dates = epochs.select("d_mi").unique()
    rm = rm.join(epochs, on=["destination", "mi"], how="left")
    if names is None:
        names = series_names(series, months)

    def cum(kind: str) -> pl.LazyFrame:
        return of_kind(series, kind).select("_sid", "mi", "cum", "cum_n")

    # The legs' sums at the dates, a few rows a series, read by the series'
    # numbers (route_months' ``_s_in``, ``_s_hin``, ``_s_dir``): joins on
    # integers, not on the routes' names.
    leg_dates = _at_dates(cum("leg"), ["_sid"], dates)
    hub_dates = _at_dates(cum("hub_in"), ["_sid"], dates)
    # The inflow: the origin's leg, or the hub's imports from everyone for an
    # empty origin (as route_months reads it); its sums now are on the row.
    inflow = pl.when(pl.col("origin") == "").then("_s_hin").otherwise("_s_in")
    rm = (
        rm.with_columns(_s_cin=inflow)
        .join(_prefixed(pl.concat([leg_dates, hub_dates]), "cin"),
              left_on=["_s_cin", "d_mi"], right_on=["_sid", "d_mi"], how="left")
        .join(_prefixed(leg_dates, "cdir"), left_on=["_s_dir", "d_mi"],
              right_on=["_sid", "d_mi"], how="left")
        .drop("_s_cin", "_s_in", "_s_hin", "_s_dir")
        .with_columns(
            cin_ct=pl.col("in_cum"),
            cin_nt=pl.col("in_cum_n"),
            cdir_ct=pl.col("dir_cum"),
            cdir_nt=pl.col("dir_cum_n"),
        )
        .with_columns(in_change=_change("cin"))
    )  # fmt: skip
    if control is None:
        changes = hub_changes(series, names, months, routes.select("hub", "destination"), epochs)
        control = control_products(changes)
    # The origin's other partners: the mean inflow change of its routes of the
    # product to the destination through other hubs, on the few columns it
    # reads, over the routes numbered by origin, product and destination
    # (``_od``); then joined back by route and month. Integers, not five names;
    # and not a window on the whole route-months: that held 0.6 GiB more
    # (benchmarks/RESULTS.md, issue 27).
    key = ["origin", "hs", "destination"]
    od = routes.join(routes.select(key).unique().with_row_index("_od"), on=key)
    # The origin's routes in a month, as one integer (series_month): a window over
    # one key, not two.
    through = series_month(pl.col("_od"))
    others = pl.col("in_change").count().over(through) - 1
    partner_ctrl = (
        rm.filter(pl.col("origin") != "")
        .select("_rid", "mi", "in_change")
        .join(od.select("_rid", "_od"), on="_rid")
        .select(
            "_rid",
            "mi",
            ctrl_partners=pl.when(others > 0).then(
                (exact_sum(pl.col("in_change"), 1e9).over(through) - pl.col("in_change")) / others
            ),
        )
    )
    return (
        rm.with_columns(chapter=pl.col("hs").str.slice(0, 2))
        .join(control, on=["hub", "d_mi", "mi", "chapter"], how="left")
        .join(partner_ctrl, on=["_rid", "mi"], how="left")
        .with_columns(
            policy_did=pl.col("in_change") - pl.coalesce("ctrl_partners", _change("cdir")),
            policy_did_products=pl.col("in_change") - pl.col("ctrl_products"),
        )
    )


def _epochs(months: pl.LazyFrame, destinations: list[str]) -> pl.LazyFrame:
    """:func:`policy_epochs` of ``destinations`` (``["all"]``: every target of a date)."""
    if [d.lower() for d in destinations] == ["all"]:
        destinations = sorted({t for ts in policy_dates()["targets"] for t in ts})
    return policy_epochs(months, destinations)


def hub_changes(
    series: pl.LazyFrame,
    names: pl.LazyFrame,
    months: pl.LazyFrame,
    hub_destinations: pl.LazyFrame,
    epochs: pl.LazyFrame | None = None,
    destinations: list[str] | None = None,
) -> pl.LazyFrame:
    """Each hub import series' change since the control dates in force (``hub``, ``hs``,
    ``d_mi``, ``mi``, ``dchg``): what :func:`control_products` takes the medians of.

    For the hubs of ``hub_destinations`` (``hub``, ``destination``), at the dates
    aimed at their destinations (``epochs``, or those of ``destinations``). The
    rows of parts of the HS codes put together are the rows of the whole.

    Parameters
    ----------
    series : LazyFrame
        The leg series with their running sums (``_kind``, ``_sid``, ``mi``,
        ``cum``, ``cum_n``): the evidence, or the hubs' series of the changes
        with their kind's code (:func:`tradeflows._routes.series.kind_code`).
    names : LazyFrame
        The series' names (:func:`tradeflows._routes.route_months.series_names`).
    months : LazyFrame
        The calendar.
    hub_destinations : LazyFrame
        The hubs and destinations of the routes.
    epochs : LazyFrame, optional
        :func:`policy_epochs` (default: of ``destinations``).
    destinations : list of str, optional
        The destinations of concern, where ``epochs`` is not given.

    Returns
    -------
    LazyFrame
    """
    if epochs is None:
        epochs = _epochs(months, destinations or [])
    dates = epochs.select("d_mi").unique()
    hub_in = names.filter(pl.col("kind") == "hub_in").select("_sid", hub="b", hs="p")
    hub_cum = of_kind(series, "hub_in").select("_sid", "mi", "cum", "cum_n")
    hub_dates = _at_dates(hub_cum, ["_sid"], dates)
    # It depends on the destination only through its control date: computed
    # once per date, not once per destination sharing it (Russia, Belarus).
    # The hub's import series are read by number (their sums at the dates
    # join on integers), and their months named by hub first (a join on the
    # few series), then kept at the months a date is in force: at 11.9M report
    # rows 0.09 s against 0.15-0.2 s for a join of every hub-month-series on
    # its number and month (benchmarks/RESULTS.md, issue 27). A month a series
    # lacks, left out here, added only a null, which the median below leaves out.
    hub_months = hub_in.join(
        hub_cum.select("_sid", "mi", chub_ct="cum", chub_nt="cum_n"), on="_sid"
    )
    return (
        hub_destinations.unique()
        .join(epochs, on="destination")
        .select("hub", "mi", "d_mi")
        .unique()
        .join(hub_months, on=["hub", "mi"])
        .join(_prefixed(hub_dates, "chub"), on=["_sid", "d_mi"], how="left")
        .select("hub", "hs", "d_mi", "mi", dchg=_change("chub"))
    )  # fmt: skip


def control_products(changes: pl.LazyFrame) -> pl.LazyFrame:
    """The policy break's control products: per hub, date in force, month and HS chapter,
    the median change of the hub's imports of the chapter's uncontrolled products (of all
    its products when the chapter holds controlled ones only; ``ctrl_products``).

    Parameters
    ----------
    changes : LazyFrame
        :func:`hub_changes` of every product of the chapters.

    Returns
    -------
    LazyFrame
    """
    controlled = sorted(controlled_hs())
    return (
        changes.with_columns(
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
