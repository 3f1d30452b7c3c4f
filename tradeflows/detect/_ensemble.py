"""The default detector: robust evidence, an isolation forest, and trees when labels exist."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted, validate_data

from tradeflows.detect._base import SuspicionOutlierMixin
from tradeflows.detect._robust import RobustRouteDetector

__all__ = ["EnsembleDetector"]


class EnsembleDetector(SuspicionOutlierMixin, BaseEstimator):
    """The robust detector's score, adjusted by an isolation forest and, when
    labels are given, by a supervised model.

    The result keeps the robust detector's units (robust z) so that the
    threshold and the scores read the same with or without the other members:

    ``score = robust + w_forest * clip(forest_z, -3, 3) + w_supervised * 2 * threshold * (p - 0.5)``

    where ``forest_z`` is the forest's suspicion on a robust scale (its median
    and MAD on the data fitted on) and ``p`` the supervised model's probability
    of transshipment. The forest can move a score by at most
    ``3 * w_forest``: it breaks ties between routes with the same evidence but
    cannot flag a route that shows none. A confident supervised model moves it
    by up to ``threshold * w_supervised`` either way.

    Parameters
    ----------
    robust : estimator, optional
        Default ``RobustRouteDetector()``.
    forest : estimator or "drop", optional
        Default ``IsolationForest(random_state=0)``.
    supervised : estimator, optional
        A classifier with ``predict_proba`` (such as
        :class:`SupervisedRouteDetector`), fitted when ``y`` is given.
    weights : tuple of float
        Weights of the forest and the supervised members.
    threshold : float
        Score from which a row is an outlier.

    See Also
    --------
    LearnedRouteDetector : the default.
    detect_routes : where a detector is used.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); X[0] = [12.0, 12.0]
    >>> ens = EnsembleDetector().fit(X)
    >>> int(np.argmax(-ens.score_samples(X))), ens.predict(X[:2]).tolist()
    (0, [-1, 1])
    """

    def __init__(
        self, robust=None, forest=None, supervised=None, weights=(0.25, 1.0), threshold=6.0
    ):
        self.robust = robust
        self.forest = forest
        self.supervised = supervised
        self.weights = weights
        self.threshold = threshold

    def fit(self, X, y=None):
        """Fit every member (a supervised one only with labels ``y``; otherwise ``y`` is ignored)."""
        X = validate_data(self, X, dtype=np.float64)
        robust = (
            self.robust
            if self.robust is not None
            else RobustRouteDetector(threshold=self.threshold)
        )
        self.robust_ = clone(robust).fit(X)
        self.forest_ = None
        if not (isinstance(self.forest, str) and self.forest == "drop") and self.weights[0]:
            forest = self.forest if self.forest is not None else IsolationForest(random_state=0)
            self.forest_ = clone(forest).fit(X)
            s = -self.forest_.score_samples(X)
            self.forest_center_ = float(np.median(s))
            self.forest_scale_ = max(
                float(1.4826 * np.median(np.abs(s - self.forest_center_))), 1e-9
            )
        self.supervised_ = None
        if y is not None and self.supervised is not None and self.weights[1]:
            self.supervised_ = clone(self.supervised).fit(X, y)
        self.offset_ = -float(self.threshold)
        return self

    def suspicion(self, X):
        """The ensemble's score: higher = more suspicious (robust z units)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        score = self.robust_.suspicion(X)
        if self.forest_ is not None:
            z = (-self.forest_.score_samples(X) - self.forest_center_) / self.forest_scale_
            score = score + self.weights[0] * np.clip(z, -3.0, 3.0)
        if self.supervised_ is not None:
            p = self.supervised_.predict_proba(X)[:, 1]
            score = score + self.weights[1] * 2.0 * self.threshold * (p - 0.5)
        return score
