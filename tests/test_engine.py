"""The one collect point: engine names, the GPU engine where present."""

from __future__ import annotations

import importlib.util

import polars as pl
import pytest

from tests.conftest import comtrade_csv, comtrade_row
from tradeflows import _engine as engine
from tradeflows._errors import EngineUnavailableError, TradeflowsInputError
from tradeflows._io import scan
from tradeflows._store import ingest, scan_store

HAS_CUDF_POLARS = importlib.util.find_spec("cudf_polars") is not None


def test_auto_is_cpu_without_gpu():
    if engine.gpu_available():
        pytest.skip("a GPU is usable here")
    assert engine.resolve("auto") == "cpu"


def test_env_sets_the_default(monkeypatch):
    monkeypatch.setenv("TRADEFLOWS_ENGINE", "streaming")
    assert engine.resolve() == "streaming"


def test_unknown_engine():
    with pytest.raises(TradeflowsInputError, match="unknown engine"):
        engine.resolve("quantum")


@pytest.mark.skipif(HAS_CUDF_POLARS, reason="cudf_polars is installed")
def test_gpu_without_cudf_polars_raises():
    with pytest.raises(EngineUnavailableError, match="cudf-polars"):
        engine.collect(pl.LazyFrame({"a": [1]}), "gpu")


def test_cpu_and_streaming_agree():
    lf = pl.LazyFrame({"k": [1, 2, 1, 3] * 100, "v": list(range(400))})
    q = lf.group_by("k").agg(pl.col("v").sum()).sort("k")
    assert engine.collect(q, "cpu").equals(engine.collect(q, "streaming"))


@pytest.mark.gpu
@pytest.mark.skipif(not engine.gpu_available(), reason="needs an NVIDIA GPU and cudf_polars")
def test_ingest_on_the_gpu_engine_gives_the_cpu_store(tmp_path):
    """Reading on the CPU, cleaning on the Polars GPU engine (raise_on_fail=True)."""
    from tradeflows._synth import make_trade_world

    make_trade_world(tmp_path / "w", seed=7, n_others=40, n_products=30, pairs_per_product=30)
    files = [tmp_path / "w" / "comtrade"]
    cpu_audit = ingest(files, tmp_path / "cpu", engine="cpu")
    gpu_audit = ingest(files, tmp_path / "gpu", engine="gpu")
    assert gpu_audit["totals"] == cpu_audit["totals"]
    assert scan_store(tmp_path / "gpu").collect().equals(scan_store(tmp_path / "cpu").collect())


@pytest.mark.gpu
@pytest.mark.skipif(not engine.gpu_available(), reason="needs an NVIDIA GPU and cudf_polars")
def test_periods_read_on_the_gpu_engine(tmp_path):
    # cudf-polars 26.10 cast Int32 -> Date wrongly (every other row 1970-01-01).
    f = comtrade_csv(
        tmp_path / "t.csv", [comtrade_row(period=f"2023{m:02d}") for m in range(1, 13)]
    )
    lf = scan(f, fast=True).select("period")
    assert engine.collect(lf, "gpu").equals(engine.collect(lf, "cpu"))


def _collects_on(monkeypatch) -> list:
    """Which engine each collect asks for, every collect run on the CPU."""
    monkeypatch.setattr(engine, "resolve", lambda e=None: "gpu" if e == "gpu" else "cpu")
    used = []
    real = engine.collect
    monkeypatch.setattr(engine, "collect", lambda lf, e=None: used.append(e) or real(lf, "cpu"))
    return used


def test_ingest_on_the_gpu_reads_and_cleans_on_the_gpu(tmp_path, monkeypatch):
    used = _collects_on(monkeypatch)
    ingest([comtrade_csv(tmp_path / "t.csv", [comtrade_row()])], tmp_path / "s", engine="gpu")
    # The file parsed, its values checked as plain decimals in the same plan
    # (a plan of their own would copy the frame to the device again), then
    # read; the verbs idle on the chunk, found on the host; the cleaning, the
    # slip pass.
    assert used == ["gpu", "gpu", "cpu", "gpu", "gpu"]


def test_a_file_the_device_cannot_read_exactly_is_read_by_the_cpus_parser(tmp_path, monkeypatch):
    # 1.5e3 is not plain decimal text: the device's reading would not be
    # sure to give the CPU's double, so the CPU's parser reads the file.
    rows = [comtrade_row(value="1.5e3"), comtrade_row(value="2500.25", partner="842")]
    f = comtrade_csv(tmp_path / "t.csv", rows)
    cpu = ingest([f], tmp_path / "cpu", engine="cpu")
    used = _collects_on(monkeypatch)
    gpu = ingest([f], tmp_path / "gpu", engine="gpu")
    assert used[:2] == ["gpu", "cpu"]  # parsed and refused, parsed again on the CPU
    assert gpu["totals"] == cpu["totals"]
    stored = scan_store(tmp_path / "gpu").collect()
    assert stored.equals(scan_store(tmp_path / "cpu").collect())
    assert sorted(stored["value_usd"]) == [1500.0, 2500.25]


