"""The command line: ``tradeflows ingest|detect|evaluate|report|summary|synth|store|fetch ...``.

Exit codes are a contract: 0 done, 2 bad input or usage (one line on stderr,
no traceback), 1 an internal error. Set ``TRADEFLOWS_DEBUG=1`` to see the
traceback of an internal error.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from tradeflows._errors import TradeflowsInputError, one_line
from tradeflows._stderr import panic_messages_dropped

__all__ = ["app", "main"]

app = typer.Typer(
    # Help text is plain: "[report] and [detect]" are words, not rich markup.
    rich_markup_mode=None,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Find transshipment in trade statistics.",
)


#: Control characters (C0, DEL, C1) other than tab and newline: data must not steer the terminal.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)], "?")


def _plain(text: object) -> str:
    """``text`` safe for a terminal: control characters from data become ``?``.

    Examples
    --------
    >>> _plain("MYS\x1b[2J -> CHN")
    'MYS?[2J -> CHN'
    """
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.translate(_CONTROL)


def _say(text: object, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    line = _plain(text)
    if err:  # what a scheduled run's log must hold too (--log)
        from tradeflows._log import logger

        logger.warning("%s", line)
    try:
        print(line, file=stream)
    except UnicodeEncodeError:  # a terminal that cannot show every character
        encoding = stream.encoding or "ascii"
        print(line.encode(encoding, "replace").decode(encoding), file=stream)


def _one_line(text: object) -> str:
    """A message on one line: a library's multi-line message folded, control characters removed."""
    return _plain(one_line(text))


#: Log handlers this run added (removed when it ends: tests run many commands in one process).
_HANDLERS: list = []


@app.callback()
def _common(
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            envvar="TRADEFLOWS_LOG",
            help="Append a plain log of the steps and their timings to this file "
            "(for scheduled runs; also TRADEFLOWS_LOG).",
        ),
    ] = None,
) -> None:
    """Find transshipment in trade statistics."""
    from tradeflows._log import log_to, logger

    if log is not None:
        if log.is_dir():
            raise TradeflowsInputError(f"--log {log}: is a folder; give a file name")
        _HANDLERS.append(log_to(log))
        logger.info("tradeflows %s", " ".join(_plain(a) for a in sys.argv[1:]))


def _parse_pairs(items: list[str] | None, what: str) -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for item in items:
        if "=" not in item:
            raise TradeflowsInputError(f"{what} {item!r}: expected NAME=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


@app.command()
def ingest(
    sources: Annotated[list[str], typer.Argument(help="Files, globs or folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The store folder.")],
    engine: Annotated[str, typer.Option(help="auto, cpu, streaming or gpu.")] = "auto",
    lenient: Annotated[
        bool, typer.Option(help="Drop and count rows with unknown codes or bad values.")
    ] = False,
    revision: Annotated[
        str | None, typer.Option(help="Convert HS codes to this revision (HS2017).")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Generic reader: canonical=source column, repeatable."),
    ] = None,
    const: Annotated[
        list[str] | None,
        typer.Option("--const", help="Generic reader: canonical=value for every row."),
    ] = None,
    value_scale: Annotated[float, typer.Option(help="Generic reader: value multiplier.")] = 1.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait", help="Fail at once if another ingest is writing the store (exit 2)."
        ),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Read again files the store holds (same path or bytes), with these options.",
        ),
    ] = False,
    memory: Annotated[
        str | None,
        typer.Option(
            help="Memory for rows read and cleaned: 6GiB, 500MB or a share of the machine's "
            "(0.5; default 0.25). Beyond it they wait on disk beside the store, to the same store."
        ),
    ] = None,
) -> None:
    """Read, clean, audit and store trade files (STORE/audit.json tells what happened)."""
    from tradeflows._engine import resolve
    from tradeflows._store import ingest as run_ingest

    resolve(engine)  # a bad engine name is a usage error before any work
    doc = run_ingest(
        sources,
        out,
        engine=engine,
        lenient=lenient,
        revision=revision,
        mapping=_parse_pairs(map_, "--map"),
        constants=_parse_pairs(const, "--const"),
        value_scale=value_scale,
        wait=not no_wait,
        notice=None if quiet else (lambda m: _say(m, err=True)),
        replace=replace,
        memory=memory,
    )
    if quiet:
        return
    totals = doc.get("totals", {})
    for path, reason in zip(doc["skipped"], doc["skipped_reasons"], strict=True):
        _say(f"skipped ({reason}): {path}", err=True)
    for source in doc.get("replaced", []):
        _say(f"replaced: the rows of {source} were read again", err=True)
    for e in doc.get("unrecognised", []):
        _say(f"skipped (unrecognised_file, recorded in the audit): {e['detail']}", err=True)
    spooled = doc.get("spooled", {})
    if spooled.get("rows"):
        from tradeflows._engine import memory_in_words

        _say(
            f"memory: {spooled['rows']:,} rows read waited on disk, beyond the "
            f"{memory_in_words(spooled['budget'])} budget; a larger --memory is faster "
            "where the machine has it",
            err=True,
        )
    _say(
        f"{out}: {doc.get('store', {}).get('rows', 0):,} rows stored; this store has read "
        f"{totals.get('rows_read', 0):,} rows, kept {totals.get('rows_kept', 0):,}, dropped "
        f"{totals.get('rows_dropped', 0):,} "
        f"({json.dumps(totals.get('dropped', {}))}); see {out / 'audit.json'}"
    )


