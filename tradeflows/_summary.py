"""A store's contents at a glance (``tradeflows summary STORE``): its coverage
and its audit, as a dict, as text and as a small HTML page.

Not the report: no detection runs. The word "summary" elsewhere means the
report's own (:attr:`tradeflows.Report.summary`, what the report says as plain
data, embedded in its HTML for next month's report).
"""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from tradeflows import _engine as engine
from tradeflows._routes.legs import is_product
from tradeflows._store import read_audit, scan_store

__all__ = ["revisions_text", "store_summary", "summary_html", "summary_text"]


def store_summary(store: str | Path) -> dict:
    """Coverage (rows by year, flow and reporter) and the audit of a store.

    Parameters
    ----------
    store : str or Path
        A store folder.

    Returns
    -------
    dict
        ``coverage`` (rows by year, flow and reporter), the HS revisions of
        the product rows (``revisions``: rows, first and last year) and the
        ``audit``.

    See Also
    --------
    summary_text : it for a terminal.
    summary_html : it as a page.

    Examples
    --------
    >>> store_summary("/nonexistent")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent: not a tradeflows store (no audit.json)
    """
    lf = scan_store(store)
    doc = read_audit(store)
    year = pl.col("period").dt.year()
    # One read of the store for the three tables (the parts they share run once).
    by_year, reporters, revisions = engine.collect_all([
        lf.group_by(year.alias("year"), "freq")
        .agg(rows=pl.len(), value_usd=pl.col("value_usd").sum())
        .sort("year", "freq"),
        lf.group_by("reporter")
        .agg(rows=pl.len(), partners=pl.col("partner").n_unique())
        .sort("rows", "reporter", descending=[True, False]),
        lf.filter(is_product())
        .group_by("hs_revision")
        .agg(rows=pl.len(), first=year.min(), last=year.max())
        .sort("first", "hs_revision"),
    ])  # fmt: skip
    return {
        "store": str(store),
        "rows": doc.get("store", {}).get("rows", 0),
        "by_year": by_year.to_dicts(),
        "reporters": reporters.to_dicts(),
        "revisions": revisions.to_dicts(),
        "totals": doc.get("totals", {}),
        "files": doc.get("files", []),
    }


def summary_text(info: dict) -> str:
    """Plain-text rendering of :func:`store_summary`.

    Parameters
    ----------
    info : dict
        :func:`store_summary`.

    Returns
    -------
    str

    See Also
    --------
    store_summary : what it prints.

    Examples
    --------
    >>> info = {'store': 'store', 'rows': 2, 'by_year': [{'year': 2024, 'freq': 'M', 'rows': 2,
    ...     'value_usd': 3e6}], 'reporters': [{'reporter': 'MYS', 'rows': 2, 'partners': 1}],
    ...     'totals': {'rows_read': 2, 'rows_kept': 2, 'rows_dropped': 0}, 'files': []}
    >>> print(summary_text(info))
    store store: 2 rows, 1 reporters, 0 files
    read 2 = kept 2 + dropped 0
    """
    t = info["totals"]
    lines = [
        f"store {info['store']}: {info['rows']} rows, {len(info['reporters'])} reporters, "
        f"{len(info['files'])} files",
        f"read {t.get('rows_read', 0)} = kept {t.get('rows_kept', 0)} + dropped "
        f"{t.get('rows_dropped', 0)}",
    ]
    lines += [f"  dropped {k}: {v}" for k, v in t.get("dropped", {}).items()]
    lines += [f"  changed {k}: {v}" for k, v in t.get("changed", {}).items()]
    if len(info.get("revisions", [])) > 1:
        lines.append(revisions_text(info["revisions"]))
    return "\n".join(lines)


def revisions_text(revisions: list[dict]) -> str:
    """What a store of product codes of several HS revisions means for its series.

    HS is revised every five years, and codes split or move (HS2022's
    8517.13, smartphones, came out of 8517.12): a code that moved ends its
    series where the revision changes and its successor starts one, which
    reads as a fall and a new flow. ``ingest --revision HS2017`` converts them.

    Parameters
    ----------
    revisions : list of dict
        :func:`store_summary`'s ``revisions``.

    Returns
    -------
    str

    Examples
    --------
    >>> print(revisions_text([{"hs_revision": "HS2017", "rows": 5, "first": 2020, "last": 2021},
    ...                       {"hs_revision": "HS2022", "rows": 2, "first": 2022, "last": 2022}]))
    product codes of 2 HS revisions (HS2017 2020-2021, HS2022 2022): a code that moved between them breaks its series where the revision changes ('tradeflows ingest --revision HS2017' converts them)
    """

    def years(r: dict) -> str:
        return f"{r['first']}" if r["first"] == r["last"] else f"{r['first']}-{r['last']}"

    spans = ", ".join(f"{r['hs_revision']} {years(r)}" for r in revisions)
    return (
        f"product codes of {len(revisions)} HS revisions ({spans}): a code that moved between "
        "them breaks its series where the revision changes ('tradeflows ingest --revision "
        "HS2017' converts them)"
    )


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {n}" for k, n in v.items())
    return "" if v is None else str(v)


def summary_html(info: dict) -> str:
    """A self-contained HTML page for :func:`store_summary` (no scripts, no links).

    Parameters
    ----------
    info : dict
        :func:`store_summary`.

    Returns
    -------
    str

    See Also
    --------
    store_summary : what it shows.

    Examples
    --------
    >>> info = {'store': 'store', 'rows': 2, 'by_year': [{'year': 2024, 'freq': 'M', 'rows': 2,
    ...     'value_usd': 3e6}], 'reporters': [{'reporter': 'MYS', 'rows': 2, 'partners': 1}],
    ...     'totals': {'rows_read': 2, 'rows_kept': 2, 'rows_dropped': 0}, 'files': []}
    >>> page = summary_html(info)
    >>> page.startswith('<!DOCTYPE html>'), '<script' in page
    (True, False)
    """
    t = info["totals"]
    reasons = [{"reason": k, "rows": v} for k, v in t.get("dropped", {}).items()]
    changes = [{"change": k, "rows": v} for k, v in t.get("changed", {}).items()]
    files = [{**f, "sha256": f["sha256"][:12]} for f in info["files"]]
    several = info.get("revisions", [])
    revisions = f"<p>{html.escape(revisions_text(several))}.</p>" if len(several) > 1 else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>tradeflows store summary</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: right; }}
th {{ background: #f3f3f3; }}
</style></head><body>
<h1>tradeflows store summary</h1>
<p>Store <code>{html.escape(info["store"])}</code>: {info["rows"]:,} rows from
{len(info["files"])} files. Rows read {t.get("rows_read", 0):,} = kept
{t.get("rows_kept", 0):,} + dropped {t.get("rows_dropped", 0):,}.</p>
<h2>Rows dropped, by reason</h2>{_table(reasons, ["reason", "rows"])}
<h2>Rows changed, by reason</h2>{_table(changes, ["change", "rows"])}
<h2>Coverage by year</h2>{_table(info["by_year"], ["year", "freq", "rows", "value_usd"])}
<h2>Reporters</h2>{_table(info["reporters"], ["reporter", "rows", "partners"])}
<h2>HS revisions of the product codes</h2>{
        _table(info.get("revisions", []), ["hs_revision", "rows", "first", "last"])
    }{revisions}
<h2>Files</h2>{
        _table(
            files,
            [
                "source",
                "format",
                "sha256",
                "rows_read",
                "rows_kept",
                "rows_dropped",
                "superseded_later",
                "dropped",
            ],
        )
    }
</body></html>
"""
