"""How much memory a detection may use, and whether the whole run fits in it.

The route stage's memory follows the number of route-months it builds, not
the input rows: a wide world of many products makes more route-months than it
has report rows. Before building them, :func:`route_months_estimate` counts
the candidate routes and the months; when the pairs in memory and their
route-months would need more than the budget, the detection runs HS chapter
by chapter in groups instead (``partition``), which gives the same flags.
"""

from __future__ import annotations

import polars as pl

from tradeflows import _engine
from tradeflows._engine import memory_in_words
from tradeflows._query import Query

__all__ = [
    "BYTES_PER_PAIR",
    "BYTES_PER_ROUTE_MONTH",
    "PROCESS_BYTES",
    "pairs_estimate",
    "query_route_inputs",
    "route_months_estimate",
    "too_many_rows",
    "whole_run_bytes",
]

#: Peak bytes of a whole run (:func:`whole_run_bytes`): the interpreter and its
#: libraries, a pair (a flow's two reports, :func:`tradeflows.collect_mirror`)
#: and a route-month. Fitted above the peaks of 11 whole runs on four worlds
#: (0.7M to 5.0M pairs, 26k to 5.4M route-months, 0.9 to 10.4 GiB), each 13%
#: to 54% over: a run's legs and series follow its pairs, its route-months
#: come in parts (``tradeflows._routes.ROUTE_MONTHS_PER_PLAN``). The pairs
#: and route-months alone at 3 kB a route-month fell 1.5 to 2 GiB short of
#: the wide 10M-row world's runs (benchmarks/RESULTS.md, issue 27).
PROCESS_BYTES = 400 * 2**20
BYTES_PER_PAIR = 900
BYTES_PER_ROUTE_MONTH = 2_000


def route_months_estimate(
    pairs: pl.DataFrame, query: Query, engine: str | None = None, *, inputs=None
) -> int:
    """How many route-months the whole run would build: candidate routes times months.

    Parameters
    ----------
    pairs : DataFrame
        The mirror of the data (:func:`tradeflows.collect_mirror`).
    query : Query
        What the detection looks for.
    engine : str, optional
        Where the count runs.
    inputs : tradeflows._routes.RouteInputs, optional
        :func:`query_route_inputs` of ``pairs`` and ``query``, when the caller
        keeps them for the run (default: computed here).

    Returns
    -------
    int

    See Also
    --------
    tradeflows._engine.memory_budget : what the estimate is compared with.

    Examples
    --------
    >>> import datetime as dt
    >>> from tradeflows import collect_mirror
    >>> lf = pl.LazyFrame({"freq": "M", "period": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)] * 2,
    ...     "reporter": ["USA", "USA", "MYS", "MYS"], "partner": ["MYS", "MYS", "CHN", "CHN"],
    ...     "flow": "X", "hs": "847150", "value_usd": 1e6, "net_kg": None, "slip_suspect": False}
    ... ).with_columns(pl.col("net_kg").cast(pl.Float64))
    >>> route_months_estimate(collect_mirror(lf), Query(destinations="CHN"))
    4
    """
    if inputs is None:
        inputs = query_route_inputs(pairs, query, engine)
    routes = inputs.material if inputs.material is not None else inputs.candidates
    span = inputs.legs.select(lo=pl.col("mi").min(), hi=pl.col("mi").max())
    n_routes, lo, hi = _engine.collect(
        routes.select(n=pl.len()).join(span, how="cross"), engine
    ).row(0)
    return int(n_routes) * (int(hi) - int(lo) + 1 if lo is not None else 0)


def whole_run_bytes(pairs: int, route_months: int) -> int:
    """The peak memory of a whole run (not chapter by chapter), estimated before it.

    Parameters
    ----------
    pairs : int
        Rows of the mirror (:func:`tradeflows.collect_mirror`).
    route_months : int
        :func:`route_months_estimate`.

    Returns
    -------
    int
        Bytes: :data:`PROCESS_BYTES`, :data:`BYTES_PER_PAIR` a pair and
        :data:`BYTES_PER_ROUTE_MONTH` a route-month.

    See Also
    --------
    tradeflows._engine.memory_budget : what the estimate is compared with.

    Examples
    --------
    >>> memory_in_words(whole_run_bytes(4_400_000, 1_386_000))  # measured: 5.9 GiB
    '6.7 GiB'
    """
    return PROCESS_BYTES + pairs * BYTES_PER_PAIR + route_months * BYTES_PER_ROUTE_MONTH


