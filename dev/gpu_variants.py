"""Ways to run the route step on the Polars GPU engine, timed side by side (issue 28).

    python dev/gpu_variants.py STORE [--variants shipped no-cache ...] [--emulate]

Runs ``tradeflows detect STORE`` once on the CPU engine (the reference) and
once per variant on the GPU engine, each in a child process (wall time, peak
RSS and GPU memory: ``benchmarks/bench_ingest.run_code``), and says whether
each variant's flags are the CPU's (``benchmarks/bench_scale._same``). A
variant patches one place before the run:

* ``shipped``: as the package is: the route step's frames executed and cached
  (on the GPU engine a cached frame is copied to the device once per plan);
* ``no-cache``: executed but not cached (each read copies the frame to the
  device again; the code before 2026-12-04);
* ``lazy-cache``: not executed between plans, only cached: no copy back to
  the host and up again, but each plan computes the frames anew;
* ``streaming-executor``: cudf-polars' streaming executor on one partition
  instead of its in-memory one.

The H200's profile (``benchmarks/RESULTS.md``, 2026-12-04) put 3.5 s of
detect's 12.3 s of GPU collects in copies to the device and 4.1 s in copies
back; these variants measure what each remedy gives.

``--emulate`` runs the variants on a machine without a GPU: each plan is
translated as cudf-polars would (raising on a refusal, as
``scripts/gpu_plan_check.py`` does) and then executed on the CPU, so that a
variant's plans are known to translate and to give the CPU's flags before a
device is lent (the streaming executor's own translation is not checked that
way). Its times mean nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ingest import run_code  # noqa: E402
from bench_scale import _same  # noqa: E402

#: What each variant runs before ``detect`` (``R``: ``tradeflows._routes``,
#: ``E``: ``tradeflows._engine``).
VARIANTS = {
    "shipped": "",
    "no-cache": "R._materialise = lambda lf, e: E.collect(lf, e).lazy()",
    "lazy-cache": (
        "R._materialise = lambda lf, e: "
        "lf.cache() if E.resolve(e) == 'gpu' else E.collect(lf, e).lazy()"
    ),
    "streaming-executor": (
        "_in = E._polars_engine\n"
        "E._polars_engine = lambda n: pl.GPUEngine(raise_on_fail=True, executor='streaming', "
        "executor_options={'max_rows_per_partition': 1 << 31}) if n == 'gpu' else _in(n)"
    ),
}

#: Without a GPU: each GPU plan translated as cudf-polars would, then run on
#: the CPU (``scripts/gpu_plan_check.py``'s collect).
EMULATE = f"""
sys.path.insert(0, {str(ROOT / "scripts")!r})
from gpu_plan_check import _translate_then_collect
E.collect = _translate_then_collect
E.resolve = lambda e=None: 'gpu' if e in ('gpu', 'auto', None) else e
"""


def code(store: Path, out: Path, engine: str, patch: str, emulate: bool) -> str:
    """The child's program: the patch, then ``tradeflows detect``."""
    args = ["detect", str(store), "--engine", engine, "--out", str(out), "--quiet"]
    return "\n".join(
        [
            f"import sys; sys.path.insert(0, {str(ROOT)!r})",
            "import polars as pl",
            "import tradeflows._engine as E",
            "import tradeflows._routes as R",
            EMULATE if emulate and engine == "gpu" else "",
            patch,
            "from tradeflows.cli import main",
            f"sys.exit(main({args!r}))",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--emulate", action="store_true", help="no GPU: translate, then run on the CPU")
    args = ap.parse_args(argv)
    print("| run | wall s | peak RSS GiB | peak GPU GiB | flags as the CPU's |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        ref = Path(d) / "cpu.parquet"
        runs = [("cpu", "cpu", "")] + [(v, "gpu", VARIANTS[v]) for v in args.variants]
        failed = 0
        for name, engine, patch in runs:
            out = ref if name == "cpu" else Path(d) / f"{name}.parquet"
            r = run_code(code(args.store, out, engine, patch, args.emulate), gpu=engine == "gpu")
            if r["error"]:
                failed += 1
                print(f"| {name} | failed: {r['error']} | | | |", flush=True)
                continue
            same = "(reference)" if out == ref else _same("detect", ref, out)
            gpu = f"{r['gpu']:.2f}" if r.get("gpu") is not None else "-"
            print(f"| {name} | {r['wall']:.1f} | {r['rss']:.2f} | {gpu} | {same} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
