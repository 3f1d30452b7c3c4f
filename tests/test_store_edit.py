"""A store you can correct: list its files, remove some, read one again with other options."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import small_world
from tradeflows._errors import TradeflowsInputError
from tradeflows._store import check_store, ingest, read_audit, remove, scan_store, store_files
from tradeflows.cli import main


def _data(store: Path) -> dict[str, str]:
    """The data folder's files (relative to it) and the hash of their bytes."""
    folder = store / read_audit(store)["data"]
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def _entries(store: Path) -> list[dict]:
    """The audit's file entries without their times."""
    return [{k: v for k, v in e.items() if k != "ingested"} for e in read_audit(store)["files"]]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = small_world(tmp_path_factory.mktemp("edit"), seed=11, preset=None, n_others=8,
                      n_products=8, pairs_per_product=15, episodes=2, lookalikes=2)  # fmt: skip
    files = sorted((out / "comtrade").glob("*.csv"))
    assert len(files) >= 3
    return files


def test_remove_then_ingest_again_gives_back_the_store_byte_for_byte(tmp_path, world):
    store = tmp_path / "store"
    *first, last = world
    ingest(first, store)
    ingest([last], store)
    before, entries, rows = _data(store), _entries(store), read_audit(store)["store"]["rows"]
    doc = remove(store, [last.name])
    assert doc["removed"] == [str(last)]
    assert [e["source"] for e in doc["files"]] == [f.name for f in first]
    left = scan_store(store).collect()
    assert last.name not in set(left["source"]) and left.height == doc["store"]["rows"] < rows
    assert doc["store"]["rows"] == sum(e["rows_kept"] - e["superseded_later"] for e in doc["files"])
    ingest([last], store)
    assert _data(store) == before
    assert _entries(store) == entries


@pytest.mark.parametrize("damage", ["truncated", "missing", "extra"])
def test_store_list_says_which_data_file_is_damaged(tmp_path, world, capsys, damage):
    store = tmp_path / "store"
    ingest(world[:2], store)
    rows = read_audit(store)["store"]["rows"]
    assert check_store(store) == rows == scan_store(store).collect().height
    assert main(["store", "list", str(store)]) == 0
    assert f"2 files, {rows} rows stored" in capsys.readouterr().out
    files = sorted((store / read_audit(store)["data"]).rglob("*.parquet"))
    victim = files[-1]
    if damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:200])
    elif damage == "missing":
        victim.unlink()
    else:  # a copy of a file: more rows than the audit counts
        shutil.copy(files[0], files[0].with_name("extra.parquet"))  # in its year's folder
    audit_before = (store / "audit.json").read_bytes()
    assert main(["store", "list", str(store)]) == 2
    out, err = capsys.readouterr()
    # The listing is still shown; the count is not vouched for; one line says what is wrong.
    assert all(str(f) in out for f in world[:2]) and "rows stored" not in out
    assert len(err.strip().splitlines()) == 1
    if damage == "truncated":
        assert f"{victim.relative_to(store)} is damaged" in err
    else:
        assert f"where the audit says {rows}; the store is damaged" in err
    with pytest.raises(TradeflowsInputError, match="damaged"):
        check_store(store)
    assert (store / "audit.json").read_bytes() == audit_before


def test_store_list_and_remove_on_the_command_line(tmp_path, world, capsys):
    store = tmp_path / "store"
    assert main(["ingest", *map(str, world[:2]), "--out", str(store), "-q"]) == 0
    table = store_files(store)
    assert table["path"].to_list() == [str(f) for f in world[:2]]
    assert (table["rows_read"] == table["rows_kept"] + table["rows_dropped"]).all()
    assert main(["store", "list", str(store)]) == 0
    out = capsys.readouterr().out
    for e in read_audit(store)["files"]:
        assert e["sha256"] in out and f"read {e['rows_read']}, kept {e['rows_kept']}" in out
    # By sha256 prefix; an unknown name changes nothing.
    sha = read_audit(store)["files"][1]["sha256"][:12]
    snapshot = _data(store)
    assert main(["store", "remove", str(store), "no-such-file.csv"]) == 2
    assert "no ingested file 'no-such-file.csv'" in capsys.readouterr().err
    assert _data(store) == snapshot
    assert main(["store", "remove", str(store), sha]) == 0
    assert len(read_audit(store)["files"]) == 1
    # Removing the last file leaves an empty store that takes files again.
    assert main(["store", "remove", str(store), str(world[0])]) == 0
    doc = read_audit(store)
    assert doc["files"] == [] and doc["data"] is None and doc["store"]["rows"] == 0
    assert scan_store(store).collect().height == 0
    assert main(["ingest", str(world[0]), "--out", str(store), "-q"]) == 0
    assert scan_store(store).collect().height == read_audit(store)["store"]["rows"] > 0


def test_replace_reads_a_file_again_with_new_options(tmp_path):
    src = tmp_path / "thousands.csv"
    src.write_text("month,from,to,code,flow,value\n2024-03,DE,KG,85423190,2,5\n", encoding="utf-8")
    mapping = ["--map", "period=month", "--map", "reporter=from", "--map", "partner=to",
               "--map", "hs=code", "--map", "flow=flow", "--map", "value_usd=value"]  # fmt: skip
    store = str(tmp_path / "store")
    assert main(["ingest", str(src), "--out", store, *mapping, "-q"]) == 0
    assert scan_store(store).collect()["value_usd"].to_list() == [5.0]
    # The same bytes with another scale: skipped, and the message says why and what to do.
    assert main(["ingest", str(src), "--out", store, *mapping, "--value-scale", "1000"]) == 0
    doc = read_audit(store)
    assert scan_store(store).collect()["value_usd"].to_list() == [5.0]
    assert main(["ingest", str(src), "--out", store, *mapping, "--value-scale", "1000",
                 "--replace"]) == 0  # fmt: skip
    assert scan_store(store).collect()["value_usd"].to_list() == [5000.0]
    (entry,) = read_audit(store)["files"]
    assert (
        entry["options"]["value_scale"] == 1000.0 and entry["sha256"] == doc["files"][0]["sha256"]
    )