def query_route_inputs(pairs: pl.DataFrame, query: Query, engine: str | None = None):
    """:func:`tradeflows._routes.route_inputs` of ``pairs`` for ``query``: the legs and
    the routes the run reads, executed once for the count and the run.

    Examples
    --------
    >>> from tradeflows import collect_mirror
    >>> from tradeflows.datasets import toy_trade
    >>> inputs = query_route_inputs(collect_mirror(toy_trade()), Query(destinations="CHN"))
    >>> inputs.material.select(pl.len()).collect().item()
    2
    """
    from tradeflows._routes import route_inputs

    options = query.options()
    return route_inputs(pairs.lazy(), destinations=options["destinations"],
                        hubs=options["hubs"], hs=options["hs"], min_usd=options["min_usd"],
                        engine=engine)  # fmt: skip


def pairs_estimate(lf: pl.LazyFrame, engine: str | None = None) -> tuple[int, int]:
    """``lf``'s rows, and about how many pairs (:func:`tradeflows.collect_mirror`'s rows)
    they make, counted before anything is paired.

    A row whose partner reports too may meet its mirror and make a pair with
    it; a row whose partner reports nothing is a pair of its own. The
    estimate counts every row of the first kind as half a pair: a floor, 5%
    to 9% under the pairs of a Comtrade world of many hubs and of a store of
    Comext bulk files, where the EU's declarants report against partners
    that mostly do not (benchmarks/RESULTS.md, issue 27). Reads two columns
    (a second on a 42M-row store).

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    engine : str, optional
        Where the count runs.

    Returns
    -------
    tuple of int
        The rows and the pairs.

    Examples
    --------
    >>> lf = pl.LazyFrame({"reporter": ["USA", "MYS", "USA"], "partner": ["MYS", "USA", "BRA"]})
    >>> pairs_estimate(lf)  # USA-MYS reported by both, USA-BRA by one side
    (3, 2)
    """
    reporters = _engine.collect(lf.select(pl.col("reporter").unique()), engine)["reporter"]
    rows, paired = _engine.collect(
        lf.select(rows=pl.len(), paired=pl.col("partner").is_in(reporters.implode()).sum()),
        engine,
    ).row(0)
    return int(rows), int(rows) - int(paired) // 2


def too_many_rows(lf: pl.LazyFrame, budget: int, engine: str | None = None) -> bool:
    """Whether pairing all of ``lf``'s rows at once would need more than ``budget`` bytes.

    Counted before anything is paired (a store's row count is in its files'
    metadata): the whole run's floor, :func:`whole_run_bytes` of the pairs
    they make (:func:`pairs_estimate`) and no route-month yet. Over the
    budget, a run reads its context chapter by chapter and says so.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    budget : int
        Bytes (:func:`tradeflows._engine.memory_budget`).
    engine : str, optional
        Where the count runs.

    Returns
    -------
    bool

    See Also
    --------
    route_months_estimate : the second check, on the pairs, of a run within this one.

    Examples
    --------
    >>> lf = pl.LazyFrame({"reporter": ["USA"] * 10, "partner": "BRA"})
    >>> need = whole_run_bytes(10, 0)  # ten rows, ten pairs: BRA reports nothing
    >>> too_many_rows(lf, budget=need), too_many_rows(lf, budget=need - 1)
    (False, True)
    """
    from tradeflows._log import logger

    n = _engine.collect(lf.select(pl.len()), engine).item()
    if whole_run_bytes(n, 0) <= budget:  # a pair a row, the most there can be
        return False
    pairs = n // 2 if whole_run_bytes(n // 2, 0) > budget else pairs_estimate(lf, engine)[1]
    need = whole_run_bytes(pairs, 0)
    if need <= budget:
        return False
    logger.info(
        f"pairing the {n:,} rows at once ({pairs:,} pairs or more) would need at least "
        f"{memory_in_words(need)}, more than the {memory_in_words(budget)} budget: HS chapters "
        "in groups (the same flags)"
    )
    return True
