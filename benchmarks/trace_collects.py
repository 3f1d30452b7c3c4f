"""Run a ``tradeflows`` command in this process and print the resident memory of its plans.

    python benchmarks/trace_collects.py --over 5 detect STORE --out flags.parquet

Every plan the pipeline executes goes through ``tradeflows._engine.collect`` or
``collect_all``. This wraps both and prints, to stderr, each one whose peak
resident memory (sampled every 20 ms) reached ``--over`` GiB: the seconds
since the start, its wall time, the memory before it, at its peak and after
it, and the tradeflows functions that called it. A peak between two printed
plans, with a higher "before" than the last "after", lies in the Python code
between them (how issue 27's 8.65 GiB on the dense 55M-row world was found
in the scoring of a whole group at once: benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback


def _rss_gib() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 2**20
    return 0.0


class _Peak:
    """The highest resident memory since the last :meth:`reset`, sampled in a thread."""

    def __init__(self) -> None:
        self.value = _rss_gib()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.value = max(self.value, _rss_gib())
            time.sleep(0.02)

    def reset(self) -> float:
        self.value = _rss_gib()
        return self.value


def _callers() -> str:
    frames = [f for f in traceback.extract_stack()[:-2] if "tradeflows" in f.filename][-3:]
    return " < ".join(
        f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in reversed(frames)
    )


def _wrap(module, name: str, peak: _Peak, over: float, start: float) -> None:
    original = getattr(module, name)

    def traced(*args, **kwargs):
        before, t = peak.reset(), time.time()
        out = original(*args, **kwargs)
        top, after = peak.value, _rss_gib()
        if top >= over:
            print(
                f"[{t - start:7.1f} s] {name} {time.time() - t:6.1f} s  before {before:.2f}  "
                f"peak {top:.2f}  after {after:.2f} GiB  {_callers()}",
                file=sys.stderr,
                flush=True,
            )
        return out

    setattr(module, name, traced)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--over", type=float, default=0.0, help="print plans peaking at this many GiB or more"
    )
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="a tradeflows command and its arguments"
    )
    args = parser.parse_args()
    from tradeflows import _engine
    from tradeflows.cli import main as cli

    start, peak = time.time(), _Peak()
    highest = [0.0]

    def watch() -> None:
        while True:
            highest[0] = max(highest[0], peak.value)
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    for name in ("collect", "collect_all"):
        _wrap(_engine, name, peak, args.over, start)
    code = cli(args.command)
    print(f"whole run: {time.time() - start:.1f} s, peak {highest[0]:.2f} GiB", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
