"""Eurostat's downloads of today: SDMX-CSV (data browser, dissemination API) and Comext bulk.

The fixtures are written to the documented layouts (Eurostat's SDMX-CSV 1.0
and the Comext bulk files' columns); values are checked against a hand
computation at the ECB's monthly average rate.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tradeflows._errors import TradeflowsInputError
from tradeflows._io import detect_format, scan
from tradeflows._store import read_audit, scan_store
from tradeflows.cli import main

#: ECB reference rate, monthly averages (USD per EUR): March 2024 and the 2023 mean.
MARCH_2024 = 1.0872
YEAR_2023 = 1.0813

SDMX_HEADER = "DATAFLOW,LAST UPDATE,freq,reporter,partner,product,flow,indicators,TIME_PERIOD,OBS_VALUE,OBS_FLAG"
SDMX_ROWS = [
    "ESTAT:DS-045409(1.0),15/01/25 23:00:00,M,DE,KG,85423190,2,VALUE_IN_EUROS,2024-03,1250000,",
    "ESTAT:DS-045409(1.0),15/01/25 23:00:00,M,DE,KG,85423190,2,QUANTITY_IN_100KG,2024-03,3,",
    "ESTAT:DS-045409(1.0),15/01/25 23:00:00,M,EL,KG,85423190,2,VALUE_IN_EUROS,2024-03,,",
    "ESTAT:DS-045409(1.0),15/01/25 23:00:00,M,FR,KZ,85423190,2,VALUE_IN_EUROS,2024-03,,c",
    "ESTAT:DS-045409(1.0),15/01/25 23:00:00,M,EU27_2020,KG,85423190,2,VALUE_IN_EUROS,2024-03,4000000,",
    "ESTAT:DS-045409(1.0),15/01/25 23:00:00,M,IT,CN,85423190,1,VALUE_IN_EUROS,2024-03,700000,",
    "ESTAT:DS-045409(1.0),15/01/25 23:00:00,A,DE,KG,85423190,2,VALUE_IN_EUROS,2023,9000000,",
]


def _sdmx(tmp_path, rows=SDMX_ROWS, name="ds-045409.csv"):
    path = tmp_path / name
    path.write_text("\n".join([SDMX_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("labels", [False, True], ids=["codes", "code:label"])
def test_sdmx_csv_read_into_memory_reads_as_the_lazy_scan(tmp_path, labels):
    """Ingest's fast path reads each code once per distinct value: the same rows,
    flags, missing values, other indicators and annual rows included."""
    rows = [r.replace(",1250000,", f",{1000 + i},") for i in range(30) for r in SDMX_ROWS]
    if labels:
        rows = [r.replace(",DE,KG,", ",DE:Germany,KG:Kyrgyzstan,") for r in rows]
    path = _sdmx(tmp_path, rows)
    fast = scan(path, fast=True).collect()
    assert fast.height == len(rows)
    assert fast.equals(scan(path).collect())
    assert {"not_a_value", "not_available", "confidential", None} == set(fast["drop"])
    assert {"DEU", "GRC", "AGG"} <= set(fast["reporter"]) and set(fast["freq"]) == {"M", "A"}


@pytest.mark.parametrize(
    "name", ["eurostat_monthly_russia_export_eurostat.csv.gz", "kyrgyz_import_yearly.csv.gz"]
)
def test_bundled_comext_files_read_into_memory_read_as_the_lazy_scan(name):
    """The Comext long CSV the bundled report reads: the fast path's codes, read once
    per distinct value, give the lazy scan's rows (Eurostat's names, footnotes, ':')."""
    path = Path(__file__).parents[1] / "datasets" / "eu_export_sanctions" / name
    assert detect_format(path) == "comext"
    fast = scan(path, fast=True).collect()
    assert fast.height > 400 and fast["reporter"].null_count() < fast.height
    assert fast.equals(scan(path).collect())


def test_sdmx_csv_is_recognised_and_converted(tmp_path):
    path = _sdmx(tmp_path)
    assert detect_format(path) == "sdmx_csv"
    df = scan(path).collect()
    assert df.height == len(SDMX_ROWS)
    de = df.row(0, named=True)
    assert (de["reporter"], de["partner"], de["flow"], de["hs"], de["freq"], de["period"]) == (
        "DEU", "KGZ", "X", "85423190", "M", dt.date(2024, 3, 1),
    )  # fmt: skip
    assert de["value_usd"] == pytest.approx(1_250_000 * MARCH_2024, rel=5e-4)
    assert df["drop"].to_list()[1:4] == ["not_a_value", "not_available", "confidential"]
    assert df["reporter"].to_list()[2] == "GRC"  # Eurostat's EL
    assert df["reporter"].to_list()[4] == "AGG"  # EU27_2020
    imports = df.row(5, named=True)
    assert (imports["reporter"], imports["partner"], imports["flow"]) == ("ITA", "CHN", "M")
    annual = df.row(6, named=True)
    assert (annual["freq"], annual["period"]) == ("A", dt.date(2023, 1, 1))
    assert annual["value_usd"] == pytest.approx(9_000_000 * YEAR_2023, rel=5e-4)


def test_sdmx_csv_with_codes_and_labels(tmp_path):
    """The data browser's "codes and labels" download: ``DE:Germany``."""
    rows = [
        "ESTAT:DS-045409(1.0),15/01/25 23:00:00,M:Monthly,DE:Germany,KG:Kyrgyzstan,"
        "85423190:Processors and controllers,2:EXPORT,VALUE_IN_EUROS:Value in euros,2024-03,1250000,",
    ]
    df = scan(_sdmx(tmp_path, rows)).collect()
    assert df.select("reporter", "partner", "flow", "hs").row(0) == ("DEU", "KGZ", "X", "85423190")


