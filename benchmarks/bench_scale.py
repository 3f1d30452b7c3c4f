"""The whole pipeline at scale: each step on each engine, beside pandas and the polars floor.

    python benchmarks/bench_scale.py --rows 1000000 10000000 50000000
    python benchmarks/bench_scale.py --rows 10000000 --engines cpu gpu
    python benchmarks/bench_scale.py --wide --rows 10000000 50000000
    python benchmarks/bench_scale.py --dense --rows 10000000 --engines cpu --steps ingest detect
    python benchmarks/bench_scale.py --long --rows 10000000 --engines cpu --steps ingest detect
    python benchmarks/bench_scale.py --transfer --rows 10000000 --engines cpu --steps ingest detect

For each size it writes (once, kept in ``benchmarks/data/``) a synthetic world
of about that many Comtrade report rows, then measures four steps, each in a
child process of its own so that the peak RSS is the step's alone:

* ``ingest``: ``tradeflows ingest`` of the world's Comtrade files (read,
  clean, audit, write the store);
* ``mirror+routes``: the mirror and the route indicators of the whole store
  (everything of detect but the model);
* ``detect``: ``tradeflows detect STORE`` (the flags table);
* ``report``: ``tradeflows report STORE`` (detect, figures, the HTML file).

Each step runs on every engine named (``cpu``, ``streaming``, ``gpu``; add
``-partition`` to run mirror+routes, detect and report one HS chapter at a time;
ingest is then the plain engine's). Every
engine's result is compared with the first engine's: the same store rows, the
same flags. ``pandas`` and ``polars-floor`` (``polars-floor-streaming`` on the
streaming engine, the faster of the two floors; ``polars-floor-all-columns``,
ingest only, the streaming floor parsing every column ingest reads) run
ingest and mirror+routes only: the pandas cleaning of ``bench_ingest.py``, the pandas mirror of
``bench_mirror.py`` followed by the routes in pandas (``pandas_routes.py``:
all 13 features, the same values as tradeflows, tested in
``tests/test_bench_baselines.py``), and the bare polars scan + group-by of
the input (ingest) or of the store (mirror+routes). A line under each table sums ingest and
mirror+routes per engine and gives the ratios.

``--repeat N`` runs every step N times, the engines in turn, and keeps the
fastest run of each (worth it at 1M rows, where a step takes seconds and the
noise of a shared machine is of the same order).

Prints one table per size and appends it to ``benchmarks/RESULTS.md`` with the
machine and the command (``--no-record`` to only print; ``--results FILE`` to
append elsewhere).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, run_code, warm  # noqa: E402

STEPS = ["ingest", "mirror+routes", "detect", "report"]


def wide_world(rows: int, seed: int = 7, shape: str = "wide") -> Path:
    """The folder of a wide world of about ``rows`` Comtrade report rows (made once).

    ``wide``: the calibrated world (series move as real ones do, small flows
    skip months) with 150 countries and 160 products per 10M rows, each
    product traded by 6,000 drawn country pairs: most hubs trade most
    products with a destination of concern, so there are about 14,000
    hub-destination-product corridors at 10M rows and more candidate
    route-months than report rows (the shape of issue 27's independently
    built world). 160 products gave 9,959,055 rows, 800 products 52,129,181
    (made in 1 and 9.5 minutes, 3.5 and 17 GB). Seed 7 is ``wide_160``;
    another seed's folder is named after it (``wide_160_s8``).

    ``dense``: the same generator in other proportions, so that the measures
    are not of one shape only: about 220 countries, six years (2019-2024), 60
    products per 10M rows, each traded by 12,000 country pairs (twice as many
    routes a product). 60 products gave 11,155,373 rows at seed 31
    (``dense_60_s31``, made in 1.2 minutes, 1.9 GB).

    ``long``: many products, each traded by fewer pairs, as a download of a
    whole tariff chapter set looks: about 790 products per 10M rows, each
    traded by 700 country pairs, 150 other countries. 1,500 products gave
    19,131,842 rows at seed 41 (made in 1.8 minutes, 3.0 GB).

    ``transfer``: a world of the second generator (``bench_transfer.wide``),
    written apart from ``tradeflows.synth`` and on other assumptions (AR(1)
    series at real data's noise, gravity-drawn pairs, other silent
    reporters), at the wide world's scale: 160 products per 10M rows, 150
    countries. It stands for the wide worlds not in this repository that
    issue 27's measures will be run on again.
    """
    if shape == "transfer":
        from bench_transfer import wide_products

        name = f"transfer_{wide_products(rows)}" + ("" if seed == 7 else f"_s{seed}")
        return _made_by(
            name,
            f"import sys; sys.path.insert(0, {str(HERE)!r}); from bench_transfer import wide; "
            f"wide({str(HERE / 'data' / name)!r}, {rows}, {seed})",
        )
    if shape == "long":
        products = max(750, round(rows / 10e6 * 790))
        params, others = f"n_products={products}, pairs_per_product=700", 150
    elif shape == "dense":
        products = max(60, round(rows / 10e6 * 60))
        params = f"n_products={products}, pairs_per_product=12000, start='2019-01'"
        others = 200
    elif shape == "wide":
        products = max(150, round(rows / 10e6 * 160))
        params, others = f"n_products={products}, pairs_per_product=6000", 120
    else:
        raise ValueError(f"unknown shape {shape!r}: wide, dense, long or transfer")
    name = f"{shape}_{products}" + ("" if seed == 7 else f"_s{seed}")
    return _made(name, params, seed, others)


def _made(name: str, params: str, seed: int = 7, others: int = 120) -> Path:
    """``benchmarks/data/NAME``: a world of ``others`` other countries and ``params``
    (made once, in a child process)."""
    folder = HERE / "data" / name
    return _made_by(
        name,
        "from tradeflows._synth import make_trade_world; "
        f"make_trade_world({str(folder)!r}, seed={seed}, n_others={others}, {params})",
    )


def _made_by(name: str, code: str) -> Path:
    """``benchmarks/data/NAME``, made once by ``code`` in a child process (a world is
    whole when its ``world.json``, written last, is there)."""
    folder = HERE / "data" / name
    if not (folder / "world.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        run_code(code)
    return folder


def world_pairs(rows: int) -> int:
    """Products, and country pairs a product, of :func:`world`'s world of about
    ``rows`` report rows (its folder: ``benchmarks/data/scale_{pairs}``)."""
    # 700 products x 700 pairs gave 52M report rows (RESULTS.md).
    return max(20, round((rows / 52e6 * 700 * 700) ** 0.5))


def world(rows: int, shape: str | None = None) -> Path:
    """The folder of a seed-7 world of about ``rows`` Comtrade report rows (made once);
    with a ``shape`` (``wide``, ``dense``, ``long``, ``transfer``), :func:`wide_world`'s."""
    if shape:
        return wide_world(rows, shape=shape)
    pairs = world_pairs(rows)
    return _made(
        f"scale_{pairs}", f"preset='smooth', n_products={pairs}, pairs_per_product={pairs}"
    )


