"""Expressions every engine runs: the GPU engine's ways give the CPU's results."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tradeflows._expr import _joined_previous_median, all_true, any_true, with_previous_median


@pytest.mark.parametrize("window,min_samples", [(3, 1), (12, 3), (24, 6)])
def test_joined_previous_median_is_the_rolling_median(window, min_samples):
    rng = np.random.default_rng(window)
    n = 4000
    lf = pl.LazyFrame(
        {
            "a": rng.integers(0, 30, n).astype(str),
            "b": rng.integers(0, 3, n),
            "t": rng.permutation(n),  # unique, unordered
            "v": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        }
    ).with_columns(pl.col("v").fill_nan(None))
    kw = {"by": ["a", "b"], "order": "t", "window": window, "min_samples": min_samples}
    rolling = with_previous_median(lf, "v", "m", **kw).collect().sort("t")
    joined = _joined_previous_median(lf, "v", "m", **kw).collect().sort("t")
    assert rolling["m"].null_count() < n  # the test compares numbers, not only nulls
    assert_frame_equal(joined, rolling.select(joined.columns))


def test_any_and_all_match_polars_in_windows_and_group_bys():
    df = pl.DataFrame({"k": [1, 1, 2, 2, 3, 4], "b": [True, False, None, None, False, True]})
    got = df.group_by("k", maintain_order=True).agg(
        any=any_true(pl.col("b")), all=all_true(pl.col("b"))
    )
    want = df.group_by("k", maintain_order=True).agg(any=pl.col("b").any(), all=pl.col("b").all())
    assert got.equals(want)
    over = df.select(any_true(pl.col("b")).over("k"))["b"]
    assert over.to_list() == [True, True, False, False, False, True]
