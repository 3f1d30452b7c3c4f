"""Saved Comtrade+ API answers (JSON) against the same records as CSV, and pandas.

    python benchmarks/bench_json.py --answers 4 --records 200000

Makes (once, seeded) ``--answers`` answers of ``--records`` records each, in
the shape of the real API's (the 47 fields, numbers as JSON numbers; a
reporter, its partners, products and months drawn at random), and the same
records as Comtrade+ CSV (the fetcher's own writer). Each variant runs in a
child process of its own, so that its peak memory (max RSS) is its alone:

* ``json``: ``tradeflows ingest`` of the answers;
* ``csv``: ``tradeflows ingest`` of the same records as CSV;
* ``pandas-json``: pandas reading the answers (``json.load`` and
  ``DataFrame(doc["data"])``) and writing them to parquet: what a notebook
  does with them before any cleaning.

Prints a table and appends it, with the machine and the command, to
``benchmarks/RESULTS.md`` (``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import machine, record, run_code  # noqa: E402

#: One record as the API sends it; the drawn fields replace their values.
RECORD = {
    "typeCode": "C", "freqCode": "M", "refPeriodId": 20230101, "refYear": 2023, "refMonth": 1,
    "period": "202301", "reporterCode": 458, "reporterISO": "MYS", "reporterDesc": "Malaysia",
    "flowCode": "X", "flowDesc": "Export", "partnerCode": 156, "partnerISO": "CHN",
    "partnerDesc": "China", "partner2Code": 0, "partner2ISO": "W00", "partner2Desc": "World",
    "classificationCode": "H6", "classificationSearchCode": "HS",
    "isOriginalClassification": True, "cmdCode": "847150", "cmdDesc": "Processing units",
    "aggrLevel": 6, "isLeaf": True, "customsCode": "C00", "customsDesc": "TOTAL CPC",
    "mosCode": "0", "motCode": 0, "motDesc": "TOTAL MOT", "qtyUnitCode": 5, "qtyUnitAbbr": "u",
    "qty": 10.0, "isQtyEstimated": False, "altQtyUnitCode": -1, "altQtyUnitAbbr": "N/A",
    "altQty": None, "isAltQtyEstimated": False, "netWgt": 12.5, "isNetWgtEstimated": False,
    "grossWgt": None, "isGrossWgtEstimated": False, "cifvalue": None, "fobvalue": 1000.5,
    "primaryValue": 1000.5, "legacyEstimationFlag": 0, "isReported": True, "isAggregate": False,
}  # fmt: skip

PARTNERS = (156, 344, 643, 112, 364, 842, 276, 699, 392, 410)
PRODUCTS = ("847150", "847130", "854231", "854232", "851762", "851712", "848620", "847180")


def make_answers(folder: Path, answers: int, records: int, seed: int = 7) -> tuple[list, list]:
    """The answers (JSON) and the same records (CSV), written once."""
    import numpy as np

    from tradeflows._fetch import _write_chunk
    from tradeflows._reference import comtrade_to_iso3

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # 120 reporters: countries of the code table, none of the partners.
    codes = comtrade_to_iso3()
    reporters = [c for c in sorted(codes) if c not in PARTNERS and c > 0 and len(codes[c]) == 3]
    reporters = reporters[:120]
    jsons, csvs = [], []
    for a in range(answers):
        js, cs = folder / f"answer_{a}.json", folder / f"answer_{a}.csv"
        jsons.append(js)
        csvs.append(cs)
        if js.exists() and cs.exists():
            continue
        # Each record a distinct flow: reporter, partner, product, month and flow.
        cells = rng.choice(
            len(PARTNERS) * len(PRODUCTS) * 24 * 2 * len(reporters), records, replace=False
        )
        values = np.round(rng.lognormal(11, 2, records), 2)
        rows = []
        for cell, value in zip(cells.tolist(), values.tolist(), strict=True):
            cell, partner = divmod(cell, len(PARTNERS))
            cell, product = divmod(cell, len(PRODUCTS))
            cell, month = divmod(cell, 24)
            reporter, flow = divmod(cell, 2)
            period = f"{2022 + month // 12}{month % 12 + 1:02d}"
            rows.append({**RECORD, "reporterCode": reporters[reporter],
                         "partnerCode": PARTNERS[partner], "cmdCode": PRODUCTS[product],
                         "period": period, "refPeriodId": int(period + "01"),
                         "refYear": int(period[:4]), "refMonth": int(period[4:]),
                         "flowCode": "XM"[flow], "primaryValue": value, "fobvalue": value})  # fmt: skip
        js.write_text(json.dumps({"elapsedTime": "1 secs", "count": len(rows), "data": rows}))
        _write_chunk(cs, rows)
    return jsons, csvs


def _code(variant: str, files: list[Path], out: Path) -> str:
    paths = [str(f) for f in files]
    if variant == "pandas-json":
        return (
            "import json, pandas as pd\n"
            f"frames = [pd.DataFrame(json.load(open(p))['data']) for p in {paths!r}]\n"
            f"pd.concat(frames, ignore_index=True).to_parquet({str(out)!r})"
        )
    return f"from tradeflows._store import ingest\ningest({paths!r}, {str(out)!r})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=4)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each variant; the best is kept")
    ap.add_argument("--no-record", action="store_true", help="print only")
    args = ap.parse_args()
    folder = HERE / "data" / f"json_{args.answers}x{args.records}"
    jsons, csvs = make_answers(folder, args.answers, args.records)
    mib = sum(f.stat().st_size for f in jsons) / 2**20
    rows = []
    for variant, files in (("json", jsons), ("csv", csvs), ("pandas-json", jsons)):
        best = None
        for _ in range(args.repeat):
            out = folder / f"out_{variant}"
            run_code(f"import shutil; shutil.rmtree({str(out)!r}, ignore_errors=True)")
            r = run_code(_code(variant, files, out))
            if r["error"]:
                raise SystemExit(f"{variant}: {r['error']}")
            best = r if best is None or r["wall"] < best["wall"] else best
        rows.append((variant, best))
    first = rows[0][1]["wall"]
    n = args.answers * args.records
    lines = [
        f"### Saved Comtrade+ API answers (JSON) against the same records as CSV, "
        f"{dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}.",
        f"Command: `python benchmarks/bench_json.py --answers {args.answers} "
        f"--records {args.records} --repeat {args.repeat}` ({args.answers} answers of "
        f"{args.records:,} records, {mib:,.0f} MiB of JSON; the best of {args.repeat} runs).",
        "",
        "| variant | wall s | records/s | peak RSS GiB | vs json |",
        "|---|---|---|---|---|",
        *(
            f"| {v} | {r['wall']:.1f} | {n / r['wall']:,.0f} | {r['rss']:.2f} | "
            f"{first / r['wall']:.2f}x |"
            for v, r in rows
        ),
    ]
    record("\n".join(lines), save=not args.no_record)


if __name__ == "__main__":
    main()
