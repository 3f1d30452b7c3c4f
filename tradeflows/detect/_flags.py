"""From canonical rows to the flags table: mirror, routes, a detector, reasons."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from pathlib import Path

import numpy as np
import polars as pl

from tradeflows import _engine
from tradeflows._clean import canonical_rows, refuse_bad_rows
from tradeflows._expr import number_text, usd_text
from tradeflows._log import logger, step
from tradeflows._mirror import collect_context, mirror_rows
from tradeflows._names import NAME_COLUMNS, with_names
from tradeflows._query import Query
from tradeflows._routes import (
    FEATURES,
    ROUTE_KEY,
    coverage_table,
    product_level,
    route_indicators,
)
from tradeflows.detect._corridors import (
    POOLED_FEATURES,
    corridors,
    per_route,
    pooled_features,
    route_evidence,
)

__all__ = [
    "FLAG_COLUMNS",
    "NAME_COLUMNS",
    "default_detector",
    "detect_routes",
    "load_canonical",
    "reasons",
    "route_features",
    "route_months_scored",
]

#: The leading columns of the flags table (the indicators follow).
FLAG_COLUMNS = [*ROUTE_KEY, "period", "score", "evidence", "flagged", "reasons", "data_quality"]

#: Evidence a reason mentions: a rise beyond 99% of the data's chance changes
#: of that kind, window and size (the features' units: :mod:`tradeflows._routes.series`).
_RISE = 2.33


def default_detector(threshold: float | None = None):
    """The default detector: trees learned on calibrated worlds (:class:`LearnedRouteDetector`).

    Chosen on the tuning worlds of the stress suite against the earlier
    weakest-group robust score (``benchmarks/RESULTS.md``); its score is the
    log-odds that a route-month belongs to a transshipment episode.

    Parameters
    ----------
    threshold : float, optional
        The log-odds a route-month and its route's evidence must clear to be
        flagged, on every route (default: those chosen on the tuning worlds,
        one for routes whose hub -> destination leg is seen and a lower one
        for routes whose leg nobody reports).

    Returns
    -------
    LearnedRouteDetector

    See Also
    --------
    LearnedRouteDetector : the detector it returns.

    Examples
    --------
    >>> type(default_detector()).__name__
    'LearnedRouteDetector'
    """
    from tradeflows.detect._learned import LearnedRouteDetector

    return LearnedRouteDetector(threshold=threshold)


def load_canonical(
    sources: Iterable[str | Path] | pl.LazyFrame | pl.DataFrame, *, engine: str | None = None
) -> pl.LazyFrame:
    """Canonical rows from stores, canonical parquet files or raw source files.

    A store (a folder with ``audit.json``) is scanned; raw files are ingested,
    with the same cleaning and audit as ``tradeflows ingest``, into a temporary
    store that is read back into memory (:func:`tradeflows._store.open_sources`).
    Rows in a frame are read as :func:`tradeflows.clean.canonical_rows` says.

    Parameters
    ----------
    sources : path, iterable of paths, LazyFrame or DataFrame
        Stores, files, globs or folders; or rows (:func:`tradeflows.clean.canonical_rows`).
    engine : str, optional
        Where files that are not a store are cleaned (into a temporary store).

    Returns
    -------
    LazyFrame
        Canonical rows.

    See Also
    --------
    tradeflows.scan_store : a store's rows.

    Examples
    --------
    >>> load_canonical(["/nonexistent"])
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent: no such file or folder
    """
    from tradeflows._store import open_sources

    if isinstance(sources, (pl.LazyFrame, pl.DataFrame)):
        rows = canonical_rows(sources.lazy())
        refuse_bad_rows(rows)  # a frame of one's own is not cleaned
        return rows
    return open_sources(sources, engine=engine)[0]


def _rise(now: str, usual: str) -> pl.Expr:
    """``rose to USD 4.1m a month, 4.1x the usual USD 1.0m`` or ``... from almost nothing``."""
    ratio = pl.col(now) / pl.col(usual)
    return pl.concat_str(
        pl.lit("rose to "),
        usd_text(pl.col(now)),
        pl.lit(" a month"),
        pl.when(pl.col(usual).fill_null(0.0) < 1000)
        .then(pl.lit(" from almost nothing"))
        .otherwise(
            pl.concat_str(
                pl.lit(", "), number_text(ratio), pl.lit("x the usual "), usd_text(pl.col(usual))
            )
        ),
    )


def reasons(flags: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``reasons``: the evidence of each route-month in words.

    A side that filed nothing is named as such (one report only); a month
    whose evidence is spread over several weak signs says which.

    Parameters
    ----------
    flags : LazyFrame
        Route-months with their indicators (:func:`route_features`) and scores.

    Returns
    -------
    LazyFrame
        The same, with ``reasons``.

    See Also
    --------
    detect_routes : where they are written.

    Examples
    --------
    >>> row = {"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150",
    ...     "inflow_rise": 9.0, "outflow_rise": 8.0,
    ...     "inflow_peak": 4.1e6, "inflow_usual": 1e6, "outflow_level": 3.8e6, "outflow_usual": 1e6,
    ...     "outflow_by_hub": 3.8e6, "outflow_by_destination": 1.4e6, "direct_level": 0.0,
    ...     "destination_silent": False, "origin_silent": False,
    ...     "direct_usual": None,
    ...     "inflow_by_origin": 4.1e6, "inflow_by_hub": 4.3e6, "hub_share": 0.3, "outflow4_level": 3.8e6, "outflow4_usual": 1e6,
    ...     "outflow4_rise": 0.0, "lag": 1, "ghost": 0.0, "booked": 0.0, "booked_usd": 0.0,
    ...     "diversion": 0.0,
    ...     "gap_out": -0.62, "gap_out_change": 0.6, "share_change": 0.0, "policy_did": 0.0,
    ...     "policy": None, "data_quality": None}
    >>> print(reasons(pl.LazyFrame([row])).collect()["reasons"].item())
    Malaysia (MYS) imports of 847150 from United States (USA) rose to USD 4.1m a month, 4.1x the usual USD 1.0m, while MYS exports to China (CHN) rose to USD 3.8m a month, 3.8x the usual USD 1.0m one month later; CHN books 62% less from MYS than MYS reports
    """
    text = pl.concat_str([_legs_sentence(), *_sign_sentences()], separator="; ", ignore_nulls=True)
    weak = _weak_sentence()
    flags = flags.with_columns(reasons=pl.when(text == "").then(weak).otherwise(text))
    # One country at a time, each on the column written before: an expression
    # that used the text four times per country would compute it 64 times.
    for col in ("hub", "origin", "destination"):
        flags = flags.with_columns(reasons=_named_once(pl.col("reasons"), col))
    return flags


