"""Real against synthetic monthly series: the table the calibrated world is held to.

    python benchmarks/bench_calibration.py

Measures (``tradeflows._calibration.series_profile``: the month-to-month change
of log value by flow size, the share of months present, series starts, flow
sizes, unreported months, seasonality) on

- the bundled Eurostat CN8 exports, 2020-21 (the calibration target);
- two monthly real series of ``../shared/realdata`` when it is present, read
  here only (their licences keep them out of the repository): Armenia's
  exports and imports by partner country, all goods (``tvyal_newsletter``,
  2017-2021, thousand USD), and Taiwan's exports of HS 8486 and 8542 to
  China, Hong Kong and Macao (``apricitas``, 2016-2021, thousand USD);
- the calibrated default world (evaluation seeds 2001-2003, first 24 months)
  and the ``smooth`` preset (the first world, kept for fast unit tests).

Prints the table and appends it to ``benchmarks/RESULTS.md`` (``--no-record``
to only print).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, record  # noqa: E402

REALDATA = HERE.parent.parent / "shared" / "realdata"
SEEDS = (2001, 2002, 2003)


def _armenia(years: tuple[int, int] = (2017, 2021)):
    """Armenia's monthly trade by partner (tvyal_newsletter), as canonical-like rows
    (the partner as the file names it), for the years ``years`` (inclusive)."""
    import polars as pl

    path = REALDATA / "tvyal_newsletter" / "arm_trade_country.csv"
    if not path.is_file():
        return None
    raw = pl.read_csv(path, encoding="utf8-lossy")
    raw = raw.rename({raw.columns[0]: "country"})
    rows = raw.filter(pl.col("year").is_between(*years)).select(
        "country", period=pl.date(pl.col("year"), pl.col("month"), 1),
        X=pl.col("export").cast(pl.Float64, strict=False),
        M=pl.col("import_origin").cast(pl.Float64, strict=False),
    )  # fmt: skip
    long = rows.unpivot(["X", "M"], index=["country", "period"], variable_name="flow")
    return long.select(
        freq=pl.lit("M"), period="period", reporter=pl.lit("ARM"), partner="country",
        flow="flow", hs=pl.lit("TOTAL"), value_usd=pl.col("value") * 1000.0,
    ).drop_nulls("value_usd")  # fmt: skip


def _taiwan():
    """Taiwan's monthly exports of 8486 and 8542 to China, Hong Kong, Macao (apricitas)."""
    import polars as pl

    path = REALDATA / "apricitas" / "TWN_EXPORTS.csv"
    if not path.is_file():
        return None
    raw = pl.read_csv(path, infer_schema=False)
    year = raw["Time"].str.extract(r"^(\d{4})").cast(pl.Int32)
    month = raw["Time"].str.extract(r"/(\d{1,2})").cast(pl.Int32)
    thousands = pl.col("Value(USD$ 1000)").str.replace_all(",", "")
    return (
        raw.with_columns(year=year, month=month)
        .filter(pl.col("year").is_between(2016, 2021))
        .select(
            freq=pl.lit("M"),
            period=pl.date("year", "month", 1),
            reporter=pl.lit("TWN"),
            partner=pl.col("Country(Area)"),
            flow=pl.lit("X"),
            hs=pl.col("Commodity Code").str.strip_chars(),
            value_usd=thousands.cast(pl.Float64, strict=False) * 1000.0,
        )
        .drop_nulls("value_usd")
    )


def _worlds(preset: str | None):
    """The mean profile of the first 24 months of worlds for SEEDS."""
    import polars as pl

    from tradeflows._calibration import series_profile
    from tradeflows._store import ingest, scan_store
    from tradeflows._synth import make_trade_world

    profiles = []
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            make_trade_world(out, seed=seed, preset=preset)
            ingest([out / "comtrade"], out / "store")
            lf = scan_store(out / "store")
            first = lf.select(pl.col("period").min()).collect().item()
            last = dt.date(first.year + 1, 12, 1) if first.month == 1 else None
            profiles.append(series_profile(lf, start=first, end=last))
    return (
        pl.concat(profiles)
        .group_by("measure", maintain_order=True)
        .agg(pl.col("median").mean(), pl.col("p90").mean(), pl.col("n").sum())
    )


def null_of(lf, **query):
    """The null table ``tradeflows detect`` reads ``lf`` against, with ``query``'s routes."""
    from tradeflows._mirror import collect_mirror
    from tradeflows._query import Query
    from tradeflows._routes import coverage_table, route_series, series_null_counts
    from tradeflows._routes.series import null_table

    q = Query(**query).options()
    series = route_series(
        collect_mirror(lf, "cpu").lazy(), destinations=q["destinations"], hubs=q["hubs"],
        hs=q["hs"], min_usd=q["min_usd"], coverage=coverage_table(lf),
    )  # fmt: skip
    return null_table(series_null_counts(series))


