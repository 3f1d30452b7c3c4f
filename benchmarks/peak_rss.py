"""Run a command and print its wall time and peak resident memory, sampled every 0.25 s.

    python benchmarks/peak_rss.py tradeflows detect STORE --out flags.parquet

Also prints the resident memory every 5 s, to see which step peaks (read it
beside the command's ``--log``). The sampled peak can miss a spike shorter
than the interval; ``/usr/bin/time -v`` gives the exact one where it exists.
"""

from __future__ import annotations

import subprocess
import sys
import time


def _rss_gib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 2**20
    except FileNotFoundError:
        return None
    return None


def main() -> int:
    child = subprocess.Popen(sys.argv[1:])
    start, peak, profile, last = time.time(), 0.0, [], -5.0
    while child.poll() is None:
        rss = _rss_gib(child.pid)
        if rss is None:
            break
        peak = max(peak, rss)
        now = time.time() - start
        if now - last >= 5:
            profile.append(f"{now:6.1f} s {rss:5.2f} GiB")
            last = now
        time.sleep(0.25)
    code = child.wait()
    print(f"wall {time.time() - start:.1f} s peak {peak:.2f} GiB (exit {code})")
    print("\n".join(profile))
    return code


if __name__ == "__main__":
    sys.exit(main())
