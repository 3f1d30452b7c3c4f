"""Chapter by chapter, on one machine or a Dask cluster: the same flags as the whole run."""

from __future__ import annotations

import contextlib

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import small_world
from tradeflows import detect_routes
from tradeflows._expr import in_chapters
from tradeflows._mirror import collect_context, collect_mirror, mirror, mirror_context
from tradeflows._routes import series
from tradeflows._store import scan_store
from tradeflows.detect import _partition, default_detector
from tradeflows.detect._partition import chapter_indicators

KEY = ["origin", "hub", "destination", "hs", "period"]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    out = small_world(tmp_path_factory.mktemp("partworld"), seed=5, store=True, n_others=10,
                      n_products=14, pairs_per_product=20, episodes=4, lookalikes=4)  # fmt: skip
    return out / "store"


@pytest.fixture(scope="module")
def store(store_dir):
    return scan_store(store_dir)


def detector():
    # The smooth world's episodes stand out less to the shipped trees (which
    # learned real noise): a lower line, so that these runs flag something.
    return default_detector(threshold=-2.5)


@pytest.fixture(scope="module")
def whole(store):
    return detect_routes(store, detector=detector()).sort(KEY)


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert_frame_equal(a.sort(KEY), b.sort(KEY), check_exact=False, rel_tol=1e-9, abs_tol=1e-6)


def test_mirror_of_each_chapter_with_the_whole_context_is_the_whole_mirror(store):
    key = ["exporter", "importer", "hs", "period"]
    context = {k: v.collect().lazy() for k, v in mirror_context(store).items()}
    chapters = store.select(pl.col("hs").str.slice(0, 2).unique()).collect().to_series()
    parts = [mirror(store.filter(pl.col("hs").str.starts_with(c)), context=context).collect()
             for c in chapters]  # fmt: skip
    assert len(chapters) > 3
    assert_frame_equal(mirror(store).collect().sort(key), pl.concat(parts).sort(key),
                       check_exact=False, rel_tol=1e-9)  # fmt: skip


def test_the_mirror_in_stages_is_the_mirror_in_one_plan(store):
    # collect_mirror executes the pairs, the ratios, the pairs with their
    # ratios and the weights one after another, and hands the joined pairs on.
    key = ["exporter", "importer", "hs", "period"]
    context, with_ratio = collect_context(store)
    assert "cif_fob" in with_ratio.collect_schema().names()
    for name, frame in mirror_context(store).items():
        assert_frame_equal(frame.collect(), context[name].collect(), check_row_order=False)
    assert_frame_equal(mirror(store).collect().sort(key), collect_mirror(store).sort(key),
                       check_exact=False, rel_tol=1e-12)  # fmt: skip
    # Some chapters: the whole mirror's rows of those chapters.
    some = sorted(store.select(pl.col("hs").str.slice(0, 2).unique()).collect().to_series())[:2]
    whole = collect_mirror(store).filter(pl.col("hs").str.slice(0, 2).is_in(some))
    assert whole.height > 0
    assert_frame_equal(whole.sort(key), collect_mirror(store, chapters=some).sort(key),
                       check_exact=False, rel_tol=1e-12)  # fmt: skip


