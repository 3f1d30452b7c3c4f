"""Ingest speed and memory: tradeflows beside a bare polars floor and plain pandas.

    python benchmarks/bench_ingest.py --rows 10000000      (make bench)

Makes (once) a Comtrade+ file with the traps of real downloads
(``make_comtrade.py``), then runs each variant in a child process of its own,
so that peak memory (max RSS) is that variant's alone:

* ``tradeflows``: ``tradeflows.ingest`` (read, every cleaning verb, audit,
  write the partitioned store), in-memory engine;
* ``tradeflows-streaming``: the same on the streaming engine;
* ``polars-floor``: a bare ``scan_csv`` + group-by of the same file, the least
  any reader can do;
* ``pandas``: a straightforward pandas version of the same cleaning (codes to
  ISO3, World and breakdowns dropped, HS zero-padded, parents dropped,
  duplicates dropped, parquet written).

Prints a table and appends it, with the machine and the command, to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = ["tradeflows", "tradeflows-streaming", "polars-floor", "pandas"]


def run_tradeflows(path: Path, engine: str) -> int:
    from tradeflows.store import ingest

    with tempfile.TemporaryDirectory() as d:
        doc = ingest([path], Path(d) / "store", engine=engine)
        return doc["store"]["rows"]


def run_polars_floor(path: Path) -> int:
    import polars as pl

    keys = ["reporterCode", "partnerCode", "flowCode", "cmdCode", "period"]
    out = (
        pl.scan_csv(path, schema_overrides={k: pl.String for k in keys})
        .group_by(keys)
        .agg(pl.col("primaryValue").sum())
        .collect()
    )
    return out.height


def run_pandas(path: Path) -> int:
    import pandas as pd

    from tradeflows.reference import comtrade_to_iso3

    cols = [
        "period",
        "reporterCode",
        "partnerCode",
        "partner2Code",
        "flowCode",
        "cmdCode",
        "primaryValue",
        "netWgt",
        "customsCode",
        "motCode",
    ]
    df = pd.read_csv(path, usecols=cols, dtype=str, keep_default_na=False)
    codes = {str(k): v for k, v in comtrade_to_iso3().items()}
    df["reporter"] = df["reporterCode"].map(codes)
    df["partner"] = df["partnerCode"].map(codes)
    df["value_usd"] = pd.to_numeric(df["primaryValue"], errors="coerce")
    df["net_kg"] = pd.to_numeric(df["netWgt"], errors="coerce")
    df["period"] = pd.to_datetime(df["period"] + "01", format="%Y%m%d")
    hs = df["cmdCode"].str.strip()
    df["hs"] = hs.where(hs.str.len() % 2 == 0, "0" + hs)
    df = df[df["reporter"].notna() & df["partner"].notna() & (df["reporter"] != "AGG")]
    df = df[df["partner"] != "AGG"]
    key = ["period", "reporter", "partner", "flowCode", "hs"]
    # World beside country detail.
    detail = df[df["partner"] != "WLD"].groupby(["period", "reporter", "flowCode", "hs"]).size()
    world = df["partner"] == "WLD"
    has_detail = df.set_index(["period", "reporter", "flowCode", "hs"]).index.isin(detail.index)
    df = df[~(world & has_detail)]
    # Second-partner breakdowns beside their totals.
    totals = df[df["partner2Code"].isin(["0", ""])]
    is_breakdown = ~df["partner2Code"].isin(["0", ""])
    beside = df.set_index(key).index.isin(totals.set_index(key).index)
    df = df[~(is_breakdown & beside)]
    # HS parents beside their detail.
    children = df[df["hs"].str.len() == 6].assign(hs=lambda d: d["hs"].str[:4])
    parent = df.set_index(key).index.isin(children.set_index(key).index)
    df = df[~parent]
    df = df.drop_duplicates(subset=[*key, "value_usd", "partner2Code"])
    out = df[["period", "reporter", "partner", "flowCode", "hs", "value_usd", "net_kg"]]
    with tempfile.TemporaryDirectory() as d:
        out.to_parquet(Path(d) / "out.parquet")
    return len(out)


def child(variant: str, path: Path) -> None:
    start = time.perf_counter()
    if variant == "tradeflows":
        rows = run_tradeflows(path, "cpu")
    elif variant == "tradeflows-streaming":
        rows = run_tradeflows(path, "streaming")
    elif variant == "polars-floor":
        rows = run_polars_floor(path)
    else:
        rows = run_pandas(path)
    print(f"{time.perf_counter() - start:.3f} {rows}")


def measure(variant: str, path: Path) -> tuple[float, int, float]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", variant, "--file", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed with exit code {proc.returncode}")
    seconds, rows = out.split()
    return float(seconds), int(rows), usage.ru_maxrss / 2**20  # KiB -> GiB


def machine() -> str:
    import pandas
    import polars

    cpu = "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, polars {polars.__version__}, "
        f"pandas {pandas.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--child", choices=VARIANTS)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.file)
        return
    path = args.file or HERE / "data" / f"comtrade_{args.rows // 1_000_000}m.csv"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "make_comtrade.py"),
                "--rows",
                str(args.rows),
                "--out",
                str(path),
            ],
            check=True,
        )
    size = path.stat().st_size / 2**30
    results = {v: measure(v, path) for v in args.variants.split(",")}
    floor = results.get("polars-floor", (None,))[0]
    mine = results.get("tradeflows", (None,))[0]
    lines = [
        f"### Ingest, {args.rows:,} Comtrade+ rows ({size:.2f} GiB CSV), "
        f"{dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_ingest.py --rows {args.rows}`",
        "",
        "| variant | wall s | rows/s | peak RSS GiB | rows out | time vs polars floor | tradeflows speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for v, (secs, rows_out, rss) in results.items():
        vs_floor = f"{secs / floor:.2f}x" if floor else ""
        speedup = f"{secs / mine:.2f}x" if mine else ""
        lines.append(
            f"| {v} | {secs:.1f} | {args.rows / secs:,.0f} | {rss:.2f} | {rows_out:,} | "
            f"{vs_floor} | {speedup} |"
        )
    lines.append("")
    table = "\n".join(lines)
    print(table)
    if not args.no_record:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + table + "\n")


if __name__ == "__main__":
    main()
