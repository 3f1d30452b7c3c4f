"""Routes and indicators: each transshipment pattern and each look-alike on a tiny world."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from tests.conftest import reports
from tradeflows._mirror import mirror
from tradeflows._routes import FEATURES, ROUTE_KEY, collect_route_indicators
from tradeflows.detect._flags import reasons

START = dt.date(2020, 1, 1)
N = 36
ONSET = 26  # 2022-03
#: A rise beyond 99% of chance changes (the features' units; tradeflows._routes.series).
EVIDENCE = 2.33


def flat(level: float) -> list[float]:
    # A little noise keeps the series' scale realistic.
    return [level * (1 + 0.03 * ((k * 7) % 5 - 2)) for k in range(N)]


def step(level: float, factor: float, at: int = ONSET) -> list[float]:
    return [v * (factor if k >= at else 1.0) for k, v in enumerate(flat(level))]


def both(exporter: str, importer: str, hs: str, values: list) -> list[tuple]:
    """Both reports of one flow (the importer's at CIF)."""
    m = [None if v is None else v * 1.05 for v in values]
    return [(exporter, importer, "X", hs, values), (importer, exporter, "M", hs, m)]


def background() -> list[tuple]:
    """Steady trade that every world here shares, so that every country reports."""
    return [
        *both("KOR", "CHN", "847150", flat(2e6)),
        *both("JPN", "MYS", "847150", flat(1e6)),
        *both("DEU", "USA", "847150", flat(1e6)),
        *both("CHN", "DEU", "847150", flat(1e6)),
        *both("MYS", "JPN", "847150", flat(5e5)),
        *both("USA", "KOR", "847150", flat(5e5)),
    ]


def indicators(*series, **options) -> pl.DataFrame:
    df = reports(*background(), *series, start=START)
    pairs = mirror(df.lazy()).collect()
    return collect_route_indicators(pairs.lazy(), **{"destinations": ["CHN", "IRN"], **options})


def route(ind: pl.DataFrame, origin: str, hub: str, dest: str, hs: str = "847150") -> pl.DataFrame:
    return ind.filter(
        (pl.col("origin") == origin) & (pl.col("hub") == hub) & (pl.col("destination") == dest)
        & (pl.col("hs") == hs)
    ).sort("period")  # fmt: skip


def test_pass_through_rises_on_both_legs_with_its_lag():
    ind = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        *both("MYS", "CHN", "847150", [0.0] * (ONSET + 1) + [4e6] * (N - ONSET - 1)),
    )
    r = route(ind, "USA", "MYS", "CHN")
    month = r.row(ONSET + 2, named=True)
    assert month["inflow_rise"] > EVIDENCE and month["outflow_rise"] > EVIDENCE
    assert month["lag"] == 1  # the goods left a month after they arrived
    assert month["share_change"] > 0.3  # MYS's share of China's imports jumped
    assert month["materiality"] > 3.5
    before = r.slice(12, ONSET - 12)
    assert before["inflow_rise"].max() < 1 and before["outflow_rise"].max() < 1
    assert set(FEATURES) <= set(ind.columns) and ind.columns[:5] == [*ROUTE_KEY, "period"]


def test_seasonal_peaks_are_not_rises():
    december = [4.0 if (k % 12) == 11 else 1.0 for k in range(N)]
    ind = indicators(
        *both("USA", "MYS", "847150", flat(1e6)),
        *both("MYS", "CHN", "847150", [1e6 * d for d in december]),
    )
    r = route(ind, "USA", "MYS", "CHN")
    third_december = r.row(35, named=True)
    assert third_december["outflow_rise"] < 2


def test_destination_buying_more_from_everyone_is_discounted():
    everyone = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        *both("MYS", "CHN", "847150", step(1e6, 5)),
        *both("KOR", "CHN", "854231", flat(1)),  # (keeps CHN's other imports in the frame)
        *both("TWN", "CHN", "847150", step(3e6, 5)),
    )
    alone = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        *both("MYS", "CHN", "847150", step(1e6, 5)),
        *both("TWN", "CHN", "847150", flat(3e6)),
    )
    k = ONSET + 2
    assert route(everyone, "USA", "MYS", "CHN").row(k, named=True)["outflow_rise"] < 1.5
    assert route(alone, "USA", "MYS", "CHN").row(k, named=True)["outflow_rise"] > EVIDENCE


