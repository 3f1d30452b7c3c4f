"""The self-contained HTML report: summarise to a dict, then render one template.

:func:`build_report` reads stores or source files, detects, summarises
(:func:`summarise`: coverage, the audit, the flags, what changed since a
previous report, a drill-down per top route, provenance) and renders
(:func:`render`) one HTML file that works offline: plotly.js is embedded once,
every figure is JSON drawn by it, nothing is fetched. Text from the data is
escaped by the template (and inside the figures' JSON, ``<`` is written
``\\u003c``), so a name like ``<script>`` shows as text. The same inputs give
the same bytes but for the build time. The file is written to a temporary name,
then renamed.

A machine-readable summary of the flags is embedded in the report; given the
previous report (``previous=``), the next one says which routes are new, which
are gone and whose score moved.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

import polars as pl

from tradeflows import __version__
from tradeflows._engine import resolve as resolve_engine
from tradeflows._errors import TradeflowsInputError
from tradeflows._expr import exact_sum, usd_text
from tradeflows._files import write_text_atomic
from tradeflows._log import step
from tradeflows._names import NAME_COLUMNS, NAME_OF, month_span
from tradeflows._query import Query
from tradeflows._routes import ROUTE_KEY

__all__ = [
    "DEFAULTS",
    "Report",
    "build_report",
    "check_config",
    "load_config",
    "notebook_html",
    "previous_summary",
    "render",
    "summarise",
    "table_rows",
]

#: Report options and their defaults (``report.toml``: ``[report]`` and ``[detect]``).
DEFAULTS = {
    "report": {"title": "tradeflows: routes that look like transshipment", "top_routes": 25,
               "drilldowns": 5, "table_rows": 500, "by": ["hub", "destination", "hs4"],
               "wide_rows": 15},
    "detect": {"destinations": None, "hubs": None, "hs": None, "since": None, "min_usd": None},
}  # fmt: skip

_SUMMARY_ID = "tradeflows-summary"


def _build_time() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise TradeflowsInputError(
                f"SOURCE_DATE_EPOCH={epoch[:20]!r}: expected seconds since 1970"
            )
        when = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    else:
        when = dt.datetime.now(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def load_config(source: dict | str | Path | None = None) -> dict:
    """The report's options: ``report.toml`` (a path) or a dict of the same
    sections, over :data:`DEFAULTS`; unknown sections and keys are refused.

    Parameters
    ----------
    source : dict, str or Path, optional
        ``report.toml``, or a dict with its sections (``report``, ``detect``).

    Returns
    -------
    dict
        Both sections, every key present.

    See Also
    --------
    check_config : what it checks.
    tradeflows.Report : the report it configures.

    Examples
    --------
    >>> load_config(None)["report"]["drilldowns"]
    5
    >>> load_config({"detect": {"destinations": ["RUS"]}})["report"]["top_routes"]
    25
    """
    if source is None or isinstance(source, dict):
        return _merge(source or {}, "report config")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(source)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TradeflowsInputError(f"{path}: no such config file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TradeflowsInputError(f"{path}: not valid TOML ({exc})") from None
    return _merge(doc, path)


def _merge(doc: dict, where: object) -> dict:
    config = {k: dict(v) for k, v in DEFAULTS.items()}
    for section, values in doc.items():
        if section not in config or not isinstance(values, dict):
            raise TradeflowsInputError(
                f"{where}: unknown section [{section}] (expected report, detect)"
            )
        unknown = set(values) - set(config[section])
        if unknown:
            raise TradeflowsInputError(
                f"{where}: [{section}] has unknown key(s) {', '.join(sorted(unknown))}"
            )
        config[section].update(values)
    return check_config(config, where)


#: The largest number a count option of the report may take.
_MOST = 100_000


def check_config(config: dict, where: object = "report config") -> dict:
    """Refuse options of the wrong type: counts are whole numbers, lists are codes.

    Parameters
    ----------
    config : dict
        Sections ``report`` and ``detect``.
    where : object
        What the errors name (the file).

    Returns
    -------
    dict
        ``config`` itself, once checked.

    See Also
    --------
    load_config : which calls it.

    Examples
    --------
    >>> check_config({"report": {"top_routes": "many"}, "detect": {}}, "r.toml")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: r.toml: [report] top_routes = 'many': expected a whole number from 0 to 100000
    """
    for key, value in config.get("report", {}).items():
        if key == "title":
            if not isinstance(value, str):
                raise TradeflowsInputError(f"{where}: [report] title = {value!r}: expected text")
        elif key == "by":
            from tradeflows.detect._corridors import check_roll_up

            check_roll_up(value, f"{where}: [report] by = {value!r}", empty_ok=True)
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MOST:
            raise TradeflowsInputError(
                f"{where}: [report] {key} = {value!r}: expected a whole number from 0 to {_MOST}"
            )
    for key, value in config.get("detect", {}).items():
        if key == "min_usd":
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise TradeflowsInputError(
                    f"{where}: [detect] min_usd = {value!r}: expected US dollars, 0 or more"
                )
            continue
        codes = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if value is not None and not isinstance(value, str) and not (codes and key != "since"):
            raise TradeflowsInputError(
                f"{where}: [detect] {key} = {value!r}: expected "
                + ("a month, YYYY-MM" if key == "since" else 'a list of codes as text (["8471"])')
            )
    return config


def previous_summary(path: str | Path) -> dict:
    """The flags summary embedded in an earlier report.

    Parameters
    ----------
    path : str or Path
        A report written by tradeflows.

    Returns
    -------
    dict
        Its ``built`` time and flagged ``routes``.

    See Also
    --------
    summarise : the summary it reads back.
    tradeflows.Report : takes it as ``previous``.

    Examples
    --------
    >>> previous_summary("/nonexistent.html")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent.html: no such previous report
    """
    path = Path(path)
    if not path.is_file():
        raise TradeflowsInputError(f"{path}: no such previous report")
    text = path.read_text(encoding="utf-8", errors="replace")
    found = re.search(
        rf'<script type="application/json" id="{_SUMMARY_ID}">(.*?)</script>', text, re.S
    )
    if not found:
        raise TradeflowsInputError(f"{path}: not a tradeflows report (no embedded summary)")
    try:
        doc = json.loads(found.group(1))
    except (json.JSONDecodeError, RecursionError):
        doc = None
    if not _summary_shape(doc):
        raise TradeflowsInputError(
            f"{path}: its embedded summary is damaged (not the expected JSON)"
        )
    return doc


def _summary_shape(doc: object) -> bool:
    """Whether an embedded summary has the shape :func:`_changes` reads."""
    if not isinstance(doc, dict) or not isinstance(doc.get("built", ""), str):
        return False
    routes = doc.get("routes", [])
    return isinstance(routes, list) and all(
        isinstance(r, dict)
        and isinstance(r.get("route"), list)
        and len(r["route"]) == 4
        and all(isinstance(part, str) for part in r["route"])
        and isinstance(r.get("score"), (int, float))
        and not isinstance(r.get("score"), bool)
        and math.isfinite(r["score"])
        for r in routes
    )


def _ranked(flags: pl.DataFrame, ranked: pl.DataFrame | None) -> pl.DataFrame:
    """Every corridor, ranked: ``ranked`` as given, or :func:`tradeflows.corridors` of ``flags``."""
    from tradeflows.detect._corridors import corridors

    return ranked if ranked is not None else corridors(flags)


def _route_rows(flags: pl.DataFrame, ranked: pl.DataFrame | None = None) -> pl.DataFrame:
    """The flagged corridors, ranked (:func:`tradeflows.corridors`)."""
    return _ranked(flags, ranked).filter(pl.col("flagged"))


def _changes(routes: pl.DataFrame, previous: dict | None) -> dict | None:
    if previous is None:
        return None
    before = {tuple(r["route"]): r["score"] for r in previous.get("routes", [])}
    now = {
        (o, h, d, p): s
        for o, h, d, p, s in routes.select("origin", "hub", "destination", "hs", "score").rows()
    }
    moved = [
        {"route": list(k), "before": before[k], "now": now[k]}
        for k in sorted(now.keys() & before.keys())
        if abs(now[k] - before[k]) >= 1.0
    ]
    return {
        "previous_built": previous.get("built", ""),
        "new": [list(k) for k in sorted(now.keys() - before.keys())],
        "gone": [list(k) for k in sorted(before.keys() - now.keys())],
        "moved": moved,
    }


def _coverage(lf: pl.LazyFrame) -> dict:
    from tradeflows._engine import collect, streamed

    # Streamed: a pass over every row of the store (benchmarks/RESULTS.md,
    # issue 27); the sums to the cent, the same whatever the row order.
    stats = collect(
        lf.select(
            rows=pl.len(),
            reporters=pl.col("reporter").n_unique(),
            partners=pl.col("partner").n_unique(),
            products=pl.col("hs").n_unique(),
            first=pl.col("period").min(),
            last=pl.col("period").max(),
        ),
        streamed(),
    ).row(0, named=True)
    by_year = collect(
        lf.group_by(year=pl.col("period").dt.year(), freq=pl.col("freq").cast(pl.String))
        .agg(rows=pl.len(), value_usd=exact_sum(pl.col("value_usd")))
        .sort("year", "freq"),
        streamed(),
    )
    stats["by_year"] = by_year.to_dicts()
    return stats


def _scored_count(flags: pl.DataFrame) -> int:
    from tradeflows.detect import route_months_scored

    return route_months_scored(flags)


def summarise(
    lf: pl.LazyFrame,
    flags: pl.DataFrame,
    audit: dict,
    *,
    config: dict | None = None,
    previous: dict | None = None,
    built: str = "",
    ranked: pl.DataFrame | None = None,
    wide: pl.DataFrame | None = None,
) -> dict:
    """Everything the report says, as plain data (no HTML).

    Parameters
    ----------
    lf : LazyFrame
        The canonical rows detected on.
    flags : DataFrame
        :func:`tradeflows.detect_routes` of them.
    audit : dict
        The stores' and files' audit.
    config : dict, optional
        :func:`load_config`.
    previous : dict, optional
        :func:`previous_summary` of last month's report.
    built : str
        The build time shown.
    ranked : DataFrame, optional
        :func:`tradeflows.corridors` of ``flags`` when the caller has it
        (:class:`Report` does): it is not ranked again.
    wide : DataFrame, optional
        ``ranked`` rolled up to the config's ``[report] by``
        (:func:`tradeflows.detect.roll_up`): its first ``wide_rows`` flagged
        rows go in the summary (``wide``).

    Returns
    -------
    dict
        The title, coverage, audit, counts, the flagged corridors (and the
        flagged wide corridors, with ``wide``), data-quality events and what
        changed since the previous report.

    See Also
    --------
    render : the HTML of it.
    tradeflows.Report.summary : the same, computed once.

    Examples
    --------
    >>> import datetime as dt
    >>> from tradeflows.detect import FLAG_COLUMNS
    >>> f = pl.DataFrame({"origin": ["USA"], "hub": ["MYS"], "destination": ["CHN"],
    ...     "hs": ["847150"], "period": [dt.date(2024, 1, 1)], "score": [9.0],
    ...     "flagged": [True], "reasons": ["..."], "data_quality": [None], "extra_usd": [4e6]})
    >>> lf = pl.LazyFrame({"period": [dt.date(2024, 1, 1)], "freq": ["M"], "reporter": ["USA"],
    ...     "partner": ["MYS"], "hs": ["847150"], "value_usd": [1.0]})
    >>> s = summarise(lf, f, {"files": [], "totals": {}})
    >>> s["routes"][0]["route"], s["n_flagged_routes"]
    (['USA', 'MYS', 'CHN', '847150'], 1)
    """
    from tradeflows.detect._flags import base_rate, nothing_scored_why

    config = config or load_config(None)
    routes = _route_rows(flags, ranked)
    rate = base_rate(flags)
    if rate is not None:  # as the summary shows them
        rate = {
            **rate,
            "share": round(rate["share"], 6),
            "line_raise": round(rate["line_raise"], 3),
        }
    dq = flags.filter(pl.col("data_quality").is_not_null())
    return {
        "title": config["report"]["title"],
        "built": built,
        "version": __version__,
        "parameters": {k: v for k, v in config["detect"].items()},
        "coverage": _coverage(lf),
        "audit": {
            "totals": audit.get("totals", {}),
            "files": [
                {
                    k: f.get(k)
                    for k in (
                        "source",
                        "format",
                        "sha256",
                        "bytes",
                        "rows_read",
                        "rows_kept",
                        "rows_dropped",
                    )
                }
                for f in sorted(
                    audit.get("files", []), key=lambda f: (f.get("source", ""), f.get("sha256", ""))
                )
            ],
        },
        "n_route_months": _scored_count(flags),
        # Why, when nothing was scored and the data itself says why.
        "nothing_scored": (
            nothing_scored_why(lf, Query(**config["detect"]), config=True)
            if _scored_count(flags) == 0
            else None
        ),
        "n_flagged": int(flags["flagged"].sum()),
        "n_flagged_routes": routes.height,
        "n_data_quality": dq.height,
        "base_rate": rate,
        "extra_usd": round(float(routes["extra_usd"].sum())),
        "extra_usd_text": pl.select(usd_text(pl.lit(float(routes["extra_usd"].sum())))).item(),
        "routes": [
            {
                "route": [r["origin"], r["hub"], r["destination"], r["hs"]],
                "score": round(r["score"], 3),
                "evidence": round(r["evidence"], 3),
                "months": r["months"],
                "first": r["first"].isoformat(),
                "last": r["last"].isoformat(),
                "extra_usd": round(r["extra_usd"]),
                "reasons": r["reasons"],
            }
            for r in routes.iter_rows(named=True)
        ],
        "data_quality": dq.select("hub", "destination", "hs", "period", "data_quality")
        .unique()
        .sort("hub", "destination", "hs", "period")
        .head(50)
        .with_columns(pl.col("period").cast(pl.String))
        .to_dicts(),
        "changes": _changes(routes, previous),
        "wide": _wide_summary(
            wide, config["report"].get("wide_rows", DEFAULTS["report"]["wide_rows"])
        ),
    }


#: How the report names what corridors are rolled up to.
_BY_WORDS = {"origin": "origin", "hub": "hub", "destination": "destination", "hs": "product",
             "hs4": "heading", "hs2": "chapter"}  # fmt: skip


def _wide_summary(wide: pl.DataFrame | None, rows: int) -> dict | None:
    """The first ``rows`` flagged wide corridors of ``wide`` (a roll-up), as the
    report shows them; None without a roll-up."""
    if wide is None:
        return None
    by = [c for c in wide.columns if c in _BY_WORDS]  # the roll-up's keys, in its order
    words = [_BY_WORDS[c] for c in by]
    hit = wide.filter(pl.col("flagged"))
    return {
        "by": by,
        "heads": words,
        "label": words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}",
        "n": wide.height,
        "n_flagged": hit.height,
        "rows": [
            {
                "cells": [{"code": r[c] or "*", "name": r.get(NAME_OF[c])} for c in by],
                "routes": r["routes"],
                "flagged_routes": r["flagged_routes"],
                "first": r["first"].strftime("%Y-%m"),
                "last": r["last"].strftime("%Y-%m"),
                "extra_usd": round(r["extra_usd"]),
                "score": round(r["score"], 3),
                "lead": [r["lead_origin"] or "*", r["lead_hs"]],
                "reasons": r["reasons"],
            }
            for r in hit.head(rows).iter_rows(named=True)
        ],
    }


def _figure_json(fig) -> str:
    """A figure as JSON that is safe inside a ``<script>`` element."""
    import plotly.io as pio

    text = pio.to_json(fig, validate=False, pretty=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _figures(
    flags: pl.DataFrame, pairs: pl.DataFrame, summary: dict, config: dict, coverage=None,
    ranked: pl.DataFrame | None = None,
) -> tuple[list, list]:  # fmt: skip
    from tradeflows import viz

    flagged = flags.filter(pl.col("flagged"))
    overview = [
        (
            "Corridors ranked by evidence and value at stake",
            viz.flags_bar(_ranked(flags, ranked), top=config["report"]["top_routes"]),
        ),
        ("Hubs on the map", viz.hub_map(flags)),
        ("Hub by product", viz.score_heatmap(flags)),
        ("Flagged routes: origin → hub → destination", viz.route_sankey(flagged)),
    ]
    drill = []
    for r in summary["routes"][: config["report"]["drilldowns"]]:
        origin, hub, destination, hs = r["route"]
        route = {"origin": origin, "hub": hub, "destination": destination, "hs": hs}
        months = flags.filter(
            pl.col("flagged"), origin=origin, hub=hub, destination=destination, hs=hs
        ).sort("period")
        # The reasons once (those of the corridor's most suspicious month), then its
        # flagged months and their scores on one line: month after month the
        # words repeat, only the numbers change.
        peak = months.sort(["score", "period"], descending=[True, False]).head(1)
        drill.append(
            {
                "route": r,
                "legs": viz.route_legs(flags, route, pairs=pairs, coverage=coverage),
                "gap": viz.mirror_gap(pairs, exporter=hub, hs=hs[:6]),
                "gap_note": viz.mirror_gap_note(pairs, exporter=hub, hs=hs[:6]),
                "why": peak.select(pl.col("period").dt.strftime("%Y-%m"), "reasons").row(0)
                if peak.height
                else None,
                "months": months.select(pl.col("period").dt.strftime("%Y-%m"), "score").rows(),
            }
        )
    return overview, drill


def _flagged_months(flags: pl.DataFrame, corridors: pl.DataFrame) -> pl.DataFrame:
    """Every route-month of the flagged corridors among ``corridors``, in the flags' order:
    the route-month sheet of the report's workbooks."""
    hit = corridors.filter(pl.col("flagged")).select(ROUTE_KEY)
    return flags.join(hit, on=ROUTE_KEY, how="semi", maintain_order="left")


