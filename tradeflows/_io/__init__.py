"""Readers: recognise a source file from its header and translate it once.

:func:`scan` returns a LazyFrame of canonical columns plus the auxiliary
columns the cleaning needs (see :data:`tradeflows._schema.AUX_COLUMNS`).
:func:`expand_sources` turns files, globs and folders into a list of files.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import glob
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Literal, get_args

import polars as pl

from tradeflows._errors import TradeflowsInputError, one_line
from tradeflows._io._common import column_key, finish, hs_code, iso3_from_code
from tradeflows._io._text import (
    PreparedText,
    ends_in_open_quote,
    file_sha256,
    polars_path,
    prepare_text,
    shown_name,
    starts_with,
)
from tradeflows._io._workbook import is_xlsx, xlsx_table
from tradeflows._io.comtrade import (
    comtrade_batches,
    looks_like_comtrade,
    scan_comtrade,
    typed_columns,
)
from tradeflows._io.comtrade_json import comtrade_json_records, looks_like_json, read_comtrade_json
from tradeflows._io.eurostat import (
    looks_like_comext,
    looks_like_comext_bulk,
    looks_like_sdmx_csv,
    read_comext_xlsx,
    scan_comext,
    scan_comext_bulk,
    scan_sdmx_csv,
)
from tradeflows._io.generic import scan_generic
from tradeflows._schema import CANONICAL, plausible_date

__all__ = [
    "FORMATS",
    "Format",
    "detect_format",
    "expand_sources",
    "file_sha256",
    "is_parquet",
    "one_file",
    "scan",
    "scan_batches",
    "scan_comext",
    "scan_comext_bulk",
    "scan_comtrade",
    "scan_generic",
    "source_list",
]

Format = Literal[
    "comtrade", "comtrade_json", "comext", "comext_xlsx", "sdmx_csv", "comext_bulk", "canonical", "generic"
]  # fmt: skip
FORMATS: tuple[str, ...] = get_args(Format)

#: The Eurostat formats of text read by one reader each, all alike: the
#: columns used read into memory on the fast path, their rows' width checked
#: on that same parse (``in_memory``, ``check``).
_EUROSTAT_READERS = {"comext": scan_comext, "sdmx_csv": scan_sdmx_csv,
                     "comext_bulk": scan_comext_bulk}  # fmt: skip

_EXPECTED = (
    "expected a Comtrade+ file (reporterCode, partnerCode, flowCode, cmdCode, primaryValue) "
    "or saved API answer (JSON), "
    "a legacy Comtrade CSV (Reporter Code, Partner Code, Trade Flow Code, Commodity Code, "
    "Trade Value (US$)), comtradr columns (reporter_iso, partner_iso, trade_flow, "
    "commodity_code, trade_value_usd), a Eurostat Comext extract (REPORTER, PARTNER, PRODUCT, "
    "FLOW, PERIOD, VALUE_IN_EUR) or workbook, Eurostat SDMX-CSV (DATAFLOW, ..., TIME_PERIOD, "
    "OBS_VALUE), a Comext bulk file (DECLARANT_ISO, PARTNER_ISO, PRODUCT_NC, FLOW, PERIOD, "
    "VALUE_IN_EUROS), or a mapping for the generic reader"
)
_DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".gz", ".xlsx", ".parquet", ".7z", ".dat", ".json"}


def source_list(sources: str | Path | Iterable[str | Path]) -> list[str | Path]:
    """``sources`` as a list of paths: one path (a str or a Path) is one source.

    A str is iterable, and read as an iterable it is a list of one-letter
    paths (``"/"`` first: the whole file system). Anything else that is not
    an iterable of paths (a frame, a number) is refused in one line.

    Parameters
    ----------
    sources : str, Path or iterable of them
        Files, folders, globs or stores.

    Returns
    -------
    list of str or Path

    Examples
    --------
    >>> source_list("exports.csv"), source_list(("a.csv", Path("b")))
    (['exports.csv'], ['a.csv', PosixPath('b')])
    >>> source_list(5)
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: sources: expected a path or a list of paths, not int
    """
    if isinstance(sources, (str, os.PathLike)):
        return [sources]
    if isinstance(sources, (pl.DataFrame, pl.LazyFrame)):
        hint = " (frames of rows go to detect_routes and collect_mirror)"
    elif hasattr(sources, "columns"):  # a pandas frame iterates over its column names
        hint = " (polars.from_pandas makes a polars frame of it)"
    elif not isinstance(sources, Iterable):
        hint = ""
    else:
        hint = None
    if hint is not None:
        raise TradeflowsInputError(
            f"sources: expected a path or a list of paths, not {type(sources).__name__}{hint}"
        )
    items = list(sources)
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TradeflowsInputError(f"sources: {item!r} is not a path")
    return items


def expand_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Files, globs and folders -> sorted list of data files.

    A path that exists is taken literally, whatever characters it holds
    (``t[1].csv``, ``exports [2024].csv``, ``star*.csv``). Only a source
    that names no file or folder is read as a glob pattern (``"data/*.csv"``,
    quoted so that the shell leaves it alone); the files it matches are
    taken literally. A folder's files are all the data files under it
    (saved API answers, ``.json``, among them), but for those of a
    tradeflows store inside it, the bundled datasets' ``.audit.json`` and a
    labelled world's ``world.json`` and ``truth.parquet`` (side by side, as
    ``tradeflows synth`` writes them).

    Parameters
    ----------
    sources : str, Path or iterable of them
        Files, folders (every data file inside, a store's own folder left out),
        or globs (a source that names no file).

    Returns
    -------
    list of Path

    See Also
    --------
    tradeflows.scan : each file read.
    tradeflows.ingest : the files into a store.

    Examples
    --------
    >>> expand_sources(["/nonexistent/*.csv"])
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent/*.csv: no such file, folder or matching files
    """
    files: list[Path] = []
    for src in source_list(sources):
        p = Path(src)
        if p.is_symlink() and not p.exists():
            raise TradeflowsInputError(f"{src}: a link to nothing")
        if p.is_dir():
            # A store inside the folder (its audit.json) is not a source: its
            # parquet files are the rows of earlier ingests.
            stores = [a.parent for a in p.rglob("audit.json")]
            # A labelled world's description and labels, side by side (``tradeflows
            # synth`` writes them; ``evaluate`` reads them): not trade data.
            labels = {
                f
                for w in p.rglob("world.json")
                if (w.parent / "truth.parquet").is_file()
                for f in (w, w.parent / "truth.parquet")
            }
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in _DATA_SUFFIXES
                and not f.name.startswith(".")
                and not f.name.endswith(".audit.json")  # a bundled dataset's provenance
                and f not in labels
                and not any(f.is_relative_to(s) for s in stores)
            )
            if not found:
                raise TradeflowsInputError(
                    f"{p}: folder holds no data files ({', '.join(sorted(_DATA_SUFFIXES))})"
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise TradeflowsInputError(f"{src}: not a regular file or folder")
        else:
            has_magic = glob.has_magic(str(src))  # type: ignore[attr-defined]
            matched = sorted(Path(m) for m in glob.glob(str(src)) if Path(m).is_file())
            if not has_magic or not matched:
                raise TradeflowsInputError(f"{src}: no such file, folder or matching files")
            files.extend(matched)
    return list(dict.fromkeys(files))


def is_parquet(path: Path) -> bool:
    """True when the file starts with parquet's magic bytes.

    Parameters
    ----------
    path : Path
        A file.

    Returns
    -------
    bool

    See Also
    --------
    tradeflows.scan : which reads canonical parquet as it is.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> pl.DataFrame({'a': [1]}).write_parquet(folder / 'rows.parquet')
    >>> _ = (folder / 'rows.csv').write_text('a\\n1\\n')
    >>> is_parquet(folder / 'rows.parquet'), is_parquet(folder / 'rows.csv')
    (True, False)
    """
    return starts_with(path, b"PAR1")


@contextlib.contextmanager
def _csv_reader(text: PreparedText):
    """A csv.reader over ``text`` that reads fields of any length (a broken quote makes huge ones)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        # utf-8-sig: a byte-order mark goes before the parse, so that a quoted
        # first name ('\ufeff"country"') is read as the name, not with its quotes.
        with open(text.path, encoding="utf-8-sig", errors="replace", newline="") as f:
            yield csv.reader(f, delimiter=text.delimiter)
    except csv.Error as exc:
        raise TradeflowsInputError(
            f"{text.source}: not a readable delimited file ({exc})"
        ) from None
    finally:
        csv.field_size_limit(limit)


def _header_fields(text: PreparedText) -> tuple[list[str], bool, list[list[str]]]:
    """Header names, whether data rows carry one extra trailing empty field, a sample."""
    with _csv_reader(text) as rows:
        header = next(rows)
        sample = [r for _, r in zip(range(5), rows, strict=False) if r]
    header = [h.lstrip("\ufeff") for h in header]
    trailing = bool(sample) and all(len(r) == len(header) + 1 and r[-1] == "" for r in sample)
    return header, trailing, sample


def _check_shape(text: PreparedText, header: list[str], trailing: bool, sample: list) -> None:
    """Refuse a file with no data rows, or whose first rows do not split like its header."""
    if not sample:
        raise TradeflowsInputError(f"{text.source}: no data rows (header only)")
    width = len(header) + trailing
    for line, row in enumerate(sample, start=2):
        if len(row) != width:
            raise TradeflowsInputError(
                f"{text.source}: line {line}: {len(row)} fields where the header has "
                f"{len(header)} (delimiter {text.delimiter!r}); wrong delimiter or a broken row?"
            )


def _fits(fields: int, last_empty: bool, width: int, trailing: bool) -> bool:
    """Whether a row of ``fields`` fields splits like the header (``width`` names)."""
    return fields == width or (trailing and fields == width + 1 and last_empty)


def _scan_rows(
    text: PreparedText, schema: Mapping[str, pl.DataType], *, ragged: bool, lossy: bool
) -> pl.LazyFrame:
    """The data rows of a prepared text file in ``schema``'s columns (the header skipped).

    ``ragged``: a row longer than the schema is cut, not an error (the rows
    are marked apart, :func:`ragged_rows`). ``lossy``: a byte that is not
    UTF-8 is replaced, not an error.
    """
    return pl.scan_csv(
        text.path,
        glob=False,
        separator=text.delimiter,
        has_header=False,
        skip_rows=1,
        schema=dict(schema),
        truncate_ragged_lines=ragged,
        encoding="utf8-lossy" if lossy else "utf8",
    )


@functools.lru_cache(maxsize=64)
def ragged_rows(text: PreparedText, header: tuple[str, ...], trailing: bool) -> tuple[int, ...]:
    """The rows (numbered as the readers number them: line 2 is the first) that do not
    split into the header's fields.

    Every row is checked, not a sample: an unquoted comma in a description
    on line 7 shifts that row's values one column to the right. Polars
    parses the file once more with one column beyond the header's: a row
    with a value there has too many fields. A row whose last column is empty
    may have too few: those rows' lines are read again and their delimiters
    outside quotes counted (Python's csv module reads the whole file instead
    when quotes span lines). A blank line is not ragged (it reads as a row
    of nulls, refused for its missing codes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tradeflows._io._text import prepare_text
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text('a,b,c\\n1,2,3\\n4,"5,5",6\\n7,8,9,10\\n11,12\\n13,14,\\n')
    >>> ragged_rows(prepare_text(p), ("a", "b", "c"), False)
    (4, 5)
    """
    width = len(header)
    if width > 1 and header[-1] == "" and not trailing:
        # A header that ends with a delimiter, like its rows: the empty last
        # field must stay empty (a shifted row puts its last value there).
        width, trailing = width - 1, True
    names = [f"_{i}" for i in range(width)] + (["_trailing"] if trailing else []) + ["_extra"]
    rows = _scan_rows(text, dict.fromkeys(names, pl.String), ragged=True, lossy=True)
    found = rows.select(long=_too_long(trailing), maybe=pl.col(f"_{width - 1}").is_null())
    found = found.with_row_index("row", offset=2).filter(pl.col("long") | pl.col("maybe"))
    found = found.collect()
    too_long = set(found.filter("long")["row"].to_list())
    maybe = found.filter(~pl.col("long"))["row"]
    if maybe.is_empty():
        return tuple(sorted(too_long))
    short = _short_rows(text, width, maybe, rows.select(pl.len()).collect().item())
    if short is None:  # quotes span lines: rows are not lines
        return _ragged_by_csv(text, width, trailing)
    return tuple(sorted(too_long | short))


def _too_long(trailing: bool) -> pl.Expr:
    """Whether a row parsed with one column beyond the header's (``_extra``) has too many fields."""
    long = pl.col("_extra").is_not_null()
    if trailing:
        long = long | (pl.col("_trailing").fill_null("") != "")
    return long


def _short_rows(text: PreparedText, width: int, maybe: pl.Series, rows: int) -> set[int] | None:
    """Which of the rows ``maybe`` (their last column empty) have too few fields.

    Their lines are read again and the delimiters outside quotes counted.
    None when the file's lines are not its ``rows`` rows (quotes span lines).
    """
    lines = pl.scan_csv(
        text.path,
        glob=False,
        has_header=False,
        skip_rows=1,
        separator="\x1f",
        quote_char=None,
        schema={"line": pl.String},
        encoding="utf8-lossy",
    ).with_row_index("row", offset=2)
    try:
        same = lines.select(pl.len()).collect().item() == rows
    except pl.exceptions.PolarsError:  # the separator byte occurs in the file
        same = False
    if not same:
        return None
    line = pl.col("line").str.strip_chars_end("\r")
    outside = line.str.replace_all(r'"[^"]*"', "")
    # A semi-join, not is_in: where most rows' last column is empty (an
    # SDMX-CSV file's flag), is_in a list of a million rows took 2.3 s, the
    # join 0.08 s (benchmarks/RESULTS.md, issue 27).
    wanted = pl.LazyFrame({"row": maybe.cast(pl.Int64)})
    short = (
        lines.with_columns(pl.col("row").cast(pl.Int64))
        .join(wanted, on="row", how="semi")
        .filter(line.fill_null("") != "")
        .filter(outside.str.count_matches(text.delimiter, literal=True) + 1 < width)
        .select("row")
        .collect()
    )
    return set(short["row"].to_list())


class RaggedRowsError(pl.exceptions.ComputeError):
    """The fast path parsed a row that does not split like the header.

    The file must be read again with ``scan(..., fast=False)``, which marks
    such rows (``ragged_row``); ingest does so itself, as for any parse error.
    """


@dataclasses.dataclass(frozen=True)
class WidthCheck:
    """The fast path's check of every row's width, on the typed parse itself.

    The fast parse reads one column beyond the header's (``_extra``): a
    row with a value there has too many fields. A row whose last column is
    empty may have too few: only those rows' lines are read again
    (:func:`ragged_rows` parses the file a second time to find them all).

    Parameters
    ----------
    text : PreparedText
        The file.
    width : int
        The header's number of names.
    last : str
        The header's last name.
    trailing : bool
        Whether data rows carry one extra trailing empty field (``_trailing``).
    """

    text: PreparedText
    width: int
    last: str
    trailing: bool

    @property
    def columns(self) -> list[str]:
        """The columns the check reads."""
        return [self.last, "_extra", *(["_trailing"] if self.trailing else [])]

    #: Lines of the batches seen so far whose last column is empty (:meth:`batch`).
    maybe: list[pl.Series] = dataclasses.field(default_factory=list, repr=False)

    def __call__(self, df: pl.DataFrame) -> None:
        """Raise :class:`RaggedRowsError` if a row of the parsed ``df`` does not fit."""
        self._too_long(df)
        self._too_short(df.get_column(self.last).is_null().arg_true() + 2, df.height)

    def batch(self, df: pl.DataFrame, first_line: int) -> None:
        """The check of one batch of the file, its first row on line ``first_line``:
        a row too long raises here, the rows that may be too short wait for :meth:`done`."""
        self._too_long(df)
        self.maybe.append(df.get_column(self.last).is_null().arg_true().cast(pl.Int64) + first_line)

    def done(self, rows: int) -> None:
        """After the last batch (``rows`` rows in all): the rows that may be too short."""
        maybe = pl.concat(self.maybe) if self.maybe else pl.Series([], dtype=pl.Int64)
        self.maybe.clear()
        self._too_short(maybe, rows)

    def _too_long(self, df: pl.DataFrame) -> None:
        if df.select(_too_long(self.trailing).any()).item():
            raise RaggedRowsError(f"{self.text.source}: a row has more fields than the header")

    def _too_short(self, maybe: pl.Series, rows: int) -> None:
        if maybe.is_empty():
            return
        if _short_rows(self.text, self.width, maybe, rows) != set():
            raise RaggedRowsError(
                f"{self.text.source}: a row may have fewer fields than the header"
            )


def _ragged_by_csv(text: PreparedText, width: int, trailing: bool) -> tuple[int, ...]:
    """:func:`ragged_rows` with Python's csv module (quoted fields that span lines)."""
    with _csv_reader(text) as rows:
        next(rows)
        return tuple(
            i
            for i, r in enumerate(rows, start=2)
            if r and not _fits(len(r), r[-1] == "", width, trailing)
        )


def _header(text: PreparedText) -> tuple[list[str], bool]:
    """The header's names and whether data rows carry one trailing empty field, checked."""
    header, trailing, sample = _header_fields(text)
    _check_shape(text, header, trailing, sample)
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise TradeflowsInputError(f"{text.path}: duplicate column names {dupes}")
    return header, trailing


def _scan_text(
    text: PreparedText,
    types: Callable[[list[str]], Mapping[str, pl.DataType]] | None = None,
) -> tuple[pl.LazyFrame, tuple[int, ...]]:
    """Scan a prepared text file; ``types`` gives dtypes for some header names.

    Returns the scan and its ragged rows (:func:`ragged_rows`), which the
    caller marks once the reader has numbered the rows.
    """
    header, trailing = _header(text)
    typed = types(header) if types else {}
    ragged = ragged_rows(text, tuple(header), trailing)
    names = header + (["_trailing"] if trailing else [])
    schema = {n: typed.get(n, pl.String) for n in names}
    lf = _scan_rows(text, schema, ragged=bool(ragged), lossy=False)
    lf = lf.drop(["_trailing"] if trailing else [])
    return lf, ragged


def _scan_fast(
    text: PreparedText, types: Callable[[list[str]], Mapping[str, pl.DataType]]
) -> tuple[pl.LazyFrame, WidthCheck | None]:
    """The fast path's typed scan, and the check of its rows' width to run once it is parsed.

    Without a check (a header that ends with a delimiter), the rows' width
    was checked by a second parse, :func:`ragged_rows`, and a ragged row
    raises :class:`RaggedRowsError` here.
    """
    if ends_in_open_quote(text.path):
        # polars 1.44's typed parser panics there (in a column typed as a
        # number); the exact path reads the file as text and says what is wrong.
        raise pl.exceptions.ComputeError(f"{text.source}: its last line ends inside quotes")
    header, trailing = _header(text)
    typed = types(header)
    if header[-1] == "" and not trailing:
        lf, ragged = _scan_text(text, types)
        if ragged:
            raise RaggedRowsError(f"{text.source}: line {ragged[0]} does not split like the header")
        return lf, None
    names = [*header, *(["_trailing"] if trailing else []), "_extra"]
    schema = {n: typed.get(n, pl.String) for n in names}
    lf = _scan_rows(text, schema, ragged=True, lossy=False)
    return lf, WidthCheck(text, len(header), header[-1], trailing)


def scan_batches(path: str | Path, rows: int) -> Iterator[pl.LazyFrame]:
    """:func:`scan` of a Comtrade CSV file on the fast path, a batch of ``rows`` rows at a time.

    For files too large to read at once (:func:`tradeflows._io.comtrade.comtrade_batches`):
    each batch's canonical rows, in file order. A polars ``ComputeError``
    (a value that does not parse as typed, a ragged row) may come at any
    batch, or after the last: the file is then read again with ``fast=False``.

    Parameters
    ----------
    path : str or Path
        A Comtrade CSV file (optionally compressed).
    rows : int
        Rows a batch.

    Yields
    ------
    LazyFrame
        Canonical (+ auxiliary) columns of one batch, in memory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("period,reporterCode,partnerCode,flowCode,cmdCode,primaryValue\\n"
    ...                  + "202301,490,458,X,847150,1000\\n" * 3)
    >>> [b.select("row").collect()["row"].to_list() for b in scan_batches(p, 2)]
    [[2, 3], [4]]
    """
    path = Path(path)
    text = prepare_text(path, validate=False)
    lf, check = _scan_fast(text, typed_columns)
    yield from comtrade_batches(lf, shown_name(path.name), path, check=check, rows=rows)


def _canonical(lf: pl.LazyFrame, source: str) -> pl.LazyFrame:
    """A canonical parquet file, checked like any other source: its codes are read
    through the reference tables (an unknown country or HS code is a row-level
    error), its text kept as the raw value an error quotes.
    """
    text = {c: pl.col(c).cast(pl.String) for c in ("reporter", "partner", "hs", "value_usd")}
    period = pl.col("period")
    if lf.collect_schema()["period"] not in (pl.Date, pl.Null):
        period = period.cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
    period = plausible_date(period)
    return (
        lf.with_row_index("row", offset=1)
        .with_columns(
            period=period,
            reporter_raw=text["reporter"],
            partner_raw=text["partner"],
            hs_raw=text["hs"],
            value_raw=text["value_usd"],
            freq=pl.col("freq").cast(pl.String).str.strip_chars(),
            flow=pl.col("flow").cast(pl.String).str.strip_chars(),
            source=pl.lit(source),
        )
        .with_columns(
            reporter=iso3_from_code("reporter_raw", stripped=False),
            partner=iso3_from_code("partner_raw", stripped=False),
            hs=hs_code(pl.col("hs_raw").str.strip_chars()),
        )
    )


def one_file(path: str | Path) -> Path:
    """``path`` as a Path, or one line saying it is missing or a folder.

    Examples
    --------
    >>> one_file("/nonexistent.csv")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: /nonexistent.csv: no such file
    """
    path = Path(path)
    if path.is_dir():
        raise TradeflowsInputError(
            f"{path}: a folder; this reads one file (tradeflows.ingest reads folders)"
        )
    if not path.exists():
        raise TradeflowsInputError(f"{path}: no such file")
    return path


def detect_format(path: str | Path) -> Format:
    """Name the format of ``path`` from its magic bytes and header.

    Raises :class:`TradeflowsInputError`, naming the columns expected, when the
    layout is unknown.

    Parameters
    ----------
    path : str or Path
        A file.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    TradeflowsInputError
        A layout no reader knows, naming the columns each expects.

    See Also
    --------
    scan : read the file in that format.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("REPORTER,PARTNER,PRODUCT,FLOW,PERIOD,VALUE_IN_EUR\\n")
    >>> detect_format(p)
    'comext'
    """
    path = one_file(path)
    if path.stat().st_size == 0:
        raise TradeflowsInputError(f"{path}: file is empty")
    if is_xlsx(path):
        return "comext_xlsx"
    if is_parquet(path):
        try:
            names = pl.read_parquet_schema(polars_path(path))
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise TradeflowsInputError(
                f"{path}: not a readable parquet file ({one_line(exc, 200)})"
            ) from None
        return "canonical" if set(CANONICAL) <= set(names) else "generic"
    if looks_like_json(path):
        comtrade_json_records(path)  # refuses JSON that is not a whole Comtrade+ answer
        return "comtrade_json"
    text = prepare_text(path, validate=False)  # the header is enough here
    header, _, _ = _header_fields(text)
    keys = {column_key(h) for h in header}
    if looks_like_comtrade(keys):
        return "comtrade"
    if looks_like_sdmx_csv(keys):
        return "sdmx_csv"
    if looks_like_comext_bulk(keys):
        return "comext_bulk"
    if looks_like_comext(keys):
        return "comext"
    raise TradeflowsInputError(
        f"{path}: unknown layout (columns: {', '.join(header[:12])}"
        f"{', ...' if len(header) > 12 else ''}); {_EXPECTED}"
    )


def scan(
    path: str | Path,
    *,
    format: Format | None = None,
    mapping: Mapping[str, str] | None = None,
    constants: Mapping[str, str] | None = None,
    value_scale: float = 1.0,
    fast: bool = False,
    engine: str = "cpu",
    text_values: bool | None = None,
) -> pl.LazyFrame:
    """Read one source file lazily into canonical (+ auxiliary) columns.

    Parameters
    ----------
    path : str or Path
        A CSV/TSV (optionally gzipped, or a 7-Zip archive of one file), XLSX
        workbook (a Comext export; with ``mapping``, any workbook: the first
        sheet whose header row holds the mapped columns), parquet file or
        saved Comtrade+ API answer (JSON).
    format : {"comtrade", "comtrade_json", "comext", "comext_xlsx", "sdmx_csv", "comext_bulk", "canonical", "generic"}, optional
        Skip recognition. ``generic`` needs ``mapping``.
    mapping, constants, value_scale
        For the generic reader: see :func:`tradeflows.io.scan_generic`.
    fast : bool
        Let the CSV parser type codes and values and skip the UTF-8 check. A
        file that then fails to parse, or that has a row with more or fewer
        fields than its header (:class:`RaggedRowsError`, a polars
        ``ComputeError``), must be read again with ``fast=False``, which reads
        text and names the bad row (ingest does this itself).
        For a Comtrade file or a Eurostat file (Comext bulk, long CSV or
        SDMX-CSV) it also reads the columns used at once, so the scan is no
        longer lazy: ingest reads whole files.
    engine : str
        With ``fast``, where a Comtrade file's columns are parsed (``gpu``:
        the GPU engine's CSV parser, values as text).
    text_values : bool, optional
        With ``fast``, parse a Comtrade file's values as text and read them
        exactly (the doubles the CPU's parser gives; a value that is not
        plain decimal text raises
        :class:`tradeflows._io.comtrade.NotPlainDecimal`). Default: on the
        GPU engine, whose parser rounds some decimals otherwise.

    Returns
    -------
    LazyFrame
        The canonical columns, with the cleaning's auxiliary columns (raw
        values, ``row``) for the audit.

    See Also
    --------
    detect_format : the format found from the header.
    tradeflows.ingest : scan, clean and store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("period,reporterCode,partnerCode,flowCode,cmdCode,primaryValue\\n"
    ...                  "202301,490,458,X,847150,1000\\n")
    >>> scan(p).select("period", "reporter", "partner", "flow", "hs", "value_usd").collect().row(0)
    (datetime.date(2023, 1, 1), 'TWN', 'MYS', 'X', '847150', 1000.0)
    """
    path = one_file(path)
    source = shown_name(path.name)
    text_values = engine == "gpu" if text_values is None else text_values
    fmt = "generic" if mapping is not None and format is None else format
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise TradeflowsInputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "comext_xlsx":
        return read_comext_xlsx(path, source)
    if fmt == "comtrade_json":
        return read_comtrade_json(path, source)
    ragged: tuple[int, ...] = ()
    check = None
    if fmt == "generic" and is_xlsx(path):
        lf = xlsx_table(path, (mapping or {}).values())
    elif is_parquet(path):
        lf = pl.scan_parquet(polars_path(path), glob=False)
        if fmt == "canonical":
            return finish(_canonical(lf, source))
        lf = lf.select(pl.all().cast(pl.String))
    else:
        text = prepare_text(path, validate=not fast)
        if fast and fmt == "comtrade":
            typed = functools.partial(typed_columns, text_values=text_values)
            lf, check = _scan_fast(text, typed)
        elif fast and fmt in _EUROSTAT_READERS:
            # Read as text, their rows' width checked on the same parse.
            lf, check = _scan_fast(text, lambda header: {})
        else:
            lf, ragged = _scan_text(text)
    if fmt == "comtrade":
        out = scan_comtrade(lf, source, path, in_memory=fast, check=check,
                            engine=engine if fast else "cpu", text_values=fast and text_values)  # fmt: skip
    elif fmt in _EUROSTAT_READERS:
        out = _EUROSTAT_READERS[fmt](lf, source, path, in_memory=fast, check=check)
    elif mapping is None:
        raise TradeflowsInputError(f"{path}: the generic reader needs a column mapping")
    else:
        out = scan_generic(lf, mapping, source=source, constants=constants, value_scale=value_scale)
    if not ragged:
        return out
    # A shifted row's values are not what they seem: it is refused (or,
    # with --lenient, dropped and counted) whatever else it holds.
    return out.with_columns(
        drop=pl.when(pl.col("row").is_in(list(ragged)))
        .then(pl.lit("ragged_row"))
        .otherwise(pl.col("drop"))
    )
