"""Readers: each format from real files, spot values checked against the source."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import numpy as np
import polars as pl
import pytest

from tests.conftest import COMTRADE_PLUS_HEADER, comtrade_csv, comtrade_row
from tradeflows._errors import TradeflowsInputError
from tradeflows._io import detect_format, expand_sources, scan
from tradeflows._io._common import PerValue, clean_str, decimal_value, hs_code, plain_decimal
from tradeflows._io._text import prepare_text
from tradeflows._reference import eur_usd_monthly

pytestmark = pytest.mark.filterwarnings("error")


def _rate(year: int, month: int) -> float:
    r = eur_usd_monthly().filter(pl.col("month") == dt.date(year, month, 1))
    return r["usd_per_eur"].item()


def test_comtrade_plus_real_file(realdata):
    df = scan(
        realdata / "economic_warfare_portfolio/semiconductor_trade_CHN_M_USA_8542_annual.csv"
    ).collect()
    first = df.row(0, named=True)
    assert (first["reporter"], first["partner"], first["flow"], first["hs"]) == (
        "CHN",
        "USA",
        "M",
        "8542",
    )
    assert first["period"] == dt.date(2010, 1, 1) and first["freq"] == "A"
    assert first["value_usd"] == 7903767147.0
    assert first["hs_revision"] == "HS2007"  # classificationCode H3
    assert df.filter(pl.col("partner2").is_not_null()).height == 158


def test_comtrade_plus_trailing_comma_and_latin1(realdata):
    path = realdata / "tw_semiconductor_tariff_lab/ic_exports_world_HS8542_raw.csv"
    assert prepare_text(path).latin1_bytes > 0  # "Côte d'Ivoire" in latin-1 inside a CSV
    df = scan(path).collect()
    assert df.height == 1686
    alb = df.filter(pl.col("reporter") == "ALB", pl.col("period") == dt.date(2013, 1, 1))
    assert alb.select("partner", "flow", "value_usd").row(0) == ("WLD", "X", 63939.0)
    assert df.filter(pl.col("reporter") == "CIV").height > 0


def test_legacy_comtrade_taiwan_with_empty_iso(realdata):
    df = scan(
        realdata / "hkhsieh_trade_cal/comtrade_legacy_871200_imports_from_TW_2016_2019.csv"
    ).collect()
    assert df["partner"].unique().to_list() == ["TWN"]
    first = df.row(0, named=True)
    assert (first["reporter"], first["flow"], first["hs"], first["value_usd"]) == (
        "DZA",
        "M",
        "871200",
        8219.0,
    )
    assert first["hs_revision"] == "HS2017"  # H5


def test_legacy_comtrade_flows(realdata):
    df = scan(realdata / "hkhsieh_trade_cal/comtrade_legacy_871200_world_2016_2019.csv").collect()
    counts = dict(df.group_by("flow").len().iter_rows())
    assert counts == {"X": 530, "M": 610, "RX": 110, "RM": 52}
    bhr = df.filter(
        pl.col("reporter") == "BHR", pl.col("flow") == "RX", pl.col("period").dt.year() == 2017
    )
    assert bhr["value_usd"].to_list() == [360780.0]


def test_comext_long_csv_converts_euros(realdata):
    df = scan(
        realdata / "ruimpeks/comext_electronics_EU27_to_RU_AM_BY_GE_KG_KZ_UZ_monthly_2020_2022.csv"
    ).collect()
    row = df.filter(
        pl.col("reporter") == "AUT",
        pl.col("partner") == "ARM",
        pl.col("hs") == "84713000",
        pl.col("period") == dt.date(2021, 9, 1),
    )
    # 4030 EUR at the ECB's September 2021 average, 1.1770 USD per EUR.
    assert row["value_usd"].item() == pytest.approx(4030 * 1.1770, rel=1e-3)
    assert df["hs_revision"].unique().sort().to_list() == ["HS2017", "HS2022"]


def test_eurostat_relational_view(realdata):
    df = scan(
        realdata / "eu_export_sanctions/eurostat_monthly_armenia_export_eurostat.csv"
    ).collect()
    hrv = df.filter(pl.col("reporter") == "HRV", pl.col("period") == dt.date(2024, 8, 1))
    assert hrv.select("partner", "flow", "hs", "freq").row(0) == ("ARM", "X", "TOTAL", "M")
    assert hrv["value_usd"].item() == pytest.approx(62592 * _rate(2024, 8))
    assert _rate(2024, 8) == pytest.approx(1.1012, abs=5e-4)  # ECB August 2024 average
    # Footnoted names resolve: "Germany (incl. German Democratic Republic 'DD' from 1991)".
    assert {"DEU", "BEL", "FRA", "AGG"} <= set(df["reporter"].to_list())


def test_comext_workbook_matches_the_long_extract(realdata):
    book = scan(realdata / "ruimpeks/raw_comext_xlsx/17_4606328_spreadsheet.xlsx").collect()
    assert book.height == 110 * 27 * 7 * 36  # every cell is a row, ':' included
    values = book.filter(pl.col("drop").is_null())
    long = scan(
        realdata / "ruimpeks/comext_electronics_EU27_to_RU_AM_BY_GE_KG_KZ_UZ_monthly_2020_2022.csv"
    )
    long = long.filter(pl.col("hs").is_in(values["hs"].unique().to_list())).collect()
    key = ["reporter", "partner", "hs", "period"]
    joined = long.join(values, on=key, how="inner", suffix="_xlsx")
    assert joined.height == long.height > 10_000
    assert (joined["value_usd"] - joined["value_usd_xlsx"]).abs().max() < 1e-6
    # The workbook's legend: ':' is "not available", not a confidential value.
    drops = dict(book.group_by("drop").len().drop_nulls().iter_rows())
    assert drops.get("not_available", 0) > 600_000 and "confidential" not in drops


def test_comtradr_renamed_columns(tmp_path):
    path = tmp_path / "comtradr.csv"
    path.write_text(
        "classification,year,period,period_desc,trade_flow_code,trade_flow,reporter_code,"
        "reporter,reporter_iso,partner_code,partner,partner_iso,commodity_code,commodity,"
        "netweight_kg,trade_value_usd\n"
        "H5,2019,2019,2019,2,Export,490,Other Asia nes,,458,Malaysia,MYS,847150,Units,10,2500\n"
        "H5,2019,2019,2019,3,Re-Export,842,USA,USA,702,Singapore,SGP,854231,ICs,,70\n"
    )
    df = scan(path).collect()
    assert df.select("reporter", "partner", "flow", "hs", "value_usd").rows() == [
        ("TWN", "MYS", "X", "847150", 2500.0),
        ("USA", "SGP", "RX", "854231", 70.0),
    ]


def test_comtradr_new_snake_case(tmp_path):
    path = tmp_path / "comtradr_v1.csv"
    path.write_text(
        "freq_code,period,reporter_iso,flow_code,partner_iso,cmd_code,primary_value\n"
        "M,202403,TWN,X,MYS,847150,401900000\n"
    )
    row = scan(path).collect().row(0, named=True)
    assert (row["period"], row["reporter"], row["partner"], row["value_usd"]) == (
        dt.date(2024, 3, 1),
        "TWN",
        "MYS",
        401900000.0,
    )


def test_bulk_file_gzipped_tab_separated(tmp_path):
    rows = [comtrade_row(cmd="10121", value="5"), comtrade_row(partner="0", value="9")]
    text = (COMTRADE_PLUS_HEADER + "\n" + "\n".join(rows) + "\n").replace(",", "\t")
    path = tmp_path / "bulk.txt.gz"
    path.write_bytes(gzip.compress(text.encode()))
    df = scan(path).collect()
    assert df["hs"].to_list() == ["010121", "847150"]  # leading zero restored
    assert df["partner"].to_list() == ["CHN", "WLD"]


def test_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + (COMTRADE_PLUS_HEADER + "\n" + comtrade_row() + "\n").encode()
    )
    assert detect_format(path) == "comtrade"
    assert scan(path).collect()["value_usd"].to_list() == [1000.0]


def test_utf8_file_with_one_latin1_byte_is_read(tmp_path):
    line = comtrade_row().replace(",C00,", ",C00,").replace(",,0,", ",Caf\u00e9,0,", 1)
    path = tmp_path / "mixed.csv"
    text = COMTRADE_PLUS_HEADER + "\nC,M,20230101,2023,1,202301,458,MYS,Malaysia \u00e9,X,Export"
    rest = line.split(",", 11)[11]
    data = (text + "," + rest + "\n").encode("utf-8")
    path.write_bytes(data.replace("Malaysia \u00e9".encode(), b"Malaysia \xe9"))
    assert prepare_text(path).latin1_bytes == 1
    df = scan(path).collect()
    assert df.select("reporter", "partner", "value_usd").row(0) == ("MYS", "CHN", 1000.0)


def test_generic_reader_with_mapping(realdata):
    df = scan(
        realdata / "apricitas/TWN_EXPORTS.csv",
        mapping={
            "period": "Time",
            "partner": "Country(Area)",
            "hs": "Commodity Code",
            "value_usd": "Value(USD$ 1000)",
        },
        constants={"reporter": "TWN", "flow": "X"},
        value_scale=1000,
    ).collect()
    assert df.height == 454
    assert df["period"].null_count() == 0
    last = df.filter(pl.col("period_raw").str.contains("preliminary"))
    assert last["period"].unique().to_list() == [dt.date(2023, 5, 1)]
    first = df.row(0, named=True)
    assert (first["period"], first["partner"], first["hs"], first["value_usd"]) == (
        dt.date(2016, 1, 1),
        "CHN",
        "8486",
        50042000.0,
    )
    assert set(df["partner"].to_list()) == {"CHN", "HKG", "MAC"}


def test_generic_reader_gives_a_row_per_flow_column(tmp_path):
    # Exports and imports side by side, as national offices publish trade by
    # partner: value_usd.X and value_usd.M map each flow's column.
    path = tmp_path / "by_partner.csv"
    path.write_text("date,country,export,import\n2021-01-01,Russia,60,150\n2021-01-01,China,,90\n")
    mapping = {"period": "date", "partner": "country", "value_usd.x": "export",
               "value_usd.M": "import"}  # fmt: skip
    df = scan(path, mapping=mapping, constants={"reporter": "ARM", "hs": "TOTAL"},
              value_scale=1000).collect()  # fmt: skip
    rows = df.sort("row", "flow").select("row", "flow", "partner", "value_usd").rows()
    assert rows == [(2, "M", "RUS", 150000.0), (2, "X", "RUS", 60000.0),
                    (3, "M", "CHN", 90000.0), (3, "X", "CHN", None)]  # fmt: skip
    for bad, words in (({**mapping, "flow": "export"}, "leave out flow"),
                       ({**mapping, "value_usd.Z": "export"}, "a flow code after value_usd")):  # fmt: skip
        with pytest.raises(TradeflowsInputError, match=words):
            scan(path, mapping=bad, constants={"reporter": "ARM", "hs": "TOTAL"})


def test_generic_reader_reads_a_quoted_header_after_a_byte_order_mark(tmp_path):
    # R's write.csv with fileEncoding="UTF-8-BOM" (Armstat's tables as shared):
    # the mark sits before the first quote; the name is country, not "country".
    path = tmp_path / "by_country.csv"
    path.write_bytes(
        '\ufeff"country","date","export"\n"Aland Islands","2021-01-01",5\n'
        '"Cote d\'Ivoire","2021-01-01",7\n'.encode()
    )
    df = scan(
        path,
        mapping={"period": "date", "partner": "country", "value_usd": "export"},
        constants={"reporter": "ARM", "flow": "X", "hs": "TOTAL"},
        value_scale=1000,
    ).collect()
    assert df["partner"].to_list() == ["ALA", "CIV"]
    assert df["value_usd"].to_list() == [5000.0, 7000.0]


def test_generic_reader_reads_a_workbooks_first_sheet_as_its_csv(realdata, tmp_path):
    # An analyst's own summary (partner, reporter, month, EUR): a workbook
    # read with a mapping gives the rows of the same cells saved as CSV,
    # those written here through openpyxl, not the reader's fastexcel.
    import csv

    import openpyxl

    book = realdata / "ruimpeks/eu_export_sanctioned.xlsx"
    workbook = openpyxl.load_workbook(book, read_only=True)
    lines = [
        [c.strftime("%Y-%m") if isinstance(c, dt.datetime) else str(c) for c in cells]
        for cells in workbook.worksheets[0].iter_rows(values_only=True)
    ]
    workbook.close()  # read-only: the file stays open until closed
    text = tmp_path / "sanctioned.csv"
    with open(text, "w", newline="") as f:
        csv.writer(f).writerows(lines)  # a reporter's name holds commas
    kwargs = {
        "mapping": {"reporter": "reporter", "partner": "partner", "period": "month",
                    "value_usd": "sanctioned_export"},
        "constants": {"flow": "X", "hs": "TOTAL", "currency": "EUR"},
    }  # fmt: skip
    columns = ["row", "period", "reporter", "partner", "value_usd"]
    from_book = scan(book, **kwargs).select(columns).collect()
    assert from_book.height == len(lines) - 1 == 6804
    assert from_book.equals(scan(text, **kwargs).select(columns).collect())
    first = from_book.row(0, named=True)
    assert (first["row"], first["period"], first["reporter"], first["partner"]) == (
        2, dt.date(2020, 1, 1), "AUT", "ARM"
    )  # fmt: skip
    assert first["value_usd"] == pytest.approx(245053 * _rate(2020, 1))


def test_a_workbook_with_a_bad_value_names_its_row(tmp_path, capsys):
    # Without a mapping a workbook must be a Comext export, and the message
    # says what else reads one; with a mapping a bad cell refuses the file
    # with its row in the sheet, and --lenient drops and counts it.
    from tradeflows.cli import main

    book = tmp_path / "mine.xlsx"
    pl.DataFrame(
        {"date": ["2021-01", "2021-02", "2021-03"], "country": ["Russia"] * 3,
         "export": ["5", "six", "7"]}
    ).write_excel(book)  # fmt: skip
    with pytest.raises(TradeflowsInputError, match="or a mapping for the generic reader"):
        scan(book)
    args = ["ingest", str(book), "--out", str(tmp_path / "store"), "-q", "--map", "period=date",
            "--map", "partner=country", "--map", "value_usd=export", "--const", "reporter=ARM",
            "--const", "flow=X", "--const", "hs=TOTAL"]  # fmt: skip
    assert main(args) == 2
    assert "mine.xlsx: line 3: " in capsys.readouterr().err
    assert not (tmp_path / "store" / "audit.json").exists()
    assert main([*args, "--lenient"]) == 0
    audit = json.loads((tmp_path / "store" / "audit.json").read_text())
    assert (audit["totals"]["rows_kept"], audit["totals"]["dropped"]) == (2, {"bad_value": 1})


def test_a_workbook_of_several_sheets_is_read_where_the_mapped_columns_are(tmp_path):
    # A notes sheet before the data: the sheet whose header holds the
    # mapped columns is read; where none does, the sheets are named. Rows
    # formatted and left blank after the table (Excel shows nothing there)
    # are not read; an empty sheet is refused.
    import xlsxwriter

    book, empty = tmp_path / "notes_first.xlsx", tmp_path / "empty.xlsx"
    with xlsxwriter.Workbook(book) as workbook:
        workbook.add_worksheet("Notes").write(0, 0, "Exports by partner, thousand USD")
        data = workbook.add_worksheet("Data")
        for i, line in enumerate([["date", "country", "export"], ["2021-01", "Russia", 5],
                                  ["2021-02", "China", 6.5]]):  # fmt: skip
            data.write_row(i, 0, line)
        data.write_row(3, 0, [" ", ""])
        data.write_blank(4, 2, None, workbook.add_format({"bold": True}))
    with xlsxwriter.Workbook(empty) as workbook:
        workbook.add_worksheet("Sheet1")
    constants = {"reporter": "ARM", "flow": "X", "hs": "TOTAL"}
    mapping = {"period": "date", "partner": "country", "value_usd": "export"}
    df = scan(book, mapping=mapping, constants=constants).collect()
    assert df.select("row", "period", "partner", "value_usd").rows() == [
        (2, dt.date(2021, 1, 1), "RUS", 5.0), (3, dt.date(2021, 2, 1), "CHN", 6.5)
    ]  # fmt: skip
    with pytest.raises(TradeflowsInputError, match=r"no sheet has the mapped columns "
                       r"country, date, value under its first row \(sheets: Notes, Data\)"):  # fmt: skip
        scan(book, mapping={**mapping, "value_usd": "value"}, constants=constants)
    with pytest.raises(TradeflowsInputError, match=r"empty\.xlsx: sheet 'Sheet1' is empty"):
        scan(empty, mapping=mapping, constants=constants)


def test_an_old_excel_workbook_is_refused_with_what_to_do(tmp_path):
    # An .xls file is an OLE2 compound file: its header sector starts with
    # these eight bytes, then binary fields. Read or mapped, it is refused
    # saying what it is, not as an unknown binary file.
    xls = tmp_path / "trade_by_country.xls"
    xls.write_bytes(
        bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16) + b"\x3e\x00\x03\x00" + bytes(488)
    )
    words = r"trade_by_country\.xls: an Excel 97-2003 workbook \(\.xls\).*save the sheet as \.xlsx or CSV"
    with pytest.raises(TradeflowsInputError, match=words):
        scan(xls)
    with pytest.raises(TradeflowsInputError, match=words):
        scan(xls, mapping={"period": "date", "partner": "country", "value_usd": "export"},
             constants={"reporter": "ARM", "flow": "X", "hs": "TOTAL"})  # fmt: skip
    other = tmp_path / "other.bin"
    other.write_bytes(b"ab\x00cd")
    with pytest.raises(TradeflowsInputError, match="binary file, not delimited text"):
        scan(other)


@pytest.mark.parametrize(
    "relpath",
    [
        "tw_semiconductor_tariff_lab/taiwan_exports_8542_2013_2025.csv",
        "tw_semiconductor_tariff_lab/taiwan_exports_by_country_2013_2025.csv",
        "eu_export_sanctions/armenia_data.csv",
        "tvyal_newsletter/arm_trade_country.csv",
        "tvyal_newsletter/plot_comtrade_data.csv",
        "apricitas/TWN_EXPORTS.csv",
    ],
)
def test_national_tables_are_refused_with_the_expected_columns(realdata, relpath):
    with pytest.raises(
        TradeflowsInputError, match=r"unknown layout \(columns: .*expected a Comtrade\+ file"
    ):
        detect_format(realdata / relpath)


def test_detects_each_format(realdata):
    assert (
        detect_format(realdata / "ruimpeks/raw_comext_xlsx/21_4624492_spreadsheet.xlsx")
        == "comext_xlsx"
    )
    assert (
        detect_format(realdata / "hkhsieh_trade_cal/comtrade_legacy_871200_world_2016_2019.csv")
        == "comtrade"
    )
    assert detect_format(realdata / "eu_export_sanctions/kyrgyz_import_yearly.csv") == "comext"


def test_missing_required_column_names_it(tmp_path):
    path = comtrade_csv(tmp_path / "x.csv", [comtrade_row()])
    text = path.read_text().replace("primaryValue", "somethingElse")
    path.write_text(text)
    with pytest.raises(TradeflowsInputError, match="unknown layout"):
        scan(path)
    with pytest.raises(TradeflowsInputError, match="missing required column for value"):
        scan(path, format="comtrade")


def test_expand_sources_folder_and_glob(tmp_path):
    comtrade_csv(tmp_path / "a.csv", [comtrade_row()])
    comtrade_csv(tmp_path / "b.csv", [comtrade_row()])
    (tmp_path / "notes.md").write_text("x")
    assert [p.name for p in expand_sources([tmp_path])] == ["a.csv", "b.csv"]
    assert [p.name for p in expand_sources([str(tmp_path / "*.csv")])] == ["a.csv", "b.csv"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(TradeflowsInputError, match="folder holds no data files"):
        expand_sources([tmp_path / "empty"])


def test_a_labelled_worlds_folder_gives_its_trade_files_only(tmp_path):
    # `tradeflows detect WORLD` stopped at truth.parquet ("the generic reader
    # needs a column mapping"); `evaluate WORLD` always read the world so.
    from tests.conftest import small_world

    world = small_world(tmp_path / "w", seed=2, n_others=4, n_products=3, pairs_per_product=4)
    names = [p.relative_to(world).as_posix() for p in expand_sources(world)]
    assert names == [f.relative_to(world).as_posix() for f in sorted(world.glob("comtrade/*"))]
    # Either of the two alone is data as any other file is.
    (world / "truth.parquet").rename(world / "labels.parquet")
    assert "world.json" in [p.name for p in expand_sources([world])]


def test_first_day_of_every_month_and_null_outside_the_range():
    from tradeflows._io._common import date_from_ym

    ym = [(y, m) for y in (1899, 1900, 1999, 2024, 2100, 2101) for m in range(14)]
    df = pl.DataFrame(ym, schema=["y", "m"], orient="row")
    got = df.select(date_from_ym(pl.col("y"), pl.col("m"))).to_series().to_list()
    ok = [1900 <= y <= 2100 and 1 <= m <= 12 for y, m in ym]
    assert got == [dt.date(y, m, 1) if good else None for (y, m), good in zip(ym, ok, strict=True)]


def test_per_value_is_the_expression_row_by_row():
    rng = np.random.default_rng(3)
    codes = np.array(
        [" x", "M ", "dx", "", "  ", "847150", "8471.5", "0101", "TOTAL"], dtype=object
    )
    values = list(rng.choice(codes, 500))
    values[::37] = [None] * len(values[::37])
    df = pl.DataFrame({"c": values, "n": rng.integers(-2, 3, 500)})
    exprs = [
        clean_str("c").str.to_uppercase(),
        hs_code(pl.col("c").str.strip_chars()),
        pl.col("c").str.strip_chars() != "X",
        pl.when(pl.col("n") != 0).then(pl.col("n").cast(pl.String)),
    ]
    per_value = PerValue(df)
    for expr in exprs:
        mapped = per_value(expr)
        assert "replace_strict" in str(mapped)  # a few values over many rows: looked up
        assert df.select(mapped).equals(df.select(expr))
    # Four values or fewer, a null among them: compared with each, not looked up.
    few = df.with_columns(
        c=pl.col("c").replace_strict({" x": " x", "M ": "M "}, default=None),
        n=pl.col("n").clip(0, 2),
    )
    assert few["c"].n_unique() == 3 and few["c"].null_count() > 0 and few["n"].n_unique() == 3
    per_value = PerValue(few)
    for expr in [*exprs, pl.col("n") > 0, pl.col("c").is_null()]:
        mapped = per_value(expr)
        assert "replace_strict" not in str(mapped)
        assert few.select(mapped).equals(few.select(expr))
    # Mostly distinct values: the expression itself.
    distinct = pl.DataFrame({"c": [str(i) for i in range(50)]})
    assert str(PerValue(distinct)(clean_str("c"))) == str(clean_str("c"))
    # Two columns, or none: the expression itself.
    per_value = PerValue(df)
    both = pl.col("c") + pl.col("n").cast(pl.String)
    assert str(per_value(both)) == str(both)
    assert str(per_value(pl.lit("x"))) == str(pl.lit("x"))


def test_comext_workbook_of_total_trade_reads_its_total_sheet(realdata):
    """A workbook whose product is 'Total [TOTAL]' (all goods) is read, not refused."""
    book = scan(realdata / "ruimpeks/eu_total_trade_4630244_spreadsheet.xlsx").collect()
    assert set(book["hs"].unique()) == {"27", "TOTAL"}
    assert set(book["flow"].unique()) == {"X", "M"}
    drops = dict(book.group_by("drop").len().drop_nulls().iter_rows())
    assert set(drops) == {"not_available"} and book["value_usd"].drop_nulls().min() >= 0


def _bits(s: pl.Series) -> np.ndarray:
    return s.to_numpy().view(np.int64)


def test_decimal_text_reads_to_the_cpu_parsers_doubles_bit_for_bit(tmp_path):
    # The GPU engine reads values as text (its own parser rounds some
    # decimals otherwise): digits over a power of ten, rounded once, must give
    # the double the CPU's parser gives, for every plain decimal.
    rng = np.random.default_rng(5)
    texts = ["0", "-0", "0.1", "0.3", "44439.29", "9007199254740993", "0.0000000000000000000001",
             "123456789.123456", "-7.25", "00012.50"]  # fmt: skip
    for _ in range(200_000):
        n = int(rng.integers(1, 17))
        digits = "".join(rng.choice(list("0123456789"), n))
        k = int(rng.integers(0, n + 1))
        text = digits if k == 0 else (digits[: n - k] or "0") + "." + digits[n - k :]
        texts.append(("-" if rng.random() < 0.1 else "") + text)
    path = tmp_path / "v.csv"
    path.write_text("v\n" + "\n".join(texts) + "\n")
    parsed = pl.read_csv(path, schema={"v": pl.Float64})["v"]
    text = pl.read_csv(path, schema={"v": pl.String})
    plain = text.select(plain_decimal("v"))["v"]
    assert plain.sum() > 0.9 * len(texts)  # 2^53 and more digits are not plain
    ours = text.select(decimal_value("v"))["v"]
    assert np.array_equal(_bits(ours.filter(plain)), _bits(parsed.filter(plain)))


@pytest.mark.parametrize(
    "name",
    [
        "economic_warfare_portfolio/semiconductor_trade_CHN_M_USA_8542_annual.csv",
        "hkhsieh_trade_cal/comtrade_legacy_871200_world_2016_2019.csv",
        None,  # a Comtrade+ file of tradeflows' own synthetic world
    ],
)
def test_values_read_as_text_give_the_fast_paths_rows(realdata, tmp_path, name):
    if name is None:
        from tradeflows._synth import make_trade_world

        make_trade_world(tmp_path / "w", seed=3, n_others=30, n_products=20, pairs_per_product=20)
        path = sorted((tmp_path / "w" / "comtrade").glob("*.csv"))[0]
    else:
        path = realdata / name
    fast = scan(path, fast=True).collect()
    text = scan(path, fast=True, text_values=True).collect()
    assert fast.schema == text.schema and fast.height == text.height > 100
    for column in fast.columns:
        if fast[column].dtype == pl.Float64:
            assert np.array_equal(_bits(fast[column]), _bits(text[column])), column
        else:
            assert fast[column].equals(text[column], null_equal=True), column


def test_a_value_that_is_not_plain_decimal_text_is_refused_when_read_as_text(tmp_path):
    from tradeflows._io.comtrade import NotPlainDecimal

    f = comtrade_csv(tmp_path / "t.csv", [comtrade_row(value="1.5E3")])
    assert scan(f, fast=True).collect()["value_usd"].to_list() == [1500.0]
    with pytest.raises(NotPlainDecimal, match="not plain decimal text"):
        scan(f, fast=True, text_values=True).collect()


def test_comtrade_country_codes_read_from_the_table_as_from_the_code_list():
    """Integer codes (as the parser types them) map to the ISO3 of the Comtrade code
    list, outside it (negative, past the largest code, unknown) to null: every
    code from -5 to 1005, and null."""
    from tradeflows._io.comtrade import _country
    from tradeflows._reference import comtrade_to_iso3

    codes = comtrade_to_iso3()
    df = pl.DataFrame({"c": [*range(-5, 1006), None]}, schema={"c": pl.Int64})
    got = df.select(_country("c", df.schema))["c"].to_list()
    assert got == [codes.get(c) for c in df["c"].to_list()]
    assert got.count(None) > 600 and "TWN" in got and "WLD" in got
