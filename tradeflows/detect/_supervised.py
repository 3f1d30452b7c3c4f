"""A supervised detector: XGBoost trained on labelled episodes."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SupervisedRouteDetector"]


class SupervisedRouteDetector(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (XGBoost) trained on labelled route-months.

    Labels come from synthetic worlds (``truth.parquet``) or from a user's
    known cases; the two classes are "not transshipment" and "transshipment".
    :meth:`contributions` gives each feature's contribution to a row's score
    (SHAP values from the trees), which is what the flags' reasons quote.

    Parameters
    ----------
    n_estimators, max_depth, learning_rate : int, int, float
        Passed to ``xgboost.XGBClassifier``.
    device : {"cpu", "cuda"}
        Where XGBoost trains and predicts (``cuda`` needs the CUDA build).
    random_state : int
        Seed of XGBoost's sampling.
    monotone : tuple of int, optional
        Per feature: 1 (its effect may only rise), -1 (only fall) or 0.
    subsample : float
        Share of rows each tree samples.
    n_jobs : int
        Threads XGBoost uses.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    model_ : xgboost.XGBClassifier

    See Also
    --------
    LearnedRouteDetector : the default.
    detect_routes : where a detector is used.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] + X[:, 1] > 1).astype(int)
    >>> det = SupervisedRouteDetector(n_estimators=20).fit(X, y)
    >>> float((det.predict(X) == y).mean()) > 0.9
    True
    >>> det.contributions(X[:1]).shape  # per feature, plus the bias
    (1, 4)
    """

    def __init__(
        self,
        n_estimators=200,
        max_depth=3,
        learning_rate=0.1,
        device="cpu",
        random_state=0,
        monotone=None,
        subsample=1.0,
        n_jobs=1,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.monotone = monotone
        self.subsample = subsample
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, init_model=None):
        """Train on route-months ``X`` and their labels ``y`` (two classes); with
        ``init_model`` (an XGBoost booster), go on from its trees."""
        from xgboost import XGBClassifier

        X, y = validate_data(self, X, y, dtype=np.float64)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                "Only binary classification is supported (transshipment or not). "
                f"The type of the target is {y_type}: it has {len(np.unique(y))} class(es)."
            )
        self.classes_, encoded = np.unique(y, return_inverse=True)
        extra = {}
        if self.monotone is not None:
            extra["monotone_constraints"] = "(" + ",".join(str(int(m)) for m in self.monotone) + ")"
        self.model_ = XGBClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            device=self.device,
            random_state=self.random_state,
            subsample=self.subsample,
            n_jobs=self.n_jobs,
            tree_method="hist",
            **extra,
        ).fit(X, encoded, xgb_model=init_model)
        return self

    def predict_proba(self, X):
        """Probability of each class, in ``classes_`` order."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.predict_proba(X)

    def predict(self, X):
        """The more probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def suspicion(self, X):
        """Probability of the second class (transshipment): higher = more suspicious."""
        return self.predict_proba(X)[:, 1]

    def contributions(self, X):
        """Each feature's contribution to the log-odds of each row, then the bias."""
        from xgboost import DMatrix

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.get_booster().predict(DMatrix(X), pred_contribs=True)
