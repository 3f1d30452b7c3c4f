"""Cleaning verbs: pure ``LazyFrame -> LazyFrame`` steps that leave an audit.

No verb removes a row. A verb that would remove one writes its reason in the
``drop`` column (the first reason wins; null = kept) and a verb that changes a
row sets a ``chg_<reason>`` column, so that after the single collect
:func:`tradeflows.audit` can count rows read, kept, dropped by reason and changed by
reason, with ``read == kept + sum(dropped)`` by construction. :func:`split`
then separates the kept canonical rows from the dropped ones, and
:func:`canonical_rows` reads any frame as a store would hold it.

Each verb accepts a DataFrame or a LazyFrame and returns the same kind.

The verbs are defined in a private module and exported here once; the audit
that counts them is :func:`tradeflows.audit`.
"""

from tradeflows._clean import (
    canonical_rows,
    clean,
    drop_aggregates,
    drop_hs_parents,
    flag_unit_slips,
    mark_invalid,
    merge_breakdowns,
    merge_duplicates,
    resolve_flows,
    split,
    to_revision,
)

__all__ = [
    "canonical_rows",
    "clean",
    "drop_aggregates",
    "drop_hs_parents",
    "flag_unit_slips",
    "mark_invalid",
    "merge_breakdowns",
    "merge_duplicates",
    "resolve_flows",
    "split",
    "to_revision",
]
