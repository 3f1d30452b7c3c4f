"""Atomic file writes: write to a temporary name in the same folder, then rename."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["write_frame_atomic", "write_text_atomic"]


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_text_atomic(p, "hi")
    >>> p.read_text()
    'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_frame_atomic(path: str | Path, df) -> None:
    """Write a polars DataFrame as ``.csv`` or ``.parquet`` (by the suffix), atomically.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.csv"
    >>> write_frame_atomic(p, pl.DataFrame({"a": [1]}))
    >>> p.read_text()
    'a\\n1\\n'
    """
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        from tradeflows.errors import TradeflowsInputError

        raise TradeflowsInputError(f"{path}: choose a .csv or .parquet file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        if path.suffix == ".csv":
            df.write_csv(tmp)
        else:
            df.write_parquet(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
