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

from tradeflows._viz import (
    COLOURS,
    flags_bar,
    hub_map,
    mark_synthetic,
    mirror_gap,
    mirror_gap_note,
    reported_lines,
    route_legs,
    route_sankey,
    score_heatmap,
)

__all__ = [
    "COLOURS",
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