def _product() -> pl.Expr:
    return pl.when(pl.col("hs") == "TOTAL").then(pl.lit("all goods")).otherwise(pl.col("hs"))


def _legs_sentence() -> pl.Expr:
    """Goods arriving at the hub, then leaving it towards the destination (or the one)."""
    product = _product()
    origin = pl.when(pl.col("origin") == "").then(pl.lit("all origins")).otherwise(pl.col("origin"))
    later = (
        pl.when(pl.col("lag").is_null() | (pl.col("lag") < 0))
        .then(pl.lit(""))
        .when(pl.col("lag") == 0)
        .then(pl.lit(" the same month"))
        .when(pl.col("lag") == 1)
        .then(pl.lit(" one month later"))
        .otherwise(
            pl.concat_str(pl.lit(" "), pl.col("lag").cast(pl.String), pl.lit(" months later"))
        )
    )

    def witness(who: str, other: str, tail: str, says: str = " reports it; ") -> pl.Expr:
        """`` (as WHO reports it; OTHER files no ...)``: which side a figure rests on."""
        return pl.concat_str(pl.lit(" (as "), who, pl.lit(says), other, pl.lit(tail))

    by_hub, by_dest = pl.col("outflow_by_hub"), pl.col("outflow_by_destination")
    witnessed = (
        pl.when(by_hub.is_null() & (by_dest > 0))
        .then(witness("destination", "hub", " files no exports)"))
        .when((by_hub == 0) & (by_dest > 0))
        .then(witness("destination", "hub", " reports none)"))
        .when(pl.col("destination_silent") & (by_hub > 0))
        .then(witness("hub", "destination", " publishes no imports)"))
        .when((by_dest == 0) & (by_hub > 0))
        .then(witness("hub", "destination", " books none)"))
        .otherwise(pl.lit(""))
    )
    one_side = (
        pl.when(pl.col("origin_silent").fill_null(False))
        .then(witness("hub", "origin", " files no exports)", says=" books them; "))
        .otherwise(pl.lit(""))
    )
    # Seen from the origin's report alone (the hub files no imports, or books
    # none of them): said as the origin's exports.
    in_hub = pl.col("inflow_by_hub")
    origin_only = (pl.col("origin") != "") & (pl.col("inflow_by_origin") > 0)
    hub_side = (
        pl.when(origin_only & in_hub.is_null())
        .then(witness("origin", "hub", " files no imports)", says=" reports them; "))
        .when(origin_only & (in_hub == 0))
        .then(witness("origin", "hub", " books none)", says=" reports them; "))
    )
    inflow = (
        pl.when((pl.col("inflow_rise") >= _RISE) & hub_side.is_not_null())
        .then(
            pl.concat_str(
                "origin",
                pl.lit(" exports of "),
                product,
                pl.lit(" to "),
                "hub",
                pl.lit(" "),
                _rise("inflow_peak", "inflow_usual"),
                hub_side,
            )
        )
        .when(pl.col("inflow_rise") >= _RISE)
        .then(
            pl.concat_str(
                "hub",
                pl.lit(" imports of "),
                product,
                pl.lit(" from "),
                origin,
                pl.lit(" "),
                _rise("inflow_peak", "inflow_usual"),
                one_side,
            )
        )
    )
    outflow = (
        pl.when(pl.col("outflow_rise") >= _RISE)
        .then(
            pl.concat_str(
                "hub",
                pl.lit(" exports to "),
                "destination",
                pl.lit(" "),
                _rise("outflow_level", "outflow_usual"),
                later,
                witnessed,
            )
        )
        .when(pl.col("outflow4_rise") >= _RISE)
        .then(
            pl.concat_str(
                "hub",
                pl.lit(" exports to "),
                "destination",
                pl.lit(" of heading "),
                product_level(4),
                pl.lit(" "),
                _rise("outflow4_level", "outflow4_usual"),
                # Said only where the heading's other codes carry most of it.
                pl.when(
                    pl.col("outflow_level").fill_null(0.0) < 0.5 * pl.col("outflow4_level")
                ).then(pl.concat_str(pl.lit(", mostly under codes other than "), "hs")),
                ignore_nulls=True,
            )
        )
    )
    first = pl.concat_str(inflow, pl.lit(", while "), outflow)
    return pl.coalesce(first, inflow, outflow)


