"""What each country would report to Comtrade of a world's flows, written as Comtrade+ CSV files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tradeflows._io.comtrade import COMTRADE_PLUS_COLUMNS

__all__ = ["Marks", "Reporting", "write_reports"]

_ENTREPOTS = {"SGP", "HKG"}  # report RX, already included in X


@dataclass
class Marks:
    """Reporting overrides planted by episodes, each keyed by (reporter, partner, hs, month)."""

    hide: set = field(default_factory=set)
    rebook: dict = field(default_factory=dict)
    recode: dict = field(default_factory=dict)
    slips: set = field(default_factory=set)


@dataclass
class Reporting:
    """Who files what: reporters that never file, the month a reporter stops
    (its last filed month + 1), and each reporter's share of months missed."""

    never: frozenset = frozenset({"IRN"})
    stops: dict = field(default_factory=lambda: {"RUS": dt.date(2022, 3, 1)})
    #: A reporter's chance of missing a month; ``None``: 2% for every reporter.
    gap_rates: dict | None = None
    #: Months before the end a reporter's filings stop (a publication lag).
    lags: dict = field(default_factory=dict)


def write_reports(flows, months, codes, rng, marks: Marks, out: Path,
                  reporting: Reporting | None = None) -> tuple[int, list]:  # fmt: skip
    """Write both reports of every flow, a year at a time, with real reporting's quirks.

    Columnar (numpy, polars) and chunked by report year, so that a world of
    tens of millions of rows is written without holding all its reports at once.
    """
    reporting = reporting or Reporting()
    n_t = len(months)
    keys = sorted(flows)
    value = np.vstack([flows[k] for k in keys]) if keys else np.zeros((0, n_t))
    exporter = np.array([k[0] for k in keys])
    importer = np.array([k[1] for k in keys])
    product = np.array([k[2] for k in keys])
    index = {k: n for n, k in enumerate(keys)}
    # Draws made once, for the whole world, in a fixed order.
    cif = 1 + rng.uniform(0.02, 0.10, len(keys))
    lag = (rng.random(value.shape) < 0.1).astype(np.int64)  # a tenth arrive a month later
    reporters = sorted(set(exporter) | set(importer))
    rates = np.array(
        [
            0.02 if reporting.gap_rates is None else reporting.gap_rates.get(c, 0.0)
            for c in reporters
        ]
    )
    gap = dict(zip(reporters, rng.random((len(reporters), n_t)) < rates[:, None], strict=True))
    for c, months_before_end in reporting.lags.items():
        if c in gap and months_before_end > 0:
            gap[c][n_t - months_before_end :] = True
    stopped = {c: np.array([m >= day for m in months]) for c, day in reporting.stops.items()}
    never = list(reporting.never)

    def absent(country: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Reports that never exist: a silent reporter, one that stopped, missing months."""
        out = np.isin(country, never)
        for c, mask in stopped.items():
            out |= (country == c) & mask[k]
        for c, mask in gap.items():
            out |= (country == c) & mask[k]
        return out

    def pairs(marked) -> set[tuple[int, int]]:
        return {(index[(a, b, p)], kk) for (a, b, p, kk) in marked if (a, b, p) in index}

    hidden, slipped = pairs(marks.hide), pairs(marks.slips)
    files, total = [], 0
    for year in sorted({m.year for m in months}):
        ks = np.array([n for n, m in enumerate(months) if m.year == year])
        # Exporter's reports (FOB) of this year's shipments.
        f, k = np.nonzero(value[:, ks] >= 1)
        k = ks[k]
        keep = ~absent(exporter[f], k)
        keep &= np.array([(ff, kk) not in hidden for ff, kk in zip(f, k, strict=True)], dtype=bool)
        f, k = f[keep], k[keep]
        x = value[f, k] * (1 + rng.normal(0, 0.02, len(f)))
        x *= np.array([1000.0 if (ff, kk) in slipped else 1.0 for ff, kk in zip(f, k, strict=True)])
        hs_x = [marks.recode.get((exporter[ff], importer[ff], product[ff], kk), product[ff])
                for ff, kk in zip(f, k, strict=True)]  # fmt: skip
        x_rows = pl.DataFrame(
            {"k": k, "reporter": exporter[f], "partner": importer[f], "flow": ["X"] * len(f),
             "hs": hs_x, "value": np.round(x, 2)},
            schema={"k": pl.Int64, "reporter": pl.String, "partner": pl.String,
                    "flow": pl.String, "hs": pl.String, "value": pl.Float64},
        )  # fmt: skip
        rx = x_rows.filter(pl.col("reporter").is_in(list(_ENTREPOTS))).with_columns(
            flow=pl.lit("RX"), value=(pl.col("value") * 0.6).round(2)
        )
        # Importer's reports (CIF) dated this year: this month's or last month's shipments.
        f, k = np.nonzero(value >= 1)
        km = k + lag[f, k]
        inside = np.isin(km, ks)
        f, k, km = f[inside], k[inside], km[inside]
        keep = ~absent(importer[f], km)
        f, k, km = f[keep], k[keep], km[keep]
        m = value[f, k] * cif[f] * (1 + rng.normal(0, 0.03, len(f)))
        partner = [marks.rebook.get((importer[ff], exporter[ff], product[ff], kk), exporter[ff])
                   for ff, kk in zip(f, k, strict=True)]  # fmt: skip
        m_rows = pl.DataFrame(
            {"k": km, "reporter": importer[f], "partner": partner, "flow": ["M"] * len(f),
             "hs": product[f], "value": np.round(m, 2)},
            schema=x_rows.schema,
        )  # fmt: skip
        df = pl.concat([x_rows, rx, m_rows])
        # Two reports of the same flow merge (a rebooked one meets the origin's own).
        df = df.group_by("k", "reporter", "partner", "flow", "hs", maintain_order=True).agg(
            pl.col("value").sum().round(2)
        )
        world = (
            df.filter(pl.col("flow").is_in(["X", "M"]))
            .group_by("k", "reporter", "flow", "hs", maintain_order=True)
            .agg(pl.col("value").sum().round(2))
            .with_columns(partner=pl.lit("WLD"))
        )
        df = pl.concat([df, world.select(df.columns)])
        dups = df.filter(pl.Series(rng.random(df.height) < 0.005))  # overlapping downloads
        df = pl.concat([df, dups]).with_columns(
            period=pl.col("k").replace_strict(dict(enumerate(months)), return_dtype=pl.Date),
            reporterCode=pl.col("reporter").replace_strict(codes, return_dtype=pl.Int64),
            partnerCode=pl.col("partner").replace_strict(
                {**codes, "WLD": 0}, return_dtype=pl.Int64
            ),
        )
        if df.height:
            files.append(_write(df, out / "comtrade", year))
        total += df.height
    return total, files


def _write(rows: pl.DataFrame, out: Path, year: int) -> str:
    layout = {
        "typeCode": pl.lit("C"),
        "freqCode": pl.lit("M"),
        "refPeriodId": pl.col("period").dt.strftime("%Y%m%d"),
        "refYear": pl.col("period").dt.year().cast(pl.String),
        "refMonth": pl.col("period").dt.month().cast(pl.String),
        "period": pl.col("period").dt.strftime("%Y%m"),
        "reporterCode": pl.col("reporterCode").cast(pl.String),
        "reporterISO": pl.col("reporter"),
        "flowCode": pl.col("flow"),
        "partnerCode": pl.col("partnerCode").cast(pl.String),
        "partnerISO": pl.when(pl.col("partner") == "WLD").then(pl.lit("W00")).otherwise("partner"),
        "partner2Code": pl.lit("0"),
        "classificationCode": pl.lit("H6"),
        "classificationSearchCode": pl.lit("HS"),
        "isOriginalClassification": pl.lit("true"),
        "cmdCode": pl.col("hs"),
        "aggrLevel": pl.lit("6"),
        "isLeaf": pl.lit("true"),
        "customsCode": pl.lit("C00"),
        "mosCode": pl.lit("0"),
        "motCode": pl.lit("0"),
        "qtyUnitCode": pl.lit("-1"),
        "primaryValue": pl.col("value").cast(pl.String),
        "isReported": pl.lit("true"),
        "isAggregate": pl.lit("false"),
    }
    table = rows.select(layout.get(c, pl.lit("")).alias(c) for c in COMTRADE_PLUS_COLUMNS)
    out.mkdir(parents=True, exist_ok=True)
    name = f"comtrade_{year}.csv"
    tmp = out / f".{name}.tmp"
    table.write_csv(tmp)
    tmp.replace(out / name)
    return f"comtrade/{name}"
