"""Detectors (scikit-learn estimators), the flags table and the corridors.

:class:`LearnedRouteDetector` is the default: trees learned once on
calibrated synthetic worlds, shipped with tradeflows and applied to any data
(:func:`model_info` says how they were made). :class:`RobustRouteDetector`
needs no training and no contamination share; :class:`SupervisedRouteDetector`
is XGBoost trained on labelled episodes, with per-feature contributions;
:class:`EnsembleDetector` adds an isolation forest (and trees, when labels
are given) to the robust evidence. :func:`tradeflows.detect_routes` runs
mirror -> routes -> detector -> reasons and returns the flags table (its
columns: :data:`FLAG_COLUMNS`); :func:`tradeflows.corridors` reads it as one
row per route, ranked by evidence and value at stake (:data:`CORRIDOR_COLUMNS`),
or rolled up to wider corridors (``by=``, or :func:`roll_up` of a ranking:
:data:`ROLLUP_COLUMNS`).
The stages in between are here too: :func:`route_features`, :func:`reasons`,
:func:`route_evidence`, :func:`pooled_features`, :func:`route_months_scored`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tradeflows.detect._corridors import (
    CORRIDOR_COLUMNS,
    POOLED_FEATURES,
    PRODUCT_LEVELS,
    ROLLUP_COLUMNS,
    ROLLUP_KEYS,
    pooled_features,
    roll_up,
    route_evidence,
)
from tradeflows.detect._flags import (
    FLAG_COLUMNS,
    default_detector,
    reasons,
    route_features,
    route_months_scored,
)

if TYPE_CHECKING:
    from tradeflows.detect._ensemble import EnsembleDetector
    from tradeflows.detect._learned import LearnedRouteDetector, model_info, pretrained_model
    from tradeflows.detect._robust import RobustRouteDetector
    from tradeflows.detect._supervised import SupervisedRouteDetector

#: The detectors, imported when first named: scikit-learn and XGBoost take
#: about a second to import, which ``tradeflows detect`` spends computing the
#: routes instead while the shipped trees load in a thread (``detect_routes``).
_LAZY = {
    "EnsembleDetector": "_ensemble",
    "LearnedRouteDetector": "_learned",
    "model_info": "_learned",
    "pretrained_model": "_learned",
    "RobustRouteDetector": "_robust",
    "SupervisedRouteDetector": "_supervised",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"tradeflows.detect.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tradeflows.detect' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "CORRIDOR_COLUMNS",
    "FLAG_COLUMNS",
    "POOLED_FEATURES",
    "PRODUCT_LEVELS",
    "ROLLUP_COLUMNS",
    "ROLLUP_KEYS",
    "EnsembleDetector",
    "LearnedRouteDetector",
    "RobustRouteDetector",
    "SupervisedRouteDetector",
    "default_detector",
    "model_info",
    "pooled_features",
    "pretrained_model",
    "reasons",
    "roll_up",
    "route_evidence",
    "route_features",
    "route_months_scored",
]
