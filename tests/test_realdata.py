"""Every real file that holds trade flows either loads (audit equation holds) or is refused."""

from __future__ import annotations

import pytest

from tests.conftest import REALDATA
from tradeflows._errors import TradeflowsInputError
from tradeflows._store import ingest, scan_store

LOADS = [
    "economic_warfare_portfolio/semiconductor_trade_CHN_M_USA_8542_annual.csv",
    "hkhsieh_trade_cal/comtrade_legacy_871200_world_2016_2019.csv",
    "hkhsieh_trade_cal/comtrade_legacy_871200_imports_from_TW_2016_2019.csv",
    "tw_semiconductor_tariff_lab/ic_exports_world_HS8542_raw.csv",
    "tw_semiconductor_tariff_lab/ic_exports_world_HS8542_202501_202508_uncomtrade.csv",
    "tw_semiconductor_tariff_lab/ic_exports_comparison_uncomtrade_2013_2024.csv",
    "ruimpeks/comext_electronics_EU27_to_RU_AM_BY_GE_KG_KZ_UZ_monthly_2020_2022.csv",
    "ruimpeks/raw_comext_xlsx/21_4624492_spreadsheet.xlsx",
    *(
        f"eu_export_sanctions/eurostat_monthly_{p}_eurostat.csv"
        for p in [
            "russia_export",
            "armenia_export",
            "georgia_export",
            "kazakhstan_export",
            "kyrgyz_export",
            "uzbek_export",
            "kyrgyzstan_import",
        ]
    ),
    *(
        f"eu_export_sanctions/{p}_import_yearly.csv"
        for p in ["armenia", "kazakhstan", "kyrgyz", "uzbek"]
    ),
    # A Comext workbook of total trade ("Total [TOTAL]" and chapter 27).
    "ruimpeks/eu_total_trade_4630244_spreadsheet.xlsx",
]

REFUSED = [
    "apricitas/TWN_EXPORTS.csv",
    "eu_export_sanctions/armenia_data.csv",
    "tvyal_newsletter/arm_trade_country.csv",
    "tvyal_newsletter/arm_trade_data.csv",
    "tvyal_newsletter/export_import_by_month.csv",
    "tvyal_newsletter/official_RX_data.csv",
    "tvyal_newsletter/official_RX_2023_by_hs2.csv",
    "tvyal_newsletter/plot_comtrade_data.csv",
    "tvyal_newsletter/region_exports.csv",
    "tw_semiconductor_tariff_lab/taiwan_exports_8542_2013_2025.csv",
    "tw_semiconductor_tariff_lab/taiwan_exports_by_country_2013_2025.csv",
    "ruimpeks/eu_export_sanctioned.xlsx",
]


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", LOADS)
def test_real_file_loads_with_the_audit_equation(tmp_path, realdata, relpath):
    doc = ingest([realdata / relpath], tmp_path / "store")
    (entry,) = doc["files"]
    assert entry["rows_read"] == entry["rows_kept"] + entry["rows_dropped"] > 0
    assert entry["rows_dropped"] == sum(entry["dropped"].values())
    assert (
        scan_store(tmp_path / "store").collect().height
        == entry["rows_kept"]
        == doc["store"]["rows"]
    )


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", REFUSED)
def test_real_file_refused_with_a_clear_message(tmp_path, realdata, relpath):
    with pytest.raises(TradeflowsInputError) as info:
        ingest([realdata / relpath], tmp_path / "store")
    message = str(info.value)
    assert "\n" not in message and str(realdata / relpath) in message
    assert not (tmp_path / "store").exists()


@pytest.mark.realdata
def test_published_pattern_survives_cleaning(tmp_path, realdata):
    """EU 8471 exports to Armenia rose about 5x in 2022 while those to Russia collapsed."""
    import polars as pl

    ingest([realdata / LOADS[6]], tmp_path / "store")
    totals = (
        scan_store(tmp_path / "store")
        .filter(pl.col("hs").str.starts_with("8471"))
        .group_by("partner", pl.col("period").dt.year().alias("year"))
        .agg(pl.col("value_usd").sum())
        .collect()
    )
    value = {(p, y): v for p, y, v in totals.iter_rows()}
    assert value[("ARM", 2022)] / value[("ARM", 2021)] > 4
    assert value[("RUS", 2022)] / value[("RUS", 2021)] < 0.25


