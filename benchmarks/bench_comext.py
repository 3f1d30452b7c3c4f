"""Eurostat's files at scale (Comext bulk, SDMX-CSV): ingest against the polars floor and pandas.

    python benchmarks/bench_comext.py --months 2 --rows 4000000
    python benchmarks/bench_comext.py --sdmx --months 2 --rows 2000000

Makes (once, seeded) ``--months`` bulk files of about ``--rows`` rows each,
in the layout of Eurostat's files (the 20 columns of ``full202403.dat``):
the 27 member states, every partner of ISO 3166, about 10,000 CN8 codes (a
real month has 9,000-10,000), flows 1 and 2, and the statistical regime of
each row (normal trade most often, inward and outward processing), values
in whole euros and kilograms. A flow with more than one regime is summed by
the cleaning (``summed_into_total``). ``--sdmx`` writes the same draws as
SDMX-CSV, the data browser's and the dissemination API's download (one
observation a row, the regimes summed, the flag column empty but for 1% of
confidential values), as ``ds-045409_YYYYMM.csv``. Each variant runs in a
child process of its own, so that its peak memory (max RSS) is its alone:

* ``tradeflows``: ``tradeflows ingest`` of the files;
* ``polars-floor``: a bare streaming scan of the files as text, their values
  cast, and a group-by: what reading the bytes costs;
* ``pandas``: pandas reading the files as text, the rows of confidential
  codes left out, values to numbers and the regimes of each flow summed:
  the core of the same cleaning, without the audit, the checks of codes
  or the conversion to dollars.

Prints a table and appends it, with the machine and the command, to
``benchmarks/RESULTS.md`` (``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, record, run_code  # noqa: E402

DATA = HERE / "data"
VARIANTS = ["tradeflows", "polars-floor", "pandas"]
HEADER = [
    "DECLARANT", "DECLARANT_ISO", "PARTNER", "PARTNER_ISO", "TRADE_TYPE", "PRODUCT_NC",
    "PRODUCT_SITC", "PRODUCT_CPA2002", "PRODUCT_CPA2008", "PRODUCT_CPA2_1", "PRODUCT_BEC",
    "PRODUCT_BEC5", "PRODUCT_SECTION", "FLOW", "STAT_REGIME", "SUPP_UNIT", "PERIOD",
    "VALUE_IN_EUROS", "QUANTITY_IN_KG", "SUP_QUANTITY",
]  # fmt: skip
MEMBERS = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"


def make_files(folder: Path, months: int, rows: int, seed: int = 7) -> list[Path]:
    """Write (once) ``months`` bulk files of about ``rows`` rows; their paths."""
    import numpy as np
    import polars as pl
    import pycountry

    from tradeflows._reference import hs_codes

    folder.mkdir(parents=True, exist_ok=True)
    codes = np.random.default_rng(seed)
    hs6 = hs_codes("HS2022").filter(pl.col("level") == 6)["hs"].to_numpy().astype(str)
    cn8 = np.unique(
        np.char.add(
            hs6[codes.integers(0, len(hs6), 10_000)],
            np.char.zfill(codes.integers(0, 100, 10_000).astype(str), 2),
        )
    )
    members = np.array(MEMBERS.split())
    partners = np.array(sorted(c.alpha_2 for c in pycountry.countries))
    paths = []
    for m in range(months):
        period = 202401 + m
        path = folder / f"full{period}.dat"
        paths.append(path)
        if path.exists():
            continue
        rng = np.random.default_rng(seed * 1000 + m)
        df = pl.DataFrame({
            "DECLARANT": "004", "DECLARANT_ISO": members[rng.integers(0, len(members), rows)],
            "PARTNER": "075", "PARTNER_ISO": partners[rng.integers(0, len(partners), rows)],
            "TRADE_TYPE": "E", "PRODUCT_NC": cn8[rng.integers(0, len(cn8), rows)],
            "PRODUCT_SITC": "77641", "PRODUCT_CPA2002": "321", "PRODUCT_CPA2008": "261",
            "PRODUCT_CPA2_1": "261", "PRODUCT_BEC": "322", "PRODUCT_BEC5": "42",
            "PRODUCT_SECTION": "XVI", "FLOW": rng.integers(1, 3, rows),
            "STAT_REGIME": rng.choice([1, 1, 1, 1, 2, 3], rows), "SUPP_UNIT": "",
            "PERIOD": period,
            "VALUE_IN_EUROS": rng.lognormal(9, 2.5, rows).round().astype(np.int64),
            "QUANTITY_IN_KG": rng.lognormal(5, 2, rows).round().astype(np.int64),
            "SUP_QUANTITY": "",
        })  # fmt: skip
        key = ["DECLARANT_ISO", "PARTNER_ISO", "PRODUCT_NC", "FLOW", "STAT_REGIME"]
        df.unique(key, keep="first", maintain_order=True).select(HEADER).write_csv(path)
    return paths


def make_sdmx(bulk: list[Path], folder: Path, seed: int = 7) -> list[Path]:
    """Write (once) each bulk file's rows as an SDMX-CSV file, the regimes summed; their paths."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, src in enumerate(bulk):
        period = src.stem.removeprefix("full")
        path = folder / f"ds-045409_{period}.csv"
        paths.append(path)
        if path.exists():
            continue
        key = ["DECLARANT_ISO", "PARTNER_ISO", "PRODUCT_NC", "FLOW"]
        df = (
            pl.scan_csv(src, schema_overrides={"VALUE_IN_EUROS": pl.Int64})
            .group_by(key, maintain_order=True)
            .agg(pl.col("VALUE_IN_EUROS").sum())
            .collect()
        )
        secret = pl.int_range(pl.len()).shuffle(seed + i) < pl.len() // 100
        df.select(
            DATAFLOW=pl.lit("ESTAT:DS-045409(1.0)"), **{"LAST UPDATE": pl.lit("15/01/25 23:00:00")},
            freq=pl.lit("M"), reporter="DECLARANT_ISO", partner="PARTNER_ISO",
            product="PRODUCT_NC", flow="FLOW", indicators=pl.lit("VALUE_IN_EUROS"),
            TIME_PERIOD=pl.lit(f"{period[:4]}-{period[4:]}"),
            OBS_VALUE=pl.when(secret).then(None).otherwise("VALUE_IN_EUROS"),
            OBS_FLAG=pl.when(secret).then(pl.lit("c")),
        ).write_csv(path)  # fmt: skip
    return paths


