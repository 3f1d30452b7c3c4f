"""The store: audit equation, re-ingest adds nothing, failures leave it untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import comtrade_csv, comtrade_row
from tradeflows._errors import TradeflowsInputError
from tradeflows._store import _WHOLE_CHUNKS, ingest, read_audit, scan_store


def snapshot(store: Path) -> dict[str, str]:
    """Every file under the store and the hash of its bytes."""
    return {
        str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(store.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def two_files(tmp_path):
    a = comtrade_csv(
        tmp_path / "a.csv",
        [
            comtrade_row(period="202301", value="100"),
            comtrade_row(period="202301", partner="0", value="100"),
            comtrade_row(period="202302", value="120"),
        ],
    )
    b = comtrade_csv(
        tmp_path / "b.csv",
        [
            comtrade_row(period="202302", value="120"),  # overlapping download: same report
            comtrade_row(period="202303", value="130"),
            comtrade_row(period="202212", value="90"),
        ],
    )
    return a, b


def test_audit_equation_and_partitions(tmp_path, two_files):
    store = tmp_path / "store"
    doc = ingest(two_files, store)
    for entry in doc["files"]:
        assert entry["rows_read"] == entry["rows_kept"] + entry["rows_dropped"]
    assert doc["totals"]["dropped"] == {"duplicate_exact": 1, "partner_world_beside_detail": 1}
    assert doc["store"]["rows"] == 4 == scan_store(store).collect().height
    assert sorted(p.name for p in (store / doc["data"]).iterdir()) == ["year=2022", "year=2023"]


def test_same_file_twice_adds_nothing(tmp_path, two_files):
    store = tmp_path / "store"
    ingest(two_files[:1], store)
    before = snapshot(store)
    doc = ingest(two_files[:1], store)
    assert doc["skipped"] == [str(two_files[0])]
    assert snapshot(store) == before


def test_revised_download_supersedes_and_is_counted(tmp_path, two_files):
    store = tmp_path / "store"
    ingest(two_files, store)
    revised = comtrade_csv(tmp_path / "revised.csv", [comtrade_row(period="202303", value="135")])
    doc = ingest([revised], store)
    values = scan_store(store).filter(pl.col("period") == pl.date(2023, 3, 1)).collect()
    assert values["value_usd"].to_list() == [135.0]
    by_source = {e["source"]: e for e in doc["files"]}
    assert by_source["b.csv"]["superseded_later"] == 1
    kept = sum(e["rows_kept"] - e["superseded_later"] for e in doc["files"])
    assert kept == doc["store"]["rows"] == 4


def test_failed_ingest_leaves_store_untouched(tmp_path, two_files):
    store = tmp_path / "store"
    ingest(two_files[:1], store)
    before = snapshot(store)
    bad = comtrade_csv(tmp_path / "bad.csv", [comtrade_row(reporter="12345")])
    with pytest.raises(
        TradeflowsInputError, match=r"bad.csv: line 2: unknown country code: reporter '12345'"
    ):
        ingest([two_files[1], bad], store)
    assert snapshot(store) == before


def test_a_failure_while_a_chunk_is_written_leaves_no_file_behind(tmp_path, two_files, monkeypatch):
    """Beyond the spool's budget a chunk's rows are written in a thread while the next
    chunk is cleaned: when the cleaning fails, the write in flight ends before the
    new folder is removed, and the store is as it was."""
    import threading
    import time

    import tradeflows._chunked as chunked
    import tradeflows._store as store_module

    store = tmp_path / "store"
    ingest(two_files[:1], store)
    before = snapshot(store)
    writing = threading.Event()
    write_part = chunked._write_part

    def slow_write(df, path):  # the first chunk's file still being written ...
        writing.set()
        time.sleep(0.3)
        path.parent.mkdir(parents=True, exist_ok=True)  # what lands if nobody waits
        write_part(df, path)

    clean_chunk = store_module.clean_chunk

    def fail_second(parts, revision, engine, *, offset, idle):  # ... when the second chunk fails
        if offset > 0:
            assert writing.wait(5)
            raise RuntimeError("cleaning failed")
        return clean_chunk(parts, revision, engine, offset=offset, idle=idle)

    monkeypatch.setattr(chunked, "_write_part", slow_write)
    monkeypatch.setattr(store_module, "clean_chunk", fail_second)
    with pytest.raises(RuntimeError, match="cleaning failed"):
        ingest([two_files[1]], store, chunk_rows=1, spool_bytes=0)
    time.sleep(0.5)  # a write left running would land in this time
    assert snapshot(store) == before
    assert not [p for p in store.iterdir() if p.name.endswith(".tmp")]


def test_lenient_drops_and_counts(tmp_path):
    bad = comtrade_csv(tmp_path / "bad.csv", [comtrade_row(reporter="12345"), comtrade_row()])
    doc = ingest([bad], tmp_path / "store", lenient=True)
    assert doc["totals"]["dropped"] == {"unknown_country": 1}
    assert doc["store"]["rows"] == 1


def test_not_a_store(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("hi")
    with pytest.raises(TradeflowsInputError, match="not a tradeflows store"):
        read_audit(tmp_path / "x")


def test_streaming_engine_gives_the_same_store(tmp_path, two_files):
    a = ingest(two_files, tmp_path / "cpu", engine="cpu")
    b = ingest(two_files, tmp_path / "streaming", engine="streaming")
    assert a["totals"] == b["totals"]
    assert (
        scan_store(tmp_path / "cpu").collect().equals(scan_store(tmp_path / "streaming").collect())
    )


def test_fast_path_and_exact_fallback(tmp_path):
    clean_file = comtrade_csv(tmp_path / "clean.csv", [comtrade_row(value="5")])
    bad_value = comtrade_csv(tmp_path / "bad.csv", [comtrade_row(value="12O0"), comtrade_row()])
    doc = ingest([clean_file, bad_value], tmp_path / "store", lenient=True)
    by_source = {e["source"]: e for e in doc["files"]}
    assert by_source["clean.csv"]["read"] == "fast"
    assert by_source["bad.csv"]["read"] == "exact"
    assert by_source["bad.csv"]["dropped"] == {"bad_value": 1}


def test_latin1_byte_in_a_used_column_is_transcoded_and_counted(tmp_path):
    path = comtrade_csv(tmp_path / "l1.csv", [comtrade_row()])
    data = path.read_bytes().replace(b",C00,", b",C00\xe9,", 1)  # customs code, a column we read
    path.write_bytes(data)
    doc = ingest([path], tmp_path / "store", lenient=True)
    (entry,) = doc["files"]
    assert entry["read"] == "exact" and entry["latin1_bytes_read"] == 1
    assert entry["rows_read"] == entry["rows_kept"] + entry["rows_dropped"] == 1


def test_identical_files_in_one_call_are_read_once(tmp_path, two_files):
    copy = tmp_path / "copy_of_a.csv"
    copy.write_bytes(two_files[0].read_bytes())
    doc = ingest([two_files[0], copy], tmp_path / "store")
    assert doc["skipped"] == [str(copy)]
    assert doc["skipped_reasons"] == ["the same bytes as another file of this call"]
    assert [e["source"] for e in doc["files"]] == ["a.csv"]
    assert doc["files"][0]["bytes"] == two_files[0].stat().st_size


def test_a_new_file_named_as_a_stored_one_keeps_counts_of_its_own(tmp_path):
    """A later file whose name the store has is named by its path, then by its hash."""
    store = tmp_path / "store"
    paths = []
    for i, folder in enumerate(["one", "two", "two"]):
        (tmp_path / folder).mkdir(exist_ok=True)
        path = comtrade_csv(tmp_path / folder / "x.csv", [comtrade_row(value=str(10 + i))])
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        doc = ingest([path], store)
        paths.append((str(path), sha))
    sources = [e["source"] for e in doc["files"]]
    assert sources == ["x.csv", paths[1][0], f"x.csv@{paths[2][1][:12]}"]
    # The same flow each time, revised: the newest row is the store's, the
    # others counted as superseded in their own file's entry.
    assert [(e["rows_kept"], e["superseded_later"]) for e in doc["files"]] == [
        (1, 1),
        (1, 1),
        (1, 0),
    ]
    assert scan_store(store).collect()["source"].to_list() == [sources[2]]


def test_domestic_exports_in_a_new_file_beside_a_stored_total(tmp_path):
    """A stored X is the total beside a later file's DX for the same flow."""
    store = tmp_path / "store"
    ingest([comtrade_csv(tmp_path / "x.csv", [comtrade_row(flow="X", value="10")])], store)
    doc = ingest([comtrade_csv(tmp_path / "dx.csv", [comtrade_row(flow="DX", value="7")])], store)
    by_source = {e["source"]: e for e in doc["files"]}
    assert by_source["dx.csv"]["dropped"] == {"domestic_export_beside_total": 1}
    assert scan_store(store).collect()["value_usd"].to_list() == [10.0]


