"""Saved Comtrade+ API answers (JSON) read as the CSV download of the same records."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tradeflows import detect_format
from tradeflows._errors import TradeflowsInputError
from tradeflows._fetch import _write_chunk
from tradeflows._store import ingest, read_audit, scan_store
from tradeflows.cli import main


def _record(partner: int = 156, value: object = 1234567.891, period: str = "202403") -> dict:
    """A record with the fields and JSON types the API sends (numbers as numbers)."""
    return {"typeCode": "C", "freqCode": "M", "refPeriodId": int(period + "01"),
            "refYear": int(period[:4]), "refMonth": int(period[4:]), "period": period,
            "reporterCode": 458, "reporterISO": "MYS", "flowCode": "X", "partnerCode": partner,
            "partner2Code": 0, "partner2ISO": "W00", "classificationCode": "H6",
            "cmdCode": "847150", "customsCode": "C00", "motCode": 0, "qtyUnitAbbr": "u",
            "qty": 12.0, "netWgt": None, "primaryValue": value, "isReported": True}  # fmt: skip


def _answer(records: list[dict], count: int | None = None) -> dict:
    n = len(records) if count is None else count
    return {"elapsedTime": "0.2 secs", "count": n, "data": records, "error": ""}


def _stored(store: Path) -> pl.DataFrame:
    rows = scan_store(store).drop("source").collect()
    return rows.sort(rows.columns)


@pytest.fixture
def recorded(realdata) -> Path:
    """The real API's answer comtradr's tests replay: China's trade with Argentina and Germany."""
    (path,) = (realdata / "comtradr_api_responses").glob("testthat__data__*.json")
    return path


def test_a_recorded_answer_stores_what_its_csv_download_stores(recorded, tmp_path):
    assert detect_format(recorded) == "comtrade_json"
    as_csv = tmp_path / "answer.csv"
    _write_chunk(as_csv, json.loads(recorded.read_text())["data"])
    ingest([recorded], tmp_path / "from_json")
    ingest([as_csv], tmp_path / "from_csv")
    got, want = _stored(tmp_path / "from_json"), _stored(tmp_path / "from_csv")
    assert got.height == 4
    assert_frame_equal(got, want)
    assert set(got["reporter"]) == {"CHN"} and set(got["partner"]) == {"ARG", "DEU"}
    assert 6804128143.0 in got["value_usd"].to_list()
    (entry,) = read_audit(tmp_path / "from_json")["files"]
    assert entry["format"] == "comtrade_json" and entry["rows_read"] == 4


def test_gzipped_and_a_bare_list_of_records_read_the_same(tmp_path):
    records = [_record(156), _record(702, 55.5), _record(344, 7)]
    plain = tmp_path / "a.json"
    plain.write_text(json.dumps(_answer(records)))
    packed = tmp_path / "b.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(_answer(records)).encode()))
    bare = tmp_path / "c.json"
    bare.write_text("\ufeff" + json.dumps(records, indent=1))
    as_csv = tmp_path / "d.csv"
    _write_chunk(as_csv, records)
    stores = {}
    for f in (plain, packed, bare, as_csv):
        ingest([f], tmp_path / f"s_{f.stem}")
        stores[f.name] = _stored(tmp_path / f"s_{f.stem}")
    for name in ("b.json.gz", "c.json", "d.csv"):
        assert_frame_equal(stores[name], stores["a.json"])
    assert sorted(stores["a.json"]["value_usd"]) == [7.0, 55.5, 1234567.891]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (json.dumps(_answer([_record(), _record(702)], count=5)),
         "holds 2 of the 5 records its count says (a truncated answer)"),
        (json.dumps(_answer([_record(), _record(702)]))[:-30], "not valid JSON"),
        ('{"statusCode": 401, "message": "Access denied due to invalid subscription key."}',
         "the API's answer is an error: Access denied due to invalid subscription key."),
        (json.dumps({"count": 0, "data": [], "error": "Too many requests"}),
         "the API's answer is an error: Too many requests"),
        (json.dumps(_answer([_record(), {**_record(), "period": {"y": 2024}}])),
         "record 2 is not a record of plain values"),
        (json.dumps([{"name": "a", "value": 1}]), "JSON records without the Comtrade+ fields"),
        ("[1, 2]", "record 1 is not a record of plain values"),
        (json.dumps([["CTY_CODE", "CTY_NAME", "ALL_VAL_MO", "E_COMMODITY", "time"],
                     ["5700", "CHINA", "123456789", "847150", "2024-03"]]),
         "a US Census API answer (a table with CTY_CODE)"),
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    ],
)  # fmt: skip
def test_an_answer_that_is_not_whole_data_is_refused_in_one_line(tmp_path, capsys, body, message):
    src = tmp_path / "answer.json"
    src.write_text(body)
    with pytest.raises(TradeflowsInputError, match=r"answer\.json: ") as info:
        detect_format(src)
    assert message in str(info.value)
    store = tmp_path / "store"
    assert main(["ingest", str(src), "--out", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not store.exists()


def test_the_recorded_bulk_listing_and_empty_answer_are_refused(realdata, tmp_path, capsys):
    folder = realdata / "comtradr_api_responses"
    (listing,) = folder.glob("goods_bulk__*.json")
    (empty,) = folder.glob("testthat__goods_bulk_error__*.json")
    assert main(["ingest", str(listing), "--out", str(tmp_path / "s")]) == 2
    assert "a listing of bulk files" in capsys.readouterr().err
    assert main(["ingest", str(empty), "--out", str(tmp_path / "s")]) == 2
    assert "no data rows" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_a_bad_record_is_named_by_its_number_and_lenient_counts_it(tmp_path, capsys):
    src = tmp_path / "answer.json"
    src.write_text(json.dumps(_answer([_record(156), _record(702), _record(999), _record(344)])))
    store = tmp_path / "store"
    assert main(["ingest", str(src), "--out", str(store)]) == 2
    err = capsys.readouterr().err
    assert "answer.json: record 3: " in err and "partner '999'" in err
    assert main(["ingest", str(src), "--out", str(store), "--lenient", "-q"]) == 0
    (entry,) = read_audit(store)["files"]
    assert entry["rows_read"] == 4 and entry["rows_kept"] == 3
    assert entry["dropped"] == {"unknown_country": 1}


def test_a_broken_answer_leaves_the_store_as_it_was(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_answer([_record(156), _record(702)])))
    store = tmp_path / "store"
    assert main(["ingest", str(good), "--out", str(store), "-q"]) == 0
    before = (store / "audit.json").read_bytes(), _stored(store)
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(_answer([_record(344)], count=2)))
    assert main(["ingest", str(cut), "--out", str(store)]) == 2
    assert "cut.json: holds 1 of the 2 records" in capsys.readouterr().err
    assert (store / "audit.json").read_bytes() == before[0]
    assert_frame_equal(_stored(store), before[1])


