"""Countries, products and periods as people write them, resolved once at the entry point.

A user types ``China``, ``CN``, ``CHN``, ``156`` or ``Türkiye``; a Eurostat
file says ``EL`` for Greece; Comtrade numbers Taiwan 490. :func:`country`
turns any of them into the ISO3 code tradeflows works in, and says which
names come closest when it cannot. :func:`period_range` reads ``2024``,
``2024-03``, ``202403`` and ``2023-01..2025-06``; :func:`hs_products` takes
an HS prefix or words ("integrated circuits"). :func:`with_names` puts
names beside the codes of a table.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

import polars as pl

from tradeflows._errors import TradeflowsInputError
from tradeflows._reference import (
    AGGREGATE,
    comtrade_to_iso3,
    countries,
    country_names,
    hs_codes,
    iso3_codes,
    resolve_country_names,
)
from tradeflows._tables import table, text_codes

__all__ = [
    "EUROSTAT_CODES",
    "NAME_COLUMNS",
    "country",
    "country_list",
    "country_name",
    "country_names_table",
    "hs_description",
    "hs_label",
    "hs_products",
    "iso2_table",
    "month_list",
    "month_span",
    "period_range",
    "with_names",
]

#: Eurostat's two-letter codes that are not ISO 3166 (Greece, the United
#: Kingdom, Kosovo), and its partner codes for goods of no stated country
#: (ships' stores, countries not specified, secret destinations).
EUROSTAT_CODES = {
    "EL": "GRC",
    "UK": "GBR",
    "XK": AGGREGATE,
    "XS": "SRB",
    "QP": AGGREGATE,
    "QQ": AGGREGATE,
    "QR": AGGREGATE,
    "QS": AGGREGATE,
    "QU": AGGREGATE,
    "QV": AGGREGATE,
    "QW": AGGREGATE,
    "QX": AGGREGATE,
    "QY": AGGREGATE,
    "QZ": AGGREGATE,
}


#: The columns :func:`with_names` adds, in order.
NAME_COLUMNS = ["origin_name", "hub_name", "destination_name", "hs_description"]
#: The column :func:`with_names` adds beside each code column it names.
NAME_OF = {
    **{c: f"{c}_name" for c in ("origin", "hub", "destination")},
    **{c: f"{c}_description" for c in ("hs", "hs4", "hs2")},
}


@cache
def iso2_table() -> dict[str, str]:
    """ISO2 code -> ISO3, Eurostat's own codes included (``EL`` Greece, ``UK``).

    Examples
    --------
    >>> t = iso2_table()
    >>> t["CN"], t["TW"], t["EL"], t["GR"]
    ('CHN', 'TWN', 'GRC', 'GRC')
    """
    t = countries().filter((pl.col("kind") == "country") & pl.col("iso2").is_not_null())
    table = dict(zip(t["iso2"].to_list(), t["iso3"].to_list(), strict=True))
    table.update(EUROSTAT_CODES)
    return table


def _key(text: str) -> str:
    """Lower case, single spaces, curly apostrophes straightened."""
    return " ".join(text.replace("\u2019", "'").lower().split())


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@cache
def _names() -> dict[str, str]:
    """Every name a person may type -> ISO3: the shipped names, the code table's, plain ASCII."""
    table = {k: v for k, v in country_names().items() if v != AGGREGATE}
    t = countries().filter(pl.col("kind") == "country")
    for name, iso3 in zip(t["name"].to_list(), t["iso3"].to_list(), strict=True):
        table.setdefault(_key(name), iso3)
    for name, iso3 in list(table.items()):
        table.setdefault(_ascii(name), iso3)
    return table


def _lookup(text: str) -> str | None:
    s = text.strip()
    upper = s.upper()
    if upper in iso3_codes():
        return upper
    if len(upper) == 2 and upper.isalpha():
        code = iso2_table().get(upper)
        return code if code != AGGREGATE else None
    if s.isdigit():
        code = comtrade_to_iso3().get(int(s))
        return code if code in iso3_codes() else None
    key = _key(s)
    names = _names()
    # Then the readers' resolver: names with footnotes, and pycountry.
    found = names.get(key) or names.get(_ascii(key)) or resolve_country_names([s])[s]
    return found if found in iso3_codes() else None


