"""Damage inputs and stores at random and run the command line on them.

    python dev/fuzz.py inputs --cases 300 --seed 1   # source files -> ingest
    python dev/fuzz.py stores --cases 150 --seed 1   # a store -> store list/remove, summary, detect, report, ingest
    python dev/fuzz.py evaluate --cases 150 --seed 1 # labels and flags as CSV -> evaluate
    python dev/fuzz.py api --cases 600 --seed 1      # damaged frames -> the public functions

The rule it checks is the one tests/test_hostile.py holds to case by case:
a bad input or a damaged store ends with exit code 0 or 2 and one line, never
an internal error (exit 1), a traceback or an escaped exception. ``inputs``
cuts, reorders, duplicates and garbles the lines, fields, header and bytes of
a small synthetic Comtrade+ file, small Comext bulk and SDMX-CSV files, Eurostat monthly files of
``../shared/realdata`` (when beside the checkout), a saved Comtrade+ API answer
(its JSON values replaced or removed), Armstat's monthly trade by country
through the generic reader (``--map``) and the bundled parquet; ``stores``
changes a value of a store's audit.json, truncates one of its files or
flips bytes in it; ``evaluate`` garbles labels and flags tables written as
CSV, as an outside check brings them; ``api`` hands the public functions
(the cleaning, the mirror, the routes, the detection, the baselines, the
corridors, the evaluation, the report, the figures, ``with_names``)
damaged rows, pairs, flags and labels: a column
dropped, retyped or emptied, a cell absurd, the frame lazy, pandas, a dict
or read back from CSV as text, and each must return or raise
TradeflowsInputError in one line (about 600 cases in 20 seconds). A case that breaks the rule is
printed and kept under ``--out``; the last line counts them. Not run by CI:
the cases run in one process, about 400 a minute on the 2-core machine.

Found on 2026-12-07 (fiftieth session), each fixed and kept as a test in
tests/test_hostile.py: a Comtrade file cut inside quotes made polars' CSV
parser panic (a traceback); bytes damaged inside a store's data pages,
behind a sound footer, were internal errors inside every command that read
it; a value read as the period gave a date of year 0, which polars holds
and Python does not (an internal error while ingest spooled the rows).
On 2026-12-07 (seed 5101, 600 cases each): bytes flipped in a store's period
column that still decoded, a date of year 34141 (an internal error when ingest
appended to the store). ``api`` (new that day, seeds 1-28) found: two mirrors
put together, whose route-months grew until memory ran out; a net weight of
1e30 kg, which passed the cleaning and overflowed an exact sum in detect;
pairs and flags with a column of the wrong type, a period of year 0 or a
missing code, each an error inside polars or plotly; and, once the cleaning,
the report and ``with_names`` were added (seeds 31-39), rows of text handed
to ``clean`` and non-frames handed to ``split`` and ``with_names``.
On 2026-12-07 (fifty-third session, seed 7301): a damaged page on which
polars panics was reported in one line, but Rust had written its panic
message (and a backtrace under ``RUST_BACKTRACE``) to descriptor 2 first,
which the fuzzer, reading ``sys.stderr`` only, did not see; it now reads
descriptor 2 too, and the command line drops those blocks (``tradeflows._stderr``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import small_world  # noqa: E402
from tradeflows.cli import main  # noqa: E402

REALDATA = ROOT.parent / "shared" / "realdata"
GARBAGE = ["", "abc", "1e400", "-5", "NaN", "inf", "x" * 5000, "\x00", '"', "1,5", "١٢٣",
           "9" * 40, " ", "\ufeff", "2023-13"]  # fmt: skip
JSON_VALUES = [None, -1, 0, 1e308, "x", "", [], {}, True, "2023-13-01", 10**30, "847150", "490"]


def garble_lines(data: bytes, rng: random.Random) -> bytes:
    """One change to a delimited text file's lines, fields, header or bytes."""
    lines = data.split(b"\n")
    kind = rng.randrange(9)
    if kind == 0:
        return data[: rng.randrange(len(data))]
    if kind == 5:
        at = rng.randrange(len(data))
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8))) + data[at:]
    i = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
    fields = lines[0 if kind in (3, 4, 8) else i].split(b",")
    j = rng.randrange(len(fields))
    if kind == 1 and len(lines) > 2:
        del lines[i]
    elif kind == 2:
        fields[j] = rng.choice(GARBAGE).encode()
        lines[i] = b",".join(fields)
    elif kind == 3:
        rng.shuffle(fields)
        lines[0] = b",".join(fields)
    elif kind == 4 and len(fields) > 1:
        del fields[j]
        lines[0] = b",".join(fields)
    elif kind == 6:
        lines.insert(i, lines[0])
    elif kind == 7:
        lines[i] += b",extra"
    elif kind == 8:
        fields[j] = fields[(j + 1) % len(fields)]
        lines[0] = b",".join(fields)
    return b"\n".join(lines)


