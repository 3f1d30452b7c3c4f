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
# # tradeflows quick start
#
# From raw trade files to flagged routes in five steps: write a labelled
# **synthetic** world (both reports of every flow, with planted transshipment
# episodes and look-alikes), ingest it into an audited store, pair the two
# reports of each flow, score the routes, and look at the evidence.
# Everything here runs offline; the world is synthetic, not an estimate of
# real trade.

# %% tags=["parameters"]
seed = 1001  # the world's seed (the same seed writes the same files)
pairs_per_product = 60  # the size knob of the world
workdir = None  # where the world and the store go (default: a temporary folder)

# %%
import tempfile
from pathlib import Path

import plotly.io as pio
import polars as pl

import tradeflows as tf
from tradeflows import viz
from tradeflows.datasets import make_trade_world

# JupyterLab draws the plotly mimetype; exported HTML uses the embedded plotly.js.
pio.renderers.default = "plotly_mimetype+notebook"
work = Path(workdir or tempfile.mkdtemp(prefix="tradeflows-"))

# %% [markdown]
# ## 1. A labelled synthetic world, written as Comtrade+ CSV files

# %%
info = make_trade_world(work / "world", seed=seed, pairs_per_product=pairs_per_product)
print(
    f"{info['rows']:,} report rows in {len(info['files'])} files; "
    f"{info['truth_rows']} labelled route-months (synthetic)"
)

# %% [markdown]
# ## 2. Ingest: read, clean, audit, store
# Every row read is kept or dropped with a reason: `rows_read = rows_kept + rows_dropped`.

# %%
audit = tf.ingest([work / "world" / "comtrade"], work / "store")
totals = audit["totals"]
print(
    f"read {totals['rows_read']:,} = kept {totals['rows_kept']:,} + dropped {totals['rows_dropped']:,}"
)
totals["dropped"]

# %% [markdown]
# ## 3. Both reports of each flow, side by side

# %%
store = tf.scan_store(work / "store")
pairs = tf.mirror(store).collect()
pairs.group_by("side").len().sort("side")

# %%
viz.mirror_gap(pairs, hs="8471")

# %% [markdown]
# ## 4. Score the routes origin → hub → destination

# %%
flags = tf.detect_routes(store)
flagged = flags.filter(pl.col("flagged"))
print(f"{flags.height:,} route-months scored; {flagged.height} flagged")
flagged.select("origin", "hub", "destination", "hs", "period", "score", "reasons").head(5)

# %%
viz.flags_bar(flags, top=15)

# %%
top = flagged.row(0, named=True)
viz.route_legs(flags, top, pairs=pairs)

# %%
viz.hub_map(flags)

# %% [markdown]
# ## 5. How good is it? Against the world's labels, beside the naive method

# %%
from tradeflows import evaluate, naive_baseline

truth = pl.read_parquet(work / "world" / "truth.parquet")
mine, naive = evaluate(flags, truth), evaluate(naive_baseline(store), truth)
pl.DataFrame(
    [
        {
            "method": "tradeflows",
            **{k: mine[k] for k in ("route_ap", "route_month_ap", "recall_at_k")},
        },
        {
            "method": "naive (hub's exports, year on year)",
            **{k: naive[k] for k in ("route_ap", "route_month_ap", "recall_at_k")},
        },
    ]
)
