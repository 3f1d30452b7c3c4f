"""Live fetchers that survive the API's limits and resume where they stopped.

:func:`fetch_comtrade` pulls Comtrade+ final data over its HTTP API in chunks
(one call per period and reporter group, under the API's row cap), retries
429, 5xx, timeouts and truncated bodies with exponential backoff (honouring
``Retry-After``), and keeps every finished chunk in a cache folder, written
atomically, so that a re-run skips what it already has and a truncated
response never leaves a file behind. The chunks are Comtrade+ CSV files that
``tradeflows ingest`` reads like any download.

The key comes from ``COMTRADE_API_KEY`` (or the ``api_key`` argument), travels
in a header, and never appears in a message or a file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import polars as pl

from tradeflows._errors import TradeflowsInputError
from tradeflows._files import write_text_atomic
from tradeflows._io.comtrade import COMTRADE_PLUS_COLUMNS
from tradeflows._io.comtrade_json import DATA_CAPS, answer_problem

__all__ = ["CENSUS_URL", "COMTRADE_URL", "FetchError", "fetch_census", "fetch_comtrade", "has_rows"]

COMTRADE_URL = "https://comtradeapi.un.org/data/v1/get"
#: The API returns at most this many rows per call; a full chunk is refused
#: rather than silently cut.
MAX_RECORDS = 250_000


class FetchError(TradeflowsInputError):
    """The API could not be read (after retries), or refused the key.

    See Also
    --------
    fetch_comtrade, fetch_census : the calls that raise it.

    Examples
    --------
    >>> fetch_census("/tmp/x", periods=["2024-03"], hs=["84x"])
    Traceback (most recent call last):
    ...
    tradeflows._fetch.FetchError: HS code '84x': expected 2 to 10 digits, an even number
    """


#: Headers that carry a key: never sent to another origin than the one asked.
_SECRET_HEADERS = {"ocp-apim-subscription-key", "authorization"}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class _KeyStaysHome(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but drop the key headers on one that leaves the API's origin.

    urllib copies every header to the redirected request; a redirect to
    another host (or from https to http) would hand the key to it.
    """

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.headers = {k: v for k, v in new.headers.items() if k.lower() not in _SECRET_HEADERS}
            new.unredirected_hdrs = {
                k: v for k, v in new.unredirected_hdrs.items() if k.lower() not in _SECRET_HEADERS
            }
        return new


_OPENER = urllib.request.build_opener(_KeyStaysHome)


def _check_codes(values: Sequence[object], what: str, pattern: str, hint: str) -> list[str]:
    """``values`` as text, each matching ``pattern`` (else a one-line error before any request)."""
    out = []
    for v in values:
        text = str(v).strip()
        if not re.fullmatch(pattern, text):
            raise FetchError(f"{what} {str(v)[:40]!r}: expected {hint}")
        out.append(text)
    if not out:
        raise FetchError(f"{what}: none given")
    return out


def _check_countries(values: Sequence[object], what: str) -> list[str]:
    """Comtrade country codes from codes (0 is World) or any name or code
    :func:`tradeflows.names.country` knows (``China``, ``CN``, ``CHN``)."""

    from tradeflows._names import country
    from tradeflows._reference import comtrade_to_iso3, countries

    table = countries().filter(pl.col("kind") == "country")
    comtrade = dict(zip(table["iso3"].to_list(), table["comtrade"].to_list(), strict=True))
    known = comtrade_to_iso3()
    codes = []
    for v in values:
        text = str(v).strip()
        if text.isdigit() and len(text) <= 4 and (int(text) == 0 or int(text) in known):
            codes.append(str(int(text)))
            continue
        try:
            codes.append(str(comtrade[country(text, what)]))
        except TradeflowsInputError as exc:
            raise FetchError(str(exc)) from None
    if not codes:
        raise FetchError(f"{what}: none given")
    return list(dict.fromkeys(codes))


