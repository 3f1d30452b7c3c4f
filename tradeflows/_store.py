"""The embedded store: a parquet dataset partitioned by year, plus its audit.

Layout::

    STORE/audit.json              what was ingested, per file and in total;
                                  names the current data folder
    STORE/data-<id>/year=YYYY/*.parquet

``audit.json`` is the commit point. An ingest writes a complete new data
folder, then replaces ``audit.json`` atomically (temporary name, then rename),
then removes the old folder. A failure at any step before the rename leaves
the store exactly as it was.

For every file, ``rows_read == rows_kept + rows_dropped``. Rows of an earlier
file that a later file supersedes (a revised download of the same flow) are
counted in that earlier file's ``superseded_later``, so that the store holds
``sum(rows_kept) - sum(superseded_later)`` rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from tradeflows import _engine
from tradeflows._audit import DATA_PATTERN, STORE_FORMAT, data_folder, parse_audit
from tradeflows._chunked import (
    ChunkWriter,
    Run,
    Spool,
    account,
    chunks_of,
    clean_chunk,
    flag_slips,
    nothing_kept,
    period_in,
    refuse_bad_input,
    reporter_pieces,
)
from tradeflows._clean import (
    INPUT_ERRORS,
    audit_from_counts,
    first_bad_amount,
    idle_from_traces,
    period_traces,
)
from tradeflows._errors import TradeflowsInputError, one_line
from tradeflows._files import write_text_atomic
from tradeflows._io import (
    detect_format,
    expand_sources,
    file_sha256,
    is_parquet,
    scan,
    scan_batches,
    source_list,
)
from tradeflows._io._text import ends_in_open_quote, prepare_text, shown_name
from tradeflows._log import logger, step
from tradeflows._schema import CANONICAL

__all__ = [
    "STORE_FORMAT",
    "check_store",
    "ingest",
    "open_sources",
    "read_audit",
    "remove",
    "scan_store",
    "store_files",
]

_COUNTS = ("rows_read", "rows_kept", "rows_dropped")


def _audit_path(store: Path) -> Path:
    return Path(store) / "audit.json"


def _write_audit(store: Path, doc: Mapping) -> dict:
    """Replace ``store``'s audit.json with ``doc`` (atomically); return what it now holds.

    Parsed from the text written, not read from the file again: that would
    import and run the schema's validator (0.035 s) on what was just written.
    """
    text = json.dumps(doc, indent=2) + "\n"
    write_text_atomic(_audit_path(store), text)
    return json.loads(text)


def read_audit(store: str | Path) -> dict:
    """The audit of a store (an empty one for a store not yet created).

    Parameters
    ----------
    store : str or Path
        A store folder written by :func:`ingest`.

    Returns
    -------
    dict
        ``audit.json``, checked against the schema shipped with tradeflows.

    See Also
    --------
    store_files : the same, one row per file.

    Examples
    --------
    >>> read_audit("/nonexistent/store")["files"]
    []
    """
    store = Path(store)
    path = _audit_path(store)
    if not path.exists():
        if store.is_dir() and any(not p.name.startswith(".") for p in store.iterdir()):
            raise TradeflowsInputError(
                f"{store}: folder is not empty and has no audit.json: not a tradeflows store"
            )
        return {"format": STORE_FORMAT, "data": None, "files": [], "totals": {}, "store": {}}
    return parse_audit(path.read_bytes(), path)


def scan_store(store: str | Path, *, storage_options: dict | None = None) -> pl.LazyFrame:
    """The canonical rows of a store, lazily.

    ``store`` is a folder, or a URL (``s3://bucket/store``, ``gs://...``,
    ``file:///...``) of a store copied to object storage: its ``audit.json`` is
    read with fsspec, its parquet files by polars, with ``storage_options``
    (credentials, region) passed to both.

    Parameters
    ----------
    store : str or Path
        A store folder, or its URL (``s3://``, ``gs://``, ``az://``, ``file://``).
    storage_options : dict, optional
        Credentials and options for object storage (fsspec and polars).

    Returns
    -------
    LazyFrame
        The canonical rows (:data:`tradeflows._schema.CANONICAL`).

    See Also
    --------
    ingest : how rows get into a store.

    Examples
    --------
    >>> scan_store("/nonexistent/store")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent/store: not a tradeflows store (no audit.json)
    """
    if "://" in str(store):
        return _scan_remote(str(store), storage_options)
    _, files = _current_files(Path(store))
    if not files:
        return pl.LazyFrame(schema=CANONICAL)
    # A list of literal paths: a store's path may hold any character ([, *, ?).
    return pl.scan_parquet(files, hive_partitioning=False, glob=False).select(list(CANONICAL))


def check_store(store: str | Path) -> int:
    """The rows a store holds, once its data files are checked against its audit.

    Every parquet file of the data folder is a plain file whose pages all
    decode, their rows add up to the rows the audit says the store holds,
    each file's periods are of the year its folder names, and no value or
    quantity is one the cleaning never lets in: the checks a
    detection makes when it opens the store (:func:`scan_store`), without
    keeping its rows (0.25 s at 8M rows).

    Parameters
    ----------
    store : str or Path
        A store folder.

    Returns
    -------
    int
        The rows the store holds.

    Raises
    ------
    TradeflowsInputError
        When ``store`` is not a store, or its data is damaged: one line that
        names the file and what is wrong with it.

    See Also
    --------
    store_files : what the audit says each ingested file gave.

    Examples
    --------
    >>> check_store("/nonexistent/store")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent/store: not a tradeflows store (no audit.json)
    """
    doc, _ = _current_files(Path(store))
    return int(doc["store"].get("rows") or 0)


def _current_files(store: Path) -> tuple[dict, list[Path]]:
    """The audit and its checked data files, read again once if an ingest committed meanwhile.

    An ingest replaces ``audit.json``, then removes the data folder the old
    audit named: read between the two, the store looks damaged (its files
    gone) though it is whole. The data is damaged only if the audit still
    names the folder that failed its check.
    """
    if not _audit_path(store).exists():
        raise TradeflowsInputError(f"{store}: not a tradeflows store (no audit.json)")
    doc = read_audit(store)
    try:
        return doc, _data_files(store, doc)
    except TradeflowsInputError:
        if read_audit(store).get("data") == doc.get("data"):
            raise
    doc = read_audit(store)
    return doc, _data_files(store, doc)


def _data_files(store: Path, doc: dict) -> list[Path]:
    """The parquet files of the store's data folder, checked against the audit.

    Only plain files inside the data folder are read (no links), and their
    rows must be the rows the audit says the store holds: a damaged or
    tampered store is an error, never read as fewer rows. Each file's periods
    must fall in the year its folder names (``year=2023``): a damaged byte
    that still decodes gives a date of another year (34141), which would
    stop a reader later as an internal error (found by ``dev/fuzz.py``).
    """
    folder = data_folder(store, doc)
    if folder is None:
        return []
    files = sorted(folder.rglob("*.parquet"))
    rows = 0
    for f in files:
        if f.is_symlink() or not f.is_file():
            raise TradeflowsInputError(f"{store}: {f.relative_to(store)} is not a plain file")
        try:
            # The footer's row count, read by polars (pyarrow's reader took
            # 0.09-0.14 s to import, more than the rest of a small scan), and
            # every page decoded (a null count reads each column's pages): a
            # damaged byte is found here, naming its file, not deep inside a
            # detection as an internal error (about 0.25 s at 8M rows).
            period = pl.col("period")
            counts = pl.scan_parquet(f, glob=False).select(
                pl.len().alias(" rows"), pl.all().null_count(),
                period.min().dt.year().alias(" first"), period.max().dt.year().alias(" last"),
            )  # fmt: skip
            counts = _engine.collect(counts, "cpu").row(0, named=True)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise TradeflowsInputError(
                f"{store}: {f.relative_to(store)} is damaged ({one_line(exc, 160)})"
            ) from None
        rows += counts[" rows"]
        _check_years(store, f, counts)
    expected = doc["store"].get("rows")
    if expected is not None and rows != expected:
        raise TradeflowsInputError(
            f"{store}: data folder {doc['data']} holds {rows} rows where the audit says "
            f"{expected}; the store is damaged"
        )
    _check_amounts(store, files)
    return files


def _check_years(store: Path, file: Path, counts: dict) -> None:
    """Refuse a data file whose periods are not all of the year its folder names."""
    named = file.parent.name.removeprefix("year=")
    if not named.isdigit():
        return
    odd = [y for y in (counts[" first"], counts[" last"]) if y not in (None, int(named))]
    if counts["period"]:
        held = "rows with no period"
    elif odd:
        held = f"periods of year {odd[0]}"
    else:
        return
    raise TradeflowsInputError(
        f"{store}: {file.relative_to(store)} holds {held}, in the folder of {named}; "
        "the store is damaged"
    )


def _check_amounts(store: Path, files: list[Path]) -> None:
    """Refuse a store holding a value or quantity the cleaning never lets in.

    A store edited outside tradeflows (a value of 1e22) would otherwise stop
    a mirror or a detection deep inside their exact sums, as an internal
    error. Three columns of every file are read: 0.1 s at 10M rows.
    """
    if not files:
        return
    scan = pl.scan_parquet(files, hive_partitioning=False, glob=False, include_file_paths="_file")
    _refuse_bad_amounts(scan, str(store), lambda file: Path(file).relative_to(store))


def _refuse_bad_amounts(scan: pl.LazyFrame, store: str, shown: Callable[[str], object]) -> None:
    """Raise if a row of ``scan`` (its files in ``_file``, named by ``shown``) holds an
    amount the cleaning never lets in."""
    bad = first_bad_amount(scan, "_file")
    if bad is not None:
        raise TradeflowsInputError(
            f"{store}: {shown(bad['_file'])} holds a row with {bad['shown']}: "
            f"{INPUT_ERRORS['bad_amount']}; the store is damaged"
        )


def _scan_remote(url: str, storage_options: dict | None) -> pl.LazyFrame:
    """A store on object storage (read only): audit.json through fsspec, data through polars."""
    try:
        import fsspec
    except ModuleNotFoundError:
        raise TradeflowsInputError(
            f"{url}: reading a store by URL needs fsspec (pip install fsspec)"
        ) from None
    base = url.rstrip("/")
    try:
        with fsspec.open(f"{base}/audit.json", "rb", **(storage_options or {})) as f:
            data = f.read()
    except FileNotFoundError:
        raise TradeflowsInputError(f"{url}: not a tradeflows store (no audit.json)") from None
    doc = parse_audit(data, f"{url}/audit.json")
    if not doc.get("data"):
        return pl.LazyFrame(schema=CANONICAL)
    scan = pl.scan_parquet(
        f"{base}/{doc['data']}/**/*.parquet",
        hive_partitioning=False,
        storage_options=storage_options,
        include_file_paths="_file",
    )
    # As a local store's (_check_amounts): the amounts of every file, read once.
    _refuse_bad_amounts(scan, url, str)
    return scan.select(list(CANONICAL))


def _sum_counts(entries: Iterable[Mapping]) -> dict:
    total: dict = {k: 0 for k in _COUNTS}
    total["dropped"], total["changed"] = {}, {}
    for e in entries:
        for k in _COUNTS:
            total[k] += e.get(k, 0)
        for part in ("dropped", "changed"):
            for reason, n in e.get(part, {}).items():
                total[part][reason] = total[part].get(reason, 0) + n
    for part in ("dropped", "changed"):
        total[part] = dict(sorted(total[part].items()))
    return total


def _source_names(files: list[Path]) -> list[str]:
    names = [shown_name(f.name) for f in files]
    if len(set(names)) == len(names):
        return names
    return [shown_name(str(f)) for f in files]


#: A Comtrade CSV file larger than this, or of more rows than ``BATCH_ROWS``
#: (about: :meth:`PreparedText.rows_about`), is read in batches of
#: ``BATCH_ROWS`` rows (on the CPU): memory then holds a batch at a time, not
#: the file (one file of 10M rows peaked at 4.3 GiB read whole), and a file of
#: 12M rows is read in 2.2 s instead of 8.6 s, with no whole-file frame to
#: allocate and copy. Files of 0.4-0.5 GB (2.5-3M rows) are read faster so
#: too: ingest of the 11.9M-row world 13.0 s against 13.8 s read whole, of the
#: wide 10M-row world 11.7 s against 12.5 s; in batches of 2M rows, 14.4 s:
#: smaller batches pay. Below that size the count of rows decides: four
#: files of 86 MB (534k rows each) took 2.78 s in batches of 500k rows against
#: 3.05 s read whole (medians of five, 2026-12-07); of 79 MB (470k rows) 2.51
#: s in batches of 250k against 2.49 s; of 64 MB (380k rows) 2.32 s against
#: 2.19 s. Smaller files are read whole, in one plan (benchmarks/RESULTS.md,
#: issue 27).
BATCH_BYTES = 2**27
BATCH_ROWS = 500_000
#: Whether this polars raises in the caller an error met in a batch
#: (``LazyFrame.collect_batches``). polars 1.35 raised it in a thread of its
#: own and ended the batches early, the rest of the file lost without a word;
#: 1.44 raises it (tests/test_store.py). Before 1.44, files are read whole.
BATCHES = _engine.polars_version() >= (1, 44)


def _in_batches(path: Path, fmt: str, size: int, engine: str) -> bool:
    """Whether a file is read in batches (:func:`_read_batches`)."""
    if not BATCHES or fmt != "comtrade" or engine == "gpu" or is_parquet(path):
        return False
    return size > BATCH_BYTES or prepare_text(path, validate=False).rows_about() > BATCH_ROWS


def _read_batches(
    spool: Spool, path: Path, name: str, i: int, whole_rows: int, traces: list[pl.DataFrame]
) -> bool:
    """Read a large Comtrade CSV file into the spool a batch at a time (the fast path);
    whether it was read so. Each batch's :func:`period_traces` go to ``traces``.

    A value the fast path cannot parse, or a ragged row, may show in any
    batch or only after the last (:func:`tradeflows._io.scan_batches`): what
    the batches added is then taken out of the spool, and False returned (the
    file is to be read whole by the exact path, :func:`_read` with ``fast`` False).
    """
    mark = spool.mark()
    try:
        for lf in scan_batches(path, BATCH_ROWS):
            lf = lf.with_columns(source=pl.lit(name), _file=pl.lit(i, dtype=pl.Int32))
            _spool_read(spool, _engine.collect(lf, "cpu"), whole_rows, traces)
    except pl.exceptions.PolarsError:
        spool.rollback(mark)
        return False
    return True


def _spool_read(spool: Spool, df: pl.DataFrame, whole_rows: int, traces: list) -> None:
    """Add rows read to the spool by period, and their :func:`period_traces` to ``traces``.

    The traces tell each chunk which cleaning verbs it can leave out
    (:func:`tradeflows._chunked.clean_chunk`): from them, not from another
    pass over the chunk's rows (0.4-0.6 s of 12 s at 10M rows). Those of rows
    that are taken out again (:meth:`Spool.rollback`) stay: a verb is then
    run with nothing to do, never left out with something to do.
    """
    counts = _engine.collect(period_traces(df.lazy()), "cpu")
    spool.add_periods("read", df, whole_rows, counts)
    traces.append(counts)


def _read(
    build: Callable[[bool, str], pl.LazyFrame], path: Path, engine: str, *, fast: bool = True
) -> tuple[pl.DataFrame, bool]:
    """Execute one file's reader: the fast path, and on a parse error the exact one.

    The fast path lets the parser type codes and values and trusts the file's
    encoding; if it objects, the file is read again as validated text, where a
    bad value becomes a row-level error (or, with ``--lenient``, a counted
    drop) and a latin-1 byte is transcoded. With ``fast`` False only the
    exact path (the fast one has failed already: :func:`_read_batches`). On the GPU engine the fast path
    parses on the device first, values as text read exactly (the same
    doubles as the CPU's parser: ``tradeflows.scan``'s ``text_values``); a
    file the device cannot read so, for any reason, goes to the CPU's
    parser, and the log says why. The exact path runs on the CPU.
    """
    if engine == "gpu" and fast:
        try:
            return _engine.collect(build(True, "gpu"), "gpu"), False
        except Exception as exc:  # any refusal: the CPU reads this file
            logger.info("%s: read by the CPU's parser (%s)", path, one_line(exc, 160))
    if fast:
        try:
            return _engine.collect(build(True, "cpu"), "cpu"), False
        except pl.exceptions.PolarsError:
            pass
    try:
        return _engine.collect(build(False, "cpu"), "cpu"), True
    except pl.exceptions.PolarsError as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise TradeflowsInputError(
            f"{path}: cannot be parsed: {first}{_truncation_hint(path)}"
        ) from None


def _truncation_hint(path: Path) -> str:
    """What a parse error of ``path`` adds when its text's last line ends inside quotes."""
    with contextlib.suppress(TradeflowsInputError, OSError):
        if not is_parquet(path) and ends_in_open_quote(prepare_text(path, validate=False).path):
            return " (its last line ends inside quotes: a truncated download?)"
    return ""


def ingest(
    sources: Iterable[str | Path],
    store: str | Path,
    *,
    engine: str | None = None,
    lenient: bool = False,
    revision: str | None = None,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    value_scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
    spool_bytes: int | None = None,
    chunk_rows: int | None = None,
    wait: bool = True,
    notice: Callable[[str], None] | None = None,
    replace: bool = False,
    memory: str | float | int | None = None,
) -> dict:
    """Read, clean and add source files to ``store``; return the store's audit.

    Parameters
    ----------
    sources : str, Path or iterable of them
        Files, globs or folders.
    store : str or Path
        The store folder (created if missing).
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        Where the passes over all rows run (the store's periods, the
        unit-slip pass). The files are parsed, and the chunks of at most
        about ``chunk_rows`` rows cleaned and written, in memory on the CPU
        whatever the engine: their memory is bounded by their size, and the
        streaming engine cleaned them 1.5x slower (benchmarks/RESULTS.md).
        With ``gpu`` the chunks are cleaned on the GPU engine, and a
        Comtrade file is parsed on the device with its values as text, read
        exactly to the doubles the CPU's parser gives (cudf's CSV parser
        rounds some decimals a unit in the last place differently, and a
        store must not depend on where it was made); a file the device
        cannot read so (a value such as ``1e5``, or any refusal) is parsed
        on the CPU: the same store (benchmarks/RESULTS.md).
    lenient : bool
        Drop (and count) rows with unknown codes or malformed values instead of
        refusing the file.
    revision : {"HS2017"}, optional
        Convert HS2022 codes to this revision.
    mapping, constants, value_scale
        For the generic reader (see :func:`tradeflows.io.scan`).
    progress : callable, optional
        Called with a short message as each file is read.
    spool_bytes : int, optional
        How many bytes of parsed rows, and of cleaned rows waiting for the
        unit-slip pass, are held in memory; beyond that parsed rows are
        spooled to parquet in a temporary folder beside the store, and
        cleaned rows are written to the store at once (a file where a slip is
        found later is then written again). Default: ``memory``'s.
    chunk_rows : int, optional
        About how many rows (whole periods) are cleaned together. Default
        1,000,000 on the CPU (larger chunks were no faster and held more
        memory); on the GPU engine 4,000,000: each chunk is a plan translated
        and copied to the device (benchmarks/RESULTS.md).
    wait : bool
        When another ingest is writing the store: wait for it (``notice`` is
        told), or with ``wait=False`` raise at once.
    notice : callable, optional
        Told, in a sentence, what the ingest waits for or cleaned up.
    replace : bool
        Read again a file the store holds already (the same path, or the same
        bytes), with this call's options: its rows are taken out and the file
        ingested anew. Without it, a file already in the store is skipped
        (``skipped``; ``skipped_reasons`` says so, and which options it was
        read with when they differ from this call's).
    memory : str, float or int, optional
        The same budget (``ingest --memory``), read as ``detect_routes``
        reads its own: ``"6GiB"``, ``"500MB"``, or a share of the machine's
        memory (``0.5``). Default: a quarter. ``spool_bytes``, in bytes,
        wins when given. A smaller budget is slower, not wrong: on a
        52M-row world, on a machine of 24 GiB, 80 s at a 4.75 GiB peak with
        ``"2GiB"``, 77.5 s at 7.4 GiB by default, 71.3 s at 10.1 GiB with
        ``0.5`` (benchmarks/RESULTS.md, issue 27).

    Returns
    -------
    dict
        The store's audit (``audit.json``) after the call, with this call's
        ``skipped`` files and ``skipped_reasons``, the sources ``replaced``,
        the files ``unrecognised``, and what was ``spooled``: the rows read
        that waited on disk beyond the memory budget (``rows``; 0 where all
        fitted) and the budget in bytes (``budget``).

    Raises
    ------
    TradeflowsInputError
        A file, a row or an option that is wrong, with one line saying where
        (the store is left as it was). With ``lenient``, a file whose layout
        is not recognised is skipped and recorded in the audit
        (``unrecognised_files``) instead, and only a call that stores nothing
        new (every row dropped, every file unrecognised) raises.

    See Also
    --------
    scan_store : the store's rows, lazily.
    store_files : what the store holds, file by file.

    Notes
    -----
    The rows are cleaned a few periods at a time, each chunk's new rows beside
    the store's rows of the same periods: every cleaning verb but the
    unit-slip check compares rows of one period only. Each chunk is counted
    once cleaned; of its live rows only the series hashes and values wait for
    the slips, which need whole series and are found in one pass over all
    chunks (:func:`tradeflows.clean.unit_slip_rows`). Its kept rows wait in
    memory while they fit ``spool_bytes``, and are written to a new data
    folder with their slips; beyond it they are written at once and the few
    rows flagged later are marked in the files written. Peak memory is
    therefore bounded by ``spool_bytes``, one chunk and the slip pass, not by
    the whole store, and the store holds the rows of
    :func:`tradeflows.clean.clean` over all rows at once (tested).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text(
    ...     "period,reporterCode,partnerCode,flowCode,cmdCode,primaryValue\\n"
    ...     "202301,490,458,X,847150,1000\\n202301,490,0,X,847150,1000\\n")
    >>> a = ingest([d / "a.csv"], d / "store")
    >>> a["totals"]["rows_read"], a["totals"]["rows_kept"], a["totals"]["dropped"]
    (2, 1, {'partner_world_beside_detail': 1})
    >>> ingest([d / "a.csv"], d / "store")["files"][0]["rows_read"]   # same file: nothing added
    2
    """
    store = Path(store)
    if spool_bytes is None:
        spool_bytes = _engine.memory_budget(memory)  # a bad size refused before any work
    if store.exists() and not store.is_dir():
        raise TradeflowsInputError(f"{store}: exists and is not a folder")
    if not math.isfinite(value_scale) or value_scale <= 0:
        raise TradeflowsInputError(f"value scale {value_scale!r}: expected a positive number")
    files = expand_sources(sources)
    created = not store.exists()
    # One writer at a time, from reading the audit to the commit: two ingests
    # at once would each build on the same old state and one would be lost.
    with _store_lock(store, wait=wait, notice=notice, created=created):
        doc = read_audit(store)
        removed = _remove_leftovers(store, doc)
        if removed and notice:
            notice(f"{store}: removed {removed} leftover(s) of an interrupted run")
        out = _ingest_locked(
            files, store, doc, engine=engine, lenient=lenient, revision=revision,
            mapping=mapping, constants=constants, value_scale=value_scale,
            progress=progress, spool_bytes=spool_bytes, chunk_rows=chunk_rows,
            leftovers=removed, replace=replace,
        )  # fmt: skip
    out["leftovers_removed"] = removed
    return out


_SAME_BYTES = "the same bytes as another file of this call"


class _Seen:
    """The files an ingest has seen: the store's (but those it replaces) and this call's.

    A file whose bytes one of them has is a repeat, never read again: its
    size is checked first, so that a file of a new size is hashed in a thread
    while it is read, and a possible repeat is hashed before. A source name
    one of them has is taken: a file of the same name gets its path, or its
    hash, so that its counts stay its own.
    """

    def __init__(self, entries: list[dict], replaced: set[str], replace: bool):
        kept = [e for e in entries if e["source"] not in replaced]
        self.known = {e["sha256"] for e in kept}
        self.sizes = {e.get("bytes") for e in kept}
        self.taken = {e["source"] for e in kept}
        self.by_sha = {e["sha256"]: e for e in entries}
        self.replaced = replaced
        self.replace = replace

    @classmethod
    def of(cls, doc: dict, files: list[Path], replace: bool) -> _Seen:
        """The store's files; with ``replace``, without the entries of the
        files read again (the same path here; the same bytes are found by
        :meth:`repeat`), which leave the store with their rows."""
        wanted = {shown_name(str(p)) for p in files} if replace else set()
        replaced = {e["source"] for e in doc["files"] if e["path"] in wanted}
        return cls(doc["files"], replaced, replace)

    def repeat(self, size: int, digest, options: dict) -> str | None:
        """Why a file of ``size`` bytes whose sha256 ``digest`` (a future) will
        give is not read (None: it is new, or it replaces the store's entry
        of the same bytes)."""
        if size not in self.sizes or digest.result() not in self.known:
            return None
        old = self.by_sha.get(digest.result())
        if old is None:  # the same bytes as a file read earlier in this call
            return _SAME_BYTES
        if not self.replace:
            return _skip_reason(old, options)
        self.replaced.add(old["source"])
        self.known.discard(old["sha256"])
        self.taken.discard(old["source"])
        return None

    def free_name(self, name: str, path: Path, digest) -> str:
        """``name``, or the file's path, or the name with its hash, whichever is free."""
        if name not in self.taken:
            return name
        full = shown_name(str(path))
        return full if full not in self.taken else f"{name}@{digest.result()[:12]}"

    def keep(self, sha: str, size: int, name: str) -> None:
        """A file read: its bytes and its name are now taken."""
        self.known.add(sha)
        self.sizes.add(size)
        self.taken.add(name)


def _read_file(
    spool: Spool, build, path: Path, name: str, i: int, fmt: str, size: int,
    chunk_engine: str, whole_rows: int, traces: list[pl.DataFrame],
) -> bool:  # fmt: skip
    """Parse one file into ``spool``, in batches or whole; whether by the exact path.

    Each file is read on its own (errors name it), then cleaned a few
    periods at a time beside the other files: one plan over parsed frames
    runs faster than one that also parses, and duplicates across files need
    them side by side.
    """
    with step(f"reading {shown_name(str(path))}"):
        batched = _in_batches(path, fmt, size, chunk_engine)
        if batched and _read_batches(spool, path, name, i, whole_rows, traces):
            return False
        # whole; by the exact path only, when the batches' fast path failed
        df, exact = _read(build, path, chunk_engine, fast=not batched)
        _spool_read(spool, df, whole_rows, traces)
        return exact


def _ingest_locked(
    files: list[Path],
    store: Path,
    doc: dict,
    *,
    engine: str | None,
    lenient: bool,
    revision: str | None,
    mapping: Mapping[str, str] | None,
    constants: Mapping[str, str] | None,
    value_scale: float,
    progress: Callable[[str], None] | None,
    spool_bytes: int,
    chunk_rows: int | None,
    leftovers: int,
    replace: bool = False,
) -> dict:
    """:func:`ingest` with the store's lock held and its ``leftovers`` removed (counted
    in the new audit)."""
    # On the GPU engine a file is parsed on the device with its values read
    # exactly (_read); otherwise on the CPU. A parsed file and a chunk are in
    # memory anyway: the streaming engine only slows them down.
    chunk_engine, default_rows = _chunking(engine)
    chunk_rows = chunk_rows or default_rows
    # A chunk filtered from a whole file is a plan over the whole file: on the
    # GPU engine that would copy all of it to the device for every chunk.
    whole_rows = chunk_rows * (_WHOLE_CHUNKS if chunk_engine == "cpu" else 1)
    options = _options(lenient, revision, mapping, constants, value_scale)
    names = _source_names(files)
    seen = _Seen.of(doc, files, replace)
    now = _now()
    new_entries, skipped, reasons, unrecognised = [], [], [], []
    hasher = ThreadPoolExecutor(max_workers=1)
    spool = Spool(store, spool_bytes)
    traces: list[pl.DataFrame] = []  # what the verbs act on, by period (_spool_read)
    try:
        for i, (path, name) in enumerate(zip(files, names, strict=True)):
            if progress:
                progress(f"reading {path}")
            size = path.stat().st_size
            digest = hasher.submit(file_sha256, path)
            reason = seen.repeat(size, digest, options)
            if reason:
                skipped.append(str(path))
                reasons.append(reason)
                continue
            name = seen.free_name(name, path, digest)
            try:
                fmt = "generic" if mapping is not None else detect_format(path)
            except TradeflowsInputError as exc:
                if not lenient:
                    raise
                unrecognised.append(
                    {"path": shown_name(str(path)), "sha256": digest.result(), "bytes": size,
                     "reason": "unrecognised_file", "detail": one_line(exc, 300)}
                )  # fmt: skip
                continue
            build = _scanner(path, name, i, fmt, mapping, constants, value_scale)
            mark = spool.mark()
            exact = _read_file(
                spool, build, path, name, i, fmt, size, chunk_engine, whole_rows, traces
            )
            sha = digest.result()
            if sha in seen.known:  # the same bytes twice in one call
                spool.rollback(mark)
                skipped.append(str(path))
                reasons.append(_SAME_BYTES)
                continue
            seen.keep(sha, size, name)
            new_entries.append(_entry(path, name, i, fmt, sha, size, exact, now, options))
        replaced = seen.replaced
        doc = {**doc, "files": [e for e in doc["files"] if e["source"] not in replaced]}
        doc["unrecognised_files"] = _merge_unrecognised(doc, unrecognised)
        if not new_entries:
            if unrecognised:
                _nothing_stored(unrecognised)
            if unrecognised and doc["data"]:  # recorded, the rows untouched
                _write_audit(store, doc)
            doc["skipped"], doc["skipped_reasons"] = skipped, reasons
            doc["unrecognised"] = unrecognised
            return doc
        if progress:
            progress("cleaning")
        with step(f"cleaning and writing {len(new_entries)} file(s) into {store}"):
            out = _clean_by_period(
                store, doc, spool, new_entries, engine=engine, chunk_engine=chunk_engine,
                lenient=lenient, revision=revision, now=now, chunk_rows=chunk_rows,
                leftovers=leftovers, exclude=frozenset(replaced), traces=traces,
            )  # fmt: skip
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
        spool.close()
    out["skipped"], out["skipped_reasons"] = skipped, reasons
    out["replaced"] = sorted(replaced)
    out["unrecognised"] = unrecognised
    out["spooled"] = {"rows": spool.spilled["read"], "budget": spool.budget}
    return out


def _scanner(path: Path, name: str, i: int, fmt: str, mapping, constants, value_scale):
    """How to read file ``i``: ``build(fast, engine)`` scans it as ``fmt``, its rows marked as its own."""

    def build(fast: bool, engine: str = "cpu") -> pl.LazyFrame:
        lf = scan(path, format=fmt, mapping=mapping, constants=constants,
                  value_scale=value_scale, fast=fast, engine=engine)  # fmt: skip
        return lf.with_columns(source=pl.lit(name), _file=pl.lit(i, dtype=pl.Int32))

    return build


def _entry(path: Path, name: str, i: int, fmt: str, sha: str, size: int, exact: bool, now: str,
           options: dict) -> dict:  # fmt: skip
    """The audit entry of a file read (``_file``: its number in this call, dropped at commit)."""
    text_format = not (is_parquet(path) or fmt in ("comext_xlsx", "comtrade_json"))
    return {
        "path": shown_name(str(path)),
        "source": name,
        "sha256": sha,
        "bytes": size,
        "format": fmt,
        "read": "exact" if exact else "fast",
        "ingested": now,
        "_file": i,
        "latin1_bytes_read": prepare_text(path).latin1_bytes if exact and text_format else 0,
        "options": options,
    }


def store_files(store: str | Path) -> pl.DataFrame:
    """The files a store holds: path, format, rows read, kept and dropped, when, sha256.

    Parameters
    ----------
    store : str or Path
        A store folder.

    Returns
    -------
    DataFrame
        One row per file ingested, in the order read.

    See Also
    --------
    remove : take files out of the store.

    Examples
    --------
    >>> store_files("/nonexistent/store").height
    0
    """
    doc = read_audit(store)
    schema = {"path": pl.String, "format": pl.String, "rows_read": pl.Int64,
              "rows_kept": pl.Int64, "rows_dropped": pl.Int64, "ingested": pl.String,
              "sha256": pl.String, "options": pl.String}  # fmt: skip
    rows = [
        {**{k: e.get(k) for k in schema if k != "options"},
         "options": _options_text(e.get("options", {})) if "options" in e else None}
        for e in doc["files"]
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def remove(
    store: str | Path,
    files: Iterable[str],
    *,
    engine: str | None = None,
    wait: bool = True,
    notice: Callable[[str], None] | None = None,
) -> dict:
    """Take the rows of some ingested files out of ``store``; return its new audit.

    A file is named by its path as the audit shows it, its source name, or
    its sha256 (the whole, or its first 12 characters or more). The store's
    other rows are cleaned again without them, as if those files had never
    been ingested (rows they replaced in earlier files stay gone: the audit
    counts those in ``superseded_later``); ingesting the same files again
    gives back the same rows.

    Raises :class:`TradeflowsInputError` (nothing changed) when a name
    matches no file of the store.

    Parameters
    ----------
    store : str or Path
        A store folder.
    files : iterable of str
        The files to take out, named as :func:`store_files` shows them (their
        path, or the name the store gave them) or by their SHA-256.
    engine : str, optional
        Where the remaining rows are cleaned again.
    wait : bool
        When another ingest is writing the store: wait, or raise at once.
    notice : callable, optional
        Told, in a sentence, what the call waits for.

    Returns
    -------
    dict
        The store's new audit.

    See Also
    --------
    tradeflows.store_files : the files a store holds.
    tradeflows.ingest : adds them.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> head = 'period,reporterCode,partnerCode,flowCode,cmdCode,primaryValue\\n'
    >>> _ = (d / 'mys.csv').write_text(head + '202301,458,156,X,847150,1000\\n')
    >>> _ = (d / 'sgp.csv').write_text(head + '202301,702,156,X,847150,2000\\n')
    >>> _ = ingest([d / 'mys.csv', d / 'sgp.csv'], d / 'store')
    >>> doc = remove(d / 'store', ['sgp.csv'])
    >>> [f['source'] for f in doc['files']], doc['store']['rows']
    (['mys.csv'], 1)
    """
    store = Path(store)
    if not _audit_path(store).exists():
        raise TradeflowsInputError(f"{store}: not a tradeflows store (no audit.json)")
    with _store_lock(store, wait=wait, notice=notice):
        doc = read_audit(store)
        gone = []
        for name in files:
            hit = [e for e in doc["files"] if _names_entry(e, name)]
            if not hit:
                raise TradeflowsInputError(
                    f"{store}: no ingested file {name!r} (see tradeflows store list {store})"
                )
            gone += [e for e in hit if e not in gone]
        removed = _remove_leftovers(store, doc)
        sources = frozenset(e["source"] for e in gone)
        keep = {**doc, "files": [e for e in doc["files"] if e["source"] not in sources]}
        if not keep["files"]:
            empty = {"format": STORE_FORMAT, "data": None, "updated": _now(),
                     "store": {"rows": 0, "years": [], "rows_before": doc["store"].get("rows", 0),
                               "leftovers_removed": doc["store"].get("leftovers_removed", 0)
                               + removed},
                     "totals": _sum_counts([]), "files": []}  # fmt: skip
            if doc.get("unrecognised_files"):
                empty["unrecognised_files"] = doc["unrecognised_files"]
            out = _write_audit(store, empty)
            if doc.get("data"):
                shutil.rmtree(store / doc["data"], ignore_errors=True)
        else:
            chunk_engine, chunk_rows = _chunking(engine)
            spool = Spool(store, _engine.memory_budget())
            try:
                out = _clean_by_period(
                    store, keep, spool, [], engine=engine, chunk_engine=chunk_engine,
                    lenient=True, revision=None, now=_now(),
                    chunk_rows=chunk_rows,
                    leftovers=removed, exclude=sources,
                )  # fmt: skip
            finally:
                spool.close()
    out["removed"] = [e["path"] for e in gone]
    return out


def _chunking(engine: str | None) -> tuple[str, int]:
    """Where the chunks are cleaned (the GPU engine, or the CPU), and their default rows."""
    if _engine.resolve(engine) == "gpu":
        return "gpu", _GPU_CHUNK_ROWS
    return "cpu", _CHUNK_ROWS


def _names_entry(entry: Mapping, name: str) -> bool:
    """Whether ``name`` (a path, a source name or a sha256 of 12+ characters) names ``entry``."""
    text = str(name).strip()
    if text in (entry["path"], entry["source"]):
        return True
    if len(text) >= 12 and entry["sha256"].startswith(text.lower()):
        return True
    p = Path(text)
    return p.is_file() and (
        shown_name(str(p)) == entry["path"] or file_sha256(p) == entry["sha256"]
    )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _options(lenient, revision, mapping, constants, value_scale) -> dict:
    """How a file was read: the options that change its rows (the defaults left out)."""
    out: dict = {}
    if lenient:
        out["lenient"] = True
    if revision:
        out["revision"] = revision
    if mapping:
        out["mapping"] = dict(sorted(mapping.items()))
    if constants:
        out["constants"] = dict(sorted(constants.items()))
    if value_scale != 1.0:
        out["value_scale"] = value_scale
    return out


def _options_text(options: Mapping) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items()) or "the default options"


def _skip_reason(entry: Mapping, options: dict) -> str:
    """Why a file already in the store is skipped, and how to read it again."""
    before = entry.get("options")
    if before is None or before == options:
        return "already in the store"
    return (
        f"already in the store, read with {_options_text(before)}; this run asked "
        f"{_options_text(options)}: use --replace to read it again with them"
    )


def _merge_unrecognised(doc: Mapping, new: list[dict]) -> list[dict]:
    """The store's record of files skipped as unrecognised, the new ones added once."""
    seen = {e["sha256"] for e in doc.get("unrecognised_files", [])}
    return [*doc.get("unrecognised_files", []), *(e for e in new if e["sha256"] not in seen)]


def _nothing_stored(unrecognised: list[dict]) -> None:
    raise TradeflowsInputError(
        "nothing stored: "
        + "; ".join(e["detail"] for e in unrecognised[:3])
        + (f" (and {len(unrecognised) - 3} more)" if len(unrecognised) > 3 else "")
    )


#: Rows cleaned together (whole periods) on the CPU: smaller chunks cost no
#: time and hold less memory (benchmarks/RESULTS.md, design measurements). On the GPU engine fewer, larger plans (see ingest).
_CHUNK_ROWS = 1_000_000
_GPU_CHUNK_ROWS = 4_000_000

#: A parsed file of up to this many chunks' rows is kept whole in memory, and
#: each chunk takes its periods from it with one filter (one contiguous frame);
#: a larger one is split by period, so that its rows are freed chunk by chunk.
#: On the CPU only: on the GPU engine a file larger than one chunk is split
#: (benchmarks/RESULTS.md, design measurements).
_WHOLE_CHUNKS = 4


#: What an interrupted run can leave in a store: a data folder being written,
#: a spool, an audit being replaced, a data folder written but never committed
#: (or committed, with the old one not yet removed).
_LEFTOVERS = (
    re.compile(r"\.data-[0-9a-f]{12}\.tmp"),
    re.compile(r"\.spool-[0-9a-z_]+"),
    re.compile(r"\.audit\.json\.[0-9a-f]{32}\.tmp"),
)


def _remove_leftovers(store: Path, doc: dict) -> int:
    """Remove what interrupted runs left in ``store`` (its lock held); return how many."""
    n = 0
    for p in store.iterdir():
        stale = any(r.fullmatch(p.name) for r in _LEFTOVERS) or (
            re.fullmatch(DATA_PATTERN, p.name) is not None and p.name != doc.get("data")
        )
        if not stale:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
        n += 1
    return n


@contextlib.contextmanager
def _store_lock(
    store: Path, *, wait: bool, notice: Callable[[str], None] | None, created: bool = False
):
    """Hold ``STORE/.lock`` (the system releases it if the process dies).

    A store this call ``created`` is removed again if the work fails before
    it holds anything (a refused first file leaves no folder behind). A
    waiter that then gets the lock of the removed file takes a new one.
    """
    import filelock

    path = store / ".lock"
    told = False
    while True:
        store.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise TradeflowsInputError(f"{path}: not a plain file (a link or a folder)")
        lock = filelock.FileLock(path)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if not wait:
                raise TradeflowsInputError(
                    f"{store}: another tradeflows ingest is writing this store; "
                    "try again when it has finished (or leave out --no-wait to wait for it)"
                ) from None
            if notice and not told:
                notice(f"{store}: waiting for another tradeflows ingest to finish")
                told = True
            lock.acquire()
        if path.exists():  # not removed by the holder before us (see above)
            break
        lock.release()
    try:
        yield
    except BaseException:
        if created and [p.name for p in store.iterdir()] == [".lock"]:
            path.unlink()
            store.rmdir()
        raise
    finally:
        lock.release()


def _clean_by_period(
    store: Path,
    doc: dict,
    spool: Spool,
    entries: list[dict],
    *,
    engine: str | None,
    chunk_engine: str,
    lenient: bool,
    revision: str | None,
    now: str,
    chunk_rows: int,
    leftovers: int,
    exclude: frozenset[str] = frozenset(),
    traces: Iterable[pl.DataFrame] = (),
) -> dict:
    """Clean the new rows beside the store's, some periods at a time; audit them; write the
    store; return its new audit.

    ``leftovers``: what this ingest removed of interrupted runs, added to the store's count.
    ``exclude``: sources whose rows leave the store (``doc`` no longer lists them).
    ``traces``: the :func:`period_traces` of every frame in the spool (the store's
    own are computed here).
    """
    old = scan_store(store).with_columns(_file=pl.lit(-1, dtype=pl.Int32)) if doc["data"] else None
    if old is not None and exclude:
        old = old.filter(~pl.col("source").is_in(sorted(exclude)))
    rows, traces = spool.rows("read"), list(traces)
    if old is not None:
        stored = _engine.collect(period_traces(old), engine)
        for period, n in zip(stored["period"], stored["len"], strict=True):
            rows[period] = rows.get(period, 0) + n
        traces.append(stored)
    by_period = pl.concat(traces, how="vertical_relaxed").lazy() if traces else None
    chunks = chunks_of(rows, chunk_rows)
    run = Run(counts={}, superseded=Counter())
    # The chunks are written to a new data folder; audit.json, replaced last,
    # is the commit point.
    store.mkdir(parents=True, exist_ok=True)
    data_name = f"data-{uuid.uuid4().hex[:12]}"
    tmp = store / f".{data_name}.tmp"
    tmp.mkdir()
    writer = ChunkWriter(tmp, run, spool)
    try:
        # 1. The verbs that compare rows of one period, on a chunk of periods
        #    at a time; each chunk is then counted and its kept rows written
        #    (in a thread, while the next chunk is cleaned). Rows get an id
        #    that is unique over all chunks (_gid): the unit slips need whole
        #    series, so each chunk's live rows wait, as 64-bit series hashes,
        #    for one pass over all chunks (step 2).
        #    A chunk of one period much larger than chunk_rows is cleaned
        #    in pieces of some reporters each (reporter_pieces), each a
        #    chunk of its own from there on.
        c = 0
        for periods in chunks:
            parts = spool.pop("read", periods)
            if old is not None:
                parts.insert(0, old.filter(period_in(periods)))
            idle = None  # what the chunk's rows show (clean_chunk)
            if by_period is not None:
                idle = (
                    idle_from_traces(by_period.filter(period_in(periods)))
                    .collect()
                    .row(0, named=True)
                )
            n = sum(rows.get(p, 0) for p in periods)
            for piece in reporter_pieces(parts, n, chunk_rows):
                df = clean_chunk(piece, revision, chunk_engine, offset=run.offset, idle=idle)
                account(df, c, run, spool, writer, lenient)
                c += 1
                del df
            del parts
        writer.finish()
        refuse_bad_input(entries, run)
        # 2. The unit slips, in one pass over every chunk's live rows; the
        #    chunks held in memory are then written with their slips, and the
        #    few rows flagged in files already written are marked there.
        flag_slips(spool, c, run, writer, engine)
        for e in entries:
            n = run.counts[e["_file"]]
            e.update(audit_from_counts(n["read"], n["dropped"], n["changed"]))
        if lenient and entries and not any(e["rows_kept"] for e in entries):
            nothing_kept(entries)
        writer.close()
        os.replace(tmp, store / data_name)
        written = _commit(store, doc, entries, run, data_name, now, leftovers)
    except BaseException:
        writer.close()  # nothing is written into tmp once it is removed
        shutil.rmtree(tmp, ignore_errors=True)
        if (store / data_name).exists() and read_audit(store).get("data") != data_name:
            shutil.rmtree(store / data_name, ignore_errors=True)
        raise
    if doc.get("data") and doc["data"] != data_name:
        # The old name passed the audit's schema: a plain data-<hex> child.
        shutil.rmtree(store / doc["data"], ignore_errors=True)
    return written


def _commit(
    store: Path, doc: dict, entries: list[dict], run: Run, data_name: str, now: str,
    leftovers: int,
) -> dict:  # fmt: skip
    """Replace audit.json with the new data folder's, the commit point of an ingest; return
    what it now holds (:func:`_write_audit`)."""
    files_doc = []
    for e in doc["files"]:
        e = dict(e)
        e["superseded_later"] = e.get("superseded_later", 0) + run.superseded[e["source"]]
        files_doc.append(e)
    for e in entries:
        e.pop("_file")
        e["superseded_later"] = 0
        files_doc.append(e)
    new_doc = {
        "format": STORE_FORMAT,
        "data": data_name,
        "updated": now,
        "store": {
            "rows": sum(n for *_, n in run.written),
            "years": sorted({year for _, year, _, _ in run.written}),
            "rows_before": doc.get("store", {}).get("rows", 0) if doc["data"] else 0,
            "leftovers_removed": doc["store"].get("leftovers_removed", 0) + leftovers,
        },
        "totals": _sum_counts(files_doc),
        "files": files_doc,
    }
    if doc.get("unrecognised_files"):
        new_doc["unrecognised_files"] = doc["unrecognised_files"]
    return _write_audit(store, new_doc)


def open_sources(
    sources: Iterable[str | Path], *, engine: str | None = None
) -> tuple[pl.LazyFrame, dict]:
    """Canonical rows and the audit of stores and raw source files together.

    A store (a folder with ``audit.json``) is scanned as it is; raw files are
    ingested, with the cleaning and audit of :func:`ingest`, into a temporary
    store that is read back into memory. The audit has every file's entry and
    the totals over all of them.

    Parameters
    ----------
    sources : str, Path or iterable of them
        Stores, and files, globs or folders of source files (ingested into a
        temporary store).
    engine : str, optional
        Where the source files are cleaned.

    Returns
    -------
    tuple of (LazyFrame, dict)
        The canonical rows of them all, and their audit (the files' entries
        and totals).

    See Also
    --------
    tradeflows.scan_store : a store alone.
    tradeflows.ingest : files into a store.

    Examples
    --------
    >>> open_sources(["/nonexistent"])
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent: no such file or folder
    """
    frames, raw, docs = [], [], []
    for src in (s if "://" in str(s) else Path(s) for s in source_list(sources)):
        if "://" not in str(src) and not src.exists() and not any(ch in str(src) for ch in "*?["):
            raise TradeflowsInputError(f"{src}: no such file or folder")
        if "://" in str(src):  # a store on object storage (see scan_store)
            frames.append(scan_store(str(src)))
            docs.append({"files": []})
        elif (src / "audit.json").exists():
            frames.append(scan_store(src))
            docs.append(read_audit(src))
        else:
            raw.append(src)
    if raw:
        with tempfile.TemporaryDirectory(prefix="tradeflows-") as tmp:
            docs.append(ingest(raw, Path(tmp) / "store", engine=engine))
            frames.append(_engine.collect(scan_store(Path(tmp) / "store"), engine).lazy())
    files = [f for d in docs for f in d.get("files", [])]
    lf = pl.concat(frames) if frames else pl.LazyFrame(schema=CANONICAL)
    return lf, {"files": files, "totals": _sum_counts(files)}
