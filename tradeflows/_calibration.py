"""How real monthly trade series behave, measured the same way on real and synthetic data.

:func:`series_profile` measures a set of monthly series (one per reporter,
partner, flow and product) on the quantities a detector's thresholds depend
on; :func:`compare_profiles` sets two profiles side by side. The synthetic
world (:func:`tradeflows._synth.make_trade_world`) is calibrated to the profile
of the bundled Eurostat CN8 exports of 2020-21 (:data:`REFERENCE_WINDOW`), and
a test fails when the two drift apart.

The measures (each summarised by its median and 90th percentile):

- ``dlog_small``, ``dlog_medium``, ``dlog_large``, ``dlog_all``: the absolute
  change of log value from one reported month to the next one reported in the
  same series, for series whose median month is under USD 100k, up to 1m, and
  above (a series' size sets its noise: small flows are a few shipments);
- ``months_present``: the share of the window's months a series has a value
  in (a series present at least once);
- ``first_month``: when a series first has a value, as a share of the window;
- ``size_log10``: log10 of a series' median reported month, in USD;
- ``unreported``: the share of a reporter's months in which it filed nothing
  at all (after its first filing): unknown months, not zeros. Only reporters
  with at least one row a month on average count: a reporter of a few rows a
  year has months of no trade, which say nothing about its filing;
- ``seasonality``: the correlation of a series' log values with those twelve
  months earlier, each year's mean removed (series present in nearly every
  month). Real series have little: median 0.04 on the reference.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from tradeflows._expr import month_index

__all__ = [
    "MEASURES",
    "NOT_COMPARED",
    "REFERENCE_WINDOW",
    "TOLERANCE",
    "compare_profiles",
    "reference_profile",
    "series_profile",
]

#: The measures of :func:`series_profile`, in order.
MEASURES = [
    "dlog_small",
    "dlog_medium",
    "dlog_large",
    "dlog_all",
    "months_present",
    "first_month",
    "size_log10",
    "unreported",
    "seasonality",
]
#: Months of the bundled Eurostat CN8 exports the synthetic world is calibrated to
#: (before the war: 2022's diversions are what a detector must find, not noise).
REFERENCE_WINDOW = (dt.date(2020, 1, 1), dt.date(2021, 12, 1))
#: How far a synthetic profile may be from the reference: 20% of the real value,
#: or this absolute amount where the real value is near zero (a correlation,
#: whose sampling error is larger than 20% of 0.04).
TOLERANCE = {"relative": 0.2, "absolute": {"seasonality": 0.05}}
#: Measured but not compared: Eurostat's reporters must file every month, so the
#: reference has no unreported months to calibrate to. The synthetic world's
#: reporting follows Comtrade's instead (Russia stops in 2022-03, Taiwan and Iran
#: never report, a few reporters miss months or are late).
NOT_COMPARED = ("unreported",)

_SERIES = ["reporter", "partner", "flow", "hs"]
_SIZE_BINS = ((None, 1e5, "dlog_small"), (1e5, 1e6, "dlog_medium"), (1e6, None, "dlog_large"))


def series_profile(
    lf: pl.LazyFrame | pl.DataFrame, *, start: dt.date | None = None, end: dt.date | None = None
) -> pl.DataFrame:
    """The profile of the monthly series in canonical rows: ``measure``, ``median``, ``p90``, ``n``.

    World totals (partner ``WLD``) and annual rows are left out; a series is
    one reporter, partner, flow and product.

    Parameters
    ----------
    lf : LazyFrame or DataFrame
        Canonical rows.
    start, end : date, optional
        The window (first days of months); default the data's first and last month.

    Returns
    -------
    DataFrame
        ``measure``, ``median``, ``p90``, ``n``.

    See Also
    --------
    reference_profile : those of the bundled real series.
    compare_profiles : two profiles side by side.

    Examples
    --------
    >>> from tradeflows.datasets import load_eu_electronics_exports
    >>> p = series_profile(load_eu_electronics_exports(), start=REFERENCE_WINDOW[0],
    ...                    end=REFERENCE_WINDOW[1])
    >>> row = p.filter(measure="dlog_all").row(0, named=True)
    >>> round(row["median"], 2), round(row["p90"], 2)
    (0.92, 3.25)
    """
    lf = lf.lazy().filter((pl.col("freq") == "M") & (pl.col("partner") != "WLD"))
    if start is not None:
        lf = lf.filter(pl.col("period") >= start)
    if end is not None:
        lf = lf.filter(pl.col("period") <= end)
    rows = (
        lf.group_by(*_SERIES, mi=month_index())
        .agg(v=pl.col("value_usd").sum())
        .filter(pl.col("v") > 0)
        .sort(*_SERIES, "mi")
        .collect()
    )
    filed = lf.group_by("reporter", mi=month_index()).agg(rows=pl.len()).collect()
    if rows.is_empty():
        return pl.DataFrame(
            {"measure": MEASURES, "median": None, "p90": None, "n": 0},
            schema={"measure": pl.String, "median": pl.Float64, "p90": pl.Float64, "n": pl.Int64},
        )
    lo = _month(start) if start is not None else int(rows["mi"].min())
    hi = _month(end) if end is not None else int(rows["mi"].max())
    n_months = hi - lo + 1
    series = rows.group_by(_SERIES).agg(
        n=pl.len(), first=pl.col("mi").min(), median=pl.col("v").median()
    )
    steps = (
        rows.with_columns(prev=pl.col("v").shift(1).over(_SERIES))
        .drop_nulls("prev")
        .join(series.select(*_SERIES, "median"), on=_SERIES)
        .select("median", d=(pl.col("v").log() - pl.col("prev").log()).abs())
    )
    values: dict[str, pl.Series] = {}
    for low, high, name in _SIZE_BINS:
        keep = pl.lit(True)
        if low is not None:
            keep &= pl.col("median") >= low
        if high is not None:
            keep &= pl.col("median") < high
        values[name] = steps.filter(keep)["d"]
    values["dlog_all"] = steps["d"]
    values["months_present"] = series["n"] / n_months
    values["first_month"] = (series["first"] - lo) / n_months
    values["size_log10"] = series["median"].log10()
    values["unreported"] = _unreported(filed, lo, hi)
    values["seasonality"] = _seasonality(rows, lo, n_months)
    out = []
    for name in MEASURES:
        s = values[name].drop_nulls().drop_nans().cast(pl.Float64)
        out.append(
            {
                "measure": name,
                "median": s.median() if s.len() else None,
                "p90": s.quantile(0.9, "linear") if s.len() else None,
                "n": s.len(),
            }
        )
    return pl.DataFrame(
        out, schema={"measure": pl.String, "median": pl.Float64, "p90": pl.Float64, "n": pl.Int64}
    )


def _month(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _unreported(filed: pl.DataFrame, lo: int, hi: int) -> pl.Series:
    """Per active reporter: the share of its months, from its first filing on, with nothing filed."""
    per = (
        filed.filter(pl.col("mi").is_between(lo, hi))
        .group_by("reporter")
        .agg(n=pl.len(), first=pl.col("mi").min(), rows=pl.col("rows").sum())
        .filter(pl.col("rows") >= hi - lo + 1)
    )
    return 1.0 - per["n"] / (hi - per["first"] + 1)


def _seasonality(rows: pl.DataFrame, lo: int, n_months: int) -> pl.Series:
    """Per series present in all but two months: corr(log v_t, log v_t-12), each year demeaned."""
    if n_months < 24:
        return pl.Series([], dtype=pl.Float64)
    full = rows.group_by(_SERIES).agg(n=pl.len()).filter(pl.col("n") >= n_months - 2)
    dense = rows.join(full.select(_SERIES), on=_SERIES).with_columns(
        lv=pl.col("v").log(), year=(pl.col("mi") - lo) // 12
    )
    dense = dense.with_columns(dev=pl.col("lv") - pl.col("lv").mean().over(*_SERIES, "year"))
    later = dense.select(*_SERIES, mi=pl.col("mi") - 12, later="dev")
    pairs = dense.join(later, on=[*_SERIES, "mi"])
    corr = (
        pairs.group_by(_SERIES).agg(r=pl.corr("dev", "later"), n=pl.len()).filter(pl.col("n") >= 10)
    )
    return corr["r"].fill_nan(None)


def reference_profile() -> pl.DataFrame:
    """The profile of the bundled Eurostat CN8 exports in :data:`REFERENCE_WINDOW`.

    Returns
    -------
    DataFrame
        As :func:`series_profile`.

    See Also
    --------
    series_profile : the statistics of any series.
    compare_profiles : real against synthetic.

    Examples
    --------
    >>> reference_profile().filter(measure="dlog_large")["median"].round(2).item()
    0.35
    """
    from tradeflows._datasets import load_eu_electronics_exports

    return series_profile(
        load_eu_electronics_exports(), start=REFERENCE_WINDOW[0], end=REFERENCE_WINDOW[1]
    )


def compare_profiles(real: pl.DataFrame, synthetic: pl.DataFrame) -> pl.DataFrame:
    """Real and synthetic profiles side by side, with whether each statistic is within tolerance.

    A statistic is within tolerance when it is within 20% of the real value, or
    within the absolute amount :data:`TOLERANCE` gives for measures that are
    near zero on real data; ``within`` is null for :data:`NOT_COMPARED`.

    Parameters
    ----------
    real, synthetic : DataFrame
        :func:`series_profile` of real and of synthetic data.

    Returns
    -------
    DataFrame
        One row per measure and statistic, with ``within`` the tolerance.

    See Also
    --------
    series_profile : the statistics compared.
    reference_profile : the real series' statistics.

    Examples
    --------
    >>> ref = reference_profile()
    >>> compare_profiles(ref, ref)["within"].drop_nulls().all()
    True
    """
    both = real.join(synthetic, on="measure", suffix="_synthetic", how="left")
    out = []
    for r in both.iter_rows(named=True):
        for stat in ("median", "p90"):
            a, b = r[stat], r[f"{stat}_synthetic"]
            allowed = max(
                TOLERANCE["relative"] * abs(a) if a is not None else 0.0,
                TOLERANCE["absolute"].get(r["measure"], 0.0),
            )
            ok = a is not None and b is not None and bool(np.abs(b - a) <= allowed + 1e-12)
            if r["measure"] in NOT_COMPARED:
                ok = None
            out.append(
                {"measure": r["measure"], "statistic": stat, "real": a, "synthetic": b,
                 "allowed": allowed, "within": ok}
            )  # fmt: skip
    return pl.DataFrame(out)
