"""A reader for any table, given an explicit column mapping.

For national files and anything the format readers do not know::

    scan_generic(lf, mapping={"period": "Time", "partner": "Country(Area)",
                              "hs": "Commodity Code", "value_usd": "Value(USD$ 1000)"},
                 constants={"reporter": "TWN", "flow": "X"}, value_scale=1000)

Countries may be ISO3 or ISO2 codes (Eurostat's ``EL`` and ``UK`` too),
Comtrade or M49 codes, or names; periods ``YYYY``, ``YYYYMM``, ``YYYY-MM``,
``YYYY/M`` or ``Mon. YYYY``; flows ``X``/``M``/``RX``/``RM``, the words
export, import, re-export, re-import, or the codes ``1`` import, ``2``
export, ``3`` re-export, ``4`` re-import (Comtrade's and Eurostat's). Values
are in dollars, or in euros with ``currency=EUR`` (a constant or a mapped
column), converted at the ECB monthly rate.

A table with a value column per flow (exports and imports side by side, as
national offices publish trade by partner) maps each with ``value_usd.X``,
``value_usd.M`` (``RX``, ``RM``) instead of ``value_usd`` and ``flow``: each
line gives a row per flow, which keeps the line's number.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from tradeflows._errors import TradeflowsInputError
from tradeflows._io._common import (
    NON_LETTERS,
    clean_str,
    eur_to_usd,
    finish,
    hs_code,
    hs_revision_from_year,
    iso3_from_code,
    iso3_from_name,
    number,
)
from tradeflows._schema import CANONICAL, plausible_date

__all__ = ["CURRENCIES", "REQUIRED", "scan_generic"]

#: Canonical fields a mapping (or constants) must provide.
REQUIRED = ("period", "reporter", "partner", "flow", "hs", "value_usd")

_FLOW_WORDS = {
    "x": "X",
    "m": "M",
    "rx": "RX",
    "rm": "RM",
    "export": "X",
    "exports": "X",
    "import": "M",
    "imports": "M",
    "reexport": "RX",
    "reexports": "RX",
    "reimport": "RM",
    "reimports": "RM",
}


#: Flow codes of Comtrade's legacy files and of Eurostat.
_FLOW_CODES = {"1": "M", "2": "X", "3": "RX", "4": "RM"}
#: Currencies a value column may be in (``currency``).
CURRENCIES = ("USD", "EUR")


def _country(col: str) -> pl.Expr:
    from tradeflows._io.eurostat import eurostat_country

    two = pl.col(col).str.len_chars() == 2
    iso2 = pl.when(two).then(eurostat_country(pl.col(col)))
    return pl.coalesce(iso3_from_code(col), iso2, iso3_from_name(col))


def _period(col: str) -> tuple[pl.Expr, pl.Expr]:
    raw = clean_str(col)
    digits = raw.str.extract(r"^(\d{4})[-/]?(\d{1,2})?", 1)
    month = raw.str.extract(r"^\d{4}[-/]?(\d{1,2})\b", 1).str.zfill(2)
    worded = pl.coalesce(
        raw.str.strptime(pl.Date, "%b. %Y", strict=False, cache=False),
        raw.str.strptime(pl.Date, "%b %Y", strict=False, cache=False),
    )
    annual = raw.str.contains(r"^Y?\d{4}$")
    ymd = raw.str.extract(r"(\d{4})") + pl.coalesce(month, pl.lit("01")) + "01"
    period = plausible_date(
        pl.coalesce(worded, ymd.str.strptime(pl.Date, "%Y%m%d", strict=False, cache=False))
    )
    freq = pl.when(annual).then(pl.lit("A")).when(digits.is_not_null() | worded.is_not_null())
    return period, freq.then(pl.lit("M"))


def _per_flow(mapping: Mapping[str, str], constants: Mapping[str, str], source: str) -> dict:
    """The value column of each flow (``value_usd.X=...``), flow codes upper-cased;
    empty for a table of one value column."""
    per_flow = {}
    for key, column in mapping.items():
        if not key.startswith("value_usd."):
            continue
        code = key.split(".", 1)[1].strip().upper()
        if code not in ("X", "M", "RX", "RM"):
            raise TradeflowsInputError(
                f"{source}: mapping {key!r}: a flow code after value_usd. (X, M, RX or RM)"
            )
        per_flow[code] = column
    clash = [k for k in ("value_usd", "flow") if k in mapping or k in constants]
    if per_flow and clash:
        raise TradeflowsInputError(
            f"{source}: value_usd.{'/'.join(per_flow)} give each flow its value column; "
            f"leave out {' and '.join(clash)}"
        )
    return per_flow


def scan_generic(
    lf: pl.LazyFrame,
    mapping: Mapping[str, str],
    *,
    source: str,
    constants: Mapping[str, str] | None = None,
    value_scale: float = 1.0,
) -> pl.LazyFrame:
    """Translate any LazyFrame of text columns with an explicit mapping.

    Parameters
    ----------
    lf : LazyFrame
        The source table, all columns as text.
    mapping : mapping of str to str
        Canonical column -> source column; ``value_usd.X``, ``value_usd.M``
        (``RX``, ``RM``): each flow's value column, instead of ``value_usd``
        and ``flow``.
    source : str
        Where the rows came from (kept in the ``source`` column).
    constants : mapping of str to str, optional
        Canonical column -> one value for every row (``{"reporter": "TWN"}``).
    value_scale : float
        Multiplier for values (1000 for a file in thousands of dollars).

    Returns
    -------
    LazyFrame
        Canonical columns and the cleaning's auxiliary columns.

    See Also
    --------
    tradeflows.scan : the recognised formats.
    tradeflows._schema.canonical_columns : what the mapping fills.

    Examples
    --------
    >>> import polars as pl
    >>> lf = pl.LazyFrame({"t": ["2016/1"], "c": ["China"], "hs": ["8542"], "v": ["1.5"]})
    >>> out = scan_generic(lf, {"period": "t", "partner": "c", "hs": "hs", "value_usd": "v"},
    ...                    source="twn", constants={"reporter": "TWN", "flow": "X"},
    ...                    value_scale=1000).collect()
    >>> out.select("period", "reporter", "partner", "value_usd").row(0)
    (datetime.date(2016, 1, 1), 'TWN', 'CHN', 1500.0)

    Exports and imports side by side, a row per flow:

    >>> wide = pl.LazyFrame({"date": ["2021-01-01"], "country": ["Russia"],
    ...     "export": ["60"], "import": ["150"]})
    >>> out = scan_generic(wide, {"period": "date", "partner": "country",
    ...     "value_usd.X": "export", "value_usd.M": "import"}, source="armstat",
    ...     constants={"reporter": "ARM", "hs": "TOTAL"}, value_scale=1000).collect()
    >>> out.select("flow", "partner", "value_usd", "row").rows()
    [('X', 'RUS', 60000.0, 2), ('M', 'RUS', 150000.0, 2)]
    """
    constants = dict(constants or {})
    names = lf.collect_schema().names()
    per_flow = _per_flow(mapping, constants, source)
    unknown = {k for k in mapping if not k.startswith("value_usd.")} - {*CANONICAL, "currency"}
    if unknown:
        raise TradeflowsInputError(
            f"{source}: mapping names unknown canonical columns {sorted(unknown)}; "
            f"choose from {', '.join(CANONICAL)}, currency"
        )
    if "currency" in constants and str(constants["currency"]).upper() not in CURRENCIES:
        raise TradeflowsInputError(
            f"{source}: currency {constants['currency']!r}: values in USD or EUR "
            "(converted at the ECB monthly rate)"
        )
    for target, col in mapping.items():
        if col not in names:
            raise TradeflowsInputError(
                f"{source}: mapped column {col!r} (for {target}) is not in the file; "
                f"it has {', '.join(names)}"
            )
    lf = lf.with_row_index("row", offset=2)
    if per_flow:
        # One row per line and flow column, each keeping its line's number.
        lf = pl.concat(
            lf.with_columns(_value=pl.col(column), _flow=pl.lit(code))
            for code, column in per_flow.items()
        )
        mapping = {k: v for k, v in mapping.items() if not k.startswith("value_usd.")}
        mapping |= {"value_usd": "_value", "flow": "_flow"}
    missing = [f for f in REQUIRED if f not in mapping and f not in constants]
    if missing:
        raise TradeflowsInputError(f"{source}: mapping lacks required fields {missing}")
    lf = lf.with_columns(**{f"_const_{k}": pl.lit(str(v)) for k, v in constants.items()})

    def col(field: str) -> str:
        return mapping.get(field, f"_const_{field}")

    lf = lf.with_columns(
        pl.col(col(f)).str.strip_chars().alias(f"_s_{f}") for f in ("reporter", "partner", "hs")
    )

    period, freq = _period(col("period"))
    if "freq" in mapping or "freq" in constants:
        freq = clean_str(col("freq")).str.to_uppercase()
    flow_text = clean_str(col("flow"))
    flow_code = flow_text.replace_strict(_FLOW_CODES, default=None, return_dtype=pl.String)
    flow_word = flow_text.str.to_lowercase().str.replace_many(NON_LETTERS, [""] * len(NON_LETTERS))
    flow_word = flow_word.replace_strict(_FLOW_WORDS, default=None, return_dtype=pl.String)
    value = number(col("value_usd"), value_scale)
    currency = None
    if "currency" in mapping or "currency" in constants:
        currency = clean_str(col("currency")).str.to_uppercase()
        value = (
            pl.when(currency == "EUR")
            .then(eur_to_usd(value, period, freq))
            .when(currency == "USD")
            .then(value)
        )
    exprs = {
        "period": period,
        "freq": freq,
        "reporter": _country("_s_reporter"),
        "partner": _country("_s_partner"),
        "flow": pl.coalesce(flow_code, flow_word),
        "hs": hs_code("_s_hs"),
        "hs_revision": hs_revision_from_year(period.dt.year()),
        "value_usd": value,
        "source": pl.lit(source),
        "row": pl.col("row").cast(pl.Int64),
        "reporter_raw": pl.col(col("reporter")),
        "partner_raw": pl.col(col("partner")),
        "hs_raw": pl.col(col("hs")),
        "value_raw": pl.col(col("value_usd")),
        "period_raw": pl.col(col("period")),
    }
    if currency is not None:
        exprs["chg_eur_to_usd"] = (currency == "EUR").fill_null(False)
    for optional in ("net_kg", "qty"):
        if optional in mapping:
            exprs[optional] = number(mapping[optional])
    if "qty_unit" in mapping:
        exprs["qty_unit"] = clean_str(mapping["qty_unit"])
    if "hs_revision" in mapping or "hs_revision" in constants:
        exprs["hs_revision"] = clean_str(col("hs_revision"))
    return finish(lf.select(**exprs))
