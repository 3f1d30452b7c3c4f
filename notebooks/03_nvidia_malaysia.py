# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python (tradeflows)
#     language: python
#     name: tradeflows
# ---

# %% [markdown]
# # AI hardware: Taiwan and the US → Malaysia, Singapore, Thailand → China
#
# **This notebook runs on a SYNTHETIC world, and every figure says so.** One
# flow is calibrated to published figures: Taiwan's exports of computing
# systems (HS 8471.50) to Malaysia, USD 3.4m in March 2023, 401.9m in March 2024
# and 1,874m in March 2025 (Taiwan's Ministry of Finance statistics, as quoted
# in press reports). Everything else is invented to teach the method: how much
# goes on to China, Singapore's and Thailand's flows, every other country.
# Nothing here is evidence about real companies or countries. The last section
# shows how to run the same steps on real data.
#
# What the world holds (`tradeflows.datasets.make_trade_world`, preset `asia_ai_hardware`):
#
# - **Malaysia** (a transshipment episode): servers from Taiwan, 60% of their
#   rise passed on to China a month later;
# - **Singapore** (a transshipment episode): from November 2023, after the
#   update of the US chip rule, processors (HS 8542.31) from the US, 70% passed
#   on to China; and a steady entrepôt trade in servers that must not be flagged;
# - **Thailand** (a look-alike): a surge of servers from 2024 that stays in the
#   country, as data centres are built. Not transshipment: it should not be
#   flagged.

# %% tags=["parameters"]
store = None  # a tradeflows store of real pulls; None writes the synthetic world
pairs_per_product = 60
seed = 0

# %%
import json
import tempfile
from pathlib import Path

import plotly.io as pio
import polars as pl

import tradeflows as tf
from tradeflows import viz
from tradeflows.datasets import ASIA_AI_ANCHORS, make_trade_world

pio.renderers.default = "plotly_mimetype+notebook"
HUBS = ["MYS", "SGP", "THA"]
AI = ["847150", "847180", "847330", "854231", "854232"]
synthetic = store is None
if synthetic:
    work = Path(tempfile.mkdtemp(prefix="tradeflows-asia-"))
    info = make_trade_world(work, preset="asia_ai_hardware", seed=seed,
                            pairs_per_product=pairs_per_product)  # fmt: skip
    print(json.dumps(info["calibration"], indent=1)[:900])
    tf.ingest([work / "comtrade"], work / "store")
    store = work / "store"
data = tf.scan_store(store)
coverage = tf.coverage_table(data).collect()


def show(fig):
    """Every figure of synthetic data carries the mark, in the notebook and once exported."""
    return viz.mark_synthetic(fig) if synthetic else fig


# %% [markdown]
# ## Taiwan is seen only through its partners
#
# Taiwan does not report to UN Comtrade (its partners book it as 490, "Other
# Asia, nes"; tradeflows reads that as TWN). Its exports exist in the data only
# as the *mirror*: what Malaysia, Singapore, Thailand and the US say they
# imported from it. A month a partner did not file is a gap in its line, not a
# zero.

# %%
print(
    "rows Taiwan reported itself:",
    data.filter(pl.col("reporter") == "TWN").select(pl.len()).collect().item(),
)
show(viz.reported_lines(data, hs="847150", flow="M", reporters=["MYS", "SGP", "THA", "USA"],
                        partners=["TWN"], coverage=coverage,
                        title="Imports of servers (HS 8471.50) from Taiwan, as its partners report them"))  # fmt: skip

# %% [markdown]
# The calibrated flow against its published anchors. Malaysia's imports are at
# CIF, a few percent above Taiwan's FOB exports, and as in real data a tenth of
# the shipments are booked a month late, so one month can hold two months'
# goods: compare the order of magnitude, month by month, and the totals by year.

# %%
leg = (
    data.filter(pl.col("reporter") == "MYS", pl.col("partner") == "TWN", pl.col("hs") == "847150",
                pl.col("flow") == "M")
    .group_by(month=pl.col("period").dt.strftime("%Y-%m"))
    .agg(malaysia_reports_usd=pl.col("value_usd").sum())
    .collect()
)  # fmt: skip
anchors = pl.DataFrame({"month": [d.strftime("%Y-%m") for d in ASIA_AI_ANCHORS],
                        "published_usd": list(ASIA_AI_ANCHORS.values())})  # fmt: skip
anchors.join(leg, on="month", how="left")

# %% [markdown]
# ## A hub passes on no more than it receives plus what it makes
#
# The check every analyst makes first: a hub's exports of a product cannot
# exceed its imports plus its own production for long. The synthetic world is
# built to respect it (Malaysia and Thailand assemble some servers, Singapore
# makes none). On real data production is unknown; a hub whose exports stay
# above its imports year after year makes the goods, or one of its reports is
# wrong, and that is worth a question before any flag. Values as the hub
# reports them, a year at a time (exports FOB, imports CIF; re-exports are
# already inside exports, so Singapore's separate re-export rows are not added
# again):

