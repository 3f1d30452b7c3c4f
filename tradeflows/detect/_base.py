"""What every tradeflows outlier detector shares: scikit-learn's methods from one ``suspicion``."""

from __future__ import annotations

import numpy as np
from sklearn.base import OutlierMixin

__all__ = ["SuspicionOutlierMixin"]


class SuspicionOutlierMixin(OutlierMixin):
    """``score_samples``, ``decision_function`` and ``predict`` from ``suspicion(X)``
    (higher = more suspicious) and ``offset_`` (minus the threshold).

    scikit-learn's sign holds: ``score_samples`` is lower for more abnormal rows,
    ``decision_function`` is negative for outliers and ``predict`` gives -1 for them.
    """

    def score_samples(self, X):
        """scikit-learn's sign: lower = more abnormal (the negated suspicion)."""
        return -self.suspicion(X)

    def decision_function(self, X):
        """Negative for outliers: ``score_samples(X) - offset_``."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """-1 for outliers (suspicion at or above the threshold), 1 for inliers."""
        return np.where(self.outliers(self.score_samples(X)), -1, 1)

    def outliers(self, score_samples):
        """True where rows with these ``score_samples`` are outliers (``predict`` -1).

        For a caller that has the scores already: the rows are not scored again.

        Examples
        --------
        >>> import numpy as np
        >>> from tradeflows.detect import RobustRouteDetector
        >>> det = RobustRouteDetector(threshold=3.0).fit(np.arange(20.0).reshape(-1, 1))
        >>> det.outliers(np.array([-2.9, -3.0, -3.1])).tolist()
        [False, True, True]
        """
        return np.asarray(score_samples) - self.offset_ <= 0
