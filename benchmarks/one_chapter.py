"""A store of one HS chapter: a world's store with every product moved into chapter 85.

The real screen of export-controlled electronics reads chapters 84 and 85 of
every reporter: most of its rows are in one or two chapters, and a detection
run chapter by chapter holds its largest chapter whole. The benchmark worlds
spread their products over many chapters. This script relabels a world's
products as chapter 85 codes (one heading each as far as chapter 85 has
headings, then further codes of them), keeps every other column, and ingests
the result as a new store, so that the same data can be measured in both
shapes (benchmarks/RESULTS.md, issue 27).

Usage::

    python benchmarks/one_chapter.py benchmarks/data/dense_60/runs/ingest_cpu
    python benchmarks/one_chapter.py benchmarks/data/wide_800/runs/ingest_cpu --chapter 84 85
    /usr/bin/time -v tradeflows detect benchmarks/data/dense_60/one_chapter/store --out f.parquet
    python benchmarks/trace_collects.py --over 6 detect benchmarks/data/dense_60/one_chapter/store --out f.parquet
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import polars as pl


def one_chapter(store: Path, out: Path, chapter: str | list[str] = "85") -> Path:
    """Write ``store``'s rows with their products moved into ``chapter`` (or chapters),
    and ingest them into ``out/store``; returns that store's path."""
    from tradeflows._reference import hs_codes
    from tradeflows._store import ingest, scan_store

    chapters = [chapter] if isinstance(chapter, str) else list(chapter)
    chapter = "+".join(chapters)
    lf = scan_store(store)
    codes = sorted(lf.select(pl.col("hs").unique()).collect()["hs"].to_list())
    six = (
        hs_codes()
        .filter((pl.col("hs").str.len_chars() == 6) & pl.col("hs").str.slice(0, 2).is_in(chapters))
        .sort("hs")
        .with_columns(head=pl.col("hs").str.slice(0, 4))
    )
    first = six.group_by("head", maintain_order=True).first().select("hs")
    pick = pl.concat([first, six.select("hs").join(first, on="hs", how="anti")])["hs"]
    if len(pick) < len(codes):
        raise SystemExit(f"{len(codes)} products, chapter {chapter} has {len(pick)} codes")
    relabel = dict(zip(codes, pick.to_list()[: len(codes)], strict=True))
    out.mkdir(parents=True, exist_ok=True)
    rows = out / "one_chapter.parquet"
    lf.with_columns(pl.col("hs").replace_strict(relabel)).sink_parquet(rows)
    shutil.rmtree(out / "store", ignore_errors=True)
    ingest([rows], out / "store")
    return out / "store"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path, help="a world's store (its runs/ingest_cpu)")
    ap.add_argument("--out", type=Path, help="default: the world's folder/one_chapter")
    ap.add_argument("--chapter", nargs="+", default=["85"], help="one or more chapters")
    args = ap.parse_args()
    out = args.out or args.store.parent.parent / "one_chapter"
    print(one_chapter(args.store, out, args.chapter))


if __name__ == "__main__":
    main()
