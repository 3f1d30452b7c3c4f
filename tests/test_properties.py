"""Property-based tests of the readers: whatever bytes a file holds, ingest either
refuses it (exit 2, one line) or stores exactly what it says, never a traceback.

Hypothesis draws the files: random bytes, truncations, encodings, delimiters,
ragged rows, huge fields, quotes and control characters inside fields. The
examples are derandomised (the same ones on every run, so CI does not flake);
the counts add up to 2,000 (``EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tradeflows._reference import iso3_codes
from tradeflows._store import read_audit, scan_store
from tradeflows.cli import main

#: Examples per property; 2,000 in all.
EXAMPLES = {"structured": 1_000, "bytes": 600, "damaged": 400}

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

COLUMNS = [
    "period",
    "reporterCode",
    "partnerCode",
    "flowCode",
    "cmdCode",
    "cmdDesc",
    "primaryValue",
]
REPORTERS = {"490": "TWN", "458": "MYS", "702": "SGP", "156": "CHN", "842": "USA"}
CODES = ["847150", "854231", "854232", "847330", "851762"]


def _ingest(path: Path, store: Path, *extra: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["ingest", str(path), "-o", str(store), "-q", *extra])
    return code, err.getvalue()


def _check_outcome(code: int, err: str, store: Path) -> pl.DataFrame | None:
    """Exit 2 with one line, or exit 0 and a store whose audit adds up; the stored rows."""
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("tradeflows: error: "), err
        return None
    doc = read_audit(store)
    for f in doc["files"]:
        assert f["rows_read"] == f["rows_kept"] + f["rows_dropped"]
    rows = scan_store(store).collect()
    assert rows.height == doc["store"]["rows"]
    known = iso3_codes() | {"WLD"}
    assert set(rows["reporter"]) <= known and set(rows["partner"]) <= known
    assert all(math.isfinite(v) and 0 <= v <= 1e13 for v in rows["value_usd"])
    return rows


# A field: a valid value, or text that is hostile to a CSV parser.
_HOSTILE_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            '"',
            '""',
            "a,b",
            "a;b",
            "a\tb",
            "a|b",
            "x\ny",
            "\r",
            "nan",
            "-inf",
            "1e309",
            "-5",
            "1,5",
            "1.234,5",
            "=1+2",
            "\x00",
            "\x1b[2J",
        ]
    ),
    st.integers(min_value=60_000, max_value=200_000).map(lambda n: "9" * n),
)


@st.composite
def _table(draw):
    """Rows of the Comtrade+ columns: mostly valid, with hostile fields mixed in.

    Returns the rows (lists of text) and, for each row, the value it should be
    stored with, or None when the row is not plainly valid.
    """
    n = draw(st.integers(min_value=1, max_value=6))
    rows, expected = [], []
    for i in range(n):
        reporter = draw(st.sampled_from(sorted(REPORTERS)))
        # Distinct partners and months keep valid rows distinct flows.
        row = {
            "period": f"2023{(i % 12) + 1:02d}",
            "reporterCode": reporter,
            "partnerCode": "36" if reporter != "36" else "40",
            "flowCode": draw(st.sampled_from(["X", "M"])),
            "cmdCode": CODES[i % len(CODES)],
            "cmdDesc": draw(st.sampled_from(["Computers", "Chips, integrated", 'Say "hi"'])),
            "primaryValue": str(draw(st.integers(min_value=0, max_value=10**9))),
        }
        valid = True
        if draw(st.integers(min_value=0, max_value=3)) == 0:  # one hostile field
            column = draw(st.sampled_from(COLUMNS))
            row[column] = draw(_HOSTILE_TEXT)
            valid = False
        rows.append([row[c] for c in COLUMNS])
        expected.append(float(row["primaryValue"]) if valid else None)
    return rows, expected


def _render(rows: list[list[str]], delimiter: str, quote_all: bool) -> str:
    import csv

    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=delimiter, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\n",
    )  # fmt: skip
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=EXAMPLES["structured"], **SETTINGS)
@given(
    table=_table(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    quote_all=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252"]),
    compress=st.booleans(),
    lenient=st.booleans(),
    ragged=st.integers(min_value=-1, max_value=5),
)
def test_a_delimited_file_is_refused_or_stored_exactly(
    table, delimiter, quote_all, encoding, compress, lenient, ragged
):
    rows, expected = table
    if 0 <= ragged < len(rows):  # one row with a field too many or too few
        rows[ragged] = rows[ragged] + ["extra"] if ragged % 2 else rows[ragged][:-1]
        expected[ragged] = None
    text = _render(rows, delimiter, quote_all)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8", errors="surrogatepass")
        expected = [None] * len(expected)  # not what the encoding was meant to hold
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / ("in.csv.gz" if compress else "in.csv")
        src.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        code, err = _ingest(src, Path(tmp) / "store", *(["--lenient"] if lenient else []))
        stored = _check_outcome(code, err, Path(tmp) / "store")
        event("stored" if code == 0 else "refused")
        if all(v is not None for v in expected):
            event("valid file")
            assert code == 0, err  # a valid file is stored...
            assert sorted(stored["value_usd"].to_list()) == sorted(expected)  # ...exactly


@settings(max_examples=EXAMPLES["bytes"], **SETTINGS)
@given(
    prefix=st.sampled_from(
        [
            b"",
            ",".join(COLUMNS).encode() + b"\n",
            b"PAR1",
            b"PK\x03\x04",
            b"\x1f\x8b",
            b"\xef\xbb\xbf",
        ]
    ),
    body=st.binary(max_size=3000),
    suffix=st.sampled_from([".csv", ".parquet", ".xlsx", ".gz", ".txt"]),
)
def test_random_bytes_are_refused_or_stored_never_a_traceback(prefix, body, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"in{suffix}"
        src.write_bytes(prefix + body)
        code, err = _ingest(src, Path(tmp) / "store", "--lenient")
        _check_outcome(code, err, Path(tmp) / "store")


@settings(max_examples=EXAMPLES["damaged"], **SETTINGS)
@given(
    table=_table(),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flip=st.integers(min_value=0, max_value=10_000),
    kind=st.sampled_from(["truncate", "flip", "gzip-truncate", "parquet-truncate"]),
)
def test_damaged_files_are_refused_or_stored_never_a_traceback(table, cut, flip, kind):
    rows, _ = table
    text = _render(rows, ",", False).encode()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if kind == "parquet-truncate":
            good = tmp / "good.csv"
            good.write_bytes(_render([[r[0], "490", "458", "X", "847150", "x", "1"]
                                      for r in rows], ",", False).encode())  # fmt: skip
            if _ingest(good, tmp / "s0")[0] != 0:
                return
            scan_store(tmp / "s0").collect().write_parquet(tmp / "whole.parquet")
            data = (tmp / "whole.parquet").read_bytes()
            src = tmp / "in.parquet"
        elif kind == "gzip-truncate":
            data, src = gzip.compress(text, mtime=0), tmp / "in.csv.gz"
        else:
            data, src = text, tmp / "in.csv"
        if kind == "flip" and data:
            i = flip % len(data)
            data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
        else:
            data = data[: int(len(data) * cut)]
        src.write_bytes(data)
        code, err = _ingest(src, tmp / "store")
        _check_outcome(code, err, tmp / "store")