@pytest.mark.parametrize(("budget", "groups"), [(1, 12), (2000, 9), (5000, 3)])
def test_chapter_by_chapter_gives_the_whole_runs_flags(store, whole, monkeypatch, budget, groups):
    # The small world's 9 chapters hold 899 to 3,950 pairs each. Up to 5000
    # pairs a group: whole chapters ([20, 27, 29, 38, 56], [68, 84], [85, 97]).
    # Up to 2000 or 1, a chapter of more is split into its headings (84 and
    # 85; over a budget of one pair, every chapter), which then need the
    # whole chapter's reach and control products (84 and 85 hold controlled
    # products of several headings).
    monkeypatch.setattr(_partition, "BATCH_PAIRS", budget)
    seen = []

    def counted(lf, chapters, *args, **kwargs):
        seen.append(chapters)
        return chapter_indicators(lf, chapters, *args, **kwargs)

    monkeypatch.setattr(_partition, "chapter_indicators", counted)
    assert whole["flagged"].sum() > 0
    _same(whole, detect_routes(store, partition=True, detector=detector()))
    assert len(seen) == groups
    # Every code of the data in one group, those whose routes are all immaterial too.
    codes = collect_mirror(store).select(pl.col("hs").unique())
    held = codes.select(pl.sum_horizontal(in_chapters(keys) for keys in seen))["hs"]
    assert held.to_list() == [1] * codes.height
    assert set(whole["hs"].str.slice(0, 2)) < set(codes["hs"].str.slice(0, 2))
    split = {k[:2] for keys in seen for k in keys if len(k) == 4}
    assert ({"84", "85"} <= split) == (budget < 3020)


def test_each_group_is_mirrored_and_its_series_built_once(store, whole, monkeypatch, tmp_path):
    # The first pass (the null's counts) keeps each group's series, on disk,
    # for the second (the indicators): neither is built twice, and nothing
    # is left in the temporary folder.
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    monkeypatch.setattr(_partition, "BATCH_PAIRS", 2000)  # nine groups (84, 85 by heading)
    built, mirrored = [], []
    for name, seen in (("route_series", built), ("_mirrored", mirrored)):
        real = getattr(_partition, name)

        def counted(*args, real=real, seen=seen, **kwargs):
            seen.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(_partition, name, counted)
    spilled = []
    real_spill = _partition.Spool._spill

    def spill(self, stage, df):
        spilled.append(self.where)
        return real_spill(self, stage, df)

    monkeypatch.setattr(_partition.Spool, "_spill", spill)
    # The second pass reads the legs and routes whole and leaves the changes
    # (read once, by their evidence) in their files: never held beside the
    # route-months.
    read_back = []
    real_pop = _partition._KeptSeries.pop

    def pop(self, key):
        series = real_pop(self, key)
        read_back.append({n: "SCAN" in getattr(series, n).explain() for n in ("legs", "changes")})
        return series

    monkeypatch.setattr(_partition._KeptSeries, "pop", pop)
    _same(whole, detect_routes(store, partition=True, detector=detector()))
    assert len(built) == len(mirrored) == 9
    assert spilled and set(spilled) == {tmp_path}
    assert list(tmp_path.iterdir()) == []
    assert read_back == [{"legs": False, "changes": True}] * 9


def test_chapter_by_chapter_with_an_hs_filter_gives_the_whole_runs_flags(store, whole):
    # Only the pairs the filter selects are mirrored (from those in memory).
    heading = whole.filter(pl.col("flagged"))["hs"].sort()[0]
    filtered = detect_routes(store, hs=[heading], detector=detector())
    assert filtered["flagged"].sum() > 0
    assert filtered["hs"].str.starts_with(heading).all()
    _same(filtered, detect_routes(store, hs=[heading], partition=True, detector=detector()))


def test_a_dask_cluster_of_worker_processes_gives_the_same_flags(store, whole, monkeypatch):
    # Nine groups: three of two chapters, and chapters 84 and 85 by heading (a
    # worker reads its group's codes; the whole chapters' control comes back
    # from the first pass).
    monkeypatch.setattr(_partition, "BATCH_PAIRS", 2000)

    with _two_workers() as client:
        flags = detect_routes(store, cluster=client, detector=detector())
    _same(whole, flags)


@contextlib.contextmanager
def _two_workers():
    """A Client of a local cluster of two worker processes, both started.

    Its HTTP server on a free port: two of these at once (two test workers)
    both took 8787, and the second failed to start ("Port 8787 is already in use").
    """
    import distributed

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        # Counted before the run: under load a worker can miss a heartbeat
        # afterwards and drop out of scheduler_info (seen once in CI).
        client.wait_for_workers(2, timeout=120)
        assert len(client.scheduler_info()["workers"]) == 2
        yield client


