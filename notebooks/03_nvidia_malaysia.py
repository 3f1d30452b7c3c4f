# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # AI hardware: Taiwan and the US → Malaysia and Singapore → China
#
# **This notebook runs on a SYNTHETIC world.** Only one leg is calibrated to
# published figures: Taiwan's exports of computing systems (HS 8471.50) to
# Malaysia, USD 3.4m in March 2023, 401.9m in March 2024 and 1,874m in March
# 2025 (as quoted in press reports). Everything else, including how much of it
# goes on to China, is invented to show the method. Nothing here is evidence
# about real companies or countries.
#
# To run the same analysis on real data, pull it and point the notebook's
# `store` parameter at the result, e.g.
#
# ```sh
# export COMTRADE_API_KEY=...   # free key from UN Comtrade
# tradeflows fetch comtrade --out store --reporters 490,458,702,156 \
#     --periods 202301,202302,...,202506 --cmd 847150,847180,847330,854231,854232
# tradeflows fetch census --out store --periods 2023-01,...,2025-06 --hs 847150,847180
# ```

# %% tags=["parameters"]
store = None  # a tradeflows store of real pulls; None writes the synthetic preset
pairs_per_product = 60
seed = 0

# %%
import tempfile
from pathlib import Path

import plotly.io as pio
import polars as pl

import tradeflows as tf
from tradeflows import viz
from tradeflows.synth import ASIA_AI_ANCHORS, make_trade_world

pio.renderers.default = "plotly_mimetype+notebook"
if store is None:
    work = Path(tempfile.mkdtemp(prefix="tradeflows-asia-"))
    info = make_trade_world(work, preset="asia_ai_hardware", seed=seed, pairs_per_product=pairs_per_product)
    print("SYNTHETIC world:", info["calibration"])
    tf.ingest([work / "comtrade"], work / "store")
    store = work / "store"
data = tf.scan_store(store)

# %% [markdown]
# ## The calibrated leg against its anchors

# %%
leg = (
    data.filter(pl.col("reporter") == "TWN", pl.col("partner") == "MYS", pl.col("hs") == "847150",
                pl.col("flow") == "X")
    .select("period", "value_usd")
    .sort("period")
    .collect()
)
pl.DataFrame({"month": list(ASIA_AI_ANCHORS), "published_usd": list(ASIA_AI_ANCHORS.values())}).join(
    leg.rename({"period": "month", "value_usd": "synthetic_usd"}), on="month", how="left"
)

# %% [markdown]
# ## Routes to China scored

# %%
flags = tf.detect_routes(data, destinations=["CHN"], hs=["8471", "8473", "8542"])
route = {"origin": "TWN", "hub": "MYS", "destination": "CHN", "hs": "847150"}
malaysia = flags.filter(**route)
print(malaysia.filter(pl.col("flagged")).head(1)["reasons"].to_list())

# %%
viz.route_legs(flags, route, pairs=tf.mirror(data).collect())

# %%
viz.flags_bar(flags, top=12)
