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
        return np.where(self.decision_function(X) <= 0, -1, 1)
