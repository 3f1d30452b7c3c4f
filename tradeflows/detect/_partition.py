"""Route indicators computed one HS chapter at a time: on one machine or on a Dask cluster.

Every indicator of a route lives inside its product's HS chapter (its legs,
its heading, its destination's other suppliers, its uncontrolled control
products), except five things taken from all the data: who filed in each
month, the CIF/FOB ratio of each country pair, each reporter's reliability
(:func:`tradeflows._mirror.mirror_context`), the floor and month span of the
route series, and the spread of chance their changes are measured against
(the null: counted group by group in a first pass, the counts added up).
Those are computed once over everything; the chapters are then
mirrored and routed with them in groups of consecutive chapters (up to
``BATCH_PAIRS`` pairs), so the result is the whole run's (tested).

A chapter of more pairs is split into groups of its headings
(:func:`tradeflows._mirror.code_groups`): every indicator but two lives
inside the heading. Those two are read from the whole chapter: which hubs
and destinations its routes reach (their imports are read for every product
of the chapter: :func:`tradeflows._routes.series.route_reach`, from the whole
run's candidate routes), and the hubs' imports of the chapter's products,
whose medians are the policy break's control products (each group's
:func:`tradeflows._routes.policy.hub_changes`, gathered by the first pass).
On one machine this bounds the memory to one group's routes, whatever the
size of a chapter; with ``cluster=`` the groups are mapped over
dask.distributed workers, which read their codes themselves (a store on a
shared disk or on object storage).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from tradeflows import _engine
from tradeflows._chunked import Spool
from tradeflows._expr import in_chapters, month_index, part_key, split_chapters
from tradeflows._mirror import chapter_groups, code_groups, collect_context_by_chapter, mirror
from tradeflows._query import Query
from tradeflows._routes import (
    SeriesStages,
    candidate_routes,
    destinations_or_default,
    hs_filter,
    is_product,
    leg_value,
    route_indicators,
    route_series,
    series_null_counts,
    shipped,
    typical_flow,
)
from tradeflows._routes.candidates import material_routes
from tradeflows._routes.policy import control_products, hub_changes
from tradeflows._routes.route_months import series_names
from tradeflows._routes.series import kind_code, null_sample, null_table, route_reach

__all__ = [
    "BATCH_PAIRS",
    "chapter_indicators",
    "chapter_null_counts",
    "indicators",
]

#: Pairs (flows with both reports) that chapters are grouped up to before
#: they are mirrored and routed together: one chapter at a time paid a fixed
#: cost per chapter (benchmarks/RESULTS.md, design measurements).
#: A chapter larger than this is a group of its own.
BATCH_PAIRS = 500_000


def _legs(selected: pl.LazyFrame, hs: list[str] | None, engine) -> pl.LazyFrame:
    """The monthly product legs of the selected pairs, as much as the run's
    context needs of them: ``exporter``, ``importer``, ``hs``, ``mi``, ``v``.

    ``selected``: the pairs with their CIF/FOB ratios (:func:`collect_context`)
    whose HS codes (``hs``) the run selects.
    """
    return _engine.collect(
        selected.filter((pl.col("freq") == "M") & is_product(hs))
        .select("exporter", "importer", "hs", mi=month_index(), v=leg_value())
        .filter(shipped()),
        engine,
    ).lazy()


def _route_context(legs: pl.LazyFrame, engine) -> tuple[float, tuple[int, int]]:
    """The floor (median monthly leg value) and the month span, as the whole run has them."""
    row = _engine.collect(
        legs.select(
            floor=typical_flow(),
            lo=pl.col("mi").min(),
            hi=pl.col("mi").max(),
        ),
        engine,
    ).row(0, named=True)
    span = (row["lo"], row["hi"]) if row["lo"] is not None else (0, -1)
    return row["floor"], span


def _whole_routes(
    legs: pl.LazyFrame, query: Query, engine, *, sample: bool, reach: bool
) -> tuple[int | None, pl.DataFrame | None]:
    """What the whole run's candidate routes tell each group: with ``sample``,
    :func:`tradeflows._routes.series.null_sample` of its immaterial routes; with
    ``reach``, :func:`tradeflows._routes.series.route_reach` (where a chapter is
    split into groups of headings)."""
    options = query.options()
    routes = candidate_routes(
        legs, destinations_or_default(options["destinations"]), hubs=options["hubs"]
    )
    # Together: the candidate routes are found once for both counts (10.2 s
    # against 21.5 s on a 55M-row world's 45.6M store rows; benchmarks/RESULTS.md).
    plans = []
    if sample:
        material = material_routes(routes, legs, options["min_usd"])
        plans += [r.select(pl.len()) for r in (routes, material)]
    if reach:
        plans.append(route_reach(routes))
    out = _engine.collect_all(plans, _engine.streamed(engine)) if plans else []
    n = null_sample(out[0].item() - out[1].item()) if sample else None
    return n, (out[-1] if reach else None)


def _context_by_chapter(
    lf: pl.LazyFrame, query: Query, engine
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The mirror context, and the monthly product pairs ``query`` selects, computed
    a group of HS chapters at a time (:func:`tradeflows._mirror.collect_context_by_chapter`)."""
    hs = query.options()["hs"]
    keep = (pl.col("freq") == "M") & is_product(hs) & hs_filter(hs)
    # Of the selected pairs, what their legs need (:func:`_legs`): no more.
    columns = ["exporter", "importer", "hs", month_index().alias("mi"), "value_x", "value_m"]
    groups = chapter_groups(lf, engine)
    return collect_context_by_chapter(lf, groups, engine, keep=keep, columns=columns)


