"""Ways to run detect and ingest on the Polars GPU engine, timed side by side (issue 28).

    python dev/gpu_variants.py STORE [--files COMTRADE_DIR] [--variants ...] [--emulate]

Runs ``tradeflows detect STORE`` (and with ``--files``, ``tradeflows ingest``
of those files) once on the CPU engine, the reference, and once per variant
on the GPU engine, each in a child process (wall time, peak RSS and GPU
memory: ``benchmarks/bench_ingest.run_code``), and says whether each
variant's flags or store are the CPU's (``benchmarks/bench_scale._same``). A
variant patches one place before the run. For detect:

* ``shipped``: as the package is: the route step's frames executed and cached
  (on the GPU engine a cached frame is copied to the device once per plan);
* ``no-cache``: executed but not cached (each read copies the frame to the
  device again; the code before 2026-12-04);
* ``lazy-cache``: not executed between plans, only cached: no copy back to
  the host and up again, but each plan computes the frames anew;
* ``streaming-executor``: cudf-polars' streaming executor on one partition
  instead of its in-memory one.

For ingest: ``shipped`` (each file parsed on the device, values read
exactly) and ``cpu-parse`` (parsed by the CPU's parser, cleaned on the GPU:
ingest on the GPU engine before the device parse).

The H200's profile (``benchmarks/RESULTS.md``, 2026-12-04) put 3.5 s of
detect's 12.3 s of GPU collects in copies to the device and 4.1 s in copies
back, and ingest on the GPU took 0.53x the CPU's speed; these variants
measure what each remedy gives.

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

#: What each variant runs before its step (``R``: ``tradeflows._routes``,
#: ``E``: ``tradeflows._engine``, ``S``: ``tradeflows._store``).
VARIANTS = {
    "detect": {
        "shipped": "",
        "no-cache": "R._materialise = lambda lf, e: E.collect(lf, e).lazy()",
        "lazy-cache": (
            "R._materialise = lambda lf, e: "
            "lf.cache() if E.resolve(e) == 'gpu' else E.collect(lf, e).lazy()"
        ),
        # Failed on the H200 (2026-12-04) with a RecursionError after six kinds
        # of node fell back to one partition; the traceback's tail goes to
        # stderr (the log) so that the next run says where.
        "streaming-executor": (
            "import os; os.environ['TRADEFLOWS_DEBUG'] = '1'\n"
            "_in = E._polars_engine\n"
            "E._polars_engine = lambda n: pl.GPUEngine(raise_on_fail=True, executor='streaming', "
            "executor_options={'max_rows_per_partition': 1 << 31}) if n == 'gpu' else _in(n)"
        ),
    },
    "ingest": {
        "shipped": "",
        # The files parsed by the CPU's parser, the chunks cleaned on the GPU
        # (ingest on the GPU engine before the device parse).
        "cpu-parse": (
            "_read = S._read\n"
            "S._read = lambda build, path, e: _read(build, path, 'cpu' if e == 'gpu' else e)"
        ),
    },
}

#: Without a GPU: each GPU plan translated as cudf-polars would, then run on
#: the CPU (``scripts/gpu_plan_check.py``'s collect).
EMULATE = f"""
sys.path.insert(0, {str(ROOT / "scripts")!r})
from gpu_plan_check import _translate_then_collect
E.collect = _translate_then_collect
E.resolve = lambda e=None: 'gpu' if e in ('gpu', 'auto', None) else e
"""


def code(args: list[str], engine: str, patch: str, emulate: bool) -> str:
    """The child's program: the patch, then ``tradeflows ARGS --engine ENGINE``."""
    return "\n".join(
        [
            f"import sys; sys.path.insert(0, {str(ROOT)!r})",
            "import polars as pl",
            "import tradeflows._engine as E",
            "import tradeflows._routes as R",
            "import tradeflows._store as S",
            EMULATE if emulate and engine == "gpu" else "",
            patch,
            "from tradeflows.cli import main",
            f"sys.exit(main({[*args, '--engine', engine, '--quiet']!r}))",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path, help="the store detect reads")
    ap.add_argument("--files", type=Path, help="Comtrade files: ingest's variants too")
    ap.add_argument("--variants", nargs="+", help="only these (default: all)")
    ap.add_argument("--emulate", action="store_true", help="no GPU: translate, then run on the CPU")
    args = ap.parse_args(argv)
    print("| step | run | wall s | peak RSS GiB | peak GPU GiB | same as the CPU's |")
    print("|---|---|---|---|---|---|")
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for step, variants in VARIANTS.items():
            if step == "ingest" and args.files is None:
                continue
            chosen = [v for v in variants if not args.variants or v in args.variants]
            suffix = "" if step == "ingest" else ".parquet"
            src = args.files if step == "ingest" else args.store
            ref = Path(d) / f"{step}_cpu{suffix}"
            for name, engine in [("cpu", "cpu"), *((v, "gpu") for v in chosen)]:
                out = Path(d) / f"{step}_{name}{suffix}" if engine == "gpu" else ref
                patch = variants[name] if engine == "gpu" else ""
                cli = [step, str(src), "--out", str(out)]
                r = run_code(code(cli, engine, patch, args.emulate), gpu=engine == "gpu")
                if r["error"]:
                    failed += 1
                    print(f"| {step} | {name} | failed: {r['error']} | | | |", flush=True)
                    continue
                same = "(reference)" if engine == "cpu" else _same(step, ref, out)
                gpu = f"{r['gpu']:.2f}" if r.get("gpu") is not None else "-"
                print(
                    f"| {step} | {name} | {r['wall']:.1f} | {r['rss']:.2f} | {gpu} | {same} |",
                    flush=True,
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