def downloads(
    flags: pl.DataFrame, ranked: pl.DataFrame | None = None, wide: pl.DataFrame | None = None
) -> dict[str, str]:
    """The report's downloads, as base64 for ``data:`` links that work offline: the
    flagged corridors as CSV, and as an Excel workbook with their route-months
    (and the flagged wide corridors, given ``wide``).

    Parameters
    ----------
    flags : DataFrame
        A flags table.
    ranked : DataFrame, optional
        :func:`tradeflows.corridors` of ``flags`` when the caller has it
        (:class:`Report` does): it is not ranked again.
    wide : DataFrame, optional
        The corridors rolled up (:func:`tradeflows.detect.roll_up`): the
        workbook's ``wide corridors`` sheet holds the flagged ones.

    Returns
    -------
    dict of str to str
        ``csv`` and ``xlsx``, base64.

    Examples
    --------
    >>> import datetime as dt, base64
    >>> f = pl.DataFrame({"origin": ["USA"], "hub": ["MYS"], "destination": ["CHN"],
    ...     "hs": ["847150"], "period": [dt.date(2024, 1, 1)], "score": [9.0],
    ...     "flagged": [True], "reasons": ["..."], "data_quality": [None], "extra_usd": [4e6]})
    >>> base64.b64decode(downloads(f)["csv"]).decode().splitlines()[0][:30]
    'rank,origin,hub,destination,hs'
    """
    import base64

    from tradeflows._files import spreadsheet_safe, workbook_bytes

    ranked = _route_rows(flags, ranked)
    months = _flagged_months(flags, ranked)
    text = spreadsheet_safe(ranked).write_csv()
    sheets = {"corridors": ranked, "route-months": months}
    if wide is not None:
        sheets["wide corridors"] = wide.filter(pl.col("flagged"))
    book = workbook_bytes(sheets, "the report's download")
    return {
        "csv": base64.b64encode(text.encode("utf-8")).decode("ascii"),
        "xlsx": base64.b64encode(book).decode("ascii"),
    }


