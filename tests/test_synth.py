"""The synthetic world: deterministic, ingestible, quirky, and its labels point at data."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from tradeflows.store import ingest, scan_store
from tradeflows.synth import EPISODE_KINDS, LOOKALIKE_KINDS, make_trade_world

SMALL = {"n_others": 8, "n_products": 10, "pairs_per_product": 15, "episodes": 4, "lookalikes": 5}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    info = make_trade_world(out, seed=11, **SMALL)
    reports = pl.concat([pl.read_csv(out / f, infer_schema=False) for f in info["files"]])
    return out, info, reports, pl.read_parquet(out / "truth.parquet")


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.*"))}


def test_same_seed_same_bytes(tmp_path):
    a = make_trade_world(tmp_path / "a", seed=5, **SMALL)
    b = make_trade_world(tmp_path / "b", seed=5, **SMALL)
    assert a == b and _digest(tmp_path / "a") == _digest(tmp_path / "b")
    make_trade_world(tmp_path / "c", seed=6, **SMALL)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_ingests_cleanly_with_the_audit_equation(tmp_path, world):
    out, _, reports, _ = world
    doc = ingest([out / "comtrade"], tmp_path / "store")
    t = doc["totals"]
    assert t["rows_read"] == reports.height == t["rows_kept"] + t["rows_dropped"]
    assert {"partner_world_beside_detail", "duplicate_exact"} <= set(t["dropped"])
    assert not set(t["dropped"]) & {"unknown_country", "unknown_hs", "bad_value", "bad_period"}


def test_planted_quirks_are_in_the_files(world):
    _, _, r, _ = world
    assert r.filter(pl.col("partnerCode") == "0").height > 0  # World rows
    assert r.filter(pl.col("flowCode") == "RX").height > 0  # entrepot re-exports
    assert {"490", "842"} <= set(r["reporterCode"])  # Comtrade codes: Taiwan, USA
    assert "IRN" not in set(r["reporterISO"])  # a silent reporter
    late_rus = r.filter(pl.col("reporterISO") == "RUS", pl.col("period") >= "202203")
    assert late_rus.height == 0  # a reporter that stops publishing
    assert r.is_duplicated().sum() > 0  # overlapping downloads
    # CIF/FOB: importers report more than exporters for the same flow and month.
    x = r.filter(pl.col("flowCode") == "X", pl.col("partnerCode") != "0").select(
        "period",
        e="reporterISO",
        i="partnerISO",
        hs="cmdCode",
        x=pl.col("primaryValue").cast(pl.Float64),
    )
    m = r.filter(pl.col("flowCode") == "M", pl.col("partnerCode") != "0").select(
        "period",
        i="reporterISO",
        e="partnerISO",
        hs="cmdCode",
        m=pl.col("primaryValue").cast(pl.Float64),
    )
    both = x.join(m, on=["period", "e", "i", "hs"]).unique(["period", "e", "i", "hs"])
    ratio = (both["m"] / both["x"]).median()
    assert 1.0 < ratio < 1.15
    # Transit lags: some imports are booked a month after the export.
    shifted = x.with_columns(
        pl.col("period").str.to_date("%Y%m").dt.offset_by("1mo").dt.strftime("%Y%m")
    )
    late = shifted.join(m, on=["period", "e", "i", "hs"]).filter(
        (pl.col("m") / pl.col("x")).is_between(1.0, 1.15)
    )
    assert late.height > 0.03 * both.height
    # Missing months: not every reporter reports every month.
    per_reporter = r.group_by("reporterISO").agg(pl.col("period").n_unique())
    assert per_reporter["period"].min() < r["period"].n_unique()


def test_unit_slip_is_planted_and_flagged(tmp_path, world):
    out, _, _, truth = world
    slip = truth.filter(pl.col("kind") == "unit_slip").row(0, named=True)
    ingest([out / "comtrade"], tmp_path / "store")
    flagged = scan_store(tmp_path / "store").filter(
        "slip_suspect", pl.col("reporter") == slip["hub"], pl.col("hs") == slip["hs"]
    )
    assert flagged.collect()["period"].to_list() == [slip["period"]]


def test_every_label_points_at_data(world):
    _, _, r, truth = world
    assert set(truth["kind"]) == set(EPISODE_KINDS) | set(LOOKALIKE_KINDS)
    legs = r.select(
        period=pl.col("period").str.to_date("%Y%m"),
        a=pl.col("reporterISO"),
        b=pl.col("partnerISO"),
        hs=pl.col("cmdCode"),
    )
    pairs = pl.concat([legs, legs.select("period", a="b", b="a", hs="hs")]).unique()
    # Each labelled month of an episode has its origin -> hub leg on record,
    # that month or the next (a tenth of imports are booked a month late).
    nxt = pairs.with_columns(pl.col("period").dt.offset_by("-1mo"))
    seen = pl.concat([pairs, nxt]).unique().with_columns(seen=pl.lit(True))
    labelled = truth.filter("is_transshipment").join(
        seen,
        left_on=["period", "origin", "hub", "hs"],
        right_on=["period", "a", "b", "hs"],
        how="left",
    )
    assert labelled["seen"].fill_null(False).all(), labelled.filter(pl.col("seen").is_null())
    # Every look-alike month has one of its legs (origin -> hub or hub -> destination).
    lookalike = truth.filter(~pl.col("is_transshipment"))
    on_right = ["period", "a", "b", "hs"]
    legs_seen = pl.concat([
        lookalike.join(seen, left_on=["period", "origin", "hub", "hs"], right_on=on_right),
        lookalike.join(seen, left_on=["period", "hub", "destination", "hs"], right_on=on_right),
    ]).unique(lookalike.columns)  # fmt: skip
    assert legs_seen.height == lookalike.height
    assert truth.filter("is_transshipment").height > 0
    assert truth.filter(~pl.col("is_transshipment")).height > 0


def test_cli_synth(tmp_path, capsys):
    from tradeflows.cli import main

    assert main(["synth", str(tmp_path / "w"), "--seed", "2", "--pairs-per-product", "5"]) == 0
    assert "(synthetic)" in capsys.readouterr().out
    assert (tmp_path / "w" / "truth.parquet").exists()
    assert main(["synth", str(tmp_path / "w"), "--pairs-per-product", "0"]) == 2


def test_asia_ai_preset_follows_the_published_anchors(tmp_path):
    info = make_trade_world(tmp_path, preset="asia_ai_hardware", seed=0, **SMALL)
    assert info["preset"] == "asia_ai_hardware" and info["synthetic"]
    r = pl.concat([pl.read_csv(tmp_path / f, infer_schema=False) for f in info["files"]])
    twn = r.filter(
        pl.col("reporterISO") == "TWN",
        pl.col("partnerISO") == "MYS",
        pl.col("cmdCode") == "847150",
        pl.col("flowCode") == "X",
    ).select("period", pl.col("primaryValue").cast(pl.Float64))
    value = dict(twn.iter_rows())
    for period, anchor in {"202303": 3.4e6, "202403": 401.9e6, "202503": 1874e6}.items():
        assert value[period] == pytest.approx(anchor, rel=0.2)
    truth = pl.read_parquet(tmp_path / "truth.parquet").filter(
        pl.col("hub") == "MYS", pl.col("origin") == "TWN"
    )
    assert truth.filter(pl.col("hs") == "847150")["is_transshipment"].all()