def test_a_folder_s_answers_are_read_and_lenient_records_a_broken_one(tmp_path, capsys):
    folder = tmp_path / "answers"
    folder.mkdir()
    (folder / "2024-03.json").write_text(json.dumps(_answer([_record(156)])))
    (folder / "2024-04.json").write_text(json.dumps(_answer([_record(156, 9.0, "202404")])))
    (folder / "2024-05.json").write_text('{"count": 3, "data": [')
    (folder / "answers.audit.json").write_text("{}")  # a dataset's provenance: not a source
    store = tmp_path / "store"
    assert main(["ingest", str(folder), "--out", str(store)]) == 2
    assert "2024-05.json: not valid JSON" in capsys.readouterr().err
    assert main(["ingest", str(folder), "--out", str(store), "--lenient", "-q"]) == 0
    doc = read_audit(store)
    assert sorted(Path(e["path"]).name for e in doc["files"]) == ["2024-03.json", "2024-04.json"]
    (skipped,) = doc["unrecognised_files"]
    assert skipped["path"].endswith("2024-05.json") and "not valid JSON" in skipped["detail"]
    # The same answer again, under another name, adds nothing.
    shutil.copy(folder / "2024-03.json", tmp_path / "again.json")
    assert ingest([tmp_path / "again.json"], store)["skipped"] == [str(tmp_path / "again.json")]


def test_a_field_read_under_two_names_is_refused_in_json_and_csv(tmp_path, capsys):
    twins = tmp_path / "twins.json"
    twins.write_text(json.dumps(_answer([_record(), {**_record(702), "PrimaryValue": 3.0}])))
    as_csv = tmp_path / "twins.csv"
    as_csv.write_text("period,reporterCode,partnerCode,flowCode,cmdCode,primaryValue,PrimaryValue\n"
                      "202403,458,156,X,847150,100.5,\n")  # fmt: skip
    for src in (twins, as_csv):
        assert main(["ingest", str(src), "--out", str(tmp_path / "store")]) == 2
        err = capsys.readouterr().err
        assert "columns 'primaryValue', 'PrimaryValue' name the same field" in err
    assert not (tmp_path / "store").exists()


def test_an_answer_holding_exactly_a_call_s_cap_is_refused(tmp_path, capsys):
    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps(_answer([_record(156, float(v)) for v in range(500)])))
    assert main(["ingest", str(preview), "--out", str(tmp_path / "store")]) == 2
    err = capsys.readouterr().err
    assert "holds exactly 500 records, the most one call of the API returns" in err
    one_less = tmp_path / "whole.json"
    one_less.write_text(json.dumps(_answer([_record(156, float(v)) for v in range(499)])))
    assert main(["ingest", str(one_less), "--out", str(tmp_path / "store"), "-q"]) == 0


def test_pandas_records_of_the_recorded_answer_store_the_same(recorded, tmp_path):
    """A notebook's DataFrame of the API's records (comtradeapicall's getFinalData
    returns one), saved with pandas' to_json(orient="records")."""
    import pandas as pd  # a test dependency

    frame = pd.DataFrame(json.loads(recorded.read_text())["data"])
    saved = tmp_path / "from_pandas.json"
    frame.to_json(saved, orient="records")
    ingest([recorded], tmp_path / "answer")
    ingest([saved], tmp_path / "pandas")
    assert_frame_equal(_stored(tmp_path / "pandas"), _stored(tmp_path / "answer"))


def test_a_number_past_64_bits_is_refused_as_its_csv_is_not_dropped_as_missing(tmp_path, capsys):
    answer = tmp_path / "huge.json"
    answer.write_text(json.dumps(_answer([_record(156, 5), _record(702, 10**40)])))
    as_csv = tmp_path / "huge.csv"
    _write_chunk(as_csv, [_record(156, 5), _record(702, 10**40)])
    for src, where in ((answer, "record 2"), (as_csv, "line 3")):
        assert main(["ingest", str(src), "--out", str(tmp_path / "store")]) == 2
        err = capsys.readouterr().err
        assert f"{src.name}: {where}: " in err and "above USD 10 trillion" in err
    assert main(["ingest", str(answer), "--out", str(tmp_path / "store"), "--lenient", "-q"]) == 0
    (entry,) = read_audit(tmp_path / "store")["files"]
    assert entry["dropped"] == {"bad_amount": 1}
