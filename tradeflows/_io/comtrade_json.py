"""Comtrade+ API answers saved as JSON, read as the Comtrade+ CSV they stand for.

An answer of the data API (``data/v1/get``, saved by hand, by comtradr's
recorded tests, or by ``comtradeapicall``) is ``{"elapsedTime", "count",
"data": [records], "error"}``, each record the 47 fields of Comtrade+ final
data; a list of such records (pandas' ``to_json(orient="records")``) is read
too. The records become text columns (a number as the shortest text that
reads back to the same double: the value the CSV download of the same records
gives), and :func:`scan_comtrade` translates them as it does a CSV download.
A record's number (from 1) is its ``row``, quoted by an error as ``record N``.
Python's JSON parser reads the answer (polars' ``read_json`` took four times
as long on an answer of 250,000 records; ``benchmarks/bench_json.py`` measures
the whole ingest).

A saved answer is untrusted input: one that is not JSON, that holds fewer
records than its ``count`` (a truncated download) or exactly as many as a
call of the API returns at most (:data:`API_CAPS`), that carries the API's
error, that lists bulk files instead of records, or whose records are not
flat records of plain values is refused with one line saying which.
"""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from pathlib import Path

import polars as pl

from tradeflows._errors import TradeflowsInputError, one_line
from tradeflows._io._common import column_key
from tradeflows._io._text import file_identity, is_gzip
from tradeflows._io.comtrade import (
    COMTRADE_PLUS_COLUMNS,
    COMTRADE_SIGNATURE,
    looks_like_comtrade,
    scan_comtrade,
)

__all__ = [
    "API_CAPS",
    "DATA_CAPS",
    "answer_problem",
    "comtrade_json_records",
    "looks_like_json",
    "read_comtrade_json",
]

#: Records a data call of the API returns at most (100,000 or 250,000, as
#: subscriptions allow), and the preview's 500 (no key): an answer holding
#: exactly that many was most likely cut there, and says nothing of it.
DATA_CAPS = (100_000, 250_000)
API_CAPS = (500, *DATA_CAPS)
_SCALARS = (str, int, float, bool, type(None))


def _open(path: Path):
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def looks_like_json(path: str | Path) -> bool:
    """Whether a file (gzipped or not) starts, past a byte-order mark and blanks, with ``{`` or ``[``.

    Parameters
    ----------
    path : str or Path
        A file.

    Returns
    -------
    bool

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "answer.json"
    >>> _ = p.write_text('  {"count": 0, "data": []}')
    >>> looks_like_json(p)
    True
    """
    try:
        with _open(Path(path)) as f:
            head = f.read(4096)
    except (EOFError, OSError, zlib.error):
        return False
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1] in (b"{", b"[")


def answer_problem(
    doc: object, caps: tuple[int, ...] = API_CAPS, values: bool = True
) -> str | None:
    """Why a Comtrade+ data answer is not a complete one; None when it is.

    Parameters
    ----------
    doc : object
        The parsed JSON.
    caps : tuple of int
        Numbers of records that say an answer was cut at the API's cap
        (the fetcher checks those itself, without retrying).
    values : bool
        Check that every value is plain (text, a number, true, false or
        null); the reader checks them column by column instead.

    Returns
    -------
    str or None
        What is wrong, in a few words.

    See Also
    --------
    read_comtrade_json : refuses a saved answer for it.
    tradeflows.fetch.fetch_comtrade : retries a call for it.

    Examples
    --------
    >>> answer_problem({"count": 2, "data": [{"reporterCode": 156}]})
    'holds 1 of the 2 records its count says (a truncated answer)'
    >>> answer_problem({"count": 0, "data": [], "error": ""}) is None
    True
    """
    if isinstance(doc, dict) and doc.get("error") and isinstance(doc.get("error"), str):
        return f"the API's answer is an error: {one_line(doc['error'], 200)}"
    if isinstance(doc, dict) and not isinstance(doc.get("data"), list):
        said = doc.get("message") or doc.get("error")
        if said:
            return f"the API's answer is an error: {one_line(said, 200)}"
        return "a JSON object without a data list (a Comtrade+ answer has count and data)"
    rows = doc["data"] if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        return "JSON that is neither an answer object nor a list of records"
    for i, r in enumerate(rows, start=1):
        if not isinstance(r, dict) or (
            values and not all(isinstance(v, _SCALARS) for v in r.values())
        ):
            return f"record {i} is not a record of plain values"
    count = doc.get("count") if isinstance(doc, dict) else None
    if isinstance(count, int) and not isinstance(count, bool) and count != len(rows):
        return f"holds {len(rows)} of the {count} records its count says (a truncated answer)"
    if len(rows) in caps:
        return (
            f"holds exactly {len(rows):,} records, the most one call of the API returns: "
            "the answer was most likely cut there; ask again in smaller calls"
        )
    return None


#: Column types of plain values: text, numbers, true and false, nulls.
_PLAIN = (pl.String, pl.Boolean, pl.Null)


def _text_column(name: str, rows: list[dict], shown: str) -> pl.Series:
    """One field of every record as text (numbers as the shortest text that reads
    back to the same double); a record whose value is not plain refuses the file.

    polars converts the values; where it cannot hold one (an integer past 64
    bits becomes null), Python writes each value's text instead.
    """
    values = [r.get(name) for r in rows]
    try:
        s = pl.Series(name, values, strict=False)
        held = (s.dtype in _PLAIN or s.dtype.is_numeric()) and s.null_count() == values.count(None)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        held = False
    if held:
        return s.cast(pl.String)
    bad = next((i for i, v in enumerate(values, 1) if not isinstance(v, _SCALARS)), None)
    if bad is not None:
        raise TradeflowsInputError(f"{shown}: record {bad} is not a record of plain values")
    return pl.Series(name, [_json_text(v) for v in values], dtype=pl.String)