def _leaves(obj, path=()):
    """Every scalar of a JSON document, with its path."""
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    if not items:
        yield path
    for key, value in items:
        yield from _leaves(value, (*path, key))


def garble_json(data: bytes, rng: random.Random) -> bytes:
    """A JSON document with one to three of its values replaced or removed."""
    doc = json.loads(data)
    for _ in range(rng.randrange(1, 4)):
        path = rng.choice(list(_leaves(doc)))
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and rng.random() < 0.2:
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(JSON_VALUES)
    return json.dumps(doc).encode()


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    """The bytes cut short, or a few of them changed."""
    if rng.random() < 0.3:
        return data[: rng.randrange(len(data) + 1)]
    out = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def run(args: list[str]) -> tuple[object, str]:
    """The command line's exit code (or the exception that escaped it) and its stderr:
    Python's, then what native code wrote to descriptor 2 (a panic's message)."""
    err = io.StringIO()
    with tempfile.TemporaryFile() as native, _descriptor_2_to(native.fileno()):
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(args)
            except BaseException as exc:  # the finding itself
                code = f"raised {type(exc).__name__}: {exc}"
        native.seek(0)
        return code, err.getvalue() + native.read().decode("utf-8", "replace")


@contextlib.contextmanager
def _descriptor_2_to(fd: int):
    saved = os.dup(2)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def broken(code: object, err: str) -> bool:
    """Whether a run breaks the rule: exit 0 or 2, one line on an error."""
    lines = [line for line in err.strip().splitlines() if line.startswith("tradeflows:")]
    return (
        code not in (0, 2)
        or "internal error" in err
        or "Traceback" in err
        or "panicked at" in err
        or (code == 2 and len(lines) != 1)
    )


def tally(case: str, code: object, err: str, keep: Callable[[], object]) -> int:
    """1 (the case printed, its input kept) where a run broke the rule; else 0."""
    if not broken(code, err):
        return 0
    keep()
    print(f"{case}: {code}: {err.strip()[-300:]}")
    return 1


#: How Armstat's monthly trade by country is read (tests/test_realdata.py).
ARMSTAT_MAP = ["--map", "period=date", "--map", "partner=country", "--map", "value_usd.X=export",
               "--map", "value_usd.M=import_origin", "--const", "reporter=ARM",
               "--const", "hs=TOTAL", "--value-scale", "1000"]  # fmt: skip


#: A Comext bulk file's header (Eurostat's monthly ``full`` files).
BULK_HEADER = (
    "DECLARANT,DECLARANT_ISO,PARTNER,PARTNER_ISO,TRADE_TYPE,PRODUCT_NC,PRODUCT_SITC,"
    "PRODUCT_CPA2002,PRODUCT_CPA2008,PRODUCT_CPA2_1,PRODUCT_BEC,PRODUCT_BEC5,PRODUCT_SECTION,"
    "FLOW,STAT_REGIME,SUPP_UNIT,PERIOD,VALUE_IN_EUROS,QUANTITY_IN_KG,SUP_QUANTITY"
)