def chapter_indicators(
    lf: pl.LazyFrame,
    chapters: list[str],
    context: dict,
    query: Query,
    engine: str | None,
    pairs: pl.DataFrame | None = None,
    series: SeriesStages | None = None,
    then=None,
) -> pl.DataFrame:
    """The route indicators of some HS chapters, with the whole data's context
    (or ``then`` of them, as :func:`tradeflows._routes.collect_route_indicators` says).

    A function of its arguments only (a LazyFrame pickles as its plan), so that
    a Dask worker can run it. ``pairs``, the chapters' pairs with their CIF/FOB
    ratios (from :func:`tradeflows._mirror.collect_context`), spares reading and
    pairing the chapters again; a worker, without them, reads its chapters.
    ``series``, the chapters' :func:`chapter_series` kept from the first pass,
    spares mirroring them and building their series again.
    """
    mirrored = None if series is not None else _mirrored(lf, chapters, context, engine, pairs)
    return route_indicators(
        None if mirrored is None else mirrored.lazy(),
        series=series,
        **query.options(),
        engine=engine,
        floor=context["floor"],
        null=context["null"],
        sample=context.get("sample"),
        **_whole(context),
        control=None if context.get("control") is None else context["control"].lazy(),
        then=then,
    )


def chapter_null_counts(
    lf: pl.LazyFrame,
    chapters: list[str],
    context: dict,
    query: Query,
    engine: str | None,
    pairs: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The null counts of some HS chapters (:func:`tradeflows._routes.series_null_counts`),
    and, where a chapter is split into groups of headings, its hubs' import changes
    (:func:`_hub_changes`; else None).

    The first pass: the counts of all the groups add up to the whole run's,
    whose null every group's indicators are then measured against.
    """
    series = chapter_series(lf, chapters, context, query, engine, pairs)
    return series_null_counts(series, engine), _hub_changes(series, context, query, engine)


def _hub_changes(series: SeriesStages, context: dict, query: Query, engine) -> pl.DataFrame | None:
    """Where a chapter is split into groups of headings (``context["reach"]``), the
    group's hub import changes (:func:`tradeflows._routes.policy.hub_changes`): the
    policy break's control products are the medians of the whole chapter's."""
    reach = context.get("reach")
    if reach is None:
        return None
    months = series.cal.select("mi")
    # The hubs' import series first, on their own: the changes may be the
    # spool's files, which the names and the sums would both read (a plan that
    # reads one scan twice made polars 1.44's optimiser panic on the GPU
    # engine's translation: "expected filter").
    hub_in = series.changes.filter(pl.col("kind") == "hub_in").select(
        "_sid", "kind", "a", "b", "p", "mi", "cum", "cum_n", _kind=kind_code(pl.col("kind"))
    )
    hub_in = _engine.collect(hub_in, engine).lazy()
    changes = hub_changes(
        hub_in, series_names(hub_in, months), months, reach.lazy().select("hub", "destination"),
        destinations=destinations_or_default(query.options()["destinations"]),
    )  # fmt: skip
    return _engine.collect(changes, engine)


def _control(changes: list[pl.DataFrame | None], engine) -> pl.DataFrame | None:
    """The whole chapters' control products from every group's hub import changes."""
    if not changes or changes[0] is None:
        return None
    return _engine.collect(control_products(pl.concat(changes).lazy()), engine)


def chapter_series(
    lf: pl.LazyFrame,
    chapters: list[str],
    context: dict,
    query: Query,
    engine: str | None,
    pairs: pl.DataFrame | None = None,
    keep=None,
) -> SeriesStages:
    """The leg series of some HS chapters (:func:`tradeflows._routes.route_series`,
    and its ``keep``), with the whole data's context: what both passes read."""
    mirrored = _mirrored(lf, chapters, context, engine, pairs)
    where = {k: v for k, v in query.options().items() if k != "since"}
    return route_series(
        mirrored.lazy(), **where, engine=engine, sample=context.get("sample"), keep=keep,
        **_whole(context),
    )  # fmt: skip


def _whole(context: dict) -> dict:
    """What the whole data says that a group of chapters cannot: its month span, who
    filed, and, where a chapter is split into groups of headings, its routes' reach."""
    reach = context.get("reach")
    return {
        "span": context["span"],
        "coverage": context["mirror"]["filed"].lazy(),
        "reach": reach.lazy() if reach is not None else None,
    }


def _mirrored(lf, chapters, context, engine, pairs) -> pl.DataFrame:
    """The chapters' pairs with the whole data's mirror context."""
    if pairs is None:
        # Read once: the mirror's plan reads its input twice (each side's reports).
        lf = _engine.collect(lf.filter(in_chapters(chapters)), engine).lazy()
    ctx = {k: v.lazy() for k, v in context["mirror"].items()}
    lazy_pairs = pairs.lazy() if pairs is not None else None
    gpu = _engine.resolve(engine) == "gpu"
    return _engine.collect(mirror(lf, context=ctx, pairs=lazy_pairs, gpu=gpu), engine)


def indicators(
    lf: pl.LazyFrame,
    query: Query | None = None,
    *,
    engine: str | None = None,
    cluster=None,
    then=None,
    context: list | None = None,
) -> pl.DataFrame:
    """Route indicators of all the data, computed chapter by chapter.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    query : Query, optional
        What to look for (default: ``Query()``).
    engine : str, optional
        As :func:`tradeflows.detect_routes`.
    cluster : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``), ``"local"`` for a
        cluster of local worker processes, or a Client. Default: the chapters
        one after another in this process.
    then : callable, optional
        Applied to each group's indicators as soon as they are computed (on
        the worker, on a cluster), before the groups are put together: the
        detection scores a group and keeps what an analyst reads of it, so
        that no more than one group's route-months are in memory at once.
        Within a group, to each part of its routes
        (:func:`tradeflows._routes.collect_route_indicators`): the largest
        chapter of a 55M-row world built 2.7M route-months in three parts,
        whose indicators put together took the run from 6.5 to 8.65 GiB
        before they were scored (benchmarks/RESULTS.md, issue 27).
    context : list, optional
        ``[collect_context(lf)]`` (:func:`tradeflows._mirror.collect_context`),
        when the caller has it (the memory budget's check pairs the store
        first): the store is not paired again. Handed over: it is taken out
        of the list, so that its pairs are let go after the first pass
        rather than held by the caller (0.31 GiB through the run on an 11M-row
        store; benchmarks/RESULTS.md, issue 27).

    Returns
    -------
    DataFrame
        The indicators of every group (or what ``then`` made of them), in
        the order of the groups.
    """
    query = query if query is not None else Query()
    # The route step keeps only the legs ``hs`` selects, and a flow's pairing
    # and history lie within its HS code: the selected pairs are all the
    # chapters need, and they name the chapters.
    if context is None:
        # Nothing pairs all the data at once: the context is read chapter by
        # chapter, and each group reads and pairs its own chapters again.
        mirror_ctx, selected = _context_by_chapter(lf, query, engine)
        selected = selected.select("exporter", "importer", "hs", "mi", v=leg_value())
        legs, read = selected.lazy().filter(shipped()), True
    else:
        staged, with_ratio = context.pop()
        mirror_ctx = {k: v.collect() for k, v in staged.items()}  # in memory already
        hs = query.options()["hs"]
        selected = with_ratio.filter(hs_filter(hs)).collect()
        del with_ratio
        legs, read = _legs(selected.lazy(), hs, engine), False
    del context
    floor, span = _route_context(legs, engine)
    context = {"mirror": mirror_ctx, "floor": floor, "span": span}
    # Chapters in groups of up to BATCH_PAIRS pairs; a larger chapter in groups
    # of its headings. A chapter's headings apart need two things of the whole
    # chapter: which hubs and destinations its routes reach (their imports are
    # read for every product of it), and the hubs' imports of its products
    # for the policy break's control (the first pass gathers them).
    batches = code_groups(selected.lazy().select("hs"), BATCH_PAIRS, engine)
    split = split_chapters(batches)
    context["sample"], context["reach"] = _whole_routes(
        legs, query, engine, sample=query.min_usd > 0, reach=bool(split)
    )
    del legs
    if cluster is None:
        # Each group's pairs are filtered from those in memory, one group at a
        # time (no chapter read or paired again; no second copy of them all),
        # or, where only some columns of them were kept, read and paired again.
        batch_of = {c: i for i, batch in enumerate(batches) for c in batch}
        batch_id = selected.select(
            part_key(split).replace_strict(batch_of, return_dtype=pl.UInt32)
        ).to_series()
        if read:
            selected = None  # each group reads and pairs its own chapters

        # Two passes: the null of the whole run, then each group's indicators
        # against it. The first keeps each group's series for the second.
        kept = _KeptSeries(engine)
        try:
            counts, hubs = [], []
            for i, batch in enumerate(batches):
                pairs = None if selected is None else selected.filter(batch_id == i)
                series = chapter_series(lf, batch, context, query, engine, pairs=pairs,
                                        keep=kept.keeper(i))  # fmt: skip
                counts.append(series_null_counts(series, engine))
                hubs.append(_hub_changes(series, context, query, engine))
                kept.add(i, series)
                del pairs, series
            # The second pass reads the series the first kept, not the pairs.
            del batch_id
            selected = None
            context["null"] = null_table(pl.concat(counts))
            context["control"] = _control(hubs, engine)
            del hubs
            parts = [
                chapter_indicators(lf, batch, context, query, engine, series=kept.pop(i), then=then)
                for i, batch in enumerate(batches)
            ]
        finally:
            kept.close()
    else:
        del selected
        parts = _on_cluster(cluster, lf, batches, context, query, engine, then)
    parts = [p for p in parts if p.height]
    if not parts:
        return chapter_indicators(lf, [], context, query, engine, then=then)
    return pl.concat(parts, how="vertical_relaxed")


class _KeptSeries:
    """Each group's :func:`chapter_series` from the first pass to the second, in
    parquet files in the system's temporary folder (``TMPDIR``; a
    :class:`tradeflows._chunked.Spool` with no memory budget).

    On disk, not in memory: a run goes group by group to bound its memory. On
    the wide world (benchmarks/RESULTS.md, issue 27) the files took 573 MiB,
    the run's peak fell, and it took as long as with the series held in
    memory, which raised the peak by 1 GB.
    """

    _FRAMES = ("legs", "routes", "changes", "weights")

    def __init__(self, engine: str | None = None) -> None:
        self.spool = Spool(Path(tempfile.gettempdir()), budget=0)
        self.cals: dict[int, pl.LazyFrame] = {}
        self.engine = engine

    def keeper(self, key: int):
        """What :func:`chapter_series` hands each part of a group's changes to as it
        is computed: written to the spool at once (:meth:`add` then leaves them)."""
        return lambda part: self.spool.add("changes", key, part)

    def add(self, key: int, series: SeriesStages) -> None:
        for name in self._FRAMES:
            frame = getattr(series, name)
            # Not again where the keeper spooled it part by part.
            if frame is not None and (name, key) not in self.spool.parts:
                self.spool.add(name, key, frame.collect())
        self.cals[key] = series.cal

    #: Read back whole: the route plan reads them many times over. The changes
    #: are read once (their evidence) and the weights not at all (the null's
    #: counts, the first pass): left in their files, the changes are never held
    #: beside the evidence and the route-months (1.4 GiB for the largest
    #: chapter of a 55M-row world: benchmarks/RESULTS.md, issue 27).
    _WHOLE = ("legs", "routes")

    def pop(self, key: int) -> SeriesStages:
        frames = {name: self.spool.pop(name, [key]) for name in self._FRAMES}
        return SeriesStages(
            cal=self.cals.pop(key),
            **{n: self._read(n, f) if f else None for n, f in frames.items()},
        )

    def _read(self, name: str, frames: list[pl.LazyFrame]) -> pl.LazyFrame:
        lf = pl.concat(frames)
        return _engine.reread(lf.collect(), self.engine) if name in self._WHOLE else lf

    def close(self) -> None:
        self.spool.close()


def _on_cluster(cluster, lf, batches, context, query, engine, then) -> list[pl.DataFrame]:
    from distributed import Client, LocalCluster

    own = None
    if isinstance(cluster, Client):
        client = cluster
    elif cluster == "local":
        # A free port for the scheduler's HTTP server: with no address
        # (None) it still takes 8787, and beside another cluster on that
        # port it starts with a warning, or not at all where warnings are errors.
        own = LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(own)
    else:
        client = Client(cluster)
    try:
        lf_future = client.scatter(lf, broadcast=True)
        first = client.scatter(context, broadcast=True)
        counts, hubs = zip(*client.gather([
            client.submit(chapter_null_counts, lf_future, batch, first, query, engine, pure=False)
            for batch in batches
        ]), strict=True)  # fmt: skip
        context["null"] = null_table(pl.concat(counts))
        context["control"] = _control(list(hubs), engine)
        context_future = client.scatter(context, broadcast=True)
        then_future = client.scatter(then, broadcast=True) if then is not None else None
        futures = [
            client.submit(
                chapter_indicators, lf_future, batch, context_future, query, engine,
                then=then_future, pure=False,
            )
            for batch in batches
        ]  # fmt: skip
        return client.gather(futures)
    finally:
        if not isinstance(cluster, Client):
            client.close()
        if own is not None:
            own.close()