def _json_text(v: object) -> str | None:
    """A plain JSON value as text: null stays null, true and false as JSON spells them."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _field_names(rows: list[dict]) -> list[str]:
    """Every record's fields, in the order they first come (records of one answer
    mostly share theirs: only those that differ from the first are read)."""
    if not rows:
        return []
    names, first = dict.fromkeys(rows[0]), rows[0].keys()
    for r in rows:
        if r.keys() != first:
            names.update(dict.fromkeys(r))
    return list(names)


@functools.lru_cache(maxsize=1)
def _records(identity: tuple[str, int, int], shown: str) -> pl.DataFrame:
    """The answer's records as text columns, kept for the next call: recognising
    a file and reading it parse it once (an answer of 250,000 records takes a
    few seconds and a few hundred MB; only the last one is kept)."""
    path = Path(identity[0])
    try:
        with _open(path) as f:
            raw = f.read()
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TradeflowsInputError(
            f"{shown}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise TradeflowsInputError(f"{shown}: JSON that is not UTF-8 text") from None
    except RecursionError:
        raise TradeflowsInputError(f"{shown}: JSON nested too deeply to be an answer") from None
    except (EOFError, OSError, zlib.error) as exc:
        raise TradeflowsInputError(
            f"{shown}: compressed file is truncated or corrupt ({one_line(exc, 200)})"
        ) from None
    if isinstance(doc, list) and doc and isinstance(doc[0], list) and "CTY_CODE" in doc[0]:
        raise TradeflowsInputError(
            f"{shown}: a US Census API answer (a table with CTY_CODE), not Comtrade+ records: "
            "tradeflows fetch census asks the API and reads its answers"
        )
    problem = answer_problem(doc, values=False)
    if problem is None:
        rows = doc["data"] if isinstance(doc, dict) else doc
        # Flat records hold no bracket but their own braces (and the answer's
        # and the list's): then no value is nested, and no value needs a look.
        # A bracket inside a text, or a nested value, has every value looked at.
        if raw.count(b"{") + raw.count(b"[") != len(rows) + (2 if isinstance(doc, dict) else 1):
            problem = answer_problem(doc)
    if problem is not None:
        raise TradeflowsInputError(f"{shown}: {problem}")
    names = _field_names(rows) or list(COMTRADE_PLUS_COLUMNS)
    keys = {column_key(n) for n in names}
    if "fileurl" in keys:
        raise TradeflowsInputError(
            f"{shown}: a listing of bulk files (fileUrl, fileSize), not trade records: "
            "download the files it names and ingest those"
        )
    if not looks_like_comtrade(keys):
        wanted = ", ".join(group[0] for group in COMTRADE_SIGNATURE)
        raise TradeflowsInputError(
            f"{shown}: JSON records without the Comtrade+ fields (expected {wanted}; "
            f"found {', '.join(names[:8])}{', ...' if len(names) > 8 else ''})"
        )
    return pl.DataFrame(
        [_text_column(n, rows, shown) for n in names], schema=dict.fromkeys(names, pl.String)
    )


def comtrade_json_records(path: str | Path) -> pl.DataFrame:
    """A saved answer's records as text columns, checked; raises for anything else.

    Parameters
    ----------
    path : str or Path
        A JSON file, gzipped or not.

    Returns
    -------
    DataFrame
        One text column per field, one row per record.

    Raises
    ------
    TradeflowsInputError
        Not JSON, a truncated or failed answer, a bulk-files listing, records
        that are not flat or lack the Comtrade+ fields.
    """
    path = Path(path)
    return _records(file_identity(path), str(path))


def read_comtrade_json(path: str | Path, source: str) -> pl.LazyFrame:
    """Read a saved Comtrade+ API answer into canonical (+ auxiliary) columns.

    Parameters
    ----------
    path : str or Path
        The answer, as the API sent it (``{"count", "data": [...]}``) or a
        list of its records; gzipped or not.
    source : str
        The name its rows carry.

    Returns
    -------
    LazyFrame
        As :func:`tradeflows.scan`; ``row`` is the record's number, from 1.

    Raises
    ------
    TradeflowsInputError
        As :func:`comtrade_json_records`.

    See Also
    --------
    scan_comtrade : the translation shared with the CSV downloads.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "answer.json"
    >>> _ = p.write_text(json.dumps({"count": 1, "data": [{
    ...     "typeCode": "C", "freqCode": "M", "period": "202403", "reporterCode": 458,
    ...     "flowCode": "X", "partnerCode": 156, "cmdCode": "847150",
    ...     "classificationCode": "H6", "primaryValue": 1200000.5}]}))
    >>> lf = read_comtrade_json(p, "answer.json")
    >>> lf.select("period", "reporter", "partner", "hs", "value_usd", "row").collect().row(0)
    (datetime.date(2024, 3, 1), 'MYS', 'CHN', '847150', 1200000.5, 1)
    """
    return scan_comtrade(comtrade_json_records(path).lazy(), source, path, first_row=1)
