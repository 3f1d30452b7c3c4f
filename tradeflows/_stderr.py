"""The command line's stderr without the panic messages of native code.

A panic inside polars (Rust) becomes a Python exception, which the command
line reports in one line (``tradeflows.cli``; ``tradeflows._engine.collect``
turns those of its plans into errors). Before it does, Rust's panic hook has
already written its own message to file descriptor 2, and with
``RUST_BACKTRACE`` set a whole backtrace: a damaged store read by ``summary``
printed five to forty lines of Rust above the one line that names the
damaged file (found by ``dev/fuzz.py stores``, 2026-12-07).

:func:`panic_messages_dropped` points descriptor 2 at a pipe for the length of
a command. A thread passes what arrives on to the real stderr line by line,
leaving out each panic's block (:class:`PanicFilter`). Python's own
``sys.stderr``, when it is the process's, writes into the same pipe (every
line keeps its order) and says it is a terminal where the real stderr is
one, for the progress lines.
``TRADEFLOWS_DEBUG=1`` keeps the panic messages.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import sys
import threading
from collections.abc import Iterator

__all__ = ["PanicFilter", "panic_messages_dropped"]

#: The first line of a Rust panic's message (the thread's id in brackets from Rust 1.88).
_PANIC = re.compile(rb"^thread '[^']*'(?: \(\d+\))? panicked at ")
#: A line of a Rust backtrace: a frame ("  12: polars::...") or its place ("   at src/...").
_FRAME = re.compile(rb"^\s+(?:\d+:|at )")


class PanicFilter:
    """Lines of stderr with each Rust panic's block left out.

    A block is the line ``thread '...' panicked at ...``, the blank line
    Rust writes before it, the panic's message, its backtrace and the
    ``note:`` that ends it. Every other line passes, in order; a line of
    tradeflows' own (``tradeflows: ...``) always does.

    Examples
    --------
    >>> f = PanicFilter()
    >>> text = [b"\\n", b"thread 'main' panicked at src/a.rs:1:2:\\n", b"index out of bounds\\n",
    ...         b"note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\\n",
    ...         b"tradeflows: error: a.parquet is damaged\\n"]
    >>> [kept for line in text for kept in f.feed(line)] + f.close()
    [b'tradeflows: error: a.parquet is damaged\\n']
    """

    def __init__(self) -> None:
        self._held = False  # inside a panic's block
        self._frames = False  # inside its backtrace
        self._blank: bytes | None = None  # a blank line, kept until the next says what it is

    def feed(self, line: bytes) -> list[bytes]:
        """The lines to pass on, ``line`` read."""
        if _PANIC.match(line):
            self._held, self._frames, self._blank = True, False, None
            return []
        if self._held and not line.startswith(b"tradeflows:"):
            if line.startswith(b"note: "):  # how Rust ends the block
                self._held = False
                return []
            if line.startswith(b"stack backtrace:"):
                self._frames = True
                return []
            if not self._frames or _FRAME.match(line):
                return []
            # RUST_BACKTRACE=full ends with the last frame, no note.
        self._held = self._frames = False
        out = [self._blank] if self._blank is not None else []
        self._blank = None
        if line.strip():
            return [*out, line]
        self._blank = line
        return out

    def close(self) -> list[bytes]:
        """The lines still held at the end of the stream."""
        out = [self._blank] if self._blank is not None and not self._held else []
        self._blank = None
        return out


def _pass_on(read: int, out: int) -> None:
    """Copy the pipe ``read`` to the descriptor ``out`` through a :class:`PanicFilter`
    until the pipe closes; then close both. Once ``out`` refuses (a closed
    terminal), the pipe is still drained, so that no writer blocks."""
    keep = PanicFilter()
    with open(read, "rb") as src, open(out, "wb", buffering=0) as dst:
        broken = False
        for line in itertools.chain(src, [None]):
            kept = keep.close() if line is None else keep.feed(line)
            if kept and not broken:
                try:
                    dst.write(b"".join(kept))
                except OSError:
                    broken = True


class _Stderr(io.TextIOWrapper):
    """``sys.stderr`` writing into the pipe, in order with native code's lines,
    and a terminal where the real stderr is one (rich's progress lines ask)."""

    def __init__(self, fd: int, *, terminal: bool) -> None:
        like = sys.__stderr__
        super().__init__(open(fd, "wb", buffering=0), encoding=like.encoding,
                         errors=like.errors, line_buffering=True)  # fmt: skip
        self._terminal = terminal

    def isatty(self) -> bool:
        return self._terminal


@contextlib.contextmanager
def panic_messages_dropped() -> Iterator[None]:
    """Run the body with native code's panic messages kept off stderr.

    Descriptor 2 is a pipe while the body runs; what comes through it goes
    on to the real stderr, less the panics' blocks. ``sys.stderr``, when it
    is the process's own (not a test's capture), writes into the same pipe,
    so that every line keeps its order, and says it is a terminal where the
    real stderr is one. Nothing changes with ``TRADEFLOWS_DEBUG`` set, or
    where descriptor 2 cannot be duplicated (none open).

    Examples
    --------
    >>> with panic_messages_dropped():
    ...     print("tradeflows: done", file=sys.stderr)
    """
    if os.environ.get("TRADEFLOWS_DEBUG"):
        yield
        return
    try:
        real = os.dup(2)
    except OSError:
        yield
        return
    read, write = os.pipe()
    own = sys.stderr is not None and sys.stderr is sys.__stderr__
    if own:
        sys.stderr.flush()
        sys.stderr = _Stderr(os.dup(write), terminal=os.isatty(real))
    os.dup2(write, 2)
    os.close(write)
    thread = threading.Thread(
        target=_pass_on, args=(read, os.dup(real)), name="tradeflows-stderr", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        if own:
            sys.stderr.close()
            sys.stderr = sys.__stderr__
        # The pipe's last writer is descriptor 2: pointed back, the thread
        # reads to the end (a child process still holding it: 2 s at most).
        os.dup2(real, 2)
        os.close(real)
        thread.join(timeout=2)
