"""Precision and recall of flags against a labelled world, beside a naive baseline.

The unit of evaluation is the corridor: hub, destination and product (the
labels of a synthetic world also name the origin, but a flag on the right
corridor with another origin still points an analyst at the right goods). A
corridor's score is the highest of its route-months. Route-months are scored
the same way, on hub, destination, product and month.

:func:`evaluate` reports average precision (the mean, over true corridors, of
the precision at each one's rank; a true corridor never scored counts as
missed), recall at k and the look-alikes in the top k, where k is the number
of true corridors, and the same average precision on hub and product alone
(where the data cannot tell the destination). :func:`ap_ceiling` bounds what
any detector can reach: a true corridor whose destination no report of the
data names cannot be told from the hub's other destinations. Two baselines
stand beside a detector:
:func:`naive_baseline` is what a quick newsroom analysis computes, the largest
year-on-year jump of the hub's reported exports to the destination;
:func:`money_baseline` follows the money, the largest USD increase of the
hub's reported exports to the destination over a year.
"""

from __future__ import annotations

import polars as pl

from tradeflows._clean import canonical_rows, refuse_bad_rows
from tradeflows._expr import month_index
from tradeflows._reference import destinations_of_concern
from tradeflows._tables import FLAGS, flags_table, labels_table, table

__all__ = [
    "CORRIDOR",
    "HUB_PRODUCT",
    "ap_ceiling",
    "average_precision",
    "evaluate",
    "money_baseline",
    "naive_baseline",
]

#: The unit a detector is scored on.
CORRIDOR = ["hub", "destination", "hs"]
#: The unit where the destination is left out: what the hub takes in and passes on.
HUB_PRODUCT = ["hub", "hs"]


def _hub_exports(lf: pl.LazyFrame, destinations: list[str] | None) -> pl.LazyFrame:
    """The hubs' own reported monthly exports to the destinations of concern.

    ``lf`` is read as :func:`tradeflows.clean.canonical_rows` reads it (of
    rows the cleaning marked, the kept ones), and refused where it holds what
    the cleaning drops (:func:`tradeflows._clean.refuse_bad_rows`), as the
    detection reads it: the baselines and the detector see the same rows.
    """
    dest = destinations or list(destinations_of_concern())
    lf = canonical_rows(lf)
    refuse_bad_rows(lf)
    return (
        lf.filter((pl.col("freq") == "M") & (pl.col("flow") == "X") & pl.col("partner").is_in(dest))
        .group_by(hub="reporter", destination="partner", hs="hs", period="period")
        .agg(v=pl.col("value_usd").sum())
    )


