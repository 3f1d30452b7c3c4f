"""Missing is not zero: months nobody filed are unknown, and nothing is scored or flagged on them."""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.conftest import months, reports
from tradeflows._mirror import collect_mirror
from tradeflows._routes import collect_route_indicators, coverage_table

START = dt.date(2020, 1, 1)
N = 36


def flat(level: float) -> list[float]:
    return [level * (1 + 0.05 * ((k * 7) % 5 - 2)) for k in range(N)]


def indicators(df: pl.DataFrame, **options) -> pl.DataFrame:
    pairs = collect_mirror(df.lazy())
    cov = coverage_table(df.lazy())
    return collect_route_indicators(pairs.lazy(), coverage=cov, **options)


def month(k: int) -> dt.date:
    return months(N, START)[k]


def test_coverage_table_says_who_filed_what_level():
    df = reports(
        ("DEU", "ARM", "X", "847130", [1.0] * 12 + [None] * 24),
        ("DEU", "ARM", "X", "TOTAL", [5.0] * 36),
        ("ARM", "DEU", "M", "847130", [None] * 6 + [1.0] * 30),
        start=START,
    )
    cov = coverage_table(df.lazy()).collect()
    deu = cov.filter(reporter="DEU", role="X").sort("mi")
    assert deu.height == 36
    assert deu["products"].to_list() == [True] * 12 + [False] * 24
    assert deu["totals"].all()
    assert cov.filter(reporter="ARM", role="M").height == 30  # it filed nothing before


def test_a_month_the_only_reporter_skipped_is_unknown_not_a_fall():
    # Only the hub reports (the destination never does); it misses months 24-26
    # and stops after month 32. Those months are not zeros.
    out = flat(1e6)
    for k in (24, 25, 26, 33, 34, 35):
        out[k] = None
    rows = [
        ("USA", "MYS", "X", "847150", flat(2e6)),
        ("MYS", "USA", "M", "847150", [v * 1.05 for v in flat(2e6)]),
        ("MYS", "IRN", "X", "847150", out),
        ("MYS", "JPN", "X", "847150", [None if v is None else 1e5 for v in out]),
    ]
    ind = indicators(reports(*rows, start=START), destinations=["IRN"])
    r = ind.filter(origin="USA", hub="MYS", destination="IRN").sort("period")
    gaps = r.filter(pl.col("period").is_in([month(k) for k in (24, 25, 26)]))
    # The inflow is still seen (MYS filed its imports), the outflow is unknown.
    assert gaps["outflow"].is_null().all() and not gaps["covered"].any()
    assert gaps["outflow_rise"].max() == 0.0 and gaps["diversion"].max() == 0.0
    after = r.filter(pl.col("period") >= month(33))
    assert not after["covered"].any()
    # Nothing that the hub filed in those months was read as a drop to zero.
    seen = r.filter(pl.col("covered"))
    assert seen["outflow"].min() > 0


def test_no_route_month_where_none_of_its_legs_is_covered():
    # The origin-side file (exporter only) ends at month 23; nobody reports after.
    rows = [
        ("DEU", "ARM", "X", "847130", flat(1e5)[:24] + [None] * 12),
        ("DEU", "RUS", "X", "847130", flat(2e6)[:24] + [None] * 12),
        ("DEU", "GEO", "X", "847130", flat(1e5)[:24] + [None] * 12),
    ]
    ind = indicators(reports(*rows, start=START), destinations=["RUS"])
    assert ind["period"].max() == month(23)


def test_a_totals_file_does_not_extend_product_coverage():
    # Product rows end at month 23; all-goods rows run on. The product routes
    # end with the product rows, and their last months are not a collapse.
    product = [v for v in flat(2e6)[:24]] + [None] * 12
    rows = [
        ("DEU", "ARM", "X", "847130", [v * (4 if k >= 12 else 1) for k, v in enumerate(flat(1e5)[:24])] + [None] * 12),
        ("DEU", "RUS", "X", "847130", product),
        ("DEU", "ARM", "X", "TOTAL", flat(5e7)),
        ("DEU", "RUS", "X", "TOTAL", flat(9e7)),
    ]  # fmt: skip
    ind = indicators(reports(*rows, start=START), destinations=["RUS"])
    products = ind.filter(pl.col("hs") == "847130")
    assert products["period"].max() == month(23)
    assert products.filter(pl.col("period") > month(23)).is_empty()
    assert ind.filter(pl.col("hs") == "TOTAL").is_empty()  # totals are not a product


