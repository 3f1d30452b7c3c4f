"""Leg series: the monthly series a route reads, and the evidence of a rise or fall in each.

Five kinds of series (``kind``, named by ``a``, ``b``, ``p``):

- ``leg``: one exporter ``a`` to one importer ``b`` of product ``p``;
- ``hub_in``: the hub ``b``'s imports of ``p`` from everyone;
- ``dest_in``: the destination ``b``'s imports of ``p`` from everyone;
- ``dest_ex``: the destination ``b``'s imports of ``p`` from everyone but the hub ``a``;
- ``leg4``: ``a`` to ``b`` at the heading ``p`` (four digits, every code under it).

A series has a row for every month of the calendar. Its value ``v`` is known
only in covered months (:mod:`tradeflows._routes.coverage`): where a side that
filed has no row, the flow is zero; where no side filed, ``v`` is null, and
nothing is measured on that month.

Against its own history, a series' evidence in month ``t`` is a pooled rise:
for windows of the last 1, 3, 6 and 12 months, the log of the window's mean
monthly value (its covered months) against the log of the mean of the 24
months before the window, once the series has ``history`` covered months (a
series' first months are warm-up, not a rise); never more than the change
against the same months a year earlier (a seasonal peak is not a rise).
Each change is then put on the scale of chance: how far such changes go in
series of the same kind, window and size across the data
(:func:`_empirical_null`), or on the series' own scale where it is the
wider: a series that has swung tenfold from month to month before shows no
evidence when it does so again. ``rise`` is the largest over the windows,
``fall`` the same for a fall.
"""

from __future__ import annotations

import functools
import math
import operator

import polars as pl

from tradeflows._expr import any_true, divided, exact_sum, exact_units, key_runs
from tradeflows._routes.coverage import level_covered
from tradeflows._routes.legs import product_level

__all__ = [
    "KINDS",
    "NULL_INPUTS",
    "NULL_SAMPLE_ROUTES",
    "OWN_SPREAD",
    "SERIES_KEY",
    "WINDOWS",
    "kind_code",
    "measured_spreads",
    "null_counts",
    "null_sample",
    "null_table",
    "route_reach",
    "sampled_series",
    "series_changes",
    "series_evidence",
    "series_rows",
]

#: What names a series.
SERIES_KEY = ["kind", "a", "b", "p"]
#: The windows (months) a rise is pooled over.
WINDOWS = (3, 6, 12)
#: A rise of this many units is evidence (the reasons use the same line).
EVIDENCE = 3.0
#: A change is read on its series' own scale, this many times the series' own
#: spread, where that is wider than its class's (:func:`_empirical_null`); 0
#: turns the guard off. ``scripts/train_detector.py`` does: the shipped trees
#: learn from the class's scale alone. Twice the spread ranked the real cases
#: and the wide worlds better and flagged fewer true corridors at the same
#: precision (benchmarks/RESULTS.md, 2026-12-06, thirty-eighth session).
OWN_SPREAD = 1.0


#: What a series sums (:func:`_rows`; to the cent, the gram) and the scale of
#: its units (:func:`exact_units`: :func:`_others` subtracts them).
_SUMMED = {"v": 100.0, "x": 100.0, "m": 100.0, "kg": 1000.0}


def _rows(legs: pl.LazyFrame, kind: str, a: pl.Expr, b: pl.Expr, p: pl.Expr) -> pl.LazyFrame:
    """Sum legs into one series kind: ``a``, ``b``, ``p`` are expressions naming the series.

    A leg is its own series: the legs hold one row per exporter, importer,
    product and month (:func:`~tradeflows._routes.legs.monthly_legs`), so its
    sums, each of one row, are taken on the rows, without a group-by.
    """
    one = kind == "leg"

    def summed(c: str) -> pl.Expr:
        # Exact sums (to the cent, the gram): the same series whatever the row
        # order. Of one row (a leg), the row in those units (NaN as nothing).
        if one:
            return divided(exact_units(pl.col(c), _SUMMED[c]).fill_null(0), _SUMMED[c])
        return exact_sum(pl.col(c), _SUMMED[c])

    def reported(c: str) -> pl.Expr:
        known = pl.col(c).is_not_null()
        return known if one else any_true(known)

    name = {"kind": pl.lit(kind), "a": a, "b": b, "p": p, "mi": "mi"}
    values = {
        "v": summed("v"),
        # Null, not zero, where no report of that side exists.
        **{c: pl.when(reported(c)).then(summed(c)) for c in ("x", "m", "kg")},
        # A leg's mirror gap; a sum of legs has none.
        **{c: pl.col(c) if one else pl.lit(None, pl.Float64) for c in ("gap", "gap_history")},
        "slip": pl.col("slip").fill_null(False) if one else any_true(pl.col("slip")),
    }
    if one:
        return legs.select(**name, **values)
    return legs.group_by(**name).agg(**values)


