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
# # The monthly report
#
# The notebook behind the scheduled report: `Report` computes the report once
# (the same as `tradeflows report`), writes the HTML, and shows the headline
# numbers, the corridors and the figures here. A scheduler can
# run it with papermill, or call the command line directly (see the README for
# a cron line and a systemd timer).

# %% tags=["parameters"]
sources = None  # stores or trade files; None: the bundled EU electronics exports
out = "report.html"
config = "../report.toml"  # used when it exists
previous = None  # last month's report, to say what changed

# %%
from pathlib import Path

import plotly.io as pio

import tradeflows as tf
from tradeflows import viz

pio.renderers.default = "plotly_mimetype+notebook"
if sources is None:
    sources = [tf.datasets.datasets_dir() / "eu_electronics_exports_2020_2022.parquet"]
report = tf.Report(sources, config=config if Path(config).exists() else None, previous=previous)
path = report.write_html(out)
print(f"report written: {Path(path).resolve()}")
report  # the headline numbers and the top corridors

# %%
print(f"{report.summary['n_flagged_routes']} flagged corridors")
report.corridors.filter(report.corridors["flagged"]).select(
    "rank", "origin", "hub", "destination", "hs", "months", "evidence", "extra_usd"
).head(10)

# %% [markdown]
# The same corridors rolled up to what a study names, "Kazakhstan to Russia,
# heading 8471", whatever the origin and the eight-digit code (the config's
# `[report] by`): how many of each one's routes are flagged, and what they
# carried above their usual level.

# %%
report.wide.filter(report.wide["flagged"]).select(
    "rank", "hub", "destination", "hs4", "flagged_routes", "routes", "first", "last", "extra_usd"
).head(10)

# %%
viz.flags_bar(report.corridors, top=15)

# %%
next(iter(report.figures.values()))
