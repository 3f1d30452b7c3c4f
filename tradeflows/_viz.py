"""Interactive figures: each function takes polars frames and returns a plotly ``Figure``.

The figures share one look (:data:`COLOURS`, country names and HS
descriptions in labels and hover text, USD with units) and need no pandas and
no network: the world map draws country outlines shipped with tradeflows
(Natural Earth 1:110m) instead of plotly's geo base map, which downloads its
topology. Figures are returned, never shown.

- :func:`route_sankey`: origins -> hubs -> destinations, width = value, flagged routes in red;
- :func:`route_legs`: a route's inflow and outflow, both reports of each leg,
  flagged months shaded, control dates as lines, the score below;
- :func:`mirror_gap`: exporter-reported against importer-reported value per flow;
- :func:`score_heatmap`: hub x product, the highest score;
- :func:`flags_bar`: the routes ranked by score;
- :func:`hub_map`: hubs on a world map, sized and coloured by score.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files

import polars as pl

from tradeflows._clean import refuse_bad_rows
from tradeflows._errors import TradeflowsInputError
from tradeflows._expr import fixed_order_sum, sound_months, usd_text
from tradeflows._names import hs_description, hs_label
from tradeflows._reference import countries, policy_dates
from tradeflows._schema import MIRROR_SCHEMA, casts_to, conform
from tradeflows._tables import (
    FLAGS,
    flags_table,
    read_months,
    refuse_bad_periods,
    refuse_missing_codes,
    table,
)

__all__ = [
    "COLOURS",
    "country_name",
    "flags_bar",
    "hub_map",
    "mark_synthetic",
    "mirror_gap",
    "mirror_gap_note",
    "reported_lines",
    "route_legs",
    "route_sankey",
    "score_heatmap",
]

#: One palette for every figure.
COLOURS = {
    "inflow": "#1f77b4",
    "outflow": "#ff7f0e",
    "direct": "#2ca02c",
    "flagged": "#d62728",
    "quiet": "#9aa5b1",
    "policy": "#6b4c9a",
    "land": "#e8eaed",
    "border": "#ffffff",
}
_SCALE = [[0.0, "#fff5eb"], [0.5, "#fd8d3c"], [1.0, "#a50f15"]]
_FONT = {"family": "Helvetica, Arial, sans-serif", "size": 12}
#: Small countries the 1:110m outlines leave out, by their capital's position.
_SMALL = {"SGP": (103.8, 1.35), "HKG": (114.2, 22.3), "MAC": (113.5, 22.2), "BHR": (50.6, 26.1),
          "MLT": (14.4, 35.9), "MDV": (73.5, 4.2), "MUS": (57.5, -20.2), "LUX": (6.1, 49.6)}  # fmt: skip


#: What the figures read, as their errors name it.
_PAIRS = "a mirror table (tradeflows.collect_mirror)"
_ROWS = "canonical rows (tradeflows.scan_store)"


def _frame(df, reads: str | None = None, *needs: str) -> pl.DataFrame:
    """``df`` in memory; with ``reads`` (what the figure reads), refused in one line
    unless it is a polars frame holding the columns ``needs`` (:func:`tradeflows._tables.table`)."""
    if reads is not None:
        return table(df, reads, *needs)
    return df.collect() if isinstance(df, pl.LazyFrame) else df


def _pairs_frame(pairs, reads: str, *needs: str) -> pl.DataFrame:
    """The mirror's pairs in memory, holding ``needs``, typed as the mirror types them
    (:data:`tradeflows._schema.MIRROR_SCHEMA`), every period a month of :data:`YEARS`."""
    df = table(pairs, reads, *needs)
    df = df.with_columns(casts_to(df.schema, MIRROR_SCHEMA, reads))
    if "period" in df.columns:
        refuse_bad_periods(df.lazy(), reads)
    refuse_missing_codes(df, ("exporter", "importer", "hs"), reads)
    return df


def _codes(given: str | Iterable[str] | None) -> list[str] | None:
    """Country codes as a list: one code alone is one code, not its letters."""
    if given is None or isinstance(given, str):
        return None if given is None else [c.strip() for c in given.split(",") if c.strip()]
    return [str(c) for c in given]


def _hs_prefix(hs: object, figure: str) -> str:
    """``hs`` when it is text: as a number, HS 010121 loses its leading zero."""
    if not isinstance(hs, str):
        raise TradeflowsInputError(
            f"{figure}: hs {hs!r} is not text (as '847150': as a number, 010121 loses its "
            "leading zero)"
        )
    return hs


def _month_given(value: object, name: str) -> dt.date | None:
    """A month given as a date, or as text (``2022-03``, ``2022-03-01``)."""
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    return read_months(pl.Series([str(value)]), name)[0]


def _route_key(route: object) -> dict:
    """``origin``, ``hub``, ``destination`` and ``hs`` of ``route`` (a row of a flags table)."""
    names = ("origin", "hub", "destination", "hs")
    if not isinstance(route, Mapping) or any(k not in route for k in names):
        raise TradeflowsInputError(
            f"route_legs: route {route!r} is not a route: a dict of origin, hub, destination "
            "and hs (a row of the flags table: flags.row(0, named=True))"
        )
    return {k: route[k] for k in names}


def _sound_frame(flags, reads: str | None = None, *needs: str) -> pl.DataFrame:
    """The flags table's months that count as evidence (:func:`sound_months`); with
    ``reads``, the table checked and typed first (:func:`tradeflows._tables.flags_table`)."""
    df = flags_table(flags, reads, *needs) if reads is not None else _frame(flags)
    return df.filter(sound_months(df.columns))


def _heatmap_axes(sound: pl.DataFrame) -> tuple[str, str]:
    """The heatmap's rows and columns: hubs by product; a single hub's destinations
    instead of hubs, and the months instead of a single product.

    One hub's own records (Armenia's trade by country, all goods) drew one cell:
    its destinations month by month say where and when its trade turned.
    """
    one = {c: c in sound.columns and sound[c].n_unique() == 1 for c in ("hub", "hs")}
    rows = "destination" if one["hub"] and "destination" in sound.columns else "hub"
    columns = "period" if one["hs"] and "period" in sound.columns else "hs"
    return rows, columns


def _heatmap_cells(sound: pl.DataFrame, axes: tuple[str, str] | None = None) -> pl.DataFrame:
    """The highest score of each of the heatmap's cells (``axes``, by default
    :func:`_heatmap_axes`: each hub and product, where the data holds more than
    one of each), as ``row``, ``column`` (when the data has one) and ``score``."""
    rows, columns = axes or _heatmap_axes(sound)
    keys = {"row": rows, "column": columns}
    return sound.group_by([pl.col(c).alias(k) for k, c in keys.items() if c in sound.columns]).agg(
        pl.col("score").max()
    )


def _colour_range(cells: pl.DataFrame, sound: pl.DataFrame) -> dict:
    """The score colours of the map and the heatmap: one range for both, from the
    lowest to the highest score of the heatmap's cells (``cells``, :func:`_heatmap_cells`),
    so that a colour is one score in each; and their scale, whose middle (orange)
    is the lowest score of a flagged month of ``sound`` (:func:`_sound_frame`).

    Below it the colours stay pale to orange, above it orange to dark red; with
    no flagged month, nothing is darker than orange. A range from the lowest
    score to the highest alone drew the data's best score dark red whatever it
    was: on the EU's all-goods exports, Armenia (nothing flagged) was as dark as
    Kazakhstan (flagged), and EU members that are hubs only in name lit up the map.
    """
    if not cells.height:
        return {"colorscale": _SCALE}
    lo, hi = cells["score"].min(), cells["score"].max()
    flagged = (
        sound.filter(pl.col("flagged").fill_null(False))
        if "flagged" in sound.columns
        else sound.clear()
    )
    line = flagged["score"].min() if flagged.height else None
    (_, pale), (_, orange), (_, dark) = _SCALE
    if line is None or line > hi:  # nothing reaches a flagged month's score
        scale = [[0.0, pale], [1.0, orange]]
    elif line <= lo:
        scale = [[0.0, orange], [1.0, dark]]
    else:
        mid = min((line - lo) / (hi - lo), 0.99)  # the top cell keeps a colour of its own
        scale = [[0.0, pale], [mid, orange], [1.0, dark]]
    return {"cmin": lo, "cmax": hi, "colorscale": scale}


@cache
def _names() -> dict[str, str]:
    table = countries().filter(pl.col("kind") == "country")
    return dict(table.select("iso3", "name").rows())


def country_name(iso3: str) -> str:
    """A country's name for labels, or the code itself when unknown.

    Parameters
    ----------
    iso3 : str
        An ISO3 code (empty: "all origins").

    Returns
    -------
    str
        The English name, or the code when it names no country.

    See Also
    --------
    hs_label : the same for products.

    Examples
    --------
    >>> country_name("MYS"), country_name("")
    ('Malaysia', 'all origins')
    """
    if not iso3:
        return "all origins"
    return _names().get(iso3, iso3)


#: The height of one control date's label above a route's panel, in pixels.
_LABEL_PX = 13


def _style(fig, title: str, subtitle: str | None = None, **layout):
    heading = {"text": title, "x": 0.01, "xanchor": "left"}
    if subtitle:
        heading["subtitle"] = {"text": subtitle}
    fig.update_layout(
        title=heading,
        font=_FONT,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 80 if subtitle else 60, "b": 40},
        **layout,
    )
    return fig


def mark_synthetic(fig, text: str = "SYNTHETIC"):
    """Stamp ``text`` across a figure (and its title), so that an exported chart
    of synthetic data cannot pass for real data.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        Any figure; changed in place.
    text : str
        The stamp.

    Returns
    -------
    plotly.graph_objects.Figure
        ``fig``, for chaining.

    See Also
    --------
    tradeflows.datasets.make_trade_world : synthetic worlds.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> fig = mark_synthetic(go.Figure(go.Bar(y=[1, 2]), layout={"title": {"text": "Exports"}}))
    >>> fig.layout.annotations[-1].text, fig.layout.title.text
    ('SYNTHETIC', 'SYNTHETIC data: Exports')
    """
    fig.add_annotation(
        text=text, name="synthetic-mark", x=0.5, y=0.5, xref="paper", yref="paper",
        showarrow=False, textangle=-20, opacity=0.18,
        font={"size": 72, "color": COLOURS["flagged"], "family": _FONT["family"]},
    )  # fmt: skip
    title = fig.layout.title.text
    if not title or text not in title:  # first, so that a long title cut short keeps it
        fig.update_layout(title_text=f"{text} data: {title}" if title else f"{text} data")
    return fig


def _score_bars(scores: list) -> tuple[list, float]:
    """Score bars' lengths and where they start: half a unit under the lowest
    score drawn (0 at most); a bar ends at its score (None: no bar).

    A score is a log-odds, often below 0: bars drawn from 0 would make the
    least suspicious the longest. From the floor, a longer bar is a higher
    score; the axis still reads in scores.
    """
    drawn = [s for s in scores if s is not None and s == s]
    floor = min(0.0, math.floor(min(drawn, default=0.0)) - 0.5)
    return [None if s is None else s - floor for s in scores], floor


def _route_label(r: dict) -> str:
    return f"{r['origin'] or '*'} → {r['hub']} → {r['destination']}  {r['hs']}"


def route_sankey(flags, *, hs: str | None = None, since=None, until=None, top: int = 25):
    """Origins -> hubs -> destinations for a product and period; width = value.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        A flags table (:func:`tradeflows.detect_routes`).
    hs : str, optional
        HS code prefix to draw; default every product.
    since, until : date or str, optional
        The period drawn (``"2022-03"`` or a date).
    top : int
        The routes with the highest scores drawn. A route of all origins (the
        hub's total imports: ``origin`` "", where no one origin is named) is
        drawn from an "all origins" node, as wide as what the named origins
        drawn at its hub leave of the hub's imports ("other origins" when
        some are named).

    Returns
    -------
    plotly.graph_objects.Figure

    See Also
    --------
    flags_bar : the corridors ranked.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": ["USA"], "hub": ["MYS"], "destination": ["CHN"],
    ...     "hs": ["847150"], "period": [dt.date(2024, 1, 1)], "score": [9.0],
    ...     "flagged": [True], "inflow": [5e6], "outflow": [4e6]})
    >>> fig = route_sankey(f)
    >>> fig.data[0].type, len(fig.data[0].link.value)
    ('sankey', 2)
    >>> route_sankey(f, hs="8542").layout.annotations[0].text
    'No route to draw (8542 Electronic integrated circuits).'
    """
    import plotly.graph_objects as go

    df = flags_table(flags, f"route_sankey reads {FLAGS}", "origin", "hub", "destination", "hs",
                     "period", "score", "flagged", "inflow", "outflow")  # fmt: skip
    since, until = _month_given(since, "since"), _month_given(until, "until")
    if hs:
        df = df.filter(pl.col("hs").str.starts_with(_hs_prefix(hs, "route_sankey")))
    if since is not None:
        df = df.filter(pl.col("period") >= since)
    if until is not None:
        df = df.filter(pl.col("period") <= until)
    routes = (
        df.group_by("origin", "hub", "destination")
        .agg(
            inflow=fixed_order_sum(pl.col("inflow")),
            outflow=fixed_order_sum(pl.col("outflow")),
            score=pl.col("score").max(),
            flagged=pl.col("flagged").any(),
        )
        .sort(["score", "origin", "hub", "destination"], descending=[True, False, False, False])
        .head(top)
    )
    nodes: dict[tuple[str, str], int] = {}

    def node(role: str, iso: str) -> int:
        return nodes.setdefault((role, iso), len(nodes))

    source, target, value, colour, hover = [], [], [], [], []
    inflows = routes.group_by("origin", "hub").agg(pl.col("inflow").max(), pl.col("flagged").any())
    # All origins' inflow is the hub's imports, named origins' included: drawn
    # as what the named ones leave of it, so that the hub is not counted twice.
    named = inflows.filter(pl.col("origin") != "")
    rest = (
        inflows.filter(pl.col("origin") == "")
        .join(named.group_by("hub").agg(named=pl.col("inflow").sum()), on="hub", how="left")
        .with_columns(inflow=pl.col("inflow") - pl.col("named").fill_null(0.0))
        .filter(pl.col("inflow") > 0)
        .drop("named")
    )
    inflows = pl.concat([named, rest])
    everyone = "other origins" if named.height else "all origins"
    # A hub's exports nobody reports (exporter-only data) are drawn at the inflow, and said so.
    outflows = (
        routes.with_columns(
            inferred=pl.col("outflow") <= 0,
            outflow=pl.when(pl.col("outflow") > 0).then("outflow").otherwise("inflow"),
        )
        .group_by("hub", "destination")
        .agg(pl.col("outflow").max(), pl.col("flagged").any(), pl.col("inferred").all())
    )
    for o, h, v, f in inflows.sort("origin", "hub").rows():
        source.append(node("origin", o)), target.append(node("hub", h)), value.append(v)
        colour.append("rgba(214,39,40,0.55)" if f else "rgba(31,119,180,0.35)")
        who = country_name(o) if o else everyone
        hover.append(f"{who} → {country_name(h)}: USD {v:,.0f}")
    for h, d, v, f, guess in outflows.sort("hub", "destination").rows():
        source.append(node("hub", h)), target.append(node("destination", d)), value.append(v)
        colour.append("rgba(214,39,40,0.55)" if f else "rgba(255,127,14,0.35)")
        if guess:  # paler: the width is the inflow's, nobody reports this leg
            colour[-1] = colour[-1].replace("0.55", "0.2").replace("0.35", "0.2")
        what = "not reported by anyone; drawn as wide as the inflow" if guess else f"USD {v:,.0f}"
        hover.append(f"{country_name(h)} → {country_name(d)}: {what}")
    labels = [country_name(iso) if iso else everyone for (_, iso) in nodes]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": labels, "pad": 14, "thickness": 14, "color": COLOURS["quiet"]},
            link={
                "source": source,
                "target": target,
                "value": value,
                "color": colour,
                "customdata": hover,
                "hovertemplate": "%{customdata}<extra></extra>",
            },
        )
    )
    what = hs_label(hs) if hs else "all products"
    if not value:  # an empty Sankey is an error in the browser: say so instead
        fig = go.Figure()
        fig.add_annotation(text=f"No route to draw ({what}).", x=0.5, y=0.5,
                           xref="paper", yref="paper", showarrow=False)  # fmt: skip
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return _style(fig, f"Routes: origin → hub → destination ({what}); flagged in red")


def _both_reports() -> dict[str, pl.Expr]:
    """The exporter's report (``x``) and the importer's in FOB terms (``m``), summed.

    A side with no report in the group is null, not 0 (a sum of nulls is 0).
    """

    def summed(expr: pl.Expr) -> pl.Expr:
        return pl.when(expr.is_not_null().any()).then(fixed_order_sum(expr))

    return {"x": summed(pl.col("value_x")), "m": summed(pl.col("value_m") / pl.col("cif_fob"))}


def _month(d) -> int:
    return d.year * 12 + d.month - 1


def _leg_sides(pairs: pl.DataFrame, filed: pl.DataFrame, exporter: str, importer: str, hs: str,
               months: list) -> dict[str, list]:  # fmt: skip
    """Each side's monthly report of one leg on ``months``: a month its reporter filed
    in is its value (zero without a row), a month it did not is ``None`` (a gap)."""
    p = pairs.filter((pl.col("hs") == hs) & (pl.col("importer") == importer))
    if exporter:
        p = p.filter(pl.col("exporter") == exporter)
    by_month = {
        _month(d): (x, m)
        for d, x, m in p.group_by("period").agg(**_both_reports()).select("period", "x", "m").rows()
    }
    level = "totals" if hs == "TOTAL" else "products"

    def filed_by(reporter: str, role: str) -> set[int]:
        rows = filed.filter(
            (pl.col("role") == role) & pl.col(level) & (pl.col("reporter") == reporter)
        )
        return set(rows["mi"].to_list())

    m_filed = filed_by(importer, "M")
    # All origins: many exporters, no one silence to read; their reports where any is.
    x_filed = filed_by(exporter, "X") if exporter else None
    out = {"x": [], "m": []}
    for d in months:
        mi = _month(d)
        x, m = by_month.get(mi, (None, None))
        x_known = x is not None if x_filed is None else mi in x_filed
        out["x"].append((x or 0.0) if x_known else None)
        out["m"].append((m or 0.0) if mi in m_filed else None)
    return out


def route_legs(flags, route: dict, *, pairs=None, coverage=None):
    """A route's legs over time, both reports of each, with its score; unreported months are gaps.

    A month in which a side's reporter filed nothing at the leg's level is
    drawn as a gap in that side's line, never as a zero, and a side whose
    reporter never files is left out, with a note saying so. The direct leg
    (origin -> destination) is drawn when the route's reasons cite it (a
    diversion, or goods booked by origin), on an axis of its own at the
    right when it peaks above ten times the route's legs (which it would
    flatten). The score's bars rise from under its lowest month: a taller
    bar is a higher score.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        A flags table.
    route : dict
        ``origin``, ``hub``, ``destination``, ``hs`` of the route.
    pairs : DataFrame or LazyFrame, optional
        The mirror (:func:`tradeflows._mirror.mirror`): with it each leg shows
        the exporter's and the importer's report; without it, the largest report.
    coverage : DataFrame or LazyFrame, optional
        :func:`tradeflows._routes.coverage.coverage_table` of the data (default:
        as far as the pairs tell it).

    Returns
    -------
    plotly.graph_objects.Figure

    See Also
    --------
    reported_lines : any reported series, with gaps.

    Examples
    --------
    >>> import datetime as dt
    >>> f = pl.DataFrame({"origin": ["USA"] * 2, "hub": ["MYS"] * 2, "destination": ["CHN"] * 2,
    ...     "hs": ["847150"] * 2, "period": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
    ...     "score": [2.0, 9.0], "flagged": [False, True], "inflow": [1e6, 5e6],
    ...     "outflow": [1e5, None]})
    >>> fig = route_legs(f, {"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150"})
    >>> [t.name for t in fig.data], fig.data[1].y
    (['USA → MYS (largest report)', 'MYS → CHN (largest report)', 'score'], (100000.0, None))
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    key = _route_key(route)
    df = (
        flags_table(flags, f"route_legs reads {FLAGS}", "period", "score", "flagged", *key)
        .filter(**key)
        .sort("period")
    )
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.72, 0.28],
        vertical_spacing=0.06,
        specs=[[{"secondary_y": True}], [{}]],
    )
    legs = [(key["origin"], key["hub"], "inflow"), (key["hub"], key["destination"], "outflow")]
    cites_direct = df.filter(pl.col("flagged")).select(
        [pl.col(c).max() for c in ("ghost", "diversion") if c in df.columns] or [pl.lit(0.0)]
    )
    if (
        key["origin"]
        and cites_direct.height
        and (cites_direct.max_horizontal().item() or 0) >= 2.33
    ):
        legs.append((key["origin"], key["destination"], "direct"))
    months = df["period"].to_list()
    hover = "%{x|%Y-%m}: USD %{y:,.0f}<extra>%{fullData.name}</extra>"
    notes, lines = [], []
    if pairs is not None:
        from tradeflows._routes.coverage import coverage_from_pairs

        p = _pairs_frame(pairs, f"route_legs reads its pairs from {_PAIRS}", "freq", "period",
                         "exporter", "importer", "hs", "value_x", "value_m", "cif_fob")  # fmt: skip
        filed = _frame(coverage if coverage is not None else coverage_from_pairs(p.lazy()))
        filed = filed.filter(pl.col("freq") == "M") if "freq" in filed.columns else filed
        for exporter, importer, role in legs:
            sides = _leg_sides(p, filed, exporter, importer, key["hs"], months)
            src = exporter or "all"
            for col, who, dash in (("x", exporter or "exporters", "solid"), ("m", importer, "dot")):
                if all(v is None for v in sides[col]):
                    files = "file" if who == "exporters" else "files"  # all origins' reports
                    notes.append(f"{who} {files} no {'exports' if col == 'x' else 'imports'} of this "
                                 f"product: {src} → {importer} is drawn from the other side only")  # fmt: skip
                    continue
                lines.append((role, sides[col], {
                    "name": f"{src} → {importer} as {who} reports",
                    "meta": {"reporter": who, "side": col.upper(), "leg": role},
                    "line": {"color": COLOURS[role], "dash": dash}}))  # fmt: skip
    else:
        for exporter, importer, role in legs:
            if role in df.columns:
                lines.append((role, df[role].to_list(), {
                    "name": f"{exporter or '*'} → {importer} (largest report)",
                    "line": {"color": COLOURS[role]}}))  # fmt: skip
    # A direct leg ten times the route's own would flatten them: it gets the right axis.
    peak = {r: max((v for v in y if v is not None), default=0.0) for r, y, _ in lines}
    own = max((v for r, v in peak.items() if r != "direct"), default=0.0)
    apart = peak.get("direct", 0.0) > 10 * own > 0
    for role, y, style in lines:
        right = apart and role == "direct"
        if right:
            style = {**style, "name": style["name"] + " (right axis)"}
        fig.add_trace(
            go.Scatter(x=months, y=y, mode="lines+markers", connectgaps=False,
                       hovertemplate=hover, **style),
            row=1, col=1, secondary_y=right,
        )  # fmt: skip
    scores = df["score"].to_list()
    lengths, floor = _score_bars(scores)
    fig.add_trace(
        go.Bar(x=months, y=lengths, base=floor, name="score", customdata=scores,
               marker_color=[COLOURS["flagged"] if f else COLOURS["quiet"] for f in df["flagged"]],
               hovertemplate="%{x|%Y-%m}: score %{customdata:.1f}<extra></extra>"),
        row=2, col=1,
    )  # fmt: skip
    # The flagged months and the policy dates span both panels. The shapes go
    # in with one layout update: plotly's add_vrect and add_vline check the
    # whole figure on each call (benchmarks/RESULTS.md, design measurements).
    panels = [("x", "y domain"), ("x2", "y3 domain")]  # y2: the direct leg's axis
    shapes, annotations = [], []
    for period in df.filter(pl.col("flagged"))["period"].to_list():
        end = period.replace(year=period.year + period.month // 12, month=period.month % 12 + 1)
        shapes += [{"type": "rect", "x0": period, "x1": end, "xref": x, "y0": 0, "y1": 1,
                    "yref": y, "fillcolor": COLOURS["flagged"], "opacity": 0.08,
                    "line": {"width": 0}} for x, y in panels]  # fmt: skip
    dates = _control_dates(df["period"], key["destination"])
    for n, (date, label, anchor) in enumerate(dates):
        shapes += [{"type": "line", "x0": date, "x1": date, "xref": x, "y0": 0, "y1": 1,
                    "yref": y, "line": {"color": COLOURS["policy"], "dash": "dash", "width": 1}}
                   for x, y in panels]  # fmt: skip
        # Named above the panel, not across it (the months after a control date
        # are where a route's rise is drawn), one line each, the first lowest.
        annotations.append({"x": date, "y": 1, "yref": "paper", "yanchor": "bottom",
                            "yshift": 2 + _LABEL_PX * n, "xanchor": anchor, "text": label,
                            "showarrow": False, "font": {"size": 10, "color": COLOURS["policy"]}})  # fmt: skip
    for n, note in enumerate(notes):
        annotations.append({"x": 0, "xref": "paper", "y": -0.22 - 0.06 * n, "yref": "paper",
                            "text": note, "showarrow": False, "xanchor": "left",
                            "font": {"size": 10, "color": COLOURS["quiet"]}})  # fmt: skip
    fig.update_layout(shapes=shapes, annotations=annotations)
    fig.update_yaxes(title_text="USD a month", row=1, col=1, secondary_y=False)
    fig.update_yaxes(title_text="USD a month, direct leg" if apart else None, showgrid=False,
                     tickmode="auto", visible=apart, row=1, col=1, secondary_y=True)  # fmt: skip
    fig.update_yaxes(title_text="score", row=2, col=1)
    title = (f"{country_name(key['origin'])} → {country_name(key['hub'])} → "
             f"{country_name(key['destination'])}: {hs_label(key['hs'])}")  # fmt: skip
    height = 480 + 24 * len(notes) + _LABEL_PX * max(len(dates) - 1, 0)
    fig = _style(fig, title, legend={"orientation": "h", "y": -0.12}, height=height)
    if len(dates) > 1:  # the top margin grows by a line a date; the title keeps its place
        top = fig.layout.margin.t
        fig.update_layout(margin_t=top + _LABEL_PX * (len(dates) - 1),
                          title={"yref": "container", "y": 1 - top / 2 / height,
                                 "yanchor": "middle"})  # fmt: skip
    return fig


def _control_dates(periods: pl.Series, destination: str) -> list[tuple]:
    """The control dates aimed at ``destination`` within ``periods``' span: date,
    label, and which way the label runs from it (right in the span's first half,
    left in the second, so that it stays on the figure)."""
    if periods.is_empty():
        return []
    lo, hi = periods.min(), periods.max()
    return [(date, label, "left" if (date - lo) < (hi - lo) / 2 else "right")
            for date, label, targets in policy_dates().select("date", "label", "targets").rows()
            if lo <= date <= hi and destination in (targets or [])]  # fmt: skip


def mirror_gap(
    pairs,
    *,
    exporter: str | None = None,
    importer: str | None = None,
    hs: str | None = None,
    top: int = 300,
):
    """Exporter-reported against importer-reported value (FOB) of each flow.

    One point per flow (exporter, importer, product) summed over its months
    reported by both; the diagonal is agreement.

    Parameters
    ----------
    pairs : DataFrame or LazyFrame
        The mirror (:func:`tradeflows.mirror`).
    exporter, importer : str, optional
        Only the flows of this exporter or importer (ISO3).
    hs : str, optional
        Only the flows of products under this HS prefix.
    top : int
        The largest flows drawn.

    Returns
    -------
    plotly.graph_objects.Figure
        A note instead of an empty panel where no flow has both reports
        (:func:`mirror_gap_note`).

    See Also
    --------
    mirror_gap_note : why a gap cannot be drawn.

    Examples
    --------
    >>> import datetime as dt
    >>> p = pl.DataFrame({"exporter": ["USA"], "importer": ["MYS"], "hs": ["847150"],
    ...     "period": [dt.date(2024, 1, 1)], "value_x": [100.0], "value_m": [105.0],
    ...     "cif_fob": [1.05], "gap": [0.0]})
    >>> mirror_gap(p).data[0].x
    (100.0,)
    """
    import plotly.graph_objects as go

    needs = ("exporter", "importer", "hs", "value_x", "value_m", "cif_fob")
    df = _pairs_frame(pairs, f"mirror_gap reads {_PAIRS}", *needs)
    # Both reports, and the CIF/FOB ratio that puts them on one footing (the
    # mirror gives every pair one; a table edited elsewhere may not).
    df = df.filter(pl.all_horizontal(pl.col("value_x", "value_m", "cif_fob").is_not_null()))
    for col, value in (("exporter", exporter), ("importer", importer)):
        if value:
            df = df.filter(pl.col(col) == value)
    if hs:
        df = df.filter(pl.col("hs").str.starts_with(hs))
    flows = (
        df.group_by("exporter", "importer", "hs")
        .agg(**_both_reports())
        .with_columns(gap=(pl.col("m") - pl.col("x")) / pl.max_horizontal("m", "x"))
        .sort(["x", "exporter", "importer", "hs"], descending=[True, False, False, False])
        .head(top)
    )
    hover = [
        f"{country_name(e)} → {country_name(i)}<br>{hs_label(h)}<br>exporter: USD {x:,.0f}"
        f"<br>importer (FOB): USD {m:,.0f}<br>gap {g:+.0%}"
        for e, i, h, x, m, g in flows.select("exporter", "importer", "hs", "x", "m", "gap").rows()
    ]
    if flows.is_empty():
        fig = go.Figure()
        fig.add_annotation(text=mirror_gap_note(pairs, exporter=exporter, importer=importer, hs=hs),
                           x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                           font={"size": 13})  # fmt: skip
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return _style(fig, "Mirror gap: the two reports of each flow", height=220)
    fig = go.Figure(
        go.Scatter(x=flows["x"].to_list(), y=flows["m"].to_list(), mode="markers",
                   marker={"color": flows["gap"].to_list(), "colorscale": "RdBu", "cmin": -1,
                           "cmax": 1, "colorbar": {"title": "gap"}, "size": 8},
                   text=hover, hovertemplate="%{text}<extra></extra>", name="flows")
    )  # fmt: skip
    if not flows.is_empty():
        lo = max(min(flows["x"].min(), flows["m"].min()), 1.0)
        hi = max(flows["x"].max(), flows["m"].max())
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="agreement",
                                 line={"color": COLOURS["quiet"], "dash": "dash"}))  # fmt: skip
    fig.update_xaxes(type="log", title_text="as the exporter reports (USD)")
    fig.update_yaxes(type="log", title_text="as the importer reports (USD, FOB)")
    return _style(fig, "Mirror gap: the two reports of each flow")


