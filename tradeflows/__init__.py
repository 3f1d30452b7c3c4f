"""tradeflows: find transshipment in trade statistics.

The public surface, stage by stage:

- read: :func:`scan` (any supported file as canonical rows, lazily),
  :func:`detect_format` (the reader of each format in :mod:`tradeflows.io`);
  clean: the verbs of :mod:`tradeflows.clean` and :func:`audit`;
- store: :func:`ingest`, :func:`scan_store`, :func:`read_audit`,
  :func:`store_files`, :func:`check_store`;
- pair: :func:`mirror` (a plan) and :func:`collect_mirror` (executed in stages);
- routes: :func:`collect_route_indicators`, :func:`coverage_table`;
- detect: :class:`Query`, :func:`detect_routes`, :func:`corridors` (the
  detectors themselves in :mod:`tradeflows.detect`);
- evaluate: :func:`evaluate`, beside :func:`naive_baseline` and :func:`money_baseline`,
  and under :func:`ap_ceiling` (what the data allows);
- show: :class:`Report`, :func:`build_report`, the figures of
  :mod:`tradeflows.viz`;
- data: :mod:`tradeflows.datasets` (bundled real data, synthetic worlds),
  :mod:`tradeflows.fetch` (Comtrade+, US Census), :mod:`tradeflows.names`
  (countries, products and periods as people write them);
- :func:`config_context` (the engine, chosen once for a block of calls),
  :func:`show_progress`, and the errors :class:`TradeflowsError`,
  :class:`TradeflowsInputError`.

Each object is defined once, in a private module of its stage
(``tradeflows._store``, ``tradeflows._routes.legs``, ...), and exported once:
here, or in one of the namespaces :mod:`tradeflows.clean`,
:mod:`tradeflows.io`, :mod:`tradeflows.detect`, :mod:`tradeflows.viz`,
:mod:`tradeflows.datasets`, :mod:`tradeflows.fetch` and
:mod:`tradeflows.names`. scikit-learn, plotly, the HTTP client and the
synthetic worlds are imported on first use of what needs them
(:mod:`tradeflows.detect`, :mod:`tradeflows.viz`, :class:`Report`,
:mod:`tradeflows.fetch`, :mod:`tradeflows.datasets`).
"""

# First, before anything imports polars: its allocator reads its options once, at load.
from tradeflows import _allocator  # noqa: F401

# isort: split
from tradeflows import clean, names
from tradeflows._clean import audit
from tradeflows._engine import config_context
from tradeflows._errors import TradeflowsError, TradeflowsInputError
from tradeflows._evaluate import ap_ceiling, evaluate, money_baseline, naive_baseline
from tradeflows._io import detect_format, scan
from tradeflows._log import show_progress
from tradeflows._mirror import collect_mirror, mirror
from tradeflows._query import Query
from tradeflows._routes import collect_route_indicators, coverage_table
from tradeflows._store import check_store, ingest, read_audit, scan_store, store_files

__all__ = [
    "Query",
    "Report",
    "TradeflowsError",
    "TradeflowsInputError",
    "__version__",
    "ap_ceiling",
    "audit",
    "build_report",
    "check_store",
    "clean",
    "collect_mirror",
    "collect_route_indicators",
    "config_context",
    "corridors",
    "coverage_table",
    "datasets",
    "detect",
    "detect_format",
    "detect_routes",
    "evaluate",
    "fetch",
    "ingest",
    "io",
    "mirror",
    "money_baseline",
    "naive_baseline",
    "names",
    "read_audit",
    "scan",
    "scan_store",
    "show_progress",
    "store_files",
    "viz",
]

__version__ = "0.1.0"

#: What is imported on first use, and from where.
_LAZY = {
    "detect_routes": "tradeflows.detect._flags",
    "corridors": "tradeflows.detect._corridors",
    "Report": "tradeflows._report",
    "build_report": "tradeflows._report",
}
_LAZY_MODULES = ("datasets", "detect", "fetch", "io", "viz")


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"tradeflows.{name}")
    raise AttributeError(f"module 'tradeflows' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
