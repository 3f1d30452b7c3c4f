"""Expressions every engine runs: the GPU engine's ways give the CPU's results."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tradeflows._expr import (
    _median_network,
    all_true,
    any_true,
    in_chapters,
    part_key,
    split_chapters,
    with_previous_median,
)


@pytest.mark.parametrize("window,min_samples", [(3, 1), (5, 5), (12, 3), (24, 6)])
@pytest.mark.parametrize("presorted", [False, True])
def test_the_gpu_engines_median_is_the_rolling_median_bit_for_bit(window, min_samples, presorted):
    """The sorting network's median (the GPU engine's plan, run here on the CPU) gives
    the rolling median's doubles: with gaps, NaN, infinities, short and long series."""
    rng = np.random.default_rng(window)
    n = 6000
    v = rng.lognormal(0, 2, n) * rng.choice([-1.0, 1.0], n)
    a = rng.integers(0, 40, n)
    odd = rng.random(n)
    # A few series mostly NaN, a few mostly infinite: their medians are too.
    v[(odd < 0.03) | ((a < 4) & (odd < 0.6))] = np.nan
    v[((odd >= 0.03) & (odd < 0.04)) | ((a >= 36) & (odd < 0.6))] = np.inf
    v[(odd >= 0.04) & (odd < 0.05)] = -np.inf
    lf = (
        pl.LazyFrame(
            {
                "a": a.astype(str),
                "b": rng.integers(0, 3, n),
                "t": rng.permutation(n),  # unique, unordered
                "v": v,
                "gone": rng.random(n) < 0.25,
            }
        )
        .with_columns(v=pl.when(~pl.col("gone")).then(pl.col("v")))
        .drop("gone")
    )
    if presorted:
        lf = lf.sort("a", "b", "t")
    kw = {"by": ["a", "b"], "order": "t", "window": window, "min_samples": min_samples}
    rolling = with_previous_median(lf, "v", "m", presorted=presorted, **kw).collect()
    network = with_previous_median(lf, "v", "m", gpu=True, presorted=presorted, **kw).collect()
    m = rolling["m"]
    assert m.is_not_null().sum() > n // 5 and m.is_nan().sum() > 0  # numbers and NaN compared
    assert m.is_infinite().sum() > 0
    assert_frame_equal(network, rolling)  # the rows' order, and every bit
    assert (network["m"].to_numpy().view(np.int64) == m.to_numpy().view(np.int64)).all()


def test_the_median_networks_sort_what_they_read():
    """Every permutation of up to 8 values (and 0-1 inputs, by the 0-1 principle, up to
    24) comes out sorted at the positions the median reads."""
    import itertools

    def run(layers, v):
        v = list(v)
        for i, j in itertools.chain(*layers):
            v[i], v[j] = min(v[i], v[j]), max(v[i], v[j])
        return v

    for n in range(1, 9):
        layers = _median_network(n, 0, n - 1)
        assert all(run(layers, p) == sorted(p) for p in itertools.permutations(range(n)))
    for n, lo, hi in [(12, 1, 6), (24, 2, 12)]:
        layers = _median_network(n, lo, hi)
        for bits in range(0, 1 << n, 97):  # a spread of the 0-1 inputs
            v = [(bits >> k) & 1 for k in range(n)]
            assert run(layers, v)[lo : hi + 1] == sorted(v)[lo : hi + 1]
        assert all(i != j for layer in layers for i, j in layer)
        assert all(len({x for c in layer for x in c}) == 2 * len(layer) for layer in layers)


def test_any_and_all_match_polars_in_windows_and_group_bys():
    df = pl.DataFrame({"k": [1, 1, 2, 2, 3, 4], "b": [True, False, None, None, False, True]})
    got = df.group_by("k", maintain_order=True).agg(
        any=any_true(pl.col("b")), all=all_true(pl.col("b"))
    )
    want = df.group_by("k", maintain_order=True).agg(any=pl.col("b").any(), all=pl.col("b").all())
    assert got.equals(want)
    over = df.select(any_true(pl.col("b")).over("k"))["b"]
    assert over.to_list() == [True, True, False, False, False, True]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["847150", "847130", "8471", "847330", "84", "847", "850440",
                         "851712", "854231", "85", "300490", "TOTAL", "8", None]),
        max_size=60,
    ),
    st.integers(1, 12),
)  # fmt: skip
def test_the_groups_of_codes_hold_every_code_once_within_their_limit(codes, most):
    # code_groups splits a chapter of more than `most` rows by heading (its
    # codes shorter than a heading together); in_chapters reads the parts back.
    from tradeflows._mirror import code_groups

    lf = pl.LazyFrame({"hs": codes}, schema={"hs": pl.String})
    groups = code_groups(lf, most)
    if groups:
        held = lf.select(pl.sum_horizontal(in_chapters(keys).cast(pl.Int32) for keys in groups))
        assert held.collect().to_series().to_list() == [int(c is not None) for c in codes]
    named = [c for c in codes if c is not None]
    assert bool(groups) == bool(named)
    parts = [k for keys in groups for k in keys if k.endswith("-") or len(k) == 4]
    split = {k.removesuffix("-")[:2] for k in parts}
    assert split == {c[:2] for c in named if sum(d[:2] == c[:2] for d in named) > most}
    for keys in groups:
        n = lf.filter(in_chapters(keys)).select(pl.len()).collect().item()
        assert n <= most or len(keys) == 1  # over the limit: one part alone
    # Each row's part, as a run by chapter names it, is a part of the groups.
    parts_of_rows = lf.select(part_key(split_chapters(groups))).collect().to_series()
    assert set(parts_of_rows.drop_nulls()) <= {k for keys in groups for k in keys}
