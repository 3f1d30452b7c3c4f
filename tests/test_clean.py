"""Cleaning verbs: one trap per test, then Hypothesis properties over all verbs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tests.conftest import canonical_frame, comtrade_csv, comtrade_row
from tradeflows._clean import (
    SLIP_RATIO,
    audit,
    clean_within_periods,
    idle_from_traces,
    idle_verbs,
    period_traces,
)
from tradeflows._io import scan
from tradeflows.clean import (
    clean,
    drop_aggregates,
    drop_hs_parents,
    flag_unit_slips,
    mark_invalid,
    merge_breakdowns,
    merge_duplicates,
    resolve_flows,
    split,
    to_revision,
)

VERBS = [
    mark_invalid,
    drop_aggregates,
    resolve_flows,
    merge_breakdowns,
    merge_duplicates,
    drop_hs_parents,
    flag_unit_slips,
]


def test_world_and_groups_dropped_beside_detail():
    df = drop_aggregates(canonical_frame(partner=["CHN", "WLD", "AGG"]))
    assert df["drop"].to_list() == [None, "partner_world_beside_detail", "partner_aggregate"]


def test_world_alone_is_kept():
    df = drop_aggregates(canonical_frame(partner=["WLD"], reporter=["KOR"]))
    assert df["drop"].to_list() == [None]


def test_eu27_reporter_dropped():
    df = drop_aggregates(canonical_frame(reporter=["AGG", "DEU"]))
    assert df["drop"].to_list() == ["reporter_aggregate", None]


def test_re_exports_not_double_counted():
    df = canonical_frame(
        reporter=["SGP"] * 3,
        flow=["X", "RX", "X"],
        value_usd=[10.0, 4.0, 6.0],
        raw_flow=["X", "RX", "DX"],
    )
    out = resolve_flows(df)
    assert out["drop"].to_list() == [None, None, "domestic_export_beside_total"]
    assert out.filter(pl.col("drop").is_null())["value_usd"].to_list() == [10.0, 4.0]


def test_domestic_exports_plus_re_exports_become_exports():
    df = canonical_frame(
        reporter=["HKG"] * 2, flow=["X", "RX"], raw_flow=["DX", "RX"], value_usd=[2.0, 30.0]
    )
    out = resolve_flows(df)
    assert out.select("flow", "value_usd", "raw_flow").rows() == [
        ("X", 32.0, "X"),
        ("RX", 30.0, "RX"),
    ]
    assert audit(out)["changed"] == {"x_from_dx_plus_rx": 1}


def test_second_partner_breakdown_beside_total(realdata):
    df = clean(
        scan(realdata / "economic_warfare_portfolio/semiconductor_trade_CHN_M_USA_8542_annual.csv")
    )
    df = df.collect()
    kept, _ = split(df)
    assert kept.height == 15  # one row a year, 2010-2024
    assert kept.filter(pl.col("period").dt.year() == 2015)["value_usd"].item() == pytest.approx(
        df.filter(pl.col("period").dt.year() == 2015, pl.col("partner2").is_null())[
            "value_usd"
        ].item()
    )


def test_transport_breakdowns_summed_without_total():
    df = canonical_frame(mot=["1", "2", "3"], value_usd=[1.0, 2.0, 4.0], net_kg=[1.0, None, 2.0])
    out = merge_breakdowns(df)
    kept = out.filter(pl.col("drop").is_null())
    assert kept.select("value_usd", "net_kg", "mot").rows() == [(7.0, 3.0, None)]
    assert audit(out)["dropped"] == {"summed_into_total": 2}
    assert audit(out)["changed"] == {"summed_mot": 1}


def test_breakdowns_summed_into_the_first_live_row_of_each_interleaved_group():
    # Two flows (USA, SGP) interleaved, the first USA row already dropped: each
    # flow's live breakdowns go into its own first live row, nothing else moves.
    df = canonical_frame(
        partner=["USA", "SGP", "USA", "SGP", "USA"],
        mot=["1", "1", "2", "2", "3"],
        value_usd=[100.0, 1.0, 2.0, 4.0, 8.0],
        drop=["not_goods", None, None, None, None],
    )
    out = merge_breakdowns(df)
    assert out.select("partner", "value_usd", "mot", "drop").rows() == [
        ("USA", 100.0, "1", "not_goods"),
        ("SGP", 5.0, None, None),
        ("USA", 10.0, None, None),
        ("SGP", 4.0, "2", "summed_into_total"),
        ("USA", 8.0, "3", "summed_into_total"),
    ]
    assert out["chg_summed_mot"].to_list() == [False, True, True, False, False]


def test_a_flow_of_one_breakdown_row_is_its_own_total():
    # As in a Comext bulk file, where every row names its statistical regime:
    # a flow of one live row keeps its value and loses its breakdown code, a
    # dropped one is left as it is, and a flow of two rows is summed.
    df = canonical_frame(
        partner=["USA", "SGP", "DEU", "FRA", "FRA"],
        customs=["1", "2", "1", "1", "2"],
        value_usd=[1.0, 2.0, 3.0, 4.0, 8.0],
        drop=[None, "not_goods", None, None, None],
    )
    out = merge_breakdowns(df)
    assert out.select("partner", "value_usd", "customs", "drop").rows() == [
        ("USA", 1.0, None, None),
        ("SGP", 2.0, "2", "not_goods"),
        ("DEU", 3.0, None, None),
        ("FRA", 12.0, None, None),
        ("FRA", 8.0, "2", "summed_into_total"),
    ]
    assert out["chg_summed_customs"].to_list() == [False, False, False, True, False]


def test_customs_breakdown_beside_total():
    out = merge_breakdowns(canonical_frame(customs=[None, "C01", "C02"], value_usd=[5.0, 2.0, 3.0]))
    assert out["drop"].to_list() == [None, "customs_breakdown", "customs_breakdown"]


def test_hs4_beside_hs6_dropped_only_within_a_source():
    df = canonical_frame(hs=["8471", "847150", "8542", "TOTAL"], source=["a", "a", "a", "b"])
    out = drop_hs_parents(df)
    assert out["drop"].to_list() == ["hs_parent_of_detail", None, None, None]


def test_exact_duplicates_across_downloads_and_revisions():
    df = canonical_frame(
        value_usd=[1.0, 1.0, 3.0],
        source=["jan.csv", "feb.csv", "mar.csv"],
        period=[dt.date(2023, 1, 1), dt.date(2023, 1, 1), dt.date(2023, 2, 1)],
    )
    assert merge_duplicates(df)["drop"].to_list() == [None, "duplicate_exact", None]
    revised = canonical_frame(value_usd=[1.0, 2.0], source=["old.csv", "new.csv"])
    assert merge_duplicates(revised)["drop"].to_list() == ["duplicate_superseded", None]


def test_taiwan_code_490_and_leading_zero(tmp_path):
    path = comtrade_csv(tmp_path / "t.csv", [comtrade_row(reporter="490", cmd="30490")])
    out = clean(scan(path)).collect()
    assert out.select("reporter", "hs").row(0) == ("TWN", "030490")
    assert audit(out)["changed"] == {"hs_zero_padded": 1}


def test_unknown_codes_marked_as_input_errors():
    df = canonical_frame(
        reporter=[None, "MYS", "MYS"],
        hs=["847150", "777777", "847150"],
        value_usd=[1.0, 1.0, None],
        value_raw=["1", "1", "n/a"],
    )
    assert mark_invalid(df)["drop"].to_list() == ["unknown_country", "unknown_hs", "bad_value"]


def _unknown_by_hand(hs: str | None, revision: str | None) -> bool:
    """The HS check of ``mark_invalid`` as the docs state it, one code at a time."""
    from tradeflows._clean import _valid_hs

    valid = _valid_hs()
    if hs is None:
        return True
    return not _known_by_hand(hs, revision, valid)


def _known_by_hand(hs: str, revision: str | None, valid: dict) -> bool:
    if hs == "TOTAL":
        return True
    chapters = {*valid[2], "98", "99"}
    if hs[:2] not in chapters:
        return False
    if revision not in ("HS2017", "HS2022") or hs[:2] in ("98", "99"):
        return True
    if len(hs) >= 6:
        return hs[:6] in valid[6]
    if len(hs) == 4:
        return hs in valid[4]
    return True  # two digits (a known chapter), or another length: the chapter only


_SOME_CODES = ["847150", "847130", "8471", "84", "85", "850440", "300490", "870323"]


@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.none(),
                st.sampled_from(["TOTAL", "98", "9801", "990000", "77", "7700", "", "８４"]),
                st.sampled_from(_SOME_CODES).flatmap(
                    lambda c: st.integers(1, len(c) + 2).map(lambda n: (c + "12")[:n])
                ),
                st.text("0123456789", max_size=9),
            ),
            st.sampled_from([None, "HS2017", "HS2022", "HS2012", "HS1992"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_hs_check_reads_each_code_as_documented(rows):
    hs, revisions = (pl.Series(c, dtype=pl.String) for c in zip(*rows, strict=True))
    got = mark_invalid(canonical_frame(hs=hs, hs_revision=revisions))["drop"].to_list()
    assert got == ["unknown_hs" if _unknown_by_hand(*row) else None for row in rows]


def test_unit_slip_flagged_not_changed():
    months = [dt.date(2022, m, 1) for m in range(1, 8)]
    values = [100.0, 110.0, 95.0, 105_000.0, 98.0, 102.0, 99.0]
    df = canonical_frame(period=months, value_usd=values)
    out = flag_unit_slips(df)
    assert out["slip_suspect"].to_list() == [False, False, False, True, False, False, False]
    assert out["value_usd"].to_list() == values


def test_a_filter_after_cleaning_does_not_reach_the_slip_pass():
    # The slip pass reads whole series; a filter after clean() must not be
    # pushed below it (the months left would make other neighbours). The
    # lazy result, filtered, equals the executed one, filtered.
    months = [dt.date(2022, m, 1) for m in range(1, 8)]
    values = [100.0, 110.0, 95.0, 105_000.0, 98.0, 102.0, 99.0]
    lf = canonical_frame(period=months, value_usd=values).lazy()
    kept = pl.col("period").is_in([months[2], months[3]])
    lazy = clean(lf).filter(kept).collect()
    assert lazy["slip_suspect"].to_list() == [False, True]
    assert_frame_equal(lazy, clean(lf).collect().filter(kept))


def test_unit_slip_between_two_outliers_of_a_steady_series():
    # The slip (x1000 from both neighbours) and its neighbours are each only
    # 10^1.5 from the series' centre: the series must not be passed over for
    # having no row a full slip away from it.
    months = [dt.date(2022, m, 1) for m in range(1, 12)]
    values = [100.0] * 8 + [100 / 10**1.5, 100 * 10**1.5, 100 / 10**1.5]
    out = flag_unit_slips(canonical_frame(period=months, value_usd=values))
    assert out["slip_suspect"].to_list() == [False] * 9 + [True, False]


@pytest.mark.parametrize(
    ("ratio", "flagged"), [(SLIP_RATIO * 1.02, True), (SLIP_RATIO / 1.02, False)]
)
def test_the_smallest_unit_slip(ratio, flagged):
    # Just over SLIP_RATIO from both neighbours is a slip, just under is not:
    # the series then spans just over log10(SLIP_RATIO), the least a series
    # with a slip can span (the series that span less are passed over).
    months = [dt.date(2022, m, 1) for m in range(1, 8)]
    values = [100.0, 100.5, 99.5, 100.0 * ratio, 100.0, 100.5, 99.5]
    out = flag_unit_slips(canonical_frame(period=months, value_usd=values))
    assert out["slip_suspect"].to_list() == [False, False, False, flagged, False, False, False]


def test_lasting_collapse_is_not_a_slip():
    months = [dt.date(2022, m, 1) for m in range(1, 9)]
    df = canonical_frame(period=months, value_usd=[1e6, 1.1e6, 9e5, 1e3, 1.2e3, 9e2, 1e3, 1.1e3])
    assert not flag_unit_slips(df)["slip_suspect"].any()


def test_unit_slip_confirmed_by_mirror_at_the_end_of_a_series():
    months = [dt.date(2022, m, 1) for m in range(1, 7)]
    exp = canonical_frame(period=months, value_usd=[100.0, 101.0, 99.0, 100.0, 98.0, 99_000.0])
    mirror = canonical_frame(
        period=[months[-1]], reporter=["CHN"], partner=["MYS"], flow=["M"], value_usd=[103.0]
    )
    out = flag_unit_slips(pl.concat([exp, mirror]))
    assert out["slip_suspect"].to_list() == [False] * 5 + [True, False]
    without_mirror = flag_unit_slips(exp)
    assert not without_mirror["slip_suspect"].any()


def test_unit_slip_in_a_lumpy_series_needs_the_mirror():
    # A series that doubles or halves from month to month, as real ones do:
    # its x1000 month is a slip only where the partner's report of that month
    # says so (Viet Nam's USD 414m between 197k and 601k, China's 450k).
    months = [dt.date(2023, m, 1) for m in range(1, 13)]
    values = [3e4, 7e5, 2e5, 9e6, 3.5e5, 1.2e6, 4e4, 1.97e5, 4.14e8, 6.01e5, 2.5e6, 8e4]
    exp = canonical_frame(period=months, value_usd=values)
    logs = exp["value_usd"].log10()
    assert (logs - logs.median()).abs().median() > 0.3  # lumpy: not a steady series
    assert not flag_unit_slips(exp)["slip_suspect"].any()
    mirror = canonical_frame(
        period=[months[8]], reporter=["CHN"], partner=["MYS"], flow=["M"], value_usd=[4.5e5]
    )
    out = flag_unit_slips(pl.concat([exp, mirror]))
    assert out["slip_suspect"].to_list() == [False] * 8 + [True] + [False] * 4
    # A partner who books the same large value: no slip, a large month.
    agrees = mirror.with_columns(value_usd=pl.lit(4.3e8))
    assert not flag_unit_slips(pl.concat([exp, agrees]))["slip_suspect"].any()
    # A month 1000 times below its neighbours and its mirror is a tiny month
    # there, not a slip: lumpy series have them (a small shipment, a partner
    # booking the month before).
    low = exp.with_columns(
        value_usd=pl.Series([v / 1e6 if k == 8 else v for k, v in enumerate(values)])
    )
    assert not flag_unit_slips(pl.concat([low, mirror]))["slip_suspect"].any()


def test_the_slip_pass_over_many_morsels_gives_the_in_memory_rows():
    # Ingest finds the slips of millions of rows on the streaming engine where
    # this polars keeps a sort's order for the neighbours' shifts
    # (_engine.streamed_in_order; polars 1.35's failed on 8M rows): the rows
    # flagged are those of the in-memory engine, over morsel boundaries too.
    import numpy as np

    from tradeflows import _engine
    from tradeflows._clean import unit_slip_rows

    rng = np.random.default_rng(5)
    series, months = 30_000, 12
    s = np.repeat(np.arange(series, dtype=np.uint64) * 7919 + 11, months)
    log = np.repeat(rng.uniform(3, 7, series), months) + rng.normal(0, 0.05, series * months)
    slips = rng.choice(series * months, 400, replace=False)
    log[slips] += 3.0  # x1000
    lf = pl.LazyFrame({
        "_gid": np.arange(series * months), "_s": s, "_m": s + 1,  # no partner's report
        "period": np.tile(pl.date_range(dt.date(2023, 1, 1), dt.date(2023, 12, 1), "1mo",
                                        eager=True).to_numpy(), series),
        "value_usd": 10.0**log, "drop": pl.Series([None] * (series * months), dtype=pl.String),
    })  # fmt: skip
    plan = unit_slip_rows(lf, "_gid")
    mine = _engine.collect(plan, _engine.streamed_in_order("cpu")).sort("_gid")
    expected = plan.collect(engine="in-memory").sort("_gid")
    assert_frame_equal(mine, expected)
    # The planted slips inside a series (not its first or last month) are found.
    inner = [g for g in slips.tolist() if 0 < g % months < months - 1]
    assert set(inner) <= set(mine["_gid"].to_list()) and len(inner) > 300


def test_concordance_to_hs2017():
    df = canonical_frame(hs=["847150", "85423190", "88062100"], hs_revision=["HS2022"] * 3)
    out = to_revision(df)
    assert out.select("hs", "hs_revision").rows() == [
        ("847150", "HS2017"),
        ("85423190", "HS2017"),  # same subheading in both: national digits kept
        ("852580", "HS2017"),  # drones <= 250 g: a new HS2022 code, first of three targets
    ]
    assert audit(out)["changed"] == {
        "concorded_ambiguous": 1,
        "concorded_to_hs2017": 1,
        "relabelled_hs2017": 2,
    }


# --- properties -----------------------------------------------------------------

REPORTERS = ["MYS", "SGP", "CHN", "WLD", "AGG", None]
HS = ["8471", "847150", "847180", "8542", "854231", "TOTAL", "777777"]


@st.composite
def frames(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    cols = {
        "period": st.sampled_from([dt.date(2022, m, 1) for m in (1, 2, 3, 4, 5, 6)]),
        "reporter": st.sampled_from(REPORTERS),
        "partner": st.sampled_from(REPORTERS),
        "flow": st.sampled_from(["X", "M", "RX", "RM"]),
        "hs": st.sampled_from(HS),
        "value_usd": st.one_of(st.none(), st.floats(min_value=0, max_value=1e9)),
        "partner2": st.sampled_from([None, None, "458"]),
        "mot": st.sampled_from([None, None, "1", "2"]),
        "source": st.sampled_from(["a", "b"]),
    }
    data = {k: [draw(v) for _ in range(n)] for k, v in cols.items()}
    df = canonical_frame(**data) if n else canonical_frame(period=[]).clear()
    return df.with_columns(raw_flow=pl.col("flow"))


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The whole pipeline plans about 50 ms per call however small the frame (0.5-3 s
# before the slip pass ran on its input executed): the examples of SETTINGS.
PIPELINE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(frames(), st.sampled_from(VERBS))
def test_no_row_lost_or_invented(df, verb):
    out = verb(df)
    assert out.height == df.height
    counts = audit(out)
    assert counts["rows_read"] == counts["rows_kept"] + counts["rows_dropped"] == df.height


@PIPELINE
@given(frames())
def test_whole_cleaning_keeps_every_row_accounted(df):
    out = clean(df)
    kept, dropped = split(out)
    assert kept.height + dropped.height == df.height
    assert audit(out)["rows_kept"] == kept.height


@SETTINGS
@given(frames(), st.sampled_from(VERBS))
def test_verbs_are_idempotent(df, verb):
    once = verb(df)
    twice = verb(once)
    assert_frame_equal(
        once.select("drop", "value_usd", "slip_suspect"),
        twice.select("drop", "value_usd", "slip_suspect"),
    )


@SETTINGS
@given(frames(), st.sampled_from(VERBS))
def test_dataframe_and_lazyframe_agree(df, verb):
    eager = verb(df)
    lazy = verb(df.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(eager, lazy.collect())


@PIPELINE
@given(frames(), st.sampled_from([None, "DX", "FM"]))
def test_leaving_out_the_idle_verbs_changes_nothing(df, raw):
    # Some frames have DX or FM flows, most have breakdowns or shorter codes
    # beside longer ones, a few have none: every mix of idle verbs is met.
    if raw:
        total = {"DX": "X", "FM": "M"}[raw]
        df = df.with_columns(raw_flow=pl.when(pl.col("flow") == total).then(pl.lit(raw)))
        df = df.with_columns(raw_flow=pl.col("raw_flow").fill_null(pl.col("flow")))
    idle = idle_verbs(df.lazy()).collect().row(0, named=True)
    want = clean_within_periods(df.lazy()).collect()
    got = clean_within_periods(df.lazy(), skip=[v for v, yes in idle.items() if yes]).collect()
    missing = [c for c in want.columns if c not in got.columns]
    assert all(c.startswith("chg_") and not want[c].any() for c in missing)
    assert_frame_equal(got, want.drop(missing))


@SETTINGS
@given(frames(), st.sampled_from([None, "DX", "FM"]), st.data())
def test_idle_verbs_of_some_periods_read_from_the_traces_of_parts(df, raw, data):
    # Ingest aggregates each frame it reads by period (period_traces) and asks
    # for a chunk of periods of all of them what idle_verbs asks of its rows.
    if raw:
        df = df.with_columns(raw_flow=pl.when(pl.col("flow") == "X").then(pl.lit(raw)))
    cut = data.draw(st.integers(0, df.height))
    traces = pl.concat([period_traces(part.lazy()).collect() for part in (df[:cut], df[cut:])])
    periods = [None, *sorted(df["period"].drop_nulls().unique())]
    some = data.draw(st.lists(st.sampled_from(periods), min_size=1, unique=True))
    chosen = pl.col("period").is_in(some) | (pl.col("period").is_null() & (None in some))
    got = idle_from_traces(traces.lazy().filter(chosen)).collect().row(0, named=True)
    assert got == idle_verbs(df.lazy().filter(chosen)).collect().row(0, named=True)


def test_a_parent_code_and_its_child_in_two_periods_keep_the_verb_in_their_chunk():
    may, june = dt.date(2022, 5, 1), dt.date(2022, 6, 1)
    df = canonical_frame(period=[may, june], hs=["8471", "847150"])
    traces = pl.concat([period_traces(df[i : i + 1].lazy()).collect() for i in (0, 1)])
    idle = idle_from_traces(traces.lazy()).collect().row(0, named=True)
    assert idle == idle_verbs(df.lazy()).collect().row(0, named=True)
    assert idle == {"resolve_flows": True, "merge_breakdowns": True, "drop_hs_parents": False}
    alone = idle_from_traces(traces.lazy().filter(pl.col("period") == june)).collect()
    assert alone["drop_hs_parents"].item()


def test_idle_verbs_name_the_rows_each_verb_acts_on():
    plain = canonical_frame(hs=["847150", "847130"], partner2=[None, None])
    cases = {
        "resolve_flows": plain.with_columns(raw_flow=pl.Series(["X", "DX"])),
        "merge_breakdowns": plain.with_columns(partner2=pl.Series(["458", None])),
        "drop_hs_parents": plain.with_columns(hs=pl.Series(["8471", "847130"])),
    }
    assert all(idle_verbs(plain.lazy()).collect().row(0))
    for verb, df in cases.items():
        idle = idle_verbs(df.lazy()).collect().row(0, named=True)
        assert [v for v, yes in idle.items() if not yes] == [verb]
    with pytest.raises(ValueError, match="merge_duplicates"):
        clean_within_periods(plain.lazy(), skip=["merge_duplicates"])


def test_cleaning_does_not_depend_on_polars_cache(realdata, monkeypatch):
    """polars 1.44 planned a filter below a cached join wrongly in the mirror; the
    cleaning caches too, so its result is checked against the same plan with each
    cached frame materialised instead (no optimisation can cross that boundary,
    and unlike dropping the caches it does not re-expand the plan: 40 s a file)."""
    from tradeflows._io import scan

    # Real files with World rows, breakdowns beside totals, duplicates and slips.
    files = [realdata / "ruimpeks/comext_electronics_EU27_to_RU_AM_BY_GE_KG_KZ_UZ_monthly_2020_2022.csv",
             realdata / "economic_warfare_portfolio/semiconductor_trade_CHN_M_USA_8542_annual.csv"]  # fmt: skip
    for path in files:
        lf = scan(path).head(4000).collect().lazy()
        cached = clean(lf).collect()
        with monkeypatch.context() as m:
            m.setattr(pl.LazyFrame, "cache", lambda self: self.collect().lazy())
            plain = clean(lf).collect()
        assert cached.height == plain.height > 100
        assert cached.sort(pl.all()).equals(plain.select(cached.columns).sort(pl.all())), path.name
