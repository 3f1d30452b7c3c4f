"""Write a large synthetic file in the Comtrade+ final-data layout (47 columns).

    python benchmarks/make_comtrade.py --rows 10000000 --out benchmarks/data/comtrade_10m.csv

The traps of real downloads are in it, at realistic shares: World rows beside
country detail (about 3%), HS4 rows beside their HS6 detail (2%), second-partner
breakdowns beside their totals (2%), exact duplicates from overlapping pulls
(1%), Taiwan as 490, HS codes of chapters 01-09 written without the leading
zero. The data is random, only its shape is realistic: use it for speed and
memory, not for detection quality.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from tradeflows._io.comtrade import COMTRADE_PLUS_COLUMNS
from tradeflows._reference import countries, hs_codes

HEADER = list(COMTRADE_PLUS_COLUMNS)


def make(rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    # A country without a Comtrade code (one in the table) would make the
    # codes floats ("32.0"), which ingest rightly refuses.
    t = countries().filter((pl.col("kind") == "country") & pl.col("comtrade").is_not_null())
    codes = t["comtrade"].to_numpy()
    hs6 = hs_codes("HS2022").filter(pl.col("level") == 6)["hs"].to_numpy()
    months = np.array([f"{y}{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13)])
    base = int(rows * 0.92)
    reporter = rng.choice(codes[:80], base)
    partner = rng.choice(codes, base)
    cmd = rng.choice(hs6, base)
    period = rng.choice(months, base)
    flow = rng.choice(np.array(["X", "M", "RX"]), base, p=[0.48, 0.48, 0.04])
    value = np.round(rng.lognormal(11, 2.5, base), 2)
    df = pl.DataFrame(
        {
            "reporterCode": reporter,
            "partnerCode": partner,
            "cmdCode": cmd,
            "period": period,
            "flowCode": flow,
            "primaryValue": value,
            "partner2Code": np.zeros(base, dtype=np.int64),
        }
    )
    n = rows - base
    world = df.sample(int(n * 0.375), seed=seed).with_columns(
        partnerCode=pl.lit(0).cast(df["partnerCode"].dtype)
    )
    parents = df.sample(int(n * 0.25), seed=seed + 1).with_columns(
        pl.col("cmdCode").str.slice(0, 4)
    )
    p2 = df.sample(int(n * 0.25), seed=seed + 2).with_columns(
        partner2Code=pl.lit(702, dtype=pl.Int64), primaryValue=pl.col("primaryValue") / 3
    )
    dups = df.sample(n - world.height - parents.height - p2.height, seed=seed + 3)
    out = pl.concat([df, world, parents, p2, dups]).sample(fraction=1.0, shuffle=True, seed=seed)
    return out.with_columns(
        # Chapters 01-09 lose their leading zero, as when a tool read them as numbers.
        pl.col("cmdCode").str.strip_chars_start("0"),
        pl.col("reporterCode").cast(pl.String),
        pl.col("partnerCode").cast(pl.String),
        pl.col("partner2Code").cast(pl.String),
    )


def to_comtrade_layout(df: pl.DataFrame) -> pl.DataFrame:
    cols = {
        "typeCode": pl.lit("C"),
        "freqCode": pl.lit("M"),
        "refPeriodId": pl.col("period") + "01",
        "refYear": pl.col("period").str.slice(0, 4),
        "refMonth": pl.col("period").str.slice(4, 2).cast(pl.Int32).cast(pl.String),
        "period": pl.col("period"),
        "reporterCode": pl.col("reporterCode"),
        "flowCode": pl.col("flowCode"),
        "partnerCode": pl.col("partnerCode"),
        "partner2Code": pl.col("partner2Code"),
        "classificationCode": pl.lit("H6"),
        "classificationSearchCode": pl.lit("HS"),
        "isOriginalClassification": pl.lit("true"),
        "cmdCode": pl.col("cmdCode"),
        "aggrLevel": pl.col("cmdCode").str.len_chars().cast(pl.String),
        "isLeaf": pl.lit("true"),
        "customsCode": pl.lit("C00"),
        "mosCode": pl.lit("0"),
        "motCode": pl.lit("0"),
        "qtyUnitCode": pl.lit("8"),
        "qtyUnitAbbr": pl.lit("kg"),
        "netWgt": (pl.col("primaryValue") / 37).round(1).cast(pl.String),
        "fobvalue": pl.col("primaryValue").cast(pl.String),
        "primaryValue": pl.col("primaryValue").cast(pl.String),
        "legacyEstimationFlag": pl.lit("0"),
        "isReported": pl.lit("true"),
        "isAggregate": pl.lit("false"),
    }
    return df.select(cols.get(c, pl.lit("")).alias(c) for c in HEADER)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/data/comtrade_10m.csv"))
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    to_comtrade_layout(make(args.rows, args.seed)).write_csv(args.out)
    size = args.out.stat().st_size / 2**30
    print(
        f"wrote {args.rows:,} rows ({size:.2f} GiB) to {args.out} in {time.perf_counter() - start:.0f}s"
    )


if __name__ == "__main__":
    main()
