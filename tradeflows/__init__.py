"""tradeflows: find transshipment in trade statistics.

The public surface, stage by stage: read (:func:`scan`), clean (:func:`clean`,
:func:`audit`), execute (:func:`collect`), store (:func:`ingest`,
:func:`scan_store`).
"""

from tradeflows.clean import audit, clean
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
    "detect_format",
    "ingest",
    "read_audit",
    "scan",
    "scan_store",
]

__version__ = "0.1.0"
