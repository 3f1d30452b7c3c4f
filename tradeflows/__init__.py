"""tradeflows: find transshipment in trade statistics.

The public surface, stage by stage: read (:func:`scan`), clean (the
:mod:`tradeflows.clean` verbs and :func:`audit`), execute (:func:`collect`),
store (:func:`ingest`, :func:`scan_store`). The module ``tradeflows.clean`` is
not shadowed by its ``clean`` function: use ``tradeflows.clean.clean``.
"""

from tradeflows import clean, datasets
from tradeflows.clean import audit
from tradeflows.engine import collect
from tradeflows.errors import TradeflowsError, TradeflowsInputError
from tradeflows.io import detect_format, scan
from tradeflows.store import ingest, read_audit, scan_store

__all__ = [
    "TradeflowsError",
    "TradeflowsInputError",
    "__version__",
    "audit",
    "clean",
    "collect",
    "datasets",
    "detect_format",
    "ingest",
    "read_audit",
    "scan",
    "scan_store",
]

__version__ = "0.1.0"