def _others(dest_in: pl.LazyFrame, ex: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The ``dest_ex`` series' rows and members (as :func:`series_rows`): the
    destination's imports from everyone but the hub, for the ``hub``,
    ``destination`` and ``hs`` of ``ex``.

    A destination that buys more from everyone is not evidence against the
    hub. Each series is the destination's total less the hub's own share, in
    the integer units :func:`_rows` adds up, with counts of the rows and of
    the known values of each side: the sum of the other suppliers' rows, to
    the cent, and null where none of them knows a side (tested against that
    sum). Repeating each of the destination's import rows for every hub
    instead held most of the series' memory where one HS chapter holds the
    data (+5.2 GiB on an 11M-row store; benchmarks/RESULTS.md, issue 27).
    """
    sides = ["x", "m", "kg"]

    # Per group: its rows, its sums, and how many rows know each side or slipped.
    tally = [
        pl.len().cast(pl.Int64).alias("_n"),
        *(exact_units(pl.col(c), scale).sum().alias(f"_{c}") for c, scale in _SUMMED.items()),
        *(pl.col(c).is_not_null().cast(pl.Int64).sum().alias(f"_n{c}") for c in sides),
        pl.col("slip").fill_null(False).cast(pl.Int64).sum().alias("_nslip"),
    ]

    wanted = ex.select(importer="destination", hs="hs").unique()
    bought = dest_in.join(wanted, on=["importer", "hs"], how="semi")
    total = bought.group_by("importer", "hs", "mi").agg(tally)
    own = (
        bought.join(
            ex,
            left_on=["exporter", "importer", "hs"],
            right_on=["hub", "destination", "hs"],
            how="semi",
        )
        .group_by("exporter", "importer", "hs", "mi")
        .agg(tally)
    )
    tallies = ["_n", *(f"_{c}" for c in _SUMMED), *(f"_n{c}" for c in sides), "_nslip"]
    rest = {t: pl.col(t) - pl.col(f"{t}_h").fill_null(0) for t in tallies}
    rows = (
        ex.join(total, left_on=["destination", "hs"], right_on=["importer", "hs"])
        .join(
            own.rename({t: f"{t}_h" for t in tallies}),
            left_on=["hub", "destination", "hs", "mi"],
            right_on=["exporter", "importer", "hs", "mi"],
            how="left",
        )
        .filter(rest["_n"] > 0)
        .select(
            kind=pl.lit("dest_ex"),
            a="hub",
            b="destination",
            p="hs",
            mi="mi",
            v=divided(rest["_v"], _SUMMED["v"]),
            **{
                c: pl.when(rest[f"_n{c}"] > 0).then(divided(rest[f"_{c}"], _SUMMED[c]))
                for c in sides
            },
            gap=pl.lit(None, pl.Float64),
            gap_history=pl.lit(None, pl.Float64),
            slip=rest["_nslip"] > 0,
        )
    )
    members = (
        bought.select("exporter", "importer", "hs")
        .unique()
        .join(ex, left_on=["importer", "hs"], right_on=["destination", "hs"])
        .filter(pl.col("exporter") != pl.col("hub"))
        .select(kind=pl.lit("dest_ex"), a="hub", b="importer", p="hs", exporter="exporter")
    )
    return rows, members


def route_reach(routes: pl.LazyFrame) -> pl.LazyFrame:
    """The hubs and destinations of ``routes`` and the HS chapters they are in
    (``hub``, ``destination``, ``chapter``): what :func:`series_rows` reads
    every product of the chapter for.

    Examples
    --------
    >>> routes = pl.LazyFrame({"hub": ["MYS", "MYS"], "destination": "CHN", "hs": ["847150", "847130"]})
    >>> route_reach(routes).collect().rows()
    [('MYS', 'CHN', '84')]
    """
    return routes.select("hub", "destination", chapter=pl.col("hs").str.slice(0, 2)).unique()


def series_rows(
    legs: pl.LazyFrame, routes: pl.LazyFrame, reach: pl.LazyFrame | None = None
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """The reported months of every series the routes read, and who reports each series.

    The hubs' and destinations' imports are read for every product of the
    HS chapters their routes are in (the policy breaks compare a route with
    the hub's other products of its chapter). ``reach`` (``hub``,
    ``destination``, ``chapter``) names those of the whole data's routes,
    where ``legs`` and ``routes`` hold only some of a chapter's headings.

    Returns
    -------
    rows : LazyFrame
        ``SERIES_KEY``, ``mi``, ``v``, ``x``, ``m``, ``kg``, ``gap``,
        ``gap_history``, ``slip``: one row per series and month with a report.
    members : LazyFrame
        ``SERIES_KEY`` and ``exporter``: every exporter whose legs a series
        sums (a series' exporter side is covered when one of them filed).
    keys : LazyFrame
        ``SERIES_KEY`` of every series a route reads, reported or not: a leg
        nobody reported in a month its importer filed is a zero, not unknown
        (the hub's imports of a code it only re-exports, say).

    Parameters
    ----------
    legs : LazyFrame
        :func:`tradeflows._routes.legs.monthly_legs`.
    routes : LazyFrame
        The candidate routes.

    See Also
    --------
    series_changes : the series made dense and measured.

    Examples
    --------
    >>> from tradeflows import collect_mirror
    >>> from tradeflows.datasets import toy_trade
    >>> from tradeflows._routes import candidate_routes, monthly_legs
    >>> pairs = collect_mirror(toy_trade()).lazy()
    >>> legs = monthly_legs(pairs)
    >>> routes = candidate_routes(legs, ['CHN'])
    >>> rows, members, keys = series_rows(legs, routes)
    >>> sorted(keys.collect()['kind'].unique())
    ['dest_ex', 'dest_in', 'hub_in', 'leg', 'leg4']
    """
    # Only the chapters the routes are in (the policy breaks compare a route
    # with the hub's other products of its chapter): a series of another
    # chapter would count in the null of the data, and the null of an HS
    # chapter computed apart must be the whole run's.
    if reach is None:
        reach = route_reach(routes)
    need_hubs = reach.select(h="hub", ch="chapter").unique()
    need_dest = reach.select(d="destination", ch="chapter").unique()
    chapter = pl.col("hs").str.slice(0, 2)
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
    hub_in = legs.join(
        need_hubs, left_on=[pl.col("importer"), chapter], right_on=["h", "ch"], how="semi"
    )
    dest_in = legs.join(
        need_dest, left_on=[pl.col("importer"), chapter], right_on=["d", "ch"], how="semi"
    )
    out4 = legs.join(
        routes.select(a="hub", b="destination").unique(),
        left_on=["exporter", "importer"],
        right_on=["a", "b"],
        how="semi",
    )
    e, i, hs = pl.col("exporter"), pl.col("importer"), pl.col("hs")
    parts = [
        (legs_kept, "leg", e, i, hs, e),
        (hub_in, "hub_in", pl.lit(""), i, hs, e),
        (dest_in, "dest_in", pl.lit(""), i, hs, e),
        (out4, "leg4", e, i, product_level(4), e),
    ]
    dest_ex, dest_ex_members = _others(dest_in, routes.select("hub", "destination", "hs").unique())
    rows = pl.concat([*(_rows(frame, kind, a, b, p) for frame, kind, a, b, p, _ in parts), dest_ex])
    wanted_legs = leg_keys.filter(pl.col("a") != "").select(kind=pl.lit("leg"), a="a", b="b", p="p")
    wanted_heads = routes.select(kind=pl.lit("leg4"), a="hub", b="destination", p="hs4")
    keys = pl.concat(
        [
            wanted_legs,
            wanted_heads,
            routes.select(kind=pl.lit("hub_in"), a=pl.lit(""), b="hub", p="hs"),
            routes.select(kind=pl.lit("dest_in"), a=pl.lit(""), b="destination", p="hs"),
            routes.select(kind=pl.lit("dest_ex"), a="hub", b="destination", p="hs"),
        ]
    ).unique()
    members = pl.concat(
        [
            # (A leg's one member, its exporter, is among the wanted legs' below.)
            *[
                frame.select(kind=pl.lit(kind), a=a, b=b, p=p, exporter=who).unique()
                for frame, kind, a, b, p, who in parts
                if kind != "leg"
            ],
            dest_ex_members,
            # A leg's exporter files for it, whether it reported the leg or not.
            pl.concat([wanted_legs, wanted_heads]).with_columns(exporter=pl.col("a")),
        ]
    ).unique()
    return rows, members, keys


def _covered(
    keys: pl.LazyFrame, members: pl.LazyFrame, coverage: pl.LazyFrame, months: pl.LazyFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Per series-month (:func:`series_month`, ``_k``): whether its exporter side and
    its importer side filed; and the series (``_sid``) whose exporter side filed
    in every month of the calendar ``months``."""

    def filed(frame: pl.LazyFrame, role: str, who: str, flag: str) -> pl.LazyFrame:
        """The series-months in which ``who`` (as ``role``) filed at the series' level."""
        return (
            frame.with_columns(_p=pl.col("p"))
            .join(coverage.filter(pl.col("role") == role).rename({"reporter": who}), on=who)
            .filter(level_covered(pl.col("_p")))
            .select(series_month(pl.col("_sid")).alias("_k"))
            .unique()
            .with_columns(pl.lit(True).alias(flag))
        )

    # A series' exporter side is covered in a month when one of its members
    # filed. One member that filed every month covers it throughout: such
    # series are not joined month by month with every member (a destination's
    # imports from everyone have hundreds; benchmarks/RESULTS.md, issue 27).
    # (The coverage has a row per reporter, role and month: its months at each
    # level are counted.)
    n_months = months.select(pl.len().alias("_n"))
    every_month = (
        coverage.filter(pl.col("role") == "X")
        .join(months, on="mi", how="semi")
        .group_by("reporter")
        .agg(_ap=pl.col("products").sum(), _at=pl.col("totals").sum())
        .join(n_months, how="cross")
        .select(
            exporter="reporter",
            _ap=pl.col("_ap") == pl.col("_n"),
            _at=pl.col("_at") == pl.col("_n"),
        )
    )
    members = members.join(keys.select("_sid"), on="_sid")
    throughout = (
        members.join(every_month, on="exporter")
        .filter(level_covered(pl.col("p"), products="_ap", totals="_at"))
        .select("_sid")
        .unique()
    )
    others = members.join(throughout, on="_sid", how="anti")
    exporters = filed(others, "X", "exporter", "x_cov")
    importers = filed(keys, "M", "b", "m_cov")
    return exporters, importers, throughout.with_columns(_x_all=pl.lit(True))


def numbered_rows(
    rows: pl.LazyFrame, members: pl.LazyFrame, numbered: pl.LazyFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """:func:`series_rows`' ``rows`` and ``members`` with each series' number
    ``_sid`` (:func:`numbered_keys`) in place of its key; a member keeps the
    product ``p``, which its coverage reads.

    Numbered once, a run's series are cut into parts by their numbers
    (:func:`series_changes` reads either form): each part no longer joins
    every row's four names (benchmarks/RESULTS.md, issue 27).
    """
    return (
        rows.join(numbered, on=SERIES_KEY).select("_sid", pl.exclude("_sid", *SERIES_KEY)),
        members.join(numbered, on=SERIES_KEY).select("_sid", "p", "exporter"),
    )


def numbered_keys(rows: pl.LazyFrame, keys: pl.LazyFrame) -> pl.LazyFrame:
    """Every series of :func:`series_rows`' ``rows`` and ``keys``, numbered ``_sid``.

    Numbered in sorted order, so that the numbers do not depend on the order
    ``unique`` gives.
    """
    return (
        pl.concat([rows.select(SERIES_KEY), keys.select(SERIES_KEY)])
        .unique()
        .sort(SERIES_KEY)
        .with_row_index("_sid")
    )


def series_month(sid: pl.Expr) -> pl.Expr:
    """One integer for a series' number ``sid`` and the month ``mi``: what joins read.

    A join on one integer column is about twice as fast as one on the
    series' names and month (benchmarks/RESULTS.md, issue 27). Month
    indexes (``year * 12 + month - 1``) are below 2**20.

    Examples
    --------
    >>> k = pl.DataFrame({"sid": [0, 3], "mi": [24290, 24290]}).select(series_month(pl.col("sid")))
    >>> [(v // 2**20, v % 2**20) for v in k.to_series()]
    [(0, 24290), (3, 24290)]
    """
    return sid.cast(pl.Int64) * (1 << 20) + pl.col("mi").cast(pl.Int64)


#: On the CPU engines, each series' rows numbered as one run of a sorted integer
#: (:func:`_with_series_runs`): what the windows over a series group by.
_RUN = "_srun"


def _with_series_runs(dense: pl.LazyFrame, gpu: bool) -> pl.LazyFrame:
    """On the CPU engines, add :data:`_RUN`: each series' run of rows, numbered.

    The series' rows are together and in month order (:func:`_back` reads
    them so), so a window over the runs is the window over ``_sid`` in month
    order. The GPU engine keeps ``over("_sid", order_by="mi")``.
    """
    return dense if gpu else dense.with_columns(key_runs(["_sid"]).alias(_RUN))


def _in_series(expr: pl.Expr, gpu: bool) -> pl.Expr:
    """``expr`` as a window over each series, in month order (:func:`_with_series_runs`)."""
    return expr.over("_sid", order_by="mi") if gpu else expr.over(_RUN)


def _back(expr: pl.Expr, k: int) -> pl.Expr:
    """``expr`` ``k`` months back in the same series (``k < 0``: ahead); null outside it.

    The frame is dense and sorted by series and month; ``_i`` is the month's
    position in the calendar.
    """
    if k == 0:
        return expr
    inside = pl.col("_i") >= k if k > 0 else pl.col("_i") <= pl.col("_i").max() + k
    return pl.when(inside).then(expr.shift(k))


#: Series-months of a class (or of a class with its neighbours) that its own
#: null spread needs. The spread is read at the 99th percentile, and an
#: episode holds its series' window changes high for up to two years: under
#: 100 x 24 series-months, one episode's months are more than 1% of the
#: class and make its tail alone, so that its own rise reads as chance. In
#: Armenia's own records from 2017 (benchmarks/RESULTS.md, 2026-12-06), the
#: class of its largest flows held 1,473 series-months of 28 series, 15 of
#: them the surges to Hong Kong and the UAE: read against them, the surge to
#: Russia (USD 60m to 300m a month) was chance and nothing was flagged.
_NULL_MIN = 2400
#: Series a class (or a class with its neighbours) also needs, for the same
#: reason: a long history of a few series holds enough series-months, but
#: their own events make its tail. Armenia's largest flows read from 2007
#: (benchmarks/RESULTS.md, 2026-12-06, forty-third session): class 4 with
#: its neighbours held 3,960 series-months of 51 series, spread 0.59, twice
#: the prior; Russia's fourfold surge of 2022 read as 2.0 and was not flagged,
#: where from 2017 (1,795 series-months: the prior) it read 4.1. With 100
#: series or more, no one series is more than 1% of the class.
_NULL_SERIES = 100
#: The bin of :func:`null_counts` rows that count series, not series-months.
_SERIES_BIN = -(2**62)
#: The spread of chance (a change's 99th percentile over 2.33, above and below
#: the median) by size class, where the data holds too few series to measure
#: it. Classes: log10 of thousands of USD a month, 0 (under USD 10k) to 5
#: (USD 100m and more). It is used on small data (one hub's records, a few
#: years), so it is what real data shows where real data measures it: for
#: the flows under USD 1m a month (classes 0-2), the median of the spreads
#: real monthly data measures (:func:`measured_spreads` of the bundled
#: Eurostat CN8 exports, the EU's total exports and Armenia's records by
#: partner, every window; ``python benchmarks/bench_calibration.py
#: --null``). Small real flows are lumpy: a partner bought from once or twice
#: in three years rises "from nothing" by chance, and the calibrated worlds'
#: spreads (0.3-0.6), which the prior held before, are two to three times
#: narrower; on Armenia's records of 2021-2023 they flagged one-off shipments
#: of USD 100k-350k to twelve partners, Bermuda and Laos among them
#: (benchmarks/RESULTS.md, 2026-12-06, forty-third session). Larger classes
#: keep the calibrated worlds' spread: of the real data at hand only the EU's
#: total exports measure class 3 (0.79 up; 3,067 series-months of 168
#: series), and their tail is the events themselves, the 2022 surges to
#: Russia's neighbours and the collapse to Russia; no real dataset here
#: measures classes 4-5.
_PRIOR_UP = (1.27, 0.99, 0.88, 0.37, 0.3, 0.25)
_PRIOR_DOWN = (1.79, 1.86, 2.79, 0.45, 0.35, 0.3)
#: The normal quantile of the tail the null spread is read at (the 99th percentile).
_TAIL_Z = 2.326


#: The width (log USD) of the bins a change is counted in for the null: the
#: spread of chance is read from counts, which add up over parts of the data
#: (HS chapters computed apart give the whole run's null).
_NULL_STEP = 0.01
_NULL_KEY = ["window", "which", "kind", "cls"]
#: The columns of the series' changes that :func:`null_counts` reads (and ``_w``).
NULL_INPUTS = [
    *SERIES_KEY,
    *(f"_c{k}" for k in WINDOWS),
    *(f"_{which}{k}" for k in WINDOWS for which in ("u", "y")),
]


def null_counts(dense: pl.LazyFrame) -> pl.LazyFrame:
    """How many series-months of each kind, window and size class changed by how much.

    The input of the empirical null (:func:`null_table`): counts of each
    window's change (``which="u"``: against its history; ``"y"``: against
    the same months a year before) in bins of ``_NULL_STEP``. Counts of
    parts of the data add up to the counts of the whole.

    Parameters
    ----------
    dense : LazyFrame
        :func:`series_changes`; with a ``_w`` column, each series-month counts
        that many times (a series standing for others it was sampled among:
        :func:`null_sample`).

    Returns
    -------
    LazyFrame

    See Also
    --------
    null_table : the null read from them.

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
    >>> counts = null_counts(changes).collect()
    >>> sorted(counts['window'].unique()), int(counts['n'].sum()) > 0
    ([3, 6, 12], True)
    """
    weighted = "_w" in dense.collect_schema().names()
    weight = pl.col("_w").fill_null(1) if weighted else pl.lit(1)
    # A series by a hash of its names (with its kind, in the key below): grouped
    # by the four names themselves, the series' counts took null_counts from 2.5
    # to 13 s and 2.4 GiB more on 6M series-months (benchmarks/RESULTS.md).
    dense = dense.select(
        "kind", *NULL_INPUTS[len(SERIES_KEY) :], _sid=pl.struct(SERIES_KEY[1:]).hash(), _w=weight
    )
    parts = []
    for k in WINDOWS:
        for which in ("u", "y"):
            counted = dense.select(
                "kind",
                "_sid",
                "_w",
                window=pl.lit(k, pl.Int32),
                which=pl.lit(which),
                cls=pl.col(f"_c{k}"),
                bin=divided(pl.col(f"_{which}{k}"), _NULL_STEP).round().cast(pl.Int64),
            ).drop_nulls(["bin", "cls"])
            parts.append(
                counted.group_by(*_NULL_KEY, "bin").agg(n=pl.col("_w").sum().cast(pl.Int64))
            )
            # The series of each class (a sampled series counts for those it
            # stands for), under a bin of their own.
            parts.append(
                counted.group_by(*_NULL_KEY, "_sid")
                .agg(pl.col("_w").first())
                .group_by(_NULL_KEY)
                .agg(n=pl.col("_w").sum().cast(pl.Int64))
                .with_columns(bin=pl.lit(_SERIES_BIN, pl.Int64))
                .select(*_NULL_KEY, "bin", "n")
            )
    return pl.concat(parts)


def null_table(counts: pl.DataFrame) -> pl.DataFrame:
    """The spread of chance per kind, window and size class, from :func:`null_counts`.

    For each class alone (``_c``) and with its two neighbours (``_n``): the
    number of series-months ``n`` and of series ``s``, and the 1st, 50th and
    99th percentiles ``lo``, ``mid``, ``hi`` (the first bin whose cumulated
    count reaches the share). ``counts`` may be the concatenated counts of
    several parts.

    Parameters
    ----------
    counts : DataFrame
        :func:`null_counts`, executed (and summed over parts).

    Returns
    -------
    DataFrame

    See Also
    --------
    null_counts : its input.
    series_evidence : changes measured against it.

    Examples
    --------
    >>> counts = pl.DataFrame({'window': 3, 'which': 'u', 'kind': 'leg', 'cls': 2,
    ...     'bin': [-50, 0, 50], 'n': [10, 980, 10]})
    >>> null_table(counts).filter(pl.col('cls') == 2).select('n_c', 'lo_c', 'mid_c', 'hi_c').row(0)
    (1000, -0.5, 0.0, 0.0)
    """
    schema = {
        "window": pl.Int32,
        "which": pl.String,
        "kind": pl.String,
        "cls": pl.Int32,
        "bin": pl.Int64,
        "n": pl.Int64,
    }
    counts = counts.cast(schema)
    series_rows = pl.col("bin") == _SERIES_BIN

    def with_neighbours(frame: pl.DataFrame, key: list[str], col: str) -> pl.DataFrame:
        """``col`` summed over each class and its two neighbours."""
        shifted = [frame.with_columns(pl.col("cls") + shift) for shift in (-1, 0, 1)]
        return pl.concat(shifted).group_by(key).agg(pl.col(col).sum())

    own = counts.filter(~series_rows).group_by(*_NULL_KEY, "bin").agg(pl.col("n").sum())
    near = with_neighbours(own, [*_NULL_KEY, "bin"], "n")
    own_series = counts.filter(series_rows).group_by(_NULL_KEY).agg(s_c=pl.col("n").sum())
    near_series = with_neighbours(own_series, _NULL_KEY, "s_c").rename({"s_c": "s_n"})

    def spread(frame: pl.DataFrame, tag: str) -> pl.DataFrame:
        frame = frame.sort(*_NULL_KEY, "bin").with_columns(
            _cum=pl.col("n").cum_sum().over(_NULL_KEY), _tot=pl.col("n").sum().over(_NULL_KEY)
        )

        def at(share: float) -> pl.Expr:
            return (
                pl.col("bin").filter(pl.col("_cum") >= share * pl.col("_tot")).first() * _NULL_STEP
            )

        return frame.group_by(_NULL_KEY).agg(
            pl.col("n").sum().alias(f"n_{tag}"),
            at(0.01).alias(f"lo_{tag}"),
            at(0.5).alias(f"mid_{tag}"),
            at(0.99).alias(f"hi_{tag}"),
        )

    return (
        spread(own, "c")
        .join(spread(near, "n"), on=_NULL_KEY, how="full", coalesce=True)
        .join(own_series, on=_NULL_KEY, how="left")
        .join(near_series, on=_NULL_KEY, how="left")
        .with_columns(pl.col("s_c", "s_n").fill_null(0))
        .sort(_NULL_KEY)
    )


def measured_spreads(table: pl.DataFrame) -> pl.DataFrame:
    """The spreads of chance a null table measures on its own: the product-level
    legs' classes with at least ``_NULL_MIN`` series-months.

    Parameters
    ----------
    table : DataFrame
        :func:`null_table`.

    Returns
    -------
    DataFrame
        ``window``, ``which``, ``cls``, ``n`` and the spread above (``up``) and
        below (``down``) the median, on the scale the prior (``_PRIOR_UP``,
        ``_PRIOR_DOWN``) is written in.

    See Also
    --------
    null_table : its input.

    Examples
    --------
    >>> counts = pl.DataFrame({'window': 3, 'which': 'u', 'kind': 'leg', 'cls': 0,
    ...     'bin': [-233, 0, 466, _SERIES_BIN], 'n': [100, 9700, 200, 120]})
    >>> measured_spreads(null_table(counts)).select('cls', 'n', 'up', 'down').row(0)
    (0, 10000, 2.0, 1.0)
    """
    return (
        table.filter(
            (pl.col("kind") == "leg")
            & (pl.col("n_c") >= _NULL_MIN)
            & (pl.col("s_c") >= _NULL_SERIES)
        )
        .select(
            "window",
            "which",
            "cls",
            n="n_c",
            up=((pl.col("hi_c") - pl.col("mid_c")) / _TAIL_Z).round(2),
            down=((pl.col("mid_c") - pl.col("lo_c")) / _TAIL_Z).round(2),
        )
        .sort("window", "which", "cls")
    )


def _empirical_null(dense: pl.LazyFrame, table: pl.DataFrame) -> pl.LazyFrame:
    """Standardise each window's change by how such changes spread across the data.

    A series' month-to-month noise understates how far the mean of a window
    wanders from its past: real flows drift (a run of good months, a lost
    customer), small ones sit at zero and jump, and neither averages out over
    a window. Most series-months carry no episode, so the changes of all
    series of one kind, window and size class show how far a change goes by
    chance (an empirical null, as in Efron's large-scale testing; ``table``:
    :func:`null_table`). Each change is centred on its class's median and
    scaled so that the class's 99th percentile (1st, for falls) sits at 2.33,
    the normal's: what matters is how a change compares with the tail of
    chance, not with its body (a small flow's changes are mostly exactly
    zero). A class of fewer than ``_NULL_MIN`` series-months (too few to
    keep one episode out of its tail) takes the class and its two neighbours
    together; failing that, a kind other than the
    product-level legs (a heading, a hub's or a destination's total) takes
    the legs' spread of the same size (their class, then with its
    neighbours): the data's own noise, whatever the query's destinations;
    failing that, the spread the calibrated worlds show for its size
    (``_PRIOR_UP``, ``_PRIOR_DOWN``, centred on no change): a single hub's
    records hold few large flows, and large flows move less.

    A scale is never narrower than the series' own spread (times
    :data:`OWN_SPREAD`): the standard deviation of its log monthly value over
    the ``window`` months before the window (``_sd`` of
    :func:`series_changes`, its sound months). Size tells how far a flow
    moves only on average: in one size class some series swing tenfold from
    month to month and some hardly move, and a rise that is extreme for the
    class is routine for the first kind. The class's scale is about its
    typical series' own spread (0.4 to 1.4 times it across kinds, windows and
    classes, on the calibrated worlds and a second generator's), so the
    guard widens the scale of the more volatile series only. The shipped
    trees learned without it (``scripts/train_detector.py``). With it, on
    the evaluation seeds, a second generator's corridor AP rose from 0.81 to
    0.87 at real noise and its wide worlds' from 0.26-0.38 to 0.60-0.97;
    the calibrated worlds' moved little (their dimensions' mean 0.797, now
    0.807; the default world's 0.846, now 0.827 over twenty more seeds),
    and the real EU case's rose (0.834 to 0.849; benchmarks/RESULTS.md,
    2026-12-06, issue 22).

    Adds ``_r{k}``/``_f{k}`` (rise and fall of each window's level),
    ``_ry{k}``/``_fy{k}`` (the same against the same months a year before) and
    ``_kind`` (:func:`kind_code`).
    """
    stats = [f"{name}_{tag}" for tag in "cn" for name in ("n", "s", "lo", "mid", "hi")]
    classes = [f"_c{k}" for k in WINDOWS]
    # The centre and the two scales depend only on a series-month's kind and
    # size classes: they are worked out once per combination the data holds (a
    # few hundred rows), then joined to the series-months in one join of a few
    # columns (0.6 s against 6.3 s for a join of the spreads per window at 11.9M
    # report rows, the same values bit for bit; benchmarks/RESULTS.md).
    # The kind's code and the three size classes (0 to _TOP_CLASS; none: one
    # more) as one integer: the combinations found, and joined back, on one key.
    dense = dense.with_columns(_kind=kind_code(pl.col("kind")))
    key = pl.col("_kind").cast(pl.Int32)
    for cls in classes:
        key = key * (_TOP_CLASS + 2) + pl.col(cls).fill_null(_TOP_CLASS + 1).cast(pl.Int32)
    dense = dense.with_columns(_nk=key)
    look = dense.select("_nk", "kind", *classes).unique(subset="_nk")
    scaled, helpers = [], []
    for k in WINDOWS:
        cls = f"_c{k}"
        # The spreads of its changes against the window before (``u``) and a
        # year before (``y``) side by side.
        parts = [
            table.filter((pl.col("window") == k) & (pl.col("which") == which)).select(
                "kind", pl.col("cls").alias(cls), *(pl.col(s).alias(f"{s}_{which}") for s in stats)
            )
            for which in "uy"
        ]
        both = parts[0].join(parts[1], on=["kind", cls], how="full", coalesce=True)
        # The product-level legs' spread of the same class, for the kinds
        # (headings, a hub's or a destination's totals) too few to measure theirs.
        legs = both.filter(pl.col("kind") == "leg").drop("kind")
        legs = legs.rename({c: f"{c}_leg" for c in legs.columns if c != cls})
        look = look.join(both.lazy(), on=["kind", cls], how="left").join(
            legs.lazy(), on=cls, how="left"
        )
        size = pl.col(cls).fill_null(0)
        prior_up = size.replace_strict(dict(enumerate(_PRIOR_UP)), default=_PRIOR_UP[0],
                                       return_dtype=pl.Float64)  # fmt: skip
        prior_down = size.replace_strict(dict(enumerate(_PRIOR_DOWN)), default=_PRIOR_DOWN[0],
                                         return_dtype=pl.Float64)  # fmt: skip
        scales = []
        for which, rise, fall in (("u", f"_r{k}", f"_f{k}"), ("y", f"_ry{k}", f"_fy{k}")):
            c = f"_{which}{k}"
            tiers = [((pl.col(f"n_{t}_{which}{leg}").fill_null(0) >= _NULL_MIN)
                      & (pl.col(f"s_{t}_{which}{leg}").fill_null(0) >= _NULL_SERIES),
                      f"{t}_{which}{leg}") for leg in ("", "_leg") for t in "cn"]  # fmt: skip
            measured = pl.any_horizontal(enough for enough, _ in tiers)

            def pick(name: str, tiers: list = tiers) -> pl.Expr:
                chosen = pl.when(tiers[0][0]).then(pl.col(f"{name}_{tiers[0][1]}"))
                for enough, tag in tiers[1:]:
                    chosen = chosen.when(enough).then(pl.col(f"{name}_{tag}"))
                return chosen

            mid, up, down = f"_mid{c}", f"_up{c}", f"_down{c}"
            helpers += [mid, up, down]
            scales += [
                pl.when(measured).then(pick("mid")).otherwise(0.0).alias(mid),
                pl.when(measured)
                .then(divided(pick("hi") - pick("mid"), _TAIL_Z).clip(0.05))
                .otherwise(prior_up)
                .alias(up),
                pl.when(measured)
                .then(divided(pick("mid") - pick("lo"), _TAIL_Z).clip(0.05))
                .otherwise(prior_down)
                .alias(down),
            ]
            # Never narrower than the series' own spread before the window.
            wide_up, wide_down = pl.col(up), pl.col(down)
            if OWN_SPREAD:
                wide_up = pl.max_horizontal(wide_up, OWN_SPREAD * pl.col(f"_own{k}"))
                wide_down = pl.max_horizontal(wide_down, OWN_SPREAD * pl.col(f"_own{k}"))
            scaled += [((pl.col(c) - pl.col(mid)) / wide_up).alias(rise),
                       ((pl.col(mid) - pl.col(c)) / wide_down).alias(fall)]  # fmt: skip
        look = look.with_columns(scales).drop(
            f"{s}_{w}{leg}" for s in stats for w in "uy" for leg in ("", "_leg")
        )
    # The series' own spread before each window (zero where it has none).
    own = {
        f"_own{k}": _back(pl.col("_sd"), k).fill_nan(None).fill_null(0.0) for k in WINDOWS
    } if OWN_SPREAD else {}  # fmt: skip
    return (
        dense.with_columns(**own)
        # A series-month of no size class (too little history) takes the prior's.
        .join(look.drop("kind", *classes), on="_nk", how="left",
              maintain_order="left")  # the series stay in order: a month back is a row up
        .with_columns(scaled)
        .drop(*helpers, *own, "_nk")
    )  # fmt: skip


def series_evidence(
    changes: pl.LazyFrame, null: pl.DataFrame, *, gpu: bool = False
) -> pl.LazyFrame:
    """The changes of :func:`series_changes` on the scale of chance, pooled into each
    month's rise and fall, with the values they quote.

    Parameters
    ----------
    changes : LazyFrame
        :func:`series_changes`.
    null : DataFrame
        :func:`null_table` of :func:`null_counts` of the whole data's changes
        (of ``changes`` when they are the whole data; added up over its parts
        when they are one HS chapter).
    gpu : bool
        Build the plan for the GPU engine (as :func:`series_changes`).

    Returns
    -------
    LazyFrame
        ``_sid`` (the series' number), ``SERIES_KEY``, ``mi``; ``covered``
        (some side filed), ``v`` (null where not covered), ``x``, ``m``
        (each side's report, zero where it filed nothing for this flow, null
        where it did not file), ``x_cov``,
        ``m_cov``; ``rise``, ``fall`` (pooled evidence, null before the
        history is in), ``rise_k`` (the window it came from), ``usual`` (the
        USD a month before the window), ``level`` (the window's mean USD a
        month), ``onset`` (first month of the current rise), ``spike``,
        ``slip``, ``kg``, ``gap``, ``gap_history``, ``cum`` and ``cum_n`` (the
        cumulated log value and count of covered months, for the policy
        breaks), ``first_covered``, ``last_covered``; ``rise_recent`` and the
        ``level_recent``, ``usual_recent`` and ``onset_recent`` it quotes
        (the strongest rise of the last four months); ``_kind``, the kind's
        :func:`kind_code`.

    See Also
    --------
    null_table : its ``null``.

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
    >>> null = null_table(null_counts(changes).collect())
    >>> ev = series_evidence(changes, null).collect()
    >>> ev.filter((pl.col('kind') == 'leg') & (pl.col('a') == 'USA')).select(pl.col('rise').max() > 2.33).item()
    True
    """
    return _evidence(_with_series_runs(_empirical_null(changes, null), gpu), gpu)


#: The series' kinds, in the order of their codes (:func:`kind_code`).
KINDS = ("dest_ex", "dest_in", "hub_in", "leg", "leg4")


def kind_code(kind: pl.Expr) -> pl.Expr:
    """A series' kind as a small integer (its place in :data:`KINDS`): what the
    route-months filter the evidence on, held once a series-month where the
    kind's name would be held as a string.

    Examples
    --------
    >>> pl.select(kind_code(pl.lit("leg"))).item() == KINDS.index("leg")
    True
    """
    code = pl.when(kind == KINDS[0]).then(pl.lit(0, pl.UInt8))
    for i, name in enumerate(KINDS[1:], start=1):
        code = code.when(kind == name).then(pl.lit(i, pl.UInt8))
    return code


def _dense(
    rows: pl.LazyFrame,
    members: pl.LazyFrame,
    keys: pl.LazyFrame,
    months: pl.LazyFrame,
    coverage: pl.LazyFrame,
    numbered: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Every series (numbered ``_sid``) in every month, in order, with its reported
    values and whether each side filed (:func:`series_changes`' first stage)."""
    keys = numbered if numbered is not None else numbered_keys(rows, keys)
    if "_sid" not in rows.collect_schema().names():
        rows, members = numbered_rows(rows, members, keys)
    monthly = coverage.filter(pl.col("freq") == "M").select(
        "reporter", "role", "mi", "products", "totals"
    )
    x_cov, m_cov, x_all = _covered(keys, members, monthly, months)
    # In the order of the keys and the calendar (both sorted): series by
    # series, month by month, without sorting 3.4M rows at 11.9M report rows.
    # The joins read one integer, the series-month's number (``series_month``).
    values = [c for c in rows.collect_schema().names() if c not in ("_sid", "mi")]
    rows = rows.join(keys.select("_sid"), on="_sid").select(
        series_month(pl.col("_sid")).alias("_k"), *values
    )
    return (
        keys.join(months.sort("mi"), how="cross", maintain_order="left_right")
        .with_columns(_k=series_month(pl.col("_sid")))
        .join(rows, on="_k", how="left", maintain_order="left")
        .join(x_cov, on="_k", how="left", maintain_order="left")
        .join(m_cov, on="_k", how="left", maintain_order="left")
        .join(x_all, on="_sid", how="left", maintain_order="left")
        .drop("_k")
        .with_columns(_i=pl.col("mi") - pl.col("mi").min())
        .with_columns(
            x_cov=pl.col("x_cov").fill_null(False)
            | pl.col("_x_all").fill_null(False)
            | pl.col("x").is_not_null(),
            m_cov=pl.col("m_cov").fill_null(False) | pl.col("m").is_not_null(),
        )
        .with_columns(covered=pl.col("x_cov") | pl.col("m_cov"))
    )


def series_changes(
    rows: pl.LazyFrame,
    members: pl.LazyFrame,
    keys: pl.LazyFrame,
    months: pl.LazyFrame,
    coverage: pl.LazyFrame,
    *,
    window: int = 24,
    history: int = 12,
    numbered: pl.LazyFrame | None = None,
    gpu: bool = False,
) -> pl.LazyFrame:
    """Dense monthly series, known in their covered months, and each window's change
    in log USD (``_u{k}``, ``_y{k}``; size class ``_c{k}``), before the null, with
    the series' own spread (``_sd``, :func:`_empirical_null`).

    Every series has a row for every month, sorted by series and month, so a
    value ``k`` months back is the row ``k`` rows up (within the series: its
    position ``_i`` is at least ``k``). :func:`series_evidence` puts the
    changes on the scale of chance.

    Parameters
    ----------
    rows, members, keys : LazyFrame
        :func:`series_rows`; ``rows`` and ``members`` may come numbered
        (:func:`numbered_rows`, with ``numbered``).
    months : LazyFrame
        ``mi``: the calendar.
    coverage : LazyFrame
        :func:`tradeflows._routes.coverage.coverage_table`.
    window : int
        Months of history a window is measured against.
    history : int
        Covered months of history a series needs before anything is measured.
    numbered : LazyFrame, optional
        :func:`numbered_keys` of ``rows`` and ``keys``, or a part of it: only
        those series, with those numbers (a series' changes read no other
        series, so the parts put together are the whole).
    gpu : bool
        Build the plan for the GPU engine (its windows over a series say
        their order; :func:`_with_series_runs`).

    Returns
    -------
    LazyFrame
        A plan: execute it once before reading it twice
        (:func:`tradeflows._routes.collect_route_indicators` does).

    See Also
    --------
    series_rows : its input.
    null_counts : the null read from it.

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
    >>> changes.filter(pl.col('kind') == 'leg').collect().height  # 3 legs (USA -> CHN too, unreported) x 36 months
    108
    """
    dense = _with_series_runs(_dense(rows, members, keys, months, coverage, numbered), gpu)
    back = _back
    known = pl.col("covered")
    dense = dense.with_columns(
        v=pl.when(known).then(pl.col("v").fill_null(0.0)),
        x=pl.when(pl.col("x_cov")).then(pl.col("x").fill_null(0.0)),
        m=pl.when(pl.col("m_cov")).then(pl.col("m").fill_null(0.0)),
        slip=pl.col("slip").fill_null(False),
    ).with_columns(
        lv=divided(pl.col("v"), 1000.0).log1p(),
        # One report far from its mirror, for one month only: a data-quality event.
        spike=(
            (pl.col("v") > 20 * back(pl.col("v"), 1).fill_null(0.0))
            & (pl.col("v") > 20 * back(pl.col("v"), -1).fill_null(0.0))
            & ((pl.col("x") > 20 * pl.col("m")) | (pl.col("m") > 20 * pl.col("x")))
        ).fill_null(False),
    )
    # The months evidence is measured on: covered, and not a data-quality event.
    sound = known & ~pl.col("slip") & ~pl.col("spike")
    dense = dense.with_columns(
        # Running sums (order_by: the rows are in order, but an engine may group them otherwise).
        # Counts as Int64: on the GPU engine (cudf-polars 26.10) a windowed
        # cum_sum of Int32 gives Int64 values in a column typed Int32, which a
        # later shift refuses.
        cum=_in_series(pl.col("lv").fill_null(0.0).cum_sum(), gpu),
        cum_n=_in_series(known.cast(pl.Int64).cum_sum(), gpu),
        _cnt=_in_series(sound.cast(pl.Int64).cum_sum(), gpu),
        _sv=_in_series(pl.when(sound).then(pl.col("v")).otherwise(0.0).cum_sum(), gpu),
        _vs=pl.when(sound).then(pl.col("v")),
        _sl=_in_series(pl.when(sound).then(pl.col("lv")).otherwise(0.0).cum_sum(), gpu),
        _sl2=_in_series(
            pl.when(sound).then(pl.col("lv") * pl.col("lv")).otherwise(0.0).cum_sum(), gpu
        ),
    )
    dense = _with_usual_class(dense, window=window, history=history, gpu=gpu)

    # In stages, each reading the columns the one before wrote: as one nest of
    # expressions (a window's change again inside its year-on-year change, each
    # shifted) the same values are computed over and over (benchmarks/RESULTS.md).
    # 1. Each window's covered months (``_n``), their sum (``_s``) and its
    # largest month (``_t``); over the ``window`` sound months up to each one,
    # the mean (``_h``) and the standard deviation of the log value (``_sd``).
    n_history = _window_sum("_cnt", window)
    mean_lv = _window_sum("_sl", window) / n_history
    dense = dense.with_columns(
        *(_window_sum("_cnt", k).alias(f"_n{k}") for k in WINDOWS),
        *(_window_sum("_sv", k).alias(f"_s{k}") for k in WINDOWS),
        *(
            pl.max_horizontal([back(pl.col("_vs"), j) for j in range(k)]).alias(f"_t{k}")
            for k in WINDOWS
            if k >= 3
        ),
        _h=_window_sum("_sv", window) / n_history,
        _sd=(_window_sum("_sl2", window) / n_history - mean_lv * mean_lv).clip(0.0).sqrt(),
    )
    # 2. Each window's mean in USD (``_level``), without its largest month (one
    # big shipment is not a rise); the mean of the ``window`` months before it
    # (``_usual``) and of the same months a year earlier (``_yb``). Means in USD,
    # then logs: a month without shipments lowers a mean, it does not sink it
    # (as a mean of logs would).
    levels = []
    for k in WINDOWS:
        n_k, s_k = pl.col(f"_n{k}"), pl.col(f"_s{k}")
        win_mean = s_k / n_k
        if k >= 3:
            win_mean = pl.when(n_k >= 2).then((s_k - pl.col(f"_t{k}")) / (n_k - 1))
        enough = n_k >= max(1, (k + 1) // 2)
        levels += [
            win_mean.alias(f"_level{k}"),
            back(pl.col("_h"), k).alias(f"_usual{k}"),
            back(s_k / n_k, 12).alias(f"_yb{k}"),
            # Only once the history is in (``_cls`` needs ``history`` covered months).
            (enough & back(pl.col("_cls"), k - 1).is_not_null()).alias(f"_ok{k}"),
            # The size class of the window's history (log10 of thousands of USD, 0 to 5).
            back(pl.col("_cls"), k - 1).alias(f"_c{k}"),
        ]
    dense = dense.with_columns(levels)
    # 3. Each window's change against the ``window`` months before it (``_u``),
    # and against the same months a year earlier (``_y``), in log USD.
    log_level = {k: divided(pl.col(f"_level{k}"), 1000.0).log1p() for k in WINDOWS}
    dense = dense.with_columns(
        pl.when(pl.col(f"_ok{k}"))
        .then(log_level[k] - divided(pl.col(f"_usual{k}"), 1000.0).log1p())
        .fill_nan(None)
        .alias(f"_u{k}")
        for k in WINDOWS
    )
    dense = dense.with_columns(
        pl.when(pl.col(f"_u{k}").is_not_null())
        .then(log_level[k] - divided(pl.col(f"_yb{k}"), 1000.0).log1p())
        .fill_nan(None)
        .alias(f"_y{k}")
        for k in WINDOWS
    )
    internal = [f"_{c}{k}" for k in WINDOWS for c in ("n", "s", "yb", "ok")]
    internal += [_RUN] if not gpu else []
    return dense.drop(
        *internal, *(f"_t{k}" for k in WINDOWS if k >= 3), "_h", "_cls", "_sl", "_sl2"
    )


#: The size classes of a series' usual level: log10 of thousands of USD a
#: month, 0 (under USD 10k) to this (USD 100m and more).
_TOP_CLASS = 5


def _window_sum(col: str, k: int) -> pl.Expr:
    """The sum of a running-sum column over the ``k`` months up to this one (dense frame)."""
    before = _back(pl.col(col), k)
    return pl.col(col) - pl.when(pl.col("_i") >= k).then(before).otherwise(0)


def _with_usual_class(dense: pl.LazyFrame, *, window: int, history: int, gpu: bool) -> pl.LazyFrame:
    """Add ``_cls``: the size class of the series' usual level before each month.

    The class of the lower median of the ``window`` covered months before it
    (log10 of thousands of USD a month, 0 to 5), null until ``history`` of
    them are in (warm-up). Counted from running counts of the months of each
    class: a median's breakdown (half the months can be anything) with only
    running sums, which every engine computes natively (the GPU engine has no
    rolling median). The lower median of ``n`` months is the ``(n + 1) // 2``-th
    smallest: its class is the number of classes whose months, with those below,
    are fewer than that.
    """
    cls = (pl.col("lv") / math.log(10.0)).floor().clip(0, _TOP_CLASS)
    below = [f"_le{b}" for b in range(_TOP_CLASS)]
    dense = dense.with_columns(
        _in_series(
            (pl.col("covered") & (cls <= b)).cast(pl.Int64).cum_sum(),  # as cum_n (series_changes)
            gpu,
        ).alias(col)
        for b, col in enumerate(below)
    )
    # Each count over the ``window`` months before this one.
    dense = dense.with_columns(
        _back(_window_sum(col, window), 1).fill_null(0).alias(f"_w{col}")
        for col in ["cum_n", *below]
    )
    # Fewer than the rank (n + 1) // 2: twice the count under n.
    n = pl.col("_wcum_n")
    under = [(2 * pl.col(f"_w{col}") < n).cast(pl.Int32) for col in below]
    return dense.with_columns(
        _cls=pl.when(n >= history).then(functools.reduce(operator.add, under))
    ).drop(*below, *(f"_w{col}" for col in ["cum_n", *below]))


def _evidence(dense: pl.LazyFrame, gpu: bool) -> pl.LazyFrame:
    """Each month's pooled rise and fall from the standardised changes, and what they quote."""
    back = _back
    known = pl.col("covered")
    # Never more than the change against the same months a year earlier: a
    # seasonal peak is not a rise.
    rises, falls = [], []
    for k in WINDOWS:
        for out, level, year in ((rises, f"_r{k}", f"_ry{k}"), (falls, f"_f{k}", f"_fy{k}")):
            z, zy = pl.col(level), pl.col(year)
            name = f"_rise{k}" if out is rises else f"_fall{k}"
            out.append(
                pl.when(zy.is_not_null()).then(pl.min_horizontal(z, zy)).otherwise(z).alias(name)
            )
    dense = dense.with_columns(*rises, *falls)
    rise_cols = [pl.col(f"_rise{k}") for k in WINDOWS]
    best = pl.max_horizontal(rise_cols)
    which = pl.when(rise_cols[0] == best).then(pl.lit(WINDOWS[0]))
    for k, col in zip(WINDOWS[1:], rise_cols[1:], strict=True):
        which = which.when(col == best).then(pl.lit(k))

    def at_window(prefix: str) -> pl.Expr:
        """``prefix`` of the window the rise came from (the shortest without one)."""
        expr = pl.when(pl.col("rise_k") == WINDOWS[0]).then(pl.col(f"{prefix}{WINDOWS[0]}"))
        for k in WINDOWS[1:]:
            expr = expr.when(pl.col("rise_k") == k).then(pl.col(f"{prefix}{k}"))
        return expr.otherwise(pl.col(f"{prefix}{WINDOWS[0]}"))

    dense = dense.with_columns(
        rise=best, fall=pl.max_horizontal(f"_fall{k}" for k in WINDOWS), rise_k=which
    ).with_columns(
        # The window's mean a month (without its largest month) and the mean a
        # month of the history before it, in USD: what a rise adds is their difference.
        level=at_window("_level"),
        usual=at_window("_usual"),
        # Of the shortest window, for a fall.
        level_short=pl.col(f"_level{WINDOWS[0]}"),
        usual_short=pl.col(f"_usual{WINDOWS[0]}"),
    )
    dense = dense.with_columns(
        # Evidence from a data-quality event does not count as a rise.
        # and nothing is measured on a month nobody filed.
        rise=pl.when(~known)
        .then(None)
        .when(pl.col("slip") | pl.col("spike"))
        .then(0.0)
        .otherwise(pl.col("rise")),
        fall=pl.when(known).then(pl.col("fall")),
        # Runs of months that clear the evidence line, to date each rise's
        # onset; one month below it (a missing report) does not end a run.
        _run=_in_series(
            (
                (pl.col("rise").fill_null(0.0) < EVIDENCE)
                & (back(pl.col("rise"), -1).fill_null(0.0) < EVIDENCE)
            )
            .cast(pl.Int64)  # as cum_n
            .cum_sum(),
            gpu,
        ),
        first_covered=_in_series(pl.when(known).then(pl.col("mi")).min(), gpu),
        last_covered=_in_series(pl.when(known).then(pl.col("mi")).max(), gpu),
        # The mirror gap is read over three months: one that touches a
        # data-quality event says nothing about the flow.
        gap=pl.when(
            ~pl.any_horizontal(
                [back(pl.col("slip") | pl.col("spike"), j).fill_null(False) for j in (-1, 0, 1)]
            )
        ).then(pl.col("gap")),
    )
    # A run within a series, as one integer: a window over one key, not two
    # (on the CPU engines, its runs numbered in order: :func:`key_runs`).
    run = pl.col("_sid").cast(pl.Int64) * (1 << 20) + pl.col("_run")
    run = run if gpu else key_runs([run])
    dense = dense.with_columns(
        onset=pl.when(pl.col("rise") >= EVIDENCE).then(
            pl.when(pl.col("rise") >= EVIDENCE).then(pl.col("mi")).min().over(run)
        )
    )
    # The last four months' strongest rise, and the values it quotes: goods
    # arrive at a hub up to three months before they leave it.
    recent = [back(pl.col("rise"), k) for k in range(4)]
    top = pl.max_horizontal(recent)
    lag = pl.when(recent[0] == top).then(pl.lit(0))
    for k in range(1, 4):
        lag = lag.when(recent[k] == top).then(pl.lit(k))
    dense = dense.with_columns(rise_recent=top, _lag=lag)

    def at_lag(col: str) -> pl.Expr:
        expr = pl.when(pl.col("_lag") == 0).then(pl.col(col))
        for k in range(1, 4):
            expr = expr.when(pl.col("_lag") == k).then(back(pl.col(col), k))
        return expr

    dense = dense.with_columns(
        level_recent=at_lag("level"),
        usual_recent=at_lag("usual"),
        onset_recent=pl.coalesce([back(pl.col("onset"), k) for k in range(4)]),
    )
    drop = [
        c
        for c in dense.collect_schema().names()
        if c.startswith("_") and c not in ("_sid", "_kind")
    ]
    return dense.drop(*drop, "lv")


#: Series read only by immaterial routes (``min_usd``) that the null is read
#: from one in ``k``, each counting ``k`` times: ``k`` makes about this many
#: immaterial routes' worth (all of them, exactly, on smaller data).
NULL_SAMPLE_ROUTES = 25_000
#: The kinds of series sampled: those a route reads for itself. The hubs' and
#: destinations' totals are kept whole (the policy breaks compare a route with
#: the hub's other products of its chapter).
_SAMPLED_KINDS = ("leg", "leg4", "dest_ex")


def null_sample(n_immaterial: int) -> int:
    """One in how many immaterial-only series the null is read from (1: all).

    Parameters
    ----------
    n_immaterial : int
        Candidate routes of the whole run left out as immaterial.

    Returns
    -------
    int

    See Also
    --------
    sampled_series : the series it picks.

    Examples
    --------
    >>> null_sample(3_000), null_sample(277_000)
    (1, 12)
    """
    return max(1, -(-int(n_immaterial) // NULL_SAMPLE_ROUTES))


def sampled_series(all_keys: pl.LazyFrame, material_keys: pl.LazyFrame, k: int) -> pl.LazyFrame:
    """The series read only by immaterial routes, each with its weight ``_w`` in the null.

    One in ``k`` of them (by a hash of its key, so a part of the data picks
    the series the whole would) has ``_w = k``; the others ``_w = 0``: they
    are not built. The null read from the series of the material routes and
    these stands for the null of all the candidate routes' series.

    Parameters
    ----------
    all_keys, material_keys : LazyFrame
        ``SERIES_KEY`` of the series every candidate route reads, and those the
        material routes read (:func:`series_rows`' ``keys``).
    k : int
        :func:`null_sample`.

    Returns
    -------
    LazyFrame
        ``SERIES_KEY`` and ``_w``.

    See Also
    --------
    null_sample : its ``k``.

    Examples
    --------
    >>> every = pl.LazyFrame({'kind': 'leg', 'a': ['USA', 'JPN', 'KOR'], 'b': 'MYS', 'p': '847150'})
    >>> sampled_series(every, every.head(1), 1).collect().sort('a')['_w'].to_list()
    [1, 1]
    """
    only = all_keys.filter(pl.col("kind").is_in(_SAMPLED_KINDS)).join(
        material_keys, on=SERIES_KEY, how="anti"
    )
    picked = pl.concat_str(SERIES_KEY, separator="|").hash(seed=0) % k == 0
    return (
        only.select(SERIES_KEY)
        .unique()
        .with_columns(_w=pl.when(picked).then(pl.lit(k, pl.Int64)).otherwise(pl.lit(0, pl.Int64)))
    )
