"""How a LazyFrame is executed: the engines, and :func:`collect`.

Pipeline code builds LazyFrames; the few points that execute them (listed,
with the reason for each, in ``docs/execution.md``) call :func:`collect` with
the engine the user picked. ``cpu`` is polars' in-memory engine, ``streaming`` processes data
larger than memory in batches, ``gpu`` runs on the Polars GPU engine (package
cudf-polars) and raises if it cannot, ``auto`` uses the GPU when it is usable
and the CPU otherwise.

With ``TRADEFLOWS_PROFILE=file.csv`` in the environment, every collect's time
is appended to that file with the step that ran it, and on the GPU engine
its plan nodes' timings too (cudf-polars' profiler): a per-step profile.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import os
import re
from collections.abc import Iterator
from functools import cache
from typing import Literal, get_args

import polars as pl

from tradeflows._errors import EngineUnavailableError, TradeflowsInputError

__all__ = [
    "DEFAULT_SHARE",
    "ENGINES",
    "Engine",
    "collect",
    "collect_all",
    "config_context",
    "gpu_available",
    "memory_budget",
    "memory_in_words",
    "reread",
    "resolve",
    "sink_parquet",
    "streamed",
    "total_memory",
    "xgboost_device",
]

Engine = Literal["auto", "cpu", "streaming", "gpu"]
ENGINES: tuple[str, ...] = get_args(Engine)


@cache
def gpu_available() -> bool:
    """True when cudf_polars is installed and a CUDA device answers.

    Examples
    --------
    >>> isinstance(gpu_available(), bool)
    True
    """
    if importlib.util.find_spec("cudf_polars") is None:
        return False
    try:
        pl.LazyFrame({"a": [1]}).collect(engine=pl.GPUEngine(raise_on_fail=True))
    except Exception:  # any failure to start the device means: no usable GPU
        return False
    return True


_CHOSEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("engine", default=None)


@contextlib.contextmanager
def config_context(*, engine: str | None = None) -> Iterator[None]:
    """Choose the engine once, for everything run inside the block.

    As scikit-learn's ``config_context``: the calls inside that are not given
    an engine run on this one (an engine given to a call still wins). Outside
    any block, ``TRADEFLOWS_ENGINE`` in the environment, else ``auto``.

    Parameters
    ----------
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        Checked at once (a GPU asked for where none can run is refused here).

    Returns
    -------
    contextlib.AbstractContextManager

    See Also
    --------
    resolve : the engine a call runs on.

    Examples
    --------
    >>> with config_context(engine="streaming"):
    ...     resolve()
    'streaming'
    >>> resolve("cpu")
    'cpu'
    """
    token = _CHOSEN.set(resolve(engine) if engine is not None else None)
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def resolve(engine: str | None = None) -> str:
    """Check an engine name and turn ``auto`` (the default) into a concrete one.

    Without a name: the engine of the enclosing :func:`config_context`, else
    ``TRADEFLOWS_ENGINE`` in the environment, else ``auto``.

    Parameters
    ----------
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        The engine asked for.

    Returns
    -------
    str
        ``cpu``, ``streaming`` or ``gpu``.

    See Also
    --------
    config_context : an engine chosen for a block of calls.
    collect : a plan executed on the engine resolved.

    Examples
    --------
    >>> resolve("cpu")
    'cpu'
    >>> resolve("fast")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: unknown engine 'fast': choose one of auto, cpu, streaming, gpu
    """
    name = engine or _CHOSEN.get() or os.environ.get("TRADEFLOWS_ENGINE", "auto")
    if name not in ENGINES:
        raise TradeflowsInputError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    if name == "auto":
        return "gpu" if gpu_available() else "cpu"
    if name == "gpu" and importlib.util.find_spec("cudf_polars") is None:
        raise EngineUnavailableError(
            "engine 'gpu' needs the Polars GPU engine: install cudf-polars "
            "(see environment.yml) or use --engine cpu"
        )
    return name


@cache
def _xgboost_has_cuda() -> bool:
    """Whether the installed XGBoost is the CUDA build (``xgboost-cpu`` is not)."""
    if importlib.util.find_spec("xgboost") is None:
        return False
    import xgboost

    return bool(xgboost.build_info().get("USE_CUDA", False))


def xgboost_device(engine: str) -> str:
    """The device XGBoost predicts on for a resolved ``engine``.

    ``cuda`` on the GPU engine where XGBoost is the CUDA build (the GPU
    environment, ``environment.yml``), ``cpu`` otherwise: the default install's
    ``xgboost-cpu`` would only warn and fall back.

    Parameters
    ----------
    engine : {"cpu", "streaming", "gpu"}
        An engine :func:`resolve` returned.

    Returns
    -------
    str
        ``cuda`` or ``cpu``.

    See Also
    --------
    tradeflows.detect.LearnedRouteDetector : its ``device``.

    Examples
    --------
    >>> xgboost_device("cpu")
    'cpu'
    """
    return "cuda" if engine == "gpu" and _xgboost_has_cuda() else "cpu"


def streamed(engine: str | None = None) -> str:
    """The engine for a plan whose input is much larger than its result (a
    join or group-by over all pairs): ``streaming`` where ``cpu`` is chosen.

    The in-memory engine holds a join's whole input and output at once; the
    streaming one, morsels of them (measured in benchmarks/RESULTS.md, issue
    27). The same rows, perhaps in another order.

    Parameters
    ----------
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        The engine chosen.

    Returns
    -------
    str

    See Also
    --------
    resolve : the engine chosen, resolved.

    Examples
    --------
    >>> streamed("cpu"), streamed("streaming")
    ('streaming', 'streaming')
    """
    name = resolve(engine)
    return "streaming" if name == "cpu" else name


#: The first polars whose streaming engine runs a sort followed by shifts in
#: order. 1.35's failed on ingest's slip pass over 8M candidate rows ("zip
#: node received non-equal length inputs"; see also :func:`in_order`); 1.44's
#: gives the in-memory engine's rows (benchmarks/RESULTS.md, issue 27).
STREAMS_IN_ORDER = (1, 44)


def polars_version() -> tuple[int, int]:
    """polars' major and minor version.

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> polars_version() >= (1, 35)
    True
    """
    major, minor = pl.__version__.split(".")[:2]
    return int(major), int(minor)


def streamed_in_order(engine: str | None = None) -> str:
    """:func:`streamed` for a plan that also reads rows in order (a sort, then
    shifts) where this polars' streaming engine keeps that order
    (:data:`STREAMS_IN_ORDER`); :func:`in_order` on an older polars.

    Parameters
    ----------
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        The engine chosen.

    Returns
    -------
    str

    Examples
    --------
    >>> streamed_in_order("cpu") == ("streaming" if polars_version() >= STREAMS_IN_ORDER else "cpu")
    True
    """
    return streamed(engine) if polars_version() >= STREAMS_IN_ORDER else in_order(engine)


def in_order(engine: str | None = None) -> str:
    """The engine for plans that read rows in order (a month back is a row up,
    running sums): the in-memory one where ``streaming`` is chosen.

    polars 1.35's streaming engine evaluated such shifts morsel by morsel: the
    route indicators of a small world differed from the in-memory engine's in
    19 columns. polars 1.44's agrees, but runs the route step 1.7x slower
    (16-18 s against 9.5-11.6 s at 11.9M report rows; benchmarks/RESULTS.md).

    Parameters
    ----------
    engine : {"auto", "cpu", "streaming", "gpu"}, optional
        The engine chosen.

    Returns
    -------
    str

    Examples
    --------
    >>> in_order("streaming"), in_order("cpu")
    ('cpu', 'cpu')
    """
    name = resolve(engine)
    return "cpu" if name == "streaming" else name


def total_memory() -> int | None:
    """The machine's memory in bytes, or None where the system does not say (not POSIX).

    Returns
    -------
    int or None

    See Also
    --------
    memory_budget : the share of it a run may use.

    Examples
    --------
    >>> total_memory() is None or total_memory() > 2**20
    True
    """
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return None


#: The share of the machine's memory a run (an ingest, a detection) may use by default.
DEFAULT_SHARE = 0.25

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def memory_budget(memory: str | float | int | None = None) -> int:
    """The bytes a run may use: ``--memory`` of ``ingest``, ``detect`` and ``report``.

    Parameters
    ----------
    memory : str, float or int, optional
        ``"6GiB"``, ``"500MB"``, a number of bytes (a Python number; the
        text ``"8"`` is refused, since 8 bytes is never what was meant), or
        a share of the machine's memory (a number up to 1, ``"0.5"``). Default: a quarter
        of the machine's memory (:data:`DEFAULT_SHARE`; of 8 GiB where the
        system does not say how much it has).

    Returns
    -------
    int

    Raises
    ------
    TradeflowsInputError
        ``memory`` is not a size or a share, or is not more than 0.

    See Also
    --------
    tradeflows.detect._budget.route_months_estimate : what a detection's budget is compared with.

    Examples
    --------
    >>> memory_budget("6GiB"), memory_budget(1024)
    (6442450944, 1024)
    >>> memory_budget("8")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: memory '8': a size needs its unit (8GiB, 8MB); a number alone is a share of the machine's memory, up to 1
    >>> memory_budget("a lot")
    Traceback (most recent call last):
    ...
    tradeflows._errors.TradeflowsInputError: memory 'a lot': expected a size (6GiB, 500MB) or a share of the machine's memory (0.5)
    """
    total = total_memory() or 8 * 2**30
    if memory is None:
        return int(DEFAULT_SHARE * total)
    if isinstance(memory, (int, float)) and not isinstance(memory, bool):
        value, unit = float(memory), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(memory))
        if not m or m.group(2).lower() not in _UNITS:
            raise TradeflowsInputError(
                f"memory {memory!r}: expected a size (6GiB, 500MB) or a share of the "
                "machine's memory (0.5)"
            )
        value, unit = float(m.group(1)), m.group(2).lower()
    if value <= 0:
        raise TradeflowsInputError(f"memory {memory!r}: must be more than 0")
    if not unit and value <= 1:
        return int(value * total)
    if not unit and isinstance(memory, str):  # "8" from a command line: 8 bytes is never meant
        raise TradeflowsInputError(
            f"memory {memory!r}: a size needs its unit ({m.group(1)}GiB, {m.group(1)}MB); "
            "a number alone is a share of the machine's memory, up to 1"
        )
    return int(value * _UNITS[unit])


def memory_in_words(n: float) -> str:
    """Bytes in words: GiB from a tenth of one, MiB below, KiB below a tenth of a MiB.

    ``--memory 2MB`` is not "0.0 GiB", nor ``--memory 4KB`` "0.0 MiB".

    Parameters
    ----------
    n : float
        Bytes.

    Returns
    -------
    str

    See Also
    --------
    memory_budget : the budget it words in the log.

    Examples
    --------
    >>> memory_in_words(6 * 2**30), memory_in_words(2_000_000), memory_in_words(4000)
    ('6.0 GiB', '1.9 MiB', '3.9 KiB')
    """
    if n >= 2**30 / 10:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 / 10 else f"{n / 2**10:.1f} KiB"


def _polars_engine(name: str):
    if name == "gpu":
        # raise_on_fail: an operation the GPU cannot run is an error, not a
        # silent fall back to the CPU. The in-memory executor: cudf-polars'
        # default (streaming, several partitions) runs some operations on one
        # partition after a warning, and its ingest kept fewer rows than the
        # CPU's (benchmarks/RESULTS.md).
        return pl.GPUEngine(raise_on_fail=True, executor="in-memory")
    return "streaming" if name == "streaming" else "in-memory"


def collect(lf: pl.LazyFrame, engine: str | None = None) -> pl.DataFrame:
    """Execute ``lf`` on ``engine`` and return a DataFrame.

    Parameters
    ----------
    lf : LazyFrame
        A plan.
    engine : str, optional
        As :func:`resolve`.

    Returns
    -------
    DataFrame

    See Also
    --------
    resolve : which engine ``engine`` names.
    sink_parquet : a plan written to a file instead.

    Examples
    --------
    >>> import polars as pl
    >>> collect(pl.LazyFrame({"a": [1, 2]}).select(pl.col("a").sum()), "cpu").item()
    3
    """
    name = resolve(engine)
    profile = os.environ.get("TRADEFLOWS_PROFILE")
    with _panics_as_errors():
        if profile:
            return _profiled(lf, name, profile)
        return lf.collect(engine=_polars_engine(name))


@contextlib.contextmanager
def _panics_as_errors():
    """Raise a panic inside polars as a ``ComputeError``, which callers handle.

    A panic (pyo3's ``PanicException``) is a ``BaseException``, which no
    ``except Exception`` catches. polars 1.44's CSV reader panics on a file
    whose last line ends inside a quoted value typed as a number
    (``a,b\\n1,"``): a truncated download. As a ``PolarsError`` it takes the
    path any parse error takes (the exact reader, then one line naming the
    file; tests/test_hostile.py).
    """
    try:
        yield
    except pl.exceptions.PanicException as exc:
        raise pl.exceptions.ComputeError(f"polars failed on this input ({exc})") from None


def collect_all(lfs: list[pl.LazyFrame], engine: str | None = None) -> list[pl.DataFrame]:
    """Execute several plans together: the parts they share run once, side by side.

    The GPU engine has no ``collect_all`` (rapidsai/cudf#22840), nor does a
    profiled run (``TRADEFLOWS_PROFILE``) time one: there each plan is
    collected in turn.

    Parameters
    ----------
    lfs : list of LazyFrame
        Plans.
    engine : str, optional
        As :func:`resolve`.

    Returns
    -------
    list of DataFrame
        One per plan, in order.

    See Also
    --------
    collect : one plan.

    Examples
    --------
    >>> import polars as pl
    >>> lf = pl.LazyFrame({"a": [1, 2]})
    >>> [d.item() for d in collect_all([lf.select(pl.col("a").sum()), lf.select(pl.len())], "cpu")]
    [3, 2]
    """
    name = resolve(engine)
    if name == "gpu" or os.environ.get("TRADEFLOWS_PROFILE"):
        return [collect(lf, name) for lf in lfs]
    with _panics_as_errors():
        return pl.collect_all(lfs, engine=_polars_engine(name))


def _profiled(lf: pl.LazyFrame, name: str, path: str) -> pl.DataFrame:
    """:func:`collect`, appending its timings to the CSV file ``path``
    (``TRADEFLOWS_PROFILE``).

    Rows: the step running (:func:`tradeflows._log.current_step`), the
    engine, a number per collect, then a node and its start and end in
    microseconds from the collect's start. Every collect has a row
    ``collect (wall)``, its whole time. On the GPU engine each plan node
    follows, as cudf-polars' in-memory executor times it
    (``LazyFrame.profile``, the profiler its documentation names; polars
    deprecates it for its own streaming engine, whose concurrent nodes it
    would mislead on, and so it is not used on the CPU).
    """
    import time
    import warnings

    from tradeflows._log import current_step

    global _PROFILED
    _PROFILED += 1
    start = time.perf_counter()
    nodes = pl.DataFrame(schema={"node": pl.String, "start": pl.Int64, "end": pl.Int64})
    if name == "gpu":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            out, timed = lf.profile(engine=_polars_engine(name))
        nodes = timed.select("node", pl.col("start", "end").cast(pl.Int64))
    else:
        out = lf.collect(engine=_polars_engine(name))
    wall = round((time.perf_counter() - start) * 1e6)
    whole = pl.DataFrame({"node": ["collect (wall)"], "start": [0], "end": [wall]})
    rows = pl.concat([whole, nodes]).select(
        step=pl.lit(current_step()),
        engine=pl.lit(name),
        collect=pl.lit(_PROFILED),
        node="node",
        start_us="start",
        end_us="end",
    )
    new = not os.path.exists(path)
    with open(path, "a", encoding="utf-8") as f:
        rows.write_csv(f, include_header=new)
    return out


#: Collects profiled so far in this process (``TRADEFLOWS_PROFILE``).
_PROFILED = 0


def reread(df: pl.DataFrame, engine: str | None = None) -> pl.LazyFrame:
    """An executed frame that later plans read, perhaps several times each.

    On the GPU engine each read of a frame in a plan copies it to the device
    again (cudf-polars' ``DataFrameScan``): there it is also cached, so that a
    plan copies it once (at 1.5M report rows, detect's plans copied 18.8M rows
    to the device without, 5.9M with; benchmarks/RESULTS.md). Elsewhere it is
    read in place.

    Parameters
    ----------
    df : DataFrame
        The executed frame.
    engine : str, optional
        As :func:`resolve`: the engine of the plans that read it.

    Returns
    -------
    LazyFrame

    Examples
    --------
    >>> reread(pl.DataFrame({"a": [1, 2]}), "cpu").select(pl.col("a").sum()).collect().item()
    3
    """
    lf = df.lazy()
    return lf.cache() if resolve(engine) == "gpu" else lf


def sink_parquet(lf: pl.LazyFrame, path: str, engine: str | None = None) -> None:
    """Write ``lf`` to one parquet file without materialising it where possible.

    The GPU engine has no sink: its result is collected, then written.

    Parameters
    ----------
    lf : LazyFrame
        A plan.
    path : str
        The parquet file.
    engine : str, optional
        As :func:`resolve`.

    See Also
    --------
    collect : a plan executed into memory.

    Examples
    --------
    >>> import polars as pl, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> sink_parquet(pl.LazyFrame({"a": [1]}), os.path.join(d, "a.parquet"), "cpu")
    >>> pl.read_parquet(os.path.join(d, "a.parquet")).height
    1
    """
    name = resolve(engine)
    if name == "gpu":
        collect(lf, name).write_parquet(path)
    else:
        lf.sink_parquet(path, engine=_polars_engine(name))
