"""Pair the exporter's and the importer's report of each flow.

Every flow (exporter, importer, HS code, period) is reported twice: the
exporter's ``X`` at FOB and the importer's ``M`` at CIF, often a month apart.
:func:`mirror` puts both reports on one row and reconciles them in the spirit
of CEPII BACI:

1. the CIF/FOB ratio of each exporter-importer pair is estimated robustly from
   the flows both report (the median log ratio, shrunk towards the median of
   all pairs when a pair has few flows), not taken as a constant;
2. each reporter gets a reliability weight from how well its reports agree with
   its partners' (the inverse of its median absolute log discrepancy, as an
   exporter and as an importer separately);
3. the reconciled FOB value is the reliability-weighted mean of the exporter's
   value and the importer's value divided by the CIF/FOB ratio, or the one
   report there is;
4. the gap of each flow, ``(importer's FOB - exporter's) / larger of the two``
   in [-1, 1], is measured on three-month windows so that a shipment that
   crosses a month boundary in transit does not open a gap, and set beside its
   own history (the median gap of the previous 12 periods).

A flow seen from one side only keeps its row (``side`` says which). A side
whose reporter filed nothing at the flow's level in that period (Russia after
2022-03, a silent reporter, a hub-only national file, a file of totals only
beside product rows) is ``silent`` and gives no gap: its absence is not
evidence about this flow (:func:`tradeflows._routes.coverage.coverage_table`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable

import polars as pl

from tradeflows import _engine
from tradeflows._chunked import consecutive_groups
from tradeflows._clean import canonical_rows, refuse_bad_rows
from tradeflows._errors import TradeflowsInputError
from tradeflows._expr import (
    any_true,
    in_chapters,
    month_index,
    part_key,
    same_key_as_before,
    with_previous_median,
)
from tradeflows._reference import WORLD
from tradeflows._routes.coverage import coverage_table
from tradeflows._schema import MIRROR_SCHEMA

__all__ = [
    "CONTEXT_ROWS",
    "KEPT_COLUMNS",
    "MIRROR_COLUMNS",
    "chapter_groups",
    "chapter_parts",
    "cif_fob_ratios",
    "code_groups",
    "collect_context",
    "collect_context_by_chapter",
    "collect_mirror",
    "mirror",
    "mirror_context",
    "mirror_rows",
    "pair_reports",
    "reporter_reliability",
]

_FLOW_KEY = ["freq", "exporter", "importer", "hs"]

#: Columns of :func:`mirror`'s result, in order.
MIRROR_COLUMNS = list(MIRROR_SCHEMA)

#: Shrinkage of a pair's CIF/FOB ratio towards the median of all pairs, in flows.
_PRIOR_FLOWS = 10
#: Plausible CIF/FOB ratios: outside this band the pair's data, not freight, speaks.
_CIF_FOB_BAND = (1.0, 1.5)


def _sum_where(cond: pl.Expr, col: str) -> pl.Expr:
    """Sum of ``col`` where ``cond``; null when no row qualifies."""
    return pl.when(any_true(cond)).then(pl.when(cond).then(pl.col(col)).sum())


def pair_reports(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Both reports of each flow on one row; no reconciliation yet.

    ``value_x`` is the exporter's ``X`` (which for entrepots already includes
    re-exports; a reporter that files only ``RX`` has it taken as ``X``),
    ``value_rx`` its re-exports, ``value_m`` the importer's ``M``. World rows
    and a country's trade with itself are left out.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": ["M", "M"], "period": [dt.date(2024, 1, 1)] * 2,
    ...     "reporter": ["USA", "MYS"], "partner": ["MYS", "USA"], "flow": ["X", "M"],
    ...     "hs": ["847150"] * 2, "value_usd": [100.0, 105.0], "net_kg": [None, None],
    ...     "slip_suspect": [False, False]})
    >>> pair_reports(lf).select("exporter", "importer", "value_x", "value_m").collect().row(0)
    ('USA', 'MYS', 100.0, 105.0)
    """
    live = lf.filter(
        (pl.col("partner") != WORLD)
        & (pl.col("reporter") != pl.col("partner"))
        & pl.col("flow").cast(pl.String).is_in(["X", "RX", "M"])
    ).with_columns(pl.col("flow").cast(pl.String), pl.col("freq").cast(pl.String))
    # One group-by of both reports, an import keyed by its partner as the
    # exporter: the same rows as grouping each side and joining them, without the join.
    exported, imported = pl.col("flow") == "X", pl.col("flow") == "M"
    flow_key = {
        "freq": "freq",
        "period": "period",
        "exporter": pl.when(imported).then("partner").otherwise("reporter"),
        "importer": pl.when(imported).then("reporter").otherwise("partner"),
        "hs": "hs",
    }
    return (
        live.group_by(**flow_key)
        .agg(
            value_x=_sum_where(exported, "value_usd"),
            value_rx=_sum_where(pl.col("flow") == "RX", "value_usd"),
            kg_x=_sum_where(exported, "net_kg"),
            value_m=_sum_where(imported, "value_usd"),
            kg_m=_sum_where(imported, "net_kg"),
            slip=any_true(pl.col("slip_suspect")),
        )
        .with_columns(value_x=pl.coalesce("value_x", "value_rx"))
    )


