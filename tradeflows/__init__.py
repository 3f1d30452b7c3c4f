"""tradeflows: find transshipment in trade statistics.

The public surface, stage by stage: read (:func:`scan`), clean (the
:mod:`tradeflows.clean` verbs and :func:`audit`), execute (:func:`collect`),
store (:func:`ingest`, :func:`scan_store`), pair (:func:`mirror`), build routes
(:func:`route_indicators`), detect (:func:`detect_routes` and its
:func:`corridors`, which load scikit-learn on first use) and evaluate
(:func:`evaluate`); countries, products and periods as people write them
(:mod:`tradeflows.names`); progress shown or not (:func:`show_progress`). The module
``tradeflows.clean`` is not shadowed by its ``clean`` function: use
``tradeflows.clean.clean``.
"""

from tradeflows import clean, datasets, names
from tradeflows._log import show_progress
from tradeflows.clean import audit
from tradeflows.engine import collect
from tradeflows.errors import TradeflowsError, TradeflowsInputError
from tradeflows.evaluate import evaluate
from tradeflows.io import detect_format, scan
from tradeflows.mirror import mirror
from tradeflows.routes import route_indicators
from tradeflows.store import ingest, read_audit, scan_store

__all__ = [
    "TradeflowsError",
    "TradeflowsInputError",
    "__version__",
    "audit",
    "clean",
    "collect",
    "corridors",
    "datasets",
    "detect_format",
    "detect_routes",
    "evaluate",
    "ingest",
    "mirror",
    "names",
    "read_audit",
    "route_indicators",
    "scan",
    "scan_store",
    "show_progress",
]

__version__ = "0.1.0"


def __getattr__(name: str):
    # scikit-learn is imported on first use of the detectors, not with tradeflows.
    if name in ("detect_routes", "corridors"):
        from tradeflows import detect

        return getattr(detect, name)
    raise AttributeError(f"module 'tradeflows' has no attribute {name!r}")