def _check_month(text: str, what: str) -> str:
    """``YYYYMM`` or ``YYYY-MM`` -> ``YYYYMM``, a real month from 1962 on."""
    m = re.fullmatch(r"(\d{4})-?(\d{2})", str(text).strip())
    if not m or not (1962 <= int(m[1]) <= 2100 and 1 <= int(m[2]) <= 12):
        raise FetchError(f"{what} {str(text)[:40]!r}: expected a month, YYYYMM or YYYY-MM")
    return m[1] + m[2]


def _check_periods(periods: Sequence[str], freq: str) -> list[str]:
    """Months (``YYYYMM``) or years (``YYYY``) from periods and ranges
    (``2024``, ``2024-03``, ``2023-01..2025-06``)."""
    from tradeflows._names import month_list

    out: list[str] = []
    for p in periods:
        text = str(p).strip()
        if freq == "A":
            first, _, last = text.partition("..")
            years = _check_codes(
                [first, last or first], "period", r"(19[6-9]\d|20\d\d)", "a year, YYYY"
            )
            out.extend(str(y) for y in range(int(years[0]), int(years[1]) + 1))
            continue
        try:
            months = month_list(text, "period")
        except TradeflowsInputError as exc:
            raise FetchError(str(exc)) from None
        out.extend(_check_month(f"{m:%Y%m}", "period") for m in months)
    if not out:
        raise FetchError("period: none given")
    return list(dict.fromkeys(out))


