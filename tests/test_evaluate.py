"""Evaluation against labels: average precision, recall at k, look-alikes, the naive baseline."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from tests.conftest import reports
from tradeflows._evaluate import ap_ceiling, average_precision, evaluate, naive_baseline

D = dt.date(2024, 1, 1)


def _truth(rows):
    return pl.DataFrame(
        rows,
        schema=["origin", "hub", "destination", "hs", "period", "kind", "is_transshipment"],
        orient="row",
    )


def _flags(rows):
    return pl.DataFrame(rows, schema=["origin", "hub", "destination", "hs", "period", "score"],
                        orient="row")  # fmt: skip


TRUTH = _truth(
    [
        ("USA", "MYS", "CHN", "847150", D, "pass_through", True),
        ("TWN", "SGP", "CHN", "854231", D, "hidden_reexport", True),
        ("JPN", "THA", "CHN", "847180", D, "absorption", False),
    ]
)


def test_perfect_ranking_scores_one():
    flags = _flags([("USA", "MYS", "CHN", "847150", D, 9.0), ("TWN", "SGP", "CHN", "854231", D, 8.0),
                    ("JPN", "THA", "CHN", "847180", D, 1.0)])  # fmt: skip
    r = evaluate(flags, TRUTH)
    assert (r["route_ap"], r["route_month_ap"], r["recall_at_k"], r["k"]) == (1.0, 1.0, 1.0, 2)
    assert r["lookalikes_in_top_k"] == 0


def test_a_lookalike_on_top_costs_precision_and_is_counted():
    flags = _flags(
        [("JPN", "THA", "CHN", "847180", D, 9.0), ("USA", "MYS", "CHN", "847150", D, 8.0)]
    )
    r = evaluate(flags, TRUTH)
    # Hits at ranks 2 (precision 1/2); the second positive is never scored.
    assert r["route_ap"] == pytest.approx(0.25)
    assert r["lookalikes_in_top_k"] == 1 and r["recall_at_k"] == 0.5


def test_own_route_counts_a_corridor_only_where_its_best_route_is_the_episodes():
    """Thailand's absorption is JPN's; the corridor THA -> CHN 847180 ranks first on KOR's
    route: a look-alike's corridor in the top k, not the look-alike's route. The true
    corridor through Malaysia ranks second on its own origin (USA); Singapore's true
    corridor is reached on all origins' route (""), which holds TWN's."""
    flags = _flags([("KOR", "THA", "CHN", "847180", D, 9.0), ("JPN", "THA", "CHN", "847180", D, 1.0),
                    ("USA", "MYS", "CHN", "847150", D, 8.0)])  # fmt: skip
    r = evaluate(flags, TRUTH)
    assert (r["lookalikes_in_top_k"], r["lookalike_routes_in_top_k"]) == (1, 0)
    assert r["recall_at_k"] == r["own_recall_at_k"] == 0.5
    mine = flags.with_columns(score=pl.when(pl.col("origin") == "JPN").then(10.0)
                              .otherwise(pl.col("score")))  # fmt: skip
    assert evaluate(mine, TRUTH)["lookalike_routes_in_top_k"] == 1
    # True corridors: found on another origin's route counts for recall@k only.
    wrong = _flags([("KOR", "MYS", "CHN", "847150", D, 9.0), ("", "SGP", "CHN", "854231", D, 8.0)])
    r = evaluate(wrong, TRUTH)
    assert (r["recall_at_k"], r["own_recall_at_k"]) == (1.0, 0.5)


def test_hub_and_product_leave_the_destination_out():
    # The right hub and product, the wrong destination: missed as a corridor,
    # found on hub and product.
    flags = _flags(
        [("USA", "MYS", "RUS", "847150", D, 3.0), ("JPN", "THA", "CHN", "847180", D, 2.0)]
    )
    r = evaluate(flags, TRUTH)
    assert r["route_ap"] == 0.0
    assert r["hub_product_ap"] == pytest.approx(0.5)  # one of two true hub x products, first


def _reports(rows):
    """Canonical rows of one month: who reported what."""
    return pl.LazyFrame(
        rows, schema=["reporter", "partner", "flow", "hs"], orient="row"
    ).with_columns(freq=pl.lit("M"), period=pl.lit(D), value_usd=pl.lit(1e6))


def test_the_ceiling_counts_corridors_whose_destination_a_report_names():
    # Nobody reports MYS -> CHN; only the importer reports SGP -> CHN.
    lf = _reports([("USA", "MYS", "X", "847150"), ("CHN", "SGP", "M", "854231")])
    assert ap_ceiling(lf, TRUTH) == 0.5
    # The origin's direct exports to the destination name it too; another product does not.
    direct = _reports([("USA", "CHN", "X", "847150")])
    assert ap_ceiling(pl.concat([lf, direct]), TRUTH) == 1.0
    assert ap_ceiling(_reports([("USA", "CHN", "X", "847180")]), TRUTH) == 0.0


def test_the_ceiling_falls_where_only_the_origins_report(tmp_path):
    from tradeflows._store import ingest, scan_store
    from tradeflows._synth import STRESS, make_trade_world

    ceilings = {}
    for dim in ("default", "exporters_only"):
        make_trade_world(tmp_path / dim, seed=5, **STRESS[dim])
        ingest([tmp_path / dim / "comtrade"], tmp_path / dim / "store")
        truth = pl.read_parquet(tmp_path / dim / "truth.parquet")
        ceilings[dim] = ap_ceiling(scan_store(tmp_path / dim / "store"), truth)
    # The same episodes; hubs and destinations file nothing in the second world,
    # so only the origins' direct exports can name a destination.
    assert ceilings["default"] >= 0.75
    assert 0.0 < ceilings["exporters_only"] <= 0.5


def test_corridor_is_the_unit_whatever_the_origin():
    flags = _flags([("", "MYS", "CHN", "847150", D, 3.0), ("DEU", "SGP", "CHN", "854231", D, 2.0)])
    assert evaluate(flags, TRUTH)["route_ap"] == 1.0


def test_null_scores_are_not_ranked():
    flags = _flags(
        [("USA", "MYS", "CHN", "847150", D, None), ("TWN", "SGP", "CHN", "854231", D, 1.0)]
    )
    assert evaluate(flags, TRUTH)["route_ap"] == 0.5


def test_average_precision_counts_unscored_positives():
    assert average_precision([3.0, 2.0, 1.0], [True, False, True]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([1.0], [True], n_positive=4) == 0.25


def test_naive_baseline_is_the_hubs_year_on_year_jump():
    values = [1e6] * 12 + [8e6] * 12
    df = reports(("MYS", "CHN", "X", "847150", values), ("MYS", "FRA", "X", "847150", values))
    base = naive_baseline(df.lazy()).collect()
    assert set(base["destination"]) == {"CHN"}  # only destinations of concern
    assert base["score"].head(12).is_null().all()  # no year before the first
    assert base["score"].tail(12).min() > 1.5


@pytest.mark.parametrize(
    "written",
    [
        lambda t: t.with_columns(pl.col("period").dt.strftime("%Y-%m")),
        lambda t: t.with_columns(pl.col("period").cast(pl.String)),
        lambda t: t.with_columns(pl.col("period").cast(pl.Datetime)),
        lambda t: t.with_columns(pl.col("is_transshipment").cast(pl.Int8)),
        lambda t: t.cast(pl.String),  # as a CSV file reads
        lambda t: t.with_columns(pl.col("hub", "hs").cast(pl.Categorical)),
    ],
)
def test_labels_made_elsewhere_score_as_a_worlds_own(written):
    # Outside checks bring their own labels: months as text or datetimes, 0/1
    # flags, a CSV file. Each was an internal error (a join of a date on a str).
    flags = _flags([("USA", "MYS", "CHN", "847150", D, 9.0), ("JPN", "THA", "CHN", "847180", D, 8.0),
                    ("TWN", "SGP", "CHN", "854231", D, 7.0)])  # fmt: skip
    assert evaluate(flags, written(TRUTH)) == evaluate(flags, TRUTH)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (lambda t: t.with_columns(pl.col("hs").cast(pl.Int64)), "column 'hs' is Int64: codes are text"),
        (lambda t: t.drop("origin"), "no column 'origin'; labels have origin, hub"),
        (lambda t: t.with_columns(pl.col("period").dt.strftime("%d.%m.%Y")),
         "period '01.01.2024' is not a month (2024-05 or 2024-05-01)"),
        (lambda t: t.with_columns(pl.lit("maybe").alias("is_transshipment")),
         "is_transshipment 'maybe' is not true or false"),
    ],
)  # fmt: skip
def test_labels_that_cannot_be_read_are_refused_in_one_line(written, message):
    from tradeflows._errors import TradeflowsInputError

    with pytest.raises(TradeflowsInputError, match=re.escape(message)):
        evaluate(_flags([("USA", "MYS", "CHN", "847150", D, 9.0)]), written(TRUTH))
