"""Reference tables shipped with tradeflows, loaded once and cached.

``countries()`` maps Comtrade codes to ISO3 (842 USA, 490 Taiwan = TWN, ...),
with historical areas and aggregates (World, Areas nes, EU-28) marked;
``country_names()`` maps the names that Eurostat and national files use;
``hs_codes()`` gives the HS2017 or HS2022 nomenclature; ``hs_concordance()``
the HS2022 -> HS2017 table; ``eur_usd_monthly()`` the ECB monthly average rate;
``controlled_hs()``, ``policy_dates()`` and ``destinations_of_concern()`` the
control lists, control dates and default destinations that detection uses.
Where each came from is in ``PROVENANCE.md`` beside this file.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import polars as pl

__all__ = [
    "AGGREGATE",
    "WORLD",
    "census_to_iso3",
    "comtrade_to_iso3",
    "controlled_hs",
    "countries",
    "country_names",
    "destinations_of_concern",
    "eur_usd_monthly",
    "hs_codes",
    "hs_concordance",
    "iso3_codes",
    "policy_dates",
    "resolve_country_names",
]

#: Marker returned for names and codes that stand for a group of countries.
AGGREGATE = "AGG"
#: The world as a partner (Comtrade 0, ``W00``): kept where it is a file's only
#: partner level, dropped beside country detail.
WORLD = "WLD"

_HERE = files(__package__)


@cache
def countries() -> pl.DataFrame:
    """Comtrade code table: iso3, iso2, m49, name, comtrade, kind.

    ``kind`` is ``country``, ``historical`` (a former or sub-national area),
    ``iso_alias`` (the ISO numeric code of a country Comtrade numbers
    differently), ``world`` or ``aggregate``.

    Examples
    --------
    >>> t = countries()
    >>> t.filter(pl.col("comtrade").is_in([842, 490, 699]))["iso3"].to_list()
    ['TWN', 'IND', 'USA']
    """
    return pl.read_csv(
        _HERE.joinpath("countries.csv").read_bytes(),
        schema_overrides={"m49": pl.Int32, "comtrade": pl.Int32},
    )


@cache
def comtrade_to_iso3() -> dict[int, str]:
    """Comtrade reporter/partner code -> ISO3; ``WLD`` for World, ``AGG`` for groups.

    Examples
    --------
    >>> m = comtrade_to_iso3()
    >>> m[842], m[490], m[251], m[0], m[899]
    ('USA', 'TWN', 'FRA', 'WLD', 'AGG')
    """
    t = countries().filter(pl.col("comtrade").is_not_null())  # Monaco: no Comtrade code
    iso = pl.when(pl.col("kind") == "aggregate").then(pl.lit(AGGREGATE)).otherwise("iso3")
    t = t.select("comtrade", iso.alias("iso3"))
    return dict(zip(t["comtrade"].to_list(), t["iso3"].to_list(), strict=True))


@cache
def census_to_iso3() -> dict[str, str]:
    """US Census Schedule C country code -> ISO3.

    Examples
    --------
    >>> census_to_iso3()["5700"], census_to_iso3()["5830"]
    ('CHN', 'TWN')
    """
    t = pl.read_csv(_HERE.joinpath("census_countries.csv").read_bytes(), infer_schema=False)
    return dict(zip(t["census"].to_list(), t["iso3"].to_list(), strict=True))


@cache
def iso3_codes() -> frozenset[str]:
    """Every ISO3 (or historical pseudo-ISO3) code tradeflows knows.

    Examples
    --------
    >>> "TWN" in iso3_codes() and "WLD" not in iso3_codes()
    True
    """
    t = countries().filter(~pl.col("kind").is_in(["aggregate", "world"]))
    return frozenset(t["iso3"].to_list())


@cache
def country_names() -> dict[str, str]:
    """Lower-case country name -> ISO3 (``AGG`` for aggregates).

    Examples
    --------
    >>> country_names()["russian federation (russia)"]
    'RUS'
    """
    t = pl.read_csv(_HERE.joinpath("country_names.csv").read_bytes())
    return dict(zip(t["name"].to_list(), t["iso3"].to_list(), strict=True))


_FOOTNOTE = re.compile(r"\s*\(.*\)\s*$")


def _normalise_name(name: str) -> str:
    return " ".join(name.replace("\u2019", "'").lower().split())


def _resolve_one(name: str) -> str | None:
    table = country_names()
    key = _normalise_name(name)
    if key in table:
        return table[key]
    bare = _FOOTNOTE.sub("", key)  # Eurostat footnotes: "Germany (incl. ... 1991)"
    if bare in table:
        return table[bare]
    if bare.upper() in iso3_codes():
        return bare.upper()
    import pycountry

    try:
        return pycountry.countries.lookup(bare).alpha_3
    except LookupError:
        return None


def resolve_country_names(names: list[str]) -> dict[str, str | None]:
    """Map each distinct name to ISO3, ``AGG`` for aggregates, None if unknown.

    Tries the shipped name table, then the name without a trailing footnote in
    parentheses, then pycountry.

    Parameters
    ----------
    names : list of str
        Country names as sources write them (footnotes, short forms).

    Returns
    -------
    dict of str to str or None

    See Also
    --------
    tradeflows.names.country : one name, with suggestions when unknown.

    Examples
    --------
    >>> resolve_country_names(["Germany (incl. German Democratic Republic 'DD' from 1991)",
    ...                        "Euro area - 20 countries (AT, BE)", "Atlantis"])
    {"Germany (incl. German Democratic Republic 'DD' from 1991)": 'DEU', 'Euro area - 20 countries (AT, BE)': 'AGG', 'Atlantis': None}
    """
    return {n: _resolve_one(n) for n in dict.fromkeys(names)}


@cache
def hs_codes(revision: str = "HS2022") -> pl.DataFrame:
    """The HS nomenclature of one revision: hs, level, parent, section, description.

    Examples
    --------
    >>> hs = hs_codes("HS2022")
    >>> hs.filter(pl.col("hs") == "847150")["description"].item()[:34]
    'Units of automatic data processing'
    """
    if revision not in ("HS2017", "HS2022"):
        raise ValueError(f"no nomenclature shipped for {revision!r}: HS2017 or HS2022")
    return pl.read_parquet(_HERE.joinpath(f"{revision.lower()}.parquet").read_bytes())


@cache
def hs_concordance() -> pl.DataFrame:
    """HS2022 -> HS2017 six-digit concordance: hs2022, hs2017, relationship.

    Examples
    --------
    >>> c = hs_concordance()
    >>> c.filter(pl.col("hs2022") == "010121")["hs2017"].to_list()
    ['010121']
    """
    return pl.read_csv(_HERE.joinpath("hs2022_to_hs2017.csv").read_bytes(), infer_schema=False)


@cache
def eur_usd_monthly() -> pl.DataFrame:
    """ECB euro reference rate, monthly average: month (Date), usd_per_eur.

    Examples
    --------
    >>> r = eur_usd_monthly()
    >>> 1.0 < r.filter(pl.col("month") == pl.date(2022, 1, 1))["usd_per_eur"].item() < 1.2
    True
    """
    return pl.read_csv(
        _HERE.joinpath("eur_usd_monthly.csv").read_bytes(), try_parse_dates=True
    ).select("month", "usd_per_eur")


@cache
def controlled_hs(lists: tuple[str, ...] = ("bis_chpl", "ai_hardware")) -> frozenset[str]:
    """HS6 codes on the control lists named: ``bis_chpl`` (Common High Priority
    List) and ``ai_hardware``.

    Examples
    --------
    >>> sorted(controlled_hs(("bis_chpl",)))[:2]
    ['847150', '847180']
    >>> "854231" in controlled_hs()
    True
    """
    table = pl.read_csv(_HERE.joinpath("controlled_hs.csv").read_bytes(), infer_schema=False)
    unknown = set(lists) - set(table["list"])
    if unknown:
        raise ValueError(
            f"unknown control list(s) {sorted(unknown)}: choose from bis_chpl, ai_hardware"
        )
    return frozenset(table.filter(pl.col("list").is_in(list(lists)))["hs6"])


@cache
def policy_dates() -> pl.DataFrame:
    """Export-control dates: date, name, targets (ISO3 list), description, label (plain words).

    Examples
    --------
    >>> policy_dates().filter(pl.col("name") == "russia_sanctions")["date"].item()
    datetime.date(2022, 2, 24)
    """
    return pl.read_csv(
        _HERE.joinpath("policy_dates.csv").read_bytes(), try_parse_dates=True
    ).with_columns(pl.col("targets").str.split(";"))


@cache
def destinations_of_concern() -> tuple[str, ...]:
    """The default destinations of ``tradeflows detect`` (ISO3).

    Examples
    --------
    >>> destinations_of_concern()[:3]
    ('RUS', 'BLR', 'CHN')
    """
    table = pl.read_csv(_HERE.joinpath("destinations.csv").read_bytes())
    return tuple(table["iso3"])
