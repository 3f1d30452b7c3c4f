"""Progress and logs: the long steps say what they do and how long they took.

Every step goes to the ``tradeflows`` logger (:func:`step`). Where it shows:

- in a terminal, ``tradeflows`` commands show each step as it starts (rich);
- in Jupyter, the same, from the first step on (set ``TRADEFLOWS_QUIET=1``
  to keep a notebook's outputs clean); :func:`show_progress` turns it on or
  off anywhere;
- ``tradeflows --log FILE`` (or ``TRADEFLOWS_LOG=FILE``) appends a plain log
  with a time stamp and the seconds each step took, for scheduled runs;
- ``--quiet`` shows nothing (the log file is still written when asked for).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["current_step", "log_to", "logger", "progress_handler", "show_progress", "step"]

logger = logging.getLogger("tradeflows")
logger.setLevel(logging.INFO)
logger.propagate = False
# Without a handler, logging's "last resort" would print warnings to stderr.
logger.addHandler(logging.NullHandler())

_SHOWN = "_tradeflows_progress"
_decided = False


def progress_handler() -> logging.Handler:
    """A handler that shows each step as it starts (rich: a terminal or a notebook)."""
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(
        console=Console(stderr=True),
        show_path=False,
        show_level=False,
        markup=False,
        rich_tracebacks=False,
        log_time_format="[%X]",
    )
    handler.set_name(_SHOWN)
    # The start of each step: its end (with its seconds) is for the log file.
    handler.addFilter(lambda record: getattr(record, "phase", None) == "start")
    return handler


def show_progress(enabled: bool = True) -> None:
    """Show (or stop showing) each long step as it starts, in a terminal or a notebook.

    Parameters
    ----------
    enabled : bool
        Show each long step as it starts (in a terminal or a notebook), or not.

    See Also
    --------
    tradeflows._log.log_to : a plain log file of a run.

    Examples
    --------
    >>> show_progress(False)
    >>> any(h.get_name() == "_tradeflows_progress" for h in logger.handlers)
    False
    """
    global _decided
    _decided = True
    for h in [h for h in logger.handlers if h.get_name() == _SHOWN]:
        logger.removeHandler(h)
    if enabled:
        logger.addHandler(progress_handler())


def log_to(path: str | Path) -> logging.Handler:
    """Append a plain log of the steps (time, message, seconds) to ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.log"
    >>> h = log_to(p)
    >>> with step("an example"):
    ...     pass
    >>> logger.removeHandler(h); h.close()
    >>> "an example: done in" in p.read_text()
    True
    """
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return handler


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules and not os.environ.get("TRADEFLOWS_QUIET")


#: The steps running now, outermost first (:func:`current_step`).
_STEPS: list[str] = []


def current_step() -> str:
    """The steps running now, outermost first, joined by " / " ("" outside any).

    Examples
    --------
    >>> with step("outer"), step("inner"):
    ...     current_step()
    'outer / inner'
    """
    return " / ".join(_STEPS)


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Log ``what`` as it starts and, when it ends, the seconds it took."""
    global _decided
    if not _decided:  # in Jupyter, progress shows unless asked not to
        _decided = True
        if _in_notebook():
            logger.addHandler(progress_handler())
    start = time.perf_counter()
    logger.info("%s", what, extra={"phase": "start"})
    _STEPS.append(what)
    try:
        yield
    except BaseException:
        seconds = time.perf_counter() - start
        logger.info("%s: stopped after %.1f s", what, seconds, extra={"phase": "end"})
        raise
    finally:
        _STEPS.pop()
    seconds = time.perf_counter() - start
    logger.info("%s: done in %.1f s", what, seconds, extra={"phase": "end"})
