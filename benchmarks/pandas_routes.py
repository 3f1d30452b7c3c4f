"""The core of the route step written the straightforward pandas way (for bench_scale).

``route_core(pairs)`` does what ``tradeflows.routes.route_indicators`` does
first and at most cost, on the mirror's pairs:

* the legs: each monthly flow's value, its largest report in FOB terms;
* the candidate routes: every hub -> destination-of-concern leg with the
  hub's five largest suppliers of the product as origins;
* the dense monthly series of every leg a route needs (a month nobody
  reports is zero), and each month's rise against the median of the previous
  24 months and against the same month a year earlier, in robust z units (the
  median month-to-month change, scaled as a MAD);
* the route-months, with the inflow's rise (the largest of the last four
  months) and the outflow's rise.

It leaves out what tradeflows computes besides (the origin-side routes, the
fastest-growing suppliers, the heading series, the destination's other
suppliers, the shares, the mirror-gap changes, the policy
difference-in-differences, unit values, onsets and data-quality events): it gives 2 of the 13
features. So the ratio of tradeflows' time to this understates how
much faster tradeflows is than pandas doing the whole step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW = 24


def _previous_median(df: pd.DataFrame, col: str, keys: list[str]) -> pd.Series:
    prev = df.groupby(keys, sort=False)[col].shift(1)
    rolled = prev.groupby([df[k] for k in keys], sort=False).rolling(WINDOW, min_periods=6)
    return rolled.median().reset_index(level=list(range(len(keys))), drop=True)


def route_core(pairs: pd.DataFrame, destinations: list[str]) -> pd.DataFrame:
    """Route-months with the inflow's and the outflow's rise (see the module docstring)."""
    m = pairs[pairs["freq"] == "M"]
    period = pd.to_datetime(m["period"])
    legs = pd.DataFrame(
        {
            "exporter": m["exporter"],
            "importer": m["importer"],
            "hs": m["hs"],
            "mi": period.dt.year * 12 + period.dt.month - 1,
            "v": np.maximum(m["value_x"].fillna(0.0), (m["value_m"] / m["cif_fob"]).fillna(0.0)),
        }
    )
    out = legs.loc[legs["importer"].isin(destinations), ["exporter", "importer", "hs"]]
    out = out.drop_duplicates().rename(columns={"exporter": "hub", "importer": "destination"})
    sup = legs.groupby(["exporter", "importer", "hs"], as_index=False)["v"].sum()
    sup = sup[sup["v"] > 0]
    sup["rank"] = sup.groupby(["importer", "hs"])["v"].rank(method="first", ascending=False)
    sup = sup.loc[sup["rank"] <= 5, ["exporter", "importer", "hs"]]
    sup = sup.rename(columns={"exporter": "origin", "importer": "hub"})
    routes = out.merge(sup, on=["hub", "hs"])
    routes = routes[
        (routes["origin"] != routes["destination"]) & (routes["origin"] != routes["hub"])
    ]

    keys = ["a", "b", "p"]
    need = pd.concat(
        [
            routes[["origin", "hub", "hs"]].set_axis(keys, axis=1),
            routes[["hub", "destination", "hs"]].set_axis(keys, axis=1),
        ]
    ).drop_duplicates()
    rows = legs.merge(need, left_on=["exporter", "importer", "hs"], right_on=keys)
    rows = rows.groupby([*keys, "mi"], as_index=False)["v"].sum()
    months = pd.DataFrame({"mi": np.arange(legs["mi"].min(), legs["mi"].max() + 1)})
    dense = need.merge(months, how="cross").merge(rows, on=[*keys, "mi"], how="left")
    dense["v"] = dense["v"].fillna(0.0)
    dense = dense.sort_values([*keys, "mi"]).reset_index(drop=True)
    g = dense.groupby(keys, sort=False)
    dense["lv"] = np.log1p(dense["v"] / 1000.0)
    dense["yoy"] = dense["lv"] - g["lv"].shift(12)
    dense["step"] = (dense["lv"] - g["lv"].shift(1)).abs()
    dense["med"] = _previous_median(dense, "lv", keys)
    dense["step_med"] = _previous_median(dense, "step", keys)
    scale = np.maximum(1.4826 * dense["step_med"], 0.25)
    level = dense["lv"] - dense["med"]
    rise = level.where(dense["yoy"].isna(), np.minimum(level, dense["yoy"]))
    dense["rise_z"] = (rise / scale).fillna(0.0)
    g = dense.groupby(keys, sort=False)
    lagged = [dense["rise_z"], *(g["rise_z"].shift(k) for k in (1, 2, 3))]
    dense["rise_z_lagged"] = pd.concat(lagged, axis=1).max(axis=1)

    series = dense[[*keys, "mi", "v", "rise_z", "rise_z_lagged"]]
    inflow = series.rename(columns={"a": "origin", "b": "hub", "p": "hs", "v": "inflow",
                                    "rise_z_lagged": "inflow_rise"}).drop(columns="rise_z")  # fmt: skip
    outflow = series.rename(columns={"a": "hub", "b": "destination", "p": "hs", "v": "outflow",
                                     "rise_z": "outflow_rise"}).drop(columns="rise_z_lagged")  # fmt: skip
    rm = routes.merge(months, how="cross")
    rm = rm.merge(inflow, on=["origin", "hub", "hs", "mi"], how="left")
    return rm.merge(outflow, on=["hub", "destination", "hs", "mi"], how="left")