def country(text: str, option: str = "country") -> str:
    """The ISO3 code of a country given by ISO3, ISO2, M49 or Comtrade code, or name.

    Raises a :class:`TradeflowsInputError` naming the closest matches when
    nothing fits.

    Parameters
    ----------
    text : str
        ISO3, ISO2 (Eurostat's EL and UK too), an M49 or Comtrade code, or an
        English name or short form.
    option : str
        The name errors give the value (a parameter, or the CLI's option).

    Returns
    -------
    str
        The ISO3 code.

    Raises
    ------
    TradeflowsInputError
        A country nothing matches, with the closest names.

    See Also
    --------
    country_list : several at once.

    Examples
    --------
    >>> [country(x) for x in ("China", "CN", "chn", "156", "490", "Türkiye", "Turkey", "EL")]
    ['CHN', 'CHN', 'CHN', 'CHN', 'TWN', 'TUR', 'TUR', 'GRC']
    >>> country("Kyrgystan", "--destinations")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: --destinations: unknown country 'Kyrgystan' (closest: Kyrgyzstan (KGZ))
    """
    found = _lookup(text)
    if found is not None:
        return found
    names = _names()
    close = difflib.get_close_matches(_key(text), list(names), n=3, cutoff=0.6)
    hint = ", ".join(dict.fromkeys(f"{country_name(names[c])} ({names[c]})" for c in close))
    raise TradeflowsInputError(
        f"{option}: unknown country {text.strip()!r}"
        + (f" (closest: {hint})" if hint else "; give an ISO3 or ISO2 code or an English name")
    )


def country_list(values: str | Iterable[str] | None, option: str = "country") -> list[str] | None:
    """:func:`country` for a comma-separated text or a list; None stays None.

    Parameters
    ----------
    values : str, iterable of str, or None
        Comma-separated text or a list, each as :func:`country` reads it.
    option : str
        The name errors give the value (a parameter, or the CLI's option).

    Returns
    -------
    list of str or None
        ISO3 codes, each once, in the order given.

    See Also
    --------
    country : one.

    Examples
    --------
    >>> country_list("China, Kyrgyzstan,RU")
    ['CHN', 'KGZ', 'RUS']
    """
    if values is None:
        return None
    items = values.split(",") if isinstance(values, str) else list(values)
    return list(dict.fromkeys(country(v, option) for v in items if v.strip()))


@cache
def _display_names() -> dict[str, str]:
    t = countries().filter(pl.col("kind") == "country")
    return dict(zip(t["iso3"].to_list(), t["name"].to_list(), strict=False))


def country_names_table() -> dict[str, str]:
    """ISO3 -> English name, for every country (a copy).

    Returns
    -------
    dict of str to str

    See Also
    --------
    country_name : one name.

    Examples
    --------
    >>> country_names_table()["ARM"]
    'Armenia'
    """
    return dict(_display_names())


def country_name(iso3: str | None) -> str | None:
    """The English name of an ISO3 code (the code itself when it has none).

    Parameters
    ----------
    iso3 : str or None
        An ISO3 code.

    Returns
    -------
    str or None
        The English name, or None for a code that names no country.

    See Also
    --------
    country : the other way.

    Examples
    --------
    >>> country_name("KGZ"), country_name("TWN")
    ('Kyrgyzstan', 'Taiwan')
    """
    if iso3 is None:
        return None
    return _display_names().get(iso3, iso3)


_MONTH = re.compile(r"^(\d{4})-?(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")


def _month(text: str, option: str, end: bool, whole: str) -> dt.date:
    s = text.strip()
    if _YEAR.match(s):
        return dt.date(int(s), 12 if end else 1, 1)
    m = _MONTH.match(s)
    if m and 1 <= int(m.group(2)) <= 12:
        return dt.date(int(m.group(1)), int(m.group(2)), 1)
    raise TradeflowsInputError(
        f"{option} {whole.strip()!r}: expected a year (2024), a month (2024-03) "
        "or a range (2023-01..2025-06)"
    )


