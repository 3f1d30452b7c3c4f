"""Reference tables: Comtrade codes, names, HS nomenclatures, concordance, rates."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tradeflows._reference import (
    comtrade_to_iso3,
    countries,
    eur_usd_monthly,
    hs_codes,
    hs_concordance,
    resolve_country_names,
)


@pytest.mark.parametrize(
    ("code", "iso3"),
    [
        (842, "USA"),
        (490, "TWN"),
        (699, "IND"),
        (251, "FRA"),
        (757, "CHE"),
        (579, "NOR"),
        (381, "ITA"),
        (156, "CHN"),
        (458, "MYS"),
        (702, "SGP"),
        (51, "ARM"),
        (643, "RUS"),
        (0, "WLD"),
        (899, "AGG"),
        (97, "AGG"),
        (58, "BLX"),
    ],
)
def test_comtrade_codes(code, iso3):
    assert comtrade_to_iso3()[code] == iso3


def test_every_legacy_comtrade_area_is_known(realdata):
    table = comtrade_to_iso3()
    for name in ("partnerAreas.json", "reporterAreas.json"):
        areas = json.loads(
            (realdata / "uncomtrade_ref_legacy" / name).read_text(encoding="utf-8-sig")
        )
        codes = [int(a["id"]) for a in areas["results"] if a["id"] != "all"]
        missing = [c for c in codes if c not in table]
        assert missing == [], f"{name}: codes without a mapping: {missing}"


def test_taiwan_comtrade_490_and_iso_158():
    t = countries().filter(pl.col("iso3") == "TWN")
    assert dict(zip(t["comtrade"], t["kind"], strict=True)) == {158: "iso_alias", 490: "country"}


def test_eurostat_and_national_names():
    names = [
        "Belgium (incl. Luxembourg 'LU' -> 1998)",
        "Russian Federation (Russia)",
        "Korea (DPRK)",
        "Côte d’Ivoire",
        "Moldova, Republic of",
        "Eurasian Economic Union",
        "World",
        "Kyrgyz Republic",
        "Atlantis",
    ]
    assert list(resolve_country_names(names).values()) == [
        "BEL",
        "RUS",
        "PRK",
        "CIV",
        "MDA",
        "AGG",
        "WLD",
        "KGZ",
        None,
    ]


def test_hs_nomenclatures_and_their_sizes():
    hs22, hs17 = hs_codes("HS2022"), hs_codes("HS2017")
    assert hs22.filter(pl.col("level") == 6).height == 5613
    assert hs17.filter(pl.col("level") == 6).height == 5388
    assert "880621" in hs22["hs"].to_list() and "880621" not in hs17["hs"].to_list()
    assert hs22.filter(pl.col("hs") == "010121")["parent"].item() == "0101"


def test_concordance_is_zero_padded():
    conc = hs_concordance()
    assert conc["hs2022"].str.len_chars().unique().to_list() == [6]
    assert conc.filter(pl.col("hs2022") == "010121").height == 1


def test_ecb_rates_cover_the_data_years():
    rates = eur_usd_monthly()
    assert rates["month"].dt.year().min() == 1999
    assert rates.filter(pl.col("month").dt.year() == 2024).height == 12


def test_tables_are_cached():
    countries(), hs_codes("HS2022")
    assert countries() is countries()
    assert hs_codes("HS2022") is hs_codes("HS2022")
