"""Figures: what a route's figure marks, checked on the figure's own description."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tradeflows._names import hs_label
from tradeflows._reference import policy_dates
from tradeflows.viz import COLOURS, route_legs


def test_route_legs_marks_flagged_months_and_policy_dates_on_both_panels():
    n = 30  # 2021-01 to 2023-06
    periods = [dt.date(2021 + k // 12, k % 12 + 1, 1) for k in range(n)]
    flagged = [k in (3, 11, 29) for k in range(n)]  # 2021-04, 2021-12 (year end), 2023-06
    flags = pl.DataFrame({"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150",
                          "period": periods, "score": [float(k) for k in range(n)],
                          "flagged": flagged, "inflow": 1e6, "outflow": 1e5})  # fmt: skip
    fig = route_legs(flags, {"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150"})
    shapes = fig.to_plotly_json()["layout"]["shapes"]

    bands = sorted((str(s["x0"]), str(s["x1"]), s["xref"], s["yref"])
                   for s in shapes if s["type"] == "rect")  # fmt: skip
    months = [
        ("2021-04-01", "2021-05-01"),
        ("2021-12-01", "2022-01-01"),
        ("2023-06-01", "2023-07-01"),
    ]
    assert bands == sorted((a, b, x, y) for a, b in months
                           for x, y in (("x", "y domain"), ("x2", "y3 domain")))  # fmt: skip

    # The control dates in the span that are aimed at the destination (CHN), and only those.
    inside = policy_dates().filter(
        pl.col("date").is_between(periods[0], periods[-1]) & pl.col("targets").list.contains("CHN")
    )
    others = policy_dates().filter(pl.col("date").is_between(periods[0], periods[-1])).height
    assert 1 <= inside.height < others  # one aimed at CHN, one (Russia's) not
    lines = sorted((s["x0"], s["xref"]) for s in shapes if s["type"] == "line")
    assert lines == sorted((d, x) for d in inside["date"] for x in ("x", "x2"))
    labels = [a["text"] for a in fig.layout.annotations]
    assert labels == inside["label"].to_list()  # plain words, not the table's names
    # The bands of the lower panel are on the score's own axes.
    score = fig.data[-1]
    assert (score.xaxis, score.yaxis + " domain") == ("x2", "y3 domain")


@pytest.mark.parametrize("months", [12, 60], ids=["one date", "four dates"])
def test_control_dates_are_named_above_the_panel_one_line_each(months):
    """A route's rise comes after a control date: the date's name, written across
    the panel, hid it. Names go above the panel, one line a date, the first
    lowest, the top margin growing by a line a date so that none reaches the title."""
    start = dt.date(2022, 7, 1)  # 2022-07 on: the chip rule of 2022-10 first
    periods = [dt.date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1)
               for k in range(months)]  # fmt: skip
    flags = pl.DataFrame({"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150",
                          "period": periods, "score": 0.0, "flagged": False,
                          "inflow": 1e6, "outflow": 1e5})  # fmt: skip
    fig = route_legs(flags, {"origin": "USA", "hub": "MYS", "destination": "CHN", "hs": "847150"})
    aimed = policy_dates().filter(
        pl.col("date").is_between(periods[0], periods[-1]) & pl.col("targets").list.contains("CHN")
    )
    notes = [a for a in fig.layout.annotations if a.text in aimed["label"].to_list()]
    assert len(notes) == aimed.height
    assert (aimed.height == 1) if months == 12 else (aimed.height >= 3)  # several, stacked
    # Above the top panel (the paper's top is the panel's), upright, one line each.
    assert all((a.yref, a.y, a.yanchor, a.textangle) == ("paper", 1, "bottom", None) for a in notes)
    shifts = [a.yshift for a in notes]
    assert shifts == sorted(shifts) and len(set(shifts)) == len(notes)
    margin = fig.layout.margin.t
    assert margin - 2 >= max(shifts) + 13  # the highest line ends under the margin's top
    if len(notes) > 1:  # the title stays in the band the single-date figure gives it
        assert fig.layout.title.yref == "container"
        assert fig.layout.height * (1 - fig.layout.title.y) == pytest.approx(30)
    # A name runs right of its date in the axis' first half, left of it in the second.
    mid = periods[0] + (periods[-1] - periods[0]) / 2
    assert all(a.xanchor == ("left" if a.x < mid else "right") for a in notes)


def test_score_bars_rise_from_under_the_lowest_score():
    """Log-odds are often all negative: drawn from 0, the least suspicious month or
    corridor would get the longest bar. Bars end at the score and a higher score is
    a longer bar, in a route's figure and in the ranked chart."""
    from tradeflows.viz import flags_bar

    periods = [dt.date(2022, m, 1) for m in range(1, 7)]
    scores = [-6.2, -5.0, -0.4, -1.5, -6.0, None]
    flags = pl.DataFrame({"origin": "FIN", "hub": "KAZ", "destination": "RUS", "hs": "847150",
                          "period": periods, "score": scores,
                          "flagged": [s is not None and s > -1 for s in scores],
                          "inflow": 1e6, "outflow": 1e5})  # fmt: skip
    bars = route_legs(flags, {"origin": "FIN", "hub": "KAZ", "destination": "RUS",
                              "hs": "847150"}).data[-1]  # fmt: skip
    assert bars.type == "bar" and bars.base == -7.5
    ends = [None if y is None else bars.base + y for y in bars.y]
    assert ends == pytest.approx(scores) and list(bars.customdata) == scores
    heights = [y for y in bars.y if y is not None]
    assert min(heights) > 0 and bars.y[2] == max(heights)  # the strongest month, tallest

    ranked = pl.DataFrame({"origin": ["FIN", "ITA", "HUN"], "hub": "KAZ", "destination": "RUS",
                           "hs": ["847160", "847149", "847150"], "score": [-0.3, -0.5, -2.4],
                           "flagged": [True, True, False], "rank": [1, 2, 3]})  # fmt: skip
    bar = flags_bar(ranked).data[0]
    assert bar.base == -3.5 and list(bar.y) == ["HUN → KAZ → RUS  847150", "ITA → KAZ → RUS  847149",
                                                "FIN → KAZ → RUS  847160"]  # fmt: skip
    assert [bar.base + x for x in bar.x] == pytest.approx([-2.4, -0.5, -0.3])
    assert [c[3] for c in bar.customdata] == [-2.4, -0.5, -0.3]  # the hover's score
    # Scores above 0 keep 0 as the floor.
    assert flags_bar(ranked.with_columns(pl.col("score") + 9)).data[0].base == 0.0


