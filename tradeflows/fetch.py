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
import hashlib
import io
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from tradeflows.errors import TradeflowsInputError
from tradeflows.io.comtrade import COMTRADE_PLUS_COLUMNS

__all__ = ["COMTRADE_URL", "FetchError", "fetch_comtrade", "has_rows"]

COMTRADE_URL = "https://comtradeapi.un.org/data/v1/get"
#: The API returns at most this many rows per call; a full chunk is refused
#: rather than silently cut.
MAX_RECORDS = 250_000


class FetchError(TradeflowsInputError):
    """The API could not be read (after retries), or refused the key."""


def _chunks(values: Sequence[str], size: int) -> list[list[str]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


def _request(
    url: str, key: str, timeout: float, retries: int, backoff: float, sleep: Callable
) -> dict:
    """GET ``url`` as JSON, retrying what is worth retrying."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(min(backoff * 2 ** (attempt - 1), 60.0))
        req = urllib.request.Request(url, headers={"Ocp-Apim-Subscription-Key": key})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise FetchError(f"Comtrade API refused the key (HTTP {exc.code})") from None
            if exc.code == 429 or exc.code >= 500:
                last = f"HTTP {exc.code}"
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if retry_after and retry_after.isdigit():
                    sleep(min(float(retry_after), 60.0))
                continue
            raise FetchError(f"Comtrade API answered HTTP {exc.code} for {url}") from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            continue
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            last = f"truncated or malformed body ({len(body)} bytes)"
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            last = "body without a data list"
            continue
        if isinstance(doc.get("count"), int) and doc["count"] != len(doc["data"]):
            last = f"body holds {len(doc['data'])} of {doc['count']} rows"
            continue
        return doc
    # The URL may be shown: the key travels in a header, never in it.
    raise FetchError(f"Comtrade API: {url} failed after {retries + 1} attempts (last: {last})")


def has_rows(path: Path) -> bool:
    """True when a fetched chunk holds data (an empty chunk keeps only its header)."""
    with open(path, encoding="utf-8") as f:
        return len(f.readlines()) > 1


def fetch_comtrade(
    cache_dir: str | Path,
    *,
    reporters: Sequence[int | str],
    periods: Sequence[str],
    cmd_codes: Sequence[str] = ("TOTAL",),
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
    reporters, partners : sequences of Comtrade codes
        ``partners=None`` asks for every partner.
    periods : sequence of str
        ``YYYYMM`` (monthly) or ``YYYY`` (annual); one call per period.
    cmd_codes, flows, freq
        HS codes (or ``TOTAL``), flow codes, ``M`` or ``A``.
    api_key : str, optional
        Defaults to the ``COMTRADE_API_KEY`` environment variable.
    base_url : str
        The API (tests point it at a local server).
    sleep : callable
        Waits between retries (tests pass a recorder).

    Examples
    --------
    >>> fetch_comtrade("/tmp/x", reporters=[458], periods=["202401"], api_key="")
    Traceback (most recent call last):
    ...
    tradeflows.fetch.FetchError: no Comtrade API key: set COMTRADE_API_KEY (free keys at the Comtrade+ portal)
    """
    key = os.environ.get("COMTRADE_API_KEY", "") if api_key is None else api_key
    if not key:
        raise FetchError(
            "no Comtrade API key: set COMTRADE_API_KEY (free keys at the Comtrade+ portal)"
        )
    if freq not in ("M", "A"):
        raise FetchError(f"freq {freq!r}: choose M or A")
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    files = []
    for period in periods:
        for group in _chunks([str(r) for r in reporters], reporters_per_call):
            params = {
                "reporterCode": ",".join(group),
                "period": str(period),
                "cmdCode": ",".join(cmd_codes),
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
            doc = _request(url, key, timeout, retries, backoff, sleep)
            if len(doc["data"]) >= MAX_RECORDS:
                raise FetchError(
                    f"Comtrade API: {period} reporters {params['reporterCode']} hit the "
                    f"{MAX_RECORDS}-row cap; use fewer reporters per call or fewer codes"
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
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, target)
