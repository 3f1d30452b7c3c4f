"""The command line contract: exit codes, one clear line, no traceback, store untouched."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import COMTRADE_PLUS_HEADER, comtrade_csv, comtrade_row
from tests.test_store import snapshot
from tradeflows.cli import main


@pytest.fixture
def store(tmp_path):
    """A store holding one good file."""
    good = comtrade_csv(tmp_path / "good.csv", [comtrade_row(), comtrade_row(period="202302")])
    assert main(["ingest", str(good), "--out", str(tmp_path / "store"), "--quiet"]) == 0
    return tmp_path / "store"


def _bad_inputs(d: Path) -> dict[str, tuple[Path, str]]:
    header_only = d / "header_only.csv"
    header_only.write_text(COMTRADE_PLUS_HEADER + "\n")
    empty = d / "empty.csv"
    empty.write_text("")
    wrong_delim = d / "wrong_delim.csv"
    wrong_delim.write_text(COMTRADE_PLUS_HEADER + "\n" + comtrade_row().replace(",", ";") + "\n")
    truncated = d / "truncated.csv.gz"
    truncated.write_bytes(
        gzip.compress((COMTRADE_PLUS_HEADER + "\n" + comtrade_row() * 50).encode())[:200]
    )
    text_value = comtrade_csv(d / "text_value.csv", [comtrade_row(value="12O0")])
    country = comtrade_csv(d / "country.csv", [comtrade_row(partner="9999")])
    hs = comtrade_csv(d / "hs.csv", [comtrade_row(cmd="777777")])
    month = comtrade_csv(d / "month.csv", [comtrade_row(), comtrade_row(period="202313")])
    missing = d / "missing.csv"
    missing.write_text(
        COMTRADE_PLUS_HEADER.replace("cmdCode", "commodity") + "\n" + comtrade_row() + "\n"
    )
    no_data = d / "no_data"
    no_data.mkdir()
    (no_data / "readme.md").write_text("nothing here")
    return {
        "empty": (empty, "file is empty"),
        "header only": (header_only, "no data rows"),
        "wrong delimiter": (wrong_delim, "line 2"),
        "truncated gzip": (truncated, "compressed file is truncated or corrupt"),
        "text in numeric column": (text_value, "line 2: value is not a number: value '12O0'"),
        "unknown country": (
            country,
            "line 2: unknown country code: partner '9999'",  # reporter 458 is Malaysia
        ),
        "unknown hs": (hs, "line 2: unknown HS code: HS code '777777'"),
        "month 13": (month, "line 3: unreadable period: period '202313'"),
        "missing column": (missing, "unknown layout"),
        "folder with no data": (no_data, "folder holds no data files"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "header only",
        "wrong delimiter",
        "truncated gzip",
        "text in numeric column",
        "unknown country",
        "unknown hs",
        "month 13",
        "missing column",
        "folder with no data",
    ],
)
def test_bad_input_exit_2_one_line_store_untouched(tmp_path, store, capsys, case):
    path, message = _bad_inputs(tmp_path)[case]
    before = snapshot(store)
    capsys.readouterr()
    assert main(["ingest", str(path), "--out", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("tradeflows: error: ") and message in err
    assert snapshot(store) == before


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["ingest", str(tmp_path), "--out", str(tmp_path / "s"), "--engine", "warp"]) == 2
    assert "unknown engine 'warp'" in capsys.readouterr().err
    assert main(["ingest"]) == 2
    assert main(["frobnicate"]) == 2


def test_gpu_engine_without_cudf_polars_is_a_clear_error(tmp_path, capsys):
    if importlib.util.find_spec("cudf_polars") is not None:
        pytest.skip("cudf_polars is installed here")
    good = comtrade_csv(tmp_path / "g.csv", [comtrade_row()])
    assert main(["ingest", str(good), "--out", str(tmp_path / "s"), "--engine", "gpu"]) == 2
    assert "engine 'gpu' needs the Polars GPU engine" in capsys.readouterr().err


def test_installed_entry_point_and_summary(tmp_path, store):
    exe = Path(sys.executable).with_name("tradeflows")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    run = subprocess.run(
        [str(exe), "ingest", str(bad), "--out", str(store)], capture_output=True, text=True
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr and run.stdout == ""
    html = tmp_path / "summary.html"
    run = subprocess.run(
        [str(exe), "summary", str(store), "--html", str(html)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith(str(html.resolve()))
    assert "read 2 = kept 2 + dropped 0" in run.stdout
    assert "<h1>tradeflows store summary</h1>" in html.read_text()


def test_summary_says_when_product_codes_span_two_hs_revisions(tmp_path, capsys):
    # The bundled EU data: CN8 codes of HS2017 to 2021 and of HS2022 in 2022
    # (8517.13, smartphones, came out of 8517.12). Converted at ingest, one
    # revision and nothing to say.
    from tradeflows.datasets import datasets_dir

    eu = str(datasets_dir() / "eu_electronics_exports_2020_2022.parquet")
    mixed, converted = tmp_path / "mixed", tmp_path / "converted"
    assert main(["ingest", eu, "--out", str(mixed), "--quiet"]) == 0
    assert main(["ingest", eu, "--out", str(converted), "--revision", "HS2017", "--quiet"]) == 0
    capsys.readouterr()
    html = tmp_path / "summary.html"
    assert main(["summary", str(mixed), "--html", str(html)]) == 0
    said = capsys.readouterr().out
    assert "product codes of 2 HS revisions (HS2017 2020-2021, HS2022 2022)" in said
    assert "--revision HS2017" in said
    page = html.read_text()
    assert "<h2>HS revisions of the product codes</h2>" in page and "product codes of 2" in page
    assert main(["summary", str(converted)]) == 0
    assert "HS revisions" not in capsys.readouterr().out


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    from tests.conftest import small_world as make

    return make(tmp_path_factory.mktemp("cliworld"), seed=7, episodes=4, preset=None)


def test_detect_writes_the_flags_table(tmp_path, small_world, capsys):
    import polars as pl

    out = tmp_path / "flags.parquet"
    assert main(["detect", str(small_world / "comtrade"), "--out", str(out)]) == 0
    flags = pl.read_parquet(out)
    assert flags.columns[:10] == [
        "origin", "hub", "destination", "hs", "period", "score", "evidence", "flagged", "reasons",
        "data_quality",
    ]  # fmt: skip
    printed = capsys.readouterr().out
    assert f"{out}:" in printed and "flagged" in printed
    # Every route-month scored with --all-months; by default what an analyst reads of
    # them, said on the summary line, and the same corridors either way.
    from tradeflows import corridors
    from tradeflows.detect import route_months_scored

    every = tmp_path / "every.parquet"
    assert main(["detect", str(small_world / "comtrade"), "--out", str(every), "--all-months"]) == 0
    every_flags = pl.read_parquet(every)
    assert every_flags.height == route_months_scored(flags) > 2 * flags.height
    assert (
        f"{route_months_scored(flags):,} route-months scored ({flags.height:,} written)" in printed
    )
    assert corridors(every_flags).equals(corridors(flags))
    csv = tmp_path / "flags.csv"
    assert main(["detect", str(small_world / "comtrade"), "--out", str(csv), "--flagged-only"]) == 0
    assert pl.read_csv(csv)["flagged"].all()


def test_ingest_memory_bounds_what_it_holds_and_gives_the_same_store(
    tmp_path, small_world, monkeypatch, capsys
):
    # --memory is the spool's budget: with a few kilobytes the rows read wait on
    # disk beside the store (the spool writes files), by default they stay in
    # memory; the store is the same either way. A bad size is refused before any work.
    from tradeflows._chunked import Spool
    from tradeflows._store import read_audit, scan_store

    spilled = []
    spill = Spool._spill
    monkeypatch.setattr(
        Spool, "_spill", lambda self, stage, df: spilled.append(df.height) or spill(self, stage, df)
    )
    files = str(small_world / "comtrade")
    capsys.readouterr()
    assert main(["ingest", files, "--out", str(tmp_path / "held")]) == 0
    assert spilled == [] and "memory:" not in capsys.readouterr().err
    assert main(["ingest", files, "--out", str(tmp_path / "spooled"), "--memory", "4KB"]) == 0
    assert sum(spilled) > 0
    # The summary says how many rows read waited on disk, and what to do about it.
    said = capsys.readouterr().err
    read = sum(e["rows_read"] for e in read_audit(tmp_path / "spooled")["files"])
    assert f"memory: {read:,} rows read waited on disk, beyond the 3.9 KiB budget" in said
    order = ["period", "reporter", "partner", "flow", "hs"]
    held, spooled = (scan_store(tmp_path / n).sort(order).collect() for n in ("held", "spooled"))
    assert held.height > 0 and held.equals(spooled)
    capsys.readouterr()
    for bad, message in (
        ("lots", "memory 'lots'"),
        ("0", "must be more than 0"),
        ("8", "a size needs its unit (8GiB, 8MB)"),
    ):
        assert main(["ingest", files, "--out", str(tmp_path / "bad"), "--memory", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()


def test_detect_says_why_nothing_is_scored_when_every_flow_is_small(tmp_path, small_world, capsys):
    # The same world in thousands of dollars: no leg carries USD 100k in a
    # month, no route is scored, and the summary says why instead of "0 flagged".
    import polars as pl

    from tradeflows._store import scan_store

    store = tmp_path / "store"
    assert main(["ingest", str(small_world / "comtrade"), "--out", str(store), "--quiet"]) == 0
    thousands = tmp_path / "thousands.parquet"
    scan_store(store).with_columns(pl.col("value_usd") / 1000).collect().write_parquet(thousands)
    capsys.readouterr()
    assert main(["detect", str(store), "--out", str(tmp_path / "usd.parquet")]) == 0
    usd = capsys.readouterr().out
    assert main(["detect", str(thousands), "--out", str(tmp_path / "k.parquet")]) == 0
    small = capsys.readouterr().out
    assert " 0 flagged" not in usd and "--min-usd 0" not in usd
    assert " 0 flagged on 0 corridors" in small
    assert "carries USD 100.0k in some month" in small and "--min-usd 0" in small


def test_detect_says_why_nothing_is_scored_in_trade_by_partner_and_reads_it_with_hs_total(
    tmp_path, capsys
):
    # All-goods exports by partner (the EU's to Russia and its neighbours):
    # no product code, so no route by default, and the summary says how to read them.
    from tradeflows.datasets import load_eu_total_exports

    totals = tmp_path / "totals.parquet"
    load_eu_total_exports().collect().write_parquet(totals)
    store = tmp_path / "store"
    assert main(["ingest", str(totals), "--out", str(store), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "flags.parquet"
    assert main(["detect", str(store), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert " 0 route-months scored" in printed and "--hs TOTAL reads them" in printed
    assert "--min-usd 0" not in printed
    assert main(["detect", str(store), "--out", str(out), "--hs", "total"]) == 0
    printed = capsys.readouterr().out
    assert "-> KAZ -> RUS  TOTAL" in printed and "exports of all goods to Kazakhstan" in printed
    assert (
        main(["detect", str(store), "--out", str(out), "--hs", "TOTAL", "--destinations", "CN"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "no report names a destination (CHN): --destinations all" in printed
    # A first month past the data's last: said as such, not as a materiality line.
    assert main(["detect", str(store), "--out", str(out), "--hs", "TOTAL", "--since", "2031"]) == 0
    printed = capsys.readouterr().out
    assert "the data's months end in 2024-08, before 2031-01: --since is the first" in printed
    assert "--min-usd 0" not in printed


def test_detect_says_how_far_the_lines_rose_and_can_keep_them_as_trained(
    tmp_path, small_world, capsys
):
    import polars as pl

    from tradeflows.detect._flags import base_rate

    # Every partner a destination: more routes than the concern list gives,
    # with no more episodes, so the trees expect episodes to be rarer.
    args = ["detect", str(small_world / "comtrade"), "--destinations", "all"]
    assert main([*args, "--out", str(tmp_path / "raised.parquet")]) == 0
    printed = capsys.readouterr().out
    raised = pl.read_parquet(tmp_path / "raised.parquet")
    rate = base_rate(raised)
    assert rate["line_raise"] > 0.1 and rate["share"] < rate["trained_share"]
    assert f"of these {rate['routes']:,} routes to carry an episode" in printed
    assert f"the routes' lines rose by {rate['line_raise']:.2f} log-odds" in printed
    assert main([*args, "--out", str(tmp_path / "kept.parquet"), "--lines-as-trained"]) == 0
    assert "lines kept as trained (--lines-as-trained)" in capsys.readouterr().out
    kept = pl.read_parquet(tmp_path / "kept.parquet")
    key = ["origin", "hub", "destination", "hs", "period"]
    # The raised lines flag a subset of what the trained lines flag.
    flagged = kept.filter("flagged").select(key)
    assert raised.filter("flagged").select(key).join(flagged, on=key, how="anti").is_empty()


def test_detect_takes_countries_by_name_and_a_year(tmp_path, small_world, capsys):
    """``--destinations China,Kyrgyzstan --since 2022``: the same flags as the codes,
    with names beside the codes and in the reasons; a misspelt name gets suggestions."""
    import polars as pl
    from polars.testing import assert_frame_equal

    data = str(tmp_path / "store")
    assert main(["ingest", str(small_world / "comtrade"), "--out", data, "-q"]) == 0
    named, coded = tmp_path / "named.parquet", tmp_path / "coded.parquet"
    args = ["detect", data, "--destinations", "China,Kyrgyzstan", "--since", "2022"]
    assert main([*args, "--out", str(named)]) == 0
    assert main(["detect", data, "--destinations", "CHN,KGZ", "--since", "2022-01",
                 "--out", str(coded)]) == 0  # fmt: skip
    by_name, by_code = pl.read_parquet(named), pl.read_parquet(coded)
    assert by_name.height > 0
    assert_frame_equal(by_name, by_code)
    assert set(by_name["destination"]) <= {"CHN", "KGZ"}
    assert by_name["period"].min() >= dt.date(2022, 1, 1)
    assert set(by_name["destination_name"]) <= {"China", "Kyrgyzstan"}
    flagged = by_name.filter(pl.col("flagged"))
    assert flagged.height and flagged["reasons"].str.contains(r"China \(CHN\)").all()
    capsys.readouterr()
    assert main(["detect", data, "--destinations", "Chna", "--out", str(named)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "closest: China (CHN)" in err
    assert_frame_equal(pl.read_parquet(named), by_code)  # the old flags are kept
    # Products by words: outside a terminal every code they describe, listed on stderr.
    assert main(["detect", data, "--hs", "integrated circuits processors",
                 "--out", str(named)]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "854231  Electronic integrated circuits" in err and "1 product(s)" in err
    assert set(pl.read_parquet(named)["hs"].str.slice(0, 6)) <= {"854231"}


def test_detect_writes_and_prints_the_corridors(tmp_path, small_world, capsys):
    import polars as pl
    from polars.testing import assert_frame_equal

    from tradeflows import corridors
    from tradeflows.detect import CORRIDOR_COLUMNS

    out, ranked = tmp_path / "flags.parquet", tmp_path / "corridors.csv"
    args = ["detect", str(small_world / "comtrade"), "--out", str(out), "--corridors", str(ranked)]
    assert main(args) == 0
    table = pl.read_csv(ranked, try_parse_dates=True, schema_overrides={"hs": pl.String})
    assert table.columns == CORRIDOR_COLUMNS
    assert table["rank"].to_list() == list(range(1, table.height + 1))
    expected = corridors(pl.read_parquet(out))
    assert table.select("origin", "hub", "destination", "hs").fill_null("").rows() == (
        expected.select("origin", "hub", "destination", "hs").rows()
    )
    printed = capsys.readouterr().out
    hit = expected.filter(pl.col("flagged"))
    assert f"flagged on {hit.height} corridors carrying USD" in printed
    top = hit.row(0, named=True)
    # The best-ranked flagged corridors, each with its rank among all corridors.
    assert f"{top['rank']:>3}. {top['origin'] or '*'} -> {top['hub']} -> {top['destination']}" in (
        printed
    )
    assert "at stake" in printed
    # A wrong file name is refused before any work, and nothing is written.
    assert main([*args[:-1], str(tmp_path / "corridors.txt")]) == 2
    assert "--corridors" in capsys.readouterr().err
    # Rolled up: one row per hub, destination and heading, as the library gives it.
    wide = tmp_path / "wide.parquet"
    capsys.readouterr()
    assert main([*args[:-1], str(wide), "--by", "hub, destination,hs4"]) == 0
    rolled = corridors(pl.read_parquet(out), by=["hub", "destination", "hs4"])
    assert_frame_equal(pl.read_parquet(wide), rolled)
    printed = capsys.readouterr().out
    flagged_wide = rolled.filter(pl.col("flagged"))
    assert (
        f"by hub, destination, hs4: {flagged_wide.height} of {rolled.height} corridors" in printed
    )
    lead = flagged_wide.row(0, named=True)
    assert (f"{lead['rank']:>3}. {lead['hub']} -> {lead['destination']}  {lead['hs4']}  "
            f"{lead['flagged_routes']} of {lead['routes']} routes flagged") in printed  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "FLAGS.txt"], ".csv, .parquet or .xlsx"),
        (["--since", "22-01"], "--since"),
        (["--destinations", "RUS,all"], "'all' cannot be combined"),
        (["--hs", "84x"], "--hs"),
        (["--hubs", "ZZZ"], "ZZZ"),
        (["--memory", "lots"], "memory 'lots'"),
        (["--by", "hub,hs6"], "--by 'hub,hs6': choose among"),
    ],
)
def test_detect_refuses_bad_options_and_keeps_the_old_flags(
    tmp_path, small_world, capsys, args, message
):
    out = tmp_path / "flags.csv"
    out.write_text("old flags\n")
    argv = ["detect", str(small_world / "comtrade"), "--out", str(out), *args]
    if "--out" in args:
        argv = [
            "detect",
            str(small_world / "comtrade"),
            *[a.replace("FLAGS", str(tmp_path / "f")) for a in args],
        ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert out.read_text() == "old flags\n"


def test_evaluate_prints_detector_beside_the_baseline(tmp_path, small_world, capsys):
    import json

    report = tmp_path / "eval.json"
    assert main(["evaluate", str(small_world), "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "naive_baseline" in printed and "money_baseline" in printed and "route AP" in printed
    assert "hub x HS6 AP" in printed and "at most" in printed
    results = json.loads(report.read_text())
    assert results["detector"]["route_ap"] > results["naive_baseline"]["route_ap"]
    assert results["detector"]["route_ap"] > results["money_baseline"]["route_ap"]
    assert 0.5 <= results["ap_ceiling"] <= 1.0
    # Without --flags, the corridors detect ranks, as the benchmark scores them.
    from tradeflows import corridors, detect_routes
    from tradeflows._evaluate import evaluate
    from tradeflows.detect._flags import load_canonical

    truth = pl.read_parquet(small_world / "truth.parquet")
    ranked = corridors(detect_routes(load_canonical([small_world / "comtrade"])))
    assert results["detector"]["route_ap"] == evaluate(ranked, truth)["route_ap"]


def test_evaluate_reads_a_world_laid_out_otherwise(tmp_path, small_world, capsys):
    # Another generator's world: the trade files beside the labels, and labels
    # that list only the true cases (no is_transshipment column).
    import json
    import shutil

    other = tmp_path / "other"
    other.mkdir()
    for f in (small_world / "comtrade").iterdir():
        shutil.copy(f, other / f.name)
    truth = pl.read_parquet(small_world / "truth.parquet")
    truth.write_parquet(other / "truth.parquet")
    cases = tmp_path / "cases.parquet"
    truth.filter("is_transshipment").drop("is_transshipment", "kind").write_parquet(cases)
    as_csv = tmp_path / "labels.csv"  # labels made elsewhere: text, months as 2024-05
    truth.with_columns(pl.col("period").dt.strftime("%Y-%m")).write_csv(as_csv)
    nested = tmp_path / "nested"  # the trade files in a folder of their own name
    shutil.copytree(small_world / "comtrade", nested / "data")
    truth.write_parquet(nested / "truth.parquet")
    (nested / "README.md").write_text("a world made elsewhere\n")
    results = {}
    for name, argv in {
        "ours": [str(small_world)],
        "laid out otherwise": [str(other)],
        "true cases only": [str(other), "--labels", str(cases)],
        "labels as CSV": [str(other), "--labels", str(as_csv)],
        "files in data/": [str(nested)],
    }.items():
        out = tmp_path / f"{name}.json"
        assert main(["evaluate", *argv, "--json", str(out)]) == 0
        results[name] = json.loads(out.read_text())["detector"]
    capsys.readouterr()
    assert results["laid out otherwise"]["route_ap"] == results["ours"]["route_ap"]
    assert results["true cases only"]["route_ap"] == results["ours"]["route_ap"]
    assert results["labels as CSV"] == results["ours"] == results["files in data/"]
    # Without the look-alikes' labels, none can be counted in the top k.
    assert results["true cases only"]["lookalikes_in_top_k"] == 0


def test_evaluate_refuses_a_folder_without_labels(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "no truth.parquet" in capsys.readouterr().err


def test_evaluate_refuses_a_flags_table_without_scores(tmp_path, small_world, capsys):
    bad = tmp_path / "flags.csv"
    bad.write_text("hub,destination\nMYS,CHN\n")
    assert main(["evaluate", str(small_world), "--flags", str(bad)]) == 2
    assert "flags.csv: this one has no columns 'hs', 'period', 'score'" in capsys.readouterr().err


def test_log_file_for_scheduled_runs(tmp_path, small_world, monkeypatch, capsys):
    """``--log FILE`` (or TRADEFLOWS_LOG): each step with its seconds, errors and the exit code."""
    log = tmp_path / "run.log"
    out = tmp_path / "flags.csv"
    assert main(["--log", str(log), "detect", str(small_world / "comtrade"), "-o", str(out)]) == 0
    text = log.read_text(encoding="utf-8")
    for step in ("pairing the two reports of each flow", "route indicators", "scoring"):
        assert re.search(
            rf"^\d{{4}}-\d\d-\d\d [\d:,]+ INFO {step}.*: done in \d+\.\d s$", text, re.M
        )
    assert text.rstrip().endswith("INFO exit 0")
    monkeypatch.setenv("TRADEFLOWS_LOG", str(log))
    assert (
        main(["detect", str(small_world / "comtrade"), "-o", str(out), "--hubs", "Atlantis"]) == 2
    )
    text = log.read_text(encoding="utf-8")
    assert "WARNING tradeflows: error: --hubs: unknown country 'Atlantis'" in text
    assert text.rstrip().endswith("INFO exit 2")
    # Not a terminal: nothing but the command's own lines on stderr.
    assert "pairing" not in capsys.readouterr().err


def test_products_by_words_ask_which_in_a_terminal(monkeypatch, capsys):
    """In a terminal, --hs words list the matching codes and take the reader's choice."""
    import typer

    from tradeflows import cli
    from tradeflows.names import hs_products

    codes = hs_products("integrated circuits")
    assert len(codes) > 2
    monkeypatch.setattr(cli.sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(typer, "prompt", lambda *a, **k: "1,3")
    assert cli._products("integrated circuits") == [codes[0], codes[2]]
    listed = capsys.readouterr().err
    assert all(code in listed for code in codes)
    monkeypatch.setattr(typer, "prompt", lambda *a, **k: "99")
    with pytest.raises(cli.TradeflowsInputError, match="numbers from the list"):
        cli._products("integrated circuits")
    monkeypatch.setattr(typer, "prompt", lambda *a, **k: "all")
    assert cli._products("integrated circuits") == codes


def test_detect_and_report_write_excel_workbooks(tmp_path, small_world, monkeypatch, capsys):
    """``--out flags.xlsx``: a corridors sheet and a route-months sheet, typed, with names;
    text is never a formula; a table larger than a sheet is refused, nothing written."""
    import zipfile

    import polars as pl

    from tradeflows import _files, corridors

    data = str(small_world / "comtrade")
    book, table = tmp_path / "flags.xlsx", tmp_path / "flags.parquet"
    assert main(["detect", data, "--out", str(table), "-q"]) == 0
    assert main(["detect", data, "--out", str(book), "--corridors", str(tmp_path / "c.xlsx"),
                 "-q"]) == 0  # fmt: skip
    flags = pl.read_parquet(table)
    months = pl.read_excel(book, sheet_name="route-months", infer_schema_length=None)
    ranked = pl.read_excel(book, sheet_name="corridors")
    assert months.height == flags.height and months.columns == flags.columns
    assert months["score"].dtype == pl.Float64 and months["period"].dtype in (pl.Date, pl.Datetime)
    assert ranked.height == corridors(flags).height
    assert {"hub_name", "destination_name", "hs_description"} <= set(ranked.columns)
    assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))
    assert pl.read_excel(tmp_path / "c.xlsx", sheet_name="corridors").height == ranked.height
    sheet = zipfile.ZipFile(book).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and '<pane ySplit="1"' in sheet  # no formula; header frozen
    # The report's workbook: every corridor, the months of the flagged ones.
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    assert main(["report", data, "--out", str(html), "--xlsx", str(xlsx), "-q"]) == 0
    flagged = pl.read_excel(xlsx, sheet_name="corridors").filter(pl.col("flagged"))
    rm = pl.read_excel(xlsx, sheet_name="route-months", infer_schema_length=None)
    key = ["hub", "destination", "hs"]
    assert flagged.height and set(rm.select(key).unique().rows()) == set(
        flagged.select(key).unique().rows()
    )
    monkeypatch.setattr(_files, "_EXCEL_ROWS", 10)
    before = book.read_bytes()
    assert main(["detect", data, "--out", str(book), "-q"]) == 2
    assert "more than Excel holds" in capsys.readouterr().err and book.read_bytes() == before