def test_ranked_chart_says_what_its_colours_mean():
    """One trace has no legend: the subtitle gives the colours' key, naming grey only where
    a bar is grey."""
    from tradeflows.viz import flags_bar

    ranked = pl.DataFrame({"origin": ["FIN", "HUN"], "hub": "KAZ", "destination": "RUS",
                           "hs": ["847160", "847150"], "score": [-0.3, -0.4],
                           "flagged": [True, False], "rank": [1, 2]})  # fmt: skip
    both = flags_bar(ranked)
    assert list(both.data[0].marker.color) == [COLOURS["quiet"], COLOURS["flagged"]]
    assert both.layout.title.subtitle.text.startswith("Red: flagged on the evidence. Grey: not")
    red = flags_bar(ranked.with_columns(flagged=pl.lit(True))).layout.title.subtitle.text
    assert red == "All flagged on the evidence."
    grey = flags_bar(ranked.with_columns(flagged=pl.lit(False))).layout.title.subtitle.text
    assert grey.startswith("None flagged")


@pytest.mark.parametrize("direct, right", [(25e6, True), (5e5, False)])
def test_a_direct_leg_that_would_flatten_the_route_gets_its_own_axis(direct, right):
    """Hungary's direct exports to Russia peak at USD 25m a month while its exports to
    Kazakhstan rise to 100k: on one axis the rise is a flat line at 0. Past ten times the
    route's own legs, the direct leg is drawn against an axis of its own, on the right."""
    periods = [dt.date(2022, m, 1) for m in range(1, 7)]
    flags = pl.DataFrame({"origin": "HUN", "hub": "KAZ", "destination": "RUS", "hs": "847150",
                          "period": periods, "score": 1.0, "flagged": True, "diversion": 3.0,
                          "inflow": [4e3, 5e3, 1e5, 1e5, 9e4, 1e5], "outflow": 5e4,
                          "direct": [direct, direct / 2, 1e3, 0.0, 0.0, 0.0]})  # fmt: skip
    fig = route_legs(flags, {"origin": "HUN", "hub": "KAZ", "destination": "RUS", "hs": "847150"})
    axes = {t.name: t.yaxis for t in fig.data if t.type == "scatter"}
    assert axes["HUN → KAZ (largest report)"] == axes["KAZ → RUS (largest report)"] == "y"
    name = "HUN → RUS (largest report)" + (" (right axis)" if right else "")
    assert axes[name] == ("y2" if right else "y")
    assert fig.layout.yaxis2.visible is right


