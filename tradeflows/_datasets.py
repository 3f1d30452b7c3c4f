"""Bundled real data, as canonical LazyFrames, and synthetic worlds.

``make_trade_world`` (from :mod:`tradeflows._synth`) writes a labelled
synthetic world; the ``load_*`` functions read the bundled real data;
``toy_trade`` is the few rows the examples of the route stages start from.

The files live in the project's ``datasets/`` folder with their provenance and
licence (``datasets/README.md``) and the audit of their ingestion
(``*.audit.json``). They are found beside the package in a source checkout or
an editable install, or wherever ``TRADEFLOWS_DATASETS`` points.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from tradeflows._errors import TradeflowsInputError
from tradeflows._schema import CANONICAL
from tradeflows._synth import ASIA_AI_ANCHORS, make_trade_world

__all__ = [
    "ASIA_AI_ANCHORS",
    "datasets_dir",
    "load_eu_electronics_exports",
    "load_eu_total_exports",
    "load_partner_total_imports",
    "make_trade_world",
    "toy_trade",
]


def datasets_dir() -> Path:
    """The folder of bundled data files.

    Returns
    -------
    Path
        The folder (``TRADEFLOWS_DATASETS``, or ``datasets/`` beside the package).

    See Also
    --------
    load_eu_electronics_exports : the bundled product-level data.

    Examples
    --------
    >>> (datasets_dir() / "README.md").exists()
    True
    """
    env = os.environ.get("TRADEFLOWS_DATASETS")
    folder = Path(env) if env else Path(__file__).resolve().parents[1] / "datasets"
    if not (folder / "README.md").exists():
        raise TradeflowsInputError(
            f"{folder}: bundled datasets not found; they ship with the source checkout "
            "(set TRADEFLOWS_DATASETS to its datasets/ folder)"
        )
    return folder


def _load(name: str) -> pl.LazyFrame:
    return pl.scan_parquet(datasets_dir() / f"{name}.parquet").select(
        pl.col(c).cast(t) for c, t in CANONICAL.items()
    )


def load_eu_electronics_exports() -> pl.LazyFrame:
    """EU-27 monthly exports of sanctioned electronics to Russia and its neighbours.

    Member states' exports of 67 CN8 codes under HS 8471, 8473, 8486, 8517,
    8525, 8526, 8529, 8532, 8536, 8541, 8542, 8803, 8806, 9013, 9014 to
    Russia, Armenia, Belarus, Georgia, Kyrgyzstan, Kazakhstan and Uzbekistan,
    January 2020 to December 2022, in dollars (Eurostat Comext, via the MIT
    ``ruimpeks`` repository).

    Returns
    -------
    LazyFrame
        Canonical rows (:data:`tradeflows._schema.CANONICAL`).

    See Also
    --------
    datasets_dir : where the files are.

    Examples
    --------
    >>> lf = load_eu_electronics_exports()
    >>> sorted(lf.select(pl.col("partner").unique()).collect()["partner"])
    ['ARM', 'BLR', 'GEO', 'KAZ', 'KGZ', 'RUS', 'UZB']
    """
    return _load("eu_electronics_exports_2020_2022")


def load_eu_total_exports() -> pl.LazyFrame:
    """EU member states' monthly total exports to RU, AM, GE, KZ, KG, UZ, 2019-01 to 2024-08.

    ``hs`` is ``TOTAL``; the EU27 and euro-area aggregate rows of the source
    are dropped (see the audit beside the file).

    Returns
    -------
    LazyFrame
        Canonical rows (:data:`tradeflows._schema.CANONICAL`).

    See Also
    --------
    datasets_dir : where the files are.

    Examples
    --------
    >>> load_eu_total_exports().select(pl.col("hs").unique()).collect().item()
    'TOTAL'
    """
    return _load("eu_total_exports_2019_2024")


def load_partner_total_imports() -> pl.LazyFrame:
    """Armenia's, Kazakhstan's, Kyrgyzstan's and Uzbekistan's annual imports by partner, 2019-2023.

    The mirror side of :func:`load_eu_total_exports`, from the partners' own
    statistics offices (converted to euros by the source's author, to dollars
    here); regional aggregates dropped.

    Returns
    -------
    LazyFrame
        Canonical rows (:data:`tradeflows._schema.CANONICAL`).

    See Also
    --------
    datasets_dir : where the files are.

    Examples
    --------
    >>> sorted(load_partner_total_imports().select(pl.col("reporter").unique()).collect()["reporter"])
    ['ARM', 'KAZ', 'KGZ', 'UZB']
    """
    return _load("partner_total_imports_2019_2023")


def toy_trade() -> pl.LazyFrame:
    """A hub passing on a rise, in 72 canonical rows: the examples' data (synthetic).

    The United States' exports of HS 847150 to Malaysia, USD 1m a month from
    2022-01 and 6m from 2024-01, and Malaysia's to China, 80% of them, 36
    months each, as the exporters report them.

    Returns
    -------
    LazyFrame
        Canonical rows (``freq``, ``period``, ``reporter``, ``partner``,
        ``flow``, ``hs``, ``value_usd``, ``net_kg``, ``slip_suspect``).

    See Also
    --------
    tradeflows.collect_mirror : the pairs of its flows.
    make_trade_world : a labelled world of many flows.

    Examples
    --------
    >>> rows = toy_trade().collect()
    >>> rows.height, rows["value_usd"].max()
    (72, 6000000.0)
    """
    import datetime as dt

    months = [dt.date(2022 + k // 12, k % 12 + 1, 1) for k in range(36)]
    grow = [1e6 * (1 if k < 24 else 6) for k in range(36)]
    return pl.LazyFrame(
        {
            "freq": "M",
            "period": months * 2,
            "reporter": ["USA"] * 36 + ["MYS"] * 36,
            "partner": ["MYS"] * 36 + ["CHN"] * 36,
            "flow": "X",
            "hs": "847150",
            "value_usd": grow + [0.8 * g for g in grow],
            "net_kg": None,
            "slip_suspect": False,
        }
    ).with_columns(pl.col("net_kg").cast(pl.Float64))
