"""Ingest speed and memory: tradeflows beside a bare polars floor and plain pandas.

    python benchmarks/bench_ingest.py --rows 10000000 --repeat 3      (make bench)

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
import contextlib
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = ["tradeflows", "tradeflows-streaming", "polars-floor", "pandas"]


def run_tradeflows(path: Path, engine: str) -> int:
    from tradeflows._store import ingest

    with tempfile.TemporaryDirectory() as d:
        doc = ingest([path], Path(d) / "store", engine=engine)
        return doc["store"]["rows"]


#: The Comtrade columns ingest reads (and the pandas version with it).
COLUMNS = [
    "typeCode",
    "freqCode",
    "period",
    "reporterCode",
    "partnerCode",
    "partner2Code",
    "flowCode",
    "classificationCode",
    "cmdCode",
    "customsCode",
    "motCode",
    "qtyUnitAbbr",
    "qty",
    "netWgt",
    "primaryValue",
]


def run_polars_floor(path: Path, engine: str = "in-memory", every_column: bool = False) -> int:
    """Rows of a bare scan + group-by of the flow key, summing the value.

    With ``every_column`` the group-by also reads the other columns ingest
    reads (the weights summed, the other codes' nulls counted), so that the
    scan parses the same 15 columns as ingest instead of 6.
    """
    import polars as pl

    keys = ["reporterCode", "partnerCode", "flowCode", "cmdCode", "period"]
    aggs = [pl.col("primaryValue").sum()]
    if every_column:
        numbers = ["primaryValue", "netWgt", "qty"]
        rest = [c for c in COLUMNS if c not in (*keys, *numbers)]
        aggs = [pl.col(numbers).cast(pl.Float64, strict=False).sum(), pl.col(rest).is_null().sum()]
    out = (
        pl.scan_csv(path, schema_overrides={k: pl.String for k in keys})
        .group_by(keys)
        .agg(aggs)
        .collect(engine=engine)
    )
    return out.height


def run_pandas(path: Path) -> int:
    """The same cleaning as tradeflows, written the straightforward pandas way.

    Same rules, same order, same audit (rows dropped by reason), same output:
    its row count is checked against tradeflows' in the table, and its rows
    and unit slips in ``tests/test_bench_baselines.py``. Returns the rows
    written to a store (partitioned by year, in a temporary folder).
    """
    out = pandas_ingest(path)
    out = out.assign(year=out["period"].dt.year)
    with tempfile.TemporaryDirectory() as d:
        out.to_parquet(Path(d) / "store", partition_cols=["year"])
    return len(out)


def pandas_ingest(path):
    """:func:`run_pandas`' kept rows (``path``: a file or a list of files), as a pandas DataFrame."""
    import numpy as np
    import pandas as pd

    from tradeflows._reference import comtrade_to_iso3, hs_codes

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    df = pd.concat(
        [pd.read_csv(p, usecols=COLUMNS, dtype=str, keep_default_na=False) for p in paths],
        ignore_index=True,
    )
    df["drop"] = None

    def mark(reason, cond):
        df.loc[df["drop"].isna() & cond, "drop"] = reason

    codes = {str(k): v for k, v in comtrade_to_iso3().items()}
    df["reporter"] = df["reporterCode"].str.strip().map(codes)
    df["partner"] = df["partnerCode"].str.strip().map(codes)
    df["value_usd"] = pd.to_numeric(df["primaryValue"], errors="coerce")
    df["net_kg"] = pd.to_numeric(df["netWgt"], errors="coerce")
    df["qty"] = pd.to_numeric(df["qty"], errors="coerce")
    df["period"] = pd.to_datetime(df["period"].str.strip() + "01", format="%Y%m%d", errors="coerce")
    hs = df["cmdCode"].str.strip()
    df["hs"] = hs.where(hs.str.len() % 2 == 0, "0" + hs)
    revisions = {
        "H0": "HS1992",
        "H1": "HS1996",
        "H2": "HS2002",
        "H3": "HS2007",
        "H4": "HS2012",
        "H5": "HS2017",
        "H6": "HS2022",
    }
    df["hs_revision"] = df["classificationCode"].map(revisions)
    df["flow"] = df["flowCode"].str.strip()
    for dim, col, totals in [
        ("partner2", "partner2Code", ["0", ""]),
        ("customs", "customsCode", ["C00", ""]),
        ("mot", "motCode", ["0", ""]),
    ]:
        df[dim] = df[col].str.strip().where(~df[col].str.strip().isin(totals), "")
    # Invalid input.
    six = set(
        pd.concat([hs_codes("HS2017")["hs"].to_pandas(), hs_codes("HS2022")["hs"].to_pandas()])
    )
    mark("unknown_country", df["reporter"].isna() | df["partner"].isna())
    mark("bad_period", df["period"].isna())
    mark("unknown_hs", ~df["hs"].str[:6].isin(six))
    mark("bad_value", df["value_usd"].isna() & (df["primaryValue"].str.strip() != ""))
    mark("missing_value", df["value_usd"].isna())
    mark("not_goods", df["typeCode"].str.strip() != "C")
    # Aggregates, and World beside country detail of the same reporter, flow, product, month.
    mark("reporter_aggregate", df["reporter"].isin(["AGG", "WLD"]))
    mark("partner_aggregate", df["partner"] == "AGG")
    group = ["period", "reporter", "flow", "hs"]
    live = df["drop"].isna()
    detail = df[live & (df["partner"] != "WLD")].set_index(group).index.unique()
    mark(
        "partner_world_beside_detail",
        (df["partner"] == "WLD") & df.set_index(group).index.isin(detail),
    )
    # Domestic exports / foreign imports beside their totals.
    key = ["period", "reporter", "partner", "flow", "hs"]
    if df["flow"].isin(["DX", "FM"]).any():
        base = ["period", "reporter", "partner", "hs"]
        totals = df[df["drop"].isna() & df["flow"].isin(["X", "M"])]
        idx = df.set_index([*base, "flow"]).index
        has_x = idx.isin(
            totals.assign(flow=totals["flow"].map({"X": "DX", "M": "FM"}))
            .set_index([*base, "flow"])
            .index
        )
        mark("domestic_export_beside_total", (df["flow"] == "DX") & has_x)
        mark("foreign_import_beside_total", (df["flow"] == "FM") & has_x)
        df["flow"] = df["flow"].replace({"DX": "X", "FM": "M"})
    # Breakdowns: beside a total they go; without one they are summed.
    dims = ["partner2", "customs", "mot"]
    for dim in dims:
        k = [*key, *(d for d in dims if d != dim)]
        live = df["drop"].isna()
        tot = df[live & (df[dim] == "")].set_index(k).index.unique()
        detail = live & (df[dim] != "")
        beside = df.set_index(k).index.isin(tot)
        mark(f"{dim}_breakdown", detail & beside)
        alone = df[df["drop"].isna() & (df[dim] != "")]
        if len(alone):
            sums = alone.groupby(k, dropna=False)[["value_usd", "net_kg", "qty"]].transform("sum")
            first = ~alone.duplicated(subset=k)
            df.loc[alone.index[first.to_numpy()], ["value_usd", "net_kg", "qty"]] = sums[
                first.to_numpy()
            ].to_numpy()
            df.loc[alone.index[first.to_numpy()], dim] = ""
            df.loc[alone.index[~first.to_numpy()], "drop"] = "summed_into_total"
    # Duplicates: exact ones keep the first, revisions keep the last.
    values = [*key, "hs_revision", "value_usd", "net_kg", "qty", "qtyUnitAbbr", *dims]
    live = df["drop"].isna()
    dup = df[live].duplicated(subset=values, keep="first")
    df.loc[dup[dup].index, "drop"] = "duplicate_exact"
    live = df["drop"].isna()
    sup = df[live].duplicated(subset=[*key, *dims], keep="last")
    df.loc[sup[sup].index, "drop"] = "duplicate_superseded"
    # HS parents beside their own detail.
    live = df["drop"].isna()
    children = df[live]
    prefixes = pd.concat(
        [
            children[children["hs"].str.len() > n].assign(hs=lambda d, n=n: d["hs"].str[:n])[key]
            for n in (2, 4, 6, 8)
        ]
    ).drop_duplicates()
    parent = df.set_index(key).index.isin(prefixes.set_index(key).index)
    mark("hs_parent_of_detail", parent)
    # Unit slips (tradeflows.clean.flag_unit_slips): in a steady series of five
    # reports or more, an isolated x1000 jump, which the partner's report of the
    # month (where there is one) must be about 1000x from; in a lumpy series,
    # a month at least 300x above both neighbours and 300-3333x above the
    # partner's report, in a series with such a month far above its median.
    series = ["reporter", "partner", "flow", "hs"]
    live = df[df["drop"].isna() & (df["value_usd"] > 0)][[*series, "period", "value_usd"]]
    live = live.assign(log=np.log10(live["value_usd"]))
    n = live.groupby(series)["log"].transform("size")
    cand = live[n >= 5].copy()
    # The partner's report of the same flow and month (reporter and partner
    # swapped, exports for imports), summed.
    sums = live.groupby([*series, "period"])["value_usd"].sum()
    mirror_key = pd.MultiIndex.from_arrays(
        [cand["partner"], cand["reporter"], cand["flow"].replace({"X": "M", "M": "X"}),
         cand["hs"], cand["period"]]
    )  # fmt: skip
    cand["mirror"] = np.log10(sums.reindex(mirror_key).to_numpy())
    cand["dev"] = cand["log"] - cand.groupby(series)["log"].transform("median")
    cand["spread"] = cand["dev"].abs().groupby([cand[c] for c in series]).transform("median")
    cand = cand.sort_values([*series, "period"], kind="stable")
    g = cand.groupby(series, sort=False)["log"]
    prev, nxt = g.shift(1), g.shift(-1)
    lo, hi = np.log10(300), 6 - np.log10(300)
    near = lambda d: d.abs().between(lo, hi)  # noqa: E731
    v, m = cand["log"], cand["mirror"]
    up = np.sign(v - prev) == np.sign(v - nxt)
    inner = near(v - prev) & near(v - nxt) & up & ((prev - nxt).abs() < 0.5)
    edge = (prev.isna() & near(v - nxt)) | (nxt.isna() & near(v - prev))
    steady = cand["spread"] < 0.3
    in_steady = steady & inner.where(m.isna(), near(v - m) & (inner | edge))
    above = near(v - m) & (v > m)
    far_above = (~steady & (cand["dev"] >= lo / 2 - 1e-9) & above).astype(int)
    confirmed = far_above.groupby([cand[c] for c in series]).transform("max") == 1
    in_lumpy = confirmed & (v - prev >= lo) & (v - nxt >= lo) & above
    df["slip_suspect"] = False
    df.loc[cand.index[(in_steady | in_lumpy).to_numpy()], "slip_suspect"] = True
    # Audit; the kept rows.
    audit = df["drop"].value_counts().to_dict()
    assert len(df) == int(df["drop"].isna().sum()) + sum(audit.values())
    out = df[df["drop"].isna()][
        [
            "period",
            "reporter",
            "partner",
            "flow",
            "hs",
            "hs_revision",
            "value_usd",
            "net_kg",
            "qty",
            "slip_suspect",
        ]
    ]
    return out


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


class _GpuMemory:
    """Peak GPU memory in use while a child runs, read from nvidia-smi every 0.2 s."""

    def __init__(self):
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.wait(0.2):
            try:
                out = subprocess.run(
                    ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                    capture_output=True, text=True, timeout=5, check=True,
                )  # fmt: skip
                self.peak = max(self.peak, float(out.stdout.split()[0]) / 1024)
            except (OSError, subprocess.SubprocessError, ValueError, IndexError):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def warm(path: Path) -> None:
    """Read the file ``path`` (or every file under the folder) once: what a
    measured run reads is then in the page cache, whichever ran before it."""
    for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if f.is_file():
            with open(f, "rb") as stream:
                while stream.read(1 << 24):
                    pass


def run_code(code: str, gpu: bool = False) -> dict:
    """Run ``code`` in a child Python: wall seconds, peak RSS GiB, peak GPU GiB, CPU seconds
    (user, kernel), error.

    A child of its own, so that the peak RSS is the code's alone; ``error`` is
    the last line the child wrote to stderr when it failed (None otherwise).
    """
    t = time.perf_counter()
    monitor = _GpuMemory() if gpu else None
    with tempfile.TemporaryFile("w+") as err, monitor or contextlib.nullcontext():
        proc = subprocess.Popen([sys.executable, "-c", code], stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        # Reaped here (for its rusage), not by Popen: tell it, or it warns the
        # child is "still running" when it is collected.
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        err.seek(0)
        tail = [line for line in err.read().splitlines() if line.strip()]
    failed = proc.returncode
    if failed:
        sys.stderr.write("\n".join(tail[-30:]) + "\n")
    return {
        "wall": wall,
        "rss": usage.ru_maxrss / 2**20,
        # CPU seconds of all the child's threads, in user code and in the kernel
        # (mostly page faults): what a ratio of wall times between two machines
        # does not say (benchmarks/RESULTS.md, issue 27).
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "gpu": monitor.peak if monitor else None,
        "error": (tail[-1][:160] if tail else f"exit {failed}") if failed else None,
    }


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
    ap.add_argument("--repeat", type=int, default=3, help="runs of each variant (fastest kept)")
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
    warm(path)  # the same warm page cache for every variant
    # Interleaved repeats; the fastest run of each variant is the one least
    # disturbed by whatever else the shared machine was doing.
    variants = args.variants.split(",")
    runs: dict[str, list] = {v: [] for v in variants}
    for _ in range(args.repeat):
        for v in variants:
            runs[v].append(measure(v, path))
    results = {
        v: (min(r[0] for r in rs), rs[0][1], max(r[2] for r in rs)) for v, rs in runs.items()
    }
    spread = {v: max(r[0] for r in rs) / min(r[0] for r in rs) for v, rs in runs.items()}
    floor = results.get("polars-floor", (None,))[0]
    mine = results.get("tradeflows", (None,))[0]
    lines = [
        f"### Ingest, {args.rows:,} Comtrade+ rows ({size:.2f} GiB CSV), "
        f"{dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_ingest.py --rows {args.rows} --repeat {args.repeat}"
        + ("" if args.variants == ",".join(VARIANTS) else f" --variants {args.variants}")
        + "`"
        f" (fastest of {args.repeat} interleaved runs; slowest/fastest in the last column)",
        "",
        "| variant | wall s | rows/s | peak RSS GiB | rows out | time vs polars floor "
        "| tradeflows speed-up | run spread |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v, (secs, rows_out, rss) in results.items():
        vs_floor = f"{secs / floor:.2f}x" if floor else ""
        speedup = f"{secs / mine:.2f}x" if mine else ""
        lines.append(
            f"| {v} | {secs:.1f} | {args.rows / secs:,.0f} | {rss:.2f} | {rows_out:,} | "
            f"{vs_floor} | {speedup} | {spread[v]:.2f}x |"
        )
    lines.append("")
    record("\n".join(lines), save=not args.no_record)


def record(table: str, *, save: bool) -> None:
    """Print a result table and, unless told not to, append it to RESULTS.md."""
    print(table)
    if save:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + table + "\n")


if __name__ == "__main__":
    main()
