"""Detectors (scikit-learn estimators) and the flags table.

:class:`RobustRouteDetector` needs no training and no contamination share;
:class:`SupervisedRouteDetector` is XGBoost trained on labelled episodes, with
per-feature contributions; :class:`EnsembleDetector` is the default, which
adds an isolation forest (and the trees, when labels are given) to the robust
evidence. :func:`detect_routes` runs mirror -> routes -> detector -> reasons
and returns the flags table.
"""

from tradeflows.detect._ensemble import EnsembleDetector
from tradeflows.detect._flags import (
    FLAG_COLUMNS,
    default_detector,
    detect_routes,
    load_canonical,
    reasons,
)
from tradeflows.detect._robust import RobustRouteDetector
from tradeflows.detect._supervised import SupervisedRouteDetector

__all__ = [
    "FLAG_COLUMNS",
    "EnsembleDetector",
    "RobustRouteDetector",
    "SupervisedRouteDetector",
    "default_detector",
    "detect_routes",
    "load_canonical",
    "reasons",
]
