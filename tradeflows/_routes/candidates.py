"""Candidate routes: which origin -> hub -> destination -> product the data can speak of."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from tradeflows._expr import divided, exact_sum
from tradeflows._routes.legs import product_level

__all__ = ["ROUTE_KEY", "candidate_routes", "material_routes"]

#: One route: origin ("" when seen only from the hub), hub, destination, product.
ROUTE_KEY = ["origin", "hub", "destination", "hs"]


def candidate_routes(
    legs: pl.LazyFrame,
    destinations: list[str],
    *,
    hubs: Iterable[str] | None = None,
    max_origins: int = 5,
) -> pl.LazyFrame:
    """The routes the legs can show, numbered (``_rid``), with the product's heading.

    Two ways in:

    - from the hub's side: every H -> D leg into a destination, with the
      hub's largest suppliers of the product or a close one (same heading: a
      hub may re-export under a sibling code), those whose shipments grew the
      most (a new supplier is small beside the established ones), and an empty
      origin standing for all of them;
    - from the origin's side: every O -> H leg whose origin also ships the
      product to D directly, for data that sees only the origin (an
      exporter-only Eurostat file): the signal is then a diversion.

    Parameters
    ----------
    legs : LazyFrame
        :func:`tradeflows._routes.legs.monthly_legs`.
    destinations : list of str
        ISO3 codes, or ``["all"]`` for every partner.
    hubs : iterable of str, optional
        Restrict hubs to these.
    max_origins : int
        Origins per hub and product, by size and by growth.

    Returns
    -------
    LazyFrame
        One row per route: ``ROUTE_KEY``, ``_rid`` and the heading.

    See Also
    --------
    material_routes : those a leg of which carries enough.
    tradeflows._routes.legs.monthly_legs : the legs they are read from.

    Examples
    --------
    >>> legs = pl.LazyFrame({"exporter": ["USA", "MYS"], "importer": ["MYS", "CHN"],
    ...     "hs": "847150", "mi": 24288, "v": [5.0, 4.0]})
    >>> candidate_routes(legs, ["CHN"]).collect().sort("origin")["origin"].to_list()
    ['', 'USA']
    """
    everyone = [d.lower() for d in destinations] == ["all"]
    is_dest = pl.lit(True) if everyone else pl.col("importer").is_in(destinations)
    hub_ok = pl.col("exporter").is_in(list(hubs)) if hubs else pl.lit(True)
    out_legs = (
        legs.filter(is_dest & hub_ok)
        .select(hub="exporter", destination="importer", hs="hs")
        .unique()
        .with_columns(hs4=product_level(4))
    )
    n_months = legs.select(n_months=pl.col("mi").max() - pl.col("mi").min() + 1)
    suppliers = (
        legs.group_by(origin="exporter", hub="importer", hs="hs")
        .agg(
            total=exact_sum(pl.col("v")),
            peak=divided(pl.col("v").max(), 1000.0).log1p(),
            usual=divided(pl.col("v").median(), 1000.0).log1p(),
            n=pl.len(),
        )
        .filter(pl.col("total") > 0)
        .join(n_months, how="cross")
        .with_columns(
            # The peak over the usual month, a month without shipments counting as zero.
            growth=pl.col("peak")
            - pl.when(2 * pl.col("n") < pl.col("n_months")).then(0.0).otherwise(pl.col("usual"))
        )
    )
    suppliers = (
        pl.concat([_largest(suppliers, by, max_origins) for by in ("total", "growth")])
        .unique()
        .select("origin", "hub", "hs", hs4=product_level(4))
    )
    seen_from_hub = pl.concat(
        [
            out_legs.select("hub", "destination", "hs4")
            .unique()
            .join(suppliers, on=["hub", "hs4"]),
            out_legs.with_columns(origin=pl.lit("")),
        ],
        how="diagonal",
    )
    direct = (
        legs.filter(is_dest).select(origin="exporter", destination="importer", hs="hs").unique()
    )
    inflow_legs = (
        legs.filter(pl.col("exporter").is_in(destinations).not_() if not everyone else pl.lit(True))
        .select(origin="exporter", hub="importer", hs="hs")
        .unique()
    )
    if hubs:
        inflow_legs = inflow_legs.filter(pl.col("hub").is_in(list(hubs)))
    if not everyone:
        inflow_legs = inflow_legs.filter(pl.col("hub").is_in(destinations).not_())
    seen_from_origin = inflow_legs.join(direct, on=["origin", "hs"], how="inner")
    routes = (
        pl.concat([seen_from_hub.select(ROUTE_KEY), seen_from_origin.select(ROUTE_KEY)])
        .unique()
        .filter(
            (pl.col("origin") != pl.col("hub"))
            & (pl.col("origin") != pl.col("destination"))
            & (pl.col("hub") != pl.col("destination"))
        )
    )
    return _numbered(routes)


def _largest(suppliers: pl.LazyFrame, by: str, k: int) -> pl.LazyFrame:
    """The ``k`` origins of each hub and product largest by ``by``; of equal ones, the
    first in alphabetical order, whatever the row order.

    The rows sorted and counted from each group's first, not ranked in a window
    over the groups: on the streaming engine, where the run's candidate routes
    are counted, the window took 64 s for 7.7M suppliers and this 15 s, the
    same rows (5.0 and 5.5 s on the in-memory engine at 42M store rows;
    benchmarks/RESULTS.md, issue 27).
    """
    ordered = (
        suppliers.filter(pl.col(by).is_not_null())
        .sort(["hub", "hs", by, "origin"], descending=[False, False, True, False])
        .with_row_index("_row")
    )
    first = pl.col("hub").shift().is_null() | (pl.col("hub") != pl.col("hub").shift())
    first |= pl.col("hs") != pl.col("hs").shift()
    row = pl.col("_row")
    return ordered.filter(row - pl.when(first).then(row).forward_fill() < k).drop("_row")


def _numbered(routes: pl.LazyFrame) -> pl.LazyFrame:
    # Numbered in sorted order, so that the numbers do not depend on the
    # order ``unique`` gives: series are grouped by one integer, not four strings.
    return (
        routes.select(ROUTE_KEY)
        .sort(ROUTE_KEY)
        .with_row_index("_rid")
        .with_columns(hs4=product_level(4))
    )


def material_routes(routes: pl.LazyFrame, legs: pl.LazyFrame, min_usd: float) -> pl.LazyFrame:
    """The candidate routes one of whose legs carries at least ``min_usd`` in some month.

    A route none of whose legs (origin -> hub, hub -> destination, origin ->
    destination) carries ``min_usd`` in any month is immaterial: on a wide
    world most candidate routes are flows of a few thousand dollars a month
    (``benchmarks/RESULTS.md``, issue 27).

    Parameters
    ----------
    routes : LazyFrame
        :func:`candidate_routes`.
    legs : LazyFrame
        :func:`tradeflows._routes.legs.monthly_legs`.
    min_usd : float
        US dollars; 0 keeps every route.

    Returns
    -------
    LazyFrame
        The routes kept, numbered again (``_rid``) in the same order.

    See Also
    --------
    candidate_routes : the routes it chooses among.

    Examples
    --------
    >>> legs = pl.LazyFrame({"exporter": ["USA", "MYS"], "importer": ["MYS", "CHN"],
    ...     "hs": "847150", "mi": 24288, "v": [5e5, 4e4]})
    >>> routes = candidate_routes(legs, ["CHN"])
    >>> material_routes(routes, legs, 1e5).collect()["origin"].to_list()
    ['USA']
    """
    if min_usd <= 0:
        return routes
    big = (
        legs.group_by("exporter", "importer", "hs")
        .agg(peak=pl.col("v").max())
        .filter(pl.col("peak") >= min_usd)
        .select("exporter", "importer", "hs", big=pl.lit(True))
    )

    def leg(exporter: str, importer: str, name: str) -> pl.LazyFrame:
        return big.rename({"exporter": exporter, "importer": importer, "big": name})

    return _numbered(
        routes.join(leg("origin", "hub", "_in"), on=["origin", "hub", "hs"], how="left")
        .join(leg("hub", "destination", "_out"), on=["hub", "destination", "hs"], how="left")
        .join(
            leg("origin", "destination", "_direct"), on=["origin", "destination", "hs"], how="left"
        )
        .filter(pl.any_horizontal(pl.col("_in", "_out", "_direct").fill_null(False)))
    )
