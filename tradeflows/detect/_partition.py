"""Route indicators computed one HS chapter at a time: on one machine or on a Dask cluster.

Every indicator of a route lives inside its product's HS chapter (its legs,
its heading, its destination's other suppliers, its uncontrolled control
products), except four things taken from all the data: who filed in each
month, the CIF/FOB ratio of each country pair, each reporter's reliability
(:func:`tradeflows.mirror.mirror_context`), and the floor and month span of the
route series. Those are computed once over everything; each chapter is then
mirrored and routed on its own with them, so the result is the whole run's
(tested). On one machine this bounds the memory to one chapter's routes; with
``cluster=`` the chapters are mapped over dask.distributed workers, which read
the data themselves (a store on a shared disk or on object storage).
"""

from __future__ import annotations

import polars as pl

from tradeflows import engine as _engine
from tradeflows._expr import in_chapters, month_index
from tradeflows.mirror import collect_context, mirror, pair_reports
from tradeflows.routes import _floor, _hs_filter, _leg_value, route_indicators

__all__ = ["chapter_indicators", "indicators"]


def _route_context(with_ratio: pl.LazyFrame, hs, engine) -> tuple[float, tuple[int, int]]:
    """The floor (median monthly leg value) and the month span, as the whole run has them.

    ``with_ratio``: the pairs with their CIF/FOB ratios (:func:`collect_context`).
    """
    legs = (
        with_ratio.filter(pl.col("freq") == "M")
        .filter(_hs_filter(hs))
        .select(mi=month_index(), v=_leg_value())
    )
    row = _engine.collect(
        legs.select(
            floor=_floor(),
            lo=pl.col("mi").min(),
            hi=pl.col("mi").max(),
        ),
        engine,
    ).row(0, named=True)
    span = (row["lo"], row["hi"]) if row["lo"] is not None else (0, -1)
    return row["floor"], span


def chapter_indicators(
    lf: pl.LazyFrame, chapters: list[str], context: dict, options: dict
) -> pl.DataFrame:
    """The route indicators of some HS chapters, with the whole data's context.

    A function of its arguments only (a LazyFrame pickles as its plan), so that
    a Dask worker can run it.
    """
    engine = options.get("engine")
    # Read once: the mirror's plan reads its input twice (each side's reports).
    part = _engine.collect(lf.filter(in_chapters(chapters)), engine).lazy()
    ctx = {k: v.lazy() for k, v in context["mirror"].items()}
    pairs = _engine.collect(mirror(part, context=ctx, engine=engine), engine)
    return _engine.collect(
        route_indicators(
            pairs.lazy(),
            destinations=options.get("destinations"),
            hubs=options.get("hubs"),
            hs=options.get("hs"),
            since=options.get("since"),
            floor=context["floor"],
            span=context["span"],
            engine=engine,
        ),
        engine,
    )


def indicators(
    lf: pl.LazyFrame,
    *,
    destinations=None,
    hubs=None,
    hs=None,
    since=None,
    engine: str | None = None,
    cluster=None,
) -> pl.DataFrame:
    """Route indicators of all the data, computed chapter by chapter.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    destinations, hubs, hs, since, engine
        As :func:`tradeflows.detect.detect_routes`.
    cluster : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``), ``"local"`` for a
        cluster of local worker processes, or a Client. Default: the chapters
        one after another in this process.
    """
    paired = _engine.collect(pair_reports(lf), engine).lazy()
    staged, with_ratio = collect_context(lf, engine, pairs=paired)
    del paired
    mirror_ctx = {k: v.collect() for k, v in staged.items()}  # in memory already
    floor, span = _route_context(with_ratio, hs, engine)
    del with_ratio
    context = {"mirror": mirror_ctx, "floor": floor, "span": span}
    chapters = (
        _engine.collect(
            lf.filter(_hs_filter(hs)).select(pl.col("hs").str.slice(0, 2).unique().sort()), engine
        )
        .to_series()
        .to_list()
    )
    options = {
        "destinations": destinations,
        "hubs": hubs,
        "hs": hs,
        "since": since,
        "engine": engine,
    }
    if cluster is None:
        parts = [chapter_indicators(lf, [c], context, options) for c in chapters]
    else:
        parts = _on_cluster(cluster, lf, chapters, context, options)
    parts = [p for p in parts if p.height]
    if not parts:
        return chapter_indicators(lf, [], context, options)
    return pl.concat(parts, how="vertical_relaxed")


def _on_cluster(cluster, lf, chapters, context, options) -> list[pl.DataFrame]:
    from distributed import Client, LocalCluster

    own = None
    if isinstance(cluster, Client):
        client = cluster
    elif cluster == "local":
        own = LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(own)
    else:
        client = Client(cluster)
    try:
        context_future = client.scatter(context, broadcast=True)
        lf_future = client.scatter(lf, broadcast=True)
        futures = [
            client.submit(chapter_indicators, lf_future, [c], context_future, options, pure=False)
            for c in chapters
        ]
        return client.gather(futures)
    finally:
        if not isinstance(cluster, Client):
            client.close()
        if own is not None:
            own.close()