# %%
made = info["calibration"]["production_usd_month"] if synthetic else {}
balance = (
    data.filter(pl.col("reporter").is_in(HUBS), pl.col("hs").is_in(AI), pl.col("partner") != "WLD")
    .group_by(hub="reporter", year=pl.col("period").dt.year())
    .agg(
        imports=pl.col("value_usd").filter(pl.col("flow") == "M").sum(),
        exports=pl.col("value_usd").filter(pl.col("flow") == "X").sum(),
    )
    .collect()
    .with_columns(made=pl.col("hub").replace_strict(
        {h: 12 * sum(made.get(h, {}).get(p, 0.0) for p in AI) for h in HUBS}, default=0.0))
    .with_columns(passed_on=pl.col("exports") / (pl.col("imports") + pl.col("made")))
    .sort("hub", "year")
)  # fmt: skip
assert synthetic is False or balance["passed_on"].max() <= 1.1, balance
balance

# %% [markdown]
# ## Routes to China, scored
#
# tradeflows pairs the two reports of each flow, builds every origin → hub →
# China route and scores each month; `corridors` ranks each route by its
# evidence and by the USD it carried above its usual level.

# %%
flags = tf.detect_routes(data, destinations=["CHN"], hubs=HUBS, hs=AI)
ranked = tf.corridors(flags)
ranked.select(
    "rank", "origin", "hub", "hs", "flagged", "evidence", "extra_usd", "first", "last"
).head(10)

# %% [markdown]
# Malaysia's and Singapore's corridors lead; Thailand's surge is not flagged,
# because nothing of it leaves Thailand for China. An empty origin is the
# hub's inflow from every origin together. Read Malaysia's other origins with
# care: when a hub's exports to China rise, every origin that supplies it looks
# a little guilty, and only the evidence column (far lower for them) and the
# legs of each route say which inflow rose.

# %%
show(viz.flags_bar(ranked, top=12))

# %%
pairs = tf.mirror(data).collect()
for route in ({"origin": "TWN", "hub": "MYS", "destination": "CHN", "hs": "847150"},
              {"origin": "USA", "hub": "SGP", "destination": "CHN", "hs": "854231"}):  # fmt: skip
    row = ranked.filter(**route)
    print(
        tf.names.country_name(route["hub"]),
        "flagged:",
        row["flagged"].item(),
        "|",
        row["reasons"].item(),
    )

# %%
show(viz.route_legs(flags, {"origin": "TWN", "hub": "MYS", "destination": "CHN", "hs": "847150"},
                    pairs=pairs, coverage=coverage))  # fmt: skip

# %%
show(viz.route_legs(flags, {"origin": "USA", "hub": "SGP", "destination": "CHN", "hs": "854231"},
                    pairs=pairs, coverage=coverage))  # fmt: skip

# %% [markdown]
# Thailand: the inflow rises, the outflow to China does not. Not flagged.

# %%
thai = {"origin": "TWN", "hub": "THA", "destination": "CHN", "hs": "847150"}
print("Thailand flagged:", ranked.filter(**thai)["flagged"].item())
show(viz.route_legs(flags, thai, pairs=pairs, coverage=coverage))

# %%
show(viz.score_heatmap(flags, top_hubs=3, top_products=len(AI)))

# %% [markdown]
# ## The same steps on real data
#
# 1. **UN Comtrade** (a free API key from the Comtrade portal, in
#    `COMTRADE_API_KEY`): the hubs' and China's own reports, monthly, for the
#    AI-hardware codes. Taiwan is not a reporter: ask for its partners, and its
#    flows come in as their imports from partner 490.
#
#    ```sh
#    tradeflows fetch comtrade --out store --reporters Malaysia,Singapore,Thailand,China,USA \
#        --periods 2022-01..2025-06 --hs 847150,847180,847330,854231,854232
#    ```
# 2. **US Census** (a key is optional, in `CENSUS_API_KEY`): the US's own exports by
#    partner at HS10, a month or two after the month ends.
#
#    ```sh
#    tradeflows fetch census --out store --periods 2022-01..2025-06 --hs 847150,847180,854231
#    ```
# 3. **National statistics**, closer to the ground than Comtrade and sooner:
#    Taiwan's Ministry of Finance (customs statistics by CCC code and country,
#    the source of the anchors above), Malaysia's DOSM (external trade
#    statistics, MyTradeStats) and Singapore's SingStat (merchandise trade by
#    commodity and country, with re-exports apart). Download their CSV or
#    XLSX and read them with the generic reader, naming the columns. For
#    Taiwan's export table (values in thousands of USD):
#
#    ```sh
#    tradeflows ingest taiwan_exports.csv --out store \
#        --map period=Time --map 'partner=Country(Area)' --map 'hs=Commodity Code' \
#        --map 'value_usd=Value(USD$ 1000)' --value-scale 1000 \
#        --const reporter=TWN --const flow=X
#    ```
#    (see `tradeflows ingest --help`; the audit in `store/audit.json` counts
#    every row read, kept or dropped).
# 4. Run this notebook with `store` set to that folder (papermill
#    `-p store store`), or `tradeflows report store --out report.html`.