def _sign_sentences() -> list[pl.Expr]:
    """The other signs, each a sentence where it holds (null where not)."""
    product = _product()
    # Goods the destination books from the origin beyond what the origin reports
    # sending: as an amount where it is at least the origin's own figure.
    booked = pl.col("booked") >= np.log(2.0)
    ghost = pl.when(booked | (pl.col("ghost") >= _RISE)).then(
        pl.concat_str(
            "destination",
            pl.lit(" books imports of "),
            product,
            pl.lit(" from "),
            "origin",
            pl.when(booked)
            .then(
                pl.concat_str(
                    pl.lit(" of "),
                    usd_text(pl.col("booked_usd")),
                    pl.lit(" a month more than "),
                    "origin",
                    pl.lit(" reports sending"),
                )
            )
            .otherwise(
                pl.concat_str(pl.lit(" that "), "origin", pl.lit(" does not report sending"))
            ),
        )
    )
    diversion = pl.when(pl.col("diversion") >= _RISE).then(
        pl.concat_str(
            "origin",
            pl.lit("'s direct exports of "),
            product,
            pl.lit(" to "),
            "destination",
            pl.lit(" fell"),
            pl.lit(" from "),
            usd_text(pl.col("direct_usual").fill_null(0.0)),
            pl.lit(" a month to "),
            usd_text(pl.col("direct_level").fill_null(0.0)),
        )
    )
    gap = pl.when((pl.col("gap_out_change") >= 0.3) & pl.col("gap_out").is_not_null()).then(
        pl.concat_str(
            "destination",
            pl.lit(" books "),
            number_text(100 * pl.col("gap_out").abs(), 0),
            pl.when(pl.col("gap_out") < 0).then(pl.lit("% less")).otherwise(pl.lit("% more")),
            pl.lit(" from "),
            "hub",
            pl.lit(" than "),
            "hub",
            pl.lit(" reports"),
        )
    )
    # The destination's imports where they are known; otherwise the share is
    # the hub's of what the origin ships to the hub and the destination.
    shipments = ["origin", pl.lit("'s shipments of "), product, pl.lit(" to "), "hub",
                 pl.lit(" and "), "destination"]  # fmt: skip
    of_what = (
        pl.when(pl.col("hub_share").is_not_null())
        .then(pl.concat_str("destination", pl.lit("'s imports of "), product))
        .otherwise(pl.concat_str(shipments))
    )
    share = pl.when(pl.col("share_change") >= 0.1).then(
        pl.concat_str(
            "hub",
            pl.lit("'s share of "),
            of_what,
            pl.lit(" up "),
            number_text(100 * pl.col("share_change"), 0),
            pl.lit(" points"),
        )
    )
    policy = pl.when((pl.col("policy_did") >= 0.5) & pl.col("policy").is_not_null()).then(
        pl.concat_str(
            pl.lit("break after "),
            "policy",
            pl.lit(" (difference-in-differences "),
            number_text(pl.col("policy_did")),
            pl.lit(" log points against the origin's other partners)"),
        )
    )
    quality = pl.when(pl.col("data_quality").is_not_null()).then(
        pl.concat_str(pl.lit("data quality: "), "data_quality")
    )
    return [ghost, diversion, gap, share, policy, quality]


def _weak_sentence() -> pl.Expr:
    """Several weak signs together: their sizes, on the scale of chance."""
    return pl.concat_str(
        pl.lit("several weak signs together (inflow rise "),
        number_text(pl.col("inflow_rise")),
        pl.lit(", outflow rise "),
        number_text(pl.max_horizontal("outflow_rise", "outflow4_rise")),
        pl.lit(", diversion "),
        number_text(pl.col("diversion")),
        pl.lit("; 2.3 is a 1-in-100 change)"),
    )


def _named_once(text: pl.Expr, col: str) -> pl.Expr:
    """The first mention of the route's country ``col`` in ``text`` as "Kyrgyzstan (KGZ)".

    The text is cut at the code, not at an offset: ``str.find`` counts bytes
    and ``str.slice`` characters, and a name written before ("Türkiye") would
    shift the cut.

    Examples
    --------
    >>> f = pl.DataFrame({"t": ["Türkiye (TUR) exports to BLR rose; BLR books more"],
    ...                   "destination": ["BLR"]})
    >>> f.select(_named_once(pl.col("t"), "destination")).item()
    'Türkiye (TUR) exports to Belarus (BLR) rose; BLR books more'
    """
    from tradeflows._names import country_names_table

    code = pl.col(col)
    name = code.replace_strict(country_names_table(), default=None, return_dtype=pl.String)
    parts = text.str.split(code)
    spelled = pl.concat_str(
        parts.list.first(), name, pl.lit(" ("), code, pl.lit(")"),
        parts.list.slice(1).list.join(code),
    )  # fmt: skip
    found = name.is_not_null() & (code != "") & (parts.list.len() > 1)
    return pl.when(found).then(spelled).otherwise(text)


def _over_budget(pairs: pl.DataFrame, query: Query, engine, budget: int):
    """Whether the whole run's route-months would need more than ``budget`` bytes
    (then the detection goes chapter by chapter, to the same flags); and, when
    they fit, the legs and routes counted (:func:`query_route_inputs`), for the run."""
    from tradeflows._engine import memory_in_words
    from tradeflows.detect._budget import (
        query_route_inputs,
        route_months_estimate,
        whole_run_bytes,
    )

    with step("counting the route-months"):
        inputs = query_route_inputs(pairs, query, engine)
        n = route_months_estimate(pairs, query, engine, inputs=inputs)
    need = whole_run_bytes(pairs.height, n)
    if need <= budget:
        return False, inputs
    logger.info(
        f"the pairs and {n:,} route-months would need about {memory_in_words(need)}, more than "
        f"the {memory_in_words(budget)} budget: HS chapters in groups (the same flags)"
    )
    return True, None


def _query(query: Query | None, **fields) -> Query:
    """The query of a run: ``query`` as given, or built from its fields (not both)."""
    given = {k: v for k, v in fields.items() if v is not None}
    if query is None:
        return Query(**given)
    if given:
        raise ValueError(f"give a query or {', '.join(given)}, not both")
    return query


