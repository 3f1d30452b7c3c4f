"""Evaluation against labels: average precision, recall at k, look-alikes, the naive baseline."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.conftest import reports
from tradeflows._evaluate import average_precision, evaluate, naive_baseline

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