def period_range(text: str, option: str = "period") -> tuple[dt.date, dt.date]:
    """The first and last month of ``2024``, ``2024-03``, ``202403`` or ``2023-01..2025-06``.

    Parameters
    ----------
    text : str
        ``2024``, ``2024-03``, ``202403`` or ``2023-01..2025-06``.
    option : str
        The name errors give the value (a parameter, or the CLI's option).

    Returns
    -------
    tuple of datetime.date
        The first and the last month (first days).

    See Also
    --------
    month_list : every month.

    Examples
    --------
    >>> period_range("2024")
    (datetime.date(2024, 1, 1), datetime.date(2024, 12, 1))
    >>> period_range("2023-11..2024-02")[1]
    datetime.date(2024, 2, 1)
    >>> period_range("2024-13", "--since")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: --since '2024-13': expected a year (2024), a month (2024-03) or a range (2023-01..2025-06)
    """
    first, sep, last = text.partition("..")
    start = _month(first, option, end=False, whole=text)
    stop = _month(last if sep else first, option, end=True, whole=text)
    if stop < start:
        raise TradeflowsInputError(f"{option} {text.strip()!r}: the range ends before it starts")
    return start, stop


def month_span(first, last, sep: str = "..") -> str:
    """Months as a reader is given them: ``2024-03..2024-05``, or ``2024-03`` when
    first and last are one month.

    Parameters
    ----------
    first, last : date or str
        Dates, or ISO text that starts with the month (``2024-03-01``).
    sep : str
        Between the two months (the report writes " to ").

    Examples
    --------
    >>> import datetime as dt
    >>> month_span(dt.date(2024, 3, 1), dt.date(2024, 5, 1)), month_span("2024-03-01", "2024-03-01")
    ('2024-03..2024-05', '2024-03')
    """
    a, b = str(first)[:7], str(last)[:7]
    return a if a == b else f"{a}{sep}{b}"