def route_features(
    source: Iterable[str | Path] | pl.LazyFrame,
    *,
    destinations: Iterable[str] | None = None,
    hubs: Iterable[str] | None = None,
    hs: Iterable[str] | None = None,
    since: str | None = None,
    query: Query | None = None,
    engine: str | None = None,
    partition: bool = False,
    cluster=None,
    pairs: pl.DataFrame | None = None,
    memory: str | float | None = None,
    then=None,
) -> pl.DataFrame:
    """The route indicators of ``source`` as :func:`detect_routes` scores them, in a fixed order.

    Parameters
    ----------
    source, destinations, hubs, hs, since, query, engine, partition, cluster, pairs, memory
        As :func:`detect_routes`.
    then : callable, optional
        Applied to the indicators (sorted) before they are returned: to each
        part of whole routes as soon as it is computed
        (:func:`tradeflows._routes.collect_route_indicators`), in one run as
        in each group of a run HS chapter by chapter
        (:func:`tradeflows.detect._partition.indicators`). It must read a
        route's months only.

    Returns
    -------
    DataFrame
        One row per route-month: ``ROUTE_KEY``, ``period`` and the indicators
        (:data:`tradeflows._routes.FEATURES` among them), or ``then`` of them.

    See Also
    --------
    detect_routes : score them.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": "M", "period": [dt.date(2024, 1, 1)] * 2,
    ...     "reporter": ["USA", "MYS"], "partner": ["MYS", "CHN"], "flow": "X",
    ...     "hs": "847150", "value_usd": 1e6, "net_kg": None, "slip_suspect": False})
    >>> route_features(lf.with_columns(pl.col("net_kg").cast(pl.Float64)), destinations=["CHN"]).height
    2
    """
    query = _query(query, destinations=destinations, hubs=hubs, hs=hs, since=since)
    from tradeflows._engine import memory_budget
    from tradeflows.detect._budget import too_many_rows

    budget = memory_budget(memory)  # checked before any work
    if pairs is not None and (partition or cluster is not None):
        raise ValueError("pairs: not with partition or cluster, which mirror chapter by chapter")
    lf = load_canonical(source, engine=engine)
    grouped = partition or cluster is not None
    context = inputs = None
    if not grouped and pairs is None and too_many_rows(lf, budget, engine):
        grouped = True  # the context read chapter by chapter: nothing pairs all rows at once
    elif not grouped:
        if pairs is None:
            with step("pairing the two reports of each flow"):
                context = collect_context(lf, engine)
                pairs = mirror_rows(lf, engine, context=context)  # lf checked above
        grouped, inputs = _over_budget(pairs, query, engine, budget)
    # A fixed row order: a detector may depend on the rows' order, and the
    # engines (cpu, streaming, gpu) return rows in different orders.
    ordered = partial(_sort_then, then=then)
    # With ``then``, each part of whole routes (in one run, or in a group of
    # chapters) is sorted and ``then`` of it taken as soon as it is built, so
    # that one part's indicators are held at a time, not every route-month.
    each = ordered if then is not None else None
    if grouped:
        from tradeflows.detect._partition import indicators

        # The groups mirror their own chapters, with the whole store's context
        # (the pairing and the context are not computed again when the budget
        # check computed them).
        del pairs
        # Handed over, not passed: the groups let the paired rows go after the
        # first pass, which a reference held here would prevent.
        handed, context = (None if context is None else [context]), None
        with step("route indicators, HS chapters in groups"):
            out = indicators(lf, query, engine=engine, cluster=cluster, then=each, context=handed)
        return out if then is not None else ordered(out)
    with step("who filed what, month by month"):
        # The mirror's context has it (coverage_table of the same rows).
        coverage = (
            context[0]["filed"]
            if context is not None
            else _engine.collect(coverage_table(lf), _engine.streamed(engine)).lazy()
        )
    del context
    with step("route indicators"):
        ind = route_indicators(
            pairs.lazy(), **query.options(), coverage=coverage, engine=engine, inputs=inputs,
            then=each,
        )  # fmt: skip
    return ind if then is not None else ordered(ind)


def _sort_then(ind: pl.DataFrame, then=None) -> pl.DataFrame:
    """``then`` of the indicators in route and month order (the indicators, without ``then``)."""
    ind = ind.sort([*ROUTE_KEY, "period"])
    return then(ind) if then is not None else ind