def _clean_at_once(files: list[Path], revision: str | None = None) -> pl.DataFrame:
    """The store rows of the whole-frame cleaning: every file's rows in one ``clean``."""
    from tradeflows._clean import ensure_aux
    from tradeflows._io import scan
    from tradeflows._store import _source_names
    from tradeflows.clean import clean, split

    frames = [
        ensure_aux(scan(f).with_columns(source=pl.lit(name), _file=pl.lit(i, dtype=pl.Int32)))
        for i, (f, name) in enumerate(zip(files, _source_names(files), strict=True))
    ]
    # Parsed first: the cleaning's plan over four lazy CSV scans takes 20 s to
    # resolve (each scan's schema inferred again wherever the plan reads it).
    parsed = pl.concat(frames, how="diagonal_relaxed").collect().lazy()
    cleaned = clean(parsed, revision=revision).collect()
    return split(cleaned)[0]


@pytest.mark.parametrize(
    ("spool_bytes", "chunk_rows"),
    [(None, None), (0, 3000), (None, 1000), (None, 3000), (None, 6000), (None, 100), (0, 100)],
)
def test_cleaning_by_chunks_of_periods_equals_cleaning_at_once(tmp_path, spool_bytes, chunk_rows):
    # A world of four yearly files (about 4,700-4,900 rows each) with
    # duplicates, World rows, re-exports and a unit slip; spool_bytes=0 sends
    # every parsed and half-cleaned period to disk. A file of more than
    # _WHOLE_CHUNKS chunks is split in memory by period (chunk_rows=1000,
    # a month or so at a time); a smaller one is kept whole and filtered to
    # the periods of each chunk (3000: a month or two; 6000: a chunk takes a
    # file and part of the next). A period of more than twice chunk_rows
    # (100: every month's 300-500 rows) is cleaned in pieces of some
    # reporters each (_chunked.reporter_pieces), a file of its own each.
    from tests.conftest import small_world

    world = small_world(tmp_path / "w", seed=3, lookalikes=6)
    files = sorted((world / "comtrade").glob("*.csv"))
    assert len(files) >= 3
    heights = [pl.scan_csv(f).select(pl.len()).collect().item() for f in files]
    assert min(heights) > _WHOLE_CHUNKS * 1000 and max(heights) <= _WHOLE_CHUNKS * 3000
    audit = ingest(
        files, tmp_path / "store", spool_bytes=spool_bytes, chunk_rows=chunk_rows, revision="HS2017"
    )
    got = scan_store(tmp_path / "store").collect()
    want = _clean_at_once(files, revision="HS2017").select(got.columns)
    assert got.height == want.height == audit["store"]["rows"]
    assert got.sort(got.columns).equals(want.sort(got.columns))
    assert audit["totals"]["rows_read"] == sum(heights)
    assert audit["totals"]["changed"]["unit_slip_flagged"] == 1
    assert audit["totals"]["dropped"]["duplicate_exact"] > 0
    assert not list(tmp_path.glob(".tradeflows-spool-*"))  # the spool is removed
    if chunk_rows == 100:
        periods = got.select(pl.col("period").n_unique()).item()
        files = list((tmp_path / "store" / audit["data"]).rglob("*.parquet"))
        assert len(files) > 2 * periods