def mirror_gap_note(pairs, *, exporter=None, importer=None, hs=None) -> str | None:
    """Why :func:`mirror_gap` has nothing to draw (``None`` when it has).

    A gap needs both reports of a flow; the note says which side files none.

    Parameters
    ----------
    pairs : DataFrame or LazyFrame
        The mirror (:func:`tradeflows.mirror`).
    exporter, importer, hs : str, optional
        The selection, as :func:`mirror_gap`.

    Returns
    -------
    str or None
        Why there is no gap to draw (a side that never files, no common month),
        or None when there is one.

    See Also
    --------
    mirror_gap : the figure.

    Examples
    --------
    >>> import datetime as dt
    >>> p = pl.DataFrame({"exporter": ["ARM"], "importer": ["RUS"], "hs": ["847130"],
    ...     "period": [dt.date(2022, 5, 1)], "value_x": [100.0], "value_m": [None],
    ...     "cif_fob": [1.05]}, schema_overrides={"value_m": pl.Float64})
    >>> print(mirror_gap_note(p, exporter="ARM"))
    No flow from Armenia is reported by both sides here: Russia files no imports of it (only the exporters' reports are in the data), so there is no gap to show.
    """
    df = _pairs_frame(pairs, f"mirror_gap_note reads {_PAIRS}", "exporter", "importer", "hs",
                      "value_x", "value_m")  # fmt: skip
    for col, value in (("exporter", exporter), ("importer", importer)):
        if value:
            df = df.filter(pl.col(col) == value)
    if hs:
        df = df.filter(pl.col("hs").str.starts_with(hs))
    both = df.filter(pl.col("value_x").is_not_null() & pl.col("value_m").is_not_null())
    if not both.is_empty():
        return None
    what = "No flow" + (f" from {country_name(exporter)}" if exporter else "") + (
        f" to {country_name(importer)}" if importer else "")  # fmt: skip
    if df.is_empty():
        return (
            f"{what} is in the data{f' for {hs_label(hs)}' if hs else ''}: there is no gap to show."
        )
    # The partners that carry the most first (then by code): those a reader
    # looks for, not the alphabet's first (Aruba, Afghanistan, Angola).
    importers = _largest(df, "importer", "value_x")
    exporters = _largest(df, "exporter", "value_m")
    if importers:
        who = ", ".join(country_name(c) for c in importers[:3]) + (
            " and others" if len(importers) > 3 else ""
        )
        side = f"{who} {'files' if len(importers) == 1 else 'file'} no imports of it (only the exporters' reports are in the data)"
    else:
        who = ", ".join(country_name(c) for c in exporters[:3]) + (
            " and others" if len(exporters) > 3 else ""
        )
        side = f"{who} {'files' if len(exporters) == 1 else 'file'} no exports of it (only the importers' reports are in the data)"
    return f"{what} is reported by both sides here: {side}, so there is no gap to show."