def detect_routes(
    source: Iterable[str | Path] | pl.LazyFrame,
    *,
    destinations: Iterable[str] | None = None,
    hubs: Iterable[str] | None = None,
    hs: Iterable[str] | None = None,
    since: str | None = None,
    query: Query | None = None,
    engine: str | None = None,
    detector=None,
    labels: pl.DataFrame | None = None,
    partition: bool = False,
    cluster=None,
    pairs: pl.DataFrame | None = None,
    level: str = "route-month",
    memory: str | float | None = None,
    keep: str = "evidence",
) -> pl.DataFrame:
    """The flags table (one row per route-month) or its corridors, most suspicious first.

    Parameters
    ----------
    source : LazyFrame, path or iterable of paths
        Canonical rows (or rows read by :func:`tradeflows.scan` or marked by
        :func:`tradeflows.clean.clean`: only those a store would keep are
        read, :func:`tradeflows.clean.canonical_rows`; a frame of one's own
        needs period, freq, reporter, partner, flow, hs and value_usd), or
        stores and source files (see :func:`load_canonical`).
    destinations, hubs, hs, since
        The fields of a :class:`tradeflows.Query`, resolved once here:
        countries by ISO3, ISO2, M49 or Comtrade code or English name
        (``["China", "KG"]``), products by HS prefix or words, ``since`` a
        year or a month (``"2022"``, ``"2022-03"``).
    query : Query, optional
        The same, built already (then the four fields above stay unset).
    engine : {"cpu", "streaming", "gpu", "auto"}, optional
        Where the mirror and the routes are computed.
    detector : estimator, optional
        Any estimator with ``fit`` and ``score_samples`` (lower = more
        abnormal); default :func:`default_detector`.
    labels : DataFrame, optional
        Known cases (``origin``, ``hub``, ``destination``, ``hs``, ``period``,
        ``is_transshipment``): the default detector goes on training its
        trees on them.
    partition : bool
        Compute the indicators HS chapter by chapter, in groups of up to
        500,000 pairs (a larger chapter by groups of its headings; memory
        bounded by the largest group); the result is the same.
    cluster : str or distributed.Client, optional
        Map the groups of chapters over a Dask cluster: a scheduler address, ``"local"``
        (local worker processes) or a Client. The workers read the data
        themselves: a store on a disk they share, or on object storage.
    pairs : DataFrame, optional
        :func:`tradeflows._mirror.collect_mirror` of ``source``, when the caller
        has it already (the report draws it too): it is not computed again.
        Not with ``partition`` or ``cluster``, which mirror chapter by chapter.
    level : {"route-month", "corridor"}
        The flags table, or :func:`tradeflows.corridors` of it (one
        row per origin -> hub -> destination -> product).
    memory : str or float, optional
        The memory the run may use (``"6GiB"``, or a share of the machine's:
        ``0.5``; default a quarter). When the whole run would need more
        (:func:`tradeflows.detect._budget.whole_run_bytes` of its pairs and
        route-months, counted before they are built), it goes HS chapter by
        chapter in groups, as with
        ``partition``, scoring each group as it is computed: the same flags.
    keep : {"evidence", "all"}
        ``"evidence"``: every month of the routes an analyst reads (flagged,
        and the ``NEAR_ROUTES`` others nearest the line, within
        ``EVIDENCE_MARGIN`` of it), and of every other route only its peak
        month and its data-quality events; the corridor ranking is the same as with
        ``"all"``, which keeps every route-month scored.

    Returns
    -------
    DataFrame
        ``FLAG_COLUMNS`` then the indicators, ``extra_usd_month`` (what the
        route's strongest months carried above the usual, a month) and
        ``months_scored`` (its months scored, kept or not:
        :func:`route_months_scored`). ``score`` is higher = more
        suspicious (the negated ``score_samples``; for the default detector
        the log-odds of transshipment). A route-month is ``flagged`` when the
        detector calls it an outlier, its route's pooled evidence
        (:func:`tradeflows.detect.route_evidence`) clears the same
        threshold (for the default detector, a lower one where the route's
        hub -> destination leg is never seen: ``LearnedRouteDetector.thresholds``),
        both its inflow and its outflow side are covered that month, and it
        is not a data-quality event.

    See Also
    --------
    tradeflows.corridors : one row per corridor.
    tradeflows.Query : what to look for.
    tradeflows.Report : the report of a detection.

    Examples
    --------
    >>> import datetime as dt
    >>> months = [dt.date(2021 + k // 12, k % 12 + 1, 1) for k in range(48)]
    >>> grow = [1e7 * (1 if k < 30 else 6) for k in range(48)]
    >>> lf = pl.LazyFrame({"freq": "M", "period": months * 2,
    ...     "reporter": ["USA"] * 48 + ["MYS"] * 48, "partner": ["MYS"] * 48 + ["CHN"] * 48,
    ...     "flow": "X", "hs": "847150", "value_usd": grow + [0.8 * g - 7e6 for g in grow],
    ...     "net_kg": None, "slip_suspect": False}).with_columns(pl.col("net_kg").cast(pl.Float64))
    >>> flags = detect_routes(lf, destinations=["CHN"])
    >>> top = flags.row(0, named=True)
    >>> top["hub"], top["destination"], top["flagged"], top["period"] >= dt.date(2023, 7, 1)
    ('MYS', 'CHN', True, True)
    """
    if level not in ("route-month", "corridor"):
        raise ValueError(f"level {level!r}: choose route-month or corridor")
    if keep not in ("evidence", "all"):
        raise ValueError(f"keep {keep!r}: choose evidence or all")
    query = _query(query, destinations=destinations, hubs=hubs, hs=hs, since=since)
    engine = _engine.resolve(engine)  # once, for every stage below
    run = {"query": query, "engine": engine, "partition": partition, "cluster": cluster,
           "pairs": pairs, "memory": memory}  # fmt: skip
    if labels is None and (detector is None or _learns_nothing_from_rows(detector)):
        # Fitted once; each group of chapters (each part of a group's routes) is
        # then scored, and cut down to what an analyst reads, as soon as it is
        # computed. scikit-learn takes about a second to import: it is imported
        # in a thread while the routes are computed (polars lets go of the
        # interpreter), and the trees are loaded here when the first part is
        # scored (XGBoost, imported then, sends its warnings to the thread that
        # imported it: this one).
        fitted = cache(partial(_fitted, detector, engine))
        with ThreadPoolExecutor(1, thread_name_prefix="tradeflows-sklearn") as pool:
            pool.submit(importlib.import_module, "tradeflows.detect._base")
            if cluster is None:
                score = partial(_scored_once_fitted, fitted=fitted, keep=keep)
            else:  # the workers are handed the detector itself
                score = partial(_scored, det=fitted(), keep=keep)
            with step("route indicators and scores"):
                flags = route_features(source, **run, then=score)
            det = fitted()
        if "_near" in flags.columns:  # each part cut to its nearest routes; now all of them
            flags = _read(flags)
    else:
        det = _on_device(detector if detector is not None else default_detector(), engine)
        ind = route_features(source, **run)
        if not ind.is_empty():
            X = ind.select(FEATURES).to_numpy().astype(np.float64)
            det = det.fit(X, _labels(ind, labels)) if labels is not None else det.fit(X)
        flags = _scored(ind, det, keep)
    flags = _held_to_base_rate(flags.drop("_near", "_peak", strict=False), det)
    # Ties go to a named origin before the hub's total ("all origins"). Sorted
    # before the words are added, the text being most of the table's memory,
    # and by gathering the rows in their order: a sort of the table of
    # several parts copied it twice (2.4 GiB, not 1.2, for 3.05M route-months).
    by = ["score", pl.col("origin") == "", *ROUTE_KEY, "period"]
    order = flags.select(pl.arg_sort_by(by, descending=[True] + [False] * 6)).to_series()
    flags = flags[order]
    del order
    with step(f"reasons, in words, of {flags.height:,} route-months"):
        out = _in_words(flags)
    del flags
    rest = [c for c in out.columns if c not in FLAG_COLUMNS and c not in NAME_COLUMNS]
    out = out.select(*FLAG_COLUMNS, *NAME_COLUMNS, *rest)
    return corridors(out) if level == "corridor" else out