def test_sdmx_csv_ingests_with_the_audit_equation(tmp_path):
    store = tmp_path / "store"
    assert main(["ingest", str(_sdmx(tmp_path)), "--out", str(store), "-q"]) == 0
    doc = read_audit(store)
    (entry,) = doc["files"]
    assert entry["format"] == "sdmx_csv"
    assert entry["rows_read"] == len(SDMX_ROWS) == entry["rows_kept"] + entry["rows_dropped"]
    assert entry["dropped"]["not_available"] == 1 and entry["dropped"]["confidential"] == 1
    assert entry["dropped"]["not_a_value"] == 1
    rows = scan_store(store).collect()
    kept = rows.filter((pl.col("reporter") == "DEU") & (pl.col("freq") == "M"))
    assert kept["value_usd"].item() == pytest.approx(1_250_000 * MARCH_2024, rel=5e-4)


BULK_HEADER = (
    "DECLARANT,DECLARANT_ISO,PARTNER,PARTNER_ISO,TRADE_TYPE,PRODUCT_NC,PRODUCT_SITC,"
    "PRODUCT_CPA2002,PRODUCT_CPA2008,PRODUCT_CPA2_1,PRODUCT_BEC,PRODUCT_BEC5,PRODUCT_SECTION,"
    "FLOW,STAT_REGIME,SUPP_UNIT,PERIOD,VALUE_IN_EUROS,QUANTITY_IN_KG,SUP_QUANTITY"
)


def _bulk_row(decl, part, product, flow, regime, period, eur, kg):
    return (f"004,{decl},075,{part},E,{product},77641,321,261,261,322,42,XVI,"
            f"{flow},{regime},,{period},{eur},{kg},")  # fmt: skip


BULK_ROWS = [
    _bulk_row("DE", "KG", "85423190", 2, 1, 202403, 1000000, 50),
    _bulk_row("DE", "KG", "85423190", 2, 2, 202403, 250000, 10),  # inward processing
    _bulk_row("GR", "KZ", "85423190", 2, 1, 202403, 40000, 2),
    _bulk_row("DE", "KG", "85SSSSSS", 2, 1, 202403, 90000, 0),  # confidential product
    _bulk_row("NL", "CN", "84713000", 1, 1, 202403, 5000000, 800),
]


def _bulk(tmp_path, compress: bool):
    text = "\n".join([BULK_HEADER, *BULK_ROWS]) + "\n"
    member = tmp_path / "full202403.dat"
    member.write_text(text, encoding="utf-8")
    if not compress:
        return member
    py7zr = pytest.importorskip("py7zr")
    archive = tmp_path / "full202403.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(member, member.name)
    member.unlink()
    return archive


def test_comext_bulk_file_read_into_memory_reads_as_the_lazy_scan(tmp_path):
    """The fast path (ingest's) reads each code once per distinct value: the same rows,
    bad codes, confidential products and an annual period included."""
    odd = [
        _bulk_row("EL", "QU", "84713000", 2, 1, 202403, 70, 1),  # Greece; a group
        _bulk_row("DE", "ZZ", "84713000", 2, 1, 202403, 70, 1),  # unknown partner
        _bulk_row("DE", "CN", "8471X000", 1, 1, 202403, 70, 1),  # confidential
        _bulk_row("DE", "CN", "84713000", 1, 1, 202452, 900, 9),  # the year
        _bulk_row("DE", "CN", "84713000", 1, 1, 202413, 70, 1),  # no such month
        _bulk_row("DE", "CN", "84713000", 3, 1, 202403, 70, 1),  # no such flow
    ]
    rows = [r.replace(",1000000,", f",{1000 + i},") for i in range(40) for r in BULK_ROWS]
    path = tmp_path / "full202403.dat"
    path.write_text("\n".join([BULK_HEADER, *rows, *odd]) + "\n", encoding="utf-8")
    fast = scan(path, fast=True).collect()
    assert fast.height == len(rows) + len(odd)
    assert fast.equals(scan(path).collect())
    assert {"GRC", "AGG", None} <= set(fast["partner"]) | set(fast["reporter"])
    assert {"confidential", None} <= set(fast["drop"])
    assert fast.filter(pl.col("freq") == "A").height == 1 and fast["period"].null_count() == 1


