"""Retrain the trees at several random draws and read the benchmarks for each.

    python scripts/compare_draws.py                          # the shipped kind, states 0 1 2
    python scripts/compare_draws.py -- --generators third    # a variant, the same draws
    python scripts/compare_draws.py --states 0 --benchmarks real

A retrained variant's figures move with the trees' random draw alone: the
real EU case by 0.07, one stress dimension by up to 0.07, the other
generators' medians by 0.01-0.03 (benchmarks/RESULTS.md, 2026-12-06, "the
stress suite's evaluation seeds at three draws of the trees"). So a variant
is compared with the shipped kind over the same draws, never one draw.

For each state: ``scripts/train_detector.py --random-state N`` (with the
options given after ``--``: a code change is measured by running this on its
working tree), the trees put in the package, each benchmark run with
``--no-record``; the headline figures of each are gathered into one table
(stdout). The shipped trees are put back at the end, whatever happens:
nothing here changes the repository, and nothing is appended to RESULTS.

Benchmarks: ``stress`` (``bench_detect.py --stress``, the evaluation seeds:
median corridor AP per dimension and their mean; about 3 minutes on cached
worlds), ``second`` (``bench_transfer.py``, noise 1.0 and 2.2), ``third``
(``bench_third.py``), ``real`` (``bench_detect.py --real``: the EU case
rolled up and the places of its published corridors; where Armenia's own
records rank the destinations the re-export studies name). Training takes about
8 minutes a state on the 2-core machine, the benchmarks 3 more (2026-12-07).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["route_model.json", "corridor_model.json", "route_model.info.json"]
PACKAGE = ROOT / "tradeflows" / "detect"


def _run(*args: str) -> str:
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return out.stdout


def _medians(text: str) -> list[str]:
    return re.findall(r"Median corridor AP ([0-9.]+)", text)


def read(benchmark: str) -> dict[str, str]:
    """The headline figures of one benchmark with the trees now in the package."""
    if benchmark == "stress":
        text = _run("benchmarks/bench_detect.py", "--stress", "--no-record")
        rows = [line.strip().strip("|").split("|") for line in text.splitlines()
                if line.startswith("| ") and not line.startswith("| dimension")]  # fmt: skip
        aps = {r[0].strip(): r[1].split()[0] for r in rows if len(r) > 5 and "(" in r[1]}
        mean = sum(map(float, aps.values())) / len(aps)
        return {**{f"stress {d}": v for d, v in aps.items()}, "stress mean": f"{mean:.3f}"}
    if benchmark == "second":
        noise_1, noise_22 = _medians(_run("benchmarks/bench_transfer.py", "--no-record"))
        return {"second, noise 1.0": noise_1, "second, noise 2.2": noise_22}
    if benchmark == "third":
        return {"third": _medians(_run("benchmarks/bench_third.py", "--no-record"))[0]}
    if benchmark == "real":
        text = _run("benchmarks/bench_detect.py", "--real", "--no-record")
        line = next(x for x in text.splitlines() if x.startswith("| tradeflows: hub x heading"))
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        armenia = next(x for x in text.splitlines() if x.startswith("| tradeflows (best corridor"))
        ranks = [c.strip() for c in armenia.strip().strip("|").split("|")][2:-1]
        return {
            "EU rolled up": cells[1],
            "EU places": cells[3],
            "Armenia's records: ranks of the destinations named": ", ".join(ranks),
        }
    raise ValueError(benchmark)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--states", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--benchmarks", nargs="+", default=["stress", "second", "third", "real"],
                    choices=["stress", "second", "third", "real"])  # fmt: skip
    ap.add_argument("train", nargs="*", help="options for train_detector.py (after --)")
    args = ap.parse_args()
    table: dict[str, dict[int, str]] = {}
    with tempfile.TemporaryDirectory() as keep:
        for name in MODELS:
            shutil.copy2(PACKAGE / name, Path(keep) / name)
        try:
            for state in args.states:
                _run("scripts/train_detector.py", "--random-state", str(state), *args.train)
                for benchmark in args.benchmarks:
                    for key, value in read(benchmark).items():
                        table.setdefault(key, {})[state] = value
                print(f"state {state} done", file=sys.stderr, flush=True)
        finally:
            for name in MODELS:
                shutil.copy2(Path(keep) / name, PACKAGE / name)
    trained = " ".join(args.train) or "(the shipped kind)"
    print(f"Trees trained with {trained}; figures at random states "
          f"{', '.join(map(str, args.states))}.\n")  # fmt: skip
    print("| figure | " + " | ".join(f"state {s}" for s in args.states) + " |")
    print("|---|" + "---|" * len(args.states))
    for key, values in table.items():
        print(f"| {key} | " + " | ".join(values.get(s, "-") for s in args.states) + " |")


if __name__ == "__main__":
    main()