def test_a_store_read_by_url_gives_the_same_rows(store_dir):
    """Object storage goes through fsspec (audit.json) and polars (parquet): here file://."""
    by_url = scan_store(store_dir.as_uri()).collect().sort(pl.all())
    assert by_url.height > 1000
    assert by_url.equals(scan_store(store_dir).collect().sort(pl.all()))
    _same(detect_routes([store_dir.as_uri()]), detect_routes([store_dir]))


def test_the_store_is_sorted_by_chapter_so_a_chapter_skips_the_others_row_groups(
    store_dir, tmp_path, monkeypatch
):
    import pyarrow.parquet as pq

    from tradeflows import _chunked
    from tradeflows._expr import in_chapters
    from tradeflows._store import ingest

    # Row groups of 200 rows: the small world's files then hold several each.
    monkeypatch.setattr(_chunked, "_ROW_GROUP_ROWS", 200)
    out = tmp_path / "store"
    ingest([store_dir.parent / "comtrade"], out)
    rows = scan_store(out).collect()
    assert rows.height == scan_store(store_dir).collect().height
    skipped = total = 0
    for path in sorted(out.rglob("*.parquet")):
        chapters = pl.read_parquet(path)["hs"].str.slice(0, 2).cast(pl.UInt8).to_list()
        assert chapters == sorted(chapters), path
        meta = pq.ParquetFile(path).metadata
        hs = [meta.schema.column(i).name for i in range(meta.num_columns)].index("hs")
        groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
        # About 200 rows each: polars 1.35 folds a short last group into its neighbours.
        assert all(g.num_rows < 2 * 200 for g in groups)
        # Row groups whose codes cannot hold chapter 84: a reader skips them.
        stats = [g.column(hs).statistics for g in groups]
        skipped += sum(s.max < "84" or s.min >= "85" for s in stats)
        total += len(groups)
    assert total > 2 * len(list(out.rglob("*.parquet")))
    assert skipped > total // 2
    # The chapter filter gives the rows of the exact test, no more, no fewer.
    exact = rows.filter(pl.col("hs").str.starts_with("84"))
    assert exact.height > 0
    assert_frame_equal(
        scan_store(out).filter(in_chapters(["84"])).collect().sort(pl.all()),
        exact.sort(pl.all()),
    )


def test_a_run_over_its_memory_budget_goes_chapter_by_chapter_to_the_same_flags(store, whole):
    """The route-months are counted before they are built; over the budget, the run
    takes the partitioned path and says so, with the whole run's flags."""
    import logging

    from tradeflows._errors import TradeflowsInputError
    from tradeflows._log import logger
    from tradeflows._query import Query
    from tradeflows.detect._budget import (
        pairs_estimate,
        route_months_estimate,
        too_many_rows,
        whole_run_bytes,
    )

    pairs = collect_mirror(store)
    n = route_months_estimate(pairs, Query())
    assert n >= whole.height > 0  # every route-month scored was counted
    rows, paired = pairs_estimate(store)
    assert 0.85 * pairs.height <= paired <= pairs.height <= rows  # a floor of the pairs
    # The rows fit the budget; the whole run does not.
    tight_budget = whole_run_bytes(pairs.height, n // 2)
    assert not too_many_rows(store, tight_budget)
    assert tight_budget < whole_run_bytes(pairs.height, n)
    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())
    seen = []
    original = _partition.indicators
    logger.addHandler(handler)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(
                _partition, "indicators", lambda *a, **k: seen.append(1) or original(*a, **k)
            )
            tight = detect_routes(store, detector=detector(), memory=tight_budget)
            assert seen and any("HS chapters in groups" in m and "route-months" in m for m in said)
            _same(whole, tight)
            seen.clear()
            detect_routes(store, detector=detector(), memory="64GiB")
            assert seen == []  # within the budget: the whole run, not the chapters
    finally:
        logger.removeHandler(handler)
    with pytest.raises(TradeflowsInputError, match="memory 'lots'"):
        detect_routes(store, memory="lots")