def _largest(df: pl.DataFrame, side: str, value: str) -> list[str]:
    """The ``side`` codes with a report in ``value``, largest total first."""
    totals = df.filter(pl.col(value).is_not_null()).group_by(side).agg(pl.col(value).sum())
    return totals.sort([value, side], descending=[True, False])[side].to_list()


def reported_lines(
    data,
    *,
    hs: str,
    flow: str = "M",
    reporters: list[str] | None = None,
    partners: list[str] | None = None,
    by: str = "reporter",
    coverage=None,
    title: str | None = None,
    log: bool = True,
):
    """Monthly values as reported, one line per reporter (or partner); a month the
    reporters did not file is a gap, never a zero.

    A month counts as filed when one of the line's reporters filed rows of
    product codes on that side (:func:`tradeflows._routes.coverage.coverage_table`):
    then no row is a zero. A month nobody filed is left out of the line.

    Parameters
    ----------
    data : LazyFrame or DataFrame
        Canonical rows (a store, a dataset).
    hs : str
        An HS code or prefix (``"8542"`` sums the heading).
    flow : {"M", "X"}
        Imports (``M`` and ``RM`` rows) or exports (``X`` and ``RX``), as reported.
    reporters, partners : list of str or str, optional
        ISO3 codes to keep (``["MYS", "SGP"]`` or ``"MYS,SGP"``; default: all).
    by : {"reporter", "partner"}
        One line per reporter (each its own coverage), or per partner (the
        reporters summed; a month is filed when any of them filed).
    coverage : DataFrame or LazyFrame, optional
        The coverage table of ``data`` (default: computed from ``data``).
    title : str, optional
        The figure's title.
    log : bool
        A log axis. It cannot draw a zero, so there a filed month with no trade
        breaks the line too: pass ``log=False`` to see zeros as zeros.

    Returns
    -------
    plotly.graph_objects.Figure

    See Also
    --------
    route_legs : a route's legs, both reports.

    Examples
    --------
    >>> import datetime as dt
    >>> d = pl.DataFrame({"period": [dt.date(2024, 1, 1), dt.date(2024, 3, 1)], "freq": "M",
    ...     "reporter": "MYS", "partner": "TWN", "flow": "M", "hs": "847150",
    ...     "value_usd": [5e6, 7e6]})
    >>> reported_lines(d, hs="8471").data[0].y  # February: Malaysia filed nothing
    (5000000.0, None, 7000000.0)
    """
    import plotly.graph_objects as go

    from tradeflows._routes.coverage import coverage_table

    if by not in ("reporter", "partner"):
        raise TradeflowsInputError(f"by: choose reporter or partner, not {by!r}")
    if flow not in ("M", "X"):
        raise TradeflowsInputError(f"flow: choose M or X, not {flow!r}")
    hs = _hs_prefix(hs, "reported_lines")
    reporters, partners = _codes(reporters), _codes(partners)
    reads = f"reported_lines reads {_ROWS}"
    whole = _frame(data, reads, "period", "freq", "reporter", "partner", "flow", "hs", "value_usd")
    whole = conform(whole.lazy(), where=reads)
    refuse_bad_rows(whole, reads)  # a month of year 0 has no axis
    lf = whole.filter(pl.col("freq") == "M")
    if reporters:
        lf = lf.filter(pl.col("reporter").is_in(reporters))
    if partners:
        lf = lf.filter(pl.col("partner").is_in(partners))
    flows = ["M", "RM"] if flow == "M" else ["X", "RX"]
    rows = (
        lf.filter(pl.col("flow").cast(pl.String).is_in(flows), pl.col("hs").str.starts_with(hs))
        .group_by(*dict.fromkeys([by, "reporter", "period"]))
        .agg(value=pl.col("value_usd").sum())
        .collect()
    )
    # Who filed is read from every row (any partner, any product), not the selection.
    cov = _frame(coverage if coverage is not None else coverage_table(whole))
    filed = cov.filter(pl.col("role") == flow, pl.col("freq") == "M", pl.col("products"))
    if reporters:
        filed = filed.filter(pl.col("reporter").is_in(reporters))
    fig = go.Figure()
    keys = sorted(rows[by].unique().to_list())
    if by == "reporter" and reporters:
        keys = [r for r in reporters if r in set(filed["reporter"]) | set(keys)]
    for key in keys:
        mine = rows.filter(pl.col(by) == key)
        if by == "reporter":
            months = filed.filter(pl.col("reporter") == key)["period"]
        else:
            months = filed.filter(pl.col("reporter").is_in(mine["reporter"].unique()))["period"]
        # From the first to the last month filed or reported (a reporter may have
        # filed with no row of this selection: a line of zeros, not an error).
        known = [d for d in (months.min(), months.max(), rows["period"].min(),
                             rows["period"].max()) if d is not None]  # fmt: skip
        span = pl.date_range(min(known), max(known), "1mo", eager=True).alias("period")
        series = (
            span.to_frame()
            .join(mine.group_by("period").agg(pl.col("value").sum()), on="period", how="left")
            .with_columns(
                value=pl.when(pl.col("period").is_in(months.implode()))
                .then(pl.col("value").fill_null(0.0))
                .otherwise(pl.col("value"))
            )
        )
        if log:  # a log axis cannot draw a zero: a filed month with no trade is a break too
            series = series.with_columns(value=pl.when(pl.col("value") > 0).then("value"))
        meta = {"reporter": key, "side": flow} if by == "reporter" else {"partner": key}
        fig.add_trace(go.Scatter(
            x=series["period"].to_list(), y=series["value"].to_list(), mode="lines+markers",
            name=country_name(key), meta=meta, connectgaps=False, marker={"size": 4},
            hovertemplate=f"{country_name(key)}<br>%{{x|%Y-%m}}: USD %{{y:,.0f}}<extra></extra>",
        ))  # fmt: skip
    side = "imports" if flow == "M" else "exports"
    _style(fig, title or f"{hs_label(hs)}: {side} as reported, USD a month", height=380)
    if log:
        fig.update_yaxes(type="log")
    fig.update_xaxes(tickformat="%Y-%m")
    return fig