@pytest.mark.parametrize("fmt", ["comext_bulk", "sdmx_csv"])
@pytest.mark.parametrize("cut", ["a field too many", "a field too few"])
def test_a_row_that_does_not_split_like_the_header_is_found_on_the_fast_read(tmp_path, fmt, cut):
    """The fast read of a Eurostat file checks every row's width on its one
    parse (no second parse of the file to find them): a shifted row sends the
    file to the exact read, which refuses it or, with --lenient, counts it."""
    if fmt == "comext_bulk":
        header, rows, name = BULK_HEADER, BULK_ROWS * 3, "full202403.dat"
    else:
        header, rows, name = SDMX_HEADER, SDMX_ROWS * 3, "ds-045409.csv"
    shifted = rows[1] + ",7" if cut == "a field too many" else rows[1].rsplit(",", 2)[0]
    path = tmp_path / name
    path.write_text("\n".join([header, *rows, shifted]) + "\n", encoding="utf-8")
    with pytest.raises(pl.exceptions.ComputeError, match="fields than the header"):
        scan(path, fast=True).collect()
    store = tmp_path / "store"
    assert main(["ingest", str(path), "--out", str(store), "-q"]) == 2
    assert main(["ingest", str(path), "--out", str(store), "-q", "--lenient"]) == 0
    (entry,) = read_audit(store)["files"]
    assert entry["read"] == "exact" and entry["dropped"]["ragged_row"] == 1
    assert entry["rows_read"] == len(rows) + 1


@pytest.mark.parametrize("compress", [False, True], ids=["dat", "7z"])
def test_comext_bulk_file_as_eurostat_ships_it(tmp_path, compress):
    path = _bulk(tmp_path, compress)
    assert detect_format(path) == "comext_bulk"
    store = tmp_path / "store"
    assert main(["ingest", str(path), "--out", str(store), "-q"]) == 0
    (entry,) = read_audit(store)["files"]
    assert entry["format"] == "comext_bulk"
    assert entry["rows_read"] == len(BULK_ROWS) == entry["rows_kept"] + entry["rows_dropped"]
    assert entry["dropped"] == {"confidential": 1, "summed_into_total": 1}
    rows = scan_store(store).collect()
    de = rows.filter(pl.col("reporter") == "DEU").row(0, named=True)
    # Normal trade and inward processing, summed: EUR 1.25m at March 2024's rate.
    assert (de["partner"], de["flow"], de["hs"]) == ("KGZ", "X", "85423190")
    assert de["value_usd"] == pytest.approx(1_250_000 * MARCH_2024, rel=5e-4)
    assert de["net_kg"] == 60
    assert rows.filter(pl.col("reporter") == "GRC")["partner"].item() == "KAZ"
    nl = rows.filter(pl.col("reporter") == "NLD").row(0, named=True)
    assert (nl["partner"], nl["flow"]) == ("CHN", "M")


def test_a_7z_archive_of_several_files_is_refused(tmp_path):
    py7zr = pytest.importorskip("py7zr")
    for name in ("a.dat", "b.dat"):
        (tmp_path / name).write_text(BULK_HEADER + "\n" + BULK_ROWS[0] + "\n")
    archive = tmp_path / "two.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(tmp_path / "a.dat", "a.dat")
        z.write(tmp_path / "b.dat", "b.dat")
    with pytest.raises(TradeflowsInputError, match="2 files"):
        detect_format(archive)


def test_generic_reader_takes_iso2_m49_names_flow_codes_and_euros(tmp_path):
    """``--map`` on a national or hand-made file: every way a country is written, flows 1/2,
    values in euros converted at the ECB monthly rate."""
    path = tmp_path / "mine.csv"
    path.write_text(
        "month;from;to;code;flow;eur\n"
        "2024-03;DE;Kyrgyzstan;85423190;2;1000\n"
        "2024-03;276;KG;85423190;1;2000\n"
        "2024-03;EL;Türkiye;85423190;2;3000\n",
        encoding="utf-8",
    )
    mapping = {"period": "month", "reporter": "from", "partner": "to", "hs": "code",
               "flow": "flow", "value_usd": "eur"}  # fmt: skip
    df = scan(path, mapping=mapping, constants={"currency": "EUR"}).collect()
    assert df.select("reporter", "partner", "flow").rows() == [
        ("DEU", "KGZ", "X"), ("DEU", "KGZ", "M"), ("GRC", "TUR", "X"),
    ]  # fmt: skip
    assert df["value_usd"].to_list() == pytest.approx(
        [v * MARCH_2024 for v in (1000, 2000, 3000)], rel=5e-4
    )
    assert df["chg_eur_to_usd"].all()
    with pytest.raises(TradeflowsInputError, match="currency 'JPY'"):
        scan(path, mapping=mapping, constants={"currency": "JPY"})


def test_a_column_read_under_two_names_refuses_the_file(tmp_path, capsys):
    path = tmp_path / "twins.csv"
    header = SDMX_HEADER.replace(",OBS_FLAG", ",obs_value")
    path.write_text("\n".join([header, *(r + "9" for r in SDMX_ROWS[:2])]) + "\n", encoding="utf-8")
    with pytest.raises(
        TradeflowsInputError, match="columns 'OBS_VALUE', 'obs_value' name the same"
    ):
        scan(path)
    assert main(["ingest", str(path), "--out", str(tmp_path / "store")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "store").exists()
