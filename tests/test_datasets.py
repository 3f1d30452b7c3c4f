"""Bundled real data: canonical, accepted by ingest, and showing the published pattern."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tradeflows._errors import TradeflowsInputError
from tradeflows._schema import CANONICAL, validate
from tradeflows._store import ingest
from tradeflows.datasets import (
    datasets_dir,
    load_eu_electronics_exports,
    load_eu_total_exports,
    load_partner_total_imports,
)

LOADERS = [load_eu_electronics_exports, load_eu_total_exports, load_partner_total_imports]
NAMES = [
    "eu_electronics_exports_2020_2022",
    "eu_total_exports_2019_2024",
    "partner_total_imports_2019_2023",
]


@pytest.mark.parametrize("load", LOADERS)
def test_loaders_are_canonical_and_ingest_accepts_them(tmp_path, load):
    lf = load()
    validate(lf)
    path = tmp_path / "bundled.parquet"
    lf.collect().write_parquet(path)
    doc = ingest([path], tmp_path / "store")
    (entry,) = doc["files"]
    assert entry["format"] == "canonical"
    assert entry["rows_read"] == entry["rows_kept"] + entry["rows_dropped"]
    assert entry["rows_dropped"] == 0  # already clean: nothing more to drop


@pytest.mark.parametrize("name", NAMES)
def test_each_file_carries_its_audit(name):
    audit = json.loads((datasets_dir() / f"{name}.audit.json").read_text())
    rows = pl.scan_parquet(datasets_dir() / f"{name}.parquet").select(pl.len()).collect().item()
    assert audit["totals"]["rows_kept"] == rows
    t = audit["totals"]
    assert t["rows_read"] == t["rows_kept"] + t["rows_dropped"]


@pytest.mark.parametrize("name", NAMES)
def test_each_file_has_the_canonical_dtypes(name):
    # As stored, not as the loaders cast them: the Polars GPU engine refuses
    # an Enum column in a file it scans, and ingest --engine gpu then reads
    # the file on the CPU (scripts/gpu_plan_check.py found the bundled files
    # written with Enum freq and flow, before the schema made them String).
    schema = pl.read_parquet_schema(datasets_dir() / f"{name}.parquet")
    assert dict(schema) == CANONICAL


def test_eu_electronics_show_the_2022_rerouting():
    totals = (
        load_eu_electronics_exports()
        .filter(pl.col("hs").str.starts_with("8471"))
        .group_by("partner", pl.col("period").dt.year().alias("year"))
        .agg(pl.col("value_usd").sum())
        .collect()
    )
    v = {(p, y): x for p, y, x in totals.iter_rows()}
    assert v[("ARM", 2022)] > 4 * v[("ARM", 2021)]
    assert v[("KAZ", 2022)] > 2 * v[("KAZ", 2021)]
    assert v[("RUS", 2022)] < 0.25 * v[("RUS", 2021)]


def test_missing_folder_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TRADEFLOWS_DATASETS", str(tmp_path))
    with pytest.raises(TradeflowsInputError, match="bundled datasets not found"):
        load_eu_total_exports()