#: The route-months put in words at a time (:func:`_in_words`): the sentences'
#: intermediate columns took 1.3 kB a route-month, 3.95 GiB for the 3.05M of a
#: store of Comext bulk files, at once (benchmarks/RESULTS.md, issue 27).
WORDS_ROWS = 250_000


def _in_words(flags: pl.DataFrame) -> pl.DataFrame:
    """:func:`reasons` and the names of the places and products of ``flags``,
    :data:`WORDS_ROWS` route-months at a time, in their order."""
    parts = [
        with_names(_engine.collect(reasons(flags.slice(start, WORDS_ROWS).lazy()), "cpu"))
        for start in range(0, max(flags.height, 1), WORDS_ROWS)
    ]
    return pl.concat(parts, rechunk=False)


def _on_device(det, engine: str):
    """The shipped trees on the engine's device where the detector leaves it unset
    (XGBoost on CUDA with the GPU engine); a copy, the caller's detector untouched."""
    from tradeflows.detect._learned import LearnedRouteDetector

    if isinstance(det, LearnedRouteDetector) and det.device is None:
        return copy.copy(det).set_params(device=_engine.xgboost_device(engine))
    return det


def _fitted(detector, engine: str):
    """``detector`` (default: the shipped trees) on the engine's device, fitted: it
    learns nothing from the rows (:func:`_learns_nothing_from_rows`)."""
    det = _on_device(detector if detector is not None else default_detector(), engine)
    return det.fit(np.zeros((1, len(FEATURES))))


def _scored_once_fitted(ind: pl.DataFrame, fitted: Callable, keep: str) -> pl.DataFrame:
    """:func:`_scored` by the detector ``fitted()`` gives (:func:`_fitted`, called once)."""
    return _scored(ind, fitted(), keep)


def _learns_nothing_from_rows(det) -> bool:
    """Whether ``det.fit`` without labels learns nothing from the rows (the shipped trees):
    the route-months can then be scored group by group."""
    from tradeflows.detect._learned import LearnedRouteDetector

    return isinstance(det, LearnedRouteDetector)


#: A route keeps all its months when its pooled evidence comes within this
#: much of the flagging threshold (log-odds for the default detector: 55 times
#: less likely than the line).
EVIDENCE_MARGIN = 4.0

#: At most this many routes not flagged keep all their months, those nearest the
#: line: on a wide screen a third of the routes come within ``EVIDENCE_MARGIN``
#: (99,874 of 280,563 on a 55M-row world, 7.2M route-months kept; benchmarks/RESULTS.md).
NEAR_ROUTES = 1_000


#: What a named origin's own evidence is: its leg into the hub rose (up to
#: three months earlier), its exports to the hub never appear as the hub's
#: imports, the destination books the goods by it, or its direct exports to
#: the destination fell. A route of a named origin is flagged in a month only
#: where one of them is above zero; without any, the flag says something of
#: the hub and the destination only, which their route of all origins says.
ORIGIN_SIGNALS = ("inflow_rise", "ghost", "booked", "diversion")


def _origin_has_evidence() -> pl.Expr:
    """A route-month whose origin is all origins, or whose named origin has
    evidence of its own (:data:`ORIGIN_SIGNALS`).

    On Armenia's records from 2007, Libya's, Mozambique's and Barbados'
    routes to Chile, and Russia's, Iran's and Germany's to Romania, were
    flagged on Armenia's exports alone while their own flows into Armenia
    did not rise; on the tuning worlds 4 of 799 flagged routes of a named
    origin were such, none of them the episode's origin, and no corridor's
    flag depended on them (benchmarks/RESULTS.md, forty-fourth session).
    """
    own = pl.max_horizontal(pl.col(c).fill_null(0.0) for c in ORIGIN_SIGNALS) > 0
    return (pl.col("origin") == "") | own


def _scored(ind: pl.DataFrame, det, keep: str = "evidence") -> pl.DataFrame:
    """Route-months scored by a fitted ``det``, flagged, with their route's evidence;
    with ``keep="evidence"``, cut down to what an analyst reads (:func:`detect_routes`)."""
    if ind.is_empty():
        return ind.with_columns(
            score=pl.lit(None, pl.Float64),
            flagged=pl.lit(None, pl.Boolean),
            evidence=pl.lit(None, pl.Float64),
            extra_usd_month=pl.lit(None, pl.Float64),
            months_scored=pl.lit(None, pl.Int64),
            **(
                {"corridor_score": pl.lit(None, pl.Float64)}
                if hasattr(det, "corridor_suspicion")
                else {}
            ),
        )
    with step(f"scoring {ind.height:,} route-months"):
        X = ind.select(FEATURES).to_numpy().astype(np.float64)
        samples = det.score_samples(X)
    # tradeflows' detectors tell their outliers from the scores, without
    # scoring the rows again (benchmarks/RESULTS.md, design measurements); others predict.
    from tradeflows.detect._base import SuspicionOutlierMixin  # scikit-learn: loaded by now

    threshold = seen = None
    if hasattr(det, "thresholds") and "outflow_seen" in ind.columns:
        # Routes whose outflow nobody reports are held to a line of their own.
        seen = ind.select(pl.col("outflow_seen").fill_null(False).any().over(ROUTE_KEY))
        seen = seen.to_series().alias("_seen")
        threshold = pl.Series("_line", det.thresholds(seen.to_numpy()))
        outlier = -samples >= threshold.to_numpy()
    elif isinstance(det, SuspicionOutlierMixin):
        outlier = det.outliers(samples)
        threshold = pl.Series("_line", np.full(len(samples), -det.offset_))
    else:
        outlier = det.predict(X) == -1
    flags = ind.with_columns(
        score=pl.Series(-samples),
        flagged=pl.Series(outlier)
        & pl.col("data_quality").is_null()
        & pl.col("covered")
        & _origin_has_evidence(),
    )
    if threshold is not None:
        flags = flags.with_columns(threshold)
    if seen is not None and hasattr(det, "corridor_line"):
        flags = flags.with_columns(seen)
    pooled = (
        flags.lazy()
        .group_by(ROUTE_KEY)
        .agg(months_scored=pl.len().cast(pl.Int64))
        .collect()
        .join(route_evidence(flags), on=ROUTE_KEY, how="left")
    )
    if hasattr(det, "corridor_suspicion"):
        pooled = pooled.join(_corridor_scores(flags, det), on=ROUTE_KEY, how="left")
    flags = flags.join(pooled, on=ROUTE_KEY, how="left", maintain_order="left")
    if threshold is None:
        return flags
    # A month alone is not an episode: the route's months, pooled, must clear a
    # line too. Where its hub -> destination leg is seen, the corridor trees'
    # (their log-odds that the route carries an episode); elsewhere, and for
    # another detector, the month's line on their mean score (on the tuning
    # worlds the trees flag seen corridors better, unseen ones worse).
    route = pl.col("evidence") >= pl.col("_line")
    if "_seen" in flags.columns and "corridor_score" in flags.columns:
        trees = pl.col("corridor_score") >= det.corridor_line()
        route = pl.when(pl.col("_seen")).then(trees).otherwise(route)
    flags = flags.with_columns(flagged=pl.col("flagged") & route.fill_null(False))
    if keep != "all":
        flags = _read(flags.with_columns(_marks(pl.col("_line"))))
    return flags.drop("_line", "_seen", strict=False)