def comext_bulk(path: Path) -> Path:
    """A Comext bulk file of 240 rows, its codes repeated (ingest reads each once per value)."""
    rows = [
        f"004,{d},075,{p},E,{c},77641,321,261,261,322,42,XVI,{f},{r},,202403,{100 + i},{i},"
        for i, (d, p, c, f, r) in enumerate(
            (d, p, c, f, r)
            for d in ("DE", "FR", "EL") for p in ("KG", "KZ", "AM", "CN", "US")
            for c in ("85423190", "84713000", "85SSSSSS", "85171300") for f in (1, 2)
            for r in (1, 2)
        )
    ]  # fmt: skip
    path.write_text("\n".join([BULK_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def sdmx_csv(path: Path) -> Path:
    """Eurostat SDMX-CSV of 480 rows: codes with labels or without, flags, empty values."""
    head = "DATAFLOW,LAST UPDATE,freq,reporter,partner,product,flow,indicators,TIME_PERIOD,OBS_VALUE,OBS_FLAG"
    rows = [
        f"ESTAT:DS-045409(1.0),15/01/25 23:00:00,M,{d},{p},{c},{f},VALUE_IN_EUROS,2024-0{m},"
        + ("," if i % 17 == 0 else f"{100 + i},c" if i % 23 == 0 else f"{100 + i},")
        for i, (d, p, c, f, m) in enumerate(
            (d, p, c, f, m)
            for d in ("DE:Germany", "FR", "EL") for p in ("KG", "KZ:Kazakhstan", "AM", "CN")
            for c in ("85423190", "84713000", "85171300", "TOTAL") for f in (1, 2) for m in (1, 2, 3, 4, 5)
        )
    ]  # fmt: skip
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def fuzz_inputs(rng: random.Random, cases: int, out: Path) -> int:
    world = small_world(out / "world", seed=3, preset=None, n_others=4, n_products=3,
                        pairs_per_product=4, episodes=1, lookalikes=0)  # fmt: skip
    seeds: list[tuple[Path, Callable, list[str]]] = [
        (sorted((world / "comtrade").glob("*.csv"))[0], garble_lines, []),
        (ROOT / "datasets" / "eu_total_exports_2019_2024.parquet", flip_bytes, []),
        (comext_bulk(out / "full202403.dat"), garble_lines, []),
        (sdmx_csv(out / "ds-045409.csv"), garble_lines, []),
    ]
    sanctions = REALDATA / "eu_export_sanctions"
    answers = REALDATA / "comtradr_api_responses"
    if REALDATA.is_dir():
        seeds += [
            (p, garble_lines, []) for p in sorted(sanctions.glob("eurostat_monthly_*.csv"))[:2]
        ]
        seeds += [(p, garble_json, []) for p in sorted(answers.glob("testthat__data__*.json"))]
        # The generic reader, on the first 3,000 lines of a national office's table.
        armstat = out / "arm_trade_country.csv"
        lines = (REALDATA / "tvyal_newsletter" / "arm_trade_country.csv").read_bytes().split(b"\n")
        armstat.write_bytes(b"\n".join(lines[:3000]))
        seeds.append((armstat, garble_lines, ARMSTAT_MAP))
    bad = 0
    for case in range(cases):
        seed, garble, options = rng.choice(seeds)
        path = out / f"case{seed.suffix}"
        path.write_bytes(garble(seed.read_bytes(), rng))
        store = out / "store"
        shutil.rmtree(store, ignore_errors=True)
        args = ["ingest", str(path), "--out", str(store), "-q", *options]
        args += ["--lenient"] if rng.random() < 0.3 else []
        keep = functools.partial(shutil.copy, path, out / f"broken_{case}{seed.suffix}")
        bad += tally(f"case {case} ({seed.name})", *run(args), keep)
    return bad


def fuzz_stores(rng: random.Random, cases: int, out: Path) -> int:
    world = small_world(out / "world", seed=5, preset=None, n_others=4, n_products=3,
                        pairs_per_product=4, episodes=1, lookalikes=0)  # fmt: skip
    good, sources = out / "good", sorted((world / "comtrade").glob("*.csv"))
    assert main(["ingest", *map(str, sources[:-1]), "--out", str(good), "-q"]) == 0
    files = [p.relative_to(good) for p in good.rglob("*") if p.is_file() and p.name != ".lock"]
    commands: list[Callable[[str], list[str]]] = [
        lambda store: ["store", "list", store],
        lambda store: ["summary", store],
        lambda store: ["detect", store, "--destinations", "RUS,CHN", "--out", f"{out}/f.csv"],
        lambda store: ["store", "remove", store, sources[0].name],
        lambda store: ["ingest", str(sources[-1]), "--out", store, "-q"],
        lambda store: ["report", store, "--out", f"{out}/report.html"],
    ]
    bad = 0
    for case in range(cases):
        store = out / "store"
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(good, store)
        victim = store / rng.choice(files)
        if victim.name == "audit.json" and rng.random() < 0.6:
            victim.write_bytes(garble_json(victim.read_bytes(), rng))
        else:
            victim.write_bytes(flip_bytes(victim.read_bytes(), rng))
        args = rng.choice(commands)(str(store))
        keep = functools.partial(shutil.copytree, store, out / f"broken_{case}")
        bad += tally(f"case {case} ({victim.name}, {args[0]})", *run(args), keep)
    return bad


def fuzz_evaluate(rng: random.Random, cases: int, out: Path) -> int:
    """Labels and flags tables as an outside check brings them (CSV), garbled, to evaluate."""
    import polars as pl

    world = small_world(out / "world", seed=7, preset=None, n_others=4, n_products=3,
                        pairs_per_product=4, episodes=2, lookalikes=1)  # fmt: skip
    assert main(["detect", str(world / "comtrade"), "--out", str(out / "flags.csv"), "-q"]) == 0
    pl.read_parquet(world / "truth.parquet").write_csv(out / "labels.csv")
    flags, labels = (out / "flags.csv").read_bytes(), (out / "labels.csv").read_bytes()
    bad = 0
    for case in range(cases):
        (out / "f.csv").write_bytes(garble_lines(flags, rng) if rng.random() < 0.5 else flags)
        (out / "l.csv").write_bytes(garble_lines(labels, rng) if rng.random() < 0.7 else labels)
        args = [
            "evaluate",
            str(world),
            "--flags",
            str(out / "f.csv"),
            "--labels",
            str(out / "l.csv"),
        ]
        keep = functools.partial(shutil.copytree, out, out.parent / f"{out.name}_broken_{case}",
                                 ignore=shutil.ignore_patterns("world", "*_broken_*"))  # fmt: skip
        bad += tally(f"case {case}", *run(args), keep)
    return bad


def damage_frame(df, rng: random.Random):
    """:func:`_damage` of ``df``; where polars has not the cast it asks for, the
    column as text instead."""
    import polars as pl

    try:
        return _damage(df, rng)
    except pl.exceptions.PolarsError:
        return df.with_columns(pl.col(rng.choice(df.columns)).cast(pl.String))


def _damage(df, rng: random.Random):
    """One change to a table a notebook user hands a function: a column dropped,
    retyped or emptied, a cell made absurd, the rows cut, the frame made lazy,
    pandas, a dict or a CSV read back as text."""
    import polars as pl

    column = rng.choice(df.columns)
    row = pl.int_range(pl.len()) == rng.randrange(max(df.height, 1))
    kind = rng.randrange(12)
    if kind == 0:
        return df.drop(column)
    if kind == 1:
        return df.with_columns(pl.col(column).cast(pl.String))
    if kind == 2:
        return df.with_columns(pl.lit(None).alias(column))
    if kind == 3:
        dtype = rng.choice([pl.Int64, pl.Float64, pl.Boolean, pl.Date, pl.Categorical])
        return df.with_columns(pl.col(column).cast(dtype, strict=False))
    if kind == 4:
        value = rng.choice([None, float("inf"), -1.0, 1e30, float("nan"), "x", ""])
        dtype = df.schema[column]
        cell = pl.lit(value).cast(dtype, strict=False) if dtype != pl.String else pl.lit(str(value))
        return df.with_columns(pl.when(row).then(cell).otherwise(pl.col(column)).alias(column))
    if kind == 5:
        return df.head(rng.randrange(2))
    if kind == 6:
        return df.lazy()
    if kind == 7:
        return df.to_pandas() if rng.random() < 0.5 else df.to_dict(as_series=False)
    if kind == 8:  # read back from CSV, every column as text
        return pl.read_csv(df.write_csv().encode(), infer_schema=False)
    if kind == 9:
        year0 = pl.lit("0000-01-01").str.to_date()
        return (
            df.with_columns(period=pl.when(row).then(year0).otherwise("period"))
            if "period" in df.columns
            else df
        )
    if kind == 10:
        return pl.concat([df, df])
    return df.select(rng.sample(df.columns, len(df.columns)))


def fuzz_api(rng: random.Random, cases: int, out: Path) -> int:
    """The public functions handed damaged tables: each must return, or raise
    TradeflowsInputError (one line), never another exception."""
    import warnings

    import tradeflows as tf

    warnings.simplefilter("ignore")
    import polars as pl

    world = small_world(out / "world", seed=7, preset=None, n_others=4, n_products=3,
                        pairs_per_product=4, episodes=2, lookalikes=1, store=True)  # fmt: skip
    rows = tf.scan_store(world / "store").collect()
    truth = pl.read_parquet(world / "truth.parquet")
    pairs = tf.collect_mirror(rows)
    flags = tf.detect_routes(rows)
    route = {k: flags[k][0] for k in ("origin", "hub", "destination", "hs")}
    calls = {
        "rows": {
            "collect_mirror": tf.collect_mirror,
            "coverage_table": lambda x: tf.coverage_table(x).collect(),
            "detect_routes": tf.detect_routes,
            "money_baseline": lambda x: tf.money_baseline(x).collect(),
            "naive_baseline": lambda x: tf.naive_baseline(x).collect(),
            "ap_ceiling": lambda x: tf.ap_ceiling(x, truth),
            "reported_lines": lambda x: tf.viz.reported_lines(x, hs=route["hs"]),
            "Report": lambda x: tf.Report(x).write_html(out / "report.html"),
            "clean": lambda x: tf.clean.clean(x),
            "canonical_rows": lambda x: tf.clean.canonical_rows(x).collect(),
            "split": lambda x: (
                tf.clean.split(tf.clean.clean(x.lazy()).collect())
                if isinstance(x, pl.DataFrame | pl.LazyFrame)
                else tf.clean.split(x)
            ),
            "with_names": lambda x: tf.names.with_names(x),
        },
        "pairs": {
            "collect_route_indicators": tf.collect_route_indicators,
            "mirror_gap": tf.viz.mirror_gap,
            "mirror_gap_note": tf.viz.mirror_gap_note,
            "route_legs pairs": lambda x: tf.viz.route_legs(flags, route, pairs=x),
        },
        "flags": {
            "corridors": tf.corridors,
            "corridors by": lambda x: tf.corridors(x, by=["hub", "hs4"]),
            "evaluate": lambda x: tf.evaluate(x, truth),
            "flags_bar": tf.viz.flags_bar,
            "hub_map": tf.viz.hub_map,
            "score_heatmap": tf.viz.score_heatmap,
            "route_sankey": tf.viz.route_sankey,
            "route_legs": lambda x: tf.viz.route_legs(x, route),
            "with_names flags": lambda x: tf.names.with_names(x),
        },
        "labels": {
            "evaluate labels": lambda x: tf.evaluate(flags, x),
            "ap_ceiling labels": lambda x: tf.ap_ceiling(rows, x),
        },
    }
    tables = {"rows": rows, "pairs": pairs, "flags": flags, "labels": truth}
    bad = 0
    for case in range(cases):
        kind = rng.choice(list(calls))
        name, call = rng.choice(list(calls[kind].items()))
        given = damage_frame(tables[kind], rng)
        try:
            call(given)
        except tf.TradeflowsInputError as exc:
            if "\n" not in str(exc).strip():
                continue
            found = f"TradeflowsInputError of several lines: {exc}"
        except Exception as exc:  # the finding itself
            found = f"{type(exc).__name__}: {str(exc)[:300]}"
        else:
            continue
        bad += 1
        if isinstance(given, pl.DataFrame | pl.LazyFrame):  # kept, to be read again
            given.lazy().collect().write_parquet(out / f"broken_{case}_{kind}.parquet")
        shown = given if isinstance(given, dict) else getattr(given, "schema", type(given))
        print(f"case {case} ({name} of damaged {kind}): {found}\n    given: {str(shown)[:300]}")
    return bad


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["inputs", "stores", "evaluate", "api"])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/tradeflows-fuzz"))
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    fuzz = {"inputs": fuzz_inputs, "stores": fuzz_stores, "evaluate": fuzz_evaluate,
            "api": fuzz_api}[args.target]  # fmt: skip
    bad = fuzz(random.Random(args.seed), args.cases, args.out)
    print(f"{args.cases} cases, {bad} broke the rule (kept under {args.out})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_())
