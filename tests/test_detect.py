"""Detectors (the scikit-learn contract), the flags table and its reasons, on worlds and real data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.conftest import small_world
from tradeflows.datasets import load_eu_electronics_exports
from tradeflows.detect import (
    FLAG_COLUMNS,
    EnsembleDetector,
    RobustRouteDetector,
    SupervisedRouteDetector,
    default_detector,
    detect_routes,
)
from tradeflows.errors import TradeflowsInputError
from tradeflows.evaluate import evaluate, naive_baseline
from tradeflows.routes import FEATURES, ROUTE_KEY
from tradeflows.store import scan_store

# scikit-learn's outlier checks expect every detector to call some of any
# training set outliers (a contamination share). Ours have none by design: on
# blobs without outliers they rightly call none.
NO_CONTAMINATION = {
    "check_outliers_train": "no contamination share: data without outliers gets no outlier",
    "check_outliers_fit_predict": "no contamination share: data without outliers gets no outlier",
}


def _expected_failures(estimator):
    return NO_CONTAMINATION if not isinstance(estimator, SupervisedRouteDetector) else {}


@parametrize_with_checks(
    [RobustRouteDetector(), SupervisedRouteDetector(n_estimators=10), EnsembleDetector()],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_robust_detector_flags_nothing_where_nothing_stands_out():
    X = np.random.default_rng(0).normal(size=(2000, 3))
    assert (RobustRouteDetector().fit(X).predict(X) == 1).all()


def test_robust_detector_needs_every_group_of_evidence():
    X = np.zeros((100, 3))
    X[0] = [9.0, 9.0, 0.0]  # arrivals and departures
    X[1] = [9.0, 0.0, 9.0]  # arrivals and an unrelated third feature
    det = RobustRouteDetector(groups=[[0], [1]], standardize=False).fit(X)
    assert det.predict(X[:3]).tolist() == [-1, 1, 1]
    assert det.suspicion(X[:1])[0] == pytest.approx(9.0)


def test_forest_only_breaks_ties_in_the_ensemble():
    rng = np.random.default_rng(1)
    X = np.abs(rng.normal(size=(500, 2)))
    X[0] = [0.0, 40.0]  # strange to a forest, but no arrival evidence
    robust = RobustRouteDetector(groups=[[0], [1]], standardize=False)
    ens = EnsembleDetector(robust=robust, forest=IsolationForest(random_state=0)).fit(X)
    assert ens.predict(X[:1]).tolist() == [1]
    assert abs(ens.suspicion(X[:1])[0] - robust.fit(X).suspicion(X[:1])[0]) <= 0.75 + 1e-9


def test_supervised_detector_explains_each_score():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 4))
    y = (X[:, 1] > 1).astype(int)
    det = SupervisedRouteDetector(n_estimators=30).fit(X, y)
    contrib = det.contributions(X)
    assert contrib.shape == (400, 5)
    # The feature the labels depend on carries the contributions.
    assert np.abs(contrib[:, 1]).mean() > 5 * np.abs(contrib[:, [0, 2, 3]]).mean()
    with pytest.raises(ValueError, match="Only binary classification"):
        det.fit(X, rng.integers(0, 3, 400))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = small_world(tmp_path_factory.mktemp("world"), seed=3, store=True, n_others=12,
                      n_products=12, pairs_per_product=25, episodes=6, lookalikes=5)  # fmt: skip
    return out, scan_store(out / "store"), pl.read_parquet(out / "truth.parquet")


@pytest.fixture(scope="module")
def flags(world):
    return detect_routes(world[1])


def test_flags_table_has_the_contract_columns(flags):
    assert flags.columns[: len(FLAG_COLUMNS)] == FLAG_COLUMNS
    assert set(FEATURES) <= set(flags.columns)
    assert flags["score"].is_sorted(descending=True)
    assert flags.filter(pl.col("flagged"))["reasons"].str.len_chars().min() > 20


def test_detector_beats_the_naive_baseline_on_a_world(world, flags):
    _, lf, truth = world
    mine = evaluate(flags, truth)
    naive = evaluate(naive_baseline(lf), truth)
    assert mine["route_ap"] >= 0.8
    assert mine["route_ap"] >= 5 * naive["route_ap"]
    assert mine["lookalikes_in_top_k"] == 0


def test_flagged_rows_are_planted_episodes(world, flags):
    truth = world[2]
    episodes = truth.filter(pl.col("is_transshipment")).select("hub", "destination", "hs").unique()
    flagged = flags.filter(pl.col("flagged")).select("hub", "destination", "hs").unique()
    hits = flagged.join(episodes, on=["hub", "destination", "hs"]).height
    assert hits / flagged.height >= 0.8


def test_data_quality_events_are_never_flagged(flags):
    dq = flags.filter(pl.col("data_quality").is_not_null())
    assert not dq["flagged"].any()
    assert dq["reasons"].str.contains("data quality").all()


@pytest.mark.parametrize("mine", [True, False], ids=["default", "IsolationForest"])
def test_flagged_is_the_detectors_own_predict(world, flags, mine):
    # tradeflows' detectors tell outliers from the scores already computed;
    # any other estimator is asked to predict. Both must give predict's call.
    det = default_detector() if mine else IsolationForest(random_state=0)
    out = flags if mine else detect_routes(world[1], detector=clone(det))
    out = out.sort([*ROUTE_KEY, "period"])  # the order detect_routes fits in
    X = out.select(FEATURES).to_numpy()
    expected = (det.fit(X).predict(X) == -1) & out["data_quality"].is_null().to_numpy()
    assert expected.any()
    assert out["flagged"].to_list() == expected.tolist()


def test_a_mirror_given_is_not_computed_again(world, flags, monkeypatch):
    from tradeflows.detect import _flags
    from tradeflows.mirror import collect_mirror

    pairs = collect_mirror(world[1])
    calls = []
    monkeypatch.setattr(_flags, "collect_mirror", lambda *a, **k: calls.append(a))
    assert_frame_equal(detect_routes(world[1], pairs=pairs), flags)
    assert calls == []
    with pytest.raises(ValueError, match="chapter by chapter"):
        detect_routes(world[1], pairs=pairs, partition=True)


def test_known_cases_train_the_supervised_member(world):
    lf, truth = world[1], world[2]
    trained = detect_routes(lf, labels=truth)
    assert evaluate(trained, truth)["route_ap"] >= 0.8


def test_options_are_checked_before_any_work(world):
    with pytest.raises(TradeflowsInputError, match="--since"):
        detect_routes(world[1], since="2024")
    with pytest.raises(TradeflowsInputError, match="XYZ"):
        detect_routes(world[1], hubs=["XYZ"])


def test_default_detector_reads_the_route_features():
    det = default_detector()
    names = [FEATURES[i] for group in det.robust.groups for i in group]
    assert names[0] == "inflow_rise" and "materiality" in names


def test_real_eu_case_names_the_published_routes():
    """EU electronics to Russia via Armenia, Kazakhstan, Kyrgyzstan after 2022-02 (EBRD, BOFIT).

    The bundled Eurostat data sees only the EU's side: exports to the hubs and
    to Russia, by CN8 code. Ranked by the extra value they carried, the flagged
    corridors to Russia must be the published ones.
    """
    flags = detect_routes(load_eu_electronics_exports())
    flagged = flags.filter(pl.col("flagged"))
    after = flagged.filter(pl.col("period") >= dt.date(2022, 2, 1)).height
    assert after / flagged.height >= 0.95  # the flags start with the sanctions
    to_russia = (
        flagged.filter(pl.col("destination") == "RUS")
        .group_by("hub", hs4=pl.col("hs").str.slice(0, 4))
        .agg(extra=pl.col("extra_inflow").sum())
        .sort("extra", descending=True)
        .head(8)
    )
    published = to_russia.filter(
        pl.col("hub").is_in(["ARM", "KAZ", "KGZ"]) & pl.col("hs4").is_in(["8471", "8517", "8542"])
    )
    assert published.height >= 6
    assert {"ARM", "KAZ", "KGZ"} <= set(published["hub"])
    assert {"8471", "8517", "8542"} <= set(published["hs4"])
    top_arm = flagged.filter((pl.col("hub") == "ARM") & (pl.col("destination") == "RUS")).row(
        0, named=True
    )
    assert "russia_sanctions" in top_arm["reasons"] or "fell" in top_arm["reasons"]
