"""Fetchers against a local server on loopback that replays the Comtrade+ API's answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tradeflows._store import ingest, read_audit, scan_store
from tradeflows.cli import main
from tradeflows.fetch import FetchError, fetch_census, fetch_comtrade

KEY = "s3cret-key-123"


def _row(reporter: str, period: str, value: float) -> dict:
    return {"typeCode": "C", "freqCode": "M", "period": period, "refYear": period[:4],
            "refMonth": int(period[4:]), "reporterCode": int(reporter), "partnerCode": 156,
            "partner2Code": 0, "flowCode": "X", "classificationCode": "H6", "cmdCode": "847150",
            "customsCode": "C00", "motCode": 0, "primaryValue": value, "isReported": True}  # fmt: skip


class Api:
    """A scripted API: per period, a list of answers used in turn (the last repeats)."""

    def __init__(self, script: dict[str, list]):
        self.script = script
        self.calls: list[str] = []
        self.keys: set[str] = set()

    def answer(self, period: str, reporters: list[str]):
        plan = self.script.get(period, ["ok"])
        n = sum(1 for c in self.calls if c == period)
        self.calls.append(period)
        step = plan[min(n, len(plan) - 1)]
        rows = [_row(r, period, 1000.0 + int(r)) for r in reporters]
        if step == "ok":
            return 200, json.dumps({"count": len(rows), "data": rows}).encode()
        if step == "truncated":
            return 200, json.dumps({"count": len(rows), "data": rows}).encode()[:40]
        if step == "short":  # a body that lost rows on the way
            return 200, json.dumps({"count": len(rows) + 3, "data": rows}).encode()
        if step == "sleep":
            return "sleep", b""
        return int(step), b'{"error": "busy"}'


@pytest.fixture
def api():
    state = {"api": Api({}), "census": ["ok"], "census_keys": set()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            q = parse_qs(urlparse(self.path).query)
            if "/hs" in urlparse(self.path).path:  # the Census API
                state["census_keys"].add(q.get("key", [None])[0])
                plan = state["census"]
                step = plan.pop(0) if len(plan) > 1 else plan[0]
                imports = "/imports/" in urlparse(self.path).path
                value, commodity = (
                    ("GEN_VAL_MO", "I_COMMODITY") if imports else ("ALL_VAL_MO", "E_COMMODITY")
                )
                table = [["CTY_CODE", "CTY_NAME", value, commodity, "time"],
                         ["5700", "CHINA", "123456789", "847150", q["time"][0]],
                         ["5570", "MALAYSIA", "98765432", "847150", q["time"][0]],
                         ["0003", "EUROPEAN UNION", "5000", "847150", q["time"][0]],
                         ["-", "TOTAL FOR ALL COUNTRIES", "999999999", "847150", q["time"][0]]]  # fmt: skip
                body = json.dumps(table).encode()
                status = 200
                if step == "truncated":
                    body = body[:50]
                elif step != "ok":
                    status, body = int(step), b"busy"
                self.send_response(status)
                self.end_headers()
                self.wfile.write(body)
                return
            state["api"].keys.add(self.headers.get("Ocp-Apim-Subscription-Key"))
            status, body = state["api"].answer(q["period"][0], q["reporterCode"][0].split(","))
            if status == "sleep":
                threading.Event().wait(1.0)
                status, body = 200, b"{}"
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/data/v1/get"
    state["census_url"] = f"http://127.0.0.1:{server.server_address[1]}/timeseries/intltrade"
    yield state
    server.shutdown()
    server.server_close()


def _fetch(api, tmp_path, periods, **kw):
    waits = []
    files = fetch_comtrade(tmp_path / "cache", reporters=[458, 702], periods=periods,
                           hs=["847150"], api_key=KEY, base_url=api["url"],
                           sleep=waits.append, timeout=0.5, **kw)  # fmt: skip
    return files, waits


def test_fetches_chunks_and_sends_the_key_in_a_header(api, tmp_path):
    files, waits = _fetch(api, tmp_path, ["202401", "202402"])
    assert len(files) == 2 and waits == []
    assert api["api"].keys == {KEY}
    assert all(KEY not in f.read_text() for f in files)


def test_429_and_500_are_retried_with_backoff(api, tmp_path):
    api["api"].script = {"202401": [429, 500, 503, "ok"]}
    files, waits = _fetch(api, tmp_path, ["202401"])
    assert len(files) == 1
    assert api["api"].calls.count("202401") == 4
    assert 1.0 in waits and waits[-1] >= waits[0]  # Retry-After honoured, backoff grows


def test_persistent_errors_are_reported_clearly_and_nothing_is_written(api, tmp_path):
    api["api"].script = {"202401": [500]}
    with pytest.raises(FetchError, match=r"failed after 3 attempts \(last: HTTP 500\)") as info:
        _fetch(api, tmp_path, ["202401"], retries=2)
    assert KEY not in str(info.value)
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("failure", ["truncated", "short", "sleep"])
def test_truncated_bodies_and_timeouts_write_nothing(api, tmp_path, failure):
    api["api"].script = {"202401": [failure]}
    with pytest.raises(FetchError, match="failed after 2 attempts"):
        _fetch(api, tmp_path, ["202401"], retries=1)
    assert list((tmp_path / "cache").iterdir()) == []


def test_interrupted_run_resumes_without_duplicating(api, tmp_path):
    api["api"].script = {"202402": [500]}
    with pytest.raises(FetchError):
        _fetch(api, tmp_path, ["202401", "202402"], retries=1)
    assert len(list((tmp_path / "cache").glob("*.csv"))) == 1  # 202401 kept
    api["api"].script = {}
    api["api"].calls.clear()
    files, _ = _fetch(api, tmp_path, ["202401", "202402"])
    assert api["api"].calls == ["202402"]  # only the missing chunk is asked again
    assert len(files) == 2


def test_countries_by_name_and_periods_as_ranges(api, tmp_path, monkeypatch, capsys):
    """Names, ISO codes and a range reach the API as Comtrade codes and single months."""
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    args = ["fetch", "comtrade", "--out", str(tmp_path / "store"), "--reporters", "Malaysia,SG",
            "--periods", "2023-12..2024-02", "--hs", "847150", "--base-url", api["url"], "-q"]  # fmt: skip
    assert main(args) == 0
    assert sorted(api["api"].calls) == ["202312", "202401", "202402"]
    rows = scan_store(tmp_path / "store").collect()
    assert set(rows["reporter"]) == {"MYS", "SGP"} and rows["period"].n_unique() == 3
    capsys.readouterr()
    assert main([*args[:5], "Malaysa", *args[6:]]) == 2
    assert "closest: Malaysia (MYS)" in capsys.readouterr().err


def test_wrong_or_missing_key(api, tmp_path, monkeypatch):
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    with pytest.raises(FetchError, match="no Comtrade API key"):
        fetch_comtrade(tmp_path, reporters=[458], periods=["202401"], base_url=api["url"])
    api["api"].script = {"202401": [401]}
    with pytest.raises(FetchError, match="refused the key"):
        _fetch(api, tmp_path, ["202401"])


def test_cli_fetch_ingests_into_the_store_and_reruns_add_nothing(
    api, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    args = ["fetch", "comtrade", "--out", str(tmp_path / "store"), "--reporters", "458,702",
            "--periods", "202401,202402", "--hs", "847150", "--base-url", api["url"], "-q"]  # fmt: skip
    assert main(args) == 0
    rows = scan_store(tmp_path / "store").collect()
    assert rows.height == 4 and set(rows["reporter"]) == {"MYS", "SGP"}
    assert main(args) == 0  # cached chunks, same files: nothing added
    assert scan_store(tmp_path / "store").collect().height == 4
    assert len(read_audit(tmp_path / "store")["files"]) == 2
    api["api"].script = {"202403": [500]}
    bad = [*args[:7], "202403", *args[8:], "--retries", "1"]
    capsys.readouterr()
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and KEY not in err and "failed after 2 attempts" in err


def test_census_fetch_maps_countries_masks_the_key_and_ingests(api, tmp_path):
    api["census"] = [500, "truncated", "ok"]
    waits = []
    files = fetch_census(tmp_path / "cache", periods=["2024-03"], hs=["847150"],
                         api_key="census-key-9", base_url=api["census_url"], sleep=waits.append)  # fmt: skip
    assert len(files) == 1 and len(waits) == 2  # a 500 and a truncated body, retried
    assert api["census_keys"] == {"census-key-9"}
    assert "census-key-9" not in files[0].read_text()
    doc = ingest(files, tmp_path / "store")
    assert doc["totals"]["dropped"] == {"partner_aggregate": 1, "partner_world_beside_detail": 1}
    rows = scan_store(tmp_path / "store").collect()
    assert dict(zip(rows["partner"], rows["value_usd"], strict=True)) == {
        "CHN": 123456789.0,
        "MYS": 98765432.0,
    }
    assert set(rows["reporter"]) == {"USA"} and set(rows["flow"]) == {"X"}


def test_census_fetches_both_flows_in_the_words_comtrade_uses(api, tmp_path):
    files = fetch_census(tmp_path / "cache", periods=["2024-03"], hs=["847150"], flows=["X", "M"],
                         api_key="", base_url=api["census_url"])  # fmt: skip
    assert [f.name.split("_")[1] for f in files] == ["exports", "imports"]
    ingest(files, tmp_path / "store")
    rows = scan_store(tmp_path / "store").collect()
    assert set(rows["flow"]) == {"X", "M"} and rows.height == 4
    with pytest.raises(FetchError, match="choose X"):
        fetch_census(tmp_path, periods=["2024-03"], hs=["847150"], flows=["RX"])


def test_census_errors_never_show_the_key(api, tmp_path):
    api["census"] = [503]
    with pytest.raises(FetchError, match="Census API") as info:
        fetch_census(tmp_path, periods=["202403"], hs=["847150"], api_key="census-key-9",
                     base_url=api["census_url"], sleep=lambda s: None, retries=1)  # fmt: skip
    assert "census-key-9" not in str(info.value)


def test_cli_fetch_census(api, tmp_path, monkeypatch):
    monkeypatch.setenv("CENSUS_API_KEY", "census-key-9")
    args = ["fetch", "census", "--out", str(tmp_path / "store"), "--periods", "2024-03",
            "--hs", "847150", "--base-url", api["census_url"], "-q"]  # fmt: skip
    assert main(args) == 0
    assert scan_store(tmp_path / "store").collect().height == 2


@pytest.fixture
def redirecting(api):
    """A loopback server that redirects every call: to itself (same origin) or to the API.

    The API listens on another port, so a redirect to it leaves this server's origin.
    """
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append({k.lower(): v for k, v in self.headers.items()})
            path = urlparse(self.path)
            if path.path.startswith("/same/"):  # one hop within this origin first
                self.send_response(302)
                self.send_header("Location", self.path.replace("/same/", "/away/", 1))
            else:  # then to the API on another port: another origin
                self.send_response(302)
                self.send_header(
                    "Location", f"{api['url']}/{path.path.split('/get/', 1)[1]}?{path.query}"
                )
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_the_key_never_follows_a_redirect_to_another_origin(api, redirecting, tmp_path):
    base, seen = redirecting
    files = fetch_comtrade(tmp_path / "cache", reporters=[458], periods=["202401"],
                           api_key=KEY, base_url=f"{base}/same/get", sleep=lambda s: None)  # fmt: skip
    assert len(files) == 1  # the redirects were followed and the answer kept
    # Within the first origin the key went along (two hops), to the other origin it did not.
    assert [h.get("ocp-apim-subscription-key") for h in seen] == [KEY, KEY]
    assert api["api"].keys == {None}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--periods", "../../../OUT", "a month (2024-03)"),
        ("--periods", "2024-13", "a month (2024-03)"),
        ("--reporters", "Atlantis", "unknown country 'Atlantis'"),
        ("--reporters", "9999", "unknown country '9999'"),
        ("--hs", "8471/../x", "TOTAL, AG2/AG4/AG6"),
        ("--partners", "1,../2", "unknown country '1'"),
    ],
)
def test_fetch_checks_every_value_before_any_request(
    api, tmp_path, monkeypatch, capsys, option, value, message
):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    args = {"--reporters": "458", "--periods": "202401", "--hs": "847150", option: value}
    argv = ["fetch", "comtrade", "--out", str(tmp_path / "store"), "--base-url", api["url"], "-q"]
    assert main(argv + [x for kv in args.items() for x in kv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert api["api"].calls == []  # nothing reached the API
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) in ([], [".lock"])


def test_census_values_are_checked_and_cache_names_come_from_checked_parts(api, tmp_path):
    for bad in ({"periods": ["../../x"]}, {"hs": ["8471/../../x"]}, {"hs": ["847"]}):
        kw = {"periods": ["2024-03"], "hs": ["847150"], **bad}
        with pytest.raises(FetchError):
            fetch_census(tmp_path / "cache", base_url=api["census_url"], **kw)
    files = fetch_census(tmp_path / "cache", periods=["202403"], hs=["847150"],
                         base_url=api["census_url"], sleep=lambda s: None)  # fmt: skip
    assert [f.name for f in files] == ["census_exports_2024-03_847150.csv"]
    assert all(f.parent == tmp_path / "cache" for f in files)


@pytest.mark.parametrize(
    "body",
    [
        b'{"count": 1, "data": ["not a record"]}',
        b'{"count": 1, "data": [{"period": {"nested": 1}}]}',
        b'{"data": "rows"}',
        b"[1, 2, 3]",
    ],
)
def test_answers_of_the_wrong_shape_exit_2(tmp_path, monkeypatch, capsys, body):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("COMTRADE_API_KEY", KEY)
        argv = ["fetch", "comtrade", "--out", str(tmp_path / "store"), "--reporters", "458",
                "--periods", "202401", "--retries", "0", "-q",
                "--base-url", f"http://127.0.0.1:{server.server_address[1]}/get"]  # fmt: skip
        assert main(argv) == 2
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "failed after 1 attempts" in err and KEY not in err


def test_an_answer_at_a_call_s_cap_stops_the_fetch_without_retrying(api, tmp_path, monkeypatch):
    import tradeflows._fetch as fetch_module

    # Two reporters a call: their answer holds two rows, here the cap.
    monkeypatch.setattr(fetch_module, "DATA_CAPS", (2,))
    with pytest.raises(FetchError, match="hit the 2-row cap of a call"):
        _fetch(api, tmp_path, ["202401"])
    assert api["api"].calls == ["202401"]
    assert not list((tmp_path / "cache").glob("*.csv"))
