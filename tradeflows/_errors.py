"""Exceptions raised by tradeflows.

Every error a user can cause is a :class:`TradeflowsInputError`: its message is
one line that names the file (and line or column where known) and what was
expected. The command line prints that line and exits with code 2.
"""

from __future__ import annotations

__all__ = ["EngineUnavailableError", "TradeflowsError", "TradeflowsInputError", "one_line"]


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` (an exception's message, say) on one line, cut to ``limit`` characters.

    A library's message may run over several lines; an error of tradeflows is one.

    Parameters
    ----------
    text : object
        Anything printable.
    limit : int, optional
        The most characters kept.

    Returns
    -------
    str

    See Also
    --------
    TradeflowsInputError : the errors it is written for.

    Examples
    --------
    >>> one_line("Zip error:\\n  0: could not open\\n", limit=18)
    'Zip error: 0: coul'
    """
    text = " ".join(str(text).split())
    return text if limit is None else text[:limit]


class TradeflowsError(Exception):
    """Base class of every error tradeflows raises on purpose.

    See Also
    --------
    TradeflowsInputError : bad input, said in one line.

    Examples
    --------
    >>> import tradeflows as tf
    >>> try:
    ...     tf.Query(hubs="Atlantis")
    ... except tf.TradeflowsError as exc:
    ...     print(exc)
    hubs: unknown country 'Atlantis' (closest: Albania (ALB))
    """


class TradeflowsInputError(TradeflowsError, ValueError):
    """Bad input: a file, a column, a value or an option the user gave.

    See Also
    --------
    TradeflowsError : every error tradeflows raises.

    Examples
    --------
    >>> raise TradeflowsInputError("x.csv: missing column 'cmdCode'")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: x.csv: missing column 'cmdCode'
    """


class EngineUnavailableError(TradeflowsInputError):
    """The engine asked for cannot run here (for example ``gpu`` without cudf_polars).

    See Also
    --------
    resolve : where it is raised.
    TradeflowsInputError : a user's input refused.

    Examples
    --------
    >>> issubclass(EngineUnavailableError, TradeflowsInputError)
    True
    >>> print(EngineUnavailableError('engine gpu: cudf_polars is not installed'))
    engine gpu: cudf_polars is not installed
    """
