"""How long polars' allocator keeps the memory it frees: set before polars loads.

polars allocates through jemalloc on Linux and, on import, tells it to hand
freed pages back to the kernel after half a second (``dirty_decay_ms:500,
muzzy_decay_ms:1000``, in ``_RJEM_MALLOC_CONF``), so that a notebook's
memory falls soon after a large query. An ingest or a detect frees and
allocates gigabytes in steps a second or two apart: each step then takes
fresh pages from the kernel, and on a virtual machine a fresh page is
expensive. On the 2-core CI-like machine, the 52M-row ingest with two
seconds of decay took 79 to 83 s (40 s of it in the kernel) against 84 to
105 s (46 to 75 s), its peak 1% to 4% higher (``benchmarks/RESULTS.md``,
issue 27).

jemalloc hands back at once, whatever the decay, an allocation above its
``oversize_threshold`` (8 MiB: a column of more than a million numbers, or
of 524,288 texts), which it keeps in an arena of its own whose decay is 0.
Ingest and detect allocate such columns by the hundred: each is faulted in
afresh. Without that arena (``oversize_threshold:0``) they are kept as the
others are. The kernel's share falls more than the time (2026-12-07, three
and two runs each): the 1.5M-row ingest 2.99 s against 3.15 s, 1.53 s in the
kernel against 1.87 s, its peak 1.36 GB against 1.52; detect on the wide
10M-row world 43.7-45.3 s against 45.4-46.2 s, 10.5 s in the kernel against
11.9 s, at the same peak; the 52M-row ingest 77.3-78.6 s against 78.3-83.3 s,
at the same peak (``benchmarks/RESULTS.md``, issue 27).

:func:`keep_freed_memory` adds two seconds of decay, and no oversize arena,
to what polars sets. It
runs when this module is imported, first of all :mod:`tradeflows`. It does
nothing where polars was imported first (jemalloc has read its options), or
where ``_RJEM_MALLOC_CONF`` already names a decay: the user's choice is kept
(``dirty_decay_ms:500`` keeps polars' own). polars' own options, inherited
from a parent process that loaded polars, are not a choice: the decay is
added after them.
"""

from __future__ import annotations

import os
import sys

#: What jemalloc reads after polars' options (the later value of an option wins).
DECAY = "dirty_decay_ms:2000,muzzy_decay_ms:2000,oversize_threshold:0"

#: The environment variable polars' jemalloc reads at load.
VARIABLE = "_RJEM_MALLOC_CONF"

#: What polars writes in :data:`VARIABLE` when it loads, before any options of
#: the user's (polars 1.44; 1.35's muzzy decay is -1): a process started by
#: one that loaded polars inherits it.
POLARS_OWN = ("dirty_decay_ms:500,muzzy_decay_ms:1000", "dirty_decay_ms:500,muzzy_decay_ms:-1")


def keep_freed_memory() -> bool:
    """Give polars' allocator two seconds of decay and no oversize arena, unless polars is
    loaded or the user chose a decay.

    Returns
    -------
    bool
        Whether the decay was added to :data:`VARIABLE` (polars puts its own
        options before it when it loads; the later value of an option wins).

    Examples
    --------
    >>> import polars
    >>> keep_freed_memory()  # polars is loaded: too late, and nothing is changed
    False
    """
    if "polars" in sys.modules:
        return False
    given = os.environ.get(VARIABLE, "")
    chosen = given
    for own in POLARS_OWN:
        chosen = chosen.removeprefix(own)
    if "decay_ms" in chosen:
        return False
    os.environ[VARIABLE] = f"{given},{DECAY}" if given else DECAY
    return True


keep_freed_memory()