@app.command()
def summary(
    store: Annotated[Path, typer.Argument(help="A store written by 'tradeflows ingest'.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML summary here.")
    ] = None,
) -> None:
    """Print what a store holds (coverage and audit); optionally as HTML."""
    from tradeflows._summary import store_summary, summary_html, summary_text

    info = store_summary(store)
    _say(summary_text(info))
    if html is not None:
        from tradeflows._files import write_text_atomic

        write_text_atomic(html, summary_html(info))
        _say(html.resolve())


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder for comtrade/*.csv, truth.parquet.")],
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same files.")] = 0,
    pairs_per_product: Annotated[
        int, typer.Option(help="Baseline trading pairs per product (the size knob).")
    ] = 60,
    episodes: Annotated[int, typer.Option(help="Transshipment episodes to plant.")] = 8,
    lookalikes: Annotated[int, typer.Option(help="Look-alikes to plant.")] = 10,
    preset: Annotated[
        str | None,
        typer.Option(
            help="asia_ai_hardware: hubs Malaysia, Singapore, Thailand; Taiwan -> Malaysia calibrated."
        ),
    ] = None,
) -> None:
    """Write a labelled synthetic trade world (both reports, planted episodes)."""
    from tradeflows._synth import make_trade_world

    if pairs_per_product < 1 or episodes < 0 or lookalikes < 0:
        raise TradeflowsInputError("synth: sizes must be positive")
    if not 0 <= seed < 2**32:
        raise TradeflowsInputError(
            f"synth: --seed {seed}: expected a whole number from 0 to 2**32 - 1"
        )
    if preset not in (None, "asia_ai_hardware"):
        raise TradeflowsInputError(f"synth: unknown preset {preset!r}: choose asia_ai_hardware")
    info = make_trade_world(
        out_dir,
        seed=seed,
        pairs_per_product=pairs_per_product,
        episodes=episodes,
        lookalikes=lookalikes,
        preset=preset,
    )
    _say(
        f"{out_dir}: {info['rows']:,} report rows in {len(info['files'])} files, "
        f"{info['truth_rows']:,} labelled route-months (synthetic)"
    )


def _usd(value: float | None) -> str:
    """USD 3.4m, USD 1.9bn, USD 820.0k: as the reasons write amounts (:func:`tradeflows._expr.usd_text`)."""
    import polars as pl

    from tradeflows._expr import usd_text

    return pl.select(usd_text(pl.lit(float(value or 0.0)))).item()


def _query(**fields):
    """The detection's :class:`tradeflows.Query` from the command's options; its
    errors name the options as typed (``--destinations: ...``)."""
    from tradeflows._query import Query

    try:
        return Query(**fields)
    except TradeflowsInputError as exc:
        # The message starts with the field's name; the option spells it with dashes.
        field, rest = re.match(r"(\w*)(.*)", str(exc), re.S).groups()
        raise TradeflowsInputError(f"--{field.replace('_', '-')}{rest}") from None


def _products(text: str | None, quiet: bool = False) -> list[str] | None:
    """``--hs``: prefixes as given; words resolved to the codes they describe, chosen
    from a list in a terminal, all of them (listed on stderr) otherwise."""
    from tradeflows._names import hs_products, with_names

    if not text:
        return None
    codes = hs_products(text, "--hs")
    if all(c.isdigit() or c.upper() == "TOTAL" for c in _split(text)):
        return codes
    import polars as pl

    described = with_names(pl.DataFrame({"hs": codes}))
    for i, (code, desc) in enumerate(described.rows(), start=1):
        if not quiet:
            _say(f"  {i:>3}. {code}  {(desc or '')[:100]}", err=True)
    if len(codes) > 1 and sys.stdin.isatty():
        answer = typer.prompt("Which products? numbers (1,3), or 'all'", default="all")
        if answer.strip().lower() != "all":
            try:
                chosen = [codes[int(n) - 1] for n in answer.split(",") if n.strip()]
            except (ValueError, IndexError):
                raise TradeflowsInputError(
                    f"--hs: {answer!r}: expected numbers from the list"
                ) from None
            return chosen
    if not quiet:
        _say(f"--hs {text!r}: {len(codes)} product(s) described by these words", err=True)
    return codes


def _write_table(path: Path, flags, ranked) -> None:
    """Write the flags (or, with ``flags`` None, the corridors) by the file's suffix; an
    ``.xlsx`` workbook holds a corridors sheet and, with flags, a route-months sheet."""
    from tradeflows._files import write_frame_atomic, write_workbook_atomic

    if path.suffix == ".xlsx":
        sheets = {"corridors": ranked}
        if flags is not None:
            sheets["route-months"] = flags
        write_workbook_atomic(path, sheets)
    else:
        write_frame_atomic(path, ranked if flags is None else flags)


def _world_sources(world: Path, labels: Path) -> list[Path]:
    """A labelled world's trade data: its store, its ``comtrade`` folder, or its own files."""
    if (world / "store" / "audit.json").is_file():
        return [world / "store"]
    if (world / "comtrade").is_dir():
        return [world / "comtrade"]
    if (world / "audit.json").is_file():
        return [world]
    if not world.is_dir():
        raise TradeflowsInputError(f"{world}: no such folder")
    from tradeflows._io import expand_sources

    skip = {labels.resolve(), *((world / n).resolve() for n in ("truth.parquet", "world.json"))}
    # The data files in it and in its folders (data/, raw/ ...), but for the
    # labels and the world's own description (.json beside them).
    try:
        found = expand_sources([world])
    except TradeflowsInputError:  # no data file at all
        found = []
    files = [p for p in found if p.resolve() not in skip
             and not (p.parent == world and p.suffix.lower() == ".json")]  # fmt: skip
    if not files:
        raise TradeflowsInputError(f"{world}: no trade data (a store, a comtrade folder or files)")
    return files


def _lines_as_trained():
    """The shipped trees with the flag lines where training put them (``--lines-as-trained``)."""
    from tradeflows.detect import LearnedRouteDetector

    return LearnedRouteDetector(base_rate="training")


def _read_labels(path: Path):
    """A labels table (a world's ``truth.parquet``, or a CSV file of the same columns), checked."""
    import polars as pl

    from tradeflows._tables import labels_table

    if not path.is_file():
        raise TradeflowsInputError(f"--labels {path}: no such file")
    csv = path.suffix.lower() == ".csv"
    try:
        known = pl.read_csv(path, infer_schema=False) if csv else pl.read_parquet(path, glob=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise TradeflowsInputError(
            f"--labels {path}: not a readable {'CSV' if csv else 'parquet'} file "
            f"({_one_line(exc)[:160]})"
        ) from None
    return labels_table(known, f"--labels {path}")


def _read_flags(path: Path):
    """A flags table written by ``detect`` (.csv or .parquet), checked."""
    import polars as pl

    from tradeflows._tables import flags_table

    try:
        if path.suffix == ".parquet":
            table = pl.read_parquet(path, glob=False)
        elif path.suffix == ".csv":
            table = pl.read_csv(path, glob=False, infer_schema=False)
        else:
            raise TradeflowsInputError(f"--flags {path}: expected a .csv or .parquet flags table")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise TradeflowsInputError(
            f"--flags {path}: not a readable table ({_one_line(exc)[:160]})"
        ) from None
    return flags_table(table, f"--flags {path}", "hub", "destination", "hs", "period", "score")


_Memory = Annotated[
    str | None,
    typer.Option(
        help="Memory the run may use: 6GiB, 500MB or a share of the machine's (0.5; default "
        "0.25). Over it, HS chapters in groups, to the same flags."
    ),
]


@app.command()
def detect(
    sources: Annotated[list[str], typer.Argument(help="Stores, files, globs or folders.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="FLAGS.csv, FLAGS.parquet or FLAGS.xlsx (corridors and months)."
        ),
    ],
    destinations: Annotated[
        str | None,
        typer.Option(
            help="Countries (China,Kyrgyzstan or CN,KG or CHN,KGZ), or 'all'; "
            "default: the destinations of concern."
        ),
    ] = None,
    hubs: Annotated[
        str | None, typer.Option(help="Countries, as --destinations; default: every country.")
    ] = None,
    hs: Annotated[
        str | None,
        typer.Option(
            help="HS code prefixes (8471,8542), words ('integrated circuits'), or TOTAL "
            "(all-goods rows, read as one product)."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="First month to report: 2022 or 2022-03.")
    ] = None,
    engine: Annotated[str, typer.Option(help="auto, cpu, streaming or gpu.")] = "auto",
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Known cases (a world's truth.parquet, or CSV of its columns) to train the "
            "supervised model."
        ),
    ] = None,
    flagged_only: Annotated[
        bool, typer.Option("--flagged-only", help="Write the flagged route-months only.")
    ] = False,
    corridors_out: Annotated[
        Path | None,
        typer.Option(
            "--corridors",
            help="Also write the corridors (one row per origin -> hub -> destination -> "
            "product, ranked by evidence and value at stake) to this .csv, .parquet or .xlsx file.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Roll the corridors up to these columns (hub,destination,hs4: one row per "
            "hub, destination and HS heading, whatever the origin and code; among origin, hub, "
            "destination, hs, hs4, hs2) in --corridors and the workbook's corridors sheet.",
        ),
    ] = None,
    partition: Annotated[
        bool,
        typer.Option(
            "--partition",
            help="HS chapters in groups of bounded size (bounded memory; same result).",
        ),
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:8786) or 'local': chapters in parallel."
        ),
    ] = None,
    memory: _Memory = None,
    min_usd: Annotated[
        float | None,
        typer.Option(
            "--min-usd",
            help="Score only the routes one of whose legs carries this many US dollars "
            "in some month (default 100000; 0: every route).",
        ),
    ] = None,
    all_months: Annotated[
        bool,
        typer.Option(
            "--all-months",
            help="Write every route-month scored (default: every month of the routes "
            "worth reading, the peak month and data-quality events of the others).",
        ),
    ] = False,
    lines_as_trained: Annotated[
        bool,
        typer.Option(
            "--lines-as-trained",
            help="Keep the flag lines where the training worlds put them (default: "
            "raised where the trees expect episodes to be rarer among these routes than "
            "in training, as on a wide screen).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress, no summary lines.")
    ] = False,
) -> None:
    """Score origin -> hub -> destination routes and write the flags table."""
    import polars as pl

    from tradeflows._names import month_span
    from tradeflows._routes import ROUTE_KEY
    from tradeflows.detect import route_months_scored
    from tradeflows.detect._corridors import check_roll_up, corridors, roll_up
    from tradeflows.detect._flags import base_rate, detect_routes, nothing_scored_why

    for option, path in (("--out", out), ("--corridors", corridors_out)):
        if path is not None and path.suffix not in (".csv", ".parquet", ".xlsx"):
            raise TradeflowsInputError(
                f"{option} {path}: choose a .csv, .parquet or .xlsx file name"
            )
    rollup = None
    if by is not None:
        rollup = check_roll_up([c.strip() for c in by.split(",") if c.strip()], f"--by {by!r}")
    known = None
    if labels is not None:
        known = _read_labels(labels)
    query = _query(
        destinations=destinations, hubs=hubs, hs=_products(hs, quiet), since=since, min_usd=min_usd
    )
    flags = detect_routes(
        sources,
        query=query,
        engine=engine,
        labels=known,
        partition=partition,
        cluster=cluster,
        memory=memory,
        keep="all" if all_months else "evidence",
        detector=_lines_as_trained() if lines_as_trained else None,
    )
    written = flags.filter(pl.col("flagged")) if flagged_only else flags
    ranked = corridors(flags)
    table = ranked if rollup is None else roll_up(ranked, rollup)
    _write_table(out, written, table)
    if corridors_out is not None:
        _write_table(corridors_out, None, table)
    if quiet:
        return
    flagged = flags.filter(pl.col("flagged"))
    hit = ranked.filter(pl.col("flagged"))
    at_stake = hit["extra_usd"].sum()
    scored = route_months_scored(flags)
    _say(
        f"{out}: {scored:,} route-months scored ({flags.height:,} written), "
        f"{flagged.height:,} flagged on {hit.height:,} corridors carrying {_usd(at_stake)} above "
        "their usual level"
    )
    why = nothing_scored_why(sources, query) if scored == 0 else None
    if why is not None:
        _say(f"  {why}")
    elif hit.is_empty() and query.min_usd > 0:
        # Data in thousands of dollars, or of small flows, leaves most routes
        # below the materiality line: say so rather than let "nothing" stand.
        _say(
            f"  a route is scored only where one of its legs carries {_usd(query.min_usd)} in "
            "some month: values in US dollars? (--min-usd 0 scores every route)"
        )
    rate = base_rate(flags)
    if rate is not None and round(rate["line_raise"], 3) > 0:
        how = (
            "kept as trained (--lines-as-trained)"
            if lines_as_trained
            else f"rose by {rate['line_raise']:.2f} log-odds"
        )
        _say(
            f"  the trees expect {rate['share']:.2%} of these {rate['routes']:,} routes to carry "
            f"an episode, against {rate['trained_share']:.2%} in training: the routes' lines {how}"
        )
    for row in hit.head(3).iter_rows(named=True):
        origin = row["origin"] or "*"
        _say(
            f"  {row['rank']:>3}. {origin} -> {row['hub']} -> {row['destination']}  {row['hs']}  "
            f"{month_span(row['first'], row['last'])}, {_usd(row['extra_usd'])} at stake, "
            f"score {row['score']:.1f}: {row['reasons']}"
        )
    if rollup is None:
        return
    wide = table.filter(pl.col("flagged"))
    _say(f"by {', '.join(rollup)}: {wide.height} of {table.height} corridors flagged")
    countries = [c for c in rollup if c in ROUTE_KEY[:3]]  # origin, hub, destination
    for row in wide.head(3).iter_rows(named=True):
        places = " -> ".join(row[c] or "*" for c in countries)
        product = "".join(f"  {row[c]}" for c in rollup if c not in countries)
        _say(
            f"  {row['rank']:>3}. {places}{product}  {row['flagged_routes']} of "
            f"{row['routes']} routes flagged, {month_span(row['first'], row['last'])}, "
            f"{_usd(row['extra_usd'])} at stake, score {row['score']:.1f}: {row['reasons']}"
        )


@app.command()
def evaluate(
    world: Annotated[
        Path,
        typer.Argument(
            help="A labelled world: a folder written by 'tradeflows synth', or one holding "
            "a store or trade files and truth.parquet."
        ),
    ],
    flags: Annotated[
        Path | None, typer.Option(help="A flags table to score; default: run detect on the world.")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="The labels, parquet or CSV (default: WORLD/truth.parquet): origin, hub, "
            "destination, hs, period (2024-05); without an is_transshipment column every row "
            "is a true case."
        ),
    ] = None,
    engine: Annotated[str, typer.Option(help="auto, cpu, streaming or gpu.")] = "auto",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON here.")
    ] = None,
) -> None:
    """Precision and recall of flags against a world's labels, beside two baselines.

    Without --flags, the corridors `detect` ranks are scored in its order (as
    benchmarks/bench_detect.py does) and the route-months by their score; a
    flags table is scored by its best month per corridor. Also prints the
    highest corridor AP the world's data allow.
    """

    from tradeflows._evaluate import ap_ceiling, money_baseline, naive_baseline
    from tradeflows._evaluate import evaluate as run_evaluate
    from tradeflows._files import write_text_atomic
    from tradeflows.detect._corridors import corridors
    from tradeflows.detect._flags import detect_routes, load_canonical

    truth_path = labels or world / "truth.parquet"
    if labels is None and not truth_path.is_file():
        raise TradeflowsInputError(f"{world}: not a labelled world (no truth.parquet)")
    truth = _read_labels(truth_path)
    data = load_canonical(_world_sources(world, truth_path), engine=engine)
    table = detect_routes(data, engine=engine) if flags is None else _read_flags(flags)
    mine = run_evaluate(table, truth)
    if flags is None:  # corridors as detect ranks them; months as the flags score them
        mine = {**run_evaluate(corridors(table), truth), "route_month_ap": mine["route_month_ap"]}
    results: dict = {
        "detector": mine,
        "naive_baseline": run_evaluate(naive_baseline(data).collect(), truth),
        "money_baseline": run_evaluate(money_baseline(data).collect(), truth),
    }
    print(
        f"{'':<16}{'route AP':>10}{'month AP':>10}{'recall@k':>10}{'look-alikes@k':>15}"
        f"{'hub x HS6 AP':>14}"
    )
    for name, r in results.items():
        print(
            f"{name:<16}{r['route_ap']:>10.3f}{r['route_month_ap']:>10.3f}"
            f"{r['recall_at_k']:>10.2f}{r['lookalikes_in_top_k']:>15}{r['hub_product_ap']:>14.3f}"
        )
    results["ap_ceiling"] = ceiling = ap_ceiling(data, truth)
    print(
        f"k = {results['detector']['k']} true corridors (hub, destination, product); "
        f"the data allow a route AP of at most {ceiling:.2f} (tradeflows.ap_ceiling)"
    )
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(results, indent=2, default=str) + "\n")


@app.command()
def report(
    sources: Annotated[list[str], typer.Argument(help="Stores, files, globs or folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="REPORT.html")],
    config: Annotated[
        Path | None, typer.Option(help="report.toml: [report] and [detect] options.")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option(help="The previous report: say what changed since.")
    ] = None,
    engine: Annotated[str, typer.Option(help="auto, cpu, streaming or gpu.")] = "auto",
    partition: Annotated[
        bool,
        typer.Option(
            "--partition",
            help="HS chapters in groups of bounded size (bounded memory; same report).",
        ),
    ] = False,
    xlsx: Annotated[
        Path | None,
        typer.Option(help="Also write the flags as an Excel workbook (corridors, months)."),
    ] = None,
    memory: _Memory = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress (the report's path is printed).")
    ] = False,
) -> None:
    """Detect and write one self-contained HTML report (works offline)."""
    from tradeflows._report import build_report

    path = build_report(
        sources, out, config=config, previous=previous, engine=engine, partition=partition,
        xlsx=xlsx, memory=memory,
    )  # fmt: skip
    _say(path.resolve())


store_app = typer.Typer(
    rich_markup_mode=None,
    help="What a store holds, and taking files out of it.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("list")
def store_list(
    store: Annotated[Path, typer.Argument(help="A store written by 'tradeflows ingest'.")],
) -> None:
    """The files a store holds: rows read, kept and dropped, when, sha256, options.

    The data files are checked against the audit first (read again if an
    ingest commits meanwhile): a damaged store is listed, then said to be
    damaged (exit code 2).
    """
    from tradeflows._store import check_store

    if not (store / "audit.json").is_file():
        raise TradeflowsInputError(f"{store}: not a tradeflows store (no audit.json)")
    try:
        rows = check_store(store)
    except TradeflowsInputError:
        _list_files(store)  # what the audit says it holds, then what is wrong
        raise
    files = _list_files(store)
    _say(f"{store}: {files} files, {rows} rows stored")


def _list_files(store: Path) -> int:
    """Print the files the store's audit lists; return how many were ingested."""
    from tradeflows._store import read_audit, store_files

    table = store_files(store)
    for row in table.iter_rows(named=True):
        _say(
            f"{row['path']}\n    {row['format']}, read {row['rows_read']}, kept {row['rows_kept']}, "
            f"dropped {row['rows_dropped']}; ingested {row['ingested']}; sha256 {row['sha256']}"
            + (f"; read with {row['options']}" if row["options"] else "")
        )
    for e in read_audit(store).get("unrecognised_files", []):
        _say(f"{e['path']}\n    unrecognised (skipped by --lenient); sha256 {e['sha256']}")
    return table.height


@store_app.command("remove")
def store_remove(
    store: Annotated[Path, typer.Argument(help="A store written by 'tradeflows ingest'.")],
    files: Annotated[
        list[str], typer.Argument(help="Files as 'store list' shows them, or their sha256.")
    ],
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Fail at once if the store is being written.")
    ] = False,
) -> None:
    """Take files' rows out of a store and update its audit."""
    from tradeflows._store import remove

    doc = remove(store, files, wait=not no_wait, notice=lambda m: _say(m, err=True))
    _say(
        f"{store}: removed {', '.join(doc['removed'])}; "
        f"{doc.get('store', {}).get('rows', 0)} rows stored from {len(doc['files'])} files"
    )
    lost = sum(e.get("superseded_later", 0) for e in doc["files"])
    if lost:
        _say(
            f"note: {lost} rows of earlier files were replaced by later ones and stay out; "
            "ingest those files again with --replace to bring them back",
            err=True,
        )


fetch_app = typer.Typer(
    help="Pull fresh data from trade APIs into a store.", no_args_is_help=True,
    rich_markup_mode=None,
)  # fmt: skip
app.add_typer(fetch_app, name="fetch")


# Options every fetch command takes.
_FetchCache = Annotated[Path | None, typer.Option(help="Chunk cache (default STORE/.fetch-cache).")]
_Retries = Annotated[int, typer.Option(help="Retries of a failing call (backoff doubles).")]
_BaseUrl = Annotated[str | None, typer.Option(hidden=True)]
_Quiet = Annotated[bool, typer.Option("--quiet", "-q")]


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ingest_fetched(files: list[Path], out: Path, quiet: bool) -> None:
    """Ingest the fetched chunks that hold rows (an empty one keeps only its header)."""
    from tradeflows._fetch import has_rows
    from tradeflows._store import ingest as run_ingest

    data = [f for f in files if has_rows(f)]
    if not data:
        _say(f"{out}: the API returned no rows for this query")
        return
    doc = run_ingest(data, out)
    if not quiet:
        _say(f"{out}: {doc['store']['rows']} rows stored from {len(data)} fetched chunks")


@fetch_app.command("comtrade")
def fetch_comtrade_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="The store folder.")],
    reporters: Annotated[
        str, typer.Option(help="Reporters: Malaysia,SG or MYS,SGP or 458,702 (comma-separated).")
    ],
    periods: Annotated[
        str, typer.Option(help="2024, 2024-03, 202403 or 2023-01..2025-06, comma-separated.")
    ],
    hs: Annotated[
        str,
        typer.Option(
            "--hs", "--cmd", help="HS codes (2, 4 or 6 digits) or TOTAL, comma-separated."
        ),
    ] = "TOTAL",
    flows: Annotated[str, typer.Option(help="Flow codes, comma-separated: X, M, RX, RM.")] = "X,M",
    partners: Annotated[
        str | None, typer.Option(help="Partners, as --reporters (default: all).")
    ] = None,
    freq: Annotated[str, typer.Option(help="M or A.")] = "M",
    cache: _FetchCache = None,
    retries: _Retries = 5,
    base_url: _BaseUrl = None,
    quiet: _Quiet = False,
) -> None:
    """Fetch Comtrade+ final data (key in COMTRADE_API_KEY), then ingest it into STORE."""
    from tradeflows._fetch import COMTRADE_URL, fetch_comtrade

    files = fetch_comtrade(
        cache or out / ".fetch-cache",
        reporters=_split(reporters),
        periods=_split(periods),
        hs=_split(hs),
        flows=_split(flows),
        partners=_split(partners) if partners else None,
        freq=freq,
        base_url=base_url or COMTRADE_URL,
        retries=retries,
        progress=None if quiet else lambda m: _say(m, err=True),
    )
    _ingest_fetched(files, out, quiet)


@fetch_app.command("census")
def fetch_census_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="The store folder.")],
    periods: Annotated[
        str, typer.Option(help="2024, 2024-03 or 2023-01..2025-06, comma-separated.")
    ],
    hs: Annotated[str, typer.Option(help="HS codes (2 to 10 digits), comma-separated.")],
    flows: Annotated[
        str,
        typer.Option("--flows", "--flow", help="X (exports) and/or M (imports), comma-separated."),
    ] = "X",
    cache: _FetchCache = None,
    retries: _Retries = 5,
    base_url: _BaseUrl = None,
    quiet: _Quiet = False,
) -> None:
    """Fetch US Census monthly trade by partner (key, optional, in CENSUS_API_KEY), then ingest."""
    from tradeflows._fetch import CENSUS_URL, fetch_census

    files = fetch_census(
        cache or out / ".fetch-cache",
        periods=_split(periods),
        hs=_split(hs),
        flows=_split(flows),
        base_url=base_url or CENSUS_URL,
        retries=retries,
        progress=None if quiet else lambda m: _say(m, err=True),
    )
    _ingest_fetched(files, out, quiet)


_NO_SPACE = "No space left on device"


def _os_error(exc: OSError) -> str:
    """One line for an error of the system, naming the file."""
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
    if exc.errno == errno.ENOSPC:
        what = "no space left on the device"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        what = "permission denied"
    else:
        what = exc.strerror or _one_line(exc)
    return f"{where}: {what}" if where else what


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code instead of raising."""
    from tradeflows._log import logger

    code = _main(argv)
    logger.info("exit %d", code)
    for handler in _HANDLERS:
        logger.removeHandler(handler)
        handler.close()
    _HANDLERS.clear()
    return code


@functools.cache
def _command():
    """``app`` as a click command, built once: typer builds it again on every call
    (about 20 ms of reading the commands' signatures), and the command holds no
    state of its own between runs."""
    return typer.main.get_command(app)


def _main(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if sys.stderr.isatty() and not {"-q", "--quiet"} & set(args):
        from tradeflows._log import logger, progress_handler

        # In a terminal, each long step shows as it starts.
        _HANDLERS.append(progress_handler())
        logger.addHandler(_HANDLERS[-1])
    # A panic inside polars is reported below in one line, without the
    # lines Rust writes to stderr first (tradeflows._stderr).
    with panic_messages_dropped():
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    """The command of ``argv``; its exit code, its errors said in one line."""
    try:
        _command()(args=argv, standalone_mode=False)
    except TradeflowsInputError as exc:
        _say(f"tradeflows: error: {_one_line(exc)}", err=True)
        return 2
    except OSError as exc:
        # The system refused: a full disk, a permission, a missing folder.
        _say(f"tradeflows: error: {_os_error(exc)}", err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        _say("tradeflows: interrupted", err=True)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except TyperException as exc:
        # Usage errors (unknown option, missing argument): one line, exit 2.
        text = _one_line(exc.format_message())
        if text:  # (no arguments at all: the help was printed already)
            _say(f"tradeflows: usage error: {text} (see tradeflows --help)", err=True)
        return getattr(exc, "exit_code", 2)
    except Exception as exc:
        if os.environ.get("TRADEFLOWS_DEBUG"):
            raise
        if _NO_SPACE in str(exc):  # a full disk, as a library reports it
            _say(
                f"tradeflows: error: no space left on the device ({_one_line(exc)[:200]})", err=True
            )
            return 2
        return _internal_error(exc)
    except BaseException as exc:
        # A panic inside polars (pyo3's PanicException) is a BaseException;
        # tradeflows._engine.collect turns those of its plans into errors.
        polars = sys.modules.get("polars")
        if (
            os.environ.get("TRADEFLOWS_DEBUG")
            or polars is None
            or not isinstance(exc, polars.exceptions.PanicException)
        ):
            raise
        return _internal_error(exc)
    return 0


def _internal_error(exc: BaseException) -> int:
    """Say in one line that tradeflows failed where it should not have; exit code 1."""
    _say(
        f"tradeflows: internal error: {type(exc).__name__}: {_one_line(exc)} "
        "(set TRADEFLOWS_DEBUG=1 for the traceback)",
        err=True,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
