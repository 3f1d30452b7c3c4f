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

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from tradeflows import engine as _engine
from tradeflows._files import write_text_atomic
from tradeflows.clean import audit, clean, ensure_aux, first_input_error, split
from tradeflows.errors import TradeflowsInputError
from tradeflows.io import detect_format, expand_sources, file_sha256, is_parquet, scan
from tradeflows.io._text import prepare_text
from tradeflows.schema import CANONICAL

__all__ = ["STORE_FORMAT", "ingest", "open_sources", "read_audit", "scan_store"]

STORE_FORMAT = "tradeflows-store/1"
_COUNTS = ("rows_read", "rows_kept", "rows_dropped")


def _audit_path(store: Path) -> Path:
    return Path(store) / "audit.json"


def read_audit(store: str | Path) -> dict:
    """The audit of a store (an empty one for a store not yet created).

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
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TradeflowsInputError(f"{path}: unreadable audit ({exc})") from None
    if doc.get("format") != STORE_FORMAT:
        raise TradeflowsInputError(f"{path}: not a {STORE_FORMAT} audit")
    return doc


def scan_store(store: str | Path, *, storage_options: dict | None = None) -> pl.LazyFrame:
    """The canonical rows of a store, lazily.

    ``store`` is a folder, or a URL (``s3://bucket/store``, ``gs://...``,
    ``file:///...``) of a store copied to object storage: its ``audit.json`` is
    read with fsspec, its parquet files by polars, with ``storage_options``
    (credentials, region) passed to both.

    Examples
    --------
    >>> scan_store("/nonexistent/store")
    Traceback (most recent call last):
    ...
    tradeflows.errors.TradeflowsInputError: /nonexistent/store: not a tradeflows store (no audit.json)
    """
    if "://" in str(store):
        return _scan_remote(str(store), storage_options)
    store = Path(store)
    if not _audit_path(store).exists():
        raise TradeflowsInputError(f"{store}: not a tradeflows store (no audit.json)")
    doc = read_audit(store)
    data = store / doc["data"] if doc["data"] else None
    if data is None or not any(data.rglob("*.parquet")):
        return pl.LazyFrame(schema=CANONICAL)
    return pl.scan_parquet(data / "**" / "*.parquet", hive_partitioning=False).select(
        list(CANONICAL)
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
        with fsspec.open(
            f"{base}/audit.json", "rt", encoding="utf-8", **(storage_options or {})
        ) as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise TradeflowsInputError(f"{url}: not a tradeflows store (no audit.json)") from None
    if doc.get("format") != STORE_FORMAT:
        raise TradeflowsInputError(f"{url}/audit.json: not a {STORE_FORMAT} audit")
    if not doc.get("data"):
        return pl.LazyFrame(schema=CANONICAL)
    return pl.scan_parquet(
        f"{base}/{doc['data']}/**/*.parquet",
        hive_partitioning=False,
        storage_options=storage_options,
    ).select(list(CANONICAL))


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
    names = [f.name for f in files]
    if len(set(names)) == len(names):
        return names
    return [str(f) for f in files]


def _read(
    build: Callable[[bool], pl.LazyFrame], path: Path, engine: str | None
) -> tuple[pl.DataFrame, bool]:
    """Execute one file's reader: the fast path, and on a parse error the exact one.

    The fast path lets the parser type codes and values and trusts the file's
    encoding; if it objects, the file is read again as validated text, where a
    bad value becomes a row-level error (or, with ``--lenient``, a counted
    drop) and a latin-1 byte is transcoded.
    """
    try:
        return _engine.collect(build(True), engine), False
    except pl.exceptions.PolarsError:
        pass
    try:
        return _engine.collect(build(False), engine), True
    except pl.exceptions.PolarsError as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise TradeflowsInputError(f"{path}: cannot be parsed: {first}") from None


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
) -> dict:
    """Read, clean and add source files to ``store``; return the store's audit.

    Parameters
    ----------
    sources : iterable of str or Path
        Files, globs or folders.
    store : str or Path
        The store folder (created if missing).
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        Where the reading and the cleaning run. ``gpu`` runs them on the CPU
        engine for now: on cudf-polars 26.10 the cleaning kept fewer rows than
        on the CPU (405,532 more marked ``duplicate_superseded`` in a 1.5M-row
        world, benchmarks/RESULTS.md), and a store must not depend on where
        it was made. The mirror, routes and detection do run on the GPU.
    lenient : bool
        Drop (and count) rows with unknown codes or malformed values instead of
        refusing the file.
    revision : {"HS2017"}, optional
        Convert HS2022 codes to this revision.
    mapping, constants, value_scale
        For the generic reader (see :func:`tradeflows.io.scan`).
    progress : callable, optional
        Called with a short message as each file is read.

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
    if store.exists() and not store.is_dir():
        raise TradeflowsInputError(f"{store}: exists and is not a folder")
    if _engine.resolve(engine) == "gpu":
        engine = "cpu"  # see the docstring: the GPU cleaning is not yet trusted
    doc = read_audit(store)
    files = expand_sources(sources)
    known = {e["sha256"] for e in doc["files"]}
    names = _source_names(files)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()

    # Identical files have identical sizes: a file whose size no ingested file
    # has is hashed in a thread while it is read, one that might be a repeat
    # is hashed first, so that a repeat is never read.
    known_sizes = {e.get("bytes") for e in doc["files"]}
    new_entries, frames, skipped = [], [], []
    hasher = ThreadPoolExecutor(max_workers=1)
    try:
        for i, (path, name) in enumerate(zip(files, names, strict=True)):
            if progress:
                progress(f"reading {path}")
            size = path.stat().st_size
            digest = hasher.submit(file_sha256, path)
            if size in known_sizes and digest.result() in known:
                skipped.append(str(path))
                continue
            fmt = "generic" if mapping is not None else detect_format(path)

            def build(fast: bool, path: Path = path, name: str = name, i: int = i, fmt: str = fmt):
                lf = scan(
                    path,
                    format=fmt,
                    mapping=mapping,
                    constants=constants,
                    value_scale=value_scale,
                    fast=fast,
                )
                return lf.with_columns(source=pl.lit(name), _file=pl.lit(i, dtype=pl.Int32))

            # Each file is read on its own (errors name it), then all are cleaned
            # together: one plan over parsed frames runs faster than one plan that
            # also parses, and duplicates across files need them side by side.
            df, exact = _read(build, path, engine)
            sha = digest.result()
            if sha in known:  # the same bytes twice in one call
                skipped.append(str(path))
                continue
            known.add(sha)
            known_sizes.add(size)
            frames.append(df.lazy())
            text_format = not (is_parquet(path) or fmt == "comext_xlsx")
            new_entries.append(
                {
                    "path": str(path),
                    "source": name,
                    "sha256": sha,
                    "bytes": size,
                    "format": fmt,
                    "read": "exact" if exact else "fast",
                    "ingested": now,
                    "_file": i,
                    "latin1_bytes_read": prepare_text(path).latin1_bytes
                    if exact and text_format
                    else 0,
                }
            )
    finally:
        hasher.shutdown(wait=False, cancel_futures=True)
    if not frames:
        doc["skipped"] = skipped
        return doc

    old = scan_store(store) if doc["data"] else None
    old_n = doc.get("store", {}).get("rows", 0) if old is not None else 0
    parts = [old.with_columns(_file=pl.lit(-1, dtype=pl.Int32))] if old is not None else []
    parts += frames
    combined = pl.concat([ensure_aux(p) for p in parts], how="diagonal_relaxed")
    if progress:
        progress("cleaning")
    result = _engine.collect(clean(combined, revision=revision), engine)
    for entry in new_entries:
        df = result.filter(pl.col("_file") == entry["_file"])
        if df.height == 0:
            raise TradeflowsInputError(f"{entry['path']}: no data rows")
        message = first_input_error(df, entry["path"])
        if message and not lenient:
            raise TradeflowsInputError(message + " (use --lenient to drop and count such rows)")
        entry.update(audit(df))
    superseded = (
        result.filter((pl.col("_file") == -1) & pl.col("drop").is_not_null())
        .group_by("source")
        .len()
    )
    superseded_by = dict(
        zip(superseded["source"].to_list(), superseded["len"].to_list(), strict=True)
    )
    files_doc = []
    for e in doc["files"]:
        e = dict(e)
        e["superseded_later"] = e.get("superseded_later", 0) + superseded_by.get(e["source"], 0)
        files_doc.append(e)
    for e in new_entries:
        e.pop("_file")
        e["superseded_later"] = 0
        files_doc.append(e)

    kept, _ = split(result)
    _write_store(store, doc, kept, files_doc, now, old_rows=old_n)
    out = read_audit(store)
    out["skipped"] = skipped
    return out


def _write_store(
    store: Path, doc: dict, kept: pl.DataFrame, files_doc: list, now: str, *, old_rows: int
) -> None:
    store.mkdir(parents=True, exist_ok=True)
    data_name = f"data-{uuid.uuid4().hex[:12]}"
    tmp = store / f".{data_name}.tmp"
    try:
        # Rows keep the order they were read in: deterministic for the same inputs.
        table = kept.with_columns(year=pl.col("period").dt.year())
        tmp.mkdir()
        if table.height:
            table.write_parquet(tmp, partition_by="year", compression="zstd")
        os.replace(tmp, store / data_name)
        new_doc = {
            "format": STORE_FORMAT,
            "data": data_name,
            "updated": now,
            "store": {
                "rows": table.height,
                "years": table["year"].unique().sort().to_list(),
                "rows_before": old_rows,
            },
            "totals": _sum_counts(files_doc),
            "files": files_doc,
        }
        write_text_atomic(_audit_path(store), json.dumps(new_doc, indent=2) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if (store / data_name).exists() and read_audit(store).get("data") != data_name:
            shutil.rmtree(store / data_name, ignore_errors=True)
        raise
    if doc.get("data") and doc["data"] != data_name:
        shutil.rmtree(store / doc["data"], ignore_errors=True)


def open_sources(
    sources: Iterable[str | Path], *, engine: str | None = None
) -> tuple[pl.LazyFrame, dict]:
    """Canonical rows and the audit of stores and raw source files together.

    A store (a folder with ``audit.json``) is scanned as it is; raw files are
    ingested, with the cleaning and audit of :func:`ingest`, into a temporary
    store that is read back into memory. The audit has every file's entry and
    the totals over all of them.

    Examples
    --------
    >>> open_sources(["/nonexistent"])
    Traceback (most recent call last):
    ...
    tradeflows.errors.TradeflowsInputError: /nonexistent: no such file or folder
    """
    import tempfile

    frames, raw, docs = [], [], []
    for src in (s if "://" in str(s) else Path(s) for s in sources):
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