def _held_to_base_rate(flags: pl.DataFrame, det) -> pl.DataFrame:
    """``flags`` with its routes held to lines raised where episodes look rarer
    than in the training worlds (:func:`base_rate`, from every route's corridor
    score, whichever group of chapters scored it)."""
    rate = base_rate(flags, det)
    if rate is None or rate["line_raise"] == 0.0:
        return flags
    lift = rate["line_raise"]
    logger.info(
        "episodes look rarer among these %s routes than in the training worlds: "
        "the routes' lines rise by %.2f log-odds",
        f"{rate['routes']:,}",
        lift,
    )
    # Flagged routes kept all their months: whether their leg is seen is exact.
    seen = pl.col("outflow_seen").fill_null(False).any().over(ROUTE_KEY)
    unseen_line = float(det.thresholds([False])[0])
    route = (
        pl.when(seen)
        .then(pl.col("corridor_score") >= det.corridor_line() + lift)
        .otherwise(pl.col("evidence") >= unseen_line + lift)
    )
    return flags.with_columns(flagged=pl.col("flagged") & route.fill_null(False))


def base_rate(flags: pl.DataFrame, det=None) -> dict | None:
    """How common the trees expect episodes to be among the routes of ``flags``,
    against their training worlds, and how far the routes' lines rise for it
    (:meth:`LearnedRouteDetector.episode_share`, :meth:`~LearnedRouteDetector.line_raise`).

    Parameters
    ----------
    flags : DataFrame
        A flags table with each route's ``corridor_score``.
    det : LearnedRouteDetector, optional
        Fitted; default the shipped trees (:func:`default_detector`).

    Returns
    -------
    dict or None
        ``routes``, ``trained_share``, ``share`` and ``line_raise``; None for
        flags without the corridor trees' scores, or a detector without them.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": ["USA", "JPN"], "hub": "MYS", "destination": "CHN",
    ...     "hs": "847150", "period": dt.date(2024, 1, 1), "corridor_score": [3.0, -9.0]})
    >>> base_rate(f)["routes"], base_rate(f)["line_raise"]
    (2, 0.0)
    """
    if "corridor_score" not in flags.columns or flags.is_empty():
        return None
    det = det if det is not None else default_detector().fit(np.zeros((1, len(FEATURES))))
    if not hasattr(det, "line_raise"):
        return None
    routes = per_route(flags, ["corridor_score"])
    scores = routes["corridor_score"].fill_null(np.nan).to_numpy()
    return {
        "routes": routes.height,
        "trained_share": det.episode_share([]),
        "share": det.episode_share(scores),
        "line_raise": det.line_raise(scores),
    }


def _corridor_scores(flags: pl.DataFrame, det) -> pl.DataFrame:
    """Each route's ``corridor_score``: ``det``'s log-odds from its months pooled."""
    pooled = pooled_features(flags)
    if pooled.is_empty():
        return pooled.select(*ROUTE_KEY, corridor_score=pl.lit(None, pl.Float64))
    P = pooled.select(POOLED_FEATURES).to_numpy().astype(np.float64)
    return pooled.select(ROUTE_KEY).with_columns(
        corridor_score=pl.Series(det.corridor_suspicion(P), dtype=pl.Float64)
    )


def _marks(threshold: pl.Expr) -> list[pl.Expr]:
    """What :func:`_read` keeps a route-month by: ``_near``, its route is flagged or
    within ``EVIDENCE_MARGIN`` of the line; ``_peak``, it is its route's peak month
    (whose score and reasons the corridor table quotes)."""
    route = ROUTE_KEY
    flagged = pl.col("flagged").fill_null(False)
    near = flagged.any().over(route) | (pl.col("evidence") >= threshold - EVIDENCE_MARGIN)
    # The corridor table's peak: flagged first, then the highest score, then the first month.
    peak_period = (
        pl.col("period")
        .sort_by([flagged, pl.col("score"), pl.col("period")], descending=[True, True, False])
        .first()
        .over(route)
    )
    return [near.fill_null(False).alias("_near"), (pl.col("period") == peak_period).alias("_peak")]


