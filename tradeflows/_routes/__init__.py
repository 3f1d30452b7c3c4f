"""Origin -> hub -> destination routes and their indicators, per route-month.

A route is an origin O, a hub H, a destination D and a product p (the HS code
as the data has it). :func:`collect_route_indicators` runs the stages, one module
each:

1. :mod:`~tradeflows._routes.legs`: the monthly legs, each flow's two reports
   in FOB terms;
2. :mod:`~tradeflows._routes.candidates`: the candidate routes, from the hub's
   side (H -> D legs with the hub's suppliers) and from the origin's side
   (O -> H legs of an origin that also ships to D);
3. :mod:`~tradeflows._routes.coverage`: the calendar, and which months each
   reporter filed at what detail (missing is not zero);
4. :mod:`~tradeflows._routes.series`: the leg series a route reads, known in
   their covered months only, and the pooled evidence of a rise or a fall in
   each against its own history;
5. :mod:`~tradeflows._routes.route_months`: every route in every month beside
   its series;
6. :mod:`~tradeflows._routes.policy`: the break at the last control date aimed
   at the destination (a difference-in-differences);
7. :mod:`~tradeflows._routes.features`: the indicators a detector reads
   (:data:`FEATURES`) and the values the reasons quote.

Per route-month the indicators are the inflow's rise (the strongest of the
last four months: goods arrive before they leave), the outflow's rise at p
and at its heading beyond the rise of D's imports of p from everyone else (a
destination that buys more from everyone is not evidence against the hub),
the ghost pattern (D books more from O than O reports, new), the diversion
(O's direct exports to D fall, in a month O filed), the change of the hub's
share of D's imports of p, the change of each leg's mirror gap, the
re-export share, the policy breaks, the unit-value ratio of the legs, and
the materiality of what the route carried above its usual level.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from functools import partial
from numbers import Integral
from typing import NamedTuple

import polars as pl

from tradeflows import _engine
from tradeflows._chunked import consecutive_groups
from tradeflows._clean import INPUT_ERRORS, MAX_QUANTITY, MAX_VALUE_USD, first_bad_amount
from tradeflows._errors import TradeflowsInputError
from tradeflows._query import Query
from tradeflows._reference import destinations_of_concern
from tradeflows._routes.candidates import ROUTE_KEY, candidate_routes, material_routes
from tradeflows._routes.coverage import calendar, coverage_from_pairs, coverage_table
from tradeflows._routes.features import FEATURES, features
from tradeflows._routes.legs import (
    hs_filter,
    is_product,
    leg_value,
    monthly_legs,
    product_level,
    shipped,
    typical_flow,
)
from tradeflows._routes.policy import policy_breaks
from tradeflows._routes.route_months import EVIDENCE_READ, route_months, series_names
from tradeflows._routes.series import (
    NULL_INPUTS,
    SERIES_KEY,
    null_counts,
    null_sample,
    null_table,
    numbered_keys,
    numbered_rows,
    sampled_series,
    series_changes,
    series_evidence,
    series_rows,
)
from tradeflows._schema import MIRROR_KEY, MIRROR_SCHEMA, casts_to
from tradeflows._tables import refuse_bad_periods

__all__ = [
    "FEATURES",
    "PAIR_COLUMNS",
    "ROUTE_KEY",
    "RouteInputs",
    "SeriesStages",
    "calendar",
    "candidate_routes",
    "collect_route_indicators",
    "coverage_table",
    "destinations_or_default",
    "hs_filter",
    "is_product",
    "leg_value",
    "mirror_pairs",
    "monthly_legs",
    "product_level",
    "route_indicators",
    "route_inputs",
    "route_series",
    "series_null_counts",
    "shipped",
    "typical_flow",
]


def _materialise(lf: pl.LazyFrame, engine: str | None) -> pl.LazyFrame:
    """Execute a shared intermediate once (through the engine) and go on lazily.

    The route plan reads the legs, the candidate routes and the leg series many
    times over; polars' ``cache()`` did not always share them, so these three
    are executed once (and read back as :func:`tradeflows._engine.reread` says).
    """
    return _engine.reread(_engine.collect(lf, engine), engine)


def destinations_or_default(destinations: Iterable[str] | None) -> list[str]:
    """The destinations of concern asked for, or the reference list.

    Examples
    --------
    >>> destinations_or_default(["RUS"])
    ['RUS']
    """
    return list(destinations or destinations_of_concern())


class RouteInputs(NamedTuple):
    """Stages 1 and 2 executed (:func:`route_inputs`)."""

    #: :func:`monthly_legs`.
    legs: pl.LazyFrame
    #: Every candidate route (:func:`candidate_routes`).
    candidates: pl.LazyFrame
    #: Those the run scores (:func:`~tradeflows._routes.candidates.material_routes`),
    #: or None when it scores them all (``min_usd`` 0).
    material: pl.LazyFrame | None


class SeriesStages(NamedTuple):
    """Stages 1 to 4 executed (:func:`route_series`): what the null's counts and
    the indicators both read."""

    #: :func:`monthly_legs`.
    legs: pl.LazyFrame
    #: The routes the run scores.
    routes: pl.LazyFrame
    #: :func:`calendar` of the run's months.
    cal: pl.LazyFrame
    #: :func:`~tradeflows._routes.series.series_changes`, executed (in memory,
    #: or in a file a run chapter by chapter kept them in).
    changes: pl.LazyFrame
    #: The weight ``_w`` of the series that stand for others in the null
    #: (:func:`~tradeflows._routes.series.sampled_series`), or None.
    weights: pl.LazyFrame | None


def route_inputs(
    pairs: pl.LazyFrame,
    *,
    destinations: Iterable[str] | None = None,
    hubs: Iterable[str] | None = None,
    hs: Iterable[str] | None = None,
    max_origins: int = 5,
    min_usd: float = 0.0,
    engine: str | None = None,
) -> RouteInputs:
    """The legs and the candidate routes of ``pairs``, executed once: what the count
    of route-months before a run (:mod:`tradeflows.detect._budget`) and the run
    itself (:func:`collect_route_indicators`'s ``inputs``) both read.

    Parameters
    ----------
    pairs, destinations, hubs, hs, max_origins, min_usd, engine
        As :func:`collect_route_indicators`.

    Returns
    -------
    RouteInputs

    Examples
    --------
    >>> from tradeflows import collect_mirror
    >>> from tradeflows.datasets import toy_trade
    >>> inputs = route_inputs(collect_mirror(toy_trade()).lazy(), destinations=["CHN"])
    >>> inputs.candidates.select("origin", "hub").collect().sort("origin").rows(), inputs.material
    ([('', 'MYS'), ('USA', 'MYS')], None)
    """
    dest = destinations_or_default(destinations)
    legs = _materialise(monthly_legs(pairs, hs), engine)
    routes = _materialise(candidate_routes(legs, dest, hubs=hubs, max_origins=max_origins), engine)
    material = _materialise(material_routes(routes, legs, min_usd), engine) if min_usd > 0 else None
    return RouteInputs(legs, routes, material)


def _series(pairs, dest, hubs, hs, max_origins, min_usd, window, history, span, coverage, engine,
            sample=None, inputs=None, keep=None, reach=None) -> SeriesStages:  # fmt: skip
    """Stages 1 to 4 up to the leg series' changes (before the null): legs, routes,
    calendar, series, and the weights of the series the null samples (or None).
    ``inputs``: :func:`route_inputs` of the same pairs and options, when the caller
    has them. ``keep``, ``reach``: as :func:`route_series`."""
    if inputs is None:
        inputs = route_inputs(pairs, destinations=dest, hubs=hubs, hs=hs,
                              max_origins=max_origins, min_usd=min_usd, engine=engine)  # fmt: skip
    legs, routes = inputs.legs, inputs.candidates
    if span is None:
        lo, hi = _engine.collect(
            legs.select(lo=pl.col("mi").min(), hi=pl.col("mi").max()), engine
        ).row(0)
    else:
        lo, hi = span
    cal = calendar(lo, hi)
    if coverage is None:
        # Executed once: the series read it twice (each side's filings). Not
        # cached on the GPU engine: small, and a cache of it made polars 1.44's
        # optimiser panic ("expected filter").
        coverage = _engine.collect(coverage_from_pairs(pairs), _engine.streamed(engine)).lazy()
    rows, members, keys = series_rows(legs, routes, reach)
    weights = None
    if min_usd > 0:
        # Only the material routes are scored; the spread of chance is still
        # read from every candidate route's series (a sample of the others').
        material = inputs.material
        if sample is None:
            n_all, n_material = (_engine.collect(r.select(pl.len()), engine).item()
                                 for r in (routes, material))  # fmt: skip
            sample = null_sample(n_all - n_material)
        # On the CPU: the sample is picked by a hash of each key.
        weights = _engine.collect(sampled_series(keys, series_rows(legs, material)[2], sample),
                                  "cpu")  # fmt: skip
        dropped = weights.filter(pl.col("_w") == 0).select(SERIES_KEY).lazy()
        rows, members, keys = (f.join(dropped, on=SERIES_KEY, how="anti")
                               for f in (rows, members, keys))  # fmt: skip
        weights = weights.filter(pl.col("_w") > 1)
        # No series stands for others (every one sampled): no weights to join.
        weights = weights.lazy() if weights.height else None
        routes = material
    if _engine.resolve(engine) != "gpu":
        # The series' months and members first, together (their plans share the
        # legs' joins): 5.4 s against 7.0 s for the one plan at 11.9M report rows
        # (benchmarks/RESULTS.md). On the streaming engine: joins and group-bys
        # only (no row order read), and the in-memory engine held every join's
        # fan-out at once, 4.35 GiB against 2.55 GiB (and 4.5 s against 3.3 s)
        # for the largest chapter of a 55M-row world. On the GPU engine, one
        # plan: fewer copies.
        rows, members, keys = (
            f.lazy() for f in _engine.collect_all([rows, members, keys], _engine.streamed(engine))
        )
        # The series numbered once, and their rows and members by number: the
        # changes' parts are cut by number, none joins every row's four names.
        numbered = _engine.collect(numbered_keys(rows, keys), engine)
        rows, members = (
            f.lazy()
            for f in _engine.collect_all(numbered_rows(rows, members, numbered.lazy()), engine)
        )
    else:
        numbered = None
    # Executed here: the standardisation reads the series twice (its spread, then
    # each value), and a plan that joins itself that way grows with every window.
    changes = _changes(rows, members, keys, cal.select("mi"), coverage, window, history, engine,
                       keep, numbered)  # fmt: skip
    return SeriesStages(legs, routes, cal, changes, weights)


def _changes(rows, members, keys, months, coverage, window, history, engine,
             keep=None, numbered=None) -> pl.LazyFrame:  # fmt: skip
    """:func:`~tradeflows._routes.series.series_changes`, executed: on the CPU engines,
    past :data:`SERIES_MONTHS_PER_PLAN` series-months, in parts of whole series
    (consecutive numbers, the whole's), put together in the whole's order (a
    series' changes read its own months only), each part ``keep`` of it as it
    is computed where given. On the GPU engine, one plan, as :func:`_evidence`.
    ``numbered``: :func:`~tradeflows._routes.series.numbered_keys`, executed, by
    which ``rows`` and ``members`` come numbered (the CPU engines).

    The first pass of a run chapter by chapter builds a group's series whole:
    where one HS chapter holds most of the data, this plan was the run's peak
    (an 11M-row store in one chapter: 3.9 to 9.9 GiB;
    benchmarks/RESULTS.md, issue 27).
    """
    gpu = _engine.resolve(engine) == "gpu"
    changes = partial(series_changes, rows, members, keys, months, coverage, window=window,
                      history=history, gpu=gpu)  # fmt: skip
    if gpu:
        return _materialise(changes(), engine)
    n_months = _engine.collect(months.select(pl.len()), engine).item()
    most = max(1, SERIES_MONTHS_PER_PLAN // max(n_months, 1))
    if numbered.height <= most:
        return _materialise(changes(numbered=numbered.lazy()), engine)
    parts = (  # one at a time: ``keep`` lets each go before the next is computed
        _engine.collect(changes(numbered=numbered.slice(i, most).lazy()), engine)
        for i in range(0, numbered.height, most)
    )
    if keep is not None:
        return pl.concat([keep(part) for part in parts])
    return _engine.reread(pl.concat(list(parts)), engine)


def _weighted(
    changes: pl.LazyFrame, weights: pl.LazyFrame | None, engine: str | None
) -> pl.LazyFrame:
    """The series' changes with the weight ``_w`` of those the null samples."""
    if weights is None:
        return changes
    # What the null reads of them, joined once: null_counts reads it six
    # times (a window and a kind of change each), and polars repeated the
    # join of every series-month for each.
    return _materialise(
        changes.select(NULL_INPUTS).join(weights, on=SERIES_KEY, how="left"), engine
    )


def route_series(
    pairs: pl.LazyFrame,
    *,
    destinations: Iterable[str] | None = None,
    hubs: Iterable[str] | None = None,
    hs: Iterable[str] | None = None,
    max_origins: int = 5,
    min_usd: float = 0.0,
    window: int = 24,
    history: int = 12,
    span: tuple[int, int] | None = None,
    coverage: pl.LazyFrame | None = None,
    engine: str | None = None,
    sample: int | None = None,
    keep=None,
    reach: pl.LazyFrame | None = None,
) -> SeriesStages:
    """Stages 1 to 4 of :func:`collect_route_indicators`, executed: the legs, the
    routes, the calendar and the leg series' changes, before the null.

    A run that goes a group of HS chapters at a time reads each group's null
    counts from them (:func:`series_null_counts`), then, once the whole run's
    null is known, its indicators (``collect_route_indicators(series=...)``),
    without building them twice.

    Parameters
    ----------
    pairs : LazyFrame
        The mirror.
    destinations, hubs, hs, max_origins, min_usd, window, history, span, coverage, engine, sample
        As :func:`collect_route_indicators`.
    keep : callable, optional
        Where the changes are computed in parts (past :data:`SERIES_MONTHS_PER_PLAN`
        series-months), applied to each part as it is computed; it returns the
        LazyFrame the part is read back from (a file it wrote, say), so that
        the parts are not all held at once. The first pass of a run a group
        of chapters at a time spools them this way (an 11M-row store in one
        HS chapter held its eight parts together: 3.6 to 6.7 GiB, the run's
        peak; benchmarks/RESULTS.md, issue 27).
    reach : LazyFrame, optional
        :func:`tradeflows._routes.series.route_reach` of the whole data's
        routes, where ``pairs`` hold only some headings of a chapter.

    Returns
    -------
    SeriesStages

    See Also
    --------
    series_null_counts : the null's counts of them.

    Examples
    --------
    >>> from tradeflows import collect_mirror
    >>> from tradeflows.datasets import toy_trade
    >>> pairs = collect_mirror(toy_trade()).lazy()
    >>> series = route_series(pairs, destinations=['CHN'])
    >>> collect_route_indicators(pairs, destinations=['CHN']).equals(
    ...     collect_route_indicators(None, destinations=['CHN'], series=series))
    True
    """
    engine = _engine.in_order(engine)  # as collect_route_indicators
    return _series(
        pairs, destinations_or_default(destinations), hubs, hs, max_origins, min_usd, window, history,
        span, coverage, engine, sample, keep=keep, reach=reach,
    )  # fmt: skip


def series_null_counts(series: SeriesStages, engine: str | None = None) -> pl.DataFrame:
    """The counts the series' null is read from (:func:`tradeflows._routes.series.null_counts`).

    Counts of parts of the data (HS chapters, their :func:`route_series` with
    the whole ``span`` and ``coverage``) add up to those of the whole: their
    :func:`~tradeflows._routes.series.null_table` is the ``null`` that makes
    :func:`collect_route_indicators` of each part the whole run's.

    Parameters
    ----------
    series : SeriesStages
        :func:`route_series`.
    engine : str, optional
        Where it is executed.

    Returns
    -------
    DataFrame
        :func:`tradeflows._routes.series.null_counts`, executed.

    See Also
    --------
    collect_route_indicators : takes their null as ``null``.

    Examples
    --------
    >>> from tradeflows import collect_mirror
    >>> from tradeflows.datasets import toy_trade
    >>> pairs = collect_mirror(toy_trade()).lazy()
    >>> counts = series_null_counts(route_series(pairs, destinations=['CHN']))
    >>> set(counts['kind']) >= {'leg', 'hub_in'}
    True
    """
    engine = _engine.in_order(engine)
    changes, weights = series.changes, series.weights
    if _engine.resolve(engine) != "gpu":
        # Counts of parts of the rows add up to the counts of the whole: past
        # SERIES_MONTHS_PER_PLAN series-months they are counted (and weighted)
        # a slice at a time. In one plan, the weighted copy of the changes and
        # the six windows' group-bys took an 11M-row store in one HS chapter
        # from 6.7 to 10.2 GiB, the run's peak (benchmarks/RESULTS.md, issue 27).
        n = _engine.collect(changes.select(pl.len()), engine).item()
        if n > SERIES_MONTHS_PER_PLAN:
            # Whole series to a slice (a row per series and month, in series
            # order): the counts of series, not only of series-months, add up.
            n_months = max(_engine.collect(series.cal.select(pl.len()), engine).item(), 1)
            step = max(1, SERIES_MONTHS_PER_PLAN // n_months) * n_months

            def rows(i: int) -> pl.LazyFrame:
                # Executed first: the changes may be the spool's files, part by
                # part (route_series(keep=)), and polars 1.35 panicked on the
                # counts' plan over a slice of them.
                sliced = changes.select(NULL_INPUTS).slice(i, step)
                return _engine.collect(sliced, engine).lazy()

            parts = [
                _engine.collect(null_counts(_weighted(rows(i), weights, engine)), engine)
                for i in range(0, n, step)
            ]
            key = [c for c in parts[0].columns if c != "n"]
            return pl.concat(parts).group_by(key).agg(pl.col("n").sum())
    return _engine.collect(null_counts(_weighted(changes, weights, engine)), engine)


#: What the route stages read of the mirror's pairs: all of them
#: (:data:`tradeflows._schema.MIRROR_SCHEMA`).
PAIR_COLUMNS = tuple(MIRROR_SCHEMA)


#: The pairs' amounts and their limits: one the cleaning drops (infinite,
#: negative, too large) stops an exact sum deep inside.
_PAIR_LIMITS = {"value_x": MAX_VALUE_USD, "value_rx": MAX_VALUE_USD, "value_m": MAX_VALUE_USD,
                "kg_x": MAX_QUANTITY, "kg_m": MAX_QUANTITY}  # fmt: skip


def _refuse_bad_amounts(pairs: pl.LazyFrame) -> None:
    """Raise, naming the first, where the pairs hold an amount the cleaning drops."""
    row = first_bad_amount(pairs.with_row_index("_row"), "_row", limits=_PAIR_LIMITS)
    if row is not None:
        # the amounts out of bounds only (a row's check shows all it holds)
        shown = ", ".join(
            f"{c} {row[c]:g}"
            for c, top in _PAIR_LIMITS.items()
            if row[c] is not None and not 0 <= row[c] <= top
        )
        raise TradeflowsInputError(
            f"pairs: row {row['_row']} (from 0) holds {shown}: {INPUT_ERRORS['bad_amount']}"
        )


def mirror_pairs(pairs: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """``pairs`` as a LazyFrame, refused in one line unless it is the mirror's pairs.

    What a user hands :func:`collect_route_indicators` otherwise fails deep
    inside a plan (``unable to find column "exporter"``; a month of year 0;
    two mirrors put together, whose route-months grow as the square of the
    rows they repeat): the mirror's columns, typed as it types them
    (:data:`tradeflows._schema.MIRROR_SCHEMA`), every period a month of
    :data:`tradeflows._schema.YEARS`, one row per flow and month.

    Examples
    --------
    >>> mirror_pairs(pl.DataFrame({"reporter": ["MYS"], "value_usd": [1.0]}))
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: pairs: canonical rows, not the mirror's pairs \
(no columns 'freq', 'period', 'exporter', 'importer' and 17 more): the routes are built on \
tradeflows.collect_mirror(rows)
    """
    if not isinstance(pairs, (pl.LazyFrame, pl.DataFrame)):
        raise TradeflowsInputError(f"pairs: expected a polars frame, not {type(pairs).__name__}")
    pairs = pairs.lazy()
    schema = pairs.collect_schema()
    names = schema.names()
    missing = [c for c in PAIR_COLUMNS if c not in names]
    if missing:
        given = "canonical rows" if "reporter" in names else "a frame"
        shown = ", ".join(map(repr, missing[:4])) + (
            f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        )
        raise TradeflowsInputError(
            f"pairs: {given}, not the mirror's pairs (no column{'s' * (len(missing) > 1)} "
            f"{shown}): the routes are built on tradeflows.collect_mirror(rows)"
        )
    changes = casts_to(schema, MIRROR_SCHEMA, "pairs")
    pairs = pairs.with_columns(changes) if changes else pairs
    refuse_bad_periods(pairs, "pairs")  # a month of year 0 stops a plan that names months
    _refuse_bad_amounts(pairs)
    # Two rows of one flow and month (two mirrors put together) would join
    # each leg with itself, route-months growing as their square.
    twice = _engine.collect(
        pairs.group_by(MIRROR_KEY).len().filter(pl.col("len") > 1).head(1), "cpu"
    )
    if twice.height:
        flow = " ".join(str(v) for v in twice.row(0)[:-1])
        raise TradeflowsInputError(
            f"pairs: {twice['len'].item()} rows of one flow and month ({flow}): the mirror has "
            "one (tradeflows.collect_mirror of the rows put together, not mirrors put together)"
        )
    return pairs


def _check_months(window: object, history: object) -> None:
    """Refuse a window or a history the series' statistics cannot be read over."""
    whole = all(isinstance(v, Integral) and not isinstance(v, bool) for v in (window, history))
    if not whole or window < 1 or history < 0 or history // 2 > window:
        raise TradeflowsInputError(
            f"window {window!r}, history {history!r}: whole months, a window of at least 1 and "
            "at least half the history (the default 24 and 12)"
        )


def collect_route_indicators(
    pairs: pl.LazyFrame,
    *,
    destinations: Iterable[str] | None = None,
    hubs: Iterable[str] | None = None,
    hs: Iterable[str] | None = None,
    since: str | None = None,
    min_usd: float = 0.0,
    window: int = 24,
    history: int = 12,
    **stages,
) -> pl.DataFrame:
    """Candidate routes and their indicators per route-month, executed.

    The stages are plans; this runs them, executing the intermediates that
    later stages read many times over (the legs, the candidate routes, the
    leg series and their null: ``docs/execution.md``), then the indicators.

    Parameters
    ----------
    pairs : LazyFrame
        The result of :func:`tradeflows._mirror.mirror` (monthly rows are used).
    destinations : iterable of str, optional
        Destinations of concern (ISO3); default the reference list
        (:func:`tradeflows._reference.destinations_of_concern`). ``["all"]``
        treats every partner as a possible destination.
    hubs : iterable of str, optional
        Restrict hubs to these; default every country in the data.
    hs : iterable of str, optional
        HS code prefixes to keep; default every product.
    since : str, optional
        ``YYYY-MM``: keep route-months from this month on (history before it
        still counts).
    min_usd : float
        Routes none of whose legs carries this much (USD) in any month are
        left out (:func:`tradeflows._routes.candidates.material_routes`;
        default 0: every route).
    window : int
        Months of history a series' rise is measured against.
    history : int
        Covered months of history a series needs before a rise or a fall is
        measured (a series' first months are warm-up).
    **stages
        The run's other options, as :func:`route_indicators` describes them:
        ``engine`` (where it runs), ``max_origins`` (origins per hub and
        product, by size and by growth; 5), ``coverage`` (who filed what,
        :func:`tradeflows.coverage_table` of the rows), and what a part of the
        data needs to give the same indicators as the whole (``floor``,
        ``span``, ``null``, ``sample``, ``inputs``, ``series``, ``then``,
        ``reach``, ``control``).

    Returns
    -------
    DataFrame
        ``ROUTE_KEY``, ``period``, ``FEATURES``, ``covered``, ``extra_usd`` and
        the values the reasons quote (``inflow``, ``outflow``, ``lag``,
        ``gap_out``, ``hub_share``, ``data_quality``, ...). Route-months none
        of whose legs is covered are left out. Or ``then`` of them.

    Notes
    -----
    Memory follows the route-months built, not the input rows, and nothing
    here holds it to a budget. With every candidate route (``min_usd`` 0)
    the wide 10M-row benchmark world's mirror and indicators took 192 s and
    18.6 GiB (benchmarks/RESULTS.md, 2026-12-07). :func:`tradeflows.detect_routes`
    leaves out immaterial routes and runs HS chapter by chapter within a
    memory budget: 58-74 s and 2.7 GiB on that store, scored.

    See Also
    --------
    tradeflows.detect_routes : score them.
    tradeflows.coverage_table : who filed what.

    Examples
    --------
    >>> import datetime as dt
    >>> from tradeflows._mirror import mirror
    >>> months = [dt.date(2022 + k // 12, k % 12 + 1, 1) for k in range(36)]
    >>> grow = [1e6 * (1 if k < 24 else 6) for k in range(36)]
    >>> rows = {"freq": "M", "period": months * 2, "reporter": ["USA"] * 36 + ["MYS"] * 36,
    ...     "partner": ["MYS"] * 36 + ["CHN"] * 36, "flow": "X", "hs": "847150",
    ...     "value_usd": grow + [0.8 * g - 7e5 for g in grow], "net_kg": None,
    ...     "slip_suspect": False}
    >>> lf = pl.LazyFrame(rows).with_columns(pl.col("net_kg").cast(pl.Float64))
    >>> r = collect_route_indicators(mirror(lf).collect().lazy(), destinations=["CHN"])
    >>> # Evidence from the second month of the jump on (a window's largest month is left out).
    >>> rising = r.filter((pl.col("origin") == "USA") & (pl.col("inflow_rise") > 3)).sort("period")
    >>> rising.row(0, named=True)["hub"], rising["destination"][0], rising["period"][0]
    ('MYS', 'CHN', datetime.date(2024, 2, 1))
    """
    # What people write (names, "CHN" alone, a year) resolved as a detection
    # resolves it, and what a user hands in checked: internal callers, whose
    # pairs come from collect_mirror, call route_indicators.
    query = Query(destinations=destinations, hubs=hubs, hs=hs, since=since, min_usd=min_usd)
    _check_months(window, history)
    if stages.get("series") is None and stages.get("inputs") is None:
        pairs = mirror_pairs(pairs)
    return route_indicators(pairs, **query.options(), window=window, history=history, **stages)


def route_indicators(
    pairs: pl.LazyFrame,
    *,
    destinations: Iterable[str] | None = None,
    hubs: Iterable[str] | None = None,
    hs: Iterable[str] | None = None,
    since: str | None = None,
    max_origins: int = 5,
    min_usd: float = 0.0,
    window: int = 24,
    history: int = 12,
    floor: float | None = None,
    span: tuple[int, int] | None = None,
    coverage: pl.LazyFrame | None = None,
    null: pl.DataFrame | None = None,
    engine: str | None = None,
    sample: int | None = None,
    inputs: RouteInputs | None = None,
    series: SeriesStages | None = None,
    then=None,
    reach: pl.LazyFrame | None = None,
    control: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """:func:`collect_route_indicators` of pairs from :func:`tradeflows.collect_mirror`
    and options resolved (:class:`tradeflows.Query`), without checking them again:
    what a detection and its groups of chapters call.

    Parameters
    ----------
    pairs, destinations, hubs, hs, since, min_usd, window, history
        As :func:`collect_route_indicators`, resolved and checked.
    max_origins : int
        Origins per hub and product, by size and by growth.
    floor : float, optional
        A material monthly amount (USD): ``materiality`` reaches 3.5 when a
        route carries that much above its usual level. Default: the median
        monthly flow in the data.
    span : tuple of int, optional
        First and last month (``year * 12 + month - 1``) of the monthly grid;
        default the data's. With ``floor``, what a part of the data (an HS
        chapter) needs to give the same indicators as the whole.
    coverage : LazyFrame, optional
        :func:`tradeflows._routes.coverage.coverage_table` of the canonical
        rows (default: as far as the pairs tell it).
    null : DataFrame, optional
        The spread of chance the series' changes are measured against
        (:func:`tradeflows._routes.series.null_table` of :func:`series_null_counts`
        of the whole data); default: that of these pairs. With ``floor``,
        ``span`` and ``coverage``, what a part of the data needs to give the
        same indicators as the whole.
    engine : str, optional
        Where it is executed.
    sample : int, optional
        With ``min_usd``: the null is read from the material routes' series
        and one in ``sample`` of the series only immaterial routes read, each
        counting ``sample`` times (default
        :func:`tradeflows._routes.series.null_sample` of the routes left out;
        a part of the data needs the whole run's).
    inputs : RouteInputs, optional
        :func:`route_inputs` of ``pairs`` with the same options, when the
        caller has executed them (the count of route-months before a run
        does): not executed again.
    series : SeriesStages, optional
        :func:`route_series` of ``pairs`` with the same options, when the
        caller has them (a run a group of chapters at a time, which read the
        null's counts from them): ``pairs`` and ``inputs`` are not read.
    then : callable, optional
        Applied to the indicators of each part of whole routes as soon as
        they are computed (the route-months are built in parts past
        :data:`ROUTE_MONTHS_PER_PLAN`), before the parts are put together: a
        detection scores a part and keeps what an analyst reads of it, so
        that no more than one part's indicators are in memory at once. It
        must read a route's months only (its result on the parts, put
        together, is then its result on the whole).
    reach : LazyFrame, optional
        As :func:`route_series`.
    control : LazyFrame, optional
        :func:`tradeflows._routes.policy.control_products` of the whole
        data, where ``pairs`` hold only some headings of a chapter (the
        policy break's control products are the chapter's).

    Returns
    -------
    DataFrame
        As :func:`collect_route_indicators`.
    """
    # Its plans read rows in order: never on the streaming engine (_engine.in_order).
    engine = _engine.in_order(engine)
    dest = destinations_or_default(destinations)
    if series is None:
        series = _series(
            pairs, dest, hubs, hs, max_origins, min_usd, window, history, span, coverage,
            engine, sample, inputs, reach=reach,
        )  # fmt: skip
    if null is None:
        null = null_table(series_null_counts(series, engine))
    legs, routes, cal, changes, _ = series
    months = cal.select("mi")
    # The series' names once each, their evidence by number only: with the
    # names in every month, a store of 11M rows in one HS chapter held 5.1 GiB
    # before its route parts, 4.0 without (benchmarks/RESULTS.md, issue 27).
    names = _materialise(series_names(changes, months), engine)
    evidence = _evidence(changes, null, engine)
    typical = (  # executed once, not once per part
        _engine.collect(legs.select(floor=typical_flow()), engine).lazy()
        if floor is None
        else pl.LazyFrame({"floor": [float(floor)]})
    )

    def indicators_of(part: pl.LazyFrame) -> pl.DataFrame:
        rm = route_months(part, evidence, months, window=window, history=history,
                          gpu=_engine.resolve(engine) == "gpu", names=names)  # fmt: skip
        rm = policy_breaks(rm, part, evidence, months, dest, names=names, control=control)
        result = features(rm, floor=typical, calendar=cal).drop("_rid")
        if since:
            year, month = (int(x) for x in since.split("-"))
            result = result.filter(pl.col("period") >= pl.lit(dt.date(year, month, 1)))
        out = _engine.collect(result, engine)
        return then(out) if then is not None else out

    parts = _route_parts(routes, months, engine)
    if len(parts) == 1:
        return indicators_of(routes)
    return pl.concat([indicators_of(part) for part in parts], how="vertical_relaxed")


#: Series-months whose changes, null counts or evidence are computed in one
#: plan at most, on the CPU engines: more are computed in parts (of whole
#: series; of rows for the counts, which add up). The evidence's plan is many
#: columns wide: the largest HS chapter of a 55M-row world (6.4M series-months)
#: took the process from 2.6 to 5.9 GiB in one plan, the run's peak
#: (benchmarks/RESULTS.md, issue 27).
SERIES_MONTHS_PER_PLAN = 2_000_000


def _evidence(changes: pl.LazyFrame, null: pl.DataFrame, engine: str | None) -> pl.LazyFrame:
    """:func:`~tradeflows._routes.series.series_evidence` of ``changes``, executed: in
    parts of whole series past :data:`SERIES_MONTHS_PER_PLAN` series-months (each
    series' evidence reads its own months and the null only, so the parts' are the
    whole's). On the GPU engine, one plan: fewer copies, and the device's memory
    holds it. The columns the route-months read (:data:`EVIDENCE_READ`): by
    number, without the series' names."""
    gpu = _engine.resolve(engine) == "gpu"
    if not gpu:
        n, last = _engine.collect(changes.select(pl.len(), pl.col("_sid").max()), engine).row(0)
        if n > SERIES_MONTHS_PER_PLAN:
            # Every series has a row for every month: equal ranges of numbers,
            # equal parts.
            step = (last + 1) * SERIES_MONTHS_PER_PLAN // n + 1
            parts = [
                _engine.collect(series_evidence(part, null).select(EVIDENCE_READ), engine)
                for part in _sid_ranges(changes, step, last, engine)
            ]
            return _engine.reread(pl.concat(parts), engine)
    return _materialise(series_evidence(changes, null, gpu=gpu).select(EVIDENCE_READ), engine)


def _sid_ranges(
    changes: pl.LazyFrame, step: int, last: int, engine: str | None
) -> Iterator[pl.LazyFrame]:
    """``changes`` in parts of ``step`` consecutive series numbers (up to ``last``).

    Where the rows are in order of number (as the changes are built), a part
    is a slice: no copy of the frame in memory, where a filter copies every
    column of it (0.15-0.25 s a part at 11.9M report rows;
    benchmarks/RESULTS.md, issue 27). The slice is executed first, as
    :func:`series_null_counts`' are: the changes may be the spool's files.
    """
    los = list(range(0, last + 1, step))
    sid = pl.col("_sid").cast(pl.Int64)  # a signed difference, whatever the numbers' type
    found = _engine.collect(
        changes.select(
            ordered=(sid.diff() >= 0).all(),
            at=sid.search_sorted(pl.Series([*los, last + 1], dtype=pl.Int64)),
        ),
        engine,
    )
    if not found["ordered"][0]:
        yield from (changes.filter(pl.col("_sid").is_between(lo, lo + step - 1)) for lo in los)
        return
    at = found["at"].to_list()  # where each part starts (the last: the end)
    for a, b in itertools.pairwise(at):  # one at a time: each part goes before the next
        yield _engine.collect(changes.slice(a, b - a), engine).lazy()


#: Route-months built in one plan at most: more routes are built in parts, each
#: a set of whole (destination, origin) pairs (1.4 to 1.8 kB a route-month at
#: the run's peak, beyond its legs and series: ``tradeflows.detect._budget``).
#: One HS chapter of a wide data set can hold millions (a 55M-row world's
#: chapter 29: 37,271 routes, 2.7M route-months, 6 GB; benchmarks/RESULTS.md,
#: issue 27).
ROUTE_MONTHS_PER_PLAN = 1_000_000


def _route_parts(
    routes: pl.LazyFrame, months: pl.LazyFrame, engine: str | None
) -> list[pl.LazyFrame]:
    """``routes`` in parts of about :data:`ROUTE_MONTHS_PER_PLAN` route-months, or whole.

    A route's indicators read its own legs and series, and one thing of other
    routes: the policy break's control of the origin's other partners (its
    routes to the same destination through other hubs). So a part holds whole
    (destination, origin) pairs, and the parts' indicators are the whole's.
    """
    n_months = _engine.collect(months.select(pl.len()), engine).item()
    pairs = _engine.collect(
        routes.group_by("destination", "origin").len().sort("destination", "origin"), engine
    )
    most = max(1, ROUTE_MONTHS_PER_PLAN // max(n_months, 1))
    if pairs["len"].sum() <= most:
        return [routes]
    groups = consecutive_groups((((d, o), n) for d, o, n in pairs.iter_rows()), most)
    return [
        routes.join(
            pl.LazyFrame(group, schema=["destination", "origin"], orient="row"),
            on=["destination", "origin"],
            how="semi",
        )
        for group in groups
    ]
