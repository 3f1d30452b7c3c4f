"""Check, without a GPU, that every query of the pipeline translates to the Polars GPU engine.

    PYTHONPATH=$SITE LD_LIBRARY_PATH=$SITE/nvidia/cu13/lib \\
        python scripts/gpu_plan_check.py STORE_OR_FILES...

where ``$SITE`` is the folder the GPU wheels were installed into (below).

cudf-polars turns a polars plan into its own before it touches the device, and
refuses there what it cannot run (an Enum column, ``any()`` in a group-by, ...).
It also fails on what cudf-polars accepts but the device then breaks on, as
far as known (``_hazards``: a windowed cum_sum of a narrow integer).
This script runs ``ingest`` (into a new store, then again into it: the
first file read again with ``--replace``), ``detect`` (whole, by chapter,
and with chapters split into groups of headings) and ``report`` with
``--engine gpu`` on the CPU:
each collect first translates its plan as the GPU engine would (raising on the
first refusal, with all the reasons) and then runs it on the CPU engine. A GPU
machine is scarce; this finds the refusals before one is lent.

It needs cudf-polars importable (the wheels of ``../shared/tools/gpu-wheels``
installed with ``pip install --no-deps --target``, plus cuda-bindings,
cuda-pathfinder, nvidia-ml-py and the CUDA runtime, NVRTC, nvJitLink and
cuFile wheels); no device is touched. What it cannot see: failures that only
happen while the GPU executes. ``bash scripts/gpu_check.sh [STORE_OR_FILES...]``
does all of it in one command (and keeps what it installed for the next run);
by hand, on a CPU machine with Python 3.12 (2026-12-03)::

    python3.12 -m venv /tmp/gpuvenv && /tmp/gpuvenv/bin/pip install -e .
    PATH=/tmp/gpuvenv/bin:$PATH ../shared/tools/gpu-wheels
    /tmp/gpuvenv/bin/pip install --no-deps --target /tmp/site .gpuwheels/*.whl
    /tmp/gpuvenv/bin/pip install --no-deps --target /tmp/cuda "cuda-bindings>=13,<14" \
        cuda-pathfinder nvidia-ml-py "nvidia-cuda-runtime>=13,<14" \
        "nvidia-cuda-nvrtc>=13,<14" "nvidia-nvjitlink>=13,<14" "nvidia-cufile>=1.15"
    cp -rn /tmp/cuda/* /tmp/site/ && cp -rn /tmp/cuda/nvidia/cu13 /tmp/site/nvidia/
    PYTHONPATH=/tmp/site:$PWD LD_LIBRARY_PATH=/tmp/site/nvidia/cu13/lib \
        /tmp/gpuvenv/bin/python scripts/gpu_plan_check.py WORLD/comtrade
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import cudf_polars.utils.config as _config
import polars as pl
from cudf_polars.dsl import expr as _expr
from cudf_polars.dsl.expressions.rolling import GroupedWindow
from cudf_polars.dsl.translate import Translator

from tradeflows import _engine as engine

# Without a device, the engine's configuration cannot ask for its memory.
_config.get_total_device_memory = lambda: 80 * 2**30
_cpu_collect = pl.LazyFrame.collect


#: Integer types a windowed cum_sum must not read on the GPU engine: cudf-polars
#: 26.10 sums them with a libcudf scan that gives INT64 values in a column
#: still typed as the input, which a later ``shift`` refuses on the device only
#: (found on an H200, 2026-12-04; benchmarks/RESULTS.md).
_NARROW = (pl.Boolean, pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32)


def _exprs(obj: object):
    """Every expression reachable from an IR node's arguments."""
    if isinstance(obj, _expr.NamedExpr):
        obj = obj.value
    if isinstance(obj, _expr.Expr):
        yield obj
        for child in obj.children:
            yield from _exprs(child)
        if isinstance(obj, GroupedWindow):
            for named in (*obj.named_aggs, obj.post):
                yield from _exprs(named)
    elif isinstance(obj, tuple | list):
        for item in obj:
            yield from _exprs(item)


def _hazards(ir) -> list[str]:
    """What the device would break on though the plan translates: a windowed
    cum_sum of a narrow integer (:data:`_NARROW`)."""
    found, nodes = [], [ir]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        for e in _exprs(getattr(node, "_non_child_args", ())):
            if not isinstance(e, GroupedWindow):
                continue
            for f in _exprs((*e.named_aggs, e.post, *e.children)):
                if (
                    isinstance(f, _expr.UnaryFunction)
                    and f.name == "cum_sum"
                    and isinstance(f.children[0].dtype.polars_type, _NARROW)
                ):
                    found.append(f"a windowed cum_sum of {f.children[0].dtype.polars_type}")
    return sorted(set(found))


def _translate_then_collect(lf: pl.LazyFrame, name: str | None = None) -> pl.DataFrame:
    if name == "gpu" or (name is None and engine.resolve(None) == "gpu"):
        t = Translator(lf._ldf.visit(), pl.GPUEngine(raise_on_fail=True))
        ir = t.translate_ir()
        # Without a driver, some expressions cannot be compiled here: not a refusal.
        refused = [str(e) for e in t.errors if "NVIDIA display driver" not in str(e)]
        if refused:
            raise RuntimeError("the GPU engine refuses: " + "; ".join(refused))
        hazards = _hazards(ir)
        if hazards:
            raise RuntimeError("the GPU engine would fail on the device: " + "; ".join(hazards))
    return _cpu_collect(lf)


class _Refusals(logging.Handler):
    """The files whose read the check refused (its own messages name the GPU engine).

    Ingest catches any failure of a file's GPU read and reads the file with
    the CPU's parser instead (``tradeflows._store._read``), saying so in the
    log: a refusal there would pass unseen. A file whose values are not plain
    decimal text, or not UTF-8, is read by the CPU by design, and is not counted.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "read by the CPU's parser" in text and "GPU engine" in text:
            self.found.append(text)


def main(argv: list[str]) -> int:
    from tradeflows import cli
    from tradeflows._io import expand_sources

    engine.collect = _translate_then_collect
    engine.resolve = lambda e=None: "gpu" if (e or "auto") in ("gpu", "auto") else e
    refusals = _Refusals()
    logging.getLogger("tradeflows").addHandler(refusals)
    with tempfile.TemporaryDirectory() as d:
        store = Path(d) / "store"
        code = cli.main(["ingest", *argv, "--out", str(store), "--engine", "gpu", "--quiet"])
        if code:
            return code
        # Into a store that holds rows already (a file read again, beside the
        # others'): the store's own rows are then read beside the new ones.
        first = str(expand_sources(argv)[0])
        code = cli.main(["ingest", first, "--out", str(store), "--engine", "gpu", "--quiet",
                         "--replace"])  # fmt: skip
        if code:
            return code
        if refusals.found:
            print("\n".join(refusals.found), file=sys.stderr)
            return 1
        for extra, split in (([], False), (["--partition"], False), (["--partition"], True)):
            if split:
                # Chapters of over 2,000 pairs split into groups of headings, and
                # over 20,000 rows paired by heading: the plans of a chapter too
                # large for one group (the whole chapter's reach and control).
                from tradeflows import _mirror
                from tradeflows.detect import _partition

                _partition.BATCH_PAIRS, _mirror.CONTEXT_ROWS = 2_000, 20_000
            code = cli.main(["detect", str(store), "--out", str(Path(d) / "f.parquet"),
                             "--engine", "gpu", *extra])  # fmt: skip
            if code:
                return code
        return cli.main(["report", str(store), "--out", str(Path(d) / "r.html"), "--engine", "gpu"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
