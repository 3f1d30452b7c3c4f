"""The chunked ingest: a store cleaned a few periods at a time, in bounded memory.

:func:`tradeflows.ingest` reads each file on its own, then cleans all the
rows, old and new, a chunk of periods at a time (:func:`clean_chunk`: the
verbs that compare rows of one period, :func:`tradeflows.clean.clean_within_periods`),
counts each chunk for the audit (:func:`account`), sorts its kept rows, and
keeps each chunk's live rows aside, as 64-bit series hashes, for the one pass
over all chunks that finds unit slips (:func:`flag_slips`). Parsed rows wait
in a :class:`Spool`, in memory up to a budget, then on disk. A chunk's kept
rows wait there too, while they fit the budget, and are written once the
slips are known (:meth:`ChunkWriter.write_held`); beyond it they are written
at once, and a file where a slip is found later is written again.
"""

from __future__ import annotations

import bisect
import itertools
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import polars as pl

from tradeflows import _engine
from tradeflows._clean import (
    INPUT_ERRORS,
    clean_within_periods,
    ensure_aux,
    first_input_error,
    idle_verbs,
    slip_candidates,
    slip_keys,
    to_revision,
    unit_slip_rows,
)
from tradeflows._errors import TradeflowsInputError
from tradeflows._schema import CANONICAL

__all__ = [
    "ChunkWriter",
    "Run",
    "Spool",
    "account",
    "chunks_of",
    "clean_chunk",
    "consecutive_groups",
    "flag_slips",
    "nothing_kept",
    "period_in",
    "refuse_bad_input",
    "reporter_pieces",
    "values_in",
]

#: The store's files are sorted by HS chapter (a stable sort on its number,
#: cheaper than on the code) and written in row groups of this many rows, each
#: holding a few chapters: a chapter's scan skips the other chapters' row
#: groups (benchmarks/RESULTS.md, design measurements).
_CHAPTER = pl.col("hs").str.slice(0, 2).cast(pl.UInt8, strict=False)
_ROW_GROUP_ROWS = 65_536

#: A chunk's kept rows are sorted by year, then chapter (TOTAL first), so
#: that each year's rows are one slice: one integer key, twice as fast as a
#: sort on the two columns (benchmarks/RESULTS.md, design measurements).
_YEAR_CHAPTER = pl.col("period").dt.year().cast(pl.UInt32) * 256 + _CHAPTER.fill_null(0)


#: Of a text column, the strings of one row in this many are measured by
#: :func:`frame_bytes`. Measuring them all (``estimated_size``) goes over every
#: string: 0.3 s of a 13 s ingest of the wide 10M-row world (benchmarks/RESULTS.md,
#: issue 27).
_MEASURE_ONE_IN = 50


def frame_bytes(df: pl.DataFrame) -> int:
    """About the memory ``df`` holds: each text column's 16-byte views and its strings
    too long to sit in them, the other columns' ``estimated_size``.

    polars keeps a text column as 16-byte views, a string of up to 12 bytes
    inside its view: ``estimated_size`` counts the strings' bytes instead, a
    fifth of what a column of country codes holds. The strings of one row in
    :data:`_MEASURE_ONE_IN` (spread over the column) stand for the rest.

    Examples
    --------
    >>> df = pl.DataFrame({"reporter": ["MYS"] * 1000, "value_usd": [1.0] * 1000,
    ...                    "source": ["comtrade_2022.csv"] * 1000})
    >>> df.estimated_size(), frame_bytes(df)
    (28000, 57000)
    """
    size = 0
    for column in df.iter_columns():
        if column.dtype != pl.String:
            size += column.estimated_size()
            continue
        some = column.gather_every(_MEASURE_ONE_IN).str.len_bytes()
        long = some.filter(some > 12).sum() or 0
        size += 16 * column.len() + long * column.len() // max(some.len(), 1)
    return size


