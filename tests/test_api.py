"""The public API: what ``import tradeflows as tf`` offers, and how the package is put together."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import tradeflows as tf

PACKAGE = Path(tf.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def test_the_analysts_nouns_and_verbs_are_at_the_top():
    for name in tf.__all__:
        assert getattr(tf, name) is not None, name
    assert isinstance(tf.Report, type) and callable(tf.detect_routes)
    assert callable(tf.viz.route_sankey) and callable(tf.datasets.make_trade_world)
    assert callable(tf.fetch.fetch_comtrade) and isinstance(tf.Query(), tf.Query)
    assert "collect" not in tf.__all__  # an execution helper, not an analyst's verb
    with pytest.raises(AttributeError):
        tf.no_such_thing  # noqa: B018


def test_no_module_is_hidden_by_a_function_of_its_name():
    """``tf.mirror`` is the function; its module is private (``tradeflows._mirror``),
    and every public module reached as ``tf.<name>`` is that module."""
    for info in pkgutil.iter_modules(tf.__path__):
        if info.name.startswith("_") or info.name == "cli":
            continue
        module = importlib.import_module(f"tradeflows.{info.name}")
        shown = getattr(tf, info.name, module)
        assert isinstance(shown, types.ModuleType) and shown is module, info.name
    import tradeflows._mirror as m

    assert m.collect_mirror is tf.collect_mirror and m.mirror is tf.mirror


#: The public modules: the package and its namespaces. Everything else is private.
PUBLIC = ("tradeflows", "tradeflows.clean", "tradeflows.datasets", "tradeflows.detect",
          "tradeflows.fetch", "tradeflows.io", "tradeflows.names", "tradeflows.viz")  # fmt: skip


def _private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split(".")[1:])


def test_each_public_object_is_defined_in_a_private_module_and_exported_once():
    """Every function and class a public module offers is defined in a private one and
    listed in the ``__all__`` of exactly one public module; a public module offers
    nothing of ours it does not list (``tradeflows.detect.detect_routes`` is gone:
    ``tf.detect_routes`` is its one home)."""
    public = sorted(m for m in MODULES if not _private(m) and m != "tradeflows.cli")
    assert public == sorted(PUBLIC)
    homes: dict[int, list[str]] = {}
    for name in public:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if isinstance(obj, types.ModuleType):
                assert obj.__name__ in public, f"{name}.{attr}"
            elif isinstance(obj, (types.FunctionType, type)) and obj.__module__.startswith(
                "tradeflows"
            ):
                assert _private(obj.__module__), f"{name}.{attr} is defined in {obj.__module__}"
                homes.setdefault(id(obj), []).append(f"{name}.{attr}")
        unlisted = [
            attr
            for attr, obj in vars(module).items()
            if not attr.startswith("_")
            and attr not in module.__all__
            and isinstance(obj, (types.FunctionType, type))
            and obj.__module__.startswith("tradeflows")
        ]
        assert unlisted == [], name
    assert [h for h in homes.values() if len(h) > 1] == []
    assert len(homes) > 70
    assert not hasattr(tf.detect, "detect_routes") and not hasattr(tf.clean, "audit")


def test_synthetic_worlds_have_one_public_home():
    assert tf.datasets.make_trade_world.__module__ == "tradeflows._synth"
    for gone in ("load_countries", "load_hs"):  # the reference tables' own loaders remain
        assert not hasattr(tf.datasets, gone)


def _imports(path: Path) -> list[tuple[str, str, bool]]:
    """(module, name, at module level) of every ``from tradeflows... import name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("tradeflows")
        ):
            out += [(node.module, a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, "", id(node) in top) for a in node.names
                    if a.name.startswith("tradeflows")]  # fmt: skip
    return out


def test_no_private_name_is_imported_across_modules():
    """A name with a leading underscore stays in its module (a private module, such as
    ``tradeflows._expr``, is imported by its public names); a package may import its own
    private submodules."""
    bad = []
    for module, path in MODULES.items():
        for source, name, _ in _imports(path):
            if not name.startswith("_") or name == "__version__":
                continue
            own_submodule = f"{source}.{name}" in MODULES and (
                module == source or module.startswith(source + ".")
            )
            if not own_submodule:
                bad.append(f"{module}: from {source} import {name}")
    assert bad == []


def test_there_is_no_import_cycle():
    """Module-level imports between tradeflows' modules form no cycle (imports inside
    functions, made on first use, are not edges)."""

    def target(name: str) -> str:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        return name

    edges = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for source, name, top in _imports(path):
            if top:
                full = f"{source}.{name}"
                edges[module].add(full if full in MODULES else target(source))
        edges[module].discard(module)
    seen, path_stack, cycles = {}, [], []

    def visit(m: str) -> None:
        seen[m] = "open"
        path_stack.append(m)
        for n in sorted(edges[m]):
            if seen.get(n) == "open":
                cycles.append([*path_stack[path_stack.index(n) :], n])
            elif n not in seen:
                visit(n)
        path_stack.pop()
        seen[m] = "done"

    for m in sorted(MODULES):
        if m not in seen:
            visit(m)
    assert cycles == []