def render(
    summary: dict,
    overview: list,
    drill: list,
    *,
    table: list[dict],
    attachments: dict | None = None,
) -> str:
    """The HTML text of the report (plotly.js embedded once); ``attachments``: :func:`downloads`.

    Parameters
    ----------
    summary : dict
        :func:`summarise`.
    overview, drill : list
        The overview figures (title, figure) and the drill-downs.
    table : list of dict
        :func:`table_rows`.
    attachments : dict, optional
        :func:`downloads`: the flags as CSV and XLSX, base64.

    Returns
    -------
    str
        The page.

    See Also
    --------
    summarise : the summary it renders.
    tradeflows.Report.write_html : render and write.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({'origin': ['USA'], 'hub': ['MYS'], 'destination': ['CHN'],
    ...     'hs': ['847150'], 'period': [dt.date(2024, 1, 1)], 'score': [9.0],
    ...     'flagged': [True], 'reasons': ['...'], 'data_quality': [None], 'extra_usd': [4e6]})
    >>> lf = pl.LazyFrame({'period': [dt.date(2024, 1, 1)], 'freq': ['M'], 'reporter': ['USA'],
    ...     'partner': ['MYS'], 'hs': ['847150'], 'value_usd': [1.0]})
    >>> page = render(summarise(lf, f, {'files': [], 'totals': {}}), [], [], table=table_rows(f, 10))
    >>> page.startswith('<!DOCTYPE html>'), 'USA' in page, page.count('<script') >= 1
    (True, True, True)
    """
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: files("tradeflows._report").joinpath(name).read_text(encoding="utf-8")
        ),
        autoescape=True,
        keep_trailing_newline=True,
    )
    env.filters["month_span"] = lambda first, last: month_span(first, last, " to ")
    figures = [
        {"id": f"fig-{i}", "title": t, "json": _figure_json(f)} for i, (t, f) in enumerate(overview)
    ]
    drilldowns = []
    for i, d in enumerate(drill):
        drilldowns.append(
            {
                "route": d["route"],
                "why": d["why"],
                "months": d["months"],
                "legs": {"id": f"drill-{i}-legs", "json": _figure_json(d["legs"])},
                "gap": {"id": f"drill-{i}-gap", "json": _figure_json(d["gap"])},
                "gap_note": d.get("gap_note"),
            }
        )
    embedded = json.dumps(
        {"built": summary["built"], "routes": summary["routes"]},
        sort_keys=True,
        separators=(",", ":"),
    ).replace("<", "\\u003c")
    return env.get_template("template.html.j2").render(
        downloads=attachments,
        s=summary,
        figures=figures,
        drilldowns=drilldowns,
        table=table,
        plotlyjs=get_plotlyjs(),
        summary_json=embedded,
        summary_id=_SUMMARY_ID,
    )