def test_text_in_a_workbook_is_never_a_formula(tmp_path):
    import polars as pl

    from tradeflows._files import write_workbook_atomic

    path = tmp_path / "x.xlsx"
    evil = pl.DataFrame(
        {"hub": ['=HYPERLINK("http://x")', "+1", "@SUM(A1)"], "v": [1.0, None, float("nan")]}
    )
    write_workbook_atomic(path, {"s": evil})
    back = pl.read_excel(path, sheet_name="s")
    assert back["hub"].to_list() == evil["hub"].to_list()
    assert back["v"].to_list() == [1.0, None, None]


def test_the_flags_workbook_opens_in_openpyxl_typed_with_names(tmp_path, small_world):
    """Opened as another spreadsheet reader does: names beside codes, numbers as numbers
    with formats, months as dates, frozen headers, autofilters, and a formula-looking
    name (from a crafted file) kept as text."""
    import openpyxl
    import polars as pl

    from tradeflows import corridors, detect_routes
    from tradeflows.names import country_name

    flags = detect_routes([small_world / "comtrade"]).head(200)
    evil = '=HYPERLINK("http://x","click")'
    flags = flags.with_columns(hub_name=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(evil))
                               .otherwise(pl.col("hub_name")))  # fmt: skip
    path = tmp_path / "flags.xlsx"
    from tradeflows._files import write_workbook_atomic

    write_workbook_atomic(path, {"corridors": corridors(flags), "route-months": flags})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["corridors", "route-months"]
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2" and ws.tables, ws.title  # a table carries the filter
        header = [c.value for c in ws[1]]
        assert {"hub", "hub_name", "destination_name", "hs_description"} <= set(header)
    ws = book["route-months"]
    header = [c.value for c in ws[1]]
    first = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert first["hub_name"].value == evil and first["hub_name"].data_type == "s"
    assert first["score"].data_type == "n" and isinstance(first["score"].value, float)
    assert first["period"].is_date and first["period"].number_format == "yyyy-mm"
    assert first["extra_usd"].number_format == "#,##0"
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=3)]
    assert rows and all(r["hub_name"] == country_name(r["hub"]) for r in rows)


def test_every_help_renders_its_whole_text():
    """Each command's --help shows every option's help as written ("[report] and [detect]")."""
    import re as _re

    import typer
    from typer.testing import CliRunner

    from tradeflows.cli import app

    def commands(group, path: list[str]):
        yield path, group
        if hasattr(group, "commands"):
            for name, sub in group.commands.items():
                yield from commands(sub, [*path, name])

    def words(text: str) -> str:
        return " ".join(_re.sub(r"[│╭╮╰╯─]", " ", text).split())

    runner = CliRunner()
    seen = 0
    for path, command in commands(typer.main.get_command(app), []):
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        shown = words(result.output)
        for param in command.params:
            text = getattr(param, "help", None)
            if text:
                seen += 1
                assert words(text) in shown, (path, param.name, text)
    assert seen > 40
