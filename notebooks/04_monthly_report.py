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
# The notebook behind the scheduled report: it runs `tradeflows report` on the
# given sources and shows the headline numbers and figures. A scheduler can
# run it with papermill, or call the command line directly (see the README for
# a cron line and a systemd timer).

# %% tags=["parameters"]
sources = ["../datasets/eu_electronics_exports_2020_2022.parquet"]
out = "report.html"
config = "../report.toml"
previous = None  # last month's report, to say what changed

# %%
from pathlib import Path

import plotly.io as pio
import polars as pl

from tradeflows import viz
from tradeflows.report import build_report, previous_summary

pio.renderers.default = "plotly_mimetype+notebook"
path = build_report(sources, out, config=config if Path(config).exists() else None, previous=previous)
print(f"report written: {Path(path).resolve()}")

# %%
summary = previous_summary(path)  # the summary the report embeds, as the next month reads it
routes = pl.DataFrame(
    [{"route": " → ".join(x or "*" for x in r["route"][:3]), "hs": r["route"][3], "score": r["score"],
      "months": r["months"], "extra_usd": r["extra_usd"]} for r in summary["routes"]]
)
print(f"{routes.height} flagged routes")
routes.head(10)

# %%
flags = pl.DataFrame(
    [{"origin": r["route"][0], "hub": r["route"][1], "destination": r["route"][2], "hs": r["route"][3],
      "score": r["score"], "flagged": True} for r in summary["routes"]]
)
viz.flags_bar(flags, top=15)