def test_chunks_with_and_without_work_for_each_verb_equal_cleaning_at_once(tmp_path):
    # One period per chunk: each verb that acts only on some rows has them in
    # one month and is left out of the other months' plans.
    rows = [
        *(comtrade_row(period=f"20230{m}", value=str(100 + m)) for m in range(1, 7)),
        # February: domestic exports and re-exports without the total;
        # foreign imports beside the total.
        comtrade_row(period="202302", reporter="842", flow="DX", value="70"),
        comtrade_row(period="202302", reporter="842", flow="RX", value="30"),
        comtrade_row(period="202302", reporter="702", flow="FM", value="5"),
        comtrade_row(period="202302", reporter="702", flow="M", value="10"),
        # March: second partners without their total, customs beside theirs.
        comtrade_row(period="202303", cmd="854231", partner2="458", value="4"),
        comtrade_row(period="202303", cmd="854231", partner2="702", value="6"),
        comtrade_row(period="202303", cmd="854232", value="9"),
        comtrade_row(period="202303", cmd="854232", customs="C01", value="9"),
        # April: a heading and the total beside the subheadings.
        comtrade_row(period="202304", cmd="8471", value="101"),
        comtrade_row(period="202304", cmd="TOTAL", value="500"),
    ]
    f = comtrade_csv(tmp_path / "mixed.csv", rows)
    audit = ingest([f], tmp_path / "store", chunk_rows=1)
    got = scan_store(tmp_path / "store").collect()
    want = _clean_at_once([f]).select(got.columns)
    assert got.sort(got.columns).equals(want.sort(got.columns))
    assert audit["totals"]["dropped"] == {
        "customs_breakdown": 1,
        "foreign_import_beside_total": 1,
        "hs_parent_of_detail": 1,
        "summed_into_total": 1,
        "total_beside_detail": 1,
    }
    assert audit["totals"]["changed"] == {"summed_partner2": 1, "x_from_dx_plus_rx": 1}