def money_baseline(lf: pl.LazyFrame, *, destinations: list[str] | None = None) -> pl.LazyFrame:
    """Flags of the money method: the USD increase of the hub's reported exports to
    each destination over the last 12 months against the 12 before (a month not
    reported counts as nothing, as a quick analysis would have it), per
    route-month (origin empty); scored from the data's 24th month on.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    destinations : list of str, optional
        ISO3 codes (default: the reference list of destinations of concern).

    Returns
    -------
    LazyFrame
        A flags table scored by the USD increase of the hub's reported exports to the destination over a year, for :func:`evaluate`.

    See Also
    --------
    evaluate : score it against a world's labels.

    Examples
    --------
    >>> import datetime as dt
    >>> months = [dt.date(2022 + k // 12, k % 12 + 1, 1) for k in range(24)]
    >>> lf = pl.LazyFrame({"period": months, "reporter": "MYS", "partner": "CHN",
    ...     "flow": "X", "hs": "847150", "value_usd": [1e6] * 12 + [3e6] * 12, "freq": "M"})
    >>> money_baseline(lf).collect()["score"].drop_nulls().to_list()  # 12 months x 2m more
    [24000000.0]
    """
    x = _hub_exports(lf, destinations).with_columns(mi=month_index()).collect()
    lo, hi = (x["mi"].min(), x["mi"].max()) if x.height else (0, -1)
    months = pl.LazyFrame({"mi": range(lo, hi + 1)}, schema={"mi": pl.Int32})
    key = ["hub", "destination", "hs"]
    dense = (
        x.lazy()
        .select(key)
        .unique()
        .join(months, how="cross")
        .join(x.lazy().select(*key, "mi", "v"), on=[*key, "mi"], how="left")
        .with_columns(pl.col("v").fill_null(0.0), lo=pl.lit(lo))
        .sort(*key, "mi")
    )
    return (
        dense.with_columns(now=pl.col("v").rolling_sum(12).over(key, order_by="mi"))
        .with_columns(before=pl.col("now").shift(12).over(key, order_by="mi"))
        .filter(pl.col("mi") >= pl.col("lo") + 23)
        .select(
            origin=pl.lit(""),
            hub="hub",
            destination="destination",
            hs="hs",
            period=pl.date(pl.col("mi") // 12, pl.col("mi") % 12 + 1, 1),
            score=pl.col("now") - pl.col("before"),
        )
        .sort("period")
    )


def naive_baseline(lf: pl.LazyFrame, *, destinations: list[str] | None = None) -> pl.LazyFrame:
    """Flags of the naive method: the year-on-year log jump of the hub's reported
    exports to each destination, per route-month (origin empty).

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    destinations : list of str, optional
        ISO3 codes (default: the reference list of destinations of concern).

    Returns
    -------
    LazyFrame
        A flags table scored by the largest year-on-year jump of the hub's reported exports to the destination, for :func:`evaluate`.

    See Also
    --------
    evaluate : score it against a world's labels.

    Examples
    --------
    >>> import datetime as dt
    >>> lf = pl.LazyFrame({"period": [dt.date(2023, 1, 1), dt.date(2024, 1, 1)],
    ...     "reporter": ["MYS"] * 2, "partner": ["CHN"] * 2, "flow": ["X"] * 2,
    ...     "hs": ["847150"] * 2, "value_usd": [1e6, 5e6], "freq": ["M"] * 2})
    >>> naive_baseline(lf).collect()["score"].round(2).to_list()  # the first year has no jump
    [None, 1.61]
    """
    x = _hub_exports(lf, destinations)
    last_year = x.select(
        "hub", "destination", "hs", pl.col("period").dt.offset_by("1y"), v_before="v"
    )
    lv = (pl.col("v") / 1000).log1p()
    first = x.select(first=pl.col("period").min().dt.offset_by("1y"))
    return (
        x.join(last_year, on=["hub", "destination", "hs", "period"], how="left")
        .join(first, how="cross")
        .select(
            origin=pl.lit(""),
            hub="hub",
            destination="destination",
            hs="hs",
            period="period",
            score=pl.when(pl.col("period") >= pl.col("first")).then(
                lv - (pl.col("v_before").fill_null(0.0) / 1000).log1p()
            ),
        )
        .sort("period")
    )


def average_precision(
    scores: list[float], labels: list[bool], n_positive: int | None = None
) -> float:
    """Average precision of a ranking; ``n_positive`` counts positives never scored.

    Examples
    --------
    >>> average_precision([0.9, 0.8, 0.1], [True, False, True])  # doctest: +ELLIPSIS
    0.833...
    >>> average_precision([0.9], [True], n_positive=2)  # one positive never scored
    0.5
    """
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    total = n_positive if n_positive is not None else sum(labels)
    if total == 0:
        return float("nan")
    hits, ap = 0, 0.0
    for rank, i in enumerate(order, start=1):
        if labels[i]:
            hits += 1
            ap += hits / rank
    return ap / total


def _ranked(flags: pl.DataFrame, unit: list[str]) -> pl.DataFrame:
    return (
        flags.group_by(unit)
        .agg(pl.col("score").max())
        .sort(["score", *unit], descending=[True] + [False] * len(unit))
    )


def evaluate(flags: pl.DataFrame | pl.LazyFrame, truth: pl.DataFrame | pl.LazyFrame) -> dict:
    """Score ``flags`` (a flags table, or a corridor ranking) against ``truth`` (a world's labels).

    A corridor ranking (:func:`tradeflows.corridors`: a ``rank``, no
    ``score``) is scored in its order; its route-months are its peak months.

    Returns
    -------
    dict
        ``route_ap``, ``route_month_ap``, ``hub_product_ap`` (hub and product,
        the best of their corridors), ``recall_at_k``, ``lookalikes_in_top_k``,
        ``k`` (true corridors), ``top_k`` (the k best corridors and their label);
        ``own_recall_at_k`` and ``lookalike_routes_in_top_k``: the same two
        counting a top corridor only where its best route is the episode's own
        (its origin, or all origins), not another origin's through the same
        hub to the same destination.

    Parameters
    ----------
    flags : DataFrame or LazyFrame
        A flags table (:func:`tradeflows.detect_routes`; read back from the
        CSV file ``tradeflows detect`` wrote, with ``infer_schema=False``, its
        text is read as detect wrote it) or a corridor ranking
        (:func:`tradeflows.corridors`).
    truth : DataFrame or LazyFrame
        A world's labels (``truth.parquet`` of :func:`tradeflows.datasets.make_trade_world`).

    See Also
    --------
    naive_baseline, money_baseline : the methods to compare with.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date(2024, 1, 1)
    >>> truth = pl.DataFrame({"origin": ["USA", "TWN"], "hub": ["MYS", "SGP"],
    ...     "destination": ["CHN", "CHN"], "hs": ["847150", "847150"], "period": [d, d],
    ...     "kind": ["pass_through", "entrepot"], "is_transshipment": [True, False]})
    >>> flags = truth.select("origin", "hub", "destination", "hs", "period",
    ...     score=pl.Series([2.0, 5.0]))
    >>> r = evaluate(flags, truth)
    >>> r["route_ap"], r["lookalikes_in_top_k"], r["lookalike_routes_in_top_k"]
    (0.5, 1, 1)
    >>> other = flags.with_columns(origin=pl.lit("JPN"))  # the look-alike's corridor, not its route
    >>> evaluate(other, truth)["lookalike_routes_in_top_k"]
    0
    """
    reads = f"evaluate reads {FLAGS} or a corridor ranking (tradeflows.corridors)"
    flags = table(flags, reads)
    if "rank" in flags.columns and "peak_period" in flags.columns:  # a corridor ranking
        flags = flags.with_columns(
            score=-pl.col("rank").cast(pl.Float64), period=pl.col("peak_period")
        )
    flags = flags_table(flags, reads, *CORRIDOR, "period", "score")
    flags = flags.filter(pl.col("score").is_not_null() & pl.col("score").is_not_nan())
    truth = labels_table(truth)
    result: dict = {}
    units = (("route", CORRIDOR), ("route_month", [*CORRIDOR, "period"]),
             ("hub_product", HUB_PRODUCT))  # fmt: skip
    for name, unit in units:
        positive = truth.filter(pl.col("is_transshipment")).select(unit).unique()
        ranked = (
            _ranked(flags, unit)
            .join(positive.with_columns(label=pl.lit(True)), on=unit, how="left")
            .with_columns(pl.col("label").fill_null(False))
        )
        result[f"{name}_ap"] = average_precision(
            ranked["score"].to_list(), ranked["label"].to_list(), positive.height
        )
        if name == "route":
            k = positive.height
            lookalike = (
                truth.filter(~pl.col("is_transshipment"))
                .select(unit)
                .unique()
                .join(positive, on=unit, how="anti")
            )
            top = ranked.head(k).join(
                lookalike.with_columns(lookalike=pl.lit(True)), on=unit, how="left"
            )
            result["k"] = k
            result["recall_at_k"] = top["label"].sum() / k if k else float("nan")
            result["lookalikes_in_top_k"] = int(top["lookalike"].fill_null(False).sum())
            own = _own_routes(flags, truth, top.select(unit), positive)
            result["own_recall_at_k"] = own["transshipment"] / k if k else float("nan")
            result["lookalike_routes_in_top_k"] = own["lookalike"]
            result["top_k"] = top.select(*unit, "score", "label", "lookalike").to_dicts()
    return result


def _own_routes(
    flags: pl.DataFrame, truth: pl.DataFrame, top: pl.DataFrame, positive: pl.DataFrame
) -> dict:
    """How many of the ``top`` corridors are there by the episode's own route.

    A corridor (hub, destination, product) holds the routes of every origin;
    it can rank high on one origin's route while an episode, true or a
    look-alike, sits on another's. Here a corridor counts for an episode
    only when its best route (highest score; ties: the first origin) is the
    episode's: the same origin, or the route of all origins (``""``).
    Returns ``{"transshipment": n, "lookalike": n}``; as for
    ``lookalikes_in_top_k``, a corridor that holds a true episode on any
    route (``positive``: the true corridors) is never a look-alike's (so the
    second is at most that count).
    """
    routes = flags if "origin" in flags.columns else flags.with_columns(origin=pl.lit(""))
    best = (
        routes.join(top, on=CORRIDOR, how="semi")
        .sort(["score", "origin"], descending=[True, False])
        .group_by(CORRIDOR, maintain_order=True)
        .agg(pl.col("origin").first())
    )
    episodes = truth.select(*CORRIDOR, "origin", "is_transshipment").unique()
    mine = best.join(episodes, on=CORRIDOR, suffix="_episode").filter(
        (pl.col("origin") == pl.col("origin_episode")) | (pl.col("origin") == "")
    )
    kinds = mine.group_by(CORRIDOR).agg(true=pl.col("is_transshipment").any())
    return {
        "transshipment": int(kinds["true"].sum()),
        "lookalike": kinds.filter(~pl.col("true")).join(positive, on=CORRIDOR, how="anti").height,
    }


def ap_ceiling(lf: pl.LazyFrame, truth: pl.DataFrame | pl.LazyFrame) -> float:
    """The highest corridor AP the data allows without a lucky guess: the share of
    true corridors whose destination a report of the episode's legs names.

    A true corridor (hub H, destination D, product p) is told apart from H's
    other destinations only by a report of p going into D along the episode's
    legs: H -> D (reported by H or by D) or O -> D from one of the episode's
    origins O (reported by either). Without one, every destination of H's
    inflow is as likely, and a detector whose score rests on the
    destination's own evidence (issue 22) finds it only by chance (another
    origin's unrelated trade with D). If every corridor with a report came
    first and the others were missed, AP would be this share.

    Parameters
    ----------
    lf : LazyFrame
        Canonical rows.
    truth : DataFrame or LazyFrame
        A world's labels.

    Returns
    -------
    float
        From 0 to 1 (NaN when the world has no true corridor).

    See Also
    --------
    evaluate : the AP a detector reaches.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.date(2024, 1, 1)
    >>> truth = pl.DataFrame({"origin": "USA", "hub": "MYS", "destination": ["CHN", "RUS"],
    ...     "hs": "847150", "period": d, "kind": "pass_through", "is_transshipment": True})
    >>> lf = pl.LazyFrame({"freq": "M", "reporter": "USA", "partner": "CHN", "flow": "X",
    ...     "hs": "847150", "period": [d], "value_usd": 1e6})  # only USA's direct exports to CHN
    >>> ap_ceiling(lf, truth)
    0.5
    """
    truth = labels_table(truth)
    lf = canonical_rows(lf)
    true = truth.filter(pl.col("is_transshipment"))
    positives = true.select(CORRIDOR).unique()
    if positives.height == 0:
        return float("nan")
    imported = pl.col("flow").is_in(["M", "RM"])
    flows = (
        lf.select(
            exporter=pl.when(imported).then("partner").otherwise("reporter"),
            importer=pl.when(imported).then("reporter").otherwise("partner"),
            hs="hs",
        )
        .unique()
        .collect()
    )
    senders = pl.concat(
        [
            true.select("hub", "destination", "hs", exporter="hub"),
            true.select("hub", "destination", "hs", exporter="origin"),
        ]
    ).unique()
    told = (
        senders.join(
            flows,
            left_on=["exporter", "destination", "hs"],
            right_on=["exporter", "importer", "hs"],
        )
        .select(CORRIDOR)
        .unique()
    )
    return told.height / positives.height
