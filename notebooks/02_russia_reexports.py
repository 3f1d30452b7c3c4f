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
# # EU electronics to Russia through its neighbours (real data)
#
# After 2022-02-24 the EU banned exports of electronics to Russia. Published
# studies (EBRD; BOFIT) found EU exports of the banned goods to Armenia,
# Kazakhstan and Kyrgyzstan rising as those to Russia collapsed, with integrated
# circuits to Armenia up many-fold. This notebook reproduces the pattern from
# Eurostat's monthly CN8 exports of the EU-27 (bundled with tradeflows, MIT
# licence; see `datasets/README.md`).
#
# The data is the exporters' side only: the EU's exports to each country. The
# hubs' own exports to Russia are not in it, so each route is seen as a
# *diversion*: O → H rises while O → Russia falls.

# %% tags=["parameters"]
hubs = ["ARM", "KAZ", "KGZ", "GEO", "UZB"]
products = ["8471", "8517", "8542"]  # HS4 headings of the published studies
top = 10

# %%
import datetime as dt

import plotly.io as pio
import polars as pl

import tradeflows as tf
from tradeflows import viz

pio.renderers.default = "plotly_mimetype+notebook"
eu = tf.datasets.load_eu_electronics_exports()

# %% [markdown]
# ## The pattern in the raw numbers: EU exports by year

# %%
yearly = (
    eu.filter(pl.col("hs").str.slice(0, 4).is_in(products))
    .group_by(partner="partner", year=pl.col("period").dt.year())
    .agg(usd=pl.col("value_usd").sum())
    .collect()
    .pivot(on="year", index="partner", values="usd")
    .with_columns(change_2022_vs_2021=pl.col("2022") / pl.col("2021"))
    .sort("change_2022_vs_2021", descending=True)
)
yearly

# %% [markdown]
# Month by month, as the EU's members report it. A month in which no member
# filed is a gap, never a zero (on this log axis a month filed with no trade
# breaks the line too); the data ends in 2022-11.

# %%
coverage = tf.coverage_table(eu).collect()
fig = viz.reported_lines(eu, hs="8542", flow="X", partners=["RUS", *hubs], by="partner",
                         coverage=coverage,
                         title="EU exports of integrated circuits (HS 8542), USD a month")  # fmt: skip
fig.add_vline(x=dt.date(2022, 2, 24), line_dash="dash")
fig

# %% [markdown]
# ## The routes tradeflows flags

# %%
flags = tf.detect_routes(eu, destinations=["RUS"], hubs=hubs)
flagged = flags.filter(pl.col("flagged"))
print(
    f"{flagged.height} route-months flagged; "
    f"{flagged.filter(pl.col('period') >= dt.date(2022, 2, 1)).height} of them from 2022-02 on"
)
# One row per origin -> hub -> destination -> product, ranked by evidence and value at stake.
ranked = tf.corridors(flags)
ranked.select(
    "rank", "origin", "hub", "hs", "flagged", "evidence", "extra_usd", "first", "last"
).head(top)

# %% [markdown]
# The studies name corridors as "Kazakhstan, HS 8471", whatever the EU origin
# and the eight-digit code. Rolled up to hub and heading, a corridor's score
# adds up its routes' odds: twenty origins each a little suspicious come before
# one origin alone. The published corridors are ARM, KAZ and KGZ with 8471,
# 8517 and 8542.

# %%
published = (
    pl.DataFrame({"hub": ["ARM", "KAZ", "KGZ"]})
    .join(pl.DataFrame({"hs4": products}), how="cross")
    .with_columns(published=pl.lit(True))
)
wide = (
    tf.corridors(flags, by=["hub", "hs4"])
    .join(published, on=["hub", "hs4"], how="left", maintain_order="left")
    .with_columns(pl.col("published").fill_null(False))
)
print(f"{wide.head(9)['published'].sum()} of the first 9 hub x heading corridors are published")
wide.select("rank", "hub", "hs4", "hs4_description", "flagged_routes", "routes", "extra_usd",
            "published").head(top)  # fmt: skip

# %%
viz.route_sankey(flagged)

# %%
best = ranked.filter(pl.col("hub") == "ARM").row(0, named=True)
print(best["reasons"])
viz.route_legs(flags, best, pairs=tf.mirror(eu).collect(), coverage=coverage)

# %%
viz.score_heatmap(flags, top_hubs=len(hubs))

# %% [markdown]
# ## The same reading from all-goods trade by partner
#
# The EBRD's "Eurasian roundabout" was read from total trade by partner, with
# no product detail: EU exports up 345% to Kyrgyzstan, 165% to Armenia, 94% to
# Kazakhstan from 2021 to 2022. All-goods rows (`hs` `TOTAL`) only say who
# filed unless a detection asks for them: `hs=["TOTAL"]` (`--hs TOTAL`) reads
# them as one product. The bundled EU total exports, 2019 to 2024, ranked by
# hub (each hub's routes to Russia rolled up):

# %%
totals = tf.datasets.load_eu_total_exports()
by_hub = tf.corridors(tf.detect_routes(totals, destinations=["RUS"], hs=["TOTAL"]),
                      by=["hub", "destination"])  # fmt: skip
by_hub = by_hub.drop_nulls("score")
print("hubs to Russia in order:", ", ".join(by_hub["hub"]))
by_hub.select("rank", "hub", "hub_name", "flagged", "flagged_routes", "routes", "extra_usd",
              "reasons").head(len(hubs))  # fmt: skip
