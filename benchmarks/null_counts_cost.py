"""What counting each class's series costs :func:`tradeflows._routes.series.null_counts`.

    python benchmarks/peak_rss.py python benchmarks/null_counts_cost.py before 100000
    python benchmarks/peak_rss.py python benchmarks/null_counts_cost.py after 100000

On made-up series changes (N series of 60 months, five in six product legs,
classes and changes drawn at random, a fifth of the changes unknown):
``before`` counts the series-months alone, as ``null_counts`` did before a
class needed 100 series; ``after`` is ``null_counts`` itself. Prints the
seconds of the counts; ``peak_rss.py`` adds the process's peak memory
(benchmarks/RESULTS.md, forty-fourth session). Nothing is recorded.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import polars as pl

from tradeflows._expr import divided
from tradeflows._routes.series import _NULL_KEY, _NULL_STEP, WINDOWS, null_counts

MONTHS = 60


def changes(n_series: int) -> pl.LazyFrame:
    """Random series changes with the columns ``null_counts`` reads."""
    rng = np.random.default_rng(0)
    n = n_series * MONTHS
    sid = np.repeat(np.arange(n_series), MONTHS)
    cols = {"kind": np.where(sid % 5 == 0, "hub_in", "leg"), "a": (sid % 997).astype(str),
            "b": (sid % 31).astype(str), "p": (sid // 1000).astype(str)}  # fmt: skip
    for k in WINDOWS:
        cols[f"_c{k}"] = rng.integers(0, 6, n)
        for which in "uy":
            x = rng.normal(0, 0.5, n)
            x[rng.random(n) < 0.2] = np.nan
            cols[f"_{which}{k}"] = x
    return pl.DataFrame(cols).fill_nan(None).lazy()


def before(dense: pl.LazyFrame) -> pl.LazyFrame:
    """The series-month counts alone."""
    return pl.concat([
        dense.select(window=pl.lit(k, pl.Int32), which=pl.lit(w), kind=pl.col("kind"),
                     cls=pl.col(f"_c{k}"),
                     bin=divided(pl.col(f"_{w}{k}"), _NULL_STEP).round().cast(pl.Int64))
        .drop_nulls(["bin", "cls"])
        .group_by(*_NULL_KEY, "bin")
        .agg(n=pl.len().cast(pl.Int64))
        for k in WINDOWS
        for w in "uy"
    ])  # fmt: skip


if __name__ == "__main__":
    mode, n_series = sys.argv[1], int(sys.argv[2])
    dense = changes(n_series)
    t = time.perf_counter()
    out = (null_counts(dense) if mode == "after" else before(dense)).collect()
    print(f"{mode}: {n_series * MONTHS:,} series-months counted in {time.perf_counter() - t:.2f} s")
