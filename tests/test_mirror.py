"""Mirror pairing: both reports side by side, CIF/FOB, reliability, gaps, one-sided flows."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tests.conftest import reports
from tradeflows._mirror import MIRROR_COLUMNS, cif_fob_ratios, mirror, pair_reports


def _m(df: pl.DataFrame) -> pl.DataFrame:
    return mirror(df.lazy()).collect().sort("exporter", "importer", "hs", "period")


def test_both_reports_on_one_row():
    df = reports(("USA", "MYS", "X", "847150", [100.0]), ("MYS", "USA", "M", "847150", [106.0]))
    row = _m(df).row(0, named=True)
    assert (row["exporter"], row["importer"], row["value_x"], row["value_m"]) == (
        "USA", "MYS", 100.0, 106.0,
    )  # fmt: skip
    assert row["side"] == "both"
    assert _m(df).columns == MIRROR_COLUMNS


def test_dataframe_and_lazyframe_agree():
    df = reports(
        ("USA", "MYS", "X", "847150", [100.0, 120.0]), ("MYS", "USA", "M", "847150", [105, 126])
    )
    assert (
        pair_reports(df.lazy())
        .collect()
        .sort("period")
        .equals(pair_reports(df.lazy()).collect().sort("period"))
    )
    assert mirror(df.lazy()).collect().height == 2


def test_cif_fob_ratio_is_robust_not_constant():
    # Seven flows at CIF/FOB 1.08 and one wild one: the wild one does not move it.
    xs = [100.0] * 8
    ms = [108.0] * 7 + [900.0]
    df = reports(("DEU", "KAZ", "X", "847150", xs), ("KAZ", "DEU", "M", "847150", ms))
    ratio = cif_fob_ratios(pair_reports(df.lazy())).collect()["cif_fob"].item()
    assert ratio == pytest.approx(1.08, abs=0.005)


def test_cif_fob_differs_between_pairs():
    df = reports(
        ("DEU", "KAZ", "X", "847150", [100.0] * 12),
        ("KAZ", "DEU", "M", "847150", [112.0] * 12),
        ("DEU", "FRA", "X", "847150", [100.0] * 12),
        ("FRA", "DEU", "M", "847150", [102.0] * 12),
    )
    r = dict(cif_fob_ratios(pair_reports(df.lazy())).collect().select("importer", "cif_fob").rows())
    assert r["KAZ"] > r["FRA"] > 1.0


def test_reconciled_value_leans_on_the_reliable_reporter():
    # USA and MYS agree everywhere else; SGP's imports disagree wildly with what
    # exporters report, so SGP's import reports weigh less.
    agree = [("USA", "MYS", "X", h, [100.0] * 6) for h in ("847150", "847180")]
    agree += [("MYS", "USA", "M", h, [105.0] * 6) for h in ("847150", "847180")]
    noisy = [
        ("JPN", "SGP", "X", "847150", [100.0] * 6),
        ("SGP", "JPN", "M", "847150", [300.0, 40.0, 250.0, 30.0, 280.0, 35.0]),
        ("USA", "SGP", "X", "847180", [100.0] * 6),
        ("SGP", "USA", "M", "847180", [300.0, 40.0, 250.0, 30.0, 280.0, 35.0]),
    ]
    m = _m(reports(*agree, *noisy))
    sgp = m.filter(pl.col("importer") == "SGP")
    mys = m.filter(pl.col("importer") == "MYS")
    assert sgp["weight_m"].max() < mys["weight_m"].min()
    # The reconciled FOB value of SGP's imports stays near the exporters' 100.
    assert (sgp["value"] - 100.0).abs().median() < (sgp["value_m"] - 100.0).abs().median()


def test_one_month_transit_lag_opens_no_gap():
    # The importer books each shipment one month after the exporter ships it.
    xs = [100.0] * 12 + [None]
    ms = [None] + [105.0] * 12
    m = _m(reports(("USA", "MYS", "X", "847150", xs), ("MYS", "USA", "M", "847150", ms)))
    # Away from the series' two ends, where a window lacks its neighbour.
    assert m["gap"].slice(2, 9).abs().max() < 0.05


def test_one_sided_flow_keeps_its_row_and_a_silent_side_gives_no_gap():
    df = reports(
        ("DEU", "RUS", "X", "847150", [100.0] * 4),  # Russia files nothing at all
        ("MYS", "CHN", "X", "847150", [100.0] * 4),  # CHN files, but not this flow
        ("CHN", "USA", "M", "847150", [50.0] * 4),
    )
    m = _m(df)
    rus = m.filter(pl.col("importer") == "RUS")
    assert rus["side"].unique().to_list() == ["exporter_only"]
    assert rus["importer_silent"].all() and rus["gap"].is_null().all()
    chn = m.filter((pl.col("exporter") == "MYS") & (pl.col("importer") == "CHN"))
    assert not chn["importer_silent"].any()
    assert chn["gap"].to_list() == [-1.0] * 4  # CHN books nothing of what MYS reports
    usa = m.filter(pl.col("exporter") == "USA")
    assert usa["side"].unique().to_list() == ["importer_only"]
    assert usa["value"].to_list() == pytest.approx([50.0 / usa["cif_fob"][0]] * 4)


def test_gap_change_against_its_own_history():
    # The hub stops reporting its exports (hides them) while the destination keeps booking.
    xs = [100.0] * 12 + [0.0] * 6
    ms = [105.0] * 18
    m = _m(reports(("MYS", "CHN", "X", "847150", xs), ("CHN", "MYS", "M", "847150", ms)))
    assert m["gap_change"].head(10).drop_nulls().abs().max() < 0.05
    assert m["gap_change"].slice(13, 3).min() > 0.9


def test_world_rows_and_self_trade_are_left_out():
    df = reports(
        ("USA", "WLD", "X", "847150", [500.0]),
        ("USA", "USA", "X", "847150", [5.0]),
        ("USA", "MYS", "X", "847150", [100.0]),
    )
    assert _m(df).select("exporter", "importer").rows() == [("USA", "MYS")]


def test_reexports_of_an_entrepot_are_not_added_to_its_exports():
    df = reports(("SGP", "CHN", "X", "847150", [100.0]), ("SGP", "CHN", "RX", "847150", [60.0]))
    row = _m(df).row(0, named=True)
    assert (row["value_x"], row["value_rx"]) == (100.0, 60.0)


countries = st.sampled_from(["USA", "MYS", "CHN", "SGP", "DEU"])
flow_rows = st.lists(
    st.tuples(
        countries,
        countries,
        st.sampled_from(["X", "M"]),
        st.sampled_from(["847150", "854231"]),
        st.floats(1.0, 1e9),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(flow_rows)
def test_mirror_conserves_each_side(rows):
    """Every report lands on exactly one pair row: each side's total is kept."""
    df = reports(*[(r, p, f, h, [v]) for r, p, f, h, v in rows])
    m = mirror(df.lazy()).collect()
    live = df.filter(pl.col("reporter") != pl.col("partner"))
    for flow, col in (("X", "value_x"), ("M", "value_m")):
        expected = live.filter(pl.col("flow") == flow)["value_usd"].sum()
        assert m[col].fill_null(0.0).sum() == pytest.approx(expected, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(flow_rows)
def test_mirror_of_swapped_reports_is_the_mirror_swapped(rows):
    """Swapping who reports what (X by one side <-> M by the other) swaps the columns."""
    df = reports(*[(r, p, f, h, [v]) for r, p, f, h, v in rows])
    swapped = df.with_columns(
        reporter=pl.col("partner"),
        partner=pl.col("reporter"),
        flow=pl.when(pl.col("flow") == "X")
        .then(pl.lit("M"))
        .otherwise(pl.lit("X"))
        .cast(df["flow"].dtype),
    )
    key = ["exporter", "importer", "hs", "period"]
    a = pair_reports(df.lazy()).collect().sort(key)
    b = pair_reports(swapped.lazy()).collect().sort(key)
    assert a["value_x"].fill_null(-1).to_list() == b["value_m"].fill_null(-1).to_list()
    assert a["value_m"].fill_null(-1).to_list() == b["value_x"].fill_null(-1).to_list()


def test_the_gap_and_its_history_read_each_flow_in_order_on_either_plan(tmp_path):
    """The gap's windows and history are computed on a sorted copy of a few
    columns and set back beside the rows: the CPU's plan (flows known by their
    hashes, a rolling median) and the GPU engine's (flows sorted by their key, the
    median by a join), run here on the CPU, give the same mirror, and the same as
    the windows worked out flow by flow in Python."""
    from tests.conftest import small_world
    from tradeflows._store import scan_store

    # The calibrated world: series start and stop at different months.
    world = small_world(tmp_path / "w", seed=5, store=True, preset=None, pairs_per_product=120)
    lf = scan_store(world / "store")
    key = ["freq", "exporter", "importer", "hs", "period"]
    cpu = mirror(lf).collect().sort(key)
    gpu = mirror(lf, gpu=True).collect().sort(key)
    assert cpu.height > 15_000
    assert cpu.equals(gpu)
    # Every flow-month's gap from its own flow's months, worked out in Python:
    # three-month windows of adjacent months of the same flow.
    fob = cpu.select(*key, "value_x", pl.col("value_m") / pl.col("cif_fob")).rows()
    months = {tuple(row): (x or 0.0, m or 0.0) for *row, x, m in fob}

    def around(flow: tuple, p: dt.date, side: int) -> float:
        """The side's value summed over the month before, the month and the month after."""
        out = 0.0
        for step in (-1, 0, 1):
            k = p.year * 12 + p.month - 1 + step
            out += months.get((*flow, dt.date(k // 12, k % 12 + 1, 1)), (0.0, 0.0))[side]
        return out

    rows = cpu.filter(pl.col("freq") == "M", ~pl.col("exporter_silent"), ~pl.col("importer_silent"))
    assert rows.height > 5_000
    for *flow, p, gap in rows.select(*key, "gap").iter_rows():
        x3, m3 = around(tuple(flow), p, 0), around(tuple(flow), p, 1)
        assert gap == pytest.approx((m3 - x3) / max(m3, x3), rel=1e-9, abs=1e-12)


def test_rows_marked_by_the_cleaning_mirror_as_the_store_does(tmp_path):
    # A notebook's tf.collect_mirror(tf.clean.clean(tf.scan(f))): the rows
    # the cleaning drops (World beside its detail, duplicates) are not paired.
    import tradeflows as tf
    from tests.conftest import small_world
    from tradeflows._mirror import collect_mirror
    from tradeflows._store import scan_store

    world = small_world(tmp_path / "w", seed=4, store=True)
    files = sorted((world / "comtrade").glob("*.csv"))
    marked = tf.clean.clean(pl.concat([tf.scan(f) for f in files], how="diagonal_relaxed"))
    assert marked.select(pl.col("drop").is_not_null().sum()).collect().item() > 0
    key = ["freq", "period", "exporter", "importer", "hs"]
    got = collect_mirror(marked).sort(key)
    want = collect_mirror(scan_store(world / "store")).sort(key)
    assert got.height == want.height
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_the_mirrors_schema_is_what_collect_mirror_gives():
    # Pairs handed to the route stages are typed against MIRROR_SCHEMA
    # (tradeflows._routes.mirror_pairs): it must not drift from the mirror.
    from tradeflows import collect_mirror
    from tradeflows._schema import MIRROR_SCHEMA
    from tradeflows.datasets import toy_trade

    assert dict(collect_mirror(toy_trade()).schema) == MIRROR_SCHEMA