def table_rows(flags: pl.DataFrame, rows: int, ranked: pl.DataFrame | None = None) -> list[dict]:
    """The report's table: the ``rows`` first corridors, as the template reads them.

    Parameters
    ----------
    flags : DataFrame
        A flags table.
    rows : int
        How many corridors.
    ranked : DataFrame, optional
        :func:`tradeflows.corridors` of ``flags`` when the caller has it
        (:class:`Report` does): it is not ranked again.

    Returns
    -------
    list of dict
        One per corridor, with its flagged months (``detail``).

    See Also
    --------
    summarise : the corridors' summary.
    tradeflows.corridors : the ranking they come from.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": ["USA"], "hub": ["MYS"], "destination": ["CHN"],
    ...     "hs": ["847150"], "period": [dt.date(2024, 1, 1)], "score": [9.0],
    ...     "flagged": [True], "reasons": ["..."], "data_quality": [None], "extra_usd": [4e6]})
    >>> [(r["hub"], r["months"], r["extra_usd"]) for r in table_rows(f, 10)]
    [('MYS', 1, 4000000.0)]
    >>> table_rows(f, 10)[0]["detail"]
    [{'month': '2024-01', 'score': 9.0, 'extra_usd': 4000000.0}]
    """
    from tradeflows.detect._corridors import money_term

    key = ROUTE_KEY
    top = _route_rows(flags, ranked).head(rows)
    # Each corridor's flagged months, for the detail a reader opens on demand.
    detail = (
        flags.filter(pl.col("flagged"))
        .join(top.select(key), on=key, how="semi", nulls_equal=True)
        .sort("period")
        .group_by(key, maintain_order=True)
        .agg(
            detail=pl.struct(
                month=pl.col("period").dt.strftime("%Y-%m"),
                score=pl.col("score"),
                extra_usd=pl.col("extra_usd"),
            )
        )
    )
    return (
        top.join(detail, on=key, how="left", nulls_equal=True, maintain_order="left")
        .select(
            "origin",
            "hub",
            "destination",
            "hs",
            *NAME_COLUMNS,
            "months",
            pl.col("first").dt.strftime("%Y-%m"),
            pl.col("last").dt.strftime("%Y-%m"),
            "score",
            money_term().alias("money"),
            "evidence",
            "extra_usd",
            "reasons",
            "detail",
        )
        .to_dicts()
    )


