"""The third generator's worlds (``benchmarks/bench_third.py``) are what its docstring says,
and the diagnosis read on them (``bench_detect.corridor_places``) places corridors right.

Its figures in benchmarks/RESULTS.md stand on these: the same world from the
same seed, month-to-month changes as large as the real CN8 series', the
sanctions and the reporters' gaps in the rows, and each episode's goods
booked where its label says.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_third import MONTHS, WEST, world
from bench_transfer import month_to_month


@pytest.fixture(scope="module")
def third():
    lf, truth = world(1)
    return lf.collect(), truth


def test_a_seed_gives_the_same_world_every_time(third):
    rows, truth = third
    again, truth_again = world(1)
    assert again.collect().equals(rows)
    assert truth_again.sort(pl.all()).equals(truth.sort(pl.all()))
    assert not world(2)[0].collect().equals(rows)


def test_its_series_change_from_month_to_month_as_much_as_real_ones(third):
    rows, _ = third
    # The real Eurostat CN8 series: a median change of 0.92 (DOMAIN.md); within 20%.
    assert 0.74 <= month_to_month(rows.lazy()) <= 1.10


def test_the_west_stops_exporting_to_russia_and_reporters_miss_months(third):
    rows, _ = third
    # Each western flow to Russia, its mean month after 2022-03 against before
    # (the sums are a few large flows'; the sanctions cut every flow to 2%-30%).
    ratio = (
        rows.filter(pl.col("reporter").is_in(WEST), partner="RUS", flow="X")
        .group_by("reporter", "hs")
        .agg(
            after=pl.col("value_usd").filter(pl.col("period") >= dt.date(2022, 3, 1)).sum()
            / (MONTHS[-1].year * 12 + 12 - (2022 * 12 + 2)),
            before=pl.col("value_usd").filter(pl.col("period") < dt.date(2022, 3, 1)).sum()
            / (2022 * 12 + 2 - (MONTHS[0].year * 12)),
        )
        .filter(pl.col("before") > 0)
        .select(pl.col("after") / pl.col("before"))
        .to_series()
    )
    assert ratio.len() >= 10 and ratio.median() < 0.35
    filed = rows.group_by("reporter").agg(pl.col("period").n_unique())
    assert filed["period"].min() < len(MONTHS)  # some reporter misses months
    assert "TWN" not in rows["reporter"].to_list()


def test_an_episode_booked_by_origin_shows_in_the_destination_s_report_of_the_origin(third):
    rows, truth = third
    booked = truth.filter(pl.col("note").str.contains("booked by origin")).row(0, named=True)
    months = truth.filter(
        origin=booked["origin"], hub=booked["hub"], destination=booked["destination"],
        hs=booked["hs"],
    )["period"]  # fmt: skip
    from_origin = rows.filter(
        reporter=booked["destination"], partner=booked["origin"], flow="M", hs=booked["hs"]
    )
    during = from_origin.filter(pl.col("period").is_in(months.implode()))
    assert during.height > 0
    before = from_origin.filter(pl.col("period") < months.min())["value_usd"]
    assert during["value_usd"].mean() > 2 * (before.mean() or 0.0)


def test_corridor_places_says_where_the_true_corridors_rank_and_what_the_false_ones_carry():
    from bench_detect import corridor_places

    truth = pl.DataFrame({
        "origin": ["USA", "USA", "DEU", ""],
        "hub": ["MYS", "MYS", "ARM", "SGP"],
        "destination": ["CHN", "CHN", "RUS", "CHN"],
        "hs": ["847150", "847150", "851762", "854231"],
        "period": [dt.date(2023, 1, 1), dt.date(2023, 2, 1)] * 2,
        "kind": ["pass_through", "pass_through", "origin_booked", "entrepot"],
        "is_transshipment": [True, True, True, False],
    })  # fmt: skip
    # Two routes of one corridor (its best rank counts), an entrepot, chance.
    ranked = pl.DataFrame({
        "rank": [1, 2, 3, 4],
        "hub": ["SGP", "MYS", "MYS", "KAZ"],
        "destination": ["CHN", "CHN", "CHN", "RUS"],
        "hs": ["854231", "847150", "847150", "851762"],
    })  # fmt: skip
    true, false = corridor_places(ranked, truth)
    places = dict(zip(true["hub"], true["place"], strict=True))
    assert places == {"MYS": 2, "ARM": None}  # k = 2: MYS in the top k, ARM not ranked
    assert true.filter(hub="MYS")["found"].item() and not true.filter(hub="ARM")["found"].item()
    assert false["hub"].to_list() == ["SGP"] and false["kind"].to_list() == ["entrepot"]


def test_a_false_corridor_is_said_beside_what_it_shares_with_a_true_one():
    from bench_detect import corridor_places, false_cause

    truth = pl.DataFrame({
        "origin": ["USA", "DEU"], "hub": ["MYS", "ARM"], "destination": ["CHN", "RUS"],
        "hs": ["847150", "851762"], "period": [dt.date(2023, 1, 1)] * 2,
        "kind": ["pass_through", "hidden_reexport"], "is_transshipment": [True, True],
    })  # fmt: skip
    # k = 2: the top two are another destination of MYS's inflow of 847150
    # and another hub to RUS of 851762; a third, sharing nothing, comes next.
    ranked = pl.DataFrame({
        "rank": [1, 2, 3, 4, 5],
        "hub": ["MYS", "KAZ", "SGP", "MYS", "ARM"],
        "destination": ["IRN", "RUS", "BLR", "CHN", "RUS"],
        "hs": ["847150", "851762", "300490", "847150", "851762"],
    })  # fmt: skip
    _, false = corridor_places(ranked, truth)
    assert false.select("hub", "shares").rows() == [
        ("MYS", "hub and product"), ("KAZ", "destination and product")
    ]  # fmt: skip
    causes = false.select(false_cause())["kind"].to_list()
    assert causes == ["chance on a true corridor's hub and product",
                      "chance on a true corridor's destination and product"]  # fmt: skip
    k3 = corridor_places(ranked, pl.concat([truth, truth.with_columns(hub=pl.lit("VNM"))]))[1]
    assert k3.filter(hub="SGP")["shares"].to_list() == [None]  # within the top k, shares nothing


def test_a_world_without_some_parts_has_the_same_episodes_and_other_rows(third):
    from bench_third import PARTS

    rows, truth = third
    labels = ["origin", "hub", "destination", "hs", "period", "kind", "is_transshipment"]
    plain_rows, plain_truth = world(1, without=frozenset(PARTS) - {"evasion"})
    # The same draws: the same episodes and look-alikes, at the same places.
    assert plain_truth.select(labels).sort(labels).equals(truth.select(labels).sort(labels))
    assert not plain_rows.collect().equals(rows)
    # Without the episodes' ways of hiding: the same episodes, none of them hidden.
    easy = world(1, without=frozenset({"evasion"}))[1].filter("is_transshipment")
    key = ["origin", "hub", "destination"]
    episodes = truth.filter("is_transshipment").select(key).unique().sort(key)
    assert easy.select(key).unique().sort(key).equals(episodes)
    assert not easy["note"].str.contains("booked by origin|booked by none|hides|leaves as").any()
    assert truth["note"].str.contains("booked by origin|booked by none|hides|leaves as").any()