def with_slips(folder: Path, share: float, seed: int = 307) -> Path:
    """A copy of ``folder``'s Comtrade files with ``share`` of the rows' values x1000
    (made once, in a child process): ``benchmarks/data/NAME_slipsPPM``.

    The synthetic worlds hold one unit slip each; real downloads hold more
    (the bundled EU data: 19 flagged in 54,014 rows, 0.035%). What ingest
    does with the slips it finds (the files where one lies are written
    again, or held until the slips are known) costs more the more files hold
    one: this copy measures it at a realistic rate (``--slips 0.00035``:
    2,918 flagged of 4,132 drawn on ``scale_307``, the others in series too
    short or too lumpy to tell).
    """
    out = folder.parent / f"{folder.name}_slips{round(share * 1e6)}"
    if not (out / "world.json").exists():
        # In a child: on Linux a child's peak RSS starts from its parent's,
        # which would then be this copy's.
        run_code(
            f"import sys; sys.path.insert(0, {str(HERE)!r}); from pathlib import Path; "
            f"from bench_scale import _copy_with_slips; "
            f"_copy_with_slips(Path({str(folder)!r}), Path({str(out)!r}), {share!r}, {seed!r})"
        )
    return out


def _copy_with_slips(folder: Path, out: Path, share: float, seed: int) -> None:
    import numpy as np
    import polars as pl

    shutil.rmtree(out, ignore_errors=True)
    (out / "comtrade").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    value = pl.col("primaryValue")
    for f in sorted((folder / "comtrade").glob("*.csv")):
        df = pl.read_csv(f, infer_schema=False)  # the text as it is, but the values drawn
        drawn = pl.Series(rng.random(df.height) < share)
        x1000 = (value.cast(pl.Float64) * 1000).cast(pl.String)
        df.with_columns(primaryValue=pl.when(drawn).then(x1000).otherwise(value)).write_csv(
            out / "comtrade" / f.name
        )
    shutil.copy(folder / "world.json", out / "world.json")  # last: the copy is whole


