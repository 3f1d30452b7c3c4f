"""The mirror step: tradeflows beside a straightforward pandas version and a bare polars floor.

    python benchmarks/bench_mirror.py --store benchmarks/data/world_331/store

Each variant reads the store and pairs the two reports of every flow, in a
child process of its own (peak RSS is its own):

* ``tradeflows``: ``pair_reports`` + ``mirror_context`` + ``mirror`` executed
  once each, as ``detect`` runs them;
* ``pandas``: the same computation written the plain pandas way (group-bys,
  an outer merge, per-flow shifts and a rolling median by ``groupby``);
* ``polars-floor``: a bare scan + group-by of the store on the flow key, the
  least any pairing can do.

The pandas result is checked against tradeflows' (rows and total reconciled
value). Prints a table and appends it to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, record  # noqa: E402

KEY = ["freq", "period", "exporter", "importer", "hs"]
FLOW = ["freq", "exporter", "importer", "hs"]


def run_tradeflows(store: str) -> tuple[int, float]:
    from tradeflows._mirror import collect_mirror
    from tradeflows._store import scan_store

    m = collect_mirror(scan_store(store), "cpu")
    return m.height, float(m["value"].sum())


def run_floor(store: str, engine: str = "in-memory") -> tuple[int, float]:
    import polars as pl

    from tradeflows._store import scan_store

    out = (
        scan_store(store)
        .group_by("freq", "period", "reporter", "partner", "hs", "flow")
        .agg(pl.col("value_usd").sum())
        .collect(engine=engine)
    )
    return out.height, float(out["value_usd"].sum())


def run_pandas(store: str) -> tuple[int, float]:
    pairs = pandas_mirror(store)
    return len(pairs), float(pairs["value"].sum())


def pandas_mirror(store):
    """The mirror's pairs, the straightforward pandas way (a pandas DataFrame).

    ``store`` is a store's folder, or its canonical rows as a pandas DataFrame.
    """
    import numpy as np
    import pandas as pd

    from tradeflows._store import read_audit

    if isinstance(store, pd.DataFrame):
        df = store.copy()
    else:
        data = Path(store) / read_audit(store)["data"]
        df = pd.concat(
            [pd.read_parquet(f, columns=["period", "freq", "reporter", "partner", "flow", "hs",
                                         "value_usd", "net_kg", "slip_suspect"])
             for f in sorted(data.rglob("*.parquet"))],
            ignore_index=True,
        )  # fmt: skip
    df["flow"] = df["flow"].astype(str)
    df["freq"] = df["freq"].astype(str)
    df["period"] = pd.to_datetime(df["period"])
    # Who filed what level (product rows, all-goods rows) in each period and role.
    filed = df[["reporter", "freq", "period"]].assign(
        role=np.where(df["flow"].isin(["M", "RM"]), "importer", "exporter"),
        products=df["hs"] != "TOTAL",
        totals=df["hs"] == "TOTAL",
    )
    filed = filed.groupby(["reporter", "freq", "period", "role"], as_index=False)[
        ["products", "totals"]
    ].any()
    df = df[
        (df["partner"] != "WLD")
        & (df["reporter"] != df["partner"])
        & df["flow"].isin(["X", "RX", "M"])
    ]

    x = df[df["flow"] != "M"].rename(columns={"reporter": "exporter", "partner": "importer"})
    x = x.assign(vx=x["value_usd"].where(x["flow"] == "X"), vrx=x["value_usd"].where(x["flow"] == "RX"),
                 kx=x["net_kg"].fillna(0.0).where(x["flow"] == "X"))  # fmt: skip
    grouped_x = x.groupby(KEY)
    ex = pd.DataFrame({
        "value_x": grouped_x["vx"].sum(min_count=1),
        "value_rx": grouped_x["vrx"].sum(min_count=1),
        "kg_x": grouped_x["kx"].sum(min_count=1),
        "slip_x": grouped_x["slip_suspect"].any(),
    }).reset_index()  # fmt: skip
    ex["value_x"] = ex["value_x"].fillna(ex["value_rx"])
    m = df[df["flow"] == "M"].rename(columns={"reporter": "importer", "partner": "exporter"})
    im = m.groupby(KEY, as_index=False).agg(
        value_m=("value_usd", "sum"), kg_m=("net_kg", "sum"), slip_m=("slip_suspect", "any")
    )
    pairs = ex.merge(im, on=KEY, how="outer")
    pairs["slip"] = pairs["slip_x"].fillna(False).astype(bool) | pairs["slip_m"].fillna(
        False
    ).astype(bool)

    both = pairs[(pairs["value_x"] > 0) & (pairs["value_m"] > 0)].copy()
    both["r"] = np.log(both["value_m"] / both["value_x"])
    g = both["r"].median()
    per = both.groupby(["exporter", "importer"])["r"].agg(["median", "size"]).reset_index()
    per["cif_fob"] = np.exp((per["size"] * per["median"] + 10 * g) / (per["size"] + 10)).clip(
        1.0, 1.5
    )
    pairs = pairs.merge(
        per[["exporter", "importer", "cif_fob"]], on=["exporter", "importer"], how="left"
    )
    pairs["cif_fob"] = pairs["cif_fob"].fillna(per["cif_fob"].median())

    both = pairs[(pairs["value_x"] > 0) & (pairs["value_m"] > 0)]
    d = np.abs(np.log(both["value_m"] / (both["value_x"] * both["cif_fob"])))
    rel_x = (1 / (0.05 + d.groupby(both["exporter"]).median())).rename("weight_x")
    rel_m = (1 / (0.05 + d.groupby(both["importer"]).median())).rename("weight_m")
    default = pd.concat([rel_x, rel_m]).median()
    pairs = pairs.merge(rel_x, left_on="exporter", right_index=True, how="left")
    pairs = pairs.merge(rel_m, left_on="importer", right_index=True, how="left")
    pairs[["weight_x", "weight_m"]] = pairs[["weight_x", "weight_m"]].fillna(default)

    cols = ["reporter", "freq", "period", "products", "totals"]
    fx = filed[filed["role"] == "exporter"][cols].rename(
        columns={"reporter": "exporter", "products": "xp", "totals": "xt"}
    )
    fm = filed[filed["role"] == "importer"][cols].rename(
        columns={"reporter": "importer", "products": "mp", "totals": "mt"}
    )
    pairs = pairs.merge(fx, on=["exporter", "freq", "period"], how="left")
    pairs = pairs.merge(fm, on=["importer", "freq", "period"], how="left")
    total = pairs["hs"] == "TOTAL"
    x_filed = np.where(total, pairs["xt"].fillna(False), pairs["xp"].fillna(False)).astype(bool)
    m_filed = np.where(total, pairs["mt"].fillna(False), pairs["mp"].fillna(False)).astype(bool)
    pairs["importer_silent"] = ~m_filed
    pairs["silent"] = ~x_filed | pairs["importer_silent"]

    m_fob = pairs["value_m"] / pairs["cif_fob"]
    pairs["value"] = np.where(
        pairs["value_x"].notna() & pairs["value_m"].notna(),
        (pairs["weight_x"] * pairs["value_x"] + pairs["weight_m"] * m_fob)
        / (pairs["weight_x"] + pairs["weight_m"]),
        pairs["value_x"].fillna(m_fob),
    )

    pairs["m_fob"] = m_fob
    pairs = pairs.sort_values([*FLOW, "period"]).reset_index(drop=True)
    grouped = pairs.groupby(FLOW, sort=False)
    prev_ok = grouped["period"].shift(1) == pairs["period"] - pd.DateOffset(months=1)
    next_ok = grouped["period"].shift(-1) == pairs["period"] + pd.DateOffset(months=1)

    def window(col: str) -> pd.Series:
        s = pairs[col].fillna(0.0)
        return (
            s
            + grouped[col].shift(1).fillna(0.0).where(prev_ok, 0.0)
            + grouped[col].shift(-1).fillna(0.0).where(next_ok, 0.0)
        )

    x3, m3 = window("value_x"), window("m_fob")
    pairs["gap"] = ((m3 - x3) / np.maximum(m3, x3)).where(~pairs["silent"])
    pairs["gap_history"] = grouped["gap"].transform(
        lambda s: s.shift(1).rolling(12, min_periods=3).median()
    )
    pairs["gap_change"] = pairs["gap"] - pairs["gap_history"]
    return pairs


def child(variant: str, store: str) -> None:
    t = time.perf_counter()
    rows, total = {"tradeflows": run_tradeflows, "pandas": run_pandas, "polars-floor": run_floor}[
        variant
    ](store)
    print(json.dumps({"rows": rows, "total": total, "seconds": time.perf_counter() - t}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--child")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.store)
        return
    from tradeflows._store import read_audit

    n = read_audit(args.store)["store"]["rows"]
    results = {}
    for variant in ("tradeflows", "pandas", "polars-floor"):
        proc = subprocess.Popen([sys.executable, __file__, "--store", args.store, "--child", variant],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{variant} failed")
        results[variant] = {**json.loads(out), "rss": usage.ru_maxrss / 2**20}
    tf, pd_ = results["tradeflows"], results["pandas"]
    same = tf["rows"] == pd_["rows"] and abs(tf["total"] - pd_["total"]) <= 1e-6 * abs(tf["total"])
    lines = [
        f"### Mirror step on a {n:,}-row store, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_mirror.py --store {args.store}`",
        "",
        "| variant | wall s | store rows/s | peak RSS GiB | pairs | vs tradeflows |",
        "|---|---|---|---|---|---|",
        *[
            f"| {v} | {r['seconds']:.1f} | {n / r['seconds']:,.0f} | {r['rss']:.2f} | {r['rows']:,} | "
            f"{r['seconds'] / tf['seconds']:.2f}x |"
            for v, r in results.items()
        ],
        "",
        f"pandas gives the same pairs and total reconciled value: {'yes' if same else 'NO'}. "
        f"tradeflows is {pd_['seconds'] / tf['seconds']:.1f}x faster than pandas and "
        f"{tf['seconds'] / results['polars-floor']['seconds']:.1f}x the bare polars group-by.",
        "",
    ]
    record("\n".join(lines), save=not args.no_record)


if __name__ == "__main__":
    main()
