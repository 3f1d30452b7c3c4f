"""The default detector: a combination of the route features learned on calibrated worlds.

Gradient-boosted trees (XGBoost), trained once on the labelled synthetic
worlds of the stress suite (calibrated to real series; tuning seeds only, see
``scripts/train_detector.py``), shipped with tradeflows and applied to any
data as they are: a user's store, the bundled EU data. The trees read the
route features only (:data:`tradeflows._routes.FEATURES`), which are on scales
that do not depend on the data's size or currency (rises against the data's
own spread, shares, log ratios); their output is the log-odds that a
route-month belongs to a transshipment episode. Every evidence feature is
held to count in one direction (monotone constraints): more rise never makes
a route less suspicious, which keeps the trees from learning quirks of the
worlds they were trained on.

A second set of trees (``corridor_model.json``), trained on the same worlds
from the first trees' held-out scores, reads each route's months pooled
(:func:`tradeflows.detect.pooled_features`) and gives the log-odds that the
route carries an episode: what orders the corridors.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.resources import files
from importlib.util import find_spec

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from tradeflows.detect._base import SuspicionOutlierMixin

__all__ = ["LearnedRouteDetector", "model_info", "pretrained_model"]

_MODEL = "route_model.json"
_CORRIDOR_MODEL = "corridor_model.json"
_INFO = "route_model.info.json"
#: :meth:`LearnedRouteDetector.line_raise` counts the training worlds' share
#: of episodes as if this many routes (about one training world's) were added
#: to the data's: a small table keeps the lines as trained.
SHRINK_ROUTES = 1300


@cache
def _info() -> dict:
    return json.loads(files("tradeflows.detect").joinpath(_INFO).read_text(encoding="utf-8"))


def model_info() -> dict:
    """How the shipped trees were made: features, parameters, worlds and seeds, threshold.

    Returns
    -------
    dict
        ``route_model.info.json``: how the shipped trees were trained.

    See Also
    --------
    pretrained_model : the trees.

    Examples
    --------
    >>> info = model_info()
    >>> set(info["tuning_seeds"]).isdisjoint(info["evaluation_seeds"])
    True
    """
    return dict(_info())


def pretrained_model():
    """The shipped trees as a fitted :class:`SupervisedRouteDetector`.

    Returns
    -------
    SupervisedRouteDetector
        Fitted with the trees shipped with tradeflows (``route_model.json``).

    See Also
    --------
    model_info : how they were trained.

    Examples
    --------
    >>> from tradeflows._routes import FEATURES
    >>> pretrained_model().n_features_in_ == len(FEATURES)
    True
    """
    from xgboost import XGBClassifier

    from tradeflows.detect._supervised import SupervisedRouteDetector

    info = _info()
    det = SupervisedRouteDetector(**info["params"])
    det.model_ = XGBClassifier()
    det.model_.load_model(str(files("tradeflows.detect").joinpath(_MODEL)))
    det.classes_ = np.array([0, 1])
    det.n_features_in_ = len(info["features"])
    return det


@cache
def _corridor_trees():
    from xgboost import XGBClassifier

    model = XGBClassifier()
    model.load_model(str(files("tradeflows.detect").joinpath(_CORRIDOR_MODEL)))
    return model


class LearnedRouteDetector(SuspicionOutlierMixin, BaseEstimator):
    """Score route-months with trees learned on calibrated worlds; flag from a log-odds threshold.

    ``suspicion`` is the log-odds that a route-month belongs to a
    transshipment episode. Without labels, ``fit`` learns nothing from the
    data: the shipped trees apply as they are (their features are scale-free).
    With labels (a user's known cases), ``fit`` goes on training the shipped
    trees on them.

    A route whose hub -> destination leg nobody reports (an exporters-only
    download: only the inflow and the direct leg speak) has lower log-odds
    for the same episode, and its own line, ``threshold_unseen``:
    :meth:`thresholds` gives each route-month the one it is held to. A month
    over its line is flagged where its route's months, pooled, clear the
    corridor trees' line too (:meth:`corridor_line`).

    Parameters
    ----------
    threshold : float, optional
        Log-odds from which a route-month is an outlier (chosen on the tuning
        worlds: ``scripts/train_detector.py``). Given alone, it is the line
        for every route.
    threshold_unseen : float, optional
        The same, for routes whose hub -> destination leg is never seen.
    corridor_threshold : float, optional
        The corridor trees' log-odds (:meth:`corridor_suspicion`) from which a
        route's months over their line are flagged (chosen on the tuning
        worlds, as ``threshold``).
    base_rate : {"data", "training"}
        How common episodes are taken to be among the routes. ``"data"``: the
        share the corridor trees expect in the data scored
        (:meth:`line_raise`); where episodes look rarer than in the training
        worlds (a wide screen of tens of thousands of routes), the routes'
        lines rise by the difference in log-odds, never fall.
        ``"training"``: as in the training worlds (the lines as chosen).
    model : SupervisedRouteDetector, optional
        Fitted trees to use instead of the shipped ones.
    extra_trees : int
        Trees added when ``fit`` is given labels.
    device : {"cpu", "cuda"}, optional
        Where XGBoost predicts (and trains, given labels). Unset, ``cpu``;
        :func:`~tradeflows.detect_routes` sets it from its engine (``cuda`` on
        the GPU engine with the CUDA build of XGBoost:
        :func:`tradeflows._engine.xgboost_device`).

    Attributes
    ----------
    model_ : SupervisedRouteDetector
        Its trees, on ``device``.
    offset_ : float
        Minus the threshold (scikit-learn's convention).
    offset_unseen_ : float
        Minus the threshold for routes whose outflow is never seen.
    corridor_offset_ : float
        Minus the corridor trees' line.

    See Also
    --------
    default_detector : the shipped trees, ready.
    detect_routes : where it is used.

    Examples
    --------
    >>> import numpy as np
    >>> from tradeflows._routes import FEATURES
    >>> X = np.zeros((3, len(FEATURES))); X[0, :5] = [8.0, 12.0, 12.0, 0.0, 0.0]
    >>> det = LearnedRouteDetector().fit(X)
    >>> s = det.suspicion(X)
    >>> bool(s[0] > s[1] == s[2])
    True
    """

    def __init__(
        self,
        threshold=None,
        model=None,
        extra_trees=100,
        threshold_unseen=None,
        device=None,
        corridor_threshold=None,
        base_rate="data",
    ):
        self.threshold = threshold
        self.model = model
        self.extra_trees = extra_trees
        self.threshold_unseen = threshold_unseen
        self.device = device
        self.corridor_threshold = corridor_threshold
        self.base_rate = base_rate

    def fit(self, X, y=None):
        """Take the shipped (or given) trees; with labels ``y``, train them further."""
        X = validate_data(self, X, dtype=np.float64)
        if self.base_rate not in ("data", "training"):
            raise ValueError(f"base_rate {self.base_rate!r}: choose data or training")
        base = self.model if self.model is not None else pretrained_model()
        check_is_fitted(base)
        if X.shape[1] != base.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but the trees read {base.n_features_in_} "
                "(tradeflows._routes.FEATURES)"
            )
        device = self.device or "cpu"
        if y is not None:
            from sklearn.base import clone

            tuned = clone(base).set_params(n_estimators=self.extra_trees, device=device)
            self.model_ = tuned.fit(X, y, init_model=base.model_.get_booster())
        elif (base.model_.get_params().get("device") or "cpu") != device:
            # A copy: the given trees stay where their owner put them.
            self.model_ = copy.deepcopy(base).set_params(device=device)
            self.model_.model_.set_params(device=device)
        else:
            self.model_ = base
        info = _info()
        threshold = self.threshold if self.threshold is not None else info["threshold"]
        if self.threshold_unseen is not None:
            unseen = self.threshold_unseen
        elif self.threshold is not None:  # a line given alone holds for every route
            unseen = self.threshold
        else:
            unseen = info.get("threshold_unseen", threshold)
        self.offset_ = -float(threshold)
        self.offset_unseen_ = -float(unseen)
        corridor = self.corridor_threshold
        self.corridor_offset_ = -float(
            corridor if corridor is not None else info["corridor"]["threshold"]
        )
        return self

    def corridor_line(self) -> float:
        """The corridor trees' log-odds a route's months need, pooled, to be flagged.

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> from tradeflows._routes import FEATURES
        >>> det = LearnedRouteDetector(corridor_threshold=-1.0)
        >>> det.fit(np.zeros((1, len(FEATURES)))).corridor_line()
        -1.0
        """
        check_is_fitted(self)
        return -self.corridor_offset_

    def episode_share(self, corridor_scores) -> float:
        """The share of routes that carry an episode, as the corridor trees expect it here.

        The mean of their probabilities over the routes, shrunk towards the
        training worlds' share (``model_info()["corridor"]["positive_share"]``,
        one route in 83) as if one training world of routes
        (``SHRINK_ROUTES``) were added: a small table says little.

        Parameters
        ----------
        corridor_scores : array-like of float
            :meth:`corridor_suspicion` of every route scored (NaN: none).

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np
        >>> from tradeflows._routes import FEATURES
        >>> det = LearnedRouteDetector().fit(np.zeros((1, len(FEATURES))))
        >>> trained = model_info()["corridor"]["positive_share"]
        >>> det.episode_share([]) == trained, det.episode_share(np.full(50_000, -8.0)) < trained
        (True, True)
        """
        scores = np.asarray(corridor_scores, dtype=np.float64)
        # Sorted: the same sum, bit for bit, whatever order the routes come in.
        scores = np.sort(scores[~np.isnan(scores)])
        trained = _info()["corridor"]["positive_share"]
        expected = float(np.sum(1.0 / (1.0 + np.exp(-scores))))
        return (expected + trained * SHRINK_ROUTES) / (scores.size + SHRINK_ROUTES)

    def line_raise(self, corridor_scores) -> float:
        """How far the routes' lines rise because episodes look rarer here than in training.

        The trees' log-odds assume the training worlds' share of episodes
        (one route in 83); a screen of 50,000 routes with as many episodes
        as a training world's has one in 5,000, and the same log-odds mean a
        route 40 times less likely to carry one. Where
        :meth:`episode_share` is below the training share, the lines rise by
        the difference in log-odds; they never fall (zero otherwise, and
        with ``base_rate="training"``).

        Parameters
        ----------
        corridor_scores : array-like of float
            As :meth:`episode_share`.

        Returns
        -------
        float
            At least 0: what to add to the route's line (log-odds).

        Examples
        --------
        >>> import numpy as np
        >>> from tradeflows._routes import FEATURES
        >>> det = LearnedRouteDetector().fit(np.zeros((1, len(FEATURES))))
        >>> calm = np.full(50_000, -8.0)  # no route looks like an episode
        >>> bool(det.line_raise(calm) > 1.0), det.line_raise(np.full(50, 2.0))
        (True, 0.0)
        """
        check_is_fitted(self)
        if self.base_rate == "training":
            return 0.0
        trained = _info()["corridor"]["positive_share"]
        share = self.episode_share(corridor_scores)
        return max(0.0, float(_logit(trained) - _logit(share)))

    def thresholds(self, outflow_seen):
        """The line each row is held to: ``threshold`` where its route's outflow
        is seen, ``threshold_unseen`` where it is not.

        Parameters
        ----------
        outflow_seen : array-like of bool
            Per row: is the hub -> destination leg of its route seen in any month?

        Returns
        -------
        ndarray of float

        Examples
        --------
        >>> import numpy as np
        >>> from tradeflows._routes import FEATURES
        >>> det = LearnedRouteDetector(threshold=1.0, threshold_unseen=-2.0)
        >>> det.fit(np.zeros((1, len(FEATURES)))).thresholds([True, False]).tolist()
        [1.0, -2.0]
        """
        check_is_fitted(self)
        return np.where(np.asarray(outflow_seen, dtype=bool), -self.offset_, -self.offset_unseen_)

    def suspicion(self, X):
        """Log-odds of transshipment: higher = more suspicious."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        # The trees' margin is their log-odds (no probability rounded to 1 in
        # float32 and back). They saw one route-month without an episode in
        # four: their odds are brought back to all route-months.
        margin = _predict_margin(self.model_.model_, X)
        return margin + _info()["log_odds_offset"]

    def corridor_suspicion(self, P):
        """Log-odds that a route carries an episode, from its months pooled.

        Parameters
        ----------
        P : array-like of shape (n_routes, len(POOLED_FEATURES))
            :func:`tradeflows.detect.pooled_features` of the scored
            route-months, in the order of ``POOLED_FEATURES``.

        Returns
        -------
        ndarray of float
            Higher = more suspicious; what :func:`tradeflows.corridors` ranks by.

        Examples
        --------
        >>> import numpy as np
        >>> from tradeflows._routes import FEATURES
        >>> from tradeflows.detect import POOLED_FEATURES
        >>> det = LearnedRouteDetector().fit(np.zeros((1, len(FEATURES))))
        >>> calm, strong = np.zeros((2, len(POOLED_FEATURES)))
        >>> calm[:4], strong[:4] = -6.0, 3.0
        >>> s = det.corridor_suspicion(np.stack([calm, strong]))
        >>> bool(s[1] > s[0])
        True
        """
        check_is_fitted(self)
        P = np.asarray(P, dtype=np.float64)
        n = len(_info()["corridor"]["features"])
        if P.ndim != 2 or P.shape[1] != n:
            raise ValueError(f"P has shape {P.shape}, but the corridor trees read {n} features")
        # CPU: a few rows per route, not worth a trip to the device.
        return _predict_margin(_corridor_trees(), P)


def _logit(p: float) -> float:
    return float(np.log(p) - np.log1p(-p))


def _predict_margin(model, X: np.ndarray) -> np.ndarray:
    """The trees' margins of ``X``, as float64 on the host. On ``cuda`` the rows
    go to the device first (CuPy, beside cuDF in the GPU environment), as
    XGBoost predicts in place only from data on the booster's device (without
    CuPy, XGBoost copies them itself, and says so)."""
    if (model.get_params().get("device") or "cpu") != "cpu" and find_spec("cupy") is not None:
        import cupy

        return cupy.asnumpy(model.predict(cupy.asarray(X), output_margin=True)).astype(np.float64)
    return model.predict(X, output_margin=True).astype(np.float64)