def _read(flags: pl.DataFrame) -> pl.DataFrame:
    """The route-months an analyst reads, of ``flags`` marked by :func:`_marks`: every
    month of a flagged route and of the ``NEAR_ROUTES`` others nearest the line
    (within ``EVIDENCE_MARGIN`` of it, the highest pooled evidence first); of any
    other route, its months with a data-quality event and its peak month. The
    route's pooled evidence rides on each row.

    Cut part by part (the groups of chapters, the parts of a group's routes),
    then once more over all of them, it keeps the same rows as one cut of
    everything: a route among the ``NEAR_ROUTES`` of all the data is among
    those of its own part. For that second cut, ``_near`` comes back true of
    the routes kept whole only.
    """
    routes = (
        flags.lazy()
        .filter("_near")
        .group_by(ROUTE_KEY)
        .agg(pl.col("flagged").fill_null(False).any(), pl.col("evidence").first())
    )
    # Ties in evidence go to the route key's order: the same routes whatever the groups.
    near = routes.filter(~pl.col("flagged")).sort(
        "evidence", *ROUTE_KEY, descending=[True] + [False] * len(ROUTE_KEY), nulls_last=True
    )
    whole = pl.concat(
        [routes.filter("flagged").select(ROUTE_KEY), near.head(NEAR_ROUTES).select(ROUTE_KEY)]
    ).with_columns(_whole=pl.lit(True))
    kept = (
        flags.lazy()
        .join(whole, on=ROUTE_KEY, how="left", maintain_order="left")
        .filter(
            pl.col("_whole").fill_null(False)
            | pl.col("_peak")
            | pl.col("data_quality").is_not_null()
        )
        .with_columns(_near=pl.col("_whole").fill_null(False))
        .drop("_whole")
    )
    return kept.collect()


def route_months_scored(flags: pl.DataFrame) -> int:
    """How many route-months a detection scored, whether or not the flags table keeps them all.

    Parameters
    ----------
    flags : DataFrame
        A flags table (:func:`detect_routes`).

    Returns
    -------
    int
        The sum of each route's ``months_scored`` (the table's height when it
        has no such column).

    See Also
    --------
    detect_routes : which route-months it keeps.

    Examples
    --------
    >>> f = pl.DataFrame({"origin": ["USA", "USA", "JPN"], "hub": "MYS", "destination": "CHN",
    ...     "hs": "847150", "months_scored": [48, 48, 36]})
    >>> route_months_scored(f)
    84
    """
    if "months_scored" not in flags.columns:
        return flags.height
    return int(per_route(flags, ["months_scored"])["months_scored"].fill_null(0).sum())


def nothing_scored_why(
    source: Iterable[str | Path] | pl.LazyFrame, query: Query | None = None, *, config: bool = False
) -> str | None:
    """Why a detection of ``source`` scored nothing, when the data itself says so.

    Read in order: no monthly rows (routes are read month by month); no
    month from ``since`` on; no product rows the query selects while
    all-goods totals are there (they only say who filed unless ``hs`` asks
    for ``TOTAL``); no report that names a destination of the query. None
    when none of these holds (what is left is the materiality line,
    ``Query.min_usd``, which the caller knows).

    Parameters
    ----------
    source : paths or LazyFrame
        As :func:`detect_routes`.
    query : Query, optional
        What the detection looked for.
    config : bool
        Name the option as report.toml's ``[detect]`` writes it, not as the
        command line does.

    Returns
    -------
    str or None
        One sentence, with the option that changes it.

    See Also
    --------
    detect_routes : the detection.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": "M", "period": dt.date(2024, 1, 1), "reporter": "DEU",
    ...     "partner": ["ARM", "RUS"], "flow": "X", "hs": "TOTAL", "value_usd": 1e8})
    >>> nothing_scored_why(lf)
    'the data holds all-goods totals only (hs TOTAL), which say who filed: --hs TOTAL reads them as one product'
    >>> nothing_scored_why(lf, Query(hs="TOTAL", destinations="CHN"))
    'no report names a destination (CHN): --destinations all makes every partner one'
    >>> nothing_scored_why(lf, Query(hs="TOTAL", since="2025"))
    "the data's months end in 2024-01, before 2025-01: --since is the first month flags are reported for"
    """
    from tradeflows._routes import destinations_or_default, hs_filter, is_product

    query = query if query is not None else Query()
    hs = query.options()["hs"]
    lf = load_canonical(source)
    monthly = pl.col("freq") == "M"
    dest = destinations_or_default(query.destinations)
    named = pl.col("partner").is_in(dest) | pl.col("reporter").is_in(dest)
    row = _engine.collect(
        lf.select(
            monthly=monthly.sum(),
            products=(monthly & is_product(hs) & hs_filter(hs)).sum(),
            totals=(monthly & (pl.col("hs") == "TOTAL")).sum(),
            named=(monthly & named).sum() if dest != ["all"] else monthly.sum(),
            last=pl.col("period").filter(monthly).max(),
        ),
        "cpu",
    ).row(0, named=True)
    if not row["monthly"]:
        return "the data holds no monthly rows: routes are read month by month"
    if query.since is not None and f"{row['last']:%Y-%m}" < query.since:
        option = "since in [detect]" if config else "--since"
        return (
            f"the data's months end in {row['last']:%Y-%m}, before {query.since}: "
            f"{option} is the first month flags are reported for"
        )
    if not row["products"] and row["totals"]:
        option = 'hs = ["TOTAL"] in [detect]' if config else "--hs TOTAL"
        return (
            "the data holds all-goods totals only (hs TOTAL), which say who filed: "
            f"{option} reads them as one product"
        )
    if not row["named"]:
        shown = ", ".join(dest[:5]) + (", ..." if len(dest) > 5 else "")
        option = 'destinations = ["all"] in [detect]' if config else "--destinations all"
        return f"no report names a destination ({shown}): {option} makes every partner one"
    return None


def _labels(ind: pl.DataFrame, labels: pl.DataFrame) -> np.ndarray:
    """1 where a route-month's corridor and month are a known transshipment case."""
    key = ["hub", "destination", "hs", "period"]
    known = labels.filter(pl.col("is_transshipment")).select(key).unique().with_columns(y=pl.lit(1))
    return (
        ind.select(key)
        .join(known, on=key, how="left", maintain_order="left")["y"]
        .fill_null(0)
        .to_numpy()
    )
