"""Where one ingest's time goes, phase by phase: wall and CPU seconds, cores busy, page faults.

    python benchmarks/profile_ingest.py benchmarks/data/wide_160/comtrade
    python benchmarks/profile_ingest.py FILES... --record

Runs ``tradeflows.ingest`` of the sources into a temporary store, once, in
this process, with each phase's function wrapped to time it: reading the
files (a large Comtrade file in batches, a smaller one whole), cleaning each
chunk of periods, counting it, the unit-slip pass and writing the chunks held
for it. CPU seconds, minor page faults and kernel seconds are the whole
process's over the phase (``getrusage``), threads included: the writer
thread sorts a chunk while the next one is cleaned, so its work counts in
``clean_chunk``. ``flag_slips`` is shown without the ``write_held`` it calls.

Issue 27 asks ingest to come within 2x the 15-column polars floor
(``bench_scale.py``); this says which part of the rest to look at. Prints a
table; ``--record`` appends it to ``benchmarks/RESULTS.md`` with the machine
and the command.
"""

from __future__ import annotations

import argparse
import functools
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, record  # noqa: E402

#: The phases timed: (module, class or None, function), in the order they run.
PHASES = [
    ("tradeflows._store", None, "_read_batches"),
    ("tradeflows._store", None, "_read"),
    ("tradeflows._store", None, "clean_chunk"),
    ("tradeflows._store", None, "account"),
    ("tradeflows._store", None, "flag_slips"),
    ("tradeflows._chunked", "ChunkWriter", "write_held"),
]


def _usage() -> tuple[float, float, int, float]:
    """Wall seconds, CPU seconds, minor page faults and kernel seconds so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime, r.ru_minflt, r.ru_stime


def _timed(fn, totals: dict, name: str):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        before = _usage()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = [b - a for a, b in zip(before, _usage(), strict=True)]
            totals[name] = [
                t + s for t, s in zip(totals.get(name, [0, 0, 0, 0]), spent, strict=True)
            ]

    return wrapper


def profile(sources: list[str]) -> tuple[dict, list[float], int]:
    """Phase -> [wall s, CPU s, minor faults, kernel s]; the whole ingest's; rows read."""
    import importlib

    import tradeflows  # noqa: F401  (its allocator's decay, before polars loads)

    totals: dict[str, list[float]] = {}
    originals = []
    for module, owner, name in PHASES:
        target = importlib.import_module(module)
        if owner is not None:
            target = getattr(target, owner)
        originals.append((target, name, getattr(target, name)))
        setattr(target, name, _timed(getattr(target, name), totals, name))
    from tradeflows._store import ingest

    folder = Path(tempfile.mkdtemp(prefix="profile-ingest-"))
    try:
        before = _usage()
        doc = ingest(sources, folder / "store")
        whole = [b - a for a, b in zip(before, _usage(), strict=True)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for target, name, fn in originals:  # as they were: the caller may ingest again
            setattr(target, name, fn)
    if "flag_slips" in totals and "write_held" in totals:
        totals["flag_slips"] = [
            s - w for s, w in zip(totals["flag_slips"], totals["write_held"], strict=True)
        ]
    return totals, whole, doc["totals"]["rows_read"]


def table(totals: dict, whole: list[float], rows: int, command: str) -> str:
    lines = [
        f"### Ingest phase by phase, {rows:,} rows read",
        "",
        f"Machine: {machine()}.",
        f"Command: `{command}`.",
        "",
        "| phase | wall s | CPU s | cores busy | minor faults | kernel s |",
        "|---|---|---|---|---|---|",
    ]
    shown = [(name, totals[name]) for _, _, name in PHASES if name in totals]
    for name, (wall, cpu, faults, kernel) in [*shown, ("the whole ingest", whole)]:
        busy = cpu / wall if wall > 0 else 0.0
        lines.append(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {busy:.2f} | {int(faults):,} | {kernel:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="files, folders or globs, as ingest takes them")
    ap.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = ap.parse_args()
    totals, whole, rows = profile(args.sources)
    command = "python benchmarks/profile_ingest.py " + " ".join(args.sources)
    record(table(totals, whole, rows, command), save=args.record)


if __name__ == "__main__":
    main()
