"""Shared fixtures: the real-data folder, tiny hand-made source files."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from tradeflows._io.comtrade import COMTRADE_PLUS_COLUMNS

REALDATA = Path(
    os.environ.get(
        "TRADEFLOWS_REALDATA", Path(__file__).resolve().parents[2] / "shared" / "realdata"
    )
)

COMTRADE_PLUS_HEADER = ",".join(COMTRADE_PLUS_COLUMNS)


def comtrade_row(
    *,
    period: str = "202301",
    reporter: str = "458",
    partner: str = "156",
    flow: str = "X",
    cmd: str = "847150",
    value: str = "1000",
    partner2: str = "0",
    customs: str = "C00",
    mot: str = "0",
    cls: str = "H6",
) -> str:
    """One Comtrade+ CSV line with the fields a test cares about."""
    freq = "M" if len(period) == 6 else "A"
    fields = {
        "typeCode": "C",
        "freqCode": freq,
        "refPeriodId": period + "01",
        "refYear": period[:4],
        "refMonth": period[4:] or "52",
        "period": period,
        "reporterCode": reporter,
        "flowCode": flow,
        "partnerCode": partner,
        "partner2Code": partner2,
        "classificationCode": cls,
        "classificationSearchCode": "HS",
        "isOriginalClassification": "True",
        "cmdCode": cmd,
        "customsCode": customs,
        "mosCode": "0",
        "motCode": mot,
        "qtyUnitCode": "-1",
        "netWgt": "10",
        "primaryValue": value,
        "fobvalue": value,
        "legacyEstimationFlag": "0",
        "isReported": "True",
        "isAggregate": "False",
    }
    return ",".join(fields.get(c, "") for c in COMTRADE_PLUS_HEADER.split(","))


def comtrade_csv(path: Path, rows: list[str]) -> Path:
    path.write_text(COMTRADE_PLUS_HEADER + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    return REALDATA


def canonical_frame(**columns) -> pl.DataFrame:
    """A small canonical frame; unspecified columns get sensible constants."""
    n = len(next(iter(columns.values())))
    base = {
        "period": [dt.date(2023, 1, 1)] * n,
        "freq": ["M"] * n,
        "reporter": ["MYS"] * n,
        "partner": ["CHN"] * n,
        "flow": ["X"] * n,
        "hs": ["847150"] * n,
        "hs_revision": ["HS2022"] * n,
        "value_usd": [1.0] * n,
        "source": ["test"] * n,
    }
    base.update(columns)
    return pl.DataFrame(base)


def months(n: int = 36, start: dt.date = dt.date(2021, 1, 1)) -> list[dt.date]:
    """``n`` consecutive first-of-month dates from ``start``."""
    return [dt.date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1)
            for k in range(n)]  # fmt: skip


def reports(*series: tuple, start: dt.date = dt.date(2021, 1, 1)) -> pl.DataFrame:
    """Canonical rows from ``(reporter, partner, flow, hs, values)`` monthly series.

    A value of ``None`` is a month without a report.
    """
    frames = []
    for reporter, partner, flow, hs, values in series:
        when = months(len(values), start)
        keep = [k for k, v in enumerate(values) if v is not None]
        frames.append(
            pl.DataFrame(
                {
                    "period": [when[k] for k in keep],
                    "reporter": reporter,
                    "partner": partner,
                    "flow": flow,
                    "hs": hs,
                    "value_usd": [float(values[k]) for k in keep],
                },
                schema_overrides={"period": pl.Date},
            )
        )
    from tradeflows._schema import CANONICAL

    df = pl.concat(frames)
    fill = {"freq": "M", "hs_revision": "HS2022", "slip_suspect": False, "source": "test"}
    return df.with_columns(
        *(pl.lit(v).alias(k) for k, v in fill.items()),
        *(pl.lit(None).alias(k) for k in ("net_kg", "qty", "qty_unit")),
    ).select(pl.col(c).cast(t) for c, t in CANONICAL.items())


def small_world(out: Path, seed: int, *, store: bool = False, **sizes) -> Path:
    """A small labelled synthetic world in ``out`` (and its store in ``out/store``).

    The smooth preset unless ``preset`` says otherwise: these worlds test the
    plumbing, not how well a detector copes with real noise (the benchmarks do).
    """
    from tradeflows._store import ingest
    from tradeflows._synth import make_trade_world

    params = {
        "preset": "smooth",
        "n_others": 8,
        "n_products": 8,
        "pairs_per_product": 15,
        "episodes": 3,
        "lookalikes": 3,
    }
    make_trade_world(out, seed=seed, **{**params, **sizes})
    if store:
        ingest([out / "comtrade"], out / "store")
    return out


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, through Playwright (see tests/browser.py)."""
    from tests.browser import FLAGS, chromium_path

    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS)
        yield b
        b.close()