_SLIP_SERIES = {"202210": "10", "202211": "12", "202212": "11", "202301": "11000"}
_SLIP_SERIES |= {"202302": "9", "202303": "10", "202304": "11"}


@pytest.mark.parametrize(("spool_bytes", "chunk_rows"), [(0, 1), (None, None)])
def test_a_unit_slip_next_to_a_new_year_is_found(tmp_path, spool_bytes, chunk_rows):
    # The slip is in January 2023; its previous report is in December 2022.
    # One month per chunk, spooled: the slip is in the fourth chunk's file.
    # One chunk: the slip is in the second of the two years' files it wrote.
    rows = [comtrade_row(period=p, value=v) for p, v in _SLIP_SERIES.items()]
    f = comtrade_csv(tmp_path / "slip.csv", rows)
    audit = ingest([f], tmp_path / "store", spool_bytes=spool_bytes, chunk_rows=chunk_rows)
    got = scan_store(tmp_path / "store").sort("period").collect()
    assert got["slip_suspect"].to_list() == [False, False, False, True, False, False, False]
    assert audit["totals"]["changed"]["unit_slip_flagged"] == 1
    assert audit["store"]["years"] == [2022, 2023]


def test_chunks_held_for_the_slips_and_chunks_written_at_once_make_one_store(tmp_path, monkeypatch):
    # Two series, a slip in each: one in December 2022, one in January 2023.
    # One month per chunk. Held in memory, the chunks are written once with
    # their slips; when the budget runs out, they are written at once and
    # the files with a slip written again. Every second chunk held: the
    # December slip is in a held chunk (the third), the January one in a
    # written one (the fourth); the store is that of one chunk held in memory.
    from tradeflows._chunked import Spool

    rows = [comtrade_row(period=p, value=v) for p, v in _SLIP_SERIES.items()]
    values = ["10", "12", "12000", "11", "9", "10", "11"]
    rows += [
        comtrade_row(period=p, cmd="854231", value=v)
        for p, v in zip(_SLIP_SERIES, values, strict=True)
    ]
    f = comtrade_csv(tmp_path / "slips.csv", rows)
    want = ingest([f], tmp_path / "whole")
    reserve, held = Spool.reserve, []

    def every_second(self, size):
        held.append(len(held) % 2 == 0 and reserve(self, size))
        return held[-1]

    monkeypatch.setattr(Spool, "reserve", every_second)
    audit = ingest([f], tmp_path / "store", chunk_rows=1)
    assert held == [True, False, True, False, True, False, True]
    got = scan_store(tmp_path / "store").sort("hs", "period").collect()
    assert got.equals(scan_store(tmp_path / "whole").sort("hs", "period").collect())
    flagged = got.filter("slip_suspect").select("hs", pl.col("period").dt.strftime("%Y%m"))
    assert flagged.rows() == [("847150", "202301"), ("854231", "202212")]
    assert audit["totals"] == want["totals"]
    assert audit["totals"]["changed"]["unit_slip_flagged"] == 2
    assert len(list((tmp_path / "store").glob("data-*/year=*/*.parquet"))) == 7


