"""Exceptions raised by tradeflows.

Every error a user can cause is a :class:`TradeflowsInputError`: its message is
one line that names the file (and line or column where known) and what was
expected. The command line prints that line and exits with code 2.
"""

from __future__ import annotations

__all__ = ["EngineUnavailableError", "TradeflowsError", "TradeflowsInputError"]


class TradeflowsError(Exception):
    """Base class of every error tradeflows raises on purpose."""


class TradeflowsInputError(TradeflowsError, ValueError):
    """Bad input: a file, a column, a value or an option the user gave.

    Examples
    --------
    >>> raise TradeflowsInputError("x.csv: missing column 'cmdCode'")
    Traceback (most recent call last):
    ...
    tradeflows.errors.TradeflowsInputError: x.csv: missing column 'cmdCode'
    """


class EngineUnavailableError(TradeflowsInputError):
    """The engine asked for cannot run here (for example ``gpu`` without cudf_polars)."""
