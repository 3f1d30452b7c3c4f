"""The benchmarks' pandas baselines do the same step as tradeflows.

``bench_scale`` reports tradeflows' speed as a ratio to a straightforward
pandas version of each step; the ratio means something only if the pandas
version computes the same thing. These tests hold it to that on a small world.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import small_world
from tradeflows._expr import month_index
from tradeflows._mirror import collect_mirror
from tradeflows._routes import FEATURES, ROUTE_KEY, collect_route_indicators
from tradeflows._store import scan_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_mirror import pandas_mirror
from pandas_routes import route_indicators as pandas_route_indicators
from profile_ingest import profile as profile_ingest

KEY = ["freq", "period", "exporter", "importer", "hs"]


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> pl.DataFrame:
    """A small world's store, with net weights (the synthetic files have none) and slips."""
    out = small_world(tmp_path_factory.mktemp("baselines"), seed=11, store=True)
    df = scan_store(out / "store").collect()
    # A unit price per product and exporter, so that unit values differ between legs;
    # one row in seven without a weight.
    price = (pl.col("hs").hash(1) % 50 + pl.col("reporter").hash(2) % 30 + 5).cast(pl.Float64)
    kg = pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col("value_usd") / price)
    slip = pl.col("slip_suspect") | (pl.int_range(pl.len()) % 97 == 0)
    return df.with_columns(net_kg=kg, slip_suspect=slip)


def test_the_pandas_mirror_gives_the_pairs_tradeflows_gives(rows):
    ours = collect_mirror(rows.lazy(), "cpu")
    theirs = pl.from_pandas(pandas_mirror(rows.to_pandas())).with_columns(
        pl.col("period").cast(pl.Date)
    )
    both = ours.join(theirs, on=KEY, how="full", coalesce=True, suffix="_pd")
    assert both.height == ours.height == theirs.height
    for col in ("value", "gap", "gap_history", "kg_x", "kg_m", "cif_fob"):
        a, b = both[col].to_numpy(), both[f"{col}_pd"].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True), col
    for col in ("slip", "importer_silent"):
        assert (both[col] == both[f"{col}_pd"]).all(), col


def test_the_pandas_routes_give_all_the_features_tradeflows_gives(rows):
    ours = collect_route_indicators(collect_mirror(rows.lazy(), "cpu").lazy()).with_columns(
        mi=month_index()
    )
    theirs = pl.from_pandas(pandas_route_indicators(pandas_mirror(rows.to_pandas())))
    theirs = theirs.with_columns(pl.col("mi").cast(pl.Int32))
    both = ours.join(theirs, on=[*ROUTE_KEY, "mi"], how="full", coalesce=True, suffix="_pd")
    assert both.height == ours.height == theirs.height > 1000
    for col in [*FEATURES, "inflow", "outflow"]:
        a, b = both[col].to_numpy(), both[f"{col}_pd"].to_numpy()
        assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), col
    # The comparison has power: every feature varies in this world.
    assert all((ours[f] != 0).sum() >= 5 for f in FEATURES)


def test_the_pandas_ingest_keeps_the_rows_and_finds_the_slips_tradeflows_finds(tmp_path):
    """A calibrated world with unit slips (look-alikes: a steady series or a lumpy one
    with the partner's report of the month): the same kept rows and the same slips."""
    from bench_ingest import pandas_ingest

    out = small_world(tmp_path, seed=8, store=True, preset=None, noise=2.0, lookalikes=6,
                      lookalike_kinds=("unit_slip",))  # fmt: skip
    key = ["period", "reporter", "partner", "flow", "hs", "value_usd"]
    ours = scan_store(out / "store").select(*key, "slip_suspect").collect().sort(key)
    theirs = pl.from_pandas(pandas_ingest(sorted((out / "comtrade").glob("*.csv"))))
    theirs = theirs.select(*key, "slip_suspect").with_columns(pl.col("period").cast(pl.Date))
    assert theirs.sort(key).equals(ours)
    # The comparison has power: six slips, one of them in a lumpy series (its
    # months' median distance from their median 0.35 in log10, over 0.3).
    assert ours["slip_suspect"].sum() == 6


def test_the_ab_benchmark_runs_each_version_from_its_own_tree(tmp_path, monkeypatch, capsys):
    # benchmarks/ab_commits.py times a command on a commit and on the working
    # tree in turn: each child must import tradeflows from its own tree, not
    # from the editable install (whose finder wins over sys.path).
    import subprocess

    import ab_commits

    root = Path(__file__).resolve().parent.parent
    if subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True
    ).returncode:
        pytest.skip("not a git checkout")
    tree = ab_commits.extract("HEAD", tmp_path / "base")
    marker = tmp_path / "imported_from"
    init = tree / "tradeflows" / "__init__.py"
    init.write_text(
        init.read_text(encoding="utf-8")
        + "\nimport os as _os\nopen(_os.environ['AB_MARK'], 'w').write(__file__)\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AB_MARK", str(marker))
    assert ab_commits.timed(tree, ["--help"]) > 0
    assert marker.read_text() == str(init)
    pairs = ab_commits.compare(tree, root, ["--help"], 2)
    assert len(pairs) == 2 and all(b > 0 and h > 0 for b, h in pairs)
    text = ab_commits.table(pairs, "HEAD", ["--help"], "python benchmarks/ab_commits.py -- --help")
    assert "| median |" in text and "of 2 pairs" in text
    with pytest.raises(SystemExit, match="failed"):
        ab_commits.timed(tree, ["no-such-command"])
    stale = tmp_path / "store"
    stale.mkdir()
    ab_commits.timed(tree, ["--help"], fresh=stale)  # an ingest's store, removed before each run
    assert not stale.exists()


def test_the_ingest_profile_times_each_phase_of_a_real_ingest(tmp_path):
    # The phases are functions of tradeflows._store and _chunked named in the
    # script: one renamed or gone would fail here, not in a benchmark run.
    import tradeflows._store

    world = small_world(tmp_path, seed=12)
    cleaning = tradeflows._store.clean_chunk
    totals, whole, rows = profile_ingest([str(world / "comtrade")])
    assert set(totals) == {"_read", "clean_chunk", "account", "flag_slips", "write_held"}
    assert rows == sum(len(f.read_text().splitlines()) - 1 for f in (world / "comtrade").iterdir())
    assert all(wall >= 0 and cpu >= 0 for wall, cpu, *_ in totals.values())
    assert sum(wall for wall, *_ in totals.values()) <= whole[0]
    assert tradeflows._store.clean_chunk is cleaning  # put back
