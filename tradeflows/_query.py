"""What a detection looks for, resolved and checked once: :class:`Query`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from tradeflows._errors import TradeflowsInputError

__all__ = ["MIN_USD", "Query"]

#: Materiality: the US dollars one of a route's legs must carry in some month
#: for the route to be scored. On the 10M-row wide world of the benchmark, 85%
#: of the candidate routes never do (``benchmarks/RESULTS.md``, issue 27).
MIN_USD = 100_000.0


def _usd(value) -> float:
    try:
        usd = float(value)
    except (TypeError, ValueError):
        usd = float("nan")
    if not usd >= 0 or usd == float("inf"):
        raise TradeflowsInputError(f"min_usd {value!r}: a number of US dollars, 0 or more")
    return usd


def _items(values: str | Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        items = values.split(",")
    else:  # one code given as a number (a Comtrade code, an HS chapter) is one item
        items = [str(v) for v in (values if isinstance(values, Iterable) else [values])]
    return [v.strip() for v in items if v.strip()]


@dataclass(frozen=True)
class Query:
    """The routes a detection looks at: destinations, hubs, products, first month, materiality.

    Built once where a run starts (``detect_routes``, ``Report``, the command
    line), it resolves what people write (country names or codes, HS prefixes
    or words, a year or a month) into ISO3 codes, HS prefixes and
    ``YYYY-MM``, and refuses anything else with one line naming the field.
    The stages below it take it as it is. Resolving a resolved query gives
    the same query.

    Parameters
    ----------
    destinations : str or iterable of str, optional
        The destinations of concern, by ISO3, ISO2, M49 or Comtrade code or
        English name (``"China,KG"`` or ``["China", "KG"]``); ``"all"`` makes
        every partner a destination. Default: the reference list
        (``tradeflows/_reference/destinations.csv``).
    hubs : str or iterable of str, optional
        Only these hubs (default: every country between an origin and a destination).
    hs : str or iterable of str, optional
        HS prefixes (``"8471,8542"``), or words of the HS2022 descriptions
        (``"integrated circuits"``: every code they describe). ``"TOTAL"``
        reads the all-goods rows as one product (otherwise they only say who
        filed), for data of trade by partner with no product detail.
    since : str, optional
        The first month to report: a year or a month (``"2022"``, ``"2022-03"``).
    min_usd : float, optional
        Materiality: a route none of whose legs (origin -> hub, hub ->
        destination, origin -> destination) carries this many US dollars in
        any month is not scored (default ``MIN_USD``, 100,000; 0 scores every
        route). The spread of chance the indicators are measured against is
        still read from every candidate route's series (on large data, from a
        sample of the immaterial routes' series); a route's policy break is
        measured against the origin's other material partners
        (``docs/scale.md``).

    Attributes
    ----------
    destinations, hubs, hs : tuple of str or None
        ISO3 codes (``("all",)`` for every partner) and HS prefixes.
    since : str or None
        ``YYYY-MM``.
    min_usd : float

    See Also
    --------
    tradeflows.names.country : how a country is recognised.
    tradeflows.names.hs_products : how products are recognised.
    tradeflows.detect_routes : the detection that takes a query.

    Examples
    --------
    >>> Query(destinations="China, KG", hs=["8471"], since="2022")
    Query(destinations=('CHN', 'KGZ'), hubs=None, hs=('8471',), since='2022-01', min_usd=100000.0)
    >>> Query(since="2022-01..2023-01")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: since '2022-01..2023-01': a year (2022) or a month (2022-03), the first to report
    >>> q = Query(hubs=["Kazakhstan"]); Query(**q.options()) == q
    True
    """

    destinations: tuple[str, ...] | None = None
    hubs: tuple[str, ...] | None = None
    hs: tuple[str, ...] | None = None
    since: str | None = None
    min_usd: float | None = None

    def __post_init__(self) -> None:
        from tradeflows._names import country_list, hs_products, period_range

        dest = _items(self.destinations)
        if dest is not None and [d.lower() for d in dest] == ["all"]:
            dest = ["all"]
        elif dest is not None:
            if "all" in [d.lower() for d in dest]:
                raise TradeflowsInputError("destinations: 'all' cannot be combined with countries")
            dest = country_list(dest, "destinations")
        hubs = _items(self.hubs)
        hubs = country_list(hubs, "hubs") if hubs is not None else None
        hs = _items(self.hs)
        hs = hs_products(",".join(hs), "hs") if hs else None
        since = self.since
        if since is not None:
            if ".." in str(since):
                raise TradeflowsInputError(
                    f"since {since!r}: a year (2022) or a month (2022-03), the first to report"
                )
            since = f"{period_range(str(since), 'since')[0]:%Y-%m}"
        for name, value in (("destinations", dest), ("hubs", hubs), ("hs", hs)):
            object.__setattr__(self, name, tuple(value) if value is not None else None)
        object.__setattr__(self, "since", since)
        min_usd = MIN_USD if self.min_usd is None else _usd(self.min_usd)
        object.__setattr__(self, "min_usd", min_usd)

    def options(self) -> dict:
        """The query as keyword arguments (lists), for the route stages.

        Examples
        --------
        >>> Query(destinations="RU").options()
        {'destinations': ['RUS'], 'hubs': None, 'hs': None, 'since': None, 'min_usd': 100000.0}
        """
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
