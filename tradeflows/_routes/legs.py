"""Monthly legs: each flow's two reports in one month, in FOB terms."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from tradeflows._expr import month_index

__all__ = ["hs_filter", "leg_value", "monthly_legs", "typical_flow"]


def leg_value() -> pl.Expr:
    """A leg's value in a month: its largest report, in FOB terms (a side without a
    report counts as nothing here; :mod:`tradeflows._routes.coverage` says whether
    that side filed at all).

    Returns
    -------
    Expr

    See Also
    --------
    monthly_legs : the legs valued with it.

    Examples
    --------
    >>> df = pl.DataFrame({"value_x": [100.0, None], "value_m": [212.0, 53.0], "cif_fob": 1.06})
    >>> df.select(leg_value())["value_x"].to_list()
    [200.0, 50.0]
    """
    m_fob = pl.col("value_m") / pl.col("cif_fob")
    return pl.max_horizontal(pl.col("value_x").fill_null(0.0), m_fob.fill_null(0.0))


def shipped() -> pl.Expr:
    """Leg-months that carried goods (``v``, :func:`leg_value`, above zero).

    A month filed with a value of zero is a month filed without the flow:
    the same legs whether a file writes its zeros (Armstat) or leaves them
    out (Comtrade).

    Returns
    -------
    Expr

    Examples
    --------
    >>> pl.DataFrame({"v": [0.0, 5.0]}).filter(shipped())["v"].to_list()
    [5.0]
    """
    return pl.col("v") > 0


def hs_filter(hs: Iterable[str] | None) -> pl.Expr:
    """Rows whose HS code starts with one of the prefixes (all rows without any).

    Parameters
    ----------
    hs : iterable of str or None
        HS prefixes.

    Returns
    -------
    Expr

    See Also
    --------
    monthly_legs : which applies it.

    Examples
    --------
    >>> pl.DataFrame({"hs": ["847150", "854231"]}).filter(hs_filter(["8471"]))["hs"].to_list()
    ['847150']
    """
    if not hs:
        return pl.lit(True)
    return pl.any_horizontal(pl.col("hs").str.starts_with(h) for h in hs)


def is_product(hs: Iterable[str] | None = None) -> pl.Expr:
    """Rows of a product code: not the all-goods ``TOTAL``, unless ``hs`` asks for it.

    Totals say who filed (:mod:`tradeflows._routes.coverage`) and feed the
    report's overview; they are not a product a route carries, and data with
    or without them gives the same routes. Data that holds nothing else (the
    EBRD's "Eurasian roundabout" was read from all-goods trade by partner)
    is read by asking for the product ``TOTAL`` (``hs=["TOTAL"]``, ``--hs
    TOTAL``): its rows are then one product like any other.

    Parameters
    ----------
    hs : iterable of str, optional
        The products a run selects (:class:`tradeflows.Query`'s ``hs``).

    Returns
    -------
    Expr

    See Also
    --------
    monthly_legs : which keeps product rows only.

    Examples
    --------
    >>> df = pl.DataFrame({"hs": ["847150", "TOTAL"]})
    >>> df.filter(is_product())["hs"].to_list()
    ['847150']
    >>> df.filter(is_product(["TOTAL"]) & hs_filter(["TOTAL"]))["hs"].to_list()
    ['TOTAL']
    """
    if hs and "TOTAL" in hs:
        return pl.lit(True)
    return pl.col("hs") != "TOTAL"


def product_level(digits: int) -> pl.Expr:
    """The product's heading (4 digits) or chapter (2): its code's first digits.
    All goods (``TOTAL``, read as a product: :func:`is_product`) stay ``TOTAL``.

    Parameters
    ----------
    digits : int
        4 for the heading, 2 for the chapter.

    Returns
    -------
    Expr
        Of ``hs``.

    Examples
    --------
    >>> pl.DataFrame({"hs": ["847150", "TOTAL"]}).select(product_level(4))["hs"].to_list()
    ['8471', 'TOTAL']
    """
    hs = pl.col("hs")
    return pl.when(hs == "TOTAL").then(hs).otherwise(hs.str.slice(0, digits))


def typical_flow() -> pl.Expr:
    """The typical monthly flow of the data: the median positive leg value ``v``
    (USD 1,000 without any), the scale route materiality is measured against.

    Returns
    -------
    Expr

    See Also
    --------
    tradeflows.collect_route_indicators : its ``floor``.

    Examples
    --------
    >>> pl.DataFrame({"v": [0.0, 10.0, 30.0]}).select(typical_flow()).item()
    20.0
    """
    return pl.when(pl.col("v") > 0).then(pl.col("v")).median().fill_null(1000.0)


def monthly_legs(pairs: pl.LazyFrame, hs: Iterable[str] | None = None) -> pl.LazyFrame:
    """One row per exporter, importer, product and month with a report of a value
    (no zeros: :func:`shipped`; no totals unless ``hs`` asks for them: :func:`is_product`).

    ``x`` is the exporter's report, ``m`` the importer's in FOB terms (null
    where that side has no row), ``v`` the larger, ``kg`` the larger weight;
    the mirror gap and its history, and whether a report is a suspected slip.

    Parameters
    ----------
    pairs : LazyFrame
        :func:`tradeflows._mirror.mirror` (its monthly rows are used).
    hs : iterable of str, optional
        HS code prefixes to keep.

    Returns
    -------
    LazyFrame
        The legs: exporter, importer, hs, period (``mi``) and each side's value.

    See Also
    --------
    tradeflows._routes.candidates.candidate_routes : the routes read from them.

    Examples
    --------
    >>> import datetime as dt
    >>> p = pl.LazyFrame({"freq": "M", "period": dt.date(2024, 1, 1), "exporter": "USA",
    ...     "importer": "MYS", "hs": "847150", "value_x": 100.0, "value_m": 106.0,
    ...     "cif_fob": 1.06, "kg_x": None, "kg_m": 5.0, "gap": 0.0, "gap_history": None,
    ...     "slip": False})
    >>> monthly_legs(p).collect().select("mi", "x", "m", "v", "kg").row(0)
    (24288, 100.0, 100.0, 100.0, 5.0)
    """
    return (
        pairs.filter(pl.col("freq") == "M")
        .select(
            "exporter",
            "importer",
            "hs",
            "gap",
            "gap_history",
            "slip",
            mi=month_index(),
            x=pl.col("value_x"),
            m=pl.col("value_m") / pl.col("cif_fob"),
            v=leg_value(),
            kg=pl.max_horizontal("kg_x", "kg_m"),
        )
        .filter(is_product(hs) & hs_filter(hs))
        .filter(shipped())
    )