def _cli(*args: str) -> str:
    return f"from tradeflows.cli import main; import sys; sys.exit(main({list(args)!r}))"


def _engine_args(engine: str) -> tuple[str, list[str]]:
    name, _, part = engine.partition("-")
    return name, (["--partition"] if part == "partition" else [])


#: Not tradeflows, and the steps each runs: a straightforward pandas version
#: and the bare polars floor.
#: ``polars-floor-streaming`` is the floor on the streaming engine: it reads
#: the files at once (2.5x faster than in memory at 11.9M rows) and fits at 50M.
#: It reads 6 of the 15 columns ingest reads: ``polars-floor-all-columns``
#: is the streaming floor made to parse all 15.
BASELINES = {
    "pandas": ("ingest", "mirror+routes"),
    "polars-floor": ("ingest", "mirror+routes"),
    "polars-floor-streaming": ("ingest", "mirror+routes"),
    "polars-floor-all-columns": ("ingest",),
}
FLOORS = [b for b in BASELINES if b != "pandas"]


def _baseline_code(step: str, engine: str, src: Path, store: Path, out: Path) -> str:
    files = [str(f) for f in sorted(src.glob("*.csv"))]
    floor = "in-memory" if engine == "polars-floor" else "streaming"
    if step == "ingest":
        if engine == "pandas":
            head = f"from bench_ingest import run_pandas; n = run_pandas({files!r})"
        else:
            every = engine == "polars-floor-all-columns"
            head = (
                "from bench_ingest import run_polars_floor; "
                f"n = run_polars_floor({files!r}, {floor!r}, every_column={every})"
            )
    elif engine == "pandas":
        # Written as tradeflows' step writes its indicators (and as run_pandas
        # writes its store): the same output, on disk.
        head = (
            "import tempfile, pathlib; "
            "from bench_mirror import pandas_mirror; "
            "from pandas_routes import route_indicators; "
            f"ind = route_indicators(pandas_mirror({str(store)!r})); "
            "d = tempfile.TemporaryDirectory(); "
            "ind.to_parquet(pathlib.Path(d.name) / 'indicators.parquet'); "
            "n = len(ind); d.cleanup()"
        )
    else:
        head = f"from bench_mirror import run_floor; n = run_floor({str(store)!r}, {floor!r})[0]"
    return f"import sys; sys.path.insert(0, {str(HERE)!r}); {head}; open({str(out)!r}, 'w').write(str(n))"