def real_spreads():
    """The spreads of chance real monthly data measures on its own
    (``tradeflows._routes.series.measured_spreads``), one frame with a ``data`` column:
    the bundled EU CN8 exports and EU total exports, and Armenia's records by
    partner (2017-2023, all goods) where ``../shared/realdata`` is present."""
    import polars as pl
    from bench_detect import armenia_records

    from tradeflows._routes.series import measured_spreads
    from tradeflows.datasets import load_eu_electronics_exports, load_eu_total_exports

    data = {"EU CN8 exports 2020-22": (load_eu_electronics_exports(), {}),
            "EU total exports 2019-24": (load_eu_total_exports(), {"hs": "TOTAL"})}  # fmt: skip
    armenia = armenia_records((2017, 2023))
    if armenia is not None:
        lf = armenia[0]
        dest = lf.filter(pl.col("flow") == "X").select("partner").unique().collect()
        data["Armenia's records 2017-23"] = (
            lf, {"hs": "TOTAL", "hubs": ["ARM"], "destinations": dest["partner"].to_list()},
        )  # fmt: skip
    return pl.concat(
        measured_spreads(null_of(lf, **query)).with_columns(data=pl.lit(name))
        for name, (lf, query) in data.items()
    )


def null_priors(save: bool) -> None:
    """Real data's spreads of chance by size class beside the prior small data takes."""
    import polars as pl

    from tradeflows._routes import series

    real = real_spreads()
    with tempfile.TemporaryDirectory() as tmp:
        from tradeflows._store import ingest, scan_store
        from tradeflows._synth import make_trade_world

        make_trade_world(Path(tmp), seed=SEEDS[0])
        ingest([Path(tmp) / "comtrade"], Path(tmp) / "store")
        from tradeflows._routes.series import measured_spreads

        synthetic = measured_spreads(null_of(scan_store(Path(tmp) / "store")))
    lines = [
        f"### The spread of chance by size class, real data against the prior, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        "Command: `python benchmarks/bench_calibration.py --null` (the null `tradeflows detect`",
        "reads each dataset against; a class's spread where it holds at least "
        f"{series._NULL_MIN:,} series-months of product-level legs; each cell the median over the",
        "windows (3, 6, 12 months) and the two comparisons (the months before, a year before),",
        "with the range; the real column pools every measurement of the real datasets).",
        "",
        "| class (USD a month) | side | " + " | ".join(real["data"].unique(maintain_order=True))
        + " | real data (median) | calibrated world (seed " + str(SEEDS[0]) + ") | prior |",
        "|---|---|" + "---|" * (real["data"].n_unique() + 3),
    ]  # fmt: skip
    names = ["< 10k", "10k-100k", "100k-1m", "1m-10m", "10m-100m", ">= 100m"]

    def cell(frame, cls, side):
        v = frame.filter(pl.col("cls") == cls)[side]
        if v.is_empty():
            return "-"
        return f"{v.median():.2f} ({v.min():.2f}-{v.max():.2f})"

    for cls, name in enumerate(names):
        for side, prior in (("up", series._PRIOR_UP), ("down", series._PRIOR_DOWN)):
            per = [cell(real.filter(pl.col("data") == d), cls, side)
                   for d in real["data"].unique(maintain_order=True)]  # fmt: skip
            lines.append(f"| {cls}: {name} | {side} | " + " | ".join(per)
                         + f" | {cell(real, cls, side)} | {cell(synthetic, cls, side)} | {prior[cls]} |")  # fmt: skip
    lines.append("")
    record("\n".join(lines), save=save)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument(
        "--null", action="store_true",
        help="real data's spreads of chance by size class beside the prior, instead of the profiles",
    )  # fmt: skip
    args = ap.parse_args()
    if args.null:
        null_priors(save=not args.no_record)
        return

    from tradeflows._calibration import (
        NOT_COMPARED,
        compare_profiles,
        reference_profile,
        series_profile,
    )

    reference = reference_profile()
    synthetic = _worlds(None)
    smooth = _worlds("smooth")
    extra = {}
    for name, rows in (("Armenia, all goods", _armenia()), ("Taiwan 8486/8542", _taiwan())):
        if rows is not None:
            extra[name] = series_profile(rows)
    table = compare_profiles(reference, synthetic)

    def value(profile, measure, stat):
        v = profile.filter(measure=measure)[stat].item()
        return "-" if v is None else f"{v:.2f}"

    head = [
        "measure",
        "statistic",
        "EU CN8 2020-21 (target)",
        *extra,
        "calibrated world",
        "within 20%",
        "smooth preset",
    ]
    lines = [
        f"### Real against synthetic monthly series, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        "Command: `python benchmarks/bench_calibration.py` (synthetic: seeds "
        f"{', '.join(map(str, SEEDS))}, the first 24 months, mean of the worlds' statistics).",
        "",
        "`dlog_*`: |change of log value| between consecutive reported months of a series, by the",
        "series' median month (small < USD 100k, medium < 1m, large); `months_present`: share of",
        "months with a value; `first_month`: a series' first month as a share of the window;",
        "`size_log10`: log10 of a series' median month (USD); `unreported`: share of a reporter's",
        "months it filed nothing in (not compared: Eurostat's reporters file every month);",
        "`seasonality`: correlation with the same month a year earlier (tolerance 0.05, absolute).",
        "Armenia and Taiwan are real monthly series from `../shared/realdata` (read, not shipped):",
        "totals and chapters of a few large flows, shown for the large-flow rows, not calibrated to.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in table.iter_rows(named=True):
        m, stat = r["measure"], r["statistic"]
        within = "n/a" if m in NOT_COMPARED else ("yes" if r["within"] else "**no**")
        cells = [m, stat, value(reference, m, stat), *[value(p, m, stat) for p in extra.values()],
                 value(synthetic, m, stat), within, value(smooth, m, stat)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    record("\n".join(lines), save=not args.no_record)


if __name__ == "__main__":
    main()
