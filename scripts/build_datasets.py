"""Rebuild the canonical parquet files in ``datasets/`` from the licensed real files.

    python scripts/build_datasets.py [REALDATA_DIR]

Each file goes through ``tradeflows ingest`` (the same readers and cleaning a
user's download goes through), and its audit lands beside it as JSON, so the
bundled tables carry their own account of every source row.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import polars as pl

from tradeflows._store import ingest, scan_store

OUT = Path(__file__).resolve().parents[1] / "datasets"

# name -> (files relative to the real-data folder, description)
BUILDS = {
    "eu_electronics_exports_2020_2022": (
        ["ruimpeks/comext_electronics_EU27_to_RU_AM_BY_GE_KG_KZ_UZ_monthly_2020_2022.csv"],
        "EU-27 monthly exports of sanctioned electronics (CN8) to RU, AM, BY, GE, KG, KZ, UZ",
    ),
    "eu_total_exports_2019_2024": (
        [f"eu_export_sanctions/eurostat_monthly_{p}_export_eurostat.csv"
         for p in ("russia", "armenia", "georgia", "kazakhstan", "kyrgyz", "uzbek")],
        "EU member states' monthly total exports to RU, AM, GE, KZ, KG, UZ",
    ),
    "partner_total_imports_2019_2023": (
        [f"eu_export_sanctions/{p}_import_yearly.csv"
         for p in ("armenia", "kazakhstan", "kyrgyz", "uzbek")],
        "Armenia's, Kazakhstan's, Kyrgyzstan's and Uzbekistan's annual imports by partner",
    ),
}  # fmt: skip


def main() -> None:
    realdata = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/realdata")
    for name, (files, _) in BUILDS.items():
        with tempfile.TemporaryDirectory() as d:
            doc = ingest([realdata / f for f in files], Path(d) / "store")
            table = (
                scan_store(Path(d) / "store").sort("period", "reporter", "partner", "hs").collect()
            )
        table.write_parquet(OUT / f"{name}.parquet", compression="zstd", compression_level=19)
        audit = {"files": [{k: e[k] for k in ("path", "sha256", "rows_read", "rows_kept",
                                             "rows_dropped", "dropped", "changed")}
                           for e in doc["files"]],
                 "totals": doc["totals"]}  # fmt: skip
        for entry in audit["files"]:
            entry["path"] = str(Path(entry["path"]).relative_to(realdata))
        (OUT / f"{name}.audit.json").write_text(json.dumps(audit, indent=2) + "\n")
        print(f"{name}: {table.height} rows, {(OUT / f'{name}.parquet').stat().st_size:,} bytes")


if __name__ == "__main__":
    pl.Config.set_tbl_rows(5)
    main()