def cif_fob_ratios(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Robust CIF/FOB ratio per exporter-importer pair: exporter, importer, cif_fob, n.

    The median of ``log(value_m / value_x)`` over the pair's flows reported by
    both sides, shrunk towards the median of all pairs by ``n / (n + 10)``, then
    held to the band 1.0 to 1.5.

    Examples
    --------
    >>> import datetime as dt
    >>> p = pl.LazyFrame({"exporter": ["A"] * 3, "importer": ["B"] * 3,
    ...     "value_x": [100.0, 200.0, 50.0], "value_m": [105.0, 212.0, 90.0]})
    >>> r = cif_fob_ratios(p).collect()
    >>> round(r["cif_fob"].item(), 3)  # the 90-vs-50 flow does not move the median
    1.06
    """
    both = pairs.filter((pl.col("value_x") > 0) & (pl.col("value_m") > 0)).with_columns(
        r=(pl.col("value_m") / pl.col("value_x")).log()
    )
    overall = both.select(g=pl.col("r").median())
    lo, hi = _CIF_FOB_BAND
    return (
        both.group_by("exporter", "importer")
        .agg(med=pl.col("r").median(), n=pl.len())
        .join(overall, how="cross")
        .with_columns(
            cif_fob=(
                (pl.col("n") * pl.col("med") + _PRIOR_FLOWS * pl.col("g").fill_null(0.0))
                / (pl.col("n") + _PRIOR_FLOWS)
            )
            .exp()
            .clip(lo, hi)
        )
        .select("exporter", "importer", "cif_fob", "n")
    )


def reporter_reliability(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Reliability of each country as an exporter and as an importer.

    ``reliability = 1 / (0.05 + median |log(value_m / (value_x * cif_fob))|)``
    over the flows it reports that its partners report too; a country with no
    such flow gets the median reliability of all. Columns: country, role
    (``exporter`` or ``importer``), reliability.

    Examples
    --------
    >>> p = pl.LazyFrame({"exporter": ["A", "A"], "importer": ["B", "B"],
    ...     "value_x": [100.0, 100.0], "value_m": [105.0, 105.0], "cif_fob": [1.05, 1.05]})
    >>> reporter_reliability(p).collect().sort("role")["reliability"].round(1).to_list()
    [20.0, 20.0]
    """
    dev = pairs.filter((pl.col("value_x") > 0) & (pl.col("value_m") > 0)).with_columns(
        d=(pl.col("value_m") / (pl.col("value_x") * pl.col("cif_fob"))).log().abs()
    )
    by_role = [
        dev.group_by(pl.col(role).alias("country"))
        .agg(d=pl.col("d").median())
        .with_columns(role=pl.lit(role))
        for role in ("exporter", "importer")
    ]
    return pl.concat(by_role).select("country", "role", reliability=1.0 / (0.05 + pl.col("d")))


#: Two seeds of the flow key's 64-bit hashes: rows are one flow's when both agree.
_FLOW_SEEDS = (0x7261_6465, 0x666C_6F77)
#: Frames of equal heights side by side: polars checks the heights with
#: ``strict`` from 1.36 (and warns without it from 1.42); 1.35 has no ``strict``.
_SIDE_BY_SIDE = {"strict": True} if "strict" in inspect.signature(pl.concat).parameters else {}
#: What the gap and its history read of a flow-month.
_GAP_INPUTS = ["period", "value_x", "value_m", "cif_fob", "exporter_silent", "importer_silent"]


def _with_gap_history(lf: pl.LazyFrame, *, history: int, gpu: bool) -> pl.LazyFrame:
    """Add ``gap`` and ``gap_history``: each flow-month's gap, and its median over the
    flow's ``history`` periods before.

    Both read a flow's months in order. They are computed on the few columns
    they need, sorted once by flow and period, then set beside the rows in
    their own order. On the CPU the flow is known by two 64-bit hashes of its
    key (two flows are taken for one only if both collide): sorting on them,
    not on the key's four texts, nor partitioning by those texts for every
    window, halves the time at 4.5M flow-months (benchmarks/RESULTS.md, issue
    27). The GPU engine sorts on the key itself.
    """
    # Executed once for both sides of the concatenation: two executions of a
    # plan with joins need not give its rows in the same order.
    lf = lf.cache()
    if gpu:  # the device sorts the key's texts as fast as two integers
        ids = [pl.col(k) for k in _FLOW_KEY]
    else:
        key = pl.struct(_FLOW_KEY)
        ids = [key.hash(seed).alias(f"_f{i}") for i, seed in enumerate(_FLOW_SEEDS)]
    by = [i.meta.output_name() for i in ids]
    flows = (
        lf.select(*_GAP_INPUTS, *ids, _annual=pl.col("freq") == "A")
        .with_row_index("_at")
        .sort(*by, "period")
    )
    flows = _with_windows(flows, same_key_as_before(by)).with_columns(gap=_gap())
    flows = with_previous_median(flows, "gap", "gap_history", by=by, order="period",
                                 window=history, min_samples=3, gpu=gpu, presorted=True)  # fmt: skip
    back = flows.sort("_at").select("gap", "gap_history")
    return pl.concat([lf, back], how="horizontal", **_SIDE_BY_SIDE)


def _with_windows(flows: pl.LazyFrame, same: pl.Expr) -> pl.LazyFrame:
    """Add ``x3`` and ``m3``: the exporter's and the importer's (FOB) values summed
    over the period before, the period itself and the one after, within one flow.

    ``flows`` is sorted by flow and period; ``same`` is true where a row is of
    the flow of the row before it. A neighbour counts only when it is the
    adjacent month.
    """
    m_fob = pl.col("value_m") / pl.col("cif_fob")
    mi = month_index()
    flows = flows.with_columns(
        _prev_ok=(same & (mi.shift(1) == mi - 1)).fill_null(False),
        _next_ok=(same.shift(-1) & (mi.shift(-1) == mi + 1)).fill_null(False),
    )

    def window(now: pl.Expr) -> pl.Expr:
        before = pl.when(pl.col("_prev_ok")).then(now.shift(1).fill_null(0.0)).otherwise(0.0)
        after = pl.when(pl.col("_next_ok")).then(now.shift(-1).fill_null(0.0)).otherwise(0.0)
        return now.fill_null(0.0) + before + after

    return flows.with_columns(x3=window(pl.col("value_x")), m3=window(m_fob)).drop(
        "_prev_ok", "_next_ok"
    )


def _gap() -> pl.Expr:
    """A flow-month's gap: monthly, over three-month windows (they tolerate transit
    lags); annual rows compare as they are. Null where either side is silent."""
    silent = pl.col("exporter_silent") | pl.col("importer_silent")
    monthly = (pl.col("m3") - pl.col("x3")) / pl.max_horizontal("m3", "x3")
    annual_m = pl.col("value_m").fill_null(0.0) / pl.col("cif_fob")
    annual_x = pl.col("value_x").fill_null(0.0)
    annual = (annual_m - annual_x) / pl.max_horizontal(annual_m, annual_x)
    return pl.when(silent).then(None).when(pl.col("_annual")).then(annual).otherwise(monthly)


def mirror_context(
    lf: pl.LazyFrame, *, pairs: pl.LazyFrame | None = None
) -> dict[str, pl.LazyFrame]:
    """What the mirror of one flow needs from all the others: who filed in each
    period, the CIF/FOB ratio of each pair of countries and each reporter's
    reliability (with their medians for pairs and reporters not seen).

    Computed once over a whole store, it lets :func:`mirror` run on one part of
    it (an HS chapter, on another machine) with the result of the whole.
    ``pairs`` is :func:`pair_reports` of ``lf`` when the caller has it already
    (executed): the plan reads it twice.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": ["M"] * 2, "period": [dt.date(2024, 1, 1)] * 2,
    ...     "reporter": ["USA", "MYS"], "partner": ["MYS", "USA"], "flow": ["X", "M"],
    ...     "hs": ["847150"] * 2, "value_usd": [100.0, 106.0], "net_kg": [None, None],
    ...     "slip_suspect": [False, False]})
    >>> sorted(mirror_context(lf))
    ['filed', 'ratios', 'reliability']
    """
    # Not .cache(): polars 1.44 dropped a filter below a cached full join here
    # (cif_fob_ratios counted 65,025 flows instead of 55,998). Callers with big
    # data pass the pairs executed instead, or use collect_context.
    pairs = pairs if pairs is not None else pair_reports(lf)
    return _context(lf, pairs, lambda plan: plan)[0]


def collect_context(
    lf: pl.LazyFrame, engine: str | None = None, *, pairs: pl.LazyFrame | None = None
) -> tuple[dict[str, pl.LazyFrame], pl.LazyFrame]:
    """:func:`mirror_context` executed, step by step; and the pairs with their CIF/FOB ratios.

    The ratios are executed first, then the pairs joined to them, then the
    reliability weights on those: one plan for the weights would compute the
    ratios and the join again (benchmarks/RESULTS.md, design measurements). The pairs with their ratios are what :func:`mirror`
    would join again: pass them as its ``pairs``.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows (a store or cleaned sources).
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        Where the plans run.
    pairs : LazyFrame, optional
        :func:`pair_reports` of ``lf``, executed (default: computed here).

    Returns
    -------
    context : dict of LazyFrame
        :func:`mirror_context`'s frames, in memory.
    pairs : LazyFrame
        ``pairs`` with the ``cif_fob`` column, in memory.

    Examples
    --------
    A pair of countries with no flow reported by both sides (Japan to
    Malaysia) gets the median ratio:

    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": "M", "period": dt.date(2024, 1, 1), "hs": "847150",
    ...     "reporter": ["USA", "MYS", "JPN"], "partner": ["MYS", "USA", "MYS"],
    ...     "flow": ["X", "M", "X"], "value_usd": [100.0, 106.0, 50.0], "net_kg": 1.0,
    ...     "slip_suspect": False})
    >>> context, pairs = collect_context(lf)
    >>> pairs.select("exporter", "cif_fob").sort("exporter").collect().rows()
    [('JPN', 1.06), ('USA', 1.06)]
    """

    def run(plan: pl.LazyFrame) -> pl.LazyFrame:
        return _engine.collect(plan, engine).lazy()

    def streamed(plan: pl.LazyFrame) -> pl.LazyFrame:
        # A join or group-by of every row (the pairing, who filed what)
        # streamed: faster and smaller than in memory (benchmarks/RESULTS.md, issue 27).
        return _engine.collect(plan, _engine.streamed(engine)).lazy()

    if pairs is None:
        pairs = streamed(pair_reports(lf))
    return _context(lf, pairs, run, streamed)


def _context(
    lf: pl.LazyFrame,
    pairs: pl.LazyFrame,
    run: Callable[[pl.LazyFrame], pl.LazyFrame],
    run_all_rows: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None,
) -> tuple[dict[str, pl.LazyFrame], pl.LazyFrame]:
    """The mirror context and the pairs with their ratios, each stage passed through
    ``run`` (the plan over all of ``lf``'s rows through ``run_all_rows``, default ``run``)."""
    # Who filed what in a period: a reporter that filed nothing at a flow's level
    # (a file of totals only) is silent about it, not a witness that it did not happen.
    filed = (run_all_rows or run)(coverage_table(lf))
    ratios = run(cif_fob_ratios(pairs))
    with_ratio = run(_with_cif_fob(pairs, ratios))
    return {"filed": filed, "ratios": ratios, "reliability": run(_weights(with_ratio))}, (
        with_ratio
    )


def _weights(with_ratio: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`reporter_reliability`, with the median of all beside each."""
    rel = reporter_reliability(with_ratio)
    return rel.join(rel.select(rel_default=pl.col("reliability").median()), how="cross")


#: Store rows whose HS chapters are paired together when the context is read
#: chapter by chapter (:func:`chapter_groups`).
CONTEXT_ROWS = 4_000_000


def chapter_groups(lf: pl.LazyFrame, engine: str | None = None) -> list[list[str]]:
    """The HS chapters of ``lf`` in consecutive groups of about :data:`CONTEXT_ROWS` rows.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    engine : str, optional
        Where the count runs (streamed).

    Returns
    -------
    list of list of str
        Two-digit chapters (``TO`` for totals), each in one group; or, for a
        chapter of more rows, its headings (:func:`tradeflows._expr.in_chapters`).

    See Also
    --------
    collect_context_by_chapter : what pairs them group by group.
    code_groups : the same for any size.

    Examples
    --------
    >>> chapter_groups(pl.LazyFrame({"hs": ["847150", "851712", "TOTAL"]}))
    [['84', '85', 'TO']]
    """
    return code_groups(lf, CONTEXT_ROWS, engine)


def code_groups(lf: pl.LazyFrame, most: int, engine: str | None = None) -> list[list[str]]:
    """The parts of ``lf``'s HS codes in consecutive groups of about ``most`` rows.

    A part is a chapter, or, where a chapter has more than ``most`` rows, one
    of its headings (and its codes shorter than a heading):
    :func:`tradeflows._expr.in_chapters` reads them. A flow's two reports
    share their code, so the parts pair apart; a heading of more than
    ``most`` rows is a group of its own.

    Examples
    --------
    >>> lf = pl.LazyFrame({"hs": ["847150", "847130", "850440", "851712", "85"]})
    >>> code_groups(lf, 2)
    [['84'], ['85-', '8504'], ['8517']]
    """
    on = _engine.streamed(engine)

    def sizes(key: pl.Expr, rows: pl.LazyFrame) -> list[tuple[str, int]]:
        counts = rows.select(c=key).group_by("c").len().drop_nulls().sort("c")
        return _engine.collect(counts, on).rows()

    by_chapter = sizes(part_key(), lf)
    split = [c for c, n in by_chapter if n > most]
    if split:
        chapter = pl.col("hs").str.slice(0, 2)
        by_heading = sizes(part_key(split), lf.filter(chapter.is_in(split)))
        by_chapter = sorted([(c, n) for c, n in by_chapter if c not in split] + by_heading)
    return consecutive_groups(by_chapter, most)


#: The columns :func:`collect_context_by_chapter` keeps of the pairs ``keep`` selects.
KEPT_COLUMNS = ["freq", "period", "exporter", "importer", "hs", "value_x", "value_m"]


def collect_context_by_chapter(
    lf: pl.LazyFrame,
    chapter_groups: list[list[str]],
    engine: str | None = None,
    *,
    keep: pl.Expr | None = None,
    columns: list[str | pl.Expr] | None = None,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """:func:`collect_context`, pairing the reports one group of HS chapters at a time.

    A flow's two reports share its HS code, so the chapters' pairs are the
    pairs of the whole. Of each group's pairs, only what the context needs
    is kept: the two values of the flows both sides reported (the CIF/FOB
    ratios and the reporters' weights are medians over them, the same in any
    order), and, of the pairs ``keep`` selects, :data:`KEPT_COLUMNS`. So
    memory holds one group's pairs and those few columns of all, never the
    pairing of all the data at once (benchmarks/RESULTS.md, issue 27).

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows (a store: each group reads its own chapters).
    chapter_groups : list of list of str
        The HS chapters (two digits, ``TO`` for totals), in groups; together
        every chapter of ``lf``.
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        Where the plans run (the pairing on the streaming engine where
        ``cpu`` is chosen, as in :func:`collect_context`).
    keep : Expr, optional
        The pairs to return, with their ratio (default: none).
    columns : list of str or Expr, optional
        What to keep of them (default :data:`KEPT_COLUMNS`); ``exporter`` and
        ``importer`` among them.

    Returns
    -------
    context : dict of DataFrame
        :func:`mirror_context`'s frames.
    kept : DataFrame
        The kept pairs' ``columns`` and ``cif_fob``.

    See Also
    --------
    collect_context : the same from the pairing of all the data.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": "M", "period": dt.date(2024, 1, 1),
    ...     "hs": ["847150", "847150", "851712"], "reporter": ["USA", "MYS", "JPN"],
    ...     "partner": ["MYS", "USA", "MYS"], "flow": ["X", "M", "X"],
    ...     "value_usd": [100.0, 106.0, 50.0], "net_kg": 1.0, "slip_suspect": False})
    >>> context, kept = collect_context_by_chapter(lf, [["84"], ["85"]], keep=pl.lit(True))
    >>> kept.select("exporter", "hs", "cif_fob").sort("exporter").rows()
    [('JPN', '851712', 1.06), ('USA', '847150', 1.06)]
    """
    on = _engine.streamed(engine)
    columns = columns if columns is not None else KEPT_COLUMNS
    both, kept = [], []
    reported_twice = (pl.col("value_x") > 0) & (pl.col("value_m") > 0)
    for chapters in chapter_groups:
        pairs = _engine.collect(pair_reports(lf.filter(in_chapters(chapters))), on)
        both.append(
            pairs.filter(reported_twice).select("exporter", "importer", "value_x", "value_m")
        )
        if keep is not None:
            kept.append(pairs.filter(keep).select(columns))
        del pairs
    both = pl.concat(both, how="vertical_relaxed").lazy() if both else pair_reports(lf)
    # The weights' join of every flow reported twice to its ratio, streamed:
    # in memory it doubled the context's peak at 42M store rows.
    ratios = _engine.collect(cif_fob_ratios(both), engine).lazy()
    weights = _engine.collect(_weights(_with_cif_fob(both, ratios)), on)
    del both
    context = {
        "filed": _engine.collect(coverage_table(lf), on),
        "ratios": ratios.collect(),
        "reliability": weights,
    }
    empty = pair_reports(lf.head(0)).select(columns)
    kept = pl.concat(kept, how="vertical_relaxed").lazy() if kept else empty
    return context, _engine.collect(_with_cif_fob(kept, ratios), on)


def _with_cif_fob(pairs: pl.LazyFrame, ratios: pl.LazyFrame) -> pl.LazyFrame:
    default = ratios.select(cif_default=pl.col("cif_fob").median())
    return (
        pairs.join(
            ratios.select("exporter", "importer", "cif_fob"),
            on=["exporter", "importer"],
            how="left",
        )
        .join(default, how="cross")
        .with_columns(cif_fob=pl.coalesce("cif_fob", "cif_default", pl.lit(1.05)))
        .drop("cif_default")
    )


def mirror(
    lf: pl.LazyFrame,
    *,
    history: int = 12,
    context: dict[str, pl.LazyFrame] | None = None,
    pairs: pl.LazyFrame | None = None,
    gpu: bool = False,
) -> pl.LazyFrame:
    """Both reports of each flow, reconciled, with the gap of each leg and its history.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows (a store or cleaned sources).
    history : int
        Periods of the flow's own past that its usual gap is taken from.
    context : dict, optional
        :func:`mirror_context` of the whole data when ``lf`` is a part of it
        (default: computed from ``lf``).
    pairs : LazyFrame, optional
        :func:`pair_reports` of ``lf``, executed, so that it is not computed
        again; with its ``cif_fob`` column already (from
        :func:`collect_context`), it is not joined to the ratios again.
    gpu : bool
        Build the plan for the GPU engine, which computes the gap history
        without a rolling window (the same result).

    Returns
    -------
    LazyFrame
        One row per exporter, importer, HS code and period: see ``MIRROR_COLUMNS``.
        ``value`` is the reconciled FOB value; ``gap`` is in [-1, 1] (positive:
        the importer books more than the exporter reports, after CIF/FOB), null
        where either side is silent; ``gap_change`` is ``gap`` minus its median
        over the previous ``history`` periods.

    See Also
    --------
    collect_mirror : executed in stages, each once.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": ["M"] * 3, "period": [dt.date(2024, 1, 1)] * 3,
    ...     "reporter": ["USA", "MYS", "MYS"], "partner": ["MYS", "USA", "CHN"],
    ...     "flow": ["X", "M", "X"], "hs": ["847150"] * 3,
    ...     "value_usd": [100.0, 106.0, 80.0], "net_kg": [None] * 3,
    ...     "slip_suspect": [False] * 3})
    >>> m = mirror(lf).collect().sort("importer")
    >>> m.select("exporter", "importer", "side", "importer_silent").rows()
    [('MYS', 'CHN', 'exporter_only', True), ('USA', 'MYS', 'both', False)]
    >>> m["value"].round(1).to_list()
    [80.0, 100.0]
    """
    pairs_in = pairs if pairs is not None else pair_reports(lf)
    context = context if context is not None else mirror_context(lf, pairs=pairs)
    filed = context["filed"]
    filed_x = filed.filter(pl.col("role") == "X").select(
        exporter="reporter", freq="freq", period="period", _xp="products", _xt="totals"
    )
    filed_m = filed.filter(pl.col("role") == "M").select(
        importer="reporter", freq="freq", period="period", _mp="products", _mt="totals"
    )
    total = pl.col("hs") == "TOTAL"
    if "cif_fob" in pairs_in.collect_schema().names():
        pairs = pairs_in
    else:
        pairs = _with_cif_fob(pairs_in, context["ratios"])
    rel = context["reliability"]
    rel_default = rel.select(pl.col("rel_default").first())
    out = (
        pairs.join(filed_x, on=["exporter", "freq", "period"], how="left")
        .join(filed_m, on=["importer", "freq", "period"], how="left")
        .join(
            rel.filter(pl.col("role") == "exporter").select(
                exporter="country", weight_x="reliability"
            ),
            on="exporter",
            how="left",
        )
        .join(
            rel.filter(pl.col("role") == "importer").select(
                importer="country", weight_m="reliability"
            ),
            on="importer",
            how="left",
        )
        .join(rel_default, how="cross")
        .with_columns(
            exporter_silent=~pl.when(total).then("_xt").otherwise("_xp").fill_null(False),
            importer_silent=~pl.when(total).then("_mt").otherwise("_mp").fill_null(False),
            weight_x=pl.coalesce("weight_x", "rel_default", pl.lit(1.0)),
            weight_m=pl.coalesce("weight_m", "rel_default", pl.lit(1.0)),
            side=pl.when(pl.col("value_x").is_not_null() & pl.col("value_m").is_not_null())
            .then(pl.lit("both"))
            .when(pl.col("value_x").is_not_null())
            .then(pl.lit("exporter_only"))
            .otherwise(pl.lit("importer_only")),
        )
        .with_columns(
            value=pl.when(pl.col("side") == "both")
            .then(
                (
                    pl.col("weight_x") * pl.col("value_x")
                    + pl.col("weight_m") * pl.col("value_m") / pl.col("cif_fob")
                )
                / (pl.col("weight_x") + pl.col("weight_m"))
            )
            .otherwise(pl.coalesce("value_x", pl.col("value_m") / pl.col("cif_fob"))),
        )
    )
    return (
        _with_gap_history(out, history=history, gpu=gpu)
        .with_columns(gap_change=pl.col("gap") - pl.col("gap_history"))
        .select(MIRROR_COLUMNS)
    )


def chapter_parts(chapters: object) -> list[str]:
    """``chapters`` as :func:`tradeflows._expr.in_chapters` reads them, or one line.

    A chapter may be given as a number (84, 1) or text ("84", "01"), one or
    a list; a heading as four digits ("8471"); a chapter's codes shorter than
    a heading as "84-". Text is never read letter by letter: "84" is chapter
    84, not chapters 8 and 4.

    Examples
    --------
    >>> chapter_parts([84, "01", "8471"]), chapter_parts("85")
    (['84', '01', '8471'], ['85'])
    >>> chapter_parts(["HS84"])
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: chapters: 'HS84' is not an HS chapter (84, "84", a heading "8471")
    """
    given = [chapters] if isinstance(chapters, (str, int)) else chapters
    if not isinstance(given, Iterable):
        given = [given]
    parts = []
    for c in given:
        text = f"{c:02d}" if isinstance(c, int) and not isinstance(c, bool) and c >= 0 else c
        if not isinstance(text, str) or not re.fullmatch(r"\d\d-?|\d{4}", text.strip()):
            raise TradeflowsInputError(
                f'chapters: {c!r} is not an HS chapter (84, "84", a heading "8471")'
            )
        parts.append(text.strip())
    return parts


def collect_mirror(
    lf: pl.LazyFrame,
    engine: str | None = None,
    *,
    chapters: list[str] | None = None,
    context: tuple[dict, pl.LazyFrame] | None = None,
) -> pl.DataFrame:
    """:func:`mirror` of ``lf``, executed, with its pairing and context each executed once.

    One plan for the whole mirror would compute :func:`pair_reports` twice
    (for the context and for the legs); executing it first, then the context
    on it (:func:`collect_context`), then the mirror, does each once.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows (a store, a dataset), or rows a reader or the cleaning
        marked: only those a store keeps are read (:func:`tradeflows.clean.canonical_rows`).
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        Where the plans run.
    chapters : list of str or int, optional
        HS chapters (``"84"`` or 84; :func:`chapter_parts`): only their flows
        are mirrored, with the CIF/FOB ratios and reliability weights of all
        of ``lf``.
    context : tuple, optional
        :func:`collect_context` of ``lf``, when the caller has it (it is not
        computed again).

    Returns
    -------
    DataFrame
        ``MIRROR_COLUMNS``, one row per exporter, importer, HS code and period.

    Raises
    ------
    TradeflowsInputError
        Rows holding an amount or a period the cleaning drops (a negative or
        infinite value, a year outside 1900-2100), naming the first.

    See Also
    --------
    mirror : the same as a plan.
    collect_route_indicators : the routes built on it.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"freq": ["M"] * 3, "period": [dt.date(2024, 1, 1)] * 3,
    ...     "reporter": ["USA", "MYS", "MYS"], "partner": ["MYS", "USA", "CHN"],
    ...     "flow": ["X", "M", "X"], "hs": ["847150", "847150", "300490"],
    ...     "value_usd": [100.0, 106.0, 80.0], "net_kg": [None] * 3,
    ...     "slip_suspect": [False] * 3})
    >>> collect_mirror(lf).height, collect_mirror(lf, chapters=["30"])["hs"].to_list()
    (2, ['300490'])
    """
    chapters = None if chapters is None else chapter_parts(chapters)
    lf = canonical_rows(lf)  # rows a reader or the cleaning marked: those a store keeps
    refuse_bad_rows(lf)  # rows of one's own are not cleaned
    return mirror_rows(lf, engine, chapters=chapters, context=context)


def mirror_rows(
    lf: pl.LazyFrame,
    engine: str | None = None,
    *,
    chapters: list[str] | None = None,
    context: tuple[dict, pl.LazyFrame] | None = None,
) -> pl.DataFrame:
    """:func:`collect_mirror` of rows already read and checked (a detection's:
    :func:`tradeflows.detect._flags.load_canonical` checked them), not checked again.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows, checked.
    engine : str, optional
        Where the plans run.
    chapters : list of str, optional
        :func:`chapter_parts` of the chapters asked for.
    context : tuple, optional
        As :func:`collect_mirror`.

    Returns
    -------
    DataFrame
        As :func:`collect_mirror`.
    """
    if context is None and chapters is not None:
        # Some chapters of all the data: the context read chapter by chapter,
        # keeping those chapters' pairs whole (nothing pairs all rows at once).
        context = collect_context_by_chapter(
            lf, chapter_groups(lf, engine), engine, keep=in_chapters(chapters), columns=[pl.all()]
        )
        context = ({k: v.lazy() for k, v in context[0].items()}, context[1].lazy())
    context, paired = context if context is not None else collect_context(lf, engine)
    if chapters is not None:
        # A flow's pairing lies within its HS code: the chapters' pairs are
        # the whole pairing's, filtered.
        paired = paired.filter(in_chapters(chapters))
    gpu = _engine.resolve(engine) == "gpu"
    return _engine.collect(mirror(lf, context=context, pairs=paired, gpu=gpu), engine)
