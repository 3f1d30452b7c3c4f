"""Detection quality on unseen synthetic worlds, and the speed and memory of detect.

    python benchmarks/bench_detect.py --stress
    python benchmarks/bench_detect.py --stress --tuning
    python benchmarks/bench_detect.py --stress --extra
    python benchmarks/bench_detect.py --quality --seeds 1001 1002 1003 1004 1005
    python benchmarks/bench_detect.py --rows 10000000
    python benchmarks/bench_detect.py --real
    python benchmarks/bench_detect.py --wide --seeds 7 8 9
    python benchmarks/bench_detect.py --wide --dense --seeds 31
    python benchmarks/bench_detect.py --wide --long --seeds 41
    python benchmarks/bench_detect.py --wide --transfer --seeds 7

``--real`` ranks the published corridors of the bundled EU case, then
Armenia's destinations from its own records (``hub_records``).

``--stress`` writes the worlds of the stress suite (``tradeflows._synth.STRESS``:
the calibrated default, and worlds that each vary one thing around it) for
each evaluation seed (:data:`EVALUATION_SEEDS`; ``--tuning`` takes
:data:`TUNING_SEEDS`, the only seeds the detector's method and thresholds were
chosen on; ``--extra`` twenty more evaluation seeds, :data:`EXTRA_SEEDS`;
``--fresh`` twenty more, :data:`FRESH_SEEDS`),
and prints corridor AP per dimension beside the naive baseline
(the year-on-year jump of the hub's reported exports to the destination) and
the money baseline (their USD increase over a year).

``--quality`` writes one labelled world per seed (seeds never used while the
detector was tuned: tuning used seeds 0 to 4), runs the default detector and
the naive baseline (the largest year-on-year jump of the hub's reported
exports to the destination) and scores both against the labels.

``--wide`` scores the default detector on the wide worlds of
``bench_scale.py --wide`` (about ``--rows`` report rows, default 10M; tens of
thousands of corridors where the stress suite's worlds hold a few hundred);
with ``--dense`` or ``--long``, on the worlds of ``bench_scale.py --dense`` or
``--long`` (other shapes); with ``--transfer``, on the wide world of
``bench_scale.py --transfer`` (the second generator's assumptions, at scale).
Seeds 101-103 of ``--wide`` and of ``--wide --transfer`` are for choosing
(:data:`WIDE_TUNING_SEEDS`); 7, 8, 9 (and the other shapes' seeds) for
reporting. Check a change on the wide tuning worlds of both generators: a
change that helps the stress suite's small worlds can cost the wide ones
(benchmarks/RESULTS.md, 2026-12-06, the thirty-seventh session).

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

#: Seeds the detection method and its thresholds were chosen on.
TUNING_SEEDS = (101, 102, 103, 104, 105, 106, 107, 108, 109, 110)
#: Seeds it is reported on, never looked at while choosing (disjoint from the above).
EVALUATION_SEEDS = (2001, 2002, 2003, 2004, 2005)
#: The wide worlds' seeds for choosing (``--wide --seeds 101 102 103``, with or
#: without ``--transfer``; 102 and 103 since the thirty-eighth session); the
#: seeds they are reported on are 7, 8 and 9.
WIDE_TUNING_SEEDS = (101, 102, 103)
#: Twenty more, never used to choose anything either (``--extra``): a median of
#: five worlds moves by 0.1 or more from one draw of seeds to another.
EXTRA_SEEDS = tuple(range(3001, 3021))
#: Twenty more (``--fresh``), first drawn on 2026-12-03 to see which look-alikes
#: reach the top k out of the trees' sample; never used to choose anything.
FRESH_SEEDS = tuple(range(6001, 6021))


def stress_world(dimension: str, seed: int):
    """The stress suite's world ``dimension`` for ``seed``: its folder (with a store),
    kept in ``benchmarks/data/stress/`` for the next run."""
    from tradeflows._store import ingest
    from tradeflows._synth import STRESS, make_trade_world

    folder = HERE / "data" / "stress" / f"{dimension}_{seed}"
    if not (folder / "store" / "audit.json").exists():
        make_trade_world(folder, seed=seed, **STRESS[dimension])
        ingest([folder / "comtrade"], folder / "store")
    return folder


#: The detectors ``--detector`` compares (the default: the shipped trees).
DETECTORS = ("learned", "robust", "ensemble")


def _detector(name: str):
    from tradeflows.detect import EnsembleDetector, RobustRouteDetector, default_detector

    return {"learned": default_detector, "robust": RobustRouteDetector,
            "ensemble": EnsembleDetector}[name]()  # fmt: skip


#: The seed sets of ``--stress``: their seeds, their name in the table, their flag.
SEED_SETS = {
    "evaluation": (EVALUATION_SEEDS, "evaluation", ""),
    "tuning": (TUNING_SEEDS, "tuning", " --tuning"),
    "extra": (EXTRA_SEEDS, "20 extra evaluation", " --extra"),
    "fresh": (FRESH_SEEDS, "20 fresh evaluation", " --fresh"),
}


def flagged_hits(ranked, truth) -> tuple[int, int, int]:
    """How many corridors (hub, destination, HS6) the ranking flags, how many of them
    carry an episode, and how many carry one in all."""
    import polars as pl

    from tradeflows._evaluate import CORRIDOR

    flagged = ranked.filter(pl.col("flagged")).select(CORRIDOR).unique()
    true = truth.filter("is_transshipment").select(CORRIDOR).unique()
    return flagged.height, flagged.join(true, on=CORRIDOR).height, true.height


def _scored(lf, truth, ranked) -> dict:
    """A world's detection measures: the corridor ranking ``ranked``
    (:func:`tradeflows.corridors`) against ``truth``, beside the two baselines
    and the ceiling of the data ``lf``."""

    from tradeflows._evaluate import (
        CORRIDOR,
        ap_ceiling,
        evaluate,
        money_baseline,
        naive_baseline,
    )
    from tradeflows.detect import roll_up

    mine = evaluate(ranked, truth)
    rolled = evaluate(roll_up(ranked, CORRIDOR), truth)
    flagged, hits, true = flagged_hits(ranked, truth)
    return {
        "ap": mine["route_ap"], "rolled_up": rolled["route_ap"],
        "naive": evaluate(naive_baseline(lf), truth)["route_ap"],
        "money": evaluate(money_baseline(lf), truth)["route_ap"],
        "ceiling": ap_ceiling(lf, truth), "hub_product": mine["hub_product_ap"],
        "lookalikes": mine["lookalikes_in_top_k"], "k": mine["k"],
        "own_lookalikes": mine["lookalike_routes_in_top_k"],
        "recall_k": mine["recall_at_k"], "own_recall_k": mine["own_recall_at_k"],
        "corridors": ranked.select(CORRIDOR).n_unique(), "flagged": flagged,
        "hits": hits, "true": true,
        "precision": hits / flagged if flagged else float("nan"),
        "recall": hits / true,
    }  # fmt: skip


def corridor_places(ranked, truth):
    """Where a world's true corridors rank, and what the false ones in its top k are.

    Returns ``(true, false)``: each true corridor (hub, destination, HS6)
    with its episode's first label (``kind``, and ``note`` where the labels
    have one), its ``place`` among the ranking's corridors (null: not
    ranked) and whether it is in the top k (``found``; k = true corridors);
    each corridor of the top k that carries no episode, with the kind of the
    look-alike it carries (null: none, chance) and what it ``shares`` with a
    true corridor of the world: "hub and product" (another destination of
    an episode's inflow), else "destination and product" (another hub of an
    episode's direct leg), else null. Most of the chance corridors of the
    stress suite's top k share one of them (benchmarks/RESULTS.md,
    2026-12-06, "what the 'chance' corridors of the top k are").
    """
    import polars as pl

    from tradeflows._evaluate import CORRIDOR

    place = (
        ranked.group_by(CORRIDOR)
        .agg(pl.col("rank").min())
        .sort("rank", *CORRIDOR)
        .with_columns(place=pl.int_range(1, pl.len() + 1))
    )
    first = [c for c in ("origin", "kind", "note") if c in truth.columns]
    true = (
        truth.filter("is_transshipment")
        .group_by(CORRIDOR, maintain_order=True)
        .agg(pl.col(first).first())
    )
    k = true.height
    true = true.join(place, on=CORRIDOR, how="left").with_columns(
        found=pl.col("place").fill_null(k + 1) <= k
    )
    labels = truth.group_by(CORRIDOR, maintain_order=True).agg(
        pl.col("kind").first(), pl.col("is_transshipment").any()
    )
    episodes = truth.filter("is_transshipment")
    shares = [
        episodes.select(*pair).unique().with_columns(**{name: pl.lit(name)})
        for pair, name in ((["hub", "hs"], "hub and product"),
                           (["destination", "hs"], "destination and product"))
    ]  # fmt: skip
    false = (
        place.filter(pl.col("place") <= k)
        .join(labels, on=CORRIDOR, how="left")
        .filter(~pl.col("is_transshipment").fill_null(False))
        .drop("is_transshipment")
        .join(shares[0], on=["hub", "hs"], how="left")
        .join(shares[1], on=["destination", "hs"], how="left")
        .select(
            *place.columns, "kind", shares=pl.coalesce("hub and product", "destination and product")
        )
    )
    return true, false


def false_cause():
    """What a false corridor of the top k is (:func:`corridor_places`): its
    look-alike's kind, else chance, said beside what it shares with a true
    corridor."""
    import polars as pl

    return (
        pl.when(pl.col("kind").is_not_null())
        .then(pl.col("kind"))
        .when(pl.col("shares").is_not_null())
        .then(pl.format("chance on a true corridor's {}", pl.col("shares")))
        .otherwise(pl.lit("chance"))
    )


def diagnose(seed_set: str, dimensions: list[str], save: bool) -> None:
    """What the shipped detector misses and ranks first, by episode kind, per dimension."""
    import polars as pl

    from tradeflows import corridors, detect_routes
    from tradeflows._store import scan_store

    seeds, which, flag = SEED_SETS[seed_set]
    lines = [
        f"### Stress suite on the {which} seeds: what is missed, what ranks first, "
        f"{dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_detect.py --stress{flag} --diagnose` "
        f"(seeds {', '.join(map(str, seeds))}).",
        "",
        "Per dimension, the true corridors by their episode's kind (in the top k: the",
        "share of them among the world's k best corridors; median place; not ranked:",
        "no route reaches them), and the corridors of the top k that carry no episode, by",
        "the look-alike they carry (chance: none), chance said beside what it shares with",
        "a true corridor (its hub and product: another destination of an episode's inflow;",
        "its destination and product: another hub of an episode's direct leg).",
        "",
        "| dimension | episode | true corridors | in the top k | median place | not ranked |",
        "|---|---|---|---|---|---|",
    ]
    falses = []
    for dim in dimensions:
        trues = []
        for seed in seeds:
            folder = stress_world(dim, seed)
            truth = pl.read_parquet(folder / "truth.parquet")
            ranked = corridors(detect_routes(scan_store(folder / "store")))
            true, false = corridor_places(ranked, truth)
            trues.append(true)
            falses.append(false.select(dimension=pl.lit(dim), kind=false_cause()))
        by_kind = (
            pl.concat(trues)
            .group_by("kind")
            .agg(
                pl.len(),
                pl.col("found").mean(),
                pl.col("place").median(),
                pl.col("place").is_null().sum().alias("unranked"),
            )
            .sort("kind")
        )
        for kind, n, share, median, unranked in by_kind.rows():
            shown = "-" if median is None else f"{median:g}"
            lines.append(f"| {dim} | {kind} | {n} | {share:.0%} | {shown} | {unranked} |")
    false = pl.concat(falses)
    lines += ["", "| dimension | false corridors in the top k, by what they carry |", "|---|---|"]
    for dim in dimensions:
        counts = (
            false.filter(dimension=dim).group_by("kind").agg(pl.len()).sort("len", "kind",
                                                                             descending=True)
        )  # fmt: skip
        shown = ", ".join(f"{kind} {n}" for kind, n in counts.rows()) or "none"
        lines.append(f"| {dim} | {shown} |")
    record("\n".join([*lines, ""]), save=save)


def _ratio(part: int, whole: int) -> str:
    """``part / whole`` to two decimals ("-" where ``whole`` is 0)."""
    return f"{part / whole:.2f}" if whole else "-"


def stress(seed_set: str, dimensions: list[str], save: bool,
           detector: str = "learned") -> None:  # fmt: skip
    import polars as pl

    from tradeflows import corridors, detect_routes
    from tradeflows._store import scan_store

    seeds, which, flag = SEED_SETS[seed_set]
    rows = []
    for dim in dimensions:
        for seed in seeds:
            folder = stress_world(dim, seed)
            lf = scan_store(folder / "store")
            truth = pl.read_parquet(folder / "truth.parquet")
            t = time.perf_counter()
            flags = detect_routes(lf, detector=_detector(detector))
            seconds = time.perf_counter() - t
            row = _scored(lf, truth, corridors(flags))
            rows.append({"dimension": dim, "seed": seed, **row, "seconds": seconds})
    table = pl.DataFrame(rows)
    lines = [
        f"### Stress suite on the {which} seeds ({detector} detector), {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_detect.py --stress{flag}"
        f"{'' if detector == 'learned' else ' --detector ' + detector}`"
        f" (seeds {', '.join(map(str, seeds))}).",
        "",
        "Corridor AP (hub, destination, HS6; the corridor ranking of `tradeflows detect`), the",
        "median over the seeds, beside the naive baseline (YoY jump of the hub's reported",
        "exports to the destination) and the money baseline (their USD increase over a year).",
        "`look-alikes@k`: worlds with a look-alike among the top k corridors (k = true corridors);",
        "`own route`: of those, worlds where the corridor ranks on the look-alike's own route",
        "(its origin, or all origins), not on another origin's through the same hub and destination.",
        "`recall@k`: the share of true corridors in the top k (median), and in brackets those",
        "whose best route is the episode's own.",
        "`flagged P / R`: precision and recall of the flagged corridors (medians), and in",
        "brackets pooled over the seeds (all flagged corridors, all true ones).",
        "`ceiling`: the highest corridor AP the data allows (`tradeflows.ap_ceiling`:",
        "the share of true corridors whose destination a report of the episode's legs names), median.",
        "`hub x HS6 AP`: the same ranking scored on hub and product, destination left out.",
        "`rolled-up AP`: corridor AP of the routes rolled up to hub, destination and HS6",
        "(`corridors(by=...)`: the log of their summed odds, where the corridor AP takes the best).",
        "",
        "| dimension | corridor AP (min-max) | naive AP | money AP | AP / best baseline | worlds with look-alikes@k | own route | recall@k (own route) | flagged P / R | ceiling | hub x HS6 AP | rolled-up AP | detect s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for dim in dimensions:
        d = table.filter(pl.col("dimension") == dim)
        ap, naive, money = d["ap"].median(), d["naive"].median(), d["money"].median()
        best = max(naive, money)
        ratio = f"{ap / best:.1f}x" if best > 0 else "n/a (no hub reports)"
        lines.append(
            f"| {dim} | {ap:.3f} ({d['ap'].min():.2f}-{d['ap'].max():.2f}) | {naive:.3f} | "
            f"{money:.3f} | {ratio} | "
            f"{int((d['lookalikes'] > 0).sum())} of {d.height} | "
            f"{int((d['own_lookalikes'] > 0).sum())} of {d.height} | "
            f"{d['recall_k'].median():.2f} ({d['own_recall_k'].median():.2f}) | "
            f"{d['precision'].median():.2f} / {d['recall'].median():.2f} "
            f"({_ratio(d['hits'].sum(), d['flagged'].sum())} / "
            f"{_ratio(d['hits'].sum(), d['true'].sum())}) | "
            f"{d['ceiling'].median():.2f} | {d['hub_product'].median():.3f} | "
            f"{d['rolled_up'].median():.3f} | {d['seconds'].median():.1f} |"
        )
    hits, flagged, true = (int(table[c].sum()) for c in ("hits", "flagged", "true"))
    lines += [
        "",
        f"Flagged corridors over all {table.height} worlds: {flagged:,}, of which {hits:,} true,"
        f" of {true:,} true corridors (precision {_ratio(hits, flagged)},"
        f" recall {_ratio(hits, true)}).",
        "",
    ]
    record("\n".join(lines), save=save)


def quality(seeds: list[int], save: bool, **world) -> None:
    import polars as pl

    from tradeflows import detect_routes
    from tradeflows._evaluate import evaluate, naive_baseline
    from tradeflows._store import ingest, scan_store
    from tradeflows._synth import make_trade_world

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
            flagged, hits, true = flagged_hits(flags, truth)
            rows.append({"seed": seed, "mine": mine, "naive": naive, "seconds": seconds,
                         "flag_precision": hits / flagged if flagged else float("nan"),
                         "flag_recall": hits / true})  # fmt: skip
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


#: ``bench_scale.py``'s worlds at scale, in words.
_SHAPES = {
    "wide": "160 products per 10M report rows, 150 countries, 6,000 country pairs a product",
    "dense": "60 products per 10M report rows, about 220 countries, 12,000 country pairs "
    "a product, six years",
    "long": "790 products per 10M report rows, 150 countries, 700 country pairs a product",
    "transfer": "the second generator of `bench_transfer.py` (AR(1) series at real data's "
    "noise, gravity-drawn pairs), 160 products per 10M report rows, 150 countries",
}


def wide(seeds: list[int], rows: int, save: bool, shape: str = "wide") -> None:
    """Detection quality at scale: ``bench_scale.py``'s wide (or dense, or long) world,
    one per seed.

    The stress suite's worlds hold a few hundred corridors; the wide world of
    about ``rows`` report rows (160 products per 10M rows, 150 countries) holds
    tens of thousands, among which chance alone puts some strong-looking
    ones. Each world is made and ingested once (``benchmarks/data/``); detect
    runs in this process.
    """
    import numpy as np
    import polars as pl
    from bench_scale import wide_world

    from tradeflows import corridors, detect_routes
    from tradeflows._routes import FEATURES
    from tradeflows._store import ingest, scan_store
    from tradeflows.detect import LearnedRouteDetector, default_detector
    from tradeflows.detect._flags import _held_to_base_rate, base_rate

    rows_out = []
    for seed in seeds:
        folder = wide_world(rows, seed, shape)
        store = folder / "store"
        if not (store / "audit.json").exists():
            ingest([folder / "comtrade"], store)
        lf = scan_store(store)
        truth = pl.read_parquet(folder / "truth.parquet")
        t = time.perf_counter()
        # Flagged at the lines as trained, then as detect_routes holds them by
        # default (raised where episodes look rarer than in training): the
        # same function, applied here to keep both.
        trained = detect_routes(lf, detector=LearnedRouteDetector(base_rate="training"))
        det = default_detector().fit(np.zeros((1, len(FEATURES))))
        flags = _held_to_base_rate(trained, det)
        seconds = time.perf_counter() - t
        ranked = corridors(flags)
        lift = base_rate(trained, det)["line_raise"]
        at_trained = _scored(lf, truth, corridors(trained))
        # Each true corridor's place among the corridors (its best route's).
        places = sorted(corridor_places(ranked, truth)[0]["place"].fill_null(0))
        rows_out.append({"seed": seed, "rows": lf.select(pl.len()).collect().item(),
                         **_scored(lf, truth, ranked), "places": places, "lift": lift,
                         "trained": at_trained, "seconds": seconds})  # fmt: skip
    lines = [
        f"### Detection quality at scale: the {shape} world, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_detect.py --wide"
        f"{'' if shape == 'wide' else ' --' + shape} "
        f"--rows {rows} --seeds {' '.join(map(str, seeds))}` (worlds of `bench_scale.py "
        f"--{shape}`: {_SHAPES[shape]}; never used to choose anything).",
        "",
        "The measures of the stress suite's table; `places`: where each true corridor",
        "ranks among all corridors (0: not ranked). `lines raised`: how far the routes'",
        "lines rise because episodes look rarer than in the training worlds",
        "(`LearnedRouteDetector.line_raise`); `at the trained lines`: the flagged",
        'corridors without that (`base_rate="training"`).',
        "",
        "| seed | store rows | corridors | true (k) | corridor AP | naive AP | money AP | "
        "recall@k | look-alikes@k | lines raised | flagged corridors | flagged P / R | "
        "at the trained lines: flagged, P / R | rolled-up AP | places | detect s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows_out:
        t = r["trained"]
        lines.append(
            f"| {r['seed']} | {r['rows']:,} | {r['corridors']:,} | {r['k']} | {r['ap']:.3f} | "
            f"{r['naive']:.3f} | {r['money']:.3f} | {r['recall_k']:.2f} | {r['lookalikes']} | "
            f"{r['lift']:.2f} | {r['flagged']} | {r['precision']:.2f} / {r['recall']:.2f} | "
            f"{t['flagged']}, {t['precision']:.2f} / {t['recall']:.2f} | {r['rolled_up']:.3f} | {', '.join(map(str, r['places']))} | {r['seconds']:.0f} |"
        )
    lines.append("")
    record("\n".join(lines), save=save)


PUBLISHED_HUBS = ("ARM", "KAZ", "KGZ")
PUBLISHED_HS4 = ("8471", "8517", "8542")


def real_case_rankings(lf, flags=None):
    """The EU -> ARM/KAZ/KGZ -> RUS case: each method's ranking of the hub x HS4 corridors.

    Returns the universe of corridors (hub, hs4) in the data, with a column
    per method (higher = ranked first): ``tradeflows`` (the best corridor
    score of ``tradeflows detect`` among its routes to Russia), ``rolled_up``
    (its routes to Russia rolled up to hub and heading,
    ``corridors(by=["hub", "destination", "hs4"])``: the log of their summed
    odds), ``naive`` (the
    largest year-on-year jump of the EU's exports to the hub) and ``money``
    (the USD increase of the EU's exports to the hub, March to November 2022
    against the same months of 2021), and ``label`` (a published corridor).
    """
    import polars as pl

    from tradeflows import corridors, detect_routes
    from tradeflows.detect import roll_up

    hubs = ["ARM", "GEO", "KAZ", "KGZ", "UZB"]
    key = ["hub", "hs4"]
    flags = flags if flags is not None else detect_routes(lf)
    ranked = corridors(flags)
    ours = (
        ranked.filter(pl.col("destination") == "RUS")
        .group_by("hub", hs4=pl.col("hs").str.slice(0, 4))
        .agg(tradeflows=pl.col("score").max())
    )
    rolled = (
        roll_up(ranked, ["hub", "destination", "hs4"])
        .filter(pl.col("destination") == "RUS")
        .select(*key, rolled_up="score")
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
        .agg(naive=((pl.col("v") / 1000).log1p() - (pl.col("before") / 1000).log1p()).max())
    )
    months = pl.col("period").dt.month().is_between(3, 11)
    money = monthly.group_by(key).agg(
        money=pl.col("v").filter(months & (pl.col("period").dt.year() == 2022)).sum()
        - pl.col("v").filter(months & (pl.col("period").dt.year() == 2021)).sum()
    )
    positive = pl.col("hub").is_in(PUBLISHED_HUBS) & pl.col("hs4").is_in(PUBLISHED_HS4)
    return (
        monthly.select(key)
        .unique()
        .join(ours, on=key, how="left")
        .join(rolled, on=key, how="left")
        .join(naive, on=key, how="left")
        .join(money, on=key, how="left")
        .with_columns(label=positive)
        .sort(key)
    )


#: The destinations whose growth the re-export studies discuss: Russia (2022-23),
#: the UAE and Hong Kong (gold and diamonds, 2023).
HUB_RECORDS_NAMED = ("RUS", "ARE", "HKG")


def armenia_records(years: tuple[int, int] = (2017, 2023)):
    """Armenia's own monthly records (Armstat via ``../shared/realdata``, whose
    licence keeps them out of the repository): its exports by destination and
    imports by origin, all goods, as canonical rows of one product with Armenia
    the only reporter; and the number of rows whose country name resolves to
    no ISO code (left out). None when the file is not there. The product is
    ``TOTAL``, all goods: read as a product only when a detection asks for it
    (``hs=["TOTAL"]``)."""
    import polars as pl
    from bench_calibration import _armenia

    from tradeflows._errors import TradeflowsInputError
    from tradeflows._schema import CANONICAL
    from tradeflows.names import country

    rows = _armenia(years)
    if rows is None:
        return None
    iso = {}
    for name in rows["partner"].unique().to_list():
        try:
            iso[name] = country(name)
        except TradeflowsInputError:
            iso[name] = None
    rows = rows.with_columns(partner=pl.col("partner").replace_strict(iso, return_dtype=pl.String))
    dropped = rows.filter(pl.col("partner").is_null()).height
    rows = rows.filter(pl.col("partner").is_not_null() & (pl.col("partner") != "ARM"))
    lf = rows.filter(pl.col("value_usd") > 0).with_columns(
        hs=pl.lit("TOTAL"), hs_revision=pl.lit("HS"), net_kg=pl.lit(None, pl.Float64),
        qty=pl.lit(None, pl.Float64), qty_unit=pl.lit(None, pl.String),
        slip_suspect=pl.lit(False), source=pl.lit("armstat"),
    )  # fmt: skip
    return lf.select(list(CANONICAL)).cast(CANONICAL).lazy(), dropped


def hub_records(save: bool) -> None:
    """One hub's own records: Armenia's destinations ranked three ways.

    Not a labelled case: the table says where the destinations the
    re-export studies discuss (``HUB_RECORDS_NAMED``) fall in each ranking,
    and which five come first. Ours: each destination's best corridor through
    Armenia (``tradeflows detect --hubs ARM --destinations`` every partner);
    the naive and money baselines of the stress suite
    (:func:`tradeflows.naive_baseline`, :func:`tradeflows.money_baseline`:
    the largest year-on-year jump of Armenia's exports to it, and their
    largest USD increase over a year).
    """
    import polars as pl

    from tradeflows import corridors, detect_routes, money_baseline, naive_baseline
    from tradeflows.detect import roll_up

    records = armenia_records()
    if records is None:
        print("skipped: ../shared/realdata is not here")
        return
    lf, dropped = records
    destinations = lf.filter(pl.col("flow") == "X").select("partner").unique().collect()
    destinations = destinations["partner"].to_list()
    t = time.perf_counter()
    flags = detect_routes(lf, destinations=destinations, hubs=["ARM"], hs=["TOTAL"])
    seconds = time.perf_counter() - t

    def by_destination(scored: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
        return (
            scored.lazy()
            .filter(pl.col("hub") == "ARM")
            .group_by("destination")
            .agg(pl.col("score").max())
            .collect()
        )

    lines = [
        f"### One hub's own records: Armenia's destinations, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        "Command: `python benchmarks/bench_detect.py --real` (Armstat's monthly trade of Armenia",
        "by country, 2017-01 to 2023-12, all goods, read as one product (`--hs TOTAL`): Armenia's exports by",
        f"destination and imports by origin; nobody else reports; {dropped} rows whose country",
        "name resolves to no ISO code left out). Not a labelled case: where the destinations",
        f"the re-export studies discuss ({', '.join(HUB_RECORDS_NAMED)}) fall in each ranking.",
        "",
        "| method | destinations ranked | "
        + " | ".join(f"rank of {d}" for d in HUB_RECORDS_NAMED)
        + " | first five |",
        "|---|---|" + "---|" * len(HUB_RECORDS_NAMED) + "---|",
    ]
    ranked = corridors(flags)
    for name, table in (("tradeflows (best corridor through ARM)", ranked),
                        ("tradeflows (corridors through ARM rolled up: their odds added)",
                         roll_up(ranked, ["hub", "destination"])),
                        ("naive: YoY jump of ARM's exports", naive_baseline(lf, destinations=destinations)),
                        ("money: USD increase of ARM's exports over a year", money_baseline(lf, destinations=destinations))):  # fmt: skip
        table = by_destination(table)
        r = table.drop_nulls("score").sort(["score", "destination"], descending=[True, False])
        order = r["destination"].to_list()
        ranks = [str(order.index(d) + 1) if d in order else "-" for d in HUB_RECORDS_NAMED]
        lines.append(f"| {name} | {len(order)} | {' | '.join(ranks)} | {', '.join(order[:5])} |")
    lines += ["", f"detect took {seconds:.1f} s.", ""]
    record("\n".join(lines), save=save)


#: The hubs the EBRD's "Eurasian roundabout" names from all-goods trade by
#: partner (EU exports up 345% to Kyrgyzstan, 165% to Armenia, 94% to
#: Kazakhstan, 2021 to 2022); Georgia and Uzbekistan are the other
#: neighbours in the files.
ROUNDABOUT = ("ARM", "KAZ", "KGZ")

#: The spans the all-goods files are read over: every first year with every last month.
ROUNDABOUT_SPANS = [(a, b) for a in ("2019-01", "2020-01", "2021-01")
                    for b in ("2022-12", "2023-12", "2024-08")]  # fmt: skip


def roundabout(save: bool) -> None:
    """The EU's all-goods exports to Russia's neighbours, read as one product
    (``detect --hs TOTAL``) over nine spans: where the three hubs the EBRD
    names rank among the five, beside the naive baseline (the largest
    year-on-year jump of the EU's exports to the hub) and the money one
    (their USD increase, March-November 2022 against 2021). The data holds
    the exporters' side only: the EU's exports to each neighbour and to
    Russia, no neighbour's exports to Russia.
    """
    import polars as pl

    from tradeflows import corridors, detect_routes
    from tradeflows.datasets import load_eu_total_exports
    from tradeflows.detect import roll_up

    def named(order: list[str]) -> str:
        return ", ".join(str(order.index(h) + 1) for h in ROUNDABOUT)

    lines = [
        f"### Real case: the EU's all-goods exports to Russia's neighbours, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        "Command: `python benchmarks/bench_detect.py --real` (bundled Eurostat monthly total exports",
        "of the EU-27 and the UK to AM, GE, KG, KZ, RU, UZ, 2019-01 to 2024-08, read as one product:",
        "`tradeflows detect --hs TOTAL`; the exporters' side only).",
        "",
        f"The hubs the EBRD names from such data: {', '.join(ROUNDABOUT)} (their places among the five",
        "hubs to Russia; ours: the hub's routes rolled up, their odds added).",
        "",
        "| span | ours: hubs in order (flagged) | places of ARM, KAZ, KGZ | naive | money |",
        "|---|---|---|---|---|",
    ]
    base = load_eu_total_exports()
    for first, last in ROUNDABOUT_SPANS:
        lo = dt.date.fromisoformat(f"{first}-01")
        hi = dt.date.fromisoformat(f"{last}-01")
        lf = base.filter(pl.col("period").is_between(lo, hi))
        flags = detect_routes(lf, hs=["TOTAL"], destinations=["RUS"])
        hubs = roll_up(corridors(flags), ["hub", "destination"]).drop_nulls("score")
        hubs = hubs.sort(["score", "hub"], descending=[True, False])
        ours = hubs["hub"].to_list()
        flagged = set(hubs.filter("flagged")["hub"].to_list())
        shown = ", ".join(f"{h}{'*' if h in flagged else ''}" for h in ours)
        monthly = (
            lf.filter(pl.col("partner").is_in(["ARM", "GEO", "KAZ", "KGZ", "UZB"]))
            .group_by(hub="partner", period="period")
            .agg(v=pl.col("value_usd").sum())
            .collect()
        )
        year_before = monthly.select("hub", pl.col("period").dt.offset_by("1y"), before="v")
        naive = (
            monthly.join(year_before, on=["hub", "period"])
            .group_by("hub")
            .agg(s=((pl.col("v") / 1000).log1p() - (pl.col("before") / 1000).log1p()).max())
        )
        months = pl.col("period").dt.month().is_between(3, 11)
        money = monthly.group_by("hub").agg(
            s=pl.col("v").filter(months & (pl.col("period").dt.year() == 2022)).sum()
            - pl.col("v").filter(months & (pl.col("period").dt.year() == 2021)).sum()
        )
        order = {n: t.sort(["s", "hub"], descending=[True, False])["hub"].to_list()
                 for n, t in (("naive", naive), ("money", money))}  # fmt: skip
        lines.append(
            f"| {first}..{last} | {shown} | {named(ours)} | {named(order['naive'])} "
            f"({', '.join(order['naive'])}) | {named(order['money'])} ({', '.join(order['money'])}) |"
        )
    lines += [
        "",
        "`*`: a corridor of the hub to Russia flagged. The naive baseline is the EBRD's own",
        "measure (the growth of the EU's exports to the hub), so its places are the labels'",
        "source, not a competitor's: the case shows that all-goods data reads as one product",
        "and that the evidence ranking agrees with the published reading.",
        "",
    ]
    record("\n".join(lines), save=save)


def real(save: bool) -> None:
    """The EU -> Armenia/Kazakhstan/Kyrgyzstan -> Russia electronics case.

    Positives: the corridors (hub, HS4) the published studies name. Ours ranks
    them as the report's table of wide corridors does (its routes to Russia
    rolled up to hub, destination and heading: the log of their summed odds,
    each route's score its evidence and value at stake), and, beside it, by
    the best of their routes; the naive method by the largest year-on-year
    jump of the EU's exports to the hub; the money method by the USD
    increase of those exports (March-November 2022 against 2021).
    """
    import polars as pl

    from tradeflows import detect_routes
    from tradeflows._evaluate import average_precision
    from tradeflows.datasets import load_eu_electronics_exports

    lf = load_eu_electronics_exports()
    t = time.perf_counter()
    flags = detect_routes(lf)
    seconds = time.perf_counter() - t
    table = real_case_rankings(lf, flags)
    n_pos = int(table["label"].sum())
    rows = []
    # The studies name hub x heading corridors: the first row ranks them as the
    # report's table and `detect --by hub,destination,hs4` do (each corridor's
    # routes, every EU origin and code, their odds added); the second by the
    # best of their routes, as the list of routes meets them.
    names = {"rolled_up": "tradeflows: hub x heading corridors, as the report's table ranks them (the routes' odds added)",
             "tradeflows": "tradeflows: the best route of each hub x heading corridor",
             "naive": "naive: EU exports to the hub, YoY", "money": "money: USD increase of EU exports to the hub, Mar-Nov 2022 vs 2021"}  # fmt: skip
    for method, name in names.items():
        r = table.filter(pl.col(method).is_not_null()).sort(
            [method, "hub", "hs4"], descending=[True, False, False]
        )
        top = r.head(n_pos)
        # Where the published corridors fall, not only the AP: the trees'
        # random draw moves one or two of them a place or two, and that moves
        # the AP by up to 0.07 (benchmarks/RESULTS.md, 2026-12-06).
        places = ", ".join(str(i + 1) for i, y in enumerate(r["label"].to_list()) if y)
        rows.append((name, average_precision(r[method].to_list(), r["label"].to_list(), n_pos),
                     top["label"].mean(), f"{places} of {r.height}",
                     ", ".join(f"{h} {c}" for h, c in top.select("hub", "hs4").rows())))  # fmt: skip
    flagged = flags.filter(pl.col("flagged"))
    post = flagged.filter(pl.col("period") >= dt.date(2022, 2, 1)).height
    lines = [
        f"### Real case: EU electronics to Russia via its neighbours, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        "Command: `python benchmarks/bench_detect.py --real` (bundled Eurostat CN8 exports of the",
        "EU-27 to RU, AM, BY, GE, KG, KZ, UZ, 2020-01 to 2022-11: the exporters' side only).",
        "",
        f"Positives: the {n_pos} corridors (hub, HS4) the studies name: {', '.join(PUBLISHED_HUBS)} x "
        f"{', '.join(PUBLISHED_HS4)}, out of {table.height} hub x HS4 corridors in the data.",
        "",
        "| method | AP | precision at k | places of the published corridors | top k corridors |",
        "|---|---|---|---|---|",
        *[f"| {n} | {ap:.3f} | {p:.2f} | {at} | {top} |" for n, ap, p, at, top in rows],
        "",
        f"{flagged.height} route-months flagged, {post / max(flagged.height, 1):.0%} of them from 2022-02 on; "
        f"detect took {seconds:.1f} s.",
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

    from tradeflows._store import read_audit

    # Products x pairs scale the world: 700 x 700 gave 52M report rows (RESULTS.md),
    # of which the cleaning keeps about 86% (World rows and duplicates go).
    pairs = max(20, round((rows / (52e6 * 0.86) * 700 * 700) ** 0.5))
    data = HERE / "data" / f"world_{pairs}"
    store = data / "store"
    if not (store / "audit.json").exists():
        # In a child: a parent grown large would pass its peak RSS to the measured children.
        _checked(
            "from tradeflows._synth import make_trade_world; from tradeflows._store import ingest; "
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
    ap.add_argument("--stress", action="store_true")
    ap.add_argument("--tuning", action="store_true", help="--stress on the tuning seeds")
    ap.add_argument(
        "--extra", action="store_true", help="--stress on 20 more evaluation seeds (3001-3020)"
    )
    ap.add_argument(
        "--fresh", action="store_true", help="--stress on 20 fresh evaluation seeds (6001-6020)"
    )
    ap.add_argument("--dimensions", nargs="+", help="--stress: these dimensions only")
    ap.add_argument(
        "--diagnose", action="store_true",
        help="--stress: what is missed and what ranks first, by episode kind, instead of the table",
    )  # fmt: skip
    ap.add_argument(
        "--detector",
        choices=DETECTORS,
        default="learned",
        help="--stress: the detector (default: the shipped trees)",
    )
    ap.add_argument("--quality", action="store_true")
    ap.add_argument(
        "--wide",
        action="store_true",
        help="quality on bench_scale.py's wide world (--rows, default 10M; --seeds, default 7)",
    )
    ap.add_argument(
        "--dense", action="store_true", help="as --wide, on bench_scale.py's dense world"
    )
    ap.add_argument("--long", action="store_true", help="as --wide, on bench_scale.py's long world")
    ap.add_argument(
        "--transfer", action="store_true",
        help="as --wide, on a wide world of the second generator (bench_scale.py --transfer)",
    )  # fmt: skip
    ap.add_argument("--real", action="store_true")
    ap.add_argument(
        "--seeds", type=int, nargs="+", help="--quality: default 1001-1005; --wide: default 7"
    )
    ap.add_argument("--strength", type=float, help="episode strength (default 5)")
    ap.add_argument("--pairs-per-product", type=int, help="world size (default 60)")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--engines", nargs="+", default=["streaming", "cpu"])
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    if args.wide or args.dense or args.long or args.transfer:
        shape = next((s for s in ("dense", "long", "transfer") if getattr(args, s)), "wide")
        wide(args.seeds or [7], args.rows or 10_000_000, save=not args.no_record, shape=shape)
        return
    if not (args.quality or args.real or args.rows or args.stress):
        ap.error("choose --stress, --quality, --wide, --real and/or --rows N")
    if args.stress:
        from tradeflows._synth import STRESS

        seed_set = next((name for name in SEED_SETS if getattr(args, name, False)), "evaluation")
        if args.diagnose:
            diagnose(seed_set, args.dimensions or list(STRESS), save=not args.no_record)
        else:
            stress(
                seed_set, args.dimensions or list(STRESS), save=not args.no_record,
                detector=args.detector,
            )  # fmt: skip
    if args.real:
        real(save=not args.no_record)
        hub_records(save=not args.no_record)
        roundabout(save=not args.no_record)
    if args.quality:
        world = {k: v for k, v in (("strength", args.strength),
                                    ("pairs_per_product", args.pairs_per_product)) if v is not None}  # fmt: skip
        quality(args.seeds or [1001, 1002, 1003, 1004, 1005], save=not args.no_record, **world)
    if args.rows:
        speed(args.rows, args.engines, save=not args.no_record)


if __name__ == "__main__":
    main()