@pytest.fixture(scope="module")
def wide_store(tmp_path_factory):
    """A wide world in small: 60 products traded densely among 30 countries, so that
    most hubs export most products to a destination of concern (the shape of the
    wide benchmark world, benchmarks/bench_scale.py --wide)."""
    out = small_world(tmp_path_factory.mktemp("wideworld"), seed=3, store=True, preset=None,
                      n_others=10, n_products=60, pairs_per_product=200, episodes=6,
                      lookalikes=4)  # fmt: skip
    return out / "store"


def test_a_dask_cluster_over_a_wide_world_gives_the_whole_runs_corridors(wide_store, monkeypatch):
    from tradeflows import corridors

    exact = detect_routes([wide_store])
    # Wide: many more corridors than products, most of them read from a few rows.
    assert corridors(exact).height > 2000 and exact["hs"].n_unique() >= 50
    # The null read from one in several of the immaterial routes' series, as on
    # large data: the cluster's groups must sample the series the whole run does.
    monkeypatch.setattr(series, "NULL_SAMPLE_ROUTES", 500)
    whole_flags = detect_routes([wide_store])
    assert not whole_flags.equals(exact)
    ranked = corridors(whole_flags)
    monkeypatch.setattr(_partition, "BATCH_PAIRS", 20_000)  # several groups of chapters
    with _two_workers() as client:
        on_cluster = detect_routes([wide_store], cluster=client)
    _same(whole_flags, on_cluster)
    assert corridors(on_cluster).equals(ranked)
    assert ranked["flagged"].any()


def test_too_many_rows_to_pair_at_once_reads_the_context_chapter_by_chapter(store, whole):
    """Over the budget by its rows alone, a run never pairs all the rows at once: the
    context (the ratios, the weights, who filed) is read group by group of chapters,
    each group pairs its own chapters again, and the flags are the whole run's."""
    import logging

    from tradeflows._log import logger
    from tradeflows.detect import _flags
    from tradeflows.detect._budget import pairs_estimate, whole_run_bytes

    rows, paired = pairs_estimate(store)
    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())
    logger.addHandler(handler)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(
                "tradeflows._mirror.CONTEXT_ROWS", rows // 5
            )  # several groups for the context
            for name in ("collect_context", "mirror_rows"):  # the whole pairing: not called
                mp.setattr(_flags, name, lambda *a, **k: pytest.fail("paired all rows at once"))
            tight = detect_routes(store, detector=detector(), memory=whole_run_bytes(paired, 0) - 1)
    finally:
        logger.removeHandler(handler)
    assert any(f"pairing the {rows:,} rows at once" in m for m in said)
    _same(whole, tight)


def test_the_context_by_chapter_is_the_context_of_the_whole(store):
    from tradeflows._mirror import KEPT_COLUMNS, collect_context_by_chapter

    chapters = sorted(store.select(pl.col("hs").str.slice(0, 2).unique()).collect().to_series())
    groups = [chapters[:2], chapters[2:3], chapters[3:]]
    keep = pl.col("hs").str.starts_with("85")
    context, kept = collect_context_by_chapter(store, groups, keep=keep)
    whole, with_ratio = collect_context(store)
    for name, frame in whole.items():
        assert_frame_equal(frame.collect(), context[name], check_row_order=False)
    expected = with_ratio.filter(keep).select(*KEPT_COLUMNS, "cif_fob").collect()
    assert expected.height > 0
    assert_frame_equal(expected, kept, check_row_order=False)