def test_code_change_is_seen_at_the_heading():
    # MYS re-exports to a silent destination under a sibling code of the same heading.
    ind = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        ("MYS", "IRN", "X", "847180", [1e4] * ONSET + [4e6] * (N - ONSET)),
    )
    month = route(ind, "USA", "MYS", "IRN").row(ONSET + 1, named=True)
    assert month["outflow_rise"] == 0 and month["outflow4_rise"] > 5
    text = reasons(route(ind, "USA", "MYS", "IRN").slice(ONSET + 1, 1).lazy()).collect()
    assert "Iran (IRN) of heading 8471 rose to USD 2.0m a month" in text["reasons"].item()
    assert "mostly under codes other than 847150" in text["reasons"].item()


def test_a_heading_of_one_code_is_not_said_to_rise_under_another():
    # The heading's only code rose: its rise is the code's, said once, never
    # as goods "under another code".
    ind = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        ("MYS", "IRN", "X", "847150", [1e4] * ONSET + [4e6] * (N - ONSET)),
    )
    r = route(ind, "USA", "MYS", "IRN")
    text = reasons(r.slice(ONSET + 1, 1).lazy()).collect()["reasons"].item()
    assert "MYS exports to Iran (IRN) rose to USD 2.0m a month" in text
    assert "other than" not in text and "another code" not in text


def test_goods_booked_by_origin_are_a_ghost():
    # CHN books the goods as coming from the USA, which reports no such exports.
    # (Flows of USD 2m a month: under 1m, too few series to measure their
    # spread take real small flows' prior, wide enough that a toy's 20x reads
    # as less.)
    ind = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        ("MYS", "CHN", "X", "847150", [1e4] * ONSET + [4e6] * (N - ONSET)),
        ("USA", "CHN", "X", "847150", flat(2e6)),
        (
            "CHN",
            "USA",
            "M",
            "847150",
            [v * (20 if k >= ONSET else 1) for k, v in enumerate(flat(2e6))],
        ),
    )
    month = route(ind, "USA", "MYS", "CHN").row(ONSET + 1, named=True)
    assert month["ghost"] > 3


def test_goods_booked_by_origin_are_counted_in_dollars_beyond_the_origins_report():
    # MYS passes on USD 1.5m a month of USA's goods and reports none of it; CHN
    # books them as imports from the USA, whose own exports to CHN stay flat.
    ind = indicators(
        *both("USA", "MYS", "847150", step(1e6, 3)),
        ("USA", "CHN", "X", "847150", flat(2e5)),
        (
            "CHN",
            "USA",
            "M",
            "847150",
            [1.05 * (v + (1.5e6 if k >= ONSET else 0)) for k, v in enumerate(flat(2e5))],
        ),
    )
    r = route(ind, "USA", "MYS", "CHN")
    before, after = r.row(ONSET - 2, named=True), r.row(ONSET + 2, named=True)
    assert before["booked"] == 0 and before["booked_usd"] < 1e4
    # The excess against the origin's own figure (the data's typical flow at
    # least, here about USD 1m): at least as much again, which the reasons tell.
    assert after["booked"] > math.log(2)
    assert after["booked_usd"] == pytest.approx(1.5e6, rel=0.05)
    # The hub hides the outflow; the value at stake is what CHN booked beyond
    # the USA's figure (no more than the inflow's excess, USD 2m a month).
    assert after["extra_usd"] == pytest.approx(1.5e6, rel=0.05)
    assert after["covered"]
    text = reasons(r.slice(ONSET + 2, 1).lazy()).collect()["reasons"].item()
    assert (
        "books imports of 847150 from USA of USD 1.5m a month more than USA reports sending" in text
    )


