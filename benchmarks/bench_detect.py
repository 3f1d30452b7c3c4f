"""Detection quality on unseen synthetic worlds, and the speed and memory of detect.

    python benchmarks/bench_detect.py --quality --seeds 1001 1002 1003 1004 1005
    python benchmarks/bench_detect.py --rows 10000000
    python benchmarks/bench_detect.py --real

``--quality`` writes one labelled world per seed (seeds never used while the
detector was tuned: tuning used seeds 0 to 4), runs the default detector and
the naive baseline (the largest year-on-year jump of the hub's reported
exports to the destination) and scores both against the labels.

``--rows`` writes a world of about that many report rows (kept in
``benchmarks/data/`` for the next run), ingests it into a store, then runs
``tradeflows detect STORE`` in a child process per engine, so that the peak
RSS is the command's own.

Each prints a table and appends it to ``benchmarks/RESULTS.md`` with the
machine and the command (``--no-record`` to only print).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, record, run_code  # noqa: E402


def quality(seeds: list[int], save: bool, **world) -> None:
    import polars as pl

    from tradeflows.detect import detect_routes
    from tradeflows.evaluate import evaluate, naive_baseline
    from tradeflows.store import ingest, scan_store
    from tradeflows.synth import make_trade_world

    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as d:
            make_trade_world(d, seed=seed, **world)
            ingest([Path(d) / "comtrade"], Path(d) / "store")
            lf = scan_store(Path(d) / "store")
            truth = pl.read_parquet(Path(d) / "truth.parquet")
            t = time.perf_counter()
            flags = detect_routes(lf)
            seconds = time.perf_counter() - t
            mine, naive = evaluate(flags, truth), evaluate(naive_baseline(lf), truth)
            flagged = flags.filter(pl.col("flagged")).select("hub", "destination", "hs").unique()
            true = (
                truth.filter(pl.col("is_transshipment")).select("hub", "destination", "hs").unique()
            )
            hits = flagged.join(true, on=["hub", "destination", "hs"]).height
            rows.append({"seed": seed, "mine": mine, "naive": naive, "seconds": seconds,
                         "flag_precision": hits / flagged.height if flagged.height else float("nan"),
                         "flag_recall": hits / true.height})  # fmt: skip
    lines = [
        f"### Detection quality on unseen worlds, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_detect.py --quality --seeds {' '.join(map(str, seeds))}"
        + "".join(f" --{k.replace('_', '-')} {v}" for k, v in world.items())
        + "`",
        "",
        f"Worlds: 48 months, 24 products, 8 episodes, 10 look-alikes, {world or 'default sizes'}. Unit: the corridor",
        "(hub, destination, HS6); k = true corridors. `flagged P/R`: precision and recall of the",
        "`flagged` column at corridor level (the threshold, not the ranking).",
        "",
        "| seed | route AP | naive route AP | ratio | month AP | naive month AP | recall@k | look-alikes@k (naive) | flagged P / R | detect s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m, n = r["mine"], r["naive"]
        lines.append(
            f"| {r['seed']} | {m['route_ap']:.3f} | {n['route_ap']:.3f} | "
            f"{m['route_ap'] / n['route_ap']:.1f}x | {m['route_month_ap']:.3f} | "
            f"{n['route_month_ap']:.3f} | {m['recall_at_k']:.2f} | "
            f"{m['lookalikes_in_top_k']} ({n['lookalikes_in_top_k']}) | "
            f"{r['flag_precision']:.2f} / {r['flag_recall']:.2f} | {r['seconds']:.1f} |"
        )
    med = statistics.median(r["mine"]["route_ap"] for r in rows)
    med_naive = statistics.median(r["naive"]["route_ap"] for r in rows)
    worlds_clean = sum(r["mine"]["lookalikes_in_top_k"] == 0 for r in rows)
    lines += [
        "",
        f"Median route AP {med:.3f} against {med_naive:.3f} for the naive baseline "
        f"({med / med_naive:.1f}x); no look-alike in the top k in {worlds_clean} of {len(rows)} worlds.",
        "",
    ]
    record("\n".join(lines), save=save)


PUBLISHED_HUBS = ("ARM", "KAZ", "KGZ")
PUBLISHED_HS4 = ("8471", "8517", "8542")


def real(save: bool) -> None:
    """The EU -> Armenia/Kazakhstan/Kyrgyzstan -> Russia electronics case.

    Positives: the corridors (hub, HS4) the published studies name. Ours ranks
    corridors to Russia by the extra inflow of their flagged route-months; the
    naive method by the largest year-on-year jump of the EU's exports to the hub.
    """
    import polars as pl

    from tradeflows.datasets import load_eu_electronics_exports
    from tradeflows.detect import detect_routes
    from tradeflows.evaluate import average_precision

    lf = load_eu_electronics_exports()
    t = time.perf_counter()
    flags = detect_routes(lf)
    seconds = time.perf_counter() - t
    flagged = flags.filter(pl.col("flagged"))
    hubs = ["ARM", "GEO", "KAZ", "KGZ", "UZB"]
    key = ["hub", "hs4"]
    ours = (
        flagged.filter(pl.col("destination") == "RUS")
        .group_by("hub", hs4=pl.col("hs").str.slice(0, 4))
        .agg(score=pl.col("extra_inflow").sum())
    )
    monthly = (
        lf.filter(pl.col("partner").is_in(hubs))
        .group_by(hub="partner", hs4=pl.col("hs").str.slice(0, 4), period="period")
        .agg(v=pl.col("value_usd").sum())
        .collect()
    )
    year_before = monthly.select(*key, pl.col("period").dt.offset_by("1y"), before="v")
    naive = (
        monthly.join(year_before, on=[*key, "period"], how="inner")
        .group_by(key)
        .agg(score=((pl.col("v") / 1000).log1p() - (pl.col("before") / 1000).log1p()).max())
    )
    universe = monthly.select(key).unique()
    positive = pl.col("hub").is_in(PUBLISHED_HUBS) & pl.col("hs4").is_in(PUBLISHED_HS4)
    n_pos = universe.filter(positive).height
    rows = []
    for name, ranked in (("tradeflows", ours), ("naive: EU exports to the hub, YoY", naive)):
        r = universe.join(ranked, on=key, how="left").filter(pl.col("score").is_not_null())
        r = r.with_columns(label=positive).sort(["score", *key], descending=[True, False, False])
        top = r.head(n_pos)
        rows.append((name, average_precision(r["score"].to_list(), r["label"].to_list(), n_pos),
                     top["label"].mean(), ", ".join(f"{h} {c}" for h, c in top.select(key).rows())))  # fmt: skip
    post = flagged.filter(pl.col("period") >= dt.date(2022, 2, 1)).height
    lines = [
        f"### Real case: EU electronics to Russia via its neighbours, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        "Command: `python benchmarks/bench_detect.py --real` (bundled Eurostat CN8 exports of the",
        "EU-27 to RU, AM, BY, GE, KG, KZ, UZ, 2020-01 to 2022-11: the exporters' side only).",
        "",
        f"Positives: the {n_pos} corridors (hub, HS4) the studies name: {', '.join(PUBLISHED_HUBS)} x "
        f"{', '.join(PUBLISHED_HS4)}, out of {universe.height} hub x HS4 corridors in the data.",
        "",
        "| method | AP | precision at k | top k corridors |",
        "|---|---|---|---|",
        *[f"| {n} | {ap:.3f} | {p:.2f} | {top} |" for n, ap, p, top in rows],
        "",
        f"{flagged.height} route-months flagged, {post / flagged.height:.0%} of them from 2022-02 on; "
        f"detect took {seconds:.1f} s. The naive method of issue 4 (the hub's reported exports to "
        "the destination) cannot be computed here: no hub's own exports are in the data.",
        "",
    ]
    record("\n".join(lines), save=save)


def _checked(code: str) -> tuple[float, float]:
    """:func:`run_code`, stopping the benchmark if the child fails: (wall s, peak RSS GiB)."""
    r = run_code(code)
    if r["error"]:
        raise SystemExit(f"child failed: {r['error']}")
    return r["wall"], r["rss"]


def speed(rows: int, engines: list[str], save: bool) -> None:
    import polars as pl

    from tradeflows.store import read_audit

    # Products x pairs scale the world: 700 x 700 gave 52M report rows (RESULTS.md),
    # of which the cleaning keeps about 86% (World rows and duplicates go).
    pairs = max(20, round((rows / (52e6 * 0.86) * 700 * 700) ** 0.5))
    data = HERE / "data" / f"world_{pairs}"
    store = data / "store"
    if not (store / "audit.json").exists():
        # In a child: a parent grown large would pass its peak RSS to the measured children.
        _checked(
            "from tradeflows.synth import make_trade_world; from tradeflows.store import ingest; "
            f"make_trade_world({str(data)!r}, preset='smooth', seed=7, n_others=120, n_products={pairs}, "
            f"pairs_per_product={pairs}); ingest([{str(data / 'comtrade')!r}], {str(store)!r})"
        )
    n = read_audit(store)["store"]["rows"]
    results = []
    with tempfile.TemporaryDirectory() as d:
        for engine in engines:
            out = Path(d) / f"flags_{engine}.parquet"
            code = (
                "from tradeflows.cli import main; import sys; "
                f"sys.exit(main(['detect', {str(store)!r}, '--out', {str(out)!r}, '--engine', {engine!r}]))"
            )
            wall, rss = _checked(code)
            flags = pl.read_parquet(out)
            results.append((engine, wall, rss, flags.height, int(flags["flagged"].sum())))
    lines = [
        f"### detect on a {n:,}-row store, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_detect.py --rows {rows}` (world: {pairs} products x "
        f"{pairs} pairs, seed 7; the store holds {n:,} cleaned rows)",
        "",
        "| engine | wall s | rows/s | peak RSS GiB | route-months | flagged |",
        "|---|---|---|---|---|---|",
        *[
            f"| {e} | {w:.1f} | {n / w:,.0f} | {r:.2f} | {h:,} | {f:,} |"
            for e, w, r, h, f in results
        ],
        "",
    ]
    record("\n".join(lines), save=save)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1001, 1002, 1003, 1004, 1005])
    ap.add_argument("--strength", type=float, help="episode strength (default 5)")
    ap.add_argument("--pairs-per-product", type=int, help="world size (default 60)")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--engines", nargs="+", default=["streaming", "cpu"])
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    if not (args.quality or args.real or args.rows):
        ap.error("choose --quality, --real and/or --rows N")
    if args.real:
        real(save=not args.no_record)
    if args.quality:
        world = {k: v for k, v in (("strength", args.strength),
                                    ("pairs_per_product", args.pairs_per_product)) if v is not None}  # fmt: skip
        quality(args.seeds, save=not args.no_record, **world)
    if args.rows:
        speed(args.rows, args.engines, save=not args.no_record)


if __name__ == "__main__":
    main()