class _Part(NamedTuple):
    order: int  # when it was added: parts come back in this order (file order)
    frame: pl.LazyFrame | None  # None: this key's share of a whole frame (Spool.whole)
    size: int  # bytes held in memory
    rows: int


class Spool:
    """Frames by stage and key: in memory up to ``budget`` bytes, beyond it in parquet files.

    The budget is counted by :func:`frame_bytes`; by default it is a quarter of
    the machine's memory (:func:`tradeflows._engine.memory_budget`, ``ingest
    --memory``). Until 2026-12-05 it was a sixteenth, counted by
    ``estimated_size``, which leaves out the views of text columns: it held
    about four times that (benchmarks/RESULTS.md, issue 27). ``spilled``
    counts the rows written to disk, by stage.

    The files go to a temporary folder in ``where`` (beside the store), made
    on the first spill and removed by :meth:`close`. A file's rows added by
    period and kept in memory whole stay one frame, filtered to the periods
    asked for.
    """

    def __init__(self, where: Path, budget: int) -> None:
        self.where, self.budget, self.used, self.added = where, budget, 0, 0
        self.spilled: Counter = Counter()  # stage -> rows written to disk
        self.folder: Path | None = None
        self.parts: dict[tuple[str, object], list[_Part]] = {}
        # order added -> (whole frame, keys of it not yet popped)
        self.whole: dict[int, tuple[pl.LazyFrame, set]] = {}

    def _put(self, stage: str, key: object, part: _Part) -> None:
        self.parts.setdefault((stage, key), []).append(part)

    def _spill(self, stage: str, df: pl.DataFrame) -> pl.LazyFrame:
        """Write ``df`` (of ``stage``) to a new file of the spool folder and scan it."""
        self.spilled[stage] += df.height
        if self.folder is None:
            self.where.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=".spool-", dir=self.where))
        path = self.folder / f"{uuid.uuid4().hex}.parquet"
        df.write_parquet(path, compression="lz4", statistics=False)
        return pl.scan_parquet(path, glob=False)

    def _fits(self, size: int) -> bool:
        """Whether ``size`` more bytes fit the budget; if so they are counted."""
        if self.used + size > self.budget:
            return False
        self.used += size
        return True

    def reserve(self, size: int) -> bool:
        """Count ``size`` bytes against the budget if they fit, for a frame :meth:`hold` adds
        later (one being made in a thread); whether they fit."""
        return self._fits(size)

    def hold(self, stage: str, key: object, df: pl.DataFrame, size: int) -> None:
        """Keep ``df`` in memory under ``key``, its ``size`` bytes counted by :meth:`reserve`."""
        self.added += 1
        self._put(stage, key, _Part(self.added, df.lazy(), size, df.height))

    def add(self, stage: str, key: object, df: pl.DataFrame) -> pl.LazyFrame:
        """One part under one key; returns what it is read back from (its file, or itself)."""
        size, self.added = frame_bytes(df), self.added + 1
        if self._fits(size):
            part = _Part(self.added, df.lazy(), size, df.height)
        else:
            part = _Part(self.added, self._spill(stage, df), 0, df.height)
        self._put(stage, key, part)
        return part.frame

    def add_periods(
        self, stage: str, df: pl.DataFrame, split_above: int, counts: pl.DataFrame | None = None
    ) -> None:
        """A file's rows under each of their periods (``counts``: its periods and their
        rows, ``period`` and ``len`` in the order met, when the caller has them).

        Kept in memory whole if it has no more than ``split_above`` rows (a
        few chunks' worth on the CPU, a few chunks (``tradeflows._store``); one on the GPU
        engine, see :func:`ingest`), filtered when its periods are asked for:
        one frame cleans faster than many small ones. A larger file in memory
        is split by period, so that its rows are freed chunk by chunk. Beyond
        the budget a file is spooled one period at a time.
        """
        size, self.added = frame_bytes(df), self.added + 1
        if counts is None:
            counts = df.group_by("period", maintain_order=True).len()
        heights = dict(zip(counts["period"], counts["len"], strict=True))
        if not self._fits(size):
            # One pass for all periods: twice as fast as a filter for each
            # (a 500k-row batch's 12 months, 0.03 s against 0.08 s).
            by_period = df.partition_by("period", as_dict=True, maintain_order=True)
            for (period,), part in by_period.items():
                self._put(
                    stage, period, _Part(self.added, self._spill(stage, part), 0, part.height)
                )
            return
        share = {period: size * n // max(df.height, 1) for period, n in heights.items()}
        if df.height <= split_above:
            self.whole[self.added] = (df.lazy(), set(heights))
            for period, n in heights.items():
                self._put(stage, period, _Part(self.added, None, share[period], n))
            return
        by_period = df.partition_by("period", as_dict=True, maintain_order=True)
        for (period,), part in by_period.items():
            self._put(stage, period, _Part(self.added, part.lazy(), share[period], part.height))

    def mark(self) -> int:
        """Where the frames added so far end: :meth:`rollback` forgets those added after."""
        return self.added

    def rollback(self, mark: int) -> None:
        """Forget the frames added after ``mark`` (a file read in batches that is then
        refused, or found to repeat another). Their spilled files stay until :meth:`close`."""
        for key, parts in list(self.parts.items()):
            kept = [p for p in parts if p.order <= mark]
            self.used -= sum(p.size for p in parts if p.order > mark)
            if kept:
                self.parts[key] = kept
            else:
                del self.parts[key]
        self.whole = {order: w for order, w in self.whole.items() if order <= mark}

    def rows(self, stage: str) -> dict[object, int]:
        return {k: sum(p.rows for p in v) for (s, k), v in self.parts.items() if s == stage}

    def frames(self, stage: str, keys: Iterable[object]) -> list[pl.LazyFrame]:
        """The parts of these keys in the order they were added (file order)."""
        found = sorted(
            ((p, k) for k in keys for p in self.parts.get((stage, k), [])),
            key=lambda pk: pk[0].order,
        )  # stable: keys in the order asked within a part
        out: list[pl.LazyFrame] = []
        for order, group in itertools.groupby(found, key=lambda pk: pk[0].order):
            group = list(group)
            if group[0][0].frame is None:  # shares of one whole frame
                out.append(self.whole[order][0].filter(period_in([k for _, k in group])))
            else:
                out += [p.frame for p, _ in group]
        return out

    def pop(self, stage: str, keys: Iterable[object]) -> list[pl.LazyFrame]:
        keys = list(keys)
        frames = self.frames(stage, keys)
        for k in keys:
            for part in self.parts.pop((stage, k), []):
                self.used -= part.size
                if part.frame is None:
                    self.whole[part.order][1].discard(k)
                    if not self.whole[part.order][1]:
                        del self.whole[part.order]
        return frames

    def close(self) -> None:
        self.parts.clear()
        self.whole.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def values_in(column: str, values: list) -> pl.Expr:
    """Rows whose ``column`` is one of ``values`` (None among them: the rows without one).

    Examples
    --------
    >>> df = pl.DataFrame({"reporter": ["DEU", None, "ITA"]})
    >>> df.filter(values_in("reporter", ["DEU", None]))["reporter"].to_list()
    ['DEU', None]
    """
    known = [v for v in values if v is not None]
    if len(known) == 1:  # a file spooled period by period: an equality is faster
        hit = pl.col(column) == known[0]
    else:
        hit = pl.col(column).is_in(known)
    if None not in values:
        return hit
    return pl.col(column).is_null() if not known else hit | pl.col(column).is_null()


def period_in(periods: list) -> pl.Expr:
    """Rows of these periods (``[None]``: the rows without a period)."""
    return values_in("period", periods)


def reporter_pieces(parts: list[pl.LazyFrame], rows: int, most: int) -> list[list[pl.LazyFrame]]:
    """A chunk's ``parts`` (``rows`` rows in all) as pieces of about ``most`` rows, by reporter.

    A chunk holds whole periods, and one period can hold many times ``most``
    rows (a Comext bulk file of a month, 4M-8M rows; of a year, more): its
    cleaning then held every row of it at once, 6 GiB at 8M rows. Every verb
    within periods compares rows of one reporter only (each groups by period
    and reporter, among others), so a chunk cleans the same piece by piece,
    each piece some reporters' rows (whole reporters, as many as fit in
    ``most``, the largest first; a reporter larger alone). A chunk of no more
    than twice ``most`` rows is one piece: ``parts`` as they are.

    Examples
    --------
    >>> lf = pl.LazyFrame({"reporter": ["DEU"] * 5 + ["FRA"] * 3 + ["ITA"] * 2})
    >>> [sorted(set(pl.concat(p).collect()["reporter"])) for p in reporter_pieces([lf], 10, 4)]
    [['DEU'], ['FRA'], ['ITA']]
    >>> len(reporter_pieces([lf], 10, 5))
    1

    Rows whose reporter is unknown (null) are a reporter of their own:

    >>> lf = pl.LazyFrame({"reporter": ["DEU"] * 5 + [None] * 3 + ["ITA"] * 2})
    >>> [pl.concat(p).collect()["reporter"].unique().to_list() for p in reporter_pieces([lf], 10, 4)]
    [['DEU'], [None], ['ITA']]
    """
    if rows <= 2 * most:
        return [parts]
    sizes = (
        pl.concat([p.select("reporter") for p in parts], how="vertical_relaxed")
        .group_by("reporter")
        .len()
        .sort("len", "reporter", descending=[True, False], nulls_last=True)
        .collect()
    )
    groups = consecutive_groups(sizes.iter_rows(), most)
    if len(groups) < 2:
        return [parts]
    return [[p.filter(values_in("reporter", g)) for p in parts] for g in groups]


def consecutive_groups(sizes: Iterable[tuple[object, int]], budget: int) -> list[list]:
    """Consecutive keys grouped while their sizes stay within ``budget``.

    The periods of an ingest's chunks and the HS chapters of a partitioned
    detection are grouped so. A key larger than ``budget`` stands alone.

    Parameters
    ----------
    sizes : iterable of (key, int)
        Each key and its size, in order.
    budget : int
        The largest total size of a group of more than one key.

    Returns
    -------
    list of list

    Examples
    --------
    >>> consecutive_groups([("01", 3), ("02", 4), ("03", 9), ("04", 1), ("05", 2)], budget=8)
    [['01', '02'], ['03'], ['04', '05']]
    """
    groups: list[list] = []
    held = 0
    for key, n in sizes:
        if not groups or held + n > budget:
            groups.append([])
            held = 0
        groups[-1].append(key)
        held += n
    return groups


def chunks_of(rows: dict[object, int], most: int) -> list[list]:
    """Consecutive periods in groups of about ``most`` rows (rows without a period last, alone)."""
    periods = sorted(k for k in rows if k is not None)
    chunks = consecutive_groups(((p, rows[p]) for p in periods), most)
    return chunks + ([[None]] if None in rows else [])


@dataclass
class Run:
    """What one ingest gathers chunk after chunk, for its audit and its commit."""

    counts: dict  # new file -> rows read, dropped and changed by reason (none read: absent)
    superseded: Counter  # source of a stored row -> rows a newer report replaced
    bad: list = field(default_factory=list)  # rows with input errors (not lenient)
    starts: list = field(default_factory=list)  # each chunk's first _gid
    written: list = field(default_factory=list)  # (chunk, year, file, rows)
    offset: int = 0


def clean_chunk(
    parts: list[pl.LazyFrame],
    revision: str | None,
    chunk_engine: str,
    *,
    offset: int,
    idle: dict[str, bool] | None = None,
) -> pl.DataFrame:
    """One chunk of periods cleaned by the verbs within periods, its rows numbered from ``offset``.

    The verbs with nothing to do on this chunk (most files have no DX flows,
    no breakdowns, no parent codes) are left out of its plan: those ``idle``
    names (:func:`tradeflows._clean.idle_verbs` of the chunk's rows, or of
    more rows), else those the chunk's rows show.
    """
    combined = pl.concat([ensure_aux(p) for p in parts], how="diagonal_relaxed")
    if idle is None:
        idle = _engine.collect(idle_verbs(combined), "cpu").row(0, named=True)
    plan = clean_within_periods(combined, skip=[verb for verb, yes in idle.items() if yes])
    plan = plan.with_columns(slip_keys())
    if revision is not None:
        plan = to_revision(plan, revision)
    return _engine.collect(plan, chunk_engine).with_row_index("_gid", offset)


class ChunkWriter:
    """Each chunk's kept rows sorted in a thread while the next chunk is cleaned, then
    held until the slips are known, or written.

    A chunk's kept rows are held in the spool's memory while they fit its
    budget, and written once, with their slips, by :meth:`write_held`
    (:func:`flag_slips`). Beyond the budget they are written in the thread
    at once; the few files where a slip is found are then written again
    (:meth:`mark_written`). Writing the files a second time cost 1.37 s of
    12.8 s on the wide 10M-row world, whose 93 slips lie in all 12 files
    (benchmarks/RESULTS.md, issue 27).

    One chunk is in the thread at a time (one chunk more in memory). The
    spool and the run are only touched in the calling thread: :meth:`finish`
    waits for the chunk in flight, then holds its rows, or records its files
    (``run.written``) and their row ids (the spool's ``gids``). :meth:`close`
    waits for it whatever happened, so that nothing is written into a folder
    being removed.
    """

    def __init__(self, folder: Path, run: Run, spool: Spool) -> None:
        self.folder, self.run, self.spool = folder, run, spool
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tradeflows-write")
        self._pending: tuple[int, int | None, Future] | None = None
        self._held: list[int] = []

    def write(self, df: pl.DataFrame, c: int) -> None:
        """Start sorting chunk ``c``'s kept rows, to hold or write them (after the chunk
        before it is done)."""
        self.finish()
        # Measured on every column the kept rows keep: an upper bound (the
        # dropped rows are counted too), known before they are sorted.
        size = frame_bytes(df.select(*CANONICAL, "_gid"))
        if self.spool.reserve(size):
            self._pending = (c, size, self._pool.submit(_kept_sorted, df))
        else:
            self._pending = (c, None, self._pool.submit(_write_chunk, df, self.folder, c))

    def finish(self) -> None:
        """Wait for the chunk in flight (its error raised here); hold its rows or record its
        files."""
        if self._pending is None:
            return
        c, size, future = self._pending
        self._pending = None
        if size is not None:
            self.spool.hold("kept", c, future.result(), size)
            self._held.append(c)
            return
        self._record(c, future.result())

    def _record(self, c: int, files: list[tuple[int, Path, pl.DataFrame]]) -> None:
        for year, path, ids in files:
            self.spool.add("gids", path, ids)
            self.run.written.append((c, year, path, ids.height))

    def mark_written(self, flagged: pl.Series) -> None:
        """Set ``slip_suspect`` on the ``flagged`` rows (by _gid) in the files already written.

        Only the files of the chunks that hold a flagged row are read and
        written again.
        """
        gids = flagged.to_list()
        chunks = {bisect.bisect_right(self.run.starts, gid) - 1 for gid in gids}
        for c, _, path, _ in self.run.written:
            if c not in chunks:
                continue
            (ids,) = self.spool.frames("gids", [path])
            hit = ids.select(pl.col("_gid").is_in(gids)).collect().to_series()
            if hit.any():
                df = pl.read_parquet(path, glob=False)
                _write_part(df.with_columns(slip_suspect=pl.col("slip_suspect") | hit), path)

    def write_held(self, flagged: pl.Series) -> None:
        """Write the chunks held in memory, the ``flagged`` rows (by _gid) marked as slips."""
        for c in self._held:
            (kept,) = self.spool.pop("kept", [c])
            start = self.run.starts[c]
            end = self.run.starts[c + 1] if c + 1 < len(self.run.starts) else self.run.offset
            mine = flagged.filter(flagged.is_between(start, end, closed="left"))
            if mine.len():
                kept = kept.with_columns(
                    slip_suspect=pl.col("slip_suspect") | pl.col("_gid").is_in(mine.implode())
                )
            for year, path, rows in _write_files(kept.collect(), self.folder, c):
                self.run.written.append((c, year, path, rows.height))
        self._held.clear()

    def close(self) -> None:
        """Wait for the chunk in flight, if any (its error is not raised), and stop the thread."""
        if self._pending is not None:
            wait([self._pending[2]])
            self._pending = None
        self._pool.shutdown(wait=True)


def account(df: pl.DataFrame, c: int, run: Run, spool: Spool, writer: ChunkWriter,
            lenient: bool) -> None:  # fmt: skip
    """Count chunk ``c``, keep its slip candidates and input errors aside, and hand its kept
    rows to the ``writer`` (sorted in its thread, then held or written)."""
    run.starts.append(run.offset)
    run.offset += df.height
    if not lenient:
        run.bad.append(df.filter(pl.col("drop").is_in(list(INPUT_ERRORS))))
    # Columns chosen before rows: an eager filter copies every column it keeps.
    spool.add("slips", c, df.lazy().filter(slip_candidates()).select(*_SLIP_COLUMNS).collect())
    df = df.with_columns(pl.col("slip_suspect").fill_null(False))
    _count(df, run.counts)
    gone = df.lazy().filter((pl.col("_file") == -1) & pl.col("drop").is_not_null())
    run.superseded.update(dict(gone.group_by("source").len().collect().iter_rows()))
    writer.write(df, c)


def refuse_bad_input(entries: list[dict], run: Run) -> None:
    """A new file with no data rows, or (not lenient) a row with an input error, refuses the ingest."""
    bad_rows = pl.concat(run.bad, how="diagonal_relaxed") if run.bad else None
    for e in entries:
        if e["_file"] not in run.counts:  # _count enters a file with its first row
            raise TradeflowsInputError(f"{e['path']}: no data rows")
        if bad_rows is not None:
            message = first_input_error(
                bad_rows.filter(pl.col("_file") == e["_file"]),
                e["path"],
                "record" if e["format"] == "comtrade_json" else "line",
            )
            if message:
                raise TradeflowsInputError(message + " (use --lenient to drop and count such rows)")


def flag_slips(spool: Spool, n_chunks: int, run: Run, writer: ChunkWriter,
               engine: str | None) -> None:  # fmt: skip
    """Find the unit slips over every chunk's candidates; count them and have the
    ``writer`` mark them in the files, held or written."""
    everything = pl.concat(spool.frames("slips", range(n_chunks)))
    # The spooled rows are the candidates already: all live, no drop reason.
    # Each flagged row's file comes with it: the spool is read once.
    slips = unit_slip_rows(
        everything.with_columns(drop=pl.lit(None, pl.String)), "_gid", carry=["_file"]
    )
    # Millions of candidates in, a few rows out: streamed (on the wide 10M-row
    # world 0.83 s against 0.87-0.98 s, 0.13 GB less at its peak; RESULTS.md)
    # where polars' streaming engine keeps the rows' order for the neighbours.
    flagged = _engine.collect(slips, _engine.streamed_in_order(engine))
    for f, n in flagged.group_by("_file").len().iter_rows():
        if f >= 0:
            run.counts[f]["changed"]["unit_slip_flagged"] += n
    gids = flagged.get_column("_gid")
    if gids.len():
        writer.mark_written(gids)
    writer.write_held(gids)


def nothing_kept(entries: list[dict]) -> None:
    """--lenient that keeps nothing: a scheduled run must not pass as done."""
    raise TradeflowsInputError(
        "nothing stored: "
        + "; ".join(
            f"{e['path']}: all {e['rows_read']} rows dropped ("
            + ", ".join(f"{k} {v}" for k, v in sorted(
                e["dropped"].items(), key=lambda kv: -kv[1])[:3])
            + ")"
            for e in entries[:3]
        )
    )  # fmt: skip


#: What the unit-slip pass reads of a chunk's live rows (:func:`tradeflows.clean.unit_slip_rows`).
_SLIP_COLUMNS = ["_gid", "_file", "_s", "_m", "period", "value_usd"]


def _write_part(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, compression="zstd", row_group_size=_ROW_GROUP_ROWS)


def _kept_sorted(df: pl.DataFrame) -> pl.DataFrame:
    """A chunk's kept rows (and their ``_gid``) in the order of the store's files.

    By year and HS chapter, then in chunk order, file by file, each file's
    rows by period in the order read: deterministic for the same inputs.
    Sorted by chapter, each row group holds a few chapters, and a chapter's
    scan (detect --partition, a Dask worker) skips the others' row groups
    (_expr.in_chapters). A year's rows are then one slice, not another copy.
    """
    return (
        df.lazy()
        .filter(pl.col("drop").is_null())
        .select(*CANONICAL, "_gid")
        .sort(_YEAR_CHAPTER, maintain_order=True)
        .collect()
    )


def _write_files(kept: pl.DataFrame, folder: Path, c: int) -> list[tuple[int, Path, pl.DataFrame]]:
    """Write chunk ``c``'s sorted kept rows, a file per year.

    Returns each file's year, path and row ids (``_gid``, for the spool).
    """
    files, start = [], 0
    years = kept.select(pl.col("period").dt.year().rle()).unnest("period")
    for run in years.iter_rows(named=True):
        part = kept.slice(start, run["len"])
        start += run["len"]
        path = folder / f"year={run['value']}" / f"{c:08d}.parquet"
        path.parent.mkdir(exist_ok=True)
        _write_part(part.drop("_gid"), path)
        files.append((run["value"], path, part.select("_gid")))
    return files


def _write_chunk(df: pl.DataFrame, folder: Path, c: int) -> list[tuple[int, Path, pl.DataFrame]]:
    """Write chunk ``c``'s kept rows, a file per year (:func:`_kept_sorted`, :func:`_write_files`)."""
    return _write_files(_kept_sorted(df), folder, c)


def _count(df: pl.DataFrame, counts: dict[int, dict]) -> None:
    """Add ``df``'s rows read, dropped and changed by reason to each new file's counts."""
    chg = [c for c in df.columns if c.startswith("chg_")]
    # Grouped in place: the store's own rows (_file -1) are passed over, not copied out.
    for f, drop, n in df.group_by("_file", "drop").len("_n").iter_rows():
        if f < 0:
            continue
        c = counts.setdefault(f, {"read": 0, "dropped": Counter(), "changed": Counter()})
        c["read"] += n
        if drop is not None:
            c["dropped"][drop] += n
    if not chg:
        return
    # Few rows change: the sums over those alone (not a sum per reason over every row).
    changed = (
        df.lazy()
        .filter(pl.any_horizontal(chg) & (pl.col("_file") >= 0))
        .group_by("_file")
        .agg(pl.col(chg).sum())
        .collect()
    )
    for r in changed.iter_rows(named=True):
        counts[r["_file"]]["changed"].update({k.removeprefix("chg_"): r[k] for k in chg})
