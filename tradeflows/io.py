"""Readers of each source format, for a file :func:`tradeflows.scan` would not
recognise by its header, or to read one format on purpose.

:func:`tradeflows.scan` recognises a file and calls one of these; each returns a
LazyFrame of canonical columns plus the auxiliary columns the cleaning needs.
"""

from tradeflows._io import (
    FORMATS,
    scan_comext,
    scan_comext_bulk,
    scan_comtrade,
    scan_generic,
)
from tradeflows._io.comtrade_json import read_comtrade_json
from tradeflows._io.eurostat import (
    read_comext_xlsx,
    scan_sdmx_csv,
)

__all__ = [
    "FORMATS",
    "read_comext_xlsx",
    "read_comtrade_json",
    "scan_comext",
    "scan_comext_bulk",
    "scan_comtrade",
    "scan_generic",
    "scan_sdmx_csv",
]