def test_routes_built_in_parts_give_the_indicators_of_one_plan(store, monkeypatch):
    """A group's route-months are built a set of (destination, origin) pairs at a time
    past ``ROUTE_MONTHS_PER_PLAN``: the same indicators, the policy control by the
    origin's other hubs included (it reads routes to one destination through other hubs)."""
    from tradeflows import _routes

    pairs = collect_mirror(store).lazy()
    whole = _routes.collect_route_indicators(pairs)
    routes = whole.select(_routes.ROUTE_KEY).unique().height
    # Some routes share an origin and a destination through other hubs.
    assert whole.group_by("origin", "destination").agg(pl.col("hub").n_unique() > 1)["hub"].any()
    built: list[int] = []
    original = _routes.route_months

    def counted(part, *args, **kwargs):
        built.append(part.select(pl.len()).collect().item())
        return original(part, *args, **kwargs)

    monkeypatch.setattr(_routes, "route_months", counted)
    n_months = whole["period"].n_unique()
    monkeypatch.setattr(_routes, "ROUTE_MONTHS_PER_PLAN", routes * n_months // 5)
    in_parts = _routes.collect_route_indicators(pairs)
    assert len(built) >= 5 and sum(built) >= routes
    key = [*_routes.ROUTE_KEY, "period"]
    assert whole["policy_did"].is_not_null().sum() > 0
    assert_frame_equal(whole.sort(key), in_parts.sort(key))


def test_the_evidence_computed_in_parts_of_whole_series_gives_the_indicators_of_one_plan(
    store, monkeypatch
):
    """Past ``SERIES_MONTHS_PER_PLAN`` series-months, the series' evidence is computed
    in parts of whole series: the same indicators."""
    from tradeflows import _routes

    pairs = collect_mirror(store).lazy()
    whole = _routes.collect_route_indicators(pairs)
    parts: list[int] = []
    original = _routes.series_evidence

    def counted(changes, null):
        parts.append(changes.select(pl.col("_sid").n_unique()).collect().item())
        return original(changes, null)

    monkeypatch.setattr(_routes, "series_evidence", counted)
    monkeypatch.setattr(_routes, "SERIES_MONTHS_PER_PLAN", 5_000)
    in_parts = _routes.collect_route_indicators(pairs)
    assert len(parts) >= 4
    key = [*_routes.ROUTE_KEY, "period"]
    assert_frame_equal(whole.sort(key), in_parts.sort(key))


@pytest.mark.parametrize("ordered", [True, False])
def test_the_series_parts_are_ranges_of_numbers_sliced_where_the_rows_are_in_order(ordered):
    """The evidence's parts hold ``step`` consecutive series numbers, whole: sliced
    where the rows are in order of number, filtered where they are not (numbers
    as ``with_row_index`` gives them, unsigned)."""
    from tradeflows._routes import _sid_ranges

    months = 4
    changes = pl.DataFrame(
        {"_sid": [s for s in range(10) for _ in range(months)]}, schema={"_sid": pl.UInt32}
    )
    changes = changes.with_columns(mi=pl.int_range(pl.len()) % months)
    if not ordered:
        changes = changes.sample(fraction=1.0, shuffle=True, seed=3)
    parts = [p.collect() for p in _sid_ranges(changes.lazy(), 3, 9, "cpu")]
    assert [sorted(p["_sid"].unique().to_list()) for p in parts] == [
        [0, 1, 2], [3, 4, 5], [6, 7, 8], [9]
    ]  # fmt: skip
    assert [p.height for p in parts] == [12, 12, 12, 4]
    assert pl.concat(parts).sort("_sid", "mi").equals(changes.sort("_sid", "mi"))


def test_the_routes_kept_whole_are_capped_to_the_nearest_the_same_in_groups(
    store, whole, monkeypatch
):
    """Of the routes not flagged, only the ``NEAR_ROUTES`` nearest the line keep every
    month (the highest pooled evidence), group by group as in one run; the others
    keep their peak month and data-quality events, and the corridors are those of
    every route-month."""
    from tradeflows import corridors
    from tradeflows.detect import _flags

    monkeypatch.setattr(_flags, "NEAR_ROUTES", 3)
    capped = detect_routes(store, detector=detector())
    monkeypatch.setattr(_partition, "BATCH_PAIRS", 2000)  # nine groups
    _same(capped, detect_routes(store, partition=True, detector=detector()))
    every = detect_routes(store, detector=detector(), keep="all")
    assert corridors(capped).equals(corridors(every))
    per_route = capped.group_by(_flags.ROUTE_KEY).agg(
        n=pl.len(),
        scored=pl.col("months_scored").first(),
        flagged=pl.col("flagged").any(),
        evidence=pl.col("evidence").first(),
    )
    full = per_route.filter((pl.col("n") == pl.col("scored")) & (pl.col("scored") > 2))
    assert full.filter(~pl.col("flagged")).height == 3
    # Those three are the unflagged routes of highest evidence.
    top = per_route.filter(~pl.col("flagged")).sort("evidence", descending=True).head(3)
    assert set(top.select(_flags.ROUTE_KEY).rows()) == set(
        full.filter(~pl.col("flagged")).select(_flags.ROUTE_KEY).rows()
    )
    # Uncapped, more routes keep every month.
    uncapped = whole.group_by(_flags.ROUTE_KEY).agg(
        n=pl.len(), scored=pl.col("months_scored").first(), flagged=pl.col("flagged").any()
    )
    assert uncapped.filter((pl.col("n") == pl.col("scored")) & ~pl.col("flagged")).height > 3


@pytest.mark.parametrize("partition", [True, False], ids=["one group", "one run"])
def test_each_part_of_the_routes_is_scored_as_it_is_built_to_the_same_flags(
    store, monkeypatch, partition
):
    """Routes built in parts (past ``ROUTE_MONTHS_PER_PLAN``) are scored and cut to
    what an analyst reads part by part, not once the parts are put together: in a
    group of chapters, and in a run within its budget (not split by chapter). The
    flags, the routes kept whole and the corridors of one part."""
    from tradeflows import _routes, corridors
    from tradeflows.detect import _flags

    monkeypatch.setattr(_flags, "NEAR_ROUTES", 3)
    one_part = detect_routes(store, detector=detector())
    scored: list[int] = []
    original = _flags._scored

    def counted(ind, *args, **kwargs):
        scored.append(ind.select(_routes.ROUTE_KEY).unique().height)
        return original(ind, *args, **kwargs)

    monkeypatch.setattr(_flags, "_scored", counted)
    monkeypatch.setattr(_partition, "BATCH_PAIRS", 10**9)  # one group of every chapter
    monkeypatch.setattr(_routes, "ROUTE_MONTHS_PER_PLAN", 1_000)
    in_parts = detect_routes(store, partition=partition, detector=detector())
    routes = one_part.select(_routes.ROUTE_KEY).unique().height
    # Several parts, each scored apart, every route once.
    assert len(scored) >= 4 and max(scored) < routes
    assert sum(scored) >= routes
    _same(one_part, in_parts)
    assert corridors(one_part).equals(corridors(in_parts))


def test_series_computed_in_parts_give_the_changes_of_one_plan(store, monkeypatch):
    """Past ``SERIES_MONTHS_PER_PLAN`` the series' changes are computed a run of whole
    series at a time, with the whole's numbers: the same frame, row for row."""
    from tradeflows import _routes

    pairs = collect_mirror(store).lazy()
    whole = _routes.route_series(pairs)
    n_series = whole.changes.select(pl.col("_sid").n_unique()).collect().item()
    n_months = whole.cal.select(pl.len()).collect().item()
    calls: list[int] = []
    original = _routes.series_changes

    def counted(*args, numbered=None, **kwargs):
        calls.append(numbered.select(pl.len()).collect().item())
        return original(*args, numbered=numbered, **kwargs)

    monkeypatch.setattr(_routes, "series_changes", counted)
    monkeypatch.setattr(_routes, "SERIES_MONTHS_PER_PLAN", n_series * n_months // 4)
    in_parts = _routes.route_series(pairs)
    assert len(calls) >= 4 and sum(calls) == n_series
    assert_frame_equal(whole.changes.collect(), in_parts.changes.collect())


def test_the_null_counted_in_parts_of_the_rows_is_the_null_of_one_plan(store, monkeypatch):
    """Past ``SERIES_MONTHS_PER_PLAN`` series-months the null's counts are taken a slice
    of the rows at a time and added up: the same counts as one plan."""
    from tradeflows import _routes

    series = _routes.route_series(collect_mirror(store).lazy())
    key = ["window", "which", "kind", "cls", "bin"]
    whole = _routes.series_null_counts(series).sort(key)
    n = series.changes.select(pl.len()).collect().item()
    calls: list[int] = []
    original = _routes.null_counts

    def counted(changes):
        calls.append(changes.select(pl.len()).collect().item())
        return original(changes)

    monkeypatch.setattr(_routes, "null_counts", counted)
    monkeypatch.setattr(_routes, "SERIES_MONTHS_PER_PLAN", n // 4)
    in_parts = _routes.series_null_counts(series).sort(key)
    assert len(calls) >= 4 and sum(calls) == n
    assert_frame_equal(whole, in_parts.select(whole.columns))


def test_the_context_handed_to_the_groups_is_taken_from_the_caller(store):
    # The budget check pairs the store and hands its context to the groups,
    # which let the paired rows go after the first pass: the caller's list is
    # emptied (a reference held by the caller kept 0.31 GiB through a run of
    # an 11M-row store), and the indicators are those of a run that reads
    # the context itself.
    from tradeflows._query import Query

    query = Query(destinations=["CHN", "RUS", "IRN"])
    handed = [collect_context(store)]
    given = _partition.indicators(store, query, context=handed)
    assert handed == []
    own = _partition.indicators(store, query)
    assert given.height > 1000
    _same(own, given)


def test_a_groups_changes_in_parts_go_to_the_spool_as_they_are_computed(store, whole, monkeypatch):
    # The first pass hands each part of a group's changes to the spool as it
    # is computed, not once they are all put together in memory (the peak of
    # an 11M-row store in one HS chapter): the parts are the spool's, never
    # collected whole, and the flags are the whole run's.
    from tradeflows import _routes

    monkeypatch.setattr(_routes, "SERIES_MONTHS_PER_PLAN", 5_000)
    spooled: dict[int, int] = {}
    original_add = _partition._KeptSeries.add

    def add(self, key, series):
        original_add(self, key, series)
        spooled[key] = len(self.spool.parts.get(("changes", key), []))

    monkeypatch.setattr(_partition._KeptSeries, "add", add)
    _same(whole, detect_routes(store, partition=True, detector=detector()))
    assert spooled and max(spooled.values()) >= 3  # one file a part, not one a group


def test_route_months_put_in_words_in_parts_are_the_same_table(store, monkeypatch):
    """The reasons and names are written ``WORDS_ROWS`` route-months at a time, after
    the rows are put in their order: the same table, row for row, as at once."""
    from tradeflows._routes import ROUTE_KEY
    from tradeflows.detect import _flags

    at_once = detect_routes(store, detector=detector())
    monkeypatch.setattr(_flags, "WORDS_ROWS", 7)
    in_parts = detect_routes(store, detector=detector())
    assert at_once.height > 3 * 7 and at_once["reasons"].is_not_null().all()
    assert_frame_equal(in_parts, at_once)
    # Most suspicious first; of equal scores, a named origin before all origins.
    by = ["score", "_unnamed", *ROUTE_KEY, "period"]
    ordered = (
        in_parts.with_columns(_unnamed=pl.col("origin") == "")
        .sort(by, descending=[True] + [False] * 6)
        .drop("_unnamed")
    )
    assert_frame_equal(in_parts, ordered)
