"""A labelled synthetic trade world, reported twice, with the traps of real data.

:func:`make_trade_world` draws monthly bilateral trade from a gravity-style
baseline with seasonality, trends and noise, plants transshipment episodes and
look-alikes, and writes what each country would report to Comtrade (exporter
and importer side, with CIF/FOB gaps, transit lags, silent reporters, missing
months, World rows, re-exports of entrepots, duplicates and a unit slip) as
Comtrade+ CSV files, one per year, in ``OUT/comtrade/``, plus
``OUT/truth.parquet``: one row per planted route-month, with its kind and
whether it is transshipment, and ``OUT/world.json`` (parameters, marked
synthetic).

Episode kinds (transshipment, ``is_transshipment`` true): ``pass_through``
(both legs reported), ``hidden_reexport`` (the hub does not report its exports
to the destination, which does report its imports), ``origin_booked`` (the destination books the goods as
coming from the origin), ``code_change`` (the hub exports them under a
sibling code of the same heading). Look-alikes (false): ``absorption`` (the
hub keeps the goods), ``destination_demand`` (the destination buys more from
everyone), ``entrepot`` (large, steady, old hub trade), ``unit_slip`` (one
report x1000), ``seasonal`` (strong seasonality).

Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``:
the same seed writes byte-identical files. This module is synthetic data
only: nothing in it is an estimate of real trade.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

from tradeflows._files import write_text_atomic
from tradeflows.io.comtrade import COMTRADE_PLUS_COLUMNS
from tradeflows.reference import countries, hs_codes

__all__ = ["ASIA_AI_ANCHORS", "EPISODE_KINDS", "LOOKALIKE_KINDS", "make_trade_world"]

EPISODE_KINDS = ("pass_through", "hidden_reexport", "origin_booked", "code_change")
LOOKALIKE_KINDS = ("absorption", "destination_demand", "entrepot", "unit_slip", "seasonal")

_ORIGINS = ["USA", "TWN", "KOR", "JPN", "DEU", "NLD"]
_HUBS = ["MYS", "SGP", "ARE", "ARM", "KAZ", "KGZ", "THA", "VNM", "TUR", "GEO"]
_DESTINATIONS = ["CHN", "RUS", "IRN", "BLR"]
_ENTREPOTS = {"SGP", "HKG"}  # report RX, already included in X
_SILENT = {"IRN", "RUS"}  # IRN never reports; RUS stops in 2022-03
_CONTROLLED = ["847150", "847180", "847330", "854231", "854232", "851762", "848620"]


def _months(start: str, end: str) -> list[dt.date]:
    y, m = map(int, start.split("-"))
    ye, me = map(int, end.split("-"))
    out = []
    while (y, m) <= (ye, me):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


#: Published anchors the ``asia_ai_hardware`` preset is calibrated to (DOMAIN.md):
#: Taiwan's exports of computing systems (HS 8471.50) to Malaysia, USD.
ASIA_AI_ANCHORS = {
    dt.date(2023, 3, 1): 3.4e6,
    dt.date(2024, 3, 1): 401.9e6,
    dt.date(2025, 3, 1): 1874e6,
}


def _calibrated(months: list[dt.date], anchors: dict[dt.date, float]) -> np.ndarray:
    """Log-linear path through the anchors, flat before the first and after the last."""
    x = np.array([m.toordinal() for m in months], dtype=float)
    ax = np.array([d.toordinal() for d in anchors], dtype=float)
    return np.exp(np.interp(x, ax, np.log(list(anchors.values()))))


def make_trade_world(
    out_dir: str | Path,
    *,
    preset: str | None = None,
    seed: int = 0,
    start: str = "2021-01",
    end: str = "2024-12",
    n_others: int = 30,
    n_products: int = 24,
    pairs_per_product: int = 60,
    episodes: int = 8,
    lookalikes: int = 10,
    strength: float = 5.0,
) -> dict:
    """Write a labelled synthetic world to ``out_dir``; return its summary.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``comtrade/comtrade_YYYY.csv``, ``truth.parquet`` and ``world.json``.
    seed : int
        Seed of every random draw: the same seed gives identical files.
    start, end : str
        First and last month, ``YYYY-MM``.
    n_others : int
        Countries besides the origins, hubs and destinations of interest.
    n_products : int
        HS6 products (the controlled AI-hardware codes first).
    pairs_per_product : int
        Baseline exporter-importer pairs per product (the size knob).
    episodes, lookalikes : int
        Transshipment episodes and look-alikes to plant.
    strength : float
        Typical multiple of the origin -> hub flow an episode adds.
    preset : {"asia_ai_hardware"}, optional
        Months 2022-01 to 2025-06 and a Taiwan -> Malaysia -> China episode in
        HS 8471.50 whose Taiwan -> Malaysia leg follows the published
        magnitudes (USD 3.4m in March 2023, 401.9m in March 2024, 1,874m in
        March 2025); 60% of the rise passes on to China a month later. The
        world stays synthetic: only that leg's scale is calibrated.

    Examples
    --------
    >>> import tempfile
    >>> info = make_trade_world(tempfile.mkdtemp(), seed=1, n_others=5, n_products=8,
    ...                         pairs_per_product=10, episodes=2, lookalikes=2)
    >>> info["episodes"], info["rows"] > 1000
    (2, True)
    """
    if preset not in (None, "asia_ai_hardware"):
        raise ValueError(f"unknown preset {preset!r}: choose asia_ai_hardware")
    if preset == "asia_ai_hardware":
        start, end = "2022-01", "2025-06"
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    months = _months(start, end)
    n_t = len(months)
    table = countries().filter(pl.col("kind") == "country")
    codes = dict(zip(table["iso3"].to_list(), table["comtrade"].to_list(), strict=False))
    others_pool = sorted(set(codes) - set(_ORIGINS + _HUBS + _DESTINATIONS))
    others = list(rng.choice(others_pool, n_others, replace=False))
    world = _ORIGINS + _HUBS + _DESTINATIONS + others
    six = hs_codes("HS2022").filter(pl.col("level") == 6)["hs"].to_list()
    plain = [c for c in six if c[:2] not in ("84", "85", "88", "90")]
    products = _CONTROLLED + list(
        rng.choice(plain, max(0, n_products - len(_CONTROLLED)), replace=False)
    )

    # Country sizes drive the gravity baseline; distances are drawn once.
    size = dict(zip(world, rng.lognormal(0, 1, len(world)), strict=True))
    flows: dict[tuple[str, str, str], np.ndarray] = {}
    t = np.arange(n_t)
    for p in products:
        for _ in range(pairs_per_product):
            e, i = rng.choice(world, 2, replace=False)
            level = 2e5 * size[e] * size[i] / rng.uniform(0.5, 3) * rng.lognormal(0, 1)
            amp, phase = rng.uniform(0, 0.2), rng.uniform(0, 12)
            trend = rng.normal(0.05, 0.05) / 12
            series = level * (1 + amp * np.sin(2 * np.pi * (t + phase) / 12)) * np.exp(trend * t)
            flows[(str(e), str(i), p)] = series * rng.lognormal(0, 0.1, n_t)

    def add(e: str, i: str, p: str, extra: np.ndarray) -> None:
        base = flows.get((e, i, p))
        flows[(e, i, p)] = extra.copy() if base is None else base + extra

    truth = []
    # Reporting overrides planted by episodes: (reporter, partner, p, t) -> action.
    hide: set[tuple[str, str, str, int]] = set()
    rebook: dict[tuple[str, str, str, int], str] = {}
    recode: dict[tuple[str, str, str, int], str] = {}
    slips: set[tuple[str, str, str, int]] = set()

    def route() -> tuple[str, str, str, str]:
        return (str(rng.choice(_ORIGINS)), str(rng.choice(_HUBS)), str(rng.choice(_DESTINATIONS)),
                str(rng.choice(_CONTROLLED)))  # fmt: skip

    def label(o, h, d, p, kind, active, is_tx):
        truth.extend(
            {"origin": o, "hub": h, "destination": d, "hs": p, "period": months[k], "kind": kind,
             "is_transshipment": is_tx}
            for k in np.flatnonzero(active)
        )  # fmt: skip

    if preset == "asia_ai_hardware":
        path = _calibrated(months, ASIA_AI_ANCHORS) * rng.lognormal(0, 0.05, n_t)
        flows[("TWN", "MYS", "847150")] = path
        rise = np.clip(path - ASIA_AI_ANCHORS[dt.date(2023, 3, 1)], 0, None)
        add("MYS", "CHN", "847150", np.roll(rise, 1) * 0.6 * (t > 0))
        label("TWN", "MYS", "CHN", "847150", "pass_through", rise > 0.5 * path, True)

    for n in range(episodes):
        o, h, d, p = route()
        kind = EPISODE_KINDS[n % len(EPISODE_KINDS)]
        if kind == "hidden_reexport" and d in _SILENT:
            # Hidden by the hub and unreported by the destination, the flow would
            # be in no report at all: no method could see it, so none is planted.
            d = str(rng.choice([c for c in _DESTINATIONS if c not in _SILENT]))
        t0 = int(rng.integers(n_t // 3, n_t - 6))
        lag = int(rng.integers(0, 3))
        base = max(float(np.median(flows.get((o, h, p), np.full(n_t, 1e5)))), 1e5)
        ramp = np.clip((t - t0 + 1) / 3, 0, 1) * strength * base * rng.lognormal(0, 0.2, n_t)
        add(o, h, p, ramp)
        passed = np.roll(ramp, lag) * rng.uniform(0.7, 0.95)
        passed[: t0 + lag] = 0
        add(h, d, p, passed)
        active = passed > 0
        for k in np.flatnonzero(active):
            if kind == "hidden_reexport":
                hide.add((h, d, p, int(k)))
            elif kind == "origin_booked":
                rebook[(d, h, p, int(k))] = o
            elif kind == "code_change":
                sibling = [c for c in six if c[:4] == p[:4] and c != p]
                recode[(h, d, p, int(k))] = sibling[0] if sibling else p
        label(o, h, d, p, kind, ramp > 0, True)

    for n in range(lookalikes):
        o, h, d, p = route()
        kind = LOOKALIKE_KINDS[n % len(LOOKALIKE_KINDS)]
        t0 = int(rng.integers(n_t // 3, n_t - 6))
        on = t >= t0
        base = max(float(np.median(flows.get((o, h, p), np.full(n_t, 1e5)))), 1e5)
        if kind == "absorption":  # data-centre build-out: imports soar, nothing leaves
            add(o, h, p, on * strength * base)
        elif kind == "destination_demand":  # D buys more from everyone: shares unchanged
            add(h, d, p, np.full(n_t, base))
            for (e, i, q), s in list(flows.items()):
                if i == d and q == p:
                    flows[(e, i, q)] = s * np.where(on, strength, 1.0)
        elif kind == "entrepot":  # large, steady, old
            add(o, h, p, np.full(n_t, 10 * base))
            add(h, d, p, np.full(n_t, 8 * base))
            on = np.ones(n_t, dtype=bool)
        elif kind == "unit_slip":
            add(h, d, p, np.full(n_t, base))
            slips.add((h, d, p, t0))
            on = t == t0
        else:  # seasonal: a strong December peak every year
            add(h, d, p, base * (1 + 3 * (np.array([m.month for m in months]) == 12)))
            on = np.array([m.month == 12 for m in months])
        label(o, h, d, p, kind, on, False)

    n_rows, files = _reports(flows, months, codes, rng, hide, rebook, recode, slips, out)
    truth_df = pl.DataFrame(
        truth,
        schema={"origin": pl.String, "hub": pl.String, "destination": pl.String, "hs": pl.String,
                "period": pl.Date, "kind": pl.String, "is_transshipment": pl.Boolean},
    ).sort("period", "hub", "destination", "hs", "origin", "kind")  # fmt: skip
    truth_df.write_parquet(out / "truth.parquet")
    info = {
        "seed": seed,
        "months": [start, end],
        "files": files,
        "rows": n_rows,
        "episodes": episodes,
        "lookalikes": lookalikes,
        "truth_rows": truth_df.height,
        "synthetic": True,
        "preset": preset,
    }
    if preset == "asia_ai_hardware":
        info["calibration"] = {
            "leg": "TWN -> MYS, HS 847150, exporter report (USD)",
            "anchors": {d.isoformat(): v for d, v in ASIA_AI_ANCHORS.items()},
            "source": "published figures quoted in DOMAIN.md; everything else is synthetic",
        }
    write_text_atomic(out / "world.json", json.dumps(info, indent=2) + "\n")
    return info


def _reports(flows, months, codes, rng, hide, rebook, recode, slips, out: Path) -> tuple[int, list]:
    """Write both reports of every flow, a year at a time, with real reporting's quirks.

    Columnar (numpy, polars) and chunked by report year, so that a world of
    tens of millions of rows is written without holding all its reports at once.
    """
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
    gap = dict(zip(reporters, rng.random((len(reporters), n_t)) < 0.02, strict=True))
    stopped = np.array([m >= dt.date(2022, 3, 1) for m in months])

    def absent(country: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Reports that never exist: a silent reporter, one that stopped, missing months."""
        out = country == "IRN"
        out |= (country == "RUS") & stopped[k]
        for c, mask in gap.items():
            out |= (country == c) & mask[k]
        return out

    def pairs(marks) -> set[tuple[int, int]]:
        return {(index[(a, b, p)], kk) for (a, b, p, kk) in marks if (a, b, p) in index}

    hidden, slipped = pairs(hide), pairs(slips)
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
        hs_x = [recode.get((exporter[ff], importer[ff], product[ff], kk), product[ff])
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
        partner = [rebook.get((importer[ff], exporter[ff], product[ff], kk), exporter[ff])
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