def test_diversion_and_policy_break_from_the_exporters_side_only():
    # An exporter-only file: DEU's exports to ARM jump after 2022-02-24 while
    # those to RUS collapse; nobody reports ARM -> RUS.
    rows = [
        ("DEU", "ARM", "X", "847130", step(1e5, 8)),
        ("DEU", "RUS", "X", "847130", step(2e6, 0.02)),
        ("DEU", "GEO", "X", "847130", flat(1e5)),
        ("DEU", "ARM", "X", "841510", flat(1e5)),  # uncontrolled, same chapter
    ]
    df = reports(*rows, start=START)
    ind = collect_route_indicators(mirror(df.lazy()).collect().lazy(), destinations=["RUS"])
    r = route(ind, "DEU", "ARM", "RUS", "847130")
    month = r.row(ONSET + 2, named=True)
    assert month["inflow_rise"] > EVIDENCE and month["diversion"] > EVIDENCE
    assert month["policy_did"] > 1 and month["policy_did_products"] > 1
    assert month["policy"] == "the export bans on Russia and Belarus (2022-02-24)"
    assert r.row(ONSET - 3, named=True)["policy"] is None  # before the date
    # Said as what it is: DEU's exports (ARM files nothing), and a share of
    # what DEU ships to the two (nobody reports RUS's imports).
    text = reasons(r.slice(ONSET + 2, 1).lazy()).collect()["reasons"].item()
    assert text.startswith(
        "Germany (DEU) exports of 847130 to Armenia (ARM) rose to USD 788.0k a month"
    )
    assert "(as DEU reports them; ARM files no imports)" in text
    assert "ARM's share of DEU's shipments of 847130 to ARM and RUS up" in text
    assert "imports" not in text.replace("files no imports", "")


def test_the_policy_break_compares_a_route_with_the_origins_other_hubs():
    # DEU ships 847130 to three hubs, each with its own change after the bans;
    # nobody reports RUS's imports. A route's break is its inflow's change less
    # the mean change of the origin's other hubs (the same product and
    # destination): over the three routes the breaks add up to zero.
    rows = [
        ("DEU", "ARM", "X", "847130", step(1e5, 8)),
        ("DEU", "KAZ", "X", "847130", step(2e5, 3)),
        ("DEU", "GEO", "X", "847130", flat(1e5)),
        ("DEU", "RUS", "X", "847130", step(2e6, 0.02)),
        ("DEU", "ARM", "X", "841510", flat(1e5)),  # uncontrolled, same chapter
        # Another origin's routes are not among DEU's other hubs.
        ("FRA", "ARM", "X", "847130", step(1e5, 2)),
        ("FRA", "KAZ", "X", "847130", flat(1e5)),
        ("FRA", "RUS", "X", "847130", step(1e6, 0.1)),
    ]
    df = reports(*rows, start=START)
    ind = collect_route_indicators(mirror(df.lazy()).collect().lazy(), destinations=["RUS"])
    after = ind.filter((pl.col("hs") == "847130") & (pl.col("period") == dt.date(2022, 5, 1)))
    fra = after.filter(pl.col("origin") == "FRA")["policy_did"]
    assert fra.len() == 2 and fra.sum() == pytest.approx(0.0, abs=1e-6)
    after = after.filter(pl.col("origin") == "DEU")
    did = dict(zip(after["hub"], after["policy_did"], strict=True))
    assert set(did) == {"ARM", "KAZ", "GEO"}
    assert sum(did.values()) == pytest.approx(0.0, abs=1e-6)
    # Each change is the mean log level since the date's month (2022-02, before
    # the rise, then three months after it) less the year before: 3/4 of the
    # rise. ARM's 8x against the others' 3x and 1x: 3/4 (log 8 - (log 3 + 0) / 2).
    assert did["ARM"] == pytest.approx(0.75 * (math.log(8) - math.log(3) / 2), abs=0.02)
    assert did["ARM"] > did["KAZ"] > 0 > did["GEO"]


def test_a_one_month_slip_is_data_quality_not_a_rise():
    xs = flat(1e6)
    xs[ONSET] *= 1000  # one report off by x1000; the mirror books the usual value
    ind = indicators(
        *both("USA", "MYS", "847150", flat(1e6)),
        ("MYS", "CHN", "X", "847150", xs),
        ("CHN", "MYS", "M", "847150", [v * 1.05 for v in flat(1e6)]),
    )
    month = route(ind, "USA", "MYS", "CHN").row(ONSET, named=True)
    assert month["data_quality"] is not None
    assert month["outflow_rise"] == 0


@pytest.mark.parametrize(
    ("options", "check"),
    [
        ({"since": "2022-06"}, lambda d: d["period"].min() == dt.date(2022, 6, 1)),
        ({"hubs": ["JPN"]}, lambda d: d.is_empty() or set(d["hub"]) == {"JPN"}),
        ({"hs": ["8542"]}, lambda d: d.is_empty()),
        ({"destinations": ["all"]}, lambda d: {"USA", "KOR"} <= set(d["destination"])),
    ],
)
def test_options_narrow_or_widen_the_routes(options, check):
    ind = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        *both("MYS", "CHN", "847150", step(1e5, 20)),
        **options,
    )
    assert check(ind)