#: The columns each layout's baselines read: the flow's key and its value.
COLUMNS = {
    "bulk": (["PERIOD", "DECLARANT_ISO", "PARTNER_ISO", "FLOW", "PRODUCT_NC"], "VALUE_IN_EUROS"),
    "sdmx": (["TIME_PERIOD", "reporter", "partner", "flow", "product"], "OBS_VALUE"),
}


def _layout(files: list[str]) -> str:
    return "sdmx" if Path(files[0]).name.startswith("ds-") else "bulk"


def run_floor(files: list[str]) -> int:
    """The files read as text on the streaming engine, values cast, one group-by."""
    import polars as pl

    key, value = COLUMNS[_layout(files)]
    lf = pl.scan_csv(files, infer_schema=False)
    return (
        lf.group_by(key[1:4])
        .agg(pl.col(value).cast(pl.Float64).sum(), pl.len())
        .collect(engine="streaming")
        .height
    )


def run_pandas(files: list[str]) -> int:
    """Read as text, confidential codes (bulk) or values (SDMX) out, values to numbers,
    the rows of a flow summed (the regimes of a bulk file)."""
    import pandas as pd

    layout = _layout(files)
    key, value = COLUMNS[layout]
    df = pd.concat(pd.read_csv(f, dtype=str, keep_default_na=False) for f in files)
    if layout == "bulk":
        df = df[~df["PRODUCT_NC"].str.contains("[SX]", regex=True)]
        values = [value, "QUANTITY_IN_KG"]
    else:
        df = df[df["OBS_FLAG"] != "c"]
        values = [value]
    for c in values:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return len(df.groupby(key, sort=False)[values].sum().reset_index())


def _code(variant: str, files: list[Path], out: Path) -> str:
    names = [str(f) for f in files]
    if variant == "tradeflows":
        return (
            "from tradeflows.cli import main; import sys; "
            f"sys.exit(main(['ingest', *{names!r}, '--out', {str(out)!r}, '--quiet']))"
        )
    fn = "run_floor" if variant == "polars-floor" else "run_pandas"
    return f"import sys; sys.path.insert(0, {str(HERE)!r}); from bench_comext import {fn}; {fn}({names!r})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=2)
    ap.add_argument("--rows", type=int, default=4_000_000, help="rows a file (about)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each variant (fastest kept)")
    ap.add_argument("--sdmx", action="store_true", help="the same rows as SDMX-CSV files")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    files = make_files(DATA / f"comext_bulk_{args.months}x{args.rows}", args.months, args.rows)
    if args.sdmx:
        files = make_sdmx(files, DATA / f"comext_sdmx_{args.months}x{args.rows}")
    size = sum(f.stat().st_size for f in files) / 2**20
    out = DATA / "comext_store"
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for variant in VARIANTS:
            run_code(f"import shutil; shutil.rmtree({str(out)!r}, ignore_errors=True)")
            r = run_code(_code(variant, files, out))
            if r["error"]:
                raise SystemExit(f"{variant}: {r['error']}")
            if variant not in best or r["wall"] < best[variant]["wall"]:
                best[variant] = r
    run_code(f"import shutil; shutil.rmtree({str(out)!r}, ignore_errors=True)")
    command = "python benchmarks/bench_comext.py " + " ".join(sys.argv[1:])
    lines = [
        f"### {'SDMX-CSV files of Comext data' if args.sdmx else 'Comext bulk files'}: "
        f"{args.months} of about {args.rows:,} rows ({size:,.0f} MiB), {dt.date.today()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `{command}` (fastest of {args.repeat}).",
        "",
        "| variant | wall s | CPU s: user + kernel | peak RSS GiB | its time / tradeflows' |",
        "|---|---|---|---|---|",
    ]
    first = best["tradeflows"]["wall"]
    for variant, r in best.items():
        lines.append(
            f"| {variant} | {r['wall']:.1f} | {r['user']:.1f} + {r['sys']:.1f} | "
            f"{r['rss']:.2f} | {r['wall'] / first:.2f}x |"
        )
    record("\n".join(lines) + "\n", save=not args.no_record)


if __name__ == "__main__":
    main()