def step_code(step: str, engine: str, src: Path, store: Path, out: Path) -> str:
    """The child's code for one step on one engine; its result goes to ``out``."""
    if engine in BASELINES:
        return _baseline_code(step, engine, src, store, out)
    name, extra = _engine_args(engine)
    if step == "ingest":
        return _cli("ingest", str(src), "--out", str(out), "--engine", name, "--quiet")
    if step == "mirror+routes":
        return (
            # tradeflows before polars, as in its command line: its allocator's
            # decay is set before polars loads (tradeflows._allocator).
            "from tradeflows._store import scan_store; "
            "from tradeflows._engine import collect; "
            "from tradeflows._mirror import collect_mirror; "
            # What detect runs (the public collect_route_indicators checks its pairs first).
            "from tradeflows._routes import route_indicators; "
            f"lf = scan_store({str(store)!r}); "
            + (
                # Only here: tradeflows.detect imports scikit-learn (1.3 s).
                "from tradeflows.detect._partition import indicators; "
                f"ind = indicators(lf, engine={name!r})"
                if extra
                else f"ind = route_indicators(collect_mirror(lf, {name!r}).lazy(), engine={name!r})"
            )
            + f"; ind.write_parquet({str(out)!r})"
        )
    if step == "detect":
        return _cli("detect", str(store), "--out", str(out), "--engine", name, *extra)
    if step == "report":
        return _cli("report", str(store), "--out", str(out), "--engine", name, *extra)
    raise ValueError(step)


