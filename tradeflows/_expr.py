"""Expressions written so that every engine runs them, the Polars GPU engine included.

cudf-polars 26.10 refuses ``any()`` and ``all()`` inside a group-by or a
window (``.over``), date offsets and rolling medians; these helpers say the
same in terms it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import polars as pl

__all__ = [
    "all_true",
    "any_true",
    "fixed_order_sum",
    "in_chapters",
    "key_runs",
    "month_index",
    "part_key",
    "same_key_as_before",
    "sound_months",
    "split_chapters",
    "with_previous_median",
]


def sound_months(columns) -> pl.Expr:
    """Route-months that count as evidence: scored, covered, no data-quality event.

    What the corridors pool and what the overview figures draw. ``columns``:
    the flags table's; a table without ``covered`` or ``data_quality`` (a
    hand-made one) is taken as covered and clean.

    Examples
    --------
    >>> f = pl.DataFrame({"score": [1.0, None, 2.0, 3.0], "covered": [True, True, False, True],
    ...                   "data_quality": [None, None, None, "unit slip"]})
    >>> f.filter(sound_months(f.columns))["score"].to_list()
    [1.0]
    """
    ok = pl.col("score").is_not_null() & pl.col("score").is_not_nan()
    if "covered" in columns:
        ok &= pl.col("covered").fill_null(False)
    if "data_quality" in columns:
        ok &= pl.col("data_quality").is_null()
    return ok


def any_true(expr: pl.Expr) -> pl.Expr:
    """``expr.any()`` for group-by and window contexts: null counts as false.

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 2, 3], "b": [True, False, None, False]})
    >>> df.group_by("k", maintain_order=True).agg(any_true(pl.col("b")))["b"].to_list()
    [True, False, False]
    """
    return expr.fill_null(False).cast(pl.UInt32).sum() > 0


def all_true(expr: pl.Expr) -> pl.Expr:
    """``expr.all()`` for group-by and window contexts: nulls are ignored.

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 2, 3], "b": [True, False, None, True]})
    >>> df.group_by("k", maintain_order=True).agg(all_true(pl.col("b")))["b"].to_list()
    [False, True, True]
    """
    return (~expr).fill_null(False).cast(pl.UInt32).sum() == 0


def in_chapters(chapters: list[str]) -> pl.Expr:
    """Rows whose HS code is in one of ``chapters``: parts of the HS codes (:func:`part_key`).

    A part is a chapter (two digits: ``"84"``), a heading of a chapter too
    large for one group (four: ``"8471"``), or the codes of such a chapter
    shorter than a heading (``"84-"``). Each part is also said as a range of
    codes (``"84" <= hs < "85"``): a parquet reader skips the row groups whose
    codes lie outside it, and the store is written sorted by chapter
    (``tradeflows._store``), so a chapter reads its own rows, not the whole
    store. The exact test stays beside it.

    Examples
    --------
    >>> df = pl.DataFrame({"hs": ["8471", "84", "8", "85", "0101", None, "847150", "847"]})
    >>> df.filter(in_chapters(["84", "01"]))["hs"].to_list()
    ['8471', '84', '0101', '847150', '847']
    >>> df.filter(in_chapters(["8471", "84-"]))["hs"].to_list()
    ['8471', '84', '847150', '847']
    """
    hs = pl.col("hs")
    short = [c[:-1] for c in chapters if c.endswith("-")]
    heads = [c for c in chapters if len(c) == 4 and not c.endswith("-")]
    whole = [c for c in chapters if len(c) < 4 and not c.endswith("-")]
    ranges = []
    for c in (*whole, *heads, *short):
        ranges.append((hs >= pl.lit(c)) & (hs < pl.lit(c[:-1] + chr(ord(c[-1]) + 1))))
    exact = hs.str.slice(0, 2).is_in(whole)
    if heads:
        exact = exact | hs.str.slice(0, 4).is_in(heads)
    if short:
        exact = exact | (hs.str.slice(0, 2).is_in(short) & (hs.str.len_chars() < 4))
    return (pl.any_horizontal(ranges) & exact) if ranges else exact


def part_key(split: Iterable[str] = ()) -> pl.Expr:
    """The part of the HS codes (:func:`in_chapters`) a row's code is in: its chapter, or,
    in a chapter of ``split``, its heading (``"84-"`` for a code shorter than one).

    Examples
    --------
    >>> df = pl.DataFrame({"hs": ["847150", "85", "851712", "84", "TOTAL"]})
    >>> df.select(part_key(["84"]))["hs"].to_list()
    ['8471', '85', '85', '84-', 'TO']
    """
    hs = pl.col("hs")
    chapter = hs.str.slice(0, 2)
    split = sorted(split)
    if not split:
        return chapter
    heading = pl.when(hs.str.len_chars() >= 4).then(hs.str.slice(0, 4)).otherwise(chapter + "-")
    return pl.when(chapter.is_in(split)).then(heading).otherwise(chapter)


def split_chapters(groups: Iterable[Iterable[str]]) -> list[str]:
    """The chapters that the parts of ``groups`` (:func:`in_chapters`) split into
    headings: :func:`part_key` of them names every part of ``groups``.

    Examples
    --------
    >>> split_chapters([["84", "8"], ["85-", "8504"], ["8517"]])
    ['85']
    """
    return sorted(
        {k.removesuffix("-")[:2] for keys in groups for k in keys if k.endswith("-") or len(k) == 4}
    )


def fixed_order_sum(expr: pl.Expr) -> pl.Expr:
    """The sum of ``expr`` with its values added in sorted order, whatever the row order.

    Float addition is not associative: a group's sum can change in its last
    bits when its rows come in another order, and a join's output order is not
    fixed. Sums that are shown (figures, report tables) use this, so that the
    same inputs give the same report bytes (a figure's value once differed in
    the 16th digit, one build in about twelve).

    ``expr.sort().sum()`` alone is that only in a frame's own group-by: the
    optimiser of a lazy plan (and of the streaming engine) drops a sort
    before a sum, which reads as order-free (polars 1.44). ``head(pl.len())``,
    all the values, keeps the sort there; the sums are the same bits as the
    eager ``sort().sum()`` (tests/test_detect.py).

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 1], "v": [0.1, 0.2, 0.3]})
    >>> rev = df.reverse()
    >>> a = df.group_by("k").agg(fixed_order_sum(pl.col("v")))["v"].item()
    >>> a == rev.group_by("k").agg(fixed_order_sum(pl.col("v")))["v"].item()
    True
    >>> "sort" in df.lazy().group_by("k").agg(fixed_order_sum(pl.col("v"))).explain()
    True
    """
    return expr.sort().head(pl.len()).sum()


def exact_sum(expr: pl.Expr, scale: float = 100.0) -> pl.Expr:
    """The sum of ``expr`` to ``1 / scale`` (cents by default), the same whatever the row order.

    A float sum in a group-by depends on the order its rows are added in,
    which the engine's threads decide: two runs on the same input differed in
    the 17th digit, enough to reorder tied routes. Values are rounded to
    ``1 / scale`` and added as integers (exact, in any order, on the CPU and
    the GPU engines alike). Nulls (and NaN) are skipped.

    Examples
    --------
    >>> df = pl.DataFrame({"k": [1, 1, 1], "v": [0.1, 0.2, 0.3]})
    >>> df.group_by("k").agg(exact_sum(pl.col("v")))["v"].item()
    0.6
    """
    return divided(exact_units(expr, scale).sum(), scale)


def exact_units(expr: pl.Expr, scale: float = 100.0) -> pl.Expr:
    """``expr`` in integer units of ``1 / scale``: what :func:`exact_sum` adds up.

    Sums of them can be subtracted exactly: a group's sum less a part's is
    the sum of the rest, to the unit (``divided(units, scale)`` gives it back).
    NaN is null.

    Examples
    --------
    >>> df = pl.DataFrame({"v": [0.1, 0.2, 0.3]})
    >>> df.select(exact_units(pl.col("v")))["v"].to_list()
    [10, 20, 30]
    """
    return (expr * scale).round().fill_nan(None).cast(pl.Int64)


def divided(expr: pl.Expr, by: float | pl.Expr) -> pl.Expr:
    """``expr / by`` for a constant ``by`` (a number, or a column holding one
    number), the same doubles on every engine.

    polars' in-memory engine divides a column by a constant as a
    multiplication by its reciprocal (pola-rs/polars#23741): one unit in the
    last place off a true division at times. Its streaming engine and the GPU
    engine divide. Written as that multiplication, every engine computes the
    in-memory engine's doubles.

    Examples
    --------
    >>> df = pl.DataFrame({"v": [628229.6500000006, 1.0], "k": 1000.0})
    >>> a = df.lazy().select(divided(pl.col("v"), 1000.0), w=divided(pl.col("v"), pl.col("k")))
    >>> a.collect().equals(a.collect(engine="streaming"))
    True
    """
    return expr * (1.0 / by)


def number_text(expr: pl.Expr, digits: int = 1) -> pl.Expr:
    """A number as text, rounded to ``digits`` (no decimal point at 0).

    Examples
    --------
    >>> pl.select(number_text(pl.lit(3.14159)), b=number_text(pl.lit(820.4), 0)).row(0)
    ('3.1', '820')
    """
    rounded = expr.round(digits)
    return (rounded.cast(pl.Int64, strict=False) if digits == 0 else rounded).cast(pl.String)


def usd_text(expr: pl.Expr) -> pl.Expr:
    """USD amounts as people write them: USD 3.4m, USD 1.9bn, USD 820.0k, USD 12.

    Examples
    --------
    >>> pl.DataFrame({"v": [3.4e6, 1.9e9, 8.2e5, 12.0]}).select(usd_text(pl.col("v"))).to_series().to_list()
    ['USD 3.4m', 'USD 1.9bn', 'USD 820.0k', 'USD 12']
    """
    out = pl.concat_str(pl.lit("USD "), number_text(expr, 0))
    for size, unit in reversed([(1e9, "bn"), (1e6, "m"), (1e3, "k")]):
        out = (
            pl.when(expr >= size)
            .then(pl.concat_str(pl.lit("USD "), number_text(expr / size), pl.lit(unit)))
            .otherwise(out)
        )
    return out


def month_index(col: str = "period") -> pl.Expr:
    """Months since year 0 (``year * 12 + month - 1``): adjacent months differ by one.

    Examples
    --------
    >>> import datetime as dt
    >>> df = pl.DataFrame({"period": [dt.date(2024, 12, 1), dt.date(2025, 1, 1)]})
    >>> df.select(month_index())["period"].to_list()
    [24299, 24300]
    """
    return pl.col(col).dt.year().cast(pl.Int32) * 12 + pl.col(col).dt.month().cast(pl.Int32) - 1


def with_previous_median(
    lf: pl.LazyFrame,
    value: str,
    name: str,
    *,
    by: list[str],
    order: str,
    window: int,
    min_samples: int,
    gpu: bool = False,
    presorted: bool = False,
) -> pl.LazyFrame:
    """Add ``name``: the median of the ``window`` values of ``value`` before each row.

    The same as ``pl.col(value).shift(1).rolling_median(window,
    min_samples=min_samples).over(by, order_by=order)``: a series is the rows of
    one ``by`` key in ``order`` (unique within it); nulls are skipped, and fewer
    than ``min_samples`` values give null. The rows keep their order. With
    ``presorted``, the rows of each ``by`` key are already in ``order`` and
    each key's rows are together: nothing is sorted.

    The GPU engine has no rolling median. With ``gpu`` (the plan will run
    there) the median comes from elementwise steps the device runs natively:
    the ``window`` values before each row side by side, sorted by a sorting
    network of minima and maxima, read where their count says
    (:func:`_network_previous_median`). It gives the same doubles, bit for
    bit; the CPU keeps its rolling median, three times as fast there
    (benchmarks/RESULTS.md, issue 28).

    Examples
    --------
    >>> lf = pl.LazyFrame({"k": [1] * 5, "t": [1, 2, 3, 4, 5], "v": [5.0, 1.0, None, 3.0, 9.0]})
    >>> kw = dict(by=["k"], order="t", window=3, min_samples=2)
    >>> with_previous_median(lf, "v", "m", **kw).collect()["m"].to_list()
    [None, None, 3.0, 3.0, 2.0]
    >>> with_previous_median(lf, "v", "m", gpu=True, **kw).collect()["m"].to_list()
    [None, None, 3.0, 3.0, 2.0]
    """
    if gpu:
        return _network_previous_median(lf, value, name, by=by, order=order, window=window,
                                        min_samples=min_samples, presorted=presorted)  # fmt: skip
    med = pl.col(value).shift(1).rolling_median(window, min_samples=min_samples)
    if not presorted:
        return lf.with_columns(med.over(partition_by=by, order_by=order).alias(name))
    # Over the keys' runs (the mirror's gap history at 11.9M report rows:
    # 0.66 -> 0.50 s; benchmarks/RESULTS.md, issue 27).
    return (
        lf.with_columns(key_runs(by).alias("_median_group"))
        .with_columns(med.over("_median_group").alias(name))
        .drop("_median_group")
    )


def same_key_as_before(by: list[str | pl.Expr], k: int = 1) -> pl.Expr:
    """True where a row's ``by`` key is the key of the row ``k`` rows up (nulls equal).

    On rows sorted by key, the ``k`` rows before a row are of its series where
    this holds; a shift within a series then needs no window over the key.
    ``by``: column names, or expressions.

    Examples
    --------
    >>> df = pl.DataFrame({"k": ["a", "a", "b", None, None]})
    >>> df.select(same_key_as_before(["k"]))["k"].to_list()
    [False, True, False, False, True]
    """
    keys = [pl.col(b) if isinstance(b, str) else b for b in by]
    return pl.all_horizontal(key.eq_missing(key.shift(k)) for key in keys)


def key_runs(by: list[str | pl.Expr]) -> pl.Expr:
    """The runs of rows of one ``by`` key (in the rows' order) numbered 1, 2, ..., flagged sorted.

    On rows whose keys are together, a window over the runs is the window over
    the key, and polars groups a sorted key by slices of it, without hashing
    it (nor, for a window in order, sorting each group): a running sum over
    every series of 3.4M series-months, 0.20 -> 0.06 s (benchmarks/RESULTS.md,
    issue 27).

    Examples
    --------
    >>> df = pl.DataFrame({"k": ["b", "b", "a", None, None, "b"]})
    >>> df.select(key_runs(["k"]))["k"].to_list()
    [1, 1, 2, 3, 3, 4]
    """
    return (~same_key_as_before(by)).cum_sum().set_sorted()


@functools.cache
def _median_network(n: int, lo: int, hi: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The comparators that put sorted positions ``lo`` to ``hi`` of ``n`` values in
    place, in layers of comparators on distinct positions.

    Batcher's odd-even merge sort on the next power of two, without the
    comparators that touch a position past ``n`` (those hold +inf: they would
    change nothing) or that no position from ``lo`` to ``hi`` depends on.

    Examples
    --------
    >>> import itertools, random
    >>> layers = _median_network(5, 0, 4)
    >>> def run(v):
    ...     v = list(v)
    ...     for i, j in itertools.chain(*layers):
    ...         v[i], v[j] = min(v[i], v[j]), max(v[i], v[j])
    ...     return v
    >>> all(run(p) == sorted(p) for p in itertools.permutations(range(5)))
    True
    """
    size = 1 << max(n - 1, 0).bit_length()
    pairs: list[tuple[int, int]] = []

    def merge(first: int, last: int, r: int) -> None:
        step = r * 2
        if step < last - first:
            merge(first, last, step)
            merge(first + r, last, step)
            pairs.extend((i, i + r) for i in range(first + r, last - r, step))
        else:
            pairs.append((first, first + r))

    def sort(first: int, last: int) -> None:
        if last > first:
            mid = first + (last - first) // 2
            sort(first, mid)
            sort(mid + 1, last)
            merge(first, last, 1)

    sort(0, size - 1)
    needed, kept = set(range(lo, hi + 1)), []
    for i, j in reversed([(i, j) for i, j in pairs if j < n]):
        if i in needed or j in needed:
            kept.append((i, j))
            needed |= {i, j}
    layers: list[list[tuple[int, int]]] = [[]]
    for i, j in reversed(kept):
        if any(i in c or j in c for c in layers[-1]):
            layers.append([])
        layers[-1].append((i, j))
    return tuple(tuple(layer) for layer in layers)


def _network_previous_median(
    lf: pl.LazyFrame,
    value: str,
    name: str,
    *,
    by: list[str],
    order: str,
    window: int,
    min_samples: int,
    presorted: bool,
) -> pl.LazyFrame:
    """:func:`with_previous_median` from elementwise steps: the GPU engine's way.

    The rows are sorted by key and ``order`` (unless ``presorted``), and the
    ``window`` values before each row within its key are set side by side, a
    missing one as +inf. A sorting network of minima and maxima
    (:func:`_median_network`) orders them, and the median is read at the
    positions their count names: the middle value of an odd count, and of an
    even one the lower middle value plus half the difference, as polars
    interpolates it. NaN sorts above every number, as in polars'
    median: it goes in as +inf and is put back by its count.
    """
    cols = [f"_w{k}" for k in range(window)]
    if not presorted:
        lf = lf.with_row_index("_pos").sort(*by, order)
    now = pl.col(value)

    def before(k: int) -> pl.Expr:  # the value k rows up, if of the same key
        return pl.when(same_key_as_before(by, k)).then(now.shift(k))

    inf = float("inf")
    lf = lf.with_columns(before(k + 1).alias(c) for k, c in enumerate(cols)).with_columns(
        _n=pl.sum_horizontal(pl.col(c).is_not_null() for c in cols),
        _nan=pl.sum_horizontal(pl.col(c).is_nan().fill_null(False) for c in cols),
        **{c: pl.col(c).fill_nan(inf).fill_null(inf) for c in cols},
    )
    for layer in _median_network(window, (min_samples - 1) // 2, window // 2):
        lf = lf.with_columns(
            e
            for i, j in layer
            for e in (
                pl.min_horizontal(cols[i], cols[j]).alias(cols[i]),
                pl.max_horizontal(cols[i], cols[j]).alias(cols[j]),
            )
        )
    n = pl.col("_n")

    def at(p: int, k: int) -> pl.Expr:  # sorted position p of k values: NaN past the numbers
        return (
            pl.when(pl.lit(p) >= k - pl.col("_nan")).then(float("nan")).otherwise(pl.col(cols[p]))
        )

    median = pl.lit(None, dtype=pl.Float64)
    for k in range(min_samples, window + 1):
        lower, upper = at((k - 1) // 2, k), at(k // 2, k)
        middle = lower if k % 2 else lower + (upper - lower) * 0.5
        median = pl.when(n == k).then(middle).otherwise(median)
    lf = lf.with_columns(median.alias(name)).drop("_n", "_nan", *cols)
    return lf if presorted else lf.sort("_pos").drop("_pos")