def test_no_function_is_longer_than_120_lines():
    """Docstrings excluded: a function a reader cannot hold in mind is split by name."""
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if (
                    len(body) > 1
                    and isinstance(body[0], ast.Expr)
                    and isinstance(getattr(body[0], "value", None), ast.Constant)
                ):
                    body = body[1:]
                lines = node.end_lineno - body[0].lineno + 1
                if lines > 120:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert long == []


def test_every_public_function_documents_its_parameters_and_return():
    """numpydoc's validation: no missing Parameters (PR01), unknown ones (PR02),
    Returns (RT01), See Also (SA01) or example (EX01) on every function and class
    a public module lists in ``__all__``, the objects of the API reference
    (docs/api.md) among them."""
    import re

    from numpydoc.validate import validate

    page = (PACKAGE.parent / "docs" / "api.md").read_text(encoding="utf-8")
    current, names = "tradeflows", []
    for line in page.splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line.strip()):
            current = m.group(1)
        elif re.fullmatch(r"   [A-Za-z_]\w*", line):
            names.append(f"{current}.{line.strip()}")
    assert len(names) > 60
    # And every function or class a public module lists in __all__.
    for info in pkgutil.walk_packages(tf.__path__, "tradeflows."):
        if any(p.startswith("_") for p in info.name.split(".")[1:]) or info.name.endswith(".cli"):
            continue
        module = importlib.import_module(info.name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if isinstance(obj, (types.FunctionType, type)):
                names.append(f"{info.name}.{attr}")
    bad = {}
    for name in names:
        module, _, attr = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        errors = validate(f"{obj.__module__}.{obj.__qualname__}")["errors"]
        wanted = ("PR01", "PR02", "RT01", "SA01", "EX01")
        codes = [c for c, _ in errors if c in wanted]
        if codes and not (isinstance(obj, type) and codes == ["RT01"]):
            bad[name] = codes
    assert bad == {}


def test_importing_tradeflows_leaves_the_heavy_parts_for_first_use():
    # A command-line call pays for what it uses: the detectors (scikit-learn,
    # XGBoost), the figures (plotly) and the synthetic worlds load on first use.
    import subprocess
    import sys

    heavy = ["sklearn", "xgboost", "plotly", "tradeflows._synth", "tradeflows.detect"]
    code = f"import sys, tradeflows; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    code = "import tradeflows; tradeflows.datasets.toy_trade(); import sys; print('tradeflows._synth' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_the_detect_step_leaves_the_detectors_to_a_thread():
    # scikit-learn and XGBoost take about a second to import: `tradeflows
    # detect` computes the routes meanwhile and loads the shipped trees in a
    # thread (detect_routes), so the modules the step runs on name the
    # detectors without importing them (benchmarks/RESULTS.md, issue 28).
    import subprocess
    import sys

    code = (
        "import sys, tradeflows.cli, tradeflows.detect, tradeflows.detect._flags, "
        "tradeflows._report; print([m for m in ('sklearn', 'xgboost') if m in sys.modules]); "
        "tradeflows.detect.RobustRouteDetector; print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_reading_a_store_leaves_pyarrow_unimported(tmp_path):
    # scan_store checks each data file's row count against the audit from
    # the parquet footer, by polars: pyarrow's reader took 0.09-0.14 s to
    # import, more than the rest of the check, in every command that reads a
    # store (benchmarks/RESULTS.md, issue 27).
    import subprocess
    import sys

    from tests.conftest import comtrade_csv, comtrade_row
    from tradeflows._store import ingest

    store = tmp_path / "store"
    ingest([comtrade_csv(tmp_path / "a.csv", [comtrade_row()])], store)
    code = (
        "import sys; from tradeflows._store import scan_store; "
        f"n = scan_store({str(store)!r}).collect().height; print(n, 'pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False"]


def test_importing_tradeflows_first_gives_polars_allocator_two_seconds_of_decay_and_no_oversize_arena():
    # Set before polars loads, read by its jemalloc after polars' own options
    # (the later value wins); a decay of the user's, or polars loaded first,
    # leave the allocator as it is. polars' options inherited from a parent
    # process are not a choice.
    import os
    import subprocess
    import sys

    from tradeflows._allocator import DECAY, POLARS_OWN, VARIABLE

    def conf(code: str, **env: str) -> str:
        clean_env = {k: v for k, v in os.environ.items() if k != VARIABLE} | env
        # Allocate, so that jemalloc reads its options (an unknown one is a line on stderr).
        code += (
            f"; import os, polars; polars.Series(range(9)).sum(); print(os.environ[{VARIABLE!r}])"
        )
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean_env
        )
        assert "jemalloc" not in run.stderr, run.stderr
        return run.stdout.strip()

    (own,) = [own for own in POLARS_OWN if conf("import tradeflows") == f"{own},{DECAY}"]
    assert conf("import tradeflows", **{VARIABLE: own}) == f"{own},{own},{DECAY}"
    assert conf("import tradeflows", **{VARIABLE: "thp:always"}).endswith(f"thp:always,{DECAY}")
    assert DECAY not in conf("import tradeflows", **{VARIABLE: "dirty_decay_ms:500"})
    assert DECAY not in conf("import polars, tradeflows")