def test_streaming_ingest_cleans_its_chunks_in_memory(tmp_path, monkeypatch):
    # A chunk is bounded by chunk_rows: the streaming engine would only slow
    # it down. The pass over all rows (the unit slips) streams.
    used = []
    real = engine.collect
    monkeypatch.setattr(engine, "collect", lambda lf, e=None: used.append(e) or real(lf, e))
    ingest([comtrade_csv(tmp_path / "t.csv", [comtrade_row()])], tmp_path / "s", engine="streaming")
    # The file parsed and converted, the verbs idle on the chunk, the chunk
    # (then counted and written), the slip pass.
    assert used == ["cpu", "cpu", "cpu", "cpu", "streaming"]


@pytest.mark.gpu
@pytest.mark.skipif(not engine.gpu_available(), reason="needs an NVIDIA GPU and cudf_polars")
def test_detect_on_the_gpu_engine_without_fallback(tmp_path):
    """Mirror, routes and features on the Polars GPU engine (raise_on_fail=True), XGBoost on CUDA."""
    from polars.testing import assert_frame_equal

    from tradeflows import detect_routes
    from tradeflows._synth import make_trade_world
    from tradeflows.detect import SupervisedRouteDetector

    make_trade_world(tmp_path / "w", seed=2, n_others=8, n_products=8, pairs_per_product=15,
                     episodes=3, lookalikes=3)  # fmt: skip
    ingest([tmp_path / "w" / "comtrade"], tmp_path / "store")
    lf = scan_store(tmp_path / "store")
    key = ["origin", "hub", "destination", "hs", "period"]
    gpu = detect_routes(lf, engine="gpu").sort(key)
    cpu = detect_routes(lf, engine="cpu").sort(key)
    # XGBoost on CUDA sums the trees in another order than on the CPU: the
    # scores agree to float32 rounding, the flags and the reasons exactly.
    assert engine.xgboost_device("gpu") == "cuda"
    assert gpu["flagged"].sum() > 0 and gpu["flagged"].equals(cpu["flagged"])
    assert gpu["reasons"].equals(cpu["reasons"])
    assert_frame_equal(gpu, cpu, check_exact=False, rel_tol=1e-5, abs_tol=1e-4)
    truth = pl.read_parquet(tmp_path / "w" / "truth.parquet")
    on_cuda = detect_routes(lf, engine="gpu", labels=truth)
    assert on_cuda["flagged"].sum() > 0
    assert (
        SupervisedRouteDetector(device="cuda")
        .fit([[0.0], [1.0]], [0, 1])
        .model_.get_params()["device"]
        == "cuda"
    )


def test_the_engine_is_chosen_once_for_a_block_of_calls(monkeypatch):
    """config_context: calls without an engine run on the block's; a call's own wins;
    the environment's default comes back after the block."""
    import tradeflows as tf

    monkeypatch.setenv("TRADEFLOWS_ENGINE", "cpu")
    with tf.config_context(engine="streaming"):
        assert engine.resolve() == "streaming" and engine.resolve("cpu") == "cpu"
        lf = pl.LazyFrame({"a": [1, 2, 3]}).select(pl.col("a").sum())
        assert engine.collect(lf).item() == 6
    assert engine.resolve() == "cpu"
    with pytest.raises(TradeflowsInputError, match="unknown engine"):
        with tf.config_context(engine="fast"):
            pass


def test_xgboost_predicts_on_the_engines_device_without_touching_the_callers_trees():
    """detect_routes puts the shipped trees on the engine's device (cuda only on the GPU
    engine with XGBoost's CUDA build); a device the caller set, or the caller's own
    trees, stay as they are."""
    import numpy as np
    import xgboost

    from tradeflows._routes import FEATURES
    from tradeflows.detect import LearnedRouteDetector, pretrained_model
    from tradeflows.detect._flags import _on_device

    cuda = bool(xgboost.build_info().get("USE_CUDA"))
    assert engine.xgboost_device("cpu") == engine.xgboost_device("streaming") == "cpu"
    assert engine.xgboost_device("gpu") == ("cuda" if cuda else "cpu")
    mine = LearnedRouteDetector()
    assert _on_device(mine, "cpu").device == "cpu" and mine.device is None
    assert _on_device(LearnedRouteDetector(device="cuda"), "cpu").device == "cuda"
    # Fitted for cuda, a copy of the given trees moves; the given ones do not.
    trees = pretrained_model()
    det = LearnedRouteDetector(model=trees, device="cuda").fit(np.zeros((1, len(FEATURES))))
    assert det.model_.model_.get_params()["device"] == "cuda"
    assert det.model_.device == "cuda"
    assert trees.model_.get_params()["device"] in (None, "cpu") and trees.device == "cpu"
    X = np.zeros((2, len(FEATURES)))
    on_cpu = LearnedRouteDetector(model=trees).fit(X)
    assert on_cpu.model_ is trees  # already on the CPU: no copy
    if not cuda:  # the default install: XGBoost falls back to the CPU, and says so
        with pytest.warns(UserWarning, match="GPU"):
            s = det.suspicion(X)
        np.testing.assert_allclose(s, on_cpu.suspicion(X))