def test_all_origins_leg_is_a_gap_where_no_exporter_filed():
    """A route with no one origin draws the exporters' side from every exporter's report:
    a month in which none of them reported is a gap, not a zero (a sum of nulls)."""
    from tradeflows._mirror import collect_mirror
    from tradeflows._schema import CANONICAL

    months = [dt.date(2023, m, 1) for m in range(1, 5)]
    rows = []
    for k, d in enumerate(months):
        rows.append((d, "MYS", "USA", "M", 100.0 + k))  # the hub's imports: every month
        if k != 2:  # the exporter is silent in March
            rows.append((d, "USA", "MYS", "X", 90.0 + k))
        rows.append((d, "MYS", "CHN", "X", 50.0 + k))
    data = pl.DataFrame(
        {"period": [r[0] for r in rows], "reporter": [r[1] for r in rows],
         "partner": [r[2] for r in rows], "flow": [r[3] for r in rows],
         "value_usd": [r[4] for r in rows]},
    ).with_columns(freq=pl.lit("M"), hs=pl.lit("847150"), hs_revision=pl.lit("HS2022"),
                   source=pl.lit("t"))  # fmt: skip
    data = data.select(
        (pl.col(c) if c in data.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in CANONICAL.items()
    )
    flags = pl.DataFrame({"origin": "", "hub": "MYS", "destination": "CHN", "hs": "847150",
                          "period": months, "score": 1.0, "flagged": False})  # fmt: skip
    route = {"origin": "", "hub": "MYS", "destination": "CHN", "hs": "847150"}  # all origins
    fig = route_legs(flags, route, pairs=collect_mirror(data.lazy()))
    (exporters,) = [t for t in fig.data if t.meta and t.meta["reporter"] == "exporters"]
    assert list(exporters.y) == [90.0, 91.0, None, 93.0]
    # With no exporter's report at all, the figure says so, in words.
    silent = data.filter(pl.col("reporter") != "USA")
    fig = route_legs(flags, route, pairs=collect_mirror(silent.lazy()))
    notes = [a.text for a in fig.layout.annotations]
    assert (
        "exporters file no exports of this product: all → MYS is drawn from the other side only"
        in notes
    )


def test_hovers_carry_names_whole_descriptions_and_usd():
    """The ranked chart's hover: names, the product's description, the value at stake in
    USD k/m/bn; the heatmap's labels are not cut at the description's first ';'."""
    import polars as pl

    from tradeflows.viz import flags_bar, score_heatmap

    f = pl.DataFrame({"origin": ["FRA"], "hub": ["UZB"], "destination": ["RUS"], "hs": ["847330"],
                      "score": [2.0], "flagged": [True], "extra_usd": [1_229_673.0],
                      "rank": [1]})  # fmt: skip
    names, description, money, score = flags_bar(f).data[0].customdata[0]
    assert score == 2.0
    assert names == "France → Uzbekistan → Russia"
    assert description.startswith("Machinery; parts and accessories")
    assert money == "USD 1.2m above the usual level in its flagged months"
    heat = score_heatmap(f).data[0]
    assert heat.x[0].startswith("847330 Machinery; parts") and len(heat.x[0]) > len(
        "847330 Machinery"
    )
    assert heat.customdata[0][0].startswith("847330 Machinery; parts and accessories")


def test_reported_lines_leave_months_nobody_filed_as_gaps():
    """Malaysia files imports in January and March only; Singapore every month but
    February from Taiwan: a gap for Malaysia's February, a zero for Singapore's."""
    from tradeflows.viz import reported_lines

    months = [dt.date(2024, m, 1) for m in (1, 2, 3)]
    rows = [
        ("MYS", "TWN", months[0], 5e6),
        ("MYS", "TWN", months[2], 7e6),
        ("SGP", "TWN", months[0], 1e6),
        ("SGP", "USA", months[1], 2e6),  # Singapore filed February, nothing from Taiwan
        ("SGP", "TWN", months[2], 3e6),
    ]
    d = pl.DataFrame(
        {"reporter": [r[0] for r in rows], "partner": [r[1] for r in rows],
         "period": [r[2] for r in rows], "value_usd": [r[3] for r in rows]}
    ).with_columns(freq=pl.lit("M"), flow=pl.lit("M"), hs=pl.lit("847150"))  # fmt: skip
    fig = reported_lines(d, hs="8471", partners=["TWN"], reporters=["MYS", "SGP"], log=False)
    lines = {t.meta["reporter"]: t.y for t in fig.data}
    assert lines == {"MYS": (5e6, None, 7e6), "SGP": (1e6, 0.0, 3e6)}
    logged = {t.meta["reporter"]: t.y for t in reported_lines(d, hs="8471", partners=["TWN"]).data}
    assert logged["SGP"] == (1e6, None, 3e6)  # a log axis cannot draw the zero
    # One line per partner: the reporters summed; a month counts when any of them filed.
    by_partner = reported_lines(d, hs="8471", by="partner", log=False)
    assert {t.meta["partner"]: t.y for t in by_partner.data}["TWN"] == (6e6, 0.0, 10e6)
    with pytest.raises(ValueError, match="by: choose"):
        reported_lines(d, hs="8471", by="hub")
    # A reporter that filed, with no row of the selection: zeros in its filed months.
    nothing = reported_lines(d, hs="8471", partners=["KOR"], reporters=["SGP"], log=False)
    assert [t.y for t in nothing.data] == [(0.0, 0.0, 0.0)]


def test_overview_figures_draw_only_months_that_count_as_evidence():
    """The bundled EU data's hottest route-months were hubs whose inflow nobody reports
    (Sweden's imports from all origins, score 0.4): never flaggable, yet the top row of
    the heatmap and the largest marker of the map. Both now read the months the
    corridors read: covered, no data-quality event."""
    from tradeflows.viz import hub_map, score_heatmap

    f = pl.DataFrame({
        "hub": ["SWE", "SWE", "KAZ", "KAZ", "ARM"],
        "hs": ["852550", "847150", "847150", "847150", "847150"],
        "score": [0.4, -3.0, 5.0, -0.5, -2.0],
        "covered": [False, True, True, True, True],
        "data_quality": [None, None, "unit slip suspected by the cleaning", None, None],
        "flagged": [False, False, False, True, True],
    })  # fmt: skip
    heat = score_heatmap(f).data[0]
    assert list(heat.x) == [hs_label("847150", 28)]  # 852550 had only the uncovered month
    assert list(heat.y) == ["Kazakhstan", "Armenia", "Sweden"]
    assert [row[0] for row in heat.z] == [-0.5, -2.0, -3.0]
    fig = hub_map(f)
    hubs = fig.data[-1]
    assert [t.split(":")[0] for t in hubs.customdata] == ["Kazakhstan", "Armenia", "Sweden"]
    # The hubs with a flagged month are named on the map; Sweden has none.
    assert list(hubs.text) == ["KAZ", "ARM", ""]
    assert fig.layout.title.subtitle.text == "Named: the hubs with a flagged month."
    sizes = list(hubs.marker.size)
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[1] > sizes[2] > 0
    # One colour, one score, in both figures: the range of the hub x product cells.
    assert (heat.zmin, heat.zmax) == (hubs.marker.cmin, hubs.marker.cmax) == (-3.0, -0.5)
    # Orange is the lowest flagged month's score (Armenia's -2.0): 0.4 of the range.
    assert [c[0] for c in heat.colorscale] == [0.0, pytest.approx(0.4), 1.0]
    assert heat.colorscale == hubs.marker.colorscale


def test_the_hub_map_shows_the_hubs_region_or_the_world():
    """Hubs of one region (the bundled report's Caucasus and Central Asia) were
    dots on a world map, their names on top of each other: the map now spans
    the hubs, and the world only where they are spread over it."""
    from tradeflows._viz import _centre
    from tradeflows.viz import hub_map

    def ranges(hubs):
        f = pl.DataFrame({"hub": hubs, "score": [1.0] * len(hubs), "flagged": True})
        layout = hub_map(f).layout
        return list(layout.xaxis.range), list(layout.yaxis.range)

    (x, y) = ranges(["ARM", "GEO", "KAZ", "KGZ", "UZB"])
    lon = [_centre(h)[0] for h in ("ARM", "GEO", "KAZ", "KGZ", "UZB")]
    lat = [_centre(h)[1] for h in ("ARM", "GEO", "KAZ", "KGZ", "UZB")]
    assert x[0] < min(lon) < max(lon) < x[1] and x[1] - x[0] < 120
    assert y[0] < min(lat) < max(lat) < y[1] and y[1] - y[0] < 60
    assert ranges(["USA", "CHN", "BRA", "AUS"]) == ([-180, 180], [-60, 85])


def test_with_nothing_flagged_no_hub_is_drawn_dark():
    # The EU's all-goods exports read for one destination: every hub scored,
    # its best below the line. The range from the lowest score to the highest
    # drew the best of them dark red, as if flagged.
    from tradeflows.viz import hub_map, score_heatmap

    f = pl.DataFrame({"hub": ["KAZ", "ARM", "EST"], "hs": "TOTAL", "score": [-1.7, -2.5, -5.5],
                      "flagged": False})  # fmt: skip
    heat = score_heatmap(f).data[0]
    assert [c[1] for c in heat.colorscale] == ["#fff5eb", "#fd8d3c"]  # pale to orange only
    nothing = hub_map(f)
    assert nothing.data[-1].marker.colorscale == heat.colorscale
    assert set(nothing.data[-1].text) == {""} and nothing.layout.title.subtitle.text is None
    flagged = score_heatmap(f.with_columns(flagged=pl.col("hub") == "KAZ")).data[0]
    # Flagged, Kazakhstan's score is the line: the hubs below it stay under orange.
    assert flagged.colorscale[-1][1] == "#a50f15" and flagged.colorscale[1][0] == 0.99


def test_one_hubs_records_draw_its_destinations_month_by_month():
    # Armenia's trade by country, all goods: the heatmap of hubs by product was
    # one cell. Its destinations by month show where and when the trade turned;
    # a month not scored is a gap, and the map keeps the heatmap's colours.
    from tradeflows.viz import hub_map, score_heatmap

    months = [dt.date(2022, m, 1) for m in (1, 2, 3)]
    f = pl.DataFrame({
        "origin": None, "hub": "ARM", "destination": ["RUS", "RUS", "RUS", "GEO", "GEO"],
        "hs": "TOTAL", "period": [months[2], months[0], months[1], months[0], months[2]],
        "score": [4.0, -1.0, 2.0, -3.0, -2.5], "flagged": [True, False, True, False, False],
    }, schema_overrides={"origin": pl.String})  # fmt: skip
    fig = score_heatmap(f)
    heat = fig.data[0]
    assert list(heat.y) == ["Russia", "Georgia"]
    assert list(heat.x) == months
    assert [list(r) for r in heat.z] == [[-1.0, 2.0, 4.0], [-3.0, None, -2.5]]
    assert fig.layout.title.text == "Highest score by destination and month"
    assert fig.layout.title.subtitle.text == "through Armenia, in all goods"
    assert (heat.zmin, heat.zmax) == (-3.0, 4.0)
    assert hub_map(f).data[-1].marker.colorscale == heat.colorscale
    # Two hubs, one product: the hubs by month.
    two = score_heatmap(f.with_columns(hub=pl.when(pl.col("destination") == "GEO")
                                       .then(pl.lit("KAZ")).otherwise(pl.col("hub"))))  # fmt: skip
    assert list(two.data[0].y) == ["Armenia", "Kazakhstan"] and list(two.data[0].x) == months
    assert two.layout.title.text == "Highest score by hub and month"


def test_the_mirror_gap_note_names_the_largest_partners_first():
    # Armenia's own records: 148 partners, none of which files. The note named
    # the alphabet's first (Aruba, Afghanistan, Angola) under a corridor to
    # Russia, Armenia's largest customer; it names the largest flows first.
    from tradeflows.viz import mirror_gap_note

    partners = {"ABW": 1.0, "AFG": 2.0, "AGO": 3.0, "RUS": 900.0, "CHN": 300.0, "HKG": 300.0}
    pairs = pl.DataFrame(
        {
            "exporter": "ARM",
            "importer": list(partners),
            "hs": "TOTAL",
            "period": dt.date(2022, 5, 1),
            "value_x": list(partners.values()),
            "value_m": None,
        },
        schema_overrides={"value_m": pl.Float64},
    )
    note = mirror_gap_note(pairs, exporter="ARM")
    assert note.startswith("No flow from Armenia is reported by both sides here: Russia, China,")
    assert "Hong Kong and others file no imports of it" in note
    assert mirror_gap_note(pairs.head(1), exporter="ARM").count("Aruba files no imports") == 1


def test_the_sankey_draws_a_route_of_all_origins_without_counting_the_hub_twice():
    # One hub's own records: its largest flagged corridor has no one origin
    # ("", the hub's total imports). The Sankey drew named origins only, and
    # left Russia, the corridor worth USD 2.3bn, out of the chart.
    from tradeflows.viz import route_sankey

    f = pl.DataFrame(
        {
            "origin": ["", "RUS"],
            "hub": "ARM",
            "destination": ["RUS", "HKG"],
            "hs": "TOTAL",
            "period": dt.date(2023, 1, 1),
            "score": [6.0, 5.0],
            "flagged": True,
            "inflow": [1000.0, 800.0],
            "outflow": [300.0, 90.0],
        }
    )
    link = route_sankey(f).data[0].link
    drawn = dict(zip(link.customdata, link.value, strict=True))
    assert drawn == {
        "other origins → Armenia: USD 200": 200.0,  # the hub's imports less Russia's
        "Russia → Armenia: USD 800": 800.0,
        "Armenia → Hong Kong: USD 90": 90.0,
        "Armenia → Russia: USD 300": 300.0,
    }
    alone = route_sankey(f.head(1))
    assert "all origins" in alone.data[0].node.label
    assert list(alone.data[0].link.value) == [1000.0, 300.0]


@pytest.mark.parametrize(
    ("hs", "width", "label"),
    [
        ("84715000", 28, "84715000 Units of automatic data…"),  # not "…data proc…"
        ("90131090", 28, "90131090 Optical appliances…"),  # not "…appliances and…"
        ("85269120", 48, "85269120 Radio navigational aid apparatus"),  # whole: no mark
        ("847330", 10, "847330 Machinery…"),  # not "Machinery;…"
    ],
)
def test_a_products_label_is_cut_at_the_end_of_a_word(hs, width, label):
    """The heatmap's columns and the figures' subtitles name a product by its code and
    the start of its description, cut where a word ends."""
    assert hs_label(hs, width) == label


@pytest.mark.parametrize(
    ("figure", "reads"),
    [("route_sankey", "a flags table"), ("score_heatmap", "a flags table"),
     ("flags_bar", "a flags table"), ("hub_map", "a flags table"),
     ("mirror_gap", "a mirror table"), ("mirror_gap_note", "a mirror table")],
)  # fmt: skip
def test_a_figure_given_the_wrong_table_says_which_it_reads(figure, reads):
    # The store's rows handed to a figure of flags: polars' ColumnNotFoundError
    # and its plan, before; now one line naming the table the figure reads.
    import tradeflows.viz
    from tradeflows._errors import TradeflowsInputError
    from tradeflows.datasets import load_eu_electronics_exports

    draw = getattr(tradeflows.viz, figure)
    rows = load_eu_electronics_exports().head(50)
    with pytest.raises(
        TradeflowsInputError, match=f"^{figure} reads {reads} .*: this one has no col"
    ):
        draw(rows)
    with pytest.raises(
        TradeflowsInputError, match=rf"^{figure} reads {reads} .*, not str \(a polars frame\)$"
    ):
        draw("flags.csv")
