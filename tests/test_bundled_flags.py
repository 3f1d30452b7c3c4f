"""The bundled data as `make report` reads it: flags only where the legs were filed.

The EU's CN8 exports end in 2022-11; the total-trade files beside them run
on to 2024. A month nobody filed at product level is unknown, never a fall to
zero, so no flagged route-month may rest on one, and the totals must not
change which corridors are flagged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tradeflows import detect_routes
from tradeflows._routes import ROUTE_KEY, coverage_table
from tradeflows._store import ingest, scan_store

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = ROOT / "datasets" / "eu_electronics_exports_2020_2022.parquet"
TOTALS = ROOT / "datasets" / "eu_export_sanctions"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("bundled")
    ingest([PRODUCTS, TOTALS], base / "report")
    ingest([PRODUCTS], base / "products")
    return {name: scan_store(base / name) for name in ("report", "products")}


@pytest.fixture(scope="module")
def flags(stores):
    return {name: detect_routes(lf) for name, lf in stores.items()}


def _filed(lf: pl.LazyFrame) -> pl.DataFrame:
    """(reporter, role, month) filed at product level, monthly."""
    return (
        coverage_table(lf)
        .filter((pl.col("freq") == "M") & pl.col("products"))
        .select("reporter", "role", "period")
        .collect()
    )


@pytest.mark.parametrize("name", ["report", "products"])
def test_no_flagged_route_month_outside_the_coverage_of_its_legs(stores, flags, name):
    flagged = flags[name].filter(pl.col("flagged"))
    assert flagged.height > 0
    filed = _filed(stores[name])
    # The inflow leg (origin -> hub) is known in a month its exporter or its importer filed.
    inflow = pl.concat([
        filed.filter(pl.col("role") == "X").select(origin="reporter", period="period"),
        filed.filter(pl.col("role") == "M").select(hub="reporter", period="period"),
    ], how="diagonal")  # fmt: skip
    by_origin = flagged.join(
        inflow.drop_nulls("origin").drop("hub"), on=["origin", "period"], how="semi"
    )
    by_hub = flagged.join(inflow.drop_nulls("hub").drop("origin"), on=["hub", "period"], how="semi")
    seen = pl.concat([by_origin, by_hub]).unique(subset=[*ROUTE_KEY, "period"])
    assert seen.height == flagged.height
    last = filed["period"].max()
    assert last == dt.date(2022, 11, 1)  # the CN8 data's end: the totals do not extend it
    assert flagged["period"].max() <= last


def test_totals_beside_the_products_flag_the_same_corridors(flags):
    def flagged(f: pl.DataFrame) -> set:
        return set(f.filter(pl.col("flagged")).select(ROUTE_KEY).unique().rows())

    assert flagged(flags["report"]) == flagged(flags["products"])
    assert flags["report"].height == flags["products"].height


#: The hubs the EBRD's "Eurasian roundabout" names, read from the same kind of
#: data (all-goods exports by partner): EU exports to Kyrgyzstan rose 345%, to
#: Armenia 165%, to Kazakhstan 94% from 2021 to 2022 (DOMAIN.md). Georgia and
#: Uzbekistan, the other neighbours in the files, rose 40% and 46%.
ROUNDABOUT = {"ARM", "KAZ", "KGZ"}


@pytest.mark.parametrize("first", ["2019-01-01", "2020-01-01", "2021-01-01"])
def test_all_goods_trade_by_partner_is_read_as_one_product_when_asked(first):
    from tradeflows import corridors
    from tradeflows.datasets import load_eu_total_exports
    from tradeflows.detect import roll_up

    lf = load_eu_total_exports().filter(pl.col("period") >= dt.date.fromisoformat(first))
    # By default totals only say who filed: no route is built of them.
    assert detect_routes(lf).is_empty()
    flags = detect_routes(lf, hs=["TOTAL"])
    assert set(flags["hs"].unique()) == {"TOTAL"}
    hubs = roll_up(corridors(flags), ["hub", "destination"]).drop_nulls("score")
    order = hubs.sort(["score", "hub"], descending=[True, False])["hub"].to_list()
    assert set(order[:3]) == ROUNDABOUT and set(order[3:]) == {"GEO", "UZB"}
    flagged = flags.filter(pl.col("flagged"))
    assert set(flagged["hub"]) <= ROUNDABOUT and "KAZ" in set(flagged["hub"])
    assert set(flagged["destination"]) == {"RUS"}