def test_a_profiled_run_writes_each_steps_plan_nodes_and_gives_the_same_flags(
    tmp_path, monkeypatch
):
    """TRADEFLOWS_PROFILE: every collect is profiled, its nodes' timings appended
    to a CSV with the step that ran them; the result is the plain run's."""
    from tradeflows import detect_routes
    from tradeflows.datasets import toy_trade

    plain = detect_routes(toy_trade(), engine="cpu")
    profile = tmp_path / "profile.csv"
    monkeypatch.setenv("TRADEFLOWS_PROFILE", str(profile))
    profiled = detect_routes(toy_trade(), engine="cpu")
    assert profiled.equals(plain)
    nodes = pl.read_csv(profile)
    assert nodes.columns == ["step", "engine", "collect", "node", "start_us", "end_us"]
    # The CPU engine, and streaming for the plans much larger than their result.
    engines = set(nodes["engine"])
    assert "cpu" in engines and engines <= {"cpu", "streaming"}
    assert nodes["collect"].n_unique() > 3
    assert set(nodes["node"]) == {"collect (wall)"}  # the CPU: the whole collect
    assert (nodes["end_us"] >= nodes["start_us"]).all()
    assert nodes["step"].str.contains("route indicators and scores").any()
    # A second run appends, under the header written once.
    detect_routes(toy_trade(), engine="cpu")
    again = pl.read_csv(profile)
    assert again.height > nodes.height and again["collect"].max() > nodes["collect"].max()


def test_the_profile_summary_sums_each_steps_collects_and_the_gpus_plan_nodes(tmp_path):
    """benchmarks/profile_steps.py: a run per file, its collects by step; on the
    GPU, planning and plan nodes apart from the rest of each collect."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from profile_steps import by_step, read_profile, tables

    head = "step,engine,collect,node,start_us,end_us\n"
    cpu, gpu = tmp_path / "profile_cpu.csv", tmp_path / "profile_gpu.csv"
    cpu.write_text(
        head + "mirror,cpu,1,collect (wall),0,2000000\n"
        "mirror,streaming,2,collect (wall),0,1000000\n"
        "routes,cpu,3,collect (wall),0,500000\n"
    )
    gpu.write_text(
        head + "mirror,gpu,1,collect (wall),0,1000000\n"
        "mirror,gpu,1,gpu-ir-translation,0,100000\n"
        "mirror,gpu,1,Join,100000,700000\n"
        "routes,gpu,2,collect (wall),0,1000000\n"
        "routes,gpu,2,GroupBy,0,250000\n"
    )
    steps = by_step([read_profile(cpu), read_profile(gpu)])
    mirror = steps.filter(pl.col("step") == "mirror").row(0, named=True)
    assert mirror["cpu collects"] == 2 and mirror["cpu s"] == pytest.approx(3.0)
    assert mirror["gpu s"] == pytest.approx(1.0)
    assert mirror["gpu planning s"] == pytest.approx(0.1)
    assert mirror["gpu in nodes s"] == pytest.approx(0.6)
    assert steps["step"].to_list() == ["mirror", "routes"]  # the first run's slowest first
    text = tables([cpu, gpu])
    assert "cpu 3.5 s (1.00x cpu); gpu 2.0 s (1.75x cpu)" in text
    assert "0.8 s inside plan nodes, 0.1 s planning" in text
    assert "| Join | 1 | 0.60 |" in text


@pytest.mark.skipif(not HAS_CUDF_POLARS, reason="needs cudf_polars (translation only, no GPU)")
def test_the_plan_check_finds_a_windowed_cum_sum_of_a_narrow_integer():
    """scripts/gpu_plan_check.py: a plan the GPU engine translates but the device
    breaks on (cudf-polars 26.10 leaves INT64 sums in an Int32 column)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from cudf_polars.dsl.translate import Translator
    from gpu_plan_check import _hazards

    lf = pl.LazyFrame({"g": [1, 1, 2], "t": [1, 2, 1], "a": [True, False, True]})

    def hazards(dtype) -> list[str]:
        q = lf.with_columns(c=pl.col("a").cast(dtype).cum_sum().over("g", order_by="t"))
        return _hazards(Translator(q._ldf.visit(), pl.GPUEngine()).translate_ir())

    assert hazards(pl.Int32) == ["a windowed cum_sum of Int32"]
    assert hazards(pl.Int64) == []