def test_list_covers_every_trade_file():
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    listed = set(LOADS) | set(REFUSED)
    reference = (
        "country_codes",
        "harmonized_system",
        "harvard_comtrade_conversion_weights",
        "onecampaign_baci_ref",
        "uncomtrade_ref_legacy",
        "us_trade_api_ref",
    )
    lookup = {
        "ruimpeks/eu_countries.csv",
        "ruimpeks/export_sanctions_codes.csv",
        "ruimpeks/input_codes.csv",
        "ruimpeks/salys.csv",
        "tvyal_newsletter/arm_dict_hs2.csv",
        "tvyal_newsletter/codes_dict.csv",
        "tvyal_newsletter/commodity_groups_dic.csv",
        "tvyal_newsletter/names_en_am_ru_short.csv",
        "tw_semiconductor_tariff_lab/country_name_map_full.json",
    }
    unlisted = [
        str(p.relative_to(REALDATA))
        for p in REALDATA.rglob("*")
        if p.is_file()
        and p.suffix in {".csv", ".xlsx"}
        and not str(p.relative_to(REALDATA)).startswith(reference)
        and str(p.relative_to(REALDATA)) not in listed | lookup
    ]
    assert sorted(unlisted) == sorted(
        f"ruimpeks/raw_comext_xlsx/{n}"
        for n in [
            "17_4606328_spreadsheet.xlsx",
            "18_4623849_spreadsheet.xlsx",
            "19_4623968_spreadsheet.xlsx",
        ]
    )  # the three sibling workbooks of the one loaded above (tested in test_io)


@pytest.mark.realdata
def test_eurostat_duplicated_month_is_merged_and_counted(tmp_path, realdata):
    """One month of EU imports from Kyrgyzstan was downloaded twice (69 files, 68 months)."""
    doc = ingest(
        [realdata / "eu_export_sanctions/eurostat_monthly_kyrgyzstan_import_eurostat.csv"],
        tmp_path / "s",
    )
    assert doc["totals"]["dropped"]["duplicate_exact"] == 25
    rows = scan_store(tmp_path / "s").collect()
    assert rows.group_by("reporter", "period").len()["len"].max() == 1


@pytest.mark.realdata
def test_every_country_of_armstats_table_resolves_but_places_without_an_iso_code(realdata):
    # A national table's names: old UN forms ("Libyan Arab Jamahiriya",
    # "FYR of Macedonia"), abbreviations ("Czech Rep.") and its own typos.
    import polars as pl

    from tradeflows._errors import TradeflowsInputError
    from tradeflows.names import country

    names = pl.read_csv(realdata / "tvyal_newsletter/arm_trade_country.csv")["country"].unique()
    unresolved = set()
    for name in names.to_list():
        try:
            country(name)
        except TradeflowsInputError:
            unresolved.add(name)
    assert unresolved == {"Nagorno-Karabakh", "Nagorno Karabagh", "Channel Islands",
                          "Unknown country", "EU countries not specified"}  # fmt: skip
    assert country("Russian Federation") == "RUS" and country("Czech Rep.") == "CZE"


@pytest.mark.realdata
def test_armstats_table_read_with_a_mapping_keeps_every_partner_the_names_resolve(
    tmp_path, realdata
):
    # The file opens with a byte-order mark before a quoted header
    # ('\ufeff"country"'): the header was read with its quotes, and the
    # mapping found no column 'country'. It also writes names without their
    # accents ("Aland Islands"), which the readers' table did not hold.
    import polars as pl

    from tradeflows.cli import main
    from tradeflows.names import country

    path = realdata / "tvyal_newsletter/arm_trade_country.csv"
    store = tmp_path / "store"
    # Exports and imports side by side: a row per flow column.
    args = ["ingest", str(path), "--out", str(store), "--map", "period=date",
            "--map", "partner=country", "--map", "value_usd.X=export",
            "--map", "value_usd.M=import_origin", "--const", "reporter=ARM",
            "--const", "hs=TOTAL", "--value-scale", "1000", "--lenient", "--quiet"]  # fmt: skip
    assert main(args) == 0
    rows = scan_store(store).group_by("flow").agg(pl.len()).collect()
    assert dict(rows.rows()) == {"X": 27891, "M": 27891}  # 28,367 lines, 476 of no country
    stored = set(scan_store(store).select("partner").unique().collect()["partner"])
    resolved = set()
    for name in pl.read_csv(path)["country"].unique().to_list():
        try:
            resolved.add(country(name))
        except TradeflowsInputError:
            pass
    assert "ALA" in stored and stored == resolved
