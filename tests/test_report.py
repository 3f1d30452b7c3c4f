"""The HTML report: contents, determinism, escaping, changes since the last one, a real browser."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from pathlib import Path

import polars as pl
import pytest

from tests.browser import ARTIFACTS, open_offline, plot_state
from tests.conftest import small_world
from tradeflows._errors import TradeflowsInputError
from tradeflows._reference import policy_dates
from tradeflows._report import build_report, load_config, render, summarise, table_rows
from tradeflows.cli import main
from tradeflows.detect import roll_up
from tradeflows.detect._corridors import corridors
from tradeflows.names import country

CONFIG = {"report": {"title": "Test report", "top_routes": 10, "drilldowns": 2, "table_rows": 100},
          "detect": {"destinations": None, "hubs": None, "hs": None, "since": None}}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return small_world(tmp_path_factory.mktemp("reportworld"), seed=21, preset=None)


@pytest.fixture(scope="module")
def report(world, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    build_report([world / "comtrade"], path, config=CONFIG, built="2026-01-01 00:00 UTC")
    return path


def test_report_holds_every_section(report):
    text = report.read_text()
    for anchor in ("overview", "flags", "drilldown", "coverage", "method", "provenance"):
        assert f'id="{anchor}"' in text
    assert text.count("* plotly.js v") == 1  # plotly.js embedded once
    assert "Test report" in text and "comtrade_2021.csv" in text
    assert re.search(r"<code>[0-9a-f]{64}</code>", text)  # file hashes in the provenance
    markup = re.sub(r"<script.*?</script>", "", text, flags=re.S)  # the page without its code
    assert not re.search(r'(src|href)="https?://', markup)


def test_same_inputs_same_bytes_but_the_build_time(world, report, tmp_path):
    again = tmp_path / "again.html"
    build_report([world / "comtrade"], again, config=CONFIG, built="2027-06-30 12:00 UTC")
    a = report.read_text().replace("2026-01-01 00:00 UTC", "BUILT")
    b = again.read_text().replace("2027-06-30 12:00 UTC", "BUILT")
    assert a == b


def _tiny_flags(text: str) -> pl.DataFrame:
    return pl.DataFrame({
        "origin": ["USA"], "hub": [text], "destination": ["CHN"], "hs": ["847150"],
        "period": [dt.date(2024, 1, 1)], "score": [9.0], "flagged": [True], "reasons": [text],
        "data_quality": [None], "extra_usd": [1e6],
    }, schema_overrides={"data_quality": pl.String})  # fmt: skip


EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def test_text_from_the_data_is_escaped(tmp_path):
    flags = _tiny_flags(EVIL)
    lf = pl.LazyFrame({"period": [dt.date(2024, 1, 1)], "freq": ["M"], "reporter": ["USA"],
                       "partner": ["MYS"], "hs": ["847150"], "value_usd": [1.0]})  # fmt: skip
    audit = {
        "files": [{"source": EVIL, "format": "x", "sha256": "0" * 64, "bytes": 1}],
        "totals": {},
    }
    ranked = corridors(flags)
    wide = roll_up(ranked, ["hub", "destination", "hs4"])  # the wide table shows it too
    s = summarise(lf, flags, audit, config=CONFIG, built="now", ranked=ranked, wide=wide)
    text = render(s, [], [], table=table_rows(flags, 10))
    assert 'id="wide-table"' in text
    assert EVIL not in text
    assert "&lt;script&gt;alert(" in text
    (tmp_path / "evil.html").write_text(text)


def test_a_corridors_score_shows_its_two_parts():
    # The table's score is the corridor model's log-odds plus a term for the
    # value at stake; a reader could not tell the two apart (evidence 0.8 and
    # score 5.9 on Armenia's corridor to Russia). Pointing at it says both.
    flags = pl.concat([
        _tiny_flags("MYS"),
        _tiny_flags("SGP").with_columns(score=pl.lit(3.0), extra_usd=pl.lit(5e7)),
    ])  # fmt: skip
    rows = table_rows(flags, 10)
    assert [r["hub"] for r in rows] == ["MYS", "SGP"]
    # USD 1m a month adds 0.5 ln 2, USD 50m 0.5 ln 51: the months' part is the rest.
    assert [round(r["money"], 3) for r in rows] == [0.347, 1.966]
    assert [round(r["score"] - r["money"], 6) for r in rows] == [9.0, 3.0]
    lf = pl.LazyFrame({"period": [dt.date(2024, 1, 1)], "freq": ["M"], "reporter": ["USA"],
                       "partner": ["MYS"], "hs": ["847150"], "value_usd": [1.0]})  # fmt: skip
    s = summarise(lf, flags, {"files": [], "totals": {}}, config=CONFIG, built="now")
    text = render(s, [], [], table=rows)
    assert 'title="9.0 from its months + 0.3 for the value at stake">9.3<' in text
    assert 'title="3.0 from its months + 2.0 for the value at stake">5.0<' in text
    # A corridor flagged in one month says that month once, not "2024-01 to 2024-01".
    assert "<summary>1: 2024-01</summary>" in text and "2024-01 to 2024-01" not in text


def test_a_report_of_trade_by_partner_says_why_nothing_is_scored_and_reads_it_when_asked(
    tmp_path,
):
    # All-goods exports by partner build no route unless the config asks for
    # TOTAL: the report says so instead of showing empty tables alone.
    from tradeflows.datasets import load_eu_total_exports

    totals = tmp_path / "totals.parquet"
    load_eu_total_exports().collect().write_parquet(totals)
    plain = build_report([totals], tmp_path / "plain.html", config=CONFIG, built="now")
    text = plain.read_text()
    assert "<b>No route was scored:</b> the data holds all-goods totals only" in text
    assert "hs = [&#34;TOTAL&#34;] in [detect] reads them as one product" in text
    asked = {**CONFIG, "detect": {**CONFIG["detect"], "hs": ["TOTAL"]}}
    read = build_report([totals], tmp_path / "read.html", config=asked, built="now").read_text()
    assert "No route was scored" not in read
    assert re.search(r"<b>[1-9]\d*</b>flagged corridors", read)
    assert "exports of all goods to Kazakhstan" in read


def test_the_method_says_how_common_episodes_look_and_how_far_the_lines_rose():
    # A wide screen: 40,000 routes that look like nothing, one that does.
    calm = pl.DataFrame({"hub": [f"H{i % 90:02d}" for i in range(40_000)],
                         "hs": [f"{847100 + i // 90}" for i in range(40_000)]})  # fmt: skip
    flags = pl.concat(
        [_tiny_flags("MYS").with_columns(corridor_score=pl.lit(3.0)),
         _tiny_flags("MYS").drop("hub", "hs").join(calm, how="cross")
         .with_columns(flagged=pl.lit(False), score=pl.lit(-9.0), corridor_score=pl.lit(-9.0))],
        how="diagonal",
    )  # fmt: skip
    lf = pl.LazyFrame({"period": [dt.date(2024, 1, 1)], "freq": ["M"], "reporter": ["USA"],
                       "partner": ["MYS"], "hs": ["847150"], "value_usd": [1.0]})  # fmt: skip
    audit = {"files": [], "totals": {}}
    wide = summarise(lf, flags, audit, config=CONFIG, built="now")["base_rate"]
    assert wide["routes"] == 40_001 and wide["share"] < wide["trained_share"] / 10
    assert wide["line_raise"] > 1.0
    text = render(summarise(lf, flags, audit, config=CONFIG, built="now"), [], [], table=[])
    assert f"the routes' lines were raised by {wide['line_raise']:.2f} log-odds" in text
    assert "of the 40,001 routes to carry one" in text
    # One flagged route alone: too little to move the lines.
    small = summarise(lf, flags.head(1), audit, config=CONFIG, built="now")
    assert small["base_rate"]["line_raise"] == 0.0
    assert "the lines stand as chosen" in render(small, [], [], table=[])
    # Another detector's flags carry no corridor trees' scores: nothing is said.
    assert summarise(lf, _tiny_flags("MYS"), audit, config=CONFIG, built="now")["base_rate"] is None


@pytest.mark.parametrize(
    "by, words, name",
    [
        (["origin"], "origin", "United States"),
        (["hub"], "hub", "Malaysia"),
        (["destination"], "destination", "China"),
        (["hs"], "product", "Units of automatic data"),
        (["hs4"], "heading", "Automatic data processing machines"),
        (["hs2"], "chapter", "Machinery and mechanical appliances"),
        (["hub", "destination", "hs4"], "hub, destination and heading", "Malaysia"),
    ],
)
def test_the_wide_table_shows_any_roll_up_with_names(by, words, name):
    flags = pl.DataFrame({
        "origin": ["USA", "JPN", "USA"], "hub": ["MYS", "MYS", "SGP"], "destination": "CHN",
        "hs": ["847150", "847130", "851762"], "period": dt.date(2024, 1, 1),
        "score": [9.0, 7.0, 1.0], "flagged": [True, True, False], "reasons": ["a", "b", "c"],
        "data_quality": None, "extra_usd": [1e6, 2e6, 0.0],
    }, schema_overrides={"data_quality": pl.String})  # fmt: skip
    lf = pl.LazyFrame({"period": [dt.date(2024, 1, 1)], "freq": ["M"], "reporter": ["USA"],
                       "partner": ["MYS"], "hs": ["847150"], "value_usd": [1.0]})  # fmt: skip
    ranked = corridors(flags)
    wide = roll_up(ranked, by)
    s = summarise(lf, flags, {"files": [], "totals": {}}, config=CONFIG, built="now",
                  ranked=ranked, wide=wide)  # fmt: skip
    section = render(s, [], [], table=table_rows(flags, 10)).split('id="wide"')[1]
    section = section.split('id="flags"')[0]
    assert f"Flagged corridors by {words}</h2>" in section
    hit = wide.filter(pl.col("flagged"))
    assert section.count("<tr>") == 1 + hit.height  # the head, then the flagged ones
    assert f"{hit['flagged_routes'][0]} of {hit['routes'][0]}" in section
    assert re.search(f'data-name="{name}', section), section[:600]


def test_report_chapter_by_chapter_is_the_same_report(world, report, tmp_path):
    # --partition: detection one HS chapter at a time, the drill-downs' mirror
    # on their chapters only, with the whole data's CIF/FOB ratios and weights.
    store = tmp_path / "store"
    from tradeflows._store import ingest

    ingest([world / "comtrade"], store)
    parted = tmp_path / "parted.html"
    build_report([store], parted, config=CONFIG, built="2026-01-01 00:00 UTC", partition=True)
    assert parted.read_text() == report.read_text().replace(str(world / "comtrade"), str(store))


def test_a_store_too_large_to_pair_at_once_gives_the_same_report(world, report, tmp_path):
    """Over the memory budget by its rows alone, the report goes chapter by chapter by
    itself (no whole-store pairing, no whole store in memory) to the same page."""
    from tradeflows._mirror import mirror_rows as real_mirror
    from tradeflows._store import ingest, scan_store
    from tradeflows.detect._budget import pairs_estimate, whole_run_bytes

    store = tmp_path / "store"
    ingest([world / "comtrade"], store)
    paired = pairs_estimate(scan_store(store))[1]
    wholes = []

    def only_chapters(lf, engine=None, **kwargs):
        wholes.append(kwargs.get("chapters") is None)
        return real_mirror(lf, engine, **kwargs)

    out = tmp_path / "tight.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tradeflows._mirror.mirror_rows", only_chapters)
        build_report([store], out, config=CONFIG, built="2026-01-01 00:00 UTC",
                     memory=whole_run_bytes(paired, 0) - 1)  # fmt: skip
    assert wholes == [False]  # the drill-downs' chapters only
    assert out.read_text() == report.read_text().replace(str(world / "comtrade"), str(store))


def test_one_mirror_serves_the_detection_and_the_figures(world, monkeypatch, tmp_path):
    from tradeflows.detect import _flags

    module = importlib.import_module("tradeflows._mirror")  # the package's `mirror` is the function
    real, calls = module.mirror_rows, []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("chapters"))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "mirror_rows", counted)
    monkeypatch.setattr(_flags, "mirror_rows", counted)
    build_report([world / "comtrade"], tmp_path / "r.html", config=CONFIG)
    assert calls == [None]


def test_changes_since_the_previous_report(world, report, tmp_path):
    later = tmp_path / "later.html"
    narrower = {**CONFIG, "detect": {**CONFIG["detect"], "since": "2024-06"}}
    build_report([world / "comtrade"], later, config=narrower, previous=report, built="later")
    text = later.read_text()
    assert 'id="changes"' in text and "2026-01-01 00:00 UTC" in text
    assert "No longer flagged" in text or "Score moved" in text or "Newly flagged" in text


def test_config_file_is_checked(tmp_path):
    bad = tmp_path / "report.toml"
    bad.write_text("[report]\ncolour = 'red'\n")
    with pytest.raises(Exception, match="unknown key"):
        load_config(bad)
    bad.write_text("[report\n")
    with pytest.raises(Exception, match="not valid TOML"):
        load_config(bad)
    # Codes written as TOML numbers: the message shows how to write them.
    bad.write_text("[detect]\nhs = [8471]\n")
    with pytest.raises(
        TradeflowsInputError,
        match=r'hs = \[8471\]: expected a list of codes as text \(\["8471"\]\)',
    ):
        load_config(bad)


@pytest.mark.parametrize("by", ['["hub", "hs6"]', '"hub"', "[1]"])
def test_a_wrong_roll_up_is_refused_with_one_line(by, tmp_path):
    bad = tmp_path / "report.toml"
    bad.write_text(f"[report]\nby = {by}\n")
    with pytest.raises(TradeflowsInputError, match=r"report.toml: \[report\] by = .*: choose "
                       r"among origin, hub, destination, hs, hs4, hs2 \(\[\] for none\)"):  # fmt: skip
        load_config(bad)


def test_wide_corridors_follow_the_config(world, report, tmp_path):
    text = report.read_text()
    assert 'id="wide"' in text and "Flagged corridors by hub, destination and heading" in text
    config = {"report": {**CONFIG["report"], "by": ["destination", "hs2"], "wide_rows": 2},
              "detect": CONFIG["detect"]}  # fmt: skip
    path = build_report([world / "comtrade"], tmp_path / "w.html", config=config, built="x")
    page = path.read_text()
    assert "Flagged corridors by destination and chapter" in page
    body = page.split('id="wide-table"')[1].split("</table>")[0]
    assert body.count("<tr>") == 1 + 2  # the head and two rows
    config["report"]["by"] = []
    page = build_report([world / "comtrade"], tmp_path / "n.html", config=config, built="x")
    assert 'id="wide"' not in page.read_text()


def test_cli_report_prints_its_path_and_refuses_bad_input(world, tmp_path, capsys):
    out = tmp_path / "r.html"
    config = tmp_path / "report.toml"
    config.write_text('[report]\ndrilldowns = 1\n[detect]\ndestinations = ["CHN", "RUS"]\n')
    assert (
        main(["report", str(world / "comtrade"), "--out", str(out), "--config", str(config)]) == 0
    )
    assert capsys.readouterr().out.strip() == str(out.resolve())
    assert main(["report", str(world / "comtrade"), "--out", str(tmp_path / "r.pdf")]) == 2
    assert ".html" in capsys.readouterr().err
    config.write_text("[detect]\ndestinations = ['XX']\n")
    out.write_text("old")
    assert (
        main(["report", str(world / "comtrade"), "--out", str(out), "--config", str(config)]) == 2
    )
    assert out.read_text() == "old"  # a failed report leaves the old one


def test_report_in_a_real_browser_offline(browser, report, tmp_path):
    seen = open_offline(browser, report)
    page = seen["page"]
    plots = plot_state(page)
    assert len(plots) == 4 + 2 * 2  # overview figures, then two figures per drill-down
    for plot in plots:
        assert plot["svgs"] >= 1 and plot["traces"] >= 1 and plot["paths"] > 3, plot
    assert seen["errors"] == [] and seen["external"] == [] and seen["dialogs"] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"))
    page.screenshot(path=str(ARTIFACTS / "report_full.png"), full_page=True)

    def scores():
        return [float(x) for x in page.eval_on_selector_all(
            "#flags-table > tbody > tr", "rows => rows.map(r => r.cells[5].dataset.value)")]  # fmt: skip

    assert len(scores()) > 2
    page.click("#flags-table > thead th:nth-child(6)")
    assert scores() == sorted(scores())
    page.click("#flags-table > thead th:nth-child(6)")
    assert scores() == sorted(scores(), reverse=True)
    # Month detail on demand: closed at first, then one row per flagged month.
    top = "#flags-table > tbody > tr:first-child"
    n = int(page.eval_on_selector(top, "r => r.cells[4].dataset.value"))
    assert n >= 1 and not page.is_visible(f"{top} table.detail")
    page.click(f"{top} details.months > summary")
    assert page.is_visible(f"{top} table.detail")
    detail = page.eval_on_selector_all(
        f"{top} table.detail tbody tr",
        "rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])",
    )
    assert len(detail) == n and [m for m, _ in detail] == sorted(m for m, _ in detail)
    assert all(re.fullmatch(r"\d{4}-\d{2}", m) and float(x) == float(x) for m, x in detail), detail
    hub = page.eval_on_selector("#flags-table > tbody > tr", "r => r.cells[1].textContent")
    page.fill("#flag-search", hub)
    shown = page.eval_on_selector_all(
        "#flags-table > tbody > tr",
        "rows => rows.filter(r => r.style.display !== 'none').map(r => r.cells[1].textContent)",
    )
    assert shown and set(shown) == {hub}
    # By name, as a reader types it: "malaysia" finds the hub MYS.
    name = page.eval_on_selector("#flags-table > tbody > tr", "r => r.cells[1].dataset.name")
    page.fill("#flag-search", name.lower())
    shown = page.eval_on_selector_all(
        "#flags-table > tbody > tr",
        "rows => rows.filter(r => r.style.display !== 'none').map(r => r.cells[1].dataset.name)",
    )
    assert shown and set(shown) == {name}
    # The downloads work offline and hold the table: CSV, and Excel with the months too.
    rows, table, book = downloaded(page, tmp_path)
    months = pl.read_excel(tmp_path / "f.xlsx", sheet_name="route-months", infer_schema_length=None)
    for got in (table, book):
        assert got.select("hub", "hs").rows() == rows
    assert months.height >= book["months"].sum() > 0
    page.close()


def test_a_malicious_name_shows_as_text_in_the_browser(browser, tmp_path):
    test_text_from_the_data_is_escaped(tmp_path)
    seen = open_offline(browser, tmp_path / "evil.html", settle_ms=500)
    assert seen["dialogs"] == []
    cell = seen["page"].eval_on_selector("#flags-table > tbody > tr", "r => r.cells[1].textContent")
    assert cell == EVIL
    seen["page"].close()


def test_the_bundled_report_opens_offline_with_every_figure(browser, tmp_path):
    """What `make report` writes: the bundled EU data with this repository's report.toml."""
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "report.html"
    sources = [
        root / "datasets" / "eu_electronics_exports_2020_2022.parquet",
        root / "datasets" / "eu_export_sanctions",
    ]
    build_report(sources, out, config=root / "report.toml", built="test")
    seen = open_offline(browser, out, settle_ms=2500)
    plots = plot_state(seen["page"])
    config = load_config(root / "report.toml")
    # Each drill-down draws its route's legs, and its mirror gap or, where
    # the hub files nothing (the EU data is the exporters' side only), says why not.
    legs = [p for p in plots if p["id"].endswith("-legs")]
    notes = seen["page"].eval_on_selector_all("p.gap-note", "ps => ps.map(p => p.textContent)")
    assert len(legs) == config["report"]["drilldowns"]
    assert len(plots) == 4 + len(legs) + (len(legs) - len(notes))
    assert notes and all("no gap to show" in n for n in notes), notes
    assert all(p["svgs"] >= 1 and p["traces"] >= 1 and p["paths"] > 3 for p in plots), plots
    assert seen["errors"] == [] and seen["external"] == []
    hubs = seen["page"].eval_on_selector_all(
        "#flags-table > tbody > tr", "rows => rows.map(r => r.cells[1].textContent)"
    )
    assert {"ARM", "KAZ", "KGZ"} <= set(hubs)
    # The wide corridors (hub, destination, heading): the studies' KAZ -> RUS 8471 among
    # the first three, each row's routes counted, the reasons opened on demand.
    wide = seen["page"].eval_on_selector_all(
        "#wide-table > tbody > tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )
    assert 0 < len(wide) <= config["report"]["wide_rows"]
    assert ["KAZ", "RUS", "8471"] in [r[:3] for r in wide[:3]], wide[:3]
    counts = [re.fullmatch(r"(\d+) of (\d+)", r[3]) for r in wide]
    assert all(m and 0 < int(m[1]) <= int(m[2]) for m in counts), [r[3] for r in wide]
    scores = [float(r[6]) for r in wide]
    assert scores == sorted(scores, reverse=True)
    assert all(len(r[7]) > 40 for r in wide)  # the first route and its reasons
    # Names beside the codes, and the filter finds products by words of their description.
    page = seen["page"]
    names = page.eval_on_selector_all(
        "#flags-table > tbody > tr", "rows => rows.map(r => r.cells[1].dataset.name)"
    )
    assert {"Armenia", "Kazakhstan", "Kyrgyzstan"} <= set(names)
    # An analyst scrolls it: under 11,000 px at 1280x800 (10,000 before the wide
    # corridors' table, about 700 px), each corridor's reasons said once.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollHeight") < 11_000
    why = page.eval_on_selector_all("#drilldown ~ p.reasons", "ps => ps.map(p => p.textContent)")
    assert len(why) == config["report"]["drilldowns"] == len(set(why))
    spans = page.eval_on_selector_all(
        "#flags-table > tbody > tr",
        "rows => rows.map(r => r.cells[4].querySelector('summary').textContent)",
    )
    assert all(re.fullmatch(r"\d+: \d{4}-\d\d to \d{4}-\d\d", t) for t in spans), spans[:3]
    reasons = " ".join(page.eval_on_selector_all(
        "#flags-table > tbody > tr", "rows => rows.map(r => r.cells[8].textContent)"))  # fmt: skip
    assert "russia_sanctions" not in reasons and "_" not in reasons
    described = page.eval_on_selector_all(
        "#flags-table > tbody > tr", "rows => rows.map(r => r.cells[3].title)"
    )
    word = max(described[0].split(), key=len).strip(",;:()").lower()
    page.fill("#flag-search", word)
    shown = page.eval_on_selector_all(
        "#flags-table > tbody > tr",
        "rows => rows.filter(r => r.style.display !== 'none').map(r => r.cells[3].title)",
    )
    assert described[0] in shown
    bad, zeros, _ = unfiled_zeros(drawn_zeros(seen["page"]), _canonical(sources))
    assert bad == [], f"{len(bad)} of {zeros} zeros drawn in months nobody filed: {bad[:3]}"
    # The words a reader sees: months as 2022-03, never 2022-03-01; no internal policy id.
    page.fill("#flag-search", "")
    text = page.evaluate(
        """(() => { const c = document.body.cloneNode(true);
            c.querySelectorAll('script').forEach(s => s.remove()); return c.textContent; })()"""
    )
    assert not re.search(r"\b\d{4}-\d{2}-01\b", text), re.findall(
        r".{40}\d{4}-\d{2}-01.{20}", text
    )[:3]
    ids = policy_dates()["name"].to_list()
    assert not [i for i in ids if i in text]
    # The parameters as words: "RUS, BLR", not a Python list.
    wanted = ", ".join(config["detect"]["destinations"])
    assert f"destinations{wanted}" in text and "['" not in text
    # Control dates are drawn only on routes whose destination the rule targets: the
    # EU -> Russia routes span the US chip rule on China (2022-10) and must not show it.
    aimed = dict(policy_dates().select("label", "targets").rows())
    drawn = page.evaluate(
        """Array.from(document.querySelectorAll('div.js-plotly-plot'))
            .filter(d => d.id.endsWith('-legs'))
            .map(d => [d.layout.title.text, (d.layout.annotations || []).map(a => a.text)])"""
    )
    seen_rules = set()
    for title, notes in drawn:
        destination = country(title.split("→")[2].split(":")[0].strip())
        rules = [t for t in notes if t in aimed]
        assert all(destination in aimed[t] for t in rules), (title, rules)
        seen_rules |= set(rules)
    assert seen_rules == {"the export bans on Russia and Belarus"}
    # The download buttons give the flagged corridors as CSV and XLSX, the table's rows.
    rows, table, book = downloaded(page, tmp_path)
    for got in (table, book):
        assert got.select("hub", "hs").rows()[: len(rows)] == rows
        assert got["flagged"].all() and got.height >= len(rows) > 0
    seen["page"].screenshot(path=str(ARTIFACTS / "bundled_report.png"))
    seen["page"].close()


def downloaded(page, folder: Path) -> tuple[list[tuple], pl.DataFrame, pl.DataFrame]:
    """The table's (hub, HS) rows as shown, and the CSV and the XLSX corridors sheet its
    download links give (clicked in the browser, saved in ``folder``)."""
    rows = page.eval_on_selector_all(
        "#flags-table > tbody > tr",
        "rows => rows.map(r => [r.cells[1].textContent, r.cells[3].textContent])",
    )
    for link, name in (("#download-csv", "c.csv"), ("#download-xlsx", "f.xlsx")):
        with page.expect_download() as info:
            page.click(link)
        info.value.save_as(folder / name)
    table = pl.read_csv(folder / "c.csv", schema_overrides={"hs": pl.String})
    book = pl.read_excel(
        folder / "f.xlsx", sheet_name="corridors", schema_overrides={"hs": pl.String}
    )
    return [tuple(r) for r in rows], table, book


def drawn_zeros(page) -> list[dict]:
    """Every zero a report side's line draws: its reporter, side (X or M) and month."""
    return page.evaluate(
        """Array.from(document.querySelectorAll('div.js-plotly-plot')).flatMap(d =>
            (d.data || []).filter(t => t.meta && t.meta.reporter).flatMap(t =>
                Array.from(t.x).map((x, i) => ({x: String(x).slice(0, 10), y: t.y[i],
                    reporter: t.meta.reporter, side: t.meta.side}))))"""
    )


def unfiled_zeros(points: list[dict], lf: pl.LazyFrame) -> tuple[list[dict], int, int]:
    """The zero points drawn in a month whose reporter filed nothing at product level,
    with the number of zero points and of gaps seen."""
    from tradeflows._routes import coverage_table

    filed = set(
        coverage_table(lf)
        .filter((pl.col("freq") == "M") & pl.col("products"))
        .select("reporter", "role", pl.col("period").cast(pl.String))
        .collect()
        .rows()
    )
    zeros = [p for p in points if p["y"] == 0]
    bad = [p for p in zeros if (p["reporter"], p["side"], p["x"]) not in filed]
    return bad, len(zeros), sum(p["y"] is None for p in points)


def test_months_nobody_filed_are_gaps_in_the_browser(browser, tmp_path):
    """A world where reporters skip months (four times the calibrated rate): every zero
    a chart draws is a month its reporter filed; the months it skipped are gaps."""
    from tradeflows._store import scan_store

    out = small_world(tmp_path, seed=24, store=True, preset=None, missing=4.0, n_others=8,
                      n_products=10, pairs_per_product=20, episodes=4, lookalikes=2)  # fmt: skip
    path = tmp_path / "report.html"
    config = {**CONFIG, "report": {**CONFIG["report"], "drilldowns": 4}}
    build_report([out / "store"], path, config=config, built="test")
    seen = open_offline(browser, path, settle_ms=1500)
    points = drawn_zeros(seen["page"])
    bad, zeros, gaps = unfiled_zeros(points, scan_store(out / "store"))
    assert points and gaps > 0  # the charts were read, and they do show gaps
    assert bad == [], f"{len(bad)} of {zeros} zeros drawn in months nobody filed: {bad[:3]}"
    seen["page"].close()


def _canonical(sources) -> pl.LazyFrame:
    from tradeflows.detect._flags import load_canonical

    return load_canonical(sources)


def test_the_corridor_table_is_paged_and_the_filter_searches_every_page(browser, tmp_path):
    """50 flagged corridors: 15 a page, next and previous move, the filter reaches page 4."""
    hubs = ["MYS", "SGP", "THA", "ARE", "KAZ", "KGZ"]
    flags = pl.concat(
        _tiny_flags(hubs[i % 6]).with_columns(hs=pl.lit(f"8471{i:02d}"), score=pl.lit(100.0 - i))
        for i in range(50)
    )
    lf = pl.LazyFrame({"period": [dt.date(2024, 1, 1)], "freq": ["M"], "reporter": ["USA"],
                       "partner": ["MYS"], "hs": ["847150"], "value_usd": [1.0]})  # fmt: skip
    s = summarise(lf, flags, {"files": [], "totals": {}}, config=CONFIG, built="now")
    path = tmp_path / "paged.html"
    path.write_text(render(s, [], [], table=table_rows(flags, 500)), encoding="utf-8")
    seen = open_offline(browser, path, settle_ms=300)
    page = seen["page"]

    def visible():
        return page.eval_on_selector_all(
            "#flags-table > tbody > tr",
            "rows => rows.filter(r => r.style.display !== 'none').map(r => r.cells[3].textContent)",
        )

    first = visible()
    assert len(first) == 15 and page.inner_text("#flags-shown") == "rows 1-15 of 50"
    assert page.is_disabled("#flags-prev")
    page.click("#flags-next")
    second = visible()
    assert len(second) == 15 and not set(first) & set(second)
    page.click("#flags-next")
    third = visible()
    page.click("#flags-next")
    assert len(visible()) == 5 and page.is_disabled("#flags-next")
    page.click("#flags-prev")
    assert visible() == third and not set(second) & set(third)
    page.fill("#flag-search", "847149")  # the 50th corridor, on the fourth page
    assert visible() == ["847149"] and page.inner_text("#flags-shown") == "rows 1-1 of 1 matching"
    assert seen["errors"] == []
    page.close()


def test_the_report_object_computes_once_and_writes_what_build_report_writes(world, tmp_path):
    from tradeflows._report import Report

    report = Report([world / "comtrade"], config=CONFIG, built="2026-01-01 00:00 UTC")
    a = report.write_html(tmp_path / "a.html")
    b = build_report([world / "comtrade"], tmp_path / "b.html", config=CONFIG,
                     built="2026-01-01 00:00 UTC")  # fmt: skip
    assert a.read_bytes() == b.read_bytes()
    assert report.write_html(tmp_path / "c.html").read_bytes() == a.read_bytes()
    assert report.summary["n_flagged_routes"] == report.corridors["flagged"].sum() > 0
    drill = CONFIG["report"]["drilldowns"]
    assert len(report.figures) == 4 + 2 * min(drill, report.summary["n_flagged_routes"])
    book = pl.read_excel(report.to_excel(tmp_path / "f.xlsx"), sheet_name="corridors",
                         schema_overrides={"hs": pl.String})  # fmt: skip
    assert book.height == report.corridors.height
    wide = pl.read_excel(tmp_path / "f.xlsx", sheet_name="wide corridors",
                         schema_overrides={"hs4": pl.String})  # fmt: skip
    assert wide.height == report.wide.height > 0
    assert wide["routes"].sum() == report.corridors.height  # every corridor in one wide row
    assert wide.columns[:4] == ["rank", "hub", "destination", "hs4"]
    shown = report._repr_html_()
    assert f"{report.summary['n_flagged_routes']:,} flagged corridors" in shown
    assert report.summary["routes"][0]["reasons"][:20].replace("'", "&#x27;") in shown
    first = report.wide.filter(pl.col("flagged")).row(0, named=True)
    assert (
        f"By hub, destination and heading: {report.wide['flagged'].sum():,} of "
        f"{report.wide.height:,} flagged; first {first['hub']} {first['destination']} "
        f"{first['hs4']} ({first['flagged_routes']} of {first['routes']} routes)"
    ) in shown
    with pytest.raises(TradeflowsInputError, match=r"an \.html file"):
        report.write_html(tmp_path / "r.pdf")
    with pytest.raises(TradeflowsInputError, match=r"\.xlsx file name"):
        report.to_excel(tmp_path / "f.csv")