def _chunks(values: Sequence[str], size: int) -> list[list[str]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


def _check_comtrade(doc: object) -> str | None:
    """Why a Comtrade+ body is not a complete answer (None when it is)."""
    if not isinstance(doc, dict):
        return "body is not a JSON object"
    return answer_problem(doc, caps=())  # a cap reached is not retried: fetch_comtrade says so


def _check_census(doc: object) -> str | None:
    if not isinstance(doc, list) or not doc or not all(isinstance(r, list) for r in doc):
        return "body is not a table"
    if any(len(r) != len(doc[0]) for r in doc):
        return "rows of unequal length"
    if not all(isinstance(v, (str, int, float, type(None))) for r in doc for v in r):
        return "cells that are not plain values"
    if "CTY_CODE" not in doc[0]:
        return "no CTY_CODE column"
    return None


def _get_json(
    url: str,
    *,
    api: str,
    headers: dict[str, str],
    shown: str,
    check: Callable[[object], str | None],
    timeout: float,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> object:
    """GET ``url`` as JSON, retrying 429, 5xx, timeouts and incomplete bodies.

    ``shown`` is the URL as messages may quote it (without any key).
    """
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(min(backoff * 2 ** (attempt - 1), 60.0))
        req = urllib.request.Request(url, headers=headers)
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise FetchError(f"{api} refused the key (HTTP {exc.code})") from None
            if exc.code == 429 or exc.code >= 500:
                last = f"HTTP {exc.code}"
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if retry_after and retry_after.isdigit():
                    sleep(min(float(retry_after), 60.0))
                continue
            raise FetchError(f"{api} answered HTTP {exc.code} for {shown}") from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            continue
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            last = f"truncated or malformed body ({len(body)} bytes)"
            continue
        problem = check(doc)
        if problem is None:
            return doc
        last = problem
    raise FetchError(f"{api}: {shown} failed after {retries + 1} attempts (last: {last})")


def has_rows(path: Path) -> bool:
    """True when a fetched chunk holds data (an empty chunk keeps only its header).

    Parameters
    ----------
    path : Path
        A chunk written by :func:`fetch_comtrade` or :func:`fetch_census`.

    Returns
    -------
    bool

    See Also
    --------
    fetch_comtrade, fetch_census : the chunks it reads.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> chunk = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = chunk.write_text("period,primaryValue")
    >>> has_rows(chunk)
    False
    """
    with open(path, encoding="utf-8") as f:
        return len(f.readlines()) > 1


def fetch_comtrade(
    cache_dir: str | Path,
    *,
    reporters: Sequence[int | str],
    periods: Sequence[str],
    hs: Sequence[str] = ("TOTAL",),
    partners: Sequence[int | str] | None = None,
    flows: Sequence[str] = ("X", "M"),
    freq: str = "M",
    api_key: str | None = None,
    base_url: str = COMTRADE_URL,
    reporters_per_call: int = 5,
    timeout: float = 60.0,
    retries: int = 5,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Pull Comtrade+ final data into ``cache_dir``, one CSV per chunk; return the files.

    Parameters
    ----------
    cache_dir : str or Path
        Where finished chunks are kept; a chunk already there is not fetched
        again, so an interrupted run resumes.
    reporters, partners : sequences of countries
        Comtrade codes (490), ISO codes (TW, TWN) or names (Taiwan);
        ``partners=None`` asks for every partner.
    periods : sequence of str
        Months (``202401``, ``2024-01``), years (``2024``: its twelve months,
        or the year itself when ``freq="A"``) or ranges (``2023-01..2025-06``);
        one call per month (or year).
    hs : sequence of str
        HS codes of 2, 4 or 6 digits, or ``TOTAL`` (``AG2``/``AG4``/``AG6``:
        every code at that level).
    flows : sequence of str
        Flow codes: ``X``, ``M``, ``RX``, ``RM``, ``DX``, ``FM``.
    freq : {"M", "A"}
        Monthly or annual data.
    api_key : str, optional
        Defaults to the ``COMTRADE_API_KEY`` environment variable.
    base_url : str
        The API (tests point it at a local server).
    reporters_per_call : int
        Reporters asked for in one call (the API caps the rows of an answer).
    timeout : float
        Seconds a call may take.
    retries, backoff : int, float
        Calls retried after a failure (429, 5xx, a timeout, a truncated body),
        waiting ``backoff`` seconds, doubled each time.
    progress : callable, optional
        Told, in a short message, what is fetched.
    sleep : callable
        Waits between retries (tests pass a recorder).

    Returns
    -------
    list of Path
        The chunks (Comtrade+ CSV), for :func:`tradeflows.ingest`.

    See Also
    --------
    fetch_census : the US Census API, with the same words (``periods``, ``hs``, ``flows``).

    Examples
    --------
    >>> fetch_comtrade("/tmp/x", reporters=[458], periods=["202401"], api_key="")
    Traceback (most recent call last):
    ...
    tradeflows._fetch.FetchError: no Comtrade API key: set COMTRADE_API_KEY (free keys at the Comtrade+ portal)
    """
    key = os.environ.get("COMTRADE_API_KEY", "") if api_key is None else api_key
    if not key:
        raise FetchError(
            "no Comtrade API key: set COMTRADE_API_KEY (free keys at the Comtrade+ portal)"
        )
    if freq not in ("M", "A"):
        raise FetchError(f"freq {freq!r}: choose M or A")
    # Everything that reaches the API or a cache file name is checked first.
    periods = _check_periods(periods, freq)
    reporters = _check_countries(reporters, "reporter")
    partners = _check_countries(partners, "partner") if partners else None
    hs = _check_codes(
        hs, "HS code", r"TOTAL|AG[246]|(\d\d){1,3}", "TOTAL, AG2/AG4/AG6 or 2, 4 or 6 digits"
    )
    flows = _check_codes(flows, "flow", r"X|M|RX|RM|DX|FM", "X, M, RX, RM, DX or FM")
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    files = []
    for period in periods:
        for group in _chunks([str(r) for r in reporters], reporters_per_call):
            params = {
                "reporterCode": ",".join(group),
                "period": str(period),
                "cmdCode": ",".join(hs),
                "flowCode": ",".join(flows),
                "partnerCode": ",".join(map(str, partners)) if partners else None,
                "maxRecords": str(MAX_RECORDS),
                "includeDesc": "true",
                "format": "JSON",
            }
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
            url = f"{base_url.rstrip('/')}/C/{freq}/HS?{query}"
            name = hashlib.sha256(url.encode()).hexdigest()[:16]
            target = cache / f"comtrade_{freq}_{period}_{name}.csv"
            if target.exists():
                files.append(target)
                continue
            if progress:
                progress(f"fetching {period} reporters {params['reporterCode']}")
            doc = _get_json(
                url,
                api="Comtrade API",
                headers={"Ocp-Apim-Subscription-Key": key},
                shown=url,  # the key travels in a header, never in the URL
                check=_check_comtrade,
                timeout=timeout,
                retries=retries,
                backoff=backoff,
                sleep=sleep,
            )
            if len(doc["data"]) >= MAX_RECORDS or len(doc["data"]) in DATA_CAPS:
                raise FetchError(
                    f"Comtrade API: {period} reporters {params['reporterCode']} hit the "
                    f"{len(doc['data']):,}-row cap of a call; use fewer reporters per call "
                    "or fewer codes"
                )
            _write_chunk(target, doc["data"])
            files.append(target)
    return files


def _write_chunk(target: Path, rows: Iterable[dict]) -> None:
    """Write one chunk as Comtrade+ CSV, atomically (an empty chunk keeps its header)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COMTRADE_PLUS_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: "" if row.get(k) is None else row.get(k) for k in COMTRADE_PLUS_COLUMNS}
        )
    write_text_atomic(target, buf.getvalue())


CENSUS_URL = "https://api.census.gov/data/timeseries/intltrade"


def fetch_census(
    cache_dir: str | Path,
    *,
    periods: Sequence[str],
    hs: Sequence[str],
    flows: Sequence[str] = ("X",),
    api_key: str | None = None,
    base_url: str = CENSUS_URL,
    timeout: float = 60.0,
    retries: int = 5,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Pull US Census monthly trade by partner for HS codes; one CSV per month and code.

    The chunks are written in Comtrade+ columns (reporter USA, partner ISO3 from
    the Census country code, ``X`` for exports, ``M`` for general imports), so
    ``tradeflows ingest`` reads them like any Comtrade file. The total for all
    countries becomes World and Census groupings (codes below 1000) an
    aggregate; the cleaning drops and counts both. The key (``CENSUS_API_KEY``, optional
    for small volumes) goes in the query string, as Census requires, and is
    masked in every message.

    Parameters
    ----------
    cache_dir : str or Path
        Where finished chunks are kept; a chunk already there is not fetched again.
    periods : sequence of str
        Months (``2024-03``, ``202403``), years or ranges (``2023-01..2025-06``).
    hs : sequence of str
        HS codes of 2 to 10 digits (an even number: HS2 to HS10).
    flows : sequence of str
        ``X`` (exports) and/or ``M`` (general imports); the words work too.
    api_key : str, optional
        Defaults to the ``CENSUS_API_KEY`` environment variable (optional).
    base_url : str
        The API (tests point it at a local server).
    timeout : float
        Seconds a call may take.
    retries, backoff : int, float
        Calls retried after a failure (429, 5xx, a timeout, a truncated body),
        waiting ``backoff`` seconds, doubled each time.
    progress : callable, optional
        Told, in a short message, what is fetched.
    sleep : callable
        Waits between retries (tests pass a recorder).

    Returns
    -------
    list of Path
        The chunks, in Comtrade+ columns, for :func:`tradeflows.ingest`.

    See Also
    --------
    fetch_comtrade : the same for UN Comtrade+, with the same words.

    Examples
    --------
    >>> fetch_census("/tmp/x", periods=["2024-03"], hs=["847150"], flows=["both"])
    Traceback (most recent call last):
    ...
    tradeflows._fetch.FetchError: flow 'both': choose X (exports) or M (imports)
    """
    words = []
    for flow in [flows] if isinstance(flows, str) else flows:
        word = _CENSUS_FLOWS.get(str(flow).strip().lower())
        if word is None:
            raise FetchError(f"flow {flow!r}: choose X (exports) or M (imports)")
        words.append(word)
    periods = _check_periods(periods, "M")
    hs = _check_codes(hs, "HS code", r"(\d\d){1,5}", "2 to 10 digits, an even number")
    key = os.environ.get("CENSUS_API_KEY", "") if api_key is None else api_key
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    files = []
    for flow in dict.fromkeys(words):
        files += _census_flow(cache, flow, periods, hs, key, base_url, timeout=timeout,
                              retries=retries, backoff=backoff, sleep=sleep, progress=progress)  # fmt: skip
    return files


#: The flows the Census API serves, by code or word.
_CENSUS_FLOWS = {"x": "exports", "exports": "exports", "m": "imports", "imports": "imports"}


def _census_flow(cache: Path, flow: str, periods, hs, key, base_url, *, timeout, retries, backoff,
                 sleep, progress) -> list[Path]:  # fmt: skip
    """One flow (``exports`` or ``imports``) of :func:`fetch_census`, a CSV per month and code."""
    value, commodity = (
        ("ALL_VAL_MO", "E_COMMODITY") if flow == "exports" else ("GEN_VAL_MO", "I_COMMODITY")
    )
    files = []
    for period in periods:
        month = f"{period[:4]}-{period[4:]}"
        for code in hs:
            params = {"get": f"CTY_CODE,CTY_NAME,{value},{commodity}", "time": month,
                      commodity: code, "COMM_LVL": f"HS{len(code)}"}  # fmt: skip
            query = urllib.parse.urlencode(params)
            shown = f"{base_url.rstrip('/')}/{flow}/hs?{query}"
            url = shown + (f"&key={urllib.parse.quote(key)}" if key else "")
            target = cache / f"census_{flow}_{month}_{code}.csv"
            if target.exists():
                files.append(target)
                continue
            if progress:
                progress(f"fetching Census {flow} {month} {code}")
            doc = _get_json(
                url, api="Census API", headers={}, shown=shown, check=_check_census,
                timeout=timeout, retries=retries, backoff=backoff, sleep=sleep,
            )  # fmt: skip
            header, *rows = doc
            if value not in header:
                raise FetchError(f"Census API: {shown} answered without a {value} column")
            col = {name: header.index(name) for name in ("CTY_CODE", value)}
            _write_chunk(
                target,
                (
                    {
                        "typeCode": "C",
                        "freqCode": "M",
                        "period": month.replace("-", ""),
                        "reporterCode": 842,
                        "reporterISO": "USA",
                        "partnerCode": _census_partner(str(r[col["CTY_CODE"]] or "")),
                        "flowCode": "X" if flow == "exports" else "M",
                        "cmdCode": code,
                        "primaryValue": r[col[value]],
                    }
                    for r in rows
                ),
            )
            files.append(target)
    return files


@functools.cache
def _comtrade_by_iso3() -> dict[str, int]:
    """ISO3 -> the Comtrade code a country reports under (842 for USA, 490 for TWN)."""
    from tradeflows._reference import countries

    table = countries().filter(pl.col("kind") == "country")
    return dict(zip(table["iso3"].to_list(), table["comtrade"].to_list(), strict=True))


def _census_partner(code: str) -> str:
    """A Census country code as the Comtrade partner code the readers know.

    ``-`` (all countries) becomes 0 (World), groupings (below 1000) 899
    (Areas nes, an aggregate); an unknown code stays visible as
    ``census:CODE`` so that ingest names it.
    """
    from tradeflows._reference import census_to_iso3

    code = code.strip()
    if code in ("-", ""):
        return "0"
    if code.isdigit() and int(code) < 1000:
        return "899"
    comtrade = _comtrade_by_iso3().get(census_to_iso3().get(code, ""))
    return str(comtrade) if comtrade is not None else f"census:{code}"