def test_the_spool_budget_bounds_the_rows_held_for_the_slips(tmp_path, monkeypatch):
    # A budget under the four files' parsed rows: the first files are held
    # in memory, the others spooled; as chunks are cleaned, their kept rows
    # are held while the budget allows and written at once beyond it. The
    # spool never counts more than its budget, both paths run, and the
    # store is the one an ingest with the whole machine's budget writes.
    from tests.conftest import small_world
    from tradeflows._chunked import Spool

    world = small_world(tmp_path / "w", seed=3, lookalikes=6)
    files = sorted((world / "comtrade").glob("*.csv"))
    want = ingest(files, tmp_path / "whole", chunk_rows=1000)
    reserve, seen = Spool.reserve, []

    def watched(self, size):
        fits = reserve(self, size)
        seen.append((fits, self.used, self.budget))
        return fits

    monkeypatch.setattr(Spool, "reserve", watched)
    audit = ingest(files, tmp_path / "store", chunk_rows=1000, spool_bytes=3_000_000)
    assert {fits for fits, _, _ in seen} == {True, False}
    assert all(used <= budget == 3_000_000 for _, used, budget in seen)
    got = scan_store(tmp_path / "store").collect()
    whole = scan_store(tmp_path / "whole").collect()
    assert got.sort(got.columns).equals(whole.sort(got.columns))
    assert audit["totals"] == want["totals"]
    assert audit["totals"]["changed"]["unit_slip_flagged"] == 1


def test_a_unit_slip_in_the_store_stays_marked_and_counted_once(tmp_path):
    # The store's rows of 2023 are cleaned again beside a new file's April:
    # the slip is found again and marked, but it is the first file's change.
    store = tmp_path / "store"
    first = {p: v for p, v in _SLIP_SERIES.items() if p != "202304"}
    rows = [comtrade_row(period=p, value=v) for p, v in first.items()]
    ingest([comtrade_csv(tmp_path / "slip.csv", rows)], store)
    more = comtrade_csv(tmp_path / "april.csv", [comtrade_row(period="202304", value="11")])
    audit = ingest([more], store, chunk_rows=1)
    got = scan_store(store).sort("period").collect()
    assert got["slip_suspect"].to_list() == [False, False, False, True, False, False, False]
    assert [e["changed"] for e in audit["files"]] == [{"unit_slip_flagged": 1}, {}]
    assert audit["totals"]["changed"] == {"unit_slip_flagged": 1}


def test_adding_a_year_keeps_the_other_years_rows(tmp_path, two_files):
    # The second file revises February 2023 and adds December 2022: the store's
    # 2023 rows go through the cleaning again beside the new ones.
    store = tmp_path / "store"
    ingest(two_files[:1], store, spool_bytes=0, chunk_rows=1)
    audit = ingest(two_files[1:], store, spool_bytes=0, chunk_rows=1)
    got = scan_store(store).collect()
    want = _clean_at_once(list(two_files))
    assert got.sort("period").equals(want.sort("period"))
    assert audit["store"]["rows"] == got.height


@pytest.fixture
def in_batches(monkeypatch):
    """Every Comtrade CSV file read as a large one is: in batches, here of 40 rows."""
    import tradeflows._store as store_module

    monkeypatch.setattr(store_module, "BATCH_BYTES", 0)
    monkeypatch.setattr(store_module, "BATCH_ROWS", 40)
    return store_module


def test_files_read_in_batches_give_the_store_and_audit_of_files_read_whole(tmp_path, monkeypatch):
    from tests.conftest import small_world

    world = small_world(tmp_path / "w", seed=5)
    files = sorted((world / "comtrade").glob("*.csv"))
    # A revised report at the end of a file supersedes one of its first batch.
    lines = files[0].read_text().splitlines()
    revised = lines[1].split(",")
    revised[-4] = str(float(revised[-4]) + 7)  # primaryValue
    files[0].write_text("\n".join([*lines, ",".join(revised)]) + "\n")
    whole = ingest(files, tmp_path / "whole")
    import tradeflows._store as store_module

    calls = []
    monkeypatch.setattr(store_module, "BATCH_BYTES", 0)
    monkeypatch.setattr(store_module, "BATCH_ROWS", 40)
    original = store_module.scan_batches
    monkeypatch.setattr(store_module, "scan_batches", lambda *a: calls.append(a) or original(*a))
    batched = ingest(files, tmp_path / "batched")
    # (polars before 1.44 reads them whole: tradeflows._store.BATCHES)
    assert len(calls) == (len(files) if store_module.BATCHES else 0)
    assert whole["totals"]["rows_read"] > 40 * len(files)

    def entries(doc):
        return [{k: v for k, v in e.items() if k != "ingested"} for e in doc["files"]]

    assert entries(batched) == entries(whole) and batched["totals"] == whole["totals"]
    assert whole["totals"]["dropped"].get("duplicate_superseded") == 1
    assert (
        scan_store(tmp_path / "batched").collect().equals(scan_store(tmp_path / "whole").collect())
    )


