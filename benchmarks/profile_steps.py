"""A per-step profile of one run on each engine, side by side (issue 28).

    TRADEFLOWS_PROFILE=profile_cpu.csv tradeflows detect STORE --engine cpu --out a.parquet
    TRADEFLOWS_PROFILE=profile_gpu.csv tradeflows detect STORE --engine gpu --out b.parquet
    python benchmarks/profile_steps.py profile_cpu.csv profile_gpu.csv [--record]

A run is named by its file (``profile_gpu.csv``: ``gpu``).

Reads the CSVs that ``TRADEFLOWS_PROFILE`` writes (``tradeflows._engine``:
one ``collect (wall)`` row per collect, and on the GPU engine each plan node
as cudf-polars' in-memory executor timed it) and prints two tables:

* by step and run: the collects and their wall time; on the GPU, the time
  planning (polars' optimiser and cudf-polars' translation of the plan) and
  inside plan nodes (the device's work: reads, joins, group-bys, as the
  executor timed them); the rest of a collect is the result handed to polars
  on the host, and Python;
* the GPU's costliest kinds of plan node (``Join``, ``GroupBy``, ...).

``--record`` appends both to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import polars as pl
from bench_ingest import record

WALL = "collect (wall)"
#: Timed rows that are planning, not execution: polars' optimiser and
#: cudf-polars' translation of the plan to its own.
PLANNING = ["optimization", "gpu-ir-translation"]


def _collects(profile: pl.DataFrame) -> pl.DataFrame:
    """One row per collect: its run, step, wall seconds, seconds planning and
    seconds inside plan nodes."""
    took = (pl.col("end_us") - pl.col("start_us")) / 1e6
    is_wall = pl.col("node") == WALL
    planning = pl.col("node").is_in(PLANNING)
    return profile.group_by("run", "collect").agg(
        pl.col("step").first(),
        wall=took.filter(is_wall).sum(),
        plan=took.filter(planning).sum(),
        nodes=took.filter(~is_wall & ~planning).sum(),
    )


def by_step(profiles: list[pl.DataFrame]) -> pl.DataFrame:
    """Collects, wall and node seconds for each step (rows) and run (columns)."""
    collects = pl.concat([_collects(p) for p in profiles])
    per = collects.group_by("step", "run").agg(
        n=pl.len(), wall=pl.col("wall").sum(), plan=pl.col("plan").sum(),
        nodes=pl.col("nodes").sum(),
    )  # fmt: skip
    runs = [p["run"][0] for p in profiles]
    out = per.select("step").unique()
    for e in runs:
        mine = per.filter(pl.col("run") == e).select(
            "step",
            pl.col("n").alias(f"{e} collects"),
            pl.col("wall").alias(f"{e} s"),
            pl.col("plan").alias(f"{e} planning s"),
            pl.col("nodes").alias(f"{e} in nodes s"),
        )
        out = out.join(mine, on="step", how="left")
    return out.sort(f"{runs[0]} s", descending=True, nulls_last=True)


def node_kinds(profile: pl.DataFrame, top: int = 12) -> pl.DataFrame:
    """The costliest kinds of plan node (cudf-polars names a node by its class:
    ``Join``, ``GroupBy``, ...), planning included."""
    return (
        profile.filter(pl.col("node") != WALL)
        .group_by("node")
        .agg(n=pl.len(), s=((pl.col("end_us") - pl.col("start_us")) / 1e6).sum())
        .sort("s", descending=True)
        .head(top)
    )


def _markdown(df: pl.DataFrame) -> str:
    def cell(v: object) -> str:
        if v is None:
            return "-"
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * df.width]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.iter_rows()]
    return "\n".join(lines)


def read_profile(path: Path) -> pl.DataFrame:
    """A ``TRADEFLOWS_PROFILE`` file, its rows labelled with the run: the file's
    name without ``profile_`` (``profile_gpu.csv`` -> ``gpu``)."""
    run = path.stem.removeprefix("profile_")
    profile = pl.read_csv(path, schema_overrides={"step": pl.String, "engine": pl.String})
    return profile.with_columns(run=pl.lit(run))


def tables(paths: list[Path]) -> str:
    """Both tables as markdown, with the totals and each run's ratio to the first."""
    profiles = [read_profile(p) for p in paths]
    steps = by_step(profiles)
    runs = [p["run"][0] for p in profiles]
    totals = {e: steps[f"{e} s"].sum() for e in runs}
    text = [_markdown(steps), ""]
    text.append(
        "Collects in all: "
        + "; ".join(
            f"{e} {totals[e]:.1f} s ({totals[runs[0]] / totals[e]:.2f}x {runs[0]})" for e in runs
        )
        + "."
    )
    for profile in profiles:
        timed = profile.filter(pl.col("node") != WALL)
        if timed.height:
            e = profile["run"][0]
            inside = steps[f"{e} in nodes s"].sum()
            planning = steps[f"{e} planning s"].sum()
            text += [
                "",
                f"{e}: of {totals[e]:.1f} s in collects, {inside:.1f} s inside plan nodes, "
                f"{planning:.1f} s planning (polars' optimiser, cudf-polars' translation) and "
                f"{totals[e] - inside - planning:.1f} s neither (the result handed to polars on "
                "the host, Python). Its costliest plan nodes:",
                "",
                _markdown(node_kinds(profile)),
            ]
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profiles", type=Path, nargs="+", help="TRADEFLOWS_PROFILE files")
    ap.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    body = tables(args.profiles)
    head = (
        f"### Per-step profile, {dt.date.today().isoformat()}\n\n"
        "Command: `python benchmarks/profile_steps.py "
        + " ".join(p.name for p in args.profiles)
        + "`\n\n"
    )
    record(head + body, save=args.record)


if __name__ == "__main__":
    main()