class Report:
    """The monthly report, computed once: the detection, its summary and figures.

    ``Report(sources)`` reads stores or source files, pairs both reports of
    each flow, detects and summarises; nothing is written until asked. Shown
    in Jupyter, it displays its headline numbers and top corridors.

    Parameters
    ----------
    sources : path, iterable of paths, or LazyFrame
        Stores, files, globs or folders (their audit goes in the report), or
        rows: canonical (:func:`tradeflows.scan_store`, a dataset), or read by
        :func:`tradeflows.scan` or marked by :func:`tradeflows.clean.clean`, of
        which only those a store would keep are read
        (:func:`tradeflows.clean.canonical_rows`).
    config : dict or path, optional
        ``report.toml`` or a dict shaped like :data:`DEFAULTS`.
    previous : path, optional
        An earlier report: this one says what changed since.
    engine : str, optional
        The polars engine of the detection (``auto``, ``cpu``, ``streaming``, ``gpu``).
    built : str, optional
        The build time shown (default: now, UTC, or ``SOURCE_DATE_EPOCH``
        when set). The only field that differs between two reports of the
        same inputs.
    partition : bool
        Detect HS chapter by chapter (in groups of bounded size) and mirror
        only the chapters of the drill-down routes (with the whole data's
        context): the memory of one group, not of the whole store, and the
        same report (tested).
    memory : str or float, optional
        As :func:`tradeflows.detect_routes`: over it, the detection goes
        chapter by chapter by itself; a store too large to pair at once
        within it is read as with ``partition``.

    Attributes
    ----------
    query : Query
        What the detection looked for (the config's ``[detect]`` section).
    summary : dict
        Everything the report says, as plain data (:func:`summarise`); the
        HTML embeds it for next month's report.
    flags : polars.DataFrame
        The route-months scored (:func:`tradeflows.detect_routes`).
    corridors : polars.DataFrame
        One row per corridor, ranked (:func:`tradeflows.corridors`).
    wide : polars.DataFrame or None
        The corridors rolled up to the config's ``[report] by`` (default hub,
        destination and heading; :func:`tradeflows.detect.roll_up`), ranked;
        None when ``by`` is empty.
    figures : dict of str to plotly.graph_objects.Figure
        The overview figures, then each drill-down's legs and mirror gap, by title.

    See Also
    --------
    build_report : ``Report(...).write_html(out)`` in one call, as the CLI runs it.
    tradeflows.detect_routes : the detection behind it.

    Examples
    --------
    >>> import tempfile
    >>> from tradeflows.datasets import datasets_dir
    >>> report = Report([datasets_dir() / "eu_electronics_exports_2020_2022.parquet"],
    ...                 config={"detect": {"destinations": ["RUS"]}}, built="now")
    >>> report.summary["n_flagged_routes"], int(report.corridors["flagged"].sum())
    (30, 30)
    >>> path = report.write_html(tempfile.mkdtemp() + "/report.html")
    >>> "30 flagged corridors" in report._repr_html_()
    True
    """

    def __init__(
        self,
        sources: str | Path | Iterable[str | Path] | pl.LazyFrame,
        *,
        config: dict | str | Path | None = None,
        previous: str | Path | None = None,
        engine: str | None = None,
        built: str | None = None,
        partition: bool = False,
        memory: str | float | None = None,
    ) -> None:
        from tradeflows._engine import collect, memory_budget, streamed
        from tradeflows._mirror import mirror_rows
        from tradeflows._routes import coverage_table
        from tradeflows._store import open_sources
        from tradeflows.detect._budget import too_many_rows
        from tradeflows.detect._corridors import corridors, roll_up
        from tradeflows.detect._flags import detect_routes, load_canonical

        engine = resolve_engine(engine)  # once, for every stage below
        memory_budget(memory)  # checked before any work
        self.config = load_config(config)
        try:
            self.query = Query(**self.config["detect"])
        except TradeflowsInputError as exc:
            where = config if isinstance(config, (str, Path)) else "report config"
            raise TradeflowsInputError(f"{where}: [detect] {exc}") from None
        before = previous_summary(previous) if previous is not None else None
        with step("reading the data"):
            if isinstance(sources, (pl.LazyFrame, pl.DataFrame)):  # rows: canonical_rows
                lf, audit = load_canonical(sources), {"files": [], "totals": {}}
            else:
                paths = [sources] if isinstance(sources, (str, Path)) else list(sources)
                lf, audit = open_sources(paths, engine=engine)
            # Too many rows to pair at once within the budget: chapter by chapter.
            partition = partition or too_many_rows(lf, memory_budget(memory), engine)
            if not partition:
                lf = collect(lf, engine).lazy()
        if partition:
            self.flags = detect_routes(lf, query=self.query, engine=engine, partition=True,
                                       memory=memory)  # fmt: skip
        else:  # the mirror, computed once, serves the detection and the figures
            with step("pairing the two reports of each flow"):
                pairs = mirror_rows(lf, engine)  # lf checked where it was read
            self.flags = detect_routes(lf, query=self.query, engine=engine, pairs=pairs,
                                       memory=memory)  # fmt: skip
        self.corridors = corridors(self.flags)  # ranked once, for every part below
        by = self.config["report"]["by"]
        self.wide = roll_up(self.corridors, by) if by else None
        self.summary = summarise(
            lf, self.flags, audit, config=self.config, previous=before,
            built=built or _build_time(), ranked=self.corridors, wide=self.wide,
        )  # fmt: skip
        if partition:
            drilled = self.summary["routes"][: self.config["report"]["drilldowns"]]
            chapters = sorted({r["route"][3][:2] for r in drilled})
            pairs = mirror_rows(lf, engine, chapters=chapters)
        with step("figures"):
            # A pass over every row: streamed (benchmarks/RESULTS.md, issue 27).
            coverage = collect(coverage_table(lf), streamed(engine)).sort(
                "reporter", "role", "freq", "period"
            )
            self._overview, self._drill = _figures(
                self.flags, pairs, self.summary, self.config, coverage=coverage,
                ranked=self.corridors,
            )  # fmt: skip

    @property
    def figures(self) -> dict:
        """The overview figures, then each drill-down's legs and mirror gap, by title."""
        out = dict(self._overview)
        for n, d in enumerate(self._drill, 1):
            origin, hub, destination, hs = d["route"]["route"]
            name = f"{n}. {origin or '*'} → {hub} → {destination}, {hs}"
            out[f"{name}: legs"] = d["legs"]
            out[f"{name}: mirror gap"] = d["gap"]
        return out

    def write_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML report to ``path`` (a temporary name, then
        renamed: a failed write leaves the old file); return the path."""
        path = _html_path(path)
        with step(f"writing {path}"):
            table = table_rows(self.flags, self.config["report"]["table_rows"], self.corridors)
            page = render(self.summary, self._overview, self._drill, table=table,
                          attachments=downloads(self.flags, self.corridors, self.wide))  # fmt: skip
            write_text_atomic(path, page)
        return path

    def to_excel(self, path: str | Path) -> Path:
        """Write the flags as an Excel workbook: every corridor, the route-months
        of the flagged ones (names beside the codes) and, when the report rolls
        them up, every wide corridor; return the path."""
        from tradeflows._files import write_workbook_atomic

        path = _xlsx_path(path)
        with step(f"writing {path}"):
            months = _flagged_months(self.flags, self.corridors)
            sheets = {"corridors": self.corridors, "route-months": months}
            if self.wide is not None:
                sheets["wide corridors"] = self.wide
            write_workbook_atomic(path, sheets)
        return path

    def _repr_html_(self) -> str:
        """The headline numbers and the top corridors, for Jupyter (text escaped)."""
        import html

        s = self.summary
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                " → ".join(x or "*" for x in r["route"][:3]), r["route"][3], r["months"],
                month_span(r["first"], r["last"], " to "), f"{r['extra_usd']:,}", r["reasons"],
            )) + "</tr>"
            for r in s["routes"][:10]
        )  # fmt: skip
        head = "".join(f"<th>{h}</th>" for h in ("route", "HS", "flagged months", "span",
                                                 "at stake (USD)", "reasons"))  # fmt: skip
        wide = ""
        if s["wide"] and s["wide"]["rows"]:
            w = s["wide"]
            firsts = "; ".join(
                " ".join(c["code"] for c in r["cells"])
                + f" ({r['flagged_routes']} of {r['routes']} routes)"
                for r in w["rows"][:3]
            )
            wide = (
                html.escape(
                    f"By {w['label']}: {w['n_flagged']:,} of {w['n']:,} flagged; first {firsts}. "
                )
                + "<code>.wide</code> holds them all. "
            )
        return (
            f"<div><h1 style='font-size:1.3em'>{html.escape(s['title'])}</h1>"
            f"<p>{s['n_flagged_routes']:,} flagged corridors carrying USD {s['extra_usd_text']} "
            f"above their usual level; {s['n_route_months']:,} route-months scored. {wide}"
            "<code>.write_html(path)</code> writes the whole report, "
            "<code>.to_excel(path)</code> the workbook.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
        )


def _html_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise TradeflowsInputError(f"{path}: the report is an .html file")
    if path.is_dir():
        raise TradeflowsInputError(f"{path}: is a folder; give the report's file name")
    return path


def _xlsx_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix != ".xlsx":
        raise TradeflowsInputError(f"{path}: choose an .xlsx file name for the workbook")
    return path


def build_report(
    sources: Iterable[str | Path],
    out: str | Path,
    *,
    config: dict | str | Path | None = None,
    previous: str | Path | None = None,
    engine: str | None = None,
    built: str | None = None,
    partition: bool = False,
    xlsx: str | Path | None = None,
    memory: str | float | None = None,
) -> Path:
    """Detect on ``sources`` and write the report to ``out``; return its path.

    :class:`Report` computed, then written: the paths are checked first, so a
    wrong name fails before any work.

    Parameters
    ----------
    sources : iterable of paths
        Stores, files, globs or folders.
    out : path
        The HTML file (written to a temporary name, then renamed).
    config, previous, engine, built, partition, memory
        As :class:`Report`.
    xlsx : path, optional
        Also write the flags as an Excel workbook (:meth:`Report.to_excel`).

    Returns
    -------
    Path
        ``out``.

    See Also
    --------
    Report : the same, computed once and kept, to look at before writing.

    Examples
    --------
    >>> import tempfile
    >>> from tradeflows.datasets import datasets_dir
    >>> out = build_report([datasets_dir() / "eu_electronics_exports_2020_2022.parquet"],
    ...                    tempfile.mkdtemp() + "/report.html", built="now")
    >>> out.read_text(encoding="utf-8").count("<h1>")
    1
    """
    out = _html_path(out)
    if xlsx is not None:
        xlsx = _xlsx_path(xlsx)
    report = Report(sources, config=config, previous=previous, engine=engine, built=built,
                    partition=partition, memory=memory)  # fmt: skip
    report.write_html(out)
    if xlsx is not None:
        report.to_excel(xlsx)
    return out


def notebook_html(notebook, out: str | Path) -> Path:
    """An executed notebook as one HTML file that opens offline.

    JupyterLab's export template fetches require.js, MathJax and mermaid from
    the internet; this one (``nbconvert/offline``) leaves them out, and the
    MathJax link plotly's notebook renderer adds to every figure is dropped.
    Figures drawn with that renderer carry plotly.js themselves.

    Parameters
    ----------
    notebook : path or nbformat.NotebookNode
        An executed notebook.
    out : path
        The HTML file (written atomically).

    Returns
    -------
    Path
        ``out``.

    See Also
    --------
    render : the report's own template.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell('# Flows')])
    >>> out = notebook_html(nb, Path(tempfile.mkdtemp()) / 'nb.html')
    >>> 'Flows' in out.read_text(), 'require.js' in out.read_text()
    (True, False)
    """
    import nbformat
    from nbconvert import HTMLExporter

    node = (
        notebook if not isinstance(notebook, (str, Path)) else nbformat.read(notebook, as_version=4)
    )
    here = Path(str(files("tradeflows._report").joinpath("nbconvert")))
    exporter = HTMLExporter(extra_template_basedirs=[str(here)], template_name="offline")
    exporter.exclude_input_prompt = True
    body, _ = exporter.from_notebook_node(node)
    # plotly's notebook renderer links MathJax from a CDN whatever the figure;
    # tradeflows' figures use no LaTeX, so the offline file goes without it.
    body = re.sub(r'<script[^>]*src="https?://[^"]*mathjax[^"]*"[^>]*>\s*</script>', "", body)
    write_text_atomic(out, body)
    return Path(out)
