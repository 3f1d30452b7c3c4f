"""How often a flagged route of a named origin names the episode's own origin.

    python benchmarks/origin_attribution.py [--evaluation]

On the stress suite's worlds (the tuning seeds unless ``--evaluation``),
each flagged route of a named origin is right when the truth holds an
episode on its origin, hub, destination and HS6. Prints, for lines on the
route's largest origin signal over its flagged months
(``tradeflows.detect._flags.ORIGIN_SIGNALS``), how many such routes stay
flagged, how many of them are right, and what the flagged corridors (hub,
destination, HS6) would be: what the line of ``ORIGIN_SIGNALS`` was chosen
by (benchmarks/RESULTS.md, forty-fourth session). Nothing is recorded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import polars as pl
from bench_detect import EVALUATION_SEEDS, TUNING_SEEDS, stress_world

from tradeflows import detect_routes
from tradeflows._store import scan_store
from tradeflows._synth import STRESS
from tradeflows.detect._flags import ORIGIN_SIGNALS

KEY = ["origin", "hub", "destination", "hs"]
CORRIDOR = ["hub", "destination", "hs"]
LINES = {"detect's flags": None, "above 0": 0.0, "1 or more": 1.0, "2.33 or more": 2.33}


def counts(seeds) -> pl.DataFrame:
    """Per world and line: flagged routes of a named origin (right ones), and corridors."""
    rows = []
    for dim in STRESS:
        for seed in seeds:
            folder = stress_world(dim, seed)
            flags = detect_routes(scan_store(folder / "store")).filter("flagged")
            truth = pl.read_parquet(folder / "truth.parquet").filter("is_transshipment")
            right = truth.select(KEY).unique().with_columns(right=pl.lit(True))
            signal = pl.max_horizontal(pl.col(c).fill_null(0.0).max() for c in ORIGIN_SIGNALS)
            routes = (
                flags.group_by(KEY)
                .agg(signal=signal)
                .join(right, on=KEY, how="left")
                .with_columns(pl.col("right").fill_null(False))
            )
            for name, line in LINES.items():
                kept = routes
                if line is not None:
                    own = pl.col("signal") > 0 if line == 0 else pl.col("signal") >= line
                    kept = routes.filter((pl.col("origin") == "") | own)
                named = kept.filter(pl.col("origin") != "")
                corridors = kept.select(CORRIDOR).unique()
                rows.append({
                    "line": name, "named": named.height, "right": int(named["right"].sum()),
                    "corridors": corridors.height,
                    "true_corridors": corridors.join(truth.select(CORRIDOR).unique(),
                                                     on=CORRIDOR).height,
                })  # fmt: skip
    return pl.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evaluation", action="store_true", help="the evaluation seeds")
    args = ap.parse_args()
    seeds = EVALUATION_SEEDS if args.evaluation else TUNING_SEEDS
    table = counts(seeds).group_by("line", maintain_order=True).sum()
    print("| line on the largest origin signal | flagged routes of a named origin | of which "
          "the episode's origin | origin precision | flagged corridors (true) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for line, named, right, cor, true in table.rows():
        print(f"| {line} | {named} | {right} | {right / max(named, 1):.3f} | {cor} ({true}) |")


if __name__ == "__main__":
    main()
