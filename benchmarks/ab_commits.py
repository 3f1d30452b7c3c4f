"""One tradeflows command, timed on two versions of the code in turn, on the same data.

    python benchmarks/ab_commits.py --base HEAD -- detect STORE --out f.parquet --quiet
    python benchmarks/ab_commits.py --base 356d145 --repeat 6 -- report STORE --out r.html
    python benchmarks/ab_commits.py --fresh /tmp/s -- ingest FILES --out /tmp/s --quiet
    python benchmarks/ab_commits.py -- benchmarks/clean_file.py FILE   # a script, not the CLI

A shared machine's noise is as large as most changes (benchmarks/RESULTS.md:
the same command moves by 15-20% from one hour to the next), so a change is
measured against the code before it in one run, alternating: ``--base``
(a commit, extracted with ``git archive`` into a temporary folder) and the
working tree, each run in a child Python of this virtual environment that
imports tradeflows from that tree (not from the editable install, whose
finder would otherwise win over ``sys.path``). Each pair of runs starts
with the other version, so that neither always follows a warm cache.

A first argument ending in ``.py`` is a script run in the child instead of
the command line (``sys.argv`` its arguments), for what only the Python API
does (``clean_file.py``: :func:`tradeflows.clean.clean` of one file).

``--fresh PATH`` removes PATH before every run, untimed: an ingest into a
store that holds the files already has nothing to do.

Prints one row per pair, the median of each side and their ratio, and
appends the table to ``benchmarks/RESULTS.md`` with the machine and the
command (``--no-record`` to only print).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, record, run_code  # noqa: E402

#: The child's first lines: tradeflows from the tree named first, not the editable install.
BOOT = (
    "import sys; tree = sys.argv[1]; "
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]; "
    "sys.path.insert(0, tree); import tradeflows; "
    "assert tradeflows.__file__.startswith(tree), tradeflows.__file__; args = sys.argv[2:]\n"
    "if args[0].endswith('.py'):\n"
    "    import runpy; sys.argv = args; runpy.run_path(args[0], run_name='__main__')\n"
    "else:\n"
    "    from tradeflows.cli import main; sys.exit(main(args))"
)


def extract(rev: str, into: Path) -> Path:
    """The tracked files of commit ``rev`` under ``into`` (``git archive``); the folder."""
    with tempfile.TemporaryFile() as tar:
        subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev],
                       stdout=tar, check=True)  # fmt: skip
        tar.seek(0)
        with tarfile.open(fileobj=tar) as archive:
            # Our own commit; the "data" filter where this Python has it (3.10.12+).
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(into, **safe)
    return into


def timed(tree: Path, args: list[str], fresh: Path | None = None) -> float:
    """Wall seconds of ``tradeflows ARGS`` with the code of ``tree`` (``fresh``
    removed first, untimed); raises if it fails."""
    if fresh is not None and fresh.is_dir():
        shutil.rmtree(fresh)
    elif fresh is not None:
        fresh.unlink(missing_ok=True)
    run = run_code(f"import sys; sys.argv = {['-c', str(tree), *args]!r}; {BOOT}")
    if run["error"]:
        raise SystemExit(f"{tree}: {_shown(args)} failed: {run['error']}")
    return run["wall"]


def compare(
    base: Path, head: Path, args: list[str], repeat: int, fresh: Path | None = None
) -> list[tuple[float, float]]:
    """``repeat`` pairs of (base, head) wall seconds, the order alternating from pair to pair."""
    pairs = []
    for i in range(repeat):
        if i % 2 == 0:
            b = timed(base, args, fresh)
            h = timed(head, args, fresh)
        else:
            h = timed(head, args, fresh)
            b = timed(base, args, fresh)
        pairs.append((b, h))
        print(f"pair {i + 1}: base {b:.2f} s, this tree {h:.2f} s", flush=True)
    return pairs


def _shown(args: list[str]) -> str:
    """The command timed, as a reader would type it."""
    return f"python {' '.join(args)}" if args[0].endswith(".py") else f"tradeflows {' '.join(args)}"


def table(pairs: list[tuple[float, float]], rev: str, args: list[str], cmd: str) -> str:
    base = statistics.median(b for b, _ in pairs)
    head = statistics.median(h for _, h in pairs)
    lines = [
        f"### `{_shown(args)}`: {rev} against the working tree, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `{cmd}` (runs alternating, each pair begun by the other version).",
        "",
        "| pair | base s | this tree s |",
        "|---|---|---|",
        *(f"| {i + 1} | {b:.2f} | {h:.2f} |" for i, (b, h) in enumerate(pairs)),
        f"| median | {base:.2f} | {head:.2f} |",
        "",
        f"The working tree takes {head / base:.2f}x the base's time (medians); "
        f"faster in {sum(h < b for b, h in pairs)} of {len(pairs)} pairs.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="the commit to compare with (default HEAD)")
    ap.add_argument("--repeat", type=int, default=4, help="pairs of runs (default 4)")
    ap.add_argument("--fresh", type=Path, help="a path removed before every run (a store)")
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="-- then tradeflows' arguments")
    args = ap.parse_args(argv)
    command = args.args[1:] if args.args[:1] == ["--"] else args.args
    if not command:
        ap.error("give the tradeflows command after --, e.g. -- detect STORE --out f.parquet")
    cmd = "python benchmarks/ab_commits.py " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="tradeflows-ab-") as tmp:
        base = extract(args.base, Path(tmp))
        pairs = compare(base, ROOT, command, args.repeat, args.fresh)
    record(table(pairs, args.base, command, cmd), save=not args.no_record)


if __name__ == "__main__":
    main()