def test_an_empty_origin_stands_for_all_suppliers_of_the_hub():
    ind = indicators(
        *both("USA", "MYS", "847150", step(1e6, 6)),
        *both("MYS", "CHN", "847150", [0.0] * (ONSET + 1) + [4e6] * (N - ONSET - 1)),
    )
    everyone = route(ind, "", "MYS", "CHN").row(ONSET + 1, named=True)
    assert everyone["inflow"] == pytest.approx(6 * 1e6 * 1.0 + 1e6, rel=0.2)  # USA + JPN


def test_the_gpu_engines_way_gives_the_cpu_engines_indicators(tmp_path, monkeypatch):
    # On the GPU engine the previous medians are joins of each series to
    # itself: the plan reads the series twice, so anything that numbers them
    # must number them the same way both times. Run here on the CPU engine.
    from polars.testing import assert_frame_equal

    from tests.conftest import small_world
    from tradeflows import _engine as engine
    from tradeflows._mirror import collect_mirror
    from tradeflows._store import scan_store

    world = small_world(tmp_path, seed=4, store=True, n_products=12, pairs_per_product=25)
    pairs = collect_mirror(scan_store(world / "store"), "cpu").lazy()
    key = [*ROUTE_KEY, "period"]
    cpu = collect_route_indicators(pairs, engine="cpu").sort(key)
    monkeypatch.setattr(engine, "resolve", lambda e=None: "gpu")
    monkeypatch.setattr(engine, "collect", lambda lf, e=None: lf.collect())
    gpu = collect_route_indicators(pairs, engine="gpu").sort(key)
    assert cpu.height > 1000
    assert_frame_equal(gpu, cpu, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("gpu", [False, True])
def test_the_usual_size_class_is_the_class_of_the_lower_median_of_the_window_before(gpu):
    # Counted from running sums (every engine has them; the GPU engine has no
    # rolling median): checked against the lower median itself, on series with
    # unreported months and levels across every class. Both plans: the CPU's
    # windows over the series' runs, the GPU's over their numbers in month order.
    import random

    from tradeflows._routes.series import _with_series_runs, _with_usual_class

    rng = random.Random(3)
    rows = []
    for sid in range(40):
        level = rng.uniform(0.0, 14.0)  # each series its own size
        for i in range(60):
            covered = rng.random() > 0.3
            lv = max(0.0, level + rng.uniform(-3.0, 3.0)) if covered else None
            rows.append((sid, i, i, covered, lv))
    dense = pl.DataFrame(rows, schema=["_sid", "mi", "_i", "covered", "lv"], orient="row")
    dense = dense.with_columns(cum_n=pl.col("covered").cast(pl.Int32).cum_sum().over("_sid"))
    dense = _with_series_runs(dense.lazy(), gpu)
    got = _with_usual_class(dense, window=24, history=12, gpu=gpu).collect()["_cls"].to_list()

    def lower_median_class(sid: int, i: int) -> int | None:
        before = [lv for s, j, _, _, lv in rows if s == sid and i - 24 <= j < i and lv is not None]
        if len(before) < 12:
            return None
        x = sorted(before)[(len(before) + 1) // 2 - 1]
        return min(5, max(0, math.floor(x / math.log(10.0))))

    expected = [lower_median_class(sid, i) for sid, i, *_ in rows]
    assert got == expected
    assert {c for c in expected if c is not None} == {0, 1, 2, 3, 4, 5}
    assert expected.count(None) > 40 * 12  # the warm-up of every series


def _null_counts(
    kind: str, cls: int, bins: list[int], n: list[int], series: int = 500
) -> list[dict]:
    """:func:`null_counts` rows of one kind and size class: ``n[i]`` series-months
    changed by ``bins[i]`` hundredths, in every window, against both pasts, of
    ``series`` series."""
    from tradeflows._routes.series import _SERIES_BIN, WINDOWS

    return [
        {"window": k, "which": w, "kind": kind, "cls": cls, "bin": b, "n": c}
        for k in WINDOWS
        for w in "uy"
        for b, c in [*zip(bins, n, strict=True), (_SERIES_BIN, series)]
    ]


def _series_months(kind: str, cls: int, change: float, spreads: list[list[float]]) -> pl.LazyFrame:
    """Series-months of one kind and size class whose change is ``change`` in every
    window, one series per list of own spreads (``_sd``), one row per month."""
    from tradeflows._routes.series import WINDOWS

    return pl.LazyFrame(
        {
            "kind": kind,
            "_i": [i for sd in spreads for i in range(len(sd))],
            "_sd": [v for sd in spreads for v in sd],
            **{f"_c{k}": cls for k in WINDOWS},
            **{f"_{w}{k}": change for k in WINDOWS for w in "uy"},
        }
    )


#: A leg class of 4,000 series-months whose 99th percentile is at 2.33.
_LEGS_AT_2_33 = ([-233, 0, 233], [50, 3900, 50])


def test_a_kind_too_sparse_for_its_own_null_takes_the_legs_spread_before_the_prior():
    # One hub's records: its exports at the heading (``leg4``) are a few series,
    # the product-level legs many. The heading's change is read against the
    # legs' spread of the same size class, as the query's other destinations
    # would give it, not against the calibrated worlds' prior.
    from tradeflows._routes.series import _PRIOR_UP, _TAIL_Z, _empirical_null, null_table

    legs = _null_counts("leg", 3, *_LEGS_AT_2_33)
    sparse = _null_counts("leg4", 3, [0], [10])
    dense = _series_months("leg4", 3, 1.0, [[0.0]])
    got = _empirical_null(dense, null_table(pl.DataFrame(legs + sparse))).collect()
    assert got["_r3"].item() == pytest.approx(_TAIL_Z / 2.33)
    prior = _empirical_null(dense, null_table(pl.DataFrame(sparse))).collect()
    assert prior["_r3"].item() == pytest.approx(1.0 / _PRIOR_UP[3])


def test_a_class_whose_tail_one_episode_could_make_is_not_read_alone():
    # An episode holds its series' window changes high for up to two years. In
    # a class of 1,500 series-months, the 24 months of one episode are more
    # than 1% of it: its 99th percentile would be the episode, and the
    # episode's own rise would read as chance. Such a class takes the next
    # tier (here, with no neighbours and no legs to take, the prior).
    from tradeflows._routes.series import _PRIOR_UP, _empirical_null, null_table

    counts = _null_counts("leg", 4, [0, 200], [1476, 24])
    dense = _series_months("leg", 4, 2.0, [[0.0]])
    got = _empirical_null(dense, null_table(pl.DataFrame(counts))).collect()
    assert got["_r6"].item() == pytest.approx(2.0 / _PRIOR_UP[4])


def test_the_prior_of_small_flows_is_the_spread_real_data_measures():
    # Small data takes the prior where a class is too small to measure; it is
    # used on real data, so it must be what real data shows. The bundled
    # Eurostat CN8 exports measure the flows under USD 1m a month on their own
    # (tens of thousands of series-months): each class's median spread, over
    # the windows and comparisons, within 30% of the prior. The calibrated
    # worlds' spreads, which the prior held before (0.4, 0.65, 0.55 above),
    # are two to three times narrower than real small flows.
    from benchmarks.bench_calibration import null_of
    from tradeflows._routes.series import _PRIOR_DOWN, _PRIOR_UP, measured_spreads
    from tradeflows.datasets import load_eu_electronics_exports

    real = measured_spreads(null_of(load_eu_electronics_exports()))
    for cls in (0, 1, 2):
        mine = real.filter(pl.col("cls") == cls)
        assert mine.height >= 4
        for side, prior in (("up", _PRIOR_UP), ("down", _PRIOR_DOWN)):
            assert 0.7 <= prior[cls] / mine[side].median() <= 1.3, (cls, side)


def test_a_class_of_few_series_is_not_read_alone_however_long_their_history():
    # 3,000 series-months, enough, but of 40 series: 18 years of one hub's
    # largest partners, whose own surges are its tail. It takes the next tier
    # (here the prior); the same counts of 400 series are read alone.
    from tradeflows._routes.series import _PRIOR_UP, _TAIL_Z, _empirical_null, null_table

    dense = _series_months("leg", 4, 2.0, [[0.0]])
    for series, scale in ((40, _PRIOR_UP[4]), (400, 2.0 / _TAIL_Z)):
        counts = _null_counts("leg", 4, [0, 200], [2960, 40], series=series)
        got = _empirical_null(dense, null_table(pl.DataFrame(counts))).collect()
        assert got["_r6"].item() == pytest.approx(2.0 / scale, rel=1e-3)


def _one_class(spreads: list[list[float]]) -> pl.DataFrame:
    """:func:`_empirical_null` of series of one leg class (99th percentile of its
    changes at 2.33) whose change is 1.0 every month, one series per list of
    own spreads (``_sd``), one row per month."""
    from tradeflows._routes.series import _empirical_null, null_table

    legs = _null_counts("leg", 3, *_LEGS_AT_2_33)
    dense = _series_months("leg", 3, 1.0, spreads)
    return _empirical_null(dense, null_table(pl.DataFrame(legs))).collect()


def test_a_change_is_read_on_its_own_series_scale_where_that_is_the_wider():
    # Two series of one class and the same change each month: one has swung
    # by 2 units of log value before (its own spread), one has not. The calm
    # one's change is read against its class (99th percentile at 2.33: scale
    # 1); the volatile one's against its own spread from the window back, so
    # the same change is half the evidence, and a fall too.
    from tradeflows._routes.series import _TAIL_Z

    n = 30
    got = _one_class([[0.0] * n, [2.0] * n])
    calm, volatile = got[:n], got[n:]
    by_class = _TAIL_Z / 2.33  # the class's scale is 2.33 / _TAIL_Z, about 1
    assert calm["_r3"].to_list() == pytest.approx([by_class] * n)
    # Months 0-2 have no spread three months back: the class's scale.
    assert volatile["_r3"].to_list() == pytest.approx([by_class] * 3 + [0.5] * (n - 3))
    assert volatile["_r12"].to_list() == pytest.approx([by_class] * 12 + [0.5] * (n - 12))
    assert volatile["_f3"][-1] == pytest.approx(-0.5)


@pytest.mark.parametrize(("factor", "read"), [(0.0, None), (1.0, 0.5), (1.5, 1 / 3)])
def test_the_own_spread_guard_is_a_factor(monkeypatch, factor, read):
    # OWN_SPREAD scales the series' own spread before it is compared with the
    # class's: 0 turns the guard off (the training script's features), 1.5
    # reads the same change against 1.5 x 2 = 3 units.
    import tradeflows._routes.series as series

    monkeypatch.setattr(series, "OWN_SPREAD", factor)
    got = _one_class([[2.0] * 6])
    by_class = series._TAIL_Z / 2.33
    assert got["_r3"][-1] == pytest.approx(by_class if read is None else read)


def test_a_series_own_spread_is_the_deviation_of_its_log_value_over_the_window():
    # ``_sd``: the standard deviation of log(1 + USD / 1000) over the 24 months
    # up to each one (running sums; checked against numpy on a series that
    # swings between USD 2k and 700k). A month its two reporters filed without
    # it is a zero: they filed other flows.
    import numpy as np

    from tradeflows._routes import route_series

    values = [2e5 * (1 + 0.9 * math.sin(k * 1.3)) ** 2 for k in range(N)]
    values[7] = values[19] = None
    ind = reports(*background(), *both("KOR", "MYS", "847150", values), start=START)
    changes = route_series(mirror(ind.lazy()).collect().lazy(), destinations=["CHN"]).changes
    leg = (
        changes.filter((pl.col("kind") == "leg") & (pl.col("a") == "KOR") & (pl.col("b") == "MYS"))
        .collect()
        .sort("mi")
    )
    assert leg.height == N
    for t in (11, 23, 30, N - 1):
        window = [v or 0.0 for v in values[max(0, t - 23) : t + 1]]
        assert leg["_sd"][t] == pytest.approx(np.std(np.log1p(np.array(window) / 1000.0)))


def test_the_dense_series_come_in_series_then_month_order(tmp_path):
    # A month back is a row up (series_changes' shifts): the joins that build
    # the dense frame must keep the keys' and the calendar's order, with
    # every series in every month, or each window reads another month.
    from tests.conftest import small_world
    from tradeflows._mirror import collect_mirror
    from tradeflows._routes import calendar, candidate_routes, monthly_legs
    from tradeflows._routes.coverage import coverage_from_pairs
    from tradeflows._routes.series import series_changes, series_rows
    from tradeflows._store import scan_store

    world = small_world(tmp_path, seed=5, store=True, n_products=8, pairs_per_product=20)
    pairs = collect_mirror(scan_store(world / "store"), "cpu").lazy()
    legs = monthly_legs(pairs)
    routes = candidate_routes(legs, ["CHN", "RUS", "IRN"])
    cal = calendar(*legs.select(lo=pl.col("mi").min(), hi=pl.col("mi").max()).collect().row(0))
    dense = series_changes(
        *series_rows(legs, routes), cal.select("mi"), coverage_from_pairs(pairs)
    ).collect()
    n_months = cal.collect().height
    assert dense.height == dense["_sid"].n_unique() * n_months > 10_000
    assert dense.select("_sid", "mi").equals(dense.select("_sid", "mi").sort("_sid", "mi"))
    # Each series' months in a row: its row number within the series is its month's.
    assert (dense["_i"] == (pl.Series(range(dense.height)) % n_months)).all()


def test_the_routes_counted_before_a_run_give_the_runs_indicators(tmp_path):
    # detect counts the route-months on the legs and routes it builds once for
    # the query, then hands them to the run (query_route_inputs): the same
    # indicators as a run that builds its own from the query's options.
    from tests.conftest import small_world
    from tradeflows._mirror import collect_mirror
    from tradeflows._query import Query
    from tradeflows._store import scan_store
    from tradeflows.detect._budget import query_route_inputs

    world = small_world(tmp_path, seed=6, store=True, n_products=8, pairs_per_product=20)
    pairs = collect_mirror(scan_store(world / "store"), "cpu")
    hs = sorted(pairs.filter(pl.col("hs") != "TOTAL")["hs"].unique())[:5]
    query = Query(destinations=["CHN", "RUS"], hs=hs, min_usd=50_000.0)
    inputs = query_route_inputs(pairs, query)
    n_all, n_material = (f.select(pl.len()).collect().item()
                         for f in (inputs.candidates, inputs.material))  # fmt: skip
    assert n_all > n_material > 0
    own = collect_route_indicators(pairs.lazy(), **query.options())
    handed = collect_route_indicators(pairs.lazy(), **query.options(), inputs=inputs)
    assert own.height > 500
    assert set(own["hs"]) <= set(hs)
    assert handed.equals(own)


def test_asked_for_the_streaming_engine_the_route_step_gives_the_in_memory_engines_indicators(
    tmp_path,
):
    # The route step reads rows in order (a month back is a row up, running
    # sums); polars 1.35's streaming engine evaluated that morsel by morsel
    # (19 of the indicators' columns differed here), so the step runs in
    # memory whatever the engine (tradeflows._engine.in_order). Bit for bit.
    from tests.conftest import small_world
    from tradeflows._mirror import collect_mirror
    from tradeflows._store import scan_store

    world = small_world(tmp_path, seed=4, store=True, n_products=12, pairs_per_product=25)
    pairs = collect_mirror(scan_store(world / "store"), "cpu").lazy()
    key = [*ROUTE_KEY, "period"]
    memory = collect_route_indicators(pairs, engine="cpu").sort(key)
    streamed = collect_route_indicators(pairs, engine="streaming").sort(key)
    assert memory.height > 1000
    assert streamed.equals(memory)


def test_a_destinations_imports_from_everyone_but_the_hub_are_the_other_suppliers_rows_summed():
    # dest_ex is built as the destination's total less the hub's share (in
    # integer units, with counts of the known sides), not by repeating the
    # destination's rows for every hub: it must still be the sum of the other
    # suppliers' rows, null where none of them knows a side, and absent in a
    # month only the hub shipped in.
    import random

    from tradeflows._expr import exact_sum
    from tradeflows._routes.series import series_rows

    rng = random.Random(11)
    countries = ["ARM", "KAZ", "KGZ", "TUR", "ARE", "DEU", "CHN"]

    def side() -> float | None:
        return rng.choice([None, float("nan"), round(rng.lognormvariate(10, 2), 3)])

    legs = pl.DataFrame(
        [
            {
                "exporter": e,
                "importer": d,
                "hs": p,
                "mi": mi,
                "x": side(),
                "m": side(),
                "v": rng.choice([None, round(rng.lognormvariate(10, 2), 3)]),
                "kg": side(),
                "gap": None,
                "gap_history": None,
                "slip": rng.choice([None, False, False, True]),
            }
            for d in ["RUS", "BLR"]
            for p in ["847150", "854232"]
            for mi in range(24_240, 24_252)
            for e in countries
            if rng.random() < 0.6
        ],
        schema_overrides={"gap": pl.Float64, "gap_history": pl.Float64},
    ).lazy()
    routes = pl.LazyFrame(
        [
            {"origin": o, "hub": h, "destination": d, "hs": p, "hs4": p[:4]}
            for o in ["CHN", ""]
            for h in countries[:5]
            for d in ["RUS", "BLR"]
            for p in ["847150", "854232"]
            if h != o
        ],
    )
    rows, members, _ = series_rows(legs, routes)
    got = rows.filter(pl.col("kind") == "dest_ex").collect().sort("a", "b", "p", "mi")
    # The definition: every import row of the destination's other suppliers, summed.
    others = legs.join(
        routes.select("hub", "destination", "hs").unique(),
        left_on=["importer", "hs"],
        right_on=["destination", "hs"],
    ).filter(pl.col("exporter") != pl.col("hub"))
    known = {c: pl.when(pl.col(c).is_not_null().any()) for c in ["x", "m", "kg"]}
    expected = (
        others.group_by(kind=pl.lit("dest_ex"), a="hub", b="importer", p="hs", mi="mi")
        .agg(
            v=exact_sum(pl.col("v")),
            x=known["x"].then(exact_sum(pl.col("x"))),
            m=known["m"].then(exact_sum(pl.col("m"))),
            kg=known["kg"].then(exact_sum(pl.col("kg"), 1000.0)),
            gap=pl.lit(None, pl.Float64),
            gap_history=pl.lit(None, pl.Float64),
            slip=pl.col("slip").fill_null(False).any(),
        )
        .collect()
        .sort("a", "b", "p", "mi")
    )
    assert got.height > 200
    assert got.equals(expected)
    # Each side is null in some month, and a hub is the only supplier in some.
    assert all(got[c].null_count() > 0 for c in ["x", "m", "kg"])
    alone = (
        legs.group_by("importer", "hs", "mi")
        .agg(n=pl.len(), hub=pl.col("exporter").first())
        .filter((pl.col("n") == 1) & pl.col("hub").is_in(countries[:5]))
        .collect()
    )
    assert alone.height > 0
    got_members = members.filter(pl.col("kind") == "dest_ex").collect().sort(pl.all())
    expected_members = (
        others.select(kind=pl.lit("dest_ex"), a="hub", b="importer", p="hs", exporter="exporter")
        .unique()
        .collect()
        .sort(pl.all())
    )
    assert got_members.equals(expected_members)


def test_the_evidence_held_by_number_gives_the_indicators_of_the_named_series(tmp_path):
    # A run holds the series' evidence without their names (one row a series
    # names them, tradeflows._routes.route_months.series_names): the route
    # step must read from it what it reads from the series with their names.
    from tests.conftest import small_world
    from tradeflows._mirror import collect_mirror
    from tradeflows._routes import _evidence, calendar, candidate_routes, monthly_legs
    from tradeflows._routes.coverage import coverage_from_pairs
    from tradeflows._routes.features import features
    from tradeflows._routes.legs import typical_flow
    from tradeflows._routes.policy import policy_breaks
    from tradeflows._routes.route_months import route_months, series_names
    from tradeflows._routes.series import (
        null_counts,
        null_table,
        series_changes,
        series_evidence,
        series_rows,
    )
    from tradeflows._store import scan_store

    world = small_world(tmp_path, seed=9, store=True, n_products=8, pairs_per_product=20)
    pairs = collect_mirror(scan_store(world / "store"), "cpu").lazy()
    legs = monthly_legs(pairs)
    dest = ["CHN", "RUS", "IRN"]
    routes = candidate_routes(legs, dest).collect().lazy()
    cal = calendar(*legs.select(lo=pl.col("mi").min(), hi=pl.col("mi").max()).collect().row(0))
    months = cal.select("mi")
    changes = series_changes(*series_rows(legs, routes), months, coverage_from_pairs(pairs))
    changes = changes.collect().lazy()
    null = null_table(null_counts(changes).collect())
    floor = legs.select(floor=typical_flow())

    def indicators(series: pl.LazyFrame, names: pl.LazyFrame | None) -> pl.DataFrame:
        rm = route_months(routes, series, months, names=names)
        rm = policy_breaks(rm, routes, series, months, dest, names=names)
        return features(rm, floor=floor, calendar=cal).collect()

    held = _evidence(changes, null, "cpu")
    assert pl.String not in held.collect_schema().dtypes()
    named = indicators(series_evidence(changes, null), None)
    assert named.height > 1000
    assert named["policy_did"].is_not_null().any()
    assert indicators(held, series_names(changes, months)).equals(named)