def test_a_series_first_months_are_warm_up_not_a_rise():
    # A new hub supplier in month 3 of the data: no history to rise from yet.
    inflow = [None] * 3 + [2e6] * (N - 3)
    rows = [
        ("USA", "MYS", "X", "847150", inflow),
        ("MYS", "USA", "M", "847150", [None if v is None else v * 1.05 for v in inflow]),
        ("MYS", "CHN", "X", "847150", [None] * 3 + [1.5e6] * (N - 3)),
        ("CHN", "MYS", "M", "847150", [None] * 3 + [1.6e6] * (N - 3)),
    ]
    ind = indicators(reports(*rows, start=START), destinations=["CHN"])
    r = ind.filter(origin="USA", hub="MYS").sort("period")
    first = r.filter(pl.col("period") < month(15))
    assert first["inflow_rise"].max() == 0.0 and first["outflow_rise"].max() == 0.0


def test_a_diversion_needs_the_origin_to_have_filed():
    # DEU's direct exports to RUS "fall" only because DEU stops filing them.
    rows = [
        ("DEU", "ARM", "X", "847130", [v * (6 if k >= 26 else 1) for k, v in enumerate(flat(1e5))]),
        ("DEU", "RUS", "X", "847130", flat(2e6)[:26] + [None] * 10),
        ("DEU", "GEO", "X", "847130", flat(1e5)),
    ]  # fmt: skip
    df = reports(*rows, start=START)
    # DEU files its other exports all along: it is covered, the RUS leg is zero.
    covered = indicators(df, destinations=["RUS"]).filter(
        origin="DEU", hub="ARM", destination="RUS"
    )
    assert covered.filter(pl.col("period") >= month(28))["diversion"].max() > 2.33
    # Without any DEU filing after month 25, nothing is read into the silence.
    silent = df.filter(pl.col("period") < month(26)).vstack(
        reports(("ARM", "DEU", "M", "847130", [None] * 26 + [5e5] * 10), start=START)
    )
    r = indicators(silent, destinations=["RUS"]).filter(origin="DEU", hub="ARM", destination="RUS")
    assert r.filter(pl.col("period") >= month(26))["diversion"].max() == 0.0


def test_coverage_from_the_pairs_is_the_table_where_every_filing_is_paired():
    # Without World-total filings every filing is in a pair: the table the
    # route step builds from the mirror alone is the one of the rows.
    from tradeflows._routes.coverage import coverage_from_pairs

    df = reports(
        ("DEU", "ARM", "X", "847130", [1.0] * 12 + [None] * 24),
        ("DEU", "ARM", "X", "TOTAL", [5.0] * 36),
        ("ARM", "DEU", "M", "847130", [None] * 6 + [1.0] * 30),
        ("ARM", "RUS", "X", "TOTAL", [None] * 30 + [2.0] * 6),
        start=START,
    )
    key = ["reporter", "role", "freq", "period"]
    rows = coverage_table(df.lazy()).collect().sort(key)
    pairs = coverage_from_pairs(collect_mirror(df.lazy()).lazy()).collect().sort(key)
    assert pairs.equals(rows)
    assert pairs.filter(reporter="ARM", role="X")["totals"].to_list() == [True] * 6


def test_a_series_of_many_exporters_is_covered_where_any_of_them_filed():
    # Nobody reports the hubs' imports: their exporter side is all that covers
    # them. MYS buys from the USA (which files every month, but ships nothing
    # to MYS in months 10-13) and from JPN (which files nothing in months
    # 10-13); SGP buys from JPN and KOR (nothing in months 11-14). MYS's
    # imports are known every month, nothing in 10-13; SGP's are unknown in
    # 11-13, the months neither of its suppliers filed.
    from tradeflows._routes import route_series

    def gaps(level: float, skipped: range) -> list:
        return [None if k in skipped else v for k, v in enumerate(flat(level))]

    rows = [
        ("USA", "MYS", "X", "847150", gaps(2e6, range(10, 14))),
        ("USA", "KOR", "X", "847150", flat(1e6)),
        ("JPN", "MYS", "X", "847150", gaps(1e6, range(10, 14))),
        ("JPN", "SGP", "X", "847150", gaps(1e6, range(10, 14))),
        ("KOR", "SGP", "X", "847150", gaps(3e5, range(11, 15))),
        ("MYS", "IRN", "X", "847150", flat(5e5)),
        ("SGP", "IRN", "X", "847150", flat(5e5)),
    ]
    df = reports(*rows, start=START)
    stages = route_series(
        collect_mirror(df.lazy()).lazy(), destinations=["IRN"], coverage=coverage_table(df.lazy())
    )
    hub_in = stages.changes.filter(pl.col("kind") == "hub_in").collect().sort("b", "mi")
    mys, sgp = (hub_in.filter(pl.col("b") == hub) for hub in ("MYS", "SGP"))
    assert mys.height == sgp.height == N
    assert mys["x_cov"].all() and not mys["m_cov"].any()
    assert mys["v"][10:14].to_list() == [0.0] * 4
    unknown = [k for k, known in enumerate(sgp["x_cov"]) if not known]
    assert unknown == [11, 12, 13]
    assert sgp.filter(pl.col("x_cov").not_())["v"].is_null().all()
