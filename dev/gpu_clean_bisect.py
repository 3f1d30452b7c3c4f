"""Where the cleaning on the Polars GPU engine parts from the CPU's, verb by verb.

    python dev/gpu_clean_bisect.py WORLD_FOLDER [--year 2022] [--out DIR]

Reads the Comtrade files of a synthetic world (``benchmarks/bench_scale.py``
makes them) as ``ingest`` does, on the CPU, keeps one year (ingest cleans a few
periods at a time), then runs each cleaning verb on the CPU's result of the verbs
before it, once on the CPU and once on the GPU engine. For each verb it prints
the rows whose ``drop`` reason differs, the counts by reason on each engine,
and whether the GPU kept the rows in the order they came in (the verbs that
pick the first or last of a group depend on it). For the first verb that
differs it also runs the parts of ``clean._within`` (the group pick, the
semi-join, the step, the join back) on both engines, and writes the differing
rows to ``DIR/diff_<verb>.parquet``.

Needs a GPU and cudf-polars; with ``--engines cpu cpu`` it runs anywhere (and
must find no difference).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradeflows import clean as c
from tradeflows._engine import collect
from tradeflows._io import scan

VERBS = [
    ("mark_invalid", c.mark_invalid),
    ("drop_aggregates", c.drop_aggregates),
    ("resolve_flows", c.resolve_flows),
    ("merge_breakdowns", c.merge_breakdowns),
    ("merge_duplicates", c.merge_duplicates),
    ("drop_hs_parents", c.drop_hs_parents),
    ("flag_unit_slips", c.flag_unit_slips),
]
ID = ["_file", "row"]


def read_world(folder: Path, year: int | None) -> pl.DataFrame:
    files = sorted((folder / "comtrade").glob("*.csv"))
    frames = []
    for i, f in enumerate(files):
        lf = scan(f, fast=True).with_columns(source=pl.lit(f.name), _file=pl.lit(i, dtype=pl.Int32))
        if year is not None:
            lf = lf.filter(pl.col("period").dt.year() == year)
        frames.append(c.ensure_aux(lf))
    return collect(pl.concat(frames, how="diagonal_relaxed"), "cpu")


def compare(a: pl.DataFrame, b: pl.DataFrame) -> tuple[int, pl.DataFrame, bool]:
    """Rows whose drop differs (by file and line), the differing rows, same order or not."""
    same_order = a.select(ID).equals(b.select(ID))
    j = a.select(*ID, "drop").join(
        b.select(*ID, pl.col("drop").alias("drop_other")), on=ID, how="full", coalesce=True
    )
    diff = j.filter(pl.col("drop").ne_missing(pl.col("drop_other")))
    return diff.height, diff, same_order


def counts(df: pl.DataFrame) -> dict:
    d = df.group_by("drop").len().sort("drop")
    return dict(zip(d["drop"].to_list(), d["len"].to_list(), strict=True))


def within_parts(inp: pl.DataFrame, engines: list[str]) -> None:
    """The pieces of ``_within`` for drop_aggregates and merge_duplicates, on each engine."""
    live = pl.col("drop").is_null()
    key_dup = [*c.KEY, *c._BREAKDOWNS]
    probes = {
        "world groups": (pl.col("partner") == c.WORLD, [g for g in (*c._GROUP, "hs", "source") if g != "partner"]),
        "duplicate groups": (live & pl.struct(*key_dup).is_duplicated(), key_dup),
    }  # fmt: skip
    lf = inp.lazy().with_row_index("_i")
    for name, (selector, key) in probes.items():
        groups = lf.filter(selector).select(key).unique()
        semi = lf.join(groups, on=key, how="semi", nulls_equal=True)
        for what, q in [
            ("selected rows", lf.filter(selector).select(pl.len())),
            ("groups", groups.select(pl.len())),
            ("semi-join rows", semi.select(pl.len())),
        ]:
            got = [collect(q, e).item() for e in engines]
            print(f"  {name}: {what}: " + " vs ".join(f"{g:,}" for g in got))
        order = [collect(semi.select("_i"), e)["_i"] for e in engines]
        print(f"  {name}: semi-join keeps row order: {order[0].equals(order[1])}")
    exact = pl.struct(
        *[v for v in c.CANONICAL if v not in ("source", "slip_suspect")], *c._BREAKDOWNS, live
    )
    for what, e in [
        ("is_first_distinct", exact.is_first_distinct()),
        ("is_last_distinct", pl.struct(*key_dup, live).is_last_distinct()),
        ("is_duplicated", pl.struct(*key_dup).is_duplicated()),
    ]:
        got = [collect(lf.select(e.alias("x")), eng)["x"] for eng in engines]
        print(f"  whole frame {what}: true {got[0].sum():,} vs {got[1].sum():,}; same: {got[0].equals(got[1])}")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("world", type=Path)
    p.add_argument("--year", type=int, default=2022)
    p.add_argument("--engines", nargs=2, default=["cpu", "gpu"])
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    inp = read_world(a.world, a.year)
    print(f"{inp.height:,} rows of {a.year}; engines {a.engines[0]} vs {a.engines[1]}")
    first_bad = None
    for name, verb in VERBS:
        lf = verb(inp.lazy())
        ref, other = (collect(lf, e) for e in a.engines)
        n, diff, same_order = compare(ref, other)
        print(f"{name}: {n:,} rows differ; GPU keeps the order: {same_order}")
        if n:
            print(f"  {a.engines[0]}: {counts(ref)}\n  {a.engines[1]}: {counts(other)}")
            print(diff.group_by("drop", "drop_other").len().sort("len", descending=True).head(8))
            if first_bad is None:
                first_bad = name
                within_parts(inp, a.engines)
                if a.out:
                    a.out.mkdir(parents=True, exist_ok=True)
                    rows = inp.join(diff, on=ID, how="semi")
                    rows.write_parquet(a.out / f"diff_{name}.parquet")
                    inp.write_parquet(a.out / f"input_{name}.parquet")
        inp = ref
    print(f"first verb that differs: {first_bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
