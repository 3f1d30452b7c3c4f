"""Size, time and peak memory of the synthetic world generator.

    python benchmarks/bench_synth.py --products 700 --pairs 700

Runs ``make_trade_world`` in a child process (so that its peak RSS is its
own), prints a table and appends it to ``benchmarks/RESULTS.md`` with the
machine and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=700)
    ap.add_argument("--pairs", type=int, default=700)
    ap.add_argument("--others", type=int, default=120)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        code = (
            "import time, json; from tradeflows._synth import make_trade_world; t=time.perf_counter();"
            f"i=make_trade_world({d!r}, preset='smooth', seed=7, n_others={args.others}, n_products={args.products},"
            f" pairs_per_product={args.pairs}); print(json.dumps([i['rows'], time.perf_counter()-t]))"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit("make_trade_world failed")
        rows, seconds = json.loads(out)
        size = sum(f.stat().st_size for f in Path(d).rglob("*.csv")) / 2**30
    sys.path.insert(0, str(HERE))
    from bench_ingest import machine, record

    table = "\n".join([
        f"### Synthetic world, {rows:,} report rows, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_synth.py --products {args.products} --pairs {args.pairs}`",
        "",
        "| rows | CSV GiB | wall s | rows/s | peak RSS GiB |",
        "|---|---|---|---|---|",
        f"| {rows:,} | {size:.2f} | {seconds:.0f} | {rows / seconds:,.0f} | {usage.ru_maxrss / 2**20:.2f} |",
        "",
    ])  # fmt: skip
    record(table, save=not args.no_record)


if __name__ == "__main__":
    main()