def month_list(text: str, option: str = "periods") -> list[dt.date]:
    """Every month of one or more periods (comma-separated :func:`period_range` texts).

    Parameters
    ----------
    text : str
        Comma-separated periods, each as :func:`period_range` reads it.
    option : str
        The name errors give the value (a parameter, or the CLI's option).

    Returns
    -------
    list of datetime.date
        Every month of every period, in order, each once.

    See Also
    --------
    period_range : the first and last month.

    Examples
    --------
    >>> [f"{m:%Y%m}" for m in month_list("2023-11..2024-02")]
    ['202311', '202312', '202401', '202402']
    """
    months: list[dt.date] = []
    for part in (p for p in text.split(",") if p.strip()):
        start, stop = period_range(part, option)
        y, m = start.year, start.month
        while (y, m) <= (stop.year, stop.month):
            months.append(dt.date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if not months:
        raise TradeflowsInputError(f"{option}: no period given")
    return list(dict.fromkeys(months))


def hs_products(text: str, option: str = "hs") -> list[str]:
    """HS code prefixes from digits, or the HS2022 codes whose description holds every word.

    Parameters
    ----------
    text : str
        Comma-separated HS prefixes, or words of the HS2022 descriptions.
        ``TOTAL`` names the all-goods rows, read then as one product.
    option : str
        The name errors give the value (a parameter, or the CLI's option).

    Returns
    -------
    list of str
        The prefixes as given, or every code whose description holds all the words.

    See Also
    --------
    tradeflows.Query : where products are resolved.

    Examples
    --------
    >>> hs_products("8471, 8542")
    ['8471', '8542']
    >>> hs_products("total")
    ['TOTAL']
    >>> "854231" in hs_products("integrated circuits processors")
    True
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    parts = ["TOTAL" if p.upper() == "TOTAL" else p for p in parts]
    if parts and all(p == "TOTAL" or p.replace(".", "").isdigit() for p in parts):
        codes = [p.replace(".", "") for p in parts]
        bad = [c for c in codes if c != "TOTAL" and not 2 <= len(c) <= 10]
        if bad:
            raise TradeflowsInputError(
                f"{option}: {', '.join(bad)}: expected HS code prefixes of 2 to 10 digits"
            )
        return codes
    words = [w for w in re.split(r"[\s,]+", text.lower()) if w]
    table = hs_codes("HS2022").filter(pl.col("level") == 6)
    hit = table.filter(
        pl.all_horizontal(
            pl.col("description").str.to_lowercase().str.contains(w, literal=True) for w in words
        )
    )
    if hit.is_empty():
        raise TradeflowsInputError(
            f"{option} {text!r}: no HS2022 product is described by these words; "
            "give HS code prefixes (8542) or other words"
        )
    return hit["hs"].sort().to_list()


@cache
def hs_descriptions() -> dict[str, str]:
    """Every HS code's description, HS2022's where the two revisions differ."""
    table = pl.concat([hs_codes("HS2017"), hs_codes("HS2022")]).unique("hs", keep="last")
    return dict(zip(table["hs"].to_list(), table["description"].to_list(), strict=True))


def with_names(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``origin_name``, ``hub_name``, ``destination_name`` and
    ``hs_description`` added at the end (for the code columns it has), then
    ``hs4_description`` and ``hs2_description`` for a heading or chapter column
    (``hs4``, ``hs2``: a roll-up's, :func:`tradeflows.detect.roll_up`).

    A code of more than six digits (CN8, HTS10) takes its six-digit heading's
    description.

    Parameters
    ----------
    frame : DataFrame
        A table with ``origin``, ``hub``, ``destination``, ``hs``, ``hs4`` and
        ``hs2`` (those it has).

    Returns
    -------
    DataFrame
        The same, with :data:`NAME_COLUMNS` (and the headings' and chapters'
        descriptions) beside the codes.

    See Also
    --------
    country_name : one name.

    Examples
    --------
    >>> t = pl.DataFrame({"hub": ["KGZ"], "destination": ["RUS"], "hs": ["85423190"]})
    >>> named = with_names(t).row(0, named=True)
    >>> named["hub_name"], named["destination_name"], named["hs_description"][:30]
    ('Kyrgyzstan', 'Russia', 'Electronic integrated circuits')
    """
    reads = "with_names reads a table of codes (a flags table, a ranking)"
    frame = table(frame, reads)
    codes = [c for c in ("origin", "hub", "destination", "hs") if c in frame.columns]
    frame = text_codes(frame, codes, reads)
    names = _display_names()
    out = frame
    for col in ("origin", "hub", "destination"):
        if col in frame.columns:
            out = out.with_columns(
                pl.col(col)
                .replace_strict(names, default=None, return_dtype=pl.String)
                .alias(NAME_OF[col])
            )
    desc = hs_descriptions()
    if "hs" in frame.columns:
        out = out.with_columns(
            hs_description=pl.coalesce(
                pl.col("hs").replace_strict(desc, default=None, return_dtype=pl.String),
                pl.col("hs")
                .str.slice(0, 6)
                .replace_strict(desc, default=None, return_dtype=pl.String),
            )
        )
    for col in ("hs4", "hs2"):
        if col in frame.columns:
            out = out.with_columns(
                pl.col(col)
                .replace_strict(desc, default=None, return_dtype=pl.String)
                .alias(NAME_OF[col])
            )
    return out


#: Words a cut label does not end on (:func:`hs_label`).
_JOINING = frozenset({"a", "and", "for", "in", "of", "or", "other", "than", "the", "to", "with"})


def hs_label(hs: str, width: int = 48) -> str:
    """``847150 Units of automatic data processing ...`` (national codes by their HS6).

    Parameters
    ----------
    hs : str
        An HS code (any length, or ``TOTAL``).
    width : int
        The most characters of the description kept (cut at the end of a word
        where one ends past half of them).

    Returns
    -------
    str
        The code and the start of its HS2022 description.

    See Also
    --------
    hs_description : the whole description.

    Examples
    --------
    >>> hs_label("84715000", width=30)
    '84715000 Units of automatic data…'
    >>> hs_label("TOTAL")
    'all goods'
    """
    if hs == "TOTAL":
        return "all goods"
    text = hs_description(hs)
    if len(text) > width:
        # Cut at the end of a word where one ends in the second half ("data…",
        # not "data proces…"), and not after a joining word ("appliances…",
        # not "appliances and…").
        cut = text[:width]
        space = cut.rfind(" ")
        words = (cut[:space] if space >= width // 2 else cut).split(" ")
        while len(words) > 1 and words[-1].lower() in _JOINING:
            words.pop()
        text = " ".join(words).rstrip(" ,;:(") + "…"
    return f"{hs} {text}".strip()


def hs_description(hs: str) -> str:
    """The whole description of an HS code (a national code by its HS6), for hovers.

    Parameters
    ----------
    hs : str
        An HS code.

    Returns
    -------
    str
        Its HS2022 description in full (its subheading's for a longer national
        code), or ``""``.

    See Also
    --------
    hs_label : a short label.

    Examples
    --------
    >>> hs_description("847330")[:40]
    'Machinery; parts and accessories (other '
    """
    if hs == "TOTAL":
        return "all goods"
    return (hs_descriptions().get(hs) or hs_descriptions().get(hs[:6]) or "").strip()
