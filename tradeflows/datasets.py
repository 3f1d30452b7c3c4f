"""Bundled real data, as canonical LazyFrames, and synthetic worlds.

``make_trade_world`` writes a labelled
synthetic world; the ``load_*`` functions read the bundled real data;
``toy_trade`` is the few rows the examples of the route stages start from.

The files live in the project's ``datasets/`` folder with their provenance and
licence (``datasets/README.md``) and the audit of their ingestion
(``*.audit.json``). They are found beside the package in a source checkout or
an editable install, or wherever ``TRADEFLOWS_DATASETS`` points.
"""

from tradeflows._datasets import (
    ASIA_AI_ANCHORS,
    datasets_dir,
    load_eu_electronics_exports,
    load_eu_total_exports,
    load_partner_total_imports,
    make_trade_world,
    toy_trade,
)

__all__ = [
    "ASIA_AI_ANCHORS",
    "datasets_dir",
    "load_eu_electronics_exports",
    "load_eu_total_exports",
    "load_partner_total_imports",
    "make_trade_world",
    "toy_trade",
]
