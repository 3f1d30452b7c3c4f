"""A robust-statistics detector: no training, no contamination share."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from tradeflows.detect._base import SuspicionOutlierMixin

__all__ = ["RobustRouteDetector"]


class RobustRouteDetector(SuspicionOutlierMixin, BaseEstimator):
    """Score route-months by robust evidence that must agree across feature groups.

    Each feature is put on a robust scale (its median and MAD over the data it
    is fitted on, the MAD never below ``scale_floor``). The suspicion of a row
    is the weakest of its groups of evidence, each group counting its strongest
    feature: with the groups ``[[inflow], [outflow, ghost, diversion]]`` a route
    scores high only when goods both arrive at the hub and leave towards the
    destination. ``support`` features add a quarter of their mean positive
    evidence. A row is an outlier when its suspicion reaches ``threshold``: there
    is no share of outliers to choose.

    Parameters
    ----------
    groups : list of list of int, optional
        Column indices; every group must show evidence. Default: one group of
        all columns (the strongest feature counts).
    support : list of int, optional
        Column indices of supporting evidence.
    threshold : float
        Suspicion (robust z units) from which a row is an outlier; 3.5 is the
        usual cut-off of modified z-scores (Iglewicz and Hoaglin).
    scale_floor : float
        Smallest scale of a feature; the route indicators are already z-scores
        against their own history, so 1.0 keeps them in their units.
    standardize : bool
        Put features on the robust scale of the data fitted on. ``False`` takes
        them as they are (center 0, scale 1): right for features that are
        already robust z-scores, such as the route indicators, and then
        fitting learns nothing from the data.

    Attributes
    ----------
    center_, scale_ : ndarray of shape (n_features,)
        The robust location and scale of each feature.
    offset_ : float
        ``-threshold``: ``decision_function = score_samples - offset_``.

    See Also
    --------
    LearnedRouteDetector : the default.
    detect_routes : where a detector is used.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((50, 2)); X[0] = [8.0, 9.0]; X[1] = [8.0, 0.0]
    >>> det = RobustRouteDetector(groups=[[0], [1]], threshold=4.0).fit(X)
    >>> det.predict(X[:3]).tolist()  # only the row with both kinds of evidence
    [-1, 1, 1]
    >>> round(float(-det.score_samples(X[:1])[0]), 1)
    8.0
    """

    def __init__(self, groups=None, support=None, threshold=3.5, scale_floor=1.0, standardize=True):
        self.groups = groups
        self.support = support
        self.threshold = threshold
        self.scale_floor = scale_floor
        self.standardize = standardize

    def fit(self, X, y=None):
        """Learn each feature's robust center and scale; ``y`` is ignored."""
        X = validate_data(self, X, dtype=np.float64)
        if self.standardize:
            self.center_ = np.median(X, axis=0)
            mad = 1.4826 * np.median(np.abs(X - self.center_), axis=0)
            self.scale_ = np.maximum(mad, self.scale_floor)
        else:
            self.center_ = np.zeros(X.shape[1])
            self.scale_ = np.ones(X.shape[1])
        self.offset_ = -float(self.threshold)
        return self

    def suspicion(self, X):
        """Suspicion of each row: higher = more suspicious (robust z units)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = (X - self.center_) / self.scale_
        groups = self.groups if self.groups is not None else [list(range(z.shape[1]))]
        core = np.min(np.column_stack([z[:, g].max(axis=1) for g in groups]), axis=1)
        if self.support:
            core = core + 0.25 * np.clip(z[:, self.support], 0, None).mean(axis=1)
        return core