def test_a_small_file_of_more_rows_than_a_batch_is_read_in_batches(tmp_path, monkeypatch):
    """Rows, not only bytes, choose batches: a file of 86 MB and 534k rows is read
    faster in batches of 500k rows than whole (tradeflows._store.BATCH_BYTES)."""
    import tradeflows._store as store_module

    monkeypatch.setattr(store_module, "BATCH_ROWS", 40)
    calls = []
    original = store_module.scan_batches
    monkeypatch.setattr(store_module, "scan_batches", lambda *a: calls.append(a) or original(*a))
    rows = _distinct_rows()
    many = comtrade_csv(tmp_path / "many.csv", rows)
    few = comtrade_csv(tmp_path / "few.csv", rows[:30])
    assert many.stat().st_size < store_module.BATCH_BYTES
    doc = ingest([many, few], tmp_path / "store")
    # (polars before 1.44 reads them whole: tradeflows._store.BATCHES)
    assert [Path(c[0]).name for c in calls] == (["many.csv"] if store_module.BATCHES else [])
    assert [e["rows_read"] for e in doc["files"]] == [120, 30]


def _distinct_rows() -> list[str]:
    """120 Comtrade rows, each its own report: ten partners, twelve months."""
    partners = ["156", "392", "410", "702", "764", "344", "784", "699", "36", "76"]
    return [
        comtrade_row(period=f"2023{m:02d}", partner=p, value=str(100 + m))
        for p in partners
        for m in range(1, 13)
    ]


@pytest.mark.parametrize(
    ("index", "edit", "line", "reason"),
    [
        # A value the fast path cannot parse, in the third batch.
        (97, lambda row: row.rsplit(",", 4)[0] + ',12O0,"",true,false', 99, "bad_value"),
        # One field short, its last column empty: found only after the last batch.
        (5, lambda row: row.rsplit(",", 2)[0] + ",", 7, "ragged_row"),
    ],
)
def test_a_bad_row_in_a_file_read_in_batches_reads_it_again_exactly(
    tmp_path, in_batches, index, edit, line, reason
):
    rows = _distinct_rows()
    rows[index] = edit(rows[index])
    bad = comtrade_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(TradeflowsInputError, match=rf"bad\.csv.* line {line}\b"):
        ingest([bad], tmp_path / "strict")
    # What the batches read before the error added is taken back: each row once.
    doc = ingest([bad], tmp_path / "store", lenient=True)
    (entry,) = doc["files"]
    assert entry["read"] == "exact" and entry["dropped"] == {reason: 1}
    assert entry["rows_read"] == 120 and doc["store"]["rows"] == 119


@pytest.mark.parametrize(
    "name",
    [
        "economic_warfare_portfolio/semiconductor_trade_CHN_M_USA_8542_annual.csv",
        "hkhsieh_trade_cal/comtrade_legacy_871200_world_2016_2019.csv",
        "tw_semiconductor_tariff_lab/ic_exports_comparison_uncomtrade_2013_2024.csv",
        "tw_semiconductor_tariff_lab/ic_exports_world_HS8542_raw.csv",  # read exactly
    ],
)
def test_real_comtrade_files_read_in_batches_as_read_whole(tmp_path, realdata, monkeypatch, name):
    """Real files' quirks (second-partner rows beside totals, legacy columns, trailing
    commas, values the fast path refuses) come out of batches as out of one read."""
    import tradeflows._store as store_module

    path = realdata / name
    whole = ingest([path], tmp_path / "whole", lenient=True)
    monkeypatch.setattr(store_module, "BATCH_BYTES", 0)
    monkeypatch.setattr(store_module, "BATCH_ROWS", 7)
    batched = ingest([path], tmp_path / "batched", lenient=True)
    drop = {"ingested"}
    assert [{k: v for k, v in e.items() if k not in drop} for e in batched["files"]] == [
        {k: v for k, v in e.items() if k not in drop} for e in whole["files"]
    ]
    assert (
        scan_store(tmp_path / "batched").collect().equals(scan_store(tmp_path / "whole").collect())
    )
