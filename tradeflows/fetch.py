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

from tradeflows._fetch import (
    CENSUS_URL,
    COMTRADE_URL,
    FetchError,
    fetch_census,
    fetch_comtrade,
)

__all__ = [
    "CENSUS_URL",
    "COMTRADE_URL",
    "FetchError",
    "fetch_census",
    "fetch_comtrade",
]