def test_skipped_file_with_other_options_says_so(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text("month,from,to,code,flow,value\n2024-03,DE,KG,85423190,2,5\n", encoding="utf-8")
    mapping = {"period": "month", "reporter": "from", "partner": "to", "hs": "code",
               "flow": "flow", "value_usd": "value"}  # fmt: skip
    ingest([src], tmp_path / "s", mapping=mapping)
    doc = ingest([src], tmp_path / "s", mapping=mapping, value_scale=1000.0)
    assert doc["skipped"] == [str(src)]
    assert "value_scale 1000.0: use --replace" in doc["skipped_reasons"][0]
    doc = ingest([src], tmp_path / "s", mapping=mapping)
    assert doc["skipped_reasons"] == ["already in the store"]


def test_lenient_that_stores_nothing_exits_2_with_the_reasons(tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_text("month,from,to,code,flow,value\n2024-03,XX,KG,85423190,2,5\n"
                   "2024-03,DE,KG,85423190,9,5\n", encoding="utf-8")  # fmt: skip
    args = ["ingest", str(src), "--out", str(tmp_path / "store"), "--lenient",
            "--map", "period=month", "--map", "reporter=from", "--map", "partner=to",
            "--map", "hs=code", "--map", "flow=flow", "--map", "value_usd=value"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nothing stored" in err and "all 2 rows dropped" in err
    assert "unknown_country 1" in err and "bad_flow 1" in err
    assert not (tmp_path / "store").exists()


def test_lenient_skips_an_unrecognised_file_in_a_folder_and_records_it(tmp_path, world, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(world[0], folder / world[0].name)
    (folder / "notes.csv").write_text("remark,author\nchecked,me\n", encoding="utf-8")
    store = tmp_path / "store"
    assert main(["ingest", str(folder), "--out", str(store)]) == 2  # strict: refused
    assert not store.exists()
    assert main(["ingest", str(folder), "--out", str(store), "--lenient"]) == 0
    err = capsys.readouterr().err
    assert "skipped (unrecognised_file, recorded in the audit)" in err and "notes.csv" in err
    doc = read_audit(store)
    assert [e["path"] for e in doc["files"]] == [str(folder / world[0].name)]
    (skipped,) = doc["unrecognised_files"]
    assert skipped["reason"] == "unrecognised_file" and skipped["path"].endswith("notes.csv")
    # A folder of nothing but unrecognised files stores nothing: exit 2.
    only = tmp_path / "only"
    only.mkdir()
    shutil.copy(folder / "notes.csv", only / "notes.csv")
    assert main(["ingest", str(only), "--out", str(tmp_path / "s2"), "--lenient"]) == 2
    assert "nothing stored" in capsys.readouterr().err


def test_a_store_inside_a_folder_is_not_read_as_a_source(tmp_path, world):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(world[0], folder / world[0].name)
    store = folder / "store"
    first = ingest([folder], store)
    again = ingest([folder], store)
    assert again["skipped"] == [str(folder / world[0].name)]
    assert read_audit(store)["store"]["rows"] == first["store"]["rows"]
    assert [e["path"] for e in read_audit(store)["files"]] == [str(folder / world[0].name)]
    with pytest.raises(TradeflowsInputError, match="no ingested file"):
        remove(store, ["elsewhere.csv"])
    assert json.loads((store / "audit.json").read_text())["files"]
    assert pl.read_parquet(next((store / read_audit(store)["data"]).rglob("*.parquet"))).height


def test_a_store_read_while_an_ingest_commits_is_read_again_not_called_damaged(
    tmp_path, world, monkeypatch, capsys
):
    # An ingest replaces audit.json, then removes the data folder the old one
    # named: a reader between the two found that folder gone ("the store is
    # damaged"), a false alarm now that `store list` checks the data.
    import tradeflows._store as store_module

    store = tmp_path / "store"
    ingest(world[:1], store)
    real = store_module._data_files
    calls: list[str] = []
    committing = []

    def commit_meanwhile(where, doc):
        if not committing:  # the reader has read the audit; a second ingest commits now
            committing.append(True)
            monkeypatch.setattr(store_module, "_data_files", real)  # the ingest's own reads
            ingest(world[1:2], store)
            monkeypatch.setattr(store_module, "_data_files", commit_meanwhile)
        calls.append(doc["data"])
        return real(where, doc)

    monkeypatch.setattr(store_module, "_data_files", commit_meanwhile)
    assert main(["store", "list", str(store)]) == 0
    rows = read_audit(store)["store"]["rows"]
    assert f"2 files, {rows} rows stored" in capsys.readouterr().out
    assert len(calls) == 2 and calls[0] != calls[1]  # read again, at the folder now named
    # Damage that stays is still damage: the audit names the folder that failed.
    calls.clear()
    monkeypatch.setattr(store_module, "_data_files", real)
    (victim,) = sorted((store / read_audit(store)["data"]).rglob("*.parquet"))[-1:]
    victim.unlink()
    with pytest.raises(TradeflowsInputError, match="the store is damaged"):
        check_store(store)