def _same_in_child(step: str, first: Path, other: Path) -> str:
    """:func:`_same` in a child process.

    A child forked from a parent holding two results starts with the
    parent's resident pages, and Linux counts them in its peak RSS: every step
    measured after a comparison in this process read at least the parent's size.
    """
    out = subprocess.run(
        [sys.executable, __file__, "--same", step, str(first), str(other)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def _same(step: str, first: Path, other: Path) -> str:
    """Whether two engines' results agree: 'yes', or what differs."""
    import polars as pl

    if step == "report":
        return "-"
    if step == "ingest":
        from tradeflows._store import scan_store

        a, b = scan_store(first).collect(), scan_store(other).collect()
        key = [c for c in a.columns if a[c].dtype != pl.Float64]
        a, b = a.sort(key), b.select(a.columns).sort(key)
    else:
        key = ["origin", "hub", "destination", "hs", "period"]
        a, b = pl.read_parquet(first).sort(key), pl.read_parquet(other).sort(key)
    if a.shape != b.shape:
        return f"{b.height:,} rows vs {a.height:,}"
    if "flagged" in a.columns and not a["flagged"].equals(b["flagged"]):
        return f"{int((a['flagged'] != b['flagged']).sum())} flags differ"
    from polars.testing import assert_frame_equal

    try:
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-6, abs_tol=1e-6)
    except AssertionError as e:
        # XGBoost on CUDA sums its trees in another order: the scores agree to
        # float32 rounding. Say by how much, and whether anything else differs.
        differ = [c for c in a.columns if not a[c].equals(b[c])]
        exact = [c for c in differ if not a[c].dtype.is_float()]
        if exact or not differ:
            return "values differ: " + (", ".join(exact[:3]) or str(e).splitlines()[0][:60])
        worst = {c: (a[c] - b[c]).abs().max() for c in differ}
        c = max(worst, key=lambda c: worst[c] or 0.0)
        return f"all but floats; {len(differ)} float columns within {worst[c]:.1g} ({c})"
    return "yes"


def _out(work: Path, step: str, engine: str) -> Path:
    """Where one engine's result of one step goes."""
    if engine in BASELINES:
        suffix = ".txt"
    else:
        suffix = {"ingest": "", "report": ".html"}.get(step, ".parquet")
    return work / f"{step.replace('+', '_')}_{engine}{suffix}"


def run_size(
    rows: int, engines: list[str], steps: list[str], repeat: int = 1, shape: str | None = None,
    slips: float = 0.0,
) -> tuple:  # fmt: skip
    import polars as pl

    from tradeflows._store import read_audit

    folder = world(rows, shape)
    if slips:
        folder = with_slips(folder, slips)
    src = folder / "comtrade"
    n_in = sum(pl.scan_csv(f).select(pl.len()).collect().item() for f in sorted(src.glob("*.csv")))
    results = []
    work = folder / "runs"
    work.mkdir(exist_ok=True)
    # Without the ingest step, the steps read the store an earlier run left.
    first_engine = next((e for e in engines if e not in BASELINES), "cpu")
    kept = work / f"ingest_{first_engine.removesuffix('-partition')}"
    store = kept if "ingest" not in steps and (kept / "audit.json").exists() else None
    for step in steps:
        first = None
        best: dict[str, dict] = {}
        # Ingest has no partitioned form: an engine's ``-partition`` runs its
        # plain ingest, once, so that one run measures every step at 50M rows.
        named = engines
        if step == "ingest":
            named = list(dict.fromkeys(e.removesuffix("-partition") for e in engines))
        # Engines interleaved, each run ``repeat`` times: the fastest is kept.
        for _run in range(repeat):
            for engine in named:
                name, _ = _engine_args(engine)
                if engine in BASELINES and step not in BASELINES[engine]:
                    continue
                out = _out(work, step, engine)
                if step != "ingest" and store is None:
                    best[engine] = {"step": step, "engine": engine, "error": "no store"}
                    continue
                if out.is_dir():
                    shutil.rmtree(out)
                # Each engine finds its input in the page cache: the one run
                # first would otherwise read from disk what a run before it
                # (pandas' 11.6 GiB at 11.9M rows) pushed out, and those after
                # it would not.
                warm(src if step == "ingest" else store)
                r = run_code(step_code(step, engine, src, store, out), gpu=name == "gpu")
                r.update(step=step, engine=engine)
                if r["error"] or engine not in best or r["wall"] < best[engine]["wall"]:
                    best[engine] = r
                if (
                    step == "ingest"
                    and store is None
                    and not r["error"]
                    and engine not in BASELINES
                ):
                    store = out
        for engine, r in best.items():
            out = _out(work, step, engine)
            if not r.get("error") and engine in BASELINES:
                n = int(out.read_text())
                r["same"] = (
                    f"{n:,} store rows vs {read_audit(store)['store']['rows']:,}"
                    if step == "ingest" and engine == "pandas" and store
                    else f"{n:,} rows out"
                )
            elif not r.get("error"):
                if first is None:
                    first, r["same"] = out, "(reference)"
                else:
                    r["same"] = _same_in_child(step, first, out)
            results.append(r)
    n_store = read_audit(store)["store"]["rows"] if store else 0
    for r in results:
        r["rows"] = n_in if r["step"] == "ingest" else n_store
        if r["step"] == "detect" and not r.get("error"):
            r["route_months"] = _scored_in_child(_out(work, "detect", r["engine"]))
    return results, n_in, n_store, folder.name


def table(rows: int, results: list[dict], n_in: int, n_store: int, name: str, cmd: str) -> str:
    lines = [
        f"### The pipeline at {n_in:,} report rows, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}{_gpu_name()}.",
        f"Command: `{cmd}` (world {name}: seed 7; {n_in:,} Comtrade rows in, "
        f"{n_store:,} rows in the store).",
        "",
        "| step | engine | wall s | CPU s: user + kernel | rows/s | peak RSS GiB | peak GPU GiB "
        "| vs first engine | same result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    first = {}
    for r in results:
        if r.get("error"):
            lines.append(f"| {r['step']} | {r['engine']} | failed: {r['error']} | | | | | | |")
            continue
        base = first.setdefault(r["step"], r["wall"])
        gpu = f"{r['gpu']:.2f}" if r.get("gpu") is not None else "-"
        lines.append(
            f"| {r['step']} | {r['engine']} | {r['wall']:.1f} | {r['user']:.1f} + {r['sys']:.1f} "
            f"| {r['rows'] / r['wall']:,.0f} "
            f"| {r['rss']:.2f} | {gpu} | {base / r['wall']:.2f}x | {r.get('same', '-')} |"
        )
    scored = [
        f"{r['engine']} {r['route_months']:,} ({r['route_months'] / n_in:.2f} per input row)"
        for r in results
        if r.get("route_months") is not None
    ]
    if scored:
        lines += ["", "Route-months scored by detect: " + "; ".join(scored) + "."]
    return "\n".join(lines) + "\n" + _pipeline(results)


def _pipeline(results: list[dict]) -> str:
    """Ingest + mirror+routes per engine, and each against pandas and the floor."""
    wall: dict[str, dict[str, float]] = {}
    for r in results:
        if not r.get("error") and r["step"] in ("ingest", "mirror+routes"):
            wall.setdefault(r["engine"].removesuffix("-partition"), {})[r["step"]] = r["wall"]
    total = {e: w["ingest"] + w["mirror+routes"] for e, w in wall.items() if len(w) == 2}
    if not total:
        return ""
    lines = ["", "Ingest + mirror+routes: " + ", ".join(f"{e} {t:.1f} s" for e, t in total.items())]
    for e, t in total.items():
        if e in BASELINES:
            continue
        vs = [f"{total[b] / t:.1f}x faster than pandas" for b in ("pandas",) if b in total]
        for floor in FLOORS:
            if floor in wall and "ingest" in wall[floor] and "ingest" in wall[e]:
                ratio = wall[e]["ingest"] / wall[floor]["ingest"]
                vs.append(f"ingest {ratio:.2f}x the {floor}")
        if vs:
            lines.append(f"- {e}: " + "; ".join(vs))
    return "\n".join(lines) + "\n"


def _gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return "; GPU " + out.stdout.strip()


def _scored_in_child(flags: Path) -> int:
    """The route-months a detect run scored (its flags keep only what an analyst reads)."""
    out = subprocess.run(
        [sys.executable, __file__, "--scored", str(flags)], capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return int(out.stdout.strip())


def main() -> None:
    if sys.argv[1:2] == ["--same"]:
        step, first, other = sys.argv[2:5]
        print(_same(step, Path(first), Path(other)))
        return
    if sys.argv[1:2] == ["--scored"]:
        import polars as pl

        from tradeflows.detect import route_months_scored

        print(route_months_scored(pl.read_parquet(sys.argv[2])))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000])
    ap.add_argument(
        "--engines", nargs="+", default=["cpu", "streaming", "streaming-partition", *BASELINES]
    )
    ap.add_argument("--steps", nargs="+", default=STEPS, choices=STEPS)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each step (fastest kept)")
    shapes = ap.add_mutually_exclusive_group()
    shapes.add_argument(
        "--wide", action="store_true",
        help="the wide world (160 products per 10M rows, about 14,000 corridors) instead",
    )  # fmt: skip
    shapes.add_argument(
        "--dense", action="store_true",
        help="the dense world (220 countries, 60 products per 10M rows, six years) instead",
    )  # fmt: skip
    shapes.add_argument(
        "--long", action="store_true",
        help="the long world (790 products per 10M rows, 700 country pairs each) instead",
    )  # fmt: skip
    shapes.add_argument(
        "--transfer", action="store_true",
        help="a wide world of the second generator (bench_transfer.py's assumptions) instead",
    )  # fmt: skip
    ap.add_argument(
        "--slips", type=float, default=0.0, metavar="SHARE",
        help="this share of the rows' values x1000, in a copy of the world (0.00035: real data's rate)",
    )  # fmt: skip
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args()
    cmd = "python benchmarks/bench_scale.py " + " ".join(sys.argv[1:])
    for rows in args.rows:
        results, n_in, n_store, name = run_size(
            rows, args.engines, args.steps, args.repeat,
            next((s for s in ("wide", "dense", "long", "transfer") if getattr(args, s)), None), args.slips,
        )  # fmt: skip
        text = table(rows, results, n_in, n_store, name, cmd)
        print(text, flush=True)
        if not args.no_record:
            with open(args.results, "a", encoding="utf-8") as f:
                f.write("\n" + text)


if __name__ == "__main__":
    main()