def score_heatmap(flags, *, top_hubs: int = 20, top_products: int = 25):
    """Hub x product: the highest score of any route through the hub in the product.

    Over the months that count as evidence, as the corridors read them
    (scored, covered, no data-quality event): a month whose legs nobody
    reported can score high on what little is seen, and is never flagged.
    Where the flags hold one hub (a hub's own records), its destinations are
    the rows; where they hold one product (all goods, ``TOTAL``), the months
    are the columns, in their order, a month not scored left blank: one
    hub's trade by country is where and when it turned, not one cell.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        A flags table.
    top_hubs, top_products : int
        How many hubs or destinations (rows) and products (columns), the
        highest scored first.

    Returns
    -------
    plotly.graph_objects.Figure

    See Also
    --------
    hub_map : hubs on a map.

    Examples
    --------
    >>> f = pl.DataFrame({"hub": ["MYS", "SGP"], "hs": ["847150", "854231"], "score": [9.0, 2.0]})
    >>> score_heatmap(f).data[0].z
    ([9.0, None], [None, 2.0])
    >>> import datetime as dt
    >>> one = pl.DataFrame({"hub": "ARM", "destination": ["RUS", "RUS", "GEO"], "hs": "TOTAL",
    ...     "period": [dt.date(2022, 4, 1), dt.date(2022, 3, 1), dt.date(2022, 3, 1)],
    ...     "score": [3.0, 1.0, -2.0]})
    >>> heat = score_heatmap(one)
    >>> heat.data[0].y, heat.data[0].z, heat.layout.title.text
    (('Russia', 'Georgia'), ([1.0, 3.0], [-2.0, None]), 'Highest score by destination and month')
    """
    import plotly.graph_objects as go

    sound = _sound_frame(flags, f"score_heatmap reads {FLAGS}", "hub", "hs", "score")
    rows, columns = _heatmap_axes(sound)
    df = _heatmap_cells(sound, (rows, columns))
    colours = _colour_range(df, sound)
    months = columns == "period"

    def ranked(key: str, top: int | None) -> list:
        best = df.group_by(key).agg(pl.col("score").max())
        return best.sort(["score", key], descending=[True, False]).head(top)[key].to_list()

    ys = ranked("row", top_hubs)
    # Months in their order, all of them; products the highest scored first.
    xs = sorted(df["column"].unique()) if months else ranked("column", top_products)
    lookup = {(r, c): s for r, c, s in df.select("row", "column", "score").rows()}
    z = [[lookup.get((r, c)) for c in xs] for r in ys]
    if months:
        labels, whole, shown = xs, None, "%{x|%Y-%m}"
    else:
        # The axis shows the code and the start of its description; the hover, all of it.
        labels = [hs_label(p, 28) for p in xs]
        whole, shown = [[f"{p} {hs_description(p)}" for p in xs] for _ in ys], "%{customdata}"
    fig = go.Figure(
        go.Heatmap(z=z, x=labels, y=[country_name(r) for r in ys], customdata=whole,
                   colorscale=colours["colorscale"], colorbar={"title": "score"},
                   zmin=colours.get("cmin"), zmax=colours.get("cmax"),
                   hovertemplate=f"%{{y}}<br>{shown}<br>score %{{z:.1f}}<extra></extra>")
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    if not months:
        # Upright labels, one a column: slanted, 25 labels of 35 characters overlap.
        fig.update_xaxes(tickangle=-90)
    title = "Highest score by {} and {}".format(
        "hub" if rows == "hub" else "destination", "month" if months else "product"
    )
    only = [
        f"through {country_name(sound['hub'][0])}" if rows == "destination" else None,
        f"in {hs_label(sound['hs'][0], 40)}" if months else None,
    ]
    subtitle = ", ".join(o for o in only if o) or None
    return _style(fig, title, subtitle, height=max(320, 24 * len(ys) + 300))


def flags_bar(flags, *, top: int = 20):
    """The corridors with the highest scores, flagged ones in red, with the value at stake.

    Takes a corridor table (:func:`tradeflows.corridors`) or a flags
    table (whose routes are ranked by their highest month that counts as
    evidence: covered, no data-quality event). The bars start
    under the lowest score drawn, not at 0: scores are log-odds, often all
    negative, and the most suspicious corridor has the longest bar.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        A flags table or a corridor ranking (:func:`tradeflows.corridors`).
    top : int
        How many corridors to draw.

    Returns
    -------
    plotly.graph_objects.Figure

    See Also
    --------
    tradeflows.corridors : the ranking drawn.

    Examples
    --------
    >>> f = pl.DataFrame({"origin": ["USA", "JPN"], "hub": ["MYS", "SGP"], "destination": ["CHN"] * 2,
    ...     "hs": ["847150"] * 2, "score": [9.0, 2.0], "flagged": [True, False]})
    >>> flags_bar(f).data[0].marker.color
    ('#9aa5b1', '#d62728')
    """
    import plotly.graph_objects as go

    df = flags_table(flags, f"flags_bar reads {FLAGS}", "origin", "hub", "destination", "hs",
                     "score", "flagged")  # fmt: skip
    key = ["origin", "hub", "destination", "hs"]
    if "rank" not in df.columns:  # a flags table: its routes by their highest sound month
        df = _sound_frame(df).group_by(key).agg(pl.col("score").max(), pl.col("flagged").any())
    if "extra_usd" not in df.columns:
        df = df.with_columns(extra_usd=pl.lit(None, pl.Float64))
    routes = (
        df.sort(["score", *key], descending=[True] + [False] * 4, nulls_last=True)
        .head(top)
        .reverse()
    )
    labels = [_route_label(r) for r in routes.iter_rows(named=True)]
    at_stake = routes.select(usd_text(pl.col("extra_usd").fill_null(0.0))).to_series().to_list()
    details = [
        [
            " → ".join(
                country_name(c) if c else "all origins"
                for c in (r["origin"], r["hub"], r["destination"])
            ),
            hs_description(r["hs"]),
            f"{usd} above the usual level in its flagged months"
            if r["extra_usd"]
            else "nothing flagged",
        ]
        for r, usd in zip(routes.iter_rows(named=True), at_stake, strict=True)
    ]
    scores = routes["score"].to_list()
    lengths, floor = _score_bars(scores)
    details = [[*d, s] for d, s in zip(details, scores, strict=True)]
    fig = go.Figure(
        go.Bar(x=lengths, base=floor, y=labels, orientation="h", customdata=details,
               marker_color=[COLOURS["flagged"] if f else COLOURS["quiet"] for f in routes["flagged"]],
               hovertemplate="%{customdata[0]}<br>%{y}: %{customdata[1]}<br>"
                             "score %{customdata[3]:.1f}<br>%{customdata[2]}<extra></extra>")
    )  # fmt: skip
    fig.update_xaxes(
        title_text="score (log-odds of an episode, plus the value at stake; higher = more suspicious)"
    )
    # The colours' key, in words: a bar chart of one trace has no legend.
    flagged = routes["flagged"].to_list()
    key = {
        (True, True): "Red: flagged on the evidence. Grey: not flagged, its evidence under the "
        "threshold.",
        (True, False): "All flagged on the evidence.",
        (False, True): "None flagged on the evidence: ranked by score alone.",
    }.get((any(flagged), not all(flagged)))
    return _style(fig, "Corridors ranked by evidence and value at stake", subtitle=key,
                  height=max(320, 22 * routes.height + 140))  # fmt: skip


@cache
def _outlines() -> dict[str, list]:
    return json.loads(files("tradeflows._reference").joinpath("world_110m.json").read_text())


def _centre(iso3: str) -> tuple[float, float] | None:
    if iso3 in _SMALL:
        return _SMALL[iso3]
    rings = _outlines().get(iso3)
    if not rings:
        return None
    biggest = max(rings, key=len)
    return (sum(p[0] for p in biggest) / len(biggest), sum(p[1] for p in biggest) / len(biggest))


def _map_range(values: list[float], lo: float, hi: float, least: float) -> list[float]:
    """The map's extent on one axis: the hubs' with a margin, at least ``least``
    degrees wide, within ``lo``-``hi`` (the whole world where the hubs span it).

    Examples
    --------
    >>> _map_range([44.5, 71.4], -180, 180, 60)
    [27.95, 87.95]
    >>> _map_range([], -180, 180, 60), _map_range([-100.0, 150.0], -180, 180, 60)
    ([-180, 180], [-180, 180])
    """
    if not values:
        return [lo, hi]
    a, b = min(values), max(values)
    margin = max(10.0, 0.15 * (b - a))
    a, b = a - margin, b + margin
    if b - a < least:
        mid = (a + b) / 2
        a, b = mid - least / 2, mid + least / 2
    if b - a >= 0.8 * (hi - lo):
        return [lo, hi]
    shift = max(lo - a, 0.0) - max(b - hi, 0.0)  # inside the world, the width kept
    return [round(a + shift, 2), round(b + shift, 2)]


def hub_map(flags):
    """Hubs on a world map, sized and coloured by their highest score; works offline.

    The score over the months that count as evidence, as in
    :func:`score_heatmap`, in its colours (one colour, one score, in both);
    the largest marker is the highest score drawn, the smallest the lowest
    (log-odds are often all negative). The hubs with a flagged month are
    named above their markers. The map spans the hubs' region (the
    Caucasus and Central Asia, say), or the world where they span most of it.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        A flags table.

    Returns
    -------
    plotly.graph_objects.Figure

    See Also
    --------
    score_heatmap : hubs by product.

    Examples
    --------
    >>> f = pl.DataFrame({"hub": ["MYS", "SGP"], "score": [9.0, 4.0], "flagged": [True, False]})
    >>> fig = hub_map(f)
    >>> fig.data[-1].name, len(fig.data[-1].x)
    ('hubs', 2)
    """
    import plotly.graph_objects as go

    sound = _sound_frame(flags, f"hub_map reads {FLAGS}", "hub", "score", "flagged")
    hubs = (
        sound.group_by("hub")
        .agg(pl.col("score").max(), flagged=pl.col("flagged").sum())
        .sort(["score", "hub"], descending=[True, False])
    )
    xs, ys = [], []
    for rings in _outlines().values():
        for ring in rings:
            xs.extend([p[0] for p in ring] + [None])
            ys.extend([p[1] for p in ring] + [None])
    fig = go.Figure(
        go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=COLOURS["land"],
                   line={"color": COLOURS["border"], "width": 0.5}, hoverinfo="skip",
                   name="countries", showlegend=False)
    )  # fmt: skip
    placed = [(h, s, f, _centre(h)) for h, s, f in hubs.rows()]
    placed = [(h, s, f, c) for h, s, f, c in placed if c is not None]
    drawn = [s for _, s, _, _ in placed]
    lo, hi = min(drawn, default=0.0), max(drawn, default=0.0)
    span = (hi - lo) or 1.0
    # The hubs with a flagged month are named above their markers: on a wide
    # screen every country is a hub, and the map holds a hundred markers.
    fig.add_trace(
        go.Scatter(
            x=[c[0] for *_, c in placed], y=[c[1] for *_, c in placed], mode="markers+text",
            name="hubs",
            marker={"size": [8 + 22 * (s - lo) / span for s in drawn],
                    "color": drawn, **_colour_range(_heatmap_cells(sound), sound),
                    "colorbar": {"title": "score"}, "line": {"color": "#333", "width": 0.5}},
            text=[h if f else "" for h, _, f, _ in placed], textposition="top center",
            textfont={"size": 11, "color": "#333"},
            customdata=[f"{country_name(h)}: highest score {s:.1f}, {f} flagged route-months"
                        for h, s, f, _ in placed],
            hovertemplate="%{customdata}<extra></extra>",
        )
    )  # fmt: skip
    # The hubs' region, or the world where they span most of it either way.
    world = ([-180, 180], [-60, 85])
    extent = (_map_range([c[0] for *_, c in placed], *world[0], 60),
              _map_range([c[1] for *_, c in placed], *world[1], 30))  # fmt: skip
    x_range, y_range = world if extent[0] == world[0] or extent[1] == world[1] else extent
    fig.update_xaxes(visible=False, range=x_range)
    fig.update_yaxes(visible=False, range=y_range, scaleanchor="x", scaleratio=1)
    subtitle = "Named: the hubs with a flagged month." if any(f for _, _, f, _ in placed) else None
    return _style(fig, "Hubs by their highest score", subtitle, height=460, showlegend=False)
