"""Eurostat Comext: SDMX-CSV, bulk files, long CSV extracts and the original XLSX workbooks.

SDMX-CSV: what the data browser and the dissemination API download
(``DATAFLOW, LAST UPDATE, freq, reporter, partner, product, flow,
indicators, TIME_PERIOD, OBS_VALUE, OBS_FLAG``; codes, or ``code:label``).
Bulk files: the monthly ``full`` files of the Comext bulk download
(``DECLARANT_ISO, PARTNER_ISO, PRODUCT_NC, FLOW, STAT_REGIME, PERIOD,
VALUE_IN_EUROS, QUANTITY_IN_KG``; 7-Zip archives as Eurostat ships them).

Long layouts: the "Relational view" download (``REPORTER, PARTNER, PRODUCT,
FLOW, STAT_PROCEDURE, PERIOD, VALUE_IN_EUR``, names with footnotes, periods
like ``Aug. 2024`` or ``Y2019``) and melted extracts (``product_code``,
``reporter``, ``partner``, ``period``, ``value_raw``). Workbooks: one sheet per
CN8 code, reporters x partners down, months across, ``:`` for confidential.
Values are in euros and are converted to dollars at the ECB monthly rate
(``chg_eur_to_usd`` in the audit).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from tradeflows._errors import TradeflowsInputError
from tradeflows._io._common import (
    HeaderKeys,
    PerValue,
    RowCheck,
    clean_str,
    date_from_ym,
    eur_to_usd,
    finish,
    hs_code,
    hs_revision_from_year,
    iso3_from_name,
    number_in,
    pick,
    require,
)
from tradeflows._io._workbook import load_sheet, open_workbook
from tradeflows._schema import plausible_date

__all__ = [
    "eurostat_country",
    "looks_like_comext",
    "looks_like_comext_bulk",
    "looks_like_sdmx_csv",
    "read_comext_xlsx",
    "scan_comext",
    "scan_comext_bulk",
    "scan_sdmx_csv",
]

_FLOWS = {"EXPORT": "X", "IMPORT": "M", "1": "M", "2": "X", "EXPORTS": "X", "IMPORTS": "M"}


def looks_like_comext(keys: set[str]) -> bool:
    """True for a Comext long header (names, product, period, value in euros).

    Parameters
    ----------
    keys : set of str
        The header's column names, folded (case and punctuation blind).

    Returns
    -------
    bool

    See Also
    --------
    scan_comext : the reader it chooses.

    Examples
    --------
    >>> looks_like_comext({"reporter", "partner", "product", "flow", "period", "valueineur"})
    True
    """
    return (
        {"reporter", "partner", "period"} <= keys
        and bool(keys & {"product", "productcode"})
        and bool(keys & {"valueineur", "valueineuros", "valueraw", "value"})
    )


def _strip_digit_dash(s: pl.Expr) -> pl.Expr:
    """``1-IMPORT`` -> ``IMPORT`` (no regex replace: the GPU engine has none)."""
    return pl.when(s.str.contains(r"^\d-")).then(s.str.slice(2)).otherwise(s)


def _period(col: str) -> tuple[pl.Expr, pl.Expr]:
    raw = clean_str(col)
    annual = raw.str.contains(r"^Y?\d{4}$")
    year = raw.str.extract(r"(\d{4})")
    monthly = pl.coalesce(
        raw.str.strptime(pl.Date, "%b. %Y", strict=False, cache=False),
        raw.str.strptime(pl.Date, "%b %Y", strict=False, cache=False),
        (raw.str.extract(r"^(\d{4}-\d{2})") + "-01").str.strptime(
            pl.Date, "%Y-%m-%d", strict=False, cache=False
        ),
        (raw.str.extract(r"^(\d{6})") + "01").str.strptime(
            pl.Date, "%Y%m%d", strict=False, cache=False
        ),
    )
    period = (
        pl.when(annual)
        .then((year + "-01-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False, cache=False))
        .otherwise(monthly)
    )
    freq = pl.when(annual).then(pl.lit("A")).otherwise(pl.lit("M"))
    return plausible_date(period), freq


#: Eurostat's special values, as the legends of its tables define them: ``:``
#: is *not available*; a ``c`` marks a *confidential* value.
SPECIAL_VALUES = {":": "not_available", ":c": "confidential", ":C": "confidential",
                  "c": "confidential", "C": "confidential"}  # fmt: skip


def _euro_rows(
    lf: pl.LazyFrame,
    source: str,
    raw: tuple[str, str, str, str, str],
    *,
    period: pl.Expr,
    freq: pl.Expr,
    eur: pl.Expr,
    **columns: pl.Expr,
) -> pl.LazyFrame:
    """The canonical rows of a Eurostat reader: what every one writes the same way
    (the period, values in euros at the ECB rate, the row number, and the raw text
    of the ``raw`` columns: reporter, partner, product, value, period) beside its
    own ``columns``."""
    if "row" not in lf.collect_schema().names():
        lf = lf.with_row_index("row", offset=2)
    # The period read once (a stage of its own): three columns derive from it.
    lf = lf.with_columns(_period=period, _freq=freq)
    period, freq = pl.col("_period"), pl.col("_freq")
    return finish(
        lf.select(
            period=period,
            freq=freq,
            hs_revision=hs_revision_from_year(period.dt.year()),
            value_usd=eur_to_usd(eur, period, freq),
            source=pl.lit(source),
            row=pl.col("row").cast(pl.Int64),
            **{
                f"{k}_raw": pl.col(c)
                for k, c in zip(("reporter", "partner", "hs", "value", "period"), raw, strict=True)
            },
            chg_eur_to_usd=eur.is_not_null(),
            **columns,
        )
    )


def _read_used(
    lf: pl.LazyFrame, used: list[str | None], in_memory: bool, check: RowCheck | None = None
) -> tuple[pl.LazyFrame, PerValue]:
    """The columns ``used`` (None: a column the file lacks), with the rows' numbers, read into
    memory when ``in_memory``; and how to read a code once per distinct value there.

    ``check`` (the fast path's width check, :class:`tradeflows._io.WidthCheck`)
    reads its columns of the same parse: the file is parsed once, not once
    more to find rows that do not split like the header (4M rows of a Comext
    bulk file: 0.5 s of a 2.5 s read; benchmarks/RESULTS.md, issue 27).
    """
    if not in_memory:
        if check is not None:
            raise ValueError("a row check runs on the rows read into memory: in_memory=True")
        return lf, PerValue(None)
    columns = dict.fromkeys(
        [*(c for c in used if c is not None), *(check.columns if check else [])]
    )
    df = lf.with_row_index("row", offset=2).select("row", *columns).collect()
    if check is not None:
        check(df)
    return df.lazy(), PerValue(df)


def scan_comext(
    lf: pl.LazyFrame,
    source: str,
    path: object = None,
    specials: dict[str, str] | None = None,
    *,
    in_memory: bool = False,
    check: RowCheck | None = None,
) -> pl.LazyFrame:
    """Translate a Comext long LazyFrame of text columns to canonical columns.

    ``specials`` maps a special value to its drop reason (default
    :data:`SPECIAL_VALUES`; a workbook passes those of its own legend).

    Parameters
    ----------
    lf : LazyFrame
        The file's columns as text.
    source : str
        The name its rows carry (``source``).
    path : object, optional
        The file, for error messages.
    specials : dict of str to str, optional
        The sheet's special values and the drop reason each means (from its legend).
    in_memory : bool
        As :func:`scan_comext_bulk`'s: the columns used read into memory
        first, each code and the period read once per distinct value.
    check : RowCheck, optional
        As :func:`scan_comext_bulk`'s.

    Returns
    -------
    LazyFrame
        Canonical columns and the cleaning's auxiliary columns.

    See Also
    --------
    read_comext_xlsx : the same data as a workbook.
    scan_sdmx_csv : the SDMX-CSV download.

    Examples
    --------
    >>> raw = pl.LazyFrame({'REPORTER': ['Germany'], 'PARTNER': ['Kyrgyzstan'], 'PRODUCT': ['85423190'],
    ...     'FLOW': ['EXPORT'], 'PERIOD': ['Mar. 2024'], 'VALUE_IN_EUR': ['1250000']})
    >>> row = scan_comext(raw, 'comext.csv').collect().row(0, named=True)
    >>> row['reporter'], row['partner'], row['flow'], row['period']
    ('DEU', 'KGZ', 'X', datetime.date(2024, 3, 1))
    """
    path = path if path is not None else source
    keys = HeaderKeys(lf.collect_schema().names(), path)
    reporter_col = require(keys, path, "reporter", "reporter")
    partner_col = require(keys, path, "partner", "partner")
    product_col = require(keys, path, "product", "productcode", "product")
    value_col = require(keys, path, "value", "valueineur", "valueineuros", "valueraw", "value")
    period_col = require(keys, path, "period", "period")
    flow_col = pick(keys, "flow")
    indicator_col = pick(keys, "indicator", "indicators")
    customs_col = pick(keys, "statprocedure")
    raw = (reporter_col, partner_col, product_col, value_col, period_col)
    used = [*raw, flow_col, indicator_col, customs_col]
    lf, per_value = _read_used(lf, used, in_memory, check)

    period, freq = _period(period_col)
    flow_text = _strip_digit_dash(clean_str(flow_col).str.to_uppercase()) if flow_col else None
    flow = (
        per_value(flow_text.replace_strict(_FLOWS, default=None, return_dtype=pl.String))
        if flow_text is not None
        else pl.lit("X")
    )
    value_text = clean_str(value_col)
    special = pl.lit(None, pl.String)
    for mark, meaning in (specials or SPECIAL_VALUES).items():
        special = pl.when(value_text == mark).then(pl.lit(meaning)).otherwise(special)
    not_value = (
        per_value(~clean_str(indicator_col).str.to_uppercase().str.starts_with("VALUE"))
        if indicator_col
        else pl.lit(False)
    )
    if customs_col is not None:
        proc = clean_str(customs_col).str.to_uppercase()
        customs = pl.when(proc.is_in(["TOTAL", "T-TOTAL", "NORMAL", "1-NORMAL"]) | proc.is_null())
        customs = per_value(customs.then(None).otherwise(proc))
    else:
        customs = pl.lit(None, dtype=pl.String)
    return _euro_rows(
        lf, source, raw, period=per_value(period), freq=per_value(freq),
        eur=number_in(per_value.df, value_col),
        reporter=per_value(iso3_from_name(reporter_col)),
        partner=per_value(iso3_from_name(partner_col)),
        flow=flow,
        raw_flow=flow,
        hs=per_value(hs_code(pl.col(product_col).str.strip_chars())),
        customs=customs,
        drop=pl.when(not_value.fill_null(False)).then(pl.lit("not_a_value")).otherwise(special),
    )  # fmt: skip


_CODE_IN_LABEL = re.compile(r"\[(\d{2,10}|TOTAL)\]\s*$")


def _sheet(reader, name: str, path: Path) -> pl.DataFrame:
    """One sheet of the workbook as a polars grid (no header row)."""
    return load_sheet(reader, name, path, header_row=None)


def _product_codes(structure: pl.DataFrame) -> dict[str, str]:
    """Sheet name -> product code, from each sheet's label or the Structure sheet."""
    labels = {}
    for row in structure.iter_rows():
        cells = [str(c) if c is not None else "" for c in row]
        if len(cells) >= 5 and cells[2] == "PRODUCT" and cells[3].isdigit():
            labels[cells[4].strip()] = cells[3]
    return labels


def read_comext_xlsx(path: Path, source: str) -> pl.LazyFrame:
    """Read an original Comext XLSX workbook (one sheet per product) to canonical rows.

    Every cell of every product sheet becomes one row, special values
    included, so that rows read counts cells. A special value is dropped as
    the sheet's legend defines it (``:`` "not available" is
    ``not_available``, a confidential mark ``confidential``).

    Parameters
    ----------
    path : Path
        The workbook.
    source : str
        The name its rows carry.

    Returns
    -------
    LazyFrame
        Canonical columns and the cleaning's auxiliary columns.

    See Also
    --------
    scan_comext : the same data as CSV.
    tradeflows.scan : any supported file.

    Examples
    --------
    >>> import tempfile
    >>> from tradeflows._errors import TradeflowsInputError
    >>> p = Path(tempfile.mkdtemp()) / 'extract.xlsx'
    >>> _ = pl.DataFrame({'a': [1]}).write_excel(p)  # a workbook, not a Comext export
    >>> try:
    ...     read_comext_xlsx(p, 'extract.xlsx')
    ... except TradeflowsInputError as e:
    ...     print(str(e).split(': ', 1)[1])
    unknown workbook layout; expected a Comext export with 'Summary', 'Structure' and one sheet per product, or a mapping for the generic reader, which reads the sheet whose header row holds the mapped columns
    """
    reader = open_workbook(path)
    if not {"Summary", "Structure"} <= set(reader.sheet_names):
        raise TradeflowsInputError(
            f"{path}: unknown workbook layout; expected a Comext export with "
            "'Summary', 'Structure' and one sheet per product, or a mapping for the "
            "generic reader, which reads the sheet whose header row holds the mapped columns"
        )
    codes = _product_codes(_sheet(reader, "Structure", path))
    frames, specials = [], dict(SPECIAL_VALUES)
    for name in reader.sheet_names:
        if not name.startswith("Sheet"):
            continue
        grid = _sheet(reader, name, path)
        cells = [[None if c is None else str(c) for c in r] for r in grid.iter_rows()]
        meta = {r[0]: r[2] for r in cells if r and r[0] and len(r) > 2}
        label = (meta.get("PRODUCT [PRODUCT]") or "").strip()
        match = _CODE_IN_LABEL.search(label)
        code = match.group(1) if match else codes.get(label)
        if code is None:
            raise TradeflowsInputError(f"{path}: sheet {name!r}: no product code in {label[:60]!r}")
        time_row = next((i for i, r in enumerate(cells) if r and r[0] == "TIME"), None)
        if time_row is None:
            raise TradeflowsInputError(f"{path}: sheet {name!r}: no TIME row above the table")
        months = cells[time_row][2:]
        data = cells[time_row + 3 :]
        records = []
        specials.update(_legend(cells))
        for offset, r in enumerate(data):
            if not r or not r[0]:
                break  # a blank row ends the table; the 'Special value' legend follows
            for month, value in zip(months, r[2:], strict=False):
                if month:
                    records.append((r[0], r[1], month, value, time_row + 4 + offset))
        frames.append(
            pl.DataFrame(
                records,
                schema={
                    "reporter": pl.String,
                    "partner": pl.String,
                    "period": pl.String,
                    "value_in_euros": pl.String,
                    "row": pl.Int64,
                },
                orient="row",
            ).with_columns(
                product_code=pl.lit(code),
                flow=pl.lit(meta.get("FLOW")),
                indicator=pl.lit(meta.get("INDICATORS")),
            )
        )
    if not frames:
        raise TradeflowsInputError(f"{path}: workbook has no product sheets")
    # ``row`` is the sheet row, so errors point at the cell's line in Excel.
    return scan_comext(pl.concat(frames).lazy(), source, path, specials)


def _legend(cells: list[list[str | None]]) -> dict[str, str]:
    """The sheet's "Special value" legend: mark -> drop reason (``not available`` ->
    ``not_available``, anything confidential -> ``confidential``)."""
    start = next((i for i, r in enumerate(cells) if r and r[0] == "Special value"), None)
    out: dict[str, str] = {}
    for r in cells[start + 1 :] if start is not None else []:
        if not r or not r[0] or len(r) < 2 or not r[1]:
            break
        meaning = r[1].strip().lower()
        reason = (
            "confidential" if "confidential" in meaning else re.sub(r"[^a-z0-9]+", "_", meaning)
        )
        out[r[0].strip()] = reason.strip("_")[:64] or "special_value"
    return out


# --- Eurostat's dissemination API and data browser: SDMX-CSV ------------------------

#: Geographic codes of Eurostat that stand for groups of countries (EU27_2020,
#: EU27_2020_EXTRA, EA20, WORLD, ...): every code longer than two letters but
#: these is refused as unknown.
_GROUP_PREFIXES = ("EU", "EA", "EXT", "INT", "WORLD", "EFTA", "EEA", "EXTRA", "INTRA")


def looks_like_sdmx_csv(keys: set[str]) -> bool:
    """True for Eurostat SDMX-CSV (``DATAFLOW, ..., TIME_PERIOD, OBS_VALUE``) of trade.

    Parameters
    ----------
    keys : set of str
        The header's column names, folded (case and punctuation blind).

    Returns
    -------
    bool

    See Also
    --------
    scan_sdmx_csv : the reader it chooses.

    Examples
    --------
    >>> looks_like_sdmx_csv({"dataflow", "lastupdate", "freq", "reporter", "partner",
    ...                      "product", "flow", "indicators", "timeperiod", "obsvalue"})
    True
    """
    return {"timeperiod", "obsvalue", "reporter", "partner", "product"} <= keys


def looks_like_comext_bulk(keys: set[str]) -> bool:
    """True for a Comext bulk file (``DECLARANT_ISO, PARTNER_ISO, PRODUCT_NC, FLOW, PERIOD,
    VALUE_IN_EUROS``; the ``full_v2`` files say ``REPORTER`` and ``VALUE_EUR``).

    Parameters
    ----------
    keys : set of str
        The header's column names, folded (case and punctuation blind).

    Returns
    -------
    bool

    See Also
    --------
    scan_comext_bulk : the reader it chooses.

    Examples
    --------
    >>> looks_like_comext_bulk({"declarant", "declarantiso", "partner", "partneriso",
    ...     "productnc", "flow", "statregime", "period", "valueineuros", "quantityinkg"})
    True
    """
    return (
        "productnc" in keys
        and bool(keys & {"declarantiso", "reporter", "reporteriso"})
        and bool(keys & {"partneriso", "partner"})
        and bool(keys & {"valueineuros", "valueeur"})
        and {"flow", "period"} <= keys
    )


def _code_part(col: str) -> pl.Expr:
    """``DE:Germany`` (SDMX-CSV with labels) -> ``DE``; a plain code as it is."""
    s = clean_str(col)
    return (
        pl.when(s.str.contains(":", literal=True)).then(s.str.split(":").list.first()).otherwise(s)
    )


def eurostat_country(code: pl.Expr) -> pl.Expr:
    """Eurostat's two-letter codes (``EL`` Greece, ``UK``, ``XK``) and groups
    (``EU27_2020``, ``EXTRA_EU``) -> ISO3 / ``AGG``; null when unknown.

    Parameters
    ----------
    code : Expr
        Two-letter codes.

    Returns
    -------
    Expr
        ISO3, ``AGG`` for groups, null for codes not known.

    See Also
    --------
    tradeflows.names.country : any way of naming a country.

    Examples
    --------
    >>> df = pl.DataFrame({"c": ["DE", "EL", "CN", "EU27_2020_EXTRA", "QU", "ZZ"]})
    >>> df.select(eurostat_country(pl.col("c")))["c"].to_list()
    ['DEU', 'GRC', 'CHN', 'AGG', 'AGG', None]
    """
    from tradeflows._names import iso2_table

    upper = code.str.to_uppercase()
    group = upper.str.len_chars().gt(2) & pl.any_horizontal(
        upper.str.starts_with(p) for p in _GROUP_PREFIXES
    )
    iso3 = upper.replace_strict(iso2_table(), default=None, return_dtype=pl.String)
    return pl.when(~group.fill_null(False)).then(iso3).otherwise(pl.lit("AGG"))


def _flow_code(col: str) -> pl.Expr:
    """Eurostat flows: ``1`` import, ``2`` export (or their labels)."""
    text = _strip_digit_dash(_code_part(col).str.to_uppercase())
    return text.replace_strict(_FLOWS, default=None, return_dtype=pl.String)


def _eurostat_period(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``2024-03``, ``2024M03`` or ``202403`` (a month), ``2024`` or ``202452`` (a year)."""
    digits = text.str.replace_all(r"[-M]", "")
    annual = digits.str.contains(r"^\d{4}$") | digits.str.contains(r"^\d{4}52$")
    year = digits.str.slice(0, 4).cast(pl.Int32, strict=False)
    month = digits.str.slice(4, 2).cast(pl.Int32, strict=False)
    period = (
        pl.when(annual)
        .then(date_from_ym(year, pl.lit(1)))
        .when(digits.str.contains(r"^\d{6}$"))
        .then(date_from_ym(year, month))
    )
    return period, pl.when(annual).then(pl.lit("A")).otherwise(pl.lit("M"))


def scan_sdmx_csv(
    lf: pl.LazyFrame,
    source: str,
    path: object = None,
    *,
    in_memory: bool = False,
    check: RowCheck | None = None,
) -> pl.LazyFrame:
    """Translate Eurostat SDMX-CSV (the data browser's and the dissemination API's
    download) of Comext trade to canonical columns.

    One row per observation: codes, or ``code:label`` with labels; flows ``1``
    (imports) and ``2`` (exports); ``TIME_PERIOD`` a month (``2024-03``) or a
    year; ``OBS_VALUE`` in euros, converted to dollars at the ECB monthly rate.
    As Eurostat's legend defines them, an empty value (``:`` in its tables)
    is *not available* (dropped as ``not_available``) and the observation
    flag ``c`` marks a *confidential* value (``confidential``). Rows of other
    indicators (quantities) are counted as ``not_a_value``.

    Parameters
    ----------
    lf : LazyFrame
        The file's columns as text.
    source : str
        The name its rows carry (``source``).
    path : object, optional
        The file, for error messages.
    in_memory : bool
        As :func:`scan_comext_bulk`'s: the columns used read into memory
        first, each code and the period read once per distinct value.
    check : RowCheck, optional
        As :func:`scan_comext_bulk`'s.

    Returns
    -------
    LazyFrame
        Canonical columns and the cleaning's auxiliary columns.

    See Also
    --------
    looks_like_sdmx_csv : how the format is recognised.
    scan_comext_bulk : the bulk files.

    Examples
    --------
    >>> raw = pl.LazyFrame({'DATAFLOW': ['ESTAT:DS-045409(1.0)'], 'LAST UPDATE': ['15/01/25'],
    ...     'freq': ['M'], 'reporter': ['DE'], 'partner': ['KG'], 'product': ['85423190'],
    ...     'flow': ['2'], 'indicators': ['VALUE_IN_EUROS'], 'TIME_PERIOD': ['2024-03'],
    ...     'OBS_VALUE': ['1250000'], 'OBS_FLAG': ['']})
    >>> row = scan_sdmx_csv(raw, 'ds-045409.csv').collect().row(0, named=True)
    >>> row['reporter'], row['partner'], row['flow'], row['hs'], round(row['value_usd'])
    ('DEU', 'KGZ', 'X', '85423190', 1359025)
    """
    path = path if path is not None else source
    keys = HeaderKeys(lf.collect_schema().names(), path)
    reporter_col = require(keys, path, "reporter", "reporter", "declarant")
    partner_col = require(keys, path, "partner", "partner")
    product_col = require(keys, path, "product", "product")
    value_col = require(keys, path, "value", "obsvalue")
    period_col = require(keys, path, "period", "timeperiod")
    flow_col = pick(keys, "flow")
    indicator_col = pick(keys, "indicators", "indicator")
    flag_col = pick(keys, "obsflag", "confstatus")
    raw = (reporter_col, partner_col, product_col, value_col, period_col)
    used = [*raw, flow_col, indicator_col, flag_col]
    lf, per_value = _read_used(lf, used, in_memory, check)
    period, freq = _eurostat_period(_code_part(period_col))
    value_text = clean_str(value_col)
    flag = clean_str(flag_col).str.to_lowercase() if flag_col else pl.lit(None, pl.String)
    confidential = per_value(flag.str.contains("c").fill_null(False)) | per_value(
        value_text.str.to_lowercase().is_in([":c", "c"]).fill_null(False)
    )
    missing = value_text.is_null() | value_text.is_in([":", ":z", "z"]).fill_null(False)
    indicator = _code_part(indicator_col).str.to_uppercase() if indicator_col else None
    not_value = (
        per_value(~indicator.str.starts_with("VALUE")) if indicator is not None else pl.lit(False)
    )
    return _euro_rows(
        lf, source, raw, period=per_value(period), freq=per_value(freq),
        eur=number_in(per_value.df, value_col),
        reporter=per_value(eurostat_country(_code_part(reporter_col))),
        partner=per_value(eurostat_country(_code_part(partner_col))),
        flow=per_value(_flow_code(flow_col)) if flow_col else pl.lit("X"),
        raw_flow=per_value(clean_str(flow_col)) if flow_col else pl.lit("X"),
        hs=per_value(hs_code(_code_part(product_col))),
        drop=pl.when(not_value.fill_null(False))
        .then(pl.lit("not_a_value"))
        .when(confidential)
        .then(pl.lit("confidential"))
        .when(missing)
        .then(pl.lit("not_available")),
    )  # fmt: skip


def scan_comext_bulk(
    lf: pl.LazyFrame,
    source: str,
    path: object = None,
    *,
    in_memory: bool = False,
    check: RowCheck | None = None,
) -> pl.LazyFrame:
    """Translate a Comext bulk file (the monthly ``full`` files) to canonical columns.

    Declarants and partners by Eurostat's two-letter codes, CN8 products,
    flows ``1`` (imports) and ``2`` (exports), ``PERIOD`` ``YYYYMM`` (a month)
    or ``YYYY52`` (the year), values in euros (converted to dollars at the
    ECB monthly rate) and net mass in kilograms. Each statistical regime
    (normal trade, inward and outward processing) is a breakdown, summed
    into one row per flow by the cleaning. Eurostat's confidential product
    codes (``85SSSSSS``, ``X`` in the code) are dropped as ``confidential``.

    Parameters
    ----------
    lf : LazyFrame
        The file's columns as text.
    source : str
        The name its rows carry (``source``).
    path : object, optional
        The file, for error messages.
    in_memory : bool
        Read the columns used into memory first, and read each code (the
        declarant, the partner, the product, the flow, the regime, the
        period) once per distinct value (:class:`PerValue`): a bulk file
        holds millions of rows of a few thousand codes and one period.
    check : RowCheck, optional
        The fast read's check of every row's width
        (:class:`tradeflows._io.WidthCheck`), run on the rows read into
        memory (``in_memory`` only): it raises where a row does not split
        like the header, and the file is then read by the exact path.

    Returns
    -------
    LazyFrame
        Canonical columns and the cleaning's auxiliary columns.

    See Also
    --------
    looks_like_comext_bulk : how the format is recognised.
    scan_comext : a data browser extract.

    Examples
    --------
    >>> raw = pl.LazyFrame({'DECLARANT_ISO': ['DE'], 'PARTNER_ISO': ['KG'], 'PRODUCT_NC': ['85423190'],
    ...     'FLOW': ['2'], 'STAT_REGIME': ['1'], 'PERIOD': ['202403'], 'VALUE_IN_EUROS': ['1000000'],
    ...     'QUANTITY_IN_KG': ['50']})
    >>> row = scan_comext_bulk(raw, 'full202403.dat').collect().row(0, named=True)
    >>> row['reporter'], row['partner'], row['flow'], row['period'], row['net_kg']
    ('DEU', 'KGZ', 'X', datetime.date(2024, 3, 1), 50.0)
    """
    path = path if path is not None else source
    keys = HeaderKeys(lf.collect_schema().names(), path)
    reporter_col = require(keys, path, "declarant", "declarantiso", "reporteriso", "reporter")
    partner_col = require(keys, path, "partner", "partneriso", "partner")
    product_col = require(keys, path, "product", "productnc")
    value_col = require(keys, path, "value", "valueineuros", "valueeur")
    period_col = require(keys, path, "period", "period")
    flow_col = require(keys, path, "flow", "flow")
    kg_col = pick(keys, "quantityinkg", "quantitykg")
    regime_col = pick(keys, "statregime", "statprocedure")
    raw = (reporter_col, partner_col, product_col, value_col, period_col)
    lf, per_value = _read_used(lf, [*raw, flow_col, kg_col, regime_col], in_memory, check)
    period, freq = _eurostat_period(clean_str(period_col))
    product = clean_str(product_col).str.to_uppercase()
    secret = per_value(product.str.contains(r"[SX]") & (product != "TOTAL"))
    return _euro_rows(
        lf, source, raw, period=per_value(period), freq=per_value(freq),
        eur=number_in(per_value.df, value_col),
        reporter=per_value(eurostat_country(clean_str(reporter_col))),
        partner=per_value(eurostat_country(clean_str(partner_col))),
        flow=per_value(_flow_code(flow_col)),
        raw_flow=per_value(clean_str(flow_col)),
        hs=pl.when(secret).then(pl.lit("TOTAL")).otherwise(per_value(hs_code(product))),
        net_kg=number_in(per_value.df, kg_col) if kg_col else pl.lit(None, pl.Float64),
        customs=per_value(clean_str(regime_col)) if regime_col else pl.lit(None, pl.String),
        drop=pl.when(secret.fill_null(False)).then(pl.lit("confidential")),
    )  # fmt: skip
